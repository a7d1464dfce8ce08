"""scripts/bench_timing.py: what the bench scripts report besides their figures (N and the
machine's load). No timing is checked here: speed goals are `make bench`'s."""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_timing import Timing, best, best_of, machine_load  # noqa: E402


def test_best_keeps_the_least_disturbed_wall_and_cpu_times_and_counts_runs() -> None:
    assert best([(0.3, 0.1), (0.2, 0.2), (0.4, 0.15)]) == Timing(0.2, 3, 0.1)


def test_best_of_runs_the_function_n_times() -> None:
    calls: list[None] = []
    timing = best_of(lambda: calls.append(None), repeat=4)
    assert (len(calls), timing.runs) == (4, 4)
    assert min(timing.seconds, timing.cpu_seconds) >= 0


def test_machine_load_names_the_load_cpus_and_python() -> None:
    first = machine_load().splitlines()[0]
    assert re.match(r"machine: load average [\d.]+ [\d.]+ [\d.]+ \(1, 5, 15 min\), \d+ CPUs", first)
    assert first.endswith(f"CPython {platform.python_version()}")
