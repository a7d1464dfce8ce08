"""The methods of the ubus object ``dualnat`` and the API request each one becomes.

python-ubus accepts a call only when it carries exactly the declared arguments, and
uhttpd adds ``ubus_rpc_session`` to every call LuCI makes, so every method declares it
next to its own arguments (and every argument is required: send "" for a default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SESSION = "ubus_rpc_session"


@dataclass(frozen=True)
class Method:
    """One ubus method: its arguments (name, blobmsg type) and its HTTP request.

    `body` names the argument whose table is the JSON body, or is ``"*"`` for a body
    made of all the arguments; with `query` the arguments go to the query string. A
    `check` method is its write with ``?check=1``: validated the same way, nothing written.
    """

    name: str
    verb: str
    path: str
    args: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    query: bool = False
    check: bool = False

    def signature(self) -> dict[str, str]:
        """Argument → blobmsg type name (``STRING``, ``TABLE``, ``BOOL``, ...)."""
        return {SESSION: "STRING", **dict(self.args)}

    def request(self, data: dict[str, Any]) -> dict[str, Any]:
        """``method``, ``path``, ``query_string`` and ``json`` for the API call."""
        own = {name: data[name] for name, _ in self.args}
        words = {k: quote(v, safe="") for k, v in own.items() if isinstance(v, str)}
        path = self.path.format(**words)
        req: dict[str, Any] = {"method": self.verb, "path": path}
        if self.query:
            req["query_string"] = own
        elif self.check:
            req["query_string"] = {"check": "1"}
        if self.body == "*":
            req["json"] = own
        elif self.body is not None:
            req["json"] = own[self.body]
        return req


METHODS: tuple[Method, ...] = (
    Method("status", "GET", "/status"),
    Method("get_config", "GET", "/config"),
    Method("set_config", "PUT", "/config", (("config", "TABLE"),), body="config"),
    Method("check_config", "PUT", "/config", (("config", "TABLE"),), body="config", check=True),
    Method("list_forwards", "GET", "/forwards"),
    Method(
        "set_forward",
        "PUT",
        "/forwards/{id}",
        (("id", "STRING"), ("forward", "TABLE")),
        body="forward",
    ),
    Method(
        "check_forward",
        "PUT",
        "/forwards/{id}",
        (("id", "STRING"), ("forward", "TABLE")),
        body="forward",
        check=True,
    ),
    Method("set_forwards", "PUT", "/forwards", (("forwards", "TABLE"),), body="forwards"),
    Method(
        "check_forwards", "PUT", "/forwards", (("forwards", "TABLE"),), body="forwards", check=True
    ),
    Method("delete_forward", "DELETE", "/forwards/{id}", (("id", "STRING"),)),
    Method("plan", "GET", "/plan"),
    Method("main_router", "GET", "/main-router"),
    Method(
        "instructions",
        "GET",
        "/instructions",
        (("vendor", "STRING"), ("lang", "STRING"), ("format", "STRING")),
        query=True,
    ),
    Method("apply", "POST", "/apply", (("dry_run", "BOOL"),), body="*"),
    Method("revert", "POST", "/revert", (("dry_run", "BOOL"),), body="*"),
    Method("doctor", "GET", "/doctor"),
)
