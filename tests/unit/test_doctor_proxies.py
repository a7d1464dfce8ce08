"""The doctor about transparent proxies: what is installed and how it runs, whether
dualnat's exclusion is in place, what only a person can do, and forwarded connections a
proxy took, from the connection tables and rulesets recorded in the lab
(data/proxies/<proxy>-<mode>-{before,after}.*: dualnat's rules alone, then with its
exclusion)."""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_helpers import fwd, plan, proxies

from dualnat.doctor import analyse
from dualnat.doctor.conntrack import parse
from dualnat.doctor.ruleset import Sources
from dualnat.model import ProxyCoexist, TargetGateway
from dualnat.proxies.entries import UciEdit

DATA = Path(__file__).parent / "data" / "proxies"
PUBLIC = "11.0.0.1"
# The lab's forwards (tests/lab/proxy_scenarios.py); web80's port 80 is relayed to 10080.
FORWARDS = (
    fwd("web", external_port="8081", internal_port="9001"),
    fwd("dns", proto="udp", external_port="9053"),
    fwd("games", proto="tcpudp", external_port="9020-9025", internal_ip="192.168.1.52"),
    fwd("web80", external_port="80", internal_port="9080"),
    fwd(
        "cam",
        external_port="8082",
        internal_port="9002",
        internal_ip="192.168.1.51",
        target_gateway=TargetGateway.MAIN,
    ),
    fwd("pin", proto="tcpudp", external_port="8084", internal_port="9004"),
)
CONFIGS = {
    "openclash-fake-ip": ("openclash", "config openclash 'config'\n\toption enable '1'\n"
                          "\toption en_mode 'fake-ip'\n"),
    "homeproxy-tun": ("homeproxy", "config homeproxy 'config'\n\toption main_node 'a'\n"
                      "\toption proxy_mode 'tun'\n\nconfig homeproxy 'control'\n"),
    "passwall-tproxy": ("passwall", "config global\n\toption enabled '1'\n\n"
                        "config global_forwarding\n\toption tcp_proxy_way 'tproxy'\n"),
}  # fmt: skip
TAKEN = {
    "openclash-fake-ip": ("OpenClash", {"pin", "web80", "games"}, False),
    "homeproxy-tun": ("homeproxy", {"web", "dns", "games", "web80", "pin"}, True),
    "passwall-tproxy": ("PassWall", {"pin", "web80", "games"}, False),
}


def _read(label: str, phase: str) -> tuple[str, str]:
    return (
        (DATA / f"{label}-{phase}.conntrack").read_text(),
        (DATA / f"{label}-{phase}.ruleset").read_text(),
    )


def _report(label: str, phase: str, config: str | None = None, **settings: object):
    conntrack, ruleset = _read(label, phase)
    key, text = CONFIGS[label]
    configs = {key: config if config is not None else text}
    the_plan = plan(
        *FORWARDS, proxies=proxies(configs, ruleset=ruleset), public_address=PUBLIC, **settings
    )
    return analyse(the_plan, {}, Sources(ruleset, None), parse(conntrack))


@pytest.mark.parametrize("label", sorted(CONFIGS))
def test_taken_flows_are_an_error_with_the_fix(label: str) -> None:
    name, forwards, replies = TAKEN[label]
    report = _report(label, "before")
    [found] = report.by_code("proxy.found")
    assert found.message_parts[0].id == "proxy.found.running" and name in found.message
    assert found.message_parts[-1].id == "proxy.found.auto"
    [taken] = report.by_code("proxy.captured")
    assert taken.severity.value == "error" and report.failed
    assert taken.message_parts[0].id == ("proxy.captured.replies" if replies else "proxy.captured")
    assert set(taken.message_parts[0].to_dict()["params"]["forwards"].split(", ")) == forwards
    assert taken.fix_parts[0].id == "proxy.captured.fix_apply"  # the exclusion is pending
    assert report.by_code("proxy.pending") and taken.evidence
    assert all("<- " in line for line in taken.evidence)


