"""The self-test: this router opens a TCP connection to the main router's public address
and port, without blocking the watch that runs beside it (a non-blocking connect that
`poll` looks at once per round).

What it can prove is the hairpin path (the main router sends its public port back into
the LAN, to this router's forward, and the device answers); never the path from outside.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import time
from collections.abc import Callable
from ipaddress import IPv4Address

TIMEOUT = 4.0  # seconds: a LAN round trip takes milliseconds, TCP retries the SYN at 1 s
CONNECTED, REFUSED, TIMED_OUT, FAILED = "connected", "refused", "timeout", "failed"


class SelfTest:
    """One connection attempt to `address`:`port`; `poll()` gives the result once known:
    (CONNECTED | REFUSED | TIMED_OUT | FAILED, error text)."""

    def __init__(
        self,
        address: IPv4Address,
        port: int,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.port = port
        self.timeout = timeout
        self.clock = clock
        self.sock: socket.socket | None = None
        self.result: tuple[str, str] | None = None
        self._started = 0.0

    def start(self) -> None:
        self._started = self.clock()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        self.sock = sock
        code = sock.connect_ex((str(self.address), self.port))
        if code not in (0, errno.EINPROGRESS):
            self._end(code)

    def poll(self) -> tuple[str, str] | None:
        """The result, or None while the connection is still being made."""
        if self.result is not None or self.sock is None:
            return self.result
        _, writable, _ = select.select([], [self.sock], [], 0)
        if writable:
            self._end(self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        elif self.clock() - self._started >= self.timeout:
            self.result = (TIMED_OUT, "")
            self.close()
        return self.result

    def _end(self, code: int) -> None:
        if code == 0:
            self.result = (CONNECTED, "")
        elif code == errno.ECONNREFUSED:
            self.result = (REFUSED, "")
        else:
            self.result = (FAILED, errno.errorcode.get(code, str(code)))
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
