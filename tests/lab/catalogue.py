"""The before/after table's rows: each scenario with and without dualnat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import findings as f
import scenarios as s
from outcome import Check, Outcome
from redirects import redirects_forwarded, redirects_lan
from routers import RENDERERS
from topology import Topology

from dualnat.errors import ConfigInvalid

Runner = Callable[[Topology, str], Outcome]


@dataclass(frozen=True)
class Scenario:
    """One scenario: how to run it with dualnat and what "without" means for it."""

    key: str
    title: str
    before: str  # what the "without dualnat" column shows
    with_dualnat: Runner
    without: Runner | None
    without_per_renderer: bool = False  # the "without" setup uses the renderer too
    renderers: tuple[str, ...] = RENDERERS


def _plain(run: Callable[[Topology, None], Outcome]) -> Runner:
    return lambda lab, _renderer: run(lab, None)


CATALOGUE: tuple[Scenario, ...] = (
    Scenario(
        "0",
        "LAN clients' own Internet (TCP, UDP)",
        "no dualnat: the baseline firewall alone",
        s.lan_internet,
        _plain(s.lan_internet),
    ),
    Scenario(
        "1",
        "device with gateway = bypass",
        "main router forwards straight to it",
        s.port_forward,
        _plain(s.port_forward),
    ),
    Scenario(
        "2",
        "device with gateway = main",
        "dualnat plan without the SNAT item",
        s.gateway_main,
        lambda lab, r: s.gateway_main(lab, r, snat=False),
        True,
    ),
    Scenario(
        "3",
        "UDP, ranges, ext ≠ int port",
        "main router forwards straight to them",
        s.ports,
        _plain(s.ports),
    ),
    Scenario(
        "3t",
        "8000-8010 → 9000-9010 per port",
        "one hand-written DNAT to a range",
        s.translated_range,
        lambda lab, _r: s.naive_range(lab),
    ),
    Scenario(
        "4",
        "hairpin from a LAN client",
        "main router forwards straight to it",
        s.hairpin,
        _plain(s.hairpin),
    ),
    Scenario(
        "4m",
        "hairpin via main router's loopback",
        "main router loops back straight to it",
        s.hairpin_via_main_loopback,
        _plain(s.hairpin_via_main_loopback),
    ),
    Scenario(
        "5",
        "bridge netfilter (seed 002)",
        "no masquerade on the bypass router",
        s.bridge_netfilter,
        _plain(s.bridge_netfilter),
    ),
    Scenario(
        "6",
        "external port 80 = bypass service",
        "hand-written DNAT of bypass:80",
        s.service_port,
        _plain(s.service_port),
    ),
    Scenario(
        "7",
        "allow_source",
        "main router forwards straight to the device",
        s.allow_source,
        _plain(s.allow_source),
    ),
    Scenario("8", "revert", "(n/a)", s.revert, None),
    Scenario(
        "9",
        "ICMP redirects: LAN traffic",
        "dualnat with disable_redirects=0",
        redirects_lan,
        lambda lab, r: redirects_lan(lab, r, disable_redirects=False),
        True,
    ),
    Scenario(
        "9f",
        "ICMP redirects: forwarded port",
        "dualnat with disable_redirects=0",
        redirects_forwarded,
        lambda lab, r: redirects_forwarded(lab, r, disable_redirects=False),
        True,
    ),
    Scenario(
        "10",
        "range with port 80, Linksys main",
        "(n/a: once a planner bug)",
        lambda lab, r: f.range_on_vendor_without_translation(lab, r, "linksys"),
        None,
    ),
    Scenario(
        "11",
        "explicit bypass_port listed second",
        "(n/a: once a planner bug)",
        lambda lab, r: _explicit_port(lab, r),
        None,
        renderers=("nft",),
    ),
    Scenario(
        "12",
        "disable_redirects on eth0.1",
        "(n/a: once a planner bug)",
        f.dotted_lan_device,
        None,
    ),
)


def _explicit_port(lab: Topology, renderer: str) -> Outcome:
    try:
        return f.explicit_bypass_port(lab, renderer, first="a")
    except ConfigInvalid as exc:
        return Outcome((Check("the planner accepts the config", False, str(exc)),))
