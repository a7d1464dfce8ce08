"""GET endpoints on a realistic config folder: shapes, values, and the formats offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dualnat.i18n.parts import PLACEHOLDER
from dualnat.reasons import TEMPLATES as REASONS

API = "/api/v1"


def test_status_summarises_a_valid_config(client: FlaskClient, confdir: Path) -> None:
    r = client.get(f"{API}/status")
    assert r.status_code == 200
    body = r.get_json()
    assert body["valid"] is True and body["problems"] == {}
    assert body["config_dir"] == str(confdir) and body["live"] is False
    assert body["forwards"] == {"total": 4, "enabled": 4}
    assert body["firewall"] == "pending"  # nothing applied yet
    assert body["public_address"] == {"mode": "fixed", "address": "198.51.100.7"}


def test_get_config_has_every_option_with_defaults(client: FlaskClient) -> None:
    r = client.get(f"{API}/config")
    assert r.status_code == 200
    assert r.get_json() == {
        "enabled": True,
        "lan_interface": "lan",
        "bypass_ip": None,
        "main_router_ip": None,
        "main_router_vendor": "ikuai",
        "public_address": "198.51.100.7",
        "masquerade": "auto",
        "disable_redirects": True,
        "firewall_drops_invalid": "auto",
        "dhcp": "auto",
        "dhcp_dns": True,
        "bypass_dhcp": False,
        "proxy_coexist": "auto",
        "main_router_control": "manual",
        "main_router_url": None,
        "main_router_user": None,
        "main_router_ca": None,
        "main_router_insecure": False,
        "main_router_lease": "3600",
    }


def test_forwards_use_the_option_names_of_the_config_file(client: FlaskClient) -> None:
    r = client.get(f"{API}/forwards")
    assert r.status_code == 200
    forwards = r.get_json()["forwards"]
    assert [f["name"] for f in forwards] == ["nas_web", "game", "web", "office_ssh"]
    ssh = forwards[3]
    assert ssh == {
        "name": "office_ssh",
        "enabled": True,
        "proto": "tcp",
        "external_port": "2222",
        "internal_ip": "192.168.1.70",
        "internal_port": "22",
        "target_gateway": "bypass",
        "keep_source_ip": "auto",
        "hairpin": False,
        "allow_source": ["203.0.113.0/24"],
        "bypass_port": None,
        "description": "",
        "ipv6": True,
        "ipv6_suffix": None,
    }
    assert forwards[1]["internal_port"] == "27015-27020"  # the default: external_port


def test_get_one_forward(client: FlaskClient) -> None:
    r = client.get(f"{API}/forwards/game")
    assert r.status_code == 200 and r.get_json()["proto"] == "udp"
    r = client.get(f"{API}/forwards/nothere")
    assert r.status_code == 404
    assert r.get_json() == {"errors": {"id": ["no forward named 'nothere'"]}}
    r = client.get(f"{API}/forwards/main")  # the settings section is no forward
    assert r.status_code == 404


def test_plan_and_main_router(client: FlaskClient) -> None:
    plan = client.get(f"{API}/plan").get_json()
    assert set(plan) == {
        "enabled", "network", "items", "main_router", "warnings", "warning_parts", "proxies"
    }  # fmt: skip
    assert plan["network"]["bypass_ip"] == "192.168.1.2"
    assert {i["kind"] for i in plan["items"]} >= {"dnat", "snat", "sysctl"}
    assert all(i["reason"] for i in plan["items"])
    for item in plan["items"]:  # the reason's parts, rendered, give the English reason
        parts = item["reason_parts"]
        assert (
            parts
            and " ".join(
                PLACEHOLDER.sub(lambda m, p=p: p["params"][m.group(1)], REASONS[p["id"]])
                for p in parts
            )
            == item["reason"]
        )
    mr = client.get(f"{API}/main-router").get_json()
    assert mr == plan["main_router"]
    web = next(f for f in mr["port_forwards"] if f["name"] == "web")
    assert web["internal_ip"] == "192.168.1.2" and web["internal_port"] == "10080"


def test_instructions_default_to_json_for_the_configured_vendor(client: FlaskClient) -> None:
    r = client.get(f"{API}/instructions")
    assert r.status_code == 200
    body = r.get_json()
    assert body["schema"] == 1 and body["lang"] == "en"
    assert body["vendor"]["id"] == "ikuai"
    assert body["sections"] and all(s["steps"] for s in body["sections"])


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_instructions_as_text_come_wrapped_in_an_object(client: FlaskClient, fmt: str) -> None:
    r = client.get(f"{API}/instructions?vendor=linksys&lang=zh_CN&format={fmt}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["format"] == fmt and body["lang"] == "zh" and body["vendor"] == "linksys"
    assert "192.168.1.2" in body["text"]


def test_empty_query_values_mean_the_defaults(client: FlaskClient) -> None:
    r = client.get(f"{API}/instructions?vendor=&lang=&format=")
    assert r.status_code == 200
    assert r.get_json()["vendor"]["id"] == "ikuai"


def test_doctor_reports_in_its_json_shape(client: FlaskClient) -> None:
    r = client.get(f"{API}/doctor")
    assert r.status_code == 200
    body = r.get_json()
    assert body["version"] == 1
    assert body["severity"] in {"ok", "info", "warning", "error"}
    assert set(body["forwards"]) == {"nas_web", "game", "web", "office_ssh"}
    # the injected machine: no /proc/sys values, no command to list rules with
    assert body["sysctls"] and set(body["sysctls"].values()) == {None}
    assert body["ruleset"] == "unknown"


def test_unknown_paths_and_methods_answer_json(client: FlaskClient) -> None:
    r = client.get(f"{API}/nothing")
    assert r.status_code == 404 and r.is_json
    assert r.get_json() == {"errors": {"_path": [f"no such endpoint: {API}/nothing"]}}
    r = client.delete(f"{API}/config")
    assert r.status_code == 405 and r.is_json
    assert "_method" in r.get_json()["errors"]
    r = client.get("/")
    assert r.status_code == 404 and r.is_json


def test_the_schemas_cover_every_option_of_the_model() -> None:
    """A new option in model.py must reach the API (schema, written options) too."""
    from dataclasses import fields

    from dualnat.api.schemas import ForwardSchema, SettingsSchema
    from dualnat.model import Forward, Settings
    from dualnat.writer import FORWARD_OPTIONS, SETTINGS_OPTIONS

    settings = [f.name for f in fields(Settings)]
    assert list(SettingsSchema().fields) == settings
    assert list(SETTINGS_OPTIONS) == settings
    forward = {f.name for f in fields(Forward)}
    assert set(ForwardSchema().fields) == forward
    assert set(FORWARD_OPTIONS) == forward - {"name"}
