"""Run Python code inside a network namespace without a subprocess.

setns(2) moves only the calling thread, so a one-thread executor that enters the
namespace first runs every submitted call there: sockets it opens (SSDP, HTTP) belong to
that namespace. Lets the lab drive dualnat's own clients from the bypass router.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

CLONE_NEWNET = 0x40000000
P = ParamSpec("P")
T = TypeVar("T")


def _enter(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


class InNetns:
    """``InNetns("ns-name").run(fn, *args)`` runs fn in that namespace; close() ends it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(1, f"netns-{name}", _enter, (name,))

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> InNetns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
