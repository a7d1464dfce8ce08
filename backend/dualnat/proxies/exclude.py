"""Keep forwarded traffic away from a transparent proxy: what to change, why, how to undo.

Pure: from the detected proxy and mode, the forwards as plan facts and the proxy's current
settings, `plan_exclusion` returns plain data for the integrator to turn into plan items:
UCI changes to the proxy's own config, lines for its rules files, and nft snippets for
firewall4 to include, each with its exact revert, English reasons and what it survives.

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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_network

from ..model import PortRange
from ..plan import Dnat, Plan
from ..uci import AddListItem, Change, DeleteListItem, Document
from .catalog import Proxy
from .detect import Detected

MARK = "# added by dualnat"  # ends every line dualnat writes into a proxy's rules file
INCLUDE_DIR = "/usr/share/nftables.d/chain-pre/mangle_prerouting"
FW4_RELOAD = "fw4 reload"


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
    relays: dict[str, list[Dnat]] = {}
    hairpins: dict[str, Dnat] = {}
    for item in plan.of_kind(Dnat):
        if item.forward is None:
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
class UciEdit:
    """An item dualnat adds to a list option of the proxy's config."""

    config: str
    section: str
    option: str
    value: str

    @property
    def change(self) -> Change:
        return AddListItem(self.section, self.option, self.value)

    @property
    def revert(self) -> Change:
        return DeleteListItem(self.section, self.option, self.value)

    @property
    def by_hand(self) -> str:
        return f"uci del_list {self.config}.{self.section}.{self.option}='{self.value}'"


@dataclass(frozen=True)
class FileLine:
    """A line dualnat adds to a rules file; it ends with MARK, so it can be found and
    removed exactly (remove the lines equal to `line`)."""

    path: str
    line: str

    @property
    def by_hand(self) -> str:
        return f"sed -i '/{MARK}/d' {self.path}"


@dataclass(frozen=True)
class NftInclude:
    """A file that firewall4 includes at the head of one of its chains (chain-pre)."""

    path: str
    text: str

    @property
    def by_hand(self) -> str:
        return f"rm {self.path} && {FW4_RELOAD}"


Owned = UciEdit | FileLine | NftInclude


@dataclass(frozen=True)
class Survival:
    restart: bool
    reload: bool
    reboot: bool
    how: str


@dataclass(frozen=True)
class Exclusion:
    """What keeps forwarded traffic away from one proxy.

    Apply: `remove` (stale entries of an earlier apply), then `add`, `files`, `includes`,
    then run `activate`. Revert: `revert` (UCI changes per config), remove `files` lines,
    delete `includes`, then run `activate`. `owned` is what to remember as dualnat's."""

    proxy: str
    mode: str
    uci: tuple[UciEdit, ...] = ()
    stale: tuple[Owned, ...] = ()
    files: tuple[FileLine, ...] = ()
    includes: tuple[NftInclude, ...] = ()
    activate: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    left_alone: tuple[str, ...] = ()
    survives: Survival | None = None
    fake_ip_hint: str | None = None
    unsupported: tuple[str, ...] = ()

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
        steps = [o.by_hand for o in self.owned]
        configs = sorted({e.config for e in self.uci})
        steps += [f"uci commit {c}" for c in configs]
        return (*steps, *self.activate)


def _covers(entry: str, ip: IPv4Address) -> bool:
    try:
        net = ip_network(entry.split("#", 1)[0].strip(), strict=False)
    except ValueError:
        return False
    return isinstance(net, IPv4Network) and ip in net


def _public_ips(forwards: Sequence[ForwardFacts]) -> list[IPv4Address]:
    return sorted({f.public_ip for f in forwards if f.public_ip is not None})


def _hairpin_uci(
    proxy: Proxy, doc: Document | None, ips: list[IPv4Address], owned: Collection[Owned]
) -> tuple[list[UciEdit], list[str], list[str]]:
    setting = proxy.hairpin
    assert setting.ref is not None
    ref = setting.ref
    section = doc.section(ref.section) if doc is not None else None
    if section is None or section.name is None:
        where = f"/etc/config/{proxy.config} has no section '{ref.section}'"
        return [], [], [f"{where}: add the public address to {ref} by hand ({setting.note})."]
    ours = {o.value for o in owned if isinstance(o, UciEdit) and o.config == proxy.config}
    present = section.get_list(ref.option)
    user = [v for v in present if v not in ours]
    edits: list[UciEdit] = []
    left: list[str] = []
    for ip in ips:
        value = setting.value_format.format(ip=ip)
        mine = next((v for v in user if _covers(v, ip)), None)
        if mine is not None:
            left.append(
                f"{proxy.name} already sends {ip} direct ({ref} '{mine}', set by you): "
                "dualnat leaves it as it is."
            )
            continue
        edits.append(UciEdit(proxy.config, section.name, ref.option, value))
    return edits, left, []


def _hairpin_file(
    proxy: Proxy, files: Mapping[str, str], ips: list[IPv4Address]
) -> tuple[list[FileLine], list[str]]:
    path = proxy.hairpin.path
    user = [ln for ln in files.get(path, "").splitlines() if not ln.rstrip().endswith(MARK)]
    lines: list[FileLine] = []
    left: list[str] = []
    for ip in ips:
        mine = next((ln.strip() for ln in user if _covers(ln, ip)), None)
        if mine is not None:
            left.append(
                f"{proxy.name} already sends {ip} direct ('{mine}' in {path}, set by you): "
                "dualnat leaves it as it is."
            )
            continue
        lines.append(FileLine(path, f"{ip} {MARK} (hairpin to the main router's address)"))
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


