"""Rules of the two routers: the main router as a user sets it up, the bypass router's
baseline, and dualnat's rendered output loaded the way the real thing loads it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from addresses import BYPASS_IP, LAN, LAN_DEVICE, MAIN_BRIDGE, MAIN_LAN_IP, PUBLIC_IP, WAN_DEVICE
from fw4_emulation import Zone, translate
from netns import Netns

from dualnat.model import Forward, PortRange
from dualnat.plan import MainRouterForward, Plan, Sysctl
from dualnat.render import iptables, nft
from dualnat.render.uci import firewall_sections

RENDERERS = ("nft", "iptables", "uci")


def bypass_zone(device: str = LAN_DEVICE) -> Zone:
    """The bypass router's only firewall zone, as fw4 resolves it."""
    return Zone("lan", (device,), (LAN,), (BYPASS_IP,))


@dataclass(frozen=True)
class PortForward:
    """A port forward as entered on the main router: WAN port(s) → address:port(s)."""

    protos: tuple[str, ...]
    external: PortRange
    to_ip: IPv4Address
    to_port: PortRange

    @classmethod
    def from_plan(cls, f: MainRouterForward, range_translation: bool = True) -> PortForward:
        """What the user enters following dualnat's instructions (target: the bypass router).

        Without `range_translation` (Linksys, Xiaomi range rules have no internal-port
        field), a range forward keeps its ports whatever the instructions say.
        """
        to_port = f.internal_port
        if not range_translation and not f.external_port.is_single:
            to_port = f.external_port
        return cls(_protos(f.proto), f.external_port, f.internal_ip, to_port)

    @classmethod
    def direct(cls, f: Forward) -> PortForward:
        """What users do before they know better: straight to the device."""
        return cls(f.proto.protocols, f.external_port, f.internal_ip, f.internal_port)


def _protos(proto: str) -> tuple[str, ...]:
    return ("tcp", "udp") if proto == "tcpudp" else (proto,)


def _forward_rules(pf: PortForward) -> list[str]:
    """nft rules for one forward; a translated range maps port by port, like a router UI."""
    head = f'iifname "{WAN_DEVICE}" ip daddr {PUBLIC_IP}'
    pairs: list[tuple[str, str]]
    if pf.to_port == pf.external and not pf.external.is_single:
        pairs = [(str(pf.external), str(pf.to_ip))]
    elif pf.to_port.is_single or pf.to_port.size != pf.external.size:
        pairs = [(str(pf.external), f"{pf.to_ip}:{pf.to_port.first}")]
    else:
        offset = pf.to_port.first - pf.external.first
        pairs = [
            (str(p), f"{pf.to_ip}:{p + offset}")
            for p in range(pf.external.first, pf.external.last + 1)
        ]
    return [
        f"{head} {proto} dport {port} dnat ip to {to}" for proto in pf.protos for port, to in pairs
    ]


def _loopback_rules(pf: PortForward) -> tuple[list[str], list[str]]:
    """NAT loopback as firewall4's reflection renders it: LAN sources, SNAT to br-lan's IP."""
    lan = f'iifname "{MAIN_BRIDGE}" ip saddr {LAN}'
    dnat = [r.replace(f'iifname "{WAN_DEVICE}"', lan) for r in _forward_rules(pf)]
    snat = [
        f'oifname "{MAIN_BRIDGE}" ip saddr {LAN} ip daddr {pf.to_ip} {proto} dport '
        f"{pf.to_port} snat ip to {MAIN_LAN_IP}"
        for proto in pf.protos
    ]
    return dnat, snat


def main_router_script(
    forwards: Iterable[PortForward] = (),
    loopback: bool = False,
    wan_forward: Sequence[str] | None = None,
) -> str:
    """The main router: masquerade to WAN, a stateful forward policy, the port forwards
    (and, with `loopback`, NAT loopback for LAN clients that use it as their gateway).
    With `wan_forward` (the IPv6 lab), new forwarded traffic from the WAN goes through
    firewall4's wan zone chains: those traffic rules, then REJECT."""
    forwards = list(forwards)
    masq = "" if wan_forward is None else "meta nfproto ipv4 "  # no NAT66 where IPv6 runs
    dnat = [rule for pf in forwards for rule in _forward_rules(pf)]
    snat: list[str] = []
    for pf in forwards if loopback else ():
        more_dnat, more_snat = _loopback_rules(pf)
        dnat += more_dnat
        snat += more_snat
    return "\n".join(
        [
            "flush ruleset",
            "table inet lab_main {",
            "\tchain dstnat {",
            "\t\ttype nat hook prerouting priority dstnat; policy accept;",
            *(f"\t\t{r}" for r in dnat),
            "\t}",
            "\tchain srcnat {",
            "\t\ttype nat hook postrouting priority srcnat; policy accept;",
            *(f"\t\t{r}" for r in snat),
            f'\t\toifname "{WAN_DEVICE}" {masq}masquerade',
            "\t}",
            "\tchain forward {",
            "\t\ttype filter hook forward priority filter; policy drop;",
            "\t\tct state invalid counter drop",
            "\t\tct state established,related accept",
            "\t\tct status dnat accept",
            f'\t\tiifname "{MAIN_BRIDGE}" oifname "{WAN_DEVICE}" accept',
            "\t\t# the lan zone's own forward policy (bridged packets meet it with br_netfilter)",
            f'\t\tiifname "{MAIN_BRIDGE}" oifname "{MAIN_BRIDGE}" accept',
            *([] if wan_forward is None else [f'\t\tiifname "{WAN_DEVICE}" jump forward_wan']),
            "\t}",
            *([] if wan_forward is None else _wan_zone(wan_forward)),
            "}",
            "",
        ]
    )


