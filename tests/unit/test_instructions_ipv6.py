"""The IPv6 section of the instructions: every vendor, every language."""

from __future__ import annotations

import pytest
from instructions_cases import CASES, LANGS, VENDORS

from dualnat.instructions import build_instructions, render
from dualnat.vendors import load_vendor

EUI = "::5054:ff:fe00:50"
FULL = "2001:db8:1:1:5054:ff:fe00:50"
SUFFIX_MATCH = {"openwrt": "match", "opnsense": "alias"}  # the others: the full address


def _section(vendor: str, lang: str):
    doc = build_instructions(CASES["ipv6"](vendor), lang)
    return next(s for s in doc.sections if s.id == "ipv6")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_every_vendor_names_the_device_and_its_port(vendor: str, lang: str) -> None:
    section = _section(vendor, lang)
    step = next(s for s in section.steps if s.id == "ipv6.nas_web")
    values = {f.id.rsplit(".", 1)[1]: f.value for f in step.fields}
    assert values["dest_port"] == "443"  # the device's own port: IPv6 has no NAT
    how = load_vendor(vendor).raw["ipv6"]["suffix"]
    assert how == SUFFIX_MATCH.get(vendor, "none")
    if how == "match":
        assert values["dest_ip"] == f"{EUI}/-64"
    elif how == "alias":
        alias = next(s for s in section.steps if s.id == "ipv6.nas_web.alias")
        content = {f.id.rsplit(".", 1)[1]: f.value for f in alias.fields}
        assert content["alias_content"] == EUI and values["dest_ip"] == content["alias_name"]
    else:  # the full address, and the note to enter it again when the prefix changes
        assert values["dest_ip"] == FULL
        assert any("dualnat main-router" in n for n in step.notes)
    assert "192.168.1.50" in step.text
    out = render(build_instructions(CASES["ipv6"](vendor), lang), "text")
    assert "192.168.1.70" in out  # the device not found is named with what to do


@pytest.mark.parametrize("vendor", VENDORS)
def test_unsourced_vendors_say_so(vendor: str) -> None:
    section = _section(vendor, "en")
    opened = next(s for s in section.steps if s.id == "ipv6.open")
    conf = load_vendor(vendor).raw["ipv6"]["confidence"]
    assert opened.confidence == conf
    if conf != "confirmed":
        assert opened.hints


def test_openwrt_commands_match_the_form() -> None:
    section = _section("openwrt", "en")
    code = next(s for s in section.steps if s.id == "ipv6.uci").code
    assert code is not None
    assert f"dest_ip='{EUI}/-64'" in code.text and "family='ipv6'" in code.text
    assert "dest_ip='2001:db8:1:1:a8b3:1c2d:3e4f:5061'" in code.text  # the unstable one


def test_ikuai_says_that_inbound_ipv6_is_open_by_default() -> None:
    ids = [s.id for s in _section("ikuai", "zh").steps]
    assert ids.index("ipv6.default") < ids.index("ipv6.nas_web")


def test_no_forwards_no_section() -> None:
    doc = build_instructions(CASES["none"]("openwrt"), "en")
    assert "ipv6" not in [s.id for s in doc.sections]
