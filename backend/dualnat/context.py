"""The inputs of a plan, read from a Site, and the plan made from them (make_plan)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .config import CONFIG_NAME, locate, parse_config
from .errors import ConfigInvalid, Problem
from .invalid_drop import from_running_system
from .memo import Memo
from .model import Config, DropsInvalid, MasqueradeMode, NetworkState
from .network import network_state
from .network6 import announces, read_ipv6
from .plan import Plan
from .planner import build_plan
from .proxies import inputs as proxy_inputs
from .proxies.inputs import ProxyInputs
from .public import ResolvedPublic, Resolver, resolve_ipv4, resolve_public
from .services import ServicePorts, from_configs, from_proc
from .site import Site
from .uci import Document
from .vendors import VendorProfile, load_vendor


@dataclass(frozen=True)
class Inputs:
    """Everything the planner needs, read from one config folder (and the dualnat
    document it came from, to place problems at their line): with `proxies`, the
    transparent proxies found (their UCI configs; on the router also the loaded ruleset),
    their files dualnat edits and what dualnat added to them earlier."""

    config: Config
    network: NetworkState
    services: ServicePorts
    document: Document
    proxies: ProxyInputs


def load_inputs(site: Site) -> tuple[Inputs, list[Problem]]:
    """Read dualnat, network, firewall and the service configs, and the proxies.

    Returns the inputs built from everything valid, with the problems found so far; raises
    ConfigInvalid only when the LAN itself cannot be determined.
    """
    backend, live = site.backend, site.live
    document = backend.read(CONFIG_NAME)
    config, problems = parse_config(document)
    firewall = backend.read("firewall")
    docs = {name: backend.read(name) for name in ("uhttpd", "dropbear", "dhcp")}
    network_file = Path(backend.config_dir) / "network"
    if not network_file.exists():
        missing = Problem.of(
            "main",
            "lan_interface",
            "network.file_missing",
            "settings",
            path=network_file,
            name=config.settings.lan_interface,
        )
        raise ConfigInvalid(locate([*problems, missing], document))
    try:
        net = network_state(config.settings, backend.read("network"), firewall, docs["dhcp"])
    except ConfigInvalid as exc:
        raise ConfigInvalid(locate([*problems, *exc.problems], document)) from None
    services = ServicePorts.defaults().union(from_configs(docs))
    if live:
        services = services.union(from_proc())
    if site.system and _may_need_live_invalid_drop(config, net):
        net = replace(net, drops_invalid=from_running_system(site.run))
    announce = announces(docs["dhcp"], net.dhcp_section)
    net = replace(net, ipv6=read_ipv6(site, net.lan_device, net.main_router_ip, announce))
    proxies = proxy_inputs.load(site)
    return Inputs(config, net, services, document, proxies), problems


def _may_need_live_invalid_drop(config: Config, net: NetworkState) -> bool:
    """Whether the loaded rules can change the plan: the firewall config alone does not
    say that invalid packets are dropped, and masquerade and the setting are 'auto'-ish."""
    settings = config.settings
    return (
        net.drops_invalid is None
        and settings.firewall_drops_invalid is DropsInvalid.AUTO
        and settings.masquerade is not MasqueradeMode.ON
    )


def make_plan(
    site: Site,
    resolve: Resolver = resolve_ipv4,
    vendor: str | None = None,
    *,
    with_public: bool = True,
) -> Plan:
    """Load the inputs from `backend` and plan; ConfigInvalid lists every problem at once.

    `vendor` plans for another main-router vendor than the configured one (the range split
    and the DHCP advice depend on it). Without `with_public`, public_address is not looked
    up and the plan has no hairpin (what the main router gets does not depend on it: a
    push plans so, and never waits for a lookup).
    """
    inputs, problems = load_inputs(site)
    settings = inputs.config.settings
    profile = load_vendor(vendor or settings.main_router_vendor)
    wanted = settings.public_address if settings.enabled and with_public else None
    public = resolve_public(wanted, resolve)
    try:
        plan = _planned(inputs, profile, public)
    except ConfigInvalid as exc:
        problems = [*problems, *exc.problems]
    if problems:
        raise ConfigInvalid(locate(problems, inputs.document))
    return plan


# The last plans by their inputs: the config by identity (the reader gives the same Config
# for the same text, and the entry holds it, so its id cannot be reused meanwhile).
_PLANS: Memo[tuple[Config, Plan]] = Memo(2)


def _planned(inputs: Inputs, profile: VendorProfile, public: ResolvedPublic) -> Plan:
    config = inputs.config
    key = (
        id(config),
        inputs.network,
        inputs.services,
        profile.id,
        public,
        _proxies_key(inputs.proxies),
    )
    kept = _PLANS.find(key)
    if kept is not None and kept[0] is config:
        return kept[1]
    plan = build_plan(
        config,
        inputs.network,
        inputs.services,
        vendor=profile,
        public=public,
        proxies=inputs.proxies,
    )
    _PLANS.keep(key, (config, plan))
    return plan


def _proxies_key(proxies: ProxyInputs) -> tuple[object, ...]:
    """Every fact of ProxyInputs as a hashable value (its mappings sorted)."""
    detected = tuple(
        (d.proxy.key, d.installed, d.enabled, d.running, d.mode, d.live, d.evidence)
        for d in proxies.detected
    )  # a catalogue entry (Proxy) by its key: it holds tables
    return (
        detected,
        tuple(sorted(proxies.configs.items())),
        tuple(sorted(proxies.files.items())),
        tuple(sorted(proxies.owned.items())),
        proxies.ruleset_read,
        proxies.state_problem,
    )
