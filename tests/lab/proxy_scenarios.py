"""Forwards next to a running transparent proxy: dualnat's rules alone, then with the
exclusion dualnat.proxies plans, through the proxy's restart, a firewall reload and a
reboot, and after the revert. Every probe round also checks that the proxy still captures
the LAN clients' own traffic (its core's log) and that their Internet access works."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from addresses import (
    BYPASS_IP,
    INET_CLIENT,
    INET_SERVER,
    PUBLIC_IP,
    TARGET_RANGE,
    TARGET_VIA_BYPASS,
    TARGET_VIA_MAIN,
    WIRED_CLIENT,
)
from outcome import Check, expect
from probes import Probe, run_probes
from proxies import LAB_PROXIES, Fw4, LabProxy, Running
from scenarios import PUBLIC, deploy, fwd, make_plan
from topology import Topology

from dualnat.model import TargetGateway
from dualnat.plan import Plan
from dualnat.proxies import detect, exclude
from dualnat.proxies.catalog import PROXIES

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
    proxy: LabProxy
    rounds: dict[str, Round] = field(default_factory=dict)
    exclusion: exclude.Exclusion | None = None
    detected: detect.Detected | None = None


def plan(lab: Topology) -> Plan:
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


def _host_path(fw4: Fw4, path: str) -> Path:
    return fw4.root / path.lstrip("/")


def apply_exclusion(running: Running, excl: exclude.Exclusion) -> None:
    """What the integrator will do on the router: UCI changes, file lines, includes, and
    the commands that make them take effect."""
    changes = excl.changes().get(running.spec.key, [])
    running.doc.apply(changes)
    for path in {fl.path for fl in excl.files}:
        running.files[path] = exclude.add_file_lines(running.files.get(path, ""), excl.files)
    for inc in excl.includes:
        target = _host_path(running.fw4, inc.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(inc.text)
    _activate(running, excl)


def revert_exclusion(running: Running, excl: exclude.Exclusion) -> None:
    running.doc.apply(excl.revert().get(running.spec.key, []))
    for path in {fl.path for fl in excl.files}:
        running.files[path] = exclude.remove_file_lines(running.files[path], excl.files)
    for inc in excl.includes:
        _host_path(running.fw4, inc.path).unlink()
    _activate(running, excl)


def _activate(running: Running, excl: exclude.Exclusion) -> None:
    proxy = PROXIES[running.spec.key]
    for command in excl.activate:
        if command == proxy.restart:
            running.restart()
        elif command == exclude.FW4_RELOAD:
            running.firewall_reload()
        else:
            raise AssertionError(f"unknown command {command}")


def reboot(lab: Topology, running: Running, the_plan: Plan) -> None:
    """Everything rebuilt from what persists: dualnat's script, fw4 with its include
    files, the proxy from its settings."""
    running.stop()
    deploy(lab, the_plan, "nft")
    running.fw4.reload()
    running.start()


def run_story(lab: Topology, label: str, steps: Callable[[str], None] | None = None) -> Story:
    """Every phase for one lab proxy; the running proxy is always torn down."""
    spec = LAB_PROXIES[label]
    story = Story(spec)
    the_plan = plan(lab)
    deploy(lab, the_plan, "nft")
    root = lab.workdir / f"root-{label}"
    root.mkdir(exist_ok=True)
    fw4 = Fw4(lab.bypass, root)
    running = Running(spec, lab.bypass, fw4, lab.workdir)
    try:
        fw4.reload()
        running.start_core()
        running.start()
        story.rounds["before"] = probe_round(lab, running, "before", the_plan)
        story.detected = detect.detect_one(
            PROXIES[spec.key], running.doc.serialize(), lab.bypass.ruleset()
        )
        story.exclusion = exclude.plan_exclusion(
            story.detected,
            exclude.facts_from_plan(the_plan),
            config_text=running.doc.serialize(),
            files=running.files,
        )
        apply_exclusion(running, story.exclusion)
        story.rounds["after"] = probe_round(lab, running, "after", the_plan)
        running.restart()
        story.rounds["restart"] = probe_round(lab, running, "restart", the_plan)
        running.firewall_reload()
        story.rounds["reload"] = probe_round(lab, running, "reload", the_plan)
        reboot(lab, running, the_plan)
        story.rounds["reboot"] = probe_round(lab, running, "reboot", the_plan)
        revert_exclusion(running, story.exclusion)
        story.rounds["revert"] = probe_round(lab, running, "revert", the_plan)
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
