"""The daemon keeps the main router's forwards true (main_router_control), without ever
making a ubus call wait for the main router.

Each push (or removal) runs in a forked child (`forked.ForkedCall`, as the public-address
lookup does): the child imports the client it needs (the UPnP client, or requests for
the API routers), writes its result to the state file (mainrouter/control.py) and exits;
the daemon's loop collects it without blocking. Pushes happen

- when asked: the `apply` and `main_router_push` methods (`request`);
- every `check_every` seconds (UPnP: 45 s, so a main router that rebooted and forgot
  its mappings (miniupnpd's lease file lives in /tmp) has them back within a minute;
  the API routers keep theirs in their configuration: every 10 minutes);
- before a UPnP lease ends: at half of what the router said was left (a push renews
  every mapping with less than 60 % of its lease left).

The configuration is read at most once per check, in the loop's thread (a file read);
everything else happens in the child.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..site import Site
from .forked import FAILED, ForkedCall

CHECK_EVERY = {"upnp": 45.0, "openwrt": 600.0, "opnsense": 600.0, "ikuai": 600.0}
IDLE_CHECK = 60.0  # seconds between two looks at the configuration while there is no control
PUSH_DEADLINE = 300.0  # seconds a push may take before its child is stopped
MIN_GAP = 5.0  # seconds between the end of one push and the next (unless asked)
OK, FAILED_PUSH = "ok", "failed"

log = logging.getLogger("dualnat.ubus")


class Job(Protocol):
    def result(self) -> str | None: ...

    def kill(self) -> str: ...


def control_of(site: Site) -> str | None:
    """The control to keep, read from the configuration: its kind, "remove" when it is
    manual but dualnat pushed to a main router before, None when there is nothing to do
    (manual, an unreadable configuration, or revert took dualnat off the main router)."""
    from ..config import CONFIG_NAME, parse_config
    from ..mainrouter.marks import MANUAL, is_off, read_record
    from ..uci import UciError

    if is_off(site):  # revert took dualnat off the main router
        return None
    try:
        settings = parse_config(site.backend.read(CONFIG_NAME), require_main=False)[0].settings
    except (UciError, OSError):
        return None
    kind = settings.main_router_control.value
    if kind != MANUAL:
        return kind
    return "remove" if read_record(site) is not None else None


def run_job(site: Site, action: str) -> str:
    """What the child does: one push or removal (the result goes to the state file)."""
    from ..mainrouter.runner import run

    return OK if run(site, action) else FAILED_PUSH


class Keeper:
    """Runs pushes in children from the daemon's loop (`tick` each loop period)."""

    def __init__(
        self,
        site: Site,
        *,
        control: Callable[[Site], str | None] = control_of,
        job: Callable[[Site, str], str] = run_job,
        spawn: Callable[[Callable[[], str]], Job] = ForkedCall,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        check_every: dict[str, float] | None = None,
        deadline: float = PUSH_DEADLINE,
    ) -> None:
        self.site = site
        self.control = control
        self.job_fn = job
        self.spawn = spawn
        self.clock = clock
        self.wall = wall
        self.check_every = check_every or CHECK_EVERY
        self.deadline = deadline
        self.job: Job | None = None
        self.running: str | None = None
        self.queued: str | None = None
        self._started = 0.0
        self._due = clock()  # the first tick looks
        self.last: str | None = None  # what the last child answered

    # -- for the API (mainrouter.runner.Runner) ----------------------------------------

    def request(self, action: str) -> str:
        """Push or remove at the next loop period (after the one that runs)."""
        if action not in ("push", "remove"):
            raise ValueError(action)
        self.queued = action
        return "queued" if self.job is not None else "started"

    def state(self) -> dict[str, Any]:
        left = max(0.0, self._due - self.clock())
        return {
            "running": self.running,
            "queued": self.queued,
            "next_at": None if self.running else self.wall() + left,
        }

    # -- the loop ---------------------------------------------------------------------

    def _collect(self) -> None:
        assert self.job is not None
        text = self.job.result()
        if text is None and self.clock() - self._started >= self.deadline:
            text = self.job.kill()
        if text is None:
            return
        action, self.job, self.running, self.last = self.running, None, None, text
        if text.startswith(FAILED):
            log.error("main router %s: %s", action, text.removeprefix(FAILED))
        elif text != OK:
            log.warning(
                "main router %s: some forwards failed (see dualnat main-router status)", action
            )
        self._schedule()

    def _schedule(self) -> None:
        """The next check: the control's interval, or earlier for a UPnP lease."""
        from ..mainrouter.control import load_state

        now = self.clock()
        result = load_state(self.site)
        interval = self.check_every.get(result.kind if result else "", IDLE_CHECK)
        due = now + interval
        renew_at = result.leases_renew_at() if result else None
        if renew_at is not None:
            due = min(due, now + max(MIN_GAP, renew_at - self.wall()))
        self._due = due

    def tick(self) -> None:
        """Collect a finished push; start the next one when asked or due."""
        if self.job is not None:
            self._collect()
            if self.job is not None:
                return
        now = self.clock()
        if self.queued is None and now < self._due:
            return
        kind = self.control(self.site)
        action = self.queued or ("remove" if kind == "remove" else "push")
        self.queued = None
        if kind is None and action == "push":
            self._due = now + IDLE_CHECK
            return
        self.running, self._started = action, now
        self._due = now + self.check_every.get(kind or "", IDLE_CHECK)
        self.job = self.spawn(lambda: self.job_fn(self.site, action))

    def stop(self) -> None:
        """Stop a push that still runs (the daemon is about to exit)."""
        if self.job is not None:
            self.job.kill()
            self.job, self.running = None, None
