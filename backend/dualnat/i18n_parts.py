"""Sentences as parts: template ids with parameters, so that LuCI can translate them.

The doctor's findings (doctor/messages.py) and the planner's reasons (reasons.py) build
their English text from templates: a part names a template by id and gives its
parameters (strings already formatted: numbers, addresses, joined lists); `{name}` in a
template is replaced by the parameter `name`, and templates hold no other braces. The
English text is every part rendered, joined with one space. The JSON carries the parts
next to the text ({"id", "params"}), and LuCI's overview renders them with its own,
translated copy of each table (a package test keeps the copies equal to the tables).

A count that decides an English plural has one template per form (``.one``, ``.other``),
both with the count as `{n}`, so that languages without plurals translate both alike.

Each table has its own Part subclass that sets TEMPLATES; `Part.of` and `Part.plural`
make its parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Self

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=1024)
def placeholders(template: str) -> frozenset[str]:
    """The parameter names that `template` takes."""
    return frozenset(PLACEHOLDER.findall(template))


@dataclass(frozen=True)
class Part:
    """One template of a sentence, with its parameters (a subclass names the table)."""

    TEMPLATES: ClassVar[Mapping[str, str]] = {}

    id: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        template = self.TEMPLATES.get(self.id)
        if template is None:
            raise ValueError(f"unknown message template {self.id!r}")
        given = dict(self.params).keys()
        wanted = placeholders(template)
        if given != wanted or len(given) != len(self.params):
            names = sorted(name for name, _ in self.params)
            raise ValueError(f"template {self.id!r} takes {sorted(wanted)}, got {names}")

    def render(self) -> str:
        params = dict(self.params)
        return PLACEHOLDER.sub(lambda m: params[m.group(1)], self.TEMPLATES[self.id])

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


def render(parts: Iterable[Part]) -> str:
    """The English text: the parts rendered, joined with one space."""
    return " ".join(p.render() for p in parts)


__all__ = ["PLACEHOLDER", "Part", "placeholders", "render"]
