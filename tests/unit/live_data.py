"""Inputs for the live test's unit tests: the lab's LAN and forwards, connection-table
lines in any state, and a machine whose table changes as a fake clock runs."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from doctor_data import fwd, make_plan

from dualnat.doctor.system import System
from dualnat.model import TargetGateway
from dualnat.plan import Plan

BYPASS, MAIN, PUBLIC = "192.168.1.2", "192.168.1.1", "11.0.0.1"
DEVICE, DEVICE_MAIN = "192.168.1.50", "192.168.1.51"
CLIENT, OTHER, LAN_CLIENT = "11.0.0.10", "11.0.0.11", "192.168.1.60"

WEB = fwd("web", "tcp", "8081", DEVICE, "9001")
CAM = fwd("cam", "tcp", "8082", DEVICE_MAIN, "9002", target_gateway=TargetGateway.MAIN)
ALLOWED = fwd("office", "tcp", "8087", DEVICE, "9007", allow_source=(IPv4Network(f"{CLIENT}/32"),))
DNS = fwd("dns", "udp", "9053", DEVICE, "9053")


def plan(*forwards: object, public: bool = True) -> Plan:
    settings = {"public_address": PUBLIC} if public else {}
    return make_plan(*(forwards or (WEB,)), **settings)  # type: ignore[arg-type]


def ct(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    *,
    state: str = "SYN_SENT",
    reply_src: str | None = None,
    reply_dst: str | None = None,
    reply_sport: int | None = None,
    proto: str = "tcp",
    replied: bool = False,
    assured: bool = False,
) -> str:
    """One /proc/net/nf_conntrack line; the reply tuple defaults to 'no NAT'."""
    rsrc, rdst = reply_src or dst, reply_dst or src
    rsport = reply_sport if reply_sport is not None else dport
    head = f"ipv4     2 tcp      6 117 {state} " if proto == "tcp" else "ipv4     2 udp      17 29 "
    unrep = "" if replied else "[UNREPLIED] "
    flags = "[ASSURED] " if assured else ""
    return (
        f"{head}src={src} dst={dst} sport={sport} dport={dport} {unrep}"
        f"src={rsrc} dst={rdst} sport={rsport} dport={sport} {flags}mark=0 zone=0 use=2"
    )


def inbound(sport: int = 40000, **kw: object) -> str:
    """A connection from the Internet client to web's relay port, DNAT'd to the device."""
    kw.setdefault("reply_src", DEVICE)
    kw.setdefault("reply_sport", 9001)
    return ct(CLIENT, BYPASS, sport, 8081, **kw)  # type: ignore[arg-type]


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Script:
    """A /proc whose connection table is `steps[i]` from time `at[i]` on (a Clock)."""

    folder: Path
    clock: Clock
    steps: list[tuple[float, list[str]]] = field(default_factory=list)
    ruleset: str = ""

    def system(self) -> System:
        return System(proc=self.folder, run=self._run)

    def _run(self, argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        out = self.ruleset if argv[:2] == ["nft", "list"] else None
        return subprocess.CompletedProcess(argv, 0 if out is not None else 1, out or "", "")

    def at(self, when: float, *lines: str) -> Script:
        self.steps.append((when, list(lines)))
        return self

    def tick(self) -> None:
        lines: list[str] = []
        for when, step in self.steps:
            if when <= self.clock.now:
                lines = step
        (self.folder / "net").mkdir(parents=True, exist_ok=True)
        (self.folder / "net" / "nf_conntrack").write_text("".join(f"{x}\n" for x in lines))
