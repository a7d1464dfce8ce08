"""Instructions as plain data: sections of numbered steps, each with the fields to fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA = 1
# How sure we are of a label, a value or a whole step (vendors.md tags [C], [I], [GAP]).
CONFIRMED, INFERRED, UNKNOWN = "confirmed", "inferred", "unknown"
_RANK = {CONFIRMED: 0, INFERRED: 1, UNKNOWN: 2}
# What a field is in the router's form; only typed values are meant to be copied.
TEXT, SELECT, CHECKBOX, EMPTY = "text", "select", "checkbox", "empty"


def weakest(*confidences: str) -> str:
    """The least certain of the given confidences (confirmed when none is given)."""
    return max(confidences, key=_RANK.__getitem__, default=CONFIRMED)


@dataclass(frozen=True)
class Field:
    """One form field: its label on the router and the exact value to enter."""

    id: str
    label: str
    value: str
    kind: str = TEXT
    display: str = ""  # how to show the value when it is not typed as is (checkbox, empty)
    optional: bool = False
    note: str = ""
    confidence: str = CONFIRMED
    api_value: str = ""  # the value the router's own API uses, when it differs

    @property
    def copyable(self) -> bool:
        return self.kind == TEXT

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "value": self.value,
            "display": self.display or self.value,
            "kind": self.kind,
            "copyable": self.copyable,
            "optional": self.optional,
            "note": self.note,
            "confidence": self.confidence,
        }
        if self.api_value:
            data["api_value"] = self.api_value
        return data


@dataclass(frozen=True)
class Code:
    """Commands to paste into a shell (on the router named by `target`)."""

    text: str
    target: str  # main_router | bypass_router
    lang: str = "sh"

    def to_dict(self) -> dict[str, Any]:
        return {"lang": self.lang, "target": self.target, "text": self.text, "copyable": True}


@dataclass(frozen=True)
class Step:
    """One thing to do. `hints` say what to look for where a fact is only inferred."""

    id: str
    text: str
    fields: tuple[Field, ...] = ()
    code: Code | None = None
    notes: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    confidence: str = CONFIRMED

    def to_dict(self, number: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": number,
            "text": self.text,
            "confidence": self.confidence,
            "fields": [f.to_dict() for f in self.fields],
            "code": self.code.to_dict() if self.code else None,
            "notes": list(self.notes),
            "hints": list(self.hints),
        }


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Warning:
    id: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text}


@dataclass(frozen=True)
class Instructions:
    """Everything to do on the main router (and the bypass router's DHCP half)."""

    lang: str
    vendor: str
    vendor_name: str
    bypass_ip: str
    main_router_ip: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    warnings: tuple[Warning, ...] = field(default=())

    def numbered(self) -> list[tuple[Section, list[tuple[int, Step]]]]:
        """Sections with their steps numbered 1..n across the whole document."""
        out: list[tuple[Section, list[tuple[int, Step]]]] = []
        n = 0
        for section in self.sections:
            steps = []
            for step in section.steps:
                n += 1
                steps.append((n, step))
            out.append((section, steps))
        return out

    def step_ids(self) -> list[str]:
        return [s.id for sec in self.sections for s in sec.steps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "lang": self.lang,
            "vendor": {"id": self.vendor, "name": self.vendor_name},
            "bypass_ip": self.bypass_ip,
            "main_router_ip": self.main_router_ip,
            "title": self.title,
            "intro": self.intro,
            "sections": [
                {
                    "id": section.id,
                    "title": section.title,
                    "steps": [step.to_dict(n) for n, step in steps],
                }
                for section, steps in self.numbered()
            ],
            "warnings": [w.to_dict() for w in self.warnings],
        }
