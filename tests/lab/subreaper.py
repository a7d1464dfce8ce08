"""Start a command that turns itself into a daemon, and stay its parent: a Linux child
subreaper gets the orphaned daemon, passes SIGTERM on to it, reaps it and exits when it
is gone (so the lab leaves no zombie behind). Stdlib only.

Run: ``python3 subreaper.py miniupnpd -f <conf> -P <pidfile>``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def children() -> list[int]:
    """Our children's pids (from /proc: ppid is the 2nd field after the name)."""
    me, found = str(os.getpid()), []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(entry))
    return found


def pass_on(signum: int, frame: object) -> None:
    for pid in children():
        os.kill(pid, signum)


def main(argv: list[str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    signal.signal(signal.SIGTERM, pass_on)
    if subprocess.call(argv) != 0:  # returns once the command has forked its daemon
        return 1
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
