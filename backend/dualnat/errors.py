"""Errors that name the place they come from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, tied to a section and a field."""

    section: str
    field: str
    message: str
    kind: str = "forward"

    def __str__(self) -> str:
        where = f"{self.kind} '{self.section}'" if self.section else self.kind
        return f"{where}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "section": self.section,
            "field": self.field,
            "message": self.message,
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
