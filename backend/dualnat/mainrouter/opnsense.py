"""OPNsense (26.1 or later) as the main router: its port-forward API /api/firewall/d_nat,
and for IPv6 pinholes its alias API (/api/firewall/alias: a Dynamic IPv6 Host alias per
device) and filter API (/api/firewall/filter: a pass rule on WAN to the alias or address).

API key and secret as HTTP basic auth. dualnat's rules are found again by their
description (``descr``), which starts with ``dualnat``. After the changes: a savepoint,
an apply that rolls back by itself, and cancel_rollback once the apply came back; where
this OPNsense has no savepoint endpoint, a plain apply (`rollback_protected` says which).

Checked against the sources (opnsense/core): DNatController (search_rule, add_rule,
set_rule/<uuid>, del_rule/<uuid>, toggle_rule; rows carry flattened keys such as
``destination.port`` and ``local-port``) and the DNat model (fields disabled, interface,
ipprotocol, protocol with the extra option TCP/UDP, source/destination network and port,
target, local-port, descr, pass). The savepoint, ``apply/<revision>`` and
``cancel_rollback/<revision>`` actions exist in older FilterBaseController versions; the
newest FilterBaseController read has none (its apply takes no revision), and a
third-party report found them answering 404 on 26.7, hence the fallback. Checked only
against documentation and third-party clients: the answers ``{"result": "saved",
"uuid": ...}``, ``{"result": "deleted"}`` and ``validations``, the protocol values
``tcp``/``udp``/``TCP/UDP``, the range syntax ``8000-8010`` and paging with rowCount.
The IPv6 part is checked only against documentation and third-party clients: the alias
and filter endpoint names (opnsense/docs api core firewall), the alias type
``dynipv6host`` with ``interface`` and ``content`` (third-party clients' field lists),
the filter rule fields (action, interface, direction, ipprotocol inet6, protocol,
source_net, destination_net, destination_port, description; ansibleguy's collection),
``alias/reconfigure`` and ``filter/apply``; never against a real OPNsense.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import requests

from ..model import PortRange
from ..pinholes import ALIAS_PREFIX as ALIAS  # the start of dualnat's alias names
from .apihttp import Api, base_url
from .errors import RouterError
from .model import Entry, Shape, Want, is_tagged
from .pinhole import HoleEntry, HoleWant
from .secrets import Secret, reveal

TIMEOUT = 15.0
ANY_PORT = PortRange(1, 65535)
PAGE = 500
PROTOCOLS = {"tcp": ("tcp",), "udp": ("udp",), "tcp/udp": ("tcp", "udp"), "": ("tcp", "udp")}
SEND_PROTOCOL = {("tcp",): "tcp", ("udp",): "udp", ("tcp", "udp"): "TCP/UDP"}
TOO_OLD = "opnsense.too_old"  # the catalogue table [push] says what each one means
# add_rule / set_rule refused: the sentence with the router's reasons, and without
REFUSED = {
    "add": ("opnsense.refused_add", "opnsense.refused_add_bare"),
    "change": ("opnsense.refused_change", "opnsense.refused_change_bare"),
}
HTTP_ERRORS = {
    401: "opnsense.key_refused",
    403: "opnsense.no_privilege",
}
# a 403 from the endpoints of the IPv6 rules names their privileges, not the NAT one
REFUSED_BY_PATH = (
    ("firewall/alias/", "opnsense.no_privilege_ipv6"),
    ("firewall/filter/", "opnsense.no_privilege_ipv6"),
)


def _ports(text: Any) -> PortRange | None:
    try:
        return PortRange.parse(str(text))
    except ValueError:
        return None


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _span(first: PortRange, size: int) -> PortRange:
    """`size` ports from `first` on: pf maps a range to consecutive local ports."""
    return PortRange(first.first, min(first.first + size - 1, 65535))


def parse_rule(row: dict[str, Any], interface: str) -> Entry | None:
    """A port forward on `interface` from a search_rule row, else None."""
    if row.get("is_automatic") or str(row.get("nordr", "0")) == "1":
        return None
    if interface not in str(row.get("interface", "")).split(","):
        return None
    protos = PROTOCOLS.get(str(row.get("protocol", "")).lower())
    port_text = str(row.get("destination.port") or "")
    external = _ports(port_text) if port_text else ANY_PORT
    if not protos or external is None:
        return None
    try:
        target_ip = IPv4Address(str(row.get("target", "")))
    except ValueError:
        target_ip = None
    local = _ports(row.get("local-port") or port_text)
    target = _span(local, external.size) if local else None
    tag = str(row.get("descr", ""))
    return Entry(
        protos,
        external,
        target_ip,
        target,
        tag,
        is_tagged(tag),
        key=str(row.get("uuid", "")),
        enabled=str(row.get("disabled", "0")) != "1",
    )


def parse_filter_rule(
    row: dict[str, Any], interface: str, aliases: dict[str, dict[str, Any]]
) -> HoleEntry | None:
    """One of dualnat's IPv6 pass rules on `interface` (a filter search_rule row), with the
    suffix of the alias it names, else None."""
    tag = str(row.get("description", ""))
    if not is_tagged(tag) or interface not in str(row.get("interface", "")).split(","):
        return None
    dest = str(row.get("destination_net", ""))
    alias = aliases.get(dest)
    suffix = str(alias.get("content", "")).strip() if alias is not None else None
    return HoleEntry(
        PROTOCOLS.get(str(row.get("protocol", "")).lower(), ()),
        _ports(row.get("destination_port") or ""),
        dest,
        tag,
        str(row.get("uuid", "")),
        enabled=str(row.get("enabled", "1")) == "1"
        and str(row.get("ipprotocol", "")) == "inet6"
        and str(row.get("action", "pass")) == "pass",
        suffix=suffix or None,
    )


class OpnsenseClient:
    """RouterClient for an OPNsense main router (an API key with the NAT privilege)."""

    kind = "opnsense"
    shape = Shape(ranges=True, both_protocols=True)
    lease = None
    pinhole_mode = "alias"  # a Dynamic IPv6 Host alias follows the LAN's prefix

    def __init__(
        self,
        router: IPv4Address,
        key: str,
        secret: Secret | str,
        *,
        scheme: str = "https",
        port: int | None = None,
        verify: bool | str = True,
        timeout: float = TIMEOUT,
        interface: str = "wan",
        lan_interface: str = "lan",
        session: requests.Session | None = None,
    ) -> None:
        self.router = router
        self._key = key if isinstance(key, Secret) else Secret(key)
        self._secret = secret if isinstance(secret, Secret) else Secret(secret)
        self.api = Api(
            base_url(router, scheme, port), router, timeout=timeout, verify=verify, session=session
        )
        self.interface = interface
        self.lan_interface = lan_interface
        self._changed = False
        self._filter_changed = False  # IPv6 rules or aliases: the filter is applied too
        self._aliases_changed = False
        self.rollback_protected: bool | None = None  # known after a commit

    def __repr__(self) -> str:
        return f"OpnsenseClient(router={self.router})"

    def _post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.api.request(
            "POST",
            "/api/" + path,
            json=body or {},
            auth=(reveal(self._key), reveal(self._secret)),
        )
        if response.status_code in HTTP_ERRORS:
            key = HTTP_ERRORS[response.status_code]
            if response.status_code == 403:
                key = next((k for p, k in REFUSED_BY_PATH if path.startswith(p)), key)
            raise RouterError(key, manual=True)
        if response.status_code == 404:
            return 404, None
        if response.status_code != 200:
            raise RouterError("opnsense.http", status=response.status_code, path=path)
        return 200, self.api.json(response)

    def _saved(self, data: Any, doing: str) -> dict[str, Any]:
        """The answer of add_rule or set_rule; `doing` is "add" or "change"."""
        if isinstance(data, dict) and data.get("result") == "saved":
            return data
        checks = data.get("validations", {}) if isinstance(data, dict) else {}
        if not isinstance(checks, dict):
            checks = {}
        detail = "; ".join(f"{k}: {v}" for k, v in checks.items())[:200]
        ids = REFUSED[doing]
        if detail:
            raise RouterError(ids[0], manual=True, detail=detail)
        raise RouterError(ids[1], manual=True)

    # -- RouterClient -------------------------------------------------------------------

    def _rows(self, path: str) -> list[dict[str, Any]]:
        """Every row of a search endpoint, page by page (404: this OPNsense lacks it)."""
        rows: list[dict[str, Any]] = []
        for page in range(1, 10000):
            status, data = self._post(path, {"current": page, "rowCount": PAGE, "searchPhrase": ""})
            if status == 404:
                raise RouterError(TOO_OLD, manual=True, code="too_old")
            batch = data.get("rows") if isinstance(data, dict) else None
            if not isinstance(batch, list):
                raise RouterError("api.list_nonsense")
            rows += [r for r in batch if isinstance(r, dict)]
            if len(batch) < PAGE or len(rows) >= _number(data.get("total")):
                break
        return rows

    def entries(self) -> list[Entry]:
        found = (parse_rule(r, self.interface) for r in self._rows("firewall/d_nat/search_rule"))
        return [e for e in found if e]

    def _rule(self, want: Want) -> dict[str, Any]:
        if want.target.size != want.external.size:
            raise RouterError("opnsense.range_to_port", manual=True)
        return {
            "rule": {
                "disabled": "0",
                "interface": self.interface,
                "ipprotocol": "inet",
                "protocol": SEND_PROTOCOL[tuple(sorted(want.protocols))],
                "source": {"network": "any"},
                "destination": {"network": f"{self.interface}ip", "port": str(want.external)},
                "target": str(want.target_ip),
                "local-port": str(want.target.first),
                "descr": want.tag,
                "pass": "pass",
            }
        }

    def add(self, want: Want) -> None:
        _, data = self._post("firewall/d_nat/add_rule", self._rule(want))
        self._saved(data, "add")
        self._changed = True

    def update(self, entry: Entry, want: Want) -> None:
        _, data = self._post(f"firewall/d_nat/set_rule/{entry.key}", self._rule(want))
        self._saved(data, "change")
        self._changed = True

    def delete(self, entry: Entry) -> None:
        status, data = self._post(f"firewall/d_nat/del_rule/{entry.key}")
        result = data.get("result") if isinstance(data, dict) else None
        if status == 200 and result not in ("deleted", "not found"):
            raise RouterError("opnsense.refused_delete", manual=True)
        self._changed = True

    # -- IPv6 pinholes (PinholeClient; unverified against a real OPNsense) ---------------

    def _aliases(self) -> dict[str, dict[str, Any]]:
        rows = self._rows("firewall/alias/search_item")
        return {str(r.get("name")): r for r in rows if str(r.get("name", "")).startswith(ALIAS)}

    def pinholes(self) -> list[HoleEntry]:
        aliases = self._aliases()
        found = (
            parse_filter_rule(r, self.interface, aliases)
            for r in self._rows("firewall/filter/search_rule")
        )
        return [e for e in found if e]

    def _set_alias(self, want: HoleWant) -> None:
        """The Dynamic IPv6 Host alias a rule names: added, or changed to this suffix."""
        alias = {
            "alias": {
                "enabled": "1",
                "name": want.dest,
                "type": "dynipv6host",
                "interface": self.lan_interface,
                "content": want.suffix,
                "description": want.tag,
            }
        }
        held = self._aliases().get(want.dest)
        if held is None:
            _, data = self._post("firewall/alias/add_item", alias)
        else:
            _, data = self._post(f"firewall/alias/set_item/{held.get('uuid', '')}", alias)
        self._saved(data, "add" if held is None else "change")
        self._aliases_changed = True

    def _filter_rule(self, want: HoleWant) -> dict[str, Any]:
        return {
            "rule": {
                "enabled": "1",
                "action": "pass",
                "quick": "1",
                "interface": self.interface,
                "direction": "in",
                "ipprotocol": "inet6",
                "protocol": SEND_PROTOCOL[tuple(sorted(want.protocols))],
                "source_net": "any",
                "destination_net": want.dest,
                "destination_port": str(want.port),
                "description": want.tag,
            }
        }

    def add_pinhole(self, want: HoleWant) -> None:
        if want.suffix is not None:
            self._set_alias(want)
        _, data = self._post("firewall/filter/add_rule", self._filter_rule(want))
        self._saved(data, "add")
        self._changed = self._filter_changed = True

    def update_pinhole(self, entry: HoleEntry, want: HoleWant) -> None:
        if want.suffix is not None:
            self._set_alias(want)
        _, data = self._post(f"firewall/filter/set_rule/{entry.key}", self._filter_rule(want))
        self._saved(data, "change")
        self._changed = self._filter_changed = True

    def delete_pinhole(self, entry: HoleEntry) -> None:
        status, data = self._post(f"firewall/filter/del_rule/{entry.key}")
        result = data.get("result") if isinstance(data, dict) else None
        if status == 200 and result not in ("deleted", "not found"):
            raise RouterError("opnsense.refused_delete", manual=True)
        alias = self._aliases().get(entry.dest) if entry.suffix is not None else None
        if alias is not None:  # after the rule that names it
            self._post(f"firewall/alias/del_item/{alias.get('uuid', '')}")
            self._aliases_changed = True
        self._changed = self._filter_changed = True

    def commit(self) -> None:
        if not self._changed:
            return
        if self._aliases_changed:
            self._apply("firewall/alias/reconfigure")
        status, data = self._post("firewall/filter/savepoint")
        revision = str(data.get("revision", "")) if status == 200 and isinstance(data, dict) else ""
        if not revision:
            self._apply("firewall/d_nat/apply")
            if self._filter_changed:
                self._apply("firewall/filter/apply")
            self.rollback_protected = False
        else:
            self._apply(f"firewall/filter/apply/{revision}")
            status, _ = self._post(f"firewall/filter/cancel_rollback/{revision}")
            if status != 200:
                raise RouterError("opnsense.not_confirmed")
            self.rollback_protected = True
        self._changed = self._filter_changed = self._aliases_changed = False

    def _apply(self, path: str) -> None:
        status, _ = self._post(path)
        if status != 200:
            raise RouterError("opnsense.not_applied", status=status)

    def external_address(self) -> IPv4Address | None:
        """Not asked: no endpoint for it was checked against OPNsense's sources."""
        raise RouterError("wan.unsupported", code="unsupported", router="OPNsense")

    def close(self) -> None:
        self.api.close()
