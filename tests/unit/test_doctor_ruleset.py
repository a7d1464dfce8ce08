"""Which rules are loaded: recorded `nft list ruleset` / `iptables-save` from the lab."""

from __future__ import annotations

import pytest
from doctor_data import RICH_FORWARDS, fwd, make_plan, recorded, rich_plan

from dualnat.doctor import ruleset
from dualnat.doctor.ruleset import Sources, canonical_ipt, check, elements, tables
from dualnat.model import MasqueradeMode, TargetGateway
from dualnat.render import nft

NFT = "nft_dualnat.nft_list_ruleset.txt"
FW4 = "fw4.nft_list_ruleset.txt"
IPT_NFT = "iptables.nft_list_ruleset.txt"  # what `nft list ruleset` shows with iptables-nft
IPT = "iptables.iptables_save.txt"


def missing(result: ruleset.Ruleset) -> dict[str, tuple[str, ...]]:
    return {name: c.missing for name, c in result.forwards.items() if c.missing}


@pytest.mark.parametrize(
    ("sources", "kind"),
    [
        (Sources(recorded(NFT), ""), "nft"),
        (Sources(recorded(FW4), None), "fw4"),
        (Sources(recorded(IPT_NFT), recorded(IPT)), "iptables"),
        (Sources(None, recorded(IPT)), "iptables"),
    ],
)
def test_recorded_rulesets_have_every_rule(sources: Sources, kind: str) -> None:
    plan = rich_plan()
    result = check(plan, sources)
    assert (result.kind, result.loaded) == (kind, (kind,))
    assert set(result.forwards) == {f.name for f in RICH_FORWARDS}
    assert missing(result) == {}
    assert all(len(c.expected) >= 3 for c in result.forwards.values())
    assert result.masquerade is not None and result.masquerade.ok


def test_iptables_nft_tables_alone_are_not_dualnat_nft() -> None:
    result = check(rich_plan(), Sources(recorded(IPT_NFT), ""))
    assert result.kind == "none" and result.loaded == ()
    assert all(c.missing == c.expected for c in result.forwards.values())
    assert any("DNAT tcp 192.168.1.2:8081" in m for m in result.forwards["web"].missing)


def test_unreadable_rules() -> None:
    result = check(rich_plan(), Sources(None, None))
    assert result.kind == "unknown" and result.forwards == {}


def test_nft_element_missing_for_one_forward() -> None:
    text = recorded(NFT)
    element = "0.0.0.0/0 . 192.168.1.2 . tcp . 8082 : 192.168.1.51 . 9002"
    assert element in text
    result = check(
        rich_plan(),
        Sources(
            text.replace(element, "0.0.0.0/0 . 192.168.1.2 . tcp . 18082 : 192.168.1.51 . 9002"), ""
        ),
    )
    assert list(missing(result)) == ["cam"]
    assert result.forwards["cam"].missing == (f"nft inet dualnat map dnat_to_port: {element}",)


def test_nft_rule_on_the_wrong_device_is_missing() -> None:
    text = recorded(NFT).replace('iifname "lan0"', 'iifname "br-lan"')
    result = check(rich_plan(), Sources(text, ""))
    assert set(missing(result)) == {f.name for f in RICH_FORWARDS}
    assert all("@dnat_" in m for c in result.forwards.values() for m in c.missing)


def test_fw4_rule_missing_and_changed() -> None:
    lines = recorded(FW4).splitlines()
    kept = [ln for ln in lines if '"!fw4: dualnat office dnat"' not in ln or "198.51.100.10" in ln]
    changed = [ln.replace("dport 10080", "dport 10081") for ln in kept]
    result = check(rich_plan(), Sources("\n".join(changed), None))
    assert set(missing(result)) == {"office", "web80"}
    assert "src_ip=192.168.1.0/24" in result.forwards["office"].missing[0]
    assert "src_dport=10080" in result.forwards["web80"].missing[0]


def test_fw4_without_dualnat_sections() -> None:
    body = "\n".join(ln for ln in recorded(FW4).splitlines() if "!fw4: dualnat" not in ln)
    result = check(rich_plan(), Sources(body, None))
    assert (result.kind, result.loaded) == ("fw4", ())
    assert all(c.present == 0 for c in result.forwards.values())
    assert result.masquerade is not None and not result.masquerade.ok


def test_iptables_rule_and_jump_missing() -> None:
    saved = recorded(IPT)
    rule = "-A DUALNAT_POSTROUTING -d 192.168.1.51/32 -p tcp -m tcp --dport 9002"
    assert rule in saved
    text = "\n".join(ln for ln in saved.splitlines() if not ln.startswith(rule))
    result = check(rich_plan(), Sources(None, text))
    assert list(missing(result)) == ["cam"]
    text = saved.replace("-A PREROUTING -j DUALNAT_PREROUTING\n", "")
    result = check(rich_plan(), Sources(None, text))
    assert set(missing(result)) == {f.name for f in RICH_FORWARDS}
    assert result.forwards["web"].missing == (
        "iptables -t nat -A PREROUTING -j DUALNAT_PREROUTING",
    )


