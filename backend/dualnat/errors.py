"""Errors that name the place they come from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
