"""The plan that instructions are built from, for the configured or another vendor."""

from __future__ import annotations

from dataclasses import replace

from ..context import load_inputs, make_plan
from ..errors import ConfigInvalid
from ..plan import Plan
from ..planner import Resolver, build_plan, resolve_ipv4
from ..uci import UciBackend


def plan_for_vendor(
    backend: UciBackend,
    vendor: str | None = None,
    live: bool = False,
    resolve: Resolver = resolve_ipv4,
) -> Plan:
    """The plan as `dualnat plan` makes it, or, for another main-router vendor, planned again
    with main_router_vendor replaced (the range split and the DHCP advice depend on it).
    ConfigInvalid lists every problem."""
    if not vendor:
        return make_plan(backend, live, resolve)
    inputs, problems = load_inputs(backend, live)
    if inputs.config.settings.main_router_vendor == vendor and not problems:
        return make_plan(backend, live, resolve)
    settings = replace(inputs.config.settings, main_router_vendor=vendor)
    try:
        plan = build_plan(
            replace(inputs.config, settings=settings), inputs.network, inputs.services, resolve
        )
    except ConfigInvalid as exc:
        problems = [*problems, *exc.problems]
    if problems:
        raise ConfigInvalid(problems)
    return plan
