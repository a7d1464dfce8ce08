"""The LuCI views in headless Chromium against the development server.

The pages are the package's own files (luci-app-dualnat/htdocs); tests/ui/harness stands
in for LuCI's client runtime and tests/ui/devserver.py for uhttpd, rpcd and the router,
with the ubus calls running through the daemon's adapter into the Flask API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from conftest import DevServer

from dualnat.uci import Document

WEB_UNREPLIED = (
    "ipv4     2 tcp      6 117 SYN_SENT src=198.51.100.99 dst=192.168.1.2 sport=40114 "
    "dport=10080 packets=3 bytes=180 [UNREPLIED] src=192.168.1.51 dst=198.51.100.99 sport=8080 "
    "dport=40114 packets=0 bytes=0 mark=0 zone=0 use=2\n"
    "ipv4     2 tcp      6 118 SYN_SENT src=198.51.100.99 dst=192.168.1.2 sport=40118 "
    "dport=10080 packets=3 bytes=180 [UNREPLIED] src=192.168.1.51 dst=198.51.100.99 sport=8080 "
    "dport=40118 packets=0 bytes=0 mark=0 zone=0 use=2\n"
)


def open_view(page: Any, server: DevServer, name: str, **query: str) -> None:
    page.goto(server.page_url(name, **query))
    page.wait_for_selector("body[data-view-ready]")
    assert page.get_attribute("body", "data-view-ready") == "true", page.inner_text("#view")


def ubus(server: DevServer, obj: str, method: str, args: dict[str, Any]) -> Any:
    """A call in the pages' session (read and write access); dualnat's methods get the
    language argument the pages send ("" = English) unless `args` has one."""
    from devserver import SESSION

    if obj == "dualnat" and "lang" not in args:
        args = {**args, "lang": ""}
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "call", "params": [SESSION, obj, method, args]}
    )
    req = Request(f"{server.url}/ubus", data=body.encode(), method="POST")
    with urlopen(req, timeout=10) as r:
        return json.loads(r.read())["result"]


def sections(path: Path) -> dict[str, dict[str, Any]]:
    return {s.name or "": s.options for s in Document.parse(path.read_text()).sections()}


def staged(server: DevServer) -> dict[str, Any]:
    return ubus(server, "uci", "changes", {})[1]["changes"]


def cell(page: Any, sid: str, option: str) -> str:
    return page.locator(f'tr[data-sid="{sid}"] td[data-name="{option}"]').inner_text().strip()


def widget(page: Any, sid: str, option: str) -> Any:
    return page.locator(f'#modal_overlay [id="widget.cbid.dualnat.{sid}.{option}"]')


def add_forward(page: Any, name: str) -> None:
    page.fill("input.cbi-section-create-name", name)
    page.click(".cbi-section-create .cbi-button-add")
    page.wait_for_selector("body.modal-overlay-active #modal_overlay .modal.cbi-modal .cbi-map")


def fill_forward(page: Any, name: str, port: str, address: str) -> None:
    """Add forward `name` with an external port and an internal address, press Save."""
    add_forward(page, name)
    widget(page, name, "external_port").fill(port)
    widget(page, name, "internal_ip").fill(address)
    modal_save(page)


def modal_save(page: Any) -> None:
    page.click("#modal_overlay .cbi-button-positive")


def test_the_forward_grid_shows_the_config(page: Any, server: DevServer, shots: Path) -> None:
    open_view(page, server, "forwards")
    rows = page.locator("tr.cbi-section-table-row[data-sid]")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.sid)") == [
        "nas_web",
        "game",
        "web",
        "office_ssh",
    ]
    assert cell(page, "nas_web", "external_port") == "8443"
    assert cell(page, "nas_web", "internal_ip") == "192.168.1.50:443"
    assert cell(page, "game", "proto") == "UDP"
    assert cell(page, "game", "internal_ip") == "192.168.1.60:27015-27020"
    assert cell(page, "game", "target_gateway") == "The main router"
    assert cell(page, "web", "hairpin") == "No"
    assert cell(page, "office_ssh", "allow_source") == "203.0.113.0/24"
    assert cell(page, "nas_web", "allow_source") == "anyone"
    enabled = page.locator('tr[data-sid] td[data-name="enabled"] input[type="checkbox"]')
    assert enabled.evaluate_all("bs => bs.map(b => b.checked)") == [True] * 4
    page.screenshot(path=str(shots / "forwards.png"), full_page=True)


PORT_REASON = "Expecting: valid port or port range (port1-port2)"


def test_a_bad_port_shows_why_below_the_field_and_nothing_is_saved(
    page: Any, server: DevServer
) -> None:
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    add_forward(page, "cam")
    field = widget(page, "cam", "external_port")
    field.fill("70000")
    # red, and the reason as text below the field, not only in its tooltip
    assert "cbi-input-invalid" in (field.get_attribute("class") or "")
    assert field.get_attribute("data-tooltip") == PORT_REASON
    reason = field_error(page, "external_port")
    assert reason.is_visible() and reason.inner_text() == PORT_REASON
    widget(page, "cam", "internal_ip").fill("192.168.1.80")
    modal_save(page)
    assert reason.is_visible() and reason.inner_text() == PORT_REASON  # still, after Save
    assert page.locator("body.modal-overlay-active").count() == 1
    # a value the field accepts takes the reason away, a new wrong one shows its own
    field.fill("8554")
    assert field_error(page, "external_port").count() == 0
    field.fill("")
    assert field_error(page, "external_port").inner_text() == "Expecting: non-empty value"
    page.click("#modal_overlay .modal .right .cbi-button:not(.cbi-button-positive)")  # Dismiss
    assert page.locator('tr[data-sid="cam"]').count() == 0
    assert (server.config / "dualnat").read_bytes() == before
    assert staged(server) == {}
    methods = ("check_forwards", "check_forward", "set_forward", "add", "set")  # refused first
    assert not [c for c in server.calls() if c["method"] in methods]


def test_backend_errors_appear_on_their_fields_and_nothing_is_saved(
    page: Any, server: DevServer, shots: Path
) -> None:
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    add_forward(page, "cam")
    widget(page, "cam", "description").fill("IP camera")
    widget(page, "cam", "external_port").fill("8443")  # nas_web has tcp/8443
    widget(page, "cam", "internal_ip").fill("192.168.1.80")
    modal_save(page)
    error = page.locator('#modal_overlay [data-name="external_port"] .dualnat-field-error')
    error.wait_for()
    assert "overlaps forward 'nas_web'" in error.inner_text()
    assert "cbi-input-invalid" in (
        widget(page, "cam", "external_port").get_attribute("class") or ""
    )
    page.screenshot(path=str(shots / "forward-error.png"), full_page=True)

    widget(page, "cam", "external_port").fill("8000-8010")
    widget(page, "cam", "internal_port").fill("9000-9002")
    modal_save(page)
    error = page.locator('#modal_overlay [data-name="internal_port"] .dualnat-field-error')
    error.wait_for()
    assert "must be the same length" in error.inner_text()
    assert (
        page.locator('#modal_overlay [data-name="external_port"] .dualnat-field-error').count() == 0
    )

    # the backend checked every forward (check_forwards answered with errors) and nothing
    # was written or staged
    checks = [c for c in server.calls() if c["method"] == "check_forwards"]
    assert len(checks) == 2
    assert list(checks[0]["args"]["forwards"]) == ["nas_web", "game", "web", "office_ssh", "cam"]
    assert checks[0]["args"]["forwards"]["web"] == {  # the saved forward, as the page reads it
        "enabled": True,
        "proto": "tcp",
        "external_port": "80",
        "internal_ip": "192.168.1.51",
        "internal_port": "8080",
        "target_gateway": "bypass",
        "keep_source_ip": "auto",
        "hairpin": False,
        "ipv6": True,
    }
    assert checks[0]["args"]["forwards"]["cam"] == {
        "enabled": True,
        "description": "IP camera",
        "proto": "tcp",
        "external_port": "8443",
        "internal_ip": "192.168.1.80",
        "target_gateway": "bypass",
        "keep_source_ip": "auto",
        "hairpin": True,
        "allow_source": [],
        "ipv6": True,
    }
    assert (server.config / "dualnat").read_bytes() == before
    assert staged(server) == {}
    assert not writes(server)


def writes(server: DevServer) -> list[dict[str, Any]]:
    """The calls of the backend's writing methods (the pages only check)."""
    return [
        c
        for c in server.calls()
        if c["object"] == "dualnat"
        and c["method"] in ("set_forward", "set_config", "delete_forward")
    ]


