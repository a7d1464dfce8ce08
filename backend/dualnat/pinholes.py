"""Each forward's IPv6 path and the pinhole the main router needs for it (pure).

In the usual setup the bypass router is only the devices' IPv4 gateway: the main router
announces the LAN's IPv6 prefix (router advertisements), the devices take their global
addresses from it and use it as their IPv6 gateway. An IPv6 connection from the Internet
then goes main router → device directly, without NAT, and passes the main router's
firewall only where a rule lets it: a pinhole to the device's address and its own port.
dualnat finds the device's global addresses by its link-layer address (the IPv4
neighbour table gives the device's MAC, the IPv6 one its addresses) and its interface
identifier (the last 64 bits): from its MAC (EUI-64), from ipv6_suffix, or from its one
current address. A suffix from the MAC or the setting survives a prefix change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from ipaddress import IPv6Address, IPv6Network

from .model import Forward, Ipv6Lan
from .plan import Ipv6Advice, MainRouterPart, MainRouterPinhole, main_router_part, text

IID_BITS = 64
IID_MASK = (1 << IID_BITS) - 1


ALIAS_CHARS = 32  # OPNsense alias names: letters, digits and _, at most 32 characters
ALIAS_PREFIX = "dualnat_"
ALIAS_HASH = 8  # hex digits of the hash a long name ends with


def tag(forward: str) -> str:
    """How dualnat names its IPv6 rules on the main router (description, rule name)."""
    return f"dualnat {forward}"


def alias_name(forward: str) -> str:
    """The alias that stands for a forward's device (OPNsense's Dynamic IPv6 Host): one
    per forward name, within OPNsense's 32 characters (a long name keeps its start and
    gets a hash of the whole, so that two names that start alike never share one)."""
    name = f"{ALIAS_PREFIX}{forward}"
    if len(name) <= ALIAS_CHARS:
        return name
    digest = hashlib.sha1(forward.encode()).hexdigest()[:ALIAS_HASH]
    keep = ALIAS_CHARS - len(ALIAS_PREFIX) - ALIAS_HASH - 1
    return f"{ALIAS_PREFIX}{forward[:keep]}_{digest}"


def iid(addr: IPv6Address) -> IPv6Address:
    """The interface identifier of an address, as ``::a:b:c:d``."""
    return IPv6Address(int(addr) & IID_MASK)


def eui64(mac: str) -> IPv6Address | None:
    """The modified EUI-64 interface identifier of a MAC address (RFC 4291 appendix A)."""
    try:
        octets = [int(x, 16) for x in mac.split(":")]
    except ValueError:
        return None
    if len(octets) != 6:
        return None
    octets[0] ^= 0x02
    value = int.from_bytes(bytes([*octets[:3], 0xFF, 0xFE, *octets[3:]]), "big")
    return IPv6Address(value)


def with_prefix(prefix: IPv6Network, suffix: IPv6Address) -> IPv6Address:
    """The address of interface identifier `suffix` in a /64 `prefix`."""
    return IPv6Address(int(prefix.network_address) | int(suffix))


def path_of(lan: Ipv6Lan) -> str:
    """main_router, other_router, unknown or none (see plan.Ipv6Advice)."""
    if not lan.read:
        return "unknown"
    if not lan.prefixes:
        return "none"
    if lan.router_mac is None:
        return "unknown"
    return "main_router" if lan.router_mac == lan.main_router_mac else "other_router"


def _suffix(fwd: Forward, mac: str | None, found: tuple[IPv6Address, ...]) -> tuple:
    """(suffix, stable, how it was found) for a forward's device."""
    if fwd.ipv6_suffix is not None:
        return fwd.ipv6_suffix, True, "config"
    own = eui64(mac) if mac else None
    if own is not None and any(iid(a) == own for a in found):
        return own, True, "eui64"
    ids = {iid(a) for a in found}
    if len(ids) == 1:
        return ids.pop(), False, "neighbour"
    return None, False, "none"


def _pinhole(fwd: Forward, lan: Ipv6Lan) -> MainRouterPinhole | MainRouterPart:
    """The pinhole of one forward, or why it has none."""
    name, device = fwd.name, text(fwd.internal_ip)
    if fwd.allow_source:
        return main_router_part("ipv6.allow_source", forward=name)
    mac = lan.mac_of(fwd.internal_ip)
    found = lan.addresses_of(mac) if mac else ()
    suffix, stable, how = _suffix(fwd, mac, found)
    if suffix is not None:
        addresses = tuple(a for a in found if iid(a) == suffix)
        if how == "config":
            made = {with_prefix(p, suffix) for p in lan.prefixes if p.prefixlen <= IID_BITS}
            addresses = tuple(sorted(made | set(addresses)))
    else:
        addresses = found
    if suffix is None and not addresses:
        return main_router_part("ipv6.not_found", forward=name, device=device)
    return MainRouterPinhole(
        name, fwd.proto.value, fwd.internal_port, fwd.internal_ip, suffix, addresses, stable, how
    )


def _notes(lan: Ipv6Lan, path: str, pinholes: Iterable[MainRouterPinhole]) -> list[MainRouterPart]:
    prefixes = ", ".join(map(str, lan.prefixes))
    values = {
        "main_router": {"prefixes": prefixes},
        "other_router": {"prefixes": prefixes, "router": lan.router_mac},
    }.get(path, {})
    notes = [main_router_part(f"ipv6.path.{path}", **values)]
    if lan.bypass_announces and path != "none":
        notes.append(main_router_part("ipv6.bypass_announces"))
    for p in pinholes:
        if p.suffix is not None and not p.stable:
            notes.append(main_router_part("ipv6.unstable", forward=p.name, suffix=str(p.suffix)))
        elif p.suffix is None:
            notes.append(main_router_part("ipv6.no_suffix", forward=p.name))
    return notes


def plan_ipv6(forwards: Iterable[Forward], lan: Ipv6Lan) -> Ipv6Advice:
    """The IPv6 advice for the enabled forwards."""
    path = path_of(lan)
    pinholes: list[MainRouterPinhole] = []
    missing: list[tuple[str, MainRouterPart]] = []
    for fwd in forwards:
        if not fwd.ipv6 or path == "none":
            continue
        if not lan.read and fwd.ipv6_suffix is None and not fwd.allow_source:
            continue  # the path note says that only a configured suffix gives a rule here
        made = _pinhole(fwd, lan)
        if isinstance(made, MainRouterPinhole):
            pinholes.append(made)
        else:
            missing.append((fwd.name, made))
    notes = _notes(lan, path, pinholes)
    return Ipv6Advice(
        path, lan.prefixes, lan.router_mac, tuple(pinholes), tuple(missing), tuple(notes)
    )
