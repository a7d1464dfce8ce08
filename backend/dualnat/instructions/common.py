"""Helpers shared by the step builders: label bookkeeping and fixed-value fields."""

from __future__ import annotations

from .model import CHECKBOX, EMPTY, SELECT, Code, Field, Step, weakest
from .profile import Label, Ui

# Fields to leave empty (the bypass router enforces allow_source itself).
EMPTY_FIELDS = frozenset({"source"})


class Used:
    """Labels used by one step: their weakest confidence and their hints, in order."""

    def __init__(self) -> None:
        self.confidences: list[str] = []
        self.hints: list[str] = []

    def add(self, label: Label) -> str:
        self.confidences.append(label.confidence)
        self.hint(label.hint)
        return label.text

    def hint(self, text: str) -> None:
        if text and text not in self.hints:
            self.hints.append(text)

    def step(
        self,
        id: str,
        text: str,
        fields: tuple[Field, ...] = (),
        code: Code | None = None,
        notes: tuple[str, ...] = (),
    ) -> Step:
        conf = weakest(*self.confidences, *(f.confidence for f in fields))
        return Step(id, text, fields, code, notes, tuple(self.hints), conf)


def checkbox(ui: Ui, fid: str, label: str, state: str, conf: str = "confirmed") -> Field:
    return Field(fid, label, state, CHECKBOX, ui.t(f"checkbox.{state}"), confidence=conf)


def static_field(ui: Ui, fid: str, key: str, used: Used) -> Field:
    """A field whose value does not depend on the rule: a fixed checkbox state (the
    vendor's [checkboxes]), a field to leave empty, or a choice (label value.<key>)."""
    lab = ui.label(f"field.{key}")
    label = used.add(lab)
    if key in ui.checkboxes:
        return checkbox(ui, fid, label, ui.checkboxes[key], lab.confidence)
    if key in EMPTY_FIELDS:
        return Field(fid, label, "", EMPTY, ui.t("doc.leave_empty"), confidence=lab.confidence)
    value = ui.label(f"value.{key}")
    used.add(value)
    conf = weakest(lab.confidence, value.confidence)
    return Field(fid, label, value.text, SELECT, confidence=conf)
