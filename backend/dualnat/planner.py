"""Config + network state + vendor profile + resolved public address → Plan.

Pure: everything it needs is gathered before it runs (context.make_plan reads the files,
looks up the public address, loads the vendor profile); it reads nothing and looks
nothing up itself. The plan holds facts; the sentences about them are rendered from the
catalogues in the caller's language."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, collapse_addresses

from .errors import ConfigInvalid, Problem, ProblemPart, says
from .memo import Memo
from .model import (
    Config,
    DhcpMode,
    DropsInvalid,
    Forward,
    KeepSource,
    MasqueradeMode,
    NetworkState,
    PortRange,
    ProxyCoexist,
    Settings,
    TargetGateway,
)
from .pinholes import plan_ipv6
from .plan import (
    DhcpAdvice,
    DhcpServer,
    Dnat,
    Item,
    MainRouterForward,
    MainRouterSettings,
    Masquerade,
    Plan,
    ProxyExclusion,
    RelayNote,
    Snat,
    Sysctl,
    text,
)
from .proxies.catalog import PROXIES, Capture, Mode, Proxy
from .proxies.detect import Detected
from .proxies.entries import FileLine, NftInclude, Owned, UciEdit, entry_text, marked_lines
from .proxies.exclude import Exclusion, Manual, activate_for, facts_from_items, plan_exclusion
from .proxies.inputs import ProxyInputs
from .public import ResolvedPublic, resolve_public
from .reasons import Part, part
from .services import ServicePorts
from .vendors import VendorProfile, load_vendor

# A translated range becomes one rule per port (a DNAT range does not map port by port).
MAX_TRANSLATED_RANGE = 256
# Where an automatic relay port is looked for when the external port is a service port.
RELAY_SEARCH_START = 20000


@dataclass(frozen=True)
class Relay:
    """A piece of a forward: the main router sends `external` to the bypass router's `bypass`.

    When the ports differ, `services` names the bypass router's services that the
    external ports hold ("" when bypass_port moved them).
    """

    external: PortRange
    bypass: PortRange
    services: str = ""

    @property
    def why(self) -> str:
        """Why the ports differ ("" when they are equal)."""
        if self.external == self.bypass:
            return ""
        if self.services:
            return f"{self.services} is a service of the bypass router"
        return "bypass_port says so"


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
    """The bypass router's service ports inside `ports`, as proto/port in numeric order."""
    return [
        f"{proto}/{port}"
        for proto, port in sorted(
            (proto, port)
            for proto in protos
            for port in services.for_proto(proto)
            if ports.contains(port)
        )
    ]


def _find_relay(
    protos: tuple[str, ...], ports: PortRange, services: ServicePorts, book: _PortBook
) -> PortRange | None:
    """A free range as long as `ports`: ports+10000·k first (easy to read), then a scan."""
    size = ports.size
    candidates = [ports.first + 10000 * k for k in range(1, 7)]
    candidates += range(RELAY_SEARCH_START, 65536 - size + 1)
    for first in candidates:
        if first + size - 1 > 65535:
            continue
        found = PortRange(first, first + size - 1)
        if not _service_conflict(protos, found, services) and not book.owner_of(protos, found):
            return found
    return None


def _split_on_services(
    protos: tuple[str, ...], ports: PortRange, services: ServicePorts
) -> list[tuple[PortRange, bool]]:
    """Cut `ports` into maximal pieces that are free (False) and single service ports (True)."""
    pieces: list[tuple[PortRange, bool]] = []
    busy = {p for proto in protos for p in services.for_proto(proto) if ports.contains(p)}
    start = ports.first
    for port in sorted(busy):
        if port > start:
            pieces.append((PortRange(start, port - 1), False))
        pieces.append((PortRange.single(port), True))
        start = port + 1
    if start <= ports.last:
        pieces.append((PortRange(start, ports.last), False))
    return pieces


