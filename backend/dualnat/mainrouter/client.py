"""The small protocol every main-router client implements (UPnP and the API routers)."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Protocol

from .model import Entry, Shape, Want


class RouterClient(Protocol):
    """A main router that dualnat can configure.

    Every method raises errors.RouterError (a plain sentence) and nothing else on purpose;
    every request goes to the router's LAN address with a timeout. Changes may stay
    pending until `commit` (the API routers apply them at once, with a rollback that
    only a confirmation stops); for UPnP each change is live at once and `commit` does
    nothing. `lease` is the UPnP lease asked for, in seconds (0: as long as the router
    allows); None for routers whose entries are permanent."""

    kind: str
    shape: Shape
    lease: int | None

    def entries(self) -> list[Entry]:
        """Every port forward on the router, dualnat's and everyone else's."""
        ...

    def add(self, want: Want) -> None:
        """Create the entry (for UPnP: also renews dualnat's own mapping of that port)."""
        ...

    def update(self, entry: Entry, want: Want) -> None:
        """Make dualnat's `entry` what `want` asks for."""
        ...

    def delete(self, entry: Entry) -> None:
        """Remove dualnat's `entry`; an entry that is already gone is no error."""
        ...

    def commit(self) -> None:
        """Make the changes so far take effect (and confirm them)."""
        ...

    def external_address(self) -> IPv4Address | None:
        """The router's WAN address as it reports it. None: it has none it would call
        usable (miniupnpd answers empty for a private or reserved WAN address, i.e. it
        sits behind another NAT); RouterError (code "unsupported" for clients that
        cannot ask): ask the Internet services instead."""
        ...

    def close(self) -> None:
        """Log out and free connections."""
        ...
