"""OpenWrt as the main router: JSON-RPC at ``http://<LAN address>/ubus`` (uhttpd + rpcd).

dualnat's forwards are ``config redirect`` sections of its firewall named ``dualnat_*``,
its IPv6 pinholes ``config rule`` sections named ``dualnat6_*`` (family ipv6, src wan,
dest lan, target ACCEPT, dest_ip the suffix match ``::<suffix>/-64`` or an address).
A push logs in (session login with the null session id), changes sections in the
session's own UCI delta, then ``uci apply`` with rollback and ``uci confirm`` in a new
request: if the apply cuts the connection, nothing confirms and rpcd restores the old
configuration by itself after the timeout.

Checked against the sources: openwrt/rpcd uci.c (get/add/set/delete arguments and
answers, apply with rollback and timeout, confirm, PERMISSION_DENIED while another
rollback is pending, NO_DATA without changes), session.c (login: username, password;
answer ubus_rpc_session; wrong password = PERMISSION_DENIED), openwrt/uhttpd ubus.c (the
``call`` method answers ``result: [status, data]``; errors -32002 access denied etc.).
Checked only against documentation: network.interface.<name> status's ``ipv4-address``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import requests

from ..model import PortRange
from .apihttp import Api, base_url
from .errors import RouterError
from .model import Entry, Shape, Want
from .pinhole import HoleEntry, HoleWant
from .secrets import Secret, reveal

NULL_SESSION = "0" * 32
SECTION_PREFIX = "dualnat_"
PINHOLE_PREFIX = "dualnat6_"  # `config rule` sections: IPv6 pinholes (section names are
# unique across a config's types, so they cannot share the redirects' names)
TIMEOUT = 10.0
ROLLBACK_SECONDS = 30
CONFIRM_TRIES = 3
CONFIRM_PAUSE = 2.0
ANY_PORT = PortRange(1, 65535)
PROTOCOL_WORDS = {"tcp": ("tcp",), "udp": ("udp",), "tcpudp": ("tcp", "udp")}
PROTOCOL_WORDS |= {"all": ("tcp", "udp"), "any": ("tcp", "udp"), "*": ("tcp", "udp")}
# ubus status codes (libubus) → sentence (catalogue table [push])
UBUS_STATUS = {
    2: "openwrt.invalid",
    3: "openwrt.no_method",
    4: "openwrt.not_found",
    6: "openwrt.denied",
    7: "openwrt.timeout",
    8: "openwrt.unsupported",
}
# JSON-RPC errors of uhttpd's ubus handler → sentence
JSONRPC_ERRORS = {
    -32000: "openwrt.no_object",
    -32001: "openwrt.no_session",
    -32002: "openwrt.denied",
    -32003: "openwrt.timeout",
}


def section_name(forward: str) -> str:
    """``dualnat_<forward>`` as a valid UCI section name (unique per forward name)."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", forward)[:32]
    if clean != forward:
        clean += "_" + hashlib.sha1(forward.encode()).hexdigest()[:8]
    return SECTION_PREFIX + clean


def _words(value: Any) -> list[str]:
    return value if isinstance(value, list) else str(value).split()


def _ports(text: Any) -> PortRange | None:
    try:
        return PortRange.parse(str(text))
    except ValueError:
        return None


def pinhole_section(forward: str, n: int) -> str:
    """``dualnat6_<forward>`` (``_<n>`` from the second rule of a forward on)."""
    base = PINHOLE_PREFIX + section_name(forward)[len(SECTION_PREFIX) :]
    return base if n == 1 else f"{base}_{n}"


def parse_pinhole(name: str, values: dict[str, Any]) -> HoleEntry | None:
    """One of dualnat's IPv6 traffic rules, else None."""
    if not name.startswith(PINHOLE_PREFIX):
        return None
    protos = tuple(
        dict.fromkeys(
            p for w in _words(values.get("proto", "tcp udp")) for p in PROTOCOL_WORDS.get(w, ())
        )
    )
    dest = values.get("dest_ip", "")
    return HoleEntry(
        protos,
        _ports(values.get("dest_port", "")),
        " ".join(dest) if isinstance(dest, list) else str(dest),
        str(values.get("name", "")),
        name,
        enabled=str(values.get("enabled", "1")) != "0"
        and str(values.get("target", "")).upper() == "ACCEPT"
        and values.get("family") == "ipv6",
    )


