"""The sentences of a live test: templates of the catalogue table [live] (and the doctor's
fixes that load the rules again), kept as parts so that the state file is language-free
and every reader renders them in its own language (see dualnat.i18n.parts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from .. import i18n
from ..doctor.messages import Part as DoctorPart


class Part(i18n.Part):
    """One template of the table [live], with its parameters."""

    TABLE: ClassVar[str] = "live"


part = Part.of
plural = Part.plural

# the tables a stored part may come from, by name
_CLASSES: dict[str, type[i18n.Part]] = {"live": Part, "doctor": DoctorPart}


def dump(parts: Iterable[i18n.Part]) -> list[dict[str, Any]]:
    """Parts as the state file keeps them: table, id and parameters."""
    return [{"table": p.TABLE, **p.to_dict()} for p in parts]


def load(data: Iterable[dict[str, Any]]) -> tuple[i18n.Part, ...]:
    """The parts `dump` wrote (ValueError for an unknown table or template)."""
    out = []
    for item in data:
        cls = _CLASSES.get(item.get("table", ""))
        if cls is None:
            raise ValueError(f"unknown message table {item.get('table')!r}")
        out.append(cls.of(item["id"], **item.get("params", {})))
    return tuple(out)


def text(data: Iterable[dict[str, Any]], lang: str) -> str:
    """Stored parts rendered in `lang`."""
    return i18n.render(load(data), lang)
