"""Run one function in a forked child and collect its text result without blocking.

The daemon looks the public address up this way, and pushes to the main router (see
keeper.py): the child imports what the work needs (requests, urllib3, the UPnP client's
XML parser, ...: about 4 MB) and exits, so the daemon never keeps it; a
child that hangs (a DNS lookup is not covered by HTTP timeouts) can be killed; and the
ubus bindings, which are not thread-safe, only ever run in the daemon's one thread.
The child inherits the ubus connection but never touches it and leaves with
``os._exit``, so no cleanup of the parent's state runs twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

MAX_RESULT = 4096  # bytes: more than any address or error message
FAILED = "error "  # prefix of the text that a failed call leaves


class ForkedCall:
    """`fn()` running in a child process; `result()` is None until it has finished."""

    def __init__(self, fn: Callable[[], str]) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(fn, write_fd)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # the child does the same (whichever runs first)
            os.setpgid(pid, pid)
        os.set_blocking(read_fd, False)
        self.pid = pid
        self._fd = read_fd
        self._chunks: list[bytes] = []
        self._result: str | None = None

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, MAX_RESULT):
                self._chunks.append(chunk)
        except BlockingIOError:
            pass

    def result(self) -> str | None:
        """The function's text, or ``"error ..."`` when it raised or was killed; None
        while the child still runs."""
        if self._result is not None:
            return self._result
        self._drain()
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self._drain()
        os.close(self._fd)
        text = b"".join(self._chunks)[:MAX_RESULT].decode("utf-8", "replace")
        if not text:
            code = os.waitstatus_to_exitcode(status)
            text = f"{FAILED}the lookup process ended with {code} and no answer"
        self._result = text
        return text

    def terminate(self) -> None:
        """Ask the child to end (SIGTERM: it may finish its work first); `result()` says
        when it has."""
        if self._result is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> str:
        """Stop the child now and reap it; the result says it was killed unless it had
        just finished."""
        if self._result is None:
            try:  # the child's group: what it started (conntrack -E, a helper) goes too
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self._drain()
            os.close(self._fd)
            finished = b"".join(self._chunks)[:MAX_RESULT].decode("utf-8", "replace")
            self._result = finished or f"{FAILED}it took too long and was stopped"
        return self._result


def _child(fn: Callable[[], str], write_fd: int) -> None:
    code = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # a group of its own, which kill() ends as a whole
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        text = fn()
    except BaseException as exc:  # whatever it was, the parent hears of it
        text, code = f"{FAILED}{type(exc).__name__}: {exc}", 1
    try:
        data = text.encode("utf-8", "replace")[:MAX_RESULT]
        while data:
            data = data[os.write(write_fd, data) :]
    finally:
        os._exit(code)
