"""Connection events beside the polled table: `conntrack -E -e NEW,DESTROY`, read without
blocking. A poll misses one kind of attempt: a connection refused with a TCP reset before
any reply leaves no entry (the kernel deletes an unanswered connection as soon as a reset
passes), so a device that does not listen, or this router refusing a source that
allow_source keeps out, shows only as a NEW and a DESTROY event (state CLOSE,
[UNREPLIED]). Without the conntrack tool (or root) there are no events, and the watch
polls alone.

The watch ends the tool when it ends; should the watch be killed instead, the tool ends at
its next event (it prints every event of the machine, and its pipe has no reader left:
SIGPIPE), which on a router comes within moments.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess

from ..doctor.conntrack import Entry, parse_line
from ..doctor.system import System

COMMAND = ("conntrack", "-E", "-e", "NEW,DESTROY")
NEW, DESTROY = "NEW", "DESTROY"
_EVENT = re.compile(r"\s*\[(NEW|DESTROY)\]\s+(.*)")
MAX_BUFFER = 1 << 20


def parse_event(line: str) -> tuple[str, Entry] | None:
    """(NEW | DESTROY, the entry) of one event line. Event lines end after the reply tuple
    (no mark= or use=): they come whole from a pipe, so the parser's check for a line cut
    off at the end is satisfied with a trailer of our own."""
    m = _EVENT.match(line)
    if m is None:
        return None
    entry = parse_line(m.group(2).rstrip() + " use=0")
    return None if entry is None else (m.group(1), entry)


class Events:
    """The event stream of the machine `system` stands for; `read()` gives what arrived
    since the last call (only lines containing one of `only`)."""

    def __init__(self, system: System, only: tuple[str, ...] = ()) -> None:
        self.only = only
        self._buffer = b""
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = subprocess.Popen(
                [*system.prefix, *COMMAND],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def read(self) -> list[tuple[str, Entry]]:
        if self.proc is None or self.proc.stdout is None:
            return []
        with contextlib.suppress(BlockingIOError, OSError, ValueError):
            while chunk := os.read(self.proc.stdout.fileno(), 65536):
                self._buffer = (self._buffer + chunk)[-MAX_BUFFER:]
        *lines, self._buffer = self._buffer.split(b"\n")
        out = []
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if self.only and not any(word in line for word in self.only):
                continue
            event = parse_event(line)
            if event is not None:
                out.append(event)
        return out

    def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.proc.terminate()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
