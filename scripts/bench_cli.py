"""Whole-process figures of the command line (run by `make bench`; never part of the tests).

Each figure is one new process, as a user or LuCI's init script starts it: interpreter
start, imports, reading the config folder, the work, the output. Commands: `dualnat
check`, `dualnat apply` with nothing to change (the firewall already holds the rules) and
`dualnat render --format uci`, on routers of 1, 10, 100, 1,000 and 5,000 forwards
(scripts/bench_config.py): the cost curve, with the time per forward beyond the
one-forward run. Best of N runs (N is printed), wall-clock and CPU time, after the
machine's load.

Goals, for 1,000 forwards: check and apply within 0.3 s; render within 0.10 of what real
firewall4 takes to print the same sections (`fw4 print`). firewall4 needs ucode, which
neither Debian nor PyPI has, so its time is the figure measured on this machine when the
goal was set (issue "Fast where it runs": 5-7 s; the lower bound is used).

`--python` runs the commands with another interpreter (`python -m dualnat`, backend/ on
PYTHONPATH: the core needs only the standard library), e.g. the CPythons built like
OpenWrt's; `--no-goals` prints the figures without a verdict. Exit status 1 when a goal is
missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_config import ROOT, router_folder
from bench_timing import Timing, machine_load

SIZES = (1, 10, 100, 1000, 5000)
FW4_PRINT_SECONDS = 5.0  # real firewall4's `fw4 print` of 1,000 forwards' sections here
GOALS = {"check 1000": 0.3, "apply 1000": 0.3, "render 1000": 0.10 * FW4_PRINT_SECONDS}
COMMANDS = {
    "check": ["check"],
    "apply": ["apply"],
    "render": ["render", "--format", "uci"],
}


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def best_process(argv: list[str], env: dict[str, str], repeat: int) -> Timing:
    """The best of `repeat` runs, after one that is not counted (it fills the page cache
    and the bytecode caches, as a router has them after its first run)."""
    run_once(argv, env)
    runs = [run_once(argv, env) for _ in range(repeat)]
    return Timing(min(w for w, _ in runs), repeat, min(c for _, c in runs))


def precompile(python: str) -> None:
    """Byte-compile the package for `python`, as an installed package is (not measured)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [python, "-m", "compileall", "-q", str(ROOT / "backend" / "dualnat")]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter of the CLI")
    parser.add_argument("--label", default="", help="what the interpreter stands for")
    parser.add_argument("--no-goals", action="store_true", help="figures only, no verdict")
    args = parser.parse_args()
    print(machine_load())
    label = f" ({args.label})" if args.label else ""
    print(f"dualnat as a new process: {args.python}{label}")
    precompile(args.python)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend")}
    rows: list[tuple[str, Timing]] = []
    with tempfile.TemporaryDirectory(prefix="dnc") as tmp:
        for n in SIZES:
            folder = router_folder(Path(tmp) / f"r{n}", n)
            for name, words in COMMANDS.items():
                argv = [args.python, "-m", "dualnat", "--config-dir", str(folder), *words]
                timing = best_process(argv, env, 3 if n >= 5000 else 7)
                rows.append((f"{name} {n}", timing))
    first = {name.split()[0]: t.seconds for name, t in rows if name.endswith(" 1")}
    failed = False
    print(f"{'what':<16}{'best of':>8}{'seconds':>10}{'cpu s':>10}{'ms/forward':>12}  goal")
    for name, (secs, runs, cpu) in rows:
        command, n = name.split()
        per = (secs - first[command]) * 1000 / (int(n) - 1) if int(n) > 1 else None
        mark = ""
        goal = GOALS.get(name)
        if goal is not None and not args.no_goals:
            ok = secs <= goal
            failed |= not ok
            mark = f"< {goal:g} s {'ok' if ok else 'MISSED'}"
        per_text = f"{per:12.3f}" if per is not None else f"{'':12}"
        print(f"{name:<16}{runs:>8}{secs:>10.4f}{cpu:>10.4f}{per_text}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
