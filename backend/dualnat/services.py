"""Ports on which the bypass router itself offers a service to the LAN."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .uci import Document

# What a stock OpenWrt bypass router listens on even when its configs do not say so.
DEFAULT_PORTS: Mapping[str, frozenset[int]] = {
    "tcp": frozenset({22, 53, 80, 443}),
    "udp": frozenset({53, 67, 123}),
}
_TCP_LISTEN = "0A"
# Linux's default ip_local_port_range: UDP sockets there are clients, not services.
_EPHEMERAL = range(32768, 61000)


@dataclass(frozen=True)
class ServicePorts:
    """Ports per protocol that must stay reachable on the bypass router's own address."""

    tcp: frozenset[int] = field(default_factory=frozenset)
    udp: frozenset[int] = field(default_factory=frozenset)

    def for_proto(self, proto: str) -> frozenset[int]:
        return self.tcp if proto == "tcp" else self.udp

    def union(self, other: ServicePorts) -> ServicePorts:
        return ServicePorts(self.tcp | other.tcp, self.udp | other.udp)

    @classmethod
    def defaults(cls) -> ServicePorts:
        return cls(DEFAULT_PORTS["tcp"], DEFAULT_PORTS["udp"])


def _port_of(listen: str) -> int | None:
    """`0.0.0.0:80`, `[::]:443`, `8080` → the port."""
    tail = listen.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() and 0 < int(tail) < 65536 else None


def from_configs(docs: Mapping[str, Document]) -> ServicePorts:
    """Ports named by uhttpd, dropbear and dnsmasq configs, where those files exist."""
    tcp: set[int] = set()
    udp: set[int] = set()
    if "uhttpd" in docs:
        for sec in docs["uhttpd"].sections_of_type("uhttpd"):
            for opt in ("listen_http", "listen_https"):
                tcp.update(p for p in map(_port_of, sec.get_list(opt)) if p)
    if "dropbear" in docs:
        for sec in docs["dropbear"].sections_of_type("dropbear"):
            port = _port_of(sec.get("Port") or sec.get("port") or "22")
            if port:
                tcp.add(port)
    if "dhcp" in docs:
        for sec in docs["dhcp"].sections_of_type("dnsmasq"):
            port = _port_of(sec.get("port") or "53")
            if port:
                tcp.add(port)
                udp.add(port)
    return ServicePorts(frozenset(tcp), frozenset(udp))


def parse_proc_net(text: str, proto: str) -> set[int]:
    """Local ports in /proc/net/{tcp,tcp6,udp,udp6} text: listening (tcp) or bound (udp)."""
    ports: set[int] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or ":" not in fields[1]:
            continue
        if proto == "tcp" and fields[3] != _TCP_LISTEN:
            continue
        try:
            port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        except (ValueError, IndexError):
            continue
        if proto == "udp" and (remote_port or port in _EPHEMERAL):
            continue
        if 0 < port < 65536:
            ports.add(port)
    return ports


def from_proc(
    root: Path = Path("/proc/net"), files: Iterable[str] = ("tcp", "tcp6", "udp", "udp6")
) -> ServicePorts:
    """Sockets this machine listens on now (only meaningful on the router itself)."""
    found: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for name in files:
        path = root / name
        try:
            text = path.read_text()
        except OSError:
            continue
        proto = "tcp" if name.startswith("tcp") else "udp"
        found[proto] |= parse_proc_net(text, proto)
    return ServicePorts(frozenset(found["tcp"]), frozenset(found["udp"]))
