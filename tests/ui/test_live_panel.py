"""The Forwards page's "Test" button and its live panel, in headless Chromium against the
development server: the test runs in a child of the service that reads the demo
router's connection table, which this test changes while the panel polls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import DevServer
from test_views import open_view

CLIENT = "203.0.113.77"
# nas_web (8443 → 192.168.1.50:443) reached from the Internet, answered, established
ARRIVED = (
    f"ipv4     2 tcp      6 431999 ESTABLISHED src={CLIENT} dst=192.168.1.2 sport=51515 "
    f"dport=8443 packets=5 bytes=400 src=192.168.1.50 dst={CLIENT} sport=443 dport=51515 "
    "packets=4 bytes=900 [ASSURED] mark=0 zone=0 use=2\n"
)
PANEL = "#modal_overlay .dualnat-test-panel"


def conntrack(server: DevServer) -> str:
    return (server.workdir / "proc" / "net" / "nf_conntrack").read_text()


def test_the_live_panel_shows_each_attempt_and_the_verdict(
    page: Any, server: DevServer, shots: Path
) -> None:
    open_view(page, server, "forwards")
    row = page.locator('tr[data-sid="nas_web"]')
    row.locator(".dualnat-test-button").click()
    page.wait_for_selector(f"{PANEL} .dualnat-test-status .spinning:has-text('s left')")
    intro = page.inner_text(f"{PANEL} .dualnat-test-intro")
    assert "198.51.100.7:8443" in intro and "mobile data" in intro
    first = page.locator(f"{PANEL} .dualnat-test-event").first
    assert "Watching forward 'nas_web'" in first.inner_text()

    server.set_conntrack(conntrack(server) + ARRIVED)  # someone connects from outside
    page.wait_for_selector(f'{PANEL} .dualnat-test-event[data-code="connected"]')
    events = page.locator(f"{PANEL} .dualnat-test-event")
    codes = events.evaluate_all("es => es.map(e => e.dataset.code)")
    # the demo router's table had nas_web connections before: they do not count
    assert codes == ["note", "note", "arrived", "translated", "answered", "connected"]
    assert "already tracked when the test started" in events.nth(1).inner_text()
    assert f"TCP connection from {CLIENT} arrived" in events.nth(2).inner_text()

    verdict = page.locator(f'{PANEL} .dualnat-test-verdict [data-verdict="working"]')
    verdict.wait_for(timeout=20000)  # the service ends the test a few seconds after this
    assert "the forward works" in verdict.inner_text() and CLIENT in verdict.inner_text()
    assert page.locator(f"{PANEL} .dualnat-test-status .spinning").count() == 0
    assert page.is_enabled(f"{PANEL} .dualnat-test-again")
    assert page.is_disabled(f"{PANEL} .dualnat-test-stop")
    page.screenshot(path=str(shots / "live-test.png"), full_page=True)

    page.click(f"{PANEL} .dualnat-test-close")
    page.wait_for_function("!document.body.classList.contains('modal-overlay-active')")
    page.wait_for_function("true")
    methods = [c["method"] for c in server.calls() if c.get("object") == "dualnat"]
    assert "test_start" in methods and "test_poll" in methods and methods[-1] == "test_stop"


def test_stop_ends_the_test_with_the_verdict_of_what_it_saw(page: Any, server: DevServer) -> None:
    open_view(page, server, "forwards", lang="zh_Hans")
    page.locator('tr[data-sid="web"] .dualnat-test-button').click()
    page.wait_for_selector(f"{PANEL} .dualnat-test-status .spinning:has-text('观察中')")
    page.click(f"{PANEL} .dualnat-test-stop")
    verdict = page.locator(f"{PANEL} .dualnat-test-verdict .dualnat-finding")
    verdict.wait_for(timeout=20000)
    assert "测试在" in verdict.inner_text()  # "the test was stopped after ... s"


def test_a_read_only_login_may_test(page: Any, server: DevServer) -> None:
    """The live test changes nothing on the router: the ACL's read part grants it."""
    open_view(page, server, "forwards", acl="read")
    assert page.is_disabled(".cbi-section-create .cbi-button-add")  # the form is read-only
    page.locator('tr[data-sid="nas_web"] .dualnat-test-button').click()
    page.wait_for_selector(f"{PANEL} .dualnat-test-status .spinning:has-text('s left')")
    assert page.locator(f"{PANEL} .dualnat-permission-error").count() == 0
    page.click(f"{PANEL} .dualnat-test-close")
    page.wait_for_function("!document.body.classList.contains('modal-overlay-active')")
