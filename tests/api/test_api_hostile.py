"""A corpus of malformed and hostile requests: every one gets a JSON field error and
leaves every file of the config folder as it was, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import snapshot
from flask.testing import FlaskClient

API = "/api/v1"
FWD = {"name": "cam", "external_port": "8554", "internal_ip": "192.168.1.80"}


def fwd(**changes: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "/forwards", "json": {**FWD, **changes}}


def put_config(**values: Any) -> dict[str, Any]:
    return {"method": "PUT", "path": "/config", "json": values}


def put_set(forwards: Any) -> dict[str, Any]:
    """PUT /forwards: the whole set, {"<id>": forward, ...}."""
    return {"method": "PUT", "path": "/forwards", "json": forwards}


def raw(data: bytes | str, content_type: str = "application/json") -> dict[str, Any]:
    return {"method": "POST", "path": "/forwards", "data": data, "content_type": content_type}


def get(path: str) -> dict[str, Any]:
    return {"method": "GET", "path": path}


# (id, request, expected status, key that must carry the error)
CASES: list[tuple[str, dict[str, Any], int, str]] = [
    # addresses
    ("ip-octet-300", fwd(internal_ip="192.168.1.300"), 422, "internal_ip"),
    ("ip-three-octets", fwd(internal_ip="192.168.1"), 422, "internal_ip"),
    ("ip-v6", fwd(internal_ip="::1"), 422, "internal_ip"),
    ("ip-with-prefix", fwd(internal_ip="192.168.1.80/24"), 422, "internal_ip"),
    ("ip-outside-lan", fwd(internal_ip="10.0.0.5"), 422, "internal_ip"),
    ("ip-bypass-itself", fwd(internal_ip="192.168.1.2"), 422, "internal_ip"),
    ("ip-main-router", fwd(internal_ip="192.168.1.1"), 422, "internal_ip"),
    ("ip-broadcast", fwd(internal_ip="192.168.1.255"), 422, "internal_ip"),
    ("source-bad-octet", fwd(allow_source=["300.1.1.1"]), 422, "allow_source"),
    ("source-prefix-33", fwd(allow_source=["1.2.3.4/33"]), 422, "allow_source"),
    # ports
    ("port-0", fwd(external_port=0), 422, "external_port"),
    ("port-65536", fwd(external_port=65536), 422, "external_port"),
    ("port-minus-1", fwd(external_port=-1), 422, "external_port"),
    ("port-minus-1-text", fwd(external_port="-1"), 422, "external_port"),
    ("port-shell", fwd(external_port="80; rm -rf /"), 422, "external_port"),
    ("port-subshell", fwd(external_port="$(reboot)"), 422, "external_port"),
    ("port-reversed-range", fwd(external_port="9000-8000"), 422, "external_port"),
    ("port-range-lengths", fwd(internal_port="1-3"), 422, "internal_port"),
    ("port-float", fwd(external_port=80.5), 422, "external_port"),
    ("port-bool", fwd(external_port=True), 422, "external_port"),
    ("port-empty", fwd(external_port=""), 422, "external_port"),
    ("port-long", fwd(external_port="8" * 100), 422, "external_port"),
    ("bypass-port-service", fwd(bypass_port="22"), 422, "bypass_port"),
    (
        "translated-range-too-long",
        fwd(external_port="1000-1300", internal_port="2000-2300"),
        422,
        "internal_port",
    ),
    # huge strings and lists
    ("description-129", fwd(description="x" * 129), 422, "description"),
    ("description-100k", fwd(description="x" * 100_000), 422, "description"),
    ("name-33", fwd(name="a" * 33), 422, "name"),
    ("sources-65", fwd(allow_source=["1.2.3.4"] * 65), 422, "allow_source"),
    ("sources-10000", fwd(allow_source=["1.2.3.4"] * 10_000), 422, "allow_source"),
    ("body-over-1mib", raw(json.dumps({**FWD, "description": "x" * (1 << 20)})), 413, "_body"),
    # UCI injection: quotes, newlines and NUL
    ("name-quote-newline", fwd(name="cam'\nconfig rule 'x"), 422, "name"),
    ("name-nul", fwd(name="cam\x00"), 422, "name"),
    ("name-newline", fwd(name="cam\n"), 422, "name"),
    ("name-uppercase", fwd(name="Cam"), 422, "name"),
    ("name-space", fwd(name="a b"), 422, "name"),
    ("name-empty", fwd(name=""), 422, "name"),
    ("name-path", fwd(name="../firewall"), 422, "name"),
    ("description-newline", fwd(description="x\nconfig redirect 'evil'"), 422, "description"),
    ("description-nul", fwd(description="nul\x00"), 422, "description"),
    (
        "ip-injection",
        fwd(internal_ip="192.168.1.80'\n\toption target 'ACCEPT"),
        422,
        "internal_ip",
    ),
    ("proto-newline", fwd(proto="tcp\n"), 422, "proto"),
    # unknown vendors and languages
    ("vendor-unknown", put_config(main_router_vendor="cisco"), 422, "main_router_vendor"),
    ("instructions-vendor", get("/instructions?vendor=cisco"), 422, "vendor"),
    ("instructions-lang", get("/instructions?lang=fr"), 422, "lang"),
    ("instructions-format", get("/instructions?format=pdf"), 422, "format"),
    ("instructions-twice", get("/instructions?vendor=ikuai&vendor=xiaomi"), 422, "vendor"),
    ("instructions-unknown", get("/instructions?colour=red"), 422, "colour"),
    # duplicate ids
    ("duplicate-forward", fwd(name="nas_web", external_port="9999"), 422, "name"),
    ("duplicate-settings-name", fwd(name="main"), 422, "name"),
    # overlapping ports
    ("overlap-same-port", fwd(external_port=8443), 422, "external_port"),
    ("overlap-inside-range", fwd(proto="udp", external_port=27018), 422, "external_port"),
    ("overlap-tcpudp-range", fwd(proto="tcpudp", external_port="2220-2230"), 422, "external_port"),
    # wrong types
    ("enabled-string", fwd(enabled="yes"), 422, "enabled"),
    ("enabled-int", fwd(enabled=1), 422, "enabled"),
    ("hairpin-null", fwd(hairpin=None), 422, "hairpin"),
    ("sources-string", fwd(allow_source="1.2.3.4"), 422, "allow_source"),
    ("ip-int", fwd(internal_ip=3232235856), 422, "internal_ip"),
    ("name-int", fwd(name=123), 422, "name"),
    ("proto-list", fwd(proto=["tcp"]), 422, "proto"),
    ("unknown-field", fwd(target="ACCEPT"), 422, "target"),
    (
        "missing-ip",
        {"method": "POST", "path": "/forwards", "json": {"name": "x", "external_port": 1}},
        422,
        "internal_ip",
    ),
    ("keep-source-main", fwd(target_gateway="main", keep_source_ip="yes"), 422, "keep_source_ip"),
    ("body-list", {"method": "POST", "path": "/forwards", "json": [FWD]}, 422, "_schema"),
    ("body-string", {"method": "POST", "path": "/forwards", "json": "cam"}, 422, "_schema"),
    # wrong content type, invalid JSON
    ("content-type-text", raw(json.dumps(FWD), "text/plain"), 400, "_body"),
    (
        "content-type-form",
        raw("name=cam&external_port=1", "application/x-www-form-urlencoded"),
        400,
        "_body",
    ),
    ("json-truncated", raw("{"), 400, "_body"),
    ("json-trailing-comma", raw('{"name": "cam",}'), 400, "_body"),
    ("json-nan", raw('{"name": "cam", "external_port": NaN}'), 400, "_body"),
    ("json-duplicate-key", raw('{"name": "cam", "name": "main"}'), 400, "_body"),
    ("json-not-utf8", raw(b'{"name": "\xff\xfe"}'), 400, "_body"),
    ("json-deep", raw("[" * 100_000 + "]" * 100_000), 400, "_body"),
    ("json-empty", raw(""), 400, "_body"),
    # settings
    ("public-private", put_config(public_address="192.168.1.1"), 422, "public_address"),
    ("public-cgnat", put_config(public_address="100.64.1.1"), 422, "public_address"),
    ("public-long", put_config(public_address="a" * 300), 422, "public_address"),
    ("public-not-a-name", put_config(public_address="bad name!"), 422, "public_address"),
    ("lan-interface-shell", put_config(lan_interface="lan; reboot"), 422, "lan_interface"),
    ("masquerade-word", put_config(masquerade="maybe"), 422, "masquerade"),
    ("redirects-string", put_config(disable_redirects="0"), 422, "disable_redirects"),
    ("dhcp-word", put_config(dhcp="both"), 422, "dhcp"),
    (
        "bypass-ip-is-a-device",
        put_config(bypass_ip="192.168.1.50"),
        422,
        "forwards.nas_web.internal_ip",
    ),
    ("settings-unknown", put_config(zone="wan"), 422, "zone"),
    # ids in the URL
    ("id-uppercase", {"method": "PUT", "path": "/forwards/BAD", "json": FWD}, 400, "id"),
    ("id-newline", {"method": "DELETE", "path": "/forwards/a%0Ab"}, 400, "id"),
    ("id-quote", {"method": "DELETE", "path": "/forwards/a'b"}, 400, "id"),
    ("id-33", {"method": "GET", "path": "/forwards/" + "a" * 33}, 400, "id"),
    ("id-missing", {"method": "DELETE", "path": "/forwards/nothere"}, 404, "id"),
    (
        "id-settings",
        {"method": "PUT", "path": "/forwards/main", "json": {**FWD, "name": "main"}},
        404,
        "id",
    ),
    # the whole set of forwards (PUT /forwards)
    ("set-list", put_set([FWD]), 422, "_schema"),
    ("set-string", put_set("cam"), 422, "_schema"),
    ("set-id-quote-newline", put_set({"cam'\nconfig rule 'x": FWD}), 422, "forwards"),
    ("set-id-nul", put_set({"cam\x00": FWD}), 422, "forwards"),
    ("set-id-path", put_set({"../firewall": FWD}), 422, "forwards"),
    (
        "set-1001",
        put_set(
            {f"f{i}": {**FWD, "name": f"f{i}", "external_port": 10000 + i} for i in range(1001)}
        ),
        422,
        "forwards",
    ),
    ("set-name-mismatch", put_set({"cam2": FWD}), 422, "forwards.cam2.name"),
    (
        "set-unknown-field",
        put_set({"cam": {**FWD, "target": "ACCEPT"}}),
        422,
        "forwards.cam.target",
    ),
    (
        "set-value-injection",
        put_set({"cam": {**FWD, "internal_ip": "192.168.1.80'\n\toption target 'ACCEPT"}}),
        422,
        "forwards.cam.internal_ip",
    ),
    (
        "set-overlap",
        put_set({"cam": FWD, "cam2": {**FWD, "name": "cam2", "internal_ip": "192.168.1.81"}}),
        422,
        "forwards.cam2.external_port",
    ),
    ("set-settings-name", put_set({"main": {**FWD, "name": "main"}}), 422, "forwards.main.name"),
    # apply and revert
    (
        "apply-dry-run-string",
        {"method": "POST", "path": "/apply", "json": {"dry_run": "yes"}},
        422,
        "dry_run",
    ),
    ("apply-unknown", {"method": "POST", "path": "/apply", "json": {"force": True}}, 422, "force"),
    (
        "revert-dry-run-int",
        {"method": "POST", "path": "/revert", "json": {"dry_run": 1}},
        422,
        "dry_run",
    ),
]


def test_the_corpus_is_large_and_unique() -> None:
    assert len(CASES) >= 50
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("request_", "status", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input_is_refused_and_changes_nothing(
    client: FlaskClient, confdir: Path, request_: dict[str, Any], status: int, key: str
) -> None:
    before = snapshot(confdir)
    req = dict(request_)
    r = client.open(API + req.pop("path"), **req)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert list(body) == ["errors"]
    assert key in body["errors"], body
    for messages in body["errors"].values():
        assert messages and all(isinstance(m, str) and m for m in messages)
    assert "Traceback" not in r.get_data(as_text=True)
    assert snapshot(confdir) == before
