"""From rules, connections and settings to findings: which hop fails, and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .. import invalid_drop
from ..model import MasqueradeMode
from ..plan import Plan
from ..vendors import load_vendor
from .conntrack import Entry, Table
from .findings import Finding, Severity
from .messages import Part, part, plural
from .ruleset import RuleCheck, Ruleset, Sources
from .sysctls import IP_FORWARD, conf_key
from .traffic import ForwardTraffic, Lan

MAX_EVIDENCE_LINES = 5
MAX_ADDRESSES = 20

# ruleset kind → the template of the fix that loads the rules again
RELOAD_FIX = {
    "fw4": "reload.fw4",
    "nft": "reload.nft",
    "iptables": "reload.iptables",
    "none": "reload.none",
}


def _reload_fix(kind: str) -> tuple[Part, ...]:
    return (part(RELOAD_FIX.get(kind, RELOAD_FIX["none"])),)


def _lines(entries: Iterable[Entry], limit: int = MAX_EVIDENCE_LINES) -> list[str]:
    return [e.line.strip() for e, _ in zip(entries, range(limit), strict=False)]


def _addresses(values: Iterable[str]) -> list[str]:
    unique = sorted(set(values), key=lambda a: (len(a), a))
    return unique[:MAX_ADDRESSES]


def _count(n: int, what: str) -> str:
    """'1 connection' / '2 connections' (evidence lines, which stay English)."""
    return f"{n} {what}" + ("" if n == 1 else "s")


def _list(values: Iterable[str]) -> str:
    return ", ".join(values)


class ForwardDiagnosis:
    """The findings about one forward and the numbers behind them."""

    def __init__(
        self,
        plan: Plan,
        traffic: ForwardTraffic,
        rules: RuleCheck | None,
        ruleset: Ruleset,
        table: Table,
        sysctls: dict[str, str | None],
        lan: Lan,
    ) -> None:
        self.plan = plan
        self.t = traffic
        self.rules = rules
        self.ruleset = ruleset
        self.table = table
        self.sysctls = sysctls
        self.lan = lan
        self.bypass = str(plan.network.bypass_ip)
        self.findings: list[Finding] = []
        entries = traffic.entries
        self.translated = [e for e in entries if traffic.translated(e)]
        rest = [e for e in entries if not traffic.translated(e)]
        self.not_allowed = [e for e in rest if not e.dnat and not self._allowed(e)]
        self.untranslated = [e for e in rest if e.dnat or self._allowed(e)]
        self.replied = [e for e in self.translated if e.replied]
        self.unreplied = [e for e in self.translated if not e.replied]

    # -- helpers ------------------------------------------------------------------------

    def _allowed(self, e: Entry) -> bool:
        return self.t.arrival_of[id(e)].allows(self.lan.address(e.orig_src))

    def _add(
        self,
        code: str,
        message: Sequence[Part],
        fix: Sequence[Part],
        evidence: Sequence[str] = (),
    ) -> None:
        self.findings.append(
            Finding(code, self.t.name, tuple(message), tuple(fix), tuple(evidence))
        )

    @property
    def tcp(self) -> bool:
        return any(a.proto == "tcp" for a in self.t.arrivals)

    @property
    def relays(self) -> list[str]:
        return [f"{a.proto} {a.address}:{a.ports}" for a in self.t.arrivals if not a.hairpin]

    @property
    def main_router(self) -> list[str]:
        return [
            f"{pf.proto} external port {pf.external_port} → {pf.internal_ip}:{pf.internal_port}"
            for pf in self.plan.main_router.forwards_of(self.t.name)
        ]

    @property
    def device_port(self) -> str:
        return ", ".join(sorted({f"{a.to_addr}:{a.to_ports}" for a in self.t.arrivals}, key=len))

    def _sysctl_hint(self) -> list[Part]:
        """'Also, ...': the kernel settings that drop connections before they are tracked."""
        forward_off = self.sysctls.get(IP_FORWARD) == "0"
        dev = self.plan.network.lan_device
        rp_strict = "1" in [self.sysctls.get(conf_key(d, "rp_filter")) for d in ("all", dev)]
        if forward_off and rp_strict:
            return [part("forward.no_traffic.also_both", key=IP_FORWARD)]
        if forward_off:
            return [part("forward.no_traffic.also_ip_forward", key=IP_FORWARD)]
        if rp_strict:
            return [part("forward.no_traffic.also_rp_filter")]
        return []

    # -- the rules ------------------------------------------------------------------------

    def check_rules(self) -> None:
        rules = self.rules
        if rules is None or rules.ok:
            return
        kind = self.ruleset.kind
        evidence = [f"{rules.present} of {len(rules.expected)} rules loaded ({kind})"]
        evidence += [f"missing: {m}" for m in rules.missing[:MAX_EVIDENCE_LINES]]
        if len(rules.missing) > MAX_EVIDENCE_LINES:
            evidence.append(f"... and {len(rules.missing) - MAX_EVIDENCE_LINES} more")
        expected = len(rules.expected)
        if not rules.present:
            message = [plural("forward.rules_missing.none", expected, kind=kind)]
        else:
            message = [
                part(
                    "forward.rules_missing.some",
                    present=rules.present,
                    expected=expected,
                    kind=kind,
                )
            ]
        if self.untranslated:
            message.append(
                plural(
                    "forward.rules_missing.arrived",
                    len(self.untranslated),
                    relays=_list(self.relays),
                )
            )
            evidence += _lines(self.untranslated)
        elif not self.t.entries and self.table.source is not None and self.tcp:
            message.append(part("forward.rules_missing.no_trace"))
        self._add("forward.rules_missing", message, _reload_fix(kind), evidence)

    # -- the connections ------------------------------------------------------------------

    def check_traffic(self) -> None:
        t = self.t
        if self.table.source is None:
            self._add(
                "forward.unchecked",
                [part("forward.unchecked")],
                [part("forward.unchecked.fix")],
            )
            return
        if not t.entries:
            self._no_traffic()
        else:
            self._replies()
            self._untranslated()
        if self.not_allowed:
            sources = _addresses(e.orig_src for e in self.not_allowed)
            self._add(
                "forward.source_not_allowed",
                [
                    plural(
                        "forward.source_not_allowed", len(self.not_allowed), sources=_list(sources)
                    )
                ],
                [part("forward.source_not_allowed.fix", forward=t.name)],
                _lines(self.not_allowed),
            )

    def _no_traffic(self) -> None:
        t = self.t
        public = self.plan.settings.public_address
        message = [
            part("forward.no_traffic", relays=_list(self.relays), bypass=self.bypass),
            *self._sysctl_hint(),
        ]
        vendor = self.plan.main_router.vendor
        port_forwards = "; ".join(self.main_router)
        if public:
            fix = part(
                "forward.no_traffic.fix",
                vendor=vendor,
                port_forwards=port_forwards,
                public=public,
            )
        else:
            fix = part(
                "forward.no_traffic.fix_no_public", vendor=vendor, port_forwards=port_forwards
            )
        evidence = [
            f"0 of {len(self.table.entries)} tracked connections go to "
            + ", ".join(str(a) for a in t.arrivals)
        ]
        if self.rules is None or self.rules.ok or not self.tcp:
            # Without the rules a TCP connection to the bypass router's port leaves no trace
            # (nothing listens, the kernel resets it and forgets it), so an empty table says
            # nothing about the main router; forward.rules_missing covers that case. A UDP
            # datagram stays in the table (unanswered) for half a minute, rules or not.
            self._add("forward.no_traffic", message, [fix], evidence)
        if t.direct:
            ports = ", ".join(sorted({f"{e.proto}/{e.orig_sport}" for e in t.direct}))
            self._add(
                "forward.direct_to_device",
                [
                    part(
                        "forward.direct_to_device",
                        device=t.device,
                        ports=ports,
                        bypass=self.bypass,
                    )
                ],
                [part("forward.direct_to_device.fix", port_forwards="; ".join(self.main_router))],
                _lines(t.direct),
            )

    def _replies(self) -> None:
        if self.replied and not self.unreplied:
            sees = _addresses(e.reply_dst for e in self.replied)
            clients = _addresses(e.orig_src for e in self.replied)
            self._add(
                "forward.ok",
                [
                    plural(
                        "forward.ok",
                        len(self.replied),
                        device_port=self.device_port,
                        clients=_list(clients),
                        device_sees=_list(sees),
                    )
                ],
                [],
                _lines(self.replied),
            )
        elif self.replied and self.unreplied:
            sources = _addresses(e.orig_src for e in self.unreplied)
            self._add(
                "forward.partly_unreplied",
                [
                    plural(
                        "forward.partly_unreplied",
                        len(self.replied),
                        unreplied=len(self.unreplied),
                        sources=_list(sources),
                    )
                ],
                [part("forward.partly_unreplied.fix")],
                [
                    f"replied: {len(self.replied)}, unreplied: {len(self.unreplied)}",
                    *_lines(self.unreplied),
                ],
            )
        elif self.unreplied:
            self._unreplied()

    def _unreplied(self) -> None:
        t = self.t
        n = len(self.unreplied)
        no_snat = [e for e in self.unreplied if e.reply_dst != self.bypass]
        evidence = [
            f"{n} forwarded to {self.device_port} (DNAT seen), 0 replies",
            *_lines(self.unreplied),
        ]
        if not no_snat:
            self._add(
                "forward.target_silent",
                [
                    plural(
                        "forward.target_silent",
                        n,
                        device_port=self.device_port,
                        bypass=self.bypass,
                    )
                ],
                [
                    part(
                        "forward.target_silent.fix",
                        device=t.device,
                        device_port=self.device_port,
                        bypass=self.bypass,
                    )
                ],
                evidence,
            )
            return
        clients = _addresses(e.orig_src for e in no_snat)
        main_ip = self.plan.network.main_router_ip
        if t.device_own_replied:
            evidence.append(
                f"{t.device} made {_count(t.device_own_replied, 'connection')} of its own "
                "through the bypass router, so its gateway seems to be the bypass router"
            )
            fix = part(
                "forward.unreplied.fix_check_device",
                device=t.device,
                device_port=self.device_port,
                clients=_list(clients),
                forward=t.name,
            )
        else:
            evidence.append(
                f"{t.device} made no connection of its own through the bypass router "
                f"(consistent with its gateway being the main router {main_ip})"
            )
            fix = part("forward.unreplied.fix_snat", forward=t.name, bypass=self.bypass)
        self._add(
            "forward.unreplied",
            [
                plural(
                    "forward.unreplied",
                    n,
                    clients=_list(clients),
                    device_port=self.device_port,
                    main_ip=main_ip,
                    bypass=self.bypass,
                )
            ],
            [fix],
            evidence,
        )

    def _untranslated(self) -> None:
        if not self.untranslated or (self.rules is not None and not self.rules.ok):
            return  # without the rules, forward.rules_missing says it all
        t = self.t
        deletes = sorted(
            {
                f"conntrack -D -p {e.proto} -d {e.orig_dst} --dport {e.orig_dport}"
                for e in self.untranslated
            }
        )[:3]
        evidence = [
            f"{len(self.untranslated)} to {', '.join(self.relays)} not translated, "
            f"{len(self.translated)} translated",
            *_lines(self.untranslated),
        ]
        if self.translated:
            self._add(
                "forward.stale_connections",
                [plural("forward.stale_connections", len(self.untranslated))],
                [part("forward.stale_connections.fix", commands="; ".join(deletes))],
                evidence,
            )
            return
        self._add(
            "forward.not_translated",
            [
                plural(
                    "forward.not_translated",
                    len(self.untranslated),
                    relays=_list(self.relays),
                    device=t.device,
                    lan_device=self.plan.network.lan_device,
                )
            ],
            [part("forward.not_translated.fix", commands="; ".join(deletes))],
            evidence,
        )

    # -- result ---------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        self.check_rules()
        self.check_traffic()
        if self.rules is not None and not self.rules.ok:
            self.findings = [f for f in self.findings if f.code != "forward.ok"]
        return self.findings

    def summary(self) -> dict[str, Any]:
        """The forward's entry in the JSON output."""
        t = self.t
        top = max(self.findings, key=lambda f: f.severity.rank, default=None)
        lan_sources = [e for e in t.entries if e.orig_src in self.lan]
        return {
            "status": top.code if top else None,
            "severity": (top.severity if top else Severity.OK).value,
            "rules": self.rules.to_dict() if self.rules is not None else None,
            "arrivals": [str(a) for a in t.arrivals],
            "main_router": self.main_router,
            "connections": {
                "total": len(t.entries),
                "translated": len(self.translated),
                "replied": len(self.replied),
                "unreplied": len(self.unreplied),
                "untranslated": len(self.untranslated),
                "not_allowed": len(self.not_allowed),
                "snat": sum(1 for e in self.translated if e.reply_dst == self.bypass),
                "from_lan": len(lan_sources),
                "from_internet": len(t.entries) - len(lan_sources),
                "clients": _addresses(e.orig_src for e in t.entries),
                "device_sees": _addresses(e.reply_dst for e in self.replied),
                "direct_from_device": len(t.direct),
                "device_own_connections": t.device_own_replied,
            },
        }


