"""Best-of-N timing and the machine's load, shared by the bench scripts.

On a shared machine other work slows some runs down but never speeds one up, so each
figure is the best of N runs, and the output says N and starts with the machine's load:
a goal missed under a high load may be noise, one missed on an idle machine is not. The
process's CPU time is kept beside the wall-clock time (the goals' measure): a wall time
well above the CPU time was spent waiting (for a CPU, for the disk), not computing.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple


class Timing(NamedTuple):
    """The best of `runs` measured wall-clock times and the best of their CPU times."""

    seconds: float
    runs: int
    cpu_seconds: float


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call of `fn`."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(runs: list[tuple[float, float]]) -> Timing:
    """The best of (wall-clock, CPU) measurements."""
    return Timing(min(w for w, _ in runs), len(runs), min(c for _, c in runs))


def best_of(fn: Callable[[], object], repeat: int = 7) -> Timing:
    """Run `fn` `repeat` times and keep the best times."""
    return best([timed(fn) for _ in range(repeat)])


def cpu_count() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (/proc/loadavg)."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def cpu_pressure() -> str:
    """How long runnable tasks waited for a CPU over the last 60 s (pressure stall
    information, /proc/pressure/cpu), or "" where the kernel does not say."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return ""
    avg60 = dict(field.split("=") for field in some[1:]).get("avg60")
    return f", tasks waited for a CPU {avg60}% of the last minute" if avg60 else ""


def machine_load() -> str:
    """The load averages, the CPU count and this Python on one line, and on a second a
    warning when other work leaves the bench less than one CPU."""
    load = load_average()
    line = (
        f"machine: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min), "
        f"{cpu_count()} CPUs{cpu_pressure()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    if load[0] > cpu_count() - 1:
        line += "\nbusy: the load leaves the bench less than one CPU; a missed goal may be noise"
    return line
