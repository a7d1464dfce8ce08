"""Scenarios 1-8, shared by the tests and `scripts/lab.py`.

Each scenario function resets the lab, sets up the main router and the bypass router
(`renderer=None` means without dualnat, as users set things up before they know better),
runs its probes and returns an Outcome: every check with what the client got back.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from addresses import (
    BYPASS_IP,
    BYPASS_SERVICE_PORT,
    BYPASS_SERVICE_TEXT,
    INET_CLIENT,
    INET_CLIENT_ALT,
    INET_SERVER,
    INTERNET_SERVER_PORT,
    LAN,
    LAN_DEVICE,
    MAIN_LAN_IP,
    PUBLIC_IP,
    TARGET_RANGE,
    TARGET_VIA_BYPASS,
    TARGET_VIA_MAIN,
    WIFI_CLIENT,
)
from outcome import Check, LabSkip, Outcome, expect
from probes import Probe
from routers import PortForward, add_hand_rules, apply_dualnat, load_main_router, revert_dualnat
from topology import BRIDGE_NF, Topology

from dualnat.invalid_drop import from_running_system
from dualnat.model import (
    Config,
    Forward,
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

NET = NetworkState(LAN_DEVICE, BYPASS_IP, LAN, MAIN_LAN_IP)
SERVICES = ServicePorts.defaults()  # tcp 22 53 80 443, udp 53 67 123
PUBLIC = str(PUBLIC_IP)


def fwd(name: str, proto: str, ext: str, ip: IPv4Address, internal: str, **kw: object) -> Forward:
    """A forward from short text: ``fwd("web", "tcp", "8080", ip, "80")``."""
    return Forward(name, Proto(proto), PortRange.parse(ext), ip, PortRange.parse(internal), **kw)  # type: ignore[arg-type]


def network(lab: Topology, net: NetworkState = NET) -> NetworkState:
    """The lab's LAN as dualnat on the bypass router sees it: whether its firewall drops
    invalid packets is detected from the rules loaded there (the baseline), as
    `dualnat check` does on the router."""

    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", lab.bypass.name, *argv], **kwargs)

    return replace(net, drops_invalid=from_running_system(run))


def make_plan(
    lab: Topology, *forwards: Forward, net: NetworkState = NET, **settings: object
) -> Plan:
    """The planner's plan for these forwards on the lab's LAN (see `network`)."""
    config = Config(Settings(**settings), forwards)  # type: ignore[arg-type]
    return build_plan(config, network(lab, net), services=SERVICES)


def setup(
    lab: Topology,
    main_forwards: Iterable[PortForward],
    plan: Plan | None = None,
    renderer: str | None = None,
    loopback: bool = False,
) -> None:
    """Reset everything, load the main router's forwards and dualnat's rules."""
    lab.reset()
    load_main_router(lab.main, lab.workdir, main_forwards, loopback)
    if renderer is not None:
        assert plan is not None
        apply_dualnat(lab.bypass, lab.workdir, plan, renderer)


def deploy(
    lab: Topology,
    plan: Plan,
    renderer: str | None,
    direct: Sequence[Forward] = (),
    range_translation: bool = True,
    loopback: bool = False,
) -> None:
    """With a renderer: dualnat as the plan says. Without: the main router goes direct.

    `range_translation`: whether the main router's UI can map a range to other ports;
    `loopback`: whether the main router does NAT loopback for its own LAN clients.
    """
    if renderer is None:
        setup(lab, [PortForward.direct(f) for f in direct], loopback=loopback)
    else:
        entered = [
            PortForward.from_plan(f, range_translation) for f in plan.main_router.port_forwards
        ]
        setup(lab, entered, plan, renderer, loopback)


# -- 0. LAN clients' own Internet access ---------------------------------------------------

LAN_INTERNET = (
    Probe("tcp", INET_SERVER, INTERNET_SERVER_PORT),
    Probe("udp", INET_SERVER, INTERNET_SERVER_PORT),
)


def lan_internet_checks(lab: Topology) -> list[Check]:
    """A wired LAN client whose gateway is the bypass router reaches an Internet server
    over TCP and UDP, through the main router's NAT (the server sees the public address)."""
    answers = lab.probe("c60", LAN_INTERNET)
    return [
        expect(
            f"LAN client → internet server ({p.proto})",
            a,
            host=INET_SERVER,
            peer=PUBLIC_IP,
            port=INTERNET_SERVER_PORT,
        )
        for p, a in zip(LAN_INTERNET, answers, strict=True)
    ]


