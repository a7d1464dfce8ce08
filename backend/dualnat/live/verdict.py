"""One verdict for a live test, with its fix: from what each attempt ended in, the
loaded rules and whether the device answered from its port without the bypass router.

Every attempt that did not work names a failure; the verdict is the first of FAILURES
that any attempt names (what to fix first), else `working` (an attempt from the
Internet worked) or `working_lan_only`. Without any attempt: the device answering
straight to the Internet (the main router forwards to it), rules not loaded, or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import i18n
from ..doctor.diagnosis import RELOAD_FIX
from ..doctor.messages import part as doctor_part
from ..doctor.ruleset import RuleCheck
from .attempts import (
    ANSWER_LOST,
    CONNECTED,
    DEVICE_REFUSED,
    NOT_TRANSLATED,
    SOURCE_REFUSED,
    Attempt,
    Tracker,
)
from .parts import dump, part
from .subject import INTERNET

FAILURES = (
    "rules_missing",
    "not_translated",
    "snat_missing",
    "hairpin_no_snat",
    "wrong_gateway",
    "device_refused",
    "device_silent",
    "answer_lost",
    "source_not_allowed",
)
# what a stray client (a port scan, one that gave up) leaves in a working forward's test
STRAY = frozenset({"device_refused", "device_silent", "answer_lost", "wrong_gateway"})
SEVERITY = {
    "working": "ok",
    "working_lan_only": "info",
    "source_not_allowed": "warning",
}
MAX_ADDRESSES = 10


@dataclass(frozen=True)
class Rules:
    """The forward's rules as the doctor found them loaded (kind: fw4, nft, ...)."""

    kind: str
    check: RuleCheck | None

    @property
    def ok(self) -> bool:
        return self.check is None or self.check.ok

    def counts(self) -> dict[str, int]:
        c = self.check
        return {"present": c.present, "expected": len(c.expected)} if c else {}


@dataclass(frozen=True)
class Verdict:
    code: str
    message: tuple[i18n.Part, ...]
    fix: tuple[i18n.Part, ...]
    counts: dict[str, int]

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.code, "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": dump(self.message),
            "fix": dump(self.fix),
            "counts": self.counts,
        }


def failure(attempt: Attempt, rules: Rules, device_own: bool) -> str | None:
    """What an attempt that did not work says is wrong (None: it worked)."""
    outcome = attempt.outcome
    simple = {
        CONNECTED: None,
        SOURCE_REFUSED: "source_not_allowed",
        DEVICE_REFUSED: "device_refused",
        ANSWER_LOST: "answer_lost",
        NOT_TRANSLATED: "not_translated" if rules.ok else "rules_missing",
    }
    if outcome in simple:
        return simple[outcome]
    # translated, and no answer came back through this router
    if attempt.snat_planned and not attempt.snatted:
        return "snat_missing" if attempt.path == INTERNET else "hairpin_no_snat"
    if attempt.snatted or device_own:
        return "device_silent"
    return "wrong_gateway"


def _addresses(values: Sequence[str]) -> str:
    unique = sorted(set(values), key=lambda a: (len(a), a))
    return ", ".join(unique[:MAX_ADDRESSES])


Build = Callable[["Facts"], tuple[tuple[i18n.Part, ...], tuple[i18n.Part, ...]]]


@dataclass(frozen=True)
class Facts:
    """What the sentences of a verdict are made of."""

    tracker: Tracker
    rules: Rules
    seconds: float
    failed: tuple[Attempt, ...]  # the attempts that name the verdict

    @property
    def s(self) -> Any:
        return self.tracker.subject

    @property
    def clients(self) -> str:
        return _addresses([a.client for a in self.failed])

    @property
    def sees(self) -> str:
        attempts = self.failed or tuple(self.tracker.attempts.values())
        return _addresses([a.sees for a in attempts if a.sees]) or self.s.bypass

    def reload(self) -> tuple[i18n.Part, ...]:
        return (doctor_part(RELOAD_FIX.get(self.rules.kind, RELOAD_FIX["none"])),)

    def rule_counts(self) -> dict[str, int]:
        return self.rules.counts() or {"present": 0, "expected": 0}


def _working(f: Facts) -> Any:
    working = [a for a in f.tracker.attempts.values() if a.working and a.path == INTERNET]
    sees = _addresses([a.sees for a in working if a.sees])
    return (part("verdict.working", device_port=f.s.device_port, sees=sees),), ()


def _lan_only(f: Facts) -> Any:
    return (
        (part("verdict.working_lan_only", device_port=f.s.device_port),),
        (part("fix.working_lan_only", target=f.s.target),),
    )


def _nothing(f: Facts) -> Any:
    s = f.s
    return (
        (
            part(
                "verdict.nothing_arrived",
                relays=s.relays,
                seconds=f"{f.seconds:g}",
                bypass=s.bypass,
            ),
        ),
        (
            part(
                "fix.nothing_arrived",
                vendor=s.plan.main_router.vendor,
                port_forwards=s.port_forwards,
                target=s.target,
            ),
        ),
    )


