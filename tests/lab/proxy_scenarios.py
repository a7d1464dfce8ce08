"""Forwards next to a running transparent proxy, driven through the product: dualnat's
rules alone (proxy_coexist 'off'), then the plan dualnat's own context and planner make
from the proxy's config files and the namespace's ruleset (proxy_coexist 'auto') applied
by dualnat's apply (its proxy step writes the proxy's settings and restarts it, which here
re-creates its rules from those files), through the proxy's restart, a firewall reload
and a reboot, and after dualnat's revert. Every probe round also checks that the proxy
still captures the LAN clients' own traffic (its core's log) and that their Internet
access works.

The lab's config folder holds what the router's /etc/config would: dualnat (the lab's
forwards), network, firewall, dhcp and the proxy's config; the Site's root (the stand-in
for /) holds the proxy's rules files and firewall4's include directory. The Site's `run`
enters the bypass router's namespace (`nft list ruleset` there), and answers the two
commands apply's proxy step runs as the router would: `/etc/init.d/<proxy> restart`
restarts the lab proxy, `fw4 reload` reloads the firewall4 stand-in (and OpenClash with
it, as its firewall include does)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from addresses import (
    BYPASS_IP,
    INET_CLIENT,
    INET_SERVER,
    LAN,
    LAN_DEVICE,
    MAIN_LAN_IP,
    PUBLIC_IP,
    TARGET_RANGE,
    TARGET_VIA_BYPASS,
    TARGET_VIA_MAIN,
    WIRED_CLIENT,
)
from netns import Netns
from outcome import Check, expect
from probes import Probe, run_probes
from proxies import LAB_PROXIES, Fw4, LabProxy, Running
from scenarios import PUBLIC, deploy, fwd, make_plan
from topology import Topology

from dualnat.apply import ApplyResult, apply_plan, revert
from dualnat.context import make_plan as dualnat_plan
from dualnat.doctor import Report, analyse
from dualnat.doctor.conntrack import parse
from dualnat.doctor.ruleset import Sources
from dualnat.model import Forward, TargetGateway
from dualnat.plan import Plan, ProxyExclusion
from dualnat.proxies.detect import Detected
from dualnat.site import Site
from dualnat.uci import FileBackend

TIMEOUT = 1.5
CAPTURED_PORT = 443  # a port every lab proxy captures (common ports included)

FORWARDS = (
    fwd("web", "tcp", "8081", TARGET_VIA_BYPASS, "9001"),
    fwd("dns", "udp", "9053", TARGET_VIA_BYPASS, "9053"),
    fwd("games", "tcpudp", "9020-9025", TARGET_RANGE, "9020-9025"),
    fwd("web80", "tcp", "80", TARGET_VIA_BYPASS, "9080"),
    fwd("cam", "tcp", "8082", TARGET_VIA_MAIN, "9002", target_gateway=TargetGateway.MAIN),
    fwd("pin", "tcpudp", "8084", TARGET_VIA_BYPASS, "9004"),
)


@dataclass(frozen=True)
class Want:
    label: str
    role: str  # the host that probes
    probe: Probe
    host: IPv4Address
    port: int
    peer: IPv4Address | None = None
    forwarded: bool = True  # a forward (False: the LAN client's own Internet traffic)


def _inbound(
    label: str, proto: str, port: int, host: IPv4Address, to: int, peer: IPv4Address = INET_CLIENT
) -> Want:
    return Want(f"inet {label}", "inet", Probe(proto, PUBLIC_IP, port), host, to, peer)


def _hairpin(label: str, proto: str, port: int, host: IPv4Address, to: int) -> Want:
    return Want(f"hairpin {label}", "c60", Probe(proto, PUBLIC_IP, port), host, to)


def _lan(proto: str, port: int) -> Want:
    probe = Probe(proto, INET_SERVER, port)
    return Want(f"LAN {proto} internet {port}", "c60", probe, INET_SERVER, port, PUBLIC_IP, False)


WANTS = (
    _inbound("tcp 8081", "tcp", 8081, TARGET_VIA_BYPASS, 9001),
    _inbound("udp 9053", "udp", 9053, TARGET_VIA_BYPASS, 9053),
    _inbound("tcp range 9020", "tcp", 9020, TARGET_RANGE, 9020),
    _inbound("udp range 9021", "udp", 9021, TARGET_RANGE, 9021),
    _inbound("tcp 80 (relayed)", "tcp", 80, TARGET_VIA_BYPASS, 9080),
    _inbound("tcp 8082 (gateway=main)", "tcp", 8082, TARGET_VIA_MAIN, 9002, peer=BYPASS_IP),
    _hairpin("tcp 8084", "tcp", 8084, TARGET_VIA_BYPASS, 9004),
    _hairpin("udp 8084", "udp", 8084, TARGET_VIA_BYPASS, 9004),
    _hairpin("tcp 80", "tcp", 80, TARGET_VIA_BYPASS, 9080),
    _hairpin("udp range 9022", "udp", 9022, TARGET_RANGE, 9022),
    _lan("tcp", 9000),
    _lan("udp", 9000),
    _lan("tcp", CAPTURED_PORT),
    _lan("udp", CAPTURED_PORT),
)


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def took(want: Want, entry: dict[str, str], relays: Mapping[int, int]) -> bool:
    """Whether a core log entry is this forward's flow, in either direction, before or
    after NAT: one end is the public address, this router's relay port or the device on
    the probed ports, the other end the client (or this router, after hairpin SNAT)."""
    if not want.forwarded or entry["proto"] != want.probe.proto:
        return False
    ends = {_addr(entry["src"]), _addr(entry["dst"])}
    service = {
        (str(PUBLIC_IP), want.probe.port),
        (str(want.host), want.port),
        (str(BYPASS_IP), relays.get(want.probe.port, want.probe.port)),
    }
    clients = {str(INET_CLIENT)} if want.role == "inet" else {str(WIRED_CLIENT), str(BYPASS_IP)}
    return bool(ends & service) and any(host in clients for host, _ in ends - service)


@dataclass
class Round:
    """One probe round: every check, and what the proxy's core captured meanwhile."""

    phase: str
    checks: dict[str, Check]
    log: list[dict[str, str]]
    conntrack: str = ""
    relays: Mapping[int, int] = field(default_factory=dict)
    ruleset: str = ""

    def taken(self) -> set[str]:
        """Forwards whose flows the proxy's core took (whether or not they were answered)."""
        return {w.label for w in WANTS if any(took(w, e, self.relays) for e in self.log)}

    def failed(self, forwarded: bool = True) -> set[str]:
        """Checks not answered as they must be, or (forwards) taken by the proxy."""
        taken = self.taken()
        return {
            w.label
            for w in WANTS
            if w.forwarded == forwarded and (not self.checks[w.label].passed or w.label in taken)
        }

    @property
    def captured_forwards(self) -> list[dict[str, str]]:
        """Log entries of forwarded flows."""
        return [e for e in self.log if any(took(w, e, self.relays) for w in WANTS)]

    def lan_captured(self) -> set[str]:
        """Protocols of the LAN client's own flows to the captured port that the core took."""
        want = f"{INET_SERVER}:{CAPTURED_PORT}"
        return {e["proto"] for e in self.log if e["dst"] == want}


