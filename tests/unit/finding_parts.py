"""A finding's parts, rendered the way LuCI's overview renders them, must give its text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dualnat.api.schemas import FindingSchema
from dualnat.doctor.messages import TEMPLATES

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render_like_luci(parts: list[dict[str, Any]], templates: Mapping[str, str] = TEMPLATES) -> str:
    """overview.js: each part's template with {name} replaced, the parts joined by a space."""
    out = []
    for p in parts:
        assert p["id"] in templates, f"unknown template {p['id']!r}"
        template = templates[p["id"]]
        params = p["params"]
        assert set(PLACEHOLDER.findall(template)) == set(params), p
        assert all(isinstance(v, str) for v in params.values()), p
        out.append(PLACEHOLDER.sub(lambda m, params=params: params[m.group(1)], template))
    return " ".join(out)


def check_finding(finding: dict[str, Any]) -> None:
    """The finding as JSON (through the API's schema): its parts give message and fix."""
    data = json.loads(json.dumps(FindingSchema().dump(finding)))
    assert data == finding
    assert render_like_luci(data["message_parts"]) == data["message"], data["code"]
    assert render_like_luci(data["fix_parts"]) == data["fix"], data["code"]
