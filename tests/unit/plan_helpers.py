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
