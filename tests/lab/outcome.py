"""What a scenario observed: checks with their evidence, and a readable report."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from probes import Answer

from dualnat.plan import Plan

# Skip reasons with this prefix are repeated at the end of a pytest run, even with -q.
LOUD = "LAB:"


class LabSkip(Exception):
    """The scenario cannot run on this machine (the message says why)."""


@dataclass(frozen=True)
class Check:
    """One observation and whether it is what the scenario needs."""

    label: str
    passed: bool
    detail: str
    answer: Answer | None = None


@dataclass(frozen=True)
class Outcome:
    """Everything a scenario observed."""

    checks: tuple[Check, ...]
    plan: Plan | None = None
    notes: tuple[str, ...] = field(default=())
    facts: dict[str, int] = field(default_factory=dict)  # counters worth asserting on

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, label: str) -> Check:
        return next(c for c in self.checks if c.label == label)

    def answer(self, label: str) -> Answer:
        found = self.check(label).answer
        assert found is not None, f"{label} is not a probe"
        return found

    def report(self) -> str:
        lines = [f"  [{'ok' if c.passed else 'FAIL'}] {c.label}: {c.detail}" for c in self.checks]
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def expect(
    label: str,
    answer: Answer,
    *,
    reach: bool = True,
    host: IPv4Address | None = None,
    peer: IPv4Address | None = None,
    port: int | None = None,
    text: str | None = None,
) -> Check:
    """A probe check: reached (or not) the right server, which saw `peer` on `port`."""
    if not reach:
        return Check(label, not answer.ok, f"{answer} (must not connect)", answer)
    passed = (
        answer.ok
        and (host is None or answer.host == host)
        and (peer is None or answer.peer == peer)
        and (port is None or answer.port == port)
        and (text is None or answer.text == text)
    )
    wanted = (("peer", peer), ("port", port), ("host", host), ("text", text))
    want = " ".join(f"{k}={v}" for k, v in wanted if v is not None)
    return Check(label, passed, str(answer) + ("" if passed else f" (wanted {want})"), answer)
