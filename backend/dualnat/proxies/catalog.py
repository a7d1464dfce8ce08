"""What dualnat knows about each transparent proxy, as data (read from each tool's own
scripts; see docs in README "Transparent proxies").

One `Proxy` per tool: its UCI config, the options that switch it on and pick its mode,
where its nftables rules live (table, chains, hooks, priorities), its marks and routing
tables, the sets and checks it skips traffic with, and the setting dualnat uses to keep
the main router's public address away from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Capture(StrEnum):
    """How a proxy takes a protocol's packets."""

    REDIRECT = "redirect"  # nat prerouting REDIRECT to a local port (TCP, new connections)
    TPROXY = "tproxy"  # mangle prerouting TPROXY + fwmark → `local default dev lo`
    TUN = "tun"  # mangle prerouting fwmark → a table whose default route is a tun device


@dataclass(frozen=True)
class Mode:
    """What a proxy does with TCP and UDP (None: leaves that protocol alone)."""

    tcp: Capture | None
    udp: Capture | None
    fake_ip: bool = False

    @property
    def captures(self) -> frozenset[Capture]:
        return frozenset(c for c in (self.tcp, self.udp) if c is not None)

    @property
    def marks_at_mangle(self) -> bool:
        """TPROXY or TUN for some protocol: it decides at mangle priority (−150), before
        any DNAT, so no NAT priority can keep a packet away from it."""
        return bool(self.captures & {Capture.TPROXY, Capture.TUN})

    def __str__(self) -> str:
        parts = [f"TCP {self.tcp or 'not proxied'}", f"UDP {self.udp or 'not proxied'}"]
        return ", ".join(parts) + (", fake-ip DNS" if self.fake_ip else "")


@dataclass(frozen=True)
class Ref:
    """An option of a UCI section; `section` may be `@type[0]` (an anonymous section)."""

    section: str
    option: str
    default: str = ""

    def __str__(self) -> str:
        return f"{self.section}.{self.option}"


@dataclass(frozen=True)
class ModeOption:
    """One option that decides part of the mode: its value → protocol → capture.

    Keys of each value's mapping: "tcp", "udp" (a Capture or None) and "fake_ip"
    ("1"); an option only sets the keys it names."""

    ref: Ref
    values: Mapping[str, Mapping[str, str | None]]


@dataclass(frozen=True)
class Chain:
    """A chain a proxy creates: base chains have a hook and a priority."""

    table: str
    name: str
    hook: str = ""  # e.g. "prerouting"; empty for a regular chain
    priority: str = ""  # as nft prints it, e.g. "mangle - 1", "dstnat"
    role: str = ""


@dataclass(frozen=True)
class HairpinSetting:
    """Where the proxy lets a destination address go direct.

    kind "uci-list": add the address to list `ref` of config `config`; kind "rules-file":
    add a line to `path` (one address per line, '#' starts a comment); kind "none"."""

    kind: str
    ref: Ref | None = None
    path: str = ""
    value_format: str = "{ip}"  # how the public address is written
    note: str = ""


@dataclass(frozen=True)
class Proxy:
    key: str
    name: str
    config: str  # UCI config name (/etc/config/<config>)
    enable: tuple[Ref, ...]  # all of them truthy: the proxy starts
    mode_options: tuple[ModeOption, ...]
    tables: tuple[str, ...]  # tables whose presence shows its rules are loaded
    chains: tuple[Chain, ...]
    own_table: bool  # its rules live in its own table (a firewall reload leaves them)
    marks: tuple[str, ...]  # fwmarks it sets (as nft prints them, hex)
    route_tables: tuple[str, ...]
    redirect_ports: tuple[int, ...]  # default REDIRECT / TPROXY listener ports
    tun_devices: tuple[str, ...]
    skips: tuple[str, ...]  # what it lets go direct before capturing, in its own words
    skips_replies: bool  # `ct direction reply return` (or marks only new flows)
    hairpin: HairpinSetting
    # the shell commands that put {domain} into its fake-ip filter, so that the name
    # resolves to its real address ("": it hands out no fake addresses to LAN clients)
    fake_ip_filter: str
    restart: str  # command that re-creates its rules from its settings
    sources: tuple[str, ...] = field(default=())