def _validate_forward(fwd: Forward, net: NetworkState) -> list[Problem]:
    problems: list[Problem] = []

    def bad(fld: str, template_id: str, **params: object) -> None:
        problems.append(Problem.of(fwd.name, fld, template_id, **params))

    ip, lan = fwd.internal_ip, net.lan
    if ip not in lan:
        bad("internal_ip", "forward.not_in_lan", ip=ip, lan=lan)
    elif ip == net.bypass_ip:
        bad("internal_ip", "forward.is_bypass", ip=ip)
    elif ip == net.main_router_ip:
        bad("internal_ip", "forward.is_main", ip=ip)
    elif lan.prefixlen < 31 and ip in (lan.network_address, lan.broadcast_address):
        bad("internal_ip", "forward.broadcast", ip=ip, lan=lan)
    if fwd.target_gateway is TargetGateway.MAIN and fwd.keep_source_ip is KeepSource.YES:
        bad("keep_source_ip", "forward.keep_source")
    if (
        fwd.translated
        and not fwd.external_port.is_single
        and fwd.external_port.size > (MAX_TRANSLATED_RANGE)
    ):
        bad("internal_port", "forward.translated_range", n=MAX_TRANSLATED_RANGE)
    if fwd.bypass_port is not None and fwd.bypass_port.size != fwd.external_port.size:
        size = fwd.external_port.size
        bad("bypass_port", f"bypass_port.span.{'one' if size == 1 else 'other'}", n=size)
    return problems


def _assign_relays(
    forwards: tuple[Forward, ...], services: ServicePorts, range_translation: bool
) -> tuple[dict[str, list[Relay]], list[Problem]]:
    """Choose, per forward, the port(s) the main router targets on the bypass router.

    A forward keeps its external port unless that is a service of the bypass router itself
    or `bypass_port` says otherwise. Explicit bypass ports are placed first, so the result
    does not depend on the order of the forwards. When the main router cannot map a port
    range to other ports (`range_translation` false in its vendor profile), only the
    service ports of a range move, each as a single-port forward.
    """
    problems: list[Problem] = []
    book = _PortBook()
    # External ports are claimed first: they are where LAN clients expect them.
    for fwd in forwards:
        clash = book.owner_of(fwd.proto.protocols, fwd.external_port)
        if clash is not None:
            problems.append(
                Problem.of(
                    fwd.name,
                    "external_port",
                    "forward.overlap",
                    ports=fwd.external_port,
                    other=clash[0],
                    proto=clash[1],
                )
            )
            continue
        book.claim(fwd.proto.protocols, fwd.external_port, fwd.name)
    if problems:
        return {}, problems
    relays: dict[str, list[Relay]] = {}
    explicit = [f for f in forwards if f.bypass_port is not None]
    for fwd in explicit:
        protos, wanted = fwd.proto.protocols, fwd.bypass_port
        assert wanted is not None
        clash_ports = _service_conflict(protos, wanted, services)
        owner = book.owner_of(protos, wanted)
        why: Problem | None = None
        if clash_ports:
            services_text = ", ".join(clash_ports)
            why = Problem.of(
                fwd.name, "bypass_port", "bypass_port.service", ports=wanted, services=services_text
            )
        elif owner is not None and (owner[0] != fwd.name or wanted != fwd.external_port):
            if owner[0] == fwd.name:
                why = Problem.of(fwd.name, "bypass_port", "bypass_port.own", ports=wanted)
            else:
                why = Problem.of(
                    fwd.name, "bypass_port", "bypass_port.taken", ports=wanted, other=owner[0]
                )
        elif wanted != fwd.external_port and not wanted.is_single and not range_translation:
            why = Problem.of(fwd.name, "bypass_port", "bypass_port.range")
        if why is not None:
            problems.append(why)
            continue
        relays[fwd.name] = [Relay(fwd.external_port, wanted)]
        if wanted != fwd.external_port:
            book.claim(protos, wanted, fwd.name)
    for fwd in forwards:
        if fwd.bypass_port is not None:
            continue
        protos = fwd.proto.protocols
        if not _service_conflict(protos, fwd.external_port, services):
            relays[fwd.name] = [Relay(fwd.external_port, fwd.external_port)]
            continue
        if range_translation or fwd.external_port.is_single:
            pieces = [(fwd.external_port, True)]
        else:
            pieces = _split_on_services(protos, fwd.external_port, services)
        segments: list[Relay] = []
        for ports, moved in pieces:
            if not moved:
                segments.append(Relay(ports, ports))
                continue
            relay = _find_relay(protos, ports, services, book)
            busy = ", ".join(_service_conflict(protos, ports, services))
            if relay is None:
                problems.append(
                    Problem.of(
                        fwd.name,
                        "bypass_port",
                        "bypass_port.no_relay",
                        ports=fwd.external_port,
                        services=busy,
                        n=ports.size,
                    )
                )
                break
            segments.append(Relay(ports, relay, busy))
            book.claim(protos, relay, fwd.name)
        else:
            relays[fwd.name] = segments
    return relays, problems