@dataclass
class Story:
    """One lab proxy through every phase: the rounds, what dualnat found and planned, what
    its apply and revert did, and the proxy's files before and after."""

    proxy: LabProxy
    rounds: dict[str, Round] = field(default_factory=dict)
    detected: Detected | None = None  # from the plan's context (config files, ruleset)
    item: ProxyExclusion | None = None  # the plan's proxy item (proxy_coexist 'auto')
    applied: ApplyResult | None = None
    state_after_apply: str = ""  # dualnat's state file (persistent)
    pending_after_reboot: bool = True  # the plan after the reboot still has work to do
    reverted: ApplyResult | None = None
    original: dict[str, str] = field(default_factory=dict)  # config and rules files
    after_revert: dict[str, str] = field(default_factory=dict)
    state_after_revert: bool = True  # the state file still exists
    doctor: dict[str, Report] = field(default_factory=dict)  # phase → the doctor's report


def plan(lab: Topology) -> Plan:
    """The plan of the lab's forwards as scenarios.py makes it (dualnat's rules alone)."""
    return make_plan(lab, *FORWARDS, public_address=PUBLIC)


def relays(the_plan: Plan) -> dict[int, int]:
    """External port → the port the main router sends to this router."""
    return {
        p: f.internal_port.first + (p - f.external_port.first)
        for f in the_plan.main_router.port_forwards
        for p in range(f.external_port.first, f.external_port.last + 1)
    }


def _quiet(lab: Topology, *args: str) -> str:
    """A command whose output is only evidence: a busy machine may make it slow."""
    try:
        return lab.bypass.exec(*args, check=False, timeout=20).stdout
    except subprocess.TimeoutExpired:
        return ""