def test_a_checked_forward_is_staged_and_save_and_apply_loads_it(
    page: Any, server: DevServer
) -> None:
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    fill_forward(page, "cam", "8554", "192.168.1.80")
    page.wait_for_selector('tr[data-sid="cam"]')
    assert page.locator("body.modal-overlay-active").count() == 0
    assert cell(page, "cam", "internal_ip") == "192.168.1.80:8554"
    # staged only: the check wrote nothing (byte for byte), the change waits for Save & Apply
    [check] = [c for c in server.calls() if c["method"] == "check_forwards"]
    assert check["args"]["forwards"]["cam"]["external_port"] == "8554" and check["status"] == 0
    assert (server.config / "dualnat").read_bytes() == before
    assert not writes(server)
    assert "dualnat" in staged(server)
    page.wait_for_function("document.getElementById('dualnat-changes-indicator').dataset.count > 0")

    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status:has-text('Configuration changes applied.')")
    config = sections(server.config / "dualnat")
    assert config["cam"]["external_port"] == "8554"
    assert config["cam"]["internal_ip"] == "192.168.1.80"
    firewall = sections(server.config / "firewall")
    assert firewall["dualnat_cam_dnat"]["src_dport"] == "8554"  # procd's reload ran apply
    assert {"object": "procd", "method": "reload", "args": {"config": "dualnat"}, "status": 0} in (
        server.calls()
    )
    assert staged(server) == {}


