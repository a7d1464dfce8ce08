"""Scenarios 0-8 in the namespace lab: first without dualnat, then with each renderer, on
every baseline of the bypass router's own firewall (routers.BASELINES). Every run with
dualnat also checks that LAN clients still reach the Internet (TCP and UDP)."""

from __future__ import annotations

import pytest
import scenarios as s
from addresses import (
    BYPASS_IP,
    BYPASS_SERVICE_PORT,
    BYPASS_SERVICE_TEXT,
    INET_CLIENT,
    INET_CLIENT_ALT,
    INET_SERVER,
    WIFI_CLIENT,
)
from outcome import LOUD, LabSkip, Outcome
from routers import BASELINES, RENDERERS
from topology import Topology

from dualnat.model import DropsInvalid
from dualnat.plan import Masquerade, Snat

pytestmark = pytest.mark.parametrize("baseline", list(BASELINES))
each_renderer = pytest.mark.parametrize("renderer", RENDERERS)


def works(out: Outcome, lab: Topology | None = None) -> None:
    """Every check passed; with `lab`, LAN clients still reach the Internet afterwards."""
    assert out.ok, "\n" + out.report()
    if lab is not None:
        lan = Outcome(tuple(s.lan_internet_checks(lab)))
        assert lan.ok, f"LAN clients' own Internet access ({lab.baseline}):\n" + lan.report()


# -- 0 ------------------------------------------------------------------------------------


def test_0_lan_clients_without_dualnat(lab: Topology, baseline: str) -> None:
    """A bypass router that drops invalid packets (and sends no redirects these clients
    take) cuts its LAN clients' TCP off: their handshake ACK looks invalid there, because
    the main router answers them directly. UDP has no state to violate."""
    out = s.lan_internet(lab, None)
    tcp, udp = out.checks
    assert tcp.passed is not BASELINES[baseline].drops_lan_ack, out.report()
    assert udp.passed, out.report()


@each_renderer
def test_0_lan_clients_with_dualnat(lab: Topology, renderer: str) -> None:
    out = s.lan_internet(lab, renderer)
    works(out, lab)
    assert out.plan is not None
    # masquerade exactly where the baseline drops invalid packets (auto, generic vendor)
    assert bool(out.plan.of_kind(Masquerade)) is BASELINES[lab.baseline].drop_rule


def probe_failures(out: Outcome) -> list[str]:
    return [c.label for c in out.checks if c.answer is not None and not c.passed]


@each_renderer
def test_0_without_masquerade_dualnat_would_cut_the_lan_off(
    lab: Topology, renderer: str, baseline: str
) -> None:
    """The control: the same rules and sysctls with masquerade left out (the setting
    denies the detected drop) lose LAN clients' TCP wherever the baseline drops their
    handshake ACK, which is what masquerade 'auto' now prevents."""
    out = s.lan_internet(lab, renderer, firewall_drops_invalid=DropsInvalid.NO)
    assert out.plan is not None and not out.plan.of_kind(Masquerade)
    tcp, udp = out.checks
    assert tcp.passed is not BASELINES[baseline].drops_lan_ack, out.report()
    assert udp.passed, out.report()


# -- 1 ------------------------------------------------------------------------------------


def test_1_direct_forward_to_device_behind_bypass(lab: Topology, baseline: str) -> None:
    out = s.port_forward(lab, None)
    # The SYN reaches the device; its SYN-ACK goes to its gateway, the bypass router,
    # which never saw the connection: invalid there. A firewall that drops invalid
    # packets (or a proxy) drops it; plain firewall4 passes it on to the main router,
    # which knows the connection.
    if BASELINES[baseline].drops_stray_synack:
        assert out.answer("internet → public:8081").text == "timeout", out.report()
    else:
        assert out.ok, out.report()


@each_renderer
def test_1_forward_through_bypass_keeps_client_address(lab: Topology, renderer: str) -> None:
    out = s.port_forward(lab, renderer)
    works(out, lab)
    assert out.answer("internet → public:8081").peer == INET_CLIENT


# -- 2 ------------------------------------------------------------------------------------


@each_renderer
def test_2_gateway_main_fails_without_snat_item(lab: Topology, renderer: str) -> None:
    out = s.gateway_main(lab, renderer, snat=False)
    assert out.plan is not None
    assert not [i for i in out.plan.of_kind(Snat) if not i.sources]  # only the hairpin SNAT
    assert not out.answer("internet → public:8082").ok, out.report()


@each_renderer
def test_2_gateway_main_works_with_snat(lab: Topology, renderer: str) -> None:
    out = s.gateway_main(lab, renderer)
    works(out, lab)
    assert out.answer("internet → public:8082").peer == BYPASS_IP


# -- 3 ------------------------------------------------------------------------------------


def test_3_direct_forwards_fail_for_tcp_only(lab: Topology, baseline: str) -> None:
    """TCP fails like scenario 1. UDP is a lab fact, not a claim of the sources: a UDP
    reply has no state to violate, so this bypass router (no proxy takes the flow)
    forwards it, and the main router un-NATs it as the reply it expects."""
    out = s.ports(lab, None)
    tcp = [c for c in out.checks if c.label.endswith("/tcp")]
    udp = [c for c in out.checks if c.label.endswith("/udp")]
    if BASELINES[baseline].drops_stray_synack:
        assert tcp and not any(c.passed for c in tcp), out.report()
    else:
        assert tcp and all(c.passed for c in tcp), out.report()
    assert udp and all(c.passed for c in udp), out.report()


