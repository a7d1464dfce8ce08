"""Findings: what the doctor concludes, with a stable code, a severity, the fix and the
evidence. The codes and their severities are part of the JSON interface (LuCI shows them).
The message and the fix are built from templates (messages.TEMPLATES) that LuCI translates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .messages import Part, render


class Severity(StrEnum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}

# code → (severity, short title). Never renumber or reuse a code; add new ones.
CODES: dict[str, tuple[Severity, str]] = {
    "forward.ok": (Severity.OK, "the forward works"),
    "forward.rules_missing": (Severity.ERROR, "dualnat's rules are not loaded"),
    "forward.no_traffic": (Severity.WARNING, "no connection reaches the bypass router"),
    "forward.direct_to_device": (
        Severity.WARNING,
        "the main router forwards straight to the device",
    ),
    "forward.unreplied": (Severity.ERROR, "the device's replies do not come back"),
    "forward.target_silent": (Severity.ERROR, "the device does not answer"),
    "forward.partly_unreplied": (Severity.WARNING, "some connections got no reply"),
    "forward.not_translated": (Severity.ERROR, "connections arrive but are not forwarded"),
    "forward.stale_connections": (Severity.WARNING, "old connections bypass the rules"),
    "forward.source_not_allowed": (Severity.INFO, "connections from sources not allowed"),
    "forward.unchecked": (Severity.INFO, "traffic could not be checked"),
    "system.ip_forward_off": (Severity.ERROR, "IPv4 forwarding is off"),
    "system.redirects_on": (Severity.WARNING, "ICMP redirects are on"),
    "system.rp_filter_strict": (Severity.WARNING, "strict reverse-path filter"),
    "system.bridge_netfilter": (Severity.WARNING, "bridged traffic passes through netfilter"),
    "system.masquerade_missing": (Severity.ERROR, "the masquerade rule is not loaded"),
    "system.several_rulesets": (Severity.WARNING, "dualnat rules are loaded more than once"),
    "system.ruleset_unreadable": (Severity.WARNING, "the firewall rules could not be read"),
    "system.conntrack_unavailable": (Severity.WARNING, "the connection table could not be read"),
    "system.disabled": (Severity.INFO, "dualnat is disabled"),
    "system.masquerade_off": (Severity.WARNING, "masquerade is off for a risky main router"),
    "system.invalid_drop": (Severity.ERROR, "LAN clients' TCP is dropped as invalid"),
}


@dataclass(frozen=True)
class Finding:
    """One conclusion. `forward` is None for findings about the whole machine.

    The message and the fix are their parts rendered (English); the parts go into the
    JSON too, so that LuCI can show them translated."""

    code: str
    forward: str | None
    message_parts: tuple[Part, ...]
    fix_parts: tuple[Part, ...] = ()
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    @property
    def title(self) -> str:
        return CODES[self.code][1]

    @property
    def message(self) -> str:
        return render(self.message_parts)

    @property
    def fix(self) -> str:
        return render(self.fix_parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "forward": self.forward,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "message_parts": [p.to_dict() for p in self.message_parts],
            "fix_parts": [p.to_dict() for p in self.fix_parts],
            "evidence": list(self.evidence),
        }


def worst(findings: Iterable[Finding]) -> Severity:
    """The most severe severity among `findings` (ok when there are none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)
