"""The options of /etc/config/dualnat: one table of every option of every section type.

Each option has its kind, whether it is a single value or a list, its bounds, its default
(the model's, see model.Settings and model.Forward) and a help key; `parse` turns its text
into the model's value or raises ValueError with a plain message. The config reader
(config.py) refuses every option and section type that is not here; the API's schemas and
LuCI's field lists are checked against this table.

    OPTIONS["forward"]["external_port"].parse("8000-8010")  # PortRange(8000, 8010)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Any

from .errors import Invalid
from .model import (
    NOT_PUBLIC,
    DhcpMode,
    DropsInvalid,
    Forward,
    KeepSource,
    MainRouterControl,
    MasqueradeMode,
    PortRange,
    Proto,
    ProxyCoexist,
    Settings,
    TargetGateway,
)
from .vendors import vendor_ids

SETTINGS_TYPE = "dualnat"
SETTINGS_NAME = "main"
FORWARD_TYPE = "forward"
MAX_ALLOW_SOURCES = 64
MAX_DESCRIPTION = 128
TRUE_WORDS = frozenset({"1", "yes", "on", "true", "enabled"})
FALSE_WORDS = frozenset({"0", "no", "off", "false", "disabled"})
PUBLIC_ADDRESS_AUTO = "auto"
INTERFACE_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
MAX_USER = 128  # an OPNsense API key has 80 characters
MAX_PATH = 255
URL_CHARS = len("https://255.255.255.255:65535/")
LEASE_MIN, LEASE_MAX = 30, 604800  # seconds (0: as long as the router allows)
URL_RE = re.compile(r"(https?)://(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?/?")
USER_RE = re.compile(rf"[^\s\x00-\x1f\x7f]{{1,{MAX_USER}}}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


# -- the values ---------------------------------------------------------------------------


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid("value.bool", text=text)


def parse_ipv4(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise Invalid("value.ipv4", text=text) from None


def parse_source(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        raise Invalid("value.network", text=text) from None


IID_MASK = (1 << 64) - 1  # the interface identifier: the last 64 bits of an IPv6 address


def parse_ipv6_suffix(text: str) -> IPv6Address:
    """A device's IPv6 interface identifier, ``::a:b:c:d`` (the last 64 bits); a whole
    address is cut to its last 64 bits. Zero is refused."""
    try:
        addr = IPv6Address(text.strip().split("/")[0])
    except ValueError:
        raise Invalid("value.ipv6_suffix", text=text[:64]) from None
    iid = int(addr) & IID_MASK
    if "/" in text or not iid:
        raise Invalid("value.ipv6_suffix", text=text[:64])
    return IPv6Address(iid)


def parse_public_address(text: str) -> str:
    """An IPv4 address, a DNS name or ``auto`` (discovered over HTTP, see publicip.py);
    private and special addresses are refused."""
    if text.lower() == PUBLIC_ADDRESS_AUTO:
        return PUBLIC_ADDRESS_AUTO
    try:
        addr = IPv4Address(text)
    except ValueError:
        labels = text.rstrip(".").split(".")
        if (
            len(text) > 253
            or len(labels) < 2
            or not all(_HOST_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()
        ):
            raise Invalid("value.address", text=text) from None
        return text.rstrip(".").lower()
    if any(addr in net for net in NOT_PUBLIC):
        raise Invalid("value.not_public", address=addr)
    return str(addr)


def parse_vendor(text: str) -> str:
    vendor = text.lower()
    if vendor not in vendor_ids():
        raise Invalid("value.choice", text=text, choices=", ".join(sorted(vendor_ids())))
    return vendor


def parse_interface(text: str) -> str:
    if not INTERFACE_RE.fullmatch(text):
        raise Invalid("value.interface", text=text)
    return text


def parse_router_url(text: str) -> str:
    """``http(s)://<IPv4 address>[:port]`` (the main router's LAN address; the planner
    checks that it is), in its plain form; no name, user, path or query."""
    m = URL_RE.fullmatch(text.strip().lower())
    try:
        address = IPv4Address(m.group(2)) if m else None
        port = int(m.group(3)) if m and m.group(3) else None
    except ValueError:
        address = None
    if m is None or address is None or (port is not None and not 1 <= port <= 65535):
        raise Invalid("value.router_url", text=text)
    return f"{m.group(1)}://{address}" + (f":{port}" if port else "")


def parse_user(text: str) -> str:
    """A user name (or OPNsense's API key): printable, no spaces, at most MAX_USER."""
    if not USER_RE.fullmatch(text):
        raise Invalid("value.user", n=MAX_USER)
    return text


def parse_path(text: str) -> str:
    """An absolute file path."""
    parts = text.split("/")
    if not text.startswith("/") or len(text) > MAX_PATH or ".." in parts:
        raise Invalid("value.path", text=text[:64])
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise Invalid("value.control")
    return text


def parse_lease(text: str) -> int:
    """Seconds of a UPnP lease: 0 (as long as the router allows) or LEASE_MIN-LEASE_MAX."""
    try:
        seconds = int(text.strip())
    except ValueError:
        seconds = -1
    if seconds != 0 and not LEASE_MIN <= seconds <= LEASE_MAX:
        raise Invalid("value.lease", text=text[:16], min=LEASE_MIN, max=LEASE_MAX)
    return seconds


def parse_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise Invalid("value.too_long", n=MAX_DESCRIPTION)
    return text


def choice(enum: type[StrEnum]) -> Callable[[str], StrEnum]:
    """A parser for one of the enum's values (any letter case)."""

    def parse(text: str) -> StrEnum:
        try:
            return enum(text.lower())
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            raise Invalid("value.choice", text=text, choices=allowed) from None

    return parse


# -- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option of a section type.

    `kind` names the value's form for forms and schemas: bool, choice, ipv4, ports,
    address (public_address), network (allow_source), interface, vendor, text, url (the
    main router's), user, path, seconds, suffix (an IPv6 interface identifier).
    `default` is the model's value when the option is absent (None: unset; for
    internal_port, "the external port"). `help` is the key of its help text.
    """

    name: str
    kind: str
    parse: Callable[[str], Any]
    default: Any = None
    is_list: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    max_items: int = 0
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        """What `dualnat schema --json` and LuCI see."""
        default = self.default.value if isinstance(self.default, StrEnum) else self.default
        if isinstance(default, tuple):
            default = list(default)
        return {
            "name": self.name,
            "kind": self.kind,
            "list": self.is_list,
            "required": self.required,
            "default": default if isinstance(default, (str, bool, int, list)) else None,
            "choices": list(self.choices),
            "max_items": self.max_items,
            "help": self.help,
        }


def _defaults(model: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(model):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _table(model: type, section: str, options: Iterable[Option]) -> Mapping[str, Option]:
    """Options with the model's defaults filled in (the model is where defaults live)."""
    defaults = _defaults(model)
    return {
        o.name: dataclasses.replace(
            o,
            default=defaults.get(o.name, o.default),
            help=o.help or f"{section}.{o.name}",
        )
        for o in options
    }


def _choice(name: str, enum: type[StrEnum], **kw: Any) -> Option:
    return Option(name, "choice", choice(enum), choices=tuple(m.value for m in enum), **kw)


def _bool(name: str) -> Option:
    return Option(name, "bool", parse_bool)


OPTIONS: Mapping[str, Mapping[str, Option]] = {
    SETTINGS_TYPE: _table(
        Settings,
        "settings",
        (
            _bool("enabled"),
            Option("lan_interface", "interface", parse_interface),
            Option("bypass_ip", "ipv4", parse_ipv4),
            Option("main_router_ip", "ipv4", parse_ipv4),
            Option(
                "main_router_vendor", "vendor", parse_vendor, choices=tuple(sorted(vendor_ids()))
            ),
            Option("public_address", "address", parse_public_address),
            _choice("masquerade", MasqueradeMode),
            _bool("disable_redirects"),
            _choice("firewall_drops_invalid", DropsInvalid),
            _choice("dhcp", DhcpMode),
            _bool("dhcp_dns"),
            _bool("bypass_dhcp"),
            _choice("proxy_coexist", ProxyCoexist),
            _choice("main_router_control", MainRouterControl),
            Option("main_router_url", "url", parse_router_url),
            Option("main_router_user", "user", parse_user),
            Option("main_router_ca", "path", parse_path),
            _bool("main_router_insecure"),
            Option("main_router_lease", "seconds", parse_lease),
        ),
    ),
    FORWARD_TYPE: _table(
        Forward,
        "forward",
        (
            _bool("enabled"),
            _choice("proto", Proto, default=Proto.TCP),
            Option("external_port", "ports", PortRange.parse, required=True),
            Option("internal_ip", "ipv4", parse_ipv4, required=True),
            Option("internal_port", "ports", PortRange.parse),
            _choice("target_gateway", TargetGateway),
            _choice("keep_source_ip", KeepSource),
            _bool("hairpin"),
            Option(
                "allow_source", "network", parse_source, is_list=True, max_items=MAX_ALLOW_SOURCES
            ),
            Option("bypass_port", "ports", PortRange.parse),
            Option("description", "text", parse_description),
            _bool("ipv6"),
            Option("ipv6_suffix", "suffix", parse_ipv6_suffix),
        ),
    ),
}
SECTION_TYPES = tuple(OPTIONS)


def schema() -> dict[str, Any]:
    """The table as JSON-ready data: section type → list of options (`dualnat schema`)."""
    return {
        section: [option.to_dict() for option in options.values()]
        for section, options in OPTIONS.items()
    }
