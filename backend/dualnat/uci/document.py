"""Lossless UCI document: a read view of its sections and format-preserving edits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
from .lexer import Chunk, Statement, split_chunks
from .names import check_name, check_type, check_value, format_type, quote

OptionValue = str | list[str]
_REF_RE = re.compile(r"@([!-~]+?)\[(-?\d+)\]")


@dataclass(frozen=True)
class Section:
    """One section as libuci sees it: ``name`` is None for anonymous sections.

    ``options`` keeps file order; a list option is a ``list[str]``.  Instances are
    snapshots: changing them does not change the document.
    """

    type: str
    name: str | None
    options: dict[str, OptionValue] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        """True if the section has no name."""
        return self.name is None

    def get(self, option: str, default: str | None = None) -> str | None:
        """Value of *option*; a list option is returned joined by single spaces."""
        value = self.options.get(option)
        if value is None:
            return default
        return " ".join(value) if isinstance(value, list) else value

    def get_list(self, option: str) -> list[str]:
        """Items of *option*; a plain value is split on whitespace (like OpenWrt scripts)."""
        value = self.options.get(option)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else value.split()


Ref = tuple[int, int]  # (chunk index, statement index)
_OPTION_CHANGES = (SetOption, SetList, DeleteOption, AddListItem, DeleteListItem)


@dataclass
class _Owned:
    """Statements that make up one named section."""

    configs: list[Ref] = field(default_factory=list)
    members: list[Ref] = field(default_factory=list)

    def last(self) -> Ref:
        return max(self.configs[-1], self.members[-1]) if self.members else self.configs[-1]


@dataclass
class _Model:
    package: str | None
    sections: list[Section]
    by_name: dict[str, Section]
    owned: dict[str, _Owned]


def _build(chunks: Sequence[Chunk], path: str) -> _Model:
    """Apply libuci's semantics to the statements; record which belong to which section."""
    package = None
    sections: list[Section] = []
    by_name: dict[str, Section] = {}
    owned: dict[str, _Owned] = {}
    types: dict[str, str] = {}
    current: Section | None = None
    current_name: str | None = None
    for ci, chunk in enumerate(chunks):
        for si, stmt in enumerate(chunk.statements):
            keyword, args = stmt.keyword, stmt.args
            if keyword == "option" or keyword == "list":
                if current is None:
                    raise UciParseError(
                        "option/list command found before the first section", path, stmt.line
                    )
                if current_name is not None:
                    owned[current_name].members.append((ci, si))
                opts = current.options
                name, value = args
                if keyword == "option":
                    opts[name] = value
                else:
                    old = opts.get(name)
                    if old is None:
                        opts[name] = [value]
                    elif isinstance(old, str):
                        opts[name] = [old, value]
                    else:
                        old.append(value)
            elif keyword == "config":
                type_ = args[0]
                name = args[1] or None
                current_name = name
                if name is None:
                    current = Section(type_, None, {})
                    sections.append(current)
                    continue
                if name in by_name:
                    types[name] = type_
                    current = by_name[name]
                else:
                    current = Section(type_, name, {})
                    types[name] = type_
                    sections.append(current)
                    by_name[name] = current
                    owned[name] = _Owned()
                owned[name].configs.append((ci, si))
            else:  # package
                package = args[0]
                current = None
                current_name = None
    if types:  # a repeated config statement may have changed the type
        for i, sec in enumerate(sections):
            if sec.name is not None and types[sec.name] != sec.type:
                sections[i] = by_name[sec.name] = Section(types[sec.name], sec.name, sec.options)
    return _Model(package, sections, by_name, owned)


def _copy(sec: Section) -> Section:
    opts = {k: list(v) if isinstance(v, list) else v for k, v in sec.options.items()}
    return Section(sec.type, sec.name, opts)


