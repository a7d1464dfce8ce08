"""Edits shared by every backend, validated when constructed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .names import check_name, check_type, check_value


def _check_item(section: str, option: str, value: str) -> None:
    check_name(section, "section name")
    check_name(option, "option name")
    check_value(value)


@dataclass(frozen=True, slots=True)
class SetSection:
    """Create named section *name* of *type*, or change its type."""

    name: str
    type: str

    def __post_init__(self) -> None:
        check_name(self.name, "section name")
        check_type(self.type)


@dataclass(frozen=True, slots=True)
class SetOption:
    """Set plain option *option* of section *section* to *value* (non-empty)."""

    section: str
    option: str
    value: str

    def __post_init__(self) -> None:
        _check_item(self.section, self.option, self.value)


@dataclass(frozen=True, slots=True)
class SetList:
    """Set list option *option* of *section* to *values* (empty deletes the option).

    Any sequence of strings is accepted; it is stored as a tuple.
    """

    section: str
    option: str
    values: Sequence[str]

    def __post_init__(self) -> None:
        values: Iterable[str] = self.values
        if isinstance(values, str):
            raise TypeError("SetList needs a sequence of values, not a str")
        object.__setattr__(self, "values", tuple(values))
        check_name(self.section, "section name")
        check_name(self.option, "option name")
        for value in self.values:
            check_value(value)


@dataclass(frozen=True, slots=True)
class DeleteOption:
    """Delete option *option* of *section* (no-op if absent)."""

    section: str
    option: str

    def __post_init__(self) -> None:
        check_name(self.section, "section name")
        check_name(self.option, "option name")


@dataclass(frozen=True, slots=True)
class DeleteSection:
    """Delete named section *name* (no-op if absent)."""

    name: str

    def __post_init__(self) -> None:
        check_name(self.name, "section name")


@dataclass(frozen=True, slots=True)
class AddListItem:
    """Append *value* to list *option* of *section* (uci add_list): other items stay."""

    section: str
    option: str
    value: str

    def __post_init__(self) -> None:
        _check_item(self.section, self.option, self.value)


@dataclass(frozen=True, slots=True)
class DeleteListItem:
    """Remove every item equal to *value* from list *option* of *section* (uci del_list)."""

    section: str
    option: str
    value: str

    def __post_init__(self) -> None:
        _check_item(self.section, self.option, self.value)


Change = (
    SetSection | SetOption | SetList | DeleteOption | DeleteSection | AddListItem | DeleteListItem
)
CHANGE_TYPES = (
    SetSection,
    SetOption,
    SetList,
    DeleteOption,
    DeleteSection,
    AddListItem,
    DeleteListItem,
)


def validate_change(change: object) -> None:
    """Re-check a change (it may have been tampered with after construction)."""
    if not isinstance(change, CHANGE_TYPES):
        raise TypeError(f"not a UCI change: {change!r}")
    match change:
        case SetSection(name, type_):
            check_name(name, "section name")
            check_type(type_)
        case SetOption(section, option, value):
            _check_item(section, option, value)
        case SetList(section, option, values):
            check_name(section, "section name")
            check_name(option, "option name")
            if not isinstance(values, tuple):
                raise TypeError("SetList.values must be a tuple")
            for value in values:
                check_value(value)
        case DeleteOption(section, option):
            check_name(section, "section name")
            check_name(option, "option name")
        case DeleteSection(name):
            check_name(name, "section name")
        case AddListItem(section, option, value) | DeleteListItem(section, option, value):
            _check_item(section, option, value)
