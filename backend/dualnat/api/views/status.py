"""``/status``: a summary that never fails, for a page header or a health check.

A configuration that cannot be read or planned is reported (``valid: false`` and
``problems`` keyed like the other endpoints' errors) rather than answered with an error.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ... import __version__
from ...apply import FIREWALL, firewall_changes
from ...config import PUBLIC_ADDRESS_AUTO, parse_config
from ...errors import ConfigInvalid
from ...render.uci import firewall_sections
from ...uci import UciError
from ..errors import problem_errors
from ..schemas import StatusSchema
from ..service import Service, service

bp = Blueprint("status", __name__)
SCHEMA = StatusSchema()


def _public(svc: Service, address: str | None) -> dict[str, Any]:
    mode = "none" if not address else "auto" if address == PUBLIC_ADDRESS_AUTO else "fixed"
    data = {"mode": mode, "address": address if mode == "fixed" else None}
    if mode == "auto":
        data.update(svc.public.to_dict())
    return data


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
        "public_address": _public(svc, None),
    }
    try:
        config, _ = parse_config(svc.document(), require_main=False)
        data["enabled"] = config.settings.enabled
        data["forwards"] = {"total": len(config.forwards), "enabled": len(config.enabled_forwards)}
        data["public_address"] = _public(svc, config.settings.public_address)
        plan = svc.plan()
        pending = firewall_changes(svc.backend.read(FIREWALL), firewall_sections(plan))
        data.update(valid=True, firewall="pending" if pending else "applied")
    except ConfigInvalid as exc:
        data["problems"] = problem_errors(exc.problems)
    except (UciError, OSError) as exc:
        data["problems"] = {"_config": [str(exc)]}
    return SCHEMA.dump(data)
