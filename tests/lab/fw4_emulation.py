"""A small stand-in for firewall4: `config redirect` / `config nat` sections → nft NAT rules.

It covers exactly the options dualnat writes (plus the few that the reference renders in
fw4_renders/ use) and refuses anything else, so that the lab never runs rules that real
firewall4 would render differently. Rule text follows what firewall4 printed for those
inputs: match order, `counter`, `comment "!fw4: <name>"`, `meta nfproto ipv4` when no
address is matched, one rule per protocol, `dstnat_<zone>` jumped by `iifname` and
`srcnat_<zone>` jumped by `oifname`, reflection only when the source zone masquerades.
Filter chains are not emulated (the lab's baseline table stands in for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Protocol

SUPPORTED = {
    "redirect": frozenset(
        {
            "enabled",
            "name",
            "target",
            "src",
            "dest",
            "proto",
            "src_ip",
            "src_dip",
            "src_dport",
            "dest_ip",
            "dest_port",
            "reflection",
            "reflection_src",
            "family",
        }
    ),
    "nat": frozenset(
        {
            "enabled",
            "name",
            "target",
            "src",
            "device",
            "proto",
            "src_ip",
            "dest_ip",
            "dest_port",
            "snat_ip",
            "family",
        }
    ),
}


class SectionLike(Protocol):
    """What dualnat.render.uci.UciSection offers."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def options(self) -> tuple[tuple[str, str], ...]: ...


@dataclass(frozen=True)
class Section:
    """A UCI section for the emulation (e.g. read from a firewall JSON dump)."""

    type: str
    name: str
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Zone:
    """A firewall zone as fw4 sees it after resolving its networks."""

    name: str
    devices: tuple[str, ...]
    subnets: tuple[IPv4Network, ...]
    addresses: tuple[IPv4Address, ...] = ()
    masq: bool = False


class Unsupported(ValueError):
    """The section uses something this emulation does not model."""


