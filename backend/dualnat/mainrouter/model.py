"""Vendor-neutral types: what the main router should hold, what it holds, what happened.

A forward the user wants (dualnat.plan.MainRouterForward) becomes one or more `Want`s,
as many as the router needs entries for it (`Shape`): UPnP keeps one mapping per port
and protocol, the API routers take a port range and both protocols in one entry.
dualnat finds its own entries again by a tag that starts with ``dualnat``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Any

from ..i18n import DEFAULT_LANG, Part, render
from ..model import PortRange
from ..plan import MainRouterForward
from .errors import joined, on_ports, part_of

TAG = "dualnat"
UPNP_TAG_BYTES = 63  # NewPortMappingDescription: miniupnpd keeps 63 bytes and a NUL
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "tcp": ("tcp",),
    "udp": ("udp",),
    "tcpudp": ("tcp", "udp"),
}
SEVEN_DAYS = 604800  # what IGDv2 routers make of a requested lease of 0


class State(StrEnum):
    """What a push did (or, before it runs, would do) for one forward."""

    IN_PLACE = "in_place"
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    FAILED = "failed"


def tag_for(name: str, limit: int = UPNP_TAG_BYTES) -> str:
    """``dualnat <name>``, cut to `limit` bytes of UTF-8 without splitting a character."""
    data = f"{TAG} {name}".encode()[:limit]
    return data.decode("utf-8", "ignore")


def is_tagged(text: str) -> bool:
    """A description, rule name or comment that dualnat wrote."""
    return text.startswith(TAG)


def forward_of(tag: str) -> str:
    """The forward name in a tag (the tag itself when it names none)."""
    return tag[len(TAG) :].strip() or tag


@dataclass(frozen=True)
class Shape:
    """What one entry on a router can hold."""

    ranges: bool  # a range of external ports
    both_protocols: bool  # TCP and UDP together
    tag_bytes: int = UPNP_TAG_BYTES  # longest tag (description, name, comment) it keeps


@dataclass(frozen=True)
class Want:
    """One entry the main router should hold for a forward."""

    forward: str
    protocols: tuple[str, ...]
    external: PortRange
    target_ip: IPv4Address
    target: PortRange
    tag: str

    @property
    def ports(self) -> str:
        return f"{'+'.join(self.protocols)} {self.external}"


@dataclass(frozen=True)
class Entry:
    """A port forward found on the main router, dualnat's (`ours`) or anyone's.

    `key` is the router's handle (UCI section, OPNsense uuid, iKuai id; UPnP has none:
    protocol and external port name a mapping). `lease` is the seconds a UPnP mapping
    has left (None: permanent or not known)."""

    protocols: tuple[str, ...]
    external: PortRange
    target_ip: IPv4Address | None
    target: PortRange | None
    tag: str
    ours: bool
    key: str = ""
    enabled: bool = True
    lease: int | None = None

    @property
    def forward(self) -> str:
        return forward_of(self.tag)

    @property
    def ports(self) -> str:
        return f"{'+'.join(self.protocols)} {self.external}"

    def holds(self, want: Want) -> bool:
        """The entry already is what `want` asks for."""
        return (
            self.enabled
            and self.tag == want.tag
            and set(self.protocols) == set(want.protocols)
            and self.external == want.external
            and self.target_ip == want.target_ip
            and self.target == want.target
        )

    def overlaps(self, want: Want) -> bool:
        """The entry takes (some of) the external ports and a protocol of `want`."""
        return bool(set(self.protocols) & set(want.protocols)) and self.external.overlaps(
            want.external
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ours": self.ours,
            "forward": self.forward if self.ours else None,
            "tag": self.tag,
            "protocols": list(self.protocols),
            "external": str(self.external),
            "target_ip": str(self.target_ip) if self.target_ip else None,
            "target": str(self.target) if self.target else None,
            "enabled": self.enabled,
            "lease": self.lease,
            "key": self.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        target_ip, target = data.get("target_ip"), data.get("target")
        return cls(
            tuple(data["protocols"]),
            PortRange.parse(data["external"]),
            IPv4Address(target_ip) if target_ip else None,
            PortRange.parse(target) if target else None,
            str(data.get("tag", "")),
            bool(data.get("ours")),
            key=str(data.get("key", "")),
            enabled=bool(data.get("enabled", True)),
            lease=data.get("lease"),
        )


def expand(forward: MainRouterForward, shape: Shape) -> list[Want]:
    """The entries a router of `shape` needs for `forward`.

    Without ranges every external port gets its own entry; its target port keeps the
    offset when both ranges have the same size, else it is the first target port."""
    groups = [PROTOCOLS[forward.proto]]
    if not shape.both_protocols:
        groups = [(p,) for p in PROTOCOLS[forward.proto]]
    ext, target = forward.external_port, forward.internal_port
    pairs = [(ext, target)]
    if not shape.ranges and not ext.is_single:
        offset = target.first - ext.first if target.size == ext.size else None
        pairs = [
            (PortRange.single(p), PortRange.single(target.first if offset is None else p + offset))
            for p in range(ext.first, ext.last + 1)
        ]
    tag = tag_for(forward.name, shape.tag_bytes)
    return [
        Want(forward.name, protos, e, forward.internal_ip, t, tag)
        for protos in groups
        for e, t in pairs
    ]


@dataclass(frozen=True)
class Lease:
    """How long a forward's UPnP mappings last: what was asked, what the router reported
    (the shortest of them), and when that was known (epoch seconds)."""

    requested: int
    remaining: int
    seen_at: float

    @property
    def renew_at(self) -> float:
        """When to push again: halfway through what is left."""
        return self.seen_at + self.remaining / 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "remaining": self.remaining,
            "seen_at": self.seen_at,
            "renew_at": self.renew_at,
        }


@dataclass(frozen=True)
class Why:
    """One reason of an outcome: its sentence (parts of the table [push]) and the ports
    it is about (none: the whole forward)."""

    parts: tuple[Part, ...]
    ports: tuple[str, ...] = ()

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return on_ports(self.ports, self.parts, lang) if self.ports else render(self.parts, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"ports": list(self.ports), "parts": [p.to_dict() for p in self.parts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Why:
        return cls(tuple(part_of(p) for p in data["parts"]), tuple(data.get("ports") or ()))


@dataclass(frozen=True)
class Outcome:
    """What a push did for one forward, in plain words (`why`, rendered in any language
    by `text`); `manual` when the user has to enter (or free) something on the main
    router by hand."""

    forward: str
    state: State
    why: tuple[Why, ...]
    manual: bool = False
    ports: tuple[str, ...] = ()
    lease: Lease | None = field(default=None)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return joined((w.text(lang) for w in self.why), lang)

    @property
    def reason(self) -> str:
        """The reason in English."""
        return self.text()

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        return {
            "forward": self.forward,
            "state": self.state.value,
            "reason": self.text(lang),
            "manual": self.manual,
            "ports": list(self.ports),
            "lease": self.lease.to_dict() if self.lease else None,
            "why": [w.to_dict() for w in self.why],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        """An outcome as to_dict() wrote it (the reason is made again from `why`)."""
        lease = data.get("lease")
        return cls(
            str(data["forward"]),
            State(data["state"]),
            tuple(Why.from_dict(w) for w in data.get("why") or ()),
            bool(data.get("manual")),
            tuple(data.get("ports") or ()),
            Lease(lease["requested"], lease["remaining"], lease["seen_at"]) if lease else None,
        )
