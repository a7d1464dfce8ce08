"""The plan's proxy items: made by the planner from what context reads (the proxies' UCI
configs, their files, the loaded ruleset on a system site, dualnat's state file), each
with its reason, shown by `plan`, `plan --json` and `apply --dry-run`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from plan_helpers import fwd, plan, proxies

from dualnat.cli import main
from dualnat.context import load_inputs, make_plan
from dualnat.model import ProxyCoexist
from dualnat.plan import ProxyExclusion
from dualnat.plan_text import describe, plan_text
from dualnat.proxies.entries import FileLine, NftInclude, UciEdit
from dualnat.proxies.inputs import state_text
from dualnat.site import Site
from dualnat.uci import FileBackend

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bypass-router"
PUBLIC = "198.51.100.7"
WEB = fwd("web", proto="tcpudp", external_port="8080")
OPENCLASH = "config openclash 'config'\n\toption enable '1'\n\toption en_mode 'fake-ip'\n"
NIKKI = (
    "config config 'config'\n\toption enabled '1'\n\nconfig proxy 'proxy'\n\toption enabled '1'\n"
)
HOMEPROXY_TUN = (
    "config homeproxy 'config'\n\toption main_node 'a'\n\toption proxy_mode 'tun'\n\n"
    "config homeproxy 'control'\n"
)
PASSWALL = "config global\n\toption enabled '1'\n"
DIRECT_IP = "/usr/share/passwall/rules/direct_ip"
RULESET = """table inet nikki {
\tchain dstnat {
\t\ttype nat hook prerouting priority dstnat + 1; policy accept;
\t}
}
"""


def item_of(p, key: str) -> ProxyExclusion:
    [item] = [i for i in p.of_kind(ProxyExclusion) if i.proxy == key]
    return item


def test_openclash_gets_the_public_address_in_its_wan_bypass_list() -> None:
    p = plan(WEB, proxies=proxies({"openclash": OPENCLASH}), public_address=PUBLIC)
    item = item_of(p, "openclash")
    wanted = UciEdit("openclash", "config", "wan_ac_black_ips", PUBLIC)
    assert item.entries == item.missing == (wanted,) and item.pending
    assert item.forward is None and item.where == "openclash.config.wan_ac_black_ips"
    assert item.activate == ("/etc/init.d/openclash restart",)
    assert (item.tcp, item.udp, item.fake_ip) == ("redirect", "tproxy", True)
    assert [x.id for x in item.reason_parts] == [
        "plan.proxy.on",
        "plan.proxy.inbound",
        "plan.proxy.hairpin.mangle",
        "plan.proxy.hairpin.added",
        "plan.proxy.replies_skipped",
        "plan.proxy.restart",
    ]
    assert "on all its ports, not only the forwarded ones" in item.reason
    assert describe(item) == (
        f"transparent proxy OpenClash: '{PUBLIC}' in openclash.config.wan_ac_black_ips"
    )
    # fake-ip: a warning names the filter (public_address is an address: no domain known)
    assert any(w[0].id == "plan.proxy.fake_ip" for w in p.warning_parts)


def test_applied_state_is_not_pending() -> None:
    wanted = UciEdit("openclash", "config", "wan_ac_black_ips", PUBLIC)
    text = OPENCLASH + f"\tlist wan_ac_black_ips '{PUBLIC}'\n"
    found = proxies({"openclash": text}, owned={"openclash": (wanted,)})
    item = item_of(plan(WEB, proxies=found, public_address=PUBLIC), "openclash")
    assert item.entries == (wanted,) and item.missing == () and not item.pending
    assert "plan.proxy.restart" not in [x.id for x in item.reason_parts]


def test_the_users_own_entry_is_not_touched() -> None:
    text = OPENCLASH + "\tlist wan_ac_black_ips '198.51.100.0/24'\n"
    item = item_of(
        plan(WEB, proxies=proxies({"openclash": text}), public_address=PUBLIC), "openclash"
    )
    assert item.entries == () and not item.pending
    assert "plan.proxy.hairpin.users" in [x.id for x in item.reason_parts]
    assert "(openclash.config.wan_ac_black_ips: 198.51.100.0/24, set by you)" in item.reason


def test_a_changed_public_address_removes_the_old_entry() -> None:
    old = UciEdit("nikki", "proxy", "reserved_ip", "198.51.100.99/32")
    text = NIKKI + "\tlist reserved_ip '198.51.100.99/32'\n"
    found = proxies({"nikki": text}, owned={"nikki": (old,)})
    item = item_of(plan(WEB, proxies=found, public_address=PUBLIC), "nikki")
    assert item.remove == (old,)
    assert item.entries == (UciEdit("nikki", "proxy", "reserved_ip", f"{PUBLIC}/32"),)
    assert describe(item).endswith("remove '198.51.100.99/32' in nikki.proxy.reserved_ip")


def test_homeproxy_tun_keeps_the_replies_away_with_an_include() -> None:
    found = proxies({"homeproxy": HOMEPROXY_TUN})
    item = item_of(plan(WEB, proxies=found, public_address=PUBLIC), "homeproxy")
    [include] = [e for e in item.entries if isinstance(e, NftInclude)]
    assert include.path.endswith("/mangle_prerouting/90-dualnat-homeproxy.nft")
    assert "192.168.1.50 . tcp . 8080, 192.168.1.50 . udp . 8080" in include.text
    assert "plan.proxy.replies_rule" in [x.id for x in item.reason_parts]
    # without hairpin the include is all it needs, and a firewall reload activates it
    item = item_of(plan(WEB, proxies=found), "homeproxy")
    assert [type(e) for e in item.entries] == [NftInclude]
    assert item.activate == ("fw4 reload",)


def test_passwall_direct_ip_line() -> None:
    found = proxies({"passwall": PASSWALL}, files={DIRECT_IP: "114.114.114.114\n"})
    item = item_of(plan(WEB, proxies=found, public_address=PUBLIC), "passwall")
    assert item.entries == (FileLine(DIRECT_IP, PUBLIC),)
    assert describe(item) == f"transparent proxy PassWall: the line {PUBLIC} in {DIRECT_IP}"


def test_passwall2_says_what_to_do_by_hand() -> None:
    p = plan(WEB, proxies=proxies({"passwall2": PASSWALL}), public_address=PUBLIC)
    item = item_of(p, "passwall2")
    assert item.entries == () and item.manual[0].why == "no_setting"
    [warning] = [w for w in p.warning_parts if w[0].id.startswith("plan.proxy.")]
    assert warning[0].id == "plan.proxy.manual.no_setting"
    assert f"a shunt rule with the IP {PUBLIC}/32" in warning[0].render()


def test_proxy_coexist_off_removes_what_dualnat_added_and_warns() -> None:
    old = UciEdit("openclash", "config", "wan_ac_black_ips", PUBLIC)
    text = OPENCLASH + f"\tlist wan_ac_black_ips '{PUBLIC}'\n"
    found = proxies({"openclash": text}, owned={"openclash": (old,)})
    p = plan(WEB, proxies=found, public_address=PUBLIC, proxy_coexist=ProxyCoexist.OFF)
    item = item_of(p, "openclash")
    assert item.entries == () and item.remove == (old,) and item.pending
    assert item.reason_parts[0].id == "plan.proxy.removed.off"
    assert any(w[0].id == "plan.proxy.coexist_off" for w in p.warning_parts)
    clean = plan(WEB, proxies=proxies({"openclash": OPENCLASH}), proxy_coexist=ProxyCoexist.OFF)
    assert clean.of_kind(ProxyExclusion) == []


def test_a_proxy_that_is_not_running_is_not_restarted_for_a_removal() -> None:
    old = UciEdit("openclash", "config", "wan_ac_black_ips", PUBLIC)
    off = (
        "config openclash 'config'\n\toption enable '0'\n" + f"\tlist wan_ac_black_ips '{PUBLIC}'\n"
    )
    found = proxies({"openclash": off}, owned={"openclash": (old,)}, ruleset="")
    item = item_of(plan(WEB, proxies=found, public_address=PUBLIC), "openclash")
    assert item.reason_parts[0].id == "plan.proxy.removed.gone"
    assert item.remove == (old,) and item.activate == ()


def test_dualnat_disabled_plans_no_proxy_item() -> None:
    found = proxies({"openclash": OPENCLASH})
    assert plan(WEB, proxies=found, public_address=PUBLIC, enabled=False).items == ()


def test_plan_json_has_the_entries_with_their_type() -> None:
    p = plan(WEB, proxies=proxies({"homeproxy": HOMEPROXY_TUN}), public_address=PUBLIC)
    data = p.to_dict("zh")
    [item] = [i for i in data["items"] if i["kind"] == "proxy"]
    assert [e["type"] for e in item["entries"]] == ["uci", "include"]
    assert item["missing"] == item["entries"] and item["remove"] == []
    assert "homeproxy" in item["reason"] and "回流连接" in item["reason"]
    assert data["proxies"][0]["proxy"] == "homeproxy" and data["proxies"][0]["enabled"]
    assert "透明代理 homeproxy" in plan_text(p, "zh")


# -- through a config folder: context reads the proxies ------------------------------------


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def test_context_reads_configs_files_and_state(confdir: Path) -> None:
    (confdir / "passwall").write_text(PASSWALL)
    site = Site.open(confdir)
    root = site.path(DIRECT_IP)
    root.parent.mkdir(parents=True)
    root.write_text(f"{PUBLIC}\n")  # the user's own line
    inputs, _ = load_inputs(site)
    [found] = inputs.proxies.detected
    assert found.proxy.key == "passwall" and found.enabled and not found.running
    assert not inputs.proxies.ruleset_read  # off the router: no ruleset
    assert inputs.proxies.files[DIRECT_IP] == f"{PUBLIC}\n"
    item = item_of(make_plan(site, lambda _: None), "passwall")
    assert item.entries == () and "plan.proxy.hairpin.users" in [x.id for x in item.reason_parts]


def test_context_reads_the_ruleset_on_a_system_site(confdir: Path) -> None:
    (confdir / "nikki").write_text(NIKKI)
    seen: list[list[str]] = []

    def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        out = RULESET if argv[:2] == ["nft", "list"] else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    site = Site(FileBackend(confdir), confdir / ".dualnat", run=run, system=True)
    inputs, _ = load_inputs(site)
    assert ["nft", "list", "ruleset"] in seen and inputs.proxies.ruleset_read
    [found] = inputs.proxies.detected
    assert found.running and found.enabled


def test_a_broken_state_file_is_reported_and_counts_as_empty(confdir: Path) -> None:
    (confdir / "openclash").write_text(OPENCLASH)
    site = Site.open(confdir)
    site.proxy_state.parent.mkdir(parents=True)
    site.proxy_state.write_text("{not json")
    inputs, _ = load_inputs(site)
    assert "not JSON" in inputs.proxies.state_problem and inputs.proxies.owned == {}
    site.proxy_state.write_text(
        state_text({"openclash": [UciEdit("openclash", "config", "x", "y")]})
    )
    inputs, _ = load_inputs(site)
    assert inputs.proxies.owned == {"openclash": (UciEdit("openclash", "config", "x", "y"),)}


def test_plan_and_dry_run_show_the_proxy_item(capsys, confdir: Path) -> None:
    (confdir / "openclash").write_text(OPENCLASH)
    assert main(["--config-dir", str(confdir), "plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [item] = [i for i in data["items"] if i["kind"] == "proxy"]
    assert item["entries"] == [
        {"type": "uci", "config": "openclash", "section": "config",
         "option": "wan_ac_black_ips", "value": PUBLIC}
    ]  # fmt: skip
    assert main(["--config-dir", str(confdir), "plan", "--lang", "ja"]) == 0
    assert "透過プロキシ OpenClash" in capsys.readouterr().out
    assert main(["--config-dir", str(confdir), "apply", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"+\tlist wan_ac_black_ips '{PUBLIC}'" in out and "--- a/openclash" in out
    assert not (confdir / ".dualnat" / "proxies.json").exists()
