"""Lossless UCI document: libuci's reading of a file and format-preserving edits.

Reading (:meth:`Document.parse`) agrees with libuci (OpenWrt's ``uci``): the same files
are refused, with libuci's reason, line and byte (:class:`UciParseError`), and the
same values are read (see :mod:`.lexer` for the syntax and :mod:`.model` for the
semantics).  The read view is a list of :class:`Section`; besides ``type``, ``name``
and ``options`` each section carries:

* ``lines``: the 1-based line of every ``config`` statement that opened or re-opened
  the section (libuci merges a named section stated twice; a strict reader can refuse
  that and name both lines);
* ``option_lines``: per option in ``options``, the line of the first statement that
  contributes to its final value.

Edits (``set_option``, ``add_section``, ``apply`` ...) change only the statements they
concern; every other byte of the file is kept.

A parsed document keeps its text and is read in one fast pass; the statement chunks
that edits work on are made on the first edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .changes import (
    AddListItem,
    Change,
    DeleteListItem,
    DeleteOption,
    DeleteSection,
    SetList,
    SetOption,
    SetSection,
)
from .errors import SectionNotFoundError, UciParseError
from .lexer import Chunk, byte_offset, split_chunks
from .model import Builder, Owned, Ref, Refused, Sec, Section
from .model import OptionValue as OptionValue
from .names import check_name, check_type, check_value, format_type, quote
from .scan import read

_REF_RE = re.compile(r"@([!-~]+?)\[(-?\d+)\]")
_OPTION_CHANGES = (SetOption, SetList, DeleteOption, AddListItem, DeleteListItem)
Expected = list[tuple[str, tuple[str, ...]]]


@dataclass
class _Model:
    package: str | None
    sections: list[Sec]
    by_name: dict[str, Sec]
    owned: dict[str, Owned] | None  # None: read without chunks (no edits yet)
    newlines: int = 0  # newline characters in the document (with owned)


def _from_builder(builder: Builder, owned: bool, newlines: int = 0) -> _Model:
    return _Model(
        builder.package,
        builder.sections,
        builder.by_name,
        builder.owned if owned else None,
        newlines,
    )


def _build(chunks: Sequence[Chunk], path: str) -> _Model:
    """Apply libuci's semantics to the chunks' statements, recording which statements
    belong to which named section; lines are counted from the chunks' text."""
    builder = Builder(track=True)
    line = 1
    for ci, chunk in enumerate(chunks):
        text = chunk.text
        newlines = text.count("\n")
        several = newlines > 1 or (newlines == 1 and text[-1] != "\n")  # physical lines
        for si, stmt in enumerate(chunk.statements):
            at = line + text.count("\n", 0, stmt.start) if several else line
            try:
                builder.statement(stmt.keyword, stmt.args, at, (ci, si))
            except Refused as exc:
                start = text.rfind("\n", 0, stmt.start) + 1
                byte = byte_offset(text, start, stmt.start)
                raise UciParseError(exc.reason, path, at, byte) from None
        line += newlines
    return _from_builder(builder, True, line - 1)


def _expected(texts: Sequence[str]) -> Expected:
    """(keyword, args) of statements written by us (export style)."""
    return _args_of(split_chunks("\n".join(texts), in_section=True))


def _args_of(chunks: Iterable[Chunk]) -> Expected:
    return [(s.keyword, s.args) for chunk in chunks for s in chunk.statements]


