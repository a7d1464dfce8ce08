"""SSDP discovery of the main router's UPnP IGD (stdlib only).

The M-SEARCH leaves from the bypass router's LAN address (multicast, and unicast to the
main router's port 1900 for LANs that filter multicast). Only an answer that comes from
the main router's LAN address *and* whose LOCATION names that address is taken: the
bypass router may run a UPnP service of its own, and any LAN host can answer.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from urllib.parse import urlsplit

GROUP = ("239.255.255.250", 1900)
SEARCH_TARGETS = (
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
)
MX = 1  # seconds a device may wait before it answers
MAX_ANSWER = 2048


@dataclass(frozen=True)
class Answer:
    """One SSDP answer: who sent it and where its description is."""

    sender: IPv4Address
    location: str
    st: str

    def is_from(self, router: IPv4Address) -> bool:
        """Sent by `router`, and its description lives there too."""
        try:
            host = urlsplit(self.location).hostname
        except ValueError:
            return False
        return self.sender == router and host == str(router)


def m_search(st: str, host: str = "239.255.255.250:1900") -> bytes:
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {host}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {MX}\r\n"
        f"ST: {st}\r\n"
        "\r\n"
    ).encode()


def parse(data: bytes, sender: IPv4Address) -> Answer | None:
    """An `HTTP/1.1 200 OK` search answer with a LOCATION, else None."""
    lines = data[:MAX_ANSWER].decode("latin-1").split("\r\n")
    if not lines[0].upper().startswith("HTTP/1.1 200"):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    location = headers.get("location", "")
    return Answer(sender, location, headers.get("st", "")) if location else None


def search(
    lan_ip: IPv4Address,
    router: IPv4Address | None = None,
    timeout: float = 2.0,
    targets: Sequence[str] = SEARCH_TARGETS,
) -> Iterator[Answer]:
    """Send the searches from `lan_ip` and yield every answer until `timeout`
    (the caller may stop early). With `router`, also ask it by unicast."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(str(lan_ip)))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sock.bind((str(lan_ip), 0))
        for st in targets:
            sock.sendto(m_search(st), GROUP)
            if router is not None:
                sock.sendto(m_search(st, f"{router}:1900"), (str(router), 1900))
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, (addr, _) = sock.recvfrom(MAX_ANSWER)
            answer = parse(data, IPv4Address(addr))
            if answer:
                yield answer


def find(lan_ip: IPv4Address, router: IPv4Address, timeout: float = 2.0) -> Answer | None:
    """The main router's answer (the first that `is_from` it), None when it gave none."""
    return next((a for a in search(lan_ip, router, timeout) if a.is_from(router)), None)
