"""Failures that are not the request's fault: a malformed config, an unexpected exception,
a failed apply. Every one is answered with JSON, never an HTML page or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import snapshot
from flask import Flask
from flask.testing import FlaskClient

from dualnat.api import service as service_module

API = "/api/v1"
# every endpoint, with a body that would be valid
ENDPOINTS = [
    ("GET", "/config", None),
    ("PUT", "/config", {"main_router_vendor": "ikuai"}),
    ("GET", "/forwards", None),
    ("POST", "/forwards", {"name": "cam", "external_port": 8554, "internal_ip": "192.168.1.80"}),
    ("PUT", "/forwards", {"cam": {"external_port": 8554, "internal_ip": "192.168.1.80"}}),
    ("GET", "/forwards/nas_web", None),
    ("PUT", "/forwards/nas_web", {"external_port": 8443, "internal_ip": "192.168.1.50"}),
    ("DELETE", "/forwards/nas_web", None),
    ("GET", "/plan", None),
    ("GET", "/main-router", None),
    ("GET", "/instructions", None),
    ("POST", "/apply", {"dry_run": False}),
    ("GET", "/doctor", None),
]
UNTERMINATED = "config dualnat 'main'\n\toption enabled '1\n"


@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[e[1] + e[0] for e in ENDPOINTS]
)
def test_a_malformed_config_is_a_clear_error_everywhere(
    client: FlaskClient, confdir: Path, method: str, path: str, body: object
) -> None:
    (confdir / "dualnat").write_text(UNTERMINATED)
    before = snapshot(confdir)
    r = client.open(API + path, method=method, json=body)
    assert r.status_code == 409 and r.is_json
    [message] = r.get_json()["errors"]["_config"]
    assert f"{confdir / 'dualnat'}:2:" in message  # file and line
    assert snapshot(confdir) == before


def test_status_reports_a_malformed_config_without_failing(
    client: FlaskClient, confdir: Path
) -> None:
    (confdir / "dualnat").write_text(UNTERMINATED)
    r = client.get(f"{API}/status")
    assert r.status_code == 200
    body = r.get_json()
    assert body["valid"] is False and body["firewall"] == "unknown"
    assert list(body["problems"]) == ["_config"]


def test_invalid_values_on_disk_are_reported_by_place(client: FlaskClient, confdir: Path) -> None:
    text = (
        (confdir / "dualnat")
        .read_text()
        .replace("option internal_ip '192.168.1.60'", "option internal_ip 'nas'")
    )
    (confdir / "dualnat").write_text(text)
    expected = {"forwards.game.internal_ip": ["'nas' is not an IPv4 address"]}
    for path in ("/forwards", "/config", "/plan", "/main-router"):
        r = client.get(API + path)
        assert r.status_code == 409, path
        assert r.get_json() == {"errors": expected}
    status = client.get(f"{API}/status").get_json()
    assert status["valid"] is False and status["problems"] == expected


def test_a_write_that_fixes_the_broken_forward_is_accepted(
    client: FlaskClient, confdir: Path
) -> None:
    text = (
        (confdir / "dualnat")
        .read_text()
        .replace("option internal_ip '192.168.1.60'", "option internal_ip 'nas'")
    )
    (confdir / "dualnat").write_text(text)
    r = client.put(
        f"{API}/forwards/nas_web", json={"external_port": 8443, "internal_ip": "192.168.1.50"}
    )
    assert r.status_code == 422  # the config as a whole is still broken
    assert list(r.get_json()["errors"]) == ["forwards.game.internal_ip"]
    r = client.put(
        f"{API}/forwards/game",
        json={"proto": "udp", "external_port": "27015-27020", "internal_ip": "192.168.1.60"},
    )
    assert r.status_code == 200
    assert client.get(f"{API}/plan").status_code == 200


def test_an_unexpected_exception_is_a_json_500(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: object) -> None:
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(service_module.Service, "plan", boom)
    r = client.get(f"{API}/plan")
    assert r.status_code == 500 and r.is_json
    assert r.get_json() == {
        "errors": {"_server": ["internal error (ZeroDivisionError); see the system log"]}
    }
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and "secret detail" not in text and "<html" not in text.lower()


def test_an_unreadable_file_is_a_json_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: object) -> None:
        raise PermissionError(13, "Permission denied", "/etc/config/dualnat")

    monkeypatch.setattr(service_module.Service, "document", denied)
    r = client.get(f"{API}/config")
    assert r.status_code == 500
    assert r.get_json() == {"errors": {"_server": ["Permission denied: /etc/config/dualnat"]}}