def _needs_snat(fwd: Forward) -> bool:
    return fwd.target_gateway is TargetGateway.MAIN or fwd.keep_source_ip is KeepSource.NO


def _dnat_reason(seg: Relay, to: str, net: NetworkState) -> list[Part]:
    port = text(seg.bypass)
    reason = [part("plan.dnat", bypass=text(net.bypass_ip), port=port, target=to)]
    if seg.external != seg.bypass:
        external = text(seg.external)
        if seg.services:
            reason.append(
                part("plan.dnat.relay_service", port=port, external=external, services=seg.services)
            )
        else:
            reason.append(part("plan.dnat.relay_bypass_port", port=port, external=external))
    return reason


_ITEMS: Memo[tuple[Item, ...]] = Memo(2048)


def _forward_items(
    fwd: Forward, relays: list[Relay], net: NetworkState, public_ip: IPv4Address | None
) -> tuple[Item, ...]:
    """The items of one forward (the same inputs give the same items: kept, see memo.py)."""
    key = (fwd, tuple(relays), net, public_ip)
    return _ITEMS.get(key, lambda: tuple(_make_forward_items(fwd, relays, net, public_ip)))


def _make_forward_items(
    fwd: Forward, relays: list[Relay], net: NetworkState, public_ip: IPv4Address | None
) -> list[Item]:
    protos = fwd.proto.protocols
    b, t = net.bypass_ip, fwd.internal_ip
    bs, ts = text(b), text(t)
    target = f"{ts}:{fwd.internal_port}"
    sources: tuple[IPv4Network, ...] = tuple(collapse_addresses(fwd.allow_source))
    note: tuple[Part, ...] = ()
    if sources:
        if fwd.hairpin:
            sources = tuple(collapse_addresses([*sources, net.lan]))
        note = (part("plan.dnat.allow_source_lan" if fwd.hairpin else "plan.dnat.allow_source"),)
    items: list[Item] = []
    offset = fwd.internal_port.first - fwd.external_port.first
    for seg in relays:
        to_port = seg.external.shifted(offset)
        reason = (*_dnat_reason(seg, f"{ts}:{to_port}", net), *note)
        items.append(Dnat(fwd.name, reason, protos, b, seg.bypass, t, to_port, sources))
    snat_all = _needs_snat(fwd)
    if snat_all:
        why = (
            "plan.snat.gateway_main"
            if fwd.target_gateway is TargetGateway.MAIN
            else "plan.snat.keep_source_no"
        )
        items.append(
            Snat(
                fwd.name,
                (part(why, device=ts, bypass=bs),),
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
                (
                    part(
                        "plan.dnat.hairpin",
                        public=text(public_ip),
                        port=text(fwd.external_port),
                        target=target,
                    ),
                ),
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
                (part("plan.snat.hairpin", bypass=bs, device=ts),),
                protos,
                t,
                fwd.internal_port,
                b,
                (net.lan,),
                hairpin=True,
            )
        )
    return items


def drops_invalid(settings: Settings, net: NetworkState) -> str | None:
    """Where the bypass router's firewall drops invalid forwarded packets (None: it does not)."""
    mode = settings.firewall_drops_invalid
    if mode is DropsInvalid.YES:
        return "firewall_drops_invalid is 'yes'"
    if mode is DropsInvalid.NO:
        return None
    return net.drops_invalid


