"""The plan: plain data that says which rules and settings exist, each with its reason.

A reason (and a warning) is built from parts (the catalogue table [reasons], see
dualnat.i18n.parts): `reason` is the English text, and the JSON has the text in the
caller's language and the parts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from functools import cached_property, lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, ClassVar

from .errors import Problem
from .i18n import DEFAULT_LANG, Part, render
from .model import NetworkState, PortRange, Settings
from .proxies.detect import Detected
from .proxies.entries import Manual, Owned
from .public import ResolvedPublic


class MainRouterPart(Part):
    """A sentence about the main router (catalogue table [main_router])."""

    TABLE: ClassVar[str] = "main_router"


main_router_part = MainRouterPart.of


@lru_cache(maxsize=8192)
def text(value: object) -> str:
    """str() of an address, network or port range, cached (plans and renders repeat them)."""
    return str(value)


def _plain(value: Any) -> Any:
    """Convert plan values to JSON-ready data."""
    if isinstance(value, (IPv4Address, IPv4Network, IPv6Address, IPv6Network, PortRange)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class Item:
    """Base of every planned rule or setting on the bypass router.

    The reason is its parts rendered (English); the JSON has both, the parts as
    `reason_parts` right after `reason`."""

    kind: ClassVar[str] = "item"
    forward: str | None
    reason_parts: tuple[Part, ...]

    @property
    def reason(self) -> str:
        return render(self.reason_parts)

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        """The item as JSON, its reason in `lang`."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "forward": self.forward,
            "reason": render(self.reason_parts, lang),
            "reason_parts": [p.to_dict() for p in self.reason_parts],
        }
        for f in fields(self)[2:]:
            data[f.name] = _plain(getattr(self, f.name))
        return data


@dataclass(frozen=True)
class Dnat(Item):
    """Rewrite the destination of new connections matching (source, address, port)."""

    kind: ClassVar[str] = "dnat"
    protos: tuple[str, ...]
    dest_addr: IPv4Address
    dport: PortRange
    to_addr: IPv4Address
    to_port: PortRange
    sources: tuple[IPv4Network, ...] = ()
    hairpin: bool = False

    @property
    def translated(self) -> bool:
        return self.dport != self.to_port


@dataclass(frozen=True)
class Snat(Item):
    """Rewrite the source of forwarded connections to the bypass router's own address."""

    kind: ClassVar[str] = "snat"
    protos: tuple[str, ...]
    dest_addr: IPv4Address
    dport: PortRange
    snat_to: IPv4Address
    sources: tuple[IPv4Network, ...] = ()
    hairpin: bool = False


@dataclass(frozen=True)
class Masquerade(Item):
    """Masquerade LAN traffic that the bypass router sends on to the main router."""

    kind: ClassVar[str] = "masquerade"
    source: IPv4Network
    exclude_dest: IPv4Network
    device: str


@dataclass(frozen=True)
class Sysctl(Item):
    """A kernel setting on the bypass router."""

    kind: ClassVar[str] = "sysctl"
    key: str
    value: str

    @staticmethod
    def name(*parts: str) -> str:
        """A key as sysctl(8) writes it: dotted, or with slashes when a part has a dot
        (a VLAN device such as eth0.1)."""
        return "/".join(parts) if any("." in p for p in parts) else ".".join(parts)

    @property
    def proc_path(self) -> str:
        """The path below /proc/sys."""
        return self.key if "/" in self.key else self.key.replace(".", "/")


@dataclass(frozen=True)
class DhcpServer(Item):
    """The bypass router's DHCP server (dnsmasq, /etc/config/dhcp) hands out itself.

    `options` are dhcp_option entries ('3,<gateway>', '6,<dns>'); `enable` switches the
    server on (ignore '0'), which only happens once the main router's DHCP is off.
    """

    kind: ClassVar[str] = "dhcp"
    section: str
    options: tuple[str, ...]
    enable: bool


