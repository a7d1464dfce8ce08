"""What the steps say for the situations that differ by vendor: forms, limits, DHCP,
NAT loopback, bridge netfilter, hints where a fact is only inferred."""

from __future__ import annotations

import pytest
from instructions_cases import CASES, PUBLIC, VENDORS
from plan_helpers import fwd, plan

from dualnat.instructions import build_instructions
from dualnat.instructions.model import Instructions, Step

BYPASS = "192.168.1.2"


def steps(doc: Instructions) -> dict[str, Step]:
    return {s.id: s for sec in doc.sections for s in sec.steps}


def fields(step: Step) -> dict[str, tuple[str, str]]:
    """field key → (value, kind)"""
    return {f.id.rsplit(".", 1)[1]: (f.value, f.kind) for f in step.fields}


def warning_ids(doc: Instructions) -> list[str]:
    return [w.id for w in doc.warnings]


# -- port forwards -----------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["linksys", "xiaomi"])
def test_split_range_uses_single_form_for_single_ports_and_range_form_for_equal_ranges(vendor):
    doc = build_instructions(CASES["translated_range"](vendor), "en")
    s = steps(doc)
    # 8000-8003 (translated on the bypass router) keeps its numbers: range form
    rng = s["forward.rng"]
    assert fields(rng)["external_first"] == ("8000", "text")
    assert fields(rng)["external_last"] == ("8003", "text")
    assert "internal_port" not in fields(rng) and "range" in rng.text.lower()
    # 79-81 holds port 80 of the bypass router: three single-port rules, 80 → 10080
    assert [k for k in s if k.startswith("forward.web")] == [
        "forward.web.1",
        "forward.web.2",
        "forward.web.3",
    ]
    web2 = fields(s["forward.web.2"])
    assert web2["external_port"] == ("80", "text") and web2["internal_port"] == ("10080", "text")
    assert web2["name"] == ("web_2", "text")
    assert s["forward.web.2"].notes  # why the ports differ
    assert doc.warnings == ()
    assert "single port" in " ".join(s["forwards.open"].notes).lower()


def test_vendor_with_range_translation_gets_one_shifted_range():
    s = steps(build_instructions(CASES["translated_range"]("ikuai"), "en"))
    web = fields(s["forward.web"])
    assert web["external_port"] == ("79-81", "text")
    assert web["internal_port"] == ("10079-10081", "text")
    assert s["forward.web"].notes


def test_protocol_names_follow_the_vendor():
    shown = {}
    for vendor in ("ikuai", "xiaomi", "asus", "tplink", "linksys", "openwrt"):
        s = steps(build_instructions(CASES["udp_tcpudp"](vendor), "zh"))
        shown[vendor] = next(f for f in s["forward.media"].fields if f.id.endswith(".proto"))
    assert shown["ikuai"].value == "tcp+udp"
    assert (shown["xiaomi"].value, shown["xiaomi"].api_value) == ("TCP和UDP", "3")
    assert shown["asus"].value == "BOTH" and shown["tplink"].value == "ALL"
    assert shown["linksys"].value == "Both"
    assert (shown["openwrt"].value, shown["openwrt"].api_value) == ("TCP+UDP", "tcp udp")


def test_asus_range_uses_a_colon():
    s = steps(build_instructions(CASES["range"]("asus"), "en"))
    assert fields(s["forward.game"])["external_port"] == ("27015:27020", "text")


def test_more_rules_than_the_router_takes_is_a_warning():
    doc = build_instructions(CASES["too_many"]("asus"), "en")
    assert warning_ids(doc) == ["forwards.too_many"]
    assert "70" in doc.warnings[0].text and "64" in doc.warnings[0].text
    forwards = (fwd(f"f{i}", external_port=str(30000 + i)) for i in range(64))
    ok = plan(*forwards, main_router_vendor="asus")
    assert build_instructions(ok, "en").warnings == ()
    # a router without a documented limit says so instead
    doc = build_instructions(CASES["too_many"]("netgear"), "ja")
    assert doc.warnings == () and steps(doc)["forwards.open"].notes


def test_ikuai_mentions_its_ports_per_rule_limit():
    s = steps(build_instructions(CASES["single"]("ikuai"), "en"))
    assert any("16" in n for n in s["forwards.open"].notes)


