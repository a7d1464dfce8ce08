"""Main-router vendor profiles: one TOML data file per vendor, read on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..datafile import read_toml

FOLDER = Path(__file__).parent


@dataclass(frozen=True)
class VendorProfile:
    """The facts about one vendor's router that the planner needs."""

    id: str
    name: str
    bridge_netfilter_risk: bool
    bridge_netfilter_note: str
    dhcp_gateway_override: bool
    dhcp_dns_override: bool
    dhcp_can_disable: bool
    range_translation: bool
    raw: dict


@cache
def vendor_ids() -> frozenset[str]:
    """Every vendor id that has a profile file."""
    return frozenset(p.name[:-5] for p in FOLDER.iterdir() if p.name.endswith(".toml"))


@cache
def load_vendor(vendor_id: str) -> VendorProfile:
    """Read one profile; KeyError for an unknown vendor."""
    if vendor_id not in vendor_ids():
        raise KeyError(vendor_id)
    data = read_toml(FOLDER / f"{vendor_id}.toml")
    return VendorProfile(
        id=data["id"],
        name=data["name"],
        bridge_netfilter_risk=bool(data["bridge_netfilter"]["risk"]),
        bridge_netfilter_note=data["bridge_netfilter"].get("note", ""),
        dhcp_gateway_override=bool(data["dhcp"]["gateway_override"]),
        dhcp_dns_override=bool(data["dhcp"]["dns_override"]),
        dhcp_can_disable=bool(data["dhcp"]["can_disable"]),
        range_translation=bool(data["port_forward"]["range_translation"]),
        raw=data,
    )
