"""Which proxy is on, and how: from UCI configs and rulesets (recorded in the lab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnat.proxies.catalog import PROXIES, Capture, Mode
from dualnat.proxies.detect import detect, detect_one, mode_of, read
from dualnat.uci import Document

DATA = Path(__file__).parent / "data" / "proxies"
R, T, U = Capture.REDIRECT, Capture.TPROXY, Capture.TUN


def _mode(key: str, text: str) -> Mode:
    return mode_of(PROXIES[key], Document.parse(text))


@pytest.mark.parametrize(
    ("value", "tcp", "udp", "fake"),
    [
        ("fake-ip", R, T, True),
        ("redir-host", R, T, False),
        ("fake-ip-tun", U, U, True),
        ("redir-host-tun", U, U, False),
        ("fake-ip-mix", R, U, True),
        ("redir-host-mix", R, U, False),
        ("something-new", R, T, False),  # unknown: its default (redir-host)
    ],
)
def test_openclash_modes(value: str, tcp: Capture, udp: Capture, fake: bool) -> None:
    text = f"config openclash 'config'\n\toption enable '1'\n\toption en_mode '{value}'\n"
    assert _mode("openclash", text) == Mode(tcp, udp, fake)


def test_passwall_mode_lives_in_anonymous_sections() -> None:
    text = "config global\n\toption enabled '1'\n\nconfig global_forwarding\n"
    assert _mode("passwall", text) == Mode(R, T)
    text += "\toption tcp_proxy_way 'tproxy'\n"
    assert _mode("passwall", text) == Mode(T, T)


@pytest.mark.parametrize(
    ("value", "tcp", "udp"),
    [("redirect", R, None), ("redirect_tproxy", R, T), ("redirect_tun", R, U), ("tun", U, U)],
)
def test_homeproxy_modes(value: str, tcp: Capture, udp: Capture | None) -> None:
    text = f"config homeproxy 'config'\n\toption proxy_mode '{value}'\n"
    assert _mode("homeproxy", text) == Mode(tcp, udp)


def test_nikki_mode_from_two_options_and_dns() -> None:
    text = "config proxy 'proxy'\n\toption tcp_mode 'tproxy'\n\toption udp_mode 'tproxy'\n"
    assert _mode("nikki", text) == Mode(T, T, fake_ip=True)  # dns_mode defaults to fake-ip
    text = "config mixin 'mixin'\n\toption dns_mode 'redir-host'\n"
    assert _mode("nikki", text) == Mode(R, U)


@pytest.mark.parametrize(
    ("key", "text", "enabled"),
    [
        ("openclash", "config openclash 'config'\n\toption enable '0'\n", False),
        ("openclash", "config openclash 'config'\n\toption enable '1'\n", True),
        ("homeproxy", "config homeproxy 'config'\n\toption main_node 'nil'\n", False),
        ("homeproxy", "config homeproxy 'config'\n\toption main_node 'abc'\n", True),
        ("nikki", "config config 'config'\n\toption enabled '1'\n", False),  # proxy off
        (
            "nikki",
            "config config 'config'\n\toption enabled '1'\nconfig proxy 'proxy'\n"
            "\toption enabled '1'\n",
            True,
        ),
        ("passwall", "config global\n\toption enabled '1'\n", True),
    ],
)
def test_enabled(key: str, text: str, enabled: bool) -> None:
    found = detect_one(PROXIES[key], text, "")
    assert found.installed and found.enabled is enabled and not found.running
    assert found.active is enabled


@pytest.mark.parametrize(
    ("label", "key", "live"),
    [
        ("openclash-fake-ip", "openclash", {R, T}),
        ("openclash-tun", "openclash", {U}),
        ("passwall-redirect", "passwall", {R, T}),
        ("passwall-tproxy", "passwall", {T}),
        ("homeproxy-redirect_tproxy", "homeproxy", {R, T}),
        ("homeproxy-tun", "homeproxy", {U}),
        # nikki loads its chains for every mode; only those jumped to count
        ("nikki-tproxy", "nikki", {T}),
        ("nikki-redirect-tun", "nikki", {R, U}),
    ],
)
def test_running_from_the_ruleset(label: str, key: str, live: set[Capture]) -> None:
    ruleset = (DATA / f"{label}-before.ruleset").read_text()
    [found] = detect({}, ruleset)
    assert found.proxy.key == key
    assert found.running and found.installed and not found.enabled and found.mode is None
    assert found.live == live
    assert found.active


def test_nothing_installed() -> None:
    ruleset = (DATA / "openclash-fake-ip-after.ruleset").read_text()
    assert [d.proxy.key for d in detect({}, ruleset)] == ["openclash"]
    assert detect({}, "table inet fw4 {\n\tchain input {\n\t}\n}\n") == []


def test_unreadable_config_is_said() -> None:
    found = detect_one(PROXIES["openclash"], "config 'broken\n", "")
    assert not found.enabled and "cannot be read" in found.evidence[0]


def test_read_from_a_root(tmp_path: Path) -> None:
    (tmp_path / "etc/config").mkdir(parents=True)
    (tmp_path / "etc/config/nikki").write_text(
        "config config 'config'\n\toption enabled '1'\nconfig proxy 'proxy'\n\toption enabled '1'\n"
    )

    class Proc:
        returncode = 0
        stdout = ""

    [found] = read(tmp_path, run=lambda *a, **k: Proc())
    assert found.proxy.key == "nikki" and found.enabled and found.to_dict()["tcp"] == "redirect"