def system_findings(plan: Plan, ruleset: Ruleset, table: Table) -> list[Finding]:
    """Findings about the rules and the table as a whole."""
    out: list[Finding] = []
    if not plan.settings.enabled:
        out.append(
            Finding(
                "system.disabled",
                None,
                (part("system.disabled"),),
                (part("system.disabled.fix"),),
            )
        )
    if ruleset.kind == "unknown":
        out.append(
            Finding(
                "system.ruleset_unreadable",
                None,
                (part("system.ruleset_unreadable"),),
                (part("system.ruleset_unreadable.fix"),),
            )
        )
    if len(ruleset.loaded) > 1:
        # loaded holds each of ruleset.KINDS at most once: two or three of them
        names = dict(zip(("first", "second", "third"), ruleset.loaded, strict=False))
        several = (
            "system.several_rulesets.two" if len(names) == 2 else "system.several_rulesets.three"
        )
        out.append(
            Finding(
                "system.several_rulesets",
                None,
                (part(several, kind=ruleset.kind, **names),),
                (part("system.several_rulesets.fix"),),
                tuple(f"rules found: {k}" for k in ruleset.loaded),
            )
        )
    masq = ruleset.masquerade
    if masq is not None and not masq.ok:
        out.append(
            Finding(
                "system.masquerade_missing",
                None,
                (part("system.masquerade_missing"),),
                _reload_fix(ruleset.kind),
                tuple(f"missing: {m}" for m in masq.missing[:MAX_EVIDENCE_LINES]),
            )
        )
    if table.source is None:
        out.append(
            Finding(
                "system.conntrack_unavailable",
                None,
                (part("system.conntrack_unavailable"),),
                (part("system.conntrack_unavailable.fix"),),
            )
        )
    return out


