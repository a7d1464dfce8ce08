"""Transparent proxies on the lab's bypass router, re-created as their own scripts build them.

Each `LabProxy` renders its rules from its UCI settings the way the tool does. The
settings are files, as on the router: /etc/config/<proxy> in the lab's config folder
(the folder dualnat's Site works on) and its rules files below the stand-in for / (the
`Fw4` root, the Site's root), read again at every start, so that what dualnat's apply
writes there takes effect at the proxy's next restart, as on the router. The tools:
OpenClash adds chains and jumps to firewall4's table; homeproxy renders a firewall4
include (table-post); PassWall and nikki load their own tables. TPROXY modes add
`ip rule fwmark → table` with `local default dev lo`, TUN modes a tun device (owned by the
core stand-in, proxy_core.py) as the table's default route.

`Fw4` stands in for firewall4: `table inet fw4` with its base chains, the chain-pre include
directory (/usr/share/nftables.d/chain-pre/<chain>/*.nft) and registered includes; a
reload deletes and re-creates the table (dropping whatever was added to it by hand).

Left out, on purpose: the router's own traffic (output-hook chains), IPv6, DNS servers.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from addresses import LAN_DEVICE
from netns import LabError, Netns

from dualnat.uci import Document

CORE = Path(__file__).resolve().parent / "proxy_core.py"
FW4_CHAINS = {
    "input": "type filter hook input priority filter; policy accept;",
    "forward": "type filter hook forward priority filter; policy accept;",
    "output": "type filter hook output priority filter; policy accept;",
    "dstnat": "type nat hook prerouting priority dstnat; policy accept;",
    "srcnat": "type nat hook postrouting priority srcnat; policy accept;",
    "mangle_prerouting": "type filter hook prerouting priority mangle; policy accept;",
    "mangle_output": "type route hook output priority mangle; policy accept;",
}
RESERVED = (
    "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
    "192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24, 192.168.0.0/16, 198.18.0.0/15, "
    "198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4, 240.0.0.0/4"
)


class Fw4:
    """firewall4 on the bypass router: the table, chain-pre includes, table-post includes."""

    def __init__(self, ns: Netns, root: Path) -> None:
        self.ns = ns
        self.root = root  # stands for / (include dirs below it)
        self.table_post: dict[str, Path] = {}  # name → include file (UCI `config include`)

    def chain_pre_dir(self, chain: str) -> Path:
        return self.root / "usr/share/nftables.d/chain-pre" / chain

    def script(self) -> str:
        lines = ["table inet fw4", "delete table inet fw4", "table inet fw4 {"]
        for name, head in FW4_CHAINS.items():
            lines += [f"\tchain {name} {{", f"\t\t{head}"]
            folder = self.chain_pre_dir(name)
            for inc in sorted(folder.glob("*.nft")) if folder.is_dir() else ():
                lines += [f"\t\t{ln}" for ln in inc.read_text().splitlines() if ln.strip()]
            lines.append("\t}")
        for path in self.table_post.values():
            lines += [f"\t{ln}" for ln in path.read_text().splitlines()]
        lines += ["}", ""]
        return "\n".join(lines)

    def reload(self) -> None:
        """`fw4 reload`: the table re-created from scratch, includes rendered again."""
        path = self.root / "fw4.nft"
        path.write_text(self.script())
        self.ns.nft_file(path)

    def add(self, rules: list[tuple[str, str, bool]]) -> None:
        """Rules a tool adds to fw4's chains by hand: (chain, rule, at the head?)."""
        cmds = [
            f"{'insert' if head else 'add'} rule inet fw4 {chain} {rule}"
            for chain, rule, head in rules
        ]
        if cmds:
            path = self.root / "fw4-add.nft"
            path.write_text("\n".join(cmds) + "\n")
            self.ns.nft_file(path)


@dataclass(frozen=True)
class Rules:
    """What a proxy loads: its own table, chains/jumps in fw4, a fw4 include, routing."""

    own_table: str = ""  # "inet passwall": `script` replaces it
    script: str = ""  # nft text for its own table, or chains added to fw4's table
    fw4_rules: tuple[tuple[str, str, bool], ...] = ()
    table_post: str = ""  # text of a firewall4 table-post include
    route: tuple[str, str, str] = ("", "", "")  # fwmark, table, "lo" (TPROXY) or tun device