def test_changed_plan_shows_what_is_not_loaded() -> None:
    forwards = [f for f in RICH_FORWARDS if f.name != "web"]
    plan = make_plan(
        *forwards,
        fwd("web", "tcp", "8091", "192.168.1.50", "9001"),
        public_address="198.51.100.1",
        masquerade=MasqueradeMode.ON,
    )
    for sources in (
        Sources(recorded(NFT), ""),
        Sources(recorded(FW4), None),
        Sources(None, recorded(IPT)),
    ):
        result = check(plan, sources)
        assert list(missing(result)) == ["web"], result.kind


def test_several_rulesets_are_detected_and_the_complete_one_is_checked() -> None:
    both = recorded(NFT) + recorded(IPT_NFT)
    result = check(rich_plan(), Sources(both, recorded(IPT)))
    assert result.loaded == ("nft", "iptables") and missing(result) == {}
    partial = recorded(IPT).replace("-A PREROUTING -j DUALNAT_PREROUTING\n", "")
    result = check(rich_plan(), Sources(both, partial))
    assert result.kind == "nft" and missing(result) == {}


def test_merged_snat_elements_cover_each_forward() -> None:
    """Two forwards to the same device port: the renderer merges the SNAT ranges and drops
    LAN entries that an any-source entry covers; each forward must still count as loaded."""
    plan = make_plan(
        fwd("a", "tcp", "7001-7002", "192.168.1.50", "9100-9101"),
        fwd("b", "tcp", "7101", "192.168.1.50", "9101", target_gateway=TargetGateway.MAIN),
        fwd("c", "tcp", "7201-7202", "192.168.1.50", "9102-9103"),
        public_address="198.51.100.1",
    )
    script = nft.render(plan)
    snat = elements(tables(script)["inet dualnat"], "snat_to_bypass")
    lan = "192.168.1.0/24"
    assert sorted(snat) == [
        (("0.0.0.0/0", "192.168.1.50", "tcp", "9101"), ()),
        ((lan, "192.168.1.50", "tcp", "9100"), ()),  # 9100-9101 less what 'any' covers
        ((lan, "192.168.1.50", "tcp", "9102-9103"), ()),
    ]
    result = check(plan, Sources(script, ""))
    assert result.kind == "nft" and missing(result) == {}
    # Without the any-source entry, 9101 is covered for nobody.
    without = script.replace("0.0.0.0/0 . 192.168.1.50 . tcp . 9101,", "")
    assert set(missing(check(plan, Sources(without, "")))) == {"a", "b"}


def test_element_normalisation() -> None:
    body = (
        "map m {\n type x\n elements = { 10.0.0.1/32 . 192.168.1.2 . tcp . 80-80 : 1.2.3.4,\n"
        "  0.0.0.0/0 . 192.168.1.2 . udp . 53-54 : 1.2.3.5 }\n }\n set s {\n type y\n }\n"
    )
    assert elements(body, "m") == [
        (("10.0.0.1", "192.168.1.2", "tcp", "80"), ("1.2.3.4",)),
        (("0.0.0.0/0", "192.168.1.2", "udp", "53-54"), ("1.2.3.5",)),
    ]
    assert elements(body, "s") == [] and elements(body, "absent") == []


def test_canonical_iptables_rule() -> None:
    rendered = ["-A", "P", "-s", "192.168.1.0/24", "!", "-d", "10.0.0.0/8", "-p", "tcp"]
    rendered += ["--dport", "1:2", "-j", "SNAT", "--to-source", "192.168.1.2"]
    saved = "-A P ! -d 10.0.0.0/8 -s 192.168.1.0/24 -p tcp -m tcp --dport 1:2 -j SNAT"
    saved += " --to-source 192.168.1.2/32"
    assert canonical_ipt(rendered) == canonical_ipt(saved.split())
    assert canonical_ipt(rendered) != canonical_ipt([*rendered[:4], "-d", *rendered[6:]])


@pytest.mark.parametrize(
    "sources",
    [
        Sources(recorded(NFT), ""),
        Sources(recorded(FW4), None),
        Sources(None, None),
        Sources(recorded(IPT_NFT), ""),
        Sources(recorded(NFT).replace(" . 8082 : ", " . 18082 : "), ""),
    ],
    ids=["nft", "fw4", "unreadable", "none-loaded", "one-missing"],
)
def test_rule_findings_are_what_the_doctor_says_about_the_rules(sources: Sources) -> None:
    """The status page's shortcut (rules only) finds exactly the doctor's rule findings."""
    from dualnat.doctor import RULE_FINDINGS, analyse, rule_findings
    from dualnat.doctor.conntrack import Table

    plan = rich_plan()
    report = analyse(plan, {}, sources, Table([]))
    kind, findings = rule_findings(plan, sources)
    assert kind == report.ruleset.kind
    expected = [f.to_dict() for f in report.findings if f.code in RULE_FINDINGS]
    assert [f.to_dict() for f in findings] == expected
    assert sources.nft is None or "18082" not in sources.nft or findings
