"""The main router as the configuration says (main_router_control): its settings, the
client for each kind, push / remove / status through the command line with an in-memory
main router, the state and record files, the secret, and `apply` and `revert`."""

from __future__ import annotations

import json
import os
import shutil
import stat
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from mainrouter_fakes import UPNP, FakeFirewall, FakeRouter, theirs

from dualnat.cli import main
from dualnat.context import make_plan
from dualnat.errors import ConfigInvalid, Invalid
from dualnat.mainrouter import control
from dualnat.mainrouter.control import (
    Target,
    client_for,
    load_state,
    push_plan,
    remove_all,
    secret_store,
)
from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.marks import KINDS, MANUAL, is_off, read_record
from dualnat.mainrouter.model import State
from dualnat.mainrouter.secrets import SecretStore
from dualnat.mainrouter.soap import fault_error
from dualnat.model import MainRouterControl
from dualnat.options import parse_lease, parse_path, parse_router_url, parse_user
from dualnat.site import Site

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bypass-router"
ROUTER = IPv4Address("192.168.1.1")
BYPASS = IPv4Address("192.168.1.2")


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def set_options(confdir: Path, **options: str) -> None:
    text = (confdir / "dualnat").read_text()
    lines = "".join(f"\toption {k} '{v}'\n" for k, v in options.items())
    text = text.replace(
        "\toption disable_redirects '1'\n", f"\toption disable_redirects '1'\n{lines}"
    )
    (confdir / "dualnat").write_text(text)


class Routers:
    """The in-memory main routers, one per kind, as client_for would make them."""

    def __init__(self) -> None:
        self.made: dict[str, FakeRouter] = {}
        self.asked: list[Target] = []

    def __call__(self, target: Target, store: SecretStore) -> FakeRouter:
        self.asked.append(target)
        if target.kind not in self.made:
            shape = UPNP if target.kind == "upnp" else FakeRouter().shape
            lease = target.lease if target.kind == "upnp" else None
            self.made[target.kind] = FakeRouter(shape=shape, lease=lease, kind=target.kind)
        return self.made[target.kind]


@pytest.fixture
def routers(monkeypatch: pytest.MonkeyPatch) -> Routers:
    fake = Routers()
    monkeypatch.setattr(control, "client_for", fake)
    return fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the options ---------------------------------------------------------------------------


def test_the_options_take_exactly_their_values() -> None:
    assert parse_router_url("HTTPS://192.168.1.1:8443/") == "https://192.168.1.1:8443"
    assert parse_router_url("http://192.168.1.1") == "http://192.168.1.1"
    bad_urls = ("ftp://192.168.1.1", "http://router.lan", "http://u:p@192.168.1.1",
                "http://192.168.1.1/x", "http://192.168.1.300", "http://192.168.1.1:0")  # fmt: skip
    for bad in bad_urls:
        with pytest.raises(Invalid):
            parse_router_url(bad)
    assert parse_user("A" * 80) == "A" * 80  # an OPNsense API key
    for bad in ("", "has space", "x" * 129, "tab\there"):
        with pytest.raises(Invalid):
            parse_user(bad)
    assert parse_path("/etc/ssl/opnsense.pem") == "/etc/ssl/opnsense.pem"
    for bad in ("relative.pem", "/etc/../x", "/a\nb"):
        with pytest.raises(Invalid):
            parse_path(bad)
    assert parse_lease("0") == 0 and parse_lease("3600") == 3600
    for bad in ("29", "604801", "-1", "1h"):
        with pytest.raises(Invalid):
            parse_lease(bad)


def test_the_url_must_name_the_main_router_and_a_ca_excludes_insecure(confdir: Path) -> None:
    set_options(
        confdir,
        main_router_control="openwrt",
        main_router_url="http://192.168.1.9",
        main_router_ca="/etc/ca.pem",
        main_router_insecure="1",
    )
    with pytest.raises(ConfigInvalid) as err:
        make_plan(Site.open(confdir), with_public=False)
    fields = {(p.field, p.message) for p in err.value.problems}
    assert ("main_router_url", "names 192.168.1.9, but the main router is 192.168.1.1: dualnat "
            "talks to the main router's LAN address only") in fields  # fmt: skip
    assert any(f == "main_router_insecure" for f, _ in fields)


def test_the_target_of_each_control(confdir: Path) -> None:
    plan = make_plan(Site.open(confdir), with_public=False)
    assert Target.of(plan.settings, plan.network) is None  # manual
    upnp = Target.of(plan.settings, plan.network, "upnp")
    assert upnp and (upnp.router, upnp.bypass, upnp.lease) == (ROUTER, BYPASS, 3600)
    assert upnp.renew_below == 2160
    opn = Target.of(plan.settings, plan.network, "opnsense")
    assert opn and opn.url == "https://192.168.1.1" and opn.renew_below is None
    assert Target.of(plan.settings, plan.network, "ikuai").url == "http://192.168.1.1"  # type: ignore[union-attr]


