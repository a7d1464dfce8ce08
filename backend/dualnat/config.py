"""Read /etc/config/dualnat (a UCI document) into the typed model, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from .errors import ConfigInvalid, Problem
from .model import (
    NAME_RE,
    NOT_PUBLIC,
    Config,
    DhcpMode,
    DropsInvalid,
    Forward,
    KeepSource,
    MasqueradeMode,
    PortRange,
    Proto,
    Settings,
    TargetGateway,
)
from .uci import Document, Section
from .vendors import vendor_ids

T = TypeVar("T")

CONFIG_NAME = "dualnat"
MAX_ALLOW_SOURCES = 64
MAX_DESCRIPTION = 128
TRUE_WORDS = {"1", "yes", "on", "true", "enabled"}
FALSE_WORDS = {"0", "no", "off", "false", "disabled"}
HOST_RE_PART = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
PUBLIC_ADDRESS_AUTO = "auto"


class _Reader:
    """Typed access to one section's options that records problems instead of raising."""

    def __init__(self, section: Section, kind: str, name: str, problems: list[Problem]) -> None:
        self.section = section
        self.kind = kind
        self.name = name
        self.problems = problems

    def problem(self, fld: str, message: str) -> None:
        self.problems.append(Problem(self.name, fld, message, self.kind))

    def raw(self, fld: str) -> str | None:
        value = self.section.options.get(fld)
        if isinstance(value, list):
            self.problem(fld, "must be a single value, not a list")
            return None
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def missing(self, fld: str) -> bool:
        value = self.section.options.get(fld)
        return value is None or (isinstance(value, str) and not value.strip())

    def typed(self, fld: str, parse: Callable[[str], T], default: T) -> T:
        text = self.raw(fld)
        if text is None:
            return default
        try:
            return parse(text)
        except ValueError as exc:
            self.problem(fld, str(exc))
            return default

    def boolean(self, fld: str, default: bool) -> bool:
        return self.typed(fld, parse_bool, default)


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"'{text}' is not a boolean (use 1 or 0)")


def _choice(enum: type) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return enum(text.lower())
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            raise ValueError(f"'{text}' is not one of: {allowed}") from None

    return parse


