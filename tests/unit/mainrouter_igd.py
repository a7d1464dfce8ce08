"""A small UPnP IGD on 127.0.0.1 for the client's unit tests, with miniupnpd's rules as
read in its upnpsoap.c / upnpredirect.c: permission rules (ports below 1024 → 606),
secure mode (another client → 606), a port held by another client → 718, re-adding for
the same client refreshes the lease and keeps the old description, 713 past the end of
the list, 714 for a missing mapping. The lab runs the real miniupnpd."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

DESCRIPTION = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">{base}<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceList><device><serviceList>{services}</serviceList></device>
</deviceList></device></deviceList></device></root>"""
SERVICE = "<service><serviceType>{type}</serviceType><controlURL>{url}</controlURL></service>"


def description(services: list[tuple[str, str]], base: str = "") -> bytes:
    body = "".join(SERVICE.format(type=t, url=u) for t, u in services)
    url_base = f"<URLBase>{base}</URLBase>" if base else ""
    return DESCRIPTION.format(services=body, base=url_base).encode()


@dataclass
class Mapping:
    client: str
    internal_port: int
    description: str
    lease: int


@dataclass
class FakeIgd:
    service: str = "urn:schemas-upnp-org:service:WANIPConnection:2"
    external_ip: str = "11.0.0.1"
    only_permanent: bool = False
    listing: bool = True  # answers GetListOfPortMappings (IGDv2)
    mappings: dict[tuple[str, int], Mapping] = field(default_factory=dict)
    actions: list[tuple[str, str]] = field(default_factory=list)  # (SOAPAction, action)
    requester: str = "127.0.0.1"

    def __post_init__(self) -> None:
        igd = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(200, description([(igd.service, "/ctl/IPConn")]))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                call = next(
                    iter(
                        ET.fromstring(body).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
                    )
                )  # type: ignore[arg-type]
                action = call.tag.rpartition("}")[2]
                args = {c.tag: c.text or "" for c in call}
                igd.actions.append((self.headers["SOAPAction"], action))
                code, out = igd.handle(action, args)
                if code:
                    fault = (
                        "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'>"
                        "<s:Body><s:Fault><detail>"
                        "<UPnPError xmlns='urn:schemas-upnp-org:control-1-0'>"
                        f"<errorCode>{code}</errorCode><errorDescription>x</errorDescription>"
                        "</UPnPError></detail></s:Fault></s:Body></s:Envelope>"
                    )
                    self._send(500, fault.encode())
                    return
                fields = "".join(
                    f"<{k}>{v if k == 'NewPortListing' else escape(v)}</{k}>"
                    for k, v in out.items()
                )
                answer = (
                    "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>"
                    f"<u:{action}Response xmlns:u='{igd.service}'>{fields}</u:{action}Response>"
                    "</s:Body></s:Envelope>"
                )
                self._send(200, answer.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def location(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rootDesc.xml"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def listing_of(self, a: dict[str, str]) -> str:
        start, count = int(a["NewStartPort"]), int(a["NewNumberOfPorts"]) or 1000
        chosen = [
            (port, m)
            for (proto, port), m in sorted(self.mappings.items())
            if proto == a["NewProtocol"] and start <= port <= int(a["NewEndPort"])
        ][:count]
        items = "".join(
            "<p:PortMappingEntry><p:NewRemoteHost></p:NewRemoteHost>"
            f"<p:NewExternalPort>{port}</p:NewExternalPort>"
            f"<p:NewProtocol>{a['NewProtocol']}</p:NewProtocol>"
            f"<p:NewInternalPort>{m.internal_port}</p:NewInternalPort>"
            f"<p:NewInternalClient>{m.client}</p:NewInternalClient>"
            "<p:NewEnabled>1</p:NewEnabled>"
            f"<p:NewDescription>{escape(m.description)}</p:NewDescription>"
            f"<p:NewLeaseTime>{m.lease}</p:NewLeaseTime></p:PortMappingEntry>"
            for port, m in chosen
        )
        doc = f'<p:PortMappingList xmlns:p="urn:schemas-upnp-org:gw:WANIPConnection">{items}'
        return f"<![CDATA[{doc}</p:PortMappingList>]]>"

    def handle(self, action: str, a: dict[str, str]) -> tuple[int, dict[str, str]]:
        if action == "GetExternalIPAddress":
            return 0, {"NewExternalIPAddress": self.external_ip}
        if action == "GetGenericPortMappingEntry":
            items = sorted(self.mappings.items())
            index = int(a["NewPortMappingIndex"])
            if index >= len(items):
                return 713, {}
            (proto, port), m = items[index]
            return 0, {
                "NewRemoteHost": "",
                "NewExternalPort": str(port),
                "NewProtocol": proto,
                "NewInternalPort": str(m.internal_port),
                "NewInternalClient": m.client,
                "NewEnabled": "1",
                "NewPortMappingDescription": m.description,
                "NewLeaseDuration": str(m.lease),
            }
        if action == "GetListOfPortMappings" and self.listing:
            return 0, {"NewPortListing": self.listing_of(a)}
        key = (a.get("NewProtocol", ""), int(a.get("NewExternalPort", "0")))
        if action == "GetSpecificPortMappingEntry":
            m = self.mappings.get(key)  # type: ignore[assignment]
            if not m:
                return 714, {}
            return 0, {
                "NewInternalPort": str(m.internal_port),
                "NewInternalClient": m.client,
                "NewEnabled": "1",
                "NewPortMappingDescription": m.description,
                "NewLeaseDuration": str(m.lease),
            }
        if action == "DeletePortMapping":
            return (0, {}) if self.mappings.pop(key, None) else (714, {})
        if action == "AddPortMapping":
            lease = int(a["NewLeaseDuration"])
            if a["NewInternalClient"] != self.requester or key[1] < 1024:
                return 606, {}
            if self.only_permanent and lease:
                return 725, {}
            held = self.mappings.get(key)
            if held and held.client != a["NewInternalClient"]:
                return 718, {}
            desc = held.description if held else a["NewPortMappingDescription"]
            self.mappings[key] = Mapping(
                a["NewInternalClient"], int(a["NewInternalPort"]), desc, lease or 604800
            )
            return 0, {}
        return 401, {}
