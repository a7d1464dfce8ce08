"""Lossless tokenizer for UCI text that reads it exactly as libuci does.

The text is cut into :class:`Chunk` objects: each chunk is one libuci "logical line":
one or more whole physical lines (more than one when a quoted value or a backslash
continuation spans lines) holding zero or more statements.  Concatenating the chunk
texts gives back the input exactly.

:class:`Reader` follows libuci's parser (file.c: ``uci_parse_line``, ``next_arg``,
``parse_str``, ``assert_eol``) character for character, including its quirks:

* the keyword is the text up to the next space or tab, so ``config\\n`` or
  ``option;`` are "invalid command";
* a bare word glued to ``;`` (``config x;``) ends the line: libuci overwrites the
  ``;`` and ignores the rest of the line (a quoted or escaped word does not: there the
  ``;`` separates statements, but may not end the line: ``option a 'b';`` is an
  "invalid command");
* a ``;`` where an argument is expected is an empty argument;
* ``#`` outside quotes starts a comment, also inside a word;
* errors carry libuci's reason text, the line and the byte offset in that line where
  libuci stopped (an unterminated quote is reported where it opens; an error on a last
  line without newline on that line, where libuci reports the line before).

Statement syntax and argument counts are checked here; section semantics are not
(see :mod:`.model`), except that an option before any section is refused here, as
libuci does it before reading the option's arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from .errors import OPTION_BEFORE_SECTION, UciParseError
from .names import is_name, is_package_name, is_type

KEYWORDS = {
    "package": "package",
    "p": "package",
    "config": "config",
    "c": "config",
    "option": "option",
    "o": "option",
    "list": "list",
    "l": "list",
}
SPACE = " \t\n\v\f\r"  # C isspace()
_WS_RE = re.compile(r"[ \t\n\v\f\r]*+")
_BLANK_RE = re.compile(r"[ \t]*+")  # strtok(" \t") skips these
_TOKEN_RE = re.compile(r"[^ \t]*+")
_PLAIN_RE = re.compile(r"""[^ \t\n\v\f\r'"\\#;]++""")
_DQ_RUN_RE = re.compile(r'[^"\\]*+')


class Statement(NamedTuple):
    """One statement; ``start``/``end`` are offsets into its chunk's text."""

    keyword: str  # canonical: "package", "config", "option" or "list"
    args: tuple[str, ...]  # decoded: (name,), (type, name or ""), (name, value or "")
    start: int  # the keyword
    end: int  # after its last non-empty argument
    line: int  # 1-based line of the keyword, at parse time


class Chunk(NamedTuple):
    """Raw text of whole line(s) and the statements found in it."""

    text: str
    statements: tuple[Statement, ...]

    @property
    def is_blank(self) -> bool:
        """True for a line holding only whitespace."""
        return not self.statements and not self.text.strip(" \t\r\n\v\f")


def byte_offset(text: str, start: int, pos: int) -> int:
    """Bytes (UTF-8, undecodable bytes kept) between *start* and *pos* of *text*."""
    return len(text[start:pos].encode("utf-8", "surrogateescape"))


class Reader:
    """libuci reading one logical line of *text* that starts at offset *start*.

    ``pos`` and ``end`` are offsets into *text*: ``end`` is the end of what libuci has
    in its line buffer (after the last physical line read, or where it wrote a NUL);
    ``read_end`` is the end of the last physical line read.
    """

    __slots__ = ("end", "line", "line_start", "n", "path", "pos", "read_end", "text", "word_end")

    def __init__(self, text: str, start: int, line: int, path: str = "<string>") -> None:
        self.text = text
        self.n = len(text)
        self.path = path
        self.pos = start
        self.end = self.read_end = start
        self.line = line - 1
        self.line_start = start
        self.word_end = start
        self._read()

    # -- the line buffer -----------------------------------------------------------

    def _read(self) -> bool:
        """uci_getln: append the next physical line to the buffer; False at EOF."""
        end = self.end
        if end >= self.n:
            return False
        newline = self.text.find("\n", end)
        self.line_start = end
        self.end = self.read_end = self.n if newline < 0 else newline + 1
        self.line += 1
        return True

    def error(self, reason: str, pos: int | None = None) -> UciParseError:
        """A parse error at *pos* (default: where the parser is) on the current line."""
        at = self.pos if pos is None else pos
        byte = byte_offset(self.text, self.line_start, at)
        return UciParseError(reason, self.path, self.line, byte)

    def skip_ws(self) -> None:
        self.pos = _WS_RE.match(self.text, self.pos, self.end).end()

    # -- words ---------------------------------------------------------------------

    def _backslash(self) -> bool:
        """parse_backslash: False if the backslash continued the line (nothing to add)."""
        text = self.text
        q = self.pos + 1
        self.pos = q
        end = self.end
        if (
            q >= end
            or text[q] == "\n"
            or (text[q] == "\r" and q + 2 == end and text[q + 1] == "\n")
        ):
            self.pos = end  # the next line replaces the backslash's line end
            self._read()
            return False
        return True

    def _quote_error(self, quote: str, pos: int, line: int, line_start: int) -> UciParseError:
        byte = byte_offset(self.text, line_start, pos)
        return UciParseError(f"EOF with unterminated {quote}", self.path, line, byte)

    def _single(self, out: list[str]) -> None:
        text = self.text
        opened = (self.pos, self.line, self.line_start)
        self.pos += 1
        while True:
            close = text.find("'", self.pos, self.end)
            if close >= 0:
                out.append(text[self.pos : close])
                self.pos = close + 1
                return
            out.append(text[self.pos : self.end])
            self.pos = self.end
            if not self._read():
                raise self._quote_error("'", *opened)

    def _double(self, out: list[str]) -> None:
        text = self.text
        opened = (self.pos, self.line, self.line_start)
        self.pos += 1
        while True:
            m = _DQ_RUN_RE.match(text, self.pos, self.end)
            if m.end() > self.pos:
                out.append(m.group())
                self.pos = m.end()
            pos = self.pos
            if pos >= self.end:
                if not self._read():
                    raise self._quote_error('"', *opened)
                continue
            if text[pos] == '"':
                self.pos = pos + 1
                return
            if self._backslash():
                out.append(text[self.pos])
                self.pos += 1

    def word(self) -> str:
        """parse_str: read one word at ``pos`` (not at whitespace); return its value."""
        text = self.text
        start = self.pos
        out: list[str] = []
        plain = True  # no quote or backslash: libuci's write position is its read position
        semicolon = False
        while True:
            pos = self.pos
            char = text[pos] if pos < self.end else ""
            if char == "'":
                plain = False
                self._single(out)
            elif char == '"':
                plain = False
                self._double(out)
            elif char == "#":
                self.end = pos  # a comment: libuci ends the line here
                break
            elif not char:
                break
            elif char == ";":
                semicolon = True
                break
            elif char == "\\":
                plain = False
                if self._backslash():
                    out.append(text[self.pos])
                    self.pos += 1
            else:
                m = _PLAIN_RE.match(text, pos, self.end)
                out.append(m.group())
                self.pos = m.end()
            pos = self.pos
            if pos >= self.end or text[pos] in SPACE:
                break
        if self.pos > start:
            self.word_end = self.pos
        if semicolon:
            if plain:
                self.end = self.pos  # the ';' becomes the word's end: the line ends here
        elif self.pos < self.end:
            self.pos += 1
        return "".join(out)

    def arg(self, required: bool = False, check: Callable[[str], bool] | None = None) -> str:
        """next_arg: the next argument ("" if none; ``;`` stands for an empty one)."""
        self.skip_ws()
        pos = self.pos
        if pos < self.end and self.text[pos] == ";":
            self.pos = pos + 1
            value = ""
        else:
            value = self.word()
        if not value:
            if required:
                raise self.error("insufficient arguments")
            return ""
        if check is not None and not check(value):
            raise self.error("invalid character in name field")
        return value

    def assert_eol(self) -> None:
        """Refuse a further non-empty argument."""
        if self.arg():
            raise self.error("too many arguments")

    # -- statements ----------------------------------------------------------------

    def statements(self, in_section: bool) -> Iterator[Statement]:
        """Yield the line's statements as they are read (offsets into the whole text).

        *in_section*: a section is open (else an option is refused, as libuci does).
        A caller that refuses a statement stops iterating: the reader then still
        stands where libuci would report that error (``error()``).
        """
        text = self.text
        self.skip_ws()
        while True:
            first = _BLANK_RE.match(text, self.pos, self.end).end()
            if first >= self.end:
                return
            after = _TOKEN_RE.match(text, first, self.end).end()
            word = text[first:after]
            if word[0] == "#":
                return
            keyword = KEYWORDS.get(word)
            if keyword is None:
                raise self.error("invalid command")
            if (keyword == "option" or keyword == "list") and not in_section:
                raise self.error(OPTION_BEFORE_SECTION)
            if after >= self.end:
                kind = "option" if keyword == "list" else keyword
                raise self.error(f"{kind} without name")
            line = self.line
            self.pos = after + 1
            self.word_end = after
            if keyword == "config":
                type_ = self.arg(required=True)
                if not is_type(type_):
                    raise self.error("invalid character in type field")
                name = self.arg(check=is_name)
                end = self.word_end
                self.assert_eol()
                args: tuple[str, ...] = (type_, name)
                in_section = True
            elif keyword == "package":
                args = (self.arg(required=True, check=is_package_name),)
                end = self.word_end
                self.assert_eol()
            else:
                name = self.arg(required=True, check=is_name)
                value = self.arg()
                end = self.word_end
                self.assert_eol()
                args = (name, value)
            yield Statement(keyword, args, first, end, line)


# One ordinary line that libuci reads like this regex: a keyword followed by a space or
# tab, one or two simple words (bare, or single/double quoted without escapes), then
# whitespace and an optional comment.  Names, types and counts are checked by callers.
SIMPLE_WORD = r"""([^ \t\n\r\v\f'"\\#;\x00]++|'[^'\n\x00]*+'|"[^"\\\n\x00]*+")"""
_FAST_LINE_RE = re.compile(
    rf"[ \t]*+(?:(option|config|list|package|[colp])[ \t]++{SIMPLE_WORD}"
    rf"(?:[ \t]++{SIMPLE_WORD})?)?"
    r"[ \t\r]*+(?:#[^\n]*+)?(?:\n|\Z)"
)


def unquote(raw: str) -> str:
    """Value of a simple word matched by the fast paths (bare or quoted, no escapes)."""
    return raw[1:-1] if raw[0] == "'" or raw[0] == '"' else raw


def fast_statement(keyword: str, arg1: str, arg2: str | None) -> tuple[str, tuple[str, ...]] | None:
    """Canonical keyword and arguments of a fast-path line, or None if libuci would
    refuse it (the general path then reports the error)."""
    canon = KEYWORDS[keyword]
    first = unquote(arg1)
    if canon == "option" or canon == "list":
        if not is_name(first):
            return None
        return canon, (first, unquote(arg2) if arg2 is not None else "")
    if canon == "config":
        name = unquote(arg2) if arg2 is not None else ""
        if not is_type(first) or (name and not is_name(name)):
            return None
        return canon, (first, name)
    if arg2 is not None or not is_package_name(first):
        return None
    return canon, (first,)


def check_text(text: str, path: str) -> None:
    """Refuse what libuci cannot read faithfully: NUL bytes (fgets would drop the rest
    of their line)."""
    nul = text.find("\x00")
    if nul >= 0:
        line_start = text.rfind("\n", 0, nul) + 1
        line = text.count("\n", 0, nul) + 1
        raise UciParseError("NUL byte", path, line, byte_offset(text, line_start, nul))


def split_chunks(
    text: str,
    path: str = "<string>",
    first_line: int = 1,
    *,
    fast: bool = True,
    in_section: bool | None = None,
) -> list[Chunk]:
    """Cut *text* into chunks; raise :class:`UciParseError` on malformed statements.

    *in_section*: whether a section is open before *text* (None: only if *text* is
    not a whole file, i.e. *first_line* > 1).  ``fast=False`` reads every line with
    the general reader (for tests).
    """
    check_text(text, path)
    chunks: list[Chunk] = []
    append = chunks.append
    fast_match = _FAST_LINE_RE.match if fast else None
    opened = first_line > 1 if in_section is None else in_section
    n = len(text)
    pos = 0
    line = first_line
    while pos < n:
        m = fast_match(text, pos) if fast_match is not None else None
        if m is not None:
            keyword, arg1, arg2 = m.groups()
            end = m.end()
            if keyword is None:
                append(Chunk(text[pos:end], ()))
                line += 1
                pos = end
                continue
            found = fast_statement(keyword, arg1, arg2)
            if found is not None and (opened or found[0] in ("config", "package")):
                canon, args = found
                last = 3 if arg2 is not None else 2
                stmt = Statement(canon, args, m.start(1) - pos, m.end(last) - pos, line)
                append(Chunk(text[pos:end], (stmt,)))
                opened = opened or canon == "config"
                line += 1
                pos = end
                continue
        reader = Reader(text, pos, line, path)
        stmts = []
        for stmt in reader.statements(opened):
            opened = opened or stmt.keyword == "config"
            stmts.append(stmt._replace(start=stmt.start - pos, end=stmt.end - pos))
        end = reader.read_end  # libuci reads whole physical lines
        append(Chunk(text[pos:end], tuple(stmts)))
        line += text.count("\n", pos, end)
        pos = end
    return chunks


def decode_word(raw: str) -> str:
    """Decode the raw text of one word (quotes, escapes, continuations) to its value."""
    return Reader(raw, 0, 1).word()


def split_words(text: str, path: str = "<string>") -> list[str]:
    """Split a command line into decoded words as ``uci batch`` does (uci_parse_argument:
    words up to the first empty one; ``#`` starts a comment)."""
    reader = Reader(text, 0, 1, path)
    words = []
    while True:
        word = reader.arg()
        if not word:
            return words
        words.append(word)
