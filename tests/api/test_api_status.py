"""GET /status: one state of the firewall rules, from the config written and the rules loaded.

The router here runs firewall4 (tests/api/fw4_ruleset.py): `nft list ruleset` shows what
firewall4 loaded from the dualnat sections of the firewall config, reloaded after every
write unless the test freezes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import no_commands, resolve
from flask.testing import FlaskClient
from fw4_ruleset import Firewall4

from dualnat.api import create_app
from dualnat.doctor import System
from dualnat.doctor.messages import TEMPLATES

API = "/api/v1"
FORWARDS = ["nas_web", "game", "web", "office_ssh"]


@pytest.fixture
def fw4(confdir: Path) -> Firewall4:
    return Firewall4(confdir)


@pytest.fixture
def client(confdir: Path, tmp_path: Path, fw4: Firewall4) -> FlaskClient:
    system = System(proc=tmp_path / "proc", run=fw4.run)
    return create_app(confdir, resolve=resolve, doctor_system=system).test_client()


def status(client: FlaskClient) -> dict[str, Any]:
    r = client.get(f"{API}/status")
    assert r.status_code == 200
    return r.get_json()


def doctor(client: FlaskClient) -> dict[str, Any]:
    r = client.get(f"{API}/doctor")
    assert r.status_code == 200
    return r.get_json()


def missing_forwards(findings: list[dict[str, Any]]) -> list[str]:
    return [f["forward"] for f in findings if f["code"] == "forward.rules_missing"]


def test_nothing_applied_is_pending_and_names_the_forwards_without_rules(
    client: FlaskClient,
) -> None:
    body = status(client)
    assert body["firewall"] == "pending" and body["ruleset"] == "fw4"
    assert missing_forwards(body["firewall_reason"]) == FORWARDS
    # the same findings the doctor reports (the doctor adds what the connections show)
    report = doctor(client)
    assert missing_forwards(report["findings"]) == FORWARDS


def test_config_written_and_rules_loaded_is_applied(client: FlaskClient) -> None:
    assert client.post(f"{API}/apply").status_code == 200
    body = status(client)
    assert body["firewall"] == "applied" and body["firewall_reason"] == []
    assert body["ruleset"] == "fw4"
    assert missing_forwards(doctor(client)["findings"]) == []


def test_config_written_but_firewall_not_reloaded_is_broken_with_the_doctors_reason(
    client: FlaskClient, fw4: Firewall4
) -> None:
    fw4.freeze()  # the firewall keeps the rules it has now (none of dualnat's)
    assert client.post(f"{API}/apply").status_code == 200
    body = status(client)
    assert body["firewall"] == "broken"
    reason = body["firewall_reason"]
    assert missing_forwards(reason) == FORWARDS
    finding = reason[0]
    assert finding["severity"] == "error" and finding["title"] == "dualnat's rules are not loaded"
    assert [p["id"] for p in finding["message_parts"]] == ["forward.rules_missing.none.other"]
    assert finding["message_parts"][0]["params"]["kind"] == "fw4"
    assert [p["id"] for p in finding["fix_parts"]] == ["reload.fw4"]
    assert finding["fix"] == TEMPLATES["reload.fw4"]
    # the doctor says the same about the same forwards
    assert missing_forwards(doctor(client)["findings"]) == FORWARDS

    fw4.thaw()  # /etc/init.d/firewall reload
    assert status(client)["firewall"] == "applied"


def test_rules_firewall4_skipped_make_it_broken_for_that_forward_only(
    client: FlaskClient, fw4: Firewall4
) -> None:
    assert client.post(f"{API}/apply").status_code == 200
    fw4.skipped = {"dualnat_game_dnat"}
    body = status(client)
    assert body["firewall"] == "broken"
    [finding] = body["firewall_reason"]
    assert finding["forward"] == "game" and finding["code"] == "forward.rules_missing"
    assert finding["message_parts"][0]["id"] == "forward.rules_missing.some"


def test_pending_wins_over_loaded_rules(client: FlaskClient, confdir: Path) -> None:
    """A forward added after the apply: its rules are neither written nor loaded, apply
    is what is needed."""
    assert client.post(f"{API}/apply").status_code == 200
    body = {"external_port": "8554", "internal_ip": "192.168.1.80"}
    assert client.put(f"{API}/forwards/cam", json=body).status_code == 201
    status_now = status(client)
    assert status_now["firewall"] == "pending"
    assert missing_forwards(status_now["firewall_reason"]) == ["cam"]


def test_rules_that_cannot_be_read_are_unknown(confdir: Path, tmp_path: Path) -> None:
    system = System(proc=tmp_path / "proc", run=no_commands)
    client = create_app(confdir, resolve=resolve, doctor_system=system).test_client()
    assert client.post(f"{API}/apply").status_code == 200  # written, nothing to check with
    body = status(client)
    assert body["firewall"] == "unknown" and body["ruleset"] == "unknown"
    assert [f["code"] for f in body["firewall_reason"]] == ["system.ruleset_unreadable"]


OPENCLASH = "config openclash 'config'\n\toption enable '1'\n\toption en_mode 'fake-ip'\n"


def test_a_transparent_proxy_is_listed_with_what_dualnat_does(
    client: FlaskClient, confdir: Path
) -> None:
    assert status(client)["proxies"] == []
    (confdir / "openclash").write_text(OPENCLASH)
    (confdir / "passwall2").write_text("config global\n\toption enabled '1'\n")
    body = status(client)
    oc, pw2 = body["proxies"]
    assert (oc["proxy"], oc["name"], oc["enabled"], oc["running"]) == (
        "openclash", "OpenClash", True, False
    )  # fmt: skip
    assert (oc["tcp"], oc["udp"], oc["fake_ip"]) == ("redirect", "tproxy", True)
    assert oc["state"] == "pending" and oc["missing"] == oc["entries"]
    assert oc["entries"][0]["option"] == "wan_ac_black_ips" and "OpenClash" in oc["reason"]
    assert any("fake-ip" in w for w in oc["warnings"])
    assert pw2["state"] == "manual" and "shunt rule" in pw2["warnings"][0]
    assert client.post(f"{API}/apply").status_code == 200
    oc, pw2 = status(client)["proxies"]
    assert oc["state"] == "applied" and oc["missing"] == []
    ja = client.get(f"{API}/status?lang=ja").get_json()["proxies"][0]
    assert "OpenClash が有効です" in ja["reason"]
    codes = [f["code"] for f in doctor(client)["findings"] if f["code"].startswith("proxy.")]
    assert codes == ["proxy.found", "proxy.found", "proxy.manual"]


def test_a_status_holds_the_first_findings_and_counts_the_rest(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LuCI polls the status: with many forwards not loaded it names the first ones and
    says how many more the doctor lists."""
    from dualnat.api.views import status as view

    monkeypatch.setattr(view, "REASON_LIMIT", 3)
    body = status(client)
    assert body["firewall"] == "pending"
    assert missing_forwards(body["firewall_reason"]) == FORWARDS[:3]
    assert body["firewall_reason_more"] == 1
    assert missing_forwards(doctor(client)["findings"]) == FORWARDS
    monkeypatch.setattr(view, "REASON_LIMIT", 20)
    body = status(client)
    assert missing_forwards(body["firewall_reason"]) == FORWARDS
    assert body["firewall_reason_more"] == 0
