"""Is each planned rule loaded? firewall4, dualnat's own nft table, or iptables chains.

The expected rules come from dualnat's own renderers, applied to the part of the plan that
belongs to one forward, so the doctor checks exactly what `apply`/`render` would load:

- firewall4: `nft list ruleset` has `table inet fw4`, and every section of
  render.uci.firewall_sections() shows up as a rule with the comment ``!fw4: <name>`` that
  carries the section's addresses and ports;
- nft: `table inet dualnat` holds the map and set elements render.nft emits, and the rules
  that use them;
- iptables: `iptables-save -t nat` has the rules render.iptables.rules() gives (compared
  option by option, so the order and the ``/32`` and ``-m tcp`` iptables-save adds do not
  matter) and the jumps into DUALNAT_PREROUTING/DUALNAT_POSTROUTING.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Network
from typing import Any

from ..model import PortRange
from ..nft_text import chains, tables
from ..plan import Dnat, Item, Masquerade, Plan, Snat
from ..render import iptables as ipt_render
from ..render import nft as nft_render
from ..render.uci import UciSection, firewall_sections
from .system import System

KINDS = ("fw4", "nft", "iptables")
NFT_TABLE = f"inet {nft_render.TABLE}"
FW4_TABLE = "inet fw4"
FW4_COMMENT = '"!fw4: {}"'


@dataclass(frozen=True)
class RuleCheck:
    """Rules (or elements) one forward needs, and those of them that are not loaded."""

    expected: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def present(self) -> int:
        return len(self.expected) - len(self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": len(self.expected),
            "present": self.present,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Ruleset:
    """What is loaded: `kind` is fw4, nft, iptables, none (readable, nothing of dualnat
    and no firewall4) or unknown (neither nft nor iptables-save could be read)."""

    kind: str
    loaded: tuple[str, ...]
    forwards: dict[str, RuleCheck]
    masquerade: RuleCheck | None = None


@dataclass(frozen=True)
class Sources:
    """The raw text: `nft list ruleset`, `iptables-save -t nat` and `iptables-save -t
    filter` (None: not readable)."""

    nft: str | None
    iptables: str | None
    iptables_filter: str | None = None


def read(system: System) -> Sources:
    return Sources(
        system.command("nft", "list", "ruleset"),
        system.command("iptables-save", "-t", "nat"),
        system.command("iptables-save", "-t", "filter"),
    )


# -- text helpers ---------------------------------------------------------------------------


def _norm(part: str) -> str:
    """One value of an nft element, written one way: a /32 as the address, a-a as a."""
    part = part.strip()
    if "/" in part:
        try:
            net = IPv4Network(part, strict=False)
        except ValueError:
            return part
        return str(net.network_address) if net.prefixlen == 32 else str(net)
    first, dash, last = part.partition("-")
    if dash and first == last:
        return first
    return part


def elements(body: str, name: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The elements of set or map `name` as (key parts, value parts), normalised."""
    m = re.search(rf"(?:set|map) {re.escape(name)} \{{", body)
    if not m:
        return []
    close = body.find("}", m.end())
    start = body.find("elements = {", m.end())
    if start < 0 or close < 0 or start > close:
        return []
    end = body.find("}", start + len("elements = {"))
    out = []
    for text in body[start + len("elements = {") : end].split(","):
        if not text.strip():
            continue
        key, _, value = text.partition(" : ")
        out.append(
            (
                tuple(_norm(p) for p in key.split(" . ")),
                tuple(_norm(p) for p in value.split(" . ")) if value else (),
            )
        )
    return out


def _token(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.:/-]){re.escape(needle)}(?![\w.:/-])")


def _has_all(lines: Iterable[str], needles: Sequence[str]) -> bool:
    patterns = [_token(n) for n in needles]
    return any(all(p.search(line) for p in patterns) for line in lines)


def _host(value: str) -> str:
    return value[:-3] if value.endswith("/32") else value


def _sub_plan(plan: Plan, items: Iterable[Item]) -> Plan:
    return replace(plan, items=tuple(items))


# -- what is there ------------------------------------------------------------------------


