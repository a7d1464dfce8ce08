"""A plan's reasons and warnings, rendered from their parts the way LuCI's overview renders
them, must give their English text."""

from __future__ import annotations

import json
from typing import Any

from finding_parts import render_like_luci

from dualnat.api.schemas import PlanSchema
from dualnat.reasons import TEMPLATES


def check_plan(plan: dict[str, Any]) -> set[str]:
    """The plan as JSON (through the API's schema): every item's reason_parts give its
    reason, every warning's parts the warning. The template ids used."""
    data = json.loads(json.dumps(PlanSchema().dump(plan)))
    assert data == json.loads(json.dumps(plan))
    used: set[str] = set()
    for item in data["items"]:
        assert item["reason_parts"], item
        assert render_like_luci(item["reason_parts"], TEMPLATES) == item["reason"], item
        used |= {p["id"] for p in item["reason_parts"]}
    assert len(data["warning_parts"]) == len(data["warnings"])
    for parts, warning in zip(data["warning_parts"], data["warnings"], strict=True):
        assert render_like_luci(parts, TEMPLATES) == warning
        used |= {p["id"] for p in parts}
    return used
