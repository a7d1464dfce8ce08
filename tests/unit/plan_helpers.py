"""Small builders for planner tests: a LAN like the example bypass router's."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from dualnat.model import Config, Forward, NetworkState, PortRange, Proto, Settings
from dualnat.plan import Plan
from dualnat.planner import build_plan
from dualnat.proxies.detect import detect
from dualnat.proxies.entries import Owned
from dualnat.proxies.inputs import ProxyInputs, watched_files
from dualnat.public import NoPublicAddress, resolve_public
from dualnat.services import ServicePorts

NET = NetworkState(
    lan_device="br-lan",
    bypass_ip=IPv4Address("192.168.1.2"),
    lan=IPv4Network("192.168.1.0/24"),
    main_router_ip=IPv4Address("192.168.1.1"),
)
SERVICES = ServicePorts(frozenset({22, 53, 80, 443}), frozenset({53, 67}))


def fwd(name: str = "nas_web", **kw: Any) -> Forward:
    """A forward with sensible defaults; ports and addresses may be given as text."""
    proto = Proto(kw.pop("proto", "tcp"))
    ext = PortRange.parse(str(kw.pop("external_port", "8443")))
    internal = kw.pop("internal_port", None)
    internal_port = PortRange.parse(str(internal)) if internal is not None else ext
    ip = IPv4Address(kw.pop("internal_ip", "192.168.1.50"))
    if "allow_source" in kw:
        kw["allow_source"] = tuple(IPv4Network(s) for s in kw["allow_source"])
    if "bypass_port" in kw:
        kw["bypass_port"] = PortRange.parse(str(kw["bypass_port"]))
    return Forward(name, proto, ext, ip, internal_port, **kw)


def proxies(
    configs: dict[str, str],
    files: dict[str, str] | None = None,
    owned: dict[str, tuple[Owned, ...]] | None = None,
    ruleset: str | None = None,
) -> ProxyInputs:
    """What context.load_inputs would find: the proxies' config texts (name → text), their
    files (router path → text), dualnat's earlier entries, the loaded ruleset (None: not
    read, as off the router)."""
    all_files = dict.fromkeys(watched_files(), "")
    all_files.update(files or {})
    return ProxyInputs(
        detected=tuple(detect(dict(configs), ruleset or "")),
        configs=dict(configs),
        files=all_files,
        owned=owned or {},
        ruleset_read=ruleset is not None,
    )


# what the tests' resolver gives: "auto" is a main router behind carrier-grade NAT
NAMES = {"home.example.net": IPv4Address("198.51.100.9"), "auto": NoPublicAddress("192.168.1.1")}


def plan(
    *forwards: Forward,
    services: ServicePorts = SERVICES,
    net: NetworkState = NET,
    proxies: ProxyInputs | None = None,
    **settings: Any,
) -> Plan:
    config = Config(replace(Settings(), **settings), tuple(forwards))
    public = resolve_public(
        config.settings.public_address if config.settings.enabled else None,
        lambda name: NAMES.get(name),
    )
    return build_plan(config, net, services, public=public, proxies=proxies)


# The bypass router's `ip` output on a LAN whose prefix the main router announces: the
# bypass router took its address and default route from the main router's advertisement;
# nas (.50) has an EUI-64 address and a temporary one, game (.60) one per-network
# (RFC 7217) address, office (.70) no IPv6 in the table.
IP_ADDR = """2: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP qlen 1000
    inet 192.168.1.2/24 brd 192.168.1.255 scope global br-lan
    inet6 2001:db8:1:1:5054:ff:fe00:2/64 scope global dynamic mngtmpaddr
       valid_lft 86395sec preferred_lft 14395sec
    inet6 fe80::5054:ff:fe00:2/64 scope link
       valid_lft forever preferred_lft forever
"""
IP_ROUTE = "default via fe80::5054:ff:fe00:1 dev br-lan proto ra metric 1024 expires 1795sec\n"
IP_NEIGH = """192.168.1.1 lladdr 52:54:00:00:00:01 REACHABLE
fe80::5054:ff:fe00:1 lladdr 52:54:00:00:00:01 router REACHABLE
192.168.1.50 lladdr 52:54:00:00:00:50 STALE
2001:db8:1:1:5054:ff:fe00:50 lladdr 52:54:00:00:00:50 STALE
2001:db8:1:1:d1c3:4a5b:6c7d:8e9f lladdr 52:54:00:00:00:50 STALE
fe80::5054:ff:fe00:50 lladdr 52:54:00:00:00:50 STALE
192.168.1.60 lladdr 52:54:00:00:00:60 REACHABLE
2001:db8:1:1:a8b3:1c2d:3e4f:5061 lladdr 52:54:00:00:00:60 STALE
192.168.1.70 lladdr 52:54:00:00:00:70 REACHABLE
192.168.1.9  FAILED
"""


def lan6(**changes: Any) -> Any:
    """The LAN's IPv6 read from the output above (network6.lan_ipv6), with `changes`."""
    from dualnat.network6 import lan_ipv6

    return replace(lan_ipv6(IP_ADDR, IP_ROUTE, IP_NEIGH, NET.main_router_ip), **changes)


NET6 = replace(NET, ipv6=lan6())
