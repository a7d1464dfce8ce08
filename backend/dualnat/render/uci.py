"""Plan → firewall4 sections for /etc/config/firewall (`config redirect` and `config nat`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from ..plan import Dnat, Masquerade, Plan, Snat
from .common import dnat_segments, header, source_choices, text

PREFIX = "dualnat_"
# A forward's sections are named PREFIX + forward + "_" + kind, numbered "_0", "_1", ...
# when several share that name (see _numbered). Kinds end in a letter, so a numbered
# name is never another section's base name, even when forward names contain "_".

# The options firewall4 knows for the section types we write, and whether each takes a
# list. fw4 skips a whole section when one option has the wrong type (e.g. a list src_ip
# in a redirect), so every rendered section is checked against this table.
FW4_OPTIONS: Mapping[str, Mapping[str, bool]] = {
    "redirect": {
        "enabled": False,
        "name": False,
        "family": False,
        "src": False,
        "dest": False,
        "ipset": False,
        "helper": False,
        "proto": True,
        "src_ip": False,
        "src_mac": True,
        "src_port": False,
        "src_dip": False,
        "src_dport": False,
        "dest_ip": False,
        "dest_port": False,
        "limit": False,
        "limit_burst": False,
        "utc_time": False,
        "start_date": False,
        "stop_date": False,
        "start_time": False,
        "stop_time": False,
        "weekdays": False,
        "mark": False,
        "reflection": False,
        "reflection_src": False,
        "reflection_zone": True,
        "counter": False,
        "log": False,
        "log_limit": False,
        "target": False,
    },
    "nat": {
        "enabled": False,
        "name": False,
        "family": False,
        "src": False,
        "device": False,
        "proto": True,
        "src_ip": False,
        "src_port": False,
        "snat_ip": False,
        "snat_port": False,
        "dest_ip": False,
        "dest_port": False,
        "limit": False,
        "limit_burst": False,
        "connlimit_ports": False,
        "utc_time": False,
        "start_date": False,
        "stop_date": False,
        "start_time": False,
        "stop_time": False,
        "weekdays": False,
        "mark": False,
        "counter": False,
        "log": False,
        "target": False,
    },
}


@dataclass(frozen=True)
class UciSection:
    """A named section to write; option values are strings (fw4 reads `a b` lists as well)."""

    name: str
    type: str
    options: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.options)


def _protos(protos: tuple[str, ...]) -> str:
    return " ".join(protos)


def section_name(forward: str, kind: str) -> str:
    """The name of a forward's firewall section of `kind` (before any piece number)."""
    return f"{PREFIX}{forward}_{kind}"


def _dnat_sections(plan: Plan, item: Dnat) -> list[UciSection]:
    zone = plan.network.lan_zone
    kind = "hairpin" if item.hairpin else "dnat"
    name = section_name(item.forward, kind)
    head = (("name", f"dualnat {item.forward} {kind}"), ("target", "DNAT"), ("src", zone))
    dest_ip, proto = text(item.to_addr), _protos(item.protos)
    out = []
    for seg in dnat_segments(item):
        tail = (
            ("src_dip", text(item.dest_addr)),
            ("src_dport", text(seg.dport)),
            ("dest", zone),
            ("dest_ip", dest_ip),
            ("dest_port", text(seg.to_port or seg.dport)),
            ("proto", proto),
            ("reflection", "0"),
        )
        for src in source_choices(item.sources):
            src_ip = () if src is None else (("src_ip", text(src)),)
            out.append(UciSection(name, "redirect", (*head, *src_ip, *tail)))
    return out


def _snat_section(plan: Plan, item: Snat) -> UciSection:
    kind = "hairpin_snat" if item.hairpin else "snat"
    opts: list[tuple[str, str]] = [
        ("name", f"dualnat {item.forward} {kind.replace('_', ' ')}"),
        ("src", plan.network.lan_zone),
        ("target", "SNAT"),
    ]
    if item.sources:
        # fw4 takes one src_ip per nat section; the planner only gives the LAN subnet here.
        assert len(item.sources) == 1
        opts.append(("src_ip", text(item.sources[0])))
    opts += [
        ("dest_ip", text(item.dest_addr)),
        ("dest_port", text(item.dport)),
        ("proto", _protos(item.protos)),
        ("snat_ip", text(item.snat_to)),
    ]
    return UciSection(section_name(item.forward, kind), "nat", tuple(opts))


def _masq_section(plan: Plan, item: Masquerade) -> UciSection:
    return UciSection(
        f"{PREFIX}masquerade",
        "nat",
        (
            ("name", "dualnat masquerade"),
            ("src", plan.network.lan_zone),
            ("target", "MASQUERADE"),
            ("src_ip", text(item.source)),
            ("dest_ip", f"!{item.exclude_dest}"),
            ("proto", "all"),
        ),
    )


def firewall_sections(plan: Plan) -> list[UciSection]:
    """Every section dualnat wants in /etc/config/firewall, in rule order."""
    out: list[UciSection] = []
    for item in plan.items:
        if isinstance(item, Dnat):
            out += _dnat_sections(plan, item)
        elif isinstance(item, Snat):
            out.append(_snat_section(plan, item))
        elif isinstance(item, Masquerade):
            out.append(_masq_section(plan, item))
    out = _numbered(out)
    check_fw4_types(out)
    check_unique_names(out)
    return out


def _numbered(sections: list[UciSection]) -> list[UciSection]:
    """Sections that share a base name (pieces of one rule: segments of a translated
    range, one per allowed source; or several items of one forward) become base_0,
    base_1, ...; a section alone keeps its base name."""
    count = Counter(sec.name for sec in sections)
    seen: Counter[str] = Counter()
    out = []
    for sec in sections:
        if count[sec.name] > 1:
            index = seen[sec.name]
            seen[sec.name] += 1
            sec = UciSection(f"{sec.name}_{index}", sec.type, sec.options)
        out.append(sec)
    return out


def check_unique_names(sections: list[UciSection]) -> None:
    """Refuse two sections of one name: UCI would merge them and lose a rule."""
    seen: set[str] = set()
    for sec in sections:
        if sec.name in seen:
            raise ValueError(f"two firewall sections would be named {sec.name}")
        seen.add(sec.name)


def check_fw4_types(sections: list[UciSection]) -> None:
    """Refuse options firewall4 does not know (it would skip the whole section)."""
    for sec in sections:
        known = FW4_OPTIONS[sec.type]
        for opt, _ in sec.options:
            if opt not in known:
                raise ValueError(f"{sec.name}: firewall4 has no option '{opt}' in {sec.type}")


def _quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    return "'" + value.replace("'", "'\\''") + "'"


def render(plan: Plan) -> str:
    """The sections as UCI text, ready to append to /etc/config/firewall."""
    lines = [f"# {header(plan)}"]
    for sec in firewall_sections(plan):
        lines.append("")
        lines.append(f"config {sec.type} {_quote(sec.name)}")
        lines += [f"\toption {opt} {_quote(val)}" for opt, val in sec.options]
    return "\n".join(lines) + "\n"
