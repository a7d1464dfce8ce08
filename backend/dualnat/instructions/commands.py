"""Shell commands for the parts that run on OpenWrt: the main router's redirects and DHCP
options, and the bypass router's dnsmasq. Every value is single-quoted the way uci export
quotes it, which is also safe for the shell."""

from __future__ import annotations

from collections.abc import Iterable

from ..plan import MainRouterPinhole
from ..uci import quote
from .entries import Entry

UCI_PROTO = {"tcp": "tcp", "udp": "udp", "tcpudp": "tcp udp"}


def redirects(entries: Iterable[Entry], src_zone: str = "wan", dest_zone: str = "lan") -> str:
    """`uci` commands that add one DNAT redirect per entry, commit and reload."""
    lines: list[str] = []
    for e in entries:
        lines.append("uci add firewall redirect")
        options = (
            ("name", e.rule_name),
            ("target", "DNAT"),
            ("src", src_zone),
            ("src_dport", str(e.external)),
            ("dest", dest_zone),
            ("dest_ip", str(e.internal_ip)),
            ("dest_port", str(e.internal)),
            ("proto", UCI_PROTO[e.proto]),
        )
        lines += [f"uci set firewall.@redirect[-1].{o}={quote(v)}" for o, v in options]
    lines += ["uci commit firewall", "service firewall reload"]
    return "\n".join(lines) + "\n"


def pinhole_options(
    p: MainRouterPinhole, address: str, src_zone: str = "wan", dest_zone: str = "lan"
) -> tuple[tuple[str, str], ...]:
    """The options of the `config rule` that lets IPv6 connections to the device through
    (`address`: its suffix match ``::x/-64`` or a full address)."""
    return (
        ("name", f"{p.name}_ipv6"),
        ("src", src_zone),
        ("dest", dest_zone),
        ("family", "ipv6"),
        ("proto", UCI_PROTO[p.proto]),
        ("dest_ip", address),
        ("dest_port", str(p.port)),
        ("target", "ACCEPT"),
    )


def pinholes(rules: Iterable[tuple[MainRouterPinhole, str]]) -> str:
    """`uci` commands that add one IPv6 traffic rule per (pinhole, address), commit and
    reload."""
    lines: list[str] = []
    for p, address in rules:
        lines.append("uci add firewall rule")
        lines += [
            f"uci set firewall.@rule[-1].{o}={quote(v)}" for o, v in pinhole_options(p, address)
        ]
    lines += ["uci commit firewall", "service firewall reload"]
    return "\n".join(lines) + "\n"


def dhcp_options(options: Iterable[tuple[str, str]], section: str = "lan") -> list[str]:
    """Idempotent `uci` lines that add DHCP options ('3,addr', '6,addr') to a section.
    Each option is (value, comment); a comment is written on the line before it."""
    lines: list[str] = []
    for value, comment in options:
        if comment:
            lines.append(f"# {comment}")
        word = f"dhcp.{section}.dhcp_option={quote(value)}"
        lines += [f"uci del_list {word}", f"uci add_list {word}"]
    return lines


def dhcp_gateway(options: Iterable[tuple[str, str]]) -> str:
    """The main router (OpenWrt) hands out other DHCP options on its LAN."""
    return "\n".join([*dhcp_options(options), "uci commit dhcp", "service dnsmasq restart"]) + "\n"


def dhcp_prepare(comment: str) -> str:
    """The bypass router gets its DHCP options from `dualnat apply` (which records them so
    that `dualnat revert` removes exactly those) while its DHCP server stays off. `comment`
    (in the reader's language) says which options apply adds."""
    lines = ["uci set dhcp.lan.ignore='1'", "uci commit dhcp", f"# {comment}", "dualnat apply"]
    return "\n".join(lines) + "\n"


def dhcp_enable() -> str:
    """The bypass router's DHCP server on, through dualnat (it restarts dnsmasq)."""
    return "uci set dualnat.main.bypass_dhcp='1'\nuci commit dualnat\ndualnat apply\n"
