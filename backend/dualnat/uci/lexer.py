"""Lossless tokenizer for UCI text.

The text is cut into :class:`Chunk` objects: each chunk is one or more whole physical
lines (one "logical line": more than one when a quoted value or a backslash
continuation spans lines) holding zero or more statements (``;`` separates
statements on a line).  Concatenating the chunk texts gives back the input exactly.
Statement syntax and argument counts are checked here; section semantics are not.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import UciParseError
from .names import is_config_name, is_name, is_type

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

_UNQUOTED = r"""(?:[^ \t\n\r\v\f'"\\#;]++|\\\r\n|\\[\s\S]|\\\Z)++"""
_WORD_RE = re.compile(rf"""(?:'[^']*+'|"(?:[^"\\]++|\\[\s\S])*+"|{_UNQUOTED})++""")
_SEGMENT_RE = re.compile(rf"""'([^']*)'|"((?:[^"\\]|\\[\s\S])*)"|({_UNQUOTED})""")
_ESCAPE_RE = re.compile(r"\\(\r\n|[\s\S]|\Z)")
_SPACE_RE = re.compile(r"[ \t\r\v\f]*+")
_NAME_RE = re.compile(r"[A-Za-z0-9_]+")

# One ordinary line: optional simple statement, optional comment, end of line.
_SIMPLE_ARG = r"""([^ \t\n\r\v\f'"\\#;]++|'[^'\n]*+')"""
_FAST_LINE_RE = re.compile(
    r"[ \t]*+"
    rf"(?:(config|option|list|package|[colp])(?:[ \t]++{_SIMPLE_ARG})?(?:[ \t]++{_SIMPLE_ARG})?)?"
    r"[ \t\r]*+(?:#[^\n]*+)?(\n|\Z)"
)


class Statement(NamedTuple):
    """One statement; ``start``/``end`` are offsets into its chunk's text."""

    keyword: str  # canonical: "package", "config", "option" or "list"
    args: tuple[str, ...]  # decoded: (name,), (type, name or ""), (name, value)
    start: int
    end: int
    line: int  # 1-based line of the keyword, at parse time


class Chunk(NamedTuple):
    """Raw text of whole line(s) and the statements found in it."""

    text: str
    statements: tuple[Statement, ...]

    @property
    def is_blank(self) -> bool:
        """True for a line holding only whitespace."""
        return not self.statements and not self.text.strip(" \t\r\n\v\f")


def _unescape_match(m: re.Match[str]) -> str:
    char = m.group(1)
    return "" if char in ("\n", "\r\n", "") else char


def decode_word(raw: str) -> str:
    """Decode the raw text of one word (quotes, escapes, continuations) to its value."""
    if "\\" not in raw and "'" not in raw and '"' not in raw:
        return raw
    if raw[0] == "'" and raw.find("'", 1) == len(raw) - 1:
        return raw[1:-1]
    out = []
    for m in _SEGMENT_RE.finditer(raw):
        single, double, bare = m.groups()
        if single is not None:
            out.append(single)
        else:
            seg = double if double is not None else bare
            out.append(_ESCAPE_RE.sub(_unescape_match, seg) if "\\" in seg else seg)
    return "".join(out)


class _Scanner:
    """State of one tokenizing run over *text*."""

    def __init__(self, text: str, path: str, first_line: int) -> None:
        self.text = text
        self.path = path
        self.first_line = first_line

    def line_at(self, pos: int) -> int:
        return self.first_line + self.text.count("\n", 0, pos)

    def error(self, reason: str, pos: int) -> UciParseError:
        return UciParseError(reason, self.path, self.line_at(pos))

    def word(self, pos: int) -> re.Match[str]:
        """Match the word at *pos* (not at whitespace, ``#``, ``;`` or a newline)."""
        text = self.text
        m = _WORD_RE.match(text, pos)
        end = m.end() if m else pos
        if end < len(text) and text[end] in "'\"":
            raise self.error("unterminated quote", end)
        if m is None:  # pragma: no cover - callers never stop at such a character
            raise self.error("unexpected character", pos)
        return m

    def statement(self, pos: int) -> tuple[str, list[tuple[int, int, str]]]:
        """Read one statement's words from *pos*; return keyword and (start, end, value)."""
        text = self.text
        n = len(text)
        words: list[tuple[int, int, str]] = []
        while True:
            m = self.word(pos)
            words.append((m.start(), m.end(), decode_word(m.group())))
            pos = _SPACE_RE.match(text, m.end()).end()
            if pos >= n or text[pos] in "\n#;":
                break
        keyword = KEYWORDS.get(words[0][2])
        if keyword is None:
            raise self.error("invalid command", words[0][0])
        return keyword, words

    def chunk_slow(self, pos: int) -> tuple[list[tuple[str, list[tuple[int, int, str]]]], int]:
        """Read one logical line starting at *pos*; return its statements and end."""
        text = self.text
        n = len(text)
        found = []
        while True:
            pos = _SPACE_RE.match(text, pos).end()
            if pos >= n:
                break
            char = text[pos]
            if char == "\n":
                pos += 1
                break
            if char == "#":
                newline = text.find("\n", pos)
                pos = n if newline < 0 else newline + 1
                break
            if char == ";":
                pos += 1
                continue
            keyword, words = self.statement(pos)
            found.append((keyword, words))
            pos = words[-1][1]
        return found, pos


def _check(scanner: _Scanner, keyword: str, words: list[tuple[int, int, str]]) -> tuple[str, ...]:
    """Validate argument count and names of a statement; return its arguments."""
    args = [w[2] for w in words[1:]]
    maximum = 1 if keyword == "package" else 2
    if len(args) > maximum:
        raise scanner.error("too many arguments", words[maximum + 1][0])
    if not args or not args[0]:
        raise scanner.error("insufficient arguments", words[min(1, len(args))][0])
    first = args[0]
    if keyword == "package":
        if not is_config_name(first):
            raise scanner.error("invalid character in name field", words[1][0])
    elif keyword == "config":
        if not is_type(first):
            raise scanner.error("invalid character in type field", words[1][0])
        if len(args) == 1:
            args.append("")  # anonymous section
        elif args[1] and not is_name(args[1]):
            raise scanner.error("invalid character in name field", words[2][0])
    else:
        if not is_name(first):
            raise scanner.error("invalid character in name field", words[1][0])
        if len(args) == 1:
            args.append("")
    return tuple(args)


def split_chunks(
    text: str, path: str = "<string>", first_line: int = 1, *, fast: bool = True
) -> list[Chunk]:
    """Cut *text* into chunks; raise :class:`UciParseError` on malformed statements.

    ``fast=False`` disables the single-regex path for ordinary lines (for tests).
    """
    scanner = _Scanner(text, path, first_line)
    chunks: list[Chunk] = []
    append = chunks.append
    fast_match = _FAST_LINE_RE.match if fast else None
    name_match = _NAME_RE.fullmatch
    n = len(text)
    pos = 0
    line = first_line
    while pos < n:
        m = fast_match(text, pos) if fast_match else None
        if m is not None:
            end = m.end()
            keyword, arg1, arg2, newline = m.groups()
            if keyword is None:
                append(Chunk(text[pos:end], ()))
            elif (
                arg2 is not None
                and (keyword[0] == "o" or keyword[0] == "l")
                and name_match(arg1) is not None
            ):  # the common `option name value` line
                value = arg2[1:-1] if arg2[0] == "'" else arg2
                stmt = Statement(
                    KEYWORDS[keyword], (arg1, value), m.start(1) - pos, m.end(3) - pos, line
                )
                append(Chunk(text[pos:end], (stmt,)))
            else:
                words = [(m.start(1), m.end(1), keyword)]
                for group, raw in ((2, arg1), (3, arg2)):
                    if raw is None:
                        break
                    value = raw[1:-1] if raw[0] == "'" else raw
                    words.append((m.start(group), m.end(group), value))
                canon = KEYWORDS[keyword]
                args = _check(scanner, canon, words)
                stmt = Statement(canon, args, words[0][0] - pos, words[-1][1] - pos, line)
                append(Chunk(text[pos:end], (stmt,)))
            if newline:
                line += 1
            pos = end
            continue
        found, end = scanner.chunk_slow(pos)
        stmts = []
        for keyword, words in found:
            args = _check(scanner, keyword, words)
            start = words[0][0]
            stmt_line = line + text.count("\n", pos, start)
            stmts.append(Statement(keyword, args, start - pos, words[-1][1] - pos, stmt_line))
        append(Chunk(text[pos:end], tuple(stmts)))
        line += text.count("\n", pos, end)
        pos = end
    return chunks


def split_words(text: str, path: str = "<string>") -> list[str]:
    """Split a command line into decoded words (uci quoting; ``#`` starts a comment)."""
    scanner = _Scanner(text, path, 1)
    words = []
    pos = 0
    n = len(text)
    while True:
        pos = _SPACE_RE.match(text, pos).end()
        if pos >= n or text[pos] in "\n#":
            return words
        if text[pos] == ";":
            pos += 1
            continue
        m = scanner.word(pos)
        words.append(decode_word(m.group()))
        pos = m.end()
