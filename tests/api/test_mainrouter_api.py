"""The main router through the API and the daemon: status (the secret only as set or
not), push now, the secret, apply and revert following, the daemon's keeper (pushes in
a child, checks and lease renewals on time, never a ubus call that waits), and
public_address 'auto' asking the main router first."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from mainrouter_fakes import UPNP, FakeRouter

from dualnat.api import create_app
from dualnat.context import make_plan
from dualnat.mainrouter import control
from dualnat.mainrouter.control import Target, load_state
from dualnat.mainrouter.runner import Inline
from dualnat.mainrouter.soap import fault_error
from dualnat.public import NoPublicAddress
from dualnat.publicip import PublicAddress, discover_for
from dualnat.site import Site
from dualnat.ubus.daemon import decode, encode
from dualnat.ubus.keeper import CHECK_EVERY, Keeper, control_of

ROOT = Path(__file__).resolve().parents[2]
SECRET = "correct horse battery staple"


def set_options(confdir: Path, **options: str) -> None:
    text = (confdir / "dualnat").read_text()
    lines = "".join(f"\toption {k} '{v}'\n" for k, v in options.items())
    (confdir / "dualnat").write_text(
        text.replace("config dualnat 'main'\n", f"config dualnat 'main'\n{lines}", 1)
    )


class Router:
    """One in-memory main router for every client made."""

    def __init__(self, **kw: Any) -> None:
        self.fake = FakeRouter(shape=UPNP, lease=3600, **kw)
        self.made = 0

    def __call__(self, target: Target, store: Any) -> FakeRouter:
        self.made += 1
        return self.fake


@pytest.fixture
def router() -> Router:
    return Router(refuse={80: fault_error(606, "")})


@pytest.fixture
def upnp_client(confdir: Path, router: Router) -> FlaskClient:
    set_options(confdir, main_router_control="upnp")
    site = Site.open(confdir)
    return create_app(
        confdir, resolve=lambda _: None, main_router=Inline(site, router)
    ).test_client()


def test_status_before_and_after_a_push(upnp_client: FlaskClient, router: Router) -> None:
    status = upnp_client.get("/api/v1/main-router/status").get_json()
    assert status["control"]["kind"] == "upnp" and status["control"]["router"] == "192.168.1.1"
    assert status["control"]["secret_set"] is None and status["last"] is None
    reply = upnp_client.post("/api/v1/main-router/push?lang=zh").get_json()
    assert reply["request"] == "done"
    forwards = {f["forward"]: f for f in reply["last"]["forwards"]}
    assert (
        forwards["nas_web"]["state"] == "added"
        and forwards["nas_web"]["reason"] == "已添加到主路由"
    )
    web = forwards["web"]
    assert (
        web["state"] == "failed"
        and "1024" in web["reason"]
        and web["steps"][0]["id"] == "forward.web"
    )
    assert reply["pushed_to"] == {"kind": "upnp", "router": "192.168.1.1"}
    assert reply["runner"] == {"running": None, "queued": None, "next_at": None}


def test_apply_pushes_and_revert_removes(upnp_client: FlaskClient, router: Router) -> None:
    reply = upnp_client.post("/api/v1/apply", json={"dry_run": False}).get_json()
    assert reply["main_router"] == "done" and router.fake.held
    assert (
        upnp_client.post("/api/v1/apply", json={"dry_run": True}).get_json()["main_router"]
        == "none"
    )
    reply = upnp_client.post("/api/v1/revert", json={"dry_run": False}).get_json()
    assert reply["main_router"] == "done" and router.fake.held == []


def test_manual_control_asks_nothing(client: FlaskClient) -> None:
    reply = client.post("/api/v1/apply", json={"dry_run": False}).get_json()
    assert reply["main_router"] == "none"
    assert client.get("/api/v1/main-router/status").get_json()["control"]["kind"] == "manual"


def test_the_secret_is_set_but_never_answered(confdir: Path) -> None:
    set_options(confdir, main_router_control="openwrt", main_router_user="root")
    client = create_app(confdir, resolve=lambda _: None).test_client()
    assert client.get("/api/v1/main-router/status").get_json()["control"]["secret_set"] is False
    reply = client.put("/api/v1/main-router/secret", json={"kind": "", "secret": SECRET})
    assert reply.get_json() == {"kind": "openwrt", "secret_set": True}
    status = client.get("/api/v1/main-router/status")
    assert status.get_json()["control"]["secret_set"] is True
    every_answer = status.get_data(as_text=True) + client.get("/api/v1/config").get_data(
        as_text=True
    )
    assert SECRET not in every_answer and SECRET not in (confdir / "dualnat").read_text()
    assert json.loads((confdir / ".dualnat" / "secrets").read_text()) == {
        "openwrt.password": SECRET
    }
    bad = client.put("/api/v1/main-router/secret", json={"kind": "upnp", "secret": "x"})
    assert bad.status_code == 422
    bad = client.put("/api/v1/main-router/secret", json={"kind": "", "secret": "a\nb"})
    assert bad.status_code == 422 and SECRET not in bad.get_data(as_text=True)
    client.put("/api/v1/main-router/secret", json={"kind": "openwrt", "secret": ""})
    assert client.get("/api/v1/main-router/status").get_json()["control"]["secret_set"] is False


def test_the_settings_go_through_the_config_api(client: FlaskClient, confdir: Path) -> None:
    body = {
        "main_router_control": "opnsense",
        "main_router_url": "https://192.168.1.1:8443",
        "main_router_user": "K" * 80,
        "main_router_ca": "/etc/ssl/opnsense.pem",
        "main_router_lease": "600",
    }
    reply = client.put("/api/v1/config", json=body)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["main_router_lease"] == "600"
    assert "option main_router_url 'https://192.168.1.1:8443'" in (confdir / "dualnat").read_text()
    elsewhere = {**body, "main_router_url": "http://192.168.1.7"}
    bad = client.put("/api/v1/config?check=1&lang=zh", json=elsewhere)
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["main_router_url"] == [
        "指向 192.168.1.7，但主路由是 192.168.1.1：dualnat 只与主路由的局域网地址通信"
    ]


# -- the daemon's keeper ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ThreadJob:
    """A job in a thread (the daemon forks; the logic is the same)."""

    def __init__(self, fn: Any) -> None:
        self.text: str | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,))
        self.thread.start()

    def _run(self, fn: Any) -> None:
        try:
            self.text = fn()
        except Exception as exc:  # as ForkedCall reports it
            self.text = f"error {type(exc).__name__}: {exc}"

    def result(self) -> str | None:
        return None if self.thread.is_alive() else self.text

    def kill(self) -> str:
        self.thread.join()
        return self.text or "error killed"


def settle(keeper: Keeper) -> None:
    keeper.tick()
    if keeper.job is not None:
        keeper.job.thread.join(10)  # type: ignore[attr-defined]
    keeper.tick()


def keeper_for(confdir: Path, router: Router, clock: Clock) -> Keeper:
    from dualnat.mainrouter.runner import run

    site = Site.open(confdir)
    return Keeper(
        site, job=lambda s, a: "ok" if run(s, a, router) else "failed", spawn=ThreadJob, clock=clock
    )


def test_the_keeper_pushes_at_start_then_on_its_interval_and_when_asked(
    confdir: Path, router: Router
) -> None:
    set_options(confdir, main_router_control="upnp")
    clock = Clock()
    keeper = keeper_for(confdir, router, clock)
    settle(keeper)  # the first tick pushes
    assert router.made == 1 and keeper.last == "failed" and len(router.fake.held) == 8
    router.fake.held.clear()  # the main router rebooted and forgot
    clock.now += CHECK_EVERY["upnp"] - 1
    settle(keeper)
    assert router.made == 1  # not yet
    clock.now += 1
    settle(keeper)
    assert router.made == 2 and len(router.fake.held) == 8  # noticed and repaired
    assert keeper.request("push") == "started"
    assert keeper.state()["queued"] == "push"
    settle(keeper)
    assert router.made == 3 and keeper.state()["queued"] is None


def test_a_short_lease_is_renewed_before_it_ends(confdir: Path) -> None:
    set_options(confdir, main_router_control="upnp", main_router_lease="60")
    router = Router()
    router.fake.lease = 60
    clock = Clock()
    keeper = keeper_for(confdir, router, clock)
    settle(keeper)
    result = load_state(Site.open(confdir))
    assert result is not None and result.leases_renew_at() == pytest.approx(result.at + 30, abs=1)
    # the next check is at the renewal, not 45 s later
    assert keeper._due - clock.now == pytest.approx(30, abs=2)
    router.fake.age(35)  # 25 s left: under 60 % of the lease
    clock.now = keeper._due
    settle(keeper)
    assert router.fake.calls.count("add tcp 8443") == 2  # renewed
    assert {o.reason for o in load_state(Site.open(confdir)).outcomes} == {  # type: ignore[union-attr]
        "already on the main router, lease renewed"
    }


def test_the_keeper_removes_after_a_switch_to_manual_and_rests_after_revert(
    confdir: Path, router: Router
) -> None:
    set_options(confdir, main_router_control="upnp")
    site = Site.open(confdir)
    assert control_of(site) == "upnp"
    from dualnat.mainrouter.control import push_plan, remove_all

    push_plan(site, make_plan(site, with_public=False), factory=router)
    text = (confdir / "dualnat").read_text().replace("'upnp'", "'manual'")
    (confdir / "dualnat").write_text(text)
    assert control_of(site) == "remove"  # pushed to before: its entries have to go
    plan = make_plan(site, with_public=False)
    remove_all(site, plan.settings, plan.network, factory=router)
    assert control_of(site) is None  # removed; and after revert nothing is pushed by itself


def test_lookups_name_a_main_router_without_a_public_address() -> None:
    assert decode(encode(NoPublicAddress("192.168.1.1"))) == NoPublicAddress("192.168.1.1")
    assert decode(encode(IPv4Address("11.0.0.1"))) == IPv4Address("11.0.0.1")


def test_auto_asks_the_main_router_first(confdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_options(confdir, main_router_control="upnp")
    text = (confdir / "dualnat").read_text().replace("'198.51.100.7'", "'auto'")
    (confdir / "dualnat").write_text(text)
    site = Site.open(confdir)
    asked: list[str] = []

    def services() -> IPv4Address:
        asked.append("internet")
        return IPv4Address("198.51.100.44")

    class Wan(FakeRouter):
        answer: IPv4Address | None = IPv4Address("100.64.0.9")  # carrier-grade NAT

        def external_address(self) -> IPv4Address | None:
            return self.answer

    wan = Wan(shape=UPNP)
    monkeypatch.setattr(control, "client_for", lambda t, s: wan)
    public = PublicAddress(site.state_dir / "public_ip", discover_for(site, services))
    assert public.current() == NoPublicAddress("192.168.1.1") and asked == []
    plan = make_plan(site, public.resolve)
    assert not any(i.kind == "dnat" and i.hairpin for i in plan.items)  # type: ignore[attr-defined]
    assert any("reports no public address" in w for w in plan.warnings)
    again = PublicAddress(site.state_dir / "public_ip", discover_for(site, services))
    again.load()
    assert again.no_public == "192.168.1.1" and again.to_dict()["no_public"] == "192.168.1.1"
    wan.answer = IPv4Address("11.0.0.1")
    assert public.refresh() and public.address == IPv4Address("11.0.0.1") and asked == []
    from dualnat.mainrouter.errors import RouterError

    def down(t: Any, s: Any) -> Any:
        raise RouterError("upnp.no_igd", unreachable=True, router="192.168.1.1")

    monkeypatch.setattr(control, "client_for", down)
    assert (
        public.refresh()
        and public.address == IPv4Address("198.51.100.44")
        and asked == ["internet"]
    )


def test_the_daemon_loads_no_http_client_or_upnp_client(confdir: Path) -> None:
    """What the daemon imports to serve the methods: no requests, no XML parser, no
    main-router client (the pushes and lookups import them in their children; Flask
    itself brings http.client)."""
    set_options(confdir, main_router_control="upnp")
    code = f"""
