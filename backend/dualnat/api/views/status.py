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
same reason and fix as the doctor; it is empty when the rules are loaded.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ... import __version__
from ...apply import FIREWALL, firewall_changes
from ...config import PUBLIC_ADDRESS_AUTO, parse_config
from ...errors import ConfigInvalid
from ...plan import Plan
from ...render.uci import firewall_sections
from ...uci import UciError
from ..errors import problem_errors
from ..lang import request_lang
from ..schemas import StatusSchema
from ..service import Service, service

bp = Blueprint("status", __name__)
SCHEMA = StatusSchema()

# the doctor's findings that say whether dualnat's rules are loaded
RULE_FINDINGS = ("forward.rules_missing", "system.masquerade_missing", "system.ruleset_unreadable")


def _public(svc: Service, address: str | None) -> dict[str, Any]:
    mode = "none" if not address else "auto" if address == PUBLIC_ADDRESS_AUTO else "fixed"
    data = {"mode": mode, "address": address if mode == "fixed" else None}
    if mode == "auto":
        if svc.public.address is None and svc.public.no_public is None:
            svc.public.load()  # what the daemon found (the state file; no lookup here)
        data.update(svc.public.to_dict())
    return data


def _loaded_rules(svc: Service, plan: Plan) -> tuple[str, list[dict[str, Any]]]:
    """(ruleset kind, the doctor's findings about the loaded rules): the doctor's analysis
    of the loaded rules alone, without the kernel settings and the connection table
    (imported here, as /doctor does, so that the daemon loads the doctor when asked)."""
    from ...doctor import System, analyse, ruleset
    from ...doctor.conntrack import Table

    sources = ruleset.read(svc.doctor_system or System())
    report = analyse(plan, {}, sources, Table([]))
    findings = [f.to_dict(request_lang()) for f in report.findings if f.code in RULE_FINDINGS]
    return report.ruleset.kind, findings


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
        "ruleset": "unknown",
        "public_address": _public(svc, None),
    }
    try:
        config, _ = parse_config(svc.document(), require_main=False)
        data["enabled"] = config.settings.enabled
        data["forwards"] = {"total": len(config.forwards), "enabled": len(config.enabled_forwards)}
        data["public_address"] = _public(svc, config.settings.public_address)
        plan = svc.plan()
        pending = firewall_changes(svc.backend.read(FIREWALL), firewall_sections(plan))
        kind, reason = _loaded_rules(svc, plan)
        data.update(
            valid=True,
            firewall=_firewall(bool(pending), kind, reason),
            firewall_reason=reason,
            ruleset=kind,
        )
    except ConfigInvalid as exc:
        data["problems"] = problem_errors(exc.problems)
    except (UciError, OSError) as exc:
        data["problems"] = {"_config": [str(exc)]}
    return SCHEMA.dump(data)