def test_the_api_clients_need_a_user_and_a_secret_and_never_show_it(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    target = Target("openwrt", ROUTER, BYPASS, "https://192.168.1.1:8443", None)
    with pytest.raises(RouterError) as err:
        client_for(target, store)
    assert err.value.manual and "main_router_user" in err.value.reason
    target = Target("openwrt", ROUTER, BYPASS, "https://192.168.1.1:8443", "root")
    with pytest.raises(RouterError, match=r"password .* is not set"):
        client_for(target, store)
    store.set("openwrt.password", "hunter2-secret")
    client = client_for(target, store)
    assert client.api.base == "https://192.168.1.1:8443" and client.api.verify is True
    assert "hunter2" not in repr(client) + str(vars(client))
    ca = Target("opnsense", ROUTER, BYPASS, "https://192.168.1.1", "KEY", ca="/nonexistent.pem")
    store.set("opnsense.secret", "s3")
    with pytest.raises(RouterError, match=r"/nonexistent\.pem"):
        client_for(ca, store)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    ok = client_for(
        Target("opnsense", ROUTER, BYPASS, "https://192.168.1.1", "KEY", str(tmp_path / "ca.pem")),
        store,
    )
    assert ok.api.verify == str(tmp_path / "ca.pem")
    loose = Target("ikuai", ROUTER, BYPASS, "http://192.168.1.1", "admin", insecure=True)
    store.set("ikuai.password", "pw")
    assert client_for(loose, store).api.verify is False
    upnp = client_for(Target("upnp", ROUTER, BYPASS, lease=600), store)
    assert (upnp.lan_ip, upnp.router, upnp.lease) == (BYPASS, ROUTER, 600)


# -- push, status, remove ------------------------------------------------------------------


def test_manual_pushes_nothing(confdir: Path, routers: Routers, capsys) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert code == 0 and "main_router_control is 'manual'" in out and routers.asked == []


def test_push_adds_then_changes_nothing_and_keeps_its_result(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="upnp")
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["kind"] == "upnp"
    assert {f["forward"]: f["state"] for f in data["forwards"]} == dict.fromkeys(
        ["nas_web", "game", "web", "office_ssh"], "added"
    )
    router = routers.made["upnp"]
    ports = sorted((e.protocols[0], e.external.first, e.target.first) for e in router.held)  # type: ignore[union-attr]
    assert ports == sorted(
        [("tcp", 8443, 8443), ("tcp", 80, 10080), ("tcp", 2222, 2222)]
        + [("udp", p, p) for p in range(27015, 27021)]
    )
    site = Site.open(confdir)
    assert read_record(site) == ("upnp", ROUTER)
    last = load_state(site)
    assert last and last.ok and last.kind == "upnp"
    assert all(o.lease and o.lease.requested == 3600 for o in last.outcomes)
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push", "--lang", "zh")
    assert code == 0 and out.count("已就位") == 4 and router.calls[-1] == "entries"


def test_a_refused_forward_fails_by_name_with_its_manual_steps(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="upnp")
    routers.made["upnp"] = FakeRouter(shape=UPNP, lease=3600, refuse={80: fault_error(606, "")})
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert code == 1
    assert (
        "web: failed: tcp 80: could not add it: the main router does not allow this mapping" in out
    )
    assert "Enter it by hand on the main router:" in out
    assert "10080" in out.split("web: failed")[1]  # the step names the bypass router's port
    code, out, _ = run(
        capsys, "--config-dir", str(confdir), "main-router", "push", "--json", "--lang", "ja"
    )
    web = next(f for f in json.loads(out)["forwards"] if f["forward"] == "web")
    assert web["state"] == "failed" and web["manual"] and "1024" in web["reason"]
    assert [s["id"] for s in web["steps"]] == ["forward.web"]
    assert "追加できませんでした" in web["reason"]


def test_status_shows_dualnats_entries_and_others_on_the_same_ports(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="upnp")
    routers.made["upnp"] = FakeRouter(
        shape=UPNP, lease=3600, held=[theirs(2222, tag="my ssh"), theirs(5000, tag="elsewhere")]
    )
    run(capsys, "--config-dir", str(confdir), "main-router", "push")
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "status")
    assert code == 1  # office_ssh cannot be pushed: port 2222 is someone else's
    assert "not dualnat's: 'my ssh'" not in out and "not dualnat's: my ssh: tcp 2222" in out
    assert "elsewhere" not in out  # another port: not shown
    assert "dualnat's 'nas_web': tcp 8443 → 192.168.1.2:8443 (lease: 3600 s left)" in out
    assert "Last push:" in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "status", "--json")
    data = json.loads(out)
    assert data["control"]["kind"] == "upnp" and data["last"]["ok"] is False
    assert {e["tag"] for e in data["live"]["held"] if not e["ours"]} == {"my ssh"}


