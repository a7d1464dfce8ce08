"""The exclusion dualnat plans per proxy: what it adds, that the revert removes exactly
that, that the user's own entries stay, and what it says."""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import IPv4Address

import pytest
from plan_helpers import fwd, plan

from dualnat.model import PortRange
from dualnat.proxies.catalog import PROXIES, Capture, Mode
from dualnat.proxies.detect import Detected
from dualnat.proxies.exclude import (
    MARK,
    MARK_LINE,
    FileLine,
    ForwardFacts,
    LeftAlone,
    Manual,
    NftInclude,
    UciEdit,
    add_file_lines,
    facts_from_plan,
    owned_from_state,
    plan_exclusion,
    remove_file_lines,
)
from dualnat.uci import AddListItem, DeleteListItem, Document

PUBLIC = IPv4Address("11.0.0.1")
R, T, U = Capture.REDIRECT, Capture.TPROXY, Capture.TUN
FACTS = (
    ForwardFacts(
        "nas",
        ("tcp", "udp"),
        (PortRange(8443, 8443),),
        IPv4Address("192.168.1.50"),
        PortRange(443, 443),
        PUBLIC,
        PortRange(8443, 8443),
    ),
    ForwardFacts(
        "games",
        ("udp",),
        (PortRange(27015, 27030),),
        IPv4Address("192.168.1.52"),
        PortRange(27015, 27030),
        PUBLIC,
        PortRange(27015, 27030),
    ),
)
NO_HAIRPIN = tuple(
    ForwardFacts(f.name, f.protos, f.relay_ports, f.device, f.device_ports) for f in FACTS
)
OPENCLASH = "config openclash 'config'\n\toption enable '1'\n\tlist wan_ac_black_ips '1.2.3.4'\n"
HOMEPROXY = "config homeproxy 'config'\n\toption main_node 'a'\n\nconfig homeproxy 'control'\n"
NIKKI = "config proxy 'proxy'\n\toption enabled '1'\n\tlist reserved_ip '192.168.0.0/16'\n"
DIRECT_IP = "# direct\n114.114.114.114\n"


def detected(key: str, mode: Mode) -> Detected:
    return Detected(PROXIES[key], True, True, True, mode, mode.captures, ())


def test_facts_from_a_plan() -> None:
    the_plan = plan(
        fwd("web", external_port="80", internal_port="8080"),
        fwd("games", proto="tcpudp", external_port="27015-27030", internal_ip="192.168.1.52"),
        public_address=str(PUBLIC),
    )
    web, games = facts_from_plan(the_plan)
    assert web.name == "web" and web.protos == ("tcp",)
    assert web.relay_ports != (PortRange(80, 80),)  # 80 is this router's own: relayed
    assert web.device_ports == PortRange(8080, 8080) and web.external_ports == PortRange(80, 80)
    assert games.relay_ports == (PortRange(27015, 27030),) and games.protos == ("tcp", "udp")
    assert games.public_ip == PUBLIC and games.device == IPv4Address("192.168.1.52")


def _apply_and_revert(key: str, mode: Mode, text: str) -> tuple[str, list[object]]:
    excl = plan_exclusion(detected(key, mode), FACTS, config_text=text)
    doc = Document.parse(text)
    changes = excl.changes()[key]
    doc.apply(changes)
    changed = doc.serialize()
    doc.apply(excl.revert()[key])
    assert doc.serialize() == text  # the revert removes exactly what was added
    return changed, changes


def test_openclash_hairpin_in_its_wan_bypass_list() -> None:
    changed, changes = _apply_and_revert("openclash", Mode(R, T, fake_ip=True), OPENCLASH)
    assert changes == [AddListItem("config", "wan_ac_black_ips", "11.0.0.1")]
    assert "list wan_ac_black_ips '1.2.3.4'" in changed  # the user's entry stays
    excl = plan_exclusion(detected("openclash", Mode(R, T)), FACTS, config_text=OPENCLASH)
    assert excl.activate == ("/etc/init.d/openclash restart",)
    assert not excl.includes  # OpenClash skips conntrack replies itself
    assert excl.survives is not None and excl.survives.restart and excl.survives.reboot