@each_renderer
def test_3_udp_ranges_and_translated_ports(lab: Topology, renderer: str) -> None:
    out = s.ports(lab, renderer)
    works(out, lab)
    shifted = {c.answer.port for c in out.checks if c.answer and "public:80" in c.label}
    assert shifted == set(range(9000, 9011))


def test_3_naive_dnat_to_a_port_range_does_not_map_port_by_port(lab: Topology) -> None:
    out = s.naive_range(lab)
    seen = {c.answer.port for c in out.checks if c.answer and c.answer.ok}
    assert len(seen) < 11 and not out.ok, out.report()


# -- 4 ------------------------------------------------------------------------------------


def test_4_hairpin_fails_without_dualnat(lab: Topology) -> None:
    out = s.hairpin(lab, None)
    assert not out.check("LAN client → public:8084").passed, out.report()


@each_renderer
def test_4_hairpin(lab: Topology, renderer: str) -> None:
    out = s.hairpin(lab, renderer)
    works(out, lab)
    assert out.answer("LAN client → public:8084").peer == BYPASS_IP


@each_renderer
def test_4_hairpin_through_the_main_routers_nat_loopback(lab: Topology, renderer: str) -> None:
    out = s.hairpin_via_main_loopback(lab, renderer)
    works(out, lab)
    assert out.answer("LAN client with gateway = main → public:8084").peer == BYPASS_IP


# -- 5 ------------------------------------------------------------------------------------


def _bridge_nf(lab: Topology, *args: object, **kw: object) -> Outcome:
    try:
        return s.bridge_netfilter(lab, *args, **kw)  # type: ignore[arg-type]
    except LabSkip as exc:
        pytest.skip(f"{LOUD} scenario 5 (bridge netfilter) skipped: {exc}")


def test_5_without_bridge_netfilter_wifi_client_has_internet(lab: Topology, baseline: str) -> None:
    out = s.bridge_netfilter(lab, None, bridge_nf=False)
    # without dualnat's masquerade both clients' TCP is asymmetric through this router
    assert out.ok is not BASELINES[baseline].drops_lan_ack, out.report()


def test_5_bridge_netfilter_breaks_wifi_client(lab: Topology, baseline: str) -> None:
    out = _bridge_nf(lab, None)
    assert not out.check("Wi-Fi client → internet server").passed, out.report()
    wired = out.check("wired client → internet server").passed
    assert wired is not BASELINES[baseline].drops_lan_ack, out.report()
    # The main router remembered the first, bridged pass as "no NAT" (seed 002).
    remembered = out.check("main router conntrack").detail
    assert f"dst={WIFI_CLIENT}" in remembered.split(f"src={INET_SERVER}")[-1], remembered


@each_renderer
@pytest.mark.parametrize("settings", ["MASQ_ON", "LINKSYS_AUTO"])
def test_5_masquerade_item_fixes_wifi_client(lab: Topology, renderer: str, settings: str) -> None:
    out = _bridge_nf(lab, renderer, getattr(s, settings))
    assert out.plan is not None and out.plan.of_kind(Masquerade)
    works(out, lab)


def test_5_generic_vendor_with_auto_masquerades_only_for_invalid_drop(lab: Topology) -> None:
    """The generic profile knows of no bridge netfilter: masquerade comes only from a
    firewall that drops invalid packets, and only masquerade saves the Wi-Fi client."""
    out = _bridge_nf(lab, "nft", s.GENERIC_AUTO)
    assert out.plan is not None
    masquerade = bool(out.plan.of_kind(Masquerade))
    assert masquerade is BASELINES[lab.baseline].drop_rule
    assert out.check("Wi-Fi client → internet server").passed is masquerade, out.report()


# -- 6 ------------------------------------------------------------------------------------


def test_6_naive_dnat_of_service_port_hides_bypass_service(lab: Topology) -> None:
    out = s.service_port(lab, None)
    own = out.answer(f"LAN client → bypass:{BYPASS_SERVICE_PORT} (its own service)")
    assert own.text != BYPASS_SERVICE_TEXT, out.report()  # timeout: the reply skips DNAT


@each_renderer
def test_6_service_port_gets_a_relay_port(lab: Topology, renderer: str) -> None:
    out = s.service_port(lab, renderer)
    works(out, lab)
    assert out.plan is not None
    relay = out.plan.main_router.port_forwards[0].internal_port
    assert relay.first != BYPASS_SERVICE_PORT


# -- 7 ------------------------------------------------------------------------------------


@each_renderer
def test_7_allow_source(lab: Topology, renderer: str) -> None:
    out = s.allow_source(lab, renderer)
    works(out, lab)
    assert not out.answer(f"{INET_CLIENT_ALT} (not allowed) → public:8087").ok


# -- 8 ------------------------------------------------------------------------------------


@each_renderer
def test_8_revert_closes_ports_and_leaves_nothing(lab: Topology, renderer: str) -> None:
    works(s.revert(lab, renderer))