@dataclass(frozen=True)
class _MasqueradeChoice:
    """Whether to masquerade (`reason` None: no), and what the settings risk otherwise."""

    reason: Part | None = None
    problem: ProblemPart | None = None
    warning: Part | None = None


def _masquerade_choice(
    config: Config, net: NetworkState, vendor: VendorProfile
) -> _MasqueradeChoice:
    """Masquerade when asked to, when the main router's vendor needs it (bridge netfilter),
    or when the firewall drops invalid packets and ICMP redirects are off: then the main
    router answers LAN clients directly, this router sees half of each TCP handshake and
    drops the rest as invalid, and only masquerade brings the replies back through it."""
    settings = config.settings
    bypass = text(net.bypass_ip)
    mode = settings.masquerade
    if mode is MasqueradeMode.ON:
        return _MasqueradeChoice(part("plan.masquerade.on", bypass=bypass))
    dropping = drops_invalid(settings, net)
    breaks_lan = dropping is not None and settings.disable_redirects
    if mode is MasqueradeMode.OFF:
        if breaks_lan:
            return _MasqueradeChoice(problem=says("masquerade.breaks_lan", evidence=dropping))
    else:
        if vendor.bridge_netfilter_risk:
            return _MasqueradeChoice(
                part("plan.masquerade.vendor", bypass=bypass, vendor=vendor.name)
            )
        if breaks_lan:
            return _MasqueradeChoice(
                part("plan.masquerade.invalid_drop", bypass=bypass, evidence=dropping)
            )
    if dropping is not None:
        return _MasqueradeChoice(warning=part("plan.invalid_drop_redirects_on", evidence=dropping))
    return _MasqueradeChoice()


def _system_items(config: Config, net: NetworkState, why: Part | None) -> list[Item]:
    items: list[Item] = []
    if why is not None:
        items.append(
            Masquerade(
                None,
                (why,),
                net.lan,
                net.lan,
                net.lan_device,
            )
        )
    items.append(
        Sysctl(
            None,
            (part("plan.sysctl.ip_forward"),),
            "net.ipv4.ip_forward",
            "1",
        )
    )
    if config.settings.disable_redirects:
        redirects = (part("plan.sysctl.send_redirects"),)
        for dev in ("all", net.lan_device):
            items.append(
                Sysctl(
                    None,
                    redirects,
                    Sysctl.name("net", "ipv4", "conf", dev, "send_redirects"),
                    "0",
                )
            )
    return items


def dhcp_mode(config: Config, vendor: VendorProfile) -> DhcpMode:
    """The DHCP mode in effect: `auto` follows the main router's vendor profile."""
    mode = config.settings.dhcp
    if mode is not DhcpMode.AUTO:
        return mode
    return DhcpMode.GATEWAY if vendor.dhcp_gateway_override else DhcpMode.MOVE


def _dhcp_items(
    config: Config, net: NetworkState, mode: DhcpMode
) -> tuple[list[Item], list[Problem], list[Part]]:
    """The DHCP item; without the LAN's dhcp section, a warning and what blocks apply."""
    if mode is not DhcpMode.MOVE:
        return [], [], []
    if net.dhcp_section is None:
        interface = config.settings.lan_interface
        blocker = Problem.of("main", "dhcp", "dhcp.no_section", "settings", interface=interface)
        return [], [blocker], [part("plan.dhcp.no_section", interface=interface)]
    b = text(net.bypass_ip)
    options = (f"3,{b}", f"6,{b}") if config.settings.dhcp_dns else (f"3,{b}",)
    dns = config.settings.dhcp_dns
    if config.settings.bypass_dhcp:
        reason = "plan.dhcp.on_dns" if dns else "plan.dhcp.on"
    else:
        reason = "plan.dhcp.prepared_dns" if dns else "plan.dhcp.prepared"
    item = DhcpServer(
        None, (part(reason, bypass=b),), net.dhcp_section, options, config.settings.bypass_dhcp
    )
    return [item], [], []