def probe_round(lab: Topology, running: Running, phase: str, the_plan: Plan) -> Round:
    running.clear_log()
    _quiet(lab, "conntrack", "-F")
    roles = sorted({w.role for w in WANTS})
    with ThreadPoolExecutor(max_workers=len(roles)) as pool:
        futures = {
            role: pool.submit(
                run_probes, lab[role], [w.probe for w in WANTS if w.role == role], TIMEOUT
            )
            for role in roles
        }
        answers = {role: iter(f.result()) for role, f in futures.items()}
    checks = {}
    for w in WANTS:
        answer = next(answers[w.role])
        checks[w.label] = expect(w.label, answer, host=w.host, port=w.port, peer=w.peer)
    conntrack = _quiet(lab, "cat", "/proc/net/nf_conntrack")
    ruleset = lab.bypass.ruleset()
    return Round(phase, checks, running.captured(), conntrack, relays(the_plan), ruleset)


# -- the router's config folder, and a Site on it --------------------------------------


def forward_section(f: Forward) -> str:
    """A forward's section of /etc/config/dualnat, every option spelled out."""
    lines = [
        f"config forward '{f.name}'",
        f"\toption proto '{f.proto.value}'",
        f"\toption external_port '{f.external_port}'",
        f"\toption internal_ip '{f.internal_ip}'",
        f"\toption internal_port '{f.internal_port}'",
        f"\toption target_gateway '{f.target_gateway.value}'",
        f"\toption hairpin '{int(f.hairpin)}'",
        *(f"\tlist allow_source '{n}'" for n in f.allow_source),
    ]
    return "\n".join(lines) + "\n"


def dualnat_config(coexist: str) -> str:
    """/etc/config/dualnat with the lab's forwards and public address."""
    main = [
        "config dualnat 'main'",
        "\toption lan_interface 'lan'",
        f"\toption public_address '{PUBLIC}'",
        f"\toption proxy_coexist '{coexist}'",
    ]
    return "\n".join(main) + "\n\n" + "\n".join(forward_section(f) for f in FORWARDS)


ROUTER_FILES = {
    "network": f"""config interface 'loopback'
\toption device 'lo'
\toption proto 'static'
\toption ipaddr '127.0.0.1'
\toption netmask '255.0.0.0'

config interface 'lan'
\toption device '{LAN_DEVICE}'
\toption proto 'static'
\toption ipaddr '{BYPASS_IP}'
\toption netmask '{LAN.netmask}'
\toption gateway '{MAIN_LAN_IP}'
""",
    "firewall": """config defaults
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'

config zone
\toption name 'lan'
\tlist network 'lan'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'
""",
    "dhcp": """config dhcp 'lan'
\toption interface 'lan'
\toption ignore '1'
""",
}


class LabRunner:
    """The Site's `run`: commands run in the bypass router's namespace, except the two
    that apply's proxy step runs, which act on the lab's proxy and firewall4 stand-in as
    they would on the router."""

    def __init__(self, ns: Netns, running: Running) -> None:
        self.ns = ns
        self.running = running
        self.calls: list[str] = []

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        command = " ".join(argv)
        if argv == ["fw4", "reload"]:
            self.calls.append(command)
            self.running.firewall_reload()
            return subprocess.CompletedProcess(argv, 0, "", "")
        if argv[0].startswith("/etc/init.d/") and argv[1:] == ["restart"]:
            self.calls.append(command)
            if argv[0] != f"/etc/init.d/{self.running.spec.key}":
                return subprocess.CompletedProcess(argv, 1, "", "not installed here")
            self.running.restart()
            return subprocess.CompletedProcess(argv, 0, "", "")
        return subprocess.run(["ip", "netns", "exec", self.ns.name, *argv], **kw)


def lab_site(folder: Path, fw4: Fw4, run: LabRunner) -> Site:
    """dualnat's Site for the lab's router: its config folder, / = the Fw4 root, commands
    in its namespace; the state (and the persistent state) in <folder>/.dualnat."""
    return Site(
        FileBackend(folder),
        folder / ".dualnat",
        reload_cmd=["fw4", "reload"],
        run=run,
        root=fw4.root,
        system=True,
    )


def _set_coexist(folder: Path, coexist: str) -> None:
    (folder / "dualnat").write_text(dualnat_config(coexist))


def _proxy_files(running: Running) -> dict[str, str]:
    return {"config": running.config_path.read_text(), **running.files}


