"""The overview's firewall row and its per-forward rows tell one story in each state.

applied: /etc/config/firewall has the planned sections and the rules are loaded;
pending: the config differs from the plan (Apply needed);
broken: the config has them but the firewall has not loaded them (here: not reloaded).
The header names the forwards whose rules are not loaded; the health check shows
forward.rules_missing for exactly those, and the live connections mark exactly those
(their connections were not forwarded by the current rules).
"""

from __future__ import annotations

from typing import Any

from conftest import DevServer
from test_views import open_view

FORWARDS = {"nas_web", "game", "web", "office_ssh"}

# One reading of the whole page (a poll redraws the parts together).
SNAPSHOT_JS = """
() => {
    const fw = document.querySelector('#dualnat-status tr[data-row="firewall"]');
    const names = (nodes, attr) => Array.from(nodes).map(n => n.getAttribute(attr));
    return {
        state: fw.getAttribute('data-state'),
        text: fw.innerText,
        header: names(fw.querySelectorAll('li[data-forward]'), 'data-forward'),
        buttons: fw.querySelectorAll('button:not(.dualnat-revert)').length,
        revert: fw.querySelectorAll('button.dualnat-revert').length,
        doctor: names(document.querySelectorAll(
            '#dualnat-doctor tr[data-forward]:has([data-code="forward.rules_missing"])'),
            'data-forward'),
        missing: names(document.querySelectorAll(
            '#dualnat-connections tr[data-rules="missing"]'), 'data-forward'),
        loaded: names(document.querySelectorAll(
            '#dualnat-connections tr[data-rules="loaded"]'), 'data-forward'),
        marked: names(Array.from(document.querySelectorAll(
            '#dualnat-connections tr[data-forward]')).filter(
            r => r.querySelector('.dualnat-stale')), 'data-forward'),
        note: !!document.querySelector('#dualnat-connections .dualnat-stale-note'),
        answered: Object.fromEntries(Array.from(document.querySelectorAll(
            '#dualnat-connections tr[data-forward]')).map(
            r => [r.dataset.forward, r.querySelector('[data-col="replied"]').innerText]))
    };
}
"""


def wait_state(page: Any, state: str) -> dict[str, Any]:
    page.wait_for_selector(f'#dualnat-status tr[data-row="firewall"][data-state="{state}"]')
    return page.evaluate(SNAPSHOT_JS)


def test_the_firewall_row_and_the_forward_rows_agree(page: Any, server: DevServer) -> None:
    open_view(page, server, "overview", pollscale="0.1")

    # pending (right after start, nothing applied): Apply is offered; every forward's rules
    # are missing, in the header, the health check and the live connections alike; the
    # connections the table already has for them were not forwarded by these rules
    now = page.evaluate(SNAPSHOT_JS)
    assert now["state"] == "pending" and now["buttons"] == 2
    assert "/etc/config/firewall differs from the plan" in now["text"]
    assert set(now["header"]) == set(now["doctor"]) == set(now["missing"]) == FORWARDS
    assert now["loaded"] == []
    answered = {k for k, v in now["answered"].items() if not v.startswith("0")}
    assert answered and set(now["marked"]) >= answered and now["note"]

    # broken: apply writes the config, but the firewall is not reloaded
    server.reload_firewall(False)
    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-apply')  # Apply now
    now = wait_state(page, "broken")
    assert now["buttons"] == 0
    assert "has the current rules, but the firewall has not loaded them all" in now["text"]
    assert "What to do: Run dualnat apply" in now["text"]
    assert "/etc/init.d/firewall reload" in now["text"]  # the doctor's fix, word for word
    assert set(now["header"]) == set(now["doctor"]) == set(now["missing"]) == FORWARDS
    assert set(now["marked"]) >= answered and now["note"]

    # applied: the firewall is reloaded; nothing is missing anywhere, nothing is marked
    server.reload_firewall(True)
    now = wait_state(page, "applied")
    assert "they are in /etc/config/firewall and loaded" in now["text"]
    assert now["header"] == now["doctor"] == now["missing"] == now["marked"] == []
    assert set(now["loaded"]) == FORWARDS and not now["note"]


def test_rules_the_firewall_skipped_break_only_their_forward(page: Any, server: DevServer) -> None:
    open_view(page, server, "overview", pollscale="0.1")
    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-apply')  # Apply now
    wait_state(page, "applied")
    # the firewall is reloaded without game's DNAT rule (as if fw4 had skipped it)
    server.skip_firewall_sections(["dualnat_game_dnat"])
    now = wait_state(page, "broken")
    assert now["header"] == now["doctor"] == now["missing"] == ["game"]
    assert set(now["loaded"]) == FORWARDS - {"game"}


def test_removing_the_rules_asks_first_and_brings_back_pending(
    page: Any, server: DevServer
) -> None:
    """Revert (a write) is offered where rules are written: it asks, then takes dualnat's
    sections out; the firewall row is back at pending."""
    open_view(page, server, "overview", pollscale="0.1")
    assert page.evaluate(SNAPSHOT_JS)["revert"] == 0  # pending: nothing to remove
    page.click('#dualnat-status tr[data-row="firewall"] .cbi-button-apply')  # Apply now
    now = wait_state(page, "applied")
    assert now["revert"] == 1
    page.click("#dualnat-status button.dualnat-revert")
    page.click(".modal button.cbi-button-negative")  # the confirmation
    now = wait_state(page, "pending")
    assert "dualnat_" not in (server.config / "firewall").read_text()


def test_many_forwards_without_rules_are_named_up_to_the_limit(
    page: Any, server: DevServer
) -> None:
    """The status holds the first 20 findings: the header names 20 forwards and says how
    many more the health check lists (it lists every one)."""
    extra = "".join(
        f"\nconfig forward 'extra{n}'\n\toption proto 'tcp'\n\toption external_port '{20000 + n}'\n"
        f"\toption internal_ip '192.168.1.{100 + n}'\n"
        for n in range(21)
    )
    with (server.config / "dualnat").open("a") as f:
        f.write(extra)
    open_view(page, server, "overview", pollscale="0.1")
    now = wait_state(page, "pending")
    assert len(now["header"]) == 20
    assert "… and 5 more: the health check below lists every one." in now["text"]
    assert set(now["doctor"]) == FORWARDS | {f"extra{n}" for n in range(21)}