@dataclass(frozen=True)
class CoreSpec:
    redirect: int | None = None
    tproxy: int | None = None
    tproxy_protos: str = "tcp,udp"
    tun: str | None = None


@dataclass(frozen=True)
class LabProxy:
    """A proxy in one mode: its default-ish settings and how it renders its rules."""

    key: str  # dualnat.proxies.catalog key
    mode: str  # label
    config: str  # /etc/config/<key> text
    render: Callable[[Document, Mapping[str, str]], Rules]
    core: CoreSpec
    files: Mapping[str, str] = field(default_factory=dict)  # its rules files
    reload_restarts: bool = False  # its firewall include restarts it on fw4 reload

    @property
    def label(self) -> str:
        return f"{self.key}-{self.mode}"


def _opt(doc: Document, section: str, option: str, default: str = "") -> str:
    sec = doc.section(section)
    value = sec.get(option) if sec is not None else None
    return default if value is None else value


def _list(doc: Document, section: str, option: str) -> list[str]:
    sec = doc.section(section)
    return sec.get_list(option) if sec is not None else []


def _elements(items: list[str]) -> str:
    return f"elements = {{ {', '.join(items)} }}" if items else ""


def _set(name: str, type_: str, items: list[str]) -> str:
    return f"\tset {name} {{ type {type_}; flags interval; auto-merge; {_elements(items)} }}"


# -- OpenClash (init.d set_firewall, fw4 branch: chains in table inet fw4) --------------------


def _openclash(doc: Document, files: Mapping[str, str]) -> Rules:
    mode = _opt(doc, "config", "en_mode", "redir-host")
    tun = mode.endswith("-tun")
    fake = mode.startswith("fake-ip")
    black = _list(doc, "config", "wan_ac_black_ips")
    head = [
        _set("localnetwork", "ipv4_addr", [RESERVED]),
        _set("wan_ac_black_ips", "ipv4_addr", black),
        "\tchain openclash_upnp {\n\t}",
    ]
    fake_tcp = "\t\tip protocol tcp ip daddr { 198.18.0.0/16 } counter redirect to :7892"
    if tun:
        mangle = [
            '\t\tmeta l4proto { tcp, udp } iifname "utun" counter return',
            "\t\tip daddr @localnetwork counter return",
            "\t\tct direction reply counter return",
            "\t\tip daddr @wan_ac_black_ips counter return",
            "\t\tip protocol udp counter jump openclash_upnp",
            "\t\tmeta l4proto { tcp, udp } counter meta mark set 0x162",
        ]
        chains = [*head, "\tchain openclash_mangle {", *mangle, "\t}"]
        fw4 = [
            ("mangle_prerouting", "meta nfproto ipv4 counter jump openclash_mangle", True),
            ("forward", 'oifname "utun" counter accept', True),
            ("forward", 'iifname "utun" counter accept', True),
            ("input", 'iifname "utun" counter accept', True),
            ("srcnat", 'oifname "utun" counter return', True),
        ]
        route = ("0x162", "354", "utun")
    else:
        nat = [
            "\t\tip daddr @localnetwork counter return",
            "\t\tct direction reply counter return",
            *([fake_tcp] if fake else []),
            "\t\tip daddr @wan_ac_black_ips counter return",
            "\t\tip protocol tcp counter redirect to :7892",
        ]
        mangle = [
            "\t\tip daddr @localnetwork counter return",
            "\t\tct direction reply counter return",
            "\t\tip daddr @wan_ac_black_ips counter return",
            "\t\tip protocol udp counter jump openclash_upnp",
            "\t\tmeta l4proto udp counter meta mark set 0x162 tproxy ip to 127.0.0.1:7895 accept",
        ]
        chains = [*head, "\tchain openclash {", *nat, "\t}"]
        chains += ["\tchain openclash_mangle {", *mangle, "\t}"]
        fw4 = [
            ("dstnat", "meta nfproto ipv4 ip protocol tcp counter jump openclash", False),
            (
                "mangle_prerouting",
                "meta nfproto ipv4 ip protocol udp counter jump openclash_mangle",
                True,
            ),
        ]
        route = ("0x162", "354", "lo")
    fw4.insert(0, ("dstnat", "meta l4proto { tcp, udp } th dport 53 counter redirect to :53", True))
    script = "table inet fw4 {\n" + "\n".join(chains) + "\n}\n"
    return Rules(script=script, fw4_rules=tuple(fw4), route=route)


