"""The kernel settings that decide whether the bypass router forwards, and how."""

from __future__ import annotations

from ..plan import Plan, Sysctl
from .findings import Finding
from .system import System

IP_FORWARD = "net.ipv4.ip_forward"
BRIDGE_NF = "net.bridge.bridge-nf-call-iptables"


def conf_key(device: str, name: str) -> str:
    """net.ipv4.conf.<device>.<name>, written with slashes when the device has a dot."""
    return Sysctl.name("net", "ipv4", "conf", device, name)


def proc_path(key: str) -> str:
    """The path of a sysctl key below /proc (the same convention as plan.Sysctl)."""
    return "sys/" + Sysctl(None, "", key, "").proc_path


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
                "This machine does not forward IPv4 packets: nothing that arrives for a "
                "forward (and no LAN traffic that uses it as gateway) gets through. The "
                "kernel drops such connections before they enter the connection table.",
                f"sysctl -w {IP_FORWARD}=1 (dualnat apply sets it and keeps it in "
                "/etc/sysctl.d/90-dualnat.conf; check that nothing turns it off at boot).",
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
                "This machine sends ICMP redirects: it tells LAN devices that forward "
                f"through it on {dev} to use the main router directly, so their traffic "
                "skips the bypass router (its proxy, its masquerade) after the first "
                "packets. The kernel sends them when either 'all' or the device allows it."
                + (
                    " dualnat plans them off, so the settings were not applied (apply not "
                    "run since boot, or something set them back)."
                    if planned
                    else " disable_redirects is '0' in /etc/config/dualnat."
                ),
                (
                    f"Run dualnat apply, or sysctl -w {all_r}=0 {dev_r}=0."
                    if planned
                    else "Set option disable_redirects '1' in /etc/config/dualnat and run "
                    "dualnat apply."
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
                f"Strict reverse-path filtering is on for {dev} (the kernel uses the larger "
                "of 'all' and the device): a packet is dropped unless the reply to its "
                f"source would leave through {dev} again. Forwarded connections from sources "
                "this machine routes elsewhere (a proxy's tun device, policy routing, a "
                "second uplink) vanish without a trace in the connection table.",
                f"sysctl -w {all_rp}=2 {dev_rp}=2 (loose) unless you rely on strict mode.",
                _shown(values, all_rp, dev_rp),
            )
        )
    if _int(values.get(BRIDGE_NF)) == 1:
        out.append(
            Finding(
                "system.bridge_netfilter",
                None,
                "Bridged traffic on this machine passes through its firewall and connection "
                "tracking (br_netfilter). A connection first seen while it crossed the "
                "bridge is tracked without NAT; packets of it that this machine later "
                "routes skip dualnat's translation (the failure Linksys and Netgear main "
                "routers show), and the firewall's rules apply to traffic that only crosses "
                "the bridge.",
                f"sysctl -w {BRIDGE_NF}=0, unless a service here (Docker, a bridge "
                "firewall) needs it.",
                _shown(values, BRIDGE_NF),
            )
        )
    return out
