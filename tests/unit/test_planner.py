"""Planner rules a-g: every item exists for a reason, and bad input names forward and field."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

import pytest
from plan_helpers import NET, fwd, plan

from dualnat.errors import ConfigInvalid
from dualnat.model import KeepSource, PortRange, TargetGateway
from dualnat.plan import DhcpServer, Dnat, Masquerade, Snat, Sysctl
from dualnat.services import ServicePorts

B = IPv4Address("192.168.1.2")
LAN = IPv4Network("192.168.1.0/24")


def problems(*forwards, **settings) -> list[tuple[str, str]]:
    with pytest.raises(ConfigInvalid) as exc:
        plan(*forwards, **settings)
    return [(p.section, p.field) for p in exc.value.problems]


# a. DNAT on the bypass router, matching its own address
def test_dnat_matches_bypass_address_and_maps_ports():
    (dnat,) = [i for i in plan(fwd(internal_port=443)).of_kind(Dnat) if not i.hairpin]
    assert dnat.dest_addr == B
    assert (dnat.dport, dnat.to_addr, dnat.to_port) == (
        PortRange.single(8443),
        IPv4Address("192.168.1.50"),
        PortRange.single(443),
    )
    assert dnat.protos == ("tcp",)
    assert "192.168.1.2" in dnat.reason


def test_disabled_forward_and_disabled_dualnat_plan_nothing():
    p = plan(fwd(enabled=False))
    assert not p.of_kind(Dnat) and not p.main_router.port_forwards
    p = plan(fwd(), enabled=False)
    assert p.items == () and p.warnings


def test_tcpudp_gives_both_protocols():
    (dnat,) = [i for i in plan(fwd(proto="tcpudp")).of_kind(Dnat) if not i.hairpin]
    assert dnat.protos == ("tcp", "udp")


# b. SNAT when the reply would otherwise skip the bypass router
@pytest.mark.parametrize(
    ("gateway", "keep", "snat"),
    [
        (TargetGateway.BYPASS, KeepSource.AUTO, False),
        (TargetGateway.BYPASS, KeepSource.YES, False),
        (TargetGateway.BYPASS, KeepSource.NO, True),
        (TargetGateway.MAIN, KeepSource.AUTO, True),
        (TargetGateway.MAIN, KeepSource.NO, True),
    ],
)
def test_forward_snat(gateway, keep, snat):
    p = plan(fwd(target_gateway=gateway, keep_source_ip=keep, hairpin=False))
    snats = p.of_kind(Snat)
    assert bool(snats) is snat
    if snat:
        (s,) = snats
        assert s.snat_to == B and s.sources == () and s.dport == PortRange.single(8443)


def test_keep_source_with_main_gateway_is_an_error_that_says_why():
    with pytest.raises(ConfigInvalid) as exc:
        plan(fwd(target_gateway=TargetGateway.MAIN, keep_source_ip=KeepSource.YES))
    (p,) = exc.value.problems
    assert (p.section, p.field) == ("nas_web", "keep_source_ip")
    assert "main router" in p.message and "drops the reply" in p.message


# c. Hairpin
def test_hairpin_with_public_address():
    p = plan(fwd(internal_port=443), public_address="198.51.100.7")
    hp = [i for i in p.of_kind(Dnat) if i.hairpin]
    assert len(hp) == 1
    assert hp[0].dest_addr == IPv4Address("198.51.100.7") and hp[0].sources == (LAN,)
    assert hp[0].dport == PortRange.single(8443) and hp[0].to_port == PortRange.single(443)
    (snat,) = p.of_kind(Snat)
    assert snat.hairpin and snat.sources == (LAN,) and snat.dport == PortRange.single(443)
    assert any("NAT loopback" in n for n in p.main_router.notes)


def test_hairpin_snat_without_public_address_covers_main_router_loopback():
    p = plan(fwd())
    assert not [i for i in p.of_kind(Dnat) if i.hairpin]
    (snat,) = p.of_kind(Snat)
    assert snat.sources == (LAN,) and "loopback" in snat.reason


def test_no_hairpin_items_when_hairpin_off():
    p = plan(fwd(hairpin=False), public_address="198.51.100.7")
    assert not p.of_kind(Snat) and len(p.of_kind(Dnat)) == 1


def test_forward_snat_makes_hairpin_snat_redundant():
    p = plan(fwd(target_gateway=TargetGateway.MAIN), public_address="198.51.100.7")
    (snat,) = p.of_kind(Snat)
    assert not snat.hairpin and snat.sources == ()


def test_public_address_dns_name_is_resolved():
    p = plan(fwd(), public_address="home.example.net")
    (hp,) = [i for i in p.of_kind(Dnat) if i.hairpin]
    assert hp.dest_addr == IPv4Address("198.51.100.9")


def test_unresolvable_public_address_is_an_error():
    assert problems(fwd(), public_address="nowhere.example.org") == [("main", "public_address")]


# d. Masquerade
@pytest.mark.parametrize(
    ("mode", "vendor", "expected"),
    [
        ("auto", "linksys", True),
        ("auto", "netgear", True),
        ("auto", "ikuai", False),
        ("auto", "xiaomi", False),
        ("on", "ikuai", True),
        ("off", "linksys", False),
    ],
)
def test_masquerade(mode, vendor, expected):
    from dualnat.model import MasqueradeMode

    p = plan(fwd(), masquerade=MasqueradeMode(mode), main_router_vendor=vendor)
    masq = p.of_kind(Masquerade)
    assert bool(masq) is expected
    if expected:
        (m,) = masq
        assert m.source == LAN and m.exclude_dest == LAN and m.device == "br-lan"
        assert "sees every such device as the bypass router" in m.reason


# d'. Masquerade for a firewall that drops invalid packets (LAN clients' asymmetric TCP)
DROPPING = replace(NET, drops_invalid="/etc/config/firewall: config defaults: drop_invalid '1'")


@pytest.mark.parametrize(
    ("mode", "drops", "redirects_off", "masquerade", "warned"),
    [
        ("auto", True, True, True, False),  # the combination that cut the LAN off
        ("auto", False, True, False, False),
        ("auto", True, False, False, True),  # redirects on: clients ignoring them break
        ("on", True, True, True, False),
        ("off", True, False, False, True),
        ("off", False, True, False, False),
    ],
)
def test_masquerade_when_the_firewall_drops_invalid_packets(
    mode, drops, redirects_off, masquerade, warned
):
    from dualnat.model import MasqueradeMode

    p = plan(
        fwd(),
        net=DROPPING if drops else NET,
        masquerade=MasqueradeMode(mode),
        disable_redirects=redirects_off,
    )
    masq = p.of_kind(Masquerade)
    assert bool(masq) is masquerade
    if masquerade and mode == "auto":
        assert "drop_invalid '1'" in masq[0].reason and "Cost:" in masq[0].reason
    assert any("ignore the redirects" in w for w in p.warnings) is warned


def test_masquerade_off_is_refused_when_it_would_cut_the_lan_off():
    from dualnat.model import MasqueradeMode

    with pytest.raises(ConfigInvalid) as exc:
        plan(fwd(), net=DROPPING, masquerade=MasqueradeMode.OFF)
    [problem] = exc.value.problems
    assert (problem.kind, problem.field) == ("settings", "masquerade")
    assert "drop_invalid '1'" in problem.message and "lose their TCP" in problem.message


@pytest.mark.parametrize(
    ("setting", "drops", "masquerade"),
    [("yes", False, True), ("no", True, False), ("auto", True, True), ("auto", False, False)],
)
def test_firewall_drops_invalid_setting_overrides_detection(setting, drops, masquerade):
    from dualnat.model import DropsInvalid

    p = plan(
        fwd(),
        net=DROPPING if drops else NET,
        firewall_drops_invalid=DropsInvalid(setting),
        main_router_vendor="ikuai",
    )
    assert bool(p.of_kind(Masquerade)) is masquerade


# e. sysctl
def test_sysctls():
    keys = {i.key: i.value for i in plan(fwd()).of_kind(Sysctl)}
    assert keys == {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.conf.all.send_redirects": "0",
        "net.ipv4.conf.br-lan.send_redirects": "0",
    }
    keys = {i.key for i in plan(fwd(), disable_redirects=False).of_kind(Sysctl)}
    assert keys == {"net.ipv4.ip_forward"}


# f. Main-router settings
def test_main_router_forwards_point_at_bypass_router():
    p = plan(
        fwd(internal_port=443),
        fwd("game", proto="udp", external_port="27015-27020", internal_ip="192.168.1.60"),
    )
    pf = {f.name: f for f in p.main_router.port_forwards}
    assert pf["nas_web"].internal_ip == B
    assert str(pf["nas_web"].external_port) == "8443" and str(pf["nas_web"].internal_port) == "8443"
    assert pf["game"].proto == "udp" and str(pf["game"].internal_port) == "27015-27020"


@pytest.mark.parametrize(
    ("vendor", "mode"),
    [("ikuai", "gateway"), ("linksys", "move"), ("netgear", "move"), ("asus", "gateway")],
)
def test_dhcp_advice_follows_vendor_profile(vendor, mode):
    dhcp = plan(fwd(), main_router_vendor=vendor).main_router.dhcp
    assert dhcp["mode"] == mode and dhcp["gateway"] == B


# g. Validation
@pytest.mark.parametrize(
    ("ip", "why"),
    [
        ("10.0.0.5", "not inside"),
        ("192.168.1.2", "bypass router itself"),
        ("192.168.1.1", "main router"),
        ("192.168.1.255", "broadcast"),
        ("192.168.1.0", "network"),
    ],
)
def test_internal_ip_checks(ip, why):
    with pytest.raises(ConfigInvalid) as exc:
        plan(fwd(internal_ip=ip))
    (p,) = exc.value.problems
    assert (p.section, p.field) == ("nas_web", "internal_ip") and why in p.message


def test_overlapping_forwards_on_shared_protocol():
    a = fwd("a", proto="tcp", external_port="8000-8010", internal_ip="192.168.1.50")
    b = fwd("b", proto="tcpudp", external_port="8010", internal_ip="192.168.1.51")
    c = fwd("c", proto="udp", external_port="8005", internal_ip="192.168.1.52")
    assert problems(a, b) == [("b", "external_port")]
    assert len(plan(a, c).main_router.port_forwards) == 2  # tcp and udp do not collide


def test_overlap_with_disabled_forward_is_fine():
    a = fwd("a", external_port="8000-8010")
    b = fwd("b", external_port="8005", enabled=False)
    assert [f.name for f in plan(a, b).main_router.port_forwards] == ["a"]


def test_every_problem_is_reported_at_once():
    found = problems(
        fwd("a", internal_ip="10.1.1.1"),
        fwd(
            "b",
            internal_ip="192.168.1.2",
            target_gateway=TargetGateway.MAIN,
            keep_source_ip=KeepSource.YES,
        ),
    )
    assert ("a", "internal_ip") in found and ("b", "internal_ip") in found
    assert ("b", "keep_source_ip") in found


def test_translated_range_limit():
    plan(fwd(external_port="8000-8255", internal_port="9000-9255"))
    assert problems(fwd(external_port="8000-8256", internal_port="9000-9256")) == [
        ("nas_web", "internal_port")
    ]
    plan(fwd(external_port="8000-9000"))  # untranslated ranges have no limit


# g. A forward on a service port of the bypass router itself
def test_service_port_gets_a_relay_port():
    p = plan(fwd("web", external_port="80", internal_port="8080", internal_ip="192.168.1.51"))
    (dnat,) = p.of_kind(Dnat)
    assert dnat.dest_addr == B and dnat.dport == PortRange.single(10080)
    (mr,) = p.main_router.port_forwards
    assert str(mr.external_port) == "80" and str(mr.internal_port) == "10080"
    assert "service of the bypass router" in dnat.reason
    assert any("10080" in n for n in p.main_router.notes)


def test_service_port_conflict_depends_on_protocol():
    p = plan(fwd(proto="udp", external_port="80"))
    (dnat,) = [i for i in p.of_kind(Dnat) if not i.hairpin]
    assert dnat.dport == PortRange.single(80)  # nothing listens on udp/80


def test_relay_avoids_other_forwards_and_services():
    services = ServicePorts(frozenset({80, 10080}), frozenset())
    p = plan(
        fwd("web", external_port="80", internal_ip="192.168.1.51"),
        fwd("other", external_port="20080", internal_ip="192.168.1.52"),
        services=services,
    )
    relay = {f.name: str(f.internal_port) for f in p.main_router.port_forwards}
    assert relay == {"web": "30080", "other": "20080"}


def test_relay_for_a_range_keeps_its_length():
    p = plan(fwd("web", external_port="440-450", internal_ip="192.168.1.51"))
    (mr,) = p.main_router.port_forwards
    assert mr.internal_port.size == 11 and not mr.internal_port.contains(443)


def test_bypass_port_override_and_its_checks():
    p = plan(fwd("web", external_port="80", bypass_port="8880", internal_ip="192.168.1.51"))
    assert str(p.main_router.port_forwards[0].internal_port) == "8880"
    assert problems(fwd("web", external_port="80", bypass_port="22")) == [("web", "bypass_port")]
    assert problems(fwd("web", external_port="80-81", bypass_port="8880")) == [
        ("web", "bypass_port")
    ]


def test_allow_source_restricts_dnat_and_keeps_lan_for_hairpin():
    p = plan(fwd(allow_source=["203.0.113.0/24", "203.0.113.7/32"]))
    (dnat,) = p.of_kind(Dnat)
    assert dnat.sources == (LAN, IPv4Network("203.0.113.0/24"))
    p = plan(fwd(allow_source=["203.0.113.0/24"], hairpin=False))
    (dnat,) = p.of_kind(Dnat)
    assert dnat.sources == (IPv4Network("203.0.113.0/24"),)


def test_plan_is_plain_data_with_reasons():
    import json

    data = plan(fwd(), public_address="198.51.100.7", main_router_vendor="linksys").to_dict()
    json.dumps(data)
    assert all(item["reason"] for item in data["items"])
    assert {i["kind"] for i in data["items"]} == {"dnat", "snat", "masquerade", "sysctl", "dhcp"}
    assert data["network"]["bypass_ip"] == str(NET.bypass_ip)


def test_range_with_a_service_port_on_a_vendor_that_cannot_translate_ranges():
    # Linksys range rules have no internal port: only port 80 moves, as a single-port rule.
    p = plan(
        fwd("web", external_port="79-81", internal_port="9079-9081", internal_ip="192.168.1.52"),
        main_router_vendor="linksys",
    )
    pf = [(str(f.external_port), str(f.internal_port)) for f in p.main_router.port_forwards]
    assert pf == [("79", "79"), ("80", "10080"), ("81", "81")]
    dnats = [(str(d.dport), str(d.to_port)) for d in p.of_kind(Dnat) if not d.hairpin]
    assert dnats == [("79", "9079"), ("10080", "9080"), ("81", "9081")]
    # a vendor that can translate ranges gets one shifted range
    p = plan(
        fwd("web", external_port="79-81", internal_port="9079-9081", internal_ip="192.168.1.52"),
        main_router_vendor="ikuai",
    )
    pf = [(str(f.external_port), str(f.internal_port)) for f in p.main_router.port_forwards]
    assert pf == [("79-81", "10079-10081")]


def test_explicit_bypass_port_does_not_depend_on_forward_order():
    a = fwd("a", external_port="80", internal_ip="192.168.1.51")
    b = fwd("b", external_port="8080", internal_ip="192.168.1.52", bypass_port="10080")
    for order in ((a, b), (b, a)):
        relay = {f.name: str(f.internal_port) for f in plan(*order).main_router.port_forwards}
        assert relay == {"a": "20080", "b": "10080"}


def test_explicit_shifted_range_is_refused_where_ranges_cannot_translate():
    f = fwd("r", external_port="5000-5001", bypass_port="6000-6001")
    assert problems(f, main_router_vendor="xiaomi") == [("r", "bypass_port")]
    assert str(plan(f).main_router.port_forwards[0].internal_port) == "6000-6001"


def test_explicit_bypass_port_reason_does_not_blame_a_service():
    p = plan(fwd(external_port="8443", bypass_port="18443"))
    (dnat,) = [d for d in p.of_kind(Dnat) if not d.hairpin]
    assert "bypass_port says so" in dnat.reason and "service" not in dnat.reason


def test_sysctl_key_for_a_device_name_with_a_dot():
    from dataclasses import replace

    from plan_helpers import NET

    from dualnat.model import Config, Settings
    from dualnat.planner import build_plan

    p = build_plan(Config(Settings(), (fwd(),)), replace(NET, lan_device="eth0.1"))
    (dev,) = [i for i in p.of_kind(Sysctl) if "eth0.1" in i.key]
    assert dev.key == "net/ipv4/conf/eth0.1/send_redirects"
    assert dev.proc_path == "net/ipv4/conf/eth0.1/send_redirects"
    (fwd_item,) = [i for i in p.of_kind(Sysctl) if i.key.endswith("ip_forward")]
    assert fwd_item.proc_path == "net/ipv4/ip_forward"


# The bypass router's DHCP half of the DHCP advice
def test_dhcp_move_plans_the_bypass_router_dhcp_server():
    from dualnat.plan import DhcpServer

    (item,) = plan(fwd(), main_router_vendor="linksys").of_kind(DhcpServer)
    assert item.section == "lan" and item.options == ("3,192.168.1.2", "6,192.168.1.2")
    assert item.enable is False and "never runs next to" in item.reason
    (item,) = plan(fwd(), main_router_vendor="linksys", bypass_dhcp=True, dhcp_dns=False).of_kind(
        DhcpServer
    )
    assert item.enable is True and item.options == ("3,192.168.1.2",)
    assert not plan(fwd(), main_router_vendor="ikuai").of_kind(DhcpServer)


def test_dhcp_mode_setting_overrides_the_vendor():
    from dualnat.model import DhcpMode
    from dualnat.plan import DhcpServer

    assert plan(fwd(), main_router_vendor="ikuai", dhcp=DhcpMode.MOVE).of_kind(DhcpServer)
    p = plan(fwd(), main_router_vendor="linksys", dhcp=DhcpMode.OFF)
    assert not p.of_kind(DhcpServer) and p.main_router.dhcp["mode"] == "off"
    assert (
        plan(fwd(), main_router_vendor="linksys", dhcp=DhcpMode.GATEWAY).main_router.dhcp["mode"]
        == "gateway"
    )


def test_dhcp_move_without_a_dhcp_section_plans_with_a_warning_and_blocks_apply(tmp_path):
    """Everything that writes nothing still works (plan, render, main-router, instructions);
    apply refuses, naming the setting, and writes nothing."""
    from dataclasses import replace

    from dualnat.apply import apply_plan
    from dualnat.model import Config, Settings
    from dualnat.planner import build_plan
    from dualnat.site import Site
    from dualnat.uci import FileBackend

    p = build_plan(
        Config(Settings(main_router_vendor="linksys"), (fwd(),)),
        replace(NET, dhcp_section=None),
    )
    assert p.of_kind(Dnat) and not p.of_kind(DhcpServer)
    assert any("no named 'config dhcp' section for interface 'lan'" in w for w in p.warnings)
    assert [(b.section, b.field) for b in p.apply_blockers] == [("main", "dhcp")]
    env = Site(FileBackend(tmp_path), tmp_path / ".dualnat")
    with pytest.raises(ConfigInvalid) as exc:
        apply_plan(p, env)
    assert [(q.section, q.field) for q in exc.value.problems] == [("main", "dhcp")]
    assert list(tmp_path.iterdir()) == []