def _both(capture: str | None) -> Mapping[str, str | None]:
    return {"tcp": capture, "udp": capture}


_REDIR_TPROXY = {"tcp": Capture.REDIRECT, "udp": Capture.TPROXY}
_REDIR_TUN = {"tcp": Capture.REDIRECT, "udp": Capture.TUN}

OPENCLASH = Proxy(
    key="openclash",
    name="OpenClash",
    config="openclash",
    enable=(Ref("config", "enable", "0"),),
    mode_options=(
        ModeOption(
            Ref("config", "en_mode", "redir-host"),
            {
                "redir-host": _REDIR_TPROXY,
                "fake-ip": {**_REDIR_TPROXY, "fake_ip": "1"},
                "redir-host-tun": _both(Capture.TUN),
                "fake-ip-tun": {**_both(Capture.TUN), "fake_ip": "1"},
                "redir-host-mix": _REDIR_TUN,
                "fake-ip-mix": {**_REDIR_TUN, "fake_ip": "1"},
            },
        ),
    ),
    tables=("inet fw4",),
    chains=(
        Chain("inet fw4", "openclash", role="TCP REDIRECT, jumped to from fw4's dstnat"),
        Chain("inet fw4", "openclash_mangle", role="UDP TPROXY / TUN mark, from mangle_prerouting"),
        Chain("inet fw4", "openclash_output", role="the router's own TCP"),
        Chain("inet fw4", "openclash_mangle_output", role="the router's own UDP / TUN"),
        Chain("inet fw4", "openclash_upnp", role="UPnP leases go direct"),
        Chain("inet fw4", "openclash_post", role="bypass_gateway_compatible masquerade"),
    ),
    own_table=False,
    marks=("0x162",),
    route_tables=("354",),  # 0x162
    redirect_ports=(7892, 7895),
    tun_devices=("utun",),
    skips=(
        "ip daddr @localnetwork (private, loopback and link-local ranges)",
        "ct direction reply",
        "ip daddr @wan_ac_black_ips (option wan_ac_black_ips)",
        "ip saddr @lan_ac_black_ips, ether saddr @lan_ac_black_macs",
        "th dport != @common_ports (redir-host with common_ports)",
    ),
    skips_replies=True,
    hairpin=HairpinSetting(
        "uci-list",
        Ref("config", "wan_ac_black_ips"),
        note="OpenClash → Overwrite settings → Access control → WAN bypassed IPs",
    ),
    fake_ip_filter="echo '{domain}' >> /etc/openclash/custom/openclash_custom_fake_filter.list",
    restart="/etc/init.d/openclash restart",
    sources=("vernesong/OpenClash luci-app-openclash/root/etc/init.d/openclash",),
)

