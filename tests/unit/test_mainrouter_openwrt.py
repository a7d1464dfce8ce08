"""The OpenWrt client against a fake rpcd behind `responses`, with the request and answer
shapes of openwrt/rpcd uci.c, session.c and uhttpd ubus.c."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
import requests
import responses
from mainrouter_fakes import fwd

from dualnat.mainrouter.model import State
from dualnat.mainrouter.openwrt import NULL_SESSION, OpenWrtClient, parse_redirect, section_name
from dualnat.mainrouter.push import push, remove
from dualnat.model import PortRange
from dualnat.plan import Ipv6Advice, MainRouterPinhole, main_router_part

ROUTER = IPv4Address("192.168.1.1")
URL = "http://192.168.1.1/ubus"
PASSWORD = "s3cret-Pa55"
USER_RULE = {
    ".name": "cfg0a1b",
    ".type": "redirect",
    "name": "NAS",
    "src": "wan",
    "src_dport": "8080",
    "dest": "lan",
    "dest_ip": "192.168.1.60",
    "dest_port": "80",
    "proto": "tcp",
    "target": "DNAT",
}


@dataclass
class Rpcd:
    """Enough of rpcd: login, uci get/add/set/delete in a session delta, apply with
    rollback, confirm."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    sid: str = "a" * 32
    apply_running: bool = False
    expire_once: bool = False
    denied: set[str] = field(default_factory=set)  # "object method" refused by the ACL
    pending: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        body = json.loads(request.body)  # type: ignore[arg-type]
        assert body["jsonrpc"] == "2.0" and body["method"] == "call"
        sid, obj, method, args = body["params"]
        self.calls.append((sid, obj, method, args))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": body["id"]}
        if obj == "session" and method == "login":
            assert sid == NULL_SESSION
            ok = args == {"username": "root", "password": PASSWORD}
            reply["result"] = [0, {"ubus_rpc_session": self.sid, "timeout": 300}] if ok else [6]
            return 200, {}, json.dumps(reply)
        if sid != self.sid or self.expire_once or f"{obj} {method}" in self.denied:
            self.expire_once = False
            reply["error"] = {"code": -32002, "message": "Access denied"}
            return 200, {}, json.dumps(reply)
        reply["result"] = self.handle(obj, method, args)
        return 200, {}, json.dumps(reply)

    def view(self) -> dict[str, dict[str, Any]]:
        merged = dict(self.sections)
        for name, values in self.pending.items():
            if values is None:
                merged.pop(name, None)
            else:
                merged[name] = {**merged.get(name, {}), **values}
        return merged

    def handle(self, obj: str, method: str, args: dict[str, Any]) -> list[Any]:
        if obj == "network.interface.wan" and method == "status":
            return [0, {"up": True, "ipv4-address": [{"address": "11.0.0.1", "mask": 24}]}]
        assert obj == "uci"
        if method == "get":
            assert set(args) == {"config", "type"} and args["config"] == "firewall"
            typed = {n: v for n, v in self.view().items() if v.get(".type") == args["type"]}
            return [0, {"values": typed}]
        if method == "add":
            name = args["name"]
            self.pending[name] = {".name": name, ".type": args["type"], **args["values"]}
            return [0, {"section": name}]
        if method == "set":
            if args["section"] not in self.view():
                return [4]
            self.pending[args["section"]] = args["values"]
            return [0]
        if method == "delete":
            self.pending[args["section"]] = None
            return [0]
        if method == "apply":
            if self.apply_running:
                return [6]
            if not self.pending:
                return [5]
            self.sections, self.pending = self.view(), {}
            self.apply_running = bool(args.get("rollback"))
            return [0]
        if method == "confirm":
            if not self.apply_running:
                return [5]
            self.apply_running = False
            return [0]
        raise AssertionError(method)

    def methods(self) -> list[str]:
        return [f"{o} {m}" for _, o, m, _ in self.calls]


@pytest.fixture
def rpcd() -> Iterator[Rpcd]:
    fake = Rpcd(sections={"cfg0a1b": dict(USER_RULE)})
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=fake)
        yield fake


def client(**kw: Any) -> OpenWrtClient:
    return OpenWrtClient(ROUTER, "root", PASSWORD, sleep=lambda s: None, **kw)


def test_parse_redirect_keeps_wan_port_forwards_only() -> None:
    entry = parse_redirect("cfg0a1b", USER_RULE, "wan")
    assert entry and not entry.ours and entry.tag == "NAS" and entry.key == "cfg0a1b"
    assert (entry.protocols, str(entry.external), str(entry.target)) == (("tcp",), "8080", "80")
    both = parse_redirect("dualnat_x", {**USER_RULE, "proto": ["tcp", "udp"]}, "wan")
    assert both and both.ours and both.protocols == ("tcp", "udp")
    assert parse_redirect("x", {**USER_RULE, "proto": "tcpudp"}, "wan").protocols == ("tcp", "udp")  # type: ignore[union-attr]
    assert parse_redirect("x", {**USER_RULE, "src": "lan"}, "wan") is None  # DNS hijack etc.
    assert parse_redirect("x", {**USER_RULE, "target": "SNAT"}, "wan") is None
    assert parse_redirect("x", {**USER_RULE, "proto": "icmp"}, "wan") is None
    every = parse_redirect("x", {k: v for k, v in USER_RULE.items() if k != "src_dport"}, "wan")
    assert every and str(every.external) == "1-65535"


