"""iKuai 3.x as the main router: ``/Action/login`` then ``/Action/call`` with
``func_name: dnat`` (show / add / edit / del). dualnat's forwards are found again by
their ``comment``, which starts with ``dualnat``. iKuai applies each call at once and
has no rollback, so `commit` does nothing.

No iKuai source is public: every fact here was checked only against third-party clients
(blueberry-pie-11/luci-app-natmap ikuai-forward.sh, joyanhui/ikuai-bypass and others),
which disagree on details. Taken from them: the login body (``username``, ``passwd`` =
MD5 hex of the password, ``pass`` = base64 of ``salt_11`` + that MD5 hex), the session
cookie it sets, ``Result`` 10000 for a login and ``ErrMsg`` "Success" for a call, the
show parameters (``TYPE: total,data``, ``limit: offset,count``) and answer
(``Data.total``, ``Data.data`` rows with id, enabled yes/no, comment, interface,
lan_addr, lan_port, wan_port, protocol tcp/udp/tcp+udp), and the add/edit/del params.
"""

from __future__ import annotations

import base64
import hashlib
from ipaddress import IPv4Address
from typing import Any

import requests

from ..model import PortRange
from .apihttp import Api, base_url
from .errors import RouterError
from .model import Entry, Shape, Want, is_tagged
from .secrets import Secret, reveal

TIMEOUT = 10.0
PAGE = 100
LOGIN_OK = 10000
PROTOCOLS = {"tcp": ("tcp",), "udp": ("udp",), "tcp+udp": ("tcp", "udp")}
SEND_PROTOCOL = {("tcp",): "tcp", ("udp",): "udp", ("tcp", "udp"): "tcp+udp"}


def login_body(username: str, password: str) -> dict[str, str]:
    digest = hashlib.md5(password.encode()).hexdigest()
    salted = base64.b64encode(f"salt_11{digest}".encode()).decode()
    return {"username": username, "passwd": digest, "pass": salted, "remember_password": ""}


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ranges(text: Any) -> list[PortRange]:
    """``"80,8000-8010"`` → its ranges (nothing for what is not ports)."""
    found = []
    for part in str(text).split(","):
        try:
            found.append(PortRange.parse(part))
        except ValueError:
            return []
    return found


def parse_row(row: dict[str, Any]) -> list[Entry]:
    """The entries of one dnat row (one per external port or range it lists)."""
    protos = PROTOCOLS.get(str(row.get("protocol", "")).lower())
    wan, lan = _ranges(row.get("wan_port", "")), _ranges(row.get("lan_port", ""))
    if not protos or not wan:
        return []
    try:
        target_ip = IPv4Address(str(row.get("lan_addr", "")))
    except ValueError:
        target_ip = None
    tag = str(row.get("comment", ""))
    return [
        Entry(
            protos,
            ext,
            target_ip,
            lan[i] if len(lan) == len(wan) else (lan[0] if lan else None),
            tag,
            is_tagged(tag),
            key=str(row.get("id", "")),
            enabled=str(row.get("enabled", "yes")) == "yes",
        )
        for i, ext in enumerate(wan)
    ]


class IkuaiClient:
    """RouterClient for an iKuai 3.x main router (its admin user)."""

    kind = "ikuai"
    shape = Shape(ranges=True, both_protocols=True)
    lease = None

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
        interface: str = "all",
        session: requests.Session | None = None,
    ) -> None:
        self.router = router
        self.username = username
        self._password = password if isinstance(password, Secret) else Secret(password)
        self.api = Api(
            base_url(router, scheme, port), router, timeout=timeout, verify=verify, session=session
        )
        self.interface = interface
        self._logged_in = False

    def __repr__(self) -> str:
        return f"IkuaiClient(router={self.router}, user={self.username!r})"

    def login(self) -> None:
        response = self.api.request(
            "POST", "/Action/login", json=login_body(self.username, reveal(self._password))
        )
        data = self.api.json(response)
        if not isinstance(data, dict) or data.get("Result") != LOGIN_OK:
            raise RouterError("login.refused", manual=True, code="login", user=self.username)
        self._logged_in = True

    def call(self, action: str, param: dict[str, Any]) -> Any:
        """One dnat call; logs in first, and once more if the answer is not a success
        (an expired session looks like any other refusal)."""
        body = {"func_name": "dnat", "action": action, "param": param}
        for attempt in range(2):
            if not self._logged_in:
                self.login()
            data = self.api.json(self.api.request("POST", "/Action/call", json=body))
            if isinstance(data, dict) and data.get("ErrMsg") == "Success":
                return data.get("Data")
            self._logged_in = False
            if attempt:
                reason = data.get("ErrMsg") if isinstance(data, dict) else None
                if reason:
                    raise RouterError("ikuai.refused", manual=True, text=str(reason)[:80])
                raise RouterError("ikuai.refused_bare", manual=True)
        return None

    # -- RouterClient -------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        rows: list[dict[str, Any]] = []
        while True:
            param = {
                "TYPE": "total,data",
                "limit": f"{len(rows)},{PAGE}",
                "ORDER_BY": "",
                "ORDER": "",
            }
            data = self.call("show", param)
            batch = data.get("data") if isinstance(data, dict) else None
            if not isinstance(batch, list):
                raise RouterError("api.list_nonsense")
            rows += [r for r in batch if isinstance(r, dict)]
            if len(batch) < PAGE or len(rows) >= _number(data.get("total")):
                break
        return [e for row in rows for e in parse_row(row)]

    def _param(self, want: Want) -> dict[str, str]:
        return {
            "enabled": "yes",
            "comment": want.tag,
            "interface": self.interface,
            "lan_addr": str(want.target_ip),
            "protocol": SEND_PROTOCOL[tuple(sorted(want.protocols))],
            "wan_port": str(want.external),
            "lan_port": str(want.target),
            "src_addr": "",
        }

    def add(self, want: Want) -> None:
        self.call("add", self._param(want))

    def update(self, entry: Entry, want: Want) -> None:
        self.call("edit", {**self._param(want), "id": entry.key})

    def delete(self, entry: Entry) -> None:
        self.call("del", {"id": entry.key})

    def commit(self) -> None:
        """Nothing to do: iKuai applies every call at once (and has no rollback)."""

    def external_address(self) -> IPv4Address | None:
        """Not asked: no WAN-status call was checked for iKuai."""
        raise RouterError("wan.unsupported", code="unsupported", router="iKuai")

    def close(self) -> None:
        self.api.close()
