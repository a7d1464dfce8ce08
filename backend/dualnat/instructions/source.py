"""The plan that instructions are built from, for the configured or another vendor."""

from __future__ import annotations

from ..context import make_plan
from ..plan import Plan
from ..planner import Resolver, resolve_ipv4
from ..uci import UciBackend


def plan_for_vendor(
    backend: UciBackend,
    vendor: str | None = None,
    live: bool = False,
    resolve: Resolver = resolve_ipv4,
) -> Plan:
    """The plan as `dualnat plan` makes it, or planned again for another main-router vendor.
    ConfigInvalid lists every problem."""
    return make_plan(backend, live, resolve, vendor)