def _wan_zone(rules: Sequence[str]) -> list[str]:
    """firewall4's chains for a wan zone with forward REJECT and `rules` (traffic rules
    from wan to lan, each jumping to accept_to_lan)."""
    return [
        "\tchain forward_wan {",
        *(f"\t\t{r}" for r in rules),
        "\t\tjump reject_from_wan",
        "\t}",
        "\tchain accept_to_lan {",
        f'\t\toifname "{MAIN_BRIDGE}" counter accept',
        "\t}",
        "\tchain reject_from_wan {",
        f'\t\tiifname "{WAN_DEVICE}" counter jump handle_reject',
        "\t}",
        "\tchain handle_reject {",
        "\t\tmeta l4proto tcp reject with tcp reset",
        "\t\treject with icmpx type port-unreachable",
        "\t}",
    ]


def _fw4_filter(device: str, drop_invalid: bool) -> list[str]:
    """The filter chains firewall4 renders for the bypass router's one `lan` zone (input,
    output and forward ACCEPT; defaults input/output ACCEPT, forward REJECT), with or
    without `option drop_invalid '1'` (tests/lab/fw4_renders/dualnat/*/fw4-print.nft)."""
    vmap = "established : accept, related : accept" + (", invalid : drop" if drop_invalid else "")
    return [
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        '\t\tiif "lo" accept',
        f"\t\tct state vmap {{ {vmap} }}",
        f'\t\tiifname "{device}" jump input_lan',
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy drop;",
        f"\t\tct state vmap {{ {vmap} }}",
        f'\t\tiifname "{device}" jump forward_lan',
        "\t\tjump handle_reject",
        "\t}",
        "\tchain output {",
        "\t\ttype filter hook output priority filter; policy accept;",
        '\t\toif "lo" accept',
        f"\t\tct state vmap {{ {vmap} }}",
        f'\t\toifname "{device}" jump output_lan',
        "\t}",
        "\tchain handle_reject {",
        "\t\tmeta l4proto tcp reject with tcp reset",
        "\t\treject with icmpx type port-unreachable",
        "\t}",
        "\tchain input_lan {",
        "\t\tct status dnat accept",
        "\t\tjump accept_from_lan",
        "\t}",
        "\tchain output_lan {",
        "\t\tjump accept_to_lan",
        "\t}",
        "\tchain forward_lan {",
        "\t\tct status dnat accept",
        "\t\tjump accept_to_lan",
        "\t}",
        "\tchain accept_from_lan {",
        f'\t\tiifname "{device}" counter accept',
        "\t}",
        "\tchain accept_to_lan {",
        f'\t\toifname "{device}" counter accept',
        "\t}",
    ]


def _proxy_filter(device: str) -> list[str]:
    return [
        "\t# What a transparent proxy amounts to for these flows: a forwarded packet that",
        "\t# belongs to no connection this router has seen (conntrack: invalid) is dropped.",
        "\t# Exception: LAN clients' own TCP connections, whose replies come back straight",
        "\t# from the main router, look invalid after their SYN; a real proxy carries them",
        "\t# itself, so they pass here (a stray SYN-ACK, a reply to a connection this",
        "\t# router never saw, still does not).",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tct state invalid tcp flags & syn == 0 accept",
        "\t\tct state invalid counter drop",
        "\t}",
    ]


