"""Wanted forwards + the entries found on the main router → the steps that make them
agree, and the outcome each forward will have. Pure: no I/O, no clock.

Only dualnat's own entries (`Entry.ours`) are ever changed or deleted. Someone else's
entry on an external port that a forward needs is a conflict, reported as that forward's
failure with the holder named, and left alone. dualnat's entries are matched to what is
wanted by external port and protocol where the router keeps one entry per port (UPnP),
and by forward name where one entry holds a range (the API routers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..i18n import Part
from ..plan import MainRouterForward
from .errors import PushPart, says
from .model import Entry, Lease, Outcome, Shape, State, Want, Why, expand


class Op(StrEnum):
    """A change on the router. Deletes go first so that a freed port can be reused."""

    DELETE = "delete"
    UPDATE = "update"
    ADD = "add"
    RENEW = "renew"  # UPnP: add the same mapping again, which restarts its lease


ORDER = {op: i for i, op in enumerate(Op)}
# the sentence of each state that is not a failure (catalogue table [push])
REASONS = {
    State.IN_PLACE: "state.in_place",
    State.ADDED: "state.added",
    State.UPDATED: "state.updated",
    State.REMOVED: "state.removed",
}
RENEWED = "state.renewed"


@dataclass(frozen=True)
class Step:
    """One entry's part of the plan: a change (`op`) or none, and its expected state."""

    forward: str
    state: State
    op: Op | None = None
    want: Want | None = None
    entry: Entry | None = None
    why: tuple[Part, ...] = ()  # for failures: the sentence (table [push])
    manual: bool = False

    @property
    def ports(self) -> str:
        return self.want.ports if self.want else self.entry.ports if self.entry else ""


@dataclass(frozen=True)
class Reconciliation:
    steps: tuple[Step, ...]

    @property
    def actions(self) -> tuple[Step, ...]:
        """The changes, in the order to make them."""
        return tuple(sorted((s for s in self.steps if s.op), key=lambda s: ORDER[s.op]))

    def outcomes(self) -> tuple[Outcome, ...]:
        """Each forward's outcome if every change succeeds."""
        return summarize(self.steps)


def _slot(shape: Shape, forward: str, protocols: tuple[str, ...], first: int) -> tuple:
    return (forward,) if shape.ranges else (frozenset(protocols), first)


def holder(entry: Entry) -> str:
    """Who holds a port, in words of no language: ``'game' → 192.168.1.60:9000``
    ("" when the router names neither a description nor a target)."""
    target = f"{entry.target_ip}:{entry.target}" if entry.target_ip and entry.target else ""
    name = f"'{entry.tag}'" if entry.tag else ""
    return " → ".join(w for w in (name, target) if w)


def conflict_part(entry: Entry) -> PushPart:
    """The sentence for a port that someone else's entry holds."""
    who = holder(entry)
    return says("conflict", holder=who) if who else says("conflict.unknown")


def _conflict(want: Want, entry: Entry) -> Step:
    why = (conflict_part(entry),)
    return Step(want.forward, State.FAILED, want=want, entry=entry, why=why, manual=True)


def reconcile(
    forwards: Sequence[MainRouterForward],
    entries: Iterable[Entry],
    shape: Shape,
    *,
    renew_below: int | None = None,
) -> Reconciliation:
    """The steps that make the router hold exactly `forwards` (dualnat's entries only).

    `renew_below`: a UPnP mapping in place with fewer seconds left than this is added
    again (renewed)."""
    entries = list(entries)
    mine: dict[tuple, list[Entry]] = {}
    for e in entries:
        if e.ours:
            mine.setdefault(_slot(shape, e.forward, e.protocols, e.external.first), []).append(e)
    theirs = [e for e in entries if not e.ours and e.enabled]
    steps: list[Step] = []
    for want in (w for f in forwards for w in expand(f, shape)):
        found = mine.get(_slot(shape, want.forward, want.protocols, want.external.first))
        if found:
            steps.append(_keep(found.pop(0), want, renew_below))
            continue
        holder = next((e for e in theirs if e.overlaps(want)), None)
        added = Step(want.forward, State.ADDED, Op.ADD, want)
        steps.append(_conflict(want, holder) if holder else added)
    steps += [
        Step(e.forward, State.REMOVED, Op.DELETE, entry=e) for left in mine.values() for e in left
    ]
    return Reconciliation(tuple(steps))


def _keep(entry: Entry, want: Want, renew_below: int | None) -> Step:
    if not entry.holds(want):
        return Step(want.forward, State.UPDATED, Op.UPDATE, want, entry)
    due = renew_below is not None and entry.lease is not None and 0 < entry.lease < renew_below
    return Step(want.forward, State.IN_PLACE, Op.RENEW if due else None, want, entry)


def summarize(steps: Iterable[Step], leases: dict[str, Lease] | None = None) -> tuple[Outcome, ...]:
    """One outcome per forward, in the order the forwards first appear: failed when any
    of its entries failed (each failure named with its ports), else the one state all its
    entries share, else updated."""
    groups: dict[str, list[Step]] = {}
    for step in steps:
        groups.setdefault(step.forward, []).append(step)
    return tuple(_outcome(name, group, (leases or {}).get(name)) for name, group in groups.items())


def _outcome(name: str, group: list[Step], lease: Lease | None) -> Outcome:
    ports = tuple(dict.fromkeys(s.ports for s in group))
    failed = [s for s in group if s.state is State.FAILED]
    if failed:
        by_reason: dict[tuple[Part, ...], list[str]] = {}
        for s in failed:
            by_reason.setdefault(s.why, []).append(s.ports)
        why = tuple(Why(parts, tuple(p)) for parts, p in by_reason.items())
        return Outcome(name, State.FAILED, why, any(s.manual for s in failed), ports, lease)
    states = {s.state for s in group}
    state = states.pop() if len(states) == 1 else State.UPDATED
    renewed = state is State.IN_PLACE and any(s.op is Op.RENEW for s in group)
    why = (Why((says(RENEWED if renewed else REASONS[state]),)),)
    return Outcome(name, state, why, False, ports, lease)
