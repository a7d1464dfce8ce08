"""Figures for the ubus daemon (run by `make bench`; never part of the test suite).

Starts `dualnat ubus` in a subprocess with the fake bindings (tests/api/fake_ubus.py)
connected to a stand-in ubusd, on a router with 1,000 forwards applied
(scripts/bench_config.py), sends it LuCI-shaped calls (every method of the ubus table;
check_forwards with all 1,000 forwards, as the forwards page sends them), and reads its
resident memory from /proc/<pid>/status.

Goals: memory (`--goals memory`, for the router's interpreter): at most 30 MB after start
and after the calls, no growth over as many calls again. Time (`--goals time`, for this
machine's Python, where the goal was set): check_forwards of the 1,000 forwards within
50 ms, the same forwards again (LuCI checks the whole set on every edit) and with one of
them edited.

`--python` runs the daemon with another interpreter: `make bench` passes the ones built
like OpenWrt's python3 (scripts/openwrt_python.sh: musl, -Os, no pymalloc, no ssl
module; 3.11 for OpenWrt 23.05/24.10, 3.13 for 25.12), because that is where the daemon
runs and where the memory goals apply; Debian's glibc Python needs more memory for the
same daemon. Pure Python packages (Flask, marshmallow, ...) come from this venv in every
case, byte-compiled first.

The output starts with the machine's load; a time is the best of N calls (N is printed),
with the median and 95th percentile of the same calls beside it. Memory is read once at
each point. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "api"))

import fake_ubus  # noqa: E402
from bench_config import router_folder  # noqa: E402
from bench_timing import Timing, best_of, machine_load  # noqa: E402

from dualnat.uci import Document  # noqa: E402

SID = {"ubus_rpc_session": "bench"}
RSS_GOAL_MB = 30.0
GROWTH_GOAL_MB = 0.5
CHECK_GOAL_MS = 50.0
FORWARDS = 1000
CALLS_PER_ROUND = 200  # mixed calls before each memory reading


def staged_forwards(folder: Path) -> dict[str, dict[str, str]]:
    """Every forward as the forwards page sends it: its options as uci holds them."""
    doc = Document.parse((folder / "dualnat").read_text())
    return {s.name: dict(s.options) for s in doc.sections_of_type("forward") if s.name}


def luci_calls(forwards: dict[str, dict[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """One call of every method of the ubus table, as LuCI's pages make them."""
    one = {"external_port": "9100", "internal_ip": "192.168.1.9"}
    return [
        ("status", {}),
        ("get_config", {}),
        ("check_config", {"config": {"public_address": "198.51.100.7"}}),
        ("check_forward", {"id": "bench", "forward": one}),
        ("check_forwards", {"forwards": forwards}),
        # not plan, instructions, doctor nor main_router_status (the Main router page polls
        # it every 5 s): with 1,000 forwards their replies are above ubus' limit (reply_kb)
        ("apply", {"dry_run": True}),
        ("revert", {"dry_run": True}),
    ]


def with_lang(method: str, args: dict[str, Any]) -> dict[str, Any]:
    """Every method takes `lang` ("" = English); instructions names it itself."""
    return {**SID, "lang": "", **args}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MB (VmRSS: resident; RssAnon: its
    private part, without the pages of shared libraries)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def run_calls(broker: fake_ubus.Broker, n: int, calls: Iterator[tuple[str, dict]]) -> None:
    for _ in range(n):
        method, args = next(calls)
        [reply] = broker.call("dualnat", method, with_lang(method, args))
        if "errors" in reply:
            raise RuntimeError(f"{method}: {reply}")


ROUND_TRIPS = 100


def round_trip_ms(
    broker: fake_ubus.Broker, method: str, args: Callable[[], dict[str, Any]]
) -> list[float]:
    """Best, median and 95th percentile of ROUND_TRIPS calls, in milliseconds."""
    times = []
    for _ in range(ROUND_TRIPS):
        data = with_lang(method, args())
        start = time.perf_counter()
        [reply] = broker.call("dualnat", method, data)
        times.append((time.perf_counter() - start) * 1000)
        if "errors" in reply:
            raise RuntimeError(f"{method}: {reply}")
    times.sort()
    return [times[0], statistics.median(times), times[int(len(times) * 0.95)]]


BIG_REPLIES = {
    "plan": {},
    "instructions": {"vendor": "", "lang": "", "format": ""},
    "doctor": {},
    "main_router_status": {},
}


def reply_kb(broker: fake_ubus.Broker, method: str) -> float:
    """The size of `method`'s answer in KB; negative when the adapter refused to send it
    (above ubus' message limit), with the size it would have had."""
    [reply] = broker.call("dualnat", method, with_lang(method, BIG_REPLIES[method]))
    refused = reply.get("errors", {}).get("_reply")
    if refused:
        return -int(refused[0].split("(")[1].split()[0]) / 1024
    return len(json.dumps(reply, ensure_ascii=False).encode()) / 1024


