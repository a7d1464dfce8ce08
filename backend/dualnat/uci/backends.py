"""Reading and committing UCI configs: directly on files, or through the ``uci`` command."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from .cache import DocumentCache
from .changes import (
    AddListItem,
    Change,
    DeleteListItem,
    DeleteOption,
    DeleteSection,
    SetList,
    SetOption,
    SetSection,
    validate_change,
)
from .document import Document
from .errors import SectionNotFoundError, UciCommandError
from .names import check_config_name, quote

_ENCODING = ("utf-8", "surrogateescape")
UCI_SAVEDIR = "/tmp/.uci"  # where the uci command keeps uncommitted changes (its -t default)


def _decode(data: bytes) -> str:
    return data.decode(*_ENCODING)


@runtime_checkable
class UciBackend(Protocol):
    """Where UCI configs live and how changes reach them."""

    config_dir: Path

    def read(self, config: str) -> Document:
        """The config as a document (empty if the config does not exist)."""
        ...

    def commit(self, config: str, changes: Sequence[Change]) -> None:
        """Apply *changes* to the config and save it."""
        ...


def atomic_write(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Replace *path* with *text* so that readers see the old or the new file, never a mix.

    Writes a temporary file in the same directory, fsyncs it, then ``os.replace``.
    Keeps the mode (and, as root, the owner) of an existing file; new files get 0644.
    A symlink is followed: its target is replaced.
    """
    import tempfile  # only for writes (reads are most of the calls)

    target = Path(os.path.realpath(path))
    data = text.encode(*_ENCODING) if isinstance(text, str) else text
    try:
        st: os.stat_result | None = target.stat()
    except FileNotFoundError:
        st = None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode) if st else 0o644)
            if st is not None and os.geteuid() == 0:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on *path* (as libuci does when committing), if it exists."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _checked(changes: Iterable[Change]) -> list[Change]:
    result = list(changes)
    for change in result:
        validate_change(change)
    return result


class FileBackend:
    """Edits ``<config_dir>/<config>`` directly, preserving comments and layout."""

    def __init__(self, config_dir: str | os.PathLike[str]) -> None:
        self.config_dir = Path(config_dir)
        self.cache = DocumentCache(_decode)

    def path(self, config: str) -> Path:
        """Path of *config*'s file (the name is validated: no path tricks)."""
        return self.config_dir / check_config_name(config)

    def read(self, config: str) -> Document:
        """Parse the config file (not again while it is unchanged: uci/cache.py); a
        missing file reads as an empty document."""
        return self.cache.read(self.path(config))

    def commit(self, config: str, changes: Sequence[Change]) -> None:
        """Apply *changes* and write the file atomically; nothing is written if the
        text does not change."""
        path = self.path(config)
        todo = _checked(changes)
        if not todo:
            return
        with _locked(path):
            doc = self.read(config)
            before = doc.serialize()
            doc.apply(todo)
            after = doc.serialize()
            if after != before:
                atomic_write(path, after)


def _batch_lines(config: str, change: Change, doc: Document | None) -> list[str]:
    """``uci batch`` commands for one change; with *doc*, skip what is already so."""

    def current(section: str, option: str) -> object:
        if doc is None:
            return ...
        sec = doc.section(section)
        if sec is None:
            raise SectionNotFoundError(section)
        return sec.options.get(option)

    match change:
        case SetSection(name, type_):
            sec = doc.section(name) if doc is not None else None
            if sec is not None and sec.type == type_:
                return []
            return [f"set {config}.{name}={quote(type_)}"]
        case SetOption(section, option, value):
            if current(section, option) == value:
                return []
            return [f"set {config}.{section}.{option}={quote(value)}"]
        case SetList(section, option, values):
            old = current(section, option)
            if old == list(values):
                return []
            lines = [] if old is None else [f"delete {config}.{section}.{option}"]
            return lines + [f"add_list {config}.{section}.{option}={quote(v)}" for v in values]
        case DeleteOption(section, option):
            if doc is not None and doc.section(section) is None:
                return []
            if current(section, option) is None:
                return []
            return [f"delete {config}.{section}.{option}"]
        case DeleteSection(name):
            if doc is not None and doc.section(name) is None:
                return []
            return [f"delete {config}.{name}"]
        case AddListItem(section, option, value):
            current(section, option)  # the section must exist
            return [f"add_list {config}.{section}.{option}={quote(value)}"]
        case DeleteListItem(section, option, value):
            old = current(section, option)
            items = old if isinstance(old, list) else [old] if isinstance(old, str) else []
            if doc is not None and value not in items:
                return []
            return [f"del_list {config}.{section}.{option}={quote(value)}"]
    raise TypeError(f"not a UCI change: {change!r}")  # pragma: no cover