OPENCLASH_CONFIG = """config openclash 'config'
\toption enable '1'
\toption en_mode '{mode}'
\toption enable_udp_proxy '1'
\toption proxy_port '7892'
\toption tproxy_port '7895'
\toption lan_ac_mode '0'
"""

# -- PassWall (nftables.sh: own table inet passwall) ------------------------------------------

PSW_MARK = "0x50535731"


def _passwall(doc: Document, files: Mapping[str, str]) -> Rules:
    tproxy = _opt(doc, "@global_forwarding[0]", "tcp_proxy_way", "redirect") == "tproxy"
    tcp_ports = _opt(doc, "@global_forwarding[0]", "tcp_redir_ports").replace(",", ", ")
    direct = [
        ln.split("#", 1)[0].strip()
        for ln in files.get("/usr/share/passwall/rules/direct_ip", "").splitlines()
        if ln.split("#", 1)[0].strip()
    ]
    tproxy_tcp = f"counter meta mark {PSW_MARK} tproxy ip to :1041"
    mangle = [
        "\t\tip daddr @psw_lan counter return",
        "\t\tip daddr @psw_vps counter return",
        "\t\tct direction reply counter return",
        '\t\tip daddr @psw_wan counter return comment "WAN_IP_RETURN"',
        "\t\tip protocol udp udp dport 53 counter return",
        "\t\tip protocol tcp tcp dport 53 counter return",
        "\t\tip daddr @psw_white counter return",
        "\t\tip daddr @psw_white_static counter return",
    ]
    if tproxy:
        mangle += [
            f"\t\tip protocol tcp tcp dport {{ {tcp_ports} }} counter jump PSW_RULE",
            f"\t\tip protocol tcp {tproxy_tcp}",
            "\t\tip protocol tcp counter return",
        ]
    mangle += [
        "\t\tip protocol udp counter jump PSW_RULE",
        f"\t\tip protocol udp counter meta mark {PSW_MARK} tproxy ip to :1041",
        "\t\tip protocol udp counter return",
    ]
    nat = [
        "\t\tip daddr @psw_lan counter return",
        "\t\tip daddr @psw_vps counter return",
        '\t\tip daddr @psw_wan counter return comment "WAN_IP_RETURN"',
        "\t\tip daddr @psw_white counter return",
        "\t\tip daddr @psw_white_static counter return",
        f"\t\tip protocol tcp tcp dport {{ {tcp_ports} }} counter redirect to :1041",
        "\t\tip protocol tcp counter return",
    ]
    lines = [
        "table inet passwall {",
        _set("psw_lan", "ipv4_addr", [RESERVED]),
        _set("psw_vps", "ipv4_addr", []),
        _set("psw_wan", "ipv4_addr", []),
        _set("psw_white", "ipv4_addr", []),
        _set("psw_white_static", "ipv4_addr", direct),
        "\tchain dstnat {",
        "\t\ttype nat hook prerouting priority dstnat - 1; policy accept;",
        *([] if tproxy else ["\t\tip protocol tcp counter jump PSW_NAT"]),
        "\t}",
        "\tchain mangle_prerouting {",
        "\t\ttype filter hook prerouting priority mangle - 1; policy accept;",
        "\t\tcounter jump PSW_DIVERT",
        "\t\tip protocol udp counter jump PSW_MANGLE",
        *(["\t\tip protocol tcp counter jump PSW_MANGLE"] if tproxy else []),
        "\t}",
        "\tchain PSW_DIVERT {",
        f"\t\tmeta l4proto tcp socket transparent 1 meta mark set {PSW_MARK} counter accept",
        "\t}",
        "\tchain PSW_RULE {",
        "\t\tcounter meta mark set ct mark",
        f"\t\tmeta mark {PSW_MARK} counter return",
        f"\t\ttcp flags & (fin|syn|rst|ack) == syn counter meta mark set {PSW_MARK}",
        f"\t\tmeta l4proto udp ct state {{ new, related }} counter meta mark set {PSW_MARK}",
        "\t\tcounter ct mark set mark",
        "\t}",
        "\tchain PSW_MANGLE {",
        *mangle,
        "\t}",
        *([] if tproxy else ["\tchain PSW_NAT {", *nat, "\t}"]),
        "}",
        "",
    ]
    return Rules(own_table="inet passwall", script="\n".join(lines), route=(PSW_MARK, "999", "lo"))


