"""Scenario 9: ICMP redirects, with and without dualnat's disable_redirects sysctls."""

from __future__ import annotations

import pytest
from addresses import INET_SERVER, MAIN_LAN_IP
from redirects import redirects_forwarded, redirects_lan
from routers import BASELINES, RENDERERS
from topology import Topology

pytestmark = pytest.mark.parametrize("baseline", list(BASELINES))
each_renderer = pytest.mark.parametrize("renderer", RENDERERS)


@each_renderer
def test_9_without_the_sysctls_lan_traffic_is_redirected_past_the_bypass(
    lab: Topology, renderer: str
) -> None:
    out = redirects_lan(lab, renderer, disable_redirects=False)
    route = out.check(f"c62's route to {INET_SERVER} goes via the bypass router")
    assert not route.passed and f"via {MAIN_LAN_IP}" in route.detail, out.report()
    assert out.facts["redirects_taken"] >= 1, out.report()


@each_renderer
def test_9_disable_redirects_keeps_lan_traffic_on_the_bypass(lab: Topology, renderer: str) -> None:
    out = redirects_lan(lab, renderer)
    assert out.ok, "\n" + out.report()
    assert out.facts["redirects_sent"] == 0


@each_renderer
def test_9_forwarded_port_survives_redirects_left_on(lab: Topology, renderer: str) -> None:
    """The bypass router generates a redirect for the device's reply, but Linux's NAT
    drops redirects that belong to a NATed connection (every forwarded one is DNATed),
    so the device never sees it: the sysctls are not what keeps these replies on path."""
    out = redirects_forwarded(lab, renderer, disable_redirects=False)
    assert out.ok, "\n" + out.report()
    assert out.facts["redirects_sent"] >= 1, out.report()
    assert out.facts["redirects_taken"] == 0


@each_renderer
def test_9_forwarded_port_with_disable_redirects(lab: Topology, renderer: str) -> None:
    out = redirects_forwarded(lab, renderer)
    assert out.ok, "\n" + out.report()
    assert out.facts["redirects_sent"] == 0