class Document:
    """A parsed UCI file that serializes back byte for byte and edits in place.

    Edits touch only the statements they concern; every other line keeps its exact
    text.  New or rewritten statements use libuci's export style.
    """

    __slots__ = ("_chunk_list", "_model", "_nl", "_text", "path")

    def __init__(self, chunks: Iterable[Chunk] = (), path: str = "<string>") -> None:
        self.path = path
        self._chunk_list: list[Chunk] | None = list(chunks)
        self._text: str | None = None
        self._model: _Model | None = None
        self._nl = "\n"
        for chunk in self._chunk_list:
            if chunk.text.endswith("\n"):
                self._nl = "\r\n" if chunk.text.endswith("\r\n") else "\n"
                break

    @classmethod
    def parse(cls, text: str, path: str = "<string>") -> Document:
        """Read *text* as libuci does; raise :class:`UciParseError` (with libuci's reason,
        the path, line and byte) where libuci refuses it."""
        doc = cls.__new__(cls)
        doc.path = path
        doc._text = text
        doc._chunk_list = None
        doc._model = _from_builder(read(text, path), False)
        newline = text.find("\n")
        doc._nl = "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"
        return doc

    @property
    def _chunks(self) -> list[Chunk]:
        """The statement chunks, made from the parsed text when first needed."""
        chunks = self._chunk_list
        if chunks is None:
            assert self._text is not None
            chunks = self._chunk_list = split_chunks(self._text, self.path)
            self._text = None
        return chunks

    @_chunks.setter
    def _chunks(self, chunks: list[Chunk]) -> None:
        self._chunk_list = chunks
        self._text = None

    def serialize(self) -> str:
        """The document's text (the parsed input, byte for byte, if unchanged)."""
        if self._chunk_list is None:
            assert self._text is not None
            return self._text
        return "".join(chunk.text for chunk in self._chunk_list)

    def copy(self) -> Document:
        """An independent copy (an unedited document shares its read view, which edits
        never change: the first edit builds the copy's own)."""
        other = Document((), self.path)
        if self._chunk_list is None:
            other._chunk_list = None
            other._text = self._text
            other._model = self._model
        else:
            other._chunk_list = list(self._chunk_list)
        other._nl = self._nl
        return other

    def __repr__(self) -> str:
        return f"<Document {self.path} sections={len(self._state().sections)}>"

    # -- read view ---------------------------------------------------------------

    def _state(self) -> _Model:
        model = self._model
        if model is None:
            if self._chunk_list is None:
                assert self._text is not None
                model = _from_builder(read(self._text, self.path), False)
            else:
                model = _build(self._chunk_list, self.path)
            self._model = model
        return model

    def _edit_state(self) -> _Model:
        """The read view with each named section's statements (makes the chunks)."""
        model = self._model
        if model is None or model.owned is None:
            model = self._model = _build(self._chunks, self.path)
        return model

    def _owned(self) -> dict[str, Owned]:
        owned = self._edit_state().owned
        assert owned is not None
        return owned

    @property
    def package(self) -> str | None:
        """Name given by the last ``package`` statement, if any (libuci reads a config
        by its file name and only checks this name)."""
        return self._state().package

    def sections(self) -> list[Section]:
        """All sections in file order (named sections merged as libuci does)."""
        return [sec.snapshot() for sec in self._state().sections]

    def section(self, ref: str) -> Section | None:
        """Section by name, or by ``@type[index]`` (index over sections of that type,
        negative counts from the end), or None."""
        model = self._state()
        m = _REF_RE.fullmatch(ref)
        if m is None:
            sec = model.by_name.get(ref)
            return sec.snapshot() if sec is not None else None
        of_type = [sec for sec in model.sections if sec.type == m.group(1)]
        index = int(m.group(2))
        if -len(of_type) <= index < len(of_type):
            return of_type[index].snapshot()
        return None

    def sections_of_type(self, type: str) -> list[Section]:
        """Sections of the given type, in file order."""
        return [sec.snapshot() for sec in self._state().sections if sec.type == type]

    # -- edits -------------------------------------------------------------------

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply changes in order; on error the document is left unchanged.

        Runs of section deletions, a new section followed by its options, and runs of
        option edits on existing sections are done in one step each, so that applying
        thousands of changes stays linear.
        """
        pending = list(changes)
        if not pending:
            return
        saved = list(self._chunks)
        try:
            i = 0
            while i < len(pending):
                i = self._apply_from(pending, i)
        except BaseException:
            self._chunks = saved
            self._model = None
            raise

    def _apply_from(self, changes: list[Change], i: int) -> int:
        """Apply changes[i] (and the run it starts, if any); return the next index."""
        change = changes[i]
        if isinstance(change, DeleteSection):
            j = i
            while j < len(changes) and isinstance(changes[j], DeleteSection):
                j += 1
            self._delete_sections([c.name for c in changes[i:j]])  # type: ignore[union-attr]
            return j
        if isinstance(change, SetSection) and self._owned().get(change.name) is None:
            j = i + 1
            options: list[tuple[str, OptionValue]] = []
            while j < len(changes):
                nxt = changes[j]
                if isinstance(nxt, SetOption) and nxt.section == change.name:
                    options.append((nxt.option, nxt.value))
                elif isinstance(nxt, SetList) and nxt.section == change.name:
                    options.append((nxt.option, list(nxt.values)))
                else:
                    break
                j += 1
            self.add_section(change.name, change.type, options)
            return j
        if isinstance(change, _OPTION_CHANGES):
            j = self._apply_option_run(changes, i)
            if j > i:
                return j
        self._apply_one(change)
        return i + 1

    def _apply_one(self, change: Change) -> None:
        match change:
            case SetSection(name, type_):
                self.set_section(name, type_)
            case SetOption(section, option, value):
                self.set_option(section, option, value)
            case SetList(section, option, values):
                self.set_list(section, option, values)
            case DeleteOption(section, option):
                self.delete_option(section, option)
            case AddListItem(section, option, value):
                self.add_list_item(section, option, value)
            case DeleteListItem(section, option, value):
                self.delete_list_item(section, option, value)
            case _:
                raise TypeError(f"not a UCI change: {change!r}")

    def _section_span(self, name: str) -> tuple[int, int] | None:
        """The chunks (first, last) that hold section *name* and nothing of another
        section: one config statement and its members; None for any other layout."""
        owned = self._owned().get(name)
        if owned is None or len(owned.configs) != 1:
            return None
        first, last = owned.configs[0][0], owned.last()[0]
        chunks = self._chunks
        count = sum(len(chunks[ci].statements) for ci in range(first, last + 1))
        return (first, last) if count == 1 + len(owned.members) else None

    def _apply_option_run(self, changes: list[Change], i: int) -> int:
        """Apply the run of option edits from changes[i] whose sections each have lines
        of their own (see _section_span); return the index after the run (i: none done).

        Each section's edits run in order on a document of just its lines, which is what
        they do in the whole document: an option edit only touches its section's
        statements and inserts right after its last one. The sections' lines do not
        overlap, so the edits of different sections commute, and the read view is
        rebuilt once instead of after every insert or delete.
        """
        spans: dict[str, tuple[int, int]] = {}
        edits: dict[str, list[Change]] = {}
        j = i
        while j < len(changes):
            change = changes[j]
            if not isinstance(change, _OPTION_CHANGES):
                break
            name = change.section
            if name not in spans:
                span = self._section_span(name)
                if span is None:
                    break
                spans[name] = span
            edits.setdefault(name, []).append(change)
            j += 1
        if j - i < 2:
            return i
        chunks = self._chunks
        out: list[Chunk] = []
        done = 0
        for name, (first, last) in sorted(spans.items(), key=lambda item: item[1]):
            part = Document(chunks[first : last + 1], self.path)
            part._nl = self._nl
            for change in edits[name]:
                part._apply_one(change)
            out += chunks[done:first]
            out += part._chunks
            done = last + 1
        out += chunks[done:]
        self._chunks = out
        self._model = None
        return j

    def add_section(
        self, name: str, type: str, options: Iterable[tuple[str, OptionValue]] = ()
    ) -> None:
        """Append a new named section with its options in one edit (export style).

        Equivalent to set_section followed by set_option/set_list for each option, but
        the read view is extended in place instead of being rebuilt.
        """
        check_name(name, "section name")
        check_type(type)
        if self._owned().get(name) is not None:
            raise ValueError(f"section '{name}' exists already")
        lines = [f"config {format_type(type)} {quote(name)}"]
        opts: dict[str, OptionValue] = {}
        for option, value in options:
            check_name(option, "option name")
            if isinstance(value, str):
                lines.append(f"\toption {option} {quote(check_value(value))}")
                opts[option] = value
            else:
                items = [check_value(v) for v in value]
                lines += [f"\tlist {option} {quote(v)}" for v in items]
                if items:
                    opts[option] = items
        chunks = self._chunks
        last = len(chunks) - 1
        while last >= 0 and chunks[last].is_blank:
            last -= 1
        if last >= 0 and not chunks[last].text.endswith("\n"):
            # an unterminated last line needs the general path (it may be rewritten)
            self.set_section(name, type)
            for option, value in options:
                if isinstance(value, str):
                    self.set_option(name, option, value)
                else:
                    self.set_list(name, option, value)
            return
        text = (self._nl if last >= 0 else "") + self._nl.join(lines) + self._nl
        new = split_chunks(text, self.path, in_section=True)
        at = last + 1
        model = self._model
        if model is None or model.owned is None:
            chunks[at:at] = new
            self._model = None
            return
        # Existing statements all sit at or before `last`: their refs stay valid.
        base = model.newlines - sum(chunk.text.count("\n") for chunk in chunks[at:]) + 1
        chunks[at:at] = new
        builder = Builder(track=True)
        line = base
        for k, chunk in enumerate(new):
            for si, stmt in enumerate(chunk.statements):
                builder.statement(stmt.keyword, stmt.args, line, (at + k, si))
            line += chunk.text.count("\n")
        model.newlines += text.count("\n")
        model.sections += builder.sections
        model.by_name.update(builder.by_name)
        model.owned.update(builder.owned)

    def _delete_sections(self, names: list[str]) -> None:
        """delete_section for many sections with one rebuild of the read view."""
        for name in names:
            check_name(name, "section name")
        owned_all = self._owned()
        refs: list[Ref] = []
        configs: set[Ref] = set()
        for name in dict.fromkeys(names):
            owned = owned_all.get(name)
            if owned is not None:
                refs += owned.configs + owned.members
                configs.update(owned.configs)
        for ref in sorted(refs, reverse=True):
            chunk_gone = self._remove(ref)
            ci = ref[0]
            if ref in configs and chunk_gone and ci > 0 and self._chunks[ci - 1].is_blank:
                del self._chunks[ci - 1]
        self._model = None

    def set_section(self, name: str, type: str) -> None:
        """Create named section *name* at the end, or change its type if it differs."""
        check_name(name, "section name")
        check_type(type)
        text = f"config {format_type(type)} {quote(name)}"
        owned = self._owned().get(name)
        if owned is None:
            self._append_section(text)
            return
        for ci, si in owned.configs:
            if self._chunks[ci].statements[si].args[0] != type:
                self._replace((ci, si), [text], indent="")
        self._model = None

    def set_option(self, name: str, option: str, value: str) -> None:
        """Set a plain option, rewriting it in place or adding it after the section."""
        check_name(option, "option name")
        check_value(value)
        sec = self._require(name)
        current = sec.options.get(option)
        if current == value:
            return
        text = f"option {option} {quote(value)}"
        refs = self._option_refs(self._owned()[name], option)
        if len(refs) == 1 and self._replace_in_place(refs[0], text):
            if current is None:  # an empty value was there: libuci's order may differ
                self._model = None
            else:
                sec.options[option] = value  # the read view stays valid: same statements
            return
        self._write_option(name, option, [text])

    def set_list(self, name: str, option: str, values: Iterable[str]) -> None:
        """Set a list option (an empty list deletes the option)."""
        check_name(option, "option name")
        if isinstance(values, str):
            raise TypeError("set_list needs a sequence of values, not a str")
        items = [check_value(v) for v in values]
        current = self._require(name).options.get(option)
        if not items:
            self.delete_option(name, option)
        elif current != items:
            self._write_option(name, option, [f"list {option} {quote(v)}" for v in items])

    def add_list_item(self, name: str, option: str, value: str) -> None:
        """Append one list item after the option's last statement (uci add_list); the
        other statements keep their text."""
        check_name(option, "option name")
        check_value(value)
        self._require(name)
        owned = self._owned()[name]
        refs = self._option_refs(owned, option)
        self._insert_after(refs[-1] if refs else owned.last(), [f"list {option} {quote(value)}"])
        self._model = None

    def delete_list_item(self, name: str, option: str, value: str) -> None:
        """Remove the statements of *option* whose value is *value* (uci del_list)."""
        check_name(name, "section name")
        check_name(option, "option name")
        owned = self._owned().get(name)
        if owned is None:
            return
        for ci, si in reversed(self._option_refs(owned, option)):
            if self._chunks[ci].statements[si].args[1] == value:
                self._remove((ci, si))
        self._model = None

    def delete_option(self, name: str, option: str) -> None:
        """Remove every statement of *option* in section *name* (no-op if absent)."""
        check_name(name, "section name")
        check_name(option, "option name")
        owned = self._owned().get(name)
        if owned is None:
            return
        for ref in reversed(self._option_refs(owned, option)):
            self._remove(ref)
        self._model = None

    def delete_section(self, name: str) -> None:
        """Remove section *name*: its statements and the blank line just before each of
        its config statements (so an appended section deletes without trace)."""
        self._delete_sections([name])

    # -- edit helpers ------------------------------------------------------------

    def _require(self, name: str) -> Sec:
        check_name(name, "section name")
        sec = self._edit_state().by_name.get(name)
        if sec is None:
            raise SectionNotFoundError(name)
        return sec

    def _option_refs(self, owned: Owned, option: str) -> list[Ref]:
        chunks = self._chunks
        return [(ci, si) for ci, si in owned.members if chunks[ci].statements[si].args[0] == option]

    def _write_option(self, name: str, option: str, texts: list[str]) -> None:
        owned = self._owned()[name]
        refs = self._option_refs(owned, option)
        if refs:
            for ref in reversed(refs[1:]):
                self._remove(ref)
            self._replace(refs[0], texts, indent="\t")
        else:
            self._insert_after(owned.last(), texts)
        self._model = None

    def _set_chunk(self, ci: int, text: str, expect: Expected) -> None:
        """Replace chunk *ci* by the chunk(s) lexed from *text*.

        If libuci would not read them as the statements *expect* (the old line hid text
        behind one of its quirks, e.g. a bare word glued to ``;``), the statements are
        written in export style instead, one a line.
        """
        try:
            new: list[Chunk] | None = split_chunks(text, self.path, in_section=True)
        except UciParseError:
            new = None
        if new is None or _args_of(new) != expect:
            lines = "".join(self._export_line(kw, args) for kw, args in expect)
            new = split_chunks(lines, self.path, in_section=True)
        self._chunks[ci : ci + 1] = new

    def _export_line(self, keyword: str, args: tuple[str, ...]) -> str:
        indent = "\t" if keyword in ("option", "list") else ""
        return indent + _export(keyword, args) + self._nl

    def _replace(self, ref: Ref, texts: list[str], indent: str) -> None:
        """Replace one statement by *texts* (export style when it starts its line)."""
        ci, si = ref
        chunk = self._chunks[ci]
        stmt = chunk.statements[si]
        if si == 0:
            body = self._nl.join(indent + t for t in texts)
            new = body + chunk.text[stmt.end :]
        else:
            new = chunk.text[: stmt.start] + "; ".join(texts) + chunk.text[stmt.end :]
        old = _args(chunk)
        self._set_chunk(ci, new, old[:si] + _expected(texts) + old[si + 1 :])

    def _replace_in_place(self, ref: Ref, text: str) -> bool:
        """Replace a statement that is alone on its line when the result is still exactly
        one statement on as many lines; return False (nothing changed) otherwise."""
        ci, si = ref
        chunk = self._chunks[ci]
        if si != 0 or len(chunk.statements) != 1:
            return False
        try:
            new = split_chunks(
                "\t" + text + chunk.text[chunk.statements[0].end :], self.path, in_section=True
            )
        except UciParseError:
            return False
        if len(new) != 1 or _args(new[0]) != _expected([text]):
            return False
        if new[0].text.count("\n") != chunk.text.count("\n"):
            return False  # a multi-line value: the lines after it move (general path)
        self._chunks[ci] = new[0]
        return True

    def _remove(self, ref: Ref) -> bool:
        """Remove one statement; return True if its whole chunk went away."""
        ci, si = ref
        chunk = self._chunks[ci]
        stmts = chunk.statements
        if len(stmts) == 1:
            del self._chunks[ci]
            return True
        stmt = stmts[si]
        if si + 1 < len(stmts):
            start, end = stmt.start, stmts[si + 1].start
        else:
            start, end = stmts[si - 1].end, stmt.end
        old = _args(chunk)
        self._set_chunk(ci, chunk.text[:start] + chunk.text[end:], old[:si] + old[si + 1 :])
        return False

    def _insert_after(self, ref: Ref, texts: list[str]) -> None:
        """Insert option/list statements right after statement *ref*."""
        ci, si = ref
        chunk = self._chunks[ci]
        if si == len(chunk.statements) - 1:
            self._end_line(ci)
            new = "".join(f"\t{t}{self._nl}" for t in texts)
            self._chunks[ci + 1 : ci + 1] = split_chunks(new, self.path, in_section=True)
        else:
            stmt = chunk.statements[si]
            joined = "".join(f"; {t}" for t in texts)
            old = _args(chunk)
            expect = old[: si + 1] + _expected(texts) + old[si + 1 :]
            self._set_chunk(ci, chunk.text[: stmt.end] + joined + chunk.text[stmt.end :], expect)

    def _end_line(self, ci: int) -> None:
        """Make sure chunk *ci* (possibly the unterminated last line) ends with a newline."""
        chunk = self._chunks[ci]
        if chunk.text.endswith("\n"):
            return
        text = chunk.text + self._nl
        # Probe with a comment line: the newline must end the line, not continue it.
        try:
            probe = split_chunks(text + "#", self.path, in_section=True)
        except UciParseError:  # e.g. `option a 'b';` reads only without a newline
            probe = []
        if len(probe) == 2 and _args(probe[0]) == _args(chunk):
            self._chunks[ci] = probe[0]
            return
        # A trailing backslash would turn the newline into a continuation: rewrite.
        lines = "".join(self._export_line(s.keyword, s.args) for s in chunk.statements)
        self._chunks[ci : ci + 1] = split_chunks(lines, self.path, in_section=True)

    def _append_section(self, config_text: str) -> None:
        """Append a config statement after the last non-blank line, after one blank line."""
        chunks = self._chunks
        last = len(chunks) - 1
        while last >= 0 and chunks[last].is_blank:
            last -= 1
        if last >= 0:
            self._end_line(last)
            new = self._nl + config_text + self._nl
        else:
            new = config_text + self._nl
        chunks[last + 1 : last + 1] = split_chunks(new, self.path, in_section=True)
        self._model = None


def _args(chunk: Chunk) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.keyword, s.args) for s in chunk.statements]


def _export(keyword: str, args: tuple[str, ...]) -> str:
    """A statement in export style (without indentation)."""
    if keyword == "config":
        type_, name = args
        return f"config {format_type(type_)}" + (f" {quote(name)}" if name else "")
    if keyword == "package":
        return f"package {args[0]}"
    return f"{keyword} {args[0]} {quote(args[1])}"
