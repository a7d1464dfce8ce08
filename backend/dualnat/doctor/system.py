"""Where the doctor reads from: a /proc folder and commands, both replaceable for tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class System:
    """The machine to examine.

    `proc` is its /proc; `run` runs a command (subprocess.run's signature). With a
    `prefix` such as ``("ip", "netns", "exec", "ns1")`` every command runs behind it and
    files are read with ``cat`` behind it too: /proc/net and /proc/sys show the network
    namespace of the process that reads them, so that process has to be inside.
    """

    proc: Path = Path("/proc")
    run: Runner = field(default=subprocess.run)
    prefix: tuple[str, ...] = ()
    timeout: float = 60

    def command(self, *args: str) -> str | None:
        """The command's standard output, or None when it cannot run or fails."""
        try:
            proc = self.run(
                [*self.prefix, *args],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout if proc.returncode == 0 else None

    def read(self, relative: str) -> str | None:
        """A file below `proc` (e.g. ``sys/net/ipv4/ip_forward``), or None if unreadable."""
        path = self.proc / relative
        if self.prefix:
            return self.command("cat", str(path))
        try:
            return path.read_text(errors="replace")
        except OSError:
            return None
