"""Make the main router hold exactly the wanted forwards, through any RouterClient.

Every failure is a failed forward with its reason: a router that does not answer fails
every forward (and is asked nothing more in that push), one refused entry fails only its
forward. Nothing here raises on purpose.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..i18n import DEFAULT_LANG
from ..plan import Ipv6Advice, MainRouterForward
from .client import RouterClient
from .errors import RouterError, says
from .model import PROTOCOLS, SEVEN_DAYS, Entry, Lease, Outcome, State, Why
from .pinhole import UNSURE_PATHS, is_pinhole_step, reconcile_pinholes, unseen
from .pinhole import wants as pinhole_wants
from .reconcile import ORDER, Op, Step, reconcile, summarize

HOLE_PERFORM: dict[Op, Callable[[Any, Step], None]] = {
    Op.DELETE: lambda c, s: c.delete_pinhole(s.entry),
    Op.UPDATE: lambda c, s: c.update_pinhole(s.entry, s.want),
    Op.ADD: lambda c, s: c.add_pinhole(s.want),
}
PERFORM: dict[Op, Callable[[RouterClient, Step], None]] = {
    Op.DELETE: lambda c, s: c.delete(s.entry),  # type: ignore[arg-type]
    Op.UPDATE: lambda c, s: c.update(s.entry, s.want),  # type: ignore[arg-type]
    Op.ADD: lambda c, s: c.add(s.want),  # type: ignore[arg-type]
    Op.RENEW: lambda c, s: c.add(s.want),  # type: ignore[arg-type]  (UPnP: re-adding renews)
}
DOING = {  # what failed, before the router's reason (catalogue table [push])
    Op.DELETE: "doing.delete",
    Op.UPDATE: "doing.update",
    Op.ADD: "doing.add",
    Op.RENEW: "doing.renew",
}
NOT_TAKEN = "doing.commit"


@dataclass(frozen=True)
class Report:
    """The outcome of each forward (and of each stale dualnat entry's forward); `found`:
    the entries the router held before (None: it could not be read); `changed`: whether
    anything was written to it."""

    outcomes: tuple[Outcome, ...]
    found: tuple[Entry, ...] | None = None
    changed: bool = False
    error: Why | None = None  # why the router could not be read (with `found` None)

    @property
    def ok(self) -> bool:
        return all(o.state is not State.FAILED for o in self.outcomes)

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        return {"ok": self.ok, "forwards": [o.to_dict(lang) for o in self.outcomes]}


def _failed(step: Step, doing: str, err: RouterError) -> Step:
    why = (says(doing), *err.parts)
    return replace(step, state=State.FAILED, why=why, manual=err.manual)


def unreadable(forwards: Sequence[MainRouterForward], err: RouterError) -> Report:
    """Every forward failed: the router's entries could not be read (or it could not be
    asked at all)."""
    ports: dict[str, list[str]] = {}
    for f in forwards:
        ports.setdefault(f.name, []).append(f"{'+'.join(PROTOCOLS[f.proto])} {f.external_port}")
    why = (Why(err.parts),)
    outcomes = tuple(Outcome(n, State.FAILED, why, err.manual, tuple(p)) for n, p in ports.items())
    return Report(outcomes, None, False, why[0])


def push(
    client: RouterClient,
    forwards: Sequence[MainRouterForward],
    *,
    ipv6: Ipv6Advice | None = None,
    renew_below: int | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Add the missing, update the changed, delete dualnat's stale entries, renew UPnP
    leases with fewer than `renew_below` seconds left; on a router that takes IPv6 rules
    (PinholeClient), the same for `ipv6`'s pinholes. `dry_run`: only say what would
    happen (the router is read, not changed)."""
    try:
        entries = client.entries()
    except RouterError as err:
        return unreadable(forwards, err)
    found = tuple(entries)
    plan = reconcile(forwards, entries, client.shape, renew_below=renew_below)
    all_steps = [*plan.steps, *_pinhole_steps(client, ipv6, forwards)]
    if dry_run:
        return Report(summarize(all_steps), found)
    done: dict[int, Step] = {}
    dead: RouterError | None = None  # the router stopped answering: ask it nothing more
    actions = sorted((s for s in all_steps if s.op), key=lambda s: ORDER[s.op])  # type: ignore[index]
    for step in actions:
        op = step.op or Op.ADD
        try:
            if dead:
                raise dead
            (HOLE_PERFORM if is_pinhole_step(step) else PERFORM)[op](client, step)
            done[id(step)] = step
        except RouterError as err:
            dead = dead or (err if err.unreachable else None)
            done[id(step)] = _failed(step, DOING[op], err)
    changed = [k for k, s in done.items() if s.state is not State.FAILED]
    if changed:
        try:
            client.commit()
        except RouterError as err:
            for k in changed:
                done[k] = _failed(done[k], NOT_TAKEN, err)
    steps = [done.get(id(s), s) for s in all_steps]
    return Report(summarize(steps, _leases(client, steps, clock())), found, bool(changed))


def _pinhole_steps(
    client: RouterClient, ipv6: Ipv6Advice | None, forwards: Sequence[MainRouterForward]
) -> list[Step]:
    """The IPv6 rules' steps where the client takes them (a device not seen at the moment
    keeps its rules, and while the LAN's IPv6 cannot be read or has no prefix, as during
    a network restart, every forward still pushed keeps its rules); where its IPv6 rules
    cannot be read, each wanted rule fails with the reason (its port forwards go on)."""
    mode = getattr(client, "pinhole_mode", None)
    if mode is None:
        return []
    want = pinhole_wants(ipv6, mode)
    try:
        held = client.pinholes()  # type: ignore[attr-defined]
    except RouterError as err:
        why = (says(DOING[Op.ADD]), *err.parts)
        return [Step(w.forward, State.FAILED, want=w, why=why, manual=True) for w in want]  # type: ignore[arg-type]
    keep = unseen(ipv6)
    if ipv6 is not None and ipv6.path in UNSURE_PATHS:
        keep |= {f.name for f in forwards}
    return reconcile_pinholes(want, held, keep)


def remove(client: RouterClient) -> Report:
    """Delete every dualnat entry from the main router (and nothing else)."""
    return push(client, ())


def _leases(client: RouterClient, steps: list[Step], now: float) -> dict[str, Lease]:
    """Per forward, the shortest time its UPnP mappings have left."""
    if client.lease is None:
        return {}
    granted = client.lease or SEVEN_DAYS
    left: dict[str, int] = {}
    for s in steps:
        if s.state is State.FAILED or s.op is Op.DELETE:
            continue
        seconds = s.entry.lease if s.op is None and s.entry else granted
        if seconds:
            left[s.forward] = min(seconds, left.get(s.forward, seconds))
    return {name: Lease(client.lease, secs, now) for name, secs in left.items()}
