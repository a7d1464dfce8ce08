"""DHCP steps: hand out the bypass router as gateway (gateway), move DHCP to the bypass
router without ever running two servers (move), or set devices by hand (manual)."""

from __future__ import annotations

from ..plan import Plan
from . import commands
from .common import Used, checkbox
from .model import Code, Field, Section, Step
from .profile import Ui

DNS_CHOICES = ("auto", "bypass", "keep")


def primary_mode(ui: Ui, plan: Plan) -> str:
    """The planner's advice, or manual when the router cannot even turn DHCP off."""
    mode = str(plan.main_router.dhcp["mode"])
    if mode == "move" and not ui.vendor.dhcp_can_disable:
        return "manual"
    return mode


class _Dhcp:
    def __init__(self, ui: Ui, plan: Plan, dns: str, prefix: str) -> None:
        self.ui, self.dns, self.p = ui, dns, prefix
        # A fallback is for firmware that differs from the profile: offer DNS there too.
        self.dns_field = dns != "keep" and (ui.vendor.dhcp_dns_override or prefix != "dhcp")
        self.bypass = str(plan.network.bypass_ip)
        self.main = str(plan.network.main_router_ip)

    def dns_server(self) -> str:
        """The DNS server devices should get: the bypass router unless told to keep it."""
        return self.main if self.dns == "keep" else self.bypass

    def renew(self) -> Step:
        return Step(f"{self.p}.renew", self.ui.t("step.dhcp_renew"))

    def gateway(self) -> list[Step]:
        ui, p = self.ui, self.p
        used = Used()
        out = [used.step(f"{p}.open", ui.t("step.dhcp_open", menu=used.add(ui.label("menu.dhcp"))))]
        used = Used()
        gateway = ui.dhcp.get("gateway_format", "{ip}").format(ip=self.bypass)
        lab = ui.label("field.dhcp_gateway")
        fields = [Field(f"{p}.gateway", used.add(lab), gateway, confidence=lab.confidence)]
        with_dns = self.dns_field
        if with_dns:
            auto = self.dns == "auto"
            note = ui.t("note.dns_optional") if auto else ""
            lab = ui.label("field.dhcp_dns")
            dns = ui.dhcp.get("dns_format", "{ip}").format(ip=self.bypass)
            fields.append(
                Field(
                    f"{p}.dns",
                    used.add(lab),
                    dns,
                    optional=auto,
                    note=note,
                    confidence=lab.confidence,
                )
            )
        notes = (used.add(ui.label("note.dhcp")),) if ui.has("note.dhcp") else ()
        out.append(used.step(f"{p}.set", ui.t("step.dhcp_gateway"), tuple(fields), notes=notes))
        if ui.uci:
            options = [(f"3,{self.bypass}", "")]
            if with_dns:
                comment = ui.t("code.dns_optional") if self.dns == "auto" else ""
                options.append((f"6,{self.bypass}", comment))
            code = Code(commands.dhcp_gateway(options), "main_router")
            out.append(Step(f"{p}.uci", ui.t("step.dhcp_uci"), code=code))
        if ui.dhcp.get("per_device_gateway") and ui.has("menu.dhcp_static"):
            used = Used()
            menu = used.add(ui.label("menu.dhcp_static"))
            out.append(used.step(f"{p}.per_device", ui.t("step.dhcp_per_device", menu=menu)))
        return [*out, self.renew()]

    def move(self) -> list[Step]:
        ui, p = self.ui, self.p
        router, dns = f"3,{self.bypass}", f"6,{self.dns_server()}"
        dns_note = ui.t("note.dns_move_keep") if self.dns == "keep" else ui.t("note.dns_move")
        fields = (
            Field(f"{p}.bypass.router", ui.t("field.dnsmasq_router"), router),
            Field(f"{p}.bypass.dns", ui.t("field.dnsmasq_dns"), dns, note=dns_note),
        )
        options = (router, dns)
        comment = ui.plural("code.dhcp_prepare", len(options), options=ui.join(options))
        code = Code(commands.dhcp_prepare(comment), "bypass_router")
        notes = (ui.t("note.dhcp_luci"), ui.t("note.dhcp_range"), ui.t("note.not_openwrt"))
        prepare = Step(f"{p}.prepare", ui.t("step.dhcp_prepare"), fields, code, notes)
        used = Used()
        menu = used.add(ui.label("menu.dhcp"))
        lab = ui.label("field.dhcp_enable")
        # The checkbox that switches the server off: unchecked, or checked where it is a
        # "disable" box (the vendor's dhcp.off_checkbox, e.g. LuCI's "Ignore interface").
        state = str(ui.dhcp.get("off_checkbox", "off"))
        off = checkbox(ui, f"{p}.enable", used.add(lab), state, lab.confidence)
        main_off = used.step(f"{p}.main_off", ui.t("step.dhcp_main_off", menu=menu), (off,))
        code = Code(commands.dhcp_enable(), "bypass_router")
        bypass_on = Step(f"{p}.bypass_on", ui.t("step.dhcp_bypass_on"), code=code)
        return [prepare, main_off, bypass_on, self.renew()]

    def manual(self) -> list[Step]:
        ui, p = self.ui, self.p
        fields = (
            Field(f"{p}.gateway", ui.t("field.device_gateway"), self.bypass),
            Field(f"{p}.dns", ui.t("field.device_dns"), self.dns_server()),
        )
        notes = (ui.t("note.manual_address"),)
        return [Step(f"{p}.manual", ui.t("step.dhcp_manual"), fields, notes=notes)]


def sections(ui: Ui, plan: Plan, dns: str = "auto") -> list[Section]:
    """The DHCP section, and the vendor's fallback when its profile names one."""
    mode = primary_mode(ui, plan)
    first = getattr(_Dhcp(ui, plan, dns, "dhcp"), mode)()
    out = [Section("dhcp", ui.t(f"section.dhcp_{mode}"), tuple(first))]
    fallback = ui.dhcp.get("fallback", "")
    if fallback and fallback != mode:
        title = ui.label("text.dhcp_fallback_when").text
        steps = getattr(_Dhcp(ui, plan, dns, "dhcp_alt"), fallback)()
        alt = Section("dhcp_alt", title, tuple(steps))
        if fallback == "gateway":
            # Setting a gateway is the simpler way: it comes first, the planned way second.
            first_title = ui.t(f"section.dhcp_{mode}_otherwise")
            out = [alt, Section("dhcp", first_title, tuple(first))]
        else:
            out.append(alt)
    return out
