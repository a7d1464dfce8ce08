"""The ubus object through the fake bindings: every method as LuCI calls it, and the
strict argument rules of python-ubus (as on the router: "Invalid argument", status 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fake_ubus
import pytest
from conftest import snapshot
from flask import Flask

from dualnat.ubus import adapter
from dualnat.ubus.methods import LANG, METHODS, SESSION

# what every call carries besides the method's own arguments: the session (uhttpd adds
# it) and the UI language (common.js adds it; "" = English)
SID = {SESSION: "f3c1d8e2a9b04c6e8d7f5a1b2c3d4e5f", LANG: ""}
NO_ARGS = ["status", "get_config", "plan", "doctor", "main_router_status", "main_router_push"]
# each method's own arguments, as the LuCI page sends them
ARGS: dict[str, dict[str, Any]] = {
    "check_config": {"config": {"main_router_vendor": "xiaomi", "public_address": "198.51.100.7"}},
    "check_forward": {
        "id": "cam",
        "forward": {"external_port": "8554", "internal_ip": "192.168.1.80", "hairpin": True},
    },
    # the whole set as the Forwards page sends it (uci sections, staged changes merged)
    "check_forwards": {
        "forwards": {
            "nas_web": {"external_port": "8443", "internal_ip": "192.168.1.50", "enabled": True},
            "cam": {"external_port": "8554", "internal_ip": "192.168.1.80", "hairpin": True},
        }
    },
    "instructions": {"vendor": "", "lang": "", "format": ""},
    "apply": {"dry_run": True},
    "revert": {"dry_run": True},
    "set_main_router_secret": {"kind": "openwrt", "secret": "a password"},
    # a live test: 0 seconds = the default (120); ubus makes a JS number INT32
    "test_start": {"id": "nas_web", "seconds": 0, "self_test": False},
    "test_poll": {"id": "nas_web"},
    "test_stop": {"id": "nas_web"},
}


@pytest.fixture
def ubus(app: Flask) -> Iterator[Any]:
    fake_ubus.connect(fake_ubus.LOCAL)
    adapter.register(fake_ubus, app)
    yield fake_ubus
    fake_ubus.disconnect()


def call(ubus: Any, method: str, args: dict[str, Any]) -> dict[str, Any]:
    [reply] = ubus.call("dualnat", method, args)
    return reply


def test_every_method_is_registered_with_the_session_argument(ubus: Any) -> None:
    methods = ubus.objects()["dualnat"]
    assert sorted(methods) == sorted(m.name for m in METHODS)
    assert len(methods) == 16
    for name, signature in methods.items():
        assert signature[SESSION] == ubus.BLOBMSG_TYPE_STRING, name
        assert signature[LANG] == ubus.BLOBMSG_TYPE_STRING, name
        assert set(signature) == {*SID, *ARGS.get(name, {})}
    assert methods["check_forward"] == {
        SESSION: ubus.BLOBMSG_TYPE_STRING,
        "id": ubus.BLOBMSG_TYPE_STRING,
        "forward": ubus.BLOBMSG_TYPE_TABLE,
        LANG: ubus.BLOBMSG_TYPE_STRING,
    }
    assert methods["check_config"] == {
        SESSION: ubus.BLOBMSG_TYPE_STRING,
        "config": ubus.BLOBMSG_TYPE_TABLE,
        LANG: ubus.BLOBMSG_TYPE_STRING,
    }
    assert methods["check_forwards"] == {
        SESSION: ubus.BLOBMSG_TYPE_STRING,
        "forwards": ubus.BLOBMSG_TYPE_TABLE,
        LANG: ubus.BLOBMSG_TYPE_STRING,
    }
    assert methods["apply"]["dry_run"] == ubus.BLOBMSG_TYPE_BOOL
    assert methods["test_start"]["seconds"] == ubus.BLOBMSG_TYPE_INT32


def test_sentences_come_back_in_the_language_asked_for(ubus: Any) -> None:
    en = call(ubus, "plan", dict(SID))
    zh = call(ubus, "plan", {**SID, LANG: "zh-cn"})
    assert en["items"][0]["reason"].startswith("Connections that the main router forwards")
    assert zh["items"][0]["reason"].startswith("主路由转发到")
    assert zh["items"][0]["reason_parts"] == en["items"][0]["reason_parts"]
    reply = call(ubus, "doctor", {**SID, LANG: "ja"})
    assert all(f["title"] and not f["title"].isascii() for f in reply["findings"])
    reply = call(ubus, "status", {**SID, LANG: "fr"})
    assert reply["status"] == 422 and "lang" in reply["errors"]


def test_methods_without_arguments_take_exactly_what_luci_sends(ubus: Any) -> None:
    assert sorted(NO_ARGS) == sorted(m.name for m in METHODS if not m.args)
    for name in NO_ARGS:
        reply = call(ubus, name, dict(SID))
        assert "errors" not in reply, (name, reply)


@pytest.mark.parametrize("method", [m.name for m in METHODS])
def test_the_luci_shaped_call_works(ubus: Any, method: str) -> None:
    reply = call(ubus, method, {**SID, **ARGS.get(method, {})})
    assert "errors" not in reply and "status" not in reply, reply


@pytest.mark.parametrize("method", [m.name for m in METHODS])
def test_a_missing_declared_argument_is_invalid(ubus: Any, method: str) -> None:
    with pytest.raises(RuntimeError, match=r"^ubus error occured: Invalid argument$") as exc:
        ubus.call("dualnat", method, dict(ARGS.get(method, {})))  # no ubus_rpc_session
    assert exc.value.status == 2
    for own in ARGS.get(method, {}):
        args = {**SID, **ARGS[method]}
        del args[own]
        with pytest.raises(RuntimeError, match="Invalid argument"):
            ubus.call("dualnat", method, args)


@pytest.mark.parametrize("method", [m.name for m in METHODS])
def test_an_undeclared_argument_is_invalid(ubus: Any, method: str) -> None:
    with pytest.raises(RuntimeError, match="Invalid argument") as exc:
        ubus.call("dualnat", method, {**SID, **ARGS.get(method, {}), "data": {}})
    assert exc.value.status == 2


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("apply", {"dry_run": 0}),  # an integer is INT32, not BOOL
        ("apply", {"dry_run": "true"}),
        ("check_forward", {"id": 7, "forward": {}}),
        ("check_forward", {"id": "cam", "forward": []}),  # ARRAY, not TABLE
        ("check_config", {"config": None}),  # UNSPEC
        ("check_forward", {"id": "cam", "forward": "x"}),
        ("check_config", {"config": []}),
        ("check_forwards", {"forwards": []}),  # ARRAY: a list of forwards is not the set
        ("check_forwards", {"forwards": "cam"}),
        ("plan", {LANG: 1}),
        ("check_forwards", {"forwards": None}),
        ("instructions", {"vendor": None, "lang": "", "format": ""}),
    ],
)
def test_a_wrong_blobmsg_type_is_invalid(ubus: Any, method: str, args: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="Invalid argument"):
        ubus.call("dualnat", method, {**SID, **args})


# the forwards of the fixture config as GET /forwards gives them, the body of a check
SAVED = {
    "nas_web": {"external_port": "8443", "internal_ip": "192.168.1.50", "internal_port": "443"},
    "game": {
        "proto": "udp",
        "external_port": "27015-27020",
        "internal_ip": "192.168.1.60",
        "target_gateway": "main",
    },
    "web": {"external_port": "80", "internal_ip": "192.168.1.51", "internal_port": "8080"},
    "office_ssh": {
        "external_port": "2222",
        "internal_ip": "192.168.1.70",
        "internal_port": "22",
        "allow_source": ["203.0.113.0/24"],
        "hairpin": False,
    },
}


def test_checks_answer_like_the_writes_and_write_nothing(ubus: Any, confdir: Path) -> None:
    before = snapshot(confdir)
    reply = call(ubus, "check_forward", {**SID, **ARGS["check_forward"]})
    assert reply["name"] == "cam" and reply["internal_port"] == "8554" and "status" not in reply
    reply = call(ubus, "check_config", {**SID, **ARGS["check_config"]})
    assert reply["main_router_vendor"] == "xiaomi" and "status" not in reply
    clash = {"external_port": "8443", "internal_ip": "192.168.1.80"}  # nas_web has tcp/8443
    reply = call(ubus, "check_forward", {**SID, "id": "cam", "forward": clash})
    assert reply["status"] == 422 and list(reply["errors"]) == ["external_port"]
    reply = call(ubus, "check_config", {**SID, "config": {"main_router_ip": "10.0.0.1"}})
    assert reply["status"] == 422 and list(reply["errors"]) == ["main_router_ip"]
    reply = call(ubus, "check_forward", {**SID, "id": "Cam", "forward": clash})
    assert reply["status"] == 400 and "errors" in reply
    assert snapshot(confdir) == before


def test_the_whole_set_is_checked_and_written_as_luci_sends_it(ubus: Any, confdir: Path) -> None:
    before = snapshot(confdir)
    forwards = call(ubus, "check_forwards", {**SID, "forwards": SAVED})["forwards"]
    staged = {f.pop("name"): f for f in forwards}  # the saved forwards ...
    del staged["game"]  # ... with a staged deletion
    staged["cam"] = {"external_port": "8554", "internal_ip": "192.168.1.80"}  # and two adds
    staged["cam2"] = {"external_port": "8554", "internal_ip": "192.168.1.81"}
    reply = call(ubus, "check_forwards", {**SID, "forwards": staged})
    assert reply["status"] == 422
    assert reply["errors"] == {
        "forwards.cam2.external_port": [
            "8554 overlaps forward 'cam' on tcp; two forwards cannot share a port"
        ]
    }
    assert snapshot(confdir) == before
    staged["cam2"]["external_port"] = "27018"  # game's udp range, free once game is gone
    staged["cam2"]["proto"] = "udp"
    reply = call(ubus, "check_forwards", {**SID, "forwards": staged})
    assert "status" not in reply
    names = ["nas_web", "web", "office_ssh", "cam", "cam2"]
    assert [f["name"] for f in reply["forwards"]] == names
    assert snapshot(confdir) == before


def test_an_invalid_forward_is_an_error_reply_and_changes_nothing(ubus: Any, confdir: Path) -> None:
    before = snapshot(confdir)
    reply = call(
        ubus,
        "check_forward",
        {**SID, "id": "cam", "forward": {"external_port": "80; rm -rf /", "internal_ip": "x"}},
    )
    assert reply["status"] == 422
    assert set(reply["errors"]) == {"external_port", "internal_ip"}
    assert snapshot(confdir) == before


@pytest.mark.parametrize("bad_id", ["../firewall", "a/b", "Cam", "x\ny", "", "a" * 40])
def test_a_hostile_id_is_an_error_reply(ubus: Any, confdir: Path, bad_id: str) -> None:
    before = snapshot(confdir)
    reply = call(
        ubus, "check_forward", {**SID, "id": bad_id, "forward": ARGS["check_forward"]["forward"]}
    )
    assert reply["status"] in (400, 404, 405) and "errors" in reply
    assert snapshot(confdir) == before


@pytest.mark.parametrize("method", ["check_forwards"])
@pytest.mark.parametrize("bad_id", ["../firewall", "Cam", "x\ny", "a'b", "nul\x00", "a" * 40])
def test_a_hostile_id_in_the_set_is_an_error_reply(
    ubus: Any, confdir: Path, method: str, bad_id: str
) -> None:
    before = snapshot(confdir)
    forward = {"external_port": "8554", "internal_ip": "192.168.1.80"}
    reply = call(ubus, method, {**SID, "forwards": {bad_id: forward}})
    assert reply["status"] == 422 and list(reply["errors"]) == ["forwards"]
    assert snapshot(confdir) == before


def test_instructions_as_text_are_an_object(ubus: Any) -> None:
    reply = call(ubus, "instructions", {**SID, "vendor": "xiaomi", "lang": "ja", "format": "text"})
    assert reply["format"] == "text" and reply["lang"] == "ja" and reply["text"]
    reply = call(ubus, "instructions", {**SID, "vendor": "cisco", "lang": "", "format": ""})
    assert reply["status"] == 422 and "vendor" in reply["errors"]


def test_a_malformed_config_is_an_error_reply_from_every_method(ubus: Any, confdir: Path) -> None:
    (confdir / "dualnat").write_text("config dualnat 'main\n")
    for method in METHODS:
        reply = call(ubus, method.name, {**SID, **ARGS.get(method.name, {})})
        if method.name == "status":
            assert reply["valid"] is False and "_config" in reply["problems"]
        elif method.name in ("revert", "set_main_router_secret"):  # they do not read it
            assert "errors" not in reply
        else:
            assert reply["status"] == 409 and "_config" in reply["errors"], method.name


def test_an_exception_becomes_an_error_reply(ubus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(adapter, "dispatch", boom)
    reply = call(ubus, "status", dict(SID))
    assert reply == {"errors": {"_server": ["internal error; see the system log"]}, "status": 500}


def test_a_reply_too_large_for_ubusd_is_an_error_reply(
    ubus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapter, "MAX_REPLY", 200)
    reply = call(ubus, "plan", dict(SID))
    assert reply["status"] == 413 and "_reply" in reply["errors"]


def test_load_binding_names_the_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(adapter.ENV_MODULE, raising=False)
    with pytest.raises(adapter.BindingMissing, match="python3-ubus"):
        adapter.load_binding("no_such_ubus_module")
    monkeypatch.setenv(adapter.ENV_MODULE, "fake_ubus")
    assert adapter.load_binding() is fake_ubus


# The fake must hold the same rules as the real bindings, or the tests above prove nothing.


def test_the_fake_types_json_values_like_blobmsg() -> None:
    t = fake_ubus.blob_type
    assert t(True) == fake_ubus.BLOBMSG_TYPE_BOOL == fake_ubus.BLOBMSG_TYPE_INT8
    assert t(1) == fake_ubus.BLOBMSG_TYPE_INT32
    assert t(2**40) == fake_ubus.BLOBMSG_TYPE_INT64
    assert t(1.5) == fake_ubus.BLOBMSG_TYPE_DOUBLE
    assert t("x") == fake_ubus.BLOBMSG_TYPE_STRING
    assert t({}) == fake_ubus.BLOBMSG_TYPE_TABLE
    assert t([]) == fake_ubus.BLOBMSG_TYPE_ARRAY
    assert t(None) == fake_ubus.BLOBMSG_TYPE_UNSPEC


def test_the_fake_checks_policies_strictly() -> None:
    sig = {"a": fake_ubus.BLOBMSG_TYPE_STRING, "b": fake_ubus.BLOBMSG_TYPE_UNSPEC}
    check = fake_ubus.test_policies
    assert check(sig, {"a": "x", "b": [1]})
    assert check(sig, {"a": "x", "b": None})  # UNSPEC accepts anything
    assert not check(sig, {"a": "x"})  # missing
    assert not check(sig, {"a": "x", "b": 1, "c": 1})  # undeclared
    assert not check(sig, {"a": 1, "b": 1})  # wrong type
    assert check({}, {})


def test_the_fake_refuses_what_the_real_bindings_refuse() -> None:
    fake_ubus.connect(fake_ubus.LOCAL)
    try:
        with pytest.raises(TypeError):
            fake_ubus.add("o", {"m": {"method": print, "signature": {}, "extra": 1}})
        with pytest.raises(TypeError):
            fake_ubus.add("o", {"m": {"method": "not callable", "signature": {}}})

        def replies_a_list(handler: Any, data: dict) -> None:
            handler.reply([1, 2])

        def raises(handler: Any, data: dict) -> None:
            raise ValueError

        fake_ubus.add(
            "o",
            {
                "list": {"method": replies_a_list, "signature": {}},
                "raise": {"method": raises, "signature": {}},
            },
        )
        with pytest.raises(RuntimeError, match="Unknown error"):
            fake_ubus.call("o", "list", {})  # TypeError in the callback: status 9
        with pytest.raises(RuntimeError, match="Unknown error"):
            fake_ubus.call("o", "raise", {})
        with pytest.raises(RuntimeError, match="Method not found"):
            fake_ubus.call("o", "nothing", {})
        with pytest.raises(RuntimeError, match="was not found"):
            fake_ubus.call("nothing", "m", {})
        with pytest.raises(RuntimeError, match="Already connected"):
            fake_ubus.connect(fake_ubus.LOCAL)
    finally:
        fake_ubus.disconnect()
    with pytest.raises(OSError):
        fake_ubus.connect("/nonexistent/ubus.sock")