@dataclass(frozen=True)
class ProxyExclusion(Item):
    """Forwarded traffic kept away from a transparent proxy on the bypass router (see
    dualnat.proxies): `entries` are what dualnat keeps in the proxy's settings (UCI list
    items, rules-file lines, a firewall4 include), `missing` those of them not in place
    yet, `remove` what dualnat added earlier and no longer wants; `activate` runs after a
    change (the proxy's restart, or a firewall reload); `undo` removes them by hand;
    `manual` is what dualnat cannot do for this proxy (the plan warns about it).
    `public` are the public addresses kept away from it (by dualnat or the user's own
    entry), `where` the setting that does it. In the JSON each entry is an object with
    its `type` (uci, file, include) as in the state file."""

    kind: ClassVar[str] = "proxy"
    proxy: str
    name: str
    tcp: str | None
    udp: str | None
    fake_ip: bool
    public: tuple[IPv4Address, ...] = ()
    where: str = ""
    entries: tuple[Owned, ...] = ()
    missing: tuple[Owned, ...] = ()
    remove: tuple[Owned, ...] = ()
    activate: tuple[str, ...] = ()
    undo: tuple[str, ...] = ()
    manual: tuple[Manual, ...] = ()  # what only a person can do (see the plan's warnings)

    @property
    def pending(self) -> bool:
        """Apply has something to do for this proxy."""
        return bool(self.missing or self.remove)

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        data = super().to_dict(lang)
        for name in ("entries", "missing", "remove"):
            data[name] = [o.to_state() for o in getattr(self, name)]
        return data


@dataclass(frozen=True)
class MainRouterForward:
    """One port forward to enter on the main router (its target is the bypass router)."""

    name: str
    proto: str
    external_port: PortRange
    internal_ip: IPv4Address
    internal_port: PortRange

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class DhcpAdvice:
    """How LAN devices get the bypass router as gateway (see model.DhcpMode): `mode` is
    gateway (the main router's DHCP hands it out), move (the bypass router serves DHCP;
    `bypass_dhcp` says whether its server is on yet) or off."""

    mode: str
    gateway: IPv4Address
    dns: IPv4Address | None
    bypass_dhcp: bool = False


@dataclass(frozen=True)
class RelayNote:
    """The main router targets another port of the bypass router than the external one:
    `services` names the bypass router's own services there ("": bypass_port says so)."""

    forward: str
    external: PortRange
    bypass: PortRange
    services: str = ""


@dataclass(frozen=True)
class MainRouterPinhole:
    """An IPv6 firewall rule for the main router: let new connections from the Internet
    to `port` of the device through. IPv6 has no NAT, so the port is the device's own
    (the forward's internal port) and the address is the device's. `suffix` is its
    interface identifier (the last 64 bits; None when not known), `addresses` its
    current global addresses, `stable` whether the suffix survives a prefix change (from
    its MAC (EUI-64) or ipv6_suffix), `found` how it was learnt: config, eui64,
    neighbour (its one current address) or none."""

    name: str
    proto: str
    port: PortRange
    device: IPv4Address
    suffix: IPv6Address | None
    addresses: tuple[IPv6Address, ...]
    stable: bool
    found: str

    @property
    def match(self) -> str | None:
        """The suffix match of OpenWrt's firewall: the last 64 bits (``::x/-64``)."""
        return f"{self.suffix}/-64" if self.suffix is not None else None

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data["match"] = self.match
        return data


@dataclass(frozen=True)
class Ipv6Advice:
    """Each forward's IPv6 path and pinhole (see dualnat.pinholes): `path` is main_router
    (the main router announces the LAN prefix and routes IPv6 to the devices directly,
    through its own firewall), other_router, unknown (not read, or no IPv6 default
    route) or none (no global IPv6 on the LAN); `missing` are forwards without a pinhole
    and why (parts of the table [main_router]); `notes` the sentences about the path."""

    path: str = "unknown"
    prefixes: tuple[IPv6Network, ...] = ()
    router: str | None = None  # the IPv6 router's link-layer address
    pinholes: tuple[MainRouterPinhole, ...] = ()
    missing: tuple[tuple[str, MainRouterPart], ...] = ()
    notes: tuple[MainRouterPart, ...] = ()

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        return {
            "path": self.path,
            "prefixes": [str(p) for p in self.prefixes],
            "router": self.router,
            "pinholes": [p.to_dict() for p in self.pinholes],
            "missing": [{"name": n, "reason": why.render(lang)} for n, why in self.missing],
            "notes": [p.render(lang) for p in self.notes],
        }


