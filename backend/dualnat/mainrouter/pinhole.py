"""IPv6 pinholes on the main router: what dualnat wants there, what it holds, the steps
between them (pure).

A pinhole is a firewall rule that lets new IPv6 connections from the Internet through to
a device's own port (dualnat.plan.MainRouterPinhole). Where the router can follow a
changing prefix, the rule names the device's interface identifier: OpenWrt's suffix
match ``::<suffix>/-64`` ("match"), OPNsense's Dynamic IPv6 Host alias ("alias");
otherwise each current address gets a rule. Only dualnat's own rules (tagged ``dualnat
<forward>``) are read and changed: an allow rule never conflicts with anyone's entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..model import PortRange
from ..pinholes import alias_name, tag
from ..plan import Ipv6Advice
from .model import PROTOCOLS, State
from .reconcile import Op, Step


@dataclass(frozen=True)
class HoleWant:
    """One IPv6 rule the main router should hold: `dest` is the suffix match, the alias
    name or a full address; `suffix` the interface identifier an alias stands for."""

    forward: str
    protocols: tuple[str, ...]
    port: PortRange
    dest: str
    tag: str
    suffix: str | None = None  # alias mode: the alias's content

    @property
    def ports(self) -> str:
        return f"IPv6 {'+'.join(self.protocols)} {self.port}"


@dataclass(frozen=True)
class HoleEntry:
    """A dualnat IPv6 rule found on the main router (`key`: its UCI section or uuid)."""

    protocols: tuple[str, ...]
    port: PortRange | None
    dest: str
    tag: str
    key: str
    enabled: bool = True
    suffix: str | None = None  # the content of the alias it names, where it names one

    @property
    def forward(self) -> str:
        return self.tag.removeprefix("dualnat").strip() or self.tag

    @property
    def ports(self) -> str:
        return f"IPv6 {'+'.join(self.protocols)} {self.port}"

    def holds(self, want: HoleWant) -> bool:
        return (
            self.enabled
            and self.tag == want.tag
            and set(self.protocols) == set(want.protocols)
            and self.port == want.port
            and self.dest == want.dest
            and self.suffix == want.suffix
        )


class PinholeClient(Protocol):
    """What a RouterClient offers for IPv6 rules (OpenWrt, OPNsense); every method raises
    errors.RouterError only; changes take effect with the client's `commit`."""

    pinhole_mode: str  # match | alias | address

    def pinholes(self) -> list[HoleEntry]: ...

    def add_pinhole(self, want: HoleWant) -> None: ...

    def update_pinhole(self, entry: HoleEntry, want: HoleWant) -> None: ...

    def delete_pinhole(self, entry: HoleEntry) -> None: ...


def wants(advice: Ipv6Advice | None, mode: str) -> list[HoleWant]:
    """The rules a router of `mode` needs for the plan's pinholes."""
    out: list[HoleWant] = []
    for p in advice.pinholes if advice is not None else ():
        protocols, name = PROTOCOLS[p.proto], tag(p.name)
        if p.stable and p.suffix is not None and mode == "match":
            out.append(HoleWant(p.name, protocols, p.port, str(p.match), name))
        elif p.stable and p.suffix is not None and mode == "alias":
            out.append(HoleWant(p.name, protocols, p.port, alias_name(p.name), name, str(p.suffix)))
        else:
            out += [HoleWant(p.name, protocols, p.port, str(a), name) for a in p.addresses]
    return out


UNSEEN = "ipv6.not_found"  # the advice's reason: the device's address is not known now
# the LAN's IPv6 not read, or without a prefix at the moment: nothing says a rule is stale
UNSURE_PATHS = frozenset({"unknown", "none"})


def unseen(advice: Ipv6Advice | None) -> frozenset[str]:
    """Forwards whose device the bypass router does not see over IPv6 at the moment (its
    neighbour entry is gone): their rules on the main router are kept, not deleted."""
    missing = advice.missing if advice is not None else ()
    return frozenset(name for name, why in missing if why.id == UNSEEN)


def reconcile_pinholes(
    want: Sequence[HoleWant], found: Iterable[HoleEntry], keep: frozenset[str] = frozenset()
) -> list[Step]:
    """Steps that make dualnat's IPv6 rules exactly `want`: a forward's rules are paired
    with its wanted ones in order; the rest are added or deleted, except the rules of the
    forwards in `keep`, which stay as they are."""
    mine: dict[str, list[HoleEntry]] = {}
    for e in sorted(found, key=lambda e: e.key):
        mine.setdefault(e.forward, []).append(e)
    steps: list[Step] = []
    for w in want:
        held = mine.get(w.forward)
        entry = held.pop(0) if held else None
        if entry is None:
            steps.append(Step(w.forward, State.ADDED, Op.ADD, w))  # type: ignore[arg-type]
        elif entry.holds(w):
            steps.append(Step(w.forward, State.IN_PLACE, None, w, entry))  # type: ignore[arg-type]
        else:
            steps.append(Step(w.forward, State.UPDATED, Op.UPDATE, w, entry))  # type: ignore[arg-type]
    for forward, left in mine.items():
        for e in left:
            if forward in keep:
                steps.append(Step(forward, State.IN_PLACE, entry=e))  # type: ignore[arg-type]
            else:
                steps.append(Step(forward, State.REMOVED, Op.DELETE, entry=e))  # type: ignore[arg-type]
    return steps


def is_pinhole_step(step: Step) -> bool:
    return isinstance(step.want, HoleWant) or isinstance(step.entry, HoleEntry)
