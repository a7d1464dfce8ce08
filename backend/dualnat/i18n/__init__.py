"""Every sentence dualnat produces, in English, Simplified Chinese or Japanese: one message
catalogue per language (catalog.py, <lang>.toml) and sentences built from its templates
(parts.py)."""

from .catalog import (
    DEFAULT_LANG,
    LANGS,
    PLURAL_FORMS,
    Catalog,
    fill_spaced,
    flatten,
    load_catalog,
    normalize_lang,
    placeholders,
)
from .parts import Part, render, table

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "PLURAL_FORMS",
    "Catalog",
    "Part",
    "fill_spaced",
    "flatten",
    "load_catalog",
    "normalize_lang",
    "placeholders",
    "render",
    "table",
]