@dataclass(frozen=True)
class MainRouterSettings:
    """What the main router needs, vendor-neutral and as facts: the port forwards (target:
    the bypass router), the DHCP advice, whether hairpin works, and where a forward's
    port differs on the bypass router. The sentences about them are rendered in the
    caller's language (catalogue table [main_router]); `notes` and `dhcp` are the
    English ones."""

    bypass_ip: IPv4Address
    vendor: str
    port_forwards: tuple[MainRouterForward, ...]
    dhcp_advice: DhcpAdvice
    hairpin: bool
    relays: tuple[RelayNote, ...] = ()
    ipv6: Ipv6Advice = field(default=Ipv6Advice())

    @cached_property
    def _by_forward(self) -> dict[str, tuple[MainRouterForward, ...]]:
        out: dict[str, list[MainRouterForward]] = {}
        for pf in self.port_forwards:
            out.setdefault(pf.name, []).append(pf)
        return {name: tuple(pfs) for name, pfs in out.items()}

    def forwards_of(self, name: str) -> tuple[MainRouterForward, ...]:
        """The port forwards of forward `name` (several when its range is split)."""
        return self._by_forward.get(name, ())

    def note_parts(self) -> tuple[MainRouterPart, ...]:
        bypass = text(self.bypass_ip)
        notes = [main_router_part("hairpin" if self.hairpin else "no_hairpin")]
        for r in self.relays:
            values = {"forward": r.forward, "external": text(r.external), "bypass": bypass}
            if r.services:
                notes.append(
                    main_router_part(
                        "relay_service", port=text(r.bypass), services=r.services, **values
                    )
                )
            else:
                notes.append(main_router_part("relay_bypass_port", port=text(r.bypass), **values))
        return tuple(notes)

    def dhcp_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        """The DHCP advice with its reason in `lang`, as `main-router --json` shows it."""
        a = self.dhcp_advice
        if a.mode == "off":
            return {"mode": a.mode, "reason": main_router_part("dhcp.off").render(lang)}
        reason = main_router_part(f"dhcp.{a.mode}", bypass=text(a.gateway)).render(lang)
        out: dict[str, Any] = {"mode": a.mode, "gateway": a.gateway, "dns": a.dns}
        if a.mode == "move":
            out["bypass_dhcp"] = a.bypass_dhcp
        out["reason"] = reason
        return out

    @property
    def dhcp(self) -> dict[str, Any]:
        return self.dhcp_dict()

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(p.render() for p in self.note_parts())

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        return {
            "bypass_ip": str(self.bypass_ip),
            "vendor": self.vendor,
            "port_forwards": [f.to_dict() for f in self.port_forwards],
            "dhcp": _plain(self.dhcp_dict(lang)),
            "notes": [p.render(lang) for p in self.note_parts()],
            "ipv6": self.ipv6.to_dict(lang),
        }


def _ipv6_summary(net: NetworkState) -> dict[str, Any]:
    """The LAN's IPv6 as the plan shows it (without the neighbour tables)."""
    lan = net.ipv6
    return {
        "read": lan.read,
        "prefixes": [str(p) for p in lan.prefixes],
        "router_mac": lan.router_mac,
        "ra_learnt": lan.ra_learnt,
        "main_router_mac": lan.main_router_mac,
        "bypass_announces": lan.bypass_announces,
    }


@dataclass(frozen=True)
class Plan:
    """Everything dualnat will do on the bypass router and ask of the main router.

    Each warning is its parts rendered (English); the JSON's `warning_parts` has the
    parts of each warning, in the same order as `warnings`."""

    settings: Settings
    network: NetworkState
    items: tuple[Item, ...]
    main_router: MainRouterSettings
    warning_parts: tuple[tuple[Part, ...], ...] = field(default=())
    source: str = "/etc/config/dualnat"  # the dualnat config it was planned from
    # What keeps `apply` from writing this plan although it can be shown (a warning says
    # the same): apply raises ConfigInvalid with these.
    apply_blockers: tuple[Problem, ...] = field(default=())
    public: ResolvedPublic = field(default=ResolvedPublic())  # public_address, resolved
    # The transparent proxies found on the bypass router (installed, on, running, mode).
    proxies: tuple[Detected, ...] = field(default=())

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(render(parts) for parts in self.warning_parts)

    def of_kind(self, cls: type[Item]) -> list[Any]:
        return [i for i in self.items if isinstance(i, cls)]

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        """`dualnat plan --json`: every sentence in `lang`."""
        network = _plain(self.network)
        network["ipv6"] = _ipv6_summary(self.network)
        return {
            "enabled": self.settings.enabled,
            "network": network,
            "items": [i.to_dict(lang) for i in self.items],
            "main_router": self.main_router.to_dict(lang),
            "warnings": [render(parts, lang) for parts in self.warning_parts],
            "warning_parts": [[p.to_dict() for p in parts] for parts in self.warning_parts],
            "proxies": [d.to_dict() for d in self.proxies],
        }
