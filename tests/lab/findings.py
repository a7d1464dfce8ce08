"""Cases the lab once showed the planner getting wrong; kept as regression scenarios."""

from __future__ import annotations

from dataclasses import replace

from addresses import INET_CLIENT, PUBLIC_IP, TARGET_RANGE, TARGET_VIA_BYPASS
from outcome import Outcome, expect
from probes import Probe
from redirects import redirects_lan
from scenarios import NET, deploy, fwd, make_plan
from topology import Topology

from dualnat.model import PortRange
from dualnat.vendors import load_vendor

# A port range that contains the bypass router's own port 80.
RANGE_WITH_SERVICE = fwd("web", "tcp", "79-81", TARGET_RANGE, "9079-9081")


def range_on_vendor_without_translation(lab: Topology, renderer: str, vendor: str) -> Outcome:
    """The range needs a relay range; the main router enters what its UI allows."""
    plan = make_plan(lab, RANGE_WITH_SERVICE, main_router_vendor=vendor)
    deploy(lab, plan, renderer, range_translation=load_vendor(vendor).range_translation)
    probes = [Probe("tcp", PUBLIC_IP, p) for p in (79, 80, 81)]
    answers = lab.probe("inet", probes)
    told = "; ".join(
        f"{f.external_port} → {f.internal_ip}:{f.internal_port}"
        for f in plan.main_router.port_forwards
    )
    return Outcome(
        tuple(
            expect(
                f"internet → public:{p.port}",
                a,
                host=TARGET_RANGE,
                peer=INET_CLIENT,
                port=p.port + 9000,
            )
            for p, a in zip(probes, answers, strict=True)
        ),
        plan,
        (f"main router told: {told}",),
    )


def explicit_bypass_port(lab: Topology, renderer: str, first: str) -> Outcome:
    """Forward 'a' (port 80, relay chosen by the planner) and forward 'b' that asks for
    bypass_port 10080 explicitly, listed in either order."""
    a = fwd("a", "tcp", "80", TARGET_VIA_BYPASS, "9080")
    b = fwd("b", "tcp", "8086", TARGET_VIA_BYPASS, "9006", bypass_port=PortRange(10080, 10080))
    plan = make_plan(lab, *((a, b) if first == "a" else (b, a)))
    deploy(lab, plan, renderer)
    got = lab.probe("inet", [Probe("tcp", PUBLIC_IP, 80), Probe("tcp", PUBLIC_IP, 8086)])
    return Outcome(
        (
            expect(
                "internet → public:80", got[0], host=TARGET_VIA_BYPASS, peer=INET_CLIENT, port=9080
            ),
            expect(
                "internet → public:8086",
                got[1],
                host=TARGET_VIA_BYPASS,
                peer=INET_CLIENT,
                port=9006,
            ),
        ),
        plan,
    )


def dotted_lan_device(lab: Topology, renderer: str) -> Outcome:
    """Scenario 9 with the LAN interface named like an OpenWrt VLAN device (eth0.1)."""
    with lab.lan_device_named("eth0.1"):
        return redirects_lan(lab, renderer, net=replace(NET, lan_device="eth0.1"))