@pytest.mark.parametrize("entry", ["11.0.0.1", "11.0.0.0/24", "11.0.0.1/32"])
def test_users_own_entry_is_left_alone(entry: str) -> None:
    text = f"config openclash 'config'\n\tlist wan_ac_black_ips '{entry}'\n"
    excl = plan_exclusion(detected("openclash", Mode(U, U)), FACTS, config_text=text)
    assert excl.empty and excl.activate == ()
    assert excl.left_alone == (LeftAlone(PUBLIC, entry, "openclash.config.wan_ac_black_ips"),)
    assert excl.hairpin == (PUBLIC,)  # kept away, by the user's entry


def test_a_new_public_address_replaces_dualnats_old_one() -> None:
    old = UciEdit("openclash", "config", "wan_ac_black_ips", "11.0.0.9")
    text = OPENCLASH + "\tlist wan_ac_black_ips '11.0.0.9'\n"
    excl = plan_exclusion(detected("openclash", Mode(R, T)), FACTS, config_text=text, owned=[old])
    assert excl.changes()["openclash"] == [
        DeleteListItem("config", "wan_ac_black_ips", "11.0.0.9"),
        AddListItem("config", "wan_ac_black_ips", "11.0.0.1"),
    ]
    same = plan_exclusion(
        detected("openclash", Mode(R, T)),
        FACTS,
        config_text=OPENCLASH + "\tlist wan_ac_black_ips '11.0.0.1'\n",
        owned=excl.owned,
    )
    assert same.stale == () and same.owned == excl.owned  # ours, not the user's


def test_passwall_direct_ip_line() -> None:
    excl = plan_exclusion(
        detected("passwall", Mode(R, T)),
        FACTS,
        config_text="config global\n",
        files={"/usr/share/passwall/rules/direct_ip": DIRECT_IP},
    )
    [line] = excl.files
    assert line == FileLine("/usr/share/passwall/rules/direct_ip", "11.0.0.1")
    assert not excl.uci and excl.where == line.path
    written = add_file_lines(DIRECT_IP, excl.files)
    # the mark is a line of its own: PassWall splits the file into words
    assert written == DIRECT_IP + MARK_LINE + "\n11.0.0.1\n"
    assert not any(c.isdigit() for c in MARK_LINE)  # its IPv4 grep drops the mark
    assert add_file_lines(written, excl.files) == written  # once
    assert remove_file_lines(written, excl.files) == DIRECT_IP
    assert excl.undo_by_hand()[0] == (
        f"sed -i '/^{MARK}/{{N;d}}' /usr/share/passwall/rules/direct_ip"
    )
    again = plan_exclusion(
        detected("passwall", Mode(R, T)), FACTS, files={line.path: written}, owned=excl.owned
    )
    assert again.files == excl.files and again.left_alone == ()  # ours, not the user's
    mine = plan_exclusion(
        detected("passwall", Mode(T, T)),
        FACTS,
        files={"/usr/share/passwall/rules/direct_ip": DIRECT_IP + "11.0.0.1\n"},
    )
    assert mine.empty and mine.left_alone[0].entry == "11.0.0.1"


def test_homeproxy_tun_gets_the_reply_rule_too() -> None:
    changed, changes = _apply_and_revert("homeproxy", Mode(U, U), HOMEPROXY)
    assert changes == [AddListItem("control", "wan_direct_ipv4_ips", "11.0.0.1")]
    assert "list wan_direct_ipv4_ips '11.0.0.1'" in changed
    excl = plan_exclusion(detected("homeproxy", Mode(U, U)), FACTS, config_text=HOMEPROXY)
    [include] = excl.includes
    assert (
        include.path == "/usr/share/nftables.d/chain-pre/mangle_prerouting/90-dualnat-homeproxy.nft"
    )
    assert "192.168.1.50 . tcp . 443, 192.168.1.50 . udp . 443" in include.text
    assert "192.168.1.52 . udp . 27015-27030" in include.text
    assert "ct direction reply ct status dnat" in include.text and " accept " in include.text
    assert excl.activate == ("/etc/init.d/homeproxy restart",)
    assert excl.undo_by_hand()[-2:] == ("uci commit homeproxy", "/etc/init.d/homeproxy restart")