class Document:
    """A parsed UCI file that serializes back byte for byte and edits in place.

    Edits touch only the statements they concern; every other line keeps its exact
    text.  New or rewritten statements use libuci's export style.
    """

    __slots__ = ("_chunks", "_model", "_nl", "path")

    def __init__(self, chunks: Iterable[Chunk] = (), path: str = "<string>") -> None:
        self.path = path
        self._chunks = list(chunks)
        self._model: _Model | None = None
        self._nl = "\n"
        for chunk in self._chunks:
            if chunk.text.endswith("\n"):
                self._nl = "\r\n" if chunk.text.endswith("\r\n") else "\n"
                break

    @classmethod
    def parse(cls, text: str, path: str = "<string>") -> Document:
        """Parse *text*; raise :class:`UciParseError` (with path and line) if malformed."""
        doc = cls(split_chunks(text, path), path)
        doc._state()
        return doc

    def serialize(self) -> str:
        """The document's text (the parsed input, byte for byte, if unchanged)."""
        return "".join(chunk.text for chunk in self._chunks)

    def copy(self) -> Document:
        """An independent copy."""
        other = Document(self._chunks, self.path)
        other._nl = self._nl
        return other

    def __repr__(self) -> str:
        return f"<Document {self.path} sections={len(self._state().sections)}>"

    # -- read view ---------------------------------------------------------------

    def _state(self) -> _Model:
        if self._model is None:
            self._model = _build(self._chunks, self.path)
        return self._model

    @property
    def package(self) -> str | None:
        """Name given by a ``package`` statement, if any."""
        return self._state().package

    def sections(self) -> list[Section]:
        """All sections in file order (named sections merged as libuci does)."""
        return [_copy(sec) for sec in self._state().sections]

    def section(self, ref: str) -> Section | None:
        """Section by name, or by ``@type[index]`` (index over sections of that type,
        negative counts from the end), or None."""
        model = self._state()
        m = _REF_RE.fullmatch(ref)
        if m is None:
            sec = model.by_name.get(ref)
            return _copy(sec) if sec is not None else None
        of_type = [sec for sec in model.sections if sec.type == m.group(1)]
        index = int(m.group(2))
        if -len(of_type) <= index < len(of_type):
            return _copy(of_type[index])
        return None

    def sections_of_type(self, type: str) -> list[Section]:
        """Sections of the given type, in file order."""
        return [_copy(sec) for sec in self._state().sections if sec.type == type]

    # -- edits -------------------------------------------------------------------

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply changes in order; on error the document is left unchanged.

        Runs of section deletions, a new section followed by its options, and runs of
        option edits on existing sections are done in one step each, so that applying
        thousands of changes stays linear.
        """
        saved = list(self._chunks)
        try:
            pending = list(changes)
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
        if isinstance(change, SetSection) and self._state().owned.get(change.name) is None:
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
        owned = self._state().owned.get(name)
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
        if self._state().owned.get(name) is not None:
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
        new = split_chunks(text, self.path)
        at = last + 1
        chunks[at:at] = new
        model = self._state_if_built()
        if model is None:
            return
        # Existing statements all sit at or before `last`: their refs stay valid.
        owned = _Owned()
        for k, chunk in enumerate(new):
            for si, stmt in enumerate(chunk.statements):
                (owned.configs if stmt.keyword == "config" else owned.members).append((at + k, si))
        sec = Section(type, name, opts)
        model.sections.append(sec)
        model.by_name[name] = sec
        model.owned[name] = owned

    def _state_if_built(self) -> _Model | None:
        return self._model

    def _delete_sections(self, names: list[str]) -> None:
        """delete_section for many sections with one rebuild of the read view."""
        for name in names:
            check_name(name, "section name")
        owned_all = self._state().owned
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
        owned = self._state().owned.get(name)
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
        refs = self._option_refs(self._state().owned[name], option)
        if len(refs) == 1 and self._replace_in_place(refs[0], text):
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
        owned = self._state().owned[name]
        refs = self._option_refs(owned, option)
        self._insert_after(refs[-1] if refs else owned.last(), [f"list {option} {quote(value)}"])
        self._model = None

    def delete_list_item(self, name: str, option: str, value: str) -> None:
        """Remove the statements of *option* whose value is *value* (uci del_list)."""
        check_name(name, "section name")
        check_name(option, "option name")
        owned = self._state().owned.get(name)
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
        owned = self._state().owned.get(name)
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

    def _require(self, name: str) -> Section:
        check_name(name, "section name")
        sec = self._state().by_name.get(name)
        if sec is None:
            raise SectionNotFoundError(name)
        return sec

    def _option_refs(self, owned: _Owned, option: str) -> list[Ref]:
        chunks = self._chunks
        return [(ci, si) for ci, si in owned.members if chunks[ci].statements[si].args[0] == option]

    def _write_option(self, name: str, option: str, texts: list[str]) -> None:
        owned = self._state().owned[name]
        refs = self._option_refs(owned, option)
        if refs:
            for ref in reversed(refs[1:]):
                self._remove(ref)
            self._replace(refs[0], texts, indent="\t")
        else:
            self._insert_after(owned.last(), texts)
        self._model = None

    def _set_chunk(self, ci: int, text: str) -> None:
        """Replace chunk *ci* by the chunk(s) lexed from *text*."""
        self._chunks[ci : ci + 1] = split_chunks(text, self.path)

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
        self._set_chunk(ci, new)

    def _replace_in_place(self, ref: Ref, text: str) -> bool:
        """Replace a statement that is alone on its line when the result is still exactly
        one statement on one line; return False (nothing changed) otherwise."""
        ci, si = ref
        chunk = self._chunks[ci]
        if si != 0 or len(chunk.statements) != 1:
            return False
        new = split_chunks("\t" + text + chunk.text[chunk.statements[0].end :], self.path)
        if len(new) != 1 or len(new[0].statements) != 1:
            return False
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
        self._set_chunk(ci, chunk.text[:start] + chunk.text[end:])
        return False

    def _insert_after(self, ref: Ref, texts: list[str]) -> None:
        """Insert option/list statements right after statement *ref*."""
        ci, si = ref
        chunk = self._chunks[ci]
        if si == len(chunk.statements) - 1:
            self._end_line(ci)
            new = "".join(f"\t{t}{self._nl}" for t in texts)
            self._chunks[ci + 1 : ci + 1] = split_chunks(new, self.path)
        else:
            stmt = chunk.statements[si]
            joined = "".join(f"; {t}" for t in texts)
            self._set_chunk(ci, chunk.text[: stmt.end] + joined + chunk.text[stmt.end :])

    def _end_line(self, ci: int) -> None:
        """Make sure chunk *ci* (possibly the unterminated last line) ends with a newline."""
        chunk = self._chunks[ci]
        if chunk.text.endswith("\n"):
            return
        text = chunk.text + self._nl
        # Probe with a comment line: the newline must end the line, not continue it.
        probe = split_chunks(text + "#", self.path)
        if len(probe) == 2 and _args(probe[0]) == _args(chunk):
            self._chunks[ci] = probe[0]
            return
        # A trailing backslash would turn the newline into a continuation: rewrite.
        parts = [_export(stmt) for stmt in chunk.statements]
        text = ("\t" if parts and parts[0][0] != "c" else "") + "; ".join(parts) + self._nl
        self._chunks[ci : ci + 1] = split_chunks(text, self.path)

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
        chunks[last + 1 : last + 1] = split_chunks(new, self.path)
        self._model = None


def _args(chunk: Chunk) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.keyword, s.args) for s in chunk.statements]


def _export(stmt: Statement) -> str:
    """A statement in export style (without indentation)."""
    if stmt.keyword == "config":
        type_, name = stmt.args
        return f"config {format_type(type_)}" + (f" {quote(name)}" if name else "")
    if stmt.keyword == "package":
        return f"package {stmt.args[0]}"
    return f"{stmt.keyword} {stmt.args[0]} {quote(stmt.args[1])}"