def _fake_ip_hint(proxy: Proxy, public_name: str | None) -> str:
    name = f"'{public_name}'" if public_name else "the domain name (DDNS) LAN clients use"
    return (
        f"{proxy.name} hands out fake addresses (fake-ip): put {name} in its fake-ip "
        f"filter ({proxy.fake_ip_filter}), so that LAN clients get the main router's real "
        "public address and their hairpin connections reach the forward."
    )


def _survival(proxy: Proxy, hairpin: bool, include: bool) -> Survival:
    how = []
    if hairpin:
        kind = "its settings" if proxy.hairpin.kind == "uci-list" else "its rules file"
        how.append(
            f"the public address is in {kind}, which {proxy.name} reads at every start "
            "(restart, firewall reload that restarts it, boot)"
        )
    if include:
        how.append(
            f"the reply rule is a firewall4 include ({INCLUDE_DIR}), rendered at every "
            f"firewall reload and boot, and {proxy.name} reloads the firewall when it starts"
        )
    return Survival(True, True, True, "; ".join(how) + ".")


def plan_exclusion(
    detected: Detected,
    forwards: Sequence[ForwardFacts],
    *,
    config_text: str | None = None,
    files: Mapping[str, str] | None = None,
    owned: Collection[Owned] = (),
    public_name: str | None = None,
) -> Exclusion:
    """The exclusion for one detected proxy.

    `config_text`: /etc/config/<proxy> as it is now; `files`: path → text of its rules
    files; `owned`: what an earlier apply added (dualnat's state); `public_name`: the
    public address as configured when it is a domain name."""
    proxy, mode = detected.proxy, detected.mode
    if mode is None or not forwards:
        stale = tuple(owned)
        return Exclusion(proxy.key, str(mode), stale=stale, activate=_activate(proxy, stale))
    doc = Document.parse(config_text, proxy.config) if config_text is not None else None
    ips = _public_ips(forwards)
    reasons: list[str] = [
        f"{proxy.name} is on ({mode}); inbound connections from the main router are "
        f"addressed to this router, which {proxy.name} lets go direct."
    ]
    uci: list[UciEdit] = []
    lines: list[FileLine] = []
    left: list[str] = []
    unsupported: list[str] = []
    if ips:
        why = (
            "LAN clients' hairpin connections to the main router's public address "
            f"{', '.join(map(str, ips))} must not go through {proxy.name}: "
            + (
                "its TPROXY/TUN marking runs before any DNAT, so only its own exemption "
                "by destination keeps them away"
                if mode.marks_at_mangle
                else "its REDIRECT may run before dualnat's DNAT"
            )
        )
        kind = proxy.hairpin.kind
        if kind == "uci-list":
            uci, left, unsupported = _hairpin_uci(proxy, doc, ips, owned)
            where = f"{proxy.hairpin.ref} in /etc/config/{proxy.config}"
        elif kind == "rules-file":
            lines, left = _hairpin_file(proxy, files or {}, ips)
            where = proxy.hairpin.path
        else:
            unsupported.append(f"{proxy.name}: {proxy.hairpin.note}.")
            where = ""
        if uci or lines:
            reasons.append(f"{why}; dualnat adds it to {where} ({proxy.hairpin.note}).")
    include = None
    if not proxy.skips_replies and mode.marks_at_mangle:
        if proxy.own_table:
            unsupported.append(f"{proxy.name} captures replies and has no setting against it.")
        else:
            include = _reply_rule(proxy, forwards)
            reasons.append(
                f"{proxy.name} checks neither the reply direction nor DNAT, so it would take "
                "the devices' replies (UDP, and TCP in TUN mode); a rule at the head of "
                "firewall4's mangle_prerouting accepts them before its jump."
            )
    new_owned: list[Owned] = [*uci, *lines, *([include] if include else [])]
    stale = tuple(o for o in owned if o not in new_owned)
    return Exclusion(
        proxy=proxy.key,
        mode=str(mode),
        uci=tuple(uci),
        stale=stale,
        files=tuple(lines),
        includes=(include,) if include else (),
        activate=_activate(proxy, (*new_owned, *stale)),
        reasons=tuple(reasons),
        left_alone=tuple(left),
        survives=_survival(proxy, bool(uci or lines), include is not None) if new_owned else None,
        fake_ip_hint=_fake_ip_hint(proxy, public_name) if mode.fake_ip and ips else None,
        unsupported=tuple(unsupported),
    )


def _activate(proxy: Proxy, changed: Sequence[Owned]) -> tuple[str, ...]:
    """Commands that make changes take effect: the proxy re-reads its settings at restart
    (homeproxy also reloads the firewall then); an include alone needs a firewall reload."""
    if any(isinstance(o, UciEdit | FileLine) for o in changed):
        return (proxy.restart,)
    if changed:
        return (FW4_RELOAD,)
    return ()


def remove_file_lines(text: str, lines: Collection[FileLine]) -> str:
    """`text` without the lines dualnat added (exactly those lines)."""
    drop = {fl.line for fl in lines}
    kept = [ln for ln in text.splitlines(keepends=True) if ln.rstrip("\r\n") not in drop]
    return "".join(kept)


def add_file_lines(text: str, lines: Sequence[FileLine]) -> str:
    """`text` with dualnat's lines appended (each once)."""
    present = set(text.splitlines())
    out = text if not text or text.endswith("\n") else text + "\n"
    return out + "".join(f"{fl.line}\n" for fl in lines if fl.line not in present)


__all__ = [
    "MARK",
    "Exclusion",
    "FileLine",
    "ForwardFacts",
    "NftInclude",
    "Owned",
    "Survival",
    "UciEdit",
    "add_file_lines",
    "facts_from_plan",
    "plan_exclusion",
    "remove_file_lines",
]
