"""UCI (OpenWrt config file) layer: lossless parsing that reads files exactly as libuci
does (same values, same refusals with libuci's reason, line and byte), sections with
the lines they come from, in-place edits, two backends."""

from .backends import (
    FileBackend,
    UciBackend,
    UciCommandBackend,
    atomic_write,
    batch_script,
)
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
from .document import Document, OptionValue, Section
from .errors import SectionNotFoundError, UciCommandError, UciError, UciParseError
from .names import check_name, check_type, check_value, is_name, is_type, quote

__all__ = [
    "AddListItem",
    "Change",
    "DeleteListItem",
    "DeleteOption",
    "DeleteSection",
    "Document",
    "FileBackend",
    "OptionValue",
    "Section",
    "SectionNotFoundError",
    "SetList",
    "SetOption",
    "SetSection",
    "UciBackend",
    "UciCommandBackend",
    "UciCommandError",
    "UciError",
    "UciParseError",
    "atomic_write",
    "batch_script",
    "check_name",
    "check_type",
    "check_value",
    "is_name",
    "is_type",
    "quote",
]
