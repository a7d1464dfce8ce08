#!/usr/bin/env python3
"""Development server for the LuCI views: a stand-in for uhttpd, rpcd and the router.

It serves the real views (luci-app-dualnat/htdocs) with the test harness standing in
for LuCI's client runtime (tests/ui/harness), and answers the harness's JSON-RPC
calls the way uhttpd's /ubus does:

* object ``dualnat``: the backend's Flask app (``create_app`` on a config folder)
  registered through ``dualnat.ubus.adapter`` on the fake python-ubus bindings, so
  every call takes the daemon's path, strict signatures included; like uhttpd, the
  server adds ``ubus_rpc_session`` to the arguments;
* object ``uci``: rpcd's staging (get, set, add, delete, changes, apply, confirm);
  ``apply`` commits the staged changes and, like procd's reload trigger for the
  dualnat config, runs ``apply`` through the same ubus object;
* ``luci-rpc getHostHints`` and ``session access``;
* the main router that main_router_control reaches: an in-memory UPnP IGD
  (`demo_main_router`), pushed to at once (no daemon: the answer waits for it).

Access is checked as rpcd and uhttpd check it, from the package's ACL file
(root/usr/share/rpcd/acl.d): a session holds the group's read and write parts, its read
part, or nothing of it. A call of a ubus method the session may not use is refused with
JSON-RPC error -32002 (uhttpd's "Access denied"), a uci write to a config without uci
write access with ubus status 6 (rpcd's "Permission denied"), and the page's
``nodespec`` says read-only as LuCI's dispatcher does for a menu node whose ACL group is
granted read only. A page opened
with ``?acl=read`` gets a read-only session; ``POST /_test/session`` changes the full
session's grant later (an administrator revoking access while the page is open).

The "router" is a folder: UCI files, a /proc with sysctls and a connection table,
and ``nft list ruleset`` rendered from the firewall config by the lab's firewall4
emulation (tests/api/fw4_ruleset.py), reloaded after every write unless
``POST /_test/firewall`` freezes it (the firewall not reloaded). Start it with
``python tests/ui/devserver.py [--port N] [--workdir DIR]``; it prints
``READY <url>`` when it listens (loopback only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for extra in (
    ROOT / "backend",
    ROOT / "tests" / "api",
    ROOT / "tests" / "lab",
    ROOT / "tests" / "unit",
):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import fake_ubus  # noqa: E402  (tests/api: the python-ubus stand-in)
from flask import Flask, Response, abort, jsonify, redirect, request, send_file  # noqa: E402
from fw4_ruleset import Firewall4  # noqa: E402  (tests/api: firewall4's loaded rules)
from werkzeug.serving import make_server  # noqa: E402

from dualnat.api import create_app  # noqa: E402
from dualnat.doctor import System  # noqa: E402
from dualnat.mainrouter.runner import Inline  # noqa: E402
from dualnat.mainrouter.soap import fault_error  # noqa: E402
from dualnat.site import Site  # noqa: E402
from dualnat.ubus import adapter  # noqa: E402
from dualnat.uci import (  # noqa: E402
    Change,
    DeleteOption,
    DeleteSection,
    Document,
    FileBackend,
    SetList,
    SetOption,
    SetSection,
)

PACKAGE = ROOT / "luci-app-dualnat"
RESOURCES = PACKAGE / "htdocs" / "luci-static" / "resources"
HARNESS = Path(__file__).resolve().parent / "harness"
FIXTURE = ROOT / "tests" / "fixtures" / "router"
CONNTRACK = ROOT / "tests" / "unit" / "data" / "conntrack" / "proc_nf_conntrack.txt"
MENU = PACKAGE / "root" / "usr" / "share" / "luci" / "menu.d" / "luci-app-dualnat.json"
ACL = PACKAGE / "root" / "usr" / "share" / "rpcd" / "acl.d" / "luci-app-dualnat.json"
PO_DIR = PACKAGE / "po"
LANG_DIRS = {"zh": "zh_Hans", "zh_hans": "zh_Hans", "zh-cn": "zh_Hans", "ja": "ja"}
SESSION = "0123456789abcdef0123456789abcdef"  # read and write
READ_SESSION = "fedcba9876543210fedcba9876543210"  # the ACL group's read part only
ACCESS_DENIED = {"code": -32002, "message": "Access denied"}  # uhttpd's JSON-RPC error
PERMISSION_DENIED = 6  # ubus status: rpcd refused a uci write
UCI_WRITES = ("set", "add", "delete", "rename", "order")

HOST_HINTS = {
    "52:54:00:00:01:50": {"name": "nas", "ipaddrs": ["192.168.1.50"]},
    "52:54:00:00:01:51": {"name": "webserver", "ipaddrs": ["192.168.1.51"]},
    "52:54:00:00:01:60": {"name": "console", "ipaddrs": ["192.168.1.60"]},
    "52:54:00:00:01:70": {"name": "workstation", "ipaddrs": ["192.168.1.70"]},
    "52:54:00:00:01:80": {"name": "camera", "ipaddrs": ["192.168.1.80"]},
}
# What the planner's resolver answers: no DNS here; "auto" is the address the daemon
# would have looked up.
NAMES = {
    "auto": IPv4Address("198.51.100.7"),
    "home.example.net": IPv4Address("198.51.100.9"),
}
SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/ipv4/conf/all/send_redirects": "0",
    "net/ipv4/conf/br-lan/send_redirects": "0",
    "net/ipv4/conf/all/rp_filter": "0",
    "net/ipv4/conf/br-lan/rp_filter": "0",
}


@dataclass(frozen=True)
class DemoSystem(System):
    """The demo router's machine: /proc is read from a folder, but named /proc (as the
    doctor reports it on a router)."""

    root: Path = Path("/nonexistent")

    def read(self, relative: str) -> str | None:
        try:
            return (self.root / relative).read_text(errors="replace")
        except OSError:
            return None


def read_po(path: Path) -> dict[str, str]:
    """msgid → msgstr of a .po file (the harness's translation catalogue)."""
    out: dict[str, str] = {}
    entry: dict[str, str] = {}
    key = None

    def unquote(text: str) -> str:
        return json.loads(text)

    def flush() -> None:
        if entry.get("msgid") and entry.get("msgstr"):
            out[re.sub(r"\s+", " ", entry["msgid"]).strip()] = entry["msgstr"]
        entry.clear()

    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            key, entry["msgid"] = "msgid", unquote(line[6:])
        elif line.startswith("msgstr "):
            key, entry["msgstr"] = "msgstr", unquote(line[7:])
        elif line.startswith('"') and key:
            entry[key] = entry.get(key, "") + unquote(line)
    flush()
    return out


class Acl:
    """The package's ACL group (acl.d/luci-app-dualnat.json) as rpcd applies it: what a
    session may do that was granted (`grant`) the group's read and write parts
    ("write"), its read part ("read") or nothing of it ("none")."""

    def __init__(self, path: Path = ACL) -> None:
        [(self.group, spec)] = json.loads(path.read_text()).items()
        self.parts = {part: spec.get(part, {}) for part in ("read", "write")}

    def granted(self, grant: str) -> list[dict[str, Any]]:
        return {"write": ["read", "write"], "read": ["read"]}.get(grant, [])

    def ubus(self, grant: str, obj: str, method: str) -> bool:
        """May the session call ubus `obj` `method`? Objects the group does not name (uci,
        session) stand for luci-base's, which every LuCI login has."""
        named = any(obj in p.get("ubus", {}) for p in self.parts.values())
        if not named:
            return True
        return any(
            method in self.parts[part].get("ubus", {}).get(obj, []) for part in self.granted(grant)
        )

    def uci(self, grant: str, config: str, function: str) -> bool:
        """uci scope: the read part grants `read`, the write part `write`."""
        part = {"read": "read", "write": "write"}.get(function)
        return part in self.granted(grant) and config in self.parts[part].get("uci", [])

    def access(self, grant: str, scope: str, obj: str, function: str) -> bool:
        if scope == "ubus":
            return self.ubus(grant, obj, function)
        if scope == "uci":
            return self.uci(grant, obj, function)
        if scope == "access-group":
            return obj == self.group and function in self.granted(grant)
        return False


class Router:
    """The bypass router the pages talk to: config folder, /proc, commands, ubus."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.config = workdir / "config"
        self.proc = workdir / "proc"
        if not self.config.exists():
            shutil.copytree(FIXTURE, self.config)
        for key, value in SYSCTLS.items():
            path = self.proc / "sys" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(value + "\n")
        # the recorded table's well-formed part (a blank line precedes its broken lines)
        self.set_conntrack(CONNTRACK.read_bytes().split(b"\n\n")[0].decode() + "\n")
        self.backend = FileBackend(self.config)
        self.firewall = Firewall4(self.config)
        site = Site.open(self.config)
        self.main_router = demo_main_router()
        self.app = create_app(
            site=site,
            resolve=NAMES.get,
            doctor_system=DemoSystem(proc=Path("/proc"), run=self.firewall.run, root=self.proc),
            main_router=Inline(site, lambda target, store: self.main_router),
        )
        fake_ubus.connect(fake_ubus.LOCAL)
        adapter.register(fake_ubus, self.app)
        self.staged: dict[str, list[Change]] = {}
        self.lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []
        self.acl = Acl()
        self.sessions: dict[str, str] = {SESSION: "write", READ_SESSION: "read"}  # sid → grant

    def set_conntrack(self, text: str) -> None:
        path = self.proc / "net" / "nf_conntrack"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    # -- ubus ------------------------------------------------------------------------

    def grant(self, sid: str) -> str:
        """What the session holds of the ACL group (an unknown session: nothing)."""
        return self.sessions.get(sid, "none")

    def call(self, sid: str, obj: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """One JSON-RPC `call` as uhttpd answers it: {"result": [status] or [0, reply]}, or
        {"error": ...} when the session may not call the method (recorded, the refusal as
        status -32002)."""
        if not self.acl.ubus(self.grant(sid), obj, method):
            self.calls.append({"object": obj, "method": method, "args": args, "status": -32002})
            return {"error": ACCESS_DENIED}
        result = self._call(sid, obj, method, args)
        self.calls.append({"object": obj, "method": method, "args": args, "status": result[0]})
        return {"result": result}

    def _call(self, sid: str, obj: str, method: str, args: dict[str, Any]) -> list[Any]:
        if obj == "uci" and not self.uci_allowed(sid, method, args):
            return [PERMISSION_DENIED]
        if obj == "dualnat":
            try:
                return [0, fake_ubus.call("dualnat", method, {**args, "ubus_rpc_session": sid})[0]]
            except fake_ubus.UbusError as exc:
                return [exc.status]
        if obj == "uci":
            handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"uci_{method}", None)
            if handler is None:
                return [3]
            try:
                reply = handler(args)
            except KeyError:
                return [4]
            except ValueError:
                return [2]
            return [0] if reply is None else [0, reply]
        if obj == "luci-rpc" and method == "getHostHints":
            return [0, HOST_HINTS]
        if obj == "session" and method == "access":
            return [0, self.session_access(sid, args)]
        return [3]

    def uci_allowed(self, sid: str, method: str, args: dict[str, Any]) -> bool:
        """rpcd's uci plugin: reading a config needs uci read access, changing it write."""
        config = args.get("config")
        if config is None:
            return True
        if method in UCI_WRITES:
            return self.acl.uci(self.grant(sid), config, "write")
        return method != "get" or self.acl.uci(self.grant(sid), config, "read")

    def session_access(self, sid: str, args: dict[str, Any]) -> dict[str, Any]:
        """rpcd's `session access`: whether the session may use scope/object/function."""
        return {
            "access": self.acl.access(
                self.grant(sid),
                args.get("scope", "ubus"),
                args.get("object", ""),
                args.get("function", ""),
            )
        }

    # -- rpcd's uci object (one session) -------------------------------------------------

    def document(self, config: str) -> Document:
        doc = self.backend.read(config)
        doc.apply(self.staged.get(config, []))
        return doc

    def uci_get(self, args: dict[str, Any]) -> dict[str, Any]:
        config = args["config"]
        if not (self.config / config).exists():
            raise KeyError(config)
        values: dict[str, Any] = {}
        for index, sec in enumerate(self.document(config).sections()):
            name = sec.name or f"cfg{index:02x}{zlib.crc32(sec.type.encode()) & 0xFFFF:04x}"
            values[name] = {
                ".anonymous": sec.name is None,
                ".type": sec.type,
                ".name": name,
                ".index": index,
                **sec.options,
            }
        return {"values": values}

    def stage(self, config: str, changes: list[Change]) -> None:
        self.staged.setdefault(config, []).extend(changes)

    def uci_add(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name") or f"cfg{len(self.staged.get(args['config'], [])):06x}"
        changes: list[Change] = [SetSection(name, args["type"])]
        changes += self._values(name, args.get("values") or {})
        self.stage(args["config"], changes)
        return {"section": name}

    def uci_set(self, args: dict[str, Any]) -> None:
        self.stage(args["config"], self._values(args["section"], args.get("values") or {}))

    def uci_delete(self, args: dict[str, Any]) -> None:
        section = args["section"]
        options = args.get("options") or ([args["option"]] if args.get("option") else None)
        if options:
            self.stage(args["config"], [DeleteOption(section, o) for o in options])
        else:
            self.stage(args["config"], [DeleteSection(section)])

    @staticmethod
    def _values(section: str, values: dict[str, Any]) -> list[Change]:
        out: list[Change] = []
        for option, value in values.items():
            if isinstance(value, list):
                out.append(SetList(section, option, [str(v) for v in value]))
            else:
                out.append(SetOption(section, option, str(value)))
        return out

    def uci_changes(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "changes": {
                config: [[type(c).__name__, *[str(v) for v in vars_of(c)]] for c in changes]
                for config, changes in self.staged.items()
                if changes
            }
        }

    def uci_apply(self, args: dict[str, Any]) -> None:
        """Commit every staged config; the dualnat config's reload trigger runs apply."""
        staged, self.staged = self.staged, {}
        for config, changes in staged.items():
            self.backend.commit(config, changes)
        if "dualnat" in staged:
            self.reload_dualnat()

    def uci_confirm(self, args: dict[str, Any]) -> None:
        return None

    def uci_revert(self, args: dict[str, Any]) -> None:
        self.staged.pop(args["config"], None)

    def reload_dualnat(self) -> None:
        """What /etc/init.d/dualnat reload does: `dualnat apply` (here over ubus)."""
        self.calls.append(
            {"object": "procd", "method": "reload", "args": {"config": "dualnat"}, "status": 0}
        )
        fake_ubus.call(
            "dualnat", "apply", {"dry_run": False, "lang": "", "ubus_rpc_session": "procd"}
        )


def demo_main_router() -> Any:
    """The main router that main_router_control reaches: an in-memory UPnP IGD with
    OpenWrt's permission rules (ports below 1024 refused, fault 606) and a mapping the
    user made by hand for a game console on udp 27016."""
    from mainrouter_fakes import UPNP, FakeRouter, theirs

    refuse = {port: fault_error(606, "") for port in range(1, 1024)}
    console = theirs(27016, "udp", tag="game console", ip="192.168.1.60")
    return FakeRouter(shape=UPNP, lease=3600, kind="upnp", held=[console], refuse=refuse)


def vars_of(change: Change) -> list[Any]:
    return [getattr(change, f) for f in change.__slots__]  # type: ignore[attr-defined]


def page(view: str, lang: str) -> str:
    menu = json.loads(MENU.read_text())
    read_only = request.args.get("acl") == "read"
    tabs = []
    for path, entry in sorted(menu.items(), key=lambda kv: kv[1].get("order", 0)):
        action = entry.get("action", {})
        if action.get("type") != "view":
            continue
        active = ' class="active"' if action["path"] == view else ""
        query = f"lang={lang}" + ("&acl=read" if read_only else "")
        tabs.append(f'<a href="/cgi-bin/luci/{path}?{query}"{active}>{entry["title"]}</a>')
    po = PO_DIR / LANG_DIRS.get(lang.lower(), "") / "dualnat.po"
    catalog = read_po(po) if lang != "en" and po.exists() else {}
    env = {
        "lang": lang,
        "sessionid": READ_SESSION if read_only else SESSION,
        # as LuCI's dispatcher describes the menu node: its ACL group granted read only
        "nodespec": {"satisfied": True, "readonly": read_only},
        "translations": catalog,
        "pollscale": float(request.args.get("pollscale", "1")),
    }
    html_lang = {"zh": "zh-cn"}.get(lang, lang)
    return f"""<!DOCTYPE html>
<html lang="{html_lang}">
<head><meta charset="utf-8"><title>{view} - LuCI</title>
<link rel="stylesheet" href="/luci-static/harness/cbi.css"></head>
<body>
<header><span class="brand">OpenWrt</span><nav>{"".join(tabs)}</nav>
<span id="dualnat-changes-indicator"></span></header>
<div id="maincontent"><div id="view"></div></div>
<script>window.L_ENV = {json.dumps(env, ensure_ascii=False)};</script>
<script src="/luci-static/harness/luci.js"></script>
<script>L.boot({json.dumps(view)});</script>
</body></html>
"""


def build_app(router: Router) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # replies keep their order

    @app.get("/")
    def index() -> Response:
        return redirect("/cgi-bin/luci/admin/network/dualnat/overview")  # type: ignore[return-value]

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)

    @app.get("/cgi-bin/luci/admin/network/dualnat/<name>")
    def view(name: str) -> str:
        menu = json.loads(MENU.read_text())
        entry = menu.get(f"admin/network/dualnat/{name}")
        if entry is None or entry["action"].get("type") != "view":
            abort(404)
        return page(entry["action"]["path"], request.args.get("lang", "en"))

    @app.get("/luci-static/harness/<path:name>")
    def harness(name: str) -> Response:
        path = (HARNESS / name).resolve()
        if not path.is_file() or HARNESS not in path.parents:
            abort(404)
        return send_file(path, max_age=0)

    @app.get("/luci-static/resources/<path:name>")
    def resource(name: str) -> Response:
        path = (RESOURCES / name).resolve()
        if not path.is_file() or RESOURCES not in path.parents:
            abort(404)
        return send_file(path, max_age=0)

    @app.post("/ubus")
    def ubus() -> Response:
        msg = request.get_json(force=True)
        sid, obj, method, args = msg["params"]
        with router.lock:
            answer = router.call(sid, obj, method, args or {})
        return jsonify({"jsonrpc": "2.0", "id": msg.get("id"), **answer})

    @app.post("/_test/conntrack")
    def conntrack() -> Response:
        router.set_conntrack(request.get_data(as_text=True))
        return jsonify({"ok": True})

    @app.post("/_test/session")
    def session() -> Response:
        """{"grant": "write" | "read" | "none"}: what the full session holds from now on."""
        grant = request.get_json(force=True)["grant"]
        if grant not in ("write", "read", "none"):
            abort(400)
        with router.lock:
            router.sessions[SESSION] = grant
        return jsonify({"ok": True})

    @app.post("/_test/firewall")
    def firewall() -> Response:
        """{"reload": bool}: false keeps the rules loaded now (the firewall is not reloaded
        after later writes), true reloads it now and after every write; {"skip": [name,
        ...]}: firewall4 does not load these sections (from its next reload)."""
        body = request.get_json(force=True)
        with router.lock:
            if "skip" in body:
                router.firewall.skipped = set(body["skip"])
            if body.get("reload") is True:
                router.firewall.thaw()
            elif body.get("reload") is False:
                router.firewall.freeze()
        return jsonify({"ok": True})

    @app.get("/_test/calls")
    def calls() -> Response:
        return jsonify(router.calls)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dualnat-ui-"))
    workdir.mkdir(parents=True, exist_ok=True)
    router = Router(workdir)
    server = make_server("127.0.0.1", args.port, build_app(router), threaded=True)
    print(f"READY http://127.0.0.1:{server.server_port} {workdir}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
