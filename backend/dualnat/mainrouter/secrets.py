"""The main router's password or API key: a root-only file outside UCI.

Not in /etc/config: LuCI's read ACL for dualnat can read that. The file
(/etc/dualnat/secrets, JSON: name → value) is mode 0600 in a 0700 directory and is
replaced atomically. A value is handed out only as a `Secret`, which never shows itself
in str(), repr() or format(), and cannot be pickled; the outside world (LuCI, JSON,
logs) sees only whether a name is set. No error message carries a value.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path

DEFAULT_PATH = Path("/etc/dualnat/secrets")
NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
FILE_MODE = 0o600
DIR_MODE = 0o700


class SecretsError(Exception):
    """The secrets file cannot be read or written (the message names no value)."""


class Secret:
    """A value that is never shown: ``reveal()`` is the only way to the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")


def reveal(value: Secret | str) -> str:
    """The text of a Secret (or of a plain string)."""
    return value.reveal() if isinstance(value, Secret) else value


def _check(name: str) -> str:
    if not NAME.fullmatch(name):
        raise SecretsError(f"'{name[:64]}' is not a valid secret name")
    return name


class SecretStore:
    """Secrets by name in one root-only file."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"SecretStore({str(self.path)!r})"

    def _load(self) -> dict[str, str]:
        try:
            st = self.path.lstat()
        except FileNotFoundError:
            return {}
        if not stat.S_ISREG(st.st_mode):
            raise SecretsError(f"{self.path} is not a regular file")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(self.path, FILE_MODE)  # never leave it readable by others
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise SecretsError(f"{self.path} cannot be read as a secrets file") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise SecretsError(f"{self.path} is not a secrets file (name → text)")
        return data

    def _save(self, data: dict[str, str]) -> None:
        folder = self.path.parent
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), FILE_MODE)
                json.dump(data, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def get(self, name: str) -> Secret | None:
        value = self._load().get(_check(name))
        return Secret(value) if value else None

    def set(self, name: str, value: Secret | str) -> None:
        """Store (an empty value deletes)."""
        data = self._load()
        text = reveal(value)
        if text:
            data[_check(name)] = text
        else:
            data.pop(_check(name), None)
        self._save(data)

    def delete(self, name: str) -> bool:
        """Forget `name`; False when it was not set."""
        data = self._load()
        if _check(name) not in data:
            return False
        del data[name]
        self._save(data)
        return True

    def is_set(self, name: str) -> bool:
        return bool(self._load().get(_check(name)))

    def status(self, *names: str) -> dict[str, bool]:
        """Whether each name is set: all that LuCI or JSON ever get to see."""
        data = self._load()
        return {n: bool(data.get(_check(n))) for n in names}
