"""Reading /etc/config/dualnat and /etc/config/network into the model."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from dualnat.config import load_config
from dualnat.errors import ConfigInvalid
from dualnat.model import KeepSource, MasqueradeMode, PortRange, Proto, Settings, TargetGateway
from dualnat.network import network_state
from dualnat.uci import Document

GOOD = """
config dualnat 'main'
	option enabled '1'
	option lan_interface 'lan'
	option main_router_vendor 'linksys'
	option public_address '198.51.100.7'
	option masquerade 'on'
	option disable_redirects '0'

config forward 'nas_web'
	option proto 'tcpudp'
	option external_port '8000-8010'
	option internal_ip '192.168.1.50'
	option internal_port '9000-9010'
	option target_gateway 'main'
	option keep_source_ip 'no'
	option hairpin '0'
	list allow_source '203.0.113.0/24'
	list allow_source '198.51.100.9'
"""


MAIN = "config dualnat 'main'\n"


def problems(text: str) -> list[tuple[str, str]]:
    """(section, field) of every problem; a file without a main section gets one (a file
    without it is 'not configured', see test_strict_config.py)."""
    if "config dualnat" not in text:
        text = MAIN + text
    with pytest.raises(ConfigInvalid) as exc:
        load_config(Document.parse(text))
    return [(p.section, p.field) for p in exc.value.problems]


def test_full_config() -> None:
    cfg = load_config(Document.parse(GOOD))
    s = cfg.settings
    assert s.main_router_vendor == "linksys" and s.public_address == "198.51.100.7"
    assert s.masquerade is MasqueradeMode.ON and s.disable_redirects is False
    (f,) = cfg.forwards
    assert f.proto is Proto.TCPUDP and f.external_port == PortRange(8000, 8010)
    assert f.internal_port == PortRange(9000, 9010) and f.translated
    assert f.target_gateway is TargetGateway.MAIN and f.keep_source_ip is KeepSource.NO
    assert f.hairpin is False
    assert f.allow_source == (IPv4Network("203.0.113.0/24"), IPv4Network("198.51.100.9/32"))


def test_defaults() -> None:
    cfg = load_config(
        Document.parse(
            MAIN + "config forward 'a'\n\toption external_port '80'\n"
            "\toption internal_ip '192.168.1.5'\n"
        )
    )
    assert cfg.settings == Settings()
    (f,) = cfg.forwards
    assert f.enabled and f.hairpin and f.proto is Proto.TCP and f.internal_port == PortRange(80, 80)
    assert f.target_gateway is TargetGateway.BYPASS and f.keep_source_ip is KeepSource.AUTO


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("external_port", "0"),
        ("external_port", "65536"),
        ("external_port", "-1"),
        ("external_port", "80; rm -rf /"),
        ("external_port", "90-80"),
        ("internal_port", "abc"),
        ("internal_ip", "192.168.1.300"),
        ("internal_ip", "fe80::1"),
        ("proto", "icmp"),
        ("target_gateway", "both"),
        ("keep_source_ip", "maybe"),
        ("hairpin", "2"),
        ("enabled", "perhaps"),
        ("allow_source", "not-a-net"),
        ("bypass_port", "70000"),
    ],
)
def test_bad_forward_values_name_the_field(option: str, value: str) -> None:
    base = {"external_port": "8443", "internal_ip": "192.168.1.50"}
    base[option] = value
    body = "".join(f"\toption {k} '{v}'\n" for k, v in base.items())
    assert problems(f"config forward 'web'\n{body}") == [("web", option)]


def test_range_lengths_must_match() -> None:
    text = (
        "config forward 'r'\n\toption external_port '8000-8010'\n"
        "\toption internal_port '9000-9005'\n\toption internal_ip '192.168.1.5'\n"
    )
    assert problems(text) == [("r", "internal_port")]


def test_required_fields_and_bad_names() -> None:
    found = problems(
        "config forward 'BadName'\n\toption proto 'tcp'\n"
        "config forward\n\toption external_port '1'\n\toption internal_ip '10.0.0.1'\n"
    )
    assert ("BadName", "external_port") in found and ("BadName", "internal_ip") in found
    assert ("@forward[1]", "name") in found


def test_duplicate_forward_names_are_refused_naming_both_lines() -> None:
    # UCI would merge two sections of one name into a mix of both: refused.
    text = (
        MAIN
        + "config forward 'a'\n\toption external_port '1'\n\toption internal_ip '192.168.1.5'\n"
        "config forward 'a'\n\toption external_port '2'\n"
    )
    with pytest.raises(ConfigInvalid) as exc:
        load_config(Document.parse(text, "/x/dualnat"))
    [problem] = exc.value.problems
    assert (problem.section, problem.field, problem.line) == ("a", "name", 2)
    assert "lines 2 and 5" in problem.message


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("public_address", "192.168.1.1"),
        ("public_address", "10.1.2.3"),
        ("public_address", "100.64.1.1"),
        ("public_address", "bad name!"),
        ("main_router_vendor", "dlink"),
        ("masquerade", "sometimes"),
        ("bypass_ip", "300.1.1.1"),
        ("lan_interface", "lan; reboot"),
    ],
)
def test_bad_settings_name_the_field(option: str, value: str) -> None:
    assert problems(f"config dualnat 'main'\n\toption {option} '{value}'\n") == [("main", option)]


def test_public_address_forms() -> None:
    for value, expected in [
        ("198.51.100.7", "198.51.100.7"),
        ("Home.Example.NET.", "home.example.net"),
    ]:
        cfg = load_config(
            Document.parse(f"config dualnat 'main'\n\toption public_address '{value}'\n")
        )
        assert cfg.settings.public_address == expected


def test_option_given_as_list_is_an_error() -> None:
    text = (
        "config forward 'a'\n\tlist external_port '80'\n\tlist external_port '81'\n"
        "\toption internal_ip '192.168.1.5'\n"
    )
    assert problems(text) == [("a", "external_port")]


NETWORK = """
config device
	option name 'br-lan'
	option type 'bridge'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '192.168.1.2'
	option netmask '255.255.255.0'
	option gateway '192.168.1.1'
