"""IPv6 on a real kernel: the main router's firewall blocks inbound IPv6, and the pinhole
that dualnat advises, entered as its instructions say, lets the Internet reach the
device's service; a suffix rule survives a renumbered prefix, a full-address rule does
not; LAN clients' own IPv4 and IPv6 Internet access works in every phase.

A topology of its own (ipv6_lab.py): the IPv4 lab and its scenarios stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv6Address

import pytest
from addresses import INET_SERVER, INTERNET_SERVER_PORT, MAIN_LAN_IP
from gate import unavailable
from ipv6_lab import (
    HOST6,
    INTERNET6,
    PREFIX1,
    PREFIX2,
    SERVICE6,
    announce,
    attempt,
    bypass_site,
    connect,
    counter,
    enable,
    entered_rules,
    full_address_rule,
    fw4_rule,
    global_addresses,
    in_prefix,
    load_main_firewall,
    mac,
    radvd_missing,
    start_servers,
    uci_rules,
    wait_for,
)
from netns import missing_requirements
from routers import apply_dualnat
from topology import Topology

from dualnat.context import make_plan
from dualnat.i18n.catalog import load_catalog
from dualnat.instructions import build_instructions, render
from dualnat.instructions.model import Instructions
from dualnat.mainrouter.model import PROTOCOLS
from dualnat.mainrouter.openwrt import OpenWrtClient
from dualnat.mainrouter.pinhole import wants
from dualnat.pinholes import eui64
from dualnat.plan import Plan
from dualnat.vendors import load_vendor, vendor_ids

DUALNAT = """config dualnat 'main'
\toption main_router_vendor 'openwrt'

