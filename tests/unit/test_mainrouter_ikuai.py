"""The iKuai client against `responses`, with the login and dnat call shapes of the
third-party clients (no iKuai source is public)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import pytest
import requests
import responses
from mainrouter_fakes import fwd

from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.ikuai import IkuaiClient, login_body, parse_row
from dualnat.mainrouter.model import State
from dualnat.mainrouter.push import push

ROUTER = IPv4Address("192.168.1.1")
BASE = "http://192.168.1.1"
PASSWORD = "ikuai-Pa55"
USER_ROW = {
    "id": 7,
    "enabled": "yes",
    "comment": "NAS",
    "interface": "all",
    "lan_addr": "192.168.1.60",
    "lan_port": "80,443",
    "wan_port": "8080,8443",
    "protocol": "tcp",
    "src_addr": "",
}


@dataclass
class Ikuai:
    rows: list[dict[str, Any]] = field(default_factory=lambda: [dict(USER_ROW)])
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    logins: int = 0
    expire_once: bool = False
    next_id: int = 100

    def login(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        body = json.loads(request.body)  # type: ignore[arg-type]
        self.logins += 1
        if body != login_body("admin", PASSWORD):
            return 200, {}, json.dumps({"Result": 10001, "ErrMsg": "wrong password"})
        return 200, {"Set-Cookie": "sess_key=abc; path=/"}, json.dumps({"Result": 10000})

    def call(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        if "sess_key=abc" not in request.headers.get("Cookie", "") or self.expire_once:
            self.expire_once = False
            return 200, {}, json.dumps({"Result": 10014, "ErrMsg": "no login authentication"})
        body = json.loads(request.body)  # type: ignore[arg-type]
        assert body["func_name"] == "dnat"
        action, param = body["action"], body["param"]
        self.calls.append((action, param))
        data: Any = None
        if action == "show":
            first, count = (int(x) for x in param["limit"].split(","))
            assert param["TYPE"] == "total,data"
            data = {"total": len(self.rows), "data": self.rows[first : first + count]}
        elif action == "add":
            self.next_id += 1
            self.rows.append({**param, "id": self.next_id})
            data = {"RowId": self.next_id}
        elif action == "edit":
            self.rows = [dict(param) if str(r["id"]) == str(param["id"]) else r for r in self.rows]
        elif action == "del":
            self.rows = [r for r in self.rows if str(r["id"]) != str(param["id"])]
        return 200, {}, json.dumps({"Result": 30000, "ErrMsg": "Success", "Data": data})


@pytest.fixture
def ikuai() -> Iterator[Ikuai]:
    fake = Ikuai()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, BASE + "/Action/login", callback=fake.login)
        mock.add_callback(responses.POST, BASE + "/Action/call", callback=fake.call)
        yield fake


def client(password: str = PASSWORD) -> IkuaiClient:
    return IkuaiClient(ROUTER, "admin", password)


def test_login_body_hashes_the_password() -> None:
    body = login_body("admin", "pw")
    digest = hashlib.md5(b"pw").hexdigest()
    assert body["passwd"] == digest and "pw" not in body.values()
    assert base64.b64decode(body["pass"]).decode() == "salt_11" + digest


def test_a_row_with_port_lists_becomes_one_entry_per_port() -> None:
    a, b = parse_row(USER_ROW)
    assert (str(a.external), str(a.target), str(b.external), str(b.target)) == (
        "8080",
        "80",
        "8443",
        "443",
    )
    assert not a.ours and a.key == "7" and a.tag == "NAS"
    mine = parse_row(
        {
            **USER_ROW,
            "comment": "dualnat web",
            "protocol": "tcp+udp",
            "wan_port": "9000-9010",
            "lan_port": "9000-9010",
        }
    )
    assert mine[0].ours and mine[0].protocols == ("tcp", "udp")
    assert not parse_row({**USER_ROW, "enabled": "no"})[0].enabled


def test_push_add_edit_del_by_comment(ikuai: Ikuai) -> None:
    report = push(client(), [fwd("web", "9000", "tcpudp"), fwd("nas", "8443")])
    assert {o.forward: o.state for o in report.outcomes} == {
        "web": State.ADDED,
        "nas": State.FAILED,
    }
    add = next(p for a, p in ikuai.calls if a == "add")
    assert add == {
        "enabled": "yes",
        "comment": "dualnat web",
        "interface": "all",
        "lan_addr": "192.168.1.2",
        "protocol": "tcp+udp",
        "wan_port": "9000",
        "lan_port": "9000",
        "src_addr": "",
    }
    ikuai.calls.clear()
    report = push(client(), [fwd("web", "9001", "tcpudp")])
    assert [o.state for o in report.outcomes] == [State.UPDATED]
    (edit,) = [p for a, p in ikuai.calls if a == "edit"]
    assert edit["id"] == "101" and edit["wan_port"] == "9001"
    push(client(), [])
    assert [r["id"] for r in ikuai.rows] == [7]


def test_an_expired_session_logs_in_again(ikuai: Ikuai) -> None:
    c = client()
    c.login()
    ikuai.expire_once = True
    assert len(c.entries()) == 2 and ikuai.logins == 2


def test_a_wrong_password_is_manual_and_never_shown(ikuai: Ikuai) -> None:
    c = client(password="nope-n0pe")
    (web,) = push(c, [fwd("web", "9000")]).outcomes
    assert web.manual and "refused the user name 'admin'" in web.reason
    assert "nope-n0pe" not in web.reason + repr(c) + str(c)


def test_a_nonsense_answer_is_a_failure_and_the_wan_address_is_not_asked() -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, BASE + "/Action/login", json={"Result": 10000})
        mock.add(responses.POST, BASE + "/Action/call", json={"ErrMsg": "Success", "Data": []})
        (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED and "makes no sense" in web.reason
    with pytest.raises(RouterError) as err:
        client().external_address()
    assert err.value.code == "unsupported"
