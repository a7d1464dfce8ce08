"""Which tracked connections belong to which forward, and what happened to them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ..model import PortRange
from ..plan import Dnat, Plan
from .conntrack import Entry


@dataclass(frozen=True)
class Arrival:
    """Where a forward's connections reach the bypass router, and where they must go."""

    proto: str
    address: str  # the bypass router's address, or the public address (hairpin)
    ports: PortRange
    to_addr: str
    to_ports: PortRange
    sources: tuple[IPv4Network, ...]
    hairpin: bool

    def __str__(self) -> str:
        return f"{self.proto} {self.address}:{self.ports} → {self.to_addr}:{self.to_ports}"

    def allows(self, source: IPv4Address | None) -> bool:
        return not self.sources or (source is not None and any(source in n for n in self.sources))


@dataclass
class ForwardTraffic:
    """The connections of one forward, sorted by what happened to them."""

    name: str
    arrivals: list[Arrival]
    device: str
    entries: list[Entry] = field(default_factory=list)  # arrived at one of `arrivals`
    arrival_of: dict[int, Arrival] = field(default_factory=dict)  # id(entry) → arrival
    direct: list[Entry] = field(default_factory=list)  # the device answering without relay
    device_own_replied: int = 0  # the device's own connections out through this machine

    def translated(self, entry: Entry) -> bool:
        """DNAT to the device happened (the reply comes from the device's port)."""
        arrival = self.arrival_of[id(entry)]
        return entry.reply_src == arrival.to_addr and (
            entry.reply_sport is None or arrival.to_ports.contains(entry.reply_sport)
        )


class Lan:
    """Fast 'is this printed address in the LAN?' with a cache (tables repeat addresses)."""

    def __init__(self, net: IPv4Network) -> None:
        self.net = net
        self._cache: dict[str, IPv4Address | None] = {}

    def address(self, text: str) -> IPv4Address | None:
        """The IPv4 address of `text`, None for IPv6 or garbage."""
        try:
            return self._cache[text]
        except KeyError:
            pass
        try:
            addr: IPv4Address | None = IPv4Address(text)
        except ValueError:
            addr = None
        self._cache[text] = addr
        return addr

    def __contains__(self, text: str) -> bool:
        addr = self.address(text)
        return addr is not None and addr in self.net


def arrivals(plan: Plan) -> dict[str, list[Arrival]]:
    """Forward name → where its connections arrive (from its DNAT items)."""
    out: dict[str, list[Arrival]] = {}
    for item in plan.of_kind(Dnat):
        assert item.forward is not None
        for proto in item.protos:
            out.setdefault(item.forward, []).append(
                Arrival(
                    proto,
                    str(item.dest_addr),
                    item.dport,
                    str(item.to_addr),
                    item.to_port,
                    item.sources,
                    item.hairpin,
                )
            )
    return out


def sort_entries(plan: Plan, entries: Iterable[Entry], lan: Lan) -> dict[str, ForwardTraffic]:
    """One pass over the table: every forward's connections and the device's own traffic."""
    by_forward = arrivals(plan)
    result: dict[str, ForwardTraffic] = {}
    index: dict[tuple[str, str], list[tuple[Arrival, ForwardTraffic]]] = {}
    devices: dict[str, list[ForwardTraffic]] = {}
    for name, arr in by_forward.items():
        ft = ForwardTraffic(name, arr, arr[0].to_addr)
        result[name] = ft
        for a in arr:
            index.setdefault((a.address, a.proto), []).append((a, ft))
        devices.setdefault(ft.device, []).append(ft)
    for entry in entries:
        hits = index.get((entry.orig_dst, entry.proto))
        port = entry.orig_dport
        if hits is not None and port is not None:
            hit = next(((a, ft) for a, ft in hits if a.ports.first <= port <= a.ports.last), None)
            if hit is not None:
                hit[1].entries.append(entry)
                hit[1].arrival_of[id(entry)] = hit[0]
                continue
        owners = devices.get(entry.orig_src)
        if owners is None or entry.orig_dst in lan:
            continue
        for ft in owners:
            if entry.orig_sport is not None and any(
                a.proto == entry.proto and a.to_ports.contains(entry.orig_sport)
                for a in ft.arrivals
            ):
                ft.direct.append(entry)  # sent from the forwarded port: an answer
            elif entry.replied:
                ft.device_own_replied += 1
    return result
