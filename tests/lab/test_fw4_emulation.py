"""The fw4 emulation against real firewall4 output (no root needed)."""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from fw4_emulation import Section, Unsupported, Zone, translate

from dualnat.render.uci import UciSection

RENDERS = Path(__file__).resolve().parent / "fw4_renders"
NAT_CHAIN = re.compile(r"^(dstnat|srcnat)(_\w+)?$")


def _zones(firewall: dict) -> list[Zone]:
    """Zones as fw4 resolves them from the mocked `network.interface dump`."""
    dump = json.loads((RENDERS / "network.interface.dump.json").read_text())
    ifaces = {i["interface"]: i for i in dump["interface"]}
    zones = []
    for z in firewall["zone"]:
        up = [ifaces[n] for n in z.get("network", []) if n in ifaces]
        addrs = [
            IPv4Interface(f"{a['address']}/{a['mask']}") for i in up for a in i["ipv4-address"]
        ]
        zones.append(
            Zone(
                name=z["name"],
                devices=tuple(i["l3_device"] for i in up),
                subnets=tuple(a.network for a in addrs),
                addresses=tuple(a.ip for a in addrs),
                masq=z.get("masq") == "1",
            )
        )
    return zones


def _sections(firewall: dict) -> list[Section]:
    out = []
    for kind in ("redirect", "nat"):
        for index, opts in enumerate(firewall.get(kind, [])):
            pairs = tuple(
                (k, " ".join(v) if isinstance(v, list) else str(v)) for k, v in opts.items()
            )
            out.append(Section(kind, f"@{kind}[{index}]", pairs))
    return out


def _rendered_nat_chains(text: str) -> dict[str, list[str]]:
    """NAT chains of a rendered fw4 ruleset: rule lines only (no hook/policy line)."""
    chains: dict[str, list[str]] = {}
    for name, body in re.findall(r"\n\tchain (\S+) \{\n((?:\t\t.*\n|\n)*)\t\}", text):
        if NAT_CHAIN.match(name):
            lines = [ln.strip() for ln in body.splitlines()]
            chains[name] = [ln for ln in lines if ln and not ln.startswith("type ")]
    return chains


@pytest.mark.parametrize("case", ["A", "B", "C"])
def test_emulation_matches_real_fw4(case: str) -> None:
    firewall = json.loads((RENDERS / f"{case}.firewall.json").read_text())
    expected = _rendered_nat_chains((RENDERS / f"{case}.rendered.nft").read_text())
    assert expected, "no NAT chains found in the reference render"
    got = translate(_sections(firewall), _zones(firewall)).chains
    assert got == expected


def test_our_section_types_are_accepted() -> None:
    zone = Zone(
        "lan", ("lan0",), (IPv4Interface("192.168.1.2/24").network,), (IPv4Address("192.168.1.2"),)
    )
    sec = UciSection(
        "dualnat_x_dnat",
        "redirect",
        (
            ("name", "dualnat x dnat"),
            ("target", "DNAT"),
            ("src", "lan"),
            ("src_ip", "198.51.100.10/32"),
            ("src_dip", "192.168.1.2"),
            ("src_dport", "8000"),
            ("dest", "lan"),
            ("dest_ip", "192.168.1.52"),
            ("dest_port", "9000"),
            ("proto", "tcp udp"),
            ("reflection", "0"),
        ),
    )
    chains = translate([sec], [zone]).chains
    assert chains["dstnat_lan"] == [
        f"ip saddr 198.51.100.10 ip daddr 192.168.1.2 {p} dport 8000 counter "
        f'dnat 192.168.1.52:9000 comment "!fw4: dualnat x dnat"'
        for p in ("tcp", "udp")
    ]


def test_unknown_options_are_refused() -> None:
    zone = Zone("lan", ("lan0",), ())
    sec = Section("redirect", "r", (("src", "lan"), ("dest_ip", "192.168.1.5"), ("extra", "--foo")))
    with pytest.raises(Unsupported, match="extra"):
        translate([sec], [zone])


def test_sections_of_one_name_merge_as_in_libuci() -> None:
    """Two redirects named alike are one section for fw4: only the later rule's values
    remain (the reason dualnat numbers the sections that share a name)."""
    zone = Zone("lan", ("lan0",), ())
    opts = (("src", "lan"), ("dest", "lan"), ("target", "DNAT"), ("proto", "tcp"))
    first = Section("redirect", "r", (*opts, ("src_dport", "8000"), ("dest_ip", "192.168.1.5")))
    second = Section("redirect", "r", (*opts, ("src_dport", "8001"), ("dest_ip", "192.168.1.6")))
    rules = translate([first, second], [zone]).chains["dstnat_lan"]
    assert len(rules) == 1 and "dport 8001" in rules[0] and "192.168.1.6" in rules[0]
    with pytest.raises(Unsupported, match="named like"):
        translate([first, Section("nat", "r", (("src", "lan"),))], [zone])
