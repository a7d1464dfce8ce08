"""The IPv6 section: for each forward, the main router's IPv6 firewall rule (pinhole) that
lets connections from the Internet through to the device's own port.

What a vendor can do is data (its profile's [ipv6]: `suffix` match, alias or none, the
forms in `steps`, labels): a rule that matches the device's interface identifier only
(OpenWrt ``::<suffix>/-64``) or an alias that follows the prefix (OPNsense's Dynamic IPv6
Host) survives a prefix change; elsewhere the rule names the full address, with the note
to enter it again when the prefix changes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..i18n import Part
from ..pinholes import alias_name, tag
from ..plan import MainRouterPinhole, Plan
from . import commands
from .common import Used, static_field
from .model import CONFIRMED, SELECT, UNKNOWN, Code, Field, Section, Step, Warning, weakest
from .profile import Ui, confidence


@dataclass(frozen=True)
class Hole:
    """One rule to enter: the pinhole, its step key and what the address field holds."""

    key: str
    pinhole: MainRouterPinhole
    address: str  # what the device address field takes: a match, an alias or an address
    shown: str  # the address as the step's sentence names it
    mode: str  # match | alias | full


def _holes(ui: Ui, p: MainRouterPinhole, how: str) -> list[Hole]:
    """The rules one pinhole needs on this vendor."""
    if p.suffix is not None and p.stable and how == "match":
        return [Hole(p.name, p, str(p.match), str(p.match), "match")]
    if p.suffix is not None and p.stable and how == "alias":
        return [Hole(p.name, p, alias_name(p.name), str(p.suffix), "alias")]
    addresses = [str(a) for a in p.addresses]
    if not addresses:  # a configured suffix, the prefix not known here
        addresses = [ui.t("doc.prefix_plus", suffix=str(p.suffix))]
    if len(addresses) == 1:
        return [Hole(p.name, p, addresses[0], addresses[0], "full")]
    return [Hole(f"{p.name}.{k}", p, a, a, "full") for k, a in enumerate(addresses, 1)]


class _Form:
    """Fills the fields of one of the vendor's IPv6 forms."""

    def __init__(self, ui: Ui, conf: str) -> None:
        self.ui, self.conf = ui, conf
        self.sep = str(ui.ipv6.get("range_separator", ui.range_separator))

    def field(self, sid: str, key: str, hole: Hole, used: Used) -> Field:
        p, fid = hole.pinhole, f"{sid}.{key}"
        values: dict[str, str] = {
            "ipv6_name": f"{p.name}_ipv6",
            "dest_ip": hole.address,
            "dest_port": str(p.port).replace("-", self.sep),
            "alias_name": alias_name(p.name),
            "alias_content": str(p.suffix),
            "alias_description": tag(p.name),
            "rule_description": tag(p.name),
        }
        if key == "ipv6_proto":
            lab = self.ui.label("field.ipv6_proto")
            shown, api, conf = self.ui.proto(p.proto)
            return Field(
                fid,
                used.add(lab),
                shown,
                SELECT,
                confidence=weakest(conf, self.conf),
                api_value=api,
            )
        if key not in values:
            made = static_field(self.ui, fid, key, used)
            return replace(made, confidence=weakest(made.confidence, self.conf))
        lab = self.ui.label(f"field.{key}")
        kind = SELECT if key == "dest_ip" and hole.mode == "alias" else "text"
        conf = weakest(lab.confidence, self.conf)
        return Field(fid, used.add(lab), values[key], kind, confidence=conf)


def _rule_step(ui: Ui, hole: Hole, form: _Form, notes: tuple[str, ...]) -> Step:
    used = Used()
    used.confidences.append(form.conf)
    p, sid = hole.pinhole, f"ipv6.{hole.key}"
    fields = tuple(form.field(sid, k, hole, used) for k in ui.ipv6["forms"]["rule"])
    text = ui.t(
        "step.ipv6_rule",
        name=ui.t("doc.quote", name=p.name),
        proto=ui.t(f"proto.{p.proto}"),
        port=str(p.port),
        device=str(p.device),
        address=hole.shown,
    )
    return used.step(sid, text, fields, notes=notes)