config forward 'nas'
\toption external_port '8443'
\toption internal_ip '192.168.1.50'
\toption internal_port '9443'
"""


@pytest.fixture(scope="module")
def lab6() -> Iterator[Topology]:
    problems = missing_requirements()
    missing = radvd_missing()
    if problems or missing:
        unavailable("; ".join([*problems, *([missing] if missing else [])]))
    topo = Topology()
    topo.baseline = "fw4"  # the bypass router as OpenWrt ships it
    try:
        topo.build()
        enable(topo)
        start_servers(topo, ["t50", "t51", "isrv"])
        load_main_firewall(topo, [])
        for role in ("t50", "t51", "c60", "bypass"):
            dev = topo.lan_device if role == "bypass" else "eth0"
            wait_for(
                f"{role}'s address", lambda r=role, d=dev: bool(in_prefix(topo[r], PREFIX1, d))
            )
        yield topo
    finally:
        topo.teardown()


def device_address(topo: Topology, prefix=PREFIX1) -> IPv6Address:
    addr = in_prefix(topo["t50"], prefix)
    assert addr is not None
    return addr


def fill_tables(topo: Topology) -> None:
    """What a running LAN does: the device uses the bypass router as IPv4 gateway (its
    IPv4 neighbour entry), and the bypass router pings all nodes from its global address
    (the instructions' command), which puts the devices' global addresses in its
    neighbour table."""
    assert connect(topo["t50"], str(INET_SERVER), INTERNET_SERVER_PORT)
    own = in_prefix(topo.bypass, PREFIX2, topo.lan_device) or in_prefix(
        topo.bypass, PREFIX1, topo.lan_device
    )
    topo.bypass.exec("ping", "-c", "2", "-I", str(own), f"ff02::1%{topo.lan_device}", check=False)


def the_plan(topo: Topology) -> Plan:
    fill_tables(topo)
    return make_plan(bypass_site(topo, DUALNAT), with_public=False)


def clients_reach_the_internet(topo: Topology) -> None:
    """A LAN client's own Internet access: IPv4 through the bypass router, IPv6 through
    the main router (its router advertisement)."""
    ipv4 = connect(topo["c60"], str(INET_SERVER), INTERNET_SERVER_PORT)
    ipv6 = connect(topo["c60"], str(HOST6["isrv"]), INTERNET6)
    assert ipv4 and "peer=11.0.0.1 " in ipv4, ipv4  # the main router's NAT
    own = {str(a) for a in global_addresses(topo["c60"])}
    assert ipv6 and ipv6.split()[0].removeprefix("peer=") in own, ipv6  # no NAT66


def test_the_plan_finds_the_path_and_the_devices_suffix(lab6: Topology) -> None:
    apply_dualnat(lab6.bypass, lab6.workdir, the_plan(lab6), "nft")  # dualnat's IPv4 rules
    plan = the_plan(lab6)
    six = plan.main_router.ipv6
    assert six.path == "main_router" and PREFIX1 in six.prefixes
    (hole,) = six.pinholes
    assert hole.suffix == eui64(mac(lab6["t50"])) and hole.stable and hole.found == "eui64"
    assert str(hole.port) == str(SERVICE6) and device_address(lab6) in hole.addresses
    clients_reach_the_internet(lab6)


def blocked(topo: Topology, address: str) -> None:
    """A connection from the Internet to `address` fails at the main router's firewall:
    the packet was routed (it reached the forward hook and the wan zone's reject, whose
    counter grows) and the answer is the reject's TCP reset, not a routing error or a
    timeout."""
    before = counter(topo, "reject_from_wan")
    answer, error = attempt(topo["inet"], address, SERVICE6)
    assert answer is None and "refused" in error.lower(), (answer, error)
    assert counter(topo, "reject_from_wan") > before


def opened(topo: Topology, address: str, host: str) -> None:
    """A connection from the Internet to `address` reaches `host`'s service through a
    traffic rule (the accept_to_lan counter grows), from the client's own address."""
    before = counter(topo, "accept_to_lan")
    answer = connect(topo["inet"], address, SERVICE6)
    assert answer and f"peer={HOST6['inet']} " in answer and f"{host}-v6" in answer, answer
    assert counter(topo, "accept_to_lan") > before


def form_values(doc: Instructions, forward: str) -> dict[str, str]:
    """The values of a forward's IPv6 steps (alias, rule) by field key."""
    steps = [s for sec in doc.sections for s in sec.steps if s.id.startswith(f"ipv6.{forward}")]
    return {f.id.rsplit(".", 1)[1]: f.value for s in steps for f in s.fields}


@pytest.mark.parametrize("vendor", sorted(vendor_ids()))
def test_every_vendors_rule_entered_as_its_instructions_say_opens_the_device(
    lab6: Topology, vendor: str
) -> None:
    """For each vendor and language: the instructions name the suffix where the vendor's
    data says its rules can follow a prefix, else the full address with the note to enter
    it again; the form as filled in (English) opens the device and only it."""
    plan = the_plan(lab6)
    (hole,) = plan.main_router.ipv6.pinholes
    ipv6 = load_vendor(vendor).raw["ipv6"]
    follows = ipv6["suffix"] in ("match", "alias")
    suffix, full = str(eui64(mac(lab6["t50"]))), str(device_address(lab6))
    for lang in ("en", "zh", "ja"):
        doc = build_instructions(plan, lang, vendor=vendor)
        text = render(doc, "text")
        values = form_values(doc, "nas")
        assert values["dest_port"] == str(SERVICE6), (vendor, lang)
        assert (suffix if follows else full) in text, (vendor, lang)
        assert (full not in text) if follows else (suffix not in values["dest_ip"])
        section = next(s for s in doc.sections if s.id == "ipv6")
        rule = next(s for s in section.steps if s.id == "ipv6.nas")
        messages = load_catalog(lang).messages
        note = "note.ipv6_suffix_match" if ipv6["suffix"] == "match" else "note.ipv6_reenter"
        note = "note.ipv6_alias_follow" if ipv6["suffix"] == "alias" else note
        assert any(messages[note].split("{")[0] in n for n in rule.notes), (vendor, lang)
        print(f"\n--- {vendor} ({lang}) ---\n" + "\n".join(
            [rule.text, *(f"  {f.label}: {f.value}" for f in rule.fields), *rule.notes]
        ))  # fmt: skip
    doc = build_instructions(plan, "en", vendor=vendor)
    sep = str(ipv6.get("range_separator", load_vendor(vendor).raw["port_forward"].get(
        "range_separator", "-")))  # fmt: skip
    rules = entered_rules(form_values(doc, "nas"), PROTOCOLS[hole.proto], sep, PREFIX1)
    load_main_firewall(lab6, rules)
    opened(lab6, full, "t50")
    blocked(lab6, str(in_prefix(lab6["t51"], PREFIX1)))


def test_inbound_ipv6_is_blocked_without_the_pinhole(lab6: Topology) -> None:
    """Blocked by the main router's firewall, not by routing: the same address and port
    open with a rule (the positive control), and shut again without it."""
    load_main_firewall(lab6, [])
    address = str(device_address(lab6))
    blocked(lab6, address)
    load_main_firewall(
        lab6, [f"ip6 daddr {address} tcp dport {SERVICE6} counter jump accept_to_lan"]
    )
    opened(lab6, address, "t50")
    load_main_firewall(lab6, [])
    blocked(lab6, address)
    clients_reach_the_internet(lab6)


def _openwrt_rules(plan: Plan) -> list[str]:
    """The OpenWrt instructions' commands, rendered as firewall4 renders the rule."""
    doc = build_instructions(plan, "en", vendor="openwrt")
    code = next(s.code for sec in doc.sections for s in sec.steps if s.id == "ipv6.uci")
    assert code is not None
    return [line for rule in uci_rules(code.text) for line in fw4_rule(rule)]


def test_the_openwrt_rule_from_the_instructions_opens_only_the_device(lab6: Topology) -> None:
    rules = _openwrt_rules(the_plan(lab6))
    assert any("ip6 daddr & ::ffff:ffff:ffff:ffff ==" in r for r in rules), rules
    load_main_firewall(lab6, rules)
    opened(lab6, str(device_address(lab6)), "t50")  # no NAT: the client's own address
    blocked(lab6, str(in_prefix(lab6["t51"], PREFIX1)))  # another device stays shut
    clients_reach_the_internet(lab6)


def test_the_openwrt_rule_that_dualnat_pushes_opens_the_device(lab6: Topology) -> None:
    """The `config rule` values the OpenWrt push writes (dualnat6_*), rendered as firewall4
    renders them: the same suffix rule, and it opens the device."""
    plan = the_plan(lab6)
    client = OpenWrtClient(MAIN_LAN_IP, "root", "unused")  # not called
    pushed = [client.rule_values(w) for w in wants(plan.main_router.ipv6, client.pinhole_mode)]
    assert [v["dest_ip"] for v in pushed] == [str(plan.main_router.ipv6.pinholes[0].match)]
    rules = [r for v in pushed for r in fw4_rule(v)]
    load_main_firewall(lab6, rules)
    opened(lab6, str(device_address(lab6)), "t50")
    blocked(lab6, str(in_prefix(lab6["t51"], PREFIX1)))


def test_renumbering_keeps_the_suffix_rule_and_breaks_the_full_address(lab6: Topology) -> None:
    plan1 = the_plan(lab6)
    suffix_rules = _openwrt_rules(plan1)
    linksys = build_instructions(plan1, "en", vendor="linksys")
    step = next(s for sec in linksys.sections for s in sec.steps if s.id == "ipv6.nas")
    old = next(f.value for f in step.fields if f.id.endswith("dest_ip"))
    assert old == str(device_address(lab6))
    full_rules = full_address_rule(old, ("tcp",), str(SERVICE6), "linksys nas")
    announce(lab6, PREFIX2, old=PREFIX1)  # the provider hands out a new prefix
    wait_for("t50's new address", lambda: bool(in_prefix(lab6["t50"], PREFIX2)))
    new = str(device_address(lab6, PREFIX2))
    load_main_firewall(lab6, full_rules)
    blocked(lab6, new)  # the full address is stale
    load_main_firewall(lab6, suffix_rules)
    opened(lab6, new, "t50")  # the suffix rule still matches
    # dualnat sees the new prefix; the suffix stays, the full-address steps change
    plan2 = the_plan(lab6)
    assert PREFIX2 in plan2.main_router.ipv6.prefixes
    (hole,) = plan2.main_router.ipv6.pinholes
    assert hole.match == plan1.main_router.ipv6.pinholes[0].match
    again = render(build_instructions(plan2, "en", vendor="linksys"), "text")
    assert new in again
    clients_reach_the_internet(lab6)
