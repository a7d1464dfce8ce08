"""The OPNsense client against `responses`: the d_nat API's request shapes (DNatController,
the DNat model), savepoint → apply → cancel_rollback, the fallback without savepoints,
and the refusal of versions without the API."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
import requests
import responses
from mainrouter_fakes import fwd

from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.model import State
from dualnat.mainrouter.opnsense import TOO_OLD, OpnsenseClient, parse_rule
from dualnat.mainrouter.push import push
from dualnat.model import PortRange
from dualnat.plan import Ipv6Advice, MainRouterPinhole

ROUTER = IPv4Address("192.168.1.1")
API = "https://192.168.1.1/api/"
KEY, SECRET = "k3y", "v3ry-s3cret"
USER = {
    "uuid": "u-1",
    "disabled": "0",
    "interface": "wan",
    "protocol": "tcp",
    "destination.network": "wanip",
    "destination.port": "8080",
    "target": "192.168.1.60",
    "local-port": "80",
    "descr": "NAS",
}
LOCKOUT = {"uuid": "lockout_0", "is_automatic": True, "interface": "lan", "protocol": "tcp"}


@dataclass
class Opnsense:
    rows: list[dict[str, Any]] = field(default_factory=lambda: [dict(LOCKOUT), dict(USER)])
    savepoints: bool = True
    paths: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    uuids: int = 0
    aliases: list[dict[str, Any]] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)
    refused: tuple[str, ...] = ()  # path prefixes the key has no privilege for (403)

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        auth = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
        if auth != f"{KEY}:{SECRET}":
            return 401, {}, json.dumps({"status": 401, "message": "Authentication Failed"})
        path = request.url.removeprefix(API)  # type: ignore[union-attr]
        if path.startswith(self.refused) and self.refused:
            return 403, {}, json.dumps({"status": 403, "message": "Forbidden"})
        body = json.loads(request.body or "{}")
        self.paths.append(path)
        self.bodies.append(body)
        status, answer = self.handle(path, body)
        return status, {}, json.dumps(answer)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        tables = {
            "firewall/alias/": ("alias", self.aliases),
            "firewall/filter/": ("rule", self.filters),
        }
        for prefix, (key, table) in tables.items():
            verb, _, uuid = path.removeprefix(prefix).partition("/")
            if not path.startswith(prefix) or verb not in (
                "search_item",
                "search_rule",
                "add_item",
                "add_rule",
                "set_item",
                "set_rule",
                "del_item",
                "del_rule",
            ):
                continue
            if verb.startswith("search"):
                return 200, {"rows": list(table), "rowCount": len(table), "total": len(table)}
            if verb.startswith("add"):
                self.uuids += 1
                table.append({"uuid": f"x-{self.uuids}", **body[key]})
                return 200, {"result": "saved", "uuid": f"x-{self.uuids}"}
            if verb.startswith("set"):
                table[:] = [{"uuid": uuid, **body[key]} if r["uuid"] == uuid else r for r in table]
                return 200, {"result": "saved"}
            table[:] = [r for r in table if r["uuid"] != uuid]
            return 200, {"result": "deleted"}
        if path in ("firewall/alias/reconfigure", "firewall/filter/apply"):
            return 200, {"status": "ok"}
        if path == "firewall/d_nat/search_rule":
            size, page = body["rowCount"], body["current"]
            chunk = self.rows[(page - 1) * size : page * size]
            return 200, {"rows": chunk, "rowCount": len(chunk), "total": len(self.rows)}
        if path == "firewall/d_nat/add_rule":
            rule = body["rule"]
            if rule["destination"]["port"] == "80":
                return 200, {
                    "result": "failed",
                    "validations": {"rule.destination.port": "reserved"},
                }
            self.uuids += 1
            self.rows.append(self.flat(f"d-{self.uuids}", rule))
            return 200, {"result": "saved", "uuid": f"d-{self.uuids}"}
        if path.startswith("firewall/d_nat/set_rule/"):
            uuid = path.rpartition("/")[2]
            self.rows = [
                self.flat(uuid, body["rule"]) if r["uuid"] == uuid else r for r in self.rows
            ]
            return 200, {"result": "saved"}
        if path.startswith("firewall/d_nat/del_rule/"):
            uuid = path.rpartition("/")[2]
            before = len(self.rows)
            self.rows = [r for r in self.rows if r["uuid"] != uuid]
            return 200, {"result": "deleted" if len(self.rows) < before else "not found"}
        if path == "firewall/filter/savepoint":
            if not self.savepoints:
                return 404, {"errorMessage": "Endpoint not found"}
            return 200, {"status": "ok", "retention": "60", "revision": "1765000000.1234"}
        if path in ("firewall/filter/apply/1765000000.1234", "firewall/d_nat/apply"):
            return 200, {"status": "OK\n\n"}
        if path == "firewall/filter/cancel_rollback/1765000000.1234":
            return 200, {"status": "ok"}
        raise AssertionError(path)

    @staticmethod
    def flat(uuid: str, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            "uuid": uuid,
            "disabled": rule["disabled"],
            "interface": rule["interface"],
            "protocol": rule["protocol"].lower(),
            "destination.network": rule["destination"]["network"],
            "destination.port": rule["destination"]["port"],
            "target": rule["target"],
            "local-port": rule["local-port"],
            "descr": rule["descr"],
        }


@pytest.fixture
def opn() -> Iterator[Opnsense]:
    fake = Opnsense()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(API + ".*"), callback=fake)
        yield fake


def client(secret: str = SECRET) -> OpnsenseClient:
    return OpnsenseClient(ROUTER, KEY, secret)


def test_rows_become_entries_on_the_wan_interface_only() -> None:
    user = parse_rule(USER, "wan")
    assert user and not user.ours and (str(user.external), str(user.target)) == ("8080", "80")
    rng = parse_rule({**USER, "destination.port": "8000:8010", "local-port": "9000"}, "wan")
    assert rng and (str(rng.external), str(rng.target)) == ("8000-8010", "9000-9010")
    both = parse_rule({**USER, "protocol": "tcp/udp", "descr": "dualnat web"}, "wan")
    assert both and both.ours and both.protocols == ("tcp", "udp")
    assert parse_rule(LOCKOUT, "wan") is None
    assert parse_rule({**USER, "interface": "opt1"}, "wan") is None
    assert parse_rule({**USER, "nordr": "1"}, "wan") is None
    assert not parse_rule({**USER, "disabled": "1"}, "wan").enabled  # type: ignore[union-attr]


def test_push_adds_rules_then_savepoint_apply_and_cancel_rollback(opn: Opnsense) -> None:
    c = client()
    report = push(c, [fwd("web", "9000-9001", "tcpudp", "9100-9101"), fwd("nas", "8080")])
    assert [(o.forward, o.state) for o in report.outcomes] == [
        ("web", State.ADDED),
        ("nas", State.FAILED),
    ]
    assert "'NAS' → 192.168.1.60:80" in report.outcomes[1].reason
    assert opn.paths == [
        "firewall/d_nat/search_rule",
        "firewall/alias/search_item",  # dualnat's IPv6 rules (none)
        "firewall/filter/search_rule",
        "firewall/d_nat/add_rule",
        "firewall/filter/savepoint",
        "firewall/filter/apply/1765000000.1234",
        "firewall/filter/cancel_rollback/1765000000.1234",
    ]
    assert opn.bodies[3] == {
        "rule": {
            "disabled": "0",
            "interface": "wan",
            "ipprotocol": "inet",
            "protocol": "TCP/UDP",
            "source": {"network": "any"},
            "destination": {"network": "wanip", "port": "9000-9001"},
            "target": "192.168.1.2",
            "local-port": "9100",
            "descr": "dualnat web",
            "pass": "pass",
        }
    }
    assert c.rollback_protected is True
    opn.paths.clear()
    again = push(client(), [fwd("web", "9000-9001", "tcpudp", "9100-9101")])
    assert [o.state for o in again.outcomes] == [State.IN_PLACE]
    assert opn.paths == [
        "firewall/d_nat/search_rule",
        "firewall/alias/search_item",
        "firewall/filter/search_rule",
    ]


def test_updates_and_deletes_use_the_rules_uuid_and_spare_the_users(opn: Opnsense) -> None:
    push(client(), [fwd("web", "9000"), fwd("old", "9001")])
    opn.paths.clear()
    report = push(client(), [fwd("web", "9002")])
    assert {o.forward: o.state for o in report.outcomes} == {
        "web": State.UPDATED,
        "old": State.REMOVED,
    }
    assert "firewall/d_nat/del_rule/d-2" in opn.paths and "firewall/d_nat/set_rule/d-1" in opn.paths
    assert not any(p.endswith("/u-1") for p in opn.paths)


def test_without_savepoints_a_plain_apply(opn: Opnsense) -> None:
    opn.savepoints = False
    c = client()
    assert push(c, [fwd("web", "9000")]).ok
    assert opn.paths[-2:] == ["firewall/filter/savepoint", "firewall/d_nat/apply"]
    assert c.rollback_protected is False


def test_a_range_to_one_port_is_refused_before_asking(opn: Opnsense) -> None:
    (rng,) = push(client(), [fwd("rng", "9000-9009", "tcp", "9100")]).outcomes
    assert rng.state is State.FAILED and rng.manual and "same size" in rng.reason
    assert "firewall/d_nat/add_rule" not in opn.paths


def test_a_refused_rule_names_the_field(opn: Opnsense) -> None:
    (http,) = push(client(), [fwd("http", "80")]).outcomes
    assert http.state is State.FAILED and "rule.destination.port: reserved" in http.reason


@responses.activate
def test_opnsense_without_the_port_forward_api_is_refused() -> None:
    responses.add(responses.POST, API + "firewall/d_nat/search_rule", status=404, json={})
    report = push(client(), [fwd("web", "9000"), fwd("ssh", "2222")])
    too_old = RouterError(TOO_OLD).reason
    assert [o.reason for o in report.outcomes] == [too_old, too_old]
    assert all(o.manual for o in report.outcomes) and "26.1" in too_old


def test_a_wrong_key_is_manual_and_never_shows_the_secret(opn: Opnsense) -> None:
    c = client(secret="not-the-secret-123")
    (web,) = push(c, [fwd("web", "9000")]).outcomes
    assert web.manual and "refused the API key" in web.reason
    assert "not-the-secret-123" not in web.reason + repr(c) + str(c)


@responses.activate
def test_a_nonsense_answer_is_a_failure_and_the_wan_address_is_not_asked() -> None:
    responses.add(responses.POST, API + "firewall/d_nat/search_rule", json={"rows": "x"})
    (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED and "makes no sense" in web.reason
    with pytest.raises(RouterError) as err:
        client().external_address()
    assert err.value.code == "unsupported"


NAS6 = MainRouterPinhole(
    "nas",
    "tcpudp",
    PortRange(9000, 9001),
    IPv4Address("192.168.1.50"),
    IPv6Address("::5054:ff:fe00:50"),
    (IPv6Address("2001:db8:1:1:5054:ff:fe00:50"),),
    True,
    "eui64",
)


def test_the_ipv6_pinhole_is_an_alias_and_a_pass_rule(opn: Opnsense) -> None:
    six = Ipv6Advice("main_router", (), None, (NAS6,))
    report = push(client(), [fwd("nas", "8443")], ipv6=six)
    assert [o.state for o in report.outcomes] == [State.ADDED]
    (alias,) = opn.aliases
    assert {k: alias[k] for k in ("name", "type", "interface", "content")} == {
        "name": "dualnat_nas",
        "type": "dynipv6host",
        "interface": "lan",
        "content": "::5054:ff:fe00:50",
    }
    (rule,) = opn.filters
    assert {k: rule[k] for k in ("interface", "direction", "ipprotocol", "protocol")} == {
        "interface": "wan",
        "direction": "in",
        "ipprotocol": "inet6",
        "protocol": "TCP/UDP",
    }
    assert (rule["destination_net"], rule["destination_port"]) == ("dualnat_nas", "9000-9001")
    assert "firewall/alias/reconfigure" in opn.paths
    assert opn.paths.index("firewall/alias/add_item") < opn.paths.index("firewall/filter/add_rule")
    again = push(client(), [fwd("nas", "8443")], ipv6=six)
    assert again.outcomes[0].state is State.IN_PLACE and not again.changed
    push(client(), [])  # removed: the rule first, then its alias
    assert opn.filters == [] and opn.aliases == []
    assert opn.paths.index("firewall/filter/del_rule/x-3") < opn.paths.index(
        "firewall/alias/del_item/x-2"
    )


def test_a_key_without_the_ipv6_privileges_says_so_and_the_port_forward_is_made(
    opn: Opnsense,
) -> None:
    """A key with only "Firewall: NAT": the port forward is added; the IPv6 rule fails
    naming the privileges it lacks, not the NAT one."""
    opn.refused = ("firewall/alias/", "firewall/filter/")
    six = Ipv6Advice("main_router", (), None, (NAS6,))
    report = push(client(), [fwd("nas", "8443")], ipv6=six)
    assert any(r.get("descr", "").startswith("dualnat") for r in opn.rows)
    (outcome,) = report.outcomes
    ids = [p.id for why in outcome.why for p in why.parts]
    assert "opnsense.no_privilege_ipv6" in ids and "opnsense.no_privilege" not in ids
