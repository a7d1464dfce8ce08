"""Results of pure computations kept by their inputs, so that the daemon does not redo
them for the unchanged config that LuCI asks about again and again.

A Memo maps a key made of every input (hashable values, compared by value: a result is
never reused for other inputs) to an immutable result. It holds at most `size` entries
and forgets all of them when full (a plain dict: safe under threads, no bookkeeping).

Memos are off until `enable()`: a command that runs once would only pay for the keys.
The service (api.create_app) turns them on.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_EVERY: list[Memo] = []  # every memo made, for forget_all()
_ON = [False]


class Memo(Generic[V]):
    """At most `size` results by key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._results: dict[Hashable, V] = {}
        _EVERY.append(self)

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The result kept for `key`, or `make()` (then kept)."""
        if not _ON[0]:
            return make()
        try:
            return self._results[key]
        except KeyError:
            pass
        value = make()
        self.keep(key, value)
        return value

    def find(self, key: Hashable) -> V | None:
        """The result kept for `key`, if any."""
        return self._results.get(key) if _ON[0] else None

    def keep(self, key: Hashable, value: V) -> None:
        if not _ON[0]:
            return
        if len(self._results) >= self.size:
            self._results.clear()
        self._results[key] = value

    def clear(self) -> None:
        self._results.clear()


def forget_all() -> None:
    """Empty every memo (benchmarks measure the work itself; tests start afresh)."""
    for memo in _EVERY:
        memo.clear()


def enabled() -> bool:
    return _ON[0]


def enable(on: bool = True) -> None:
    """Turn every memo on (a long-running process) or off (and empty)."""
    _ON[0] = on
    if not on:
        forget_all()
