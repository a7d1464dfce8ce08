"""NAT loopback (hairpin) and the bridge-netfilter note: who is covered by the bypass
router, and what to turn on or check on the main router for everyone else."""

from __future__ import annotations

from ..plan import Masquerade, Plan
from .common import Used, static_field
from .entries import Entry, hairpin_coverage, public_address
from .model import Section, Step, Warning
from .profile import Ui, confidence


def _loopback(ui: Ui, who: str) -> Step:
    """What this vendor needs for NAT loopback, with the fields to set if it has any."""
    used = Used()
    if ui.has("text.loopback"):
        how = used.add(ui.label("text.loopback"))
    else:
        how = ui.t("step.loopback_unknown")
    fields = tuple(static_field(ui, f"hairpin.{k}", k, used) for k in ui.loopback.get("fields", ()))
    used.confidences.append(_mode_confidence(ui))
    return used.step("hairpin.loopback", ui.t("step.loopback", who=who, how=how), fields)


def _mode_confidence(ui: Ui) -> str:
    return confidence(ui.loopback.get("confidence"), ui.default_confidence)


def section(ui: Ui, plan: Plan, rules: list[Entry]) -> Section | None:
    """The hairpin section; None without forwards."""
    if not rules:
        return None
    direct, via_loopback = hairpin_coverage(plan)
    names = list(dict.fromkeys(e.forward for e in rules))
    covered = [n for n in names if n in direct]
    looped = [n for n in names if n in via_loopback]
    off = [n for n in names if n not in via_loopback and n not in direct]
    steps: list[Step] = []
    if covered:
        name, address = public_address(plan)
        public = ui.t("doc.named_address", name=name, address=address) if name else address
        text = ui.t("step.hairpin_covered", public=public, names=ui.names(covered))
        steps.append(Step("hairpin.bypass", text))
    elif looped:
        steps.append(Step("hairpin.no_public", ui.t("step.hairpin_no_public")))
    if looped:
        who = ui.t("who.main_gateway") if covered else ui.t("who.all")
        steps.append(_loopback(ui, who))
    if off:
        text = ui.plural("step.hairpin_off", len(off), names=ui.names(off))
        steps.append(Step("hairpin.off", text))
    return Section("hairpin", ui.t("section.hairpin"), tuple(steps))


def bridge(ui: Ui, plan: Plan) -> tuple[Section | None, list[Warning]]:
    """Bridged Wi-Fi through netfilter on the main router: the masquerade that dualnat
    plans for it, or a warning when it is switched off."""
    masq = bool(plan.of_kind(Masquerade))
    notes = (ui.label("text.bridge").text,) if ui.has("text.bridge") else ()
    if ui.vendor.bridge_netfilter_risk:
        if masq:
            step = Step("bridge.masquerade", ui.t("step.bridge_masquerade"), notes=notes)
            return Section("bridge", ui.t("section.bridge"), (step,)), []
        step = Step("bridge.no_masquerade", ui.t("step.bridge_no_masquerade"), notes=notes)
        warning = Warning("bridge.no_masquerade", ui.t("warning.bridge"))
        return Section("bridge", ui.t("section.bridge"), (step,)), [warning]
    if notes:
        used = Used()
        text = used.add(ui.label("text.bridge"))
        return Section("bridge", ui.t("section.bridge"), (used.step("bridge.note", text),)), []
    return None, []
