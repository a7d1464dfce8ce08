"""Config + network state → Plan. Pure: no I/O beyond the resolver it is given."""

from __future__ import annotations

import bisect
import socket
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv4Network, collapse_addresses

from .errors import ConfigInvalid, Problem
from .model import (
    NOT_PUBLIC,
    Config,
    Forward,
    KeepSource,
    MasqueradeMode,
    NetworkState,
    PortRange,
    TargetGateway,
)
from .plan import (
    Dnat,
    Item,
    MainRouterForward,
    MainRouterSettings,
    Masquerade,
    Plan,
    Snat,
    Sysctl,
)
from .services import ServicePorts
from .vendors import load_vendor

# A translated range becomes one rule per port (a DNAT range does not map port by port).
MAX_TRANSLATED_RANGE = 256
# Where an automatic relay port is looked for when the external port is a service port.
RELAY_SEARCH_START = 20000

Resolver = Callable[[str], IPv4Address | None]


def resolve_ipv4(name: str) -> IPv4Address | None:
    """Resolve a DNS name to its first IPv4 address (None when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return None
    return IPv4Address(infos[0][4][0]) if infos else None


class _PortBook:
    """Port ranges claimed on the bypass router's address, per protocol, for fast lookups.

    Ranges of one protocol never overlap inside the book (a range is only added after
    `owner_of` found it free), so sorting by the first port also sorts by the last one and
    one bisection answers "does anything overlap?".
    """

    def __init__(self) -> None:
        self._ranges: dict[str, list[tuple[int, int, str]]] = {}

    def owner_of(self, protos: Iterable[str], ports: PortRange) -> tuple[str, str] | None:
        """(owner, protocol) of a claim that overlaps `ports`, or None."""
        for proto in protos:
            ranges = self._ranges.get(proto, [])
            i = bisect.bisect_right(ranges, (ports.last, 65536, ""))
            if i and ranges[i - 1][1] >= ports.first:
                return ranges[i - 1][2], proto
        return None

    def claim(self, protos: Iterable[str], ports: PortRange, owner: str) -> None:
        for proto in protos:
            bisect.insort(self._ranges.setdefault(proto, []), (ports.first, ports.last, owner))


def _service_conflict(protos: Iterable[str], ports: PortRange, services: ServicePorts) -> list[str]:
    return sorted(
        f"{proto}/{port}"
        for proto in protos
        for port in services.for_proto(proto)
        if ports.contains(port)
    )


def _find_relay(fwd: Forward, services: ServicePorts, book: _PortBook) -> PortRange | None:
    """A free range of the same length: external+10000·k first (easy to read), then a scan."""
    protos = fwd.proto.protocols
    size = fwd.external_port.size
    candidates = [fwd.external_port.first + 10000 * k for k in range(1, 7)]
    candidates += range(RELAY_SEARCH_START, 65536 - size + 1)
    for first in candidates:
        if first + size - 1 > 65535:
            continue
        ports = PortRange(first, first + size - 1)
        if not _service_conflict(protos, ports, services) and not book.owner_of(protos, ports):
            return ports
    return None


def _validate_forward(fwd: Forward, net: NetworkState) -> list[Problem]:
    problems: list[Problem] = []

    def bad(fld: str, msg: str) -> None:
        problems.append(Problem(fwd.name, fld, msg))

    ip = fwd.internal_ip
    if ip not in net.lan:
        bad("internal_ip", f"{ip} is not inside the LAN {net.lan}")
    elif ip == net.bypass_ip:
        bad("internal_ip", f"{ip} is the bypass router itself; forward to a device behind it")
    elif ip == net.main_router_ip:
        bad("internal_ip", f"{ip} is the main router; forward to a device behind the bypass router")
    elif net.lan.prefixlen < 31 and ip in (net.lan.network_address, net.lan.broadcast_address):
        bad("internal_ip", f"{ip} is the network or broadcast address of {net.lan}")
    if fwd.target_gateway is TargetGateway.MAIN and fwd.keep_source_ip is KeepSource.YES:
        bad(
            "keep_source_ip",
            "cannot be 'yes' when target_gateway is 'main': the device would answer the "
            "client through the main router, which never saw the connection on that path and "
            "drops the reply; use 'auto' (the bypass router then replaces the source address)",
        )
    if (
        fwd.translated
        and not fwd.external_port.is_single
        and fwd.external_port.size > (MAX_TRANSLATED_RANGE)
    ):
        bad(
            "internal_port",
            f"a range mapped to other ports becomes one rule per port; at most "
            f"{MAX_TRANSLATED_RANGE} ports (keep internal_port equal to external_port for "
            "larger ranges)",
        )
    if fwd.bypass_port is not None and fwd.bypass_port.size != fwd.external_port.size:
        bad("bypass_port", f"must span {fwd.external_port.size} port(s) like external_port")
    return problems


def _assign_relays(
    forwards: tuple[Forward, ...], services: ServicePorts
) -> tuple[dict[str, PortRange], list[Problem]]:
    """Choose, per forward, the port the main router targets on the bypass router."""
    problems: list[Problem] = []
    external = _PortBook()
    # External ports are claimed first: they are where LAN clients expect them.
    for fwd in forwards:
        clash = external.owner_of(fwd.proto.protocols, fwd.external_port)
        if clash is not None:
            problems.append(
                Problem(
                    fwd.name,
                    "external_port",
                    f"{fwd.external_port} overlaps forward '{clash[0]}' on {clash[1]}; "
                    "two forwards cannot share a port",
                )
            )
            continue
        external.claim(fwd.proto.protocols, fwd.external_port, fwd.name)
    if problems:
        return {}, problems
    relays: dict[str, PortRange] = {}
    # Relays must avoid every external port and every relay chosen before them.
    book = external
    moved = [
        f
        for f in forwards
        if f.bypass_port is not None
        or _service_conflict(f.proto.protocols, f.external_port, services)
    ]
    for fwd in forwards:
        if fwd not in moved:
            relays[fwd.name] = fwd.external_port
    for fwd in moved:
        protos = fwd.proto.protocols
        if fwd.bypass_port is not None:
            clash_ports = _service_conflict(protos, fwd.bypass_port, services)
            owner = book.owner_of(protos, fwd.bypass_port)
            if clash_ports:
                problems.append(
                    Problem(
                        fwd.name,
                        "bypass_port",
                        f"{fwd.bypass_port} is a service of the bypass router itself "
                        f"({', '.join(clash_ports)})",
                    )
                )
                continue
            if owner is not None and (owner[0] != fwd.name or fwd.bypass_port != fwd.external_port):
                user = "its own external_port" if owner[0] == fwd.name else f"forward '{owner[0]}'"
                problems.append(
                    Problem(fwd.name, "bypass_port", f"{fwd.bypass_port} overlaps {user}")
                )
                continue
            relays[fwd.name] = fwd.bypass_port
        else:
            relay = _find_relay(fwd, services, book)
            if relay is None:
                problems.append(
                    Problem(fwd.name, "bypass_port", "no free port range is left; set bypass_port")
                )
                continue
            relays[fwd.name] = relay
        if relays[fwd.name] != fwd.external_port:
            book.claim(protos, relays[fwd.name], fwd.name)
    return relays, problems


def _needs_snat(fwd: Forward) -> bool:
    return fwd.target_gateway is TargetGateway.MAIN or fwd.keep_source_ip is KeepSource.NO


def _forward_items(
    fwd: Forward, relay: PortRange, net: NetworkState, public_ip: IPv4Address | None
) -> list[Item]:
    protos = fwd.proto.protocols
    b, t = net.bypass_ip, fwd.internal_ip
    target = f"{t}:{fwd.internal_port}"
    sources: tuple[IPv4Network, ...] = tuple(collapse_addresses(fwd.allow_source))
    reason = (
        f"Connections that the main router forwards to {b}:{relay} go on to {target}. "
        f"The rule matches the bypass router's own address {b}, so LAN clients' outgoing "
        f"traffic to port {relay} elsewhere is left alone."
    )
    if relay != fwd.external_port:
        reason += (
            f" The main router targets port {relay} instead of {fwd.external_port} because "
            f"{fwd.external_port} is a service of the bypass router itself, which LAN clients "
            "keep reaching."
        )
    if sources:
        if fwd.hairpin:
            sources = tuple(collapse_addresses([*sources, net.lan]))
        reason += " Only sources in allow_source may connect" + (
            " (and LAN clients, which reach the device directly anyway)." if fwd.hairpin else "."
        )
    items: list[Item] = [Dnat(fwd.name, reason, protos, b, relay, t, fwd.internal_port, sources)]
    snat_all = _needs_snat(fwd)
    if snat_all:
        why = (
            "its gateway is the main router"
            if fwd.target_gateway is TargetGateway.MAIN
            else "keep_source_ip is 'no'"
        )
        items.append(
            Snat(
                fwd.name,
                f"{t} must send its replies back through the bypass router, and {why}: the source "
                f"becomes {b}, so the device sees {b} instead of the client's address. Without "
                "this the reply goes straight to the main router, which drops it.",
                protos,
                t,
                fwd.internal_port,
                b,
            )
        )
    if fwd.hairpin and public_ip is not None:
        items.append(
            Dnat(
                fwd.name,
                f"Hairpin: LAN clients that use the bypass router as gateway and connect to the "
                f"public address {public_ip}:{fwd.external_port} reach {target} directly. "
                "(Firewall4's own reflection does nothing on a bypass router.)",
                protos,
                public_ip,
                fwd.external_port,
                t,
                fwd.internal_port,
                (net.lan,),
                hairpin=True,
            )
        )
    if fwd.hairpin and not snat_all:
        items.append(
            Snat(
                fwd.name,
                f"Hairpin: connections from LAN addresses (LAN clients, or the main router's own "
                f"NAT loopback) get the source {b}; otherwise {t} would answer them directly on "
                "the LAN and the reply would not match. Clients on the Internet keep their "
                "address.",
                protos,
                t,
                fwd.internal_port,
                b,
                (net.lan,),
                hairpin=True,
            )
        )
    return items


def _masquerade_wanted(config: Config) -> tuple[bool, str]:
    mode = config.settings.masquerade
    if mode is MasqueradeMode.ON:
        return True, "masquerade is 'on'"
    if mode is MasqueradeMode.OFF:
        return False, ""
    vendor = load_vendor(config.settings.main_router_vendor)
    if vendor.bridge_netfilter_risk:
        return True, f"the main router ({vendor.name}) runs bridged traffic through netfilter"
    return False, ""


def _system_items(config: Config, net: NetworkState) -> list[Item]:
    items: list[Item] = []
    wanted, why = _masquerade_wanted(config)
    if wanted:
        items.append(
            Masquerade(
                None,
                f"LAN traffic that leaves through the bypass router gets its address "
                f"{net.bypass_ip} because {why}; otherwise Wi-Fi clients whose gateway is the "
                "bypass router lose IPv4 (the main router's conntrack remembers their first hop "
                "as 'no NAT'). Cost: the main router sees every such device as the bypass "
                "router.",
                net.lan,
                net.lan,
                net.lan_device,
            )
        )
    items.append(
        Sysctl(
            None,
            "The bypass router forwards LAN traffic and the forwarded connections.",
            "net.ipv4.ip_forward",
            "1",
        )
    )
    if config.settings.disable_redirects:
        why = (
            "An ICMP redirect would tell LAN devices to send their traffic to the main router "
            "directly, skipping the bypass router; replies to forwarded connections would then "
            "miss the bypass router's NAT."
        )
        for dev in ("all", net.lan_device):
            items.append(
                Sysctl(
                    None,
                    why + " The kernel sends redirects if either 'all' or the device allows it.",
                    f"net.ipv4.conf.{dev}.send_redirects",
                    "0",
                )
            )
    return items


def _main_router(
    config: Config, net: NetworkState, relays: dict[str, PortRange], hairpin_active: bool
) -> MainRouterSettings:
    vendor = load_vendor(config.settings.main_router_vendor)
    forwards = tuple(
        MainRouterForward(f.name, f.proto.value, f.external_port, net.bypass_ip, relays[f.name])
        for f in config.enabled_forwards
        if f.name in relays
    )
    if vendor.dhcp_gateway_override:
        dhcp = {
            "mode": "gateway",
            "gateway": net.bypass_ip,
            "reason": f"The main router's DHCP server can hand out another gateway: set it to "
            f"{net.bypass_ip} so that LAN devices use the bypass router.",
        }
    else:
        dhcp = {
            "mode": "move",
            "gateway": net.bypass_ip,
            "reason": "The main router's DHCP server cannot hand out another gateway: serve DHCP "
            f"from the bypass router ({net.bypass_ip}) instead. Prepare it first, turn "
            "DHCP off on the main router, then turn it on on the bypass router, so that "
            "two DHCP servers never run at once.",
        }
    notes: list[str] = []
    if hairpin_active:
        notes.append(
            "Hairpin: LAN clients whose gateway is the bypass router reach forwarded ports on "
            "the public address through the bypass router. Clients that use the main router as "
            "gateway need the main router's NAT loopback turned on."
        )
    else:
        notes.append(
            "No hairpin: set public_address so that LAN clients can use the public address; "
            "until then they must use the device's LAN address."
        )
    for f in forwards:
        if f.internal_port != f.external_port:
            notes.append(
                f"Forward '{f.name}': the main router sends port {f.external_port} to "
                f"{net.bypass_ip}:{f.internal_port} (not {f.external_port}), because "
                f"{f.external_port} is a service of the bypass router."
            )
    return MainRouterSettings(net.bypass_ip, vendor.id, forwards, dhcp, tuple(notes))


def build_plan(
    config: Config,
    net: NetworkState,
    services: ServicePorts | None = None,
    resolve: Resolver = resolve_ipv4,
) -> Plan:
    """Validate and plan; raise ConfigInvalid with every problem, naming forward and field."""
    services = services or ServicePorts.defaults()
    problems: list[Problem] = []
    forwards = config.enabled_forwards if config.settings.enabled else ()
    for fwd in forwards:
        problems += _validate_forward(fwd, net)
    relays, relay_problems = _assign_relays(forwards, services)
    problems += relay_problems
    public_ip: IPv4Address | None = None
    address = config.settings.public_address
    if address and config.settings.enabled:
        try:
            public_ip = IPv4Address(address)
        except ValueError:
            public_ip = resolve(address)
            if public_ip is None:
                problems.append(
                    Problem(
                        "main",
                        "public_address",
                        f"'{address}' does not resolve to an IPv4 address",
                        "settings",
                    )
                )
            elif any(public_ip in n for n in NOT_PUBLIC):
                problems.append(
                    Problem(
                        "main",
                        "public_address",
                        f"'{address}' resolves to {public_ip}, which is not public",
                        "settings",
                    )
                )
                public_ip = None
    if problems:
        raise ConfigInvalid(problems)

    warnings: list[str] = []
    items: list[Item] = []
    if not config.settings.enabled:
        warnings.append("dualnat is disabled: nothing is planned and apply removes its rules")
    else:
        for fwd in forwards:
            items += _forward_items(fwd, relays[fwd.name], net, public_ip)
        items += _system_items(config, net)
    hairpin_active = public_ip is not None and any(f.hairpin for f in forwards)
    return Plan(
        settings=config.settings,
        network=net,
        items=tuple(items),
        main_router=_main_router(config, net, relays, hairpin_active),
        warnings=tuple(warnings),
    )