def _fw4_section_needles(sec: UciSection) -> list[str]:
    o = sec.as_dict()
    if sec.type == "redirect":
        needles = [o["src_dip"], f"dport {o['src_dport']}", f"{o['dest_ip']}:{o['dest_port']}"]
    elif o.get("target") == "SNAT":
        needles = [o["dest_ip"], f"dport {o['dest_port']}", o["snat_ip"]]
    else:
        needles = ["masquerade"]
    if "src_ip" in o:
        needles.append(_host(o["src_ip"]))
    return needles


def _fw4_check(plan: Plan, body: str) -> RuleCheck:
    lines = body.splitlines()
    expected, missing = [], []
    for sec in firewall_sections(plan):
        name = sec.as_dict().get("name", sec.name)
        comment = FW4_COMMENT.format(name)
        text = f"fw4 rule {comment} (section {sec.name}: " + " ".join(
            f"{k}={v}" for k, v in sec.options if k not in ("name", "reflection")
        )
        expected.append(text + ")")
        if not _has_all((ln for ln in lines if comment in ln), _fw4_section_needles(sec)):
            missing.append(text + ")")
    return RuleCheck(tuple(expected), tuple(missing))


def _covered(wanted: PortRange, ranges: list[PortRange]) -> bool:
    position = wanted.first
    for r in sorted(ranges):
        if r.first > position:
            break
        position = max(position, r.last + 1)
        if position > wanted.last:
            return True
    return position > wanted.last


def _snat_covered(
    key: tuple[str, ...], loaded: list[tuple[tuple[str, ...], tuple[str, ...]]]
) -> bool:
    """A SNAT set element is covered when loaded elements for the same device, protocol
    and a source network that contains it span its ports (the renderer merges ranges and
    leaves out LAN entries where an any-source entry covers them)."""
    try:
        src, dest, proto, ports = IPv4Network(key[0]), key[1], key[2], PortRange.parse(key[3])
        ranges = []
        for k, _ in loaded:
            if len(k) == 4 and k[1] == dest and k[2] == proto and src.subnet_of(IPv4Network(k[0])):
                ranges.append(PortRange.parse(k[3]))
    except (ValueError, TypeError, IndexError):
        return False
    return _covered(ports, ranges)


def _nft_check(plan: Plan, body: str) -> RuleCheck:
    want_body = tables(nft_render.render(plan)).get(NFT_TABLE, "")
    want_chains, have_chains = chains(want_body), chains(body)
    expected, missing = [], []
    for name in ("dnat_keep_port", "dnat_to_port"):
        have = set(elements(body, name))
        for key, value in elements(want_body, name):
            text = f"nft {NFT_TABLE} map {name}: {' . '.join(key)} : {' . '.join(value)}"
            expected.append(text)
            if (key, value) not in have:
                missing.append(text)
    have_snat = elements(body, "snat_to_bypass")
    for key, _ in elements(want_body, "snat_to_bypass"):
        text = f"nft {NFT_TABLE} set snat_to_bypass: {' . '.join(key)}"
        expected.append(text)
        if not _snat_covered(key, have_snat):
            missing.append(text)
    # The rules that use the maps and the set (and the masquerade rule), by their
    # distinctive words: nft may print a rule slightly differently from the script.
    for chain, rules in want_chains.items():
        for rule in rules:
            if rule.startswith("type "):
                continue
            needles = [w for w in re.findall(r"@\w+|masquerade", rule)]
            needles += re.findall(r'[io]ifname "[^"]+"', rule)
            needles += re.findall(r"(?:snat ip to|ip saddr) \S+", rule)
            text = f"nft {NFT_TABLE} chain {chain}: {rule}"
            expected.append(text)
            if not any(all(n in line for n in needles) for line in have_chains.get(chain, [])):
                missing.append(text)
    return RuleCheck(tuple(expected), tuple(missing))


def canonical_ipt(args: Sequence[str]) -> tuple[str, frozenset[tuple[str, str]]]:
    """(chain, options) of an iptables rule, ignoring order, `-m <module>` and /32."""
    chain = ""
    opts: set[tuple[str, str]] = set()
    negate = False
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "!":
            negate = True
            continue
        if not word.startswith("-"):
            continue
        values = []
        while i < len(args) and not args[i].startswith("-") and args[i] != "!":
            values.append(_host(args[i]).replace(":", "-") if word == "--dport" else _host(args[i]))
            i += 1
        if word == "-A":
            chain = values[0] if values else ""
        elif word != "-m":
            opts.add((("!" if negate else "") + word, " ".join(values)))
        negate = False
    return chain, frozenset(opts)


