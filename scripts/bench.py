"""Speed figures for the core (run with `make bench`; never part of the test suite).

Goals: 1,000 forwards planned and rendered in under 50 ms; applied in under 0.5 s
without the firewall reload; 65,536 conntrack entries parsed in under 0.5 s. Every figure
is the best of N runs (N is printed) and the output starts with the machine's load
(scripts/bench_timing.py); exit status 1 when a goal is missed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from bench_timing import Timing, best, best_of, machine_load, timed

from dualnat.apply import Environment, apply_plan
from dualnat.context import make_plan
from dualnat.doctor.conntrack import parse as parse_conntrack_text
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
GOALS["parse conntrack 65536"] = 0.5


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


def bench_apply(n: int, repeat: int = 5) -> Timing:
    """apply of n forwards into a copy of a realistic OpenWrt firewall (no reload)."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            shutil.copytree(ROOT / "tests" / "fixtures" / "router", d, dirs_exist_ok=True)
            net = (d / "network").read_text().replace("255.255.255.0", "255.255.252.0")
            (d / "network").write_text(net)
            (d / "dualnat").write_text(config_text(n))
            env = Environment(FileBackend(d), d / ".dualnat")
            runs.append(
                timed(lambda e=env: apply_plan(make_plan(e.backend, resolve=lambda _: None), e))
            )
    return best(runs)


def conntrack_table(n: int) -> str:
    """/proc/net/nf_conntrack of a busy bypass router: forwarded, hairpin, LAN, IPv6, UDP."""
    shapes = (
        "ipv4     2 tcp      6 431999 ESTABLISHED src={c} dst=192.168.1.2 sport={p} dport=8443 "
        "packets=12 bytes=3000 src=192.168.1.50 dst={c} sport=443 dport={p} packets=10 "
        "bytes=9000 [ASSURED] mark=0 zone=0 use=2",
        "ipv4     2 tcp      6 117 SYN_SENT src=192.168.{l} dst={c} sport={p} dport=443 "
        "packets=1 bytes=60 [UNREPLIED] src={c} dst=192.168.{l} sport=443 dport={p} packets=0 "
        "bytes=0 mark=0 zone=0 use=2",
        "ipv4     2 udp      17 29 src=192.168.{l} dst=192.168.1.2 sport={p} dport=53 packets=1 "
        "bytes=71 src=192.168.1.2 dst=192.168.{l} sport=53 dport={p} packets=1 bytes=87 "
        "mark=0 zone=0 use=2",
        "ipv4     2 tcp      6 ESTABLISHED src={c} dst=192.168.1.2 sport={p} dport=2222 "
        "packets=1822 bytes=130112 src=192.168.1.70 dst={c} sport=22 dport={p} packets=1790 "
        "bytes=2210331 [OFFLOAD] mark=0 zone=0 use=3",
        "ipv6     10 tcp      6 7440 ESTABLISHED src=2001:0db8:0001:0000:0000:0000:0000:{h} "
        "dst=2a00:1450:4001:0829:0000:0000:0000:200e sport={p} dport=443 packets=40 "
        "bytes=6011 src=2a00:1450:4001:0829:0000:0000:0000:200e "
        "dst=2001:0db8:0001:0000:0000:0000:0000:{h} sport=443 dport={p} packets=38 "
        "bytes=40110 [ASSURED] mark=0 zone=0 use=2",
        "ipv4     2 icmp     1 29 src=192.168.{l} dst=1.1.1.1 type=8 code=0 id={p} packets=1 "
        "bytes=84 src=1.1.1.1 dst=192.168.{l} type=0 code=0 id={p} packets=1 bytes=84 mark=0 "
        "zone=0 use=2",
    )
    lines = [
        shapes[i % len(shapes)].format(
            c=f"{1 + i % 223}.{i // 223 % 256}.{i % 97}.{1 + i % 250}",
            l=f"1.{3 + i % 250}",
            p=1024 + i % 64000,
            h=f"{i % 65536:04x}",
        )
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def parse_conntrack(text: str) -> None:
    table = parse_conntrack_text(text)
    assert len(table.entries) == text.count("\n"), "bench lines must all parse"


def main() -> int:
    print(machine_load(), flush=True)
    rows: list[tuple[str, Timing]] = []
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
    table = conntrack_table(65536)
    rows.append(("parse conntrack 65536", best_of(lambda: parse_conntrack(table), repeat=5)))
    from bench_daemon import adapter_call_seconds  # daemon memory: scripts/bench_daemon.py

    rows.append(("ubus call via adapter", adapter_call_seconds()))
    failed = False
    print(f"{'what':<28}{'best of':>8}{'seconds':>10}{'cpu s':>10}  goal")
    for name, (secs, runs, cpu) in rows:
        goal = GOALS.get(name)
        mark = ""
        if goal is not None:
            ok = secs <= goal
            failed |= not ok
            mark = f"< {goal:g} s {'ok' if ok else 'MISSED'}"
        print(f"{name:<28}{runs:>8}{secs:>10.4f}{cpu:>10.4f}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