def _main_router(
    config: Config,
    net: NetworkState,
    relays: dict[str, list[Relay]],
    hairpin_active: bool,
    vendor: VendorProfile,
    mode: DhcpMode,
) -> MainRouterSettings:
    forwards = tuple(
        MainRouterForward(f.name, f.proto.value, seg.external, net.bypass_ip, seg.bypass)
        for f in config.enabled_forwards
        for seg in relays.get(f.name, [])
    )
    dns = net.bypass_ip if config.settings.dhcp_dns else None
    advice = DhcpAdvice(mode.value, net.bypass_ip, dns, config.settings.bypass_dhcp)
    notes = tuple(
        RelayNote(f.name, seg.external, seg.bypass, seg.services)
        for f in config.enabled_forwards
        for seg in relays.get(f.name, [])
        if seg.external != seg.bypass
    )
    enabled = config.enabled_forwards if config.settings.enabled else ()
    ipv6 = plan_ipv6(enabled, net.ipv6)
    return MainRouterSettings(
        net.bypass_ip, vendor.id, forwards, advice, hairpin_active, notes, ipv6
    )


# -- transparent proxies (dualnat.proxies) ----------------------------------------------

# How a proxy takes a protocol, as the reasons name it (technical names, not translated).
CAPTURE_NAMES = {Capture.REDIRECT: "REDIRECT", Capture.TPROXY: "TPROXY", Capture.TUN: "TUN"}


def _in_place(entry: Owned, inputs: ProxyInputs) -> bool:
    """Whether an entry dualnat wants is in the proxy's settings as they are now."""
    if isinstance(entry, UciEdit):
        from .uci import Document

        text_ = inputs.configs.get(entry.config)
        doc = Document.parse(text_ or "", entry.config)
        section = doc.section(entry.section)
        return section is not None and entry.value in section.get_list(entry.option)
    current = inputs.files.get(entry.path, "")
    if isinstance(entry, FileLine):
        lines = current.splitlines()
        return any(lines[i] == entry.line for i in marked_lines(current))
    assert isinstance(entry, NftInclude)
    return current == entry.text


def _mode_part(name: str, mode: Mode) -> Part:
    tcp = CAPTURE_NAMES[mode.tcp] if mode.tcp else ""
    if mode.udp is None:
        return part("plan.proxy.on_tcp", name=name, tcp=tcp)
    return part("plan.proxy.on", name=name, tcp=tcp, udp=CAPTURE_NAMES[mode.udp])


def _replies_part(proxy: Proxy, mode: Mode, excl: Exclusion) -> Part | None:
    if excl.includes:
        return part("plan.proxy.replies_rule", name=proxy.name, path=excl.includes[0].path)
    if proxy.skips_replies:
        return part("plan.proxy.replies_skipped")
    if not mode.marks_at_mangle:
        return part("plan.proxy.replies_nat")
    return None


def _hairpin_parts(proxy: Proxy, mode: Mode, excl: Exclusion) -> list[Part]:
    added = [e for e in (*excl.uci, *excl.files)]
    if not added:
        return []
    public = ", ".join(sorted({e.line if isinstance(e, FileLine) else e.value for e in added}))
    why = "plan.proxy.hairpin.mangle" if mode.marks_at_mangle else "plan.proxy.hairpin.redirect"
    return [
        part(why, name=proxy.name, public=public),
        part("plan.proxy.hairpin.added", name=proxy.name, public=public, where=excl.where),
    ]


def _manual_warning(proxy: Proxy, manual: Manual, public: str) -> Part:
    if manual.why == "no_setting":
        return part("plan.proxy.manual.no_setting", name=proxy.name, public=public)
    if manual.why == "no_section":
        return part("plan.proxy.manual.no_section", name=proxy.name, where=manual.where)
    return part("plan.proxy.manual.replies", name=proxy.name)


def _fake_ip_warning(proxy: Proxy, public: ResolvedPublic) -> Part:
    how = proxy.fake_ip_filter
    if public.is_name and public.configured:
        domain = public.configured
        return part(
            "plan.proxy.fake_ip.name", name=proxy.name, domain=domain, how=how.format(domain=domain)
        )
    return part("plan.proxy.fake_ip", name=proxy.name, how=how.format(domain="<domain>"))


