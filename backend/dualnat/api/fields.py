"""marshmallow fields for dualnat values: strict types, bounded sizes, the core's parsers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from marshmallow import ValidationError, fields

from ..errors import invalid_parts, says

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class StrictBool(fields.Boolean):
    """JSON true or false, nothing else (no "1", "yes" or 0)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(says("value.bool_json"))
        return value


class Text(fields.String):
    """A string of at most `max_length` characters without control characters (newline,
    NUL, ...); optionally matching `pattern`. With `blank_is_none`, "" means null."""

    def __init__(
        self,
        max_length: int,
        *,
        pattern: str | None = None,
        pattern_error: str = "",  # a template of the catalogue table [problems]
        blank_is_none: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_error = pattern_error
        self.blank_is_none = blank_is_none

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kw: Any) -> Any:
        if self.blank_is_none and value == "":
            value = None
        return super().deserialize(value, attr, data, **kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.max_length:
            raise ValidationError(says("value.too_long", n=self.max_length))
        if CONTROL_RE.search(text):
            raise ValidationError(says("value.control"))
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise ValidationError(says(self.pattern_error))
        return text


class Parsed(Text):
    """A string that one of the core's parsers accepts; loaded in its canonical form
    (``str(parse(text))``) and dumped with ``str()``."""

    def __init__(self, parse: Callable[[str], Any], max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length, **kwargs)
        self.parse = parse

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(self.parse(text))
        except ValueError as exc:
            parts = invalid_parts(exc)
            raise ValidationError(parts[0] if parts else str(exc)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class Port(Parsed):
    """A port or a range a-b, as a string; a JSON integer is taken as a single port."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Seconds(Port):
    """A number of seconds, as a string or a JSON integer; dumped as its decimal text."""


class Choice(Text):
    """One of a fixed set of words."""

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        self.choices = tuple(sorted(str(c) for c in choices))
        super().__init__(max(map(len, self.choices)), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and len(value) <= self.max_length and value in self.choices:
            return value
        if not isinstance(value, str):
            raise ValidationError(says("value.not_string"))
        shown = value if len(value) <= 40 and not CONTROL_RE.search(value) else "this value"
        raise ValidationError(says("value.choice", text=shown, choices=", ".join(self.choices)))


class BoundedList(fields.List):
    """A list of at most `max_items` entries; the length is checked before the entries."""

    def __init__(self, inner: fields.Field, max_items: int, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(says("list.too_many", n=self.max_items))
        return super()._deserialize(value, attr, data, **kwargs)