def batch_script(config: str, changes: Iterable[Change], current: Document | None = None) -> str:
    """The ``uci batch`` script for *changes*, ending with ``commit CONFIG``.

    With *current* (the config as it is now, left unmodified) changes that are already
    in effect are skipped, deletes of missing entries are omitted, and an empty string
    is returned when nothing is left to do.  Names and values are validated first.
    """
    check_config_name(config)
    todo = _checked(changes)
    doc = current.copy() if current is not None else None
    lines: list[str] = []
    for change in todo:
        lines += _batch_lines(config, change, doc)
        if doc is not None:
            doc.apply([change])
    if not lines:
        return ""
    return "\n".join([*lines, f"commit {config}", ""])


class UciCommandBackend:
    """Commits configs through the ``uci`` command (``uci -c DIR ...``); reads them as
    libuci loads them (see `read`).

    ``uci`` rewrites the whole file on commit, so comments and layout are not kept.
    Commands run from an argv list (never a shell); values are passed quoted on stdin.
    Success is judged by the exit status and by the output (a commit is checked by
    reading the config back, as ``uci batch`` exits 0 even when a command in it
    failed); stderr only feeds error messages, since a harmless warning there (e.g.
    the loader's "ERROR: ld.so: object ... cannot be preloaded") is no failure.
    """

    def __init__(
        self,
        config_dir: str | os.PathLike[str],
        uci_bin: str | os.PathLike[str] = "uci",
        *,
        timeout: float = 30.0,
        savedir: str | os.PathLike[str] = UCI_SAVEDIR,
    ) -> None:
        self.config_dir = Path(config_dir)
        self.uci_bin = os.fspath(uci_bin)
        self.timeout = timeout
        self.savedir = Path(savedir)
        self.cache = DocumentCache(_decode)

    def _run(self, args: list[str], stdin: str | None = None) -> tuple[list[str], int, str, str]:
        """Run uci with *args*; return argv, exit status, stdout and stderr."""
        argv = [self.uci_bin, "-c", str(self.config_dir), *args]
        try:
            proc = subprocess.run(
                argv,
                input=stdin.encode(*_ENCODING) if stdin is not None else None,
                stdin=subprocess.DEVNULL if stdin is None else None,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise UciCommandError(argv, None, f"timed out after {self.timeout}s") from exc
        except OSError as exc:
            raise UciCommandError(argv, None, str(exc)) from exc
        out = proc.stdout.decode(*_ENCODING)
        err = proc.stderr.decode(*_ENCODING)
        return argv, proc.returncode, out, err

    def read(self, config: str) -> Document:
        """The config as libuci loads it; a config uci cannot find reads as empty.

        Without uncommitted changes (no delta file in the savedir) that is the file
        itself, read directly as libuci reads it (uci/scan.py): no process to start, not
        parsed again while unchanged, and problems carry the file's own line numbers.
        With a delta file, ``uci export CONFIG`` (libuci applies the deltas)."""
        check_config_name(config)
        if not (self.savedir / config).exists():
            return self.cache.read(self.config_dir / config)
        argv, code, out, err = self._run(["export", config])
        if code != 0:
            if "Entry not found" in err:
                return Document.parse("", str(self.config_dir / config))
            raise UciCommandError(argv, code, err)
        return Document.parse(out, f"uci export {config}")

    def commit(self, config: str, changes: Sequence[Change]) -> None:
        """Run ``uci batch`` with the changes and ``commit CONFIG``.

        Changes already in effect are skipped; if nothing is left, uci is not run.
        A missing config file is created empty first (uci only edits existing files).
        Raises :class:`UciCommandError` (with uci's stderr) on a non-zero exit, or when
        the config read back afterwards does not hold the changes.
        """
        check_config_name(config)
        todo = _checked(changes)
        if not todo:
            return
        current = self.read(config)
        script = batch_script(config, todo, current)
        if not script:
            return
        expected = current.copy()
        expected.apply(todo)
        path = self.config_dir / config
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        argv, code, _out, err = self._run(["batch"], script)
        if code != 0:
            raise UciCommandError(argv, code, err)
        if self.read(config).sections() != expected.sections():
            detail = err.strip() or "no error output"
            raise UciCommandError(argv, code, f"the changes are not in effect ({detail})")
