"""The methods of the ubus object ``dualnat`` and the API request each one becomes.

python-ubus accepts a call only when it carries exactly the declared arguments, and
uhttpd adds ``ubus_rpc_session`` to every call LuCI makes, so every method declares it
next to its own arguments (and every argument is required: send "" for a default).
Every method also takes ``lang`` (en, zh or ja; "" = English): the language of the
sentences in its answer (``?lang=`` of the API request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SESSION = "ubus_rpc_session"
LANG = "lang"


@dataclass(frozen=True)
class Method:
    """One ubus method: its arguments (name, blobmsg type) and its HTTP request.

    `body` names the argument whose table is the JSON body, or is ``"*"`` for a body
    made of all the arguments but those the path names; with `query` the arguments go
    to the query string. A
    `check` method is its write with ``?check=1``: validated the same way, nothing written.
    """

    name: str
    verb: str
    path: str
    args: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    query: bool = False
    check: bool = False
    write: bool = False  # in the rpcd ACL's write group (it changes the router)

    @property
    def arguments(self) -> tuple[tuple[str, str], ...]:
        """Its own arguments, with ``lang`` (the instructions name it themselves)."""
        if any(name == LANG for name, _ in self.args):
            return self.args
        return (*self.args, (LANG, "STRING"))

    def signature(self) -> dict[str, str]:
        """Argument → blobmsg type name (``STRING``, ``TABLE``, ``BOOL``, ...)."""
        return {SESSION: "STRING", **dict(self.arguments)}

    def request(self, data: dict[str, Any]) -> dict[str, Any]:
        """``method``, ``path``, ``query_string`` and ``json`` for the API call."""
        own = {name: data[name] for name, _ in self.args}
        words = {k: quote(v, safe="") for k, v in own.items() if isinstance(v, str)}
        path = self.path.format(**words)
        req: dict[str, Any] = {"method": self.verb, "path": path}
        query: dict[str, Any] = {}
        if self.query:
            query.update(own)
        elif self.check:
            query["check"] = "1"
        if data.get(LANG) and LANG not in query:
            query[LANG] = data[LANG]
        if query:
            req["query_string"] = query
        if self.body == "*":
            req["json"] = {k: v for k, v in own.items() if "{" + k + "}" not in self.path}
        elif self.body is not None:
            req["json"] = own[self.body]
        return req


# What LuCI's pages call (luci-app-dualnat's common.js declares exactly these, and its
# rpcd ACL grants them: the checks to the read group, the writes to write). The
# pages write /etc/config/dualnat through LuCI's own uci calls (staged, Save & Apply);
# the HTTP API's other endpoints stay for `dualnat serve`.
METHODS: tuple[Method, ...] = (
    Method("status", "GET", "/status"),
    Method("get_config", "GET", "/config"),
    Method("check_config", "PUT", "/config", (("config", "TABLE"),), body="config", check=True),
    Method(
        "check_forward",
        "PUT",
        "/forwards/{id}",
        (("id", "STRING"), ("forward", "TABLE")),
        body="forward",
        check=True,
    ),
    Method(
        "check_forwards", "PUT", "/forwards", (("forwards", "TABLE"),), body="forwards", check=True
    ),
    Method("plan", "GET", "/plan"),
    Method(
        "instructions",
        "GET",
        "/instructions",
        (("vendor", "STRING"), ("lang", "STRING"), ("format", "STRING")),
        query=True,
    ),
    Method("apply", "POST", "/apply", (("dry_run", "BOOL"),), body="*", write=True),
    Method("revert", "POST", "/revert", (("dry_run", "BOOL"),), body="*", write=True),
    Method("doctor", "GET", "/doctor"),
    # the main router that dualnat configures (main_router_control): a push runs in the
    # daemon's background; the secret is written, never read back
    Method("main_router_status", "GET", "/main-router/status"),
    Method("main_router_push", "POST", "/main-router/push", write=True),
    Method(
        "set_main_router_secret",
        "PUT",
        "/main-router/secret",
        (("kind", "STRING"), ("secret", "STRING")),
        body="*",
        write=True,
    ),
    # a live test of one forward (dualnat test): it watches the connection table and may
    # connect to the main router's public address, but changes nothing on the router, so
    # the read group; the daemon bounds it (one per forward, a few at once, at most 600 s,
    # stopped when nobody polls it)
    Method(
        "test_start",
        "POST",
        "/forwards/{id}/test",
        (("id", "STRING"), ("seconds", "INT32"), ("self_test", "BOOL")),
        body="*",
    ),
    Method("test_poll", "GET", "/forwards/{id}/test", (("id", "STRING"),)),
    Method("test_stop", "DELETE", "/forwards/{id}/test", (("id", "STRING"),)),
)
