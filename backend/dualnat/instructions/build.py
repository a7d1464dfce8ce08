"""Plan + vendor profile + language → Instructions."""

from __future__ import annotations

from dataclasses import replace

from ..i18n.catalog import DEFAULT_LANG, LANGS
from ..plan import Plan
from . import dhcp, forwards, hairpin, ipv6
from .common import Used
from .entries import entries
from .model import Instructions, Section, Warning
from .profile import Ui


def _without_repeated_hints(section: Section) -> Section:
    """A hint is shown once per section, on the first step that needs it."""
    seen: set[str] = set()
    steps = []
    for step in section.steps:
        hints = tuple(h for h in step.hints if h not in seen)
        seen.update(hints)
        steps.append(replace(step, hints=hints))
    return replace(section, steps=tuple(steps))


def _start(ui: Ui) -> Section:
    used = Used()
    text = used.add(ui.label("text.login")) if ui.has("text.login") else ui.t("step.login")
    notes: list[str] = []
    if ui.lang not in ui.ui_languages:
        shown = ui.t(f"lang.{ui.ui_languages[0]}")
        notes.append(ui.t("note.ui_language", ui_lang=shown))
    step = used.step("start.login", text, notes=tuple(notes))
    return Section("start", ui.t("section.start"), (step,))


def build_instructions(
    plan: Plan, lang: str = DEFAULT_LANG, dns: str = "auto", vendor: str | None = None
) -> Instructions:
    """The steps for the main router named in the plan (or `vendor`, which should be the
    vendor the plan was made for: range splitting depends on it). `dns` is one of
    DNS_CHOICES: auto (the bypass router, as an optional field), bypass, or keep."""
    if lang not in LANGS or dns not in dhcp.DNS_CHOICES:
        raise ValueError(f"lang must be one of {LANGS}, dns one of {dhcp.DNS_CHOICES}")
    vendor_id = vendor or plan.main_router.vendor
    net = plan.network
    context = {
        "bypass_ip": str(net.bypass_ip),
        "main_router_ip": str(net.main_router_ip),
        "url": f"http://{net.main_router_ip}/",
    }
    ui = Ui(vendor_id, lang, context)
    rules = entries(plan)
    warnings: list[Warning] = []
    if not plan.settings.enabled:
        warnings.append(Warning("dualnat.disabled", ui.t("warning.disabled")))
    too_many = forwards.too_many(ui, rules)
    if too_many:
        warnings.append(Warning("forwards.too_many", too_many))
    warnings += [
        Warning("forwards.range_translation", text) for text in forwards.untranslatable(ui, rules)
    ]
    sections = [
        _start(ui),
        Section("forwards", ui.t("section.forwards"), tuple(forwards.steps(ui, rules))),
        *dhcp.sections(ui, plan, dns),
    ]
    loop = hairpin.section(ui, plan, rules)
    if loop is not None:
        sections.append(loop)
    six, six_warnings = ipv6.section(ui, plan)
    if six is not None:
        sections.append(six)
    warnings += six_warnings
    bridge, bridge_warnings = hairpin.bridge(ui, plan)
    if bridge is not None:
        sections.append(bridge)
    warnings += bridge_warnings
    name = ui.label("vendor_name").text if ui.has("vendor_name") else ui.vendor.name
    return Instructions(
        lang=lang,
        vendor=vendor_id,
        vendor_name=name,
        bypass_ip=context["bypass_ip"],
        main_router_ip=context["main_router_ip"],
        title=ui.t("doc.title", vendor=name),
        intro=ui.t("doc.intro"),
        sections=tuple(_without_repeated_hints(s) for s in sections if s.steps),
        warnings=tuple(warnings),
    )
