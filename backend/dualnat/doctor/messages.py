"""The parts of the findings' messages and fixes: templates of the catalogue table
[doctor] (i18n/<lang>.toml), rendered in the caller's language (see dualnat.i18n.parts)."""

from __future__ import annotations

from typing import ClassVar

from .. import i18n
from ..i18n import render, table
from ..i18n.parts import PLACEHOLDER

TEMPLATES = table("doctor")  # id → English template (i18n/en.toml, [doctor])


class Part(i18n.Part):
    """One template of a message or a fix, with its parameters."""

    TABLE: ClassVar[str] = "doctor"


part = Part.of
plural = Part.plural

__all__ = ["PLACEHOLDER", "TEMPLATES", "Part", "part", "plural", "render"]
