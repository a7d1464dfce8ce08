"""The bypass router's LAN as /etc/config/network describes it, with the dualnat overrides."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from .errors import ConfigInvalid, Problem
from .invalid_drop import from_firewall_config
from .model import NetworkState, Settings
from .uci import Document, Section


def _interface(doc: Document, name: str) -> Section | None:
    for section in doc.sections_of_type("interface"):
        if section.name == name:
            return section
    return None


def _device(doc: Document, iface: Section) -> str:
    """The Linux device of an interface: `device` (21.02+), else `ifname` / `br-<name>`."""
    device = iface.get("device")
    if device:
        return device.split()[0]
    if (iface.get("type") or "") == "bridge":
        return f"br-{iface.name}"
    ifname = iface.get("ifname")
    return ifname.split()[0] if ifname else f"br-{iface.name}"


def _address(iface: Section) -> IPv4Interface | None:
    """First IPv4 address with its prefix: `ipaddr a.b.c.d/nn` or `ipaddr` + `netmask`."""
    addrs = iface.get_list("ipaddr")
    if not addrs:
        return None
    first = addrs[0]
    if "/" in first:
        return IPv4Interface(first)
    netmask = iface.get("netmask") or "255.255.255.0"
    return IPv4Interface(f"{first}/{netmask}")


def firewall_zone(firewall: Document | None, interface: str) -> str:
    """Name of the firewall zone that covers `interface` (fw4 default: 'lan')."""
    if firewall is not None:
        for zone in firewall.sections_of_type("zone"):
            if interface in zone.get_list("network") and zone.get("name"):
                return str(zone.get("name"))
    return "lan"


def dhcp_section(dhcp: Document | None, interface: str) -> str | None:
    """Name of the named `config dhcp` section that serves `interface`, if there is one."""
    if dhcp is not None:
        for sec in dhcp.sections_of_type("dhcp"):
            if sec.name and (sec.get("interface") or sec.name) == interface:
                return sec.name
    return None


def network_state(
    settings: Settings,
    network: Document,
    firewall: Document | None = None,
    dhcp: Document | None = None,
) -> NetworkState:
    """Combine /etc/config/network with the overrides in the dualnat settings.

    Raises ConfigInvalid (kind ``settings``) when the LAN address or the main router
    cannot be determined, naming the option the user can set instead.
    """
    problems: list[Problem] = []
    name = settings.lan_interface
    iface = _interface(network, name)
    if iface is None:
        raise ConfigInvalid(
            [Problem.of("main", "lan_interface", "network.no_interface", "settings", name=name)]
        )
    device = _device(network, iface)
    try:
        addr = _address(iface)
    except ValueError as exc:
        raise ConfigInvalid(
            [
                Problem.of(
                    "main",
                    "lan_interface",
                    "network.bad_address",
                    "settings",
                    name=name,
                    error=exc,
                )
            ]
        ) from None
    proto = iface.get("proto") or "none"

    if addr is None:
        if settings.bypass_ip is None:
            problems.append(
                Problem.of(
                    "main", "bypass_ip", "network.no_static", "settings", name=name, proto=proto
                )
            )
            raise ConfigInvalid(problems)
        lan = IPv4Network(f"{settings.bypass_ip}/24", strict=False)
        bypass_ip = settings.bypass_ip
    else:
        lan = addr.network
        bypass_ip = settings.bypass_ip or addr.ip

    gateway_text = iface.get("gateway")
    main_ip: IPv4Address | None = settings.main_router_ip
    if main_ip is None and gateway_text:
        try:
            main_ip = IPv4Address(gateway_text)
        except ValueError:
            problems.append(
                Problem.of(
                    "main",
                    "main_router_ip",
                    "network.bad_gateway",
                    "settings",
                    gateway=gateway_text,
                    name=name,
                )
            )
    if main_ip is None and not problems:
        problems.append(
            Problem.of("main", "main_router_ip", "network.no_gateway", "settings", name=name)
        )
    if problems:
        raise ConfigInvalid(problems)
    assert main_ip is not None
    for label, ip in (("bypass_ip", bypass_ip), ("main_router_ip", main_ip)):
        if ip not in lan:
            problems.append(
                Problem.of("main", label, "forward.not_in_lan", "settings", ip=ip, lan=lan)
            )
    if bypass_ip == main_ip:
        problems.append(Problem.of("main", "main_router_ip", "network.own_address", "settings"))
    if problems:
        raise ConfigInvalid(problems)
    return NetworkState(
        lan_device=device,
        bypass_ip=bypass_ip,
        lan=lan,
        main_router_ip=main_ip,
        lan_zone=firewall_zone(firewall, name),
        dhcp_section=dhcp_section(dhcp, name),
        drops_invalid=from_firewall_config(firewall) if firewall is not None else None,
    )
