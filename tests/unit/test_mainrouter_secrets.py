"""The secrets file: root-only modes, atomic replacement, read and written by name, and a
secret that never shows up in repr, str, format, errors or logs."""

from __future__ import annotations

import json
import logging
import os
import pickle
import stat
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import responses
from mainrouter_fakes import fwd

from dualnat.mainrouter.ikuai import IkuaiClient
from dualnat.mainrouter.openwrt import OpenWrtClient
from dualnat.mainrouter.opnsense import OpnsenseClient
from dualnat.mainrouter.push import push
from dualnat.mainrouter.secrets import Secret, SecretsError, SecretStore

VALUE = "Tr0ub4dor&3-horse"
ROUTER = IPv4Address("192.168.1.1")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_set_get_delete_with_root_only_modes(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "dualnat" / "secrets")
    assert store.get("main_router.password") is None
    store.set("main_router.password", VALUE)
    store.set("main_router.key", Secret("k"))
    assert mode(store.path) == 0o600 and mode(store.path.parent) == 0o700
    assert store.get("main_router.password").reveal() == VALUE  # type: ignore[union-attr]
    assert json.loads(store.path.read_text()) == {
        "main_router.key": "k",
        "main_router.password": VALUE,
    }
    assert store.status("main_router.password", "other") == {
        "main_router.password": True,
        "other": False,
    }
    assert store.delete("main_router.key") and not store.delete("main_router.key")
    store.set("main_router.password", "")  # empty: forget it
    assert not store.is_set("main_router.password")
    assert sorted(os.listdir(store.path.parent)) == ["secrets"]  # no temp files left


def test_a_loosened_file_is_made_root_only_again(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    store.set("a", VALUE)
    os.chmod(store.path, 0o644)
    assert store.get("a").reveal() == VALUE  # type: ignore[union-attr]
    assert mode(store.path) == 0o600


def test_errors_name_no_value(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    store.path.write_text('{"a": "' + VALUE + '", broken')
    with pytest.raises(SecretsError) as err:
        store.get("a")
    assert VALUE not in str(err.value) and VALUE not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(SecretsError, match="not a valid secret name"):
        SecretStore(tmp_path / "other").set("../x", VALUE)


def test_a_secret_never_shows_itself() -> None:
    secret = Secret(VALUE)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s:>40}",
        format(secret, ""),
    ]
    assert all(VALUE not in s for s in shown)
    assert VALUE not in repr([secret]) and VALUE not in repr({"pw": secret})
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.reveal() == VALUE


@responses.activate
def test_clients_never_log_or_return_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.add(
        responses.POST, "http://192.168.1.1/ubus", json={"jsonrpc": "2.0", "id": 1, "result": [6]}
    )
    responses.add(responses.POST, "https://192.168.1.1/api/firewall/d_nat/search_rule", status=401)
    responses.add(responses.POST, "http://192.168.1.1/Action/login", json={"Result": 10001})
    clients = [
        OpenWrtClient(ROUTER, "root", Secret(VALUE)),
        OpnsenseClient(ROUTER, "key", Secret(VALUE)),
        IkuaiClient(ROUTER, "admin", VALUE),
    ]
    for c in clients:
        report = push(c, [fwd("web", "9000")])
        assert not report.ok
        text = json.dumps(report.to_dict()) + repr(c) + str(c) + repr(vars(c))
        assert VALUE not in text
    assert VALUE not in caplog.text
