"""The main router's public address as the planner gets it: resolved before planning.

`public_address` may be an IPv4 address, a DNS name or ``auto`` (publicip.py keeps the
discovered address). The layer that does I/O resolves it with a Resolver (DNS, or the
discovered address for ``auto``) and hands the planner a ResolvedPublic; the planner
itself never looks anything up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from .errors import ProblemPart, says
from .model import NOT_PUBLIC


@dataclass(frozen=True)
class NoPublicAddress:
    """What ``auto`` resolves to when the main router itself reports no public address
    (an empty or private WAN address: carrier-grade NAT, or another router in front)."""

    router: str  # the main router that said so


Resolver = Callable[[str], "IPv4Address | NoPublicAddress | None"]


def resolve_ipv4(name: str) -> IPv4Address | None:
    """Resolve a DNS name to its first IPv4 address (None when it does not resolve)."""
    import socket  # only when a name is to be resolved (a plan of addresses needs none)

    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return None
    return IPv4Address(infos[0][4][0]) if infos else None


def no_lookup(_name: str) -> IPv4Address | None:
    """A resolver that resolves nothing (for plans made without the network)."""
    return None


@dataclass(frozen=True)
class ResolvedPublic:
    """`configured` as written in the config (None: not set), the address it gives (None:
    none), and why a configured address gives none: a problem, or `no_public`, the main
    router that reports no public address (hairpin is then off, which is no error)."""

    configured: str | None = None
    address: IPv4Address | None = None
    problem: ProblemPart | None = None
    no_public: str | None = None

    @property
    def is_name(self) -> bool:
        """True when the address was configured as a DNS name (not an address or auto)."""
        if not self.configured or self.configured.lower() == "auto":
            return False
        try:
            IPv4Address(self.configured)
        except ValueError:
            return True
        return False


def resolve_public(configured: str | None, resolve: Resolver = no_lookup) -> ResolvedPublic:
    """The address `configured` stands for: itself when it is one, else what `resolve`
    gives for it (a name, or ``auto``), which must be public."""
    if not configured:
        return ResolvedPublic()
    try:
        return ResolvedPublic(configured, IPv4Address(configured))
    except ValueError:
        pass
    address = resolve(configured)
    if isinstance(address, NoPublicAddress):
        return ResolvedPublic(configured, None, None, address.router)
    if address is None:
        return ResolvedPublic(configured, None, says("public.unresolved", name=configured))
    if any(address in net for net in NOT_PUBLIC):
        return ResolvedPublic(
            configured, None, says("public.not_public", name=configured, address=address)
        )
    return ResolvedPublic(configured, address)