def _doctor(the_plan: Plan, rnd: Round) -> Report:
    """The doctor on the round's connection table and ruleset, as read on the router."""
    return analyse(the_plan, {}, Sources(rnd.ruleset, None), parse(rnd.conntrack))


def _bare(item: Any) -> Any:
    return replace(item, reason_parts=())


def _differences(mine: list[Any], lab: list[Any], a: Plan, b: Plan) -> str:
    pairs = [f"{x!r} != {y!r}" for x, y in zip(mine, lab, strict=False) if x != y]
    return "\n".join([f"{len(mine)} vs {len(lab)} items", repr(a.network), repr(b.network), *pairs])


def reboot(lab: Topology, running: Running, the_plan: Plan) -> None:
    """Everything rebuilt from what persists: dualnat's rules, fw4 with its include
    files, the proxy from its settings (files)."""
    running.stop()
    deploy(lab, the_plan, "nft")
    running.fw4.reload()
    running.start()


def run_story(lab: Topology, label: str) -> Story:
    """Every phase for one lab proxy; the running proxy is always torn down."""
    spec = LAB_PROXIES[label]
    story = Story(spec)
    rules = plan(lab)
    deploy(lab, rules, "nft")
    root = lab.workdir / f"root-{label}"
    folder = lab.workdir / f"config-{label}"
    for d in (root, folder):
        d.mkdir(exist_ok=True)
    for name, text in ROUTER_FILES.items():
        (folder / name).write_text(text)
    _set_coexist(folder, "off")
    fw4 = Fw4(lab.bypass, root)
    running = Running(spec, lab.bypass, fw4, lab.workdir, folder)
    story.original = _proxy_files(running)
    site = lab_site(folder, fw4, LabRunner(lab.bypass, running))
    try:
        fw4.reload()
        running.start_core()
        running.start()
        # dualnat's rules alone: the product's plan with proxy_coexist 'off'
        alone = dualnat_plan(site, lambda _: None)
        # the same rules as the lab's own plan (reasons aside: the invalid-drop evidence
        # quotes the baseline's packet counters, which stray packets change)
        mine = [_bare(i) for i in alone.items if not isinstance(i, ProxyExclusion)]
        lab_items = [_bare(i) for i in rules.items]
        assert mine == lab_items, _differences(mine, lab_items, alone, rules)
        assert alone.of_kind(ProxyExclusion) == []
        story.rounds["before"] = probe_round(lab, running, "before", rules)
        story.doctor["before"] = _doctor(alone, story.rounds["before"])
        # the coexistence step: proxy_coexist 'auto', plan, apply
        _set_coexist(folder, "auto")
        the_plan = dualnat_plan(site, lambda _: None)
        story.detected = next(d for d in the_plan.proxies if d.proxy.key == spec.key)
        [story.item] = the_plan.of_kind(ProxyExclusion)
        story.applied = apply_plan(the_plan, site)
        story.state_after_apply = site.proxy_state.read_text()
        story.rounds["after"] = probe_round(lab, running, "after", rules)
        story.doctor["after"] = _doctor(dualnat_plan(site, lambda _: None), story.rounds["after"])
        running.restart()
        story.rounds["restart"] = probe_round(lab, running, "restart", rules)
        running.firewall_reload()
        story.rounds["reload"] = probe_round(lab, running, "reload", rules)
        reboot(lab, running, rules)
        story.rounds["reboot"] = probe_round(lab, running, "reboot", rules)
        after_boot = dualnat_plan(site, lambda _: None)
        story.pending_after_reboot = any(i.pending for i in after_boot.of_kind(ProxyExclusion))
        story.reverted = revert(site)
        story.after_revert = _proxy_files(running)
        story.state_after_revert = site.proxy_state.exists()
        story.rounds["revert"] = probe_round(lab, running, "revert", rules)
    finally:
        running.stop()
        running.stop_core()
        lab.reset()
    return story


def table(stories: list[Story]) -> str:
    """A readable summary: per proxy and phase, the forwards that failed."""
    lines = []
    for story in stories:
        lines.append(f"{story.proxy.label}:")
        for phase, rnd in story.rounds.items():
            failed = sorted(rnd.failed()) or ["-"]
            lan = sorted(rnd.failed(forwarded=False))
            lines.append(
                f"  {phase:8} fails: {', '.join(failed)}"
                + (f" | LAN fails: {', '.join(lan)}" if lan else "")
                + f" | LAN captured: {','.join(sorted(rnd.lan_captured())) or 'none'}"
                + f" | forwards in core log: {len(rnd.captured_forwards)}"
            )
    return "\n".join(lines)