"""


def test_network_state_from_static_lan() -> None:
    net = network_state(Settings(), Document.parse(NETWORK))
    assert (net.lan_device, net.bypass_ip, net.lan, net.main_router_ip) == (
        "br-lan",
        IPv4Address("192.168.1.2"),
        IPv4Network("192.168.1.0/24"),
        IPv4Address("192.168.1.1"),
    )
    assert net.lan_zone == "lan"


def test_network_state_cidr_address_old_ifname_and_zone() -> None:
    doc = Document.parse(
        "config interface 'lan'\n\toption type 'bridge'\n\toption ifname 'eth0'\n"
        "\toption proto 'static'\n\tlist ipaddr '10.0.0.2/16'\n"
        "\toption gateway '10.0.0.1'\n"
    )
    fw = Document.parse("config zone\n\toption name 'inside'\n\toption network 'lan guest'\n")
    net = network_state(Settings(), doc, fw)
    assert net.lan_device == "br-lan" and net.lan == IPv4Network("10.0.0.0/16")
    assert net.lan_zone == "inside"


def test_overrides_win() -> None:
    settings = Settings(
        bypass_ip=IPv4Address("192.168.1.3"), main_router_ip=IPv4Address("192.168.1.254")
    )
    net = network_state(settings, Document.parse(NETWORK))
    assert (net.bypass_ip, net.main_router_ip) == (settings.bypass_ip, settings.main_router_ip)


def test_network_problems_say_what_to_set() -> None:
    def fields(settings: Settings, text: str) -> list[str]:
        with pytest.raises(ConfigInvalid) as exc:
            network_state(settings, Document.parse(text))
        return [p.field for p in exc.value.problems]

    assert fields(Settings(lan_interface="guest"), NETWORK) == ["lan_interface"]
    dhcp = "config interface 'lan'\n\toption proto 'dhcp'\n\toption device 'eth0'\n"
    assert fields(Settings(), dhcp) == ["bypass_ip"]
    assert fields(Settings(bypass_ip=IPv4Address("192.168.1.2")), dhcp) == ["main_router_ip"]
    nogw = NETWORK.replace("\toption gateway '192.168.1.1'\n", "")
    assert fields(Settings(), nogw) == ["main_router_ip"]
    assert fields(Settings(main_router_ip=IPv4Address("10.9.9.9")), NETWORK) == ["main_router_ip"]
    assert fields(Settings(main_router_ip=IPv4Address("192.168.1.2")), NETWORK) == [
        "main_router_ip"
    ]