def _alias_step(ui: Ui, hole: Hole, form: _Form) -> Step:
    used = Used()
    used.confidences.append(form.conf)
    menu = used.add(ui.label("menu.ipv6_alias"))
    sid = f"ipv6.{hole.key}.alias"
    fields = tuple(form.field(sid, k, hole, used) for k in ui.ipv6["forms"]["alias"])
    name = ui.t("doc.quote", name=hole.pinhole.name)
    text = ui.t("step.ipv6_alias", menu=menu, name=name, suffix=str(hole.pinhole.suffix))
    return used.step(sid, text, fields)


def _notes(ui: Ui, hole: Hole, lang: str, extra: dict[str, list[str]]) -> tuple[str, ...]:
    notes = list(extra.get(hole.pinhole.name, ()))
    if hole.mode == "match":
        notes.insert(0, ui.t("note.ipv6_suffix_match", suffix=str(hole.pinhole.suffix)))
    elif hole.mode == "alias":
        notes.insert(0, ui.t("note.ipv6_alias_follow"))
    else:
        notes.insert(0, ui.t("note.ipv6_reenter"))
    return tuple(notes)


def _open_step(ui: Ui, n: int) -> Step:
    used = Used()
    used.confidences.append(confidence(ui.ipv6.get("confidence"), ui.default_confidence))
    menu = used.add(ui.label("menu.ipv6_rule"))
    conf = confidence(ui.ipv6.get("confidence"), ui.default_confidence)
    if conf == UNKNOWN:
        used.hint(ui.t("hint.ipv6"))
    elif conf != CONFIRMED:
        used.hint(ui.t("hint.label"))
    return used.step("ipv6.open", ui.plural("step.ipv6_open", n, menu=menu))


def _forward_of(part: Part) -> str | None:
    return dict(part.params).get("forward")


def _per_forward_notes(plan: Plan, lang: str) -> dict[str, list[str]]:
    """The advice's notes about one forward (unstable or missing suffix), by forward."""
    out: dict[str, list[str]] = {}
    for part in plan.main_router.ipv6.notes:
        forward = _forward_of(part)
        if forward:
            out.setdefault(forward, []).append(part.render(lang))
    return out


def section(ui: Ui, plan: Plan) -> tuple[Section | None, list[Warning]]:
    """The IPv6 section (None without enabled forwards) and its warnings."""
    advice = plan.main_router.ipv6
    if not plan.settings.enabled or not plan.main_router.port_forwards:
        return None, []
    lang = ui.lang
    path_notes = [p for p in advice.notes if not _forward_of(p)]
    warnings = [
        Warning("ipv6.bypass_announces", p.render(lang))
        for p in path_notes
        if p.id == "ipv6.bypass_announces"
    ]
    steps = [Step("ipv6.path", p.render(lang)) for p in path_notes if p.id.startswith("ipv6.path.")]
    how = str(ui.ipv6.get("suffix", "none"))
    conf = confidence(ui.ipv6.get("confidence"), ui.default_confidence)
    form = _Form(ui, conf)
    holes = [h for p in advice.pinholes for h in _holes(ui, p, how)]
    if holes:
        steps.append(_open_step(ui, len(holes)))
        if ui.has("text.ipv6_default"):
            used = Used()
            steps.append(used.step("ipv6.default", used.add(ui.label("text.ipv6_default"))))
        extra = _per_forward_notes(plan, lang)
        for hole in holes:
            if hole.mode == "alias":
                steps.append(_alias_step(ui, hole, form))
            steps.append(_rule_step(ui, hole, form, _notes(ui, hole, lang, extra)))
        if ui.uci:
            code = Code(commands.pinholes([(h.pinhole, h.address) for h in holes]), "main_router")
            steps.append(Step("ipv6.uci", ui.t("step.ipv6_uci"), code=code))
    steps += [Step(f"ipv6.missing.{name}", why.render(lang)) for name, why in advice.missing]
    return Section("ipv6", ui.t("section.ipv6"), tuple(steps)), warnings