PASSWALL_CONFIG = """config global
\toption enabled '1'
\toption tcp_node 'node1'
\toption udp_node 'tcp'
\toption use_direct_list '1'

config global_forwarding
\toption tcp_no_redir_ports 'disable'
\toption udp_no_redir_ports 'disable'
\toption tcp_redir_ports '22,25,53,143,465,587,853,993,995,80,443'
\toption udp_redir_ports '1:65535'
\toption tcp_proxy_way '{mode}'
"""
PASSWALL_DIRECT_IP = "# direct IPs, one a line\n114.114.114.114\n"

# -- homeproxy (firewall_post.ut: a firewall4 include, position table-post) -------------------

COMMON_PORTS = "22, 53, 80, 143, 443, 465, 587, 853, 873, 993, 995, 8080, 8443, 9418"


def _homeproxy(doc: Document, files: Mapping[str, str]) -> Rules:
    mode = _opt(doc, "config", "proxy_mode", "redirect_tproxy")
    ports = _opt(doc, "config", "routing_port")
    ports = COMMON_PORTS if ports == "common" else ("" if ports in ("", "all") else ports)
    direct = _list(doc, "control", "wan_direct_ipv4_ips")
    lines = [
        _set("homeproxy_local_addr_v4", "ipv4_addr", [RESERVED]),
        _set("homeproxy_wan_proxy_addr_v4", "ipv4_addr", []),
        _set("homeproxy_wan_direct_addr_v4", "ipv4_addr", direct),
        *([_set("homeproxy_routing_port", "inet_service", [ports])] if ports else []),
        "chain dstnat {",
        "\tmeta nfproto { ipv4, ipv6 } udp dport 53 counter redirect to :53",
    ]
    if "redirect" in mode:
        lines += [
            "\tmeta nfproto { ipv4 } meta l4proto tcp jump homeproxy_redirect_lanac",
            "}",
            "chain homeproxy_redirect_proxy {",
            "\tmeta l4proto tcp counter redirect to :5331",
            "}",
            "chain homeproxy_redirect_proxy_port {",
            *(["\ttcp dport != @homeproxy_routing_port counter return"] if ports else []),
            "\tgoto homeproxy_redirect_proxy",
            "}",
            "chain homeproxy_redirect_lanac {",
            "\tmeta mark 100 counter return",
            "\tcounter goto homeproxy_redirect",
            "}",
            "chain homeproxy_redirect {",
            "\tmeta mark 100 counter return",
            "\tip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_redirect_proxy_port",
            "\tip daddr @homeproxy_local_addr_v4 counter return",
            "\tip daddr @homeproxy_wan_direct_addr_v4 counter return",
            "\tcounter goto homeproxy_redirect_proxy_port",
        ]
    lines.append("}")
    route = ("", "", "")
    if mode == "redirect_tproxy":
        lines += [
            "chain homeproxy_mangle_tproxy {",
            "\tmeta l4proto udp meta mark set 101 tproxy ip to 127.0.0.1:5332 counter accept",
            "}",
            "chain homeproxy_mangle_tproxy_port {",
            *(["\tudp dport != @homeproxy_routing_port counter return"] if ports else []),
            "\tgoto homeproxy_mangle_tproxy",
            "}",
            "chain homeproxy_mangle_lanac {",
            "\tmeta iifname != lo udp dport 53 counter return",
            "\tmeta mark 100 counter return",
            "\tcounter goto homeproxy_mangle_prerouting",
            "}",
            "chain homeproxy_mangle_prerouting {",
            "\tip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_mangle_tproxy_port",
            "\tip daddr @homeproxy_local_addr_v4 counter return",
            "\tip daddr @homeproxy_wan_direct_addr_v4 counter return",
            "\tcounter goto homeproxy_mangle_tproxy_port",
            "}",
            "chain mangle_prerouting {",
            "\tmeta nfproto { ipv4 } meta l4proto udp jump homeproxy_mangle_lanac",
            "}",
        ]
        route = ("101", "100", "lo")
    elif mode == "tun":
        direct_rule = f"\tip daddr {{ {', '.join(direct)} }} counter return" if direct else ""
        lines += [
            "chain homeproxy_mangle_lanac {",
            "\tiifname singtun0 counter return",
            "\tudp dport 53 counter return",
            "\tcounter goto homeproxy_mangle_tun",
            "}",
            "chain homeproxy_mangle_tun_mark {",
            *(
                [
                    "\ttcp dport != @homeproxy_routing_port counter return",
                    "\tudp dport != @homeproxy_routing_port counter return",
                ]
                if ports
                else []
            ),
            "\tcounter meta mark set 102",
            "}",
            "chain homeproxy_mangle_tun {",
            "\tiifname singtun0 counter return",
            "\tip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_mangle_tun_mark",
            "\tip daddr @homeproxy_local_addr_v4 counter return",
            *([direct_rule] if direct_rule else []),
            "\tcounter goto homeproxy_mangle_tun_mark",
            "}",
            "chain mangle_prerouting {",
            "\tmeta nfproto { ipv4 } meta l4proto { tcp, udp } jump homeproxy_mangle_lanac",
            "}",
        ]
        route = ("102", "101", "singtun0")
    return Rules(table_post="\n".join(lines) + "\n", route=route)


