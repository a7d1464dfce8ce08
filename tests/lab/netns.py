"""Commands inside network namespaces: a thin, checked wrapper around `ip netns exec`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Tools the lab runs; `modprobe` is optional (br_netfilter may be built in).
REQUIRED_TOOLS = ("ip", "nft", "iptables", "iptables-save", "conntrack", "sysctl", "sh")


class LabError(RuntimeError):
    """A lab command failed."""


def run(
    args: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """Run a command; raise LabError with its output when it fails and `check` is set."""
    proc = subprocess.run(
        list(args), input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(args)}` failed ({proc.returncode}): {out}")
    return proc


def missing_requirements() -> list[str]:
    """Why the lab cannot run here (empty when it can)."""
    problems = [] if os.geteuid() == 0 else ["the lab needs root (network namespaces, nft)"]
    problems += [f"tool '{t}' is not installed" for t in REQUIRED_TOOLS if not shutil.which(t)]
    return problems


@dataclass(frozen=True)
class Netns:
    """One network namespace, by its full name."""

    name: str

    def ip(self, *args: str) -> str:
        """`ip -n <ns> ...`."""
        return run(["ip", "-n", self.name, *args]).stdout

    def exec(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace."""
        return run(
            ["ip", "netns", "exec", self.name, *args], input=input, check=check, timeout=timeout
        )

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a shell snippet inside the namespace."""
        return self.exec("sh", "-c", script, check=check)

    def sysctl(self, values: Mapping[str, str | int]) -> None:
        """Set kernel settings of this namespace."""
        if values:
            self.exec("sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items()))

    def read_sysctl(self, key: str) -> str:
        return self.exec("sysctl", "-n", key).stdout.strip()

    def nft_file(self, path: Path) -> None:
        """Load an nft script the way an init script would: `nft -f <file>`."""
        self.exec("nft", "-f", str(path))

    def nft(self, script: str, workdir: Path) -> None:
        """Write `script` to a file in `workdir` and load it with `nft -f`."""
        path = workdir / f"{self.name}.nft"
        path.write_text(script)
        self.nft_file(path)

    def ruleset(self) -> str:
        return self.exec("nft", "list", "ruleset").stdout
