"""Fixtures of the network-namespace lab.

The topology is built once per session (about a second) and every scenario resets it
(rules, sysctls, conntrack, neighbour and route caches) before it runs. The bypass
router's own firewall is one of routers.BASELINES (`baseline` fixture). Without root or
tools the lab tests skip; with DUALNAT_REQUIRE_LAB=1 (CI) they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gate import lab_required, unavailable
from netns import missing_requirements
from netns_thread import InNetns
from outcome import LOUD
from routers import DEFAULT_BASELINE
from topology import Topology
from upnp_lab import Miniupnpd, miniupnpd_missing


@pytest.fixture(scope="session")
def lab_topology() -> Iterator[Topology]:
    problems = missing_requirements()
    if problems:
        unavailable("; ".join(problems))
    topo = Topology()
    try:
        topo.build()
    except Exception as exc:
        topo.teardown()
        if lab_required():
            raise
        pytest.skip(f"network-namespace lab skipped: building it failed: {exc}")
    try:
        yield topo
    finally:
        topo.teardown()


@pytest.fixture
def baseline() -> str:
    """The bypass router's firewall baseline (routers.BASELINES); a module runs its tests
    on every baseline with ``pytestmark = every_baseline``."""
    return DEFAULT_BASELINE


@pytest.fixture
def lab(lab_topology: Topology, baseline: str) -> Topology:
    """The shared topology with `baseline` loaded; each scenario function resets it
    before use."""
    lab_topology.use_baseline(baseline)
    return lab_topology


@pytest.fixture(scope="module")
def in_bypass(lab_topology: Topology) -> Iterator[InNetns]:
    """Run calls in the bypass router's namespace (the product's code, as on the router)."""
    with InNetns(lab_topology.bypass.name) as netns:
        yield netns


@pytest.fixture
def igd(lab: Topology) -> Iterator[Miniupnpd]:
    """A real miniupnpd on the main router (skips, or fails in CI, without it)."""
    missing = miniupnpd_missing()
    if missing:
        unavailable(missing)
    lab.reset()
    with Miniupnpd(lab.main, lab.workdir) as daemon:
        yield daemon


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat loud skip reasons (e.g. br_netfilter missing) so that CI logs show them."""
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if LOUD in message:
            text = message[message.index(LOUD) :]
            terminalreporter.write_line(f"{text} [{report.nodeid}]", yellow=True, bold=True)
