"""Write access: a login with only the read part of the ACL group luci-app-dualnat, and a
write the router refuses.

The development server grants sessions from the package's ACL file
(root/usr/share/rpcd/acl.d/luci-app-dualnat.json) as rpcd does; ``?acl=read`` opens a page
with a session that holds the group's read part only, and the page's menu node says so
(LuCI's nodespec.readonly), as LuCI's dispatcher does for such a login.
"""

from __future__ import annotations

from typing import Any

from conftest import DevServer
from test_views import open_view

# Every control the user can operate, enabled or not: ("tag|id|class|caption", enabled);
# the caption of buttons only.
CONTROLS_JS = """
(root) => Array.from(root.querySelectorAll(
    'button, input, select, textarea, .cbi-button, .cbi-dynlist .remove'
)).map(e => [
    [e.tagName.toLowerCase(), e.id, e.className,
     /^(button|div|span)$/i.test(e.tagName) ? (e.textContent || '').trim() : ''].join('|'),
    !(e.disabled || e.hasAttribute('disabled') || !!e.closest('[disabled]'))
])
"""


def enabled_controls(page: Any, selector: str) -> list[str]:
    controls = page.eval_on_selector(selector, CONTROLS_JS)
    return [what for what, enabled in controls if enabled]


def test_a_read_only_login_has_no_enabled_write_action_on_any_page(
    page: Any, server: DevServer
) -> None:
    before = {p.name: p.read_bytes() for p in server.config.iterdir()}

    # Overview: the rules are not applied yet; Show the changes and Apply now are there,
    # disabled (both call apply, a method of the ACL's write part)
    open_view(page, server, "overview", acl="read")
    firewall = page.locator('#dualnat-status tr[data-row="firewall"]')
    assert firewall.get_attribute("data-state") == "pending"
    assert firewall.locator("button").count() == 2
    assert firewall.locator("button:disabled").count() == 2
    assert enabled_controls(page, "#view") == []

    # Port forwards: the grid, its Enable boxes, Add, Delete and the page's buttons are
    # disabled; Edit opens a forward to look at, with every field and Save disabled; Test
    # stays (the live test changes nothing: the ACL's read part grants it)
    open_view(page, server, "forwards", acl="read")
    enabled = enabled_controls(page, "#view")
    edits = [c for c in enabled if "cbi-button-edit" in c]
    tests = [c for c in enabled if "dualnat-test-button" in c]
    assert len(edits) == len(tests) == 4 and sorted(enabled) == sorted(edits + tests), enabled
    assert page.locator(".cbi-page-actions button").count() == 3
    assert page.locator(".cbi-page-actions button:disabled").count() == 3
    page.click('tr[data-sid="office_ssh"] .cbi-button-edit')
    page.wait_for_selector("body.modal-overlay-active #modal_overlay .modal.cbi-modal .cbi-map")
    dialog = enabled_controls(page, "#modal_overlay")
    assert [c.split("|")[3] for c in dialog] == ["Dismiss"]
    assert page.locator("#modal_overlay .cbi-button-positive").is_disabled()  # Save
    page.click("#modal_overlay .modal .right .cbi-button:not(.cbi-button-positive)")

    # Settings: every field and the page's buttons are disabled
    open_view(page, server, "settings", acl="read")
    assert enabled_controls(page, "#view") == []
    assert page.locator(".cbi-page-actions button:disabled").count() == 3

    # Main router: only choices of what to show, and copy buttons
    open_view(page, server, "mainrouter", acl="read")
    enabled = enabled_controls(page, "#view")
    assert enabled[:2] == [
        "select|dualnat-vendor|cbi-input-select|",
        "select|dualnat-lang|cbi-input-select|",
    ]
    assert enabled[2:] and all("dualnat-copy" in c for c in enabled[2:])

    # nothing was written or staged, and no page called a method the login may not call
    assert {p.name: p.read_bytes() for p in server.config.iterdir()} == before
    assert [c for c in server.calls() if c["status"] != 0] == []
    access = [c for c in server.calls() if c["object"] == "session"]
    assert {"scope": "uci", "object": "dualnat", "function": "write"} in [c["args"] for c in access]


def test_a_write_the_router_refuses_says_permission_denied_not_that_the_service_is_down(
    page: Any, server: DevServer
) -> None:
    """The page was opened with write access, which an administrator then revoked: the
    router refuses apply with JSON-RPC error -32002, and the page says so."""
    firewall = (server.config / "firewall").read_bytes()
    open_view(page, server, "overview")
    server.set_grant("read")
    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-apply')  # Apply now
    notice = page.locator(".alert-message.danger")
    notice.wait_for()
    text = notice.inner_text()
    assert "Permission denied: this login may view Dual NAT but not change it" in text
    assert "(the router refused dualnat/apply)" in text
    assert "luci-app-dualnat" in text
    assert "did not answer" not in text and "Check that it runs" not in text
    assert [c["status"] for c in server.calls() if c["method"] == "apply"] == [-32002]
    assert (server.config / "firewall").read_bytes() == firewall

    # "Show the changes" (apply as a dry run) is refused the same way
    page.click(".alert-message .notification-close")
    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-neutral')
    page.locator(".alert-message.danger .dualnat-permission-error").wait_for()


def test_a_read_the_router_refuses_says_permission_denied_too(page: Any, server: DevServer) -> None:
    """The login lost the group altogether while the overview is open: the next poll's
    status and doctor calls are refused, and the page says this login may not use Dual
    NAT, not that the service is down."""
    open_view(page, server, "overview", pollscale="0.1")
    server.set_grant("none")
    refused = page.locator("#dualnat-status .dualnat-permission-error")
    refused.wait_for()
    assert refused.inner_text() == (
        "Permission denied: this login may not use Dual NAT (the router refused "
        "dualnat/status). An administrator can grant access to the ACL group luci-app-dualnat."
    )
    page.locator("#dualnat-doctor .dualnat-permission-error").wait_for()
    assert "did not answer" not in page.inner_text("#view")
    assert {c["method"] for c in server.calls() if c["status"] == -32002} == {"status", "doctor"}
