"""Whether the bypass router's firewall drops invalid forwarded packets (invalid_drop.py):
firewall4's option, and the loaded nft or iptables rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dualnat import invalid_drop
from dualnat.uci import Document

RENDERS = Path(__file__).resolve().parents[1] / "lab" / "fw4_renders"

FW4_FORWARD = """table inet fw4 {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state vmap { established : accept, related : accept{drop} } comment "!fw4: flows"
		iifname "br-lan" jump forward_lan comment "!fw4: Handle lan IPv4/IPv6 forward traffic"
	}
	chain forward_lan {
		jump accept_to_lan
	}
	chain accept_to_lan {
		oifname "br-lan" counter packets 0 bytes 0 accept
	}
}
"""


def nft(drop: bool) -> str:
    return FW4_FORWARD.replace("{drop}", ", invalid : drop" if drop else "")


def test_firewall4_option() -> None:
    doc = Document.parse(
        "config defaults\n\toption input 'ACCEPT'\n\toption drop_invalid '1'\n", "/x/firewall"
    )
    assert invalid_drop.from_firewall_config(doc) == (
        "/x/firewall: config defaults: option drop_invalid '1'"
    )
    for text in ("config defaults\n\toption drop_invalid '0'\n", "config defaults\n", ""):
        assert invalid_drop.from_firewall_config(Document.parse(text)) is None


def test_firewall4s_vmap_in_its_forward_chain() -> None:
    found = invalid_drop.from_nft(nft(drop=True))
    assert found is not None and found.startswith("nft table inet fw4, chain forward: ct state")
    assert invalid_drop.from_nft(nft(drop=False)) is None


@pytest.mark.parametrize(
    "rule",
    [
        "ct state invalid drop",
        "ct state invalid counter packets 3 bytes 180 drop",
        "ct state { invalid, untracked } drop",
        'ct state invalid drop comment "mine"',
    ],
)
def test_a_drop_rule_in_a_chain_the_forward_hook_jumps_to(rule: str) -> None:
    text = nft(drop=False).replace("jump accept_to_lan", f"{rule}\n\t\tjump accept_to_lan")
    found = invalid_drop.from_nft(text)
    assert found is not None and "chain forward_lan" in found


@pytest.mark.parametrize(
    "text",
    [
        # accepting invalid packets is not dropping them
        nft(drop=False).replace("jump accept_to_lan", "ct state invalid accept"),
        # the input hook is not the forward path
        nft(drop=True).replace("hook forward", "hook input"),
        # a chain nothing jumps to
        nft(drop=False) + "table inet x {\n\tchain lonely {\n\t\tct state invalid drop\n\t}\n}\n",
        # IPv6 only
        nft(drop=True).replace("table inet fw4", "table ip6 fw6"),
    ],
)
def test_what_is_not_a_drop_on_the_ipv4_forward_path(text: str) -> None:
    assert invalid_drop.from_nft(text) is None


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in (RENDERS / "dualnat").iterdir() if p.is_dir())
)
def test_the_option_and_real_firewall4_renders_agree(folder: str) -> None:
    """Each recorded config (firewall + what real fw4 printed for it): the option says
    drop exactly when the render drops; the recordings hold both cases."""
    base = RENDERS / "dualnat" / folder
    firewall = Document.parse((base / "firewall").read_text(), str(base / "firewall"))
    by_option = invalid_drop.from_firewall_config(firewall)
    by_render = invalid_drop.from_nft((base / "fw4-print.nft").read_text())
    assert (by_option is None) is (by_render is None)
    assert (by_render is None) is (folder == "example-ikuai")


IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:forwarding_rule - [0:0]
:zone_lan_forward - [0:0]
-A FORWARD -m comment --comment "!fw3: Custom forwarding rule chain" -j forwarding_rule
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i br-lan -j zone_lan_forward
{rule}
COMMIT
"""


@pytest.mark.parametrize(
    ("rule", "found"),
    [
        ("-A FORWARD -m conntrack --ctstate INVALID -j DROP", True),
        ("-A zone_lan_forward -m state --state INVALID -j DROP", True),
        ("-A zone_lan_forward -m conntrack --ctstate INVALID,UNTRACKED -j DROP", True),
        ("-A INPUT -m conntrack --ctstate INVALID -j DROP", False),
        ("-A FORWARD -m conntrack --ctstate INVALID -j ACCEPT", False),
        ("-A FORWARD -m conntrack --ctstate NEW -j DROP", False),
    ],
)
def test_iptables(rule: str, found: bool) -> None:
    text = IPT.replace("{rule}", rule)
    result = invalid_drop.from_iptables(text)
    assert (result is not None) is found
    if found:
        assert result is not None and result.startswith("iptables -t filter -A ")


def fake_run(outputs: dict[str, str | None]):
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        out = outputs.get(argv[0])
        if out is None:
            raise FileNotFoundError(argv[0])
        return subprocess.CompletedProcess(argv, 0, out, "")

    return run, calls


def test_the_running_system_nft_first_then_iptables() -> None:
    run, calls = fake_run({"nft": nft(drop=True), "iptables-save": None})
    assert invalid_drop.from_running_system(run) is not None
    assert calls == [["nft", "list", "ruleset"]]
    ipt = IPT.replace("{rule}", "-A FORWARD -m conntrack --ctstate INVALID -j DROP")
    run, calls = fake_run({"nft": None, "iptables-save": ipt})
    assert invalid_drop.from_running_system(run) is not None
    assert calls == [["nft", "list", "ruleset"], ["iptables-save", "-t", "filter"]]
    run, _ = fake_run({})
    assert invalid_drop.from_running_system(run) is None