def test_deleting_and_disabling_are_staged(page: Any, server: DevServer) -> None:
    open_view(page, server, "forwards")
    page.click('tr[data-sid="web"] .cbi-button-remove')
    page.wait_for_function("!document.querySelector('tr[data-sid=\"web\"]')")
    page.uncheck('tr[data-sid="game"] td[data-name="enabled"] input')
    page.click(".cbi-page-actions .cbi-button-save")
    page.wait_for_function("document.getElementById('dualnat-changes-indicator').dataset.count > 0")
    config = sections(server.config / "dualnat")
    assert "web" in config and "enabled" not in config["game"]  # not applied yet
    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status:has-text('Configuration changes applied.')")
    config = sections(server.config / "dualnat")
    assert "web" not in config and config["game"]["enabled"] == "0"


def staged_sections(server: DevServer) -> set[str]:
    """The sections the session's staged dualnat changes touch."""
    return {change[1] for change in staged(server).get("dualnat", [])}


def field_error(page: Any, option: str) -> Any:
    return page.locator(f'#modal_overlay [data-name="{option}"] .dualnat-field-error')


def test_a_port_staged_for_another_forward_is_refused(page: Any, server: DevServer) -> None:
    """The check sees the forwards staged in this session, not only the saved ones."""
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    fill_forward(page, "cam_a", "8554", "192.168.1.80")
    page.wait_for_selector('tr[data-sid="cam_a"]')
    assert staged_sections(server) == {"cam_a"}

    fill_forward(page, "cam_b", "8554", "192.168.1.81")  # cam_a's port, staged only
    error = field_error(page, "external_port")
    error.wait_for()
    assert "overlaps forward 'cam_a'" in error.inner_text()
    assert "cbi-input-invalid" in (
        widget(page, "cam_b", "external_port").get_attribute("class") or ""
    )
    assert page.locator("body.modal-overlay-active").count() == 1
    assert staged_sections(server) == {"cam_a"}  # nothing staged for cam_b
    last = [c for c in server.calls() if c["method"] == "check_forwards"][-1]
    assert list(last["args"]["forwards"])[-2:] == ["cam_a", "cam_b"]
    assert last["args"]["forwards"]["cam_a"]["external_port"] == "8554"

    widget(page, "cam_b", "external_port").fill("8555")
    modal_save(page)
    page.wait_for_selector('tr[data-sid="cam_b"]')
    assert page.locator("body.modal-overlay-active").count() == 0
    assert staged_sections(server) == {"cam_a", "cam_b"}
    assert (server.config / "dualnat").read_bytes() == before
    assert not writes(server)

    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status:has-text('Configuration changes applied.')")
    config = sections(server.config / "dualnat")
    assert config["cam_a"]["external_port"] == "8554"
    assert config["cam_b"]["external_port"] == "8555"
    firewall = sections(server.config / "firewall")
    assert firewall["dualnat_cam_b_dnat"]["src_dport"] == "8555"