def _ipt_saved(text: str) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    rules = set()
    for line in text.splitlines():
        if line.startswith("-A "):
            try:
                rules.add(canonical_ipt(shlex.split(line)))
            except ValueError:
                continue
    return rules


def _ipt_check(plan: Plan, saved: set[tuple[str, frozenset[tuple[str, str]]]]) -> RuleCheck:
    wanted = ipt_render.rules(plan)
    chains_used = {r[1] for r in wanted}
    jumps = [
        ["-A", parent, "-j", chain]
        for chain, parent in ((ipt_render.PRE, "PREROUTING"), (ipt_render.POST, "POSTROUTING"))
        if chain in chains_used
    ]
    expected, missing = [], []
    for rule in [*jumps, *wanted]:
        text = "iptables -t nat " + shlex.join(rule)
        expected.append(text)
        if canonical_ipt(rule) not in saved:
            missing.append(text)
    return RuleCheck(tuple(expected), tuple(missing))


def _neutral(plan: Plan) -> RuleCheck:
    """Nothing is loaded: the planned items in words, all missing."""
    out = []
    for item in plan.items:
        if isinstance(item, Dnat):
            src = f" from {', '.join(map(str, item.sources))}" if item.sources else ""
            out.append(
                f"DNAT {'/'.join(item.protos)} {item.dest_addr}:{item.dport}{src} → "
                f"{item.to_addr}:{item.to_port}"
            )
        elif isinstance(item, Snat):
            src = f" from {', '.join(map(str, item.sources))}" if item.sources else ""
            out.append(
                f"SNAT {'/'.join(item.protos)} to {item.dest_addr}:{item.dport}{src} → source "
                f"{item.snat_to}"
            )
        elif isinstance(item, Masquerade):
            out.append(
                f"masquerade {item.source} leaving {item.device} (not to {item.exclude_dest})"
            )
    return RuleCheck(tuple(out), tuple(out))


def check(plan: Plan, sources: Sources) -> Ruleset:
    """Detect how dualnat's rules are loaded and check every forward's rules."""
    by_forward: dict[str, list[Item]] = {}
    for item in plan.items:
        if item.forward is not None:
            by_forward.setdefault(item.forward, []).append(item)
    per_forward = {n: _sub_plan(plan, items) for n, items in by_forward.items()}
    masq_items = plan.of_kind(Masquerade)
    masq_plan = _sub_plan(plan, masq_items) if masq_items else None
    if sources.nft is None and sources.iptables is None:
        return Ruleset("unknown", (), {})
    nft_tables = tables(sources.nft or "")
    fw4_body = nft_tables.get(FW4_TABLE)
    checkers = {}
    if fw4_body is not None:
        checkers["fw4"] = (lambda p, b=fw4_body: _fw4_check(p, b), '"!fw4: dualnat ' in fw4_body)
    if NFT_TABLE in nft_tables:
        checkers["nft"] = (lambda p, b=nft_tables[NFT_TABLE]: _nft_check(p, b), True)
    ipt = sources.iptables or ""
    if f":{ipt_render.PRE}" in ipt or f":{ipt_render.POST}" in ipt:
        saved = _ipt_saved(ipt)
        checkers["iptables"] = (lambda p, s=saved: _ipt_check(p, s), True)
    loaded = tuple(k for k in KINDS if k in checkers and checkers[k][1])
    candidates = loaded or tuple(k for k in KINDS if k in checkers)  # fw4 without dualnat

    def run(kind: str) -> tuple[dict[str, RuleCheck], RuleCheck | None]:
        fn = checkers[kind][0]
        return (
            {n: fn(p) for n, p in per_forward.items()},
            fn(masq_plan) if masq_plan is not None else None,
        )

    if not candidates:
        return Ruleset(
            "none",
            (),
            {n: _neutral(p) for n, p in per_forward.items()},
            _neutral(masq_plan) if masq_plan is not None else None,
        )
    results = {k: run(k) for k in candidates}

    def missing_count(kind: str) -> int:
        fwd, masq = results[kind]
        return sum(len(c.missing) for c in fwd.values()) + (len(masq.missing) if masq else 0)

    kind = min(candidates, key=lambda k: (missing_count(k), candidates.index(k)))
    return Ruleset(kind, loaded, *results[kind])