@pytest.mark.parametrize("label", sorted(CONFIGS))
def test_nothing_taken_once_excluded(label: str) -> None:
    assert _report(label, "after").by_code("proxy.captured") == []


def test_the_fix_follows_the_setting_and_the_state() -> None:
    off = _report("openclash-fake-ip", "before", proxy_coexist=ProxyCoexist.OFF)
    [taken] = off.by_code("proxy.captured")
    assert taken.fix_parts[0].id == "proxy.captured.fix_off"
    assert off.by_code("proxy.found")[0].message_parts[-1].id == "proxy.found.off_setting"
    # the exclusion is in place, yet connections were taken: old ones, restart the proxy
    config = CONFIGS["openclash-fake-ip"][1] + f"\tlist wan_ac_black_ips '{PUBLIC}'\n"
    conntrack, ruleset = _read("openclash-fake-ip", "before")
    owned = {"openclash": (UciEdit("openclash", "config", "wan_ac_black_ips", PUBLIC),)}
    the_plan = plan(
        *FORWARDS,
        proxies=proxies({"openclash": config}, owned=owned, ruleset=ruleset),
        public_address=PUBLIC,
    )
    report = analyse(the_plan, {}, Sources(ruleset, None), parse(conntrack))
    [taken] = report.by_code("proxy.captured")
    assert taken.fix_parts[0].id == "proxy.captured.fix_old"
    assert "/etc/init.d/openclash restart" in taken.fix
    assert report.by_code("proxy.pending") == []


def test_what_was_found_in_the_callers_language() -> None:
    report = _report("homeproxy-tun", "before")
    [found] = [f.to_dict("zh") for f in report.by_code("proxy.found")]
    assert found["title"] == "已安装透明代理"
    assert "模式：TCP TUN，UDP TUN。" in found["message"]
    [taken] = [f.to_dict("ja") for f in report.by_code("proxy.captured")]
    assert "横取り" in taken["message"] and "dualnat apply" in taken["fix"]


def test_passwall2_and_a_missing_section_need_a_person() -> None:
    conntrack, _ = _read("passwall-tproxy", "after")
    configs = {
        "passwall2": "config global\n\toption enabled '1'\n",
        "homeproxy": "config homeproxy 'config'\n\toption main_node 'a'\n",
    }
    the_plan = plan(*FORWARDS, proxies=proxies(configs), public_address=PUBLIC)
    report = analyse(the_plan, {}, Sources(None, None), parse(conntrack))
    manual = {f.message_parts[0].id: f for f in report.by_code("proxy.manual")}
    assert set(manual) == {"proxy.manual.no_setting", "proxy.manual.no_section"}
    assert f"{PUBLIC}/32" in manual["proxy.manual.no_setting"].fix
    assert "homeproxy.control" in manual["proxy.manual.no_section"].message
    found = {f.message_parts[0].id for f in report.by_code("proxy.found")}
    assert found == {"proxy.found.enabled"}  # switched on, rules unknown


def test_a_proxy_that_is_off_is_only_mentioned() -> None:
    conntrack, _ = _read("passwall-tproxy", "after")
    off = "config openclash 'config'\n\toption enable '0'\n"
    the_plan = plan(*FORWARDS, proxies=proxies({"openclash": off}), public_address=PUBLIC)
    report = analyse(the_plan, {}, Sources("", None), parse(conntrack))
    [found] = report.by_code("proxy.found")
    assert [p.id for p in found.message_parts] == ["proxy.found.off"]
    assert [c for c in report.codes() if c.startswith("proxy.")] == ["proxy.found"]


def test_no_proxy_no_finding() -> None:
    conntrack, _ = _read("passwall-tproxy", "before")
    the_plan = plan(*FORWARDS, proxies=proxies({}), public_address=PUBLIC)
    report = analyse(the_plan, {}, Sources("table inet fw4 {\n}\n", None), parse(conntrack))
    assert not [c for c in report.codes() if c.startswith("proxy.")]
