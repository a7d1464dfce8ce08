"""Figures for the ubus daemon (run by `make bench`; never part of the test suite).

Starts `dualnat ubus` in a subprocess with the fake bindings (tests/api/fake_ubus.py)
connected to a stand-in ubusd, sends it LuCI-shaped calls, and reads its resident memory
from /proc/<pid>/status. Goals: at most 30 MB after start and after 1,000 calls, no growth
over the next 1,000 calls.

`--python` runs the daemon with another interpreter: `make bench` passes the ones built
like OpenWrt's python3 (scripts/openwrt_python.sh: musl, -Os, no pymalloc, no ssl
module; 3.11 for OpenWrt 23.05/24.10, 3.13 for 25.12), because that is where the daemon
runs and where the goals apply; Debian's glibc Python needs about 7 MB more for the same
daemon (shown with `--no-goals` for comparison). Pure Python packages (Flask,
marshmallow, ...) come from this venv in every case, byte-compiled first.

The output starts with the machine's load; a time is the best of N calls (N is printed),
with the median and 95th percentile of the same calls beside it. Memory is read once at
each point. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "api"))

import fake_ubus  # noqa: E402
from bench_timing import Timing, best_of, machine_load  # noqa: E402

SID = {"ubus_rpc_session": "bench"}
RSS_GOAL_MB = 30.0
GROWTH_GOAL_MB = 0.5
# what LuCI's pages call (backend/dualnat/ubus/methods.py), with the language they send
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("status", {}),
    ("get_config", {}),
    ("plan", {}),
    ("instructions", {"vendor": "", "lang": "", "format": ""}),
    (
        "check_forward",
        {"id": "bench", "forward": {"external_port": "9100", "internal_ip": "192.168.1.9"}},
    ),
    ("apply", {"dry_run": True}),
    ("doctor", {}),  # LuCI's overview asks for it every 10 s
    ("main_router_status", {}),  # the Main router page polls it every 5 s
]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MB (VmRSS: resident; RssAnon: its
    private part, without the pages of shared libraries)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def mixed_calls() -> Iterator[tuple[str, dict[str, Any]]]:
    for method, args in cycle(CALLS):
        yield method, {**SID, "lang": "", **args}


def run_calls(broker: fake_ubus.Broker, n: int, calls: Iterator[tuple[str, dict]]) -> None:
    for _ in range(n):
        method, args = next(calls)
        [reply] = broker.call("dualnat", method, args)
        if "errors" in reply:
            raise RuntimeError(f"{method}: {reply}")


ROUND_TRIPS = 300


def round_trip_ms(broker: fake_ubus.Broker, method: str, n: int = ROUND_TRIPS) -> list[float]:
    """Best, median and 95th percentile of `n` calls, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        broker.call("dualnat", method, {**SID, "lang": ""})
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return [times[0], statistics.median(times), times[int(len(times) * 0.95)]]


def describe(python: str) -> str:
    """`python`'s version and target, e.g. ``3.11.2 x86_64-linux-musl``."""
    code = (
        "import platform, sysconfig\n"
        "print(platform.python_version(), sysconfig.get_config_var('MULTIARCH'))"
    )
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout


def daemon_path(python: str) -> str:
    """PYTHONPATH for the daemon: the fake bindings, the backend and, for another
    interpreter, this venv's packages (pure Python; C extensions built for another libc
    are skipped by the import system since their file suffix differs)."""
    paths = [str(ROOT / "tests" / "api"), str(ROOT / "backend")]
    if os.path.realpath(python) != os.path.realpath(sys.executable):
        import flask

        paths.append(str(Path(flask.__file__).parent.parent))
    return os.pathsep.join(paths)


# What the daemon imports from this venv (pure Python), compiled before measuring.
PACKAGES = (
    "flask",
    "werkzeug",
    "jinja2",
    "markupsafe",
    "itsdangerous",
    "click",
    "blinker",
    "marshmallow",
)