def _proxy_item(
    proxy: Proxy,
    detected: Detected | None,
    excl: Exclusion,
    reason: list[Part],
    inputs: ProxyInputs,
) -> ProxyExclusion:
    """The plan item of an exclusion; `reason` is extended with what is removed and what
    runs after a change."""
    mode = detected.mode if detected is not None else None
    owned = excl.owned
    missing = tuple(o for o in owned if not _in_place(o, inputs))
    if excl.activate and (missing or excl.stale):
        reason.append(
            part("plan.proxy.restart", name=proxy.name, command=" && ".join(excl.activate))
        )
    return ProxyExclusion(
        None,
        tuple(reason),
        proxy.key,
        proxy.name,
        mode.tcp.value if mode and mode.tcp else None,
        mode.udp.value if mode and mode.udp else None,
        bool(mode and mode.fake_ip),
        public=excl.hairpin,
        where=excl.where,
        entries=owned,
        missing=missing,
        remove=excl.stale,
        activate=excl.activate,
        undo=excl.undo_by_hand() if owned else (),
        manual=excl.manual,
    )


def _exclusion_reason(proxy: Proxy, mode: Mode, excl: Exclusion) -> list[Part]:
    reason = [_mode_part(proxy.name, mode), part("plan.proxy.inbound", name=proxy.name)]
    reason += _hairpin_parts(proxy, mode, excl)
    reason += [
        part(
            "plan.proxy.hairpin.users",
            name=proxy.name,
            public=str(left.public),
            entry=left.entry,
            where=left.where,
        )
        for left in excl.left_alone
    ]
    replies = _replies_part(proxy, mode, excl)
    if replies is not None:
        reason.append(replies)
    if not excl.owned and not excl.left_alone:
        reason.append(part("plan.proxy.nothing"))
    if excl.stale:
        reason.append(part("plan.proxy.stale", entries=", ".join(map(entry_text, excl.stale))))
    return reason


def _proxy_items(
    settings: Settings,
    inputs: ProxyInputs,
    items: list[Item],
    public: ResolvedPublic,
) -> tuple[list[Item], list[Part]]:
    """One item per proxy that dualnat keeps forwards away from (proxy_coexist 'auto',
    the proxy on, forwards enabled) or whose earlier entries it removes; warnings for
    what only a person can do (a proxy without a usable setting, fake-ip DNS) and for
    proxy_coexist 'off'."""
    facts = facts_from_items(items)
    auto = settings.proxy_coexist is ProxyCoexist.AUTO
    out: list[Item] = []
    warnings: list[Part] = []
    keys = [d.proxy.key for d in inputs.detected]
    keys += [k for k in inputs.owned if k not in keys and k in PROXIES]
    for key in keys:
        detected = inputs.detected_of(key)
        proxy = detected.proxy if detected is not None else PROXIES[key]
        owned = inputs.owned.get(key, ())
        mode = detected.mode if detected is not None and detected.active else None
        if auto and mode is not None and facts:
            assert detected is not None
            excl = plan_exclusion(
                detected,
                facts,
                config_text=inputs.configs.get(proxy.config),
                files=inputs.files,
                owned=owned,
                public_name=public.configured if public.is_name else None,
                running=detected.running or not inputs.ruleset_read,
            )
            reason = _exclusion_reason(proxy, mode, excl)
            out.append(_proxy_item(proxy, detected, excl, reason, inputs))
            public_text = ", ".join(sorted({str(f.public_ip) for f in facts if f.public_ip}))
            warnings += [_manual_warning(proxy, m, public_text) for m in excl.manual]
            if excl.fake_ip:
                warnings.append(_fake_ip_warning(proxy, public))
            continue
        if mode is not None and not auto and facts:
            warnings.append(part("plan.proxy.coexist_off", name=proxy.name))
        if not owned:
            continue
        why = (
            "plan.proxy.removed.off"
            if not auto
            else "plan.proxy.removed.unused"
            if mode is not None
            else "plan.proxy.removed.gone"
        )
        # A proxy that is off reads its settings when it starts: no restart (which could
        # start it); an include still needs the firewall to reload.
        running = detected is not None and (detected.running or not inputs.ruleset_read)
        activate = activate_for(proxy, owned, running=mode is not None and running)
        excl = Exclusion(key, None, stale=owned, activate=activate)
        reason = [part(why, name=proxy.name, entries=", ".join(map(entry_text, owned)))]
        out.append(_proxy_item(proxy, detected, excl, reason, inputs))
    return out, warnings


