"""The connection tracking table: /proc/net/nf_conntrack or `conntrack -L` text → entries.

Both print one connection per line::

    ipv4     2 tcp      6 119 SYN_SENT src=A dst=B sport=1 dport=2 packets=1 bytes=60 \
[UNREPLIED] src=B dst=A sport=2 dport=1 packets=0 bytes=0 mark=0 zone=0 use=2

`conntrack -L` leaves out the leading "ipv4 2" unless `-o extended` is given; offloaded
flows have no timeout; `packets=`/`bytes=` only appear with nf_conntrack_acct; mark, zone,
zone-orig/zone-reply, secctx, labels, use, id, delta-time and timestamps in brackets may or
may not be there. The parser reads the header, the original tuple (up to the second
``src=``) and the reply tuple, ignores whatever else it does not know, and skips lines it
cannot make sense of (truncated, garbage, the tool's summary line) instead of failing.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

from .system import System

PROC_PATH = "net/nf_conntrack"
# Tried in this order when /proc/net/nf_conntrack does not exist.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("conntrack", "-L", "-o", "extended"),
    ("conntrack", "-L"),
)

# The usual shape of a line, in one match: header, original tuple with its counters and
# [UNREPLIED], reply tuple with its counters, flags, mark, and the rest (zone, use, ...).
_FAST = re.compile(
    r"\s*(?:(ipv[46]) +\d+ +)?([a-z][a-z0-9-]*) +\d+ +(?:(\d+) +)?(?:([A-Z][A-Z0-9_]*) +)?"
    r"src=(\S+) dst=(\S+) (?:sport=(\d+) dport=(\d+) )?(?:(?!src=|packets=|[sd]port=)[a-z-]+=\S+ )*"
    r"(?:packets=(\d+) bytes=(\d+) )?(\[UNREPLIED\] )?"
    r"src=(\S+) dst=(\S+) (?:sport=(\d+) dport=(\d+) )?"
    r"(?:(?!packets=|mark=|zone=|use=|[sd]port=)[a-z-]+=\S+ )*"
    r"(?:packets=(\d+) bytes=(\d+) )?((?:\[[A-Z_]+\] )*)(?:mark=(\d+) )?(.*)"
)
_ZONE = re.compile(r"(?:^| )zone=(\d+)")
# What follows the reply tuple of a complete line (the kernel always ends with use=).
_TRAILER = re.compile(r"(?:^| )(?:mark|use|zone|secctx|labels|delta-time)=")
_BRACKETS = re.compile(r"\[([^\]]*)\]?")
_EQ = repeat("=")
_KNOWN_FLAGS = ("[UNREPLIED]", "[ASSURED]", "[OFFLOAD]", "[HW_OFFLOAD]")
# Words of a tuple that its reply tuple must have too (else the line was cut off).
_TUPLE_KEYS = ("sport", "dport", "type", "code", "id", "srckey", "dstkey")


_Counters = tuple[int | None, int | None]


class Entry:
    """One tracked connection. Addresses are text as printed; absent numbers are None.

    `orig_*` is the first packet's direction, `reply_*` the tuple that replies must have:
    a reply source other than the original destination means the destination was
    rewritten (DNAT), a reply destination other than the original source means the source
    was rewritten (SNAT/masquerade).
    """

    __slots__ = (
        "assured",
        "family",
        "line",
        "mark",
        "offload",
        "orig_bytes",
        "orig_dport",
        "orig_dst",
        "orig_packets",
        "orig_sport",
        "orig_src",
        "proto",
        "reply_bytes",
        "reply_dport",
        "reply_dst",
        "reply_packets",
        "reply_sport",
        "reply_src",
        "state",
        "timeout",
        "unreplied",
        "zone",
    )

    def __init__(
        self,
        family: str | None,
        proto: str,
        timeout: int | None,
        state: str | None,
        orig: tuple[str, str, int | None, int | None],
        reply: tuple[str, str, int | None, int | None],
        counters: tuple[_Counters, _Counters] = ((None, None), (None, None)),
        flags: tuple[bool, bool, bool] = (False, False, False),
        mark: int | None = None,
        zone: int | None = None,
        line: str = "",
    ) -> None:
        self.family = family
        self.proto = proto
        self.timeout = timeout
        self.state = state
        self.orig_src, self.orig_dst, self.orig_sport, self.orig_dport = orig
        self.reply_src, self.reply_dst, self.reply_sport, self.reply_dport = reply
        (self.orig_packets, self.orig_bytes), (self.reply_packets, self.reply_bytes) = counters
        self.unreplied, self.assured, self.offload = flags  # [UNREPLIED] [ASSURED] [OFFLOAD]
        self.mark = mark
        self.zone = zone
        self.line = line

    @property
    def replied(self) -> bool:
        """The kernel saw a packet in the reply direction (no [UNREPLIED])."""
        return not self.unreplied

    @property
    def dnat(self) -> bool:
        """The destination was rewritten: replies come from somewhere else."""
        return self.reply_src != self.orig_dst or self.reply_sport != self.orig_dport

    @property
    def snat(self) -> bool:
        """The source was rewritten: replies go to somewhere else."""
        return self.reply_dst != self.orig_src or self.reply_dport != self.orig_sport

    def __repr__(self) -> str:
        return f"Entry({self.line!r})"


@dataclass(frozen=True)
class Table:
    """The parsed table: entries, how many lines were skipped, and where it came from
    (None: neither /proc/net/nf_conntrack nor the conntrack tool could be read)."""

    entries: list[Entry]
    skipped: int = 0
    source: str | None = None


def _num(value: str | None) -> int | None:
    return None if value is None else int(value)


def _fast(line: str) -> Entry | None:
    """The common case in one regular expression; None sends the line to `_careful`."""
    m = _FAST.match(line)
    if m is None:
        return None
    (fam, proto, timeout, state, osrc, odst, osport, odport, opk, oby, unrep,
     rsrc, rdst, rsport, rdport, rpk, rby, flags, mark, rest) = m.groups()  # fmt: skip
    if (odport is None) != (rdport is None) or not (flags or mark or _TRAILER.search(rest)):
        return None  # ports on one side only, or nothing after the reply tuple: cut off
    zone = _ZONE.search(rest) if "zone=" in rest else None
    return Entry(
        fam,
        proto,
        None if timeout is None else int(timeout),
        state,
        (osrc, odst, None if osport is None else int(osport), _num(odport)),
        (rsrc, rdst, None if rsport is None else int(rsport), _num(rdport)),
        ((_num(opk), _num(oby)), (_num(rpk), _num(rby))),
        (unrep is not None, "[ASSURED]" in flags, "OFFLOAD]" in flags),
        None if mark is None else int(mark),
        None if zone is None else int(zone.group(1)),
        line,
    )


def _fields(text: str) -> dict[str, str]:
    """key=value words of a tuple part; words without exactly one '=' are ignored."""
    try:
        return dict(map(str.split, text.split(), _EQ))  # type: ignore[arg-type]
    except ValueError:
        pairs = (w.split("=", 1) for w in text.split() if "=" in w)
        return {k: v for k, v in pairs}


def _flags(text: str) -> tuple[str, set[str]]:
    """Remove bracketed flags (and timestamps such as [start=Sat Nov 21 ...]) from text."""
    flags: set[str] = set()
    if "[" not in text:
        return text, flags
    for flag in _KNOWN_FLAGS:
        if flag in text:
            flags.add(flag[1:-1])
            text = text.replace(flag, " ")
    if "[" in text:
        flags.update(m.split("=", 1)[0] for m in _BRACKETS.findall(text))
        text = _BRACKETS.sub(" ", text)
    return text, flags


def _header(head: str) -> tuple[str | None, str, int | None, str | None] | None:
    words = head.split()
    family = None
    if words and words[0] in ("ipv4", "ipv6"):
        family = words[0]
        if len(words) < 2 or not words[1].isdigit():
            return None
        words = words[2:]
    if len(words) < 2 or not words[1].isdigit() or not words[0][:1].isalpha():
        return None
    timeout = None
    state = None
    for word in words[2:]:
        if word.isdigit() and timeout is None and state is None:
            timeout = int(word)
        elif state is None and word.isupper() and word.replace("_", "").isalnum():
            state = word
        else:
            return None
    return family, words[0], timeout, state


def _careful(line: str) -> Entry | None:
    """Any order of words, unknown words and bracketed timestamps; None if incomplete."""
    head, sep, rest = line.partition("src=")
    if not sep:
        return None
    orig_text, sep, reply_text = rest.partition(" src=")
    if not sep:
        return None  # cut off before the reply tuple
    header = _header(head)
    if header is None:
        return None
    orig_text, flags = _flags(orig_text)
    reply_text, more_flags = _flags(reply_text)
    orig = _fields("src=" + orig_text)
    reply = _fields("src=" + reply_text)
    if not (orig["src"] and reply["src"] and orig.get("dst") and reply.get("dst")):
        return None
    if any(k in orig and not reply.get(k) for k in _TUPLE_KEYS):
        return None  # the reply tuple was cut off
    if not more_flags and not _TRAILER.search(reply_text):
        return None  # the line ends inside the reply tuple: its last value may be cut short
    try:
        return Entry(
            *header,
            (orig["src"], orig["dst"], _num(orig.get("sport")), _num(orig.get("dport"))),
            (reply["src"], reply["dst"], _num(reply.get("sport")), _num(reply.get("dport"))),
            (
                (_num(orig.get("packets")), _num(orig.get("bytes"))),
                (_num(reply.get("packets")), _num(reply.get("bytes"))),
            ),
            (
                "UNREPLIED" in flags,
                "ASSURED" in more_flags,
                "OFFLOAD" in more_flags or "HW_OFFLOAD" in more_flags,
            ),
            _num(reply.get("mark")),
            _num(reply.get("zone")),
            line.strip(),
        )
    except ValueError:
        return None


def parse_line(line: str) -> Entry | None:
    """One entry, or None when the line is not a complete conntrack entry."""
    return _fast(line) or _careful(line)


def parse(text: str | Iterable[str], source: str = "text", only: tuple[str, ...] = ()) -> Table:
    """Every entry of a table dump; blank lines and the tool's summary do not count as
    skipped. `source` says where the text came from (a Table without one was not read).
    With `only`, just the lines that contain one of these strings are parsed (a watch of
    one forward reads the table often: most lines are not about it)."""
    lines = text.splitlines() if isinstance(text, str) else text
    if only:
        lines = [line for line in lines if any(word in line for word in only)]
    entries: list[Entry] = []
    skipped = 0
    append = entries.append
    # Entries hold no references to each other: collecting cycles while building tens of
    # thousands of them only costs time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for line in lines:
            entry = _fast(line) or _careful(line)
            if entry is not None:
                append(entry)
            elif line.strip() and not line.startswith("conntrack v"):
                skipped += 1
    finally:
        if collecting:
            gc.enable()
    return Table(entries, skipped, source)


def read(system: System, only: tuple[str, ...] = ()) -> Table:
    """The table of the machine `system` stands for; an empty table with source None when
    neither /proc/net/nf_conntrack nor the conntrack tool gives anything. `only`: see
    `parse`."""
    text = system.read(PROC_PATH)
    if text is not None:
        return parse(text, str(system.proc / PROC_PATH), only)
    for args in COMMANDS:
        out = system.command(*args)
        if out is not None:
            return parse(out, " ".join(args), only)
    return Table([], 0, None)
