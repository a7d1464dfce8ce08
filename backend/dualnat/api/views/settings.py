"""``/config``: the global section ``config dualnat 'main'``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ...config import load_config
from ...writer import settings_changes
from ..body import check_only, json_body
from ..schemas import SettingsSchema
from ..service import service
from ..store import write

bp = Blueprint("settings", __name__)
SCHEMA = SettingsSchema()


@bp.get("/config")
def get_config() -> dict[str, Any]:
    """The settings as the planner reads them (defaults filled in)."""
    return SCHEMA.dump(load_config(service().document(), require_main=False).settings)


@bp.put("/config")
def put_config() -> dict[str, Any]:
    """Replace the settings: absent fields go back to their defaults (``?check=1``: only
    validate, write nothing)."""
    check = check_only()
    values = json_body(SCHEMA)
    after = write(
        service(), lambda doc: settings_changes(doc, values), ("settings", "main"), check=check
    )
    return SCHEMA.dump(load_config(after).settings)