def test_section_names_are_valid_and_unique() -> None:
    assert section_name("web") == "dualnat_web"
    assert section_name("my-web") != section_name("my_web")
    assert section_name("my-web").startswith("dualnat_my_web_")


def test_push_adds_named_sections_then_applies_with_rollback_and_confirms(rpcd: Rpcd) -> None:
    report = push(client(), [fwd("web", "9000"), fwd("game", "27015-27016", "tcpudp")])
    assert [o.state for o in report.outcomes] == [State.ADDED, State.ADDED]
    assert rpcd.methods() == [
        "session login",
        "uci get",  # the redirects
        "uci get",  # dualnat's IPv6 rules (none)
        "uci add",
        "uci add",
        "uci apply",
        "uci confirm",
    ]
    assert all(sid == rpcd.sid for sid, *_ in rpcd.calls[1:])
    add = rpcd.calls[4][3]
    assert add == {
        "config": "firewall",
        "type": "redirect",
        "name": "dualnat_game",
        "values": {
            "name": "dualnat game",
            "src": "wan",
            "src_dport": "27015-27016",
            "dest": "lan",
            "dest_ip": "192.168.1.2",
            "dest_port": "27015-27016",
            "proto": "tcp udp",
            "target": "DNAT",
            "family": "ipv4",
            "enabled": "1",
        },
    }
    assert rpcd.calls[5][3] == {"rollback": True, "timeout": 30}
    assert rpcd.sections["cfg0a1b"] == USER_RULE
    # again: nothing to change, nothing applied
    rpcd.calls.clear()
    again = push(client(), [fwd("web", "9000"), fwd("game", "27015-27016", "tcpudp")])
    assert [o.state for o in again.outcomes] == [State.IN_PLACE, State.IN_PLACE]
    assert rpcd.methods() == ["session login", "uci get", "uci get"]


def test_changes_and_removals_touch_dualnat_sections_only(rpcd: Rpcd) -> None:
    push(client(), [fwd("web", "9000"), fwd("old", "9001")])
    rpcd.calls.clear()
    report = push(client(), [fwd("web", "9100"), fwd("nas", "8080")])
    assert {o.forward: o.state for o in report.outcomes} == {
        "web": State.UPDATED,
        "nas": State.FAILED,
        "old": State.REMOVED,
    }
    assert "'NAS' → 192.168.1.60:80" in report.outcomes[1].reason
    touched = [a.get("section") for _, _, m, a in rpcd.calls if m in ("set", "delete")]
    assert touched == ["dualnat_old", "dualnat_web"]
    assert rpcd.sections["dualnat_web"]["src_dport"] == "9100"
    remove(client())
    assert list(rpcd.sections) == ["cfg0a1b"]


