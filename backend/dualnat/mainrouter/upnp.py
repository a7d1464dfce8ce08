"""A UPnP IGD client for the main router (stdlib only: socket, http.client, xml.etree).

Facts it relies on, read in miniupnpd's sources (upnpsoap.c, upnpredirect.c) and seen
against Debian's miniupnpd 2.3.1 in the lab:
- the service type comes from the device description (WANIPConnection:2 or :1, or
  WANPPPConnection:1); the SOAPAction and namespaces must use exactly that type;
- in secure mode a mapping may only point at the requester, so NewInternalClient is the
  bypass router itself and requests leave from its LAN address;
- adding a mapping that exists for the same client refreshes its lease but keeps the OLD
  description, so each port is checked first (GetSpecificPortMappingEntry): a mapping
  whose description is not dualnat's is a conflict and is never taken over;
- IGDv2's GetListOfPortMappings lists every mapping of one protocol in one answer (a
  PortMappingList document inside NewPortListing, up to 1000 by default); otherwise
  GetGenericPortMappingEntry is read from index 0 until fault 713;
- DeletePortMapping answers 714 for a mapping that is already gone; a requested lease of
  0 becomes 7 days (IGDv2); 725 means only permanent (lease 0) mappings are accepted.
"""

from __future__ import annotations

import http.client
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from urllib.parse import urljoin, urlsplit

from ..model import PortRange
from . import ssdp
from .errors import RouterError
from .model import Entry, Shape, Want, is_tagged
from .reconcile import conflict_part
from .soap import envelope, fault, fault_error, parse_response, parse_xml

SERVICE_TYPES = (
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
)
TIMEOUT = 5.0  # seconds per HTTP request
MAX_BODY = 256 * 1024
MAX_MAPPINGS = 65536 * 2  # one per port and protocol at most
LIST_PAGE = 1000  # GetListOfPortMappings: mappings per answer (miniupnpd's default)
LISTED = {"NewDescription": "NewPortMappingDescription", "NewLeaseTime": "NewLeaseDuration"}
END_OF_LIST = {"713", "714"}  # miniupnpd: 713; some other routers: 714
# what went wrong → its sentence (catalogue table [push])
NET_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (TimeoutError, "upnp.net.timeout"),
    (ConnectionRefusedError, "upnp.net.refused"),
    (OSError, "upnp.net.unreachable"),
    (http.client.HTTPException, "upnp.net.broken"),
)


@dataclass(frozen=True)
class Igd:
    """The main router's WAN connection service: its type and control URL."""

    location: str
    service: str
    control_url: str


def parse_description(body: bytes, location: str, router: IPv4Address) -> Igd:
    """The preferred WAN connection service of a device description. Its control URL
    must be on the main router too."""
    root = parse_xml(body)
    fields = {el.tag.rpartition("}")[2]: el for el in root.iter()}
    base = (fields["URLBase"].text or "").strip() if "URLBase" in fields else location
    services: dict[str, str] = {}
    for el in root.iter():
        if el.tag.endswith("service"):
            kids = {c.tag.rpartition("}")[2]: (c.text or "").strip() for c in el}
            services.setdefault(kids.get("serviceType", ""), kids.get("controlURL", ""))
    for service in SERVICE_TYPES:
        if services.get(service):
            url = urljoin(base or location, services[service])
            if urlsplit(url).hostname != str(router):
                raise RouterError("upnp.control_elsewhere", router=router)
            return Igd(location, service, url)
    raise RouterError("upnp.no_wan_service", manual=True)