def lan_internet(lab: Topology, renderer: str | None, **settings: object) -> Outcome:
    """dualnat with one forward (or nothing), and the LAN clients' own traffic."""
    plan = make_plan(lab, WEB, **settings)
    deploy(lab, plan, renderer, [])
    return Outcome(tuple(lan_internet_checks(lab)), plan if renderer else None)


# -- 1. port forward to a device whose gateway is the bypass router ----------------------

WEB = fwd("web", "tcp", "8081", TARGET_VIA_BYPASS, "9001")


def port_forward(lab: Topology, renderer: str | None) -> Outcome:
    plan = make_plan(lab, WEB)
    deploy(lab, plan, renderer, [WEB])
    [ans] = lab.probe("inet", [Probe("tcp", PUBLIC_IP, 8081)])
    return Outcome(
        (
            expect(
                "internet → public:8081", ans, host=TARGET_VIA_BYPASS, peer=INET_CLIENT, port=9001
            ),
        ),
        plan,
    )


# -- 2. target whose gateway is the main router -------------------------------------------

CAM = fwd("cam", "tcp", "8082", TARGET_VIA_MAIN, "9002", target_gateway=TargetGateway.MAIN)


def gateway_main(lab: Topology, renderer: str | None, snat: bool = True) -> Outcome:
    """`snat=False`: the plan of a config that wrongly says target_gateway=bypass."""
    forward = CAM if snat else replace(CAM, target_gateway=TargetGateway.BYPASS)
    plan = make_plan(lab, forward)
    deploy(lab, plan, renderer, [forward])
    [ans] = lab.probe("inet", [Probe("tcp", PUBLIC_IP, 8082)])
    return Outcome(
        (expect("internet → public:8082", ans, host=TARGET_VIA_MAIN, peer=BYPASS_IP, port=9002),),
        plan,
    )


# -- 3. UDP, ranges, translated ports -----------------------------------------------------

PORT_FORWARDS = (
    fwd("dns", "udp", "9053", TARGET_VIA_BYPASS, "9053"),
    fwd("games", "tcpudp", "9020-9025", TARGET_RANGE, "9020-9025"),
    fwd("ssh", "tcp", "2222", TARGET_VIA_BYPASS, "9022"),
    fwd("shifted", "tcpudp", "8000-8010", TARGET_RANGE, "9000-9010"),
)
SHIFT = 1000


Want = tuple[Probe, IPv4Address, int]  # probe, the server that must answer, its port


def _range(host: IPv4Address, ports: range, offset: int, protos: Sequence[str]) -> list[Want]:
    return [(Probe(p, PUBLIC_IP, port), host, port + offset) for p in protos for port in ports]


def _internet_checks(lab: Topology, wants: Sequence[Want]) -> list[Check]:
    """Probe the public address from the internet client, all at once."""
    answers = lab.probe("inet", [w[0] for w in wants])
    return [
        expect(f"internet → public:{p.port}/{p.proto}", a, host=host, peer=INET_CLIENT, port=port)
        for (p, host, port), a in zip(wants, answers, strict=True)
    ]


def ports(lab: Topology, renderer: str | None) -> Outcome:
    plan = make_plan(lab, *PORT_FORWARDS)
    deploy(lab, plan, renderer, PORT_FORWARDS)
    return Outcome(
        tuple(
            _internet_checks(
                lab,
                [
                    (Probe("udp", PUBLIC_IP, 9053), TARGET_VIA_BYPASS, 9053),
                    (Probe("tcp", PUBLIC_IP, 2222), TARGET_VIA_BYPASS, 9022),
                    *_range(TARGET_RANGE, range(9020, 9026), 0, ("tcp", "udp")),
                    *_range(TARGET_RANGE, range(8000, 8011), SHIFT, ("tcp", "udp")),
                ],
            )
        ),
        plan,
    )


def translated_range(lab: Topology, renderer: str | None) -> Outcome:
    """Only the translated range: each of 8000-8010 must land on its own port 9000-9010."""
    shifted = PORT_FORWARDS[-1]
    plan = make_plan(lab, shifted)
    deploy(lab, plan, renderer, [shifted])
    checks = _internet_checks(lab, _range(TARGET_RANGE, range(8000, 8011), SHIFT, ("tcp", "udp")))
    return Outcome(tuple(checks), plan)


