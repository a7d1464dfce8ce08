"""The plan for people: `dualnat check`, `plan` and `main-router` as plain text, in the
caller's language (catalogue table [text]; the reasons and notes from theirs)."""

from __future__ import annotations

from .i18n import DEFAULT_LANG, Catalog, load_catalog, render
from .plan import DhcpServer, Dnat, Item, Masquerade, Plan, ProxyExclusion, Snat, Sysctl, text
from .proxies.entries import FileLine, Owned, UciEdit


def _entry(cat: Catalog, entry: Owned) -> str:
    """An entry dualnat keeps in a proxy's settings, as the plan shows it."""
    if isinstance(entry, UciEdit):
        where = f"{entry.config}.{entry.section}.{entry.option}"
        return cat.t("text.item.proxy.uci", value=entry.value, where=where)
    if isinstance(entry, FileLine):
        return cat.t("text.item.proxy.line", line=entry.line, path=entry.path)
    return cat.t("text.item.proxy.include", path=entry.path)


def _proxy(cat: Catalog, item: ProxyExclusion) -> str:
    what = [_entry(cat, e) for e in item.entries]
    what += [cat.t("text.item.proxy.remove", entry=_entry(cat, e)) for e in item.remove]
    return cat.t(
        "text.item.proxy",
        name=item.name,
        what=cat.join(what) if what else cat.t("text.item.proxy.nothing"),
    )


def _sources(cat: Catalog, item: Dnat | Snat) -> str:
    if not item.sources:
        return ""
    return cat.t("text.item.sources", sources=", ".join(map(text, item.sources)))


def describe(item: Item, lang: str = DEFAULT_LANG) -> str:
    """One line that says what the item does, e.g. ``DNAT tcp 192.168.1.2:8443 → …``."""
    cat = load_catalog(lang)
    if isinstance(item, Dnat):
        return cat.t(
            "text.item.hairpin_dnat" if item.hairpin else "text.item.dnat",
            protos="/".join(item.protos),
            dest=f"{text(item.dest_addr)}:{text(item.dport)}",
            sources=_sources(cat, item),
            to=f"{text(item.to_addr)}:{text(item.to_port)}",
        )
    if isinstance(item, Snat):
        return cat.t(
            "text.item.hairpin_snat" if item.hairpin else "text.item.snat",
            protos="/".join(item.protos),
            dest=f"{text(item.dest_addr)}:{text(item.dport)}",
            sources=_sources(cat, item),
            snat=text(item.snat_to),
        )
    if isinstance(item, Masquerade):
        return cat.t(
            "text.item.masquerade",
            source=text(item.source),
            device=item.device,
            exclude=text(item.exclude_dest),
        )
    if isinstance(item, Sysctl):
        return cat.t("text.item.sysctl", key=item.key, value=item.value)
    if isinstance(item, ProxyExclusion):
        return _proxy(cat, item)
    if isinstance(item, DhcpServer):
        return cat.t(
            "text.item.dhcp_on" if item.enable else "text.item.dhcp_kept",
            section=item.section,
            options=cat.join(item.options),
        )
    raise TypeError(f"not a plan item: {item!r}")


def check_text(plan: Plan, lang: str = DEFAULT_LANG) -> str:
    """`dualnat check`: the configuration is valid, with how much it plans."""
    cat = load_catalog(lang)
    return cat.t(
        "text.check.valid",
        forwards=cat.plural("text.check.forwards", len(plan.main_router.port_forwards)),
        items=cat.plural("text.check.items", len(plan.items)),
    )


def plan_text(plan: Plan, lang: str = DEFAULT_LANG) -> str:
    """`dualnat plan`: the LAN, every item under its forward (or this router) with its
    reason, what the main router needs, and the warnings."""
    cat = load_catalog(lang)
    net = plan.network
    lines = [
        cat.t(
            "text.plan.header",
            bypass=text(net.bypass_ip),
            device=net.lan_device,
            lan=text(net.lan),
            zone=net.lan_zone,
            main=text(net.main_router_ip),
        )
    ]
    group: object = ()
    for n, item in enumerate(plan.items, 1):
        if item.forward != group:
            group = item.forward
            title = (
                cat.t("text.plan.forward", name=item.forward)
                if item.forward is not None
                else cat.t("text.plan.this_router")
            )
            lines += ["", title]
        lines.append(f"{n:>3}. {describe(item, lang)}")
        why = cat.t("text.plan.why", reason=render(item.reason_parts, lang))
        lines.append(f"     {why}")
    if not plan.items:
        lines += ["", cat.t("text.plan.nothing")]
    lines += ["", main_router_text(plan, lang)]
    lines += [cat.t("text.warning", text=render(w, lang)) for w in plan.warning_parts]
    return "\n".join(lines)


def main_router_text(plan: Plan, lang: str = DEFAULT_LANG) -> str:
    """`dualnat main-router`: the port forwards to enter, DHCP and the notes."""
    cat = load_catalog(lang)
    mr = plan.main_router
    lines = [cat.t("text.main_router.header", vendor=mr.vendor)]
    if not mr.port_forwards:
        lines.append("  " + cat.t("text.main_router.none"))
    for f in mr.port_forwards:
        lines.append(
            "  "
            + cat.t(
                "text.main_router.forward",
                name=f.name,
                proto=f.proto,
                external=text(f.external_port),
                ip=text(f.internal_ip),
                port=text(f.internal_port),
            )
        )
    dhcp = mr.dhcp_dict(lang)
    lines.append("  " + cat.t("text.main_router.dhcp", mode=dhcp["mode"], reason=dhcp["reason"]))
    lines += ["  " + cat.t("text.main_router.note", note=n.render(lang)) for n in mr.note_parts()]
    lines += _ipv6_lines(plan, lang)
    return "\n".join(lines)


def _ipv6_lines(plan: Plan, lang: str) -> list[str]:
    """The IPv6 rules to enter (a suffix match where one is known), what is missing, and
    the sentences about the path."""
    cat = load_catalog(lang)
    six = plan.main_router.ipv6
    lines = ["  " + cat.t("text.main_router.note", note=n.render(lang)) for n in six.notes]
    for p in six.pinholes:
        address = p.match if p.stable else ", ".join(map(str, p.addresses)) or p.match
        values = {"name": p.name, "proto": p.proto, "port": text(p.port), "address": address}
        lines.append("  " + cat.t("text.main_router.pinhole", **values))
    for _, why in six.missing:
        lines.append("  " + cat.t("text.main_router.pinhole_missing", reason=why.render(lang)))
    return lines
