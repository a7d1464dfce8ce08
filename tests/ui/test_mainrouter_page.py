"""The Main router page when dualnat configures the main router (main_router_control):
the method and its settings, the secret (stored, never shown), Save & Apply pushing,
the per-forward table, "Push now", and the manual steps only for what could not be
pushed. The development server's main router is an in-memory UPnP IGD with OpenWrt's
permission rules and a mapping the user made for a game console (udp 27016)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import DevServer
from test_access import enabled_controls
from test_views import open_view, sections, staged

SECRET = "not-on-any-page-9f3"


def control(page: Any) -> str:
    return '[id="widget.cbid.dualnat.main.main_router_control"]'


def save_and_apply(page: Any) -> None:
    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status")
    page.wait_for_function(
        "document.getElementById('applyreboot-status').textContent.length > 0 && "
        "!document.getElementById('applyreboot-status').classList.contains('spinning')"
    )


def set_options(server: DevServer, **options: str) -> None:
    lines = "".join(f"\toption {k} '{v}'\n" for k, v in options.items())
    head = "config dualnat 'main'\n"
    text = (server.config / "dualnat").read_text().replace(head, head + lines, 1)
    (server.config / "dualnat").write_text(text)


def rows(page: Any) -> dict[str, str]:
    found = page.locator(".dualnat-push-forwards tr[data-forward]")
    return {
        found.nth(i).get_attribute("data-forward"): found.nth(i).get_attribute("data-state")
        for i in range(found.count())
    }


def test_choosing_upnp_pushes_and_shows_each_forward(
    page: Any, server: DevServer, shots: Path
) -> None:
    open_view(page, server, "mainrouter")
    assert page.locator('#dualnat-push [data-state="manual"]').count() == 1
    assert page.locator('[data-name="main_router_lease"]').is_hidden()
    page.select_option(control(page), "upnp")
    assert page.locator('[data-name="main_router_lease"]').is_visible()
    assert page.locator('[data-name="main_router_url"]').is_hidden()
    page.click(".cbi-page-actions .cbi-button-save")
    page.wait_for_function("document.getElementById('dualnat-changes-indicator').dataset.count > 0")
    checks = [c for c in server.calls() if c["method"] == "check_config"]
    assert checks[-1]["args"]["config"]["main_router_control"] == "upnp"
    assert checks[-1]["args"]["config"]["main_router_vendor"] == "ikuai"  # the rest as stored
    assert staged(server)["dualnat"]
    save_and_apply(page)  # the service's apply pushes
    assert sections(server.config / "dualnat")["main"]["main_router_control"] == "upnp"
    open_view(page, server, "mainrouter")
    assert page.get_attribute("#dualnat-push .dualnat-push-state", "data-state") == "failed"
    assert rows(page) == {
        "nas_web": "added",
        "game": "failed",
        "web": "failed",
        "office_ssh": "added",
    }
    web = page.inner_text('.dualnat-push-forwards tr[data-forward="web"]')
    assert "tcp 80: could not add it" in web and "1024" in web and "Enter it by hand" in web
    game = page.inner_text('.dualnat-push-forwards tr[data-forward="game"]')
    assert "'game console' → 192.168.1.60:27016" in game
    assert "game console" in page.inner_text(".dualnat-push-others")
    # the steps: only for the forwards that could not be pushed
    assert page.locator(".dualnat-pushed-note").count() == 1
    steps = page.locator(".dualnat-step").evaluate_all("s => s.map(e => e.dataset.stepId)")
    assert "forward.web" in steps and any(s.startswith("forward.game") for s in steps)
    assert "forward.nas_web" not in steps and "forward.office_ssh" not in steps
    assert page.locator("#dualnat-push-now").is_enabled()
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=str(shots / "mainrouter-push.png"), full_page=True)


def test_push_now_answers_in_the_page_language(page: Any, server: DevServer) -> None:
    text = (server.config / "dualnat").read_text()
    text = text.replace(
        "config dualnat 'main'\n", "config dualnat 'main'\n\toption main_router_control 'upnp'\n"
    )
    (server.config / "dualnat").write_text(text)
    open_view(page, server, "mainrouter", lang="zh_Hans")
    assert page.get_attribute("#dualnat-push .dualnat-push-state", "data-state") == "never"
    page.click("#dualnat-push-now")
    page.wait_for_selector('#dualnat-push .dualnat-push-state[data-state="failed"]')
    nas = page.inner_text('.dualnat-push-forwards tr[data-forward="nas_web"]')
    assert "已添加到主路由" in nas
    web = page.inner_text('.dualnat-push-forwards tr[data-forward="web"]')
    assert "无法添加" in web and "1024" in web
    pushes = [c for c in server.calls() if c["method"] == "main_router_push"]
    assert pushes and pushes[-1]["args"]["lang"] == "zh"


def test_the_secret_is_stored_and_never_shown(page: Any, server: DevServer) -> None:
    open_view(page, server, "mainrouter")
    page.select_option(control(page), "openwrt")
    assert page.locator('[data-name="main_router_lease"]').is_hidden()
    for name in ("main_router_url", "main_router_user", "_secret", "main_router_ca"):
        assert page.locator(f'[data-name="{name}"]').is_visible(), name
    risk = page.locator('[data-name="main_router_insecure"] .cbi-value-description')
    assert "dualnat-risk" in (risk.get_attribute("class") or "") and "Risk:" in risk.inner_text()
    assert page.get_attribute(".dualnat-secret-state", "data-set") == "false"
    page.fill("#dualnat-secret", SECRET)
    page.click("#dualnat-secret-set")
    page.wait_for_selector('.dualnat-secret-state[data-set="true"]')
    assert page.input_value("#dualnat-secret") == ""
    [call] = [c for c in server.calls() if c["method"] == "set_main_router_secret"]
    assert call["args"]["kind"] == "openwrt" and call["status"] == 0
    stored = json.loads((server.config / ".dualnat" / "secrets").read_text())
    assert stored == {"openwrt.password": SECRET}
    assert SECRET not in (server.config / "dualnat").read_text()
    assert SECRET not in page.content()
    # a user and an address that is not the main router's are refused on their fields
    page.fill('[id="widget.cbid.dualnat.main.main_router_user"]', "root")
    page.fill('[id="widget.cbid.dualnat.main.main_router_url"]', "http://192.168.1.9")
    page.click(".cbi-page-actions .cbi-button-save")
    error = page.locator('[data-name="main_router_url"] .dualnat-field-error')
    error.wait_for()
    assert "the main router is 192.168.1.1" in error.inner_text()
    open_view(page, server, "mainrouter")  # the state comes from the service
    status = [c for c in server.calls() if c["method"] == "main_router_status"]
    assert status


def test_a_read_only_login_cannot_push_or_store_a_secret(page: Any, server: DevServer) -> None:
    set_options(server, main_router_control="ikuai", main_router_user="admin")
    open_view(page, server, "mainrouter", acl="read")
    assert page.locator("#dualnat-push-now").is_disabled()
    assert page.locator("#dualnat-secret").is_disabled()
    assert page.locator("#dualnat-secret-set").is_disabled()
    enabled = enabled_controls(page, "#view")
    assert all(c.startswith("select|dualnat-") or "dualnat-copy" in c for c in enabled), enabled
    assert not [
        c for c in server.calls() if c["method"] in ("main_router_push", "set_main_router_secret")
    ]
