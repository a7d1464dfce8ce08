"""The English templates of the plan's reasons and warnings, so that LuCI can translate them.

A plan item's reason (and a plan warning) is a list of parts, each a template id from
TEMPLATES with its parameters; the parts work as dualnat.i18n_parts describes (the
doctor's messages use the same machinery). LuCI's overview has the same templates in
REASON_TEMPLATES (through _(), so the po files translate them); a package test keeps
both tables equal. The main router's DHCP reason and notes stay English only: LuCI does
not show them (its main-router page shows the instructions, translated on their own).
"""

from __future__ import annotations

from typing import ClassVar

from . import i18n_parts
from .i18n_parts import PLACEHOLDER, render

TEMPLATES: dict[str, str] = {
    # -- port forwards: DNAT --------------------------------------------------------------
    "plan.dnat": "Connections that the main router forwards to {bypass}:{port} go on to "
    "{target}. The rule matches the bypass router's own address {bypass}, so LAN clients' "
    "outgoing traffic to port {port} elsewhere is left alone.",
    "plan.dnat.relay_service": "The main router targets port {port} instead of {external} "
    "because {services} is a service of the bypass router; LAN clients keep reaching the "
    "bypass router's own port {external}.",
    "plan.dnat.relay_bypass_port": "The main router targets port {port} instead of "
    "{external} because bypass_port says so; LAN clients keep reaching the bypass router's "
    "own port {external}.",
    "plan.dnat.allow_source": "Only sources in allow_source may connect.",
    "plan.dnat.allow_source_lan": "Only sources in allow_source may connect (and LAN "
    "clients, which reach the device directly anyway).",
    "plan.dnat.hairpin": "Hairpin: LAN clients that use the bypass router as gateway and "
    "connect to the public address {public}:{port} reach {target} directly. (Firewall4's "
    "own reflection does nothing on a bypass router.)",
    # -- port forwards: SNAT --------------------------------------------------------------
    "plan.snat.gateway_main": "{device} must send its replies back through the bypass "
    "router, and its gateway is the main router: the source becomes {bypass}, so the device "
    "sees {bypass} instead of the client's address. Without this the reply goes straight to "
    "the main router, which drops it.",
    "plan.snat.keep_source_no": "{device} must send its replies back through the bypass "
    "router, and keep_source_ip is 'no': the source becomes {bypass}, so the device sees "
    "{bypass} instead of the client's address. Without this the reply goes straight to the "
    "main router, which drops it.",
    "plan.snat.hairpin": "Hairpin: connections from LAN addresses (LAN clients, or the main "
    "router's own NAT loopback) get the source {bypass}; otherwise {device} would answer "
    "them directly on the LAN and the reply would not match. Clients on the Internet keep "
    "their address.",
    # -- this router ----------------------------------------------------------------------
    "plan.masquerade.on": "LAN traffic that leaves through the bypass router gets its "
    "address {bypass} because masquerade is 'on'; otherwise Wi-Fi clients whose gateway is "
    "the bypass router lose IPv4 (the main router's conntrack remembers their first hop as "
    "'no NAT'). Cost: the main router sees every such device as the bypass router.",
    "plan.masquerade.vendor": "LAN traffic that leaves through the bypass router gets its "
    "address {bypass} because the main router ({vendor}) runs bridged traffic through "
    "netfilter; otherwise Wi-Fi clients whose gateway is the bypass router lose IPv4 (the "
    "main router's conntrack remembers their first hop as 'no NAT'). Cost: the main router "
    "sees every such device as the bypass router.",
    "plan.masquerade.invalid_drop": "LAN traffic that leaves through the bypass router gets "
    "its address {bypass} because this router's firewall drops invalid packets ({evidence}) "
    "and ICMP redirects are off: the main router answers LAN clients directly, so this "
    "router sees only half of each TCP handshake and would drop the rest as invalid, "
    "cutting LAN clients whose gateway is the bypass router off the Internet. With "
    "masquerade the replies come back through the bypass router. Cost: the main router "
    "sees every such device as the bypass router.",
    "plan.sysctl.ip_forward": "The bypass router forwards LAN traffic and the forwarded "
    "connections.",
    "plan.sysctl.send_redirects": "An ICMP redirect would tell LAN devices to send their "
    "Internet traffic straight to the main router, skipping the bypass router (its proxy and "
    "its masquerade). The kernel sends redirects if either 'all' or the device allows it.",
    "plan.dhcp.on": "The bypass router's DHCP server hands out {bypass} as gateway and is on "
    "(bypass_dhcp is 1: the main router's DHCP must be off by now).",
    "plan.dhcp.on_dns": "The bypass router's DHCP server hands out {bypass} as gateway and "
    "DNS server and is on (bypass_dhcp is 1: the main router's DHCP must be off by now).",
    "plan.dhcp.prepared": "The bypass router's DHCP server is prepared to hand out {bypass} "
    "as gateway but stays as it is until bypass_dhcp is 1, so that it never runs next to "
    "the main router's.",
    "plan.dhcp.prepared_dns": "The bypass router's DHCP server is prepared to hand out "
    "{bypass} as gateway and DNS server but stays as it is until bypass_dhcp is 1, so that "
    "it never runs next to the main router's.",
    # -- warnings -------------------------------------------------------------------------
    "plan.disabled": "dualnat is disabled: nothing is planned and apply removes its rules",
    "plan.dhcp.no_section": "/etc/config/dhcp has no named 'config dhcp' section for "
    "interface '{interface}', so the bypass router cannot hand itself out as gateway: add "
    "one (LuCI: Network → Interfaces → lan → DHCP Server → Set up DHCP Server) or set dhcp "
    "to 'off'. Until then dualnat apply refuses to run.",
    "plan.invalid_drop_redirects_on": "This router's firewall drops invalid packets "
    "({evidence}) and ICMP redirects are on (disable_redirects is 0): LAN clients that "
    "ignore the redirects lose their TCP connections to the Internet. Set disable_redirects "
    "to 1 and masquerade to 'auto' or 'on', so that the replies come back through the "
    "bypass router.",
}


class Part(i18n_parts.Part):
    """One template of a reason or a warning, with its parameters."""

    TEMPLATES: ClassVar[dict[str, str]] = TEMPLATES


part = Part.of

__all__ = ["PLACEHOLDER", "TEMPLATES", "Part", "part", "render"]
