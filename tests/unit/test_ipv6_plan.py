"""The LAN's IPv6 read from `ip` output, and each forward's IPv6 path and pinhole."""

from __future__ import annotations

import re
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from plan_helpers import IP_ADDR, IP_NEIGH, IP_ROUTE, NET, NET6, fwd, lan6, plan

from dualnat import pinholes
from dualnat.errors import Invalid
from dualnat.network6 import announces, default_gateway, lan_ipv6, neighbours, own_addresses
from dualnat.options import parse_ipv6_suffix
from dualnat.pinholes import eui64, with_prefix
from dualnat.uci import Document

PREFIX = IPv6Network("2001:db8:1:1::/64")


def test_reading_the_tables() -> None:
    assert own_addresses(IP_ADDR) == ((own_addresses(IP_ADDR)[0][0], True),)
    assert str(own_addresses(IP_ADDR)[0][0]) == "2001:db8:1:1:5054:ff:fe00:2/64"
    assert default_gateway(IP_ROUTE) == (IPv6Address("fe80::5054:ff:fe00:1"), True)
    static = "default via fe80::1 dev br-lan metric 1024 pref medium\n"
    assert default_gateway(static) == (IPv6Address("fe80::1"), False)
    table = dict(neighbours(IP_NEIGH))
    assert IPv4Address("192.168.1.9") not in table  # FAILED: no link-layer address
    assert table[IPv4Address("192.168.1.50")] == "52:54:00:00:00:50"


def test_the_main_router_announces_the_prefix() -> None:
    lan = lan6()
    assert lan.read and lan.prefixes == (PREFIX,) and lan.ra_learnt
    assert lan.router_mac == lan.main_router_mac == "52:54:00:00:00:01"
    advice = plan(fwd(), net=NET6).main_router.ipv6
    assert advice.path == "main_router" and advice.notes[0].id == "ipv6.path.main_router"


def test_another_router_or_none() -> None:
    other = lan_ipv6(IP_ADDR, IP_ROUTE, IP_NEIGH, IPv4Address("192.168.1.3"))
    assert plan(fwd(), net=replace(NET, ipv6=other)).main_router.ipv6.path == "other_router"
    bare = lan_ipv6("", "", "192.168.1.1 lladdr 52:54:00:00:00:01 REACHABLE\n", NET.main_router_ip)
    advice = plan(fwd(), net=replace(NET, ipv6=bare)).main_router.ipv6
    assert advice.path == "none" and advice.pinholes == () and advice.missing == ()


def test_an_eui64_device_gets_a_suffix_match_to_its_own_port() -> None:
    assert eui64("52:54:00:00:00:50") == IPv6Address("::5054:ff:fe00:50")
    p = plan(fwd("nas", internal_port=443), net=NET6).main_router.ipv6.pinholes[0]
    assert (p.name, p.proto, str(p.port), str(p.device)) == ("nas", "tcp", "443", "192.168.1.50")
    assert p.stable and p.found == "eui64" and p.match == "::5054:ff:fe00:50/-64"
    # the temporary address of the same device is not part of the rule
    assert p.addresses == (IPv6Address("2001:db8:1:1:5054:ff:fe00:50"),)


def test_one_address_that_may_change_and_a_device_not_seen() -> None:
    advice = plan(
        fwd("game", internal_ip="192.168.1.60"),
        fwd("office", external_port="3389", internal_ip="192.168.1.70"),
        net=NET6,
    ).main_router.ipv6
    (game,) = advice.pinholes
    assert not game.stable and game.found == "neighbour"
    assert [n.id for n in advice.notes][1:] == ["ipv6.unstable"]
    assert [(name, why.id) for name, why in advice.missing] == [("office", "ipv6.not_found")]


def test_a_configured_suffix_and_allow_source() -> None:
    suffix = parse_ipv6_suffix("2001:db8:9::80")  # a whole address: its last 64 bits
    assert suffix == IPv6Address("::80")
    advice = plan(
        fwd("cam", internal_ip="192.168.1.80", ipv6_suffix=suffix),
        fwd("ssh", external_port="2222", allow_source=["203.0.113.0/24"]),
        net=NET6,
    ).main_router.ipv6
    (cam,) = advice.pinholes
    assert cam.stable and cam.addresses == (with_prefix(PREFIX, suffix),)
    assert [why.id for _, why in advice.missing] == ["ipv6.allow_source"]
    # off the router only a configured suffix gives a rule
    off = plan(fwd("cam", ipv6_suffix=suffix), fwd("nas", external_port="9")).main_router.ipv6
    assert off.path == "unknown" and [p.name for p in off.pinholes] == ["cam"]
    assert off.pinholes[0].addresses == () and off.missing == ()


def test_ipv6_off_and_dualnat_disabled() -> None:
    assert plan(fwd(ipv6=False), net=NET6).main_router.ipv6.pinholes == ()
    assert plan(fwd(), net=NET6, enabled=False).main_router.ipv6.pinholes == ()


@pytest.mark.parametrize("text", ["::", "2001:db8::/64", "nonsense", "::1/-64"])
def test_bad_suffixes(text: str) -> None:
    with pytest.raises(Invalid):
        parse_ipv6_suffix(text)


def test_the_bypass_routers_own_router_advertisements() -> None:
    doc = Document.parse("config dhcp 'lan'\n\toption interface 'lan'\n\toption ra 'server'\n")
    assert announces(doc, "lan") and not announces(doc, "guest")
    advice = plan(fwd(), net=replace(NET, ipv6=lan6(bypass_announces=True))).main_router.ipv6
    assert "ipv6.bypass_announces" in [n.id for n in advice.notes]


def test_main_router_json_has_the_pinholes() -> None:
    data = plan(fwd("nas", internal_port=443), net=NET6).main_router.to_dict("zh")
    hole = data["ipv6"]["pinholes"][0]
    assert hole["match"] == "::5054:ff:fe00:50/-64" and hole["port"] == "443"
    assert data["ipv6"]["prefixes"] == ["2001:db8:1:1::/64"]
    assert "主路由" in data["ipv6"]["notes"][0]


def test_every_forward_has_its_own_alias_within_opnsenses_limit() -> None:
    """Forward names may be 32 characters; OPNsense aliases too, with dualnat_ in front:
    two long names that start alike must never share an alias (one forward's rule would
    open the other's device)."""
    names = [
        "nas",
        "x" * 24,
        "homeassistant_http_external",
        "homeassistant_http_external2",
        "homeassistant_http_external_ui_2",
    ]
    aliases = [pinholes.alias_name(n) for n in names]
    assert aliases[:2] == ["dualnat_nas", "dualnat_" + "x" * 24]
    assert len(set(aliases)) == len(names)
    for alias in aliases:
        assert len(alias) <= 32 and re.fullmatch(r"dualnat_[A-Za-z0-9_]+", alias)
    assert aliases[2].startswith("dualnat_homeassistant_h")