def test_a_staged_deletion_frees_its_port(page: Any, server: DevServer) -> None:
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    page.click('tr[data-sid="nas_web"] .cbi-button-remove')
    page.wait_for_function("!document.querySelector('tr[data-sid=\"nas_web\"]')")
    assert staged_sections(server) == {"nas_web"}

    fill_forward(page, "cam", "8443", "192.168.1.80")  # nas_web's port, saved but deleted
    page.wait_for_selector('tr[data-sid="cam"]')
    assert page.locator("body.modal-overlay-active").count() == 0
    [check] = [c for c in server.calls() if c["method"] == "check_forwards"]
    assert list(check["args"]["forwards"]) == ["game", "web", "office_ssh", "cam"]
    assert check["status"] == 0
    assert staged_sections(server) == {"nas_web", "cam"}
    assert (server.config / "dualnat").read_bytes() == before

    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status:has-text('Configuration changes applied.')")
    config = sections(server.config / "dualnat")
    assert "nas_web" not in config and config["cam"]["external_port"] == "8443"


def test_a_problem_of_another_forward_is_named_in_the_dialog(page: Any, server: DevServer) -> None:
    """Moving nas_web onto web's port: the planner reports the clash on web (later in the
    file); the dialog names that forward."""
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    page.click('tr[data-sid="nas_web"] .cbi-button-edit')
    page.wait_for_selector("body.modal-overlay-active #modal_overlay .modal.cbi-modal .cbi-map")
    widget(page, "nas_web", "external_port").fill("80")
    modal_save(page)
    notice = page.locator("#modal_overlay .dualnat-modal-notice")
    notice.wait_for()
    assert "The forward cannot be saved:" in notice.inner_text()
    assert "Forward \"web\": external_port: 80 overlaps forward 'nas_web'" in notice.inner_text()
    assert field_error(page, "external_port").count() == 0
    assert staged(server) == {}
    assert (server.config / "dualnat").read_bytes() == before


def copy_texts(page: Any, selector: str) -> list[str]:
    """Click every copy button under `selector`; what each one put on the clipboard."""
    out = []
    buttons = page.locator(f"{selector} button.dualnat-copy")
    for i in range(buttons.count()):
        page.evaluate("window.__copied = []")
        buttons.nth(i).click()
        page.wait_for_function("window.__copied.length == 1")
        out.append(page.evaluate("window.__copied[0]"))
    return out


def test_main_router_steps_in_chinese_with_exact_copies(
    page: Any, server: DevServer, shots: Path
) -> None:
    open_view(page, server, "mainrouter")
    assert page.locator('.dualnat-instructions[data-lang="en"][data-vendor="ikuai"]').count() == 1
    page.select_option("#dualnat-lang", "zh")
    page.wait_for_selector('.dualnat-instructions[data-lang="zh"]')
    doc = ubus(server, "dualnat", "instructions", {"vendor": "", "lang": "zh", "format": ""})[1]
    assert page.inner_text(".dualnat-title") == doc["title"]
    titles = page.locator(".dualnat-section > h3").all_inner_texts()
    assert titles == [s["title"] for s in doc["sections"]]
    assert "端口转发" in titles
    assert re.search(r"[\u4e00-\u9fff]", page.inner_text(".dualnat-intro"))
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.screenshot(path=str(shots / "mainrouter-zh.png"))

    # every typed value has a copy button that copies exactly that value
    copied = 0
    for section in doc["sections"]:
        for step in section["steps"]:
            for f in step["fields"]:
                selector = f'[data-field-id="{f["id"]}"]'
                if f["copyable"]:
                    assert copy_texts(page, selector) == [f["value"]], f["id"]
                    assert page.evaluate("navigator.clipboard.readText()") == f["value"]
                    copied += 1
                else:
                    assert page.locator(f"{selector} button.dualnat-copy").count() == 0
    assert copied >= 10
    # and every step (a block) has one that copies the step with its values
    steps = page.locator(".dualnat-step")
    assert steps.count() == sum(len(s["steps"]) for s in doc["sections"])
    assert page.locator(".dualnat-step-head button.dualnat-copy").count() == steps.count()
    step = doc["sections"][1]["steps"][1]
    [block] = copy_texts(page, f'[data-step-id="{step["id"]}"] .dualnat-step-head')
    assert block.startswith(f"{step['number']}. {step['text']}\n")
    for f in step["fields"]:
        assert f"{f['label']}: {f['display']}" in block
    assert page.evaluate("navigator.clipboard.readText()") == block


