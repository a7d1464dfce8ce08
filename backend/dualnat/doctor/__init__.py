"""`dualnat doctor`: look at the running bypass router and say which hop of a forward fails.

It reads the kernel settings (/proc/sys), the loaded rules (`nft list ruleset`,
`iptables-save -t nat`) and the connection table (/proc/net/nf_conntrack or
`conntrack -L`), compares them with the plan, and explains every forward with findings
that have a stable code, a severity, a message, the fix and the evidence.

    report = diagnose(plan)                   # this machine
    report = diagnose(plan, System(prefix=("ip", "netns", "exec", "ns1")))
    report = analyse(plan, sysctl_values, ruleset.Sources(nft, ipt), conntrack.parse(text))

Finding codes, with their severity and a title: findings.CODES. A code names the failing
hop, e.g. forward.no_traffic (nothing reaches the bypass router: the main router's forward
is missing or targets the device), forward.rules_missing (apply not run / firewall not
reloaded), forward.unreplied (DNAT seen, no reply: the device answers through the main
router, SNAT needed), system.ip_forward_off, system.redirects_on, system.rp_filter_strict,
system.invalid_drop (the firewall drops invalid packets with redirects off and no
masquerade: LAN clients lose TCP); and about a transparent proxy on this router:
proxy.found (which one, whether it runs, its mode), proxy.pending (dualnat's exclusion is
not in place: apply), proxy.manual (what only a person can do, e.g. PassWall 2),
proxy.captured (forwarded connections the proxy took: its port answering them, its mark on
them, or the shapes TPROXY and TUN leave in the connection table; the fix).

Titles, messages and fixes are rendered in the caller's language from the catalogues
(`to_dict(lang)`, `text(lang)`); the evidence stays as the system printed it. JSON
(``report.to_dict()``,
`dualnat doctor --json`), version 1::

    {"version": 1,
     "severity": "ok|info|warning|error",          # the worst finding
     "findings": [{"code", "severity", "forward", "title", "message", "fix",
                   "message_parts": [{"id", "params": {name: str}}, ...], "fix_parts": [...],
                   "evidence": [str, ...]}, ...],
     "forwards": {name: {"status": code, "severity", "rules": {"expected", "present",
                  "missing": [...]} | null, "arrivals": [...], "main_router": [...],
                  "connections": {"total", "translated", "replied", "unreplied",
                  "untranslated", "not_allowed", "snat", "from_lan", "from_internet",
                  "clients": [...], "device_sees": [...], "direct_from_device",
                  "device_own_connections"}}},
     "sysctls": {key: value | null},
     "ruleset": "fw4|nft|iptables|none|unknown",
     "rulesets_loaded": [...],
     "conntrack": {"source": str | null, "entries": N, "skipped": N}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..i18n import DEFAULT_LANG, load_catalog, render
from ..plan import Plan
from . import conntrack, ruleset, sysctls
from .conntrack import Table
from .diagnosis import (
    ForwardDiagnosis,
    invalid_drop_findings,
    masquerade_findings,
    system_findings,
)
from .findings import CODES, Finding, Severity, worst
from .proxies import proxy_findings
from .ruleset import Ruleset, Sources
from .system import System
from .traffic import Lan, sort_entries

JSON_VERSION = 1

__all__ = [
    "CODES",
    "Finding",
    "Report",
    "Severity",
    "System",
    "analyse",
    "diagnose",
    "rule_findings",
]


@dataclass
class Report:
    """Everything the doctor found."""

    findings: list[Finding]
    forwards: dict[str, dict[str, Any]]
    sysctls: dict[str, str | None]
    ruleset: Ruleset
    table: Table = field(repr=False)

    @property
    def severity(self) -> Severity:
        return worst(self.findings)

    @property
    def failed(self) -> bool:
        """True when a finding is an error (exit code 1)."""
        return self.severity is Severity.ERROR

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def codes(self, forward: str | None = None) -> list[str]:
        return [f.code for f in self.findings if forward is None or f.forward == forward]

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        """`dualnat doctor --json`: titles, messages and fixes in `lang`."""
        return {
            "version": JSON_VERSION,
            "severity": self.severity.value,
            "findings": [f.to_dict(lang) for f in self.findings],
            "forwards": self.forwards,
            "sysctls": self.sysctls,
            "ruleset": self.ruleset.kind,
            "rulesets_loaded": list(self.ruleset.loaded),
            "conntrack": {
                "source": self.table.source,
                "entries": len(self.table.entries),
                "skipped": self.table.skipped,
            },
        }

    def text(self, lang: str = DEFAULT_LANG) -> str:
        """The report for a terminal: system findings first, then one block per forward."""
        cat = load_catalog(lang)
        loaded = (
            cat.t("text.doctor.loaded", kinds=", ".join(self.ruleset.loaded))
            if self.ruleset.loaded
            else ""
        )
        values = ", ".join(f"{k}={'-' if v is None else v}" for k, v in self.sysctls.items())
        lines = [
            cat.t("text.doctor.firewall", kind=self.ruleset.kind) + loaded,
            cat.t(
                "text.doctor.conntrack",
                source=self.table.source or cat.t("text.doctor.unavailable"),
                n=len(self.table.entries),
            ),
            cat.t("text.doctor.sysctls", values=values),
            "",
        ]
        groups: list[tuple[str, list[Finding]]] = [
            (cat.t("text.doctor.system"), [f for f in self.findings if f.forward is None])
        ]
        groups += [
            (
                cat.t("text.doctor.forward", name=name),
                [f for f in self.findings if f.forward == name],
            )
            for name in self.forwards
        ]
        for title, findings in groups:
            if not findings:
                continue
            lines.append(f"== {title}")
            for f in findings:
                message = render(f.message_parts, lang)
                lines.append(f"{f.severity.value.upper():<8}{f.code}: {message}")
                if f.fix_parts:
                    lines.append(
                        "        " + cat.t("text.doctor.fix", fix=render(f.fix_parts, lang))
                    )
                lines += [f"        | {e}" for e in f.evidence]
            lines.append("")
        lines.append(cat.t(f"text.doctor.verdict.{self.severity.value}"))
        return "\n".join(lines) + "\n"


def analyse(
    plan: Plan,
    sysctl_values: dict[str, str | None],
    rule_sources: Sources,
    table: Table,
) -> Report:
    """The diagnosis from data already read (pure: for tests and recorded inputs)."""
    rules = ruleset.check(plan, rule_sources)
    lan = Lan(plan.network.lan)
    traffic = sort_entries(plan, table.entries, lan)
    findings = system_findings(plan, rules, table)
    findings += masquerade_findings(plan)
    findings += sysctls.findings(plan, sysctl_values)
    findings += invalid_drop_findings(plan, sysctl_values, rule_sources, rules)
    findings += proxy_findings(plan, rule_sources.nft, table)
    forwards: dict[str, dict[str, Any]] = {}
    for name, t in traffic.items():
        diag = ForwardDiagnosis(plan, t, rules.forwards.get(name), rules, table, sysctl_values, lan)
        findings += diag.run()
        forwards[name] = diag.summary()
    return Report(findings, forwards, sysctl_values, rules, table)


# the findings that say whether dualnat's rules are loaded
RULE_FINDINGS = ("forward.rules_missing", "system.masquerade_missing", "system.ruleset_unreadable")


def rule_findings(plan: Plan, rule_sources: Sources) -> tuple[str, list[Finding]]:
    """(ruleset kind, the findings about the loaded rules alone): what `analyse` says with
    codes RULE_FINDINGS, without the kernel settings and the connections (a status page
    asks for this often; the full analysis of every forward is the doctor's)."""
    rules = ruleset.check(plan, rule_sources)
    table = Table([])
    lan = Lan(plan.network.lan)
    findings = [f for f in system_findings(plan, rules, table) if f.code in RULE_FINDINGS]
    for name, t in sort_entries(plan, table.entries, lan).items():
        diag = ForwardDiagnosis(plan, t, rules.forwards.get(name), rules, table, {}, lan)
        diag.check_rules()
        findings += diag.findings
    return rules.kind, findings


def diagnose(plan: Plan, system: System | None = None) -> Report:
    """Read the machine `system` stands for (default: this one) and diagnose `plan`."""
    system = system or System()
    values = sysctls.read(system, plan.network.lan_device)
    sources = ruleset.read(system)
    table = conntrack.read(system)
    return analyse(plan, values, sources, table)