def one_edited(forwards: dict[str, dict[str, str]]) -> Callable[[], dict[str, Any]]:
    """check_forwards arguments with one forward edited anew each time (its description)."""
    count = itertools.count()
    first = next(iter(forwards))

    def args() -> dict[str, Any]:
        edited = {**forwards[first], "description": f"edit {next(count)}"}
        return {"forwards": {**forwards, first: edited}}

    return args


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


def measure(python: str = sys.executable, control: str = "upnp") -> dict[str, float]:
    """The figures; with `control` other than manual the daemon's keeper pushes to the
    main router (here none answers: the push fails in its forked child, as on a router
    whose main router is down)."""
    with tempfile.TemporaryDirectory(prefix="dnb") as tmp:
        confdir = router_folder(Path(tmp) / "config", FORWARDS)
        head = "config dualnat 'main'\n"
        text = (confdir / "dualnat").read_text()
        option = f"\toption main_router_control '{control}'\n"
        (confdir / "dualnat").write_text(text.replace(head, head + option, 1))
        forwards = staged_forwards(confdir)
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
            figures = {"rss start": rss_mb(proc.pid), "anon start": rss_mb(proc.pid, "RssAnon")}
            calls = cycle(luci_calls(forwards))
            run_calls(broker, CALLS_PER_ROUND, calls)
            figures["rss after calls"] = rss_mb(proc.pid)
            figures["anon after calls"] = rss_mb(proc.pid, "RssAnon")
            run_calls(broker, CALLS_PER_ROUND, calls)
            figures["rss after more calls"] = rss_mb(proc.pid)
            for method in BIG_REPLIES:
                figures[f"{method} reply kb"] = reply_kb(broker, method)
            trips = {
                "status": ("status", dict),
                "get_config": ("get_config", dict),
                "check_forwards": ("check_forwards", lambda: {"forwards": forwards}),
                "check_forwards, one edited": ("check_forwards", one_edited(forwards)),
            }
            for name, (method, args) in trips.items():
                best, median, p95 = round_trip_ms(broker, method, args)
                figures[f"round trip {name} best"] = best
                figures[f"round trip {name} median"] = median
                figures[f"round trip {name} p95"] = p95
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
            args = with_lang("get_config", {})
            return best_of(lambda: fake_ubus.call("dualnat", "get_config", args), repeat)
        finally:
            fake_ubus.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the daemon")
    parser.add_argument(
        "--goals",
        choices=("memory", "time", "none"),
        default="memory",
        help="which goals give the verdict (memory: the router's interpreter; time: this "
        "machine's, where the time goal was set)",
    )
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
    print(
        f"router: {FORWARDS} forwards applied, main_router_control '{args.control}'; "
        f"{CALLS_PER_ROUND} mixed LuCI calls per round"
    )
    precompile(args.python)
    memory = args.goals == "memory"
    timing = args.goals == "time"
    figures = measure(args.python, args.control)
    growth = figures["rss after more calls"] - figures["rss after calls"]
    after = f"daemon rss after {CALLS_PER_ROUND} calls"
    rows = [
        ("daemon rss after start", figures["rss start"], "MB", RSS_GOAL_MB if memory else None),
        (after, figures["rss after calls"], "MB", RSS_GOAL_MB if memory else None),
        (
            f"daemon rss growth, next {CALLS_PER_ROUND}",
            growth,
            "MB",
            GROWTH_GOAL_MB if memory else None,
        ),
        ("  private part (RssAnon) after start", figures["anon start"], "MB", None),
        (f"  private part after {CALLS_PER_ROUND} calls", figures["anon after calls"], "MB", None),
    ]
    for name in ("status", "get_config", "check_forwards", "check_forwards, one edited"):
        for stat in ("best", "median", "p95"):
            goal = CHECK_GOAL_MS if timing and name.startswith("check") and stat == "best" else None
            row = f"ubus {name} ({stat} of {ROUND_TRIPS})"
            rows.append((row, figures[f"round trip {name} {stat}"], "ms", goal))
    for method in BIG_REPLIES:
        size = figures[f"{method} reply kb"]
        note = " (refused: above ubus' 1 MB)" if size < 0 else ""
        rows.append((f"ubus {method} reply{note}", abs(size), "KB", None))
    failed = False
    print(f"{'what':<50}{'value':>10}  goal")
    for name, value, unit, goal in rows:
        mark = ""
        if goal is not None:
            ok = value <= goal
            failed |= not ok
            mark = f"<= {goal:g} {unit} {'ok' if ok else 'MISSED'}"
        print(f"{name:<50}{value:>7.2f} {unit:<2}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
