"""The parts of the plan's reasons and warnings: templates of the catalogue table [reasons]
(i18n/<lang>.toml), rendered in the caller's language (see dualnat.i18n.parts)."""

from __future__ import annotations

from typing import ClassVar

from . import i18n
from .i18n import render, table
from .i18n.parts import PLACEHOLDER

TEMPLATES = table("reasons")  # id → English template (i18n/en.toml, [reasons])


class Part(i18n.Part):
    """One template of a reason or a warning, with its parameters."""

    TABLE: ClassVar[str] = "reasons"


part = Part.of

__all__ = ["PLACEHOLDER", "TEMPLATES", "Part", "part", "render"]
