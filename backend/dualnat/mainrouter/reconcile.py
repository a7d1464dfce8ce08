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

from ..plan import MainRouterForward
from .model import Entry, Lease, Outcome, Shape, State, Want, expand


class Op(StrEnum):
    """A change on the router. Deletes go first so that a freed port can be reused."""

    DELETE = "delete"
    UPDATE = "update"
    ADD = "add"
    RENEW = "renew"  # UPnP: add the same mapping again, which restarts its lease


ORDER = {op: i for i, op in enumerate(Op)}
REASONS = {
    State.IN_PLACE: "already on the main router",
    State.ADDED: "added to the main router",
    State.UPDATED: "changed on the main router",
    State.REMOVED: "no longer wanted, removed from the main router",
}
RENEWED = "already on the main router, lease renewed"


@dataclass(frozen=True)
class Step:
    """One entry's part of the plan: a change (`op`) or none, and its expected state."""

    forward: str
    state: State
    op: Op | None = None
    want: Want | None = None
    entry: Entry | None = None
    reason: str = ""  # for failures
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


def _conflict(want: Want, entry: Entry) -> Step:
    target = f"{entry.target_ip}:{entry.target}" if entry.target_ip else "another address"
    holder = f"'{entry.tag}' to {target}" if entry.tag else f"to {target}"
    reason = (
        f"the main router already forwards this port for someone else ({holder}); dualnat "
        "leaves it alone: free the port on the main router or choose another external port"
    )
    return Step(want.forward, State.FAILED, want=want, entry=entry, reason=reason, manual=True)


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
        by_reason: dict[str, list[str]] = {}
        for s in failed:
            by_reason.setdefault(s.reason, []).append(s.ports)
        reason = "; ".join(f"{', '.join(p)}: {r}" for r, p in by_reason.items())
        return Outcome(name, State.FAILED, reason, any(s.manual for s in failed), ports, lease)
    states = {s.state for s in group}
    state = states.pop() if len(states) == 1 else State.UPDATED
    renewed = state is State.IN_PLACE and any(s.op is Op.RENEW for s in group)
    return Outcome(name, state, RENEWED if renewed else REASONS[state], False, ports, lease)