def masquerade_findings(plan: Plan) -> list[Finding]:
    """Masquerade advice, only where the configuration shows the risk.

    The bypass router cannot see this failure itself: its LAN clients' replies come
    straight from the main router on every one-armed bypass router, so an unanswered
    connection in its table is normal, and the replies that never arrive never pass it.
    """
    settings = plan.settings
    if not settings.enabled or settings.masquerade is not MasqueradeMode.OFF:
        return []
    try:
        vendor = load_vendor(settings.main_router_vendor)
    except KeyError:
        return []
    if not vendor.bridge_netfilter_risk:
        return []
    return [
        Finding(
            "system.masquerade_off",
            None,
            (part("system.masquerade_off", vendor=vendor.name),),
            (part("system.masquerade_off.fix"),),
            (
                "masquerade = off",
                f"main_router_vendor = {vendor.id}: bridge netfilter risk",
                *((vendor.bridge_netfilter_note,) if vendor.bridge_netfilter_note else ()),
            ),
        )
    ]


def invalid_drop_findings(
    plan: Plan, values: dict[str, str | None], sources: Sources, rules: Ruleset
) -> list[Finding]:
    """LAN clients lose TCP: the firewall drops invalid forwarded packets, redirects are
    off and no masquerade is loaded (see dualnat.invalid_drop)."""
    dropping = invalid_drop.from_nft(sources.nft or "") or invalid_drop.from_iptables(
        sources.iptables_filter or ""
    )
    if dropping is None or not plan.settings.enabled:
        return []
    keys = [conf_key(dev, "send_redirects") for dev in ("all", plan.network.lan_device)]
    if any(values.get(k) != "0" for k in keys):
        return []  # redirects on: system.redirects_on says what that does
    masq = rules.masquerade
    if masq is not None and masq.ok:
        return []
    return [
        Finding(
            "system.invalid_drop",
            None,
            (part("system.invalid_drop"),),
            (part("system.invalid_drop.fix"),),
            (
                dropping,
                *(f"{k} = {values.get(k)}" for k in keys),
                "no masquerade rule of dualnat is loaded"
                if masq is None
                else "dualnat's masquerade rule is planned but not loaded",
            ),
        )
    ]


__all__ = [
    "ForwardDiagnosis",
    "invalid_drop_findings",
    "masquerade_findings",
    "system_findings",
]
