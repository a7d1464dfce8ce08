"""`ThreadCall`: the interface of `dualnat.ubus.forked.ForkedCall` with a thread, for
tests that count calls in this process (a forked child's calls are not seen here)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from dualnat.ubus.forked import FAILED


class ThreadCall:
    """ForkedCall's interface with a thread. A thread cannot be killed: `kill()` only
    stops waiting for it."""

    def __init__(self, fn: Callable[[], str]) -> None:
        self._result: str | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], str]) -> None:
        try:
            self._result = fn()
        except Exception as exc:
            self._result = f"{FAILED}{type(exc).__name__}: {exc}"

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def result(self) -> str | None:
        return None if self._thread.is_alive() else self._result

    def kill(self) -> str:
        return self.result() or f"{FAILED}it took too long and was abandoned"
