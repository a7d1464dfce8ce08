"""``/apply`` and ``/revert``: write the planned rules into the firewall config, or remove them.

Both use the core's apply, which holds its own lock, writes atomically and restores the
previous firewall config when the check or the reload fails.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...apply import ApplyResult, apply_plan, revert
from ..body import json_body
from ..schemas import ApplyRequestSchema, ApplyResultSchema
from ..service import service

bp = Blueprint("actions", __name__)
REQUEST = ApplyRequestSchema()
RESULT = ApplyResultSchema()


def _result(result: ApplyResult, dry_run: bool) -> dict[str, Any]:
    return RESULT.dump(
        {
            "dry_run": dry_run,
            "changed": result.changed,
            "changes": len(result.changes),
            "diff": result.diff,
            "messages": result.messages,
        }
    )


@bp.post("/apply")
def apply() -> dict[str, Any]:
    """Body (optional): ``{"dry_run": bool}``."""
    dry_run = json_body(REQUEST, optional=True)["dry_run"]
    svc = service()
    return _result(apply_plan(svc.plan(), svc.site, dry_run=dry_run), dry_run)


@bp.post("/revert")
def revert_rules() -> dict[str, Any]:
    """Body (optional): ``{"dry_run": bool}``."""
    dry_run = json_body(REQUEST, optional=True)["dry_run"]
    return _result(revert(service().site, dry_run=dry_run), dry_run)
