"""Planner bugs the lab found (now fixed), next to the controls that show the same lab path
works otherwise: a range containing a bypass service port on a main router that cannot
translate ranges, an explicit bypass_port listed after an automatic one, and the
redirect sysctls on a VLAN device with a dot in its name."""

from __future__ import annotations

import pytest
from findings import dotted_lan_device, explicit_bypass_port, range_on_vendor_without_translation
from routers import BASELINES, RENDERERS
from topology import Topology

pytestmark = pytest.mark.parametrize("baseline", list(BASELINES))
each_renderer = pytest.mark.parametrize("renderer", RENDERERS)


@each_renderer
def test_range_with_a_service_port_works_on_a_main_router_that_translates(
    lab: Topology, renderer: str
) -> None:
    out = range_on_vendor_without_translation(lab, renderer, "generic")
    assert out.ok, "\n" + out.report()


@each_renderer
def test_range_with_a_service_port_on_linksys(lab: Topology, renderer: str) -> None:
    out = range_on_vendor_without_translation(lab, renderer, "linksys")
    assert out.ok, "\n" + out.report()


def test_explicit_bypass_port_listed_first_works(lab: Topology) -> None:
    out = explicit_bypass_port(lab, "nft", first="b")
    assert out.ok, "\n" + out.report()


def test_explicit_bypass_port_listed_second_works(lab: Topology) -> None:
    out = explicit_bypass_port(lab, "nft", first="a")
    assert out.ok, "\n" + out.report()


@each_renderer
def test_disable_redirects_on_a_dotted_lan_device(lab: Topology, renderer: str) -> None:
    out = dotted_lan_device(lab, renderer)
    assert out.ok, "\n" + out.report()
