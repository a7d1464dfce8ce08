"""`dualnat doctor` inside the lab: the library reads the bypass router's namespace.

/proc/net and /proc/sys show the network namespace of the process that reads them, so
every file is read by `cat` behind `ip netns exec <bypass>`, like the commands (nft,
iptables-save, conntrack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import scenarios as s
from addresses import PUBLIC_IP, TARGET_VIA_BYPASS
from probes import Answer, Probe, run_probes
from routers import PortForward, apply_dualnat
from topology import Topology

from dualnat.doctor import Report, System, diagnose
from dualnat.model import Forward
from dualnat.plan import Plan

# What `ruleset` says for each lab renderer (the uci renderer loads firewall4's rules).
RULESET_KIND = {"nft": "nft", "iptables": "iptables", "uci": "fw4", None: "none"}
DNS = s.fwd("dns", "udp", "9053", TARGET_VIA_BYPASS, "9053")


def doctor(lab: Topology, plan: Plan) -> Report:
    """Run the doctor's library function against the bypass router's namespace."""
    return diagnose(plan, System(prefix=("ip", "netns", "exec", lab.bypass.name)))


def codes(report: Report, forward: str | None) -> list[str]:
    return [f.code for f in report.findings if f.forward == forward]


@dataclass(frozen=True)
class Run:
    """A scenario's probe answers, and what the doctor said afterwards."""

    answers: list[Answer]
    report: Report
    plan: Plan

    def explain(self) -> str:
        return "\n".join(map(str, self.answers)) + "\n" + self.report.text()


PROBE_TIMEOUT = 1.0  # answers inside the lab take milliseconds; failures cost the timeout


def _probe(lab: Topology, forwards: Sequence[Forward]) -> list[Answer]:
    """One connection from the Internet client to the public address per forward."""
    probes = [Probe(f.proto.protocols[0], PUBLIC_IP, f.external_port.first) for f in forwards]
    return run_probes(lab["inet"], probes, timeout=PROBE_TIMEOUT)


def main_router_direct(lab: Topology, renderer: str | None, forward: Forward = s.WEB) -> Run:
    """(a) The main router forwards straight to the device (what users do first)."""
    plan = s.make_plan(lab, forward)
    s.setup(lab, [PortForward.direct(forward)], plan, renderer)
    return Run(_probe(lab, [forward]), doctor(lab, plan), plan)


def rules_not_loaded(lab: Topology, forwards: Sequence[Forward], loaded: str | None = None) -> Run:
    """(d) The main router forwards to the bypass router as told, but the bypass router
    has none of these forwards' rules: nothing loaded, or (`loaded`) the rules of another
    plan loaded with that renderer."""
    plan = s.make_plan(lab, *forwards)
    s.setup(lab, [PortForward.from_plan(f) for f in plan.main_router.port_forwards])
    if loaded is not None:
        other = s.make_plan(lab, s.fwd("other", "tcp", "8099", TARGET_VIA_BYPASS, "9099"))
        apply_dualnat(lab.bypass, lab.workdir, other, loaded)
    return Run(_probe(lab, forwards), doctor(lab, plan), plan)


def deployed(lab: Topology, renderer: str, forward: Forward = s.WEB, **settings: object) -> Plan:
    """dualnat as the plan says, on both routers."""
    plan = s.make_plan(lab, forward, **settings)
    s.deploy(lab, plan, renderer, [forward])
    return plan


def probe_and_doctor(lab: Topology, plan: Plan, forward: Forward = s.WEB) -> Run:
    return Run(_probe(lab, [forward]), doctor(lab, plan), plan)