def test_main_router_code_blocks_copy_exactly(page: Any, server: DevServer) -> None:
    open_view(page, server, "mainrouter", lang="ja")
    assert page.input_value("#dualnat-lang") == "ja"
    page.select_option("#dualnat-vendor", "openwrt")
    page.wait_for_selector('.dualnat-instructions[data-vendor="openwrt"]')
    doc = ubus(server, "dualnat", "instructions", {"vendor": "openwrt", "lang": "ja", "format": ""})
    codes = [
        (step["id"], step["code"]["text"])
        for section in doc[1]["sections"]
        for step in section["steps"]
        if step["code"]
    ]
    assert codes, "the OpenWrt steps have uci commands"
    for step_id, text in codes:
        assert copy_texts(page, f'[data-step-id="{step_id}"] .dualnat-code') == [text]
        shown = page.eval_on_selector(
            f'[data-step-id="{step_id}"] .dualnat-code pre', "e => e.textContent"
        )
        assert shown == text


def test_overview_shows_the_doctor_and_live_connections(
    page: Any, server: DevServer, shots: Path
) -> None:
    open_view(page, server, "overview", pollscale="0.1")
    nas_web = page.locator('#dualnat-doctor tr[data-forward="nas_web"]')
    finding = nas_web.locator('.dualnat-finding[data-code="forward.rules_missing"]')
    assert "Problem" in finding.inner_text()
    assert "dualnat's rules are not loaded" in finding.inner_text()
    assert "What to do:" in finding.inner_text()
    assert page.inner_text('#dualnat-status tr[data-row="bypass"]').endswith(
        "192.168.1.2 (br-lan, 192.168.1.0/24)"
    )
    assert "192.168.1.1 (iKuai)" in page.inner_text('#dualnat-status tr[data-row="main_router"]')
    assert "198.51.100.7" in page.inner_text('#dualnat-status tr[data-row="public"]')
    plan = page.locator('#dualnat-plan [data-forward="web"]')
    assert "tcp 192.168.1.2:10080 → 192.168.1.51:8080" in plan.inner_text()
    assert "tcp/80 is a service of the bypass router" in plan.inner_text()

    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-apply')  # Apply now
    page.wait_for_selector('#dualnat-doctor [data-code="forward.ok"]')
    firewall = page.locator('#dualnat-status tr[data-row="firewall"]')
    assert firewall.get_attribute("data-state") == "applied"
    assert "The firewall has the current rules: they are in /etc/config/firewall and loaded." in (
        firewall.inner_text()
    )

    # live connections: the poll picks up the new table by itself
    conn = (server.workdir / "proc" / "net" / "nf_conntrack").read_text()
    kept = "".join(ln for ln in conn.splitlines(keepends=True) if "dport=10080" not in ln)
    server.set_conntrack(kept + WEB_UNREPLIED)
    page.wait_for_selector(
        '#dualnat-connections tr[data-forward="web"] td[data-col="unreplied"]:text-is("2")'
    )
    web = page.locator('#dualnat-doctor tr[data-forward="web"]')
    web.locator(".dualnat-sev-error").first.wait_for()
    assert "forward.ok" not in web.inner_html()
    page.click(".alert-message .notification-close")  # the notice of "Apply now"
    page.screenshot(path=str(shots / "overview.png"), full_page=True)


def test_settings_are_checked_by_the_backend_before_they_are_staged(
    page: Any, server: DevServer, shots: Path
) -> None:
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "settings", lang="zh_Hans")
    assert page.inner_text("h2") == "双 NAT 设置"
    page.fill('[id="widget.cbid.dualnat.main.public_address"]', "not a host!")
    page.click(".cbi-page-actions .cbi-button-save")
    error = page.locator('[data-name="public_address"] .dualnat-field-error')
    error.wait_for()
    assert (server.config / "dualnat").read_bytes() == before
    assert staged(server) == {}
    page.screenshot(path=str(shots / "settings.png"), full_page=True)

    # a valid value: checked (nothing written, byte for byte), then staged by Save
    page.fill('[id="widget.cbid.dualnat.main.public_address"]', "auto")
    page.click(".cbi-page-actions .cbi-button-save")
    page.wait_for_function("document.getElementById('dualnat-changes-indicator').dataset.count > 0")
    checks = [c for c in server.calls() if c["method"] == "check_config"]
    assert len(checks) == 2 and checks[-1]["args"]["config"]["public_address"] == "auto"
    assert (server.config / "dualnat").read_bytes() == before
    assert not writes(server)
    assert staged(server)["dualnat"]

    page.click(".cbi-page-actions .cbi-button-apply")
    page.wait_for_selector("#applyreboot-status")
    page.wait_for_function(
        "document.getElementById('applyreboot-status').textContent.length > 0 && "
        "!document.getElementById('applyreboot-status').classList.contains('spinning')"
    )
    assert sections(server.config / "dualnat")["main"]["public_address"] == "auto"


