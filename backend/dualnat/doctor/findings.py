"""Findings: what the doctor concludes, with a stable code, a severity, the fix and the
evidence. The codes and their severities are part of the JSON interface (LuCI shows them).
The title, message and fix are rendered in the caller's language from the catalogues
(tables [findings] and [doctor])."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..i18n import DEFAULT_LANG, table
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

# code → severity. Never renumber or reuse a code; add new ones (with a title in the
# catalogue table [findings], i18n/<lang>.toml).
SEVERITIES: dict[str, Severity] = {
    "forward.ok": Severity.OK,
    "forward.rules_missing": Severity.ERROR,
    "forward.no_traffic": Severity.WARNING,
    "forward.direct_to_device": Severity.WARNING,
    "forward.unreplied": Severity.ERROR,
    "forward.target_silent": Severity.ERROR,
    "forward.partly_unreplied": Severity.WARNING,
    "forward.not_translated": Severity.ERROR,
    "forward.stale_connections": Severity.WARNING,
    "forward.source_not_allowed": Severity.INFO,
    "forward.unchecked": Severity.INFO,
    "system.ip_forward_off": Severity.ERROR,
    "system.redirects_on": Severity.WARNING,
    "system.rp_filter_strict": Severity.WARNING,
    "system.bridge_netfilter": Severity.WARNING,
    "system.masquerade_missing": Severity.ERROR,
    "system.several_rulesets": Severity.WARNING,
    "system.ruleset_unreadable": Severity.WARNING,
    "system.conntrack_unavailable": Severity.WARNING,
    "system.disabled": Severity.INFO,
    "system.masquerade_off": Severity.WARNING,
    "system.invalid_drop": Severity.ERROR,
    "proxy.found": Severity.INFO,
    "proxy.captured": Severity.ERROR,
    "proxy.pending": Severity.WARNING,
    "proxy.manual": Severity.WARNING,
}
# code → (severity, English title)
CODES: dict[str, tuple[Severity, str]] = {
    code: (severity, table("findings")[code]) for code, severity in SEVERITIES.items()
}


def title(code: str, lang: str = DEFAULT_LANG) -> str:
    """The short title of a finding code in `lang`."""
    return table("findings", lang)[code]


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

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        """The JSON of the finding, its title, message and fix in `lang`."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "forward": self.forward,
            "title": title(self.code, lang),
            "message": render(self.message_parts, lang),
            "fix": render(self.fix_parts, lang),
            "message_parts": [p.to_dict() for p in self.message_parts],
            "fix_parts": [p.to_dict() for p in self.fix_parts],
            "evidence": list(self.evidence),
        }


def worst(findings: Iterable[Finding]) -> Severity:
    """The most severe severity among `findings` (ok when there are none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)
