"""Inputs for the doctor's unit tests: plans, recorded text, and builders of synthetic
conntrack lines and sysctl values."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from dualnat.doctor import ruleset, sysctls
from dualnat.doctor.conntrack import Table, parse
from dualnat.model import (
    Config,
    Forward,
    KeepSource,
    MasqueradeMode,
    NetworkState,
    PortRange,
    Proto,
    Settings,
    TargetGateway,
)
from dualnat.plan import Plan
from dualnat.planner import build_plan
from dualnat.services import ServicePorts

DATA = Path(__file__).resolve().parent / "data"
CONNTRACK = DATA / "conntrack"
RULESET = DATA / "ruleset"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bypass-router"

# The lab's LAN (tests/lab/addresses.py): the rulesets in data/ruleset were recorded there.
LAB_NET = NetworkState(
    "lan0", IPv4Address("192.168.1.2"), IPv4Network("192.168.1.0/24"), IPv4Address("192.168.1.1")
)
# The example bypass router's LAN (examples/bypass-router), for data/conntrack.
EXAMPLE_NET = replace(LAB_NET, lan_device="br-lan")
BYPASS = "192.168.1.2"
INET = "198.51.100.10"


def fwd(name: str, proto: str, ext: str, ip: str, internal: str, **kw: object) -> Forward:
    return Forward(
        name,
        Proto(proto),
        PortRange.parse(ext),
        IPv4Address(ip),
        PortRange.parse(internal),
        **kw,  # type: ignore[arg-type]
    )


def make_plan(*forwards: Forward, net: NetworkState = LAB_NET, **settings: object) -> Plan:
    config = Config(Settings(**settings), forwards)  # type: ignore[arg-type]
    return build_plan(config, net, services=ServicePorts.defaults())


RICH_FORWARDS = (
    fwd("web", "tcp", "8081", "192.168.1.50", "9001"),
    fwd("cam", "tcp", "8082", "192.168.1.51", "9002", target_gateway=TargetGateway.MAIN),
    fwd("games", "tcpudp", "9020-9025", "192.168.1.52", "9020-9025"),
    fwd("shifted", "tcpudp", "8000-8002", "192.168.1.52", "9000-9002"),
    fwd("web80", "tcp", "80", "192.168.1.50", "9080"),
    fwd(
        "office",
        "tcp",
        "8087",
        "192.168.1.50",
        "9007",
        allow_source=(IPv4Network("198.51.100.10/32"),),
    ),
    fwd("nosrc", "udp", "9053", "192.168.1.53", "9053", keep_source_ip=KeepSource.NO),
)


def rich_plan() -> Plan:
    """Every kind of rule: translated ports and ranges, a relay port, SNAT, allow_source,
    hairpin and masquerade (the plan the recorded rulesets were loaded from)."""
    return make_plan(*RICH_FORWARDS, public_address="198.51.100.1", masquerade=MasqueradeMode.ON)


def example_plan() -> Plan:
    """The example config folder's forwards on its LAN (matches data/conntrack)."""
    from dualnat.context import make_plan as plan_from_folder
    from dualnat.site import Site
    from dualnat.uci import FileBackend

    return plan_from_folder(Site.detect(FileBackend(EXAMPLE)), resolve=lambda _: None)


def recorded(name: str) -> str:
    return (RULESET / name).read_text()


def conntrack_text(name: str) -> str:
    return (CONNTRACK / name).read_text(errors="replace")


def healthy_sysctls(plan: Plan) -> dict[str, str | None]:
    """What apply leaves behind: forwarding on, redirects off, rp_filter off, no br_netfilter."""
    values: dict[str, str | None] = dict.fromkeys(sysctls.keys(plan.network.lan_device), "0")
    values[sysctls.IP_FORWARD] = "1"
    values[sysctls.BRIDGE_NF] = None
    return values


def nft_sources(name: str = "nft_dualnat.nft_list_ruleset.txt") -> ruleset.Sources:
    return ruleset.Sources(recorded(name), "")


def line(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    *,
    reply_src: str | None = None,
    reply_dst: str | None = None,
    reply_sport: int | None = None,
    proto: str = "tcp",
    replied: bool = True,
) -> str:
    """A /proc/net/nf_conntrack line; the reply tuple defaults to 'no NAT'."""
    rsrc = reply_src or dst
    rdst = reply_dst or src
    rsport = reply_sport if reply_sport is not None else dport
    num = {"tcp": 6, "udp": 17}[proto]
    if proto == "tcp":
        head = f"ipv4     2 tcp      6 {431999 if replied else 117} " + (
            "ESTABLISHED " if replied else "SYN_SENT "
        )
    else:
        head = f"ipv4     2 udp      {num} {170 if replied else 29} "
    unrep = "" if replied else "[UNREPLIED] "
    tail = "[ASSURED] " if replied else ""
    return (
        f"{head}src={src} dst={dst} sport={sport} dport={dport} packets=3 bytes=180 {unrep}"
        f"src={rsrc} dst={rdst} sport={rsport} dport={sport} packets={2 if replied else 0} "
        f"bytes={120 if replied else 0} {tail}mark=0 zone=0 use=2"
    )


def table(*lines: str) -> Table:
    return parse("\n".join(lines) + "\n", "/proc/net/nf_conntrack")
