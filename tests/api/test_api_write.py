"""Writes: what reaches /etc/config/dualnat, and that the config is validated as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import snapshot
from flask.testing import FlaskClient

from dualnat.uci import Document

API = "/api/v1"
NEW = {"name": "cam", "external_port": 8554, "internal_ip": "192.168.1.80"}


def dualnat(confdir: Path) -> Document:
    return Document.parse((confdir / "dualnat").read_text())


def test_post_creates_a_named_section_and_keeps_the_rest(
    client: FlaskClient, confdir: Path
) -> None:
    before = (confdir / "dualnat").read_text()
    r = client.post(f"{API}/forwards", json={**NEW, "allow_source": ["198.51.100.0/24"]})
    assert r.status_code == 201
    assert r.headers["Location"] == f"{API}/forwards/cam"
    assert r.get_json()["internal_port"] == "8554"
    text = (confdir / "dualnat").read_text()
    assert text.startswith(before), "comments and other sections stay byte for byte"
    sec = dualnat(confdir).section("cam")
    assert sec is not None and sec.type == "forward"
    assert sec.options == {
        "external_port": "8554",
        "internal_ip": "192.168.1.80",
        "allow_source": ["198.51.100.0/24"],
    }
    assert client.get(f"{API}/forwards/cam").get_json() == r.get_json()


def test_booleans_are_written_as_1_and_0(client: FlaskClient, confdir: Path) -> None:
    r = client.post(f"{API}/forwards", json={**NEW, "enabled": False, "hairpin": True})
    assert r.status_code == 201
    sec = dualnat(confdir).section("cam")
    assert sec is not None and sec.options["enabled"] == "0" and sec.options["hairpin"] == "1"


def test_put_replaces_every_option_and_absent_ones_go_back_to_defaults(
    client: FlaskClient, confdir: Path
) -> None:
    r = client.put(
        f"{API}/forwards/office_ssh",
        json={"external_port": "2223", "internal_ip": "192.168.1.71", "description": 'it\'s "x"'},
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["allow_source"] == [] and body["hairpin"] is True  # defaults again
    assert body["description"] == 'it\'s "x"'
    sec = dualnat(confdir).section("office_ssh")
    assert sec is not None
    assert sec.options == {
        "external_port": "2223",
        "internal_ip": "192.168.1.71",
        "description": 'it\'s "x"',
    }
    assert "option description 'it'\\''s \"x\"'" in (confdir / "dualnat").read_text()


def test_put_creates_a_missing_forward(client: FlaskClient, confdir: Path) -> None:
    r = client.put(
        f"{API}/forwards/cam", json={"external_port": 8554, "internal_ip": "192.168.1.80"}
    )
    assert r.status_code == 201
    assert dualnat(confdir).section("cam") is not None


def test_put_cannot_rename(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    r = client.put(f"{API}/forwards/web", json={**NEW, "name": "other"})
    assert r.status_code == 422 and "name" in r.get_json()["errors"]
    assert snapshot(confdir) == before


def test_delete_removes_only_that_section(client: FlaskClient, confdir: Path) -> None:
    r = client.delete(f"{API}/forwards/game")
    assert r.status_code == 200 and r.get_json() == {"deleted": "game"}
    doc = dualnat(confdir)
    assert doc.section("game") is None
    assert [s.name for s in doc.sections()] == ["main", "nas_web", "web", "office_ssh"]
    assert client.delete(f"{API}/forwards/game").status_code == 404


def test_put_config_writes_the_settings(client: FlaskClient, confdir: Path) -> None:
    r = client.put(
        f"{API}/config",
        json={
            "main_router_vendor": "linksys",
            "masquerade": "on",
            "enabled": True,
            "public_address": "home.example.net",
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["main_router_vendor"] == "linksys"
    main = dualnat(confdir).section("main")
    assert main is not None
    assert main.options == {
        "enabled": "1",
        "main_router_vendor": "linksys",
        "public_address": "home.example.net",
        "masquerade": "on",
    }


def test_null_and_empty_clear_an_optional_setting(client: FlaskClient, confdir: Path) -> None:
    r = client.put(f"{API}/config", json={"public_address": None, "bypass_ip": ""})
    assert r.status_code == 200
    assert r.get_json()["public_address"] is None
    main = dualnat(confdir).section("main")
    assert main is not None and "public_address" not in main.options


def test_a_write_is_checked_against_the_other_forwards(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    r = client.put(
        f"{API}/forwards/web", json={"external_port": 8443, "internal_ip": "192.168.1.51"}
    )
    assert r.status_code == 422
    assert r.get_json() == {
        "errors": {
            "external_port": [
                "8443 overlaps forward 'nas_web' on tcp; two forwards cannot share a port"
            ]
        }
    }
    assert snapshot(confdir) == before


def test_a_problem_of_another_forward_is_keyed_by_its_place(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    # nas_web comes first in the file, so the planner reports the clash on web
    r = client.put(
        f"{API}/forwards/nas_web", json={"external_port": 80, "internal_ip": "192.168.1.9"}
    )
    assert r.status_code == 422
    assert r.get_json() == {
        "errors": {
            "forwards.web.external_port": [
                "80 overlaps forward 'nas_web' on tcp; two forwards cannot share a port"
            ]
        }
    }
    assert snapshot(confdir) == before


def test_settings_are_checked_against_the_network(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    # the main router has to be on the bypass router's LAN
    r = client.put(
        f"{API}/config", json={"bypass_ip": "192.168.1.250", "main_router_ip": "10.0.0.1"}
    )
    assert r.status_code == 422
    assert r.get_json() == {
        "errors": {"main_router_ip": ["10.0.0.1 is not inside the LAN 192.168.1.0/24"]}
    }
    assert snapshot(confdir) == before


def test_a_dns_name_that_is_private_is_refused(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    r = client.put(f"{API}/config", json={"public_address": "lan.example.net"})
    assert r.status_code == 422
    assert r.get_json() == {
        "errors": {
            "public_address": ["'lan.example.net' resolves to 10.0.0.5, which is not public"]
        }
    }
    assert snapshot(confdir) == before


def test_writing_a_config_that_does_not_exist_yet(client: FlaskClient, confdir: Path) -> None:
    (confdir / "dualnat").unlink()
    assert client.get(f"{API}/forwards").get_json() == {"forwards": []}
    r = client.put(f"{API}/config", json={"main_router_vendor": "xiaomi"})
    assert r.status_code == 200
    r = client.post(f"{API}/forwards", json=NEW)
    assert r.status_code == 201
    doc = dualnat(confdir)
    assert [(s.type, s.name) for s in doc.sections()] == [("dualnat", "main"), ("forward", "cam")]


def test_a_check_answers_like_the_write_and_writes_nothing(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    r = client.post(f"{API}/forwards?check=1", json=NEW)
    assert r.status_code == 200 and "Location" not in r.headers
    assert r.get_json()["name"] == "cam" and r.get_json()["internal_port"] == "8554"
    put = {"external_port": "2223", "internal_ip": "192.168.1.71"}
    r = client.put(f"{API}/forwards/office_ssh?check=1", json=put)
    assert r.status_code == 200 and r.get_json()["allow_source"] == []  # as PUT would store it
    assert client.put(f"{API}/forwards/cam?check=1", json=NEW).status_code == 200  # not 201
    r = client.put(f"{API}/config?check=1", json={"main_router_vendor": "linksys"})
    assert r.status_code == 200 and r.get_json()["main_router_vendor"] == "linksys"
    assert r.get_json()["public_address"] is None  # absent: back to the default
    assert snapshot(confdir) == before
    assert client.put(f"{API}/config", json={"main_router_vendor": "linksys"}).get_json() == (
        r.get_json()
    )


def test_a_check_refuses_what_the_write_refuses(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    clash = {"external_port": 80, "internal_ip": "192.168.1.9"}
    for check in ("?check=1", ""):
        r = client.put(f"{API}/forwards/nas_web{check}", json=clash)
        assert r.status_code == 422
        assert set(r.get_json()["errors"]) == {"forwards.web.external_port"}
        r = client.post(f"{API}/forwards{check}", json={**NEW, "name": "web"})
        assert r.status_code == 422 and "name" in r.get_json()["errors"]
        r = client.put(f"{API}/config{check}", json={"main_router_ip": "10.0.0.1"})
        assert r.status_code == 422 and "main_router_ip" in r.get_json()["errors"]
        r = client.put(f"{API}/config{check}", data="{", content_type="application/json")
        assert r.status_code == 400
    assert snapshot(confdir) == before


@pytest.mark.parametrize("query", ["check=yes", "check=true", "check=1&check=1", "dry_run=1"])
def test_only_check_1_or_0_is_understood(client: FlaskClient, confdir: Path, query: str) -> None:
    before = snapshot(confdir)
    r = client.put(f"{API}/config?{query}", json={"main_router_vendor": "linksys"})
    assert r.status_code == 422 and set(r.get_json()["errors"]) <= {"check", "dry_run"}
    assert snapshot(confdir) == before
    assert client.put(f"{API}/config?check=0", json={}).status_code == 200
    assert snapshot(confdir) != before  # check=0 is an ordinary write
