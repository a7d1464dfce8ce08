"""``/status``: a summary that never fails, for a page header or a health check.

A configuration that cannot be read or planned is reported (``valid: false`` and
``problems`` keyed like the other endpoints' errors) rather than answered with an error.

``firewall`` is one state for the whole of dualnat's rules, from two facts: whether
/etc/config/firewall holds the planned ``dualnat_*`` sections (what ``apply`` writes) and
whether the rules are loaded, checked the way the doctor checks them (its ruleset check on
the same machine, ``nft list ruleset`` / ``iptables-save``):

- ``applied``: the config has the planned sections and every planned rule is loaded;
- ``pending``: the config differs from the plan: ``apply`` is needed;
- ``broken``: the config has the planned sections, but rules are not loaded (the firewall
  was not reloaded since, or it skipped them);
- ``unknown``: the configuration is invalid, or the loaded rules cannot be read.

``firewall_reason`` holds the doctor's findings about the loaded rules
(``forward.rules_missing`` for each forward whose rules are not all loaded,
``system.masquerade_missing``, ``system.ruleset_unreadable``), so that a page shows the
same reason and fix as the doctor; it is empty when the rules are loaded. A status is
polled, so it holds at most REASON_LIMIT findings (system ones first, then by forward);
``firewall_reason_more`` counts the rest, which the doctor lists.

``proxies`` lists the transparent proxies found (OpenClash, PassWall, PassWall 2,
homeproxy, nikki): whether each is installed, switched on and running, its mode, and what
dualnat does about it: ``state`` is ``applied`` (dualnat's entries are in its settings,
or none are needed), ``pending`` (apply is needed), ``manual`` (only a person can do it:
``warnings`` say how), ``off`` (proxy_coexist 'off') or ``none`` (the proxy is off, or no
forward is enabled); ``reason`` is the plan item's reason, ``entries`` what dualnat keeps
in its settings, ``missing`` and ``remove`` what apply still adds and removes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ... import __version__
from ...apply import FIREWALL, firewall_changes
from ...config import PUBLIC_ADDRESS_AUTO, parse_config
from ...errors import ConfigInvalid
from ...i18n import Part, render
from ...memo import Memo
from ...model import ProxyCoexist
from ...plan import Plan, ProxyExclusion
from ...render.uci import firewall_sections
from ...uci import UciError
from ..errors import problem_errors
from ..lang import request_lang
from ..schemas import StatusSchema
from ..service import Service, service

bp = Blueprint("status", __name__)
SCHEMA = StatusSchema()
REASON_LIMIT = 20  # findings in a status at most (LuCI polls it; the doctor has them all)


def _public(svc: Service, address: str | None) -> dict[str, Any]:
    mode = "none" if not address else "auto" if address == PUBLIC_ADDRESS_AUTO else "fixed"
    data = {"mode": mode, "address": address if mode == "fixed" else None}
    if mode == "auto":
        if svc.public.address is None and svc.public.no_public is None:
            svc.public.load()  # what the daemon found (the state file; no lookup here)
        data.update(svc.public.to_dict())
    return data


def _loaded_rules(svc: Service, plan: Plan) -> tuple[str, list[dict[str, Any]], int]:
    """(ruleset kind, the first REASON_LIMIT of the doctor's findings about the loaded
    rules, how many more there are), as the doctor finds them (imported here, as /doctor
    does, so that the daemon loads the doctor when asked)."""
    from ...doctor import System, rule_findings, ruleset

    kind, findings = rule_findings(plan, ruleset.read(svc.doctor_system or System()))
    lang = request_lang()
    shown = [f.to_dict(lang) for f in findings[:REASON_LIMIT]]
    return kind, shown, len(findings) - len(shown)


# whether /etc/config/firewall holds the plan, by the firewall's text and the plan (kept
# with it, so that its id is not reused meanwhile): LuCI polls the status
_PENDING: Memo[tuple[Plan, bool]] = Memo(2)


def _pending(svc: Service, plan: Plan) -> bool:
    doc = svc.backend.read(FIREWALL)
    key = (doc.serialize(), id(plan))
    kept = _PENDING.find(key)
    if kept is not None and kept[0] is plan:
        return kept[1]
    pending = bool(firewall_changes(doc, firewall_sections(plan)))
    _PENDING.keep(key, (plan, pending))
    return pending


def _proxy_state(plan: Plan, item: ProxyExclusion | None) -> str:
    if item is not None and item.pending:
        return "pending"
    if plan.settings.proxy_coexist is ProxyCoexist.OFF:
        return "off"
    if item is None:
        return "none"
    return "manual" if item.manual and not item.entries else "applied"


def _about(parts: tuple[Part, ...], name: str) -> bool:
    """Whether a plan warning is about the proxy called `name`."""
    return (
        bool(parts)
        and parts[0].id.startswith("plan.proxy.")
        and (dict(parts[0].params).get("name") == name)
    )


def _proxies(plan: Plan) -> list[dict[str, Any]]:
    """Each proxy found, with what dualnat does about it (in the request's language)."""
    lang = request_lang()
    items = {i.proxy: i for i in plan.of_kind(ProxyExclusion)}
    out = []
    for det in plan.proxies:
        item = items.get(det.proxy.key)
        mine = [parts for parts in plan.warning_parts if _about(parts, det.proxy.name)]
        data = det.to_dict()
        data.update(
            state=_proxy_state(plan, item),
            reason=render(item.reason_parts, lang) if item is not None else "",
            entries=[e.to_state() for e in item.entries] if item is not None else [],
            missing=[e.to_state() for e in item.missing] if item is not None else [],
            remove=[e.to_state() for e in item.remove] if item is not None else [],
            warnings=[render(parts, lang) for parts in mine],
        )
        out.append(data)
    return out


def _firewall(pending: bool, kind: str, reason: list[dict[str, Any]]) -> str:
    if pending:
        return "pending"
    if kind == "unknown":
        return "unknown"
    return "broken" if reason else "applied"


@bp.get("/status")
def status() -> dict[str, Any]:
    svc = service()
    data: dict[str, Any] = {
        "version": __version__,
        "config_dir": str(svc.config_dir),
        "live": svc.live,
        "valid": False,
        "problems": {},
        "enabled": None,
        "forwards": None,
        "firewall": "unknown",
        "firewall_reason": [],
        "firewall_reason_more": 0,
        "ruleset": "unknown",
        "public_address": _public(svc, None),
        "proxies": [],
    }
    try:
        config, _ = parse_config(svc.document(), require_main=False)
        data["enabled"] = config.settings.enabled
        data["forwards"] = {"total": len(config.forwards), "enabled": len(config.enabled_forwards)}
        data["public_address"] = _public(svc, config.settings.public_address)
        plan = svc.plan()
        pending = _pending(svc, plan)
        kind, reason, more = _loaded_rules(svc, plan)
        data.update(
            valid=True,
            firewall=_firewall(pending, kind, reason),
            firewall_reason=reason,
            firewall_reason_more=more,
            ruleset=kind,
            proxies=_proxies(plan),
        )
    except ConfigInvalid as exc:
        data["problems"] = problem_errors(exc.problems)
    except (UciError, OSError) as exc:
        data["problems"] = {"_config": [str(exc)]}
    return SCHEMA.dump(data)
