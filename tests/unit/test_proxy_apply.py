"""apply's proxy step and revert: dualnat's entries written into the proxies' settings, its
state file (persistent), the proxies' restarts, all or nothing with the firewall and DHCP
configs; revert removes exactly what dualnat added."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dualnat.apply import apply_plan, revert
from dualnat.context import make_plan
from dualnat.errors import ApplyError
from dualnat.proxies.entries import MARK_LINE
from dualnat.site import ROUTER_PERSIST_DIR, Site
from dualnat.uci import FileBackend

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PUBLIC = "198.51.100.7"  # the fixture router's public_address
OPENCLASH = """# OpenClash, as LuCI saved it
config openclash 'config'
\toption enable '1'
\toption en_mode 'redir-host-tun'
\tlist wan_ac_black_ips '1.2.3.4'
"""
HOMEPROXY = """config homeproxy 'config'
\toption main_node 'node1'
\toption proxy_mode 'tun'

config homeproxy 'control'
\toption lan_proxy_mode 'disabled'
"""
PASSWALL = "config global\n\toption enabled '1'\n"
DIRECT_IP = "/usr/share/passwall/rules/direct_ip"
INCLUDE = "/usr/share/nftables.d/chain-pre/mangle_prerouting/90-dualnat-homeproxy.nft"
PROXIES = {"openclash": OPENCLASH, "homeproxy": HOMEPROXY, "passwall": PASSWALL}


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", d)
    for name, text in PROXIES.items():
        (d / name).write_text(text)
    return d


class Runs:
    """A `run` for a system site: records the commands; `fail` makes one fail; `nft list
    ruleset` answers with the proxies' tables as if they ran."""

    def __init__(self, fail: str = "") -> None:
        self.calls: list[str] = []
        self.fail = fail

    def __call__(self, argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        command = " ".join(argv)
        if argv[0] not in ("nft", "iptables-save", "ip"):  # reading rules and tables
            self.calls.append(command)
        code = 1 if self.fail and command == self.fail else 0
        return subprocess.CompletedProcess(argv, code, RULESET if argv[0] == "nft" else "", "no")


RULESET = """table inet fw4 {
\tchain openclash_mangle {
\t\tmeta l4proto { tcp, udp } counter meta mark set 0x162
\t}
\tchain mangle_prerouting {
\t\ttype filter hook prerouting priority mangle; policy accept;
\t\tjump openclash_mangle
\t}
}
table inet passwall {
\tchain mangle_prerouting {
\t\ttype filter hook prerouting priority mangle - 1; policy accept;
\t}
}
"""


def site_for(confdir: Path, run: Runs | None = None, **kw: object) -> Site:
    system = run is not None
    return Site(
        FileBackend(confdir),
        confdir / ".dualnat",
        run=run or subprocess.run,
        system=system,
        reload_cmd=["fw4", "reload"] if system else None,
        **kw,  # type: ignore[arg-type]
    )


def snapshot(site: Site) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for name in (*PROXIES, "firewall", "dhcp"):
        out[name] = (site.config_dir / name).read_bytes()
    for path in (DIRECT_IP, INCLUDE):
        target = site.path(path)
        out[path] = target.read_bytes() if target.exists() else None
    return out


def test_state_lives_where_a_reboot_keeps_it(tmp_path: Path) -> None:
    assert Site.open(tmp_path).proxy_state == tmp_path / ".dualnat" / "proxies.json"
    assert Path("/etc/dualnat") == ROUTER_PERSIST_DIR  # not /tmp: the router keeps /etc
    router = Site(FileBackend(tmp_path), Path("/tmp/dualnat"), persist_dir=ROUTER_PERSIST_DIR)
    assert router.proxy_state == Path("/etc/dualnat/proxies.json")


def test_apply_writes_the_entries_and_the_state_and_revert_removes_exactly_them(
    confdir: Path,
) -> None:
    site = site_for(confdir)
    direct = site.path(DIRECT_IP)
    direct.parent.mkdir(parents=True)
    direct.write_text("# direct IPs\n114.114.114.114\n")
    before = snapshot(site)
    result = apply_plan(make_plan(site), site)
    assert result.changed and set(result.files or []) == {DIRECT_IP, INCLUDE}
    assert f"\tlist wan_ac_black_ips '{PUBLIC}'\n" in (confdir / "openclash").read_text()
    assert (confdir / "openclash").read_text().startswith(OPENCLASH)  # the rest as it was
    assert f"\tlist wan_direct_ipv4_ips '{PUBLIC}'\n" in (confdir / "homeproxy").read_text()
    assert direct.read_text() == f"# direct IPs\n114.114.114.114\n{MARK_LINE}\n{PUBLIC}\n"
    assert "ct direction reply ct status dnat" in site.path(INCLUDE).read_text()
    state = json.loads(site.proxy_state.read_text())
    assert sorted(state["proxies"]) == ["homeproxy", "openclash", "passwall"]
    assert any("skipped" in m and "openclash restart" in m for m in result.messages)
    # idempotent: nothing more to do, and the plan says it is in place
    again = apply_plan(make_plan(site), site)
    assert not again.changed
    assert revert(site).changed
    assert snapshot(site) == before
    assert not site.proxy_state.exists()


def test_the_users_entries_stay_through_apply_and_revert(confdir: Path) -> None:
    text = OPENCLASH + f"\tlist wan_ac_black_ips '{PUBLIC}'\n"  # the user's, not dualnat's
    (confdir / "openclash").write_text(text)
    site = site_for(confdir)
    apply_plan(make_plan(site), site)
    assert (confdir / "openclash").read_text() == text
    assert "openclash" not in json.loads(site.proxy_state.read_text())["proxies"]
    revert(site)
    assert (confdir / "openclash").read_text() == text


def test_a_new_public_address_takes_the_old_entry_out_first(confdir: Path) -> None:
    site = site_for(confdir)
    apply_plan(make_plan(site), site)
    dualnat = confdir / "dualnat"
    dualnat.write_text(dualnat.read_text().replace(PUBLIC, "198.51.100.8"))
    apply_plan(make_plan(site), site)
    text = (confdir / "openclash").read_text()
    assert PUBLIC not in text and "list wan_ac_black_ips '198.51.100.8'" in text
    assert PUBLIC not in site.path(DIRECT_IP).read_text()
    state = json.loads(site.proxy_state.read_text())
    assert PUBLIC not in json.dumps(state) and "198.51.100.8" in json.dumps(state)


def test_proxy_coexist_off_removes_what_dualnat_added(confdir: Path) -> None:
    site = site_for(confdir)
    apply_plan(make_plan(site), site)
    dualnat = confdir / "dualnat"
    text = dualnat.read_text().replace(
        "config dualnat 'main'\n", "config dualnat 'main'\n\toption proxy_coexist 'off'\n"
    )
    dualnat.write_text(text)
    apply_plan(make_plan(site), site)
    assert (confdir / "openclash").read_text() == OPENCLASH
    assert (confdir / "homeproxy").read_text() == HOMEPROXY
    assert not site.path(INCLUDE).exists() and not site.proxy_state.exists()


def test_on_the_router_the_running_proxies_are_restarted(confdir: Path) -> None:
    runs = Runs()
    site = site_for(confdir, runs)
    result = apply_plan(make_plan(site), site)
    # firewall4 reloads for the firewall config; OpenClash and PassWall run (their rules
    # are loaded) and restart once each; homeproxy is only switched on: not started by
    # dualnat (it reads its settings when it starts), but its include needs firewall4
    assert runs.calls == [
        "fw4 reload",
        "/etc/init.d/openclash restart",
        "/etc/init.d/passwall restart",
        "fw4 reload",
    ]
    assert "ran /etc/init.d/openclash restart" in result.messages
    runs.calls.clear()
    apply_plan(make_plan(site), site)
    assert runs.calls == []  # nothing changed: nothing restarted
    revert(site)
    assert "/etc/init.d/openclash restart" in runs.calls


def test_a_failing_restart_puts_everything_back(confdir: Path) -> None:
    runs = Runs(fail="/etc/init.d/passwall restart")
    site = site_for(confdir, runs)
    before = snapshot(site)
    with pytest.raises(ApplyError, match=r"passwall restart failed.*restored"):
        apply_plan(make_plan(site), site)
    assert snapshot(site) == before  # firewall, proxies' configs and files
    assert not site.proxy_state.exists()
    # the proxies already restarted were restarted again with their old settings,
    # and the firewall reloaded after its config came back
    assert runs.calls.count("/etc/init.d/openclash restart") == 2
    assert runs.calls[-1] == "fw4 reload"


def test_dry_run_shows_the_proxies_changes_and_writes_nothing(confdir: Path) -> None:
    site = site_for(confdir)
    before = snapshot(site)
    result = apply_plan(make_plan(site), site, dry_run=True)
    assert f"+\tlist wan_ac_black_ips '{PUBLIC}'" in result.diff
    assert f"+++ b{INCLUDE}" in result.diff and f"+{PUBLIC}" in result.diff
    assert "would run: /etc/init.d/openclash restart" in result.messages
    assert snapshot(site) == before and not site.proxy_state.exists()


def test_an_unreadable_state_file_stops_apply(confdir: Path) -> None:
    site = site_for(confdir)
    site.proxy_state.parent.mkdir(parents=True)
    site.proxy_state.write_text("[]")
    firewall = (confdir / "firewall").read_bytes()
    with pytest.raises(ApplyError, match=r"proxies\.json cannot be read"):
        apply_plan(make_plan(site), site)
    assert (confdir / "firewall").read_bytes() == firewall
