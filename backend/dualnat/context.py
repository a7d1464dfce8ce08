"""The inputs of a plan, read from a Site, and the plan made from them (make_plan)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .config import CONFIG_NAME, locate, parse_config
from .errors import ConfigInvalid, Problem
from .invalid_drop import from_running_system
from .model import Config, DropsInvalid, MasqueradeMode, NetworkState
from .network import network_state
from .plan import Plan
from .planner import build_plan
from .public import Resolver, resolve_ipv4, resolve_public
from .services import ServicePorts, from_configs, from_proc
from .site import Site
from .uci import Document
from .vendors import load_vendor


@dataclass(frozen=True)
class Inputs:
    """Everything the planner needs, read from one config folder (and the dualnat
    document it came from, to place problems at their line)."""

    config: Config
    network: NetworkState
    services: ServicePorts
    document: Document


def load_inputs(site: Site) -> tuple[Inputs, list[Problem]]:
    """Read dualnat, network, firewall and the service configs.

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
        if _may_need_live_invalid_drop(config, net):
            net = replace(net, drops_invalid=from_running_system())
    return Inputs(config, net, services, document), problems


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
        plan = build_plan(
            inputs.config, inputs.network, inputs.services, vendor=profile, public=public
        )
    except ConfigInvalid as exc:
        problems = [*problems, *exc.problems]
    if problems:
        raise ConfigInvalid(locate(problems, inputs.document))
    return plan