def naive_range(lab: Topology) -> Outcome:
    """8000-8010 → 9000-9010 with one hand-written DNAT to a port range."""
    setup(
        lab, [PortForward(("tcp", "udp"), PortRange(8000, 8010), BYPASS_IP, PortRange(8000, 8010))]
    )
    add_hand_rules(
        lab.bypass,
        lab.workdir,
        [
            f"ip daddr {BYPASS_IP} {p} dport 8000-8010 dnat to {TARGET_RANGE}:9000-9010"
            for p in ("tcp", "udp")
        ],
    )
    checks = _internet_checks(lab, _range(TARGET_RANGE, range(8000, 8011), SHIFT, ("tcp", "udp")))
    return Outcome(tuple(checks))


# -- 4. hairpin ---------------------------------------------------------------------------

HAIRPIN = fwd("web", "tcp", "8084", TARGET_VIA_BYPASS, "9004")


def hairpin(lab: Topology, renderer: str | None) -> Outcome:
    plan = make_plan(lab, HAIRPIN, public_address=PUBLIC)
    deploy(lab, plan, renderer, [HAIRPIN])
    probe = [Probe("tcp", PUBLIC_IP, 8084)]
    [lan], [wan] = lab.probe_many([("c60", probe), ("inet", probe)])
    return Outcome(
        (
            expect("LAN client → public:8084", lan, host=TARGET_VIA_BYPASS, port=9004),
            expect(
                "internet → public:8084", wan, host=TARGET_VIA_BYPASS, peer=INET_CLIENT, port=9004
            ),
        ),
        plan,
    )


def hairpin_via_main_loopback(lab: Topology, renderer: str | None) -> Outcome:
    """A LAN client whose gateway is the main router (t51), with NAT loopback turned on
    there, as the plan's notes ask: the bypass router gets the connection from 192.168.1.1."""
    plan = make_plan(lab, HAIRPIN, public_address=PUBLIC)
    deploy(lab, plan, renderer, [HAIRPIN], loopback=True)
    [ans] = lab.probe("t51", [Probe("tcp", PUBLIC_IP, 8084)])
    label = "LAN client with gateway = main → public:8084"
    return Outcome((expect(label, ans, host=TARGET_VIA_BYPASS, port=9004),), plan)


# -- 5. bridge netfilter on the main router (seed 002) ------------------------------------

LINKSYS_AUTO = {"main_router_vendor": "linksys", "masquerade": MasqueradeMode.AUTO}
MASQ_ON = {"masquerade": MasqueradeMode.ON}
GENERIC_AUTO = {"main_router_vendor": "generic", "masquerade": MasqueradeMode.AUTO}


def bridge_netfilter(
    lab: Topology,
    renderer: str | None,
    settings: dict[str, object] | None = None,
    bridge_nf: bool = True,
) -> Outcome:
    if bridge_nf and not lab.bridge_nf:
        raise LabSkip(
            "br_netfilter is not available in this kernel (no "
            "/proc/sys/net/bridge and `modprobe br_netfilter` failed)"
        )
    plan = make_plan(lab, **(settings if settings is not None else MASQ_ON))
    setup(lab, [], plan, renderer)
    if lab.bridge_nf:
        lab.main.sysctl({BRIDGE_NF: int(bridge_nf)})
    probe = [Probe("tcp", INET_SERVER, INTERNET_SERVER_PORT)]
    [wifi], [wired] = lab.probe_many([("c61", probe), ("c60", probe)])
    checks = [
        expect(
            f"{label} client → internet server",
            answer,
            host=INET_SERVER,
            peer=PUBLIC_IP,
            port=INTERNET_SERVER_PORT,
        )
        for label, answer in (("Wi-Fi", wifi), ("wired", wired))
    ]
    if not checks[0].passed:
        checks.append(_main_conntrack(lab))
    return Outcome(tuple(checks), plan)


def _main_conntrack(lab: Topology) -> Check:
    """What the main router remembered for the Wi-Fi client (seed 002: 'no NAT')."""
    out = lab.main.exec(
        "conntrack", "-L", "-p", "tcp", "--orig-src", str(WIFI_CLIENT), check=False
    ).stdout.strip()
    return Check("main router conntrack", True, out.splitlines()[0] if out else "(none)")


# -- 6. external port = a service port of the bypass router -------------------------------

WEB80 = fwd("web80", "tcp", str(BYPASS_SERVICE_PORT), TARGET_VIA_BYPASS, "9080")


