"""The diagnosis rules on synthetic and recorded inputs: every finding code, and "ok"."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from doctor_data import (
    BYPASS,
    INET,
    RICH_FORWARDS,
    conntrack_text,
    example_plan,
    healthy_sysctls,
    line,
    make_plan,
    nft_sources,
    recorded,
    rich_plan,
    table,
)

from dualnat.doctor import CODES, Report, Severity, analyse, conntrack, sysctls
from dualnat.doctor.conntrack import Table
from dualnat.doctor.ruleset import Sources
from dualnat.model import MasqueradeMode
from dualnat.render import nft

# One answered connection per forward of rich_plan(), each as the kernel shows it.
HEALTHY = {
    "web": line(INET, BYPASS, 40000, 8081, reply_src="192.168.1.50", reply_sport=9001),
    "cam": line(
        INET, BYPASS, 40001, 8082, reply_src="192.168.1.51", reply_sport=9002, reply_dst=BYPASS
    ),
    "games": line(
        INET, BYPASS, 40002, 9021, reply_src="192.168.1.52", reply_sport=9021, proto="udp"
    ),
    "shifted": line(INET, BYPASS, 40003, 8001, reply_src="192.168.1.52", reply_sport=9001),
    "web80": line(INET, BYPASS, 40004, 10080, reply_src="192.168.1.50", reply_sport=9080),
    "office": line(INET, BYPASS, 40005, 8087, reply_src="192.168.1.50", reply_sport=9007),
    "nosrc": line(
        INET,
        BYPASS,
        40006,
        9053,
        reply_src="192.168.1.53",
        reply_sport=9053,
        reply_dst=BYPASS,
        proto="udp",
    ),
}
# LAN traffic that belongs to no forward.
NOISE = (
    line("192.168.1.60", "142.250.185.78", 50990, 443, replied=False),
    line("192.168.1.60", BYPASS, 53311, 53, proto="udp"),
)


def run(
    *lines: str,
    plan=None,
    sources: Sources | None = None,
    values: dict[str, str | None] | None = None,
    ct: Table | None = None,
) -> Report:
    plan = plan or rich_plan()
    return analyse(
        plan,
        values if values is not None else healthy_sysctls(plan),
        sources or nft_sources(),
        ct if ct is not None else table(*lines, *NOISE),
    )


def codes(report: Report, forward: str | None) -> list[str]:
    return [f.code for f in report.findings if f.forward == forward]


def only(report: Report, code: str):
    [finding] = report.by_code(code)
    return finding


def test_healthy_router_is_ok() -> None:
    report = run(*HEALTHY.values())
    assert report.severity is Severity.OK and not report.failed
    assert [f.code for f in report.findings] == ["forward.ok"] * len(RICH_FORWARDS)
    web = report.forwards["web"]
    assert web["status"] == "forward.ok"
    assert web["connections"]["clients"] == [INET] and web["connections"]["device_sees"] == [INET]
    cam = report.forwards["cam"]["connections"]
    assert cam["snat"] == 1 and cam["device_sees"] == [BYPASS]
    assert "sees 198.51.100.10" in only(run(HEALTHY["web"]), "forward.ok").message


def test_json_structure() -> None:
    data = json.loads(json.dumps(run(*HEALTHY.values()).to_dict()))
    assert set(data) == {
        "version",
        "severity",
        "findings",
        "forwards",
        "sysctls",
        "ruleset",
        "rulesets_loaded",
        "conntrack",
    }
    assert data["ruleset"] == "nft" and data["conntrack"]["entries"] == len(HEALTHY) + 2
    finding = data["findings"][0]
    assert set(finding) == {
        "code",
        "severity",
        "forward",
        "title",
        "message",
        "fix",
        "message_parts",
        "fix_parts",
        "evidence",
    }
    assert set(data["forwards"]["web"]) == {
        "status",
        "severity",
        "rules",
        "arrivals",
        "main_router",
        "connections",
    }
    assert data["forwards"]["web"]["rules"] == {"expected": 5, "present": 5, "missing": []}
    assert data["forwards"]["web80"]["main_router"] == ["tcp external port 80 → 192.168.1.2:10080"]
    assert data["sysctls"]["net.ipv4.ip_forward"] == "1"


def test_codes_and_severities_are_the_published_ones() -> None:
    """The LuCI page keys on these: renaming a code or changing its severity breaks it."""
    published = {
        "ok": ["forward.ok"],
        "info": [
            "forward.source_not_allowed",
            "forward.unchecked",
            "system.disabled",
            "proxy.found",
        ],
        "warning": [
            "forward.no_traffic",
            "forward.direct_to_device",
            "forward.partly_unreplied",
            "forward.stale_connections",
            "system.redirects_on",
            "system.rp_filter_strict",
            "system.bridge_netfilter",
            "system.several_rulesets",
            "system.ruleset_unreadable",
            "system.conntrack_unavailable",
            "system.masquerade_off",
            "proxy.pending",
            "proxy.manual",
        ],
        "error": [
            "forward.rules_missing",
            "forward.unreplied",
            "forward.target_silent",
            "forward.not_translated",
            "system.ip_forward_off",
            "system.masquerade_missing",
            "system.invalid_drop",
            "proxy.captured",
        ],
    }
    actual: dict[str, list[str]] = {}
    for code, (severity, title) in CODES.items():
        assert title
        actual.setdefault(severity.value, []).append(code)
    assert {k: sorted(v) for k, v in actual.items()} == {k: sorted(v) for k, v in published.items()}


# -- forwards -------------------------------------------------------------------------------


def test_rules_missing_with_connections_that_went_nowhere() -> None:
    untranslated = line(INET, BYPASS, 40000, 8081)
    report = run(untranslated, sources=Sources("", ""))
    assert report.ruleset.kind == "none"
    finding = report.by_code("forward.rules_missing")[0]
    assert finding.forward == "web" and "arrived at tcp 192.168.1.2:8081" in finding.message
    assert untranslated in finding.evidence
    assert "dualnat apply" in finding.fix and report.failed
    assert "forward.no_traffic" not in codes(report, "web")
    assert set(codes(report, "cam")) == {"forward.rules_missing"}
    assert "leaves no trace" in report.by_code("forward.rules_missing")[1].message


@pytest.mark.parametrize(
    ("sources", "fix"),
    [
        (
            lambda: Sources(recorded("fw4.nft_list_ruleset.txt").replace("8081", "8083"), None),
            "/etc/init.d/firewall reload",
        ),
        (
            lambda: Sources(
                recorded("nft_dualnat.nft_list_ruleset.txt").replace(". 8081 :", ". 8083 :"), None
            ),
            "nft -f -",
        ),
        (
            lambda: Sources(None, recorded("iptables.iptables_save.txt").replace("8081", "8083")),
            "--format iptables | sh",
        ),
    ],
)
def test_rules_missing_fix_follows_the_firewall(sources, fix: str) -> None:
    report = run(*HEALTHY.values(), sources=sources())
    assert codes(report, "web") == ["forward.rules_missing"]
    assert fix in only(report, "forward.rules_missing").fix
    assert codes(report, "cam") == ["forward.ok"]


def test_no_traffic_names_the_main_router_forward() -> None:
    report = run(*(v for k, v in HEALTHY.items() if k != "web80"))
    assert codes(report, "web80") == ["forward.no_traffic"]
    finding = only(report, "forward.no_traffic")
    assert "tcp external port 80 → 192.168.1.2:10080" in finding.fix
    assert "does not forward the port to the bypass router 192.168.1.2" in finding.message
    assert report.severity is Severity.WARNING and not report.failed


def test_no_traffic_mentions_sysctls_that_hide_connections() -> None:
    values = healthy_sysctls(rich_plan()) | {"net.ipv4.ip_forward": "0"}
    report = run(values=values)
    assert "net.ipv4.ip_forward is 0" in report.by_code("forward.no_traffic")[0].message
    assert report.failed  # system.ip_forward_off


def test_direct_to_device() -> None:
    answer = line("192.168.1.50", INET, 9001, 40000, replied=False)
    report = run(answer)
    assert codes(report, "web") == ["forward.no_traffic", "forward.direct_to_device"]
    finding = only(report, "forward.direct_to_device")
    assert answer in finding.evidence and "tcp/9001" in finding.message
    assert "192.168.1.2:8081" in finding.fix
    assert report.forwards["web"]["connections"]["direct_from_device"] == 1


def test_unreplied_after_dnat_asks_for_snat() -> None:
    syn = line(INET, BYPASS, 40000, 8081, reply_src="192.168.1.50", reply_sport=9001, replied=False)
    report = run(syn)
    assert codes(report, "web") == ["forward.unreplied"]
    finding = only(report, "forward.unreplied")
    assert "target_gateway 'main' for forward 'web'" in finding.fix
    assert "DNAT happened" in finding.message and "198.51.100.10" in finding.message
    assert any("made no connection of its own" in e for e in finding.evidence)
    assert report.forwards["web"]["connections"] == report.forwards["web"]["connections"] | {
        "translated": 1,
        "replied": 0,
        "unreplied": 1,
    }


def test_unreplied_from_a_device_that_uses_the_bypass_router() -> None:
    syn = line(INET, BYPASS, 40000, 8081, reply_src="192.168.1.50", reply_sport=9001, replied=False)
    own = line("192.168.1.50", "93.184.216.34", 51000, 443)
    finding = only(run(syn, own), "forward.unreplied")
    assert finding.fix.startswith("Check that 192.168.1.50 is on")
    assert any("made 1 connection of its own" in e for e in finding.evidence)


def test_target_silent_when_replies_must_come_back() -> None:
    syn = line(
        INET,
        BYPASS,
        40001,
        8082,
        reply_src="192.168.1.51",
        reply_sport=9002,
        reply_dst=BYPASS,
        replied=False,
    )
    report = run(syn)
    assert codes(report, "cam") == ["forward.target_silent"]
    assert "listens on 192.168.1.51:9002" in only(report, "forward.target_silent").fix


def test_partly_unreplied() -> None:
    syn = line(
        "203.0.113.7",
        BYPASS,
        41000,
        8081,
        reply_src="192.168.1.50",
        reply_sport=9001,
        replied=False,
    )
    report = run(HEALTHY["web"], syn)
    assert codes(report, "web") == ["forward.partly_unreplied"]
    assert "from 203.0.113.7" in only(report, "forward.partly_unreplied").message


def test_not_translated_although_rules_are_loaded() -> None:
    report = run(line(INET, BYPASS, 40000, 8081))
    assert codes(report, "web") == ["forward.not_translated"]
    finding = only(report, "forward.not_translated")
    assert "conntrack -D -p tcp -d 192.168.1.2 --dport 8081" in finding.fix and report.failed


def test_stale_connections_next_to_working_ones() -> None:
    old = line(INET, BYPASS, 27005, 9053, proto="udp")
    report = run(HEALTHY["nosrc"], old)
    assert codes(report, "nosrc") == ["forward.ok", "forward.stale_connections"]
    assert "conntrack -D -p udp -d 192.168.1.2 --dport 9053" in (
        only(report, "forward.stale_connections").fix
    )


def test_source_not_allowed() -> None:
    blocked = line("203.0.113.9", BYPASS, 40007, 8087)
    report = run(HEALTHY["office"], blocked)
    assert codes(report, "office") == ["forward.ok", "forward.source_not_allowed"]
    finding = only(report, "forward.source_not_allowed")
    assert "203.0.113.9" in finding.message and finding.severity is Severity.INFO
    assert report.forwards["office"]["connections"]["not_allowed"] == 1


def test_unchecked_without_a_table() -> None:
    report = run(ct=Table([], 0, None))
    assert set(codes(report, "web")) == {"forward.unchecked"}
    assert codes(report, None) == ["system.conntrack_unavailable"]


def test_hairpin_connection_counts_for_its_forward() -> None:
    hairpin = line(
        "192.168.1.60",
        "198.51.100.1",
        50000,
        8081,
        reply_src="192.168.1.50",
        reply_sport=9001,
        reply_dst=BYPASS,
    )
    report = run(hairpin)
    web = report.forwards["web"]["connections"]
    assert codes(report, "web") == ["forward.ok"] and web["from_lan"] == 1 and web["snat"] == 1


# -- the machine ----------------------------------------------------------------------------


def test_sysctl_findings() -> None:
    plan = rich_plan()
    good = healthy_sysctls(plan)
    assert sysctls.findings(plan, good) == []
    cases = {
        "system.ip_forward_off": {"net.ipv4.ip_forward": "0"},
        "system.redirects_on": {"net.ipv4.conf.lan0.send_redirects": "1"},
        "system.rp_filter_strict": {"net.ipv4.conf.all.rp_filter": "1"},
        "system.bridge_netfilter": {"net.bridge.bridge-nf-call-iptables": "1"},
    }
    for code, change in cases.items():
        assert [f.code for f in sysctls.findings(plan, good | change)] == [code]
    loose = good | {"net.ipv4.conf.lan0.rp_filter": "2", "net.ipv4.conf.all.send_redirects": "0"}
    assert sysctls.findings(plan, loose) == []
    assert sysctls.findings(plan, good | {"net.ipv4.conf.lan0.rp_filter": "1"})


def test_redirects_fix_depends_on_the_config() -> None:
    on = {"net.ipv4.conf.all.send_redirects": "1"}
    planned = sysctls.findings(rich_plan(), healthy_sysctls(rich_plan()) | on)[0]
    assert "dualnat apply" in planned.fix and "not applied" in planned.message
    plan = make_plan(*RICH_FORWARDS, disable_redirects=False)
    chosen = sysctls.findings(plan, healthy_sysctls(plan) | on)[0]
    assert "disable_redirects '1'" in chosen.fix


def test_dotted_device_keys_use_slashes() -> None:
    plan = make_plan(RICH_FORWARDS[0], net=replace(rich_plan().network, lan_device="eth0.1"))
    keys = sysctls.keys("eth0.1")
    assert "net/ipv4/conf/eth0.1/send_redirects" in keys
    assert sysctls.proc_path("net/ipv4/conf/eth0.1/rp_filter") == (
        "sys/net/ipv4/conf/eth0.1/rp_filter"
    )
    assert sysctls.proc_path("net.ipv4.ip_forward") == "sys/net/ipv4/ip_forward"
    values = healthy_sysctls(plan) | {"net/ipv4/conf/eth0.1/send_redirects": "1"}
    finding = sysctls.findings(plan, values)[0]
    assert finding.code == "system.redirects_on"
    assert "net/ipv4/conf/eth0.1/send_redirects = 1" in finding.evidence


def test_unreadable_rules_and_several_rulesets() -> None:
    report = run(*HEALTHY.values(), sources=Sources(None, None))
    assert codes(report, None) == ["system.ruleset_unreadable"]
    assert report.forwards["web"]["rules"] is None and codes(report, "web") == ["forward.ok"]
    both = Sources(
        recorded("nft_dualnat.nft_list_ruleset.txt") + recorded("iptables.nft_list_ruleset.txt"),
        recorded("iptables.iptables_save.txt"),
    )
    report = run(*HEALTHY.values(), sources=both)
    assert codes(report, None) == ["system.several_rulesets"]
    assert report.to_dict()["rulesets_loaded"] == ["nft", "iptables"]


def test_masquerade_missing() -> None:
    text = recorded("nft_dualnat.nft_list_ruleset.txt")
    masq = [ln for ln in text.splitlines() if "masquerade" in ln]
    assert len(masq) == 1
    report = run(*HEALTHY.values(), sources=Sources(text.replace(masq[0], ""), ""))
    # the recorded ruleset drops invalid packets too (the lab's baseline), and redirects
    # are off: without the masquerade, LAN clients' TCP is dropped as invalid as well
    assert codes(report, None) == ["system.masquerade_missing", "system.invalid_drop"]
    assert report.failed


def test_masquerade_off_on_a_risky_main_router() -> None:
    web = RICH_FORWARDS[0]
    risky = make_plan(web, main_router_vendor="linksys", masquerade=MasqueradeMode.OFF)
    rendered = Sources(nft.render(risky), "")
    finding = only(run(plan=risky, sources=rendered), "system.masquerade_off")
    assert "masquerade 'auto'" in finding.fix and "Linksys" in finding.message
    for plan in (
        make_plan(web, main_router_vendor="linksys"),  # auto: the plan masquerades
        make_plan(web, main_router_vendor="generic", masquerade=MasqueradeMode.OFF),
    ):
        report = run(plan=plan, sources=Sources(nft.render(plan), ""))
        assert not report.by_code("system.masquerade_off")


def test_disabled() -> None:
    plan = make_plan(*RICH_FORWARDS, enabled=False)
    report = run(plan=plan, sources=Sources("", ""))
    assert codes(report, None) == ["system.disabled"] and report.forwards == {}


# -- the recorded tables of the example bypass router ----------------------------------------


def example(name: str) -> Report:
    plan = example_plan()
    values = healthy_sysctls(plan)
    return analyse(
        plan, values, Sources(nft.render(plan), None), conntrack.parse(conntrack_text(name), name)
    )


def test_example_router_proc_table_is_healthy() -> None:
    report = example("proc_nf_conntrack.txt")
    assert [f.code for f in report.findings] == ["forward.ok"] * 4, report.text()
    nas = report.forwards["nas_web"]["connections"]
    assert nas["clients"] == ["192.168.1.23", "203.0.113.45"]
    assert nas["device_sees"] == ["192.168.1.2", "203.0.113.45"] and nas["from_lan"] == 1
    assert report.forwards["game"]["connections"]["device_sees"] == ["192.168.1.2"]
    assert report.forwards["office_ssh"]["connections"]["replied"] == 1  # offloaded


def test_example_router_tool_tables() -> None:
    report = example("conntrack_extended.txt")
    assert codes(report, "web") == ["forward.unreplied"]
    # Only a source outside allow_source came: the main router forwards, the rule refuses.
    assert codes(report, "office_ssh") == ["forward.source_not_allowed"]
    assert "198.51.100.99" in only(report, "forward.source_not_allowed").message
    report = example("conntrack_plain.txt")
    assert codes(report, "game") == ["forward.target_silent"]
    assert codes(report, "nas_web") == ["forward.ok"]


def test_text_report() -> None:
    report = example("conntrack_extended.txt")
    text = report.text()
    assert "== forward 'web'" in text and "ERROR   forward.unreplied" in text
    assert "fix: Set option target_gateway 'main' for forward 'web'" in text
    assert text.endswith("doctor: errors found\n")
    assert run(*HEALTHY.values()).text().endswith("doctor: everything looks fine\n")