def _settings_problem(option: str, part: ProblemPart) -> Problem:
    return Problem("main", option, part.render(), "settings", parts=(part,))


def _main_router_problems(settings: Settings, net: NetworkState) -> list[Problem]:
    """The main-router control's settings against the LAN: its URL must name the main
    router's LAN address (dualnat sends the password nowhere else), and a CA file and
    'do not verify' exclude each other."""
    problems = []
    url = settings.main_router_url
    host = url.split("://", 1)[1].split(":")[0] if url else None
    if host is not None and host != str(net.main_router_ip):
        why = says("main_router.url_elsewhere", host=host, router=net.main_router_ip)
        problems.append(_settings_problem("main_router_url", why))
    if settings.main_router_ca and settings.main_router_insecure:
        why = says("main_router.ca_and_insecure")
        problems.append(_settings_problem("main_router_insecure", why))
    return problems


def build_plan(
    config: Config,
    net: NetworkState,
    services: ServicePorts | None = None,
    *,
    vendor: VendorProfile | None = None,
    public: ResolvedPublic | None = None,
    proxies: ProxyInputs | None = None,
) -> Plan:
    """Validate and plan; raise ConfigInvalid with every problem, naming forward and field.

    `vendor` is the main router's profile (default: the configured vendor's); `public`
    is public_address as the caller resolved it (default: only an address written as one
    counts, a name resolves to nothing here); `proxies` what is known about transparent
    proxies on the bypass router (default: none)."""
    services = services or ServicePorts.defaults()
    settings = config.settings
    if vendor is None:
        vendor = load_vendor(settings.main_router_vendor)
    if public is None:
        public = resolve_public(settings.public_address)
    problems: list[Problem] = []
    forwards = config.enabled_forwards if settings.enabled else ()
    for fwd in forwards:
        problems += _validate_forward(fwd, net)
    relays, relay_problems = _assign_relays(forwards, services, vendor.range_translation)
    problems += relay_problems
    problems += _main_router_problems(settings, net)
    public_ip = public.address if settings.enabled else None
    if settings.enabled and public.problem:
        problems.append(_settings_problem("public_address", public.problem))
    mode = dhcp_mode(config, vendor)
    dhcp_items: list[Item] = []
    blockers: list[Problem] = []
    dhcp_warnings: list[Part] = []
    masquerade = _MasqueradeChoice()
    if settings.enabled:
        dhcp_items, blockers, dhcp_warnings = _dhcp_items(config, net, mode)
        masquerade = _masquerade_choice(config, net, vendor)
        if masquerade.problem:
            problems.append(_settings_problem("masquerade", masquerade.problem))
    if problems:
        raise ConfigInvalid(problems)

    warnings: list[tuple[Part, ...]] = []
    items: list[Item] = []
    if not settings.enabled:
        warnings.append((part("plan.disabled"),))
    else:
        for fwd in forwards:
            items += _forward_items(fwd, relays[fwd.name], net, public_ip)
        items += _system_items(config, net, masquerade.reason)
        items += dhcp_items
        if masquerade.warning is not None:
            warnings.append((masquerade.warning,))
        if public.no_public:
            warnings.append((part("plan.no_public_address", router=public.no_public),))
        warnings += [(w,) for w in dhcp_warnings]
        if proxies is not None:
            proxy_items, proxy_warnings = _proxy_items(settings, proxies, items, public)
            items += proxy_items
            warnings += [(w,) for w in proxy_warnings]
    hairpin_active = public_ip is not None and any(f.hairpin for f in forwards)
    return Plan(
        settings=settings,
        network=net,
        items=tuple(items),
        main_router=_main_router(config, net, relays, hairpin_active, vendor, mode),
        warning_parts=tuple(warnings),
        apply_blockers=tuple(blockers),
        source=config.source,
        public=public,
        proxies=proxies.detected if proxies is not None else (),
    )
