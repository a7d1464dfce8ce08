"""The watch: read the connection table every `interval` seconds for up to `seconds`, feed
the tracker, run the self-test beside it, and end with the verdict. Every change goes to
`sink` (the CLI prints it, the daemon's child writes the state file that polls read).

The table is polled (/proc/net/nf_conntrack, else `conntrack -L`, the doctor's reader),
only the lines that concern the forward are parsed, and the next read waits at least four
times as long as the last one took, so a large table costs a bounded share of one CPU. An
entry stays in the table long after its packets (an unanswered SYN 2 min, UDP 30 s, a
closed connection 10 s or more), so a poll every half second sees each attempt with its
reply direction as the kernel recorded it, except one kind: a connection refused with a
TCP reset before any reply is deleted at once. For those the watch also reads
`conntrack -E` (events.py): their NEW and DESTROY events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..doctor import conntrack, ruleset
from ..doctor.system import System
from ..i18n import Part as AnyPart
from .attempts import Event, Tracker
from .events import DESTROY, Events
from .limits import DEFAULT_SECONDS
from .parts import dump, part, plural
from .selftest import CONNECTED, SelfTest
from .subject import MAIN, Subject
from .verdict import Rules, Verdict, decide

INTERVAL = 0.5  # seconds between two reads of the table (at least)
QUIET = 4.0  # seconds without news after every attempt ended: the verdict is in
SELF_TEST_AT = 0.5  # seconds into the test: after the first snapshot
MAX_EVENTS = 300  # kept in the report, the latest (a ubus reply has a size limit)
# the test's state: starting (the daemon made it), watching, done, stopped, failed
STARTING, WATCHING, DONE, STOPPED, FAILED = "starting", "watching", "done", "stopped", "failed"
JSON_VERSION = 1


@dataclass
class Report:
    """A test as far as it got: what the state file holds and the poll renders."""

    forward: str
    seconds: float
    started: float  # epoch seconds
    state: str = STARTING
    elapsed: float = 0.0
    events: list[Event] = field(default_factory=list)
    self_test: dict[str, Any] | None = None
    verdict: Verdict | None = None
    error: tuple[AnyPart, ...] = ()
    target: str = ""  # where to connect from outside (public address:port)
    omitted: int = 0  # older events dropped beyond MAX_EVENTS

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "forward": self.forward,
            "target": self.target,
            "seconds": self.seconds,
            "started": self.started,
            "state": self.state,
            "elapsed": round(self.elapsed, 1),
            "events": [e.to_dict() for e in self.events],
            "omitted": self.omitted,
            "self_test": self.self_test,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": dump(self.error) if self.error else None,
        }


@dataclass
class Options:
    seconds: float = DEFAULT_SECONDS
    self_test: bool = False
    full: bool = False  # watch the whole time, even once the verdict is in
    interval: float = INTERVAL
    quiet: float = QUIET


Sink = Callable[[Report], None]


class Watch:
    """One test of one forward on the machine `system` stands for."""

    def __init__(
        self,
        subject: Subject,
        system: System,
        options: Options,
        sink: Sink,
        *,
        stopped: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        self_test: Callable[..., SelfTest] = SelfTest,
        events: Callable[[System, tuple[str, ...]], Events | None] = Events,
    ) -> None:
        self.subject = subject
        self.system = system
        self.options = options
        self.sink = sink
        self.stopped = stopped
        self.clock = clock
        self.sleep = sleep
        self.make_self_test = self_test
        self.tracker = Tracker(subject)
        self._took = 0.0
        self.report = Report(subject.name, options.seconds, wall(), target=subject.target)
        self.rules = Rules("none", None)
        self.probe: SelfTest | None = None
        self.make_events = events
        self.events: Events | None = None
        self._start = 0.0
        self._main_before = 0

    # -- helpers ------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock() - self._start

    def _read(self) -> tuple[conntrack.Table, float]:
        began = self.clock()
        table = conntrack.read(self.system, self.subject.watched())
        return table, self.clock() - began

    def _emit(self, events: list[Event]) -> None:
        self.report.elapsed = self._now()
        self.report.events += events
        extra = len(self.report.events) - MAX_EVENTS
        if extra > 0:
            self.report.omitted += extra
            del self.report.events[:extra]
        self.sink(self.report)

    def _note(self, *parts: AnyPart, code: str = "note", path: str = "") -> Event:
        return Event(self._now(), 0, path, code, tuple(parts))

    # -- the self-test ------------------------------------------------------------------

    def _self_test_start(self) -> list[Event]:
        s = self.subject
        if s.public is None:
            reason = part("self.no_public")
        elif "tcp" not in s.protos:
            reason = part("self.no_tcp")
        else:
            self.probe = self.make_self_test(s.public, s.external_port)
            self._main_before = self._main_attempts()
            self.probe.start()
            self.report.self_test = {"result": None, "public": str(s.public)}
            return [self._note(self._self_part("start"), code="self_test", path="self")]
        self.report.self_test = {"result": "unavailable", "parts": dump((reason,))}
        return [self._note(reason, code="self_test", path="self")]

    def _self_part(self, what: str, error: str = "") -> AnyPart:
        s, extra = self.subject, {}
        if what == "timeout":
            extra["seconds"] = f"{self.probe.timeout:g}" if self.probe else "0"
        if what == "failed":
            extra["error"] = error
        return part(f"self.{what}", public=str(s.public), port=s.external_port, **extra)

    def _self_test_poll(self) -> list[Event]:
        if self.probe is None or self.report.self_test is None:
            return []
        if self.report.self_test["result"] is not None:
            return []
        result = self.probe.poll()
        if result is None:
            return []
        what, error = result
        self.report.self_test["result"] = what
        self.report.self_test["parts"] = dump((self._self_part(what, error),))
        return [self._note(self._self_part(what, error), code="self_test", path="self")]

    def _main_attempts(self) -> int:
        return sum(a.path == MAIN for a in self.tracker.attempts.values())

    def _self_test_meaning(self) -> None:
        """What the self-test proves, once the watch has seen where its connection went."""
        st = self.report.self_test
        if st is None or st.get("result") in (None, "unavailable"):
            return
        mains = [a for a in self.tracker.attempts.values() if a.path == MAIN]
        arrived = len(mains) > self._main_before
        if st["result"] == CONNECTED:
            proves = "self.proves.path" if arrived else "self.proves.elsewhere"
        else:
            proves = "self.proves.nothing"
        st["proves"] = dump((part(proves),))
        st["cannot"] = dump((part("self.cannot"),))
        st["arrived"] = arrived

    # -- the loop -----------------------------------------------------------------------

    def _rules(self) -> Rules:
        sources = ruleset.read(self.system)
        found = ruleset.check(self.subject.plan, sources)
        return Rules(found.kind, found.forwards.get(self.subject.name))

    def _done(self, now: float) -> bool:
        o = self.options
        if self.stopped() or now >= o.seconds:
            return True
        probing = self.probe is not None and self.probe.result is None
        return not o.full and not probing and self.tracker.settled(now, o.quiet)

    def _news(self) -> list[Event]:
        """What the event stream and a read of the table show now."""
        out: list[Event] = []
        if self.events is not None:
            happened = self.events.read()
            for gone in (False, True):
                entries = [e for kind, e in happened if (kind == DESTROY) is gone]
                if entries:
                    out += self.tracker.feed(entries, self._now(), gone)
        table, self._took = self._read()
        return out + self.tracker.feed(table.entries, self._now())

    def run(self) -> Report:
        try:
            return self._run()
        finally:
            if self.events is not None:
                self.events.close()

    def _run(self) -> Report:
        self._start = self.clock()
        self.events = self.make_events(self.system, self.subject.watched())
        table, self._took = self._read()
        if table.source is None:
            self.report.state = FAILED
            self.report.error = (part("error.unreadable"),)
            self._emit([])
            return self.report
        self.rules = self._rules()
        already = self.tracker.baseline(table.entries)
        self.report.state = WATCHING
        s = self.subject
        events = [
            self._note(
                part(
                    "event.watching",
                    forward=s.name,
                    seconds=f"{self.options.seconds:g}",
                    target=s.target,
                )
            )
        ]
        if already:
            events.append(self._note(plural("event.already", already)))
        self._emit(events)
        probe_due = self.options.self_test
        while not self._done(self._now()):
            self.sleep(max(self.options.interval, 4 * self._took))
            now = self._now()
            events = []
            if probe_due and now >= SELF_TEST_AT:
                probe_due = False
                events += self._self_test_start()
            events += self._news()
            events += self._self_test_poll()
            if events:
                self._emit(events)
        return self.finish()

    def finish(self) -> Report:
        """The verdict of what was seen (the loop's end, or a stop)."""
        now = self._now()
        if self.probe is not None and self.probe.result is None:
            self.probe.close()
            self.report.self_test = {**(self.report.self_test or {}), "result": "stopped"}
        events = self._news() if self.report.state == WATCHING else []
        events += self.tracker.expire(now, force=True)
        self.report.state = STOPPED if self.stopped() else DONE
        self._self_test_meaning()
        verdict = decide(self.tracker, self.rules, round(now))
        if self.report.state == STOPPED:
            stop = part("verdict.stopped", seconds=f"{round(now):g}")
            verdict = replace(verdict, message=(stop, *verdict.message))
        self.report.verdict = verdict
        self._emit(events)
        return self.report