import sys
from dualnat.api import create_app
from dualnat.ubus.keeper import Keeper
from dualnat.ubus.adapter import dispatch
from dualnat.ubus.methods import METHODS
app = create_app({str(confdir)!r})
for m in METHODS:
    if m.name in ("main_router_status", "status", "plan", "get_config", "apply"):
        dispatch(app, m, {{"lang": "", "dry_run": True}})
bad = [n for n in ("requests", "urllib3", "xml.etree.ElementTree",
                   "dualnat.mainrouter.upnp", "dualnat.mainrouter.apihttp") if n in sys.modules]
print(bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_status_says_the_main_router_has_no_public_address(confdir: Path) -> None:
    import time

    text = (confdir / "dualnat").read_text().replace("'198.51.100.7'", "'auto'")
    (confdir / "dualnat").write_text(text)
    state = confdir / ".dualnat"
    state.mkdir()
    (state / "public_ip").write_text(f"none {int(time.time())} 192.168.1.1\n")
    client = create_app(confdir).test_client()
    status = client.get("/api/v1/status").get_json()
    assert status["valid"] is True
    assert status["public_address"]["no_public"] == "192.168.1.1"
    assert status["public_address"]["address"] is None
    plan = client.get("/api/v1/plan?lang=ja").get_json()
    assert not [i for i in plan["items"] if i["kind"] == "dnat" and i["hairpin"]]
    assert any("192.168.1.1" in w and "ヘアピン" in w for w in plan["warnings"])
