"""The doctor's view of proxies: conntrack and rulesets recorded in the lab
(tests/lab/test_proxy_lab.py, data/proxies/<proxy>-<mode>-{before,after}.*), with dualnat's
rules alone (before) and with dualnat's exclusion (after)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from dualnat.model import PortRange
from dualnat.proxies.doctor import captured_flows
from dualnat.proxies.exclude import ForwardFacts

DATA = Path(__file__).parent / "data" / "proxies"
BYPASS = IPv4Address("192.168.1.2")
PUBLIC = IPv4Address("11.0.0.1")


def _f(name: str, protos: str, relay: str, device: str, ports: str, ext: str) -> ForwardFacts:
    return ForwardFacts(
        name,
        tuple(protos.split(",")),
        (PortRange.parse(relay),),
        IPv4Address(device),
        PortRange.parse(ports),
        PUBLIC,
        PortRange.parse(ext),
    )


# The lab's forwards as its plan has them (web80's external port 80 is relayed to 10080).
FORWARDS = (
    _f("web", "tcp", "8081", "192.168.1.50", "9001", "8081"),
    _f("dns", "udp", "9053", "192.168.1.50", "9053", "9053"),
    _f("games", "tcp,udp", "9020-9025", "192.168.1.52", "9020-9025", "9020-9025"),
    _f("web80", "tcp", "10080", "192.168.1.50", "9080", "80"),
    _f("cam", "tcp", "8082", "192.168.1.51", "9002", "8082"),
    _f("pin", "tcp,udp", "8084", "192.168.1.50", "9004", "8084"),
)
# label → (proxy, forwards taken, replies taken) as the lab's core logs showed them.
EXPECTED = {
    "openclash-fake-ip": ("openclash", {"pin", "web80", "games"}, False),
    "openclash-tun": ("openclash", {"pin", "web80", "games"}, False),
    "passwall-redirect": ("passwall", {"pin", "web80", "games"}, False),
    "passwall-tproxy": ("passwall", {"pin", "web80", "games"}, False),
    "homeproxy-redirect_tproxy": ("homeproxy", {"web80"}, False),
    "homeproxy-tun": ("homeproxy", {"web", "dns", "games", "web80", "pin"}, True),
    "nikki-tproxy": ("nikki", {"pin", "web80", "games"}, False),
    "nikki-redirect-tun": ("nikki", {"pin", "games"}, False),
}


def _read(label: str, phase: str) -> tuple[str, str]:
    return (
        (DATA / f"{label}-{phase}.conntrack").read_text(),
        (DATA / f"{label}-{phase}.ruleset").read_text(),
    )


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_taken_flows_are_recognised(label: str) -> None:
    proxy, forwards, replies = EXPECTED[label]
    conntrack, ruleset = _read(label, "before")
    [finding] = captured_flows(conntrack, ruleset, FORWARDS, BYPASS)
    assert finding.proxy == proxy
    assert set(finding.forwards) == forwards
    assert finding.replies is replies
    assert all(t.line in conntrack for t in finding.evidence)


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_nothing_taken_once_excluded(label: str) -> None:
    assert captured_flows(*_read(label, "after"), FORWARDS, BYPASS) == []


def test_no_proxy_running_no_finding() -> None:
    conntrack, _ = _read("passwall-redirect", "before")
    assert captured_flows(conntrack, "table inet fw4 {\n}\n", FORWARDS, BYPASS) == []


def test_redirect_to_the_proxy_port_is_named() -> None:
    [finding] = captured_flows(*_read("openclash-fake-ip", "before"), FORWARDS, BYPASS)
    hows = {t.how for t in finding.evidence}
    assert "answered by this router's port 7892 (OpenClash)" in hows


def test_passwall_conntrack_mark_is_named() -> None:
    [finding] = captured_flows(*_read("passwall-tproxy", "before"), FORWARDS, BYPASS)
    assert any("mark 0x50535731" in t.how for t in finding.evidence)


def test_tun_replies_show_as_stalled_handshakes_and_relayed_answers() -> None:
    [finding] = captured_flows(*_read("homeproxy-tun", "before"), FORWARDS, BYPASS)
    replies = {(t.forward, t.how.split(" (")[-1]) for t in finding.evidence if t.reply}
    assert ("web", "SYN_RECV)") in replies
    assert ("dns", "the proxy relayed it)") in replies
