"""Writes: what reaches /etc/config/dualnat, and that the config is validated as a whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import snapshot
from flask.testing import FlaskClient

from dualnat.options import FORWARD_TYPE, OPTIONS
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


# PUT /forwards: the whole set of forwards, {"<id>": forward, ...}


def stored_set(client: FlaskClient) -> dict[str, dict]:
    """GET /forwards as the body of PUT /forwards."""
    return {f.pop("name"): f for f in client.get(f"{API}/forwards").get_json()["forwards"]}


UNRELATED = "\n# not a forward: stays as it is\n#config note 'keep'\n#\toption text 'x y'  # mine\n"


def test_a_section_dualnat_does_not_know_is_refused_like_the_cli_does(
    client: FlaskClient, confdir: Path
) -> None:
    """One reader: the API names the same problem as `dualnat check`, and writes nothing."""
    with (confdir / "dualnat").open("a") as f:
        f.write("\nconfig note 'keep'\n\toption text 'x y'\n")
    before = snapshot(confdir)
    r = client.get(f"{API}/forwards")
    assert r.status_code == 409
    [message] = r.get_json()["errors"]["_config"]
    assert message.startswith("unknown section type 'note'")
    r = client.put(f"{API}/config", json={"main_router_vendor": "xiaomi"})
    assert r.status_code == 422 and "_config" in r.get_json()["errors"]
    assert snapshot(confdir) == before


def test_put_forwards_replaces_the_set_and_keeps_everything_else(
    client: FlaskClient, confdir: Path
) -> None:
    with (confdir / "dualnat").open("a") as f:
        f.write(UNRELATED)
    before = (confdir / "dualnat").read_text()
    forwards = stored_set(client)
    del forwards["game"]  # removed from the set: deleted
    forwards["cam"] = {"external_port": 8554, "internal_ip": "192.168.1.80"}  # new
    forwards["web"]["description"] = "web server"  # changed
    r = client.put(f"{API}/forwards", json=forwards)
    assert r.status_code == 200, r.get_json()
    names = ["nas_web", "web", "office_ssh", "cam"]
    assert [f["name"] for f in r.get_json()["forwards"]] == names
    assert r.get_json() == client.get(f"{API}/forwards").get_json()
    text = (confdir / "dualnat").read_text()
    doc = dualnat(confdir)
    assert [(s.type, s.name) for s in doc.sections()] == [
        ("dualnat", "main"),
        ("forward", "nas_web"),
        ("forward", "web"),
        ("forward", "office_ssh"),
        ("forward", "cam"),
    ]
    # the settings, nas_web (already as given) and the comments: byte for byte
    head = before[: before.index("# A game server")]
    assert text.startswith(head)
    assert UNRELATED in text
    for comment in [line for line in before.splitlines() if line.startswith("#")]:
        assert comment in text
    assert "config forward 'game'" not in text
    assert doc.section("web").options["description"] == "web server"
    assert doc.section("cam").options == {"external_port": "8554", "internal_ip": "192.168.1.80"}


def test_put_forwards_keeps_the_order_of_the_forwards_already_there(
    client: FlaskClient, confdir: Path
) -> None:
    forwards = stored_set(client)
    body = {"zz": {"external_port": 9001, "internal_ip": "192.168.1.80"}}
    body |= {name: forwards[name] for name in reversed(forwards)}
    body["aa"] = {"external_port": 9002, "internal_ip": "192.168.1.81"}
    r = client.put(f"{API}/forwards", json=body)
    assert r.status_code == 200, r.get_json()
    expected = ["nas_web", "game", "web", "office_ssh", "zz", "aa"]
    assert [f["name"] for f in r.get_json()["forwards"]] == expected
    assert [s.name for s in dualnat(confdir).sections_of_type("forward")] == expected


FLAGS = [name for name, o in OPTIONS[FORWARD_TYPE].items() if o.kind == "bool"]


def test_put_forwards_with_the_stored_options_changes_no_byte(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    body = {}
    for section in dualnat(confdir).sections_of_type("forward"):
        values: dict = dict(section.options)
        for flag in FLAGS:
            if flag in values:
                values[flag] = values[flag] == "1"
        body[section.name] = values
    r = client.put(f"{API}/forwards", json=body)
    assert r.status_code == 200, r.get_json()
    assert snapshot(confdir) == before


def test_an_empty_set_deletes_every_forward_and_nothing_else(
    client: FlaskClient, confdir: Path
) -> None:
    r = client.put(f"{API}/forwards", json={})
    assert r.status_code == 200 and r.get_json() == {"forwards": []}
    doc = dualnat(confdir)
    assert [s.name for s in doc.sections()] == ["main"]
    assert "# SSH to a workstation" in (confdir / "dualnat").read_text()  # comments stay


def test_an_overlap_inside_the_set_is_keyed_to_the_later_forward(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    forwards = stored_set(client)
    forwards["cam_a"] = {"external_port": 8080, "internal_ip": "192.168.1.80"}
    forwards["cam_b"] = {"external_port": "8000-8090", "internal_ip": "192.168.1.81"}
    for check in ("?check=1", ""):
        r = client.put(f"{API}/forwards{check}", json=forwards)
        assert r.status_code == 422
        assert r.get_json() == {
            "errors": {
                "forwards.cam_b.external_port": [
                    "8000-8090 overlaps forward 'cam_a' on tcp; two forwards cannot share a port"
                ]
            }
        }
    assert snapshot(confdir) == before


def test_a_removed_forward_frees_its_port_for_the_set(client: FlaskClient, confdir: Path) -> None:
    forwards = stored_set(client)
    clash = {"external_port": 8443, "internal_ip": "192.168.1.80"}  # nas_web's port
    assert client.put(f"{API}/forwards?check=1", json={**forwards, "cam": clash}).status_code == 422
    del forwards["nas_web"]
    r = client.put(f"{API}/forwards?check=1", json={**forwards, "cam": clash})
    assert r.status_code == 200, r.get_json()


def test_a_check_of_the_set_answers_like_the_write_and_writes_nothing(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    forwards = stored_set(client)
    del forwards["web"]
    forwards["cam"] = {"external_port": 8554, "internal_ip": "192.168.1.80"}
    r = client.put(f"{API}/forwards?check=1", json=forwards)
    assert r.status_code == 200
    assert [f["name"] for f in r.get_json()["forwards"]] == ["nas_web", "game", "office_ssh", "cam"]
    assert snapshot(confdir) == before
    assert client.put(f"{API}/forwards", json=forwards).get_json() == r.get_json()
    assert snapshot(confdir) != before


def test_errors_in_the_set_name_the_forward_and_its_field(
    client: FlaskClient, confdir: Path
) -> None:
    before = snapshot(confdir)
    forwards = stored_set(client)
    forwards["web"]["external_port"] = "80; reboot"
    forwards["game"]["target"] = "ACCEPT"
    forwards["cam"] = {"name": "other", "external_port": 8554, "internal_ip": "192.168.1.80"}
    forwards["cam2"] = {"external_port": 8555}
    forwards["cam3"] = ["not", "an", "object"]
    forwards["main"] = {"external_port": 8556, "internal_ip": "192.168.1.80"}
    for check in ("?check=1", ""):
        r = client.put(f"{API}/forwards{check}", json=forwards)
        assert r.status_code == 422
        errors = r.get_json()["errors"]
        assert set(errors) == {
            "forwards.web.external_port",
            "forwards.game.target",
            "forwards.cam.name",
            "forwards.cam2.internal_ip",
            "forwards.cam3._schema",
        }
        assert errors["forwards.game.target"] == ["Unknown field."]
        assert errors["forwards.cam.name"] == ["must be 'cam' (the id it is given under)"]
        assert errors["forwards.cam2.internal_ip"] == ["Missing data for required field."]
    del forwards["web"], forwards["game"], forwards["cam"], forwards["cam2"], forwards["cam3"]
    r = client.put(f"{API}/forwards", json=forwards)  # then the settings' section name
    assert r.status_code == 422
    assert r.get_json() == {
        "errors": {"forwards.main.name": ["a 'dualnat' section named 'main' already exists"]}
    }
    assert snapshot(confdir) == before


def test_a_problem_of_the_settings_is_keyed_by_its_place(
    client: FlaskClient, confdir: Path
) -> None:
    text = (confdir / "dualnat").read_text()
    (confdir / "dualnat").write_text(text.replace("'ikuai'", "'cisco'"))
    before = snapshot(confdir)
    r = client.put(f"{API}/forwards?check=1", json=stored_set_of(confdir))
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == ["config.main_router_vendor"]
    assert snapshot(confdir) == before


def stored_set_of(confdir: Path) -> dict[str, dict]:
    return {
        s.name: {
            "external_port": s.options["external_port"],
            "internal_ip": s.options["internal_ip"],
        }
        for s in dualnat(confdir).sections_of_type("forward")
        if s.name is not None
    }


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ([{"name": "cam", "external_port": 1, "internal_ip": "192.168.1.80"}], "_schema"),
        ("cam", "_schema"),
        (None, "_schema"),
        ({"cam'\nconfig rule 'x": NEW}, "forwards"),
        ({"cam\x00": NEW}, "forwards"),
        ({"Cam": NEW}, "forwards"),
        ({"": NEW}, "forwards"),
        ({"a" * 33: NEW}, "forwards"),
        (
            {
                f"f{i}": {"external_port": 10000 + i, "internal_ip": "192.168.1.80"}
                for i in range(1001)
            },
            "forwards",
        ),
        (
            {
                "cam": {
                    "external_port": 8554,
                    "internal_ip": "192.168.1.80",
                    "description": "a\x00b",
                }
            },
            "forwards.cam.description",
        ),
    ],
    ids=[
        "list",
        "string",
        "null",
        "id-quote-newline",
        "id-nul",
        "id-uppercase",
        "id-empty",
        "id-33",
        "1001",
        "nul-value",
    ],
)
def test_a_hostile_set_is_refused_and_changes_nothing(
    client: FlaskClient, confdir: Path, body: object, key: str
) -> None:
    before = snapshot(confdir)
    for check in ("?check=1", ""):
        data = json.dumps(body)
        r = client.put(f"{API}/forwards{check}", data=data, content_type="application/json")
        assert r.status_code == 422, r.get_json()
        errors = r.get_json()["errors"]
        assert list(errors) == [key]
        assert all(isinstance(m, str) and m for m in errors[key])
    assert snapshot(confdir) == before
    if key == "forwards" and isinstance(body, dict) and len(body) == 1:
        [message] = errors["forwards"]
        assert "\n" not in message and "\x00" not in message  # the id is shown escaped
        assert message.endswith("must be 1-32 characters a-z, 0-9 or _")


def test_a_thousand_forwards_are_accepted(client: FlaskClient, confdir: Path) -> None:
    body = {
        f"f{i}": {"external_port": 10000 + i, "internal_ip": "192.168.1.80"} for i in range(1000)
    }
    r = client.put(f"{API}/forwards", json=body)
    assert r.status_code == 200, r.get_json()
    assert len(r.get_json()["forwards"]) == 1000
    assert len(dualnat(confdir).sections_of_type("forward")) == 1000


def test_checks_answer_each_body_by_its_own_json_types(client: FlaskClient) -> None:
    """The forwards LuCI sent before are not loaded again; a value of another JSON type
    (1, true, "1") is another body, in whichever order they come."""

    def check(value: object) -> int:
        body = {"cam": {"external_port": value, "internal_ip": "192.168.1.80"}}
        return client.put(f"{API}/forwards?check=1", json=body).status_code

    for _ in range(2):
        assert [check(v) for v in (True, 8554, "8554", True)] == [422, 200, 200, 422]
        assert [check(v) for v in ("8554", True, 8554)] == [200, 422, 200]


def test_a_check_sees_the_change_of_one_forward_among_many(
    client: FlaskClient, confdir: Path
) -> None:
    """LuCI's steady state: the same thousand forwards checked again, one of them edited;
    every check answers for what it was sent."""
    body = {
        f"f{i}": {"external_port": 10000 + i, "internal_ip": "192.168.1.80"} for i in range(1000)
    }
    assert client.put(f"{API}/forwards", json=body).status_code == 200
    for _ in range(2):
        r = client.put(f"{API}/forwards?check=1", json=body)
        assert r.status_code == 200 and len(r.get_json()["forwards"]) == 1000
        clash = {**body, "f7": {"external_port": 10003, "internal_ip": "192.168.1.80"}}
        r = client.put(f"{API}/forwards?check=1", json=clash)
        assert r.status_code == 422
        assert list(r.get_json()["errors"]) == ["forwards.f7.external_port"]
        moved = {**body, "f7": {"external_port": 20007, "internal_ip": "192.168.1.80"}}
        r = client.put(f"{API}/forwards?check=1", json=moved)
        assert r.status_code == 200
        assert r.get_json()["forwards"][7]["external_port"] == "20007"
