"""Writes to /etc/config/dualnat: option edits through the UCI layer, checked as a whole.

Every write builds its UCI changes, applies them to a copy of the current document, and
plans that would-be configuration (every forward, overlaps included). Only when nothing
is wrong are the changes committed, under the Site's lock so that two writers cannot
each validate against a config the other is about to change. A check runs the same path
and stops before the commit. Refusals are `Refused` (what, and the field errors); the
problems of the would-be config are ConfigInvalid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

from .config import CONFIG_NAME
from .context import make_plan
from .errors import ConfigInvalid, DualnatError, Problem, ProblemPart, says
from .options import FORWARD_TYPE, OPTIONS, SETTINGS_NAME, SETTINGS_TYPE
from .public import Resolver, resolve_ipv4
from .site import Site
from .uci import (
    Change,
    DeleteOption,
    DeleteSection,
    Document,
    Section,
    SetList,
    SetOption,
    SetSection,
    UciBackend,
)


class Why(StrEnum):
    """Why a write was refused before any check of the whole config."""

    CONFLICT = "conflict"  # the file cannot be edited so (an anonymous settings section)
    INVALID = "invalid"  # the request names something it cannot (a taken name)
    NOT_FOUND = "not_found"  # no forward of that name


class Refused(DualnatError):
    """A write that cannot be made: why, and the sentences by field (``name``, ``id``,
    ``forwards.<id>.name``, ``_config``)."""

    def __init__(self, why: Why, errors: dict[str, list[ProblemPart]]) -> None:
        super().__init__(errors)
        self.why = why
        self.errors = errors


# the options a write sets or removes: every option of the section type (options.py)
SETTINGS_OPTIONS = tuple(OPTIONS[SETTINGS_TYPE])
FORWARD_OPTIONS = tuple(OPTIONS[FORWARD_TYPE])


class _Overlay:
    """A UCI backend that reads one config from a document in memory (read-only)."""

    def __init__(self, backend: UciBackend, docs: Mapping[str, Document]) -> None:
        self.config_dir = backend.config_dir
        self._backend = backend
        self._docs = docs

    def read(self, config: str) -> Document:
        """The document itself (planning only reads it: a copy would be read again)."""
        doc = self._docs.get(config)
        return doc if doc is not None else self._backend.read(config)

    def commit(self, config: str, changes: Sequence[Change]) -> None:  # pragma: no cover
        raise RuntimeError("the overlay is read-only")


def _text(value: Any) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def option_changes(
    name: str, values: Mapping[str, Any], options: Sequence[str], current: Section | None
) -> list[Change]:
    """Set every option in `values`; remove the others of `options` (null, "" and [] too).
    What `current` already holds is left as it is (its line keeps its exact text)."""
    changes: list[Change] = []
    now = current.options if current is not None else {}
    for option in options:
        value = values.get(option)
        if value is None or value == "" or value == []:
            if option in now:
                changes.append(DeleteOption(name, option))
        elif isinstance(value, list):
            items = [_text(v) for v in value]
            if now.get(option) != items:
                changes.append(SetList(name, option, items))
        else:
            text = _text(value)
            if now.get(option) != text:
                changes.append(SetOption(name, option, text))
    return changes


def settings_section(doc: Document) -> Section | None:
    """The ``config dualnat`` section; ApiError when it is anonymous (it cannot be edited)."""
    sections = doc.sections_of_type(SETTINGS_TYPE)
    if sections and sections[0].name is None:
        raise Refused(Why.CONFLICT, {"_config": [says("config.anonymous_settings")]})
    return sections[0] if sections else None


def settings_changes(doc: Document, values: Mapping[str, Any]) -> list[Change]:
    current = settings_section(doc)
    if current is None:
        head = SetSection(SETTINGS_NAME, SETTINGS_TYPE)
        return [head, *option_changes(SETTINGS_NAME, values, SETTINGS_OPTIONS, None)]
    assert current.name is not None
    return option_changes(current.name, values, SETTINGS_OPTIONS, current)


def forward_section(doc: Document, name: str) -> Section | None:
    section = doc.section(name)
    return section if section is not None and section.type == FORWARD_TYPE else None


def forward_changes(
    doc: Document, name: str, values: Mapping[str, Any], create: bool
) -> list[Change]:
    """Create (`create`) or replace forward `name`; ApiError if that is not possible."""
    existing = doc.section(name)
    if create and existing is not None:
        taken = (
            says("forward.exists", name=name)
            if existing.type == FORWARD_TYPE
            else says("forward.exists_other", type=existing.type, name=name)
        )
        raise Refused(Why.INVALID, {"name": [taken]})
    if not create and (existing is None or existing.type != FORWARD_TYPE):
        raise Refused(Why.NOT_FOUND, {"id": [says("forward.none", name=name)]})
    head: list[Change] = [SetSection(name, FORWARD_TYPE)] if create else []
    return head + option_changes(name, values, FORWARD_OPTIONS, existing)


def forward_set_changes(doc: Document, forwards: Mapping[str, Mapping[str, Any]]) -> list[Change]:
    """Make the named ``config forward`` sections exactly `forwards` (name → values).

    Forwards that stay keep their place in the file and every line that does not change;
    the others are deleted, the new ones appended in the order given. A name taken by a
    section of another type is an error keyed ``forwards.<name>.name``. Anonymous forward
    sections cannot be named in `forwards`: they stay (and the check reports them).
    """
    named = {s.name: s for s in doc.sections() if s.name is not None}
    taken: dict[str, list[ProblemPart]] = {}
    for name in forwards:
        existing = named.get(name)
        if existing is not None and existing.type != FORWARD_TYPE:
            part = says("forward.exists_other", type=existing.type, name=name)
            taken[f"forwards.{name}.name"] = [part]
    if taken:
        raise Refused(Why.INVALID, taken)
    changes: list[Change] = [
        DeleteSection(name)
        for name, section in named.items()
        if section.type == FORWARD_TYPE and name not in forwards
    ]
    created: list[Change] = []
    for name, values in forwards.items():
        current = named.get(name)
        if current is None:
            created.append(SetSection(name, FORWARD_TYPE))
            created += option_changes(name, values, FORWARD_OPTIONS, None)
        else:
            changes += option_changes(name, values, FORWARD_OPTIONS, current)
    return changes + created


def delete_changes(doc: Document, name: str) -> list[Change]:
    if forward_section(doc, name) is None:
        raise Refused(Why.NOT_FOUND, {"id": [says("forward.none", name=name)]})
    return [DeleteSection(name)]


def problems_of(site: Site, doc: Document, resolve: Resolver = resolve_ipv4) -> list[Problem]:
    """Everything the core finds wrong with `doc` as /etc/config/dualnat."""
    try:
        make_plan(replace(site, backend=_Overlay(site.backend, {CONFIG_NAME: doc})), resolve)
    except ConfigInvalid as exc:
        return exc.problems
    return []


def checked(
    site: Site, build: Callable[[Document], list[Change]], resolve: Resolver = resolve_ipv4
) -> tuple[Document, list[Change]]:
    """The would-be document and its changes; ConfigInvalid when the core finds problems."""
    doc = site.backend.read(CONFIG_NAME)
    changes = build(doc)
    after = doc
    if changes:
        doc.apply(changes)
        # read back as a file is read (the scanner is faster than the edited document's
        # own rebuild, and this is exactly the text that would be committed)
        after = Document.parse(doc.serialize(), doc.path)
    problems = problems_of(site, after, resolve)
    if problems:
        raise ConfigInvalid(problems)
    return after, changes


def write(
    site: Site,
    build: Callable[[Document], list[Change]],
    resolve: Resolver = resolve_ipv4,
    *,
    check: bool = False,
) -> Document:
    """Build changes from the current document, check the result, commit it; return the
    document as committed. With `check` the same checks run but nothing is committed (nor
    locked): the document as it would be."""
    if check:
        return checked(site, build, resolve)[0]
    with site.lock():
        after, changes = checked(site, build, resolve)
        site.backend.commit(CONFIG_NAME, changes)
        return after