def _to_device(f: Facts) -> Any:
    peers = _addresses([f"{e.orig_dst}:{e.orig_dport}" for e in f.tracker.direct.values()])
    return (
        (part("verdict.main_router_to_device", device=f.s.device, peers=peers),),
        (part("fix.main_router_to_device", port_forwards=f.s.port_forwards),),
    )


def _rules_missing(f: Facts) -> Any:
    key = "verdict.rules_missing" if f.failed else "verdict.rules_missing_quiet"
    extra = {"relays": f.s.relays} if f.failed else {}
    return (part(key, **extra, **f.rule_counts()),), f.reload()


def _not_translated(f: Facts) -> Any:
    commands = "; ".join(
        sorted(
            {f"conntrack -D -p {a.proto} -s {a.client}" for a in f.failed},
        )[:3]
    )
    return (
        (part("verdict.not_translated", relays=f.s.relays),),
        (part("fix.not_translated", commands=commands),),
    )


def _source(f: Facts) -> Any:
    return (
        (part("verdict.source_not_allowed", clients=f.clients, allowed=f.s.allowed),),
        (part("fix.source_not_allowed", forward=f.s.name),),
    )


def _refused(f: Facts) -> Any:
    return (
        (part("verdict.device_refused", device=f.s.device, device_port=f.s.device_port),),
        (part("fix.device_refused", device=f.s.device, forward=f.s.name),),
    )


def _wrong_gateway(f: Facts) -> Any:
    return (
        (part("verdict.wrong_gateway", device_port=f.s.device_port, main_ip=f.s.main_ip),),
        (part("fix.wrong_gateway", forward=f.s.name, bypass=f.s.bypass),),
    )


def _snat_missing(f: Facts) -> Any:
    return (
        (part("verdict.snat_missing", bypass=f.s.bypass, clients=f.clients, **f.rule_counts()),),
        f.reload(),
    )


def _hairpin(f: Facts) -> Any:
    return (
        (
            part(
                "verdict.hairpin_no_snat",
                device_port=f.s.device_port,
                clients=f.clients,
                **f.rule_counts(),
            ),
        ),
        f.reload(),
    )


def _silent(f: Facts) -> Any:
    return (
        (part("verdict.device_silent", device_port=f.s.device_port, sees=f.sees),),
        (part("fix.device_silent", device=f.s.device, device_port=f.s.device_port, sees=f.sees),),
    )


def _lost(f: Facts) -> Any:
    return (part("verdict.answer_lost"),), (part("fix.answer_lost"),)


BUILD: dict[str, Build] = {
    "working": _working,
    "working_lan_only": _lan_only,
    "nothing_arrived": _nothing,
    "main_router_to_device": _to_device,
    "rules_missing": _rules_missing,
    "not_translated": _not_translated,
    "source_not_allowed": _source,
    "device_refused": _refused,
    "wrong_gateway": _wrong_gateway,
    "snat_missing": _snat_missing,
    "hairpin_no_snat": _hairpin,
    "device_silent": _silent,
    "answer_lost": _lost,
}


def counts(tracker: Tracker) -> dict[str, int]:
    attempts = list(tracker.attempts.values())
    inet = [a for a in attempts if a.path == INTERNET]
    lan = [a for a in attempts if a.path != INTERNET]
    return {
        "internet": len(inet),
        "internet_ok": sum(a.working for a in inet),
        "lan": len(lan),
        "lan_ok": sum(a.working for a in lan),
    }


def decide(tracker: Tracker, rules: Rules, seconds: float) -> Verdict:
    """The verdict of a test that watched for `seconds`. Once an attempt from the
    Internet worked, Internet attempts that went unanswered or were cut off after the
    device's answer (STRAY) name nothing: a forwarded public port meets scanners, and
    the path is proven by the one that worked (the counts still show them)."""
    attempts = list(tracker.attempts.values())
    codes = [failure(a, rules, tracker.device_own) for a in attempts]
    proven = any(c is None and a.path == INTERNET for a, c in zip(attempts, codes, strict=True))
    named: dict[str, list[Attempt]] = {}
    for a, code in zip(attempts, codes, strict=True):
        if code is None or (proven and a.path == INTERNET and code in STRAY):
            continue
        named.setdefault(code, []).append(a)
    code = next((c for c in FAILURES if c in named), None)
    if code is None and attempts:
        code = "working" if any(a.path == INTERNET for a in attempts) else "working_lan_only"
    elif code is None:
        if tracker.direct:
            code = "main_router_to_device"
        elif not rules.ok:
            code = "rules_missing"
        else:
            code = "nothing_arrived"
    facts = Facts(tracker, rules, seconds, tuple(named.get(code, ())))
    message, fix = BUILD[code](facts)
    numbers = counts(tracker)
    if attempts:
        message = (*message, part("verdict.counts", **numbers))
    return Verdict(code, tuple(message), tuple(fix), numbers)
