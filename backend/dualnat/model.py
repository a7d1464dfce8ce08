"""What a dualnat configuration is: typed, validated values and nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from .errors import Invalid

NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# Addresses that can never be the main router's public address (RFC 1918, carrier NAT,
# loopback, link-local, multicast, reserved). Documentation ranges stay allowed for examples.
NOT_PUBLIC = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


class Proto(StrEnum):
    """Transport protocol(s) of a forward."""

    TCP = "tcp"
    UDP = "udp"
    TCPUDP = "tcpudp"

    @property
    def protocols(self) -> tuple[str, ...]:
        """The single protocols this value stands for, in a fixed order."""
        return ("tcp", "udp") if self is Proto.TCPUDP else (self.value,)

    def shares_protocol_with(self, other: Proto) -> bool:
        return bool(set(self.protocols) & set(other.protocols))


class TargetGateway(StrEnum):
    """The default gateway that the target device uses."""

    BYPASS = "bypass"
    MAIN = "main"


class KeepSource(StrEnum):
    """Whether the target should see the real client address."""

    AUTO = "auto"
    YES = "yes"
    NO = "no"


class MasqueradeMode(StrEnum):
    """Masquerade LAN traffic that leaves through the bypass router."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class DropsInvalid(StrEnum):
    """Whether the bypass router's own firewall drops invalid forwarded packets."""

    AUTO = "auto"  # firewall4's drop_invalid, and on the router the loaded rules
    YES = "yes"
    NO = "no"


class ProxyCoexist(StrEnum):
    """Whether dualnat keeps forwarded traffic away from a transparent proxy on this router
    (OpenClash, PassWall, homeproxy, nikki; see dualnat.proxies)."""

    AUTO = "auto"  # for every proxy that is detected: its settings, dualnat's include
    OFF = "off"  # dualnat leaves the proxies alone (and removes what it added)


class DhcpMode(StrEnum):
    """How LAN devices learn that the bypass router is their gateway."""

    AUTO = "auto"  # from the main router's vendor profile
    GATEWAY = "gateway"  # the main router's DHCP hands out the bypass router as gateway
    MOVE = "move"  # the bypass router serves DHCP instead of the main router
    OFF = "off"  # dualnat leaves DHCP alone


class MainRouterControl(StrEnum):
    """How the main router gets its port forwards (see dualnat.mainrouter)."""

    MANUAL = "manual"  # the user enters them, following the instructions
    UPNP = "upnp"  # UPnP IGD mappings, any router that offers them
    OPENWRT = "openwrt"  # OpenWrt's ubus over HTTP (uhttpd + rpcd)
    OPNSENSE = "opnsense"  # OPNsense's port-forward API (26.1 or later)
    IKUAI = "ikuai"  # iKuai's web API


_PORTS_RE = re.compile(r"(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?")


