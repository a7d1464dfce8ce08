"""`dualnat doctor` against failing and fixed scenarios: it must tell them apart and name
the right fix. The doctor reads the bypass router's namespace (doctor_lab.doctor)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import scenarios as s
from addresses import BYPASS_IP, INET_CLIENT, LAN_DEVICE
from doctor_lab import (
    DNS,
    RULESET_KIND,
    codes,
    deployed,
    doctor,
    main_router_direct,
    probe_and_doctor,
    rules_not_loaded,
)
from outcome import LOUD
from routers import RENDERERS, apply_dualnat
from topology import BRIDGE_NF, Topology

from dualnat.doctor import Severity
from dualnat.model import MasqueradeMode

each_renderer = pytest.mark.parametrize("renderer", RENDERERS)
BYPASS = str(BYPASS_IP)
CLIENT = str(INET_CLIENT)


# -- (a) the main router forwards straight to the device ----------------------------------


@each_renderer
def test_a_forward_missing_on_the_main_router(lab: Topology, renderer: str) -> None:
    run = main_router_direct(lab, renderer)
    assert not run.answers[0].ok, run.explain()
    report = run.report
    assert report.ruleset.kind == RULESET_KIND[renderer]
    assert codes(report, "web") == ["forward.no_traffic"], run.explain()
    [finding] = report.by_code("forward.no_traffic")
    assert f"tcp external port 8081 → {BYPASS}:8081" in finding.fix
    assert report.forwards["web"]["rules"]["missing"] == []


@pytest.mark.parametrize("baseline", ["fw4"])  # nothing drops invalid, so no masquerade
def test_a_udp_forward_to_the_device_shows_in_its_answers(lab: Topology) -> None:
    """UDP gets through (test_3), but the bypass router sees the device answer from its
    forwarded port without any connection to itself: the main router targets the device.
    (Where dualnat masquerades, that answer leaves with the bypass router's address and
    fails too.)"""
    run = main_router_direct(lab, "nft", DNS)
    assert run.answers[0].ok, run.explain()
    assert codes(run.report, "dns") == ["forward.no_traffic", "forward.direct_to_device"]
    [finding] = run.report.by_code("forward.direct_to_device")
    assert "udp/9053" in finding.message and f"{BYPASS}:9053" in finding.fix


def test_a_without_dualnat_the_rules_come_first(lab: Topology) -> None:
    run = main_router_direct(lab, None)
    assert not run.answers[0].ok
    assert run.report.ruleset.kind == "none"
    assert codes(run.report, "web") == ["forward.rules_missing"], run.explain()


# -- (b) DNAT happens, the replies take the other gateway ---------------------------------


@each_renderer
def test_b_device_behind_the_main_router_needs_snat(lab: Topology, renderer: str) -> None:
    out = s.gateway_main(lab, renderer, snat=False)
    assert out.plan is not None and not out.ok
    report = doctor(lab, out.plan)
    assert codes(report, "cam") == ["forward.unreplied"], report.text()
    [finding] = report.by_code("forward.unreplied")
    assert "target_gateway 'main' for forward 'cam'" in finding.fix
    conns = report.forwards["cam"]["connections"]
    assert (conns["translated"], conns["replied"], conns["clients"]) == (1, 0, [CLIENT])
    assert report.failed


# -- (c) the fixed scenarios ----------------------------------------------------------------


@each_renderer
def test_c_fixed_with_snat_is_ok_and_the_device_sees_the_bypass(
    lab: Topology, renderer: str
) -> None:
    out = s.gateway_main(lab, renderer)
    assert out.plan is not None and out.ok, out.report()
    report = doctor(lab, out.plan)
    assert report.severity is Severity.OK, report.text()
    assert codes(report, "cam") == ["forward.ok"]
    conns = report.forwards["cam"]["connections"]
    assert conns["clients"] == [CLIENT] and conns["device_sees"] == [BYPASS]


@each_renderer
def test_c_forward_through_the_bypass_is_ok_with_the_client_address(
    lab: Topology, renderer: str
) -> None:
    out = s.port_forward(lab, renderer)
    assert out.plan is not None and out.ok, out.report()
    report = doctor(lab, out.plan)
    assert report.severity is Severity.OK, report.text()
    assert report.forwards["web"]["connections"]["device_sees"] == [CLIENT]
    assert CLIENT in report.by_code("forward.ok")[0].message


def test_c_hairpin_from_the_lan(lab: Topology) -> None:
    out = s.hairpin(lab, "nft")
    assert out.plan is not None and out.ok, out.report()
    report = doctor(lab, out.plan)
    conns = report.forwards["web"]["connections"]
    assert codes(report, "web") == ["forward.ok"], report.text()
    assert (conns["from_lan"], conns["from_internet"]) == (1, 1)
    assert conns["device_sees"] == sorted([BYPASS, CLIENT], key=lambda a: (len(a), a))


# -- (d) the plan exists, its rules are not loaded ----------------------------------------


def test_d_nothing_loaded(lab: Topology) -> None:
    run = rules_not_loaded(lab, [s.WEB, DNS])
    assert not any(a.ok for a in run.answers), run.explain()
    report = run.report
    assert report.ruleset.kind == "none"
    assert codes(report, "web") == ["forward.rules_missing"], run.explain()
    assert codes(report, "dns") == ["forward.rules_missing"]
    # UDP leaves a trace: the connection arrived at the bypass router and went nowhere.
    assert report.forwards["dns"]["connections"]["untranslated"] >= 1
    dns = next(f for f in report.by_code("forward.rules_missing") if f.forward == "dns")
    assert f"arrived at udp {BYPASS}:9053" in dns.message


@each_renderer
def test_d_rules_of_another_plan_loaded(lab: Topology, renderer: str) -> None:
    run = rules_not_loaded(lab, [s.WEB], loaded=renderer)
    report = run.report
    assert report.ruleset.kind == RULESET_KIND[renderer]
    assert codes(report, "web") == ["forward.rules_missing"], run.explain()
    rules = report.forwards["web"]["rules"]
    # The nft table's chain rules serve every forward; this forward's elements are missing.
    assert rules["present"] < rules["expected"], rules
    assert any("8081" in m for m in rules["missing"]), rules


# -- (e) and the other settings -------------------------------------------------------------


@each_renderer
def test_e_redirects_left_on(lab: Topology, renderer: str) -> None:
    plan = deployed(lab, renderer)
    run = probe_and_doctor(lab, plan)
    assert run.answers[0].ok and run.report.severity is Severity.OK, run.explain()
    lab.bypass.sysctl({f"net.ipv4.conf.{LAN_DEVICE}.send_redirects": 1})
    report = doctor(lab, plan)
    assert codes(report, None) == ["system.redirects_on"], report.text()
    [finding] = report.by_code("system.redirects_on")
    assert f"net.ipv4.conf.{LAN_DEVICE}.send_redirects = 1" in finding.evidence
    assert codes(report, "web") == ["forward.ok"]


def test_ip_forward_off(lab: Topology) -> None:
    plan = deployed(lab, "nft")
    lab.bypass.sysctl({"net.ipv4.ip_forward": 0})
    run = probe_and_doctor(lab, plan)
    assert not run.answers[0].ok
    assert codes(run.report, None) == ["system.ip_forward_off"], run.explain()
    assert codes(run.report, "web") == ["forward.no_traffic"]
    assert "net.ipv4.ip_forward is 0" in run.report.by_code("forward.no_traffic")[0].message


def test_rp_filter_and_bridge_netfilter(lab: Topology) -> None:
    plan = deployed(lab, "iptables")
    rp_filter = f"net.ipv4.conf.{LAN_DEVICE}.rp_filter"
    before = lab.bypass.read_sysctl(rp_filter)
    try:
        lab.bypass.sysctl({rp_filter: 1})  # Topology.reset() does not restore this one
        expected = ["system.rp_filter_strict"]
        if lab.bridge_nf:
            lab.bypass.sysctl({BRIDGE_NF: 1})
            expected.append("system.bridge_netfilter")
        report = doctor(lab, plan)
        assert codes(report, None) == expected, report.text()
    finally:
        lab.bypass.sysctl({rp_filter: before})


def test_dotted_lan_device_sysctls_are_read(lab: Topology) -> None:
    with lab.lan_device_named("eth0.1"):
        plan = s.make_plan(lab, s.WEB, net=replace(s.NET, lan_device="eth0.1"))
        s.deploy(lab, plan, "nft")
        lab.bypass.sysctl({"net.ipv4.conf.all.send_redirects": 0})
        assert doctor(lab, plan).sysctls["net/ipv4/conf/eth0.1/send_redirects"] == "0"
        lab.bypass.sysctl({"net/ipv4/conf/eth0.1/send_redirects": 1})
        report = doctor(lab, plan)
        assert codes(report, None) == ["system.redirects_on"], report.text()
        assert report.sysctls["net/ipv4/conf/eth0.1/send_redirects"] == "1"


def test_every_rule_of_a_rich_plan_is_found(lab: Topology) -> None:
    forwards = (*s.PORT_FORWARDS, s.CAM, s.ALLOWED, s.WEB80)
    plan = s.make_plan(lab, *forwards, public_address=s.PUBLIC, masquerade=MasqueradeMode.ON)
    for renderer in RENDERERS:
        lab.reset()
        apply_dualnat(lab.bypass, lab.workdir, plan, renderer)
        report = doctor(lab, plan)
        assert report.ruleset.kind == RULESET_KIND[renderer]
        missing = {n: f["rules"]["missing"] for n, f in report.forwards.items()}
        assert not any(missing.values()) and len(missing) == len(forwards), missing
        assert report.ruleset.masquerade is not None and report.ruleset.masquerade.ok


@pytest.mark.parametrize("baseline", ["fw4"])  # elsewhere masquerade 'off' is refused
def test_wifi_clients_masquerade_advice(lab: Topology) -> None:
    """Linksys with masquerade off: the Wi-Fi client fails (scenario 5) and the doctor
    points at masquerade; with the fix in place the client works and the advice is gone."""
    if not lab.bridge_nf:
        pytest.skip(f"{LOUD} br_netfilter is not available in this kernel")
    linksys_off = {"main_router_vendor": "linksys", "masquerade": MasqueradeMode.OFF}
    out = s.bridge_netfilter(lab, "nft", linksys_off)
    assert out.plan is not None and not out.check("Wi-Fi client → internet server").passed
    report = doctor(lab, out.plan)
    assert codes(report, None) == ["system.masquerade_off"], report.text()
    out = s.bridge_netfilter(lab, "nft", s.LINKSYS_AUTO)
    assert out.plan is not None and out.ok, out.report()
    report = doctor(lab, out.plan)
    assert codes(report, None) == [], report.text()