HOMEPROXY_CONFIG = """config homeproxy 'infra'
\toption redirect_port '5331'
\toption tproxy_port '5332'
\toption self_mark '100'
\toption tproxy_mark '101'
\toption tun_name 'singtun0'
\toption tun_mark '102'

config homeproxy 'config'
\toption main_node 'node1'
\toption main_udp_node 'same'
\toption routing_mode 'global'
\toption proxy_mode '{mode}'
{ports}
config homeproxy 'control'
\toption lan_proxy_mode 'disabled'
"""

# -- nikki (hijack.ut: own table inet nikki) --------------------------------------------------


def _nikki(doc: Document, files: Mapping[str, str]) -> Rules:
    tcp_mode = _opt(doc, "proxy", "tcp_mode", "redirect")
    udp_mode = _opt(doc, "proxy", "udp_mode", "tun")
    reserved = _list(doc, "proxy", "reserved_ip")
    skips = [
        "\t\tfib daddr type { local, multicast, broadcast, anycast } counter return",
        "\t\tct direction reply counter return",
        "\t\tip daddr @reserved_ip counter return",
        "\t\tmeta nfproto ipv4 meta l4proto . th dport != @proxy_dport "
        "ip daddr != 198.18.0.0/16 counter return",
        "\t\tmeta l4proto { tcp, udp } ip dscp @bypass_dscp ip daddr != 198.18.0.0/16 "
        "counter return",
    ]
    lan = f'iifname "{LAN_DEVICE}" meta nfproto ipv4'
    mangle = [*skips, "\t\tmeta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 counter return"]
    for proto, mode in (("tcp", tcp_mode), ("udp", udp_mode)):
        if mode in ("tproxy", "tun"):
            mangle.append(f"\t\t{lan} meta l4proto {proto} jump lan_{mode}")
    lines = [
        "table inet nikki {",
        _set("reserved_ip", "ipv4_addr", reserved),
        _set("proxy_dport", "inet_proto . inet_service", ["tcp . 0-65535", "udp . 0-65535"]),
        _set("bypass_dscp", "dscp", ["4"]),
        "\tchain lan_redirect {\n\t\tmeta l4proto tcp counter redirect to :7891\n\t}",
        "\tchain lan_tproxy {",
        "\t\tmeta l4proto { tcp, udp } meta mark set 0x80 tproxy to :7892 counter accept",
        "\t}",
        "\tchain lan_tun {\n\t\tmeta l4proto { tcp, udp } meta mark set 0x81 counter accept\n\t}",
        "\tchain dstnat {",
        "\t\ttype nat hook prerouting priority dstnat + 1; policy accept;",
        *([*skips, f"\t\t{lan} jump lan_redirect"] if tcp_mode == "redirect" else []),
        "\t}",
        "\tchain mangle_prerouting_lan {",
        "\t\ttype filter hook prerouting priority mangle; policy accept;",
        *mangle,
        "\t}",
        "}",
        "",
    ]
    tun = "tun" in (tcp_mode, udp_mode)
    route = ("0x81", "81", "nikki") if tun else ("0x80", "80", "lo")
    return Rules(own_table="inet nikki", script="\n".join(lines), route=route)


