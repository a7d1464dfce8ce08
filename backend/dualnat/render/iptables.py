"""Plan → a shell script of iptables commands for a plain Linux bypass router.

The rules live in two chains of their own (DUALNAT_PREROUTING, DUALNAT_POSTROUTING) that
the script empties and refills, so running it again replaces the previous version.
"""

from __future__ import annotations

import shlex

from ..plan import Dnat, Masquerade, Plan, Snat, Sysctl
from .common import HEADER, dnat_segments, source_choices, text

PRE = "DUALNAT_PREROUTING"
POST = "DUALNAT_POSTROUTING"


def _ipt_ports(ports: object) -> str:
    return str(ports).replace("-", ":")


def _dnat_rules(plan: Plan, item: Dnat) -> list[list[str]]:
    rules = []
    for seg in dnat_segments(item):
        to = text(item.to_addr) if seg.to_port is None else f"{item.to_addr}:{seg.to_port}"
        for src in source_choices(item.sources):
            for proto in item.protos:
                rule = ["-A", PRE, "-i", plan.network.lan_device, "-p", proto]
                if src is not None:
                    rule += ["-s", text(src)]
                rule += ["-d", text(item.dest_addr), "--dport", _ipt_ports(seg.dport)]
                rule += ["-j", "DNAT", "--to-destination", to]
                rules.append(rule)
    return rules


def _snat_rules(item: Snat) -> list[list[str]]:
    # Source 203.0.113.x → device: after DNAT the destination is the device, and the
    # new source is the bypass router (the seed article swaps these two addresses).
    rules = []
    for src in source_choices(item.sources):
        for proto in item.protos:
            rule = ["-A", POST, "-p", proto]
            if src is not None:
                rule += ["-s", text(src)]
            rule += ["-d", text(item.dest_addr), "--dport", _ipt_ports(item.dport)]
            rule += ["-m", "conntrack", "--ctstate", "DNAT"]
            rule += ["-j", "SNAT", "--to-source", text(item.snat_to)]
            rules.append(rule)
    return rules


def _masq_rule(item: Masquerade) -> list[str]:
    return [
        "-A",
        POST,
        "-o",
        item.device,
        "-s",
        text(item.source),
        "!",
        "-d",
        text(item.exclude_dest),
        "-j",
        "MASQUERADE",
    ]


def rules(plan: Plan) -> list[list[str]]:
    """The `iptables -t nat` argument lists, in order."""
    out: list[list[str]] = []
    for item in plan.items:
        if isinstance(item, Dnat):
            out += _dnat_rules(plan, item)
        elif isinstance(item, Snat):
            out += _snat_rules(item)
        elif isinstance(item, Masquerade):
            out.append(_masq_rule(item))
    return out


def _setup_chains() -> list[str]:
    lines = []
    for chain, parent in ((PRE, "PREROUTING"), (POST, "POSTROUTING")):
        lines.append(f"iptables -w -t nat -N {chain} 2>/dev/null || iptables -w -t nat -F {chain}")
        lines.append(
            f"iptables -w -t nat -C {parent} -j {chain} 2>/dev/null || "
            f"iptables -w -t nat -I {parent} -j {chain}"
        )
    return lines


def render(plan: Plan) -> str:
    """A POSIX shell script; run it as root."""
    lines = ["#!/bin/sh", f"# {HEADER}", "set -e", ""]
    lines += _setup_chains()
    lines += ["iptables -w -t nat " + shlex.join(r) for r in rules(plan)]
    lines += [f"sysctl -qw {shlex.quote(f'{i.key}={i.value}')}" for i in plan.of_kind(Sysctl)]
    return "\n".join(lines) + "\n"


def render_revert() -> str:
    """A script that removes the dualnat chains and the jumps to them."""
    lines = ["#!/bin/sh", f"# {HEADER}"]
    for chain, parent in ((PRE, "PREROUTING"), (POST, "POSTROUTING")):
        lines.append(f"while iptables -w -t nat -D {parent} -j {chain} 2>/dev/null; do :; done")
        lines.append(f"iptables -w -t nat -F {chain} 2>/dev/null || true")
        lines.append(f"iptables -w -t nat -X {chain} 2>/dev/null || true")
    return "\n".join(lines) + "\n"