def precompile(python: str) -> None:
    """Byte-compile what the daemon imports for `python`, as an installed router has it:
    OpenWrt's packages ship .pyc files, and without them each start would compile (and
    the figures would include that). Writes only into __pycache__ folders."""
    import flask

    site = Path(flask.__file__).parent.parent
    targets = [ROOT / "backend" / "dualnat", ROOT / "tests" / "api" / "fake_ubus.py"]
    targets += [site / name for name in PACKAGES]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [python, "-m", "compileall", "-q", *map(str, targets)]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def measure(python: str = sys.executable, control: str = "manual") -> dict[str, float]:
    """The figures; with `control` other than manual the daemon's keeper pushes to the
    main router (here none answers: the push fails in its forked child, as on a router
    whose main router is down), and the Main router page's status is among the calls."""
    with tempfile.TemporaryDirectory(prefix="dnb") as tmp:
        confdir = Path(tmp) / "config"
        shutil.copytree(ROOT / "tests" / "fixtures" / "router", confdir)
        head = "config dualnat 'main'\n"
        text = (confdir / "dualnat").read_text()
        option = f"\toption main_router_control '{control}'\n"
        (confdir / "dualnat").write_text(text.replace(head, head + option, 1))
        sock = os.path.join(tmp, "ubus.sock")
        broker = fake_ubus.Broker(sock)
        env = {
            **os.environ,
            "DUALNAT_UBUS_MODULE": "fake_ubus",
            "PYTHONPATH": daemon_path(python),
        }
        cmd = [python, "-m", "dualnat", "--config-dir", str(confdir), "ubus"]
        proc = subprocess.Popen([*cmd, "--socket", sock], env=env, stderr=subprocess.DEVNULL)
        try:
            broker.wait_for("dualnat")
            time.sleep(2)  # the keeper's first push has run (in its child)
            figures = {"rss start": rss_mb(proc.pid), "anon start": rss_mb(proc.pid, "RssAnon")}
            calls = mixed_calls()
            run_calls(broker, 1000, calls)
            figures["rss after 1000 calls"] = rss_mb(proc.pid)
            figures["anon after 1000 calls"] = rss_mb(proc.pid, "RssAnon")
            run_calls(broker, 1000, calls)
            figures["rss after 2000 calls"] = rss_mb(proc.pid)
            for method in ("get_config", "status"):
                best, median, p95 = round_trip_ms(broker, method)
                figures[f"round trip {method} best"] = best
                figures[f"round trip {method} median"] = median
                figures[f"round trip {method} p95"] = p95
            return figures
        finally:
            proc.terminate()
            proc.wait(10)
            broker.close()


def adapter_call_seconds(repeat: int = 200) -> Timing:
    """Best time of one `get_config` call through the adapter, in-process (no socket)."""
    from dualnat.api import create_app
    from dualnat.ubus.adapter import register

    with tempfile.TemporaryDirectory(prefix="dnb") as tmp:
        confdir = Path(tmp) / "config"
        shutil.copytree(ROOT / "tests" / "fixtures" / "router", confdir)
        fake_ubus.connect(fake_ubus.LOCAL)
        try:
            register(fake_ubus, create_app(confdir))
            call = {**SID, "lang": ""}
            return best_of(lambda: fake_ubus.call("dualnat", "get_config", call), repeat)
        finally:
            fake_ubus.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the daemon")
    parser.add_argument("--no-goals", action="store_true", help="figures only, no verdict")
    parser.add_argument("--label", default="", help="what the interpreter stands for")
    parser.add_argument(
        "--control",
        default="upnp",
        choices=("manual", "upnp", "openwrt", "opnsense", "ikuai"),
        help="main_router_control of the daemon's config (default upnp: the keeper runs)",
    )
    args = parser.parse_args()
    label = f", {args.label}" if args.label else ""
    print(machine_load())
    print(f"daemon interpreter: {args.python} (Python {describe(args.python).strip()}{label})")
    precompile(args.python)
    if args.no_goals:
        print("for comparison only: the goals apply to the router's interpreter")
    print(f"main_router_control: {args.control}")
    figures = measure(args.python, args.control)
    growth = figures["rss after 2000 calls"] - figures["rss after 1000 calls"]
    rows = [
        ("daemon rss after start", figures["rss start"], "MB", RSS_GOAL_MB),
        ("daemon rss after 1000 calls", figures["rss after 1000 calls"], "MB", RSS_GOAL_MB),
        ("daemon rss growth, next 1000", growth, "MB", GROWTH_GOAL_MB),
        ("  private part (RssAnon) after start", figures["anon start"], "MB", None),
        ("  private part after 1000 calls", figures["anon after 1000 calls"], "MB", None),
    ]
    for method in ("get_config", "status"):
        for stat in ("best", "median", "p95"):
            name = f"ubus round trip {method} ({stat} of {ROUND_TRIPS})"
            rows.append((name, figures[f"round trip {method} {stat}"], "ms", None))
    failed = False
    print(f"{'what':<44}{'value':>10}  goal")
    for name, value, unit, goal in rows:
        mark = ""
        if goal is not None and not args.no_goals:
            ok = value <= goal
            failed |= not ok
            mark = f"<= {goal:g} {unit} {'ok' if ok else 'MISSED'}"
        print(f"{name:<44}{value:>7.2f} {unit:<2}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
