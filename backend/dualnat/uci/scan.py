"""Fast reading of a whole UCI file into a :class:`~.model.Builder` (no chunks).

One compiled regular expression cuts the text into physical lines (``findall``, one
tuple per line, so the tuple's index is the line number).  Lines that libuci provably
reads like the expression (export-style options, simple statements, comments, blank
lines) are applied directly; any other line, and any line whose statement libuci would
refuse, goes to the general reader (:class:`~.lexer.Reader`), which reads it exactly as
libuci does, spanning further lines if it must, and reports the error.
"""

from __future__ import annotations

import re
from itertools import accumulate, islice

from .errors import UciParseError
from .lexer import Reader, check_text, fast_statement
from .model import Builder, Refused

_BARE = r"""[^ \t\n\r\v\f'"\\#;\x00]++"""
_WORD = rf"""({_BARE}|'[^'\n\x00]*+'|"[^"\\\n\x00]*+")"""
_SCAN_RE = re.compile(
    # 1, 2: the export style `\toption name 'value'`
    r"\toption ([A-Za-z0-9_]++) '([^'\n\x00]*+)'\n"
    # 3, 4, 5: a simple statement, or nothing; with whitespace and a comment
    rf"|[ \t]*+(?:(option|config|list|package|[colp])[ \t]++{_WORD}(?:[ \t]++{_WORD})?)?"
    r"[ \t\r]*+(?:#[^\n]*+)?\n"
    # 6: anything else (one physical line)
    r"|([^\n]*+\n)"
)


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
    builder = Builder()
    scan = text if not text or text.endswith("\n") else text + "\n"
    lines = _Lines(text)
    rows = enumerate(_SCAN_RE.findall(scan), 1)
    cur = None
    for line, (oname, oval, keyword, arg1, arg2, other) in rows:
        if oname:
            if oval:
                if cur is None:
                    cur = builder.current
                    if cur is None:
                        _general(builder, text, lines.start(line), line, path)
                opts = cur.options
                old = opts.get(oname)
                if old is None:
                    opts[oname] = oval
                    cur.option_lines[oname] = line
                elif old != oval:
                    del opts[oname]
                    opts[oname] = oval
                    cur.option_lines[oname] = line
            elif builder.current is None:
                _general(builder, text, lines.start(line), line, path)
            continue
        if keyword:
            found = fast_statement(keyword, arg1, arg2 or None)
            if found is not None:
                try:
                    builder.statement(found[0], found[1], line)
                except Refused:
                    found = None  # the general reader reports it with libuci's byte
                else:
                    cur = builder.current
                    continue
        elif not other:
            continue
        taken = _general(builder, text, lines.start(line), line, path)
        cur = builder.current
        if taken > 1:
            next(islice(rows, taken - 2, taken - 1), None)
    return builder


__all__ = ["UciParseError", "read"]