def test_status_counts_the_pushed_ipv6_rule_as_in_place(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="openwrt", main_router_user="root")
    text = (
        (confdir / "dualnat")
        .read_text()
        .replace("\toption hairpin '1'\n", "\toption hairpin '1'\n\toption ipv6_suffix '::50'\n", 1)
    )
    (confdir / "dualnat").write_text(text)
    routers.made["openwrt"] = router = FakeFirewall(kind="openwrt")
    code, _, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert [(h.dest, h.tag) for h in router.holes] == [("::50/-64", "dualnat nas_web")]
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "status", "--json")
    live = json.loads(out)["live"]["forwards"]
    assert [f["state"] for f in live if "IPv6 tcp 443" in f["ports"]] == ["in_place"]
    assert code == 0  # everything in place, the IPv6 rule too
    assert router.holes and not any(c.startswith("delete h") for c in router.calls)


def test_remove_takes_only_dualnats_entries_and_stops_the_daemons_pushes(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="upnp")
    routers.made["upnp"] = FakeRouter(shape=UPNP, lease=3600, held=[theirs(5000)])
    run(capsys, "--config-dir", str(confdir), "main-router", "push")
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "remove")
    assert code == 0 and "removed" in out
    assert routers.made["upnp"].held == [theirs(5000)]
    site = Site.open(confdir)
    assert read_record(site) is None and is_off(site)
    run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert not is_off(site)


def test_switching_the_control_takes_the_entries_off_the_previous_router(
    confdir: Path, routers: Routers, capsys
) -> None:
    set_options(confdir, main_router_control="upnp")
    run(capsys, "--config-dir", str(confdir), "main-router", "push")
    text = (confdir / "dualnat").read_text().replace("'upnp'", "'manual'")
    (confdir / "dualnat").write_text(text)
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert code == 0 and "removed" in out and "'manual'" in out
    assert routers.made["upnp"].held == [] and read_record(Site.open(confdir)) is None


def test_an_invalid_config_is_exit_2(confdir: Path, routers: Routers, capsys) -> None:
    set_options(confdir, main_router_control="upnp", main_router_lease="5")
    code, _, err = run(capsys, "--config-dir", str(confdir), "main-router", "push")
    assert code == 2 and "main_router_lease" in err and routers.asked == []


def test_apply_pushes_and_revert_removes(confdir: Path, routers: Routers, capsys) -> None:
    set_options(confdir, main_router_control="upnp")
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply")
    assert code == 0 and "Main router (upnp, 192.168.1.1):" in out and "nas_web: added" in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply", "--no-push")
    assert "Main router" not in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "revert")
    assert code == 0 and "nas_web: removed" in out and routers.made["upnp"].held == []


# -- the secret ----------------------------------------------------------------------------


def test_the_secret_goes_to_a_root_only_file_and_is_never_printed(
    confdir: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    set_options(confdir, main_router_control="opnsense", main_router_user="KEY")
    monkeypatch.setattr("sys.stdin", io.StringIO("my-api-secret\n"))
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "secret")
    assert code == 0 and "my-api-secret" not in out and "opnsense" in out
    store = secret_store(Site.open(confdir))
    assert store.get("opnsense.secret").reveal() == "my-api-secret"  # type: ignore[union-attr]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert "my-api-secret" not in (confdir / "dualnat").read_text()
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "secret", "--clear")
    assert code == 0 and not store.is_set("opnsense.secret")


def test_the_state_file_round_trips(confdir: Path, routers: Routers) -> None:
    set_options(confdir, main_router_control="upnp")
    site = Site.open(confdir)
    routers.made["upnp"] = FakeRouter(shape=UPNP, lease=60, refuse={80: fault_error(606, "")})
    result = push_plan(site, make_plan(site, with_public=False))
    again = load_state(site)
    assert again is not None and again.outcomes == result.outcomes and again.held == result.held
    assert again.leases_renew_at() == pytest.approx(result.at + 30, abs=1)
    assert [o.state for o in again.outcomes].count(State.FAILED) == 1
    plan = make_plan(site, with_public=False)
    removed = remove_all(site, plan.settings, plan.network)
    assert removed and removed.ok and load_state(site).action == "remove"  # type: ignore[union-attr]


def test_the_control_kinds_are_the_model_values() -> None:
    assert KINDS == ("upnp", "openwrt", "opnsense", "ikuai")
    assert MainRouterControl.MANUAL.value == MANUAL


def test_apply_without_push_lets_the_daemon_push_again_after_revert(
    confdir: Path, routers: Routers, capsys
) -> None:
    """A reinstall: the removal's revert stopped the daemon's own pushes; the service's
    start applies with --no-push and leaves the push to the daemon, which must push."""
    set_options(confdir, main_router_control="upnp")
    run(capsys, "--config-dir", str(confdir), "revert")
    assert is_off(Site.open(confdir))
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply", "--no-push")
    assert code == 0 and "Main router" not in out and not is_off(Site.open(confdir))
