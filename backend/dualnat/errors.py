"""Errors that name the place they come from, in the caller's language.

A problem's `message` is its English text; `parts` (templates of the catalogue table
[problems]) render it in another language (`text(lang)`). A refused value raises Invalid,
a ValueError that carries its part."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Self

from .i18n import DEFAULT_LANG, Part, render


class ProblemPart(Part):
    """A sentence of a problem (catalogue table [problems])."""

    TABLE: ClassVar[str] = "problems"


says = ProblemPart.of


class Invalid(ValueError):
    """A value refused, with the sentence that says why (str(): the English)."""

    def __init__(self, template_id: str, **params: object) -> None:
        self.part = says(template_id, **params)
        super().__init__(self.part.render())


def invalid_parts(exc: ValueError) -> tuple[ProblemPart, ...]:
    """The parts of a refused value's reason (none when it is a plain ValueError)."""
    return (exc.part,) if isinstance(exc, Invalid) else ()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, tied to a section and a field, and where
    known to the file and line (``/etc/config/dualnat:12: forward 'web': proto: ...``)."""

    section: str
    field: str
    message: str
    kind: str = "forward"
    file: str = ""
    line: int = 0
    parts: tuple[Part, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(
        cls,
        section: str,
        field_name: str,
        template_id: str,
        kind: str = "forward",
        **params: object,
    ) -> Self:
        """The problem whose message is the template `template_id` with `params`."""
        part = says(template_id, **params)
        return cls(section, field_name, part.render(), kind, parts=(part,))

    @classmethod
    def refused(cls, section: str, field_name: str, exc: ValueError, kind: str = "forward") -> Self:
        """The problem of a value that a parser refused (its reason translated if it can)."""
        return cls(section, field_name, str(exc), kind, parts=invalid_parts(exc))

    def text(self, lang: str = DEFAULT_LANG) -> str:
        """The message in `lang` (English when it has no parts)."""
        return render(self.parts, lang) if self.parts and lang != DEFAULT_LANG else self.message

    def describe(self, lang: str = DEFAULT_LANG) -> str:
        """The whole line, as str() gives it in English."""
        if lang == DEFAULT_LANG:
            return str(self)
        return str(self).removesuffix(self.message) + self.text(lang)

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}: " if self.file and self.line else ""
        place = place or (f"{self.file}: " if self.file else "")
        where = f"{self.kind} '{self.section}'" if self.section else self.kind
        field = f"{self.field}: " if self.field else ""
        return f"{place}{where}: {field}{self.message}"

    def to_dict(self) -> dict[str, str | int]:
        return {
            "kind": self.kind,
            "section": self.section,
            "field": self.field,
            "message": self.message,
            "file": self.file,
            "line": self.line,
        }


class DualnatError(Exception):
    """Base class of the errors this package raises on purpose."""


class ConfigInvalid(DualnatError):
    """The configuration has one or more problems; nothing was planned or written."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ApplyError(DualnatError):
    """Applying failed; the previous state was restored."""
