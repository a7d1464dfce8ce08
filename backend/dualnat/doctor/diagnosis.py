"""From rules, connections and settings to findings: which hop fails, and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..model import MasqueradeMode
from ..plan import Plan
from ..vendors import load_vendor
from .conntrack import Entry, Table
from .findings import Finding, Severity
from .ruleset import RuleCheck, Ruleset
from .sysctls import IP_FORWARD, conf_key
from .traffic import ForwardTraffic, Lan

MAX_EVIDENCE_LINES = 5
MAX_ADDRESSES = 20

RELOAD_FIX = {
    "fw4": "Run dualnat apply (it writes the dualnat_* sections into /etc/config/firewall and "
    "reloads firewall4); if it ran already, reload the firewall: /etc/init.d/firewall reload.",
    "nft": "Load the rules again: dualnat render --format nft | nft -f - (and make sure this "
    "runs at boot).",
    "iptables": "Load the rules again: dualnat render --format iptables | sh (and make sure "
    "this runs at boot).",
    "none": "On OpenWrt run dualnat apply; on a plain Linux bypass router load "
    "dualnat render --format nft | nft -f - (or --format iptables | sh).",
}


def _lines(entries: Iterable[Entry], limit: int = MAX_EVIDENCE_LINES) -> list[str]:
    return [e.line.strip() for e, _ in zip(entries, range(limit), strict=False)]


def _addresses(values: Iterable[str]) -> list[str]:
    unique = sorted(set(values), key=lambda a: (len(a), a))
    return unique[:MAX_ADDRESSES]


def _count(n: int, what: str, verb: str = "") -> str:
    """'1 connection was' / '2 connections were' (verb: 'was' or '')."""
    text = f"{n} {what}" + ("" if n == 1 else "s")
    if verb:
        text += " " + (verb if n == 1 else "were")
    return text


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

    def _add(self, code: str, message: str, fix: str, evidence: Sequence[str] = ()) -> None:
        self.findings.append(Finding(code, self.t.name, message, fix, tuple(evidence)))

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
            for pf in self.plan.main_router.port_forwards
            if pf.name == self.t.name
        ]

    @property
    def device_port(self) -> str:
        return ", ".join(sorted({f"{a.to_addr}:{a.to_ports}" for a in self.t.arrivals}, key=len))

    def _sysctl_hints(self) -> list[str]:
        hints = []
        if self.sysctls.get(IP_FORWARD) == "0":
            hints.append(
                f"{IP_FORWARD} is 0 here, and the kernel drops forwarded connections before "
                "they are tracked"
            )
        dev = self.plan.network.lan_device
        rp = [self.sysctls.get(conf_key(d, "rp_filter")) for d in ("all", dev)]
        if "1" in rp:
            hints.append("strict rp_filter is on, and it drops packets before they are tracked")
        return hints

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
        loaded = "none" if not rules.present else f"only {rules.present}"
        message = (
            f"The bypass router has {loaded} of dualnat's {len(rules.expected)} rules for this "
            f"forward loaded (firewall: {kind}): dualnat apply was not run, or the firewall "
            "was not reloaded since, or something removed them."
        )
        if self.untranslated:
            message += (
                f" {_count(len(self.untranslated), 'connection')} arrived at "
                f"{', '.join(self.relays)} and went nowhere."
            )
            evidence += _lines(self.untranslated)
        elif not self.t.entries and self.table.source is not None and self.tcp:
            message += (
                " No connection to the forward is tracked either, but without the rules a TCP "
                "connection to a port nothing listens on leaves no trace: whether the main "
                "router forwards the port shows once the rules are loaded."
            )
        self._add(
            "forward.rules_missing", message, RELOAD_FIX.get(kind, RELOAD_FIX["none"]), evidence
        )

    # -- the connections ------------------------------------------------------------------

    def check_traffic(self) -> None:
        t = self.t
        if self.table.source is None:
            self._add(
                "forward.unchecked",
                "The connection table could not be read, so whether connections arrive and "
                "get replies is unknown.",
                "Run dualnat doctor as root (see the system finding about the table).",
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
                f"{_count(len(self.not_allowed), 'connection')} from {', '.join(sources)} "
                f"{'was' if len(self.not_allowed) == 1 else 'were'} not forwarded: the forward "
                "only accepts sources in allow_source.",
                f"If they should get through, add their network to list allow_source of "
                f"forward '{t.name}' and run dualnat apply.",
                _lines(self.not_allowed),
            )

    def _no_traffic(self) -> None:
        t = self.t
        public = self.plan.settings.public_address or "the public address"
        hints = self._sysctl_hints()
        message = (
            f"No connection to {', '.join(self.relays)} is in the bypass router's connection "
            "table: nobody connected from outside recently, or the main router does not "
            f"forward the port to the bypass router {self.bypass}."
        )
        if hints:
            message += " Also, " + "; ".join(hints) + "."
        fix = (
            f"On the main router ({self.plan.main_router.vendor}), forward "
            + "; ".join(self.main_router)
            + f". Then connect from outside (a phone on mobile data) to {public} and run "
            "dualnat doctor again."
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
            self._add("forward.no_traffic", message, fix, evidence)
        if t.direct:
            ports = ", ".join(sorted({f"{e.proto}/{e.orig_sport}" for e in t.direct}))
            self._add(
                "forward.direct_to_device",
                f"The device {t.device} sends from its forwarded port ({ports}) to Internet "
                f"addresses through the bypass router, but no connection arrives at "
                f"{self.bypass}: the main router forwards the port straight to the device, and "
                "the device answers through its gateway, the bypass router, which never saw "
                "the connection (TCP replies are dropped there; UDP may get through until a "
                "proxy or a stateful filter takes the flow).",
                "Change the main router's port forward so that it targets the bypass router: "
                + "; ".join(self.main_router)
                + ".",
                _lines(t.direct),
            )

    def _replies(self) -> None:
        if self.replied and not self.unreplied:
            sees = _addresses(e.reply_dst for e in self.replied)
            clients = _addresses(e.orig_src for e in self.replied)
            self._add(
                "forward.ok",
                f"{_count(len(self.replied), 'connection')} forwarded to {self.device_port} "
                f"and answered, from {', '.join(clients)}. The device sees "
                f"{', '.join(sees)} as the client.",
                "",
                _lines(self.replied),
            )
        elif self.replied and self.unreplied:
            sources = _addresses(e.orig_src for e in self.unreplied)
            self._add(
                "forward.partly_unreplied",
                f"{_count(len(self.replied), 'connection')} got replies, "
                f"{len(self.unreplied)} did not (from {', '.join(sources)}).",
                "If the unanswered ones have something in common (LAN clients using the public "
                "address, one Internet address), that path is the one to look at; a few "
                "unanswered attempts (port scans, clients that gave up) are normal.",
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
                f"{_count(n, 'connection', 'was')} forwarded to {self.device_port} with the "
                f"source {self.bypass}, so the replies had to come back here, but the device "
                "never answered.",
                f"Check that {t.device} is on, listens on {self.device_port}, and that its own "
                f"firewall accepts connections from {self.bypass}.",
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
            fix = (
                f"Check that {t.device} is on and listens on {self.device_port}, and that its "
                f"firewall accepts {', '.join(clients)}. If its gateway is the main router "
                f"after all, set option target_gateway 'main' for forward '{t.name}' and run "
                "dualnat apply."
            )
        else:
            evidence.append(
                f"{t.device} made no connection of its own through the bypass router "
                f"(consistent with its gateway being the main router {main_ip})"
            )
            fix = (
                f"Set option target_gateway 'main' for forward '{t.name}' (or keep_source_ip "
                f"'no') and run dualnat apply: the bypass router then replaces the source with "
                f"{self.bypass}, so the replies come back through it (the device sees "
                f"{self.bypass} instead of the client). Or make {self.bypass} the device's "
                "gateway (DHCP)."
            )
        self._add(
            "forward.unreplied",
            f"{_count(n, 'connection')} from {', '.join(clients)} "
            f"{'was' if n == 1 else 'were'} forwarded to {self.device_port} (DNAT happened), "
            "but no reply came back. The device answers "
            f"the client address through its own default gateway; when that is the main "
            f"router ({main_ip}), the main router drops the reply, because it expects it from "
            f"{self.bypass}.",
            fix,
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
                f"{_count(len(self.untranslated), 'connection')} reached the bypass router "
                "without being forwarded while others were: they started before the rules "
                "were loaded, and the kernel keeps a connection's translation for its whole "
                "life (long-lived UDP flows never pick up new rules).",
                "Delete them so that they start again through the rules: " + "; ".join(deletes),
                evidence,
            )
            return
        self._add(
            "forward.not_translated",
            f"{_count(len(self.untranslated), 'connection')} reached the bypass router at "
            f"{', '.join(self.relays)}, and none was forwarded to {t.device} although the "
            "rules are loaded: the connections started before the rules were loaded, or the "
            f"rules are for another LAN device than {self.plan.network.lan_device}.",
            "Delete the old connections (" + "; ".join(deletes) + "); if new ones are not "
            "forwarded either, run dualnat apply again (the LAN device may have changed).",
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
                "dualnat is disabled in /etc/config/dualnat: it plans no rules.",
                "Set option enabled '1' in config dualnat 'main' and run dualnat apply.",
            )
        )
    if ruleset.kind == "unknown":
        out.append(
            Finding(
                "system.ruleset_unreadable",
                None,
                "Neither `nft list ruleset` nor `iptables-save -t nat` could run, so whether "
                "the rules are loaded is unknown.",
                "Run dualnat doctor as root.",
            )
        )
    if len(ruleset.loaded) > 1:
        out.append(
            Finding(
                "system.several_rulesets",
                None,
                f"dualnat's rules are loaded in {' and '.join(ruleset.loaded)} at the same "
                f"time (checked: {ruleset.kind}). The first translation wins, and removing one "
                "leaves the other.",
                "Keep one way: firewall4 on OpenWrt (dualnat apply); remove the others with "
                "dualnat render --format nft --revert | nft -f - or dualnat render --format "
                "iptables --revert | sh.",
                tuple(f"rules found: {k}" for k in ruleset.loaded),
            )
        )
    masq = ruleset.masquerade
    if masq is not None and not masq.ok:
        out.append(
            Finding(
                "system.masquerade_missing",
                None,
                "dualnat plans to masquerade LAN traffic that leaves through the bypass router, "
                "but the rule is not loaded: Wi-Fi clients behind a main router that runs "
                "bridged traffic through netfilter lose IPv4.",
                RELOAD_FIX.get(ruleset.kind, RELOAD_FIX["none"]),
                tuple(f"missing: {m}" for m in masq.missing[:MAX_EVIDENCE_LINES]),
            )
        )
    if table.source is None:
        out.append(
            Finding(
                "system.conntrack_unavailable",
                None,
                "Neither /proc/net/nf_conntrack nor the conntrack tool could be read, so the "
                "doctor cannot tell whether connections arrive and get replies.",
                "Run dualnat doctor as root; on OpenWrt install the conntrack package "
                "(opkg install conntrack) if /proc/net/nf_conntrack is missing.",
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
            f"masquerade is 'off', but the main router ({vendor.name}) runs bridged traffic "
            "through netfilter: its Wi-Fi clients whose gateway is the bypass router lose IPv4 "
            "unless the bypass router masquerades (the main router remembers their first, "
            "bridged pass as 'no NAT'). The bypass router cannot see this failure, because "
            "the replies never reach it; check from such a Wi-Fi client.",
            "Set option masquerade 'auto' (or 'on') in config dualnat 'main' and run dualnat "
            "apply. Cost: the main router then sees those devices as the bypass router.",
            (
                "masquerade = off",
                f"main_router_vendor = {vendor.id}: bridge netfilter risk",
                *((vendor.bridge_netfilter_note,) if vendor.bridge_netfilter_note else ()),
            ),
        )
    ]


__all__ = ["ForwardDiagnosis", "masquerade_findings", "system_findings"]
