"""What a UCI file means, as libuci builds it from the statements (list.c semantics).

:class:`Builder` takes statements in file order and keeps libuci's rules:

* a named section stated again is continued (its options merge); stated again with
  another type it is refused ("section of different type overwrites prior section with
  same name");
* ``option x ''`` (or ``option x``) sets nothing: an empty value neither adds nor
  removes the option;
* ``option`` with a new value replaces the option and moves it to the end of the
  section (libuci frees it and appends a new one); the same value changes nothing;
* ``list`` appends an item (an empty one too); after a plain option it turns that
  option into a list of the old value and the new item, moved to the end;
* ``package`` names the file's package and changes nothing else.

Each section also records the lines that make it: ``lines`` (every ``config``
statement that opened or re-opened it) and ``option_lines`` (per option, the line of
the first statement that contributes to its final value).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import OPTION_BEFORE_SECTION, SECTION_TYPE_CHANGED

OptionValue = str | list[str]
Ref = tuple[int, int]  # (chunk index, statement index)


@dataclass(frozen=True)
class Section:
    """One section as libuci sees it: ``name`` is None for anonymous sections.

    ``options`` keeps libuci's order; a list option is a ``list[str]``.  ``lines`` are
    the 1-based lines of the ``config`` statements that opened or re-opened it (two or
    more: libuci merged a repeated named section); ``option_lines`` gives, per option,
    the line of the first statement that contributes to its final value.  The line
    fields do not take part in equality.  Instances are snapshots: changing them does
    not change the document.
    """

    type: str
    name: str | None
    options: dict[str, OptionValue] = field(default_factory=dict)
    lines: tuple[int, ...] = field(default=(), compare=False)
    option_lines: dict[str, int] = field(default_factory=dict, compare=False)

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


class Sec:
    """A section while (and after) it is built; the document's own, mutable copy."""

    __slots__ = ("lines", "name", "option_lines", "options", "type")

    def __init__(self, type_: str, name: str | None, line: int) -> None:
        self.type = type_
        self.name = name
        self.options: dict[str, OptionValue] = {}
        self.lines = [line]
        self.option_lines: dict[str, int] = {}

    def snapshot(self) -> Section:
        """An independent :class:`Section`."""
        opts = dict(self.options)
        if list in map(type, opts.values()):
            opts = {k: list(v) if type(v) is list else v for k, v in opts.items()}
        sec = object.__new__(Section)
        sec.__dict__.update(  # what Section() does, without its slower frozen __setattr__
            type=self.type,
            name=self.name,
            options=opts,
            lines=tuple(self.lines),
            option_lines=dict(self.option_lines),
        )
        return sec


@dataclass
class Owned:
    """Statements that make up one named section (for edits)."""

    configs: list[Ref] = field(default_factory=list)
    members: list[Ref] = field(default_factory=list)

    def last(self) -> Ref:
        return max(self.configs[-1], self.members[-1]) if self.members else self.configs[-1]


class Refused(Exception):
    """libuci refuses a statement for what came before it (the caller adds where)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Builder:
    """libuci's in-memory package, fed one statement at a time.

    A refused statement raises :class:`Refused` before anything changes.  With
    ``track=True`` the statements of each named section are recorded (``owned``).
    """

    __slots__ = ("by_name", "current", "current_owned", "owned", "package", "sections", "track")

    def __init__(self, track: bool = False) -> None:
        self.package: str | None = None
        self.sections: list[Sec] = []
        self.by_name: dict[str, Sec] = {}
        self.current: Sec | None = None
        self.track = track
        self.owned: dict[str, Owned] = {}
        self.current_owned: Owned | None = None

    def config(self, type_: str, name: str, line: int, ref: Ref | None = None) -> None:
        if not name:
            sec = Sec(type_, None, line)
            self.sections.append(sec)
            self.current = sec
            self.current_owned = None
            return
        sec = self.by_name.get(name)
        if sec is None:
            sec = Sec(type_, name, line)
            self.sections.append(sec)
            self.by_name[name] = sec
        elif sec.type != type_:
            raise Refused(SECTION_TYPE_CHANGED)
        else:
            sec.lines.append(line)
        self.current = sec
        if self.track:
            owned = self.owned.get(name)
            if owned is None:
                owned = self.owned[name] = Owned()
            owned.configs.append(ref)  # type: ignore[arg-type]
            self.current_owned = owned

    def option(self, name: str, value: str, line: int, ref: Ref | None = None) -> None:
        sec = self.current
        if sec is None:
            raise Refused(OPTION_BEFORE_SECTION)
        if self.current_owned is not None:
            self.current_owned.members.append(ref)  # type: ignore[arg-type]
        if not value:
            return
        opts = sec.options
        old = opts.get(name)
        if old is None:
            opts[name] = value
            sec.option_lines[name] = line
        elif old != value:
            del opts[name]
            opts[name] = value
            sec.option_lines[name] = line

    def add_list(self, name: str, value: str, line: int, ref: Ref | None = None) -> None:
        sec = self.current
        if sec is None:
            raise Refused(OPTION_BEFORE_SECTION)
        if self.current_owned is not None:
            self.current_owned.members.append(ref)  # type: ignore[arg-type]
        opts = sec.options
        old = opts.get(name)
        if old is None:
            opts[name] = [value]
            sec.option_lines[name] = line
        elif type(old) is list:
            old.append(value)
        else:
            del opts[name]
            opts[name] = [old, value]  # type: ignore[list-item]

    def set_package(self, name: str) -> None:
        self.package = name

    def statement(
        self, keyword: str, args: tuple[str, ...], line: int, ref: Ref | None = None
    ) -> None:
        """Apply one statement given by its canonical keyword and arguments."""
        if keyword == "option":
            self.option(args[0], args[1], line, ref)
        elif keyword == "list":
            self.add_list(args[0], args[1], line, ref)
        elif keyword == "config":
            self.config(args[0], args[1], line, ref)
        else:
            self.set_package(args[0])
