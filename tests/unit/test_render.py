"""Renderers: golden files for a few topologies, structural checks, and `nft -c` on the output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_helpers import fwd, plan

from dualnat.model import MasqueradeMode, TargetGateway
from dualnat.render import iptables, nft, render
from dualnat.render.common import dnat_segments
from dualnat.render.uci import (
    FW4_OPTIONS,
    PREFIX,
    check_fw4_types,
    check_unique_names,
    firewall_sections,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("DUALNAT_UPDATE_GOLDEN") == "1"

TOPOLOGIES = {
    # One NAS behind the bypass router, hairpin on, iKuai main router.
    "single": lambda: plan(
        fwd(internal_port=443), public_address="198.51.100.7", main_router_vendor="ikuai"
    ),
    # Linksys main router (masquerade), a UDP range, a device using the main router as
    # gateway, a forward on the bypass router's own port 80, a source-restricted
    # translated range.
    "mixed": lambda: plan(
        fwd("nas_web", internal_port=443),
        fwd(
            "game",
            proto="udp",
            external_port="27015-27020",
            internal_ip="192.168.1.60",
            target_gateway=TargetGateway.MAIN,
        ),
        fwd(
            "web",
            external_port="80",
            internal_port="8080",
            internal_ip="192.168.1.51",
            hairpin=False,
        ),
        fwd(
            "rng",
            proto="tcpudp",
            external_port="8000-8003",
            internal_port="9000-9003",
            internal_ip="192.168.1.52",
            allow_source=["203.0.113.0/24"],
        ),
        public_address="198.51.100.7",
        main_router_vendor="linksys",
    ),
    # No forwards, masquerade only.
    "masq_only": lambda: plan(masquerade=MasqueradeMode.ON),
}


@pytest.mark.parametrize("fmt", ["uci", "nft", "iptables"])
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_golden(topology: str, fmt: str) -> None:
    text = render(TOPOLOGIES[topology](), fmt)
    path = GOLDEN / f"{topology}.{fmt}"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs (DUALNAT_UPDATE_GOLDEN=1 rewrites it)"


def test_render_is_deterministic() -> None:
    for build in TOPOLOGIES.values():
        for fmt in ("uci", "nft", "iptables"):
            assert render(build(), fmt) == render(build(), fmt)


def test_translated_range_maps_port_by_port() -> None:
    p = plan(fwd(external_port="8000-8010", internal_port="9000-9010", hairpin=False))
    (dnat,) = p.items[:1]
    segs = dnat_segments(dnat)
    assert [(s.dport.first, s.to_port.first) for s in segs] == [
        (8000 + i, 9000 + i) for i in range(11)
    ]
    sections = [s for s in firewall_sections(p) if s.type == "redirect"]
    assert [(s.as_dict()["src_dport"], s.as_dict()["dest_port"]) for s in sections] == [
        (str(8000 + i), str(9000 + i)) for i in range(11)
    ]
    assert all("9000-9010" not in r[-1] for r in iptables.rules(p))


def test_untranslated_range_keeps_the_port() -> None:
    p = plan(fwd(external_port="8000-8010", hairpin=False))
    script = nft.render(p)
    assert "192.168.1.2 . tcp . 8000-8010 : 192.168.1.50," in script
    assert "--dport 8000:8010 -j DNAT --to-destination 192.168.1.50\n" in (
        iptables.render(p) + "\n"
    )


def test_uci_sections_use_only_fw4_options_with_single_values() -> None:
    for build in TOPOLOGIES.values():
        sections = firewall_sections(build())
        for sec in sections:
            assert sec.name.startswith(PREFIX) and sec.name.replace("_", "").isalnum()
            assert sec.type in ("redirect", "nat")
            names = [k for k, _ in sec.options]
            assert len(names) == len(set(names))
            for key, value in sec.options:
                assert key in FW4_OPTIONS[sec.type]
                if not FW4_OPTIONS[sec.type][key]:
                    # a non-list fw4 option with two words would be skipped as invalid
                    assert " " not in value or key == "name", (sec.name, key, value)
            opts = sec.as_dict()
            if sec.type == "redirect":
                assert opts["target"] == "DNAT" and opts["reflection"] == "0"
                assert opts["src_dip"] and opts["src"] == opts["dest"] == "lan"
            else:
                assert opts["target"] in ("SNAT", "MASQUERADE")


def test_check_fw4_types_refuses_unknown_options() -> None:
    from dualnat.render.uci import UciSection

    with pytest.raises(ValueError, match="no option 'extra'"):
        check_fw4_types([UciSection("dualnat_x", "redirect", (("extra", "-j ACCEPT"),))])


def test_iptables_snat_line_has_the_seed_article_fixed() -> None:
    p = plan(fwd(target_gateway=TargetGateway.MAIN, internal_port=443, hairpin=False))
    (snat,) = [r for r in iptables.rules(p) if "SNAT" in r]
    # match the device as destination, rewrite the source to the bypass router
    assert snat[snat.index("-d") + 1] == "192.168.1.50"
    assert snat[snat.index("--to-source") + 1] == "192.168.1.2"


def test_nft_snat_set_has_no_overlaps() -> None:
    # Two forwards to the same device port, one needing SNAT for all sources: the LAN-only
    # entry is covered and must not be added again (an interval set refuses overlaps).
    p = plan(
        fwd("a", external_port="8443", internal_port="443", target_gateway=TargetGateway.MAIN),
        fwd("b", external_port="9443", internal_port="443"),
    )
    script = nft.render(p)
    assert "0.0.0.0/0 . 192.168.1.50 . tcp . 443," in script
    assert "192.168.1.0/24 . 192.168.1.50 . tcp . 443," not in script


def _nft_check(script: str) -> subprocess.CompletedProcess:
    ns = f"dualnat-chk-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        return subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-c", "-f", "-"],
            input=script,
            text=True,
            capture_output=True,
            check=False,
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _need_root_tools(*tools: str) -> None:
    missing = [t for t in tools if not shutil.which(t)]
    reason = None
    if os.geteuid() != 0:
        reason = "needs root (network namespaces)"
    elif missing:
        reason = f"needs {', '.join(missing)}"
    if reason:
        if os.environ.get("DUALNAT_REQUIRE_LAB") == "1":
            pytest.fail(f"{reason}, and DUALNAT_REQUIRE_LAB=1 forbids skipping")
        pytest.skip(reason)


@pytest.mark.lab
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_nft_render_passes_nft_check(topology: str) -> None:
    _need_root_tools("ip", "nft")
    result = _nft_check(render(TOPOLOGIES[topology](), "nft"))
    assert result.returncode == 0, result.stderr


@pytest.mark.lab
def test_nft_check_catches_a_broken_script() -> None:
    _need_root_tools("ip", "nft")
    assert _nft_check("table inet dualnat { chain x { nonsense } }").returncode != 0


@pytest.mark.lab
def test_nft_render_of_a_thousand_forwards_passes_nft_check() -> None:
    _need_root_tools("ip", "nft")
    forwards = [
        fwd(
            f"f{i}",
            proto="tcpudp",
            external_port=str(20000 + i),
            internal_ip=f"192.168.1.{10 + i % 200}",
            internal_port=str(30000 + i),
        )
        for i in range(1000)
    ]
    result = _nft_check(render(plan(*forwards, public_address="198.51.100.7"), "nft"))
    assert result.returncode == 0, result.stderr


def test_sections_of_one_base_name_are_numbered() -> None:
    """'x' + 'hairpin_snat' and 'x_hairpin' + 'snat' are the same name: both rules stay,
    numbered, instead of UCI merging them into one."""
    sections = firewall_sections(
        plan(
            fwd("x", hairpin=True, target_gateway=TargetGateway.BYPASS),
            fwd("x_hairpin", external_port="9000", target_gateway=TargetGateway.MAIN),
            public_address="198.51.100.9",
        )
    )
    names = {sec.as_dict()["name"]: sec.name for sec in sections if sec.type == "nat"}
    assert names["dualnat x hairpin snat"] == "dualnat_x_hairpin_snat_0"
    assert names["dualnat x_hairpin snat"] == "dualnat_x_hairpin_snat_1"
    alone = {sec.name for sec in sections if sec.as_dict()["name"] == "dualnat x dnat"}
    assert alone == {"dualnat_x_dnat"}  # a section alone keeps its name


@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "x", "hairpin", "snat", "dnat", "2"]), min_size=1, max_size=4
        ).map("_".join),
        unique=True,
        max_size=5,
    ),
    st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_section_names_are_unique_whatever_the_forward_names(
    names: list[str], hairpins: list[bool]
) -> None:
    forwards = [
        fwd(
            name,
            external_port=str(9000 + 10 * i),
            hairpin=hairpins[i],
            target_gateway=TargetGateway.MAIN if i % 2 else TargetGateway.BYPASS,
        )
        for i, name in enumerate(names)
    ]
    sections = firewall_sections(plan(*forwards, public_address="198.51.100.9"))
    assert len({s.name for s in sections}) == len(sections)


def test_two_sections_of_one_name_are_refused() -> None:
    section = firewall_sections(plan(fwd("x")))[0]
    with pytest.raises(ValueError, match="two firewall sections would be named"):
        check_unique_names([section, section])


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_every_nft_map_and_set_is_used_by_a_rule(topology: str) -> None:
    text = render(TOPOLOGIES[topology](), "nft")
    declared = re.findall(r"^\t(?:map|set) (\w+) \{", text, re.M)
    used = set(re.findall(r"@(\w+)", text))
    assert set(declared) == used, text
