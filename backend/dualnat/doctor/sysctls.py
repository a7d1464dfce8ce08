"""The kernel settings that decide whether the bypass router forwards, and how."""

from __future__ import annotations

from ..plan import Plan, Sysctl
from .findings import Finding
from .messages import part
from .system import System

IP_FORWARD = "net.ipv4.ip_forward"
BRIDGE_NF = "net.bridge.bridge-nf-call-iptables"


def conf_key(device: str, name: str) -> str:
    """net.ipv4.conf.<device>.<name>, written with slashes when the device has a dot."""
    return Sysctl.name("net", "ipv4", "conf", device, name)


def proc_path(key: str) -> str:
    """The path of a sysctl key below /proc (the same convention as plan.Sysctl)."""
    return "sys/" + Sysctl(None, (), key, "").proc_path


def keys(lan_device: str) -> list[str]:
    """Every key the doctor reads, in the order it reports them."""
    out = [IP_FORWARD]
    for name in ("send_redirects", "rp_filter"):
        out += [conf_key("all", name), conf_key(lan_device, name)]
    return [*out, BRIDGE_NF]


def read(system: System, lan_device: str) -> dict[str, str | None]:
    """Each key's value, None when it does not exist (or cannot be read)."""
    values: dict[str, str | None] = {}
    for key in keys(lan_device):
        text = system.read(proc_path(key))
        values[key] = text.strip() if text is not None and text.strip() else None
    return values


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _shown(values: dict[str, str | None], *names: str) -> tuple[str, ...]:
    return tuple(
        f"{k} = {values.get(k) if values.get(k) is not None else '(absent)'}" for k in names
    )


def findings(plan: Plan, values: dict[str, str | None]) -> list[Finding]:
    """What the settings mean for a bypass router."""
    dev = plan.network.lan_device
    out: list[Finding] = []
    if _int(values.get(IP_FORWARD)) == 0:
        out.append(
            Finding(
                "system.ip_forward_off",
                None,
                (part("system.ip_forward_off"),),
                (part("system.ip_forward_off.fix", key=IP_FORWARD),),
                _shown(values, IP_FORWARD),
            )
        )
    all_r, dev_r = conf_key("all", "send_redirects"), conf_key(dev, "send_redirects")
    if 1 in (_int(values.get(all_r)), _int(values.get(dev_r))):
        planned = plan.settings.disable_redirects
        out.append(
            Finding(
                "system.redirects_on",
                None,
                (
                    part("system.redirects_on", device=dev),
                    part(
                        "system.redirects_on.planned" if planned else "system.redirects_on.chosen"
                    ),
                ),
                (
                    part("system.redirects_on.fix_planned", all_key=all_r, device_key=dev_r)
                    if planned
                    else part("system.redirects_on.fix_chosen"),
                ),
                _shown(values, all_r, dev_r),
            )
        )
    all_rp, dev_rp = conf_key("all", "rp_filter"), conf_key(dev, "rp_filter")
    rp = [v for v in (_int(values.get(all_rp)), _int(values.get(dev_rp))) if v is not None]
    if rp and max(rp) == 1:
        out.append(
            Finding(
                "system.rp_filter_strict",
                None,
                (part("system.rp_filter_strict", device=dev),),
                (part("system.rp_filter_strict.fix", all_key=all_rp, device_key=dev_rp),),
                _shown(values, all_rp, dev_rp),
            )
        )
    if _int(values.get(BRIDGE_NF)) == 1:
        out.append(
            Finding(
                "system.bridge_netfilter",
                None,
                (part("system.bridge_netfilter"),),
                (part("system.bridge_netfilter.fix", key=BRIDGE_NF),),
                _shown(values, BRIDGE_NF),
            )
        )
    return out