def _service_checks(lab: Topology) -> list[Check]:
    [inet], [own, pin] = lab.probe_many(
        [
            ("inet", [Probe("tcp", PUBLIC_IP, BYPASS_SERVICE_PORT)]),
            (
                "c60",
                [
                    Probe("tcp", BYPASS_IP, BYPASS_SERVICE_PORT),
                    Probe("tcp", PUBLIC_IP, BYPASS_SERVICE_PORT),
                ],
            ),
        ]
    )
    return [
        expect("internet → public:80", inet, host=TARGET_VIA_BYPASS, peer=INET_CLIENT, port=9080),
        expect("LAN client → bypass:80 (its own service)", own, text=BYPASS_SERVICE_TEXT),
        expect("LAN client → public:80", pin, host=TARGET_VIA_BYPASS, port=9080),
    ]


def service_port(lab: Topology, renderer: str | None) -> Outcome:
    plan = make_plan(lab, WEB80, public_address=PUBLIC)
    if renderer is None:
        # The naive way: forward 80 to the bypass router and DNAT its port 80 by hand.
        setup(lab, [PortForward(("tcp",), PortRange.single(80), BYPASS_IP, PortRange.single(80))])
        add_hand_rules(
            lab.bypass,
            lab.workdir,
            [f"ip daddr {BYPASS_IP} tcp dport 80 dnat to {TARGET_VIA_BYPASS}:9080"],
        )
    else:
        deploy(lab, plan, renderer, [WEB80])
    checks = _service_checks(lab)
    if renderer is not None:
        relay = plan.main_router.port_forwards[0].internal_port
        told = f"{PUBLIC}:80 → {BYPASS_IP}:{relay}"
        checks.insert(0, Check("main router targets another port", relay.first != 80, told))
    return Outcome(tuple(checks), plan)


# -- 7. allow_source ----------------------------------------------------------------------

ALLOWED = fwd(
    "web",
    "tcp",
    "8087",
    TARGET_VIA_BYPASS,
    "9007",
    allow_source=(IPv4Network(f"{INET_CLIENT}/32"),),
)


def allow_source(lab: Topology, renderer: str | None) -> Outcome:
    plan = make_plan(lab, ALLOWED, public_address=PUBLIC)
    deploy(lab, plan, renderer, [ALLOWED])
    [inside, outside], [lan] = lab.probe_many(
        [
            (
                "inet",
                [
                    Probe("tcp", PUBLIC_IP, 8087, INET_CLIENT),
                    Probe("tcp", PUBLIC_IP, 8087, INET_CLIENT_ALT),
                ],
            ),
            ("c60", [Probe("tcp", PUBLIC_IP, 8087)]),
        ]
    )
    return Outcome(
        (
            expect(
                f"{INET_CLIENT} (allowed) → public:8087",
                inside,
                host=TARGET_VIA_BYPASS,
                peer=INET_CLIENT,
                port=9007,
            ),
            expect(f"{INET_CLIENT_ALT} (not allowed) → public:8087", outside, reach=False),
            expect("LAN client → public:8087", lan, host=TARGET_VIA_BYPASS, port=9007),
        ),
        plan,
    )


# -- 8. revert ----------------------------------------------------------------------------


def leftovers(lab: Topology) -> list[str]:
    """Traces of dualnat in the bypass router's ruleset."""
    found = []
    ruleset = lab.bypass.ruleset()
    if "dualnat" in ruleset:
        found += [ln.strip() for ln in ruleset.splitlines() if "dualnat" in ln]
    nat = lab.bypass.exec("iptables-save", "-t", "nat").stdout
    found += [ln for ln in nat.splitlines() if "DUALNAT" in ln]
    return found


def revert(lab: Topology, renderer: str) -> Outcome:
    plan = make_plan(lab, WEB)
    deploy(lab, plan, renderer, [WEB])
    probe = [Probe("tcp", PUBLIC_IP, 8081)]
    [before] = lab.probe("inet", probe)
    revert_dualnat(lab.bypass, lab.workdir, renderer)
    [after] = lab.probe("inet", probe)
    left = leftovers(lab)
    return Outcome(
        (
            expect(
                "before revert: internet → public:8081",
                before,
                host=TARGET_VIA_BYPASS,
                peer=INET_CLIENT,
                port=9001,
            ),
            expect("after revert: internet → public:8081", after, reach=False),
            Check("nothing of dualnat left", not left, "; ".join(left) or "clean"),
        ),
        plan,
    )