@dataclass(frozen=True, order=True)
class PortRange:
    """An inclusive port range; a single port has first == last."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if not (1 <= self.first <= 65535 and 1 <= self.last <= 65535):
            raise Invalid("value.ports_range")
        if self.first > self.last:
            raise Invalid("value.ports_reversed", first=self.first, last=self.last)

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """Parse ``"80"`` or ``"8000-8010"``; ValueError with a plain message otherwise."""
        text = text.strip()
        m = _PORTS_RE.fullmatch(text)
        if not m:
            raise Invalid("value.ports_syntax", text=text)
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        return cls(first, last)

    @classmethod
    def single(cls, port: int) -> PortRange:
        return cls(port, port)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def is_single(self) -> bool:
        return self.first == self.last

    def overlaps(self, other: PortRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def contains(self, port: int) -> bool:
        return self.first <= port <= self.last

    def shifted(self, offset: int) -> PortRange:
        return PortRange(self.first + offset, self.last + offset)

    def __str__(self) -> str:
        return str(self.first) if self.is_single else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Settings:
    """The global section ``config dualnat 'main'``."""

    enabled: bool = True
    lan_interface: str = "lan"
    bypass_ip: IPv4Address | None = None
    main_router_ip: IPv4Address | None = None
    main_router_vendor: str = "generic"
    public_address: str | None = None
    masquerade: MasqueradeMode = MasqueradeMode.AUTO
    disable_redirects: bool = True
    firewall_drops_invalid: DropsInvalid = DropsInvalid.AUTO
    dhcp: DhcpMode = DhcpMode.AUTO
    dhcp_dns: bool = True
    bypass_dhcp: bool = False
    proxy_coexist: ProxyCoexist = ProxyCoexist.AUTO
    main_router_control: MainRouterControl = MainRouterControl.MANUAL
    main_router_url: str | None = None  # http(s)://<main_router_ip>[:port]; None: the kind's
    main_router_user: str | None = None  # OPNsense: the API key
    main_router_ca: str | None = None  # PEM file to check the main router's certificate with
    main_router_insecure: bool = False  # HTTPS without checking the certificate (a risk)
    main_router_lease: int = 3600  # seconds asked for each UPnP mapping (0: the router's most)


@dataclass(frozen=True)
class Forward:
    """One ``config forward`` section: a port that the main router forwards."""

    name: str
    proto: Proto
    external_port: PortRange
    internal_ip: IPv4Address
    internal_port: PortRange
    enabled: bool = True
    target_gateway: TargetGateway = TargetGateway.BYPASS
    keep_source_ip: KeepSource = KeepSource.AUTO
    hairpin: bool = True
    allow_source: tuple[IPv4Network, ...] = ()
    bypass_port: PortRange | None = None
    description: str = ""
    ipv6: bool = True  # also advise (and push) an IPv6 pinhole to the device
    ipv6_suffix: IPv6Address | None = None  # the device's interface identifier (::a:b:c:d)

    @property
    def translated(self) -> bool:
        """True when the internal port differs from the external one."""
        return self.internal_port != self.external_port


@dataclass(frozen=True)
class Config:
    """The whole /etc/config/dualnat."""

    settings: Settings = field(default_factory=Settings)
    forwards: tuple[Forward, ...] = ()
    source: str = "/etc/config/dualnat"  # the file it was read from

    @property
    def enabled_forwards(self) -> tuple[Forward, ...]:
        return tuple(f for f in self.forwards if f.enabled)


@dataclass(frozen=True)
class Ipv6Lan:
    """The LAN's IPv6 as the bypass router sees it (network6.py reads it on the router;
    `read` False off it). Link-layer addresses are lower-case "aa:bb:cc:dd:ee:ff"."""

    read: bool = False  # the kernel's tables were read
    prefixes: tuple[IPv6Network, ...] = ()  # global /64s on the LAN
    router_mac: str | None = None  # who the bypass router's IPv6 default route points to
    ra_learnt: bool = False  # that route (or an address) came from a router advertisement
    main_router_mac: str | None = None  # the main router's, from the IPv4 neighbour table
    bypass_announces: bool = False  # this router's own RA server is on for the LAN (dhcp)
    neighbours: tuple[tuple[IPv6Address, str], ...] = ()  # global neighbours, their MAC
    macs: tuple[tuple[IPv4Address, str], ...] = ()  # IPv4 neighbours, their MAC

    def mac_of(self, ip: IPv4Address) -> str | None:
        return next((mac for addr, mac in self.macs if addr == ip), None)

    def addresses_of(self, mac: str) -> tuple[IPv6Address, ...]:
        return tuple(sorted(a for a, m in self.neighbours if m == mac))


@dataclass(frozen=True)
class NetworkState:
    """What the bypass router's LAN looks like."""

    lan_device: str
    bypass_ip: IPv4Address
    lan: IPv4Network
    main_router_ip: IPv4Address
    lan_zone: str = "lan"
    dhcp_section: str | None = "lan"
    # Where the bypass router's firewall drops invalid forwarded packets (the config
    # option or the loaded rule, see invalid_drop.py); None when it does not.
    drops_invalid: str | None = None
    ipv6: Ipv6Lan = field(default_factory=Ipv6Lan)