NIKKI_CONFIG = """config config 'config'
\toption enabled '1'

config mixin 'mixin'
\toption redir_port '7891'
\toption tproxy_port '7892'
\toption tun_device 'nikki'
\toption dns_mode 'fake-ip'
\toption fake_ip_range '198.18.0.1/16'

config proxy 'proxy'
\toption enabled '1'
\toption tcp_mode '{tcp}'
\toption udp_mode '{udp}'
\toption lan_proxy '1'
\tlist lan_inbound_interface 'lan'
\tlist reserved_ip '0.0.0.0/8'
\tlist reserved_ip '10.0.0.0/8'
\tlist reserved_ip '127.0.0.0/8'
\tlist reserved_ip '100.64.0.0/10'
\tlist reserved_ip '169.254.0.0/16'
\tlist reserved_ip '172.16.0.0/12'
\tlist reserved_ip '192.168.0.0/16'
\tlist reserved_ip '224.0.0.0/4'
\tlist reserved_ip '240.0.0.0/4'
\tlist bypass_dscp '4'
\toption proxy_tcp_dport '0-65535'
\toption proxy_udp_dport '0-65535'

config routing 'routing'
\toption tproxy_fw_mark '0x80'
\toption tun_fw_mark '0x81'
\toption tproxy_route_table '80'
\toption tun_route_table '81'
"""

LAB_PROXIES: dict[str, LabProxy] = {
    p.label: p
    for p in (
        LabProxy(
            "openclash",
            "fake-ip",
            OPENCLASH_CONFIG.format(mode="fake-ip"),
            _openclash,
            CoreSpec(redirect=7892, tproxy=7895, tproxy_protos="udp"),
            reload_restarts=True,
        ),
        LabProxy(
            "openclash",
            "tun",
            OPENCLASH_CONFIG.format(mode="fake-ip-tun"),
            _openclash,
            CoreSpec(tun="utun"),
            reload_restarts=True,
        ),
        LabProxy(
            "passwall",
            "redirect",
            PASSWALL_CONFIG.format(mode="redirect"),
            _passwall,
            CoreSpec(redirect=1041, tproxy=1041, tproxy_protos="udp"),
            files={"/usr/share/passwall/rules/direct_ip": PASSWALL_DIRECT_IP},
        ),
        LabProxy(
            "passwall",
            "tproxy",
            PASSWALL_CONFIG.format(mode="tproxy"),
            _passwall,
            CoreSpec(tproxy=1041),
            files={"/usr/share/passwall/rules/direct_ip": PASSWALL_DIRECT_IP},
        ),
        LabProxy(
            "homeproxy",
            "redirect_tproxy",
            HOMEPROXY_CONFIG.format(
                mode="redirect_tproxy", ports="\toption routing_port 'common'\n"
            ),
            _homeproxy,
            CoreSpec(redirect=5331, tproxy=5332, tproxy_protos="udp"),
        ),
        LabProxy(
            "homeproxy",
            "tun",
            HOMEPROXY_CONFIG.format(mode="tun", ports=""),
            _homeproxy,
            CoreSpec(tun="singtun0"),
        ),
        LabProxy(
            "nikki",
            "tproxy",
            NIKKI_CONFIG.format(tcp="tproxy", udp="tproxy"),
            _nikki,
            CoreSpec(tproxy=7892),
        ),
        LabProxy(
            "nikki",
            "redirect-tun",
            NIKKI_CONFIG.format(tcp="redirect", udp="tun"),
            _nikki,
            CoreSpec(redirect=7891, tun="nikki"),
        ),
    )
}


