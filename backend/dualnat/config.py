"""Read /etc/config/dualnat (a UCI document) into the typed model, collecting every problem.

The reader is strict: every section type and option must be in the option table
(options.py), a named section may appear once, an option is a single value or a list as
the table says, values must be UTF-8, and a file without a `config dualnat` section is
"not configured". Each problem names the file, the line, the section and the option, with
the nearest known name as a suggestion for a typo. The CLI, the HTTP API, ubus and LuCI's
checks all read through here, so they report the same errors.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .errors import ConfigInvalid, Problem, ProblemPart, invalid_parts, says
from .memo import Memo
from .model import NAME_RE, Config, Forward, PortRange, Settings
from .options import (
    FORWARD_TYPE,
    MAX_ALLOW_SOURCES,
    MAX_DESCRIPTION,
    OPTIONS,
    PUBLIC_ADDRESS_AUTO,
    SETTINGS_TYPE,
    Option,
    parse_bool,
    parse_ipv4,
    parse_public_address,
    parse_source,
    parse_vendor,
)
from .uci import Document, Section

CONFIG_NAME = "dualnat"
KIND = {SETTINGS_TYPE: "settings", FORWARD_TYPE: "forward"}
# what the daemon reads again and again: whole files by their text, forwards by their
# section (the parse of the section must not depend on anything else)
_PARSED: Memo[tuple[Config, tuple[Problem, ...]]] = Memo(4)
_FORWARDS: Memo[Forward] = Memo(2048)

__all__ = [
    "CONFIG_NAME",
    "MAX_ALLOW_SOURCES",
    "MAX_DESCRIPTION",
    "PUBLIC_ADDRESS_AUTO",
    "load_config",
    "locate",
    "parse_bool",
    "parse_config",
    "parse_ipv4",
    "parse_public_address",
    "parse_source",
    "parse_vendor",
]


def _nearest(word: str, known: Iterable[str]) -> str | None:
    """The known name a typo most likely meant, if one is close enough."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(template_id: str, word: str, known: Iterable[str], **params: object) -> ProblemPart:
    """`template_id`, or its `.suggest` form naming the nearest known name."""
    name = _nearest(word, known)
    if name is None:
        return says(template_id, **params)
    return says(f"{template_id}.suggest", name=name, **params)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _not_utf8(text: str) -> bool:
    """True when the text holds bytes that were not UTF-8 (read with surrogateescape)."""
    return not text.isascii() and _NOT_UTF8.search(text) is not None


class _Section:
    """One section's options, read against the table; problems are recorded, not raised."""

    def __init__(
        self, doc: Document, section: Section, kind: str, name: str, problems: list[Problem]
    ) -> None:
        self.doc = doc
        self.section = section
        self.kind = kind
        self.name = name
        self.problems = problems
        self.table = OPTIONS[section.type]

    def line(self, option: str | None = None) -> int:
        lines = self.section.option_lines
        if option is not None and option in lines:
            return lines[option]
        return self.section.lines[0] if self.section.lines else 0

    def problem(self, option: str, why: ProblemPart | ValueError) -> None:
        """Record a problem of `option`: a sentence, or the reason a parser refused it."""
        parts = invalid_parts(why) if isinstance(why, ValueError) else (why,)
        message = str(why) if isinstance(why, ValueError) else why.render()
        where = (self.doc.path, self.line(option))
        self.problems.append(Problem(self.name, option, message, self.kind, *where, parts))

    def check_shape(self) -> None:
        """Unknown options, list/single mismatches, bytes that are not UTF-8."""
        for option, value in self.section.options.items():
            known = self.table.get(option)
            if known is None:
                self.problem(option, _unknown(f"option.unknown.{self.kind}", option, self.table))
                continue
            if isinstance(value, list) and not known.is_list:
                self.problem(option, says("option.single"))
            elif isinstance(value, str) and known.is_list:
                self.problem(option, says("option.list", option=option))
            if any(_not_utf8(v) for v in value) if isinstance(value, list) else _not_utf8(value):
                self.problem(option, says("option.not_utf8"))

    def raw(self, option: str) -> str | None:
        """The option's text, stripped; None when absent, empty or of the wrong shape."""
        value = self.section.options.get(option)
        if not isinstance(value, str) or _not_utf8(value) or not value.strip():
            return None
        return value.strip()

    def items(self, option: str) -> list[str]:
        value = self.section.options.get(option)
        if not isinstance(value, list):
            return []
        return [v.strip() for v in value if v.strip() and not _not_utf8(v)]

    def value(self, option: str) -> Any:
        """The model value of a single-value option (its default when absent or bad)."""
        opt: Option = self.table[option]
        given = self.section.options.get(option)
        if given is None:
            if opt.required:
                self.problem(option, says("option.required"))
            return opt.default
        text = self.raw(option)
        if text is None:
            if opt.required and isinstance(given, str) and not given.strip():
                self.problem(option, says("option.required"))
            return opt.default
        try:
            return opt.parse(text)
        except ValueError as exc:
            self.problem(option, exc)
            return opt.default


def _settings(doc: Document, section: Section, problems: list[Problem]) -> Settings:
    r = _Section(doc, section, "settings", section.name or "main", problems)
    r.check_shape()
    values = {name: r.value(name) for name in r.table}
    return Settings(**values)


def _options_key(options: dict[str, str | list[str]]) -> tuple[tuple[str, object], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items())


