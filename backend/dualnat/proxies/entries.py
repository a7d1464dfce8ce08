"""What dualnat adds to a transparent proxy's settings, one entry each, so that it can find
and remove exactly that: an item of a UCI list, a line of a rules file (ending with
MARK), a firewall4 include file. Each says how to undo it by hand and how it is kept in
dualnat's state file (Site.proxy_state)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from ..uci import AddListItem, Change, DeleteListItem

# The comment line dualnat writes right before each line it adds to a proxy's rules file.
# A line of its own, not a comment after the address: PassWall reads the file with
# `$(cat direct_ip | grep -v "^#" | grep -E <ipv4>)`, so words after an address would
# become elements of its set. It holds no dotted numbers (the IPv4 grep drops it).
MARK = "# added by dualnat"
MARK_LINE = f"{MARK} (hairpin to the public address of the main router)"
INCLUDE_DIR = "/usr/share/nftables.d/chain-pre/mangle_prerouting"
FW4_RELOAD = "fw4 reload"


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

    @property
    def do_by_hand(self) -> str:
        return f"uci add_list {self.config}.{self.section}.{self.option}='{self.value}'"

    def to_state(self) -> dict[str, str]:
        return {
            "type": "uci",
            "config": self.config,
            "section": self.section,
            "option": self.option,
            "value": self.value,
        }


@dataclass(frozen=True)
class FileLine:
    """A line dualnat adds to a rules file, right after MARK_LINE, so that it can be found
    and removed exactly (the marked lines equal to `line`, and their marks)."""

    path: str
    line: str

    @property
    def by_hand(self) -> str:
        return f"sed -i '/^{MARK}/{{N;d}}' {self.path}"

    @property
    def do_by_hand(self) -> str:
        return f"printf '%s\\n' '{MARK_LINE}' '{self.line}' >> {self.path}"

    def to_state(self) -> dict[str, str]:
        return {"type": "file", "path": self.path, "line": self.line}


@dataclass(frozen=True)
class NftInclude:
    """A file that firewall4 includes at the head of one of its chains (chain-pre)."""

    path: str
    text: str

    @property
    def by_hand(self) -> str:
        return f"rm {self.path} && {FW4_RELOAD}"

    def to_state(self) -> dict[str, str]:
        return {"type": "include", "path": self.path, "text": self.text}


Owned = UciEdit | FileLine | NftInclude


def owned_from_state(data: Any) -> Owned | None:
    """One entry of dualnat's state file (None: not one dualnat wrote)."""
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    kind = data.get("type")
    try:
        if kind == "uci":
            return UciEdit(data["config"], data["section"], data["option"], data["value"])
        if kind == "file":
            return FileLine(data["path"], data["line"])
        if kind == "include":
            return NftInclude(data["path"], data["text"])
    except KeyError:
        return None
    return None


@dataclass(frozen=True)
class Survival:
    """What the exclusion outlasts: the proxy's restart, a firewall reload, a reboot."""

    restart: bool
    reload: bool
    reboot: bool


@dataclass(frozen=True)
class LeftAlone:
    """The user's own entry `entry` in `where` already sends `public` direct."""

    public: IPv4Address
    entry: str
    where: str


@dataclass(frozen=True)
class Manual:
    """What dualnat cannot do for a proxy, for a person to do.

    `why`: "no_setting" (the proxy has no setting that sends a destination direct:
    PassWall 2), "no_section" (its config lacks the section `where` names) or "replies"
    (it takes conntrack replies and keeps its rules in a table of its own)."""

    why: str
    where: str = ""


def entry_text(entry: Owned) -> str:
    """An entry as the plan names it: `config.section.option 'value'`, `path: line`, a path."""
    if isinstance(entry, UciEdit):
        return f"{entry.config}.{entry.section}.{entry.option} '{entry.value}'"
    if isinstance(entry, FileLine):
        return f"{entry.path}: {entry.line}"
    return entry.path


def undo_by_hand(owned: Sequence[Owned], activate: Sequence[str]) -> tuple[str, ...]:
    """The shell commands that remove `owned` and make the proxy take it in."""
    steps = list(dict.fromkeys(o.by_hand for o in owned))
    configs = sorted({o.config for o in owned if isinstance(o, UciEdit)})
    steps += [f"uci commit {c}" for c in configs]
    return (*steps, *activate)


def marked_lines(text: str) -> set[int]:
    """Indexes of the lines of a rules file that dualnat wrote: each MARK line and the
    line right after it."""
    lines = text.splitlines()
    out: set[int] = set()
    for i, line in enumerate(lines):
        if line.startswith(MARK) and i + 1 < len(lines):
            out |= {i, i + 1}
    return out


def remove_file_lines(text: str, lines: Collection[FileLine]) -> str:
    """`text` without the lines dualnat added (exactly those, with their marks)."""
    drop = {fl.line for fl in lines}
    kept = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(kept):
        line = kept[i]
        following = kept[i + 1].rstrip("\r\n") if i + 1 < len(kept) else None
        if line.startswith(MARK) and following in drop:
            i += 2
            continue
        out.append(line)
        i += 1
    return "".join(out)


def add_file_lines(text: str, lines: Sequence[FileLine]) -> str:
    """`text` with dualnat's lines appended, each after its mark (each once)."""
    all_lines = text.splitlines()
    present = {all_lines[i] for i in marked_lines(text) if not all_lines[i].startswith(MARK)}
    out = text if not text or text.endswith("\n") else text + "\n"
    for fl in lines:
        if fl.line not in present:
            out += f"{MARK_LINE}\n{fl.line}\n"
            present.add(fl.line)
    return out
