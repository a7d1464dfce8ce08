"""Plans that exercise the instruction builder: one per situation it has to describe."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address

from plan_helpers import NET6, fwd, plan

from dualnat.i18n.catalog import load_catalog
from dualnat.model import DhcpMode, MasqueradeMode, TargetGateway
from dualnat.plan import Plan
from dualnat.vendors import load_vendor, vendor_ids

PUBLIC = "198.51.100.7"
VENDORS = sorted(vendor_ids())
LANGS = ("en", "zh", "ja")
FORMATS = ("text", "markdown", "json")

CASES: dict[str, Callable[[str], Plan]] = {
    # one TCP port sent to another port of the device, hairpin on
    "single": lambda v: plan(
        fwd("nas_web", internal_port=443), public_address=PUBLIC, main_router_vendor=v
    ),
    # a UDP range that keeps its numbers, no public_address
    "range": lambda v: plan(
        fwd("game", proto="udp", external_port="27015-27020", internal_ip="192.168.1.60"),
        main_router_vendor=v,
    ),
    # a translated range, and one that holds the bypass router's own port 80: vendors
    # without range translation get it cut into single ports (79, 80 → 10080, 81)
    "translated_range": lambda v: plan(
        fwd(
            "rng", external_port="8000-8003", internal_port="9000-9003", internal_ip="192.168.1.52"
        ),
        fwd("web", external_port="79-81", internal_port="9079-9081", internal_ip="192.168.1.53"),
        public_address=PUBLIC,
        main_router_vendor=v,
    ),
    # UDP, TCP+UDP on a device whose gateway is the main router, a forward without hairpin
    "udp_tcpudp": lambda v: plan(
        fwd("voip", proto="udp", external_port="5060", internal_ip="192.168.1.55"),
        fwd(
            "media",
            proto="tcpudp",
            external_port="5353",
            internal_ip="192.168.1.54",
            target_gateway=TargetGateway.MAIN,
        ),
        fwd("ssh", external_port="2222", internal_port="22", hairpin=False),
        public_address=PUBLIC,
        main_router_vendor=v,
    ),
    # more rules than ASUS takes (64)
    "too_many": lambda v: plan(
        *(fwd(f"f{i}", external_port=str(30000 + i)) for i in range(70)), main_router_vendor=v
    ),
    # what a reader meets at home: a named public address, DHCP moved to the bypass router
    # even where the main router could hand out the gateway, several forwards covered by
    # hairpin (a list of names), two without it, a relayed port 80 and a translated range
    "several": lambda v: plan(
        fwd("nas_web", internal_port=443),
        fwd("game", proto="udp", external_port="27015-27020", internal_ip="192.168.1.60"),
        fwd("web", external_port="80", internal_port="8080", internal_ip="192.168.1.51"),
        fwd("rng", proto="tcpudp", external_port="8000-8003", internal_port="9000-9003"),
        fwd("ssh", external_port="2222", internal_port="22", hairpin=False),
        fwd("office", external_port="3389", internal_ip="192.168.1.70", hairpin=False),
        public_address="home.example.net",
        dhcp=DhcpMode.MOVE,
        main_router_vendor=v,
    ),
    # IPv6 announced by the main router: an EUI-64 device, one whose only address may
    # change with the prefix, one not in the neighbour table, one with ipv6_suffix, one
    # with allow_source (no IPv6 rule)
    "ipv6": lambda v: plan(
        fwd("nas_web", internal_port=443),
        fwd("game", proto="udp", external_port="27015-27020", internal_ip="192.168.1.60"),
        fwd("office", external_port="3389", internal_ip="192.168.1.70"),
        fwd(
            "cam", external_port="8554", internal_ip="192.168.1.80", ipv6_suffix=IPv6Address("::80")
        ),
        fwd("ssh", external_port="2222", internal_port="22", allow_source=["203.0.113.0/24"]),
        net=NET6,
        main_router_vendor=v,
    ),
    "none": lambda v: plan(main_router_vendor=v),
    "disabled": lambda v: plan(fwd(), enabled=False, main_router_vendor=v),
    "masquerade_off": lambda v: plan(fwd(), masquerade=MasqueradeMode.OFF, main_router_vendor=v),
}


def vendor_labels(vendor: str) -> dict:
    """The flattened [labels] of a vendor profile."""
    from dualnat.i18n.catalog import flatten

    return flatten(load_vendor(vendor).raw.get("labels", {}), labels=True)


def catalog(lang: str) -> dict[str, str]:
    return load_catalog(lang).messages
