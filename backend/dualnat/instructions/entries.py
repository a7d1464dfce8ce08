"""The main router's rules as instructions need them: one entry per rule, named and keyed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Address

from ..model import PortRange
from ..plan import Dnat, MainRouterForward, Plan, Snat


@dataclass(frozen=True)
class Entry:
    """One rule on the main router. `key` is stable: the forward's name, or name.k when the
    planner cut the forward into k = 1..n pieces."""

    key: str
    rule_name: str
    forward: str
    proto: str
    external: PortRange
    internal_ip: IPv4Address
    internal: PortRange

    @property
    def ranged(self) -> bool:
        return not self.external.is_single

    @property
    def relayed(self) -> bool:
        """True when the main router sends the port to a different port of the bypass router."""
        return self.external != self.internal


def entries(plan: Plan) -> list[Entry]:
    """The main-router forwards of `plan`, in plan order."""
    forwards: tuple[MainRouterForward, ...] = plan.main_router.port_forwards
    count = Counter(f.name for f in forwards)
    seen: Counter[str] = Counter()
    out = []
    for f in forwards:
        seen[f.name] += 1
        split = count[f.name] > 1
        key = f"{f.name}.{seen[f.name]}" if split else f.name
        rule = f"{f.name}_{seen[f.name]}" if split else f.name
        out.append(
            Entry(key, rule, f.name, f.proto, f.external_port, f.internal_ip, f.internal_port)
        )
    return out


def hairpin_coverage(plan: Plan) -> tuple[set[str], set[str]]:
    """(forwards whose LAN clients the bypass router sends straight to the device when they
    use the public address, forwards that work through the main router's NAT loopback)."""
    lan = plan.network.lan
    direct = {d.forward for d in plan.of_kind(Dnat) if d.hairpin and d.forward}
    lan_allowed = {
        d.forward
        for d in plan.of_kind(Dnat)
        if not d.hairpin and (not d.sources or any(lan.subnet_of(s) for s in d.sources))
    }
    via_loopback = {s.forward for s in plan.of_kind(Snat) if s.forward in lan_allowed}
    return direct, {f for f in via_loopback if f}


def public_address(plan: Plan) -> tuple[str, str]:
    """The public address LAN clients use, as planned: (the configured name, the address it
    resolved to), or ("", the address) when it was given as an address or discovered."""
    public = plan.public
    address = str(public.address) if public.address is not None else ""
    if public.is_name and address:
        return public.configured or "", address
    return "", address or (public.configured or "")
