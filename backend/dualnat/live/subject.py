"""The forward under test, as the plan has it: where its connections arrive, the device,
which connections the plan SNATs, and the words its sentences need."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address

from ..doctor.conntrack import Entry
from ..doctor.traffic import Arrival, Lan, arrivals
from ..plan import Plan, Snat

# where an attempt comes from (the catalogue's path.<name>)
INTERNET, LAN, MAIN = "internet", "lan", "main"
PATHS = (INTERNET, LAN, MAIN)


class NotTestable(LookupError):
    """The forward is not in the plan (unknown, disabled, or dualnat is disabled)."""


@dataclass(frozen=True)
class Subject:
    plan: Plan
    name: str
    arrivals: tuple[Arrival, ...]
    snats: tuple[Snat, ...]

    @classmethod
    def of(cls, plan: Plan, name: str) -> Subject:
        found = arrivals(plan).get(name)
        if not found:
            raise NotTestable(name)
        snats = tuple(s for s in plan.of_kind(Snat) if s.forward == name)
        return cls(plan, name, tuple(found), snats)

    @property
    def bypass(self) -> str:
        return str(self.plan.network.bypass_ip)

    @property
    def main_ip(self) -> str:
        return str(self.plan.network.main_router_ip)

    @property
    def device(self) -> str:
        return self.arrivals[0].to_addr

    @cached_property
    def lan(self) -> Lan:
        return Lan(self.plan.network.lan)

    @property
    def public(self) -> IPv4Address | None:
        return self.plan.public.address

    @property
    def protos(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.proto for a in self.arrivals))

    @property
    def device_port(self) -> str:
        return ", ".join(sorted({f"{a.to_addr}:{a.to_ports}" for a in self.arrivals}, key=len))

    @property
    def relays(self) -> str:
        return ", ".join(f"{a.proto} {a.address}:{a.ports}" for a in self.arrivals if not a.hairpin)

    @property
    def external_port(self) -> int:
        """The first public port of the forward (what the self-test connects to)."""
        forwards = self.plan.main_router.forwards_of(self.name)
        return forwards[0].external_port.first if forwards else self.arrivals[0].ports.first

    @property
    def port_forwards(self) -> str:
        return "; ".join(
            f"{pf.proto} external port {pf.external_port} → {pf.internal_ip}:{pf.internal_port}"
            for pf in self.plan.main_router.forwards_of(self.name)
        )

    @property
    def target(self) -> str:
        """Where to connect from outside: the public address and port, or the port."""
        ports = ", ".join(
            str(pf.external_port) for pf in self.plan.main_router.forwards_of(self.name)
        )
        return f"{self.public}:{ports}" if self.public else f"<public address>:{ports}"

    @property
    def allowed(self) -> str:
        sources = {str(n) for a in self.arrivals if not a.hairpin for n in a.sources}
        return ", ".join(sorted(sources)) or "-"

    # -- one connection ---------------------------------------------------------------

    def path(self, entry: Entry) -> str:
        if entry.orig_src == self.main_ip:
            return MAIN
        return LAN if entry.orig_src in self.lan else INTERNET

    def own(self, entry: Entry) -> bool:
        """This router's own connection (the self-test's way out to the main router)."""
        return entry.orig_src == self.bypass

    def snat_planned(self, entry: Entry, arrival: Arrival) -> bool:
        """The plan replaces the source of this connection with the bypass router's."""
        source = self.lan.address(entry.orig_src)
        return any(
            entry.proto in s.protos
            and str(s.dest_addr) == arrival.to_addr
            and s.dport.overlaps(arrival.to_ports)
            and (not s.sources or (source is not None and any(source in n for n in s.sources)))
            for s in self.snats
        )

    def watched(self) -> tuple[str, ...]:
        """What a line of the table must contain to concern this forward (conntrack.parse's
        `only`): its arrival addresses, or the device as a source (its own traffic)."""
        words = {f"dst={a.address} " for a in self.arrivals}
        words.add(f"src={self.device} ")
        return tuple(sorted(words))
