"""Steps for the port forwards: open the page, one block per main-router rule, commands."""

from __future__ import annotations

from collections.abc import Callable

from . import commands
from .common import Used, checkbox, static_field
from .entries import Entry
from .model import SELECT, Code, Field, Step
from .profile import Ui

# Fields whose value is a port or range of the rule (`sep` joins the ends of a range).
_PORTS: dict[str, Callable[[Entry, str], str]] = {
    "external_port": lambda e, sep: _range(e.external.first, e.external.last, sep),
    "external_first": lambda e, sep: str(e.external.first),
    "external_last": lambda e, sep: str(e.external.last),
    "internal_port": lambda e, sep: _range(e.internal.first, e.internal.last, sep),
    "internal_first": lambda e, sep: str(e.internal.first),
    "internal_last": lambda e, sep: str(e.internal.last),
}


def _range(first: int, last: int, sep: str) -> str:
    return str(first) if first == last else f"{first}{sep}{last}"


def entry_field(ui: Ui, e: Entry, key: str, used: Used) -> Field:
    """The field `key` of the vendor's form, filled in for rule `e`."""
    fid = f"forward.{e.key}.{key}"
    if key not in _PORTS and key not in ("name", "internal_ip", "proto", "same_range"):
        return static_field(ui, fid, key, used)
    lab = ui.label(f"field.{key}")
    label = used.add(lab)
    if key == "name":
        return Field(fid, label, e.rule_name, confidence=lab.confidence)
    if key == "internal_ip":
        return Field(fid, label, str(e.internal_ip), confidence=lab.confidence)
    if key == "proto":
        shown, api, conf = ui.proto(e.proto)
        return Field(fid, label, shown, SELECT, confidence=conf, api_value=api)
    if key == "same_range":
        return checkbox(ui, fid, label, "off" if e.relayed else "on", lab.confidence)
    return Field(fid, label, _PORTS[key](e, ui.range_separator), confidence=lab.confidence)


def _entry_step(ui: Ui, e: Entry) -> Step:
    used = Used()
    form, keys = ui.form(e.ranged)
    fields = tuple(entry_field(ui, e, key, used) for key in keys)
    what = dict(
        name=ui.t("doc.quote", name=e.rule_name),
        proto=ui.t(f"proto.{e.proto}"),
        external=e.external,
        internal=e.internal,
    )
    ports = e.external.size  # "external port 80", "external ports 8000-8003"
    if ui.separate_range_form:
        form_label = used.add(ui.label(f"form.{form}"))
        text = ui.plural("step.forward_in_form", ports, form=form_label, **what)
    else:
        text = ui.plural("step.forward", ports, **what)
    notes: list[str] = []
    if e.relayed:
        notes.append(ui.plural("note.relay", ports, external=e.external, internal=e.internal))
    if e.relayed and e.ranged and ui.port_forward.get("confidence") != "confirmed":
        used.hint(ui.t("hint.range_translation"))
    return used.step(f"forward.{e.key}", text, fields, notes=tuple(notes))


def _text_step(ui: Ui, id: str, key: str) -> Step:
    used = Used()
    return used.step(id, used.add(ui.label(key)))


def steps(ui: Ui, rules: list[Entry]) -> list[Step]:
    """Every step of the port-forward section."""
    if not rules:
        return [Step("forwards.none", ui.t("step.no_forwards"))]
    used = Used()
    menu = used.add(ui.label("menu.port_forward"))
    notes = [ui.t("note.forms")] if ui.separate_range_form else []
    limits = ui.limits
    if limits.get("max_rules"):
        notes.append(ui.plural("note.limit_rules", int(limits["max_rules"])))
    elif not limits.get("unlimited"):
        notes.append(ui.t("note.limit_unknown"))
    if limits.get("max_ports_per_rule"):
        notes.append(ui.plural("note.limit_ports", int(limits["max_ports_per_rule"])))
    text = ui.plural("step.forwards_open", len(rules), menu=menu)
    out = [used.step("forwards.open", text, notes=tuple(notes))]
    if ui.has("text.forwards_before"):
        out.append(_text_step(ui, "forwards.before", "text.forwards_before"))
    out += [_entry_step(ui, e) for e in rules]
    if ui.has("text.forwards_done"):
        out.append(_text_step(ui, "forwards.done", "text.forwards_done"))
    if ui.uci:
        code = Code(commands.redirects(rules), "main_router")
        out.append(Step("forwards.uci", ui.t("step.forwards_uci"), code=code))
    return out


def too_many(ui: Ui, rules: list[Entry]) -> str:
    """The warning text when the rules do not fit the router, else ""."""
    limit = ui.limits.get("max_rules")
    if limit and len(rules) > limit:
        return ui.t("warning.too_many", count=len(rules), max=limit)
    return ""


def untranslatable(ui: Ui, rules: list[Entry]) -> list[str]:
    """Warnings for ranges sent to other ports on a router whose range form cannot do that
    (the planner never plans them; this guards against a profile that changed)."""
    if ui.vendor.range_translation:
        return []
    return [
        ui.t("warning.range_translation", name=ui.t("doc.quote", name=e.rule_name))
        for e in rules
        if e.ranged and e.relayed
    ]
