"""The plan for people: `dualnat plan` and `dualnat main-router` as plain text."""

from __future__ import annotations

from .plan import DhcpServer, Dnat, Item, Masquerade, Plan, Snat, Sysctl, text


def _protos(protos: tuple[str, ...]) -> str:
    return "/".join(protos)


def _sources(item: Dnat | Snat) -> str:
    return f" from {', '.join(map(text, item.sources))}" if item.sources else ""


def describe(item: Item) -> str:
    """One line that says what the item does, e.g. ``DNAT tcp 192.168.1.2:8443 → …``."""
    if isinstance(item, Dnat):
        kind = "hairpin DNAT" if item.hairpin else "DNAT"
        return (
            f"{kind} {_protos(item.protos)} {text(item.dest_addr)}:{text(item.dport)}"
            f"{_sources(item)} → {text(item.to_addr)}:{text(item.to_port)}"
        )
    if isinstance(item, Snat):
        kind = "hairpin SNAT" if item.hairpin else "SNAT"
        return (
            f"{kind} {_protos(item.protos)} to {text(item.dest_addr)}:{text(item.dport)}"
            f"{_sources(item)}: the source becomes {text(item.snat_to)}"
        )
    if isinstance(item, Masquerade):
        return (
            f"masquerade {text(item.source)} leaving {item.device}, "
            f"except to {text(item.exclude_dest)}"
        )
    if isinstance(item, Sysctl):
        return f"sysctl {item.key} = {item.value}"
    if isinstance(item, DhcpServer):
        server = "switched on" if item.enable else "left as it is"
        return (
            f"DHCP (section '{item.section}' of /etc/config/dhcp): dhcp_option "
            f"{' and '.join(item.options)}; the server is {server}"
        )
    raise TypeError(f"not a plan item: {item!r}")


def plan_text(plan: Plan) -> str:
    """`dualnat plan`: the LAN, every item under its forward (or this router) with its
    reason, what the main router needs, and the warnings."""
    net = plan.network
    lines = [
        f"Bypass router {net.bypass_ip} on {net.lan_device} (LAN {net.lan}, zone "
        f"'{net.lan_zone}'), main router {net.main_router_ip}",
    ]
    group: object = ()
    for n, item in enumerate(plan.items, 1):
        if item.forward != group:
            group = item.forward
            title = f"Forward '{item.forward}'" if item.forward is not None else "This router"
            lines += ["", title]
        lines.append(f"{n:>3}. {describe(item)}")
        lines.append(f"     why: {item.reason}")
    if not plan.items:
        lines += ["", "Nothing to do on this router."]
    lines += ["", main_router_text(plan)]
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def main_router_text(plan: Plan) -> str:
    """`dualnat main-router`: the port forwards to enter, DHCP and the notes."""
    mr = plan.main_router
    lines = [f"On the main router ({mr.vendor}):"]
    if not mr.port_forwards:
        lines.append("  no port forwards")
    for f in mr.port_forwards:
        lines.append(
            f"  port forward '{f.name}': {f.proto} external port {f.external_port} -> "
            f"{f.internal_ip}:{f.internal_port}"
        )
    lines.append(f"  DHCP ({mr.dhcp['mode']}): {mr.dhcp['reason']}")
    lines += [f"  note: {n}" for n in mr.notes]
    return "\n".join(lines)
