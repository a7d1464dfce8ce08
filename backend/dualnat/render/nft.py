"""Plan → a standalone nftables script with its own `table inet dualnat`.

Every forward becomes map elements, not rules, so a packet costs the same few lookups
whether there is one forward or a thousand. Loading the script with ``nft -f`` replaces
the previous table in one transaction.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from ..model import PortRange
from ..plan import Dnat, Masquerade, Plan, Snat, Sysctl
from .common import dnat_segments, header, text

TABLE = "dualnat"
ANY = IPv4Network("0.0.0.0/0")

# saddr . daddr . l4proto . dport
DNAT_KEY = "ipv4_addr . ipv4_addr . inet_proto . inet_service"
DNAT_EXPR = "ip saddr . ip daddr . meta l4proto . th dport"
# saddr . daddr(after DNAT) . l4proto . dport(after DNAT)
SNAT_KEY = DNAT_KEY
SNAT_EXPR = DNAT_EXPR


def _elements(plan: Plan) -> tuple[list[str], list[str], list[str]]:
    keep: list[str] = []
    shift: list[str] = []
    for item in plan.items:
        if isinstance(item, Dnat):
            for src in item.sources or (ANY,):
                for seg in dnat_segments(item):
                    for proto in item.protos:
                        key = f"{text(src)} . {text(item.dest_addr)} . {proto} . {text(seg.dport)}"
                        if seg.to_port is None:
                            keep.append(f"{key} : {text(item.to_addr)}")
                        else:
                            shift.append(f"{key} : {text(item.to_addr)} . {text(seg.to_port)}")
    return keep, shift, _snat_elements(plan.of_kind(Snat))


def _subtract(ranges: list[PortRange], minus: list[PortRange]) -> list[PortRange]:
    """Port ranges of `ranges` not covered by `minus` (both sorted, merged)."""
    out: list[PortRange] = []
    for r in ranges:
        first = r.first
        for m in minus:
            if m.last < first or m.first > r.last:
                continue
            if m.first > first:
                out.append(PortRange(first, m.first - 1))
            first = max(first, m.last + 1)
        if first <= r.last:
            out.append(PortRange(first, r.last))
    return out


def _merge(ranges: list[PortRange]) -> list[PortRange]:
    merged: list[PortRange] = []
    for r in sorted(ranges):
        if merged and r.first <= merged[-1].last + 1:
            merged[-1] = PortRange(merged[-1].first, max(merged[-1].last, r.last))
        else:
            merged.append(r)
    return merged


def _snat_elements(items: list[Snat]) -> list[str]:
    """Set elements without overlaps (an interval set refuses them).

    Two forwards may reach the same device port, and a LAN-only (hairpin) entry is
    redundant where an any-source entry covers the same ports, so ranges are merged per
    (source, device, protocol) and LAN entries lose what 'any' already covers.
    """
    wanted: dict[tuple[IPv4Network, str, str], list[PortRange]] = {}
    for item in items:
        for src in item.sources or (ANY,):
            for proto in item.protos:
                wanted.setdefault((src, text(item.dest_addr), proto), []).append(item.dport)
    out: list[str] = []
    for (src, dest, proto), ranges in wanted.items():
        merged = _merge(ranges)
        if src != ANY:
            merged = _subtract(merged, _merge(wanted.get((ANY, dest, proto), [])))
        out += [f"{text(src)} . {dest} . {proto} . {text(r)}" for r in merged]
    return out


def _block(kind: str, name: str, type_line: str, elements: list[str]) -> list[str]:
    lines = [f"\t{kind} {name} {{", f"\t\ttype {type_line}", "\t\tflags interval"]
    if elements:
        lines.append("\t\telements = {")
        lines += [f"\t\t\t{e}," for e in elements]
        lines.append("\t\t}")
    lines.append("\t}")
    return lines


def render(plan: Plan) -> str:
    """The nft script (``nft -f`` it as root)."""
    net = plan.network
    keep, shift, snat = _elements(plan)
    masq = plan.of_kind(Masquerade)
    lines = [
        "#!/usr/sbin/nft -f",
        f"# {header(plan)}",
        "# Replaces the previous dualnat table atomically.",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        "",
        f"table inet {TABLE} {{",
    ]
    # a map or set only where a rule uses it
    if keep:
        lines += _block("map", "dnat_keep_port", f"{DNAT_KEY} : ipv4_addr", keep)
    if shift:
        lines += _block("map", "dnat_to_port", f"{DNAT_KEY} : ipv4_addr . inet_service", shift)
    if snat:
        lines += _block("set", "snat_to_bypass", SNAT_KEY, snat)
    lines += [
        "",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
    ]
    if keep:
        lines.append(
            f'\t\tiifname "{net.lan_device}" meta l4proto {{ tcp, udp }} '
            f"dnat ip to {DNAT_EXPR} map @dnat_keep_port"
        )
    if shift:
        lines.append(
            f'\t\tiifname "{net.lan_device}" meta l4proto {{ tcp, udp }} '
            f"dnat ip to {DNAT_EXPR} map @dnat_to_port"
        )
    lines += [
        "\t}",
        "",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    ]
    if snat:
        lines.append(f"\t\tct status dnat {SNAT_EXPR} @snat_to_bypass snat ip to {net.bypass_ip}")
    for item in masq:
        lines.append(
            f'\t\toifname "{item.device}" ip saddr {item.source} '
            f"ip daddr != {item.exclude_dest} masquerade"
        )
    lines += ["\t}", "}", ""]
    return "\n".join(lines)


def render_revert() -> str:
    """A script that removes the dualnat table (and succeeds when it is already gone)."""
    return f"table inet {TABLE}\ndelete table inet {TABLE}\n"


def sysctl_lines(plan: Plan) -> list[str]:
    return [f"{i.key} = {i.value}" for i in plan.of_kind(Sysctl)]