def test_every_call_sends_all_declared_arguments(page: Any, server: DevServer) -> None:
    """python-ubus refuses a call that lacks a declared argument (status 2, as the fake
    bindings do): no page ever gets that answer."""
    for name in ("overview", "forwards", "mainrouter", "settings"):
        open_view(page, server, name)
    dualnat = [c for c in server.calls() if c["object"] == "dualnat"]
    assert {c["method"] for c in dualnat} >= {
        "status",
        "plan",
        "doctor",
        "get_config",
        "instructions",
    }
    assert [c for c in server.calls() if c["status"] != 0] == []


def test_enabling_a_forward_in_the_grid_is_checked_by_the_backend(
    page: Any, server: DevServer
) -> None:
    """A disabled forward may share a port; ticking it in the grid is refused on Save."""
    with (server.config / "dualnat").open("a") as f:
        f.write(
            "\nconfig forward 'dup'\n\toption enabled '0'\n\toption external_port '8443'\n"
            "\toption internal_ip '192.168.1.81'\n"
        )
    before = (server.config / "dualnat").read_bytes()
    open_view(page, server, "forwards")
    page.check('tr[data-sid="dup"] td[data-name="enabled"] input')
    page.click(".cbi-page-actions .cbi-button-save")
    notice = page.locator(".alert-message.danger")
    notice.wait_for()
    assert 'Forward "dup" cannot be enabled' in notice.inner_text()
    assert "overlaps forward 'nas_web'" in notice.inner_text()
    [check] = [c for c in server.calls() if c["method"] == "check_forwards"]
    assert check["args"]["forwards"]["dup"]["enabled"] is True  # as ticked, not as saved
    assert staged(server) == {}
    assert (server.config / "dualnat").read_bytes() == before
    assert not writes(server)


def test_finding_titles_are_translated(page: Any, server: DevServer) -> None:
    open_view(page, server, "overview", lang="zh_Hans")
    nas_web = page.locator('#dualnat-doctor tr[data-forward="nas_web"]')
    finding = nas_web.locator('.dualnat-finding[data-code="forward.rules_missing"]')
    assert "dualnat 的规则未加载" in finding.inner_text()


def test_finding_messages_are_translated(page: Any, server: DevServer) -> None:
    """The backend renders the message and the fix in the UI's language (the page sends
    it); the page shows them as they come, the English text does not show."""
    doctor = ubus(server, "dualnat", "doctor", {"lang": "zh"})[1]
    [data] = [
        f
        for f in doctor["findings"]
        if f["forward"] == "nas_web" and f["code"] == "forward.rules_missing"
    ]
    message, fix = data["message"], data["fix"]
    assert "旁路由上此转发所需的" in message and "{" not in message + fix
    english = ubus(server, "dualnat", "doctor", {})[1]
    [en] = [
        f for f in english["findings"] if f["forward"] == "nas_web" and f["code"] == data["code"]
    ]

    open_view(page, server, "overview", lang="zh_Hans")
    nas_web = page.locator('#dualnat-doctor tr[data-forward="nas_web"]')
    finding = nas_web.locator('.dualnat-finding[data-code="forward.rules_missing"]')
    paragraphs = finding.locator("p").all_inner_texts()
    assert paragraphs[0] == message
    assert paragraphs[1] == f"处理方法： {fix}"
    assert en["message"] not in finding.inner_text()


def test_finding_messages_rendered_in_english_are_the_backends(
    page: Any, server: DevServer
) -> None:
    """In English the page shows, word for word, the backend's text."""
    doctor = ubus(server, "dualnat", "doctor", {})[1]
    open_view(page, server, "overview")
    for data in doctor["findings"]:
        forward = data["forward"]
        where = f'tr[data-forward="{forward}"]' if forward else ""
        finding = page.locator(
            f'#dualnat-doctor {where} .dualnat-finding[data-code="{data["code"]}"]'
        )
        paragraphs = finding.first.locator("p").all_inner_texts()
        assert paragraphs[0] == data["message"]
        if data["fix"]:
            assert paragraphs[1] == f"What to do: {data['fix']}"


