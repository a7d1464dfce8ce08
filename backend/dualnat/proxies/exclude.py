"""Keep forwarded traffic away from a transparent proxy: what to change, why, how to undo.

Pure: from the detected proxy and mode, the forwards as plan facts and the proxy's current
settings, `plan_exclusion` returns plain data that the planner turns into a plan item
(planner.py words it from the catalogue table [reasons]): UCI list entries for the proxy's
own config, lines for its rules files and nft snippets for firewall4 to include, each with
its exact revert, and the facts the reason is made of (which public addresses, where, what
the user already has, what only a person can do, whether fake-ip needs a filter entry).

Every entry covers the whole public address, all its ports: the proxies exempt
destinations by address only, and their own per-address setting is the one mechanism
that lasts through their restarts, a firewall reload and a reboot.

Why these mechanisms (README "Transparent proxies"):
- Inbound connections from the main router are addressed to this router, and every proxy
  lets local/private destinations go direct.
- Once this router DNATs a forward, the device's replies are conntrack replies; OpenClash,
  PassWall and nikki skip replies. homeproxy checks neither, so its TPROXY/TUN marking takes
  them: a rule at the head of firewall4's `mangle_prerouting` (a chain-pre include, which
  firewall4 renders at every reload, boot and homeproxy restart) accepts those replies
  before homeproxy's jump in the same chain is reached.
- Hairpin (a LAN client to the public address): TPROXY and TUN marking runs at mangle
  priority (−150), before any DNAT, so only the proxy's own per-destination exemption
  helps; it also covers TCP REDIRECT whatever the NAT chains' order. dualnat writes the
  public address there, unless the user already has.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_network

from ..model import PortRange
from ..plan import Dnat, Item, Plan
from ..uci import Change, Document
from .catalog import Mode, Proxy
from .detect import Detected
from .entries import (
    FW4_RELOAD,
    INCLUDE_DIR,
    MARK,
    MARK_LINE,
    FileLine,
    LeftAlone,
    Manual,
    NftInclude,
    Owned,
    Survival,
    UciEdit,
    add_file_lines,
    marked_lines,
    owned_from_state,
    remove_file_lines,
    undo_by_hand,
)


@dataclass(frozen=True)
class ForwardFacts:
    """One forward as the bypass router sees it.

    `relay_ports`: the ports the main router sends to this router (may differ from the
    external port); `device_ports`: the device's port range; `public_ip` and
    `external_ports`: where LAN clients connect for hairpin (None: hairpin off)."""

    name: str
    protos: tuple[str, ...]
    relay_ports: tuple[PortRange, ...]
    device: IPv4Address
    device_ports: PortRange
    public_ip: IPv4Address | None = None
    external_ports: PortRange | None = None


def facts_from_plan(plan: Plan) -> tuple[ForwardFacts, ...]:
    """The forwards of a plan, from its DNAT items."""
    return facts_from_items(plan.items)


def facts_from_items(items: Iterable[Item]) -> tuple[ForwardFacts, ...]:
    """The forwards of a plan's items, from the DNAT items."""
    relays: dict[str, list[Dnat]] = {}
    hairpins: dict[str, Dnat] = {}
    for item in items:
        if not isinstance(item, Dnat) or item.forward is None:
            continue
        if item.hairpin:
            hairpins[item.forward] = item
        else:
            relays.setdefault(item.forward, []).append(item)
    out = []
    for name, items in relays.items():
        first = min(i.to_port.first for i in items)
        last = max(i.to_port.last for i in items)
        pin = hairpins.get(name)
        out.append(
            ForwardFacts(
                name=name,
                protos=items[0].protos,
                relay_ports=tuple(i.dport for i in items),
                device=items[0].to_addr,
                device_ports=PortRange(first, last),
                public_ip=pin.dest_addr if pin else None,
                external_ports=pin.dport if pin else None,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Exclusion:
    """What keeps forwarded traffic away from one proxy.

    Apply: `remove` (stale entries of an earlier apply), then `add`, `files`, `includes`,
    then run `activate`. Revert: `revert` (UCI changes per config), remove `files` lines,
    delete `includes`, then run `activate`. `owned` is what to remember as dualnat's.

    The facts of its reason: `hairpin` (the public addresses kept away) and `where` (the
    setting, e.g. "openclash.config.wan_ac_black_ips", or the rules file), `left_alone`
    (the user's own entries that already do it), `manual` (what only a person can do),
    `fake_ip` (LAN clients resolve names to fake addresses: the name needs a filter
    entry; `public_name` is public_address when it is a DNS name)."""

    proxy: str
    mode: Mode | None
    uci: tuple[UciEdit, ...] = ()
    stale: tuple[Owned, ...] = ()
    files: tuple[FileLine, ...] = ()
    includes: tuple[NftInclude, ...] = ()
    activate: tuple[str, ...] = ()
    hairpin: tuple[IPv4Address, ...] = ()
    where: str = ""
    left_alone: tuple[LeftAlone, ...] = ()
    manual: tuple[Manual, ...] = ()
    survives: Survival | None = None
    fake_ip: bool = False
    public_name: str | None = None

    @property
    def owned(self) -> tuple[Owned, ...]:
        return (*self.uci, *self.files, *self.includes)

    @property
    def empty(self) -> bool:
        return not self.owned and not self.stale

    def changes(self) -> dict[str, list[Change]]:
        """UCI changes per config to apply (stale items removed first)."""
        out: dict[str, list[Change]] = {}
        for old in self.stale:
            if isinstance(old, UciEdit):
                out.setdefault(old.config, []).append(old.revert)
        for edit in self.uci:
            out.setdefault(edit.config, []).append(edit.change)
        return out

    def revert(self) -> dict[str, list[Change]]:
        """UCI changes per config that remove exactly what `changes` added."""
        out: dict[str, list[Change]] = {}
        for edit in self.uci:
            out.setdefault(edit.config, []).append(edit.revert)
        return out

    def undo_by_hand(self) -> tuple[str, ...]:
        return undo_by_hand(self.owned, self.activate)


def _covers(entry: str, ip: IPv4Address) -> bool:
    try:
        net = ip_network(entry.split("#", 1)[0].strip(), strict=False)
    except ValueError:
        return False
    return isinstance(net, IPv4Network) and ip in net


def _public_ips(forwards: Sequence[ForwardFacts]) -> list[IPv4Address]:
    return sorted({f.public_ip for f in forwards if f.public_ip is not None})


def setting_of(proxy: Proxy, doc: Document | None) -> str:
    """Where the proxy's per-destination exemption lives, as a UCI path
    (config.section.option) or a file path; "" when it has none."""
    setting = proxy.hairpin
    if setting.kind == "rules-file":
        return setting.path
    if setting.kind != "uci-list" or setting.ref is None:
        return ""
    section = doc.section(setting.ref.section) if doc is not None else None
    name = section.name if section is not None and section.name else setting.ref.section
    return f"{proxy.config}.{name}.{setting.ref.option}"


def _hairpin_uci(
    proxy: Proxy, doc: Document | None, ips: list[IPv4Address], owned: Collection[Owned]
) -> tuple[list[UciEdit], list[LeftAlone], list[Manual]]:
    setting = proxy.hairpin
    assert setting.ref is not None
    ref = setting.ref
    section = doc.section(ref.section) if doc is not None else None
    if section is None or section.name is None:
        return [], [], [Manual("no_section", f"{proxy.config}.{ref.section}")]
    where = setting_of(proxy, doc)
    ours = {o.value for o in owned if isinstance(o, UciEdit) and o.config == proxy.config}
    present = section.get_list(ref.option)
    user = [v for v in present if v not in ours]
    edits: list[UciEdit] = []
    left: list[LeftAlone] = []
    for ip in ips:
        value = setting.value_format.format(ip=ip)
        mine = next((v for v in user if _covers(v, ip)), None)
        if mine is not None:
            left.append(LeftAlone(ip, mine, where))
            continue
        edits.append(UciEdit(proxy.config, section.name, ref.option, value))
    return edits, left, []


def _hairpin_file(
    proxy: Proxy, files: Mapping[str, str], ips: list[IPv4Address]
) -> tuple[list[FileLine], list[LeftAlone]]:
    path = proxy.hairpin.path
    text = files.get(path, "")
    ours = marked_lines(text)
    user = [ln for i, ln in enumerate(text.splitlines()) if i not in ours]
    lines: list[FileLine] = []
    left: list[LeftAlone] = []
    for ip in ips:
        mine = next((ln.strip() for ln in user if _covers(ln, ip)), None)
        if mine is not None:
            left.append(LeftAlone(ip, mine, path))
            continue
        lines.append(FileLine(path, str(ip)))
    return lines, left


def _reply_rule(proxy: Proxy, forwards: Sequence[ForwardFacts]) -> NftInclude | None:
    elements = sorted({f"{f.device} . {p} . {f.device_ports}" for f in forwards for p in f.protos})
    if not elements:
        return None
    text = "\n".join(
        [
            f"# {MARK[2:]}: replies of forwarded connections go past {proxy.name}",
            "ct direction reply ct status dnat ip saddr . meta l4proto . th sport { "
            + ", ".join(elements)
            + f' }} counter accept comment "dualnat: forwarded replies skip {proxy.key}"',
            "",
        ]
    )
    return NftInclude(f"{INCLUDE_DIR}/90-dualnat-{proxy.key}.nft", text)


def needs_reply_rule(proxy: Proxy, mode: Mode) -> bool:
    """The proxy marks at mangle priority without skipping conntrack replies (homeproxy):
    the devices' replies of forwarded connections would be taken."""
    return not proxy.skips_replies and mode.marks_at_mangle


def plan_exclusion(
    detected: Detected,
    forwards: Sequence[ForwardFacts],
    *,
    config_text: str | None = None,
    files: Mapping[str, str] | None = None,
    owned: Collection[Owned] = (),
    public_name: str | None = None,
    running: bool = True,
) -> Exclusion:
    """The exclusion for one detected proxy.

    `config_text`: /etc/config/<proxy> as it is now; `files`: path → text of its rules
    files; `owned`: what an earlier apply added (dualnat's state); `public_name`: the
    public address as configured when it is a domain name; `running`: its rules are
    loaded (else it is not restarted: it reads its settings when it starts)."""
    proxy, mode = detected.proxy, detected.mode
    if mode is None or not forwards:
        stale = tuple(owned)
        return Exclusion(proxy.key, mode, stale=stale, activate=activate_for(proxy, stale, running))
    doc = Document.parse(config_text, proxy.config) if config_text is not None else None
    ips = _public_ips(forwards)
    uci: list[UciEdit] = []
    lines: list[FileLine] = []
    left: list[LeftAlone] = []
    manual: list[Manual] = []
    if ips:
        kind = proxy.hairpin.kind
        if kind == "uci-list":
            uci, left, manual = _hairpin_uci(proxy, doc, ips, owned)
        elif kind == "rules-file":
            lines, left = _hairpin_file(proxy, files or {}, ips)
        else:
            manual.append(Manual("no_setting"))
    include = None
    if needs_reply_rule(proxy, mode):
        if proxy.own_table:
            manual.append(Manual("replies"))
        else:
            include = _reply_rule(proxy, forwards)
    new_owned: list[Owned] = [*uci, *lines, *([include] if include else [])]
    stale = tuple(o for o in owned if o not in new_owned)
    return Exclusion(
        proxy=proxy.key,
        mode=mode,
        uci=tuple(uci),
        stale=stale,
        files=tuple(lines),
        includes=(include,) if include else (),
        activate=activate_for(proxy, (*new_owned, *stale), running),
        hairpin=tuple(ips),
        where=setting_of(proxy, doc),
        left_alone=tuple(left),
        manual=tuple(manual),
        survives=Survival(True, True, True) if new_owned else None,
        fake_ip=bool(mode.fake_ip and ips),
        public_name=public_name,
    )


def activate_for(proxy: Proxy, changed: Sequence[Owned], running: bool = True) -> tuple[str, ...]:
    """Commands that make changes take effect: the proxy re-reads its settings at restart
    (homeproxy also reloads the firewall then); an include alone needs a firewall reload.
    A proxy that is not `running` reads its settings when it starts: it is not restarted."""
    settings = any(isinstance(o, UciEdit | FileLine) for o in changed)
    includes = any(isinstance(o, NftInclude) for o in changed)
    if settings and running:
        return (proxy.restart,)
    if includes:
        return (FW4_RELOAD,)
    return ()


__all__ = [
    "FW4_RELOAD",
    "INCLUDE_DIR",
    "MARK",
    "MARK_LINE",
    "Exclusion",
    "FileLine",
    "ForwardFacts",
    "LeftAlone",
    "Manual",
    "NftInclude",
    "Owned",
    "Survival",
    "UciEdit",
    "activate_for",
    "add_file_lines",
    "facts_from_items",
    "facts_from_plan",
    "needs_reply_rule",
    "owned_from_state",
    "plan_exclusion",
    "remove_file_lines",
    "setting_of",
    "undo_by_hand",
]
