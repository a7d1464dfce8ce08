"""Who runs live tests for the API (the daemon, `dualnat serve`): each in a forked child
(ubus/forked.py, as the main-router pushes run), which writes its state file as it goes;
a poll reads that file. No call ever waits for a test.

At most one test per forward (starting it again answers the running one) and
`limit` at once. The event stream (`conntrack -E`, events.py) is read from the machine
itself: off with `events=False` (a stand-in machine, as in tests). A test ends by
itself (its time, or its verdict); `stop` ends it (SIGTERM: the child writes the
verdict of what it saw, then exits), and so does the daemon when nobody polled it for
`lease` seconds (the page went away). `tick` collects
finished children; the daemon calls it every loop period, the API before every test call.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..doctor.system import System
from ..site import Site
from ..ubus.forked import FAILED as JOB_FAILED
from ..ubus.forked import ForkedCall
from . import state
from .events import Events
from .subject import Subject
from .watch import STARTING, Options, Report, Watch

LIMIT = 4  # tests at once (each polls the connection table)
LEASE = 20.0  # seconds a test runs on without a poll
STOP_GRACE = 3.0  # seconds a stopped test has to write its verdict before it is killed
MARGIN = 30.0  # seconds over its time before a test's child is stopped anyway
OK = "ok"


class Job(Protocol):
    def result(self) -> str | None: ...

    def kill(self) -> str: ...


class Busy(RuntimeError):
    """`limit` tests run already."""


@dataclass
class Running:
    job: Job
    file: Path
    deadline: float
    polled: float
    stopping: float | None = None


def run_child(
    subject: Subject, system: System, options: Options, file: Path, events: bool = True
) -> str:
    """What the child does: the watch, its state written to `file` at every change;
    SIGTERM stops it with the verdict of what it saw."""
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sink = lambda report: state.write(file, report)  # noqa: E731
    stream = Events if events else (lambda *_: None)
    Watch(subject, system, options, sink, stopped=lambda: bool(stop), events=stream).run()
    return OK


class LiveTests:
    def __init__(
        self,
        site: Site,
        system: System | None = None,
        *,
        spawn: Callable[[Callable[[], str]], Job] = ForkedCall,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        lease: float = LEASE,
        limit: int = LIMIT,
        events: bool = True,
    ) -> None:
        self.site = site
        self.system = system
        self.events = events
        self.spawn = spawn
        self.clock = clock
        self.wall = wall
        self.lease = lease
        self.limit = limit
        self.running: dict[str, Running] = {}

    def start(self, subject: Subject, options: Options) -> str:
        """ "started", or "running" when this forward's test runs already; Busy when
        `limit` tests run."""
        self.tick()
        name = subject.name
        if name in self.running:
            self.running[name].polled = self.clock()
            return "running"
        if len(self.running) >= self.limit:
            raise Busy(name)
        file = state.path(self.site, name)
        state.write(file, Report(name, options.seconds, self.wall(), target=subject.target))
        system = self.system or System()
        job = self.spawn(lambda: run_child(subject, system, options, file, self.events))
        now = self.clock()
        self.running[name] = Running(job, file, now + options.seconds + MARGIN, now)
        return "started"

    def poll(self, forward: str) -> tuple[dict[str, Any] | None, bool]:
        """The stored state of `forward`'s test and whether it still runs (a poll keeps a
        running test alive)."""
        self.tick()
        running = self.running.get(forward)
        if running is not None:
            running.polled = self.clock()
        return state.read(state.path(self.site, forward)), running is not None

    def stop(self, forward: str) -> None:
        self.tick()
        running = self.running.get(forward)
        if running is not None and running.stopping is None:
            self._terminate(running)

    def _terminate(self, running: Running) -> None:
        terminate = getattr(running.job, "terminate", None)
        if terminate is None:
            running.job.kill()
        else:
            terminate()
        running.stopping = self.clock()

    def tick(self) -> None:
        """Collect finished children; stop those nobody polls or that overran."""
        now = self.clock()
        for name, running in list(self.running.items()):
            text = running.job.result()
            if text is None and running.stopping is None:
                if now - running.polled > self.lease or now > running.deadline:
                    self._terminate(running)
            elif text is None and now - running.stopping > STOP_GRACE:  # type: ignore[operator]
                text = running.job.kill()
            if text is None:
                continue
            del self.running[name]
            data = state.read(running.file)
            if data is None:
                data = Report(name, 0, self.wall(), STARTING).to_dict()
            error = text.removeprefix(JOB_FAILED) if text != OK else "the test ended early"
            done = state.failed(data, error)
            if done is not data:
                state.write(running.file, done)

    def stop_all(self) -> None:
        """Stop every test now (the daemon is about to exit)."""
        for running in self.running.values():
            running.job.kill()
            data = state.read(running.file)
            if data is not None:
                state.write(running.file, state.failed(data, "the service stopped"))
        self.running.clear()
