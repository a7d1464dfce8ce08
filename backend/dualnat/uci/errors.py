"""Exceptions raised by the UCI layer."""

from __future__ import annotations

from collections.abc import Sequence


class UciError(Exception):
    """Base class of every error raised by :mod:`dualnat.uci`."""


class UciParseError(UciError):
    """Malformed UCI text, refused as libuci refuses it.

    ``reason`` is libuci's text, ``line`` the 1-based line and ``byte`` the 0-based byte
    offset in that line where libuci stopped (its ``uci`` command prints both as "at
    line N, byte M"); None when not known.  ``str()`` is ``path:line: reason``.
    """

    def __init__(
        self, reason: str, path: str = "<string>", line: int = 1, byte: int | None = None
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.byte = byte
        super().__init__(f"{path}:{line}: {reason}")


# libuci's reasons for refusing a statement for what came before it
OPTION_BEFORE_SECTION = "option/list command found before the first section"
SECTION_TYPE_CHANGED = "section of different type overwrites prior section with same name"


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