def test_homeproxy_redirect_only_needs_no_reply_rule() -> None:
    excl = plan_exclusion(detected("homeproxy", Mode(R, None)), FACTS, config_text=HOMEPROXY)
    assert not excl.includes and len(excl.uci) == 1


def test_no_hairpin_no_address_but_replies_still_kept_away() -> None:
    oc = plan_exclusion(detected("openclash", Mode(U, U)), NO_HAIRPIN, config_text=OPENCLASH)
    assert oc.empty and oc.survives is None
    hp = plan_exclusion(detected("homeproxy", Mode(R, T)), NO_HAIRPIN, config_text=HOMEPROXY)
    assert not hp.uci and len(hp.includes) == 1 and hp.activate == ("fw4 reload",)


def test_missing_section_is_said_not_invented() -> None:
    text = "config homeproxy 'config'\n\toption main_node 'a'\n"
    excl = plan_exclusion(detected("homeproxy", Mode(R, None)), FACTS, config_text=text)
    assert not excl.uci and excl.manual == (Manual("no_section", "homeproxy.control"),)


def test_nikki_reserved_ip_as_a_network() -> None:
    changed, changes = _apply_and_revert("nikki", Mode(T, T), NIKKI)
    assert changes == [AddListItem("proxy", "reserved_ip", "11.0.0.1/32")]
    assert changed.index("192.168.0.0/16") < changed.index("11.0.0.1/32")  # appended


def test_fake_ip_names_the_domain() -> None:
    excl = plan_exclusion(
        detected("openclash", Mode(R, T, fake_ip=True)),
        FACTS,
        config_text=OPENCLASH,
        public_name="home.example.net",
    )
    assert excl.fake_ip and excl.public_name == "home.example.net"
    plain = plan_exclusion(detected("openclash", Mode(R, T)), FACTS, config_text=OPENCLASH)
    assert not plain.fake_ip
    no_hairpin = plan_exclusion(
        detected("openclash", Mode(R, T, fake_ip=True)), NO_HAIRPIN, config_text=OPENCLASH
    )
    assert not no_hairpin.fake_ip


def test_passwall2_has_no_setting_for_it() -> None:
    excl = plan_exclusion(detected("passwall2", Mode(R, T)), FACTS, config_text="config global\n")
    assert excl.empty and excl.manual == (Manual("no_setting"),)


def test_proxy_off_or_no_forwards_removes_what_dualnat_added() -> None:
    old = (FileLine("/usr/share/passwall/rules/direct_ip", "11.0.0.1"),)
    excl = plan_exclusion(detected("passwall", Mode(R, T)), (), owned=old)
    assert excl.stale == old and excl.activate == ("/etc/init.d/passwall restart",)


def test_state_entries_round_trip() -> None:
    excl = plan_exclusion(detected("homeproxy", Mode(U, U)), FACTS, config_text=HOMEPROXY)
    excl_pw = plan_exclusion(
        detected("passwall", Mode(R, T)), FACTS, files={"/usr/share/passwall/rules/direct_ip": ""}
    )
    for entry in (*excl.owned, *excl_pw.owned):
        assert owned_from_state(entry.to_state()) == entry
    assert owned_from_state({"type": "uci", "config": "x"}) is None
    assert owned_from_state({"type": "file", "path": 1, "line": "x"}) is None
    assert owned_from_state(["uci"]) is None


@pytest.mark.skipif(
    not shutil.which("nft") or os.geteuid() != 0, reason="needs nft and root to check syntax"
)
def test_reply_rule_is_valid_nft() -> None:
    excl = plan_exclusion(detected("homeproxy", Mode(U, U)), FACTS, config_text=HOMEPROXY)
    include: NftInclude = excl.includes[0]
    script = (
        "table inet dualnat_syntax_check {\n chain mangle_prerouting {\n"
        "  type filter hook prerouting priority mangle; policy accept;\n" + include.text + " }\n}\n"
    )
    proc = subprocess.run(["nft", "-c", "-f", "-"], input=script, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