def _forward(
    doc: Document, section: Section, index: int, problems: list[Problem]
) -> Forward | None:
    """The forward of a section, or None when it has problems (recorded in `problems`).
    A named section read before without problems is not read again (its Forward only
    depends on its name and options)."""
    if section.name is None:
        return _read_forward(doc, section, index, problems)
    key = (section.name, _options_key(section.options))
    fwd = _FORWARDS.find(key)
    if fwd is None:
        before = len(problems)
        fwd = _read_forward(doc, section, index, problems)
        if fwd is not None and len(problems) == before:
            _FORWARDS.keep(key, fwd)
    return fwd


def _read_forward(
    doc: Document, section: Section, index: int, problems: list[Problem]
) -> Forward | None:
    name = section.name or f"@forward[{index}]"
    r = _Section(doc, section, "forward", name, problems)
    before = len(problems)
    if section.name is None or not NAME_RE.match(section.name):
        r.problem("name", says("forward.name"))
    r.check_shape()
    values = {
        option: r.value(option)
        for option, known in r.table.items()
        if not known.is_list and option != "internal_port"
    }
    external: PortRange | None = values.pop("external_port")
    internal_ip = values.pop("internal_ip")
    internal_port = r.value("internal_port") or external
    sources = []
    items = r.items("allow_source")
    if len(items) > MAX_ALLOW_SOURCES:
        r.problem("allow_source", says("list.too_many", n=MAX_ALLOW_SOURCES))
    for text in items[:MAX_ALLOW_SOURCES]:
        try:
            sources.append(parse_source(text))
        except ValueError as exc:
            r.problem("allow_source", exc)
    if len(problems) > before or external is None or internal_ip is None:
        return None
    assert internal_port is not None
    if internal_port.size != external.size:
        r.problem(
            "internal_port",
            says(
                "forward.range_length",
                internal=internal_port,
                internal_size=internal_port.size,
                external=external,
                external_size=external.size,
            ),
        )
        return None
    return Forward(
        name=name,
        external_port=external,
        internal_ip=internal_ip,
        internal_port=internal_port,
        allow_source=tuple(sources),
        **values,
    )


def _at(
    section: str, option: str, part: ProblemPart, kind: str, file: str, line: int = 0
) -> Problem:
    return Problem(section, option, part.render(), kind, file, line, (part,))


def _section_problems(doc: Document, sections: list[Section]) -> list[Problem]:
    """Unknown section types and named sections stated twice (UCI would merge them)."""
    problems: list[Problem] = []
    for index, section in enumerate(sections):
        line = section.lines[0] if section.lines else 0
        label = section.name or f"@{section.type}[{index}]"
        if section.type not in OPTIONS:
            part = _unknown("section.unknown_type", section.type, OPTIONS, type=section.type)
            problems.append(_at(label, "type", part, "section", doc.path, line))
        elif len(section.lines) > 1:
            where = " and ".join(str(n) for n in section.lines)
            part = says("section.twice", name=section.name, lines=where)
            problems.append(_at(label, "name", part, KIND[section.type], doc.path, line))
    return problems


def parse_config(doc: Document, *, require_main: bool = True) -> tuple[Config, list[Problem]]:
    """Build the model from what is valid in a dualnat document, and list every problem.

    Forwards with problems are left out of the returned Config, so that later checks can
    still run on the others and the user sees every problem at once. Without a `config
    dualnat` section the file is "not configured" (a problem), unless `require_main` is
    false (reading what there is to show it, as the API's GETs do). The same text read
    again gives the same (immutable) Config without reading it again.
    """
    key = (doc.serialize(), doc.path, require_main)
    config, problems = _PARSED.get(key, lambda: _read(doc, require_main))
    return config, list(problems)


def _read(doc: Document, require_main: bool) -> tuple[Config, tuple[Problem, ...]]:
    sections = doc.sections()
    problems = _section_problems(doc, sections)
    mains = [s for s in sections if s.type == SETTINGS_TYPE]
    if not mains and require_main:
        part = says("config.not_configured", path=doc.path)
        problems.append(_at("main", "", part, "settings", doc.path))
    elif len(mains) > 1:
        lines = " and ".join(str(s.lines[0]) for s in mains if s.lines)
        line = mains[1].lines[0] if mains[1].lines else 0
        part = says("config.two_mains", lines=lines)
        problems.append(_at("", SETTINGS_TYPE, part, "settings", doc.path, line))
    settings = _settings(doc, mains[0], problems) if mains else Settings()
    forwards: list[Forward] = []
    for index, section in enumerate(s for s in sections if s.type == FORWARD_TYPE):
        fwd = _forward(doc, section, index, problems)
        if fwd is not None:
            forwards.append(fwd)
    return Config(settings=settings, forwards=tuple(forwards), source=doc.path), tuple(problems)


def locate(problems: Iterable[Problem], doc: Document) -> list[Problem]:
    """Give problems found later (by the planner) the file and line of their section and
    option in `doc`, where they have none yet."""
    sections = doc.sections()
    by_name = {s.name: s for s in sections if s.name is not None}
    main = next((s for s in sections if s.type == SETTINGS_TYPE), None)
    out = []
    for p in problems:
        if p.line:
            out.append(p)
            continue
        section = main if p.kind == "settings" else by_name.get(p.section)
        if section is None:
            out.append(p)
            continue
        line = section.option_lines.get(p.field) or (section.lines[0] if section.lines else 0)
        out.append(replace(p, file=doc.path, line=line))
    return out


def load_config(doc: Document, *, require_main: bool = True) -> Config:
    """Build the model from a parsed dualnat document; raise ConfigInvalid listing every
    problem (see parse_config for `require_main`)."""
    config, problems = parse_config(doc, require_main=require_main)
    if problems:
        raise ConfigInvalid(problems)
    return config