PASSWALL = Proxy(
    key="passwall",
    name="PassWall",
    config="passwall",
    enable=(Ref("@global[0]", "enabled", "0"),),
    mode_options=(
        ModeOption(
            Ref("@global_forwarding[0]", "tcp_proxy_way", "redirect"),
            {"redirect": _REDIR_TPROXY, "tproxy": _both(Capture.TPROXY)},
        ),
    ),
    tables=("inet passwall",),
    chains=(
        Chain("inet passwall", "dstnat", "prerouting", "dstnat - 1", "jumps to PSW_NAT"),
        Chain("inet passwall", "mangle_prerouting", "prerouting", "mangle - 1", "PSW_MANGLE"),
        Chain("inet passwall", "mangle_output", "output", "mangle - 1", "the router's own"),
        Chain("inet passwall", "nat_output", "output", "-1", "the router's own TCP"),
        Chain("inet passwall", "PSW_NAT", role="TCP REDIRECT (tcp_proxy_way redirect)"),
        Chain("inet passwall", "PSW_MANGLE", role="UDP (and TCP) TPROXY"),
        Chain("inet passwall", "PSW_RULE", role="marks new flows 0x50535731, saves ct mark"),
        Chain("inet passwall", "PSW_DIVERT", role="established TPROXY sockets"),
    ),
    own_table=True,
    marks=("0x50535731",),
    route_tables=("999",),
    redirect_ports=(1041,),
    tun_devices=(),
    skips=(
        "ip daddr @psw_lan (rules/lanlist_ipv4)",
        "ip daddr @psw_vps (its servers)",
        "ct direction reply (PSW_MANGLE)",
        "ip daddr @psw_white / @psw_white_static (rules/direct_ip)",
        "ip daddr @psw_wan (this router's WAN addresses)",
        "tcp_no_redir_ports / udp_no_redir_ports (destination ports)",
    ),
    skips_replies=True,
    hairpin=HairpinSetting(
        "rules-file",
        path="/usr/share/passwall/rules/direct_ip",
        note="PassWall → Rule manage → Direct list → Direct IP",
    ),
    fake_ip_filter="echo '{domain}' >> /usr/share/passwall/rules/direct_host",
    restart="/etc/init.d/passwall restart",
    sources=("xiaorouji/openwrt-passwall luci-app-passwall/root/usr/share/passwall/nftables.sh",),
)

PASSWALL2 = Proxy(
    key="passwall2",
    name="PassWall 2",
    config="passwall2",
    enable=(Ref("@global[0]", "enabled", "0"),),
    mode_options=(
        ModeOption(
            Ref("@global_forwarding[0]", "tcp_proxy_way", "redirect"),
            {"redirect": _REDIR_TPROXY, "tproxy": _both(Capture.TPROXY)},
        ),
    ),
    tables=("inet passwall2",),
    chains=(
        Chain("inet passwall2", "PSW2_NAT", role="TCP REDIRECT"),
        Chain("inet passwall2", "PSW2_MANGLE", role="UDP (and TCP) TPROXY"),
    ),
    own_table=True,
    marks=("0x50535732",),
    route_tables=("999",),
    redirect_ports=(1041,),
    tun_devices=(),
    skips=("ip daddr @passwall2_lan", "ct direction reply"),
    skips_replies=True,
    hairpin=HairpinSetting(
        "none",
        note="PassWall 2 has no setting that sends a destination address direct; "
        "add a shunt rule with the public address and the outbound Direct",
    ),
    fake_ip_filter="",
    restart="/etc/init.d/passwall2 restart",
    sources=("xiaorouji/openwrt-passwall2 nftables.sh",),
)

HOMEPROXY = Proxy(
    key="homeproxy",
    name="homeproxy",
    config="homeproxy",
    enable=(Ref("config", "main_node", "nil"),),
    mode_options=(
        ModeOption(
            Ref("config", "proxy_mode", "redirect_tproxy"),
            {
                "redirect": {"tcp": Capture.REDIRECT, "udp": None},
                "redirect_tproxy": _REDIR_TPROXY,
                "redirect_tun": _REDIR_TUN,
                "tun": _both(Capture.TUN),
            },
        ),
    ),
    tables=("inet fw4",),
    chains=(
        Chain("inet fw4", "homeproxy_redirect_lanac", role="TCP REDIRECT, from fw4's dstnat"),
        Chain("inet fw4", "homeproxy_redirect", role="TCP REDIRECT"),
        Chain("inet fw4", "homeproxy_redirect_proxy", role="TCP REDIRECT"),
        Chain("inet fw4", "homeproxy_redirect_proxy_port", role="routing_port check"),
        Chain("inet fw4", "homeproxy_mangle_lanac", role="UDP TPROXY / TUN mark, jumped to"),
        Chain("inet fw4", "homeproxy_mangle_prerouting", role="UDP TPROXY"),
        Chain("inet fw4", "homeproxy_mangle_tproxy", role="UDP TPROXY"),
        Chain("inet fw4", "homeproxy_mangle_tproxy_port", role="routing_port check"),
        Chain("inet fw4", "homeproxy_mangle_tun", role="TUN mark"),
        Chain("inet fw4", "homeproxy_mangle_tun_mark", role="TUN mark"),
    ),
    own_table=False,
    marks=("0x65", "0x66"),  # tproxy_mark 101, tun_mark 102
    route_tables=(),  # infra.*_route_table (defaults not read from its sources)
    redirect_ports=(5331, 5332),
    tun_devices=("singtun0",),
    skips=(
        "meta mark 100 (self_mark)",
        "ip daddr @homeproxy_local_addr_v4 (reserved ranges)",
        "ip daddr @homeproxy_wan_direct_addr_v4 (control.wan_direct_ipv4_ips)",
        "dport not in routing_port (common ports by default)",
        "no check of reply direction or DNAT: replies of forwarded flows are captured "
        "(homeproxy #611)",
    ),
    skips_replies=False,
    hairpin=HairpinSetting(
        "uci-list",
        Ref("control", "wan_direct_ipv4_ips"),
        note="homeproxy → Access control → WAN IP policy → Direct IPv4 IP-s",
    ),
    fake_ip_filter="",
    restart="/etc/init.d/homeproxy restart",
    sources=("immortalwrt/homeproxy root/etc/homeproxy/scripts/firewall_post.ut",),
)

