"""The templates of the plan's reasons and warnings (LuCI translates them).

Every plan that a unit test builds is checked against its parts by the autouse fixture in
conftest.py; these tests look at the templates themselves and at a broad set of plans that
together use every template."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from finding_parts import PLACEHOLDER
from plan_helpers import NET, fwd, plan, proxies
from reason_parts import check_plan

import dualnat.planner
from dualnat.model import DhcpMode, KeepSource, MasqueradeMode, ProxyCoexist, TargetGateway
from dualnat.plan import Dnat, Plan
from dualnat.proxies.catalog import PASSWALL2, Capture, Mode
from dualnat.proxies.detect import Detected
from dualnat.proxies.entries import UciEdit
from dualnat.reasons import TEMPLATES, Part, part

DROPPING = replace(NET, drops_invalid="firewall: config defaults: option drop_invalid '1'")
OPENCLASH = "config openclash 'config'\n\toption enable '1'\n\toption en_mode '{mode}'\n{extra}"
HOMEPROXY = (
    "config homeproxy 'config'\n\toption main_node 'a'\n\toption proxy_mode '{mode}'\n{control}"
)
CONTROL = "\nconfig homeproxy 'control'\n"
PASSWALL2_ON = "config global\n\toption enabled '1'\n"


def proxy_plans() -> list[Plan]:
    """Plans with transparent proxies: each mode's reason, the user's own entry, a changed
    public address, proxy_coexist 'off', a proxy gone, no forwards, what only a person
    can do, and fake-ip DNS."""
    web = fwd("web", proto="tcpudp", external_port="8080")
    old = UciEdit("openclash", "config", "wan_ac_black_ips", "198.51.100.99")
    oc = OPENCLASH.format(mode="fake-ip", extra="")
    oc_user = OPENCLASH.format(
        mode="redir-host-tun", extra="\tlist wan_ac_black_ips '198.51.100.0/24'\n"
    )
    hp_redirect = HOMEPROXY.format(mode="redirect", control=CONTROL)
    hp_tun = HOMEPROXY.format(mode="tun", control=CONTROL)
    hp_bare = HOMEPROXY.format(mode="redirect", control="")
    public = {"public_address": "198.51.100.7"}
    takes_replies = replace(PASSWALL2, skips_replies=False)
    mode = Mode(Capture.TPROXY, Capture.TPROXY)
    strange = replace(
        proxies({}),
        detected=(Detected(takes_replies, True, True, True, mode, mode.captures, ()),),
    )
    return [
        plan(web, proxies=proxies({"openclash": oc}, owned={"openclash": (old,)}), **public),
        plan(web, proxies=proxies({"openclash": oc}), public_address="home.example.net"),
        plan(web, proxies=proxies({"openclash": oc_user}), **public),
        plan(web, proxies=proxies({"openclash": oc})),
        plan(web, proxies=proxies({"homeproxy": hp_redirect}), **public),
        plan(web, proxies=proxies({"homeproxy": hp_tun}), **public),
        plan(web, proxies=proxies({"homeproxy": hp_bare}), **public),
        plan(web, proxies=proxies({"passwall2": PASSWALL2_ON}), **public),
        plan(web, proxies=strange, **public),
        plan(
            web,
            proxies=proxies({"openclash": oc}, owned={"openclash": (old,)}),
            proxy_coexist=ProxyCoexist.OFF,
            **public,
        ),
        plan(web, proxies=proxies({}, owned={"openclash": (old,)}), **public),
        plan(proxies=proxies({"openclash": oc}, owned={"openclash": (old,)}), **public),
    ]


def broad() -> list[Plan]:
    """Plans of every kind of forward and setting: relays for a service port and for
    bypass_port, allow_source with and without hairpin, hairpin with a public address,
    SNAT for either reason, masquerade on, by vendor or for a firewall that drops invalid
    packets (and the warning when redirects are on there), DHCP moved (or not, for want of
    a dhcp section) (on or prepared, with
    or without DNS), and dualnat disabled."""
    forwards = [
        fwd("web", external_port="80", internal_port="8080", internal_ip="192.168.1.51"),
        fwd("nas", bypass_port="18443", allow_source=["203.0.113.0/24"], hairpin=False),
        fwd("cam", external_port="8000-8010", allow_source=["198.51.100.0/24"]),
        fwd("game", proto="udp", external_port="27015", target_gateway=TargetGateway.MAIN),
        fwd("ssh", external_port="2222", internal_port="22", keep_source_ip=KeepSource.NO),
    ]
    return [
        plan(*forwards, public_address="198.51.100.7"),
        plan(*forwards, public_address="home.example.net", masquerade=MasqueradeMode.ON),
        plan(*forwards, main_router_vendor="linksys", bypass_dhcp=True),
        plan(forwards[0], main_router_vendor="linksys", bypass_dhcp=True, dhcp_dns=False),
        plan(forwards[1], dhcp=DhcpMode.MOVE, dhcp_dns=False, disable_redirects=False),
        plan(forwards[2], dhcp=DhcpMode.MOVE),
        plan(*forwards, enabled=False),
        plan(forwards[0], net=DROPPING),
        plan(forwards[0], net=DROPPING, disable_redirects=False),
        plan(forwards[0], net=replace(NET, dhcp_section=None), dhcp=DhcpMode.MOVE),
        *proxy_plans(),
        plan(*forwards, public_address="auto"),  # the main router has no public address
    ]


def test_a_broad_set_of_plans_uses_every_template() -> None:
    used: set[str] = set()
    for p in broad():
        used |= check_plan(p.to_dict())
    assert sorted(set(TEMPLATES) - used) == []


def test_every_template_is_named_in_the_planner() -> None:
    code = Path(dualnat.planner.__file__).read_text()
    literals = set(re.findall(r'"(plan\.[a-z_.]+)"', code))
    assert sorted(set(TEMPLATES) - literals) == []


def test_templates_hold_only_word_placeholders() -> None:
    for tid, template in TEMPLATES.items():
        rest = PLACEHOLDER.sub("", template)
        assert "{" not in rest and "}" not in rest, tid
        assert template == template.strip() and "  " not in template, tid


def test_the_web_forwards_relay_reason() -> None:
    """A DNAT on a relay port: its reason is two parts, the second saying why."""
    p = plan(fwd("web", external_port="80", internal_port="8080", internal_ip="192.168.1.51"))
    (dnat,) = [d for d in p.of_kind(Dnat) if not d.hairpin]
    assert [x.to_dict() for x in dnat.reason_parts] == [
        {
            "id": "plan.dnat",
            "params": {"bypass": "192.168.1.2", "port": "10080", "target": "192.168.1.51:8080"},
        },
        {
            "id": "plan.dnat.relay_service",
            "params": {"port": "10080", "external": "80", "services": "tcp/80"},
        },
    ]
    assert dnat.reason == (
        "Connections that the main router forwards to 192.168.1.2:10080 go on to "
        "192.168.1.51:8080. The rule matches the bypass router's own address 192.168.1.2, so "
        "LAN clients' outgoing traffic to port 10080 elsewhere is left alone. The main router "
        "targets port 10080 instead of 80 because tcp/80 is a service of the bypass router; "
        "LAN clients keep reaching the bypass router's own port 80."
    )
    item = dnat.to_dict()
    assert list(item)[:4] == ["kind", "forward", "reason", "reason_parts"]


def test_a_disabled_plan_warns_in_parts() -> None:
    data = plan(fwd(), enabled=False).to_dict()
    assert data["warning_parts"] == [[{"id": "plan.disabled", "params": {}}]]
    assert data["warnings"] == [
        "dualnat is disabled: nothing is planned and apply removes its rules"
    ]


def test_a_part_must_name_a_reason_template_and_give_every_placeholder() -> None:
    with pytest.raises(ValueError, match="unknown message template"):
        part("forward.unchecked")  # a doctor template, not a reason
    with pytest.raises(ValueError, match="takes"):
        part("plan.dnat", bypass="x")
    with pytest.raises(ValueError, match="takes"):
        Part("plan.sysctl.ip_forward", (("extra", "1"),))


def test_the_check_sees_parts_that_do_not_give_the_reason() -> None:
    data = broad()[0].to_dict()
    check_plan(data)
    data["items"][0] = {**data["items"][0], "reason": data["items"][0]["reason"] + "!"}
    with pytest.raises(AssertionError):
        check_plan(data)
