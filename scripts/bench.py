"""Speed figures for the core (run with `make bench`; never part of the test suite).

Goals: 1,000 forwards planned and rendered in under 50 ms; applied in under 0.5 s
without the firewall reload.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from dualnat.apply import Environment, apply_plan
from dualnat.context import make_plan
from dualnat.model import Config, Forward, NetworkState, PortRange, Proto, Settings
from dualnat.planner import build_plan
from dualnat.render import render
from dualnat.services import ServicePorts
from dualnat.uci import FileBackend

ROOT = Path(__file__).resolve().parent.parent
NET = NetworkState(
    "br-lan", IPv4Address("192.168.1.2"), IPv4Network("192.168.0.0/22"), IPv4Address("192.168.1.1")
)
GOALS = {"plan+render uci 1000": 0.050, "apply 1000": 0.5}


def forwards(n: int) -> tuple[Forward, ...]:
    return tuple(
        Forward(
            f"f{i}",
            Proto.TCPUDP,
            PortRange.single(20000 + i),
            IPv4Address(f"192.168.{i // 250}.{3 + i % 250}"),
            PortRange.single(30000 + i),
        )
        for i in range(n)
    )


def best_of(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def config_text(n: int) -> str:
    lines = ["config dualnat 'main'", "\toption public_address '198.51.100.7'", ""]
    for f in forwards(n):
        lines += [
            f"config forward '{f.name}'",
            "\toption proto 'tcpudp'",
            f"\toption external_port '{f.external_port}'",
            f"\toption internal_ip '{f.internal_ip}'",
            f"\toption internal_port '{f.internal_port}'",
            "",
        ]
    return "\n".join(lines)


def bench_apply(n: int) -> float:
    """apply of n forwards into a copy of a realistic OpenWrt firewall (no reload)."""
    results = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            shutil.copytree(ROOT / "tests" / "fixtures" / "router", d, dirs_exist_ok=True)
            net = (d / "network").read_text().replace("255.255.255.0", "255.255.252.0")
            (d / "network").write_text(net)
            (d / "dualnat").write_text(config_text(n))
            env = Environment(FileBackend(d), d / ".dualnat")
            start = time.perf_counter()
            apply_plan(make_plan(env.backend, resolve=lambda _: None), env)
            results.append(time.perf_counter() - start)
    return min(results)


def main() -> int:
    rows: list[tuple[str, float]] = []
    settings = Settings(public_address="198.51.100.7")
    for n in (1, 100, 1000):
        cfg = Config(settings, forwards(n))
        rows.append((f"plan {n}", best_of(lambda c=cfg: build_plan(c, NET, ServicePorts()))))
        for fmt in ("uci", "nft", "iptables"):
            rows.append(
                (
                    f"plan+render {fmt} {n}",
                    best_of(lambda c=cfg, f=fmt: render(build_plan(c, NET, ServicePorts()), f)),
                )
            )
    rows.append(("apply 1000", bench_apply(1000)))
    failed = False
    print(f"{'what':<28}{'seconds':>10}  goal")
    for name, secs in rows:
        goal = GOALS.get(name)
        mark = ""
        if goal is not None:
            ok = secs <= goal
            failed |= not ok
            mark = f"< {goal:g} s {'ok' if ok else 'MISSED'}"
        print(f"{name:<28}{secs:>10.4f}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