class Running:
    """A lab proxy on the bypass router: its settings (files), its core, its rules.

    Made, it writes its default settings: `config_dir`/<key> and its rules files below
    the Fw4 root."""

    def __init__(
        self, spec: LabProxy, ns: Netns, fw4: Fw4, workdir: Path, config_dir: Path
    ) -> None:
        self.spec = spec
        self.ns = ns
        self.fw4 = fw4
        self.config_path = config_dir / spec.key
        self.config_path.write_text(spec.config)
        for path, text in spec.files.items():
            target = self.file_path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.log = workdir / f"core-{spec.label}.log"
        self.log.write_text("")
        self.proc: subprocess.Popen[str] | None = None
        self.rules = Rules()

    def file_path(self, path: str) -> Path:
        """Where the router's file `path` is in the lab (below the Fw4 root)."""
        return self.fw4.root / path.lstrip("/")

    @property
    def doc(self) -> Document:
        """/etc/config/<key> as it is now."""
        return Document.parse(self.config_path.read_text(), f"/etc/config/{self.spec.key}")

    @property
    def files(self) -> dict[str, str]:
        """Its rules files as they are now."""
        out = {}
        for path in self.spec.files:
            target = self.file_path(path)
            out[path] = target.read_text() if target.exists() else ""
        return out

    # -- the core ------------------------------------------------------------------------

    def start_core(self) -> None:
        core = self.spec.core
        args = [sys.executable, "-u", str(CORE), "--log", str(self.log)]
        if core.redirect:
            args += ["--redirect", str(core.redirect)]
        if core.tproxy:
            args += ["--tproxy", str(core.tproxy), "--tproxy-protos", core.tproxy_protos]
        if core.tun:
            args += ["--tun", core.tun]
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        if not ready or self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise LabError(f"proxy core did not start: {err}")
        if core.tun:
            self.ns.ip("link", "set", core.tun, "up")

    def stop_core(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        self.proc = None

    def captured(self) -> list[dict[str, str]]:
        """The core's log since the last `clear_log`."""
        return [json.loads(ln) for ln in self.log.read_text().splitlines() if ln.strip()]

    def clear_log(self) -> None:
        self.log.write_text("")

    # -- rules ---------------------------------------------------------------------------

    def _route(self, add: bool) -> None:
        mark, table, dev = self.rules.route
        if not mark:
            return
        if add:
            self.ns.ip("rule", "add", "fwmark", mark, "table", table)
            if dev == "lo":
                self.ns.ip("route", "add", "local", "default", "dev", "lo", "table", table)
            else:
                self.ns.ip("route", "add", "default", "dev", dev, "table", table)
        else:
            self.ns.exec("ip", "rule", "del", "fwmark", mark, "table", table, check=False)
            self.ns.exec("ip", "route", "flush", "table", table, check=False)

    def _post_include(self) -> Path:
        return self.fw4.root / f"{self.spec.key}-fw4-post.nft"

    def start(self) -> None:
        """Render the rules from the settings and load them, as its init script does."""
        self.rules = self.spec.render(self.doc, self.files)
        path = self.fw4.root / f"{self.spec.key}.nft"
        if self.rules.own_table:
            table = self.rules.own_table
            path.write_text(f"table {table}\ndelete table {table}\n{self.rules.script}")
            self.ns.nft_file(path)
        elif self.rules.table_post:
            self._post_include().write_text(self.rules.table_post)
            self.fw4.table_post[self.spec.key] = self._post_include()
            self.fw4.reload()
        else:
            path.write_text(self.rules.script)
            self.ns.nft_file(path)
            self.fw4.add(list(self.rules.fw4_rules))
        self._route(True)

    def stop(self) -> None:
        """Remove its rules, as its init script does on stop."""
        self._route(False)
        if self.rules.own_table:
            table = self.rules.own_table
            self.ns.exec("nft", "delete", "table", *table.split(), check=False)
        elif self.spec.key in self.fw4.table_post:
            del self.fw4.table_post[self.spec.key]
            self.fw4.reload()
        else:  # OpenClash deletes its chains and jumps: the fw4 table without them
            self.fw4.reload()

    def restart(self) -> None:
        """Flush and re-create its rules from scratch (its settings read again)."""
        self.stop()
        self.start()

    def firewall_reload(self) -> None:
        """`fw4 reload`, and what the proxy does about it."""
        self.fw4.reload()
        if self.spec.reload_restarts:
            self.restart()
