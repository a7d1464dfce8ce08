"""The LAN's IPv6 as the bypass router's kernel knows it: its own global addresses, who its
IPv6 default route points to (learnt from a router advertisement or not), and the
neighbour table that ties each device's IPv4 address to its global IPv6 addresses by
link-layer address. Read with `ip` through a Site (on the router, or the lab's namespace);
off the router nothing is read (Ipv6Lan.read is False).

The parse functions are pure and take the text that `ip` prints (iproute2's and
BusyBox's have the same shape)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Interface, IPv6Network, ip_address

from .model import Ipv6Lan
from .site import Site
from .uci import Document

GLOBAL_UNICAST = IPv6Network("2000::/3")
# odhcpd's `ra` modes in which this router sends router advertisements itself
RA_SERVING = frozenset({"server", "hybrid"})
NO_LLADDR_STATES = frozenset({"FAILED", "INCOMPLETE", "NOARP"})


def is_global(addr: IPv6Address) -> bool:
    """A global unicast address (2000::/3), as the Internet reaches it."""
    return addr in GLOBAL_UNICAST


def own_addresses(text: str | None) -> tuple[tuple[IPv6Interface, bool], ...]:
    """`ip -6 addr show dev X`: each global address with its prefix and whether it was
    configured from a router advertisement (the kernel marks those `dynamic`)."""
    out: list[tuple[IPv6Interface, bool]] = []
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "inet6":
            continue
        try:
            iface = IPv6Interface(words[1] if "/" in words[1] else f"{words[1]}/128")
        except ValueError:
            continue
        if is_global(iface.ip):
            out.append((iface, "dynamic" in words[2:]))
    return tuple(out)


def default_gateway(text: str | None) -> tuple[IPv6Address | None, bool]:
    """`ip -6 route show default`: the first default route's gateway, and whether a router
    advertisement installed it (`proto ra`; older kernels: `proto kernel` with `expires`)."""
    for line in (text or "").splitlines():
        words = line.split()
        if "via" not in words[:-1]:
            continue
        try:
            gateway = IPv6Address(words[words.index("via") + 1])
        except ValueError:
            continue
        proto = words[words.index("proto") + 1] if "proto" in words[:-1] else ""
        return gateway, proto == "ra" or "expires" in words
    return None, False


def neighbours(text: str | None) -> list[tuple[IPv4Address | IPv6Address, str]]:
    """`ip neigh show dev X`: (address, link-layer address) of every entry that has one."""
    out: list[tuple[IPv4Address | IPv6Address, str]] = []
    for line in (text or "").splitlines():
        words = line.split()
        if "lladdr" not in words[:-1] or NO_LLADDR_STATES & set(words):
            continue
        try:
            out.append((ip_address(words[0]), words[words.index("lladdr") + 1].lower()))
        except (ValueError, IndexError):
            continue
    return out


def lan_ipv6(
    addr_text: str | None,
    route_text: str | None,
    neigh_text: str | None,
    main_router: IPv4Address,
    bypass_announces: bool = False,
) -> Ipv6Lan:
    """Ipv6Lan from the three tables (pure)."""
    own = own_addresses(addr_text)
    gateway, from_ra = default_gateway(route_text)
    table = neighbours(neigh_text)
    macs = tuple(sorted((a, m) for a, m in table if isinstance(a, IPv4Address)))
    six = tuple(sorted((a, m) for a, m in table if isinstance(a, IPv6Address) and is_global(a)))
    router_mac = next((m for a, m in table if a == gateway), None) if gateway else None
    prefixes = {i.network for i, _ in own} | {IPv6Network(f"{a}/64", strict=False) for a, _ in six}
    return Ipv6Lan(
        read=True,
        prefixes=tuple(sorted(prefixes)),
        router_mac=router_mac,
        ra_learnt=from_ra or any(dynamic for _, dynamic in own),
        main_router_mac=next((m for a, m in macs if a == main_router), None),
        bypass_announces=bypass_announces,
        neighbours=six,
        macs=macs,
    )


def announces(dhcp: Document | None, section: str | None) -> bool:
    """This router's odhcpd sends router advertisements on the LAN (its `ra` option)."""
    if dhcp is None or section is None:
        return False
    for sec in dhcp.sections_of_type("dhcp"):
        if sec.name == section:
            return (sec.get("ra") or "").lower() in RA_SERVING
    return False


def read_ipv6(site: Site, device: str, main_router: IPv4Address, announce: bool) -> Ipv6Lan:
    """The LAN's IPv6 on the machine `site` reaches (nothing read off the router)."""
    if not site.system:
        return Ipv6Lan(bypass_announces=announce)
    addr = site.output("ip", "-6", "addr", "show", "dev", device)
    if addr is None:  # no `ip` command, or no such device
        return Ipv6Lan(bypass_announces=announce)
    route = site.output("ip", "-6", "route", "show", "default")
    neigh = site.output("ip", "neigh", "show", "dev", device)
    return lan_ipv6(addr, route, neigh, main_router, announce)