def test_plan_reasons_are_translated(page: Any, server: DevServer) -> None:
    """The plan's reasons come in the UI's language: the web forward's DNAT on its relay
    port (80 is a service of the bypass router) shows in Chinese, the English reason
    does not."""
    plan = ubus(server, "dualnat", "plan", {"lang": "zh"})[1]
    [data] = [
        i
        for i in plan["items"]
        if i["forward"] == "web" and i["kind"] == "dnat" and not i["hairpin"]
    ]
    assert [p["id"] for p in data["reason_parts"]] == ["plan.dnat", "plan.dnat.relay_service"]
    chinese = data["reason"]
    assert "是旁路由自身的服务" in chinese and "{" not in chinese
    english = ubus(server, "dualnat", "plan", {})[1]
    [en] = [i for i in english["items"] if i["reason_parts"] == data["reason_parts"]]

    open_view(page, server, "overview", lang="zh_Hans")
    reasons = page.locator(
        '#dualnat-plan .dualnat-plan-group[data-forward="web"] .dualnat-reason'
    ).all_inner_texts()
    assert chinese in reasons
    assert en["reason"] not in reasons


def test_plan_reasons_rendered_in_english_are_the_backends(page: Any, server: DevServer) -> None:
    """Without a translation the templates give back, word for word, the backend's reasons."""
    plan = ubus(server, "dualnat", "plan", {})[1]
    open_view(page, server, "overview")
    shown = page.locator("#dualnat-plan .dualnat-reason").all_inner_texts()
    assert shown == [i["reason"] for i in plan["items"]]


OPENCLASH = "config openclash 'config'\n\toption enable '1'\n\toption en_mode 'fake-ip'\n"


def test_overview_shows_the_proxy_found_and_what_dualnat_does(
    page: Any, server: DevServer, shots: Path
) -> None:
    """A transparent proxy on the router gets a row: its mode, that dualnat's entry in its
    settings is still to be applied (Apply now), then that forwards are kept away from it;
    PassWall 2 says what to do by hand; the plan lists the proxy item with its reason."""
    (server.config / "openclash").write_text(OPENCLASH)
    (server.config / "passwall2").write_text("config global\n\toption enabled '1'\n")
    open_view(page, server, "overview", pollscale="0.1")
    row = page.locator('#dualnat-status tr[data-row="proxy-openclash"]')
    assert row.get_attribute("data-state") == "pending"
    text = row.inner_text()
    assert "OpenClash (switched on, its rules are not loaded, TCP REDIRECT, UDP TPROXY, " in text
    assert "fake-ip DNS)" in text and "put that name into its fake-ip filter" in text
    manual = page.locator('#dualnat-status tr[data-row="proxy-passwall2"]')
    assert manual.get_attribute("data-state") == "manual"
    assert "a shunt rule with the IP 198.51.100.7/32" in manual.inner_text()
    group = page.locator('#dualnat-plan .dualnat-plan-group[data-forward=""]').inner_text()
    assert "Transparent proxy" in group
    assert "OpenClash: openclash.config.wan_ac_black_ips '198.51.100.7'" in group
    assert "on all its ports, not only the forwarded ones" in group

    row.locator(".cbi-button-apply").click()  # Apply now, in the proxy's row
    page.wait_for_selector('#dualnat-status tr[data-row="proxy-openclash"][data-state="applied"]')
    assert "list wan_ac_black_ips '198.51.100.7'" in (server.config / "openclash").read_text()
    row = page.locator('#dualnat-status tr[data-row="proxy-openclash"]')
    assert "Forwarded connections are kept away from it." in row.inner_text()
    row.locator("summary").click()
    assert "openclash.config.wan_ac_black_ips '198.51.100.7'" in row.inner_text()
    page.click(".alert-message .notification-close")  # the notice of "Apply now"
    row.screenshot(path=str(shots / "overview-proxy.png"))

    open_view(page, server, "overview", lang="zh_Hans")
    row = page.locator('#dualnat-status tr[data-row="proxy-openclash"]')
    assert "透明代理" in row.inner_text() and "转发的连接已绕过它。" in row.inner_text()
