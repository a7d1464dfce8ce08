"""``/apply`` and ``/revert``: write the planned rules into the firewall config, or remove them.

Both use the core's apply, which holds its own lock, writes atomically and restores the
previous firewall config when the check or the reload fails.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...apply import ApplyResult, apply_plan, revert
from ...config import parse_config
from ...mainrouter.marks import needed
from ...uci import UciError
from ..body import json_body
from ..schemas import ApplyRequestSchema, ApplyResultSchema
from ..service import Service, service

bp = Blueprint("actions", __name__)
REQUEST = ApplyRequestSchema()
RESULT = ApplyResultSchema()


def _result(result: ApplyResult, dry_run: bool, main_router: str = "none") -> dict[str, Any]:
    return RESULT.dump(
        {
            "dry_run": dry_run,
            "changed": result.changed,
            "changes": len(result.changes),
            "diff": result.diff,
            "messages": result.messages,
            "main_router": main_router,
        }
    )


def _main_router(svc: Service, action: str) -> str:
    """Have the main router follow (main_router_control): the daemon pushes in the
    background, `dualnat serve` at once."""
    try:
        settings = parse_config(svc.document(), require_main=False)[0].settings
    except (UciError, OSError):
        return "none"
    if not needed(svc.site, settings):
        return "none"
    assert svc.main_router is not None
    return svc.main_router.request(action)


@bp.post("/apply")
def apply() -> dict[str, Any]:
    """Body (optional): ``{"dry_run": bool}``. Then the main router gets the forwards
    (main_router_control; `main_router` in the answer)."""
    dry_run = json_body(REQUEST, optional=True)["dry_run"]
    svc = service()
    plan = svc.plan()
    result = apply_plan(plan, svc.site, dry_run=dry_run)
    return _result(result, dry_run, "none" if dry_run else _main_router(svc, "push"))


@bp.post("/revert")
def revert_rules() -> dict[str, Any]:
    """Body (optional): ``{"dry_run": bool}``. Then dualnat's entries leave the main router."""
    dry_run = json_body(REQUEST, optional=True)["dry_run"]
    svc = service()
    result = revert(svc.site, dry_run=dry_run)
    return _result(result, dry_run, "none" if dry_run else _main_router(svc, "remove"))
