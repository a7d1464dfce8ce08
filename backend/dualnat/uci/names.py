"""Validation of names and values written by us, and UCI single-quote quoting."""

from __future__ import annotations

import re

_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_CONFIG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")  # no leading "-": not an option
_PACKAGE_RE = re.compile(r"[A-Za-z0-9_-]+")  # libuci's check of a `package` statement
_TYPE_RE = re.compile(r"[!-~]+")  # printable ASCII 33..126, no space
_BAD_VALUE_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # control chars except tab
_TYPE_NEEDS_QUOTES = re.compile(r"['\"\\#;]")


def is_name(text: str) -> bool:
    """True if *text* is a valid section or option name (``[A-Za-z0-9_]+``)."""
    return isinstance(text, str) and _NAME_RE.fullmatch(text) is not None


def is_type(text: str) -> bool:
    """True if *text* is a valid section type (printable ASCII without spaces)."""
    return isinstance(text, str) and _TYPE_RE.fullmatch(text) is not None


def is_config_name(text: str) -> bool:
    """True if *text* is a valid config (file) name: ``[A-Za-z0-9_-]+``, no leading ``-``."""
    return isinstance(text, str) and _CONFIG_RE.fullmatch(text) is not None


def is_package_name(text: str) -> bool:
    """True if libuci accepts *text* in a ``package`` statement (``[A-Za-z0-9_-]+``)."""
    return _PACKAGE_RE.fullmatch(text) is not None


def check_name(text: str, what: str = "name") -> str:
    """Return *text* if it is a valid section/option name, else raise ValueError."""
    if not is_name(text):
        raise ValueError(f"invalid {what} {text!r}: must match [A-Za-z0-9_]+")
    return text


def check_type(text: str) -> str:
    """Return *text* if it is a valid section type, else raise ValueError."""
    if not is_type(text):
        raise ValueError(f"invalid section type {text!r}: printable ASCII without spaces")
    return text


def check_config_name(text: str) -> str:
    """Return *text* if it is a valid config name, else raise ValueError."""
    if not is_config_name(text):
        raise ValueError(f"invalid config name {text!r}: [A-Za-z0-9_-]+ without leading -")
    return text


def check_value(value: str) -> str:
    """Return *value* if we may write it, else raise ValueError.

    Written values must be non-empty strings (libuci treats setting an empty value as
    deleting the option, so use a delete instead) without control characters other
    than tab (this also excludes newlines and NUL).
    """
    if not isinstance(value, str):
        raise ValueError(f"option value must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError("empty option value (delete the option instead)")
    bad = _BAD_VALUE_RE.search(value)
    if bad:
        raise ValueError(f"option value contains control character {bad.group()!r}")
    return value


def quote(value: str) -> str:
    """Quote *value* like libuci's export: single quotes, ``'`` becomes ``'\\''``."""
    return "'" + value.replace("'", "'\\''") + "'"


def format_type(type_: str) -> str:
    """Render a section type as export does (bare), quoting it only if it must be."""
    return quote(type_) if _TYPE_NEEDS_QUOTES.search(type_) else type_
