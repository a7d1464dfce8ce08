"""The plan: plain data that says which rules and settings exist, each with its reason.

A reason (and a warning) is built from parts (reasons.TEMPLATES, see dualnat.i18n_parts):
the English text is the parts rendered, and the JSON carries both, so that LuCI can show
the reason translated."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network
from typing import Any, ClassVar

from .errors import Problem
from .i18n_parts import Part, render
from .model import NetworkState, PortRange, Settings


@lru_cache(maxsize=8192)
def text(value: object) -> str:
    """str() of an address, network or port range, cached (plans and renders repeat them)."""
    return str(value)


def _plain(value: Any) -> Any:
    """Convert plan values to JSON-ready data."""
    if isinstance(value, (IPv4Address, IPv4Network, PortRange)):
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

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "forward": self.forward,
            "reason": self.reason,
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
class MainRouterSettings:
    """What the user enters on the main router, vendor-neutral."""

    bypass_ip: IPv4Address
    vendor: str
    port_forwards: tuple[MainRouterForward, ...]
    dhcp: dict[str, Any]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bypass_ip": str(self.bypass_ip),
            "vendor": self.vendor,
            "port_forwards": [f.to_dict() for f in self.port_forwards],
            "dhcp": _plain(self.dhcp),
            "notes": list(self.notes),
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

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(render(parts) for parts in self.warning_parts)

    def of_kind(self, cls: type[Item]) -> list[Any]:
        return [i for i in self.items if isinstance(i, cls)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.settings.enabled,
            "network": _plain(self.network),
            "items": [i.to_dict() for i in self.items],
            "main_router": self.main_router.to_dict(),
            "warnings": list(self.warnings),
            "warning_parts": [[p.to_dict() for p in parts] for parts in self.warning_parts],
        }