class UpnpClient:
    """RouterClient for any router with a UPnP IGD (mappings to the bypass router only).

    `lan_ip`: the bypass router's LAN address (the requests leave from it, the mappings
    point at it); `router`: the main router's LAN address; `lease`: seconds asked for
    each mapping (0: as long as the router allows, 7 days with IGDv2)."""

    kind = "upnp"
    shape = Shape(ranges=False, both_protocols=False)

    def __init__(
        self,
        lan_ip: IPv4Address,
        router: IPv4Address,
        *,
        lease: int = 0,
        timeout: float = TIMEOUT,
        discovery_timeout: float = 3.0,
        igd: Igd | None = None,
    ) -> None:
        self.lan_ip = lan_ip
        self.router = router
        self.lease: int | None = lease
        self.timeout = timeout
        self.discovery_timeout = discovery_timeout
        self._igd = igd

    def __repr__(self) -> str:
        return f"UpnpClient(lan_ip={self.lan_ip}, router={self.router})"

    # -- transport ----------------------------------------------------------------------

    def _http(self, method: str, url: str, body: bytes | None = None, **headers: str) -> tuple:
        parts = urlsplit(url)
        if parts.hostname != str(self.router):
            raise RouterError("upnp.elsewhere", router=self.router)
        conn = http.client.HTTPConnection(
            str(self.router),
            parts.port or 80,
            timeout=self.timeout,
            source_address=(str(self.lan_ip), 0),
        )
        path = parts.path or "/"
        path += f"?{parts.query}" if parts.query else ""
        try:
            conn.request(method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})
            resp = conn.getresponse()
            data = resp.read(MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as exc:
            what = next(text for kind, text in NET_ERRORS if isinstance(exc, kind))
            wait = {"seconds": f"{self.timeout:g}"} if what == "upnp.net.timeout" else {}
            raise RouterError(what, unreachable=True, router=self.router, **wait) from None
        finally:
            conn.close()
        if len(data) > MAX_BODY:
            raise RouterError("upnp.too_large")
        return resp.status, data

    def discover(self) -> Igd:
        """Find the main router's IGD by SSDP and read its description."""
        try:
            answer = ssdp.find(self.lan_ip, self.router, self.discovery_timeout)
        except OSError:
            raise RouterError("upnp.ssdp_failed", unreachable=True, lan_ip=self.lan_ip) from None
        if answer is None:
            raise RouterError("upnp.no_igd", manual=True, unreachable=True, router=self.router)
        status, body = self._http("GET", answer.location)
        if status != 200:
            raise RouterError("upnp.description_http", status=status)
        return parse_description(body, answer.location, self.router)

    @property
    def igd(self) -> Igd:
        if self._igd is None:
            self._igd = self.discover()
        return self._igd

    def call(self, action: str, args: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
        """One SOAP action; a fault becomes a RouterError with its code."""
        igd = self.igd
        status, body = self._http(
            "POST",
            igd.control_url,
            envelope(igd.service, action, args),
            Content_Type='text/xml; charset="utf-8"',
            SOAPAction=f'"{igd.service}#{action}"',
        )
        if status == 200:
            return parse_response(body, action)
        code, description = fault(body)
        if code:
            raise fault_error(code, description)
        raise RouterError("upnp.action_http", status=status, action=action)

    # -- RouterClient -------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every mapping: with IGDv2's GetListOfPortMappings (two requests), else (or
        when the router refuses that) one GetGenericPortMappingEntry per mapping."""
        if self.igd.service.endswith(":2"):
            try:
                return self._listed()
            except RouterError as err:
                if err.unreachable:
                    raise
        return self._enumerated()

    def _listed(self) -> list[Entry]:
        found: list[Entry] = []
        for proto in ("TCP", "UDP"):
            start = 1
            while start <= 65535:
                args = [
                    ("NewStartPort", str(start)),
                    ("NewEndPort", "65535"),
                    ("NewProtocol", proto),
                    ("NewManage", "1"),
                    ("NewNumberOfPorts", str(LIST_PAGE)),
                ]
                try:
                    answer = self.call("GetListOfPortMappings", args)
                except RouterError as err:
                    if err.code == "730":  # PortMappingNotFound: none in that range
                        break
                    raise
                page = parse_port_listing(answer.get("NewPortListing", ""))
                found += page
                if len(page) < LIST_PAGE:
                    break
                start = max(e.external.first for e in page) + 1
        return found

    def _enumerated(self) -> list[Entry]:
        found: list[Entry] = []
        for index in range(MAX_MAPPINGS):
            try:
                answer = self.call(
                    "GetGenericPortMappingEntry", [("NewPortMappingIndex", str(index))]
                )
            except RouterError as err:
                if err.code in END_OF_LIST:
                    break
                raise
            entry = _entry(answer)
            if entry:
                found.append(entry)
        return found

    def specific(self, proto: str, port: int) -> Entry | None:
        """The mapping of one external port (None: there is none)."""
        args = [("NewRemoteHost", ""), ("NewExternalPort", str(port)), ("NewProtocol", proto)]
        try:
            answer = self.call("GetSpecificPortMappingEntry", args)
        except RouterError as err:
            if err.code == "714":
                return None
            raise
        return _entry({**answer, "NewExternalPort": str(port), "NewProtocol": proto})

    def add(self, want: Want) -> None:
        if want.target_ip != self.lan_ip:
            raise RouterError(
                "upnp.only_itself", manual=True, bypass=self.lan_ip, target=want.target_ip
            )
        proto, port = want.protocols[0].upper(), want.external.first
        held = self.specific(proto, port)
        if held and not held.ours:
            raise RouterError(conflict_part(held), manual=True, code="718")
        args = [
            ("NewRemoteHost", ""),
            ("NewExternalPort", str(port)),
            ("NewProtocol", proto),
            ("NewInternalPort", str(want.target.first)),
            ("NewInternalClient", str(self.lan_ip)),
            ("NewEnabled", "1"),
            ("NewPortMappingDescription", want.tag),
        ]
        try:
            self.call("AddPortMapping", [*args, ("NewLeaseDuration", str(self.lease or 0))])
        except RouterError as err:
            if err.code != "725" or not self.lease:
                raise
            self.call("AddPortMapping", [*args, ("NewLeaseDuration", "0")])

    def update(self, entry: Entry, want: Want) -> None:
        self.delete(entry)
        self.add(want)

    def delete(self, entry: Entry) -> None:
        for proto in entry.protocols:
            args = [
                ("NewRemoteHost", ""),
                ("NewExternalPort", str(entry.external.first)),
                ("NewProtocol", proto.upper()),
            ]
            try:
                self.call("DeletePortMapping", args)
            except RouterError as err:
                if err.code != "714":
                    raise

    def commit(self) -> None:
        """Nothing to do: every UPnP change is live at once."""

    def external_address(self) -> IPv4Address | None:
        text = self.call("GetExternalIPAddress").get("NewExternalIPAddress", "")
        try:
            return IPv4Address(text)
        except ValueError:
            return None

    def close(self) -> None:
        """Nothing to close: every request has its own connection."""


def parse_port_listing(text: str) -> list[Entry]:
    """The PortMappingEntry items of a GetListOfPortMappings answer."""
    if not text.strip():
        return []
    found = []
    for el in parse_xml(text.encode()).iter():
        if el.tag.rpartition("}")[2] == "PortMappingEntry":
            fields = {c.tag.rpartition("}")[2]: (c.text or "").strip() for c in el}
            entry = _entry({LISTED.get(k, k): v for k, v in fields.items()})
            if entry:
                found.append(entry)
    return found


def _entry(answer: dict[str, str]) -> Entry | None:
    """A mapping from a Get*PortMappingEntry answer (None when it makes no sense)."""
    try:
        external = PortRange.single(int(answer["NewExternalPort"]))
        target = PortRange.single(int(answer["NewInternalPort"]))
        client = IPv4Address(answer["NewInternalClient"])
        lease = int(answer.get("NewLeaseDuration") or 0)
    except (KeyError, ValueError):
        return None
    tag = answer.get("NewPortMappingDescription", "")
    return Entry(
        (answer.get("NewProtocol", "").lower(),),
        external,
        client,
        target,
        tag,
        is_tagged(tag),
        enabled=answer.get("NewEnabled", "1") != "0",
        lease=lease,
    )
