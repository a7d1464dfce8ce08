"""The doctor about transparent proxies on this router: which one is there and in which
mode (proxy.found), whether dualnat's exclusion is in place (proxy.pending), what only a
person can do (proxy.manual), and forwarded connections a proxy took (proxy.captured:
its port answering, its mark, or the shapes that TPROXY and TUN leave in the connection
table; see dualnat.proxies.doctor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..model import ProxyCoexist
from ..plan import Plan, ProxyExclusion
from ..proxies.catalog import PROXIES, Capture
from ..proxies.detect import Detected, live_rules
from ..proxies.doctor import CaptureFinding, captured_in
from ..proxies.entries import entry_text
from ..proxies.exclude import facts_from_plan
from .conntrack import Table
from .findings import Finding
from .messages import Part, part

MAX_EVIDENCE = 5
CAPTURE_NAMES = {Capture.REDIRECT: "REDIRECT", Capture.TPROXY: "TPROXY", Capture.TUN: "TUN"}


def loaded(plan: Plan, nft: str | None) -> list[Detected]:
    """The proxies the plan found, with what the loaded rules (`nft list ruleset` as the
    doctor read it) say about them now; proxies whose rules are loaded but which the plan
    did not see are added."""
    found = {d.proxy.key: d for d in plan.proxies}
    if nft is None:
        return list(found.values())
    out = []
    for key, proxy in PROXIES.items():
        running, live, evidence = live_rules(proxy, nft)
        known = found.get(key)
        if known is not None:
            extra = tuple(e for e in evidence if e not in known.evidence)
            out.append(replace(known, running=running, live=live, evidence=known.evidence + extra))
        elif running:
            out.append(Detected(proxy, True, False, True, None, live, tuple(evidence)))
    return out


def _found(det: Detected, auto: bool) -> Finding:
    name, config = det.proxy.name, det.proxy.config
    if det.running and (det.enabled or det.mode is None):
        message = [part("proxy.found.running", name=name)]
    elif det.running:
        message = [part("proxy.found.loaded", name=name, config=config)]
    elif det.enabled:
        message = [part("proxy.found.enabled", name=name, config=config)]
    else:
        message = [part("proxy.found.off", name=name)]
    mode = det.mode
    if det.active and mode is not None:
        tcp = CAPTURE_NAMES[mode.tcp] if mode.tcp else ""
        if mode.udp is None:
            message.append(part("proxy.found.mode_tcp", tcp=tcp))
        else:
            message.append(part("proxy.found.mode", tcp=tcp, udp=CAPTURE_NAMES[mode.udp]))
        if mode.fake_ip:
            message.append(part("proxy.found.fake_ip"))
    if det.active:
        message.append(part("proxy.found.auto" if auto else "proxy.found.off_setting"))
    return Finding("proxy.found", None, tuple(message), (), det.evidence)


def _pending(item: ProxyExclusion) -> Finding | None:
    message: list[Part] = []
    if item.missing:
        entries = ", ".join(map(entry_text, item.missing))
        message.append(part("proxy.pending.add", name=item.name, entries=entries))
    if item.remove:
        entries = ", ".join(map(entry_text, item.remove))
        message.append(part("proxy.pending.remove", name=item.name, entries=entries))
    if not message:
        return None
    return Finding("proxy.pending", None, tuple(message), (part("proxy.pending.fix"),))


def _manual(item: ProxyExclusion) -> list[Finding]:
    public = ", ".join(str(p) for p in item.public) or "-"
    out = []
    for manual in item.manual:
        if manual.why == "no_setting":
            message = part("proxy.manual.no_setting", name=item.name, public=public)
            fix = part("proxy.manual.no_setting.fix", name=item.name, public=public)
        elif manual.why == "no_section":
            message = part("proxy.manual.no_section", name=item.name, where=manual.where)
            fix = part("proxy.manual.no_section.fix", name=item.name)
        else:
            continue
        out.append(Finding("proxy.manual", None, (message,), (fix,)))
    return out


def _captured(found: CaptureFinding, item: ProxyExclusion | None, auto: bool) -> Finding:
    proxy = PROXIES[found.proxy]
    names = ", ".join(found.forwards)
    message = part(
        "proxy.captured.replies" if found.replies else "proxy.captured",
        name=proxy.name,
        forwards=names,
    )
    if not auto:
        fix = part("proxy.captured.fix_off", name=proxy.name)
    elif item is not None and item.manual and not item.entries:
        fix = part("proxy.captured.fix_manual", name=proxy.name)
    elif item is None or item.pending:
        fix = part("proxy.captured.fix_apply", name=proxy.name)
    else:
        fix = part("proxy.captured.fix_old", name=proxy.name, restart=proxy.restart)
    evidence = tuple(t.evidence for t in found.evidence[:MAX_EVIDENCE])
    return Finding("proxy.captured", None, (message,), (fix,), evidence)


def proxy_findings(plan: Plan, nft: str | None, table: Table) -> list[Finding]:
    """Every finding about transparent proxies (none when no proxy is installed)."""
    detected = loaded(plan, nft)
    if not detected:
        return []
    auto = plan.settings.proxy_coexist is ProxyCoexist.AUTO
    items = {i.proxy: i for i in plan.of_kind(ProxyExclusion)}
    findings = [_found(d, auto) for d in detected]
    for item in items.values():
        pending = _pending(item)
        if pending is not None:
            findings.append(pending)
        findings += _manual(item)
    facts = facts_from_plan(plan)
    captured: Sequence[CaptureFinding] = []
    if facts and table.entries:
        captured = captured_in(table.entries, facts, plan.network.bypass_ip, detected)
    findings += [_captured(c, items.get(c.proxy), auto) for c in captured]
    return findings


__all__ = ["loaded", "proxy_findings"]