def test_inferred_menu_comes_with_a_hint_and_confirmed_menu_without():
    ikuai = steps(build_instructions(CASES["single"]("ikuai"), "en"))["forwards.open"]
    assert ikuai.confidence == "inferred" and "端口映射" in ikuai.hints[0]
    openwrt = steps(build_instructions(CASES["single"]("openwrt"), "en"))["forwards.open"]
    assert openwrt.confidence == "confirmed" and openwrt.hints == ()


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_inferred_section_says_what_to_look_for(vendor):
    # hairpin and bridge steps are sentences that say themselves what to test or check
    for case in CASES:
        for section in build_instructions(CASES[case](vendor), "en").sections:
            unsure = [s.id for s in section.steps if s.confidence != "confirmed"]
            if unsure and section.id not in ("hairpin", "bridge"):
                assert any(s.hints for s in section.steps), (case, section.id, unsure)


def test_hints_are_not_repeated_within_a_section():
    doc = build_instructions(CASES["udp_tcpudp"]("netgear"), "en")
    for section in doc.sections:
        hints = [h for s in section.steps for h in s.hints]
        assert len(hints) == len(set(hints))


def test_vendor_extra_steps_before_and_after_the_rules():
    assert "forwards.before" in steps(build_instructions(CASES["single"]("asus"), "en"))
    done = steps(build_instructions(CASES["single"]("xiaomi"), "zh"))["forwards.done"]
    assert "应用规则" in done.text and done.hints


def test_no_forwards_and_disabled():
    s = steps(build_instructions(CASES["none"]("ikuai"), "en"))
    assert "forwards.none" in s and "hairpin.loopback" not in s
    doc = build_instructions(CASES["disabled"]("ikuai"), "en")
    assert warning_ids(doc) == ["dualnat.disabled"]


# -- DHCP --------------------------------------------------------------------------------


def test_gateway_mode_sets_gateway_and_optional_dns():
    s = steps(build_instructions(CASES["single"]("ikuai"), "en"))
    f = {x.id: x for x in s["dhcp.set"].fields}
    assert f["dhcp.gateway"].value == BYPASS and f["dhcp.gateway"].copyable
    assert f["dhcp.dns"].value == BYPASS and f["dhcp.dns"].optional
    assert "dhcp.per_device" in s  # iKuai static bindings carry a gateway
    keep = steps(build_instructions(CASES["single"]("ikuai"), "en", dns="keep"))
    assert [x.id for x in keep["dhcp.set"].fields] == ["dhcp.gateway"]
    sure = steps(build_instructions(CASES["single"]("ikuai"), "en", dns="bypass"))
    assert not {x.id: x for x in sure["dhcp.set"].fields}["dhcp.dns"].optional


def test_openwrt_gateway_is_a_dhcp_option():
    s = steps(build_instructions(CASES["single"]("openwrt"), "en"))
    assert fields(s["dhcp.set"])["gateway"] == (f"3,{BYPASS}", "text")
    uci = s["dhcp.uci"].code
    assert uci is not None and "dhcp_option='3,192.168.1.2'" in uci.text


def test_move_mode_never_runs_two_dhcp_servers():
    doc = build_instructions(CASES["single"]("linksys"), "en")
    ids = doc.step_ids()
    dhcp = [i for i in ids if i.startswith("dhcp.")]
    assert dhcp == ["dhcp.prepare", "dhcp.main_off", "dhcp.bypass_on", "dhcp.renew"]
    s = steps(doc)
    prepare = s["dhcp.prepare"]
    assert prepare.code is not None and prepare.code.target == "bypass_router"
    assert "ignore='1'" in prepare.code.text and "ignore='0'" not in prepare.code.text
    assert fields(prepare)["router"] == (f"3,{BYPASS}", "text")
    assert fields(prepare)["dns"] == (f"6,{BYPASS}", "text")
    assert fields(s["dhcp.main_off"])["enable"] == ("off", "checkbox")
    assert s["dhcp.bypass_on"].code is not None
    assert "bypass_dhcp='1'" in s["dhcp.bypass_on"].code.text
    # keeping the main router as DNS server hands that out instead
    keep = steps(build_instructions(CASES["single"]("linksys"), "en", dns="keep"))
    assert fields(keep["dhcp.prepare"])["dns"] == ("6,192.168.1.1", "text")