def test_a_pending_apply_on_the_router_fails_the_changed_forwards(rpcd: Rpcd) -> None:
    rpcd.apply_running = True
    (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED and "waiting for confirmation" in web.reason


def test_an_unconfirmed_apply_is_reported_as_rolling_back() -> None:
    rpcd = Rpcd()
    with responses.RequestsMock() as mock:
        confirm_fails = requests.exceptions.ConnectionError("connection reset")

        def route(request: requests.PreparedRequest) -> tuple[int, dict, str]:
            if json.loads(request.body)["params"][2] == "confirm":  # type: ignore[arg-type]
                raise confirm_fails
            return rpcd(request)

        mock.add_callback(responses.POST, URL, callback=route)
        (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED
    assert "undoes them by itself within 30 s" in web.reason
    assert rpcd.methods()[-1] == "uci apply" and rpcd.apply_running  # rpcd's timer runs


def test_an_expired_session_logs_in_again_once(rpcd: Rpcd) -> None:
    c = client()
    c.login()
    rpcd.expire_once = True
    assert len(c.entries()) == 1
    assert rpcd.methods() == ["session login", "uci get", "session login", "uci get"]


def test_acl_refusal_and_wrong_password_are_manual_and_name_no_secret(rpcd: Rpcd) -> None:
    rpcd.denied = {"uci add"}
    (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED and web.manual and "ACL" in web.reason
    bad = OpenWrtClient(ROUTER, "root", "wrong-password", sleep=lambda s: None)
    (out,) = push(bad, [fwd("web", "9000")]).outcomes
    assert out.manual and "refused the user name 'root'" in out.reason
    assert "wrong-password" not in out.reason and "wrong-password" not in repr(bad)


def test_external_address_from_the_wan_interface(rpcd: Rpcd) -> None:
    assert client().external_address() == IPv4Address("11.0.0.1")


@responses.activate
def test_an_unreachable_router_fails_each_forward() -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectTimeout("x"))
    report = push(client(timeout=3), [fwd("web", "9000"), fwd("ssh", "2222")])
    assert [o.reason for o in report.outcomes] == [
        "the main router at 192.168.1.1 did not answer within 3 s"
    ] * 2
    assert len(responses.calls) == 1  # asked once, not once per forward


@responses.activate
def test_a_nonsense_answer_is_a_failure_not_a_crash() -> None:
    login = {"jsonrpc": "2.0", "id": 1, "result": [0, {"ubus_rpc_session": "b" * 32}]}
    responses.add(responses.POST, URL, json=login)
    responses.add(responses.POST, URL, json={"jsonrpc": "2.0", "id": 2, "result": [0, "x"]})
    (web,) = push(client(), [fwd("web", "9000")]).outcomes
    assert web.state is State.FAILED and "makes no sense" in web.reason


def _ipv6(*pinholes: MainRouterPinhole) -> Ipv6Advice:
    return Ipv6Advice("main_router", (), None, pinholes)


NAS6 = MainRouterPinhole(
    "nas",
    "tcp",
    PortRange.single(443),
    IPv4Address("192.168.1.50"),
    IPv6Address("::5054:ff:fe00:50"),
    (IPv6Address("2001:db8:1:1:5054:ff:fe00:50"),),
    True,
    "eui64",
)


def test_the_ipv6_pinhole_is_a_suffix_rule_and_follows_the_plan(rpcd: Rpcd) -> None:
    report = push(client(), [fwd("nas", "8443")], ipv6=_ipv6(NAS6))
    assert [(o.forward, o.state) for o in report.outcomes] == [("nas", State.ADDED)]
    assert "IPv6 tcp 443" in report.outcomes[0].ports
    rule = rpcd.sections["dualnat6_nas"]
    assert rule == {
        ".name": "dualnat6_nas",
        ".type": "rule",
        "name": "dualnat nas",
        "src": "wan",
        "dest": "lan",
        "family": "ipv6",
        "proto": "tcp",
        "dest_ip": "::5054:ff:fe00:50/-64",
        "dest_port": "443",
        "target": "ACCEPT",
        "enabled": "1",
    }
    # in place: nothing written; an unstable device gets its address (one rule per address)
    again = push(client(), [fwd("nas", "8443")], ipv6=_ipv6(NAS6))
    assert again.outcomes[0].state is State.IN_PLACE and not again.changed
    moved = replace(NAS6, stable=False, addresses=(IPv6Address("2001:db8:2::50"),))
    push(client(), [fwd("nas", "8443")], ipv6=_ipv6(moved))
    assert rpcd.sections["dualnat6_nas"]["dest_ip"] == "2001:db8:2::50"
    # remove (revert) takes dualnat's rules away and leaves the user's
    remove(client())
    assert set(rpcd.sections) == {"cfg0a1b"}


def test_a_device_not_seen_now_keeps_its_rule_a_forward_without_ipv6_loses_it(
    rpcd: Rpcd,
) -> None:
    push(client(), [fwd("nas", "8443")], ipv6=_ipv6(NAS6))
    gone = main_router_part("ipv6.not_found", forward="nas", device="192.168.1.50")
    unseen = Ipv6Advice("main_router", (), None, (), (("nas", gone),))
    report = push(client(), [fwd("nas", "8443")], ipv6=unseen)
    assert report.outcomes[0].state is State.IN_PLACE and not report.changed
    assert rpcd.sections["dualnat6_nas"]["dest_ip"] == "::5054:ff:fe00:50/-64"
    push(client(), [fwd("nas", "8443")], ipv6=_ipv6())  # ipv6 '0': nothing advised
    assert "dualnat6_nas" not in rpcd.sections


def test_rules_stay_while_the_lans_ipv6_cannot_be_read_and_go_with_their_forward(
    rpcd: Rpcd,
) -> None:
    """A network restart: `ip` fails or the prefix is gone for a moment; nothing says the
    rules are stale, so they stay; a forward no longer pushed still loses its rule."""
    push(client(), [fwd("nas", "8443")], ipv6=_ipv6(NAS6))
    for path in ("unknown", "none"):
        report = push(client(), [fwd("nas", "8443")], ipv6=Ipv6Advice(path))
        assert not report.changed
        assert rpcd.sections["dualnat6_nas"]["dest_ip"] == "::5054:ff:fe00:50/-64"
    push(client(), [fwd("web", "8080")], ipv6=Ipv6Advice("unknown"))
    assert "dualnat6_nas" not in rpcd.sections


def test_a_rule_of_the_user_is_never_touched(rpcd: Rpcd) -> None:
    rpcd.sections["cfg99"] = {
        ".type": "rule",
        "name": "mine",
        "family": "ipv6",
        "dest_ip": "::1/-64",
    }
    push(client(), [fwd("nas", "8443")], ipv6=_ipv6(NAS6))
    remove(client())
    assert rpcd.sections["cfg99"]["name"] == "mine"
