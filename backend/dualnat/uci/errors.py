"""Exceptions raised by the UCI layer."""

from __future__ import annotations

from collections.abc import Sequence


class UciError(Exception):
    """Base class of every error raised by :mod:`dualnat.uci`."""


class UciParseError(UciError):
    """Malformed UCI text; carries the file path and the 1-based line number."""

    def __init__(self, reason: str, path: str = "<string>", line: int = 1) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {reason}")


class SectionNotFoundError(UciError, KeyError):
    """An edit addressed a named section that does not exist."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        return f"no section named {self.name!r}"


class UciCommandError(UciError):
    """The ``uci`` command failed (non-zero exit, output on stderr, or not runnable)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        detail = stderr.strip() or "no error output"
        status = "could not run" if returncode is None else f"exit status {returncode}"
        super().__init__(f"{' '.join(self.argv)}: {status}: {detail}")