def parse_ipv4(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an IPv4 address") from None


def parse_source(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        raise ValueError(f"'{text}' is not an IPv4 address or network (a.b.c.d/nn)") from None


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
            or not all(re.fullmatch(HOST_RE_PART, label) for label in labels)
            or labels[-1].isdigit()
        ):
            raise ValueError(f"'{text}' is neither an IPv4 address nor a DNS name") from None
        return text.rstrip(".").lower()
    if any(addr in net for net in NOT_PUBLIC):
        raise ValueError(
            f"{addr} is not a public address; use the main router's WAN address "
            "(behind carrier NAT there is no public address to hairpin to)"
        )
    return str(addr)


def parse_vendor(text: str) -> str:
    vendor = text.lower()
    if vendor not in vendor_ids():
        raise ValueError(f"'{text}' is not one of: {', '.join(sorted(vendor_ids()))}")
    return vendor


def _settings(section: Section | None, problems: list[Problem]) -> Settings:
    if section is None:
        return Settings()
    r = _Reader(section, "settings", section.name or "main", problems)
    lan_interface = r.raw("lan_interface") or "lan"
    if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", lan_interface):
        r.problem("lan_interface", f"'{lan_interface}' is not an interface name")
    return Settings(
        enabled=r.boolean("enabled", True),
        lan_interface=lan_interface,
        bypass_ip=r.typed("bypass_ip", parse_ipv4, None),
        main_router_ip=r.typed("main_router_ip", parse_ipv4, None),
        main_router_vendor=r.typed("main_router_vendor", parse_vendor, "generic"),
        public_address=r.typed("public_address", parse_public_address, None),
        masquerade=r.typed("masquerade", _choice(MasqueradeMode), MasqueradeMode.AUTO),
        disable_redirects=r.boolean("disable_redirects", True),
        firewall_drops_invalid=r.typed(
            "firewall_drops_invalid", _choice(DropsInvalid), DropsInvalid.AUTO
        ),
        dhcp=r.typed("dhcp", _choice(DhcpMode), DhcpMode.AUTO),
        dhcp_dns=r.boolean("dhcp_dns", True),
        bypass_dhcp=r.boolean("bypass_dhcp", False),
    )


def _forward(section: Section, index: int, problems: list[Problem]) -> Forward | None:
    name = section.name or f"@forward[{index}]"
    r = _Reader(section, "forward", name, problems)
    before = len(problems)
    if section.name is None or not NAME_RE.match(section.name):
        r.problem("name", "a forward needs a name of 1-32 characters a-z, 0-9 or _")
    proto = r.typed("proto", _choice(Proto), Proto.TCP)
    external = r.typed("external_port", PortRange.parse, None)
    if r.missing("external_port"):
        r.problem("external_port", "is required")
    internal_ip = r.typed("internal_ip", parse_ipv4, None)
    if r.missing("internal_ip"):
        r.problem("internal_ip", "is required")
    internal_port = r.typed("internal_port", PortRange.parse, external)
    sources_raw = section.get_list("allow_source")
    sources: list[IPv4Network] = []
    if len(sources_raw) > MAX_ALLOW_SOURCES:
        r.problem("allow_source", f"at most {MAX_ALLOW_SOURCES} entries")
    for text in sources_raw[:MAX_ALLOW_SOURCES]:
        try:
            sources.append(parse_source(text))
        except ValueError as exc:
            r.problem("allow_source", str(exc))
    description = section.get("description") or ""
    if len(description) > MAX_DESCRIPTION:
        r.problem("description", f"at most {MAX_DESCRIPTION} characters")
    fwd_kwargs = dict(
        enabled=r.boolean("enabled", True),
        target_gateway=r.typed("target_gateway", _choice(TargetGateway), TargetGateway.BYPASS),
        keep_source_ip=r.typed("keep_source_ip", _choice(KeepSource), KeepSource.AUTO),
        hairpin=r.boolean("hairpin", True),
        bypass_port=r.typed("bypass_port", PortRange.parse, None),
    )
    if len(problems) > before or external is None or internal_ip is None:
        return None
    assert internal_port is not None
    if internal_port.size != external.size:
        r.problem(
            "internal_port",
            f"range {internal_port} has {internal_port.size} ports but external_port "
            f"{external} has {external.size}; they must be the same length",
        )
        return None
    return Forward(
        name=section.name or name,
        proto=proto,
        external_port=external,
        internal_ip=internal_ip,
        internal_port=internal_port,
        allow_source=tuple(sources),
        description=description,
        **fwd_kwargs,
    )


def parse_config(doc: Document) -> tuple[Config, list[Problem]]:
    """Build the model from what is valid in a dualnat document, and list every problem.

    Forwards with problems are left out of the returned Config, so that later checks can
    still run on the others and the user sees every problem at once.
    """
    problems: list[Problem] = []
    mains = doc.sections_of_type("dualnat")
    if len(mains) > 1:
        problems.append(
            Problem("", "dualnat", "only one 'config dualnat' section is allowed", "settings")
        )
    settings = _settings(mains[0] if mains else None, problems)
    forwards: list[Forward] = []
    for index, section in enumerate(doc.sections_of_type("forward")):
        fwd = _forward(section, index, problems)
        if fwd is not None:
            forwards.append(fwd)
    return Config(settings=settings, forwards=tuple(forwards), source=doc.path), problems


def load_config(doc: Document) -> Config:
    """Build the model from a parsed dualnat document; raise ConfigInvalid listing every problem."""
    config, problems = parse_config(doc)
    if problems:
        raise ConfigInvalid(problems)
    return config
