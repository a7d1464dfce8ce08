"""A forward's connections over time: each attempt, the stages it reached and the events
that say so. Pure: fed with successive snapshots of the connection table (the doctor's
parser and its sorting of a forward's connections, doctor/traffic.py).

An attempt is one connection (its original tuple). What one snapshot shows of it:

- not translated: the source is not in allow_source (SOURCE_REFUSED), or no rule caught
  it (NOT_TRANSLATED);
- translated (DNAT to the device), then — from the reply direction conntrack saw —
  TCP: the device answered (SYN_RECV: its SYN-ACK passed here), the client completed
  the connection (ESTABLISHED or later, or [ASSURED]: CONNECTED); CLOSE after a reply
  means the device answered and a reset ended the handshake (a port scanner's SYN scan,
  or a client that gave up: ANSWER_LOST, not the device's refusal); UDP: a reply passed
  (CONNECTED).

A connection's DESTROY event (events.py) adds one fact: an unanswered connection that
ends in CLOSE was killed by a TCP reset before any reply (the kernel deletes such an
entry at once), so a translated one was refused by the device (DEVICE_REFUSED).

Time decides the rest: translated but unanswered after `grace` seconds (NO_ANSWER), or
answered but never completed (ANSWER_LOST). A later answer still counts (a retried SYN).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..doctor.conntrack import Entry
from ..doctor.traffic import Arrival, ForwardTraffic, sort_entries
from .parts import Part, dump, part
from .subject import Subject

ARRIVED = "arrived"
TRANSLATED = "translated"
SOURCE_REFUSED = "source_refused"
NOT_TRANSLATED = "not_translated"
ANSWERED = "answered"
CONNECTED = "connected"
DEVICE_REFUSED = "device_refused"
NO_ANSWER = "no_answer"
ANSWER_LOST = "answer_lost"
DIRECT = "direct"
# where an attempt can end (a later stage may still replace NO_ANSWER and ANSWER_LOST)
OUTCOMES = (SOURCE_REFUSED, NOT_TRANSLATED, CONNECTED, DEVICE_REFUSED, NO_ANSWER, ANSWER_LOST)
# TCP states after the client's handshake ACK passed (the connection was made)
MADE = frozenset({"ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT"})
GRACE = 3.0  # seconds a device (or a client) has to answer before it counts as silent
MAX_ATTEMPTS = 1000  # tracked per test (a port scan makes more; they are only counted)

Key = tuple[str, str, int | None, str, int | None]


def key_of(entry: Entry) -> Key:
    return (entry.proto, entry.orig_src, entry.orig_sport, entry.orig_dst, entry.orig_dport)


def reached(
    entry: Entry, subject: Subject, arrival: Arrival, translated: bool, gone: bool = False
) -> list[str]:
    """The stages one snapshot of a connection shows (after ARRIVED); `gone`: the entry's
    DESTROY event."""
    if not translated:
        allowed = arrival.allows(subject.lan.address(entry.orig_src))
        return [SOURCE_REFUSED if not entry.dnat and not allowed else NOT_TRANSLATED]
    if not entry.replied:
        reset = gone and entry.proto == "tcp" and entry.state == "CLOSE"
        return [TRANSLATED, DEVICE_REFUSED] if reset else [TRANSLATED]
    if entry.proto != "tcp":
        return [TRANSLATED, CONNECTED]
    if entry.assured or entry.state in MADE:
        return [TRANSLATED, ANSWERED, CONNECTED]
    if entry.state == "CLOSE":  # answered, then reset before the client completed it
        return [TRANSLATED, ANSWERED, ANSWER_LOST]
    return [TRANSLATED, ANSWERED]


@dataclass(frozen=True)
class Event:
    """Something that happened, `at` seconds into the test (attempt 0: not an attempt's)."""

    at: float
    attempt: int
    path: str
    code: str
    parts: tuple[Part, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "at": round(self.at, 1),
            "attempt": self.attempt,
            "path": self.path,
            "code": self.code,
            "parts": dump(self.parts),
        }


@dataclass
class Attempt:
    number: int
    path: str
    proto: str
    client: str
    since: float
    snat_planned: bool
    stages: list[str] = field(default_factory=list)
    sees: str | None = None  # the source the device saw (once translated)
    snatted: bool = False  # ... and that was the bypass router's address
    answered_at: float | None = None

    @property
    def outcome(self) -> str | None:
        """The stage it ended in so far (None: still open)."""
        return next((s for s in reversed(self.stages) if s in OUTCOMES), None)

    @property
    def working(self) -> bool:
        return self.outcome == CONNECTED


class Tracker:
    """The attempts of one forward, from successive snapshots of the connection table."""

    def __init__(self, subject: Subject, grace: float = GRACE) -> None:
        self.subject = subject
        self.grace = grace
        self.attempts: dict[Key, Attempt] = {}
        self.direct: dict[Key, Entry] = {}
        self.before: set[Key] = set()
        self.device_own = False  # the device's own connections go out through this router
        self.last_event = 0.0
        self.untracked = 0  # attempts beyond MAX_ATTEMPTS

    def _traffic(self, entries: Iterable[Entry]) -> ForwardTraffic:
        return sort_entries(self.subject.plan, entries, self.subject.lan)[self.subject.name]

    def baseline(self, entries: Iterable[Entry]) -> int:
        """Take note of the connections already there (they do not count); how many."""
        traffic = self._traffic(entries)
        self.before = {key_of(e) for e in (*traffic.entries, *traffic.direct)}
        return len(traffic.entries)

    def feed(self, entries: Iterable[Entry], now: float, gone: bool = False) -> list[Event]:
        """The events of one snapshot (or of DESTROY events: `gone`), then those that time
        decides."""
        traffic = self._traffic(entries)
        events: list[Event] = []
        for entry in traffic.entries:
            key = key_of(entry)
            if key in self.before or self.subject.own(entry):
                continue
            arrival = traffic.arrival_of[id(entry)]
            attempt = self.attempts.get(key)
            if attempt is None:
                if len(self.attempts) >= MAX_ATTEMPTS:
                    self.untracked += 1
                    continue
                attempt = self._new(entry, arrival, now)
                events.append(self._event(attempt, now, ARRIVED, entry))
            translated = traffic.translated(entry)
            for stage in reached(entry, self.subject, arrival, translated, gone):
                events += self._reach(attempt, stage, now, entry)
        for entry in traffic.direct:
            key = key_of(entry)
            if key not in self.before and key not in self.direct:
                self.direct[key] = entry
                events.append(self._direct(entry, now))
        self.device_own = self.device_own or traffic.device_own_replied > 0
        return events + self.expire(now)

    def expire(self, now: float, force: bool = False) -> list[Event]:
        """Attempts left unanswered for `grace` seconds (every open one with `force`)."""
        events: list[Event] = []
        for attempt in self.attempts.values():
            if attempt.outcome is not None or TRANSLATED not in attempt.stages:
                continue
            if attempt.answered_at is not None:
                if force or now - attempt.answered_at >= self.grace:
                    events += self._reach(attempt, ANSWER_LOST, now)
            elif force or now - attempt.since >= self.grace:
                events += self._reach(attempt, NO_ANSWER, now)
        return events

    def settled(self, now: float, quiet: float) -> bool:
        """Every attempt has ended, and nothing happened for `quiet` seconds."""
        done = all(a.outcome is not None for a in self.attempts.values())
        return bool(self.attempts) and done and now - self.last_event >= quiet

    # -- the events ---------------------------------------------------------------------

    def _new(self, entry: Entry, arrival: Arrival, now: float) -> Attempt:
        attempt = Attempt(
            len(self.attempts) + 1,
            self.subject.path(entry),
            entry.proto,
            entry.orig_src,
            now,
            self.subject.snat_planned(entry, arrival),
        )
        self.attempts[key_of(entry)] = attempt
        return attempt

    def _reach(
        self, attempt: Attempt, stage: str, now: float, entry: Entry | None = None
    ) -> list[Event]:
        if stage in attempt.stages:
            return []
        if stage == DEVICE_REFUSED and ANSWERED in attempt.stages:
            stage = ANSWER_LOST  # answered, then reset: the client gave up, not the device
            if stage in attempt.stages:
                return []
        attempt.stages.append(stage)
        if stage == TRANSLATED and entry is not None:
            attempt.sees = entry.reply_dst
            attempt.snatted = entry.reply_dst == self.subject.bypass
        if stage == ANSWERED:
            attempt.answered_at = now
        return [self._event(attempt, now, stage, entry)]

    def _event(self, attempt: Attempt, now: float, stage: str, entry: Entry | None) -> Event:
        self.last_event = now
        return Event(now, attempt.number, attempt.path, stage, self._parts(attempt, stage, entry))

    def _parts(self, attempt: Attempt, stage: str, entry: Entry | None) -> tuple[Part, ...]:
        device_port = (
            f"{entry.reply_src}:{entry.reply_sport}"
            if entry is not None and entry.reply_sport is not None
            else self.subject.device_port
        )
        if stage == ARRIVED:
            assert entry is not None
            return (
                part(
                    f"event.arrived.{attempt.path}",
                    **({} if attempt.path == "lan" else {"proto": entry.proto.upper()}),
                    client=entry.orig_src,
                    arrival=f"{entry.orig_dst}:{entry.orig_dport}",
                ),
            )
        if stage == TRANSLATED:
            return (part("event.translated", device_port=device_port, sees=attempt.sees),)
        if stage == SOURCE_REFUSED:
            return (part("event.source_refused", client=attempt.client),)
        if stage == DEVICE_REFUSED:
            return (part("event.device_refused", device_port=device_port),)
        if stage in (NO_ANSWER, ANSWER_LOST):
            return (part(f"event.{stage}", seconds=f"{self.grace:g}"),)
        if stage == CONNECTED and attempt.proto != "tcp":
            return (part("event.answered_udp"),)
        return (part(f"event.{stage}"),)

    def _direct(self, entry: Entry, now: float) -> Event:
        self.last_event = now
        parts = (
            part(
                "event.direct",
                device=entry.orig_src,
                peer=f"{entry.orig_dst}:{entry.orig_dport}",
                port=f"{entry.proto}/{entry.orig_sport}",
            ),
        )
        return Event(now, 0, "internet", DIRECT, parts)
