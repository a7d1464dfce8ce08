"""Sentences as parts: a template id with its parameters, rendered in any language.

The planner's reasons and warnings, the doctor's messages and fixes and the problems of a
configuration are built as parts: a part names a template of one catalogue table (see
catalog.py) and gives its parameters (strings already formatted: numbers, addresses,
joined lists); `{name}` in a template is replaced by the parameter `name`, and templates
hold no other braces. A text is its parts rendered in one language, joined with a space
in English and with nothing in Chinese and Japanese. The JSON carries the parts next to
the text ({"id", "params"}) for programs that want the ids.

A count that decides an English plural has one template per form (``.one``, ``.other``),
both with the count as `{n}`; Chinese and Japanese have only ``.other``, which renders
both.

Each table has its own Part subclass that names the table (TABLE); `Part.of` and
`Part.plural` make its parts, checked against the English template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar, Self

from .catalog import DEFAULT_LANG, load_catalog, placeholders

PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SEPARATOR = {"en": " "}  # between the sentences of one text; CJK: none


@cache
def table(name: str, lang: str = DEFAULT_LANG) -> Mapping[str, str]:
    """The templates of catalogue table `name` in `lang`, by id."""
    prefix = f"{name}."
    messages = load_catalog(lang).messages
    return {k[len(prefix) :]: v for k, v in messages.items() if k.startswith(prefix)}


@lru_cache(maxsize=4096)
def _check(table_name: str, template_id: str, names: tuple[str, ...]) -> None:
    """ValueError unless `template_id` is in the table and takes exactly `names` (checked
    once per combination: plans make thousands of parts of a few dozen kinds)."""
    template = table(table_name).get(template_id)
    if template is None:
        raise ValueError(f"unknown message template {template_id!r}")
    wanted = placeholders(template)
    if set(names) != wanted or len(set(names)) != len(names):
        raise ValueError(f"template {template_id!r} takes {sorted(wanted)}, got {sorted(names)}")


@dataclass(frozen=True)
class Part:
    """One template of a sentence, with its parameters (a subclass names the table)."""

    TABLE: ClassVar[str] = ""

    id: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check(self.TABLE, self.id, tuple(name for name, _ in self.params))

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The sentence in `lang` (English by default)."""
        key = self.id
        if lang != DEFAULT_LANG:
            templates = table(self.TABLE, lang)
            if key not in templates and key.endswith(".one"):
                key = key[: -len("one")] + "other"  # one plural form in zh and ja
            return load_catalog(lang).t(f"{self.TABLE}.{key}", **dict(self.params))
        params = dict(self.params)
        return PLACEHOLDER.sub(lambda m: params[m.group(1)], table(self.TABLE)[key])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "params": dict(self.params)}

    @classmethod
    def of(cls, template_id: str, **params: object) -> Self:
        """The part `template_id` with `params` (numbers become their decimal text)."""
        return cls(template_id, tuple(zip(params, map(str, params.values()), strict=True)))

    @classmethod
    def plural(cls, template_id: str, n: int, **params: object) -> Self:
        """`template_id`.one when n is 1, else `template_id`.other, with n as {n}."""
        return cls.of(f"{template_id}.{'one' if n == 1 else 'other'}", n=n, **params)


def render(parts: Iterable[Part], lang: str = DEFAULT_LANG) -> str:
    """The text: the parts rendered in `lang`, joined as the language joins sentences."""
    return _SEPARATOR.get(lang, "").join(p.render(lang) for p in parts)


__all__ = ["PLACEHOLDER", "Part", "render", "table"]