@dataclass(frozen=True)
class Baseline:
    """The bypass router's own firewall before dualnat, and what it does to the packets
    that the asymmetric paths of a bypass router make invalid in its conntrack."""

    name: str
    summary: str
    filter: Callable[[str], list[str]]  # LAN device → the chains
    # a LAN client's handshake ACK (its SYN went out here, the SYN-ACK came from the
    # main router directly): dropped?
    drops_lan_ack: bool
    # a SYN-ACK of a connection this router never saw (a device answering a forward the
    # main router sent it directly): dropped?
    drops_stray_synack: bool
    # has a rule that drops invalid forwarded packets (what dualnat detects and answers
    # with masquerade 'auto')
    drop_rule: bool

    def script(self, device: str = LAN_DEVICE) -> str:
        return "\n".join(
            ["flush ruleset", "table inet lab_bypass {", *self.filter(device), "}", ""]
        )


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "fw4",
            "firewall4 as OpenWrt ships it (invalid packets pass)",
            lambda dev: _fw4_filter(dev, False),
            drops_lan_ack=False,
            drops_stray_synack=False,
            drop_rule=False,
        ),
        Baseline(
            "fw4-drop-invalid",
            "firewall4 with Drop invalid packets (drop_invalid '1')",
            lambda dev: _fw4_filter(dev, True),
            drops_lan_ack=True,
            drops_stray_synack=True,
            drop_rule=True,
        ),
        Baseline(
            "proxy",
            "drops invalid packets except LAN TCP, which a proxy would carry",
            _proxy_filter,
            drops_lan_ack=False,
            drops_stray_synack=True,
            drop_rule=True,
        ),
    )
}
DEFAULT_BASELINE = "proxy"


def load_main_router(
    main: Netns, workdir: Path, forwards: Iterable[PortForward] = (), loopback: bool = False
) -> str:
    script = main_router_script(forwards, loopback)
    main.nft(script, workdir)
    return script


def load_bypass_baseline(
    bypass: Netns, workdir: Path, baseline: str = DEFAULT_BASELINE, device: str = LAN_DEVICE
) -> None:
    bypass.nft(BASELINES[baseline].script(device), workdir)


def add_hand_rules(bypass: Netns, workdir: Path, rules: Sequence[str]) -> None:
    """Hand-written DNAT rules on the bypass router (the naive way, for comparison)."""
    bypass.nft(
        "\n".join(
            [
                "table ip lab_naive {",
                "\tchain prerouting {",
                "\t\ttype nat hook prerouting priority dstnat; policy accept;",
                *(f"\t\t{r}" for r in rules),
                "\t}",
                "}",
                "",
            ]
        ),
        workdir,
    )


def _write(workdir: Path, name: str, text: str) -> Path:
    path = workdir / name
    path.write_text(text)
    return path


def apply_dualnat(
    bypass: Netns, workdir: Path, plan: Plan, renderer: str, skip: Sequence[str] = ()
) -> None:
    """Load the plan on the bypass router as each backend would; with `skip` (uci only),
    firewall4 leaves out these sections (a rule that is not in effect)."""
    if renderer == "nft":
        # The init script: `nft -f` the script, sysctls from a sysctl.d file.
        bypass.nft_file(_write(workdir, "dualnat.nft", nft.render(plan)))
        conf = _write(workdir, "90-dualnat.conf", "\n".join(nft.sysctl_lines(plan)) + "\n")
        bypass.exec("sysctl", "-q", "-p", str(conf))
    elif renderer == "iptables":
        bypass.exec("sh", str(_write(workdir, "dualnat.sh", iptables.render(plan))))
    elif renderer == "uci":
        # apply.py writes the sections and fw4 renders them ...
        wanted = [sec for sec in firewall_sections(plan) if sec.name not in skip]
        fw4 = translate(wanted, [bypass_zone(plan.network.lan_device)])
        bypass.nft_file(_write(workdir, "fw4.nft", fw4.script()))
        # ... and it writes each sysctl to /proc/sys/<key with dots as slashes>,
        # skipping keys that do not exist (as dualnat.apply._apply_sysctls does).
        for item in plan.of_kind(Sysctl):
            path = "/proc/sys/" + item.proc_path
            bypass.sh(f"[ ! -e {path} ] || echo {item.value} > {path}")
    else:
        raise ValueError(f"unknown renderer {renderer}")


def revert_dualnat(bypass: Netns, workdir: Path, renderer: str, device: str = LAN_DEVICE) -> None:
    """Undo `apply_dualnat` with the backend's own revert."""
    if renderer == "nft":
        bypass.nft_file(_write(workdir, "dualnat-revert.nft", nft.render_revert()))
    elif renderer == "iptables":
        bypass.exec("sh", str(_write(workdir, "dualnat-revert.sh", iptables.render_revert())))
    elif renderer == "uci":
        fw4 = translate([], [bypass_zone(device)])
        bypass.nft_file(_write(workdir, "fw4.nft", fw4.script()))
    else:
        raise ValueError(f"unknown renderer {renderer}")