def parse_redirect(name: str, values: dict[str, Any], wan_zone: str) -> Entry | None:
    """A port forward from the WAN zone (a DNAT redirect), else None."""
    if str(values.get("target", "DNAT")).upper() != "DNAT" or values.get("src") != wan_zone:
        return None
    protos = tuple(
        dict.fromkeys(
            p
            for w in _words(values.get("proto", "tcp udp"))
            for p in PROTOCOL_WORDS.get(w.lower(), ())
        )
    )
    external = _ports(values["src_dport"]) if "src_dport" in values else ANY_PORT
    if not protos or external is None:
        return None
    try:
        target_ip = IPv4Address(values.get("dest_ip", ""))
    except ValueError:
        target_ip = None
    return Entry(
        protos,
        external,
        target_ip,
        _ports(values.get("dest_port", values.get("src_dport", ""))),
        str(values.get("name", "")),
        name.startswith(SECTION_PREFIX),
        key=name,
        enabled=str(values.get("enabled", "1")) != "0",
    )


class OpenWrtClient:
    """RouterClient for an OpenWrt main router (a user with write access to the
    firewall configuration in its rpcd ACL, e.g. root)."""

    kind = "openwrt"
    shape = Shape(ranges=True, both_protocols=True)
    lease = None
    pinhole_mode = "match"  # fw3/fw4: dest_ip '::<suffix>/-64' matches the last 64 bits

    def __init__(
        self,
        router: IPv4Address,
        username: str,
        password: Secret | str,
        *,
        scheme: str = "http",
        port: int | None = None,
        verify: bool | str = True,
        timeout: float = TIMEOUT,
        wan_zone: str = "wan",
        lan_zone: str = "lan",
        wan_interface: str = "wan",
        rollback_seconds: int = ROLLBACK_SECONDS,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.router = router
        self.username = username
        self._password = password if isinstance(password, Secret) else Secret(password)
        self.api = Api(
            base_url(router, scheme, port), router, timeout=timeout, verify=verify, session=session
        )
        self.wan_zone, self.lan_zone, self.wan_interface = wan_zone, lan_zone, wan_interface
        self.rollback_seconds = rollback_seconds
        self.sleep = sleep
        self._sid: str | None = None
        self._ids = itertools.count(1)
        self._changed = False

    def __repr__(self) -> str:
        return f"OpenWrtClient(router={self.router}, user={self.username!r})"

    # -- JSON-RPC -----------------------------------------------------------------------

    def _rpc(self, sid: str, obj: str, method: str, args: dict[str, Any]) -> tuple[int, dict]:
        payload = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": "call",
            "params": [sid, obj, method, args],
        }
        response = self.api.request("POST", "/ubus", json=payload)
        if response.status_code != 200:
            raise RouterError("openwrt.http", status=response.status_code)
        data = self.api.json(response)
        error = data.get("error") if isinstance(data, dict) else None
        if error:
            code = int(error.get("code", 0))
            call = f"{obj} {method}"
            manual, err = code == -32002, str(code)
            if code in JSONRPC_ERRORS:
                raise RouterError(JSONRPC_ERRORS[code], manual=manual, code=err, call=call)
            raise RouterError("openwrt.refused", code=err, n=code, call=call)
        result = data.get("result") if isinstance(data, dict) else None
        data = result[1] if isinstance(result, list) and len(result) > 1 else {}
        if not isinstance(result, list) or not result or not isinstance(data, dict):
            raise RouterError("openwrt.nonsense")
        try:
            return int(result[0]), data
        except (TypeError, ValueError):
            raise RouterError("openwrt.nonsense") from None

    def login(self) -> str:
        status, data = self._rpc(
            NULL_SESSION,
            "session",
            "login",
            {"username": self.username, "password": reveal(self._password)},
        )
        if status == 6:
            raise RouterError("login.refused", manual=True, code="login", user=self.username)
        sid = data.get("ubus_rpc_session") if status == 0 else None
        if not sid:
            raise RouterError("openwrt.login_failed", status=status)
        self._sid = sid
        return sid

    def call(
        self, obj: str, method: str, args: dict[str, Any], ok: tuple[int, ...] = (0,)
    ) -> tuple[int, dict]:
        """A ubus call in the logged-in session (logs in again once if it expired)."""
        fresh = self._sid is None
        try:
            status, data = self._rpc(self._sid or self.login(), obj, method, args)
        except RouterError as err:
            if err.code != "-32002" or fresh:
                raise
            if self._changed:  # the expired session took its pending changes with it
                raise RouterError("openwrt.session_expired") from None
            self._sid = None
            status, data = self._rpc(self.login(), obj, method, args)
        if status not in ok:
            call, manual, code = f"{obj} {method}", status == 6, str(status)
            if status in UBUS_STATUS:
                raise RouterError(UBUS_STATUS[status], manual=manual, code=code, call=call)
            raise RouterError("openwrt.failed", code=code, status=status, call=call)
        return status, data

    # -- RouterClient -------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        _, data = self.call("uci", "get", {"config": "firewall", "type": "redirect"})
        sections = data.get("values", {})
        if not isinstance(sections, dict):
            raise RouterError("openwrt.firewall_nonsense")
        found = (
            parse_redirect(n, v, self.wan_zone) for n, v in sections.items() if isinstance(v, dict)
        )
        return [e for e in found if e]

    def _values(self, want: Want) -> dict[str, str]:
        return {
            "name": want.tag,
            "src": self.wan_zone,
            "src_dport": str(want.external),
            "dest": self.lan_zone,
            "dest_ip": str(want.target_ip),
            "dest_port": str(want.target),
            "proto": " ".join(want.protocols),
            "target": "DNAT",
            "family": "ipv4",
            "enabled": "1",
        }

    def add(self, want: Want) -> None:
        args = {
            "config": "firewall",
            "type": "redirect",
            "name": section_name(want.forward),
            "values": self._values(want),
        }
        self.call("uci", "add", args)
        self._changed = True

    def update(self, entry: Entry, want: Want) -> None:
        args = {"config": "firewall", "section": entry.key, "values": self._values(want)}
        self.call("uci", "set", args)
        self._changed = True

    def delete(self, entry: Entry) -> None:
        self.call("uci", "delete", {"config": "firewall", "section": entry.key}, ok=(0, 4))
        self._changed = True

    # -- IPv6 pinholes (PinholeClient) ----------------------------------------------------

    def pinholes(self) -> list[HoleEntry]:
        _, data = self.call("uci", "get", {"config": "firewall", "type": "rule"})
        sections = data.get("values", {})
        if not isinstance(sections, dict):
            raise RouterError("openwrt.firewall_nonsense")
        found = (parse_pinhole(n, v) for n, v in sections.items() if isinstance(v, dict))
        return [e for e in found if e]

    def rule_values(self, want: HoleWant) -> dict[str, str]:
        """The `config rule` options of one pinhole."""
        return {
            "name": want.tag,
            "src": self.wan_zone,
            "dest": self.lan_zone,
            "family": "ipv6",
            "proto": " ".join(want.protocols),
            "dest_ip": want.dest,
            "dest_port": str(want.port),
            "target": "ACCEPT",
            "enabled": "1",
        }

    def add_pinhole(self, want: HoleWant) -> None:
        taken = {e.key for e in self.pinholes()}
        n = next(k for k in range(1, 1000) if pinhole_section(want.forward, k) not in taken)
        args = {
            "config": "firewall",
            "type": "rule",
            "name": pinhole_section(want.forward, n),
            "values": self.rule_values(want),
        }
        self.call("uci", "add", args)
        self._changed = True

    def update_pinhole(self, entry: HoleEntry, want: HoleWant) -> None:
        args = {"config": "firewall", "section": entry.key, "values": self.rule_values(want)}
        self.call("uci", "set", args)
        self._changed = True

    def delete_pinhole(self, entry: HoleEntry) -> None:
        self.call("uci", "delete", {"config": "firewall", "section": entry.key}, ok=(0, 4))
        self._changed = True

    def commit(self) -> None:
        """Apply with rollback, then confirm (retried a few times within the rollback
        window: the firewall reload may drop a connection or two)."""
        if not self._changed:
            return
        args = {"rollback": True, "timeout": self.rollback_seconds}
        try:
            status, _ = self.call("uci", "apply", args, ok=(0, 5))
        except RouterError as err:
            if err.code != "6":
                raise
            raise RouterError("openwrt.pending", code="6") from None
        self._changed = False
        if status == 5:
            return
        for attempt in range(CONFIRM_TRIES):
            try:
                self.call("uci", "confirm", {})
                return
            except RouterError as err:
                if err.code == "5":
                    raise RouterError("openwrt.undone") from None
                if not err.unreachable or attempt == CONFIRM_TRIES - 1:
                    raise RouterError(
                        "openwrt.unconfirmed",
                        unreachable=err.unreachable,
                        seconds=self.rollback_seconds,
                    ) from None
                self.sleep(CONFIRM_PAUSE)

    def external_address(self) -> IPv4Address | None:
        _, data = self.call("network.interface." + self.wan_interface, "status", {})
        for item in data.get("ipv4-address") or []:
            try:
                return IPv4Address(item.get("address", "") if isinstance(item, dict) else "")
            except ValueError:
                continue
        return None

    def close(self) -> None:
        self.api.close()