NIKKI = Proxy(
    key="nikki",
    name="nikki",
    config="nikki",
    enable=(Ref("config", "enabled", "0"), Ref("proxy", "enabled", "0")),
    mode_options=(
        ModeOption(
            Ref("proxy", "tcp_mode", "redirect"),
            {
                "redirect": {"tcp": Capture.REDIRECT},
                "tproxy": {"tcp": Capture.TPROXY},
                "tun": {"tcp": Capture.TUN},
            },
        ),
        ModeOption(
            Ref("proxy", "udp_mode", "tun"),
            {"tproxy": {"udp": Capture.TPROXY}, "tun": {"udp": Capture.TUN}},
        ),
        ModeOption(
            Ref("mixin", "dns_mode", "fake-ip"),
            {"fake-ip": {"fake_ip": "1"}, "redir-host": {"fake_ip": ""}, "normal": {"fake_ip": ""}},
        ),
    ),
    tables=("inet nikki",),
    chains=(
        Chain("inet nikki", "dstnat", "prerouting", "dstnat + 1", "TCP REDIRECT"),
        Chain("inet nikki", "mangle_prerouting_lan", "prerouting", "mangle", "TPROXY / TUN"),
        Chain("inet nikki", "mangle_prerouting_router", "prerouting", "mangle - 1"),
        Chain("inet nikki", "mangle_output", "output", "mangle", "the router's own"),
    ),
    own_table=True,
    marks=("0x80", "0x81"),
    route_tables=("80", "81"),
    redirect_ports=(7891, 7892),
    tun_devices=("nikki",),
    skips=(
        "fib daddr type local",
        "ct direction reply",
        "ip daddr @reserved_ip (proxy.reserved_ip)",
        "meta l4proto . th dport != @proxy_dport",
        "ip dscp @bypass_dscp",
    ),
    skips_replies=True,
    hairpin=HairpinSetting(
        "uci-list",
        Ref("proxy", "reserved_ip"),
        value_format="{ip}/32",
        note="nikki → Proxy config → Bypass → Reserved IP",
    ),
    fake_ip_filter="uci add_list nikki.mixin.fake_ip_filters='{domain}'; "
    "uci set nikki.mixin.fake_ip_filter='1'; uci commit nikki",
    restart="/etc/init.d/nikki restart",
    sources=("nikkinikki-org/OpenWrt-nikki nikki/files/ucode/hijack.ut, nikki.conf",),
)

PROXIES: Mapping[str, Proxy] = MappingProxyType(
    {p.key: p for p in (OPENCLASH, PASSWALL, PASSWALL2, HOMEPROXY, NIKKI)}
)