def test_openwrt_switches_its_dhcp_server_off_with_ignore_interface():
    """LuCI has no "DHCP server" checkbox: a checked "Ignore interface" on the General
    Setup tab switches it off (luci-mod-network interfaces.js)."""
    doc = build_instructions(CASES["several"]("openwrt"), "en")
    s = steps(doc)
    assert "DHCP Server, switch the DHCP server off" in s["dhcp.main_off"].text
    (field,) = s["dhcp.main_off"].fields
    assert (field.label, field.value, field.kind) == (
        "General Setup → Ignore interface", "on", "checkbox"
    )  # fmt: skip
    assert fields(s["dhcp.main_off"])["enable"] == ("on", "checkbox")


def test_xiaomi_offers_moving_dhcp_for_older_firmware():
    doc = build_instructions(CASES["single"]("xiaomi"), "en")
    assert [s.id for s in doc.sections if s.id.startswith("dhcp")] == ["dhcp", "dhcp_alt"]
    assert "dhcp_alt.prepare" in steps(doc) and "dhcp.set" in steps(doc)


def test_generic_router_tries_the_gateway_field_first():
    doc = build_instructions(CASES["single"]("generic"), "en")
    assert [s.id for s in doc.sections if s.id.startswith("dhcp")] == ["dhcp_alt", "dhcp"]
    s = steps(doc)
    assert "dhcp_alt.set" in s and "dhcp.prepare" in s


def test_deco_sets_devices_by_hand_unless_dhcp_can_be_switched_off():
    s = steps(build_instructions(CASES["single"]("tplink_deco"), "en"))
    assert fields(s["dhcp.manual"]) == {"gateway": (BYPASS, "text"), "dns": (BYPASS, "text")}
    assert "dhcp_alt.main_off" in s


# -- NAT loopback and bridge netfilter ----------------------------------------------------


def test_hairpin_coverage():
    s = steps(build_instructions(CASES["udp_tcpudp"]("ikuai"), "en"))
    assert PUBLIC in s["hairpin.bypass"].text
    assert "“voip”" in s["hairpin.bypass"].text and "“media”" in s["hairpin.bypass"].text
    assert "main router as their gateway" in s["hairpin.loopback"].text
    assert "“ssh”" in s["hairpin.off"].text
    # without public_address every LAN client depends on the main router's loopback
    s = steps(build_instructions(CASES["range"]("ikuai"), "en"))
    assert "hairpin.no_public" in s and "hairpin.bypass" not in s
    assert s["hairpin.loopback"].text.startswith("LAN devices that use the public address")


def test_public_address_given_as_a_name_shows_the_address_too():
    p = plan(fwd(), public_address="home.example.net", main_router_vendor="ikuai")
    text = steps(build_instructions(p, "en"))["hairpin.bypass"].text
    assert "home.example.net (198.51.100.9)" in text


@pytest.mark.parametrize(
    ("vendor", "field", "value"),
    [
        ("linksys", "loopback_filter", "off"),
        ("pfsense", "loopback_mode", "Pure NAT"),
        ("pfsense", "loopback_outbound", "on"),
        ("opnsense", "loopback_ports", "on"),
        ("openwrt", "loopback_rule", "on"),
    ],
)
def test_loopback_settings(vendor, field, value):
    s = steps(build_instructions(CASES["single"](vendor), "en"))
    assert fields(s["hairpin.loopback"])[field][0] == value


def test_loopback_always_on_and_unknown():
    asus = steps(build_instructions(CASES["single"]("asus"), "en"))["hairpin.loopback"]
    assert "nothing to switch on" in asus.text and asus.confidence == "confirmed"
    xiaomi = steps(build_instructions(CASES["single"]("xiaomi"), "en"))["hairpin.loopback"]
    assert xiaomi.confidence == "unknown" and "not known" in xiaomi.text


def test_bridge_netfilter():
    s = steps(build_instructions(CASES["single"]("linksys"), "en"))
    assert "bridge.masquerade" in s
    doc = build_instructions(CASES["masquerade_off"]("netgear"), "en")
    assert "bridge.no_masquerade" in steps(doc) and warning_ids(doc) == ["bridge.no_masquerade"]
    assert "bridge" not in [sec.id for sec in build_instructions(CASES["single"]("asus")).sections]


def test_login_step_for_app_and_modem():
    deco = steps(build_instructions(CASES["single"]("tplink_deco"), "ja"))["start.login"]
    assert "Deco" in deco.text
    modem = steps(build_instructions(CASES["single"]("isp_modem"), "zh"))["start.login"]
    assert "超级管理员" in modem.text and modem.hints
