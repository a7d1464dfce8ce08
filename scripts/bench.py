"""Speed figures for the core (run with `make bench`; never part of the test suite).

Goals: 1,000 forwards planned and rendered in under 50 ms; applied in under 0.5 s
without the firewall reload; 65,536 conntrack entries parsed in under 0.5 s; 1 MB of
/etc/config/firewall read as libuci reads it (Document.parse) in under 50 ms, with the
cost curve over 1 to 5,000 forwards. Every figure is the best of N runs (N is printed)
and the output starts with the machine's load (scripts/bench_timing.py); exit status 1
when a goal is missed. `bench.py parse` prints only the UCI parse rows.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from bench_config import firewall_text, forwards, router_folder
from bench_timing import Timing, best, best_of, machine_load, timed

from dualnat.apply import apply_plan
from dualnat.context import make_plan
from dualnat.doctor.conntrack import parse as parse_conntrack_text
from dualnat.memo import forget_all
from dualnat.model import Config, NetworkState, Settings
from dualnat.planner import build_plan
from dualnat.render import render
from dualnat.services import ServicePorts
from dualnat.site import Site
from dualnat.uci import Document, FileBackend

NET = NetworkState(
    "br-lan", IPv4Address("192.168.1.2"), IPv4Network("192.168.0.0/19"), IPv4Address("192.168.1.1")
)
GOALS = {"plan+render uci 1000": 0.050, "apply 1000": 0.5}
GOALS["parse conntrack 65536"] = 0.5
PARSE_GOAL = "parse uci firewall 1 MB"
GOALS[PARSE_GOAL] = 0.050


def parse_rows() -> list[tuple[str, Timing]]:
    """Document.parse of generated firewalls: the cost curve over the number of forwards
    (the name says the size and ms per MB of wall-clock and CPU time), then 1 MB against
    the goal."""
    rows = []
    for n in (1, 10, 100, 1000, 5000):
        text = firewall_text(n)
        mb = len(text) / 1e6
        t = best_of(lambda t=text: Document.parse(t), 15 if n < 5000 else 5)
        per_mb = f"{t.seconds * 1000 / mb:.0f}/{t.cpu_seconds * 1000 / mb:.0f} ms/MB"
        rows.append((f"parse uci {n} fw {mb:.2f} MB {per_mb}", t))
    base, per_100 = len(firewall_text(0)), len(firewall_text(100)) - len(firewall_text(0))
    text = firewall_text(-(-(1_000_000 - base) * 100 // per_100))  # the first n >= 1 MB
    assert len(Document.parse(text).sections()) > 3000, "a realistic firewall: thousands"
    rows.append((PARSE_GOAL, best_of(lambda: Document.parse(text), 21)))
    return rows


def cold(fn: Callable[[], object]) -> Callable[[], object]:
    """`fn` with every memo emptied first: the figure is the work, not a memo's answer."""

    def run() -> object:
        forget_all()
        return fn()

    return run


def bench_apply(n: int, repeat: int = 5) -> Timing:
    """apply of n forwards into a copy of a realistic OpenWrt firewall (no reload)."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            folder = router_folder(Path(tmp) / "config", n, applied=False)
            site = Site(FileBackend(folder), Path(tmp) / "state")
            forget_all()
            runs.append(timed(lambda s=site: apply_plan(make_plan(s, resolve=lambda _: None), s)))
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


def main(argv: list[str]) -> int:
    print(machine_load(), flush=True)
    if argv == ["parse"]:
        return report(parse_rows())
    rows: list[tuple[str, Timing]] = []
    settings = Settings(public_address="198.51.100.7")
    for n in (1, 100, 1000):
        cfg = Config(settings, forwards(n))
        rows.append((f"plan {n}", best_of(cold(lambda c=cfg: build_plan(c, NET, ServicePorts())))))
        for fmt in ("uci", "nft", "iptables"):
            rows.append(
                (
                    f"plan+render {fmt} {n}",
                    best_of(
                        cold(lambda c=cfg, f=fmt: render(build_plan(c, NET, ServicePorts()), f))
                    ),
                )
            )
    rows.append(("apply 1000", bench_apply(1000)))
    table = conntrack_table(65536)
    rows.append(("parse conntrack 65536", best_of(lambda: parse_conntrack(table), repeat=5)))
    from bench_daemon import adapter_call_seconds  # daemon memory: scripts/bench_daemon.py

    rows.append(("ubus call via adapter", adapter_call_seconds()))
    rows += parse_rows()
    return report(rows)


def report(rows: list[tuple[str, Timing]]) -> int:
    """The table of figures against their goals; 1 when a goal is missed."""
    failed = False
    width = max(28, *(len(name) + 2 for name, _ in rows))
    print(f"{'what':<{width}}{'best of':>8}{'seconds':>10}{'cpu s':>10}  goal")
    for name, (secs, runs, cpu) in rows:
        goal = GOALS.get(name)
        mark = ""
        if goal is not None:
            ok = secs <= goal
            failed |= not ok
            mark = f"< {goal:g} s {'ok' if ok else 'MISSED'}"
        print(f"{name:<{width}}{runs:>8}{secs:>10.4f}{cpu:>10.4f}  {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