def _set(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


def _net(text: str) -> str:
    """fw4 prints a host without its /32."""
    net = IPv4Network(text.strip(), strict=False)
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _addr(direction: str, value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        neg = value.startswith("!")
        return f"ip {direction} {'!= ' if neg else ''}{_net(value.lstrip('!'))}"
    return f"ip {direction} {_set([_net(v) for v in value])}"


def _ports(value: str | None) -> str | None:
    return value.replace(":", "-").strip() if value else None


def _protos(value: str | None, default: str) -> list[str | None]:
    words = (value or default).replace("tcpudp", "tcp udp").split()
    if any(w in ("all", "any", "*") for w in words):
        return [None]
    for w in words:
        if w not in ("tcp", "udp", "icmp"):
            raise Unsupported(f"proto '{w}'")
    return list(words)


def _match(
    proto: str | None,
    *,
    saddr: str | Sequence[str] | None = None,
    daddr: str | Sequence[str] | None = None,
    dport: str | None = None,
    device: str | None = None,
) -> list[str]:
    """The match part of a rule, in firewall4's order."""
    parts: list[str] = []
    if not saddr and not daddr:
        parts.append("meta nfproto ipv4")
    if proto and not dport:
        parts.append(f"meta l4proto {proto}")
    if device:
        parts.append(f'oifname "{device}"')
    if saddr:
        parts.append(_addr("saddr", saddr))
    if daddr:
        parts.append(_addr("daddr", daddr))
    if dport:
        if not proto or proto == "icmp":
            raise Unsupported("ports need proto tcp or udp")
        parts.append(f"{proto} dport {dport}")
    return parts


@dataclass
class Fw4Nat:
    """The NAT chains firewall4 would render, rule text per chain."""

    chains: dict[str, list[str]]

    def script(self) -> str:
        """An nft script that replaces `table inet fw4` (NAT chains only)."""
        hooks = {
            "dstnat": "type nat hook prerouting priority dstnat; policy accept;",
            "srcnat": "type nat hook postrouting priority srcnat; policy accept;",
        }
        lines = ["table inet fw4", "flush table inet fw4", "", "table inet fw4 {"]
        for chain, rules in self.chains.items():
            lines.append(f"\tchain {chain} {{")
            if chain in hooks:
                lines.append(f"\t\t{hooks[chain]}")
            lines += [f"\t\t{rule}" for rule in rules]
            lines += ["\t}", ""]
        lines.append("}")
        return "\n".join(lines) + "\n"


class _Translator:
    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = {z.name: z for z in zones}
        self.chains: dict[str, list[str]] = {"dstnat": [], "srcnat": []}
        for z in zones:
            self.chains[f"dstnat_{z.name}"] = []
            self.chains[f"srcnat_{z.name}"] = []

    def zone(self, name: str | None, sec: str) -> Zone:
        if not name or name not in self.zones:
            raise Unsupported(f"{sec}: unknown zone '{name}'")
        return self.zones[name]

    def redirect(self, name: str, opts: dict[str, str]) -> None:
        target = opts.get("target", "dnat").lower()
        if target == "dnat":
            self._dnat(name, opts)
        elif target == "snat":
            self._legacy_snat(name, opts)
        else:
            raise Unsupported(f"{name}: redirect target '{target}'")

    def _dnat(self, name: str, opts: dict[str, str]) -> None:
        src = self.zone(opts.get("src"), name)
        if "dest_ip" not in opts:
            raise Unsupported(f"{name}: redirect without dest_ip (local redirect)")
        dport = _ports(opts.get("src_dport"))
        rport = _ports(opts.get("dest_port")) or dport
        to = opts["dest_ip"] + (f":{rport}" if rport else "")
        for proto in _protos(opts.get("proto"), "tcpudp"):
            for refl in self._reflection(name, opts, src, proto, dport, rport):
                self.chains[refl[0]].append(refl[1])
            match = _match(proto, saddr=opts.get("src_ip"), daddr=opts.get("src_dip"), dport=dport)
            rule = " ".join([*match, "counter", f"dnat {to}", f'comment "!fw4: {name}"'])
            self.chains[f"dstnat_{src.name}"].append(rule)

    def _reflection(
        self,
        name: str,
        opts: dict[str, str],
        src: Zone,
        proto: str | None,
        dport: str | None,
        rport: str | None,
    ) -> list[tuple[str, str]]:
        """fw4's NAT loopback rules: only when the source zone masquerades."""
        if opts.get("reflection", "1") == "0" or not src.masq or "dest" not in opts:
            return []
        rz = self.zone(opts["dest"], name)
        external = [opts["src_dip"]] if "src_dip" in opts else [str(a) for a in src.addresses]
        if not external or not rz.subnets:
            return []
        subnets = [str(s) for s in rz.subnets]
        to = opts["dest_ip"] + (f":{rport}" if rport else "")
        comment = f'comment "!fw4: {name} (reflection)"'
        dnat = _match(proto, saddr=subnets, daddr=external, dport=dport)
        if opts.get("reflection_src", "internal") == "external":
            snat_to = external[0]
        else:
            inside = [a for a in rz.addresses if any(a in s for s in rz.subnets)]
            snat_to = str(inside[0]) if inside else external[0]
        snat = _match(proto, saddr=subnets, daddr=opts["dest_ip"], dport=rport)
        return [
            (f"dstnat_{rz.name}", " ".join([*dnat, f"dnat {to}", comment])),
            (f"srcnat_{rz.name}", " ".join([*snat, f"snat {snat_to}", comment])),
        ]

    def _legacy_snat(self, name: str, opts: dict[str, str]) -> None:
        dest = self.zone(opts.get("dest"), name)
        if "src_dip" not in opts:
            raise Unsupported(f"{name}: SNAT redirect without src_dip")
        for proto in _protos(opts.get("proto"), "tcpudp"):
            match = _match(
                proto,
                saddr=opts.get("src_ip"),
                daddr=opts.get("dest_ip"),
                dport=_ports(opts.get("dest_port")),
            )
            rule = " ".join(
                [*match, "counter", f"snat {opts['src_dip']}", f'comment "!fw4: {name}"']
            )
            self.chains[f"srcnat_{dest.name}"].append(rule)

    def nat(self, name: str, opts: dict[str, str]) -> None:
        target = opts.get("target", "masquerade").lower()
        if target == "snat":
            if "snat_ip" not in opts:
                raise Unsupported(f"{name}: SNAT without snat_ip")
            action = f"snat {opts['snat_ip']}"
        elif target == "masquerade":
            action = "masquerade"
        else:
            raise Unsupported(f"{name}: nat target '{target}'")
        src = opts.get("src")
        chain = "srcnat" if src in (None, "*") else f"srcnat_{self.zone(src, name).name}"
        for proto in _protos(opts.get("proto"), "all"):
            match = _match(
                proto,
                saddr=opts.get("src_ip"),
                daddr=opts.get("dest_ip"),
                dport=_ports(opts.get("dest_port")),
                device=opts.get("device"),
            )
            rule = " ".join([*match, "counter", action, f'comment "!fw4: {name}"'])
            self.chains[chain].append(rule)

    def finish(self) -> Fw4Nat:
        for z in self.zones.values():
            if z.devices:
                devs = _set([f'"{d}"' for d in z.devices])
                self.chains["dstnat"].append(
                    f"iifname {devs} jump dstnat_{z.name} "
                    f'comment "!fw4: Handle {z.name} IPv4/IPv6 dstnat traffic"'
                )
                self.chains["srcnat"].append(
                    f"oifname {devs} jump srcnat_{z.name} "
                    f'comment "!fw4: Handle {z.name} IPv4/IPv6 srcnat traffic"'
                )
            if z.masq:
                comment = f'comment "!fw4: Masquerade IPv4 {z.name} traffic"'
                self.chains[f"srcnat_{z.name}"].append(f"meta nfproto ipv4 masquerade {comment}")
        return Fw4Nat(self.chains)


def merged(sections: Iterable[SectionLike]) -> list[Section]:
    """The sections as libuci loads them: a second section of a name already seen adds
    its options to the first (later values win), so one of the two rules is lost; a
    different type for the same name is an error."""
    out: dict[str, Section] = {}
    for sec in sections:
        first = out.get(sec.name)
        if first is None:
            out[sec.name] = Section(sec.type, sec.name, tuple(sec.options))
            continue
        if first.type != sec.type:
            raise Unsupported(f"{sec.name}: a {sec.type} named like a {first.type}")
        opts = {**dict(first.options), **dict(sec.options)}
        out[sec.name] = Section(first.type, sec.name, tuple(opts.items()))
    return list(out.values())


def translate(sections: Iterable[SectionLike], zones: Sequence[Zone]) -> Fw4Nat:
    """Translate redirect and nat sections; fw4 handles all redirects before all nats."""
    secs = merged(sections)
    tr = _Translator(zones)
    for kind in ("redirect", "nat"):
        for sec in (s for s in secs if s.type == kind):
            opts = dict(sec.options)
            unknown = set(opts) - SUPPORTED[kind]
            if unknown:
                raise Unsupported(f"{sec.name}: option(s) {sorted(unknown)} are not emulated")
            if opts.get("family", "ipv4") not in ("ipv4", "any", ""):
                raise Unsupported(f"{sec.name}: family {opts['family']}")
            if opts.get("enabled", "1") == "0":
                continue
            label = opts.get("name", sec.name)
            getattr(tr, kind)(label, opts)
    for sec in secs:
        if sec.type not in SUPPORTED:
            raise Unsupported(f"{sec.name}: section type '{sec.type}'")
    return tr.finish()
