"""Push time to a real UPnP IGD: 1, 10 and 100 forwards through reconcile + the UPnP
client, from the lab's bypass router to miniupnpd on its main router (root; never part of
the test suite). Best of N, with the machine's load printed before and after.

Each run starts from a main router without dualnat's mappings and a new client (so the
SSDP discovery and the description are part of the first push). Also timed: a second
push (everything in place: one listing) and `remove`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from addresses import BYPASS_IP, MAIN_LAN_IP  # noqa: E402
from netns import missing_requirements  # noqa: E402
from netns_thread import InNetns  # noqa: E402
from topology import Topology  # noqa: E402
from upnp_lab import Miniupnpd, miniupnpd_missing  # noqa: E402

from dualnat.mainrouter.model import State  # noqa: E402
from dualnat.mainrouter.push import push, remove  # noqa: E402
from dualnat.mainrouter.upnp import UpnpClient  # noqa: E402
from dualnat.model import PortRange  # noqa: E402
from dualnat.plan import MainRouterForward  # noqa: E402

SIZES = (1, 10, 100)


def forwards(n: int, proto: str) -> list[MainRouterForward]:
    return [
        MainRouterForward(
            f"f{i}", proto, PortRange.single(20000 + i), BYPASS_IP, PortRange.single(20000 + i)
        )
        for i in range(n)
    ]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(netns: InNetns, n: int, proto: str, repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}
    wanted = forwards(n, proto)
    for _ in range(repeat):
        client = UpnpClient(BYPASS_IP, MAIN_LAN_IP)
        netns.run(remove, client)  # start clean (not timed)
        client = UpnpClient(BYPASS_IP, MAIN_LAN_IP)
        steps = {
            "discover": lambda c=client: c.igd,
            "first push": lambda c=client: push(c, wanted),
            "second push": lambda c=client: push(c, wanted),
            "remove": lambda c=client: remove(c),
        }
        expect = {"first push": State.ADDED, "second push": State.IN_PLACE, "remove": State.REMOVED}
        for name, fn in steps.items():
            seconds, report = netns.run(timed, fn)
            if name in expect:
                got = {o.state for o in report.outcomes}  # type: ignore[attr-defined]
                if got != {expect[name]}:
                    raise SystemExit(f"{name} of {n}: {got}")
            best[name] = min(seconds, best.get(name, seconds))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (best is kept)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # tear the lab down on TERM
    problems = missing_requirements() + [p for p in [miniupnpd_missing()] if p]
    if problems:
        print("bench_mainrouter: " + "; ".join(problems), file=sys.stderr)
        return 2
    print(f"before: {load()}, {os.cpu_count()} CPUs")
    with Topology() as topo, Miniupnpd(topo.main, topo.workdir), InNetns(topo.bypass.name) as ns:
        print(
            f"{'forwards':>9} {'proto':>6} {'mappings':>8} {'discover':>9} "
            f"{'1st push':>9} {'2nd push':>9} {'remove':>8}   (best of {args.repeat}, ms)"
        )
        for proto, per in (("tcp", 1), ("tcpudp", 2)):
            for n in SIZES:
                b = run(ns, n, proto, args.repeat)
                print(
                    f"{n:>9} {proto:>6} {n * per:>8} {b['discover'] * 1000:>9.1f} "
                    f"{b['first push'] * 1000:>9.1f} {b['second push'] * 1000:>9.1f} "
                    f"{b['remove'] * 1000:>8.1f}"
                )
    print(f"after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
