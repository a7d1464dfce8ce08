"""Fast reading of a whole UCI file into a :class:`~.model.Builder` (no chunks).

One compiled regular expression cuts the text into physical lines (``findall`` over
windows of about 128 Ki characters that end at a newline: one tuple per line, so a
tuple's index gives its line number).  Lines that libuci provably
reads like the expression (export-style options, simple statements, comments, blank
lines) are applied directly; any other line, and any line whose statement libuci would
refuse, goes to the general reader (:class:`~.lexer.Reader`), which reads it exactly as
libuci does, spanning further lines if it must, and reports the error.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate, islice

from .lexer import SIMPLE_WORD, Reader, check_text, fast_statement
from .model import Builder, OptionValue, Refused

_TYPE = r"""[!$-&(-:<-\[\]-~]++"""  # a valid type without quotes, "\", "#" or ";"
_SCAN_RE = re.compile(
    # 1, 2: the export style `\toption name 'value'`
    r"\toption ([A-Za-z0-9_]++) '([^'\n\x00]*+)'\n"
    # 3, 4: the export style `config type 'name'` (or without a name)
    rf"|config ({_TYPE})(?: '([A-Za-z0-9_]*+)')?\n"
    # 5, 6, 7: a simple statement, or nothing; with whitespace and a comment
    rf"|[ \t]*+(?:(option|config|list|package|[colp])[ \t]++{SIMPLE_WORD}"
    rf"(?:[ \t]++{SIMPLE_WORD})?)?"
    r"[ \t\r]*+(?:#[^\n]*+)?\n"
    # 8: anything else (one physical line)
    r"|([^\n]*+\n)"
)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects
    (it would otherwise scan the growing heap again and again)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Lines:
    """Offsets of line starts, computed when first needed."""

    __slots__ = ("starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] | None = None

    def start(self, line: int) -> int:
        if self.starts is None:
            lengths = map((1).__add__, map(len, self.text.split("\n")))
            self.starts = list(accumulate(lengths, initial=0))
        return self.starts[line - 1]


def _general(builder: Builder, text: str, start: int, line: int, path: str) -> int:
    """Read the logical line at *start* (line *line*) with the general reader; return
    the number of physical lines it took."""
    reader = Reader(text, start, line, path)
    try:
        for stmt in reader.statements(builder.current is not None):
            builder.statement(stmt.keyword, stmt.args, stmt.line)
    except Refused as exc:
        raise reader.error(exc.reason) from None
    return reader.line - line + 1


def read(text: str, path: str = "<string>") -> Builder:
    """Apply libuci's reading and semantics to *text*; raise :class:`UciParseError`."""
    check_text(text, path)
    with _gc_paused():
        return _read(text, path)


_WINDOW = 1 << 17  # characters scanned per findall: keeps the list of rows small


def _windows(scan: str) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive slices of *scan* that end after a newline."""
    pos, n = 0, len(scan)
    while pos < n:
        end = scan.find("\n", pos + _WINDOW)
        end = n if end < 0 else end + 1
        yield pos, end
        pos = end


def _read(text: str, path: str) -> Builder:
    builder = Builder()
    scan = text if not text or text.endswith("\n") else text + "\n"
    lines = _Lines(text)
    opts: dict[str, OptionValue] | None = None  # the open section's options and lines
    option_lines: dict[str, int] = {}
    first = 1  # line number of the window's first row
    skip = 0  # rows already read by the general reader (a logical line went on)
    # one string object per distinct option name and value: a firewall with a thousand
    # forwards says 'lan', 'DNAT' and its own address thousands of times (memory)
    same: dict[str, str] = {}
    one = same.setdefault
    for start, end in _windows(scan):
        rows = enumerate(_SCAN_RE.findall(scan, start, end), first)
        first += scan.count("\n", start, end)
        if skip:
            skip -= sum(1 for _ in islice(rows, skip))
        for line, (oname, oval, ctype, cname, keyword, arg1, arg2, other) in rows:
            if oname:  # inline: Builder.option for the export style
                if opts is None:
                    _general(builder, text, lines.start(line), line, path)  # refuses it
                elif oval:
                    oname, oval = one(oname, oname), one(oval, oval)
                    old = opts.get(oname)
                    if old is None:
                        opts[oname] = oval
                        option_lines[oname] = line
                    elif old != oval:
                        del opts[oname]
                        opts[oname] = oval
                        option_lines[oname] = line
                continue
            if ctype:
                try:
                    builder.config(ctype, cname, line)
                except Refused:
                    pass  # the general reader reports it with libuci's byte
                else:
                    cur = builder.current
                    opts, option_lines = cur.options, cur.option_lines  # type: ignore[union-attr]
                    continue
            elif keyword:
                found = fast_statement(keyword, arg1, arg2 or None)
                if found is not None:
                    try:
                        builder.statement(found[0], found[1], line)
                    except Refused:
                        pass  # the general reader reports it with libuci's byte
                    else:
                        if found[0] == "config":
                            cur = builder.current
                            opts, option_lines = cur.options, cur.option_lines  # type: ignore[union-attr]
                        continue
            elif not other:
                continue
            taken = _general(builder, text, lines.start(line), line, path)
            if builder.current is not None:
                opts, option_lines = builder.current.options, builder.current.option_lines
            if taken > 1:
                skip = taken - 1 - sum(1 for _ in islice(rows, taken - 1))
    return builder
