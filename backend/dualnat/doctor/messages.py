"""The English templates of the findings' messages and fixes, so that LuCI can translate them.

A finding's message (and its fix) is a list of parts, each a template id from TEMPLATES
with its parameters; the parts work as dualnat.i18n_parts describes (the planner's
reasons use the same machinery). LuCI's overview has the same templates in
MESSAGE_TEMPLATES (through _(), so the po files translate them); a package test keeps
both tables equal.
"""

from __future__ import annotations

from typing import ClassVar

from .. import i18n_parts
from ..i18n_parts import PLACEHOLDER, render

TEMPLATES: dict[str, str] = {
    # -- fixes shared by several findings ----------------------------------------------
    "reload.fw4": "Run dualnat apply (it writes the dualnat_* sections into "
    "/etc/config/firewall and reloads firewall4); if it ran already, reload the firewall: "
    "/etc/init.d/firewall reload.",
    "reload.nft": "Load the rules again: dualnat render --format nft | nft -f - (and make "
    "sure this runs at boot).",
    "reload.iptables": "Load the rules again: dualnat render --format iptables | sh (and "
    "make sure this runs at boot).",
    "reload.none": "On OpenWrt run dualnat apply; on a plain Linux bypass router load "
    "dualnat render --format nft | nft -f - (or --format iptables | sh).",
    # -- forward.rules_missing ----------------------------------------------------------
    "forward.rules_missing.none.one": "The bypass router has not loaded the {n} rule that "
    "dualnat needs for this forward (firewall: {kind}): dualnat apply was not run, or the "
    "firewall was not reloaded since, or something removed it.",
    "forward.rules_missing.none.other": "The bypass router has none of dualnat's {n} rules "
    "for this forward loaded (firewall: {kind}): dualnat apply was not run, or the firewall "
    "was not reloaded since, or something removed them.",
    "forward.rules_missing.some": "The bypass router has only {present} of dualnat's "
    "{expected} rules for this forward loaded (firewall: {kind}): dualnat apply was not "
    "run, or the firewall was not reloaded since, or something removed them.",
    "forward.rules_missing.arrived.one": "{n} connection arrived at {relays} and went nowhere.",
    "forward.rules_missing.arrived.other": "{n} connections arrived at {relays} and went nowhere.",
    "forward.rules_missing.no_trace": "No connection to the forward is tracked either, but "
    "without the rules a TCP connection to a port nothing listens on leaves no trace: "
    "whether the main router forwards the port shows once the rules are loaded.",
    # -- forward.unchecked ----------------------------------------------------------------
    "forward.unchecked": "The connection table could not be read, so whether connections "
    "arrive and get replies is unknown.",
    "forward.unchecked.fix": "Run dualnat doctor as root (see the system finding about the table).",
    # -- forward.source_not_allowed -------------------------------------------------------
    "forward.source_not_allowed.one": "{n} connection from {sources} was not forwarded: the "
    "forward only accepts sources in allow_source.",
    "forward.source_not_allowed.other": "{n} connections from {sources} were not forwarded: "
    "the forward only accepts sources in allow_source.",
    "forward.source_not_allowed.fix": "If they should get through, add their network to "
    "list allow_source of forward '{forward}' and run dualnat apply.",
    # -- forward.no_traffic ---------------------------------------------------------------
    "forward.no_traffic": "No connection to {relays} is in the bypass router's connection "
    "table: nobody connected from outside recently, or the main router does not forward "
    "the port to the bypass router {bypass}.",
    "forward.no_traffic.also_ip_forward": "Also, {key} is 0 here, and the kernel drops "
    "forwarded connections before they are tracked.",
    "forward.no_traffic.also_rp_filter": "Also, strict rp_filter is on, and it drops "
    "packets before they are tracked.",
    "forward.no_traffic.also_both": "Also, {key} is 0 here, and the kernel drops forwarded "
    "connections before they are tracked; strict rp_filter is on, and it drops packets "
    "before they are tracked.",
    "forward.no_traffic.fix": "On the main router ({vendor}), forward {port_forwards}. Then "
    "connect from outside (a phone on mobile data) to {public} and run dualnat doctor "
    "again.",
    "forward.no_traffic.fix_no_public": "On the main router ({vendor}), forward "
    "{port_forwards}. Then connect from outside (a phone on mobile data) to the public "
    "address and run dualnat doctor again.",
    # -- forward.direct_to_device ---------------------------------------------------------
    "forward.direct_to_device": "The device {device} sends from its forwarded port "
    "({ports}) to Internet addresses through the bypass router, but no connection arrives "
    "at {bypass}: the main router forwards the port straight to the device, and the device "
    "answers through its gateway, the bypass router, which never saw the connection (TCP "
    "replies are dropped there; UDP may get through until a proxy or a stateful filter "
    "takes the flow).",
    "forward.direct_to_device.fix": "Change the main router's port forward so that it "
    "targets the bypass router: {port_forwards}.",
    # -- forward.ok -----------------------------------------------------------------------
    "forward.ok.one": "{n} connection forwarded to {device_port} and answered, from "
    "{clients}. The device sees {device_sees} as the client.",
    "forward.ok.other": "{n} connections forwarded to {device_port} and answered, from "
    "{clients}. The device sees {device_sees} as the client.",
    # -- forward.partly_unreplied ---------------------------------------------------------
    "forward.partly_unreplied.one": "{n} connection got replies, {unreplied} did not (from "
    "{sources}).",
    "forward.partly_unreplied.other": "{n} connections got replies, {unreplied} did not "
    "(from {sources}).",
    "forward.partly_unreplied.fix": "If the unanswered ones have something in common (LAN "
    "clients using the public address, one Internet address), that path is the one to look "
    "at; a few unanswered attempts (port scans, clients that gave up) are normal.",
    # -- forward.target_silent ------------------------------------------------------------
    "forward.target_silent.one": "{n} connection was forwarded to {device_port} with the "
    "source {bypass}, so the replies had to come back here, but the device never answered.",
    "forward.target_silent.other": "{n} connections were forwarded to {device_port} with "
    "the source {bypass}, so the replies had to come back here, but the device never "
    "answered.",
    "forward.target_silent.fix": "Check that {device} is on, listens on {device_port}, and "
    "that its own firewall accepts connections from {bypass}.",
    # -- forward.unreplied ----------------------------------------------------------------
    "forward.unreplied.one": "{n} connection from {clients} was forwarded to {device_port} "
    "(DNAT happened), but no reply came back. The device answers the client address "
    "through its own default gateway; when that is the main router ({main_ip}), the main "
    "router drops the reply, because it expects it from {bypass}.",
    "forward.unreplied.other": "{n} connections from {clients} were forwarded to "
    "{device_port} (DNAT happened), but no reply came back. The device answers the client "
    "address through its own default gateway; when that is the main router ({main_ip}), "
    "the main router drops the reply, because it expects it from {bypass}.",
    "forward.unreplied.fix_check_device": "Check that {device} is on and listens on "
    "{device_port}, and that its firewall accepts {clients}. If its gateway is the main "
    "router after all, set option target_gateway 'main' for forward '{forward}' and run "
    "dualnat apply.",
    "forward.unreplied.fix_snat": "Set option target_gateway 'main' for forward '{forward}' "
    "(or keep_source_ip 'no') and run dualnat apply: the bypass router then replaces the "
    "source with {bypass}, so the replies come back through it (the device sees {bypass} "
    "instead of the client). Or make {bypass} the device's gateway (DHCP).",
    # -- forward.stale_connections --------------------------------------------------------
    "forward.stale_connections.one": "{n} connection reached the bypass router without "
    "being forwarded while others were: they started before the rules were loaded, and the "
    "kernel keeps a connection's translation for its whole life (long-lived UDP flows never "
    "pick up new rules).",
    "forward.stale_connections.other": "{n} connections reached the bypass router without "
    "being forwarded while others were: they started before the rules were loaded, and the "
    "kernel keeps a connection's translation for its whole life (long-lived UDP flows never "
    "pick up new rules).",
    "forward.stale_connections.fix": "Delete them so that they start again through the "
    "rules: {commands}",
    # -- forward.not_translated -----------------------------------------------------------
    "forward.not_translated.one": "{n} connection reached the bypass router at {relays}, "
    "and none was forwarded to {device} although the rules are loaded: the connections "
    "started before the rules were loaded, or the rules are for another LAN device than "
    "{lan_device}.",
    "forward.not_translated.other": "{n} connections reached the bypass router at "
    "{relays}, and none was forwarded to {device} although the rules are loaded: the "
    "connections started before the rules were loaded, or the rules are for another LAN "
    "device than {lan_device}.",
    "forward.not_translated.fix": "Delete the old connections ({commands}); if new ones are "
    "not forwarded either, run dualnat apply again (the LAN device may have changed).",
    # -- system findings ------------------------------------------------------------------
    "system.disabled": "dualnat is disabled in /etc/config/dualnat: it plans no rules.",
    "system.disabled.fix": "Set option enabled '1' in config dualnat 'main' and run dualnat apply.",
    "system.ruleset_unreadable": "Neither `nft list ruleset` nor `iptables-save -t nat` "
    "could run, so whether the rules are loaded is unknown.",
    "system.ruleset_unreadable.fix": "Run dualnat doctor as root.",
    "system.several_rulesets.two": "dualnat's rules are loaded in {first} and {second} at "
    "the same time (checked: {kind}). The first translation wins, and removing one leaves "
    "the other.",
    "system.several_rulesets.three": "dualnat's rules are loaded in {first} and {second} "
    "and {third} at the same time (checked: {kind}). The first translation wins, and "
    "removing one leaves the other.",
    "system.several_rulesets.fix": "Keep one way: firewall4 on OpenWrt (dualnat apply); "
    "remove the others with dualnat render --format nft --revert | nft -f - or dualnat "
    "render --format iptables --revert | sh.",
    "system.masquerade_missing": "dualnat plans to masquerade LAN traffic that leaves "
    "through the bypass router, but the rule is not loaded: Wi-Fi clients behind a main "
    "router that runs bridged traffic through netfilter lose IPv4.",
    "system.conntrack_unavailable": "Neither /proc/net/nf_conntrack nor the conntrack tool "
    "could be read, so the doctor cannot tell whether connections arrive and get replies.",
    "system.conntrack_unavailable.fix": "Run dualnat doctor as root; on OpenWrt install the "
    "conntrack package (opkg install conntrack) if /proc/net/nf_conntrack is missing.",
    "system.masquerade_off": "masquerade is 'off', but the main router ({vendor}) runs "
    "bridged traffic through netfilter: its Wi-Fi clients whose gateway is the bypass "
    "router lose IPv4 unless the bypass router masquerades (the main router remembers their "
    "first, bridged pass as 'no NAT'). The bypass router cannot see this failure, because "
    "the replies never reach it; check from such a Wi-Fi client.",
    "system.masquerade_off.fix": "Set option masquerade 'auto' (or 'on') in config dualnat "
    "'main' and run dualnat apply. Cost: the main router then sees those devices as the "
    "bypass router.",
    "system.invalid_drop": "This machine's firewall drops invalid forwarded packets, "
    "ICMP redirects are off and no masquerade rule is loaded: the main router answers LAN "
    "clients directly, so this machine sees only half of each TCP handshake and drops the "
    "rest as invalid. LAN clients whose gateway is the bypass router cannot open TCP "
    "connections to the Internet.",
    "system.invalid_drop.fix": "Set option masquerade 'auto' (or 'on') in config dualnat "
    "'main' and run dualnat apply (the main router then sees those devices as the bypass "
    "router); or stop dropping invalid packets (LuCI: Network → Firewall → Drop invalid "
    "packets).",
    # -- kernel settings ------------------------------------------------------------------
    "system.ip_forward_off": "This machine does not forward IPv4 packets: nothing that "
    "arrives for a forward (and no LAN traffic that uses it as gateway) gets through. The "
    "kernel drops such connections before they enter the connection table.",
    "system.ip_forward_off.fix": "sysctl -w {key}=1 (dualnat apply sets it and keeps it in "
    "/etc/sysctl.d/90-dualnat.conf; check that nothing turns it off at boot).",
    "system.redirects_on": "This machine sends ICMP redirects: it tells LAN devices that "
    "forward through it on {device} to use the main router directly, so their traffic skips "
    "the bypass router (its proxy, its masquerade) after the first packets. The kernel "
    "sends them when either 'all' or the device allows it.",
    "system.redirects_on.planned": "dualnat plans them off, so the settings were not "
    "applied (apply not run since boot, or something set them back).",
    "system.redirects_on.chosen": "disable_redirects is '0' in /etc/config/dualnat.",
    "system.redirects_on.fix_planned": "Run dualnat apply, or sysctl -w {all_key}=0 "
    "{device_key}=0.",
    "system.redirects_on.fix_chosen": "Set option disable_redirects '1' in "
    "/etc/config/dualnat and run dualnat apply.",
    "system.rp_filter_strict": "Strict reverse-path filtering is on for {device} (the "
    "kernel uses the larger of 'all' and the device): a packet is dropped unless the reply "
    "to its source would leave through {device} again. Forwarded connections from sources "
    "this machine routes elsewhere (a proxy's tun device, policy routing, a second uplink) "
    "vanish without a trace in the connection table.",
    "system.rp_filter_strict.fix": "sysctl -w {all_key}=2 {device_key}=2 (loose) unless "
    "you rely on strict mode.",
    "system.bridge_netfilter": "Bridged traffic on this machine passes through its firewall "
    "and connection tracking (br_netfilter). A connection first seen while it crossed the "
    "bridge is tracked without NAT; packets of it that this machine later routes skip "
    "dualnat's translation (the failure Linksys and Netgear main routers show), and the "
    "firewall's rules apply to traffic that only crosses the bridge.",
    "system.bridge_netfilter.fix": "sysctl -w {key}=0, unless a service here (Docker, a "
    "bridge firewall) needs it.",
}


class Part(i18n_parts.Part):
    """One template of a message or a fix, with its parameters."""

    TEMPLATES: ClassVar[dict[str, str]] = TEMPLATES


part = Part.of
plural = Part.plural

__all__ = ["PLACEHOLDER", "TEMPLATES", "Part", "part", "plural", "render"]
