"""An in-memory main router for the push tests: it keeps entries the way a real one does
(add, update, delete, pending until commit when asked to) and can refuse, or stop
answering, on cue."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address

from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.model import Entry, Shape, Want
from dualnat.mainrouter.pinhole import HoleEntry, HoleWant
from dualnat.model import PortRange
from dualnat.plan import MainRouterForward

BYPASS = IPv4Address("192.168.1.2")
UPNP = Shape(ranges=False, both_protocols=False)
API = Shape(ranges=True, both_protocols=True)


def fwd(name: str, ext: str, proto: str = "tcp", target: str | None = None) -> MainRouterForward:
    return MainRouterForward(
        name, proto, PortRange.parse(ext), BYPASS, PortRange.parse(target or ext)
    )


def theirs(port: int, proto: str = "tcp", tag: str = "game", ip: str = "192.168.1.60") -> Entry:
    single = PortRange.single(port)
    return Entry((proto,), single, IPv4Address(ip), single, tag, False, key=f"user{port}")


@dataclass
class FakeRouter:
    """A RouterClient that remembers what it was asked."""

    shape: Shape = API
    lease: int | None = None
    kind: str = "fake"
    held: list[Entry] = field(default_factory=list)
    refuse: dict[int, RouterError] = field(default_factory=dict)  # external port → error
    down: RouterError | None = None  # every call fails with it
    down_after: int | None = None  # calls that succeed before the router goes down
    commit_error: RouterError | None = None
    calls: list[str] = field(default_factory=list)
    committed: int = 0
    _keys: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _ask(self, what: str) -> None:
        self.calls.append(what)
        if self.down_after is not None and len(self.calls) > self.down_after:
            self.down = self.down or RouterError(
                "net.unreachable", unreachable=True, router="192.168.1.1"
            )
        if self.down:
            raise self.down

    def entries(self) -> list[Entry]:
        self._ask("entries")
        return list(self.held)

    def _entry(self, want: Want, key: str) -> Entry:
        return Entry(
            want.protocols,
            want.external,
            want.target_ip,
            want.target,
            want.tag,
            True,
            key=key,
            lease=self.lease or None,
        )

    def add(self, want: Want) -> None:
        self._ask(f"add {want.ports}")
        if want.external.first in self.refuse:
            raise self.refuse[want.external.first]
        self.held = [e for e in self.held if not (e.ours and e.external == want.external)]
        self.held.append(self._entry(want, f"k{next(self._keys)}"))

    def update(self, entry: Entry, want: Want) -> None:
        self._ask(f"update {entry.key}")
        if want.external.first in self.refuse:
            raise self.refuse[want.external.first]
        self.held = [self._entry(want, e.key) if e == entry else e for e in self.held]

    def delete(self, entry: Entry) -> None:
        self._ask(f"delete {entry.key}")
        if not entry.ours:
            raise AssertionError(f"asked to delete someone else's entry {entry}")
        self.held = [e for e in self.held if e != entry]

    def commit(self) -> None:
        self._ask("commit")
        if self.commit_error:
            raise self.commit_error
        self.committed += 1

    def external_address(self) -> IPv4Address | None:
        return None

    def close(self) -> None:
        pass

    def age(self, seconds: int) -> None:
        """Time passes for the leases."""
        self.held = [replace(e, lease=e.lease - seconds) if e.lease else e for e in self.held]


@dataclass
class FakeFirewall(FakeRouter):
    """A FakeRouter that also takes IPv6 rules (PinholeClient), by suffix match."""

    pinhole_mode: str = "match"
    holes: list[HoleEntry] = field(default_factory=list)

    @staticmethod
    def _hole(want: HoleWant, key: str) -> HoleEntry:
        return HoleEntry(want.protocols, want.port, want.dest, want.tag, key, suffix=want.suffix)

    def pinholes(self) -> list[HoleEntry]:
        self._ask("pinholes")
        return list(self.holes)

    def add_pinhole(self, want: HoleWant) -> None:
        self._ask(f"add {want.ports}")
        self.holes.append(self._hole(want, f"h{next(self._keys)}"))

    def update_pinhole(self, entry: HoleEntry, want: HoleWant) -> None:
        self._ask(f"update {entry.key}")
        self.holes = [self._hole(want, e.key) if e == entry else e for e in self.holes]

    def delete_pinhole(self, entry: HoleEntry) -> None:
        self._ask(f"delete {entry.key}")
        self.holes = [e for e in self.holes if e != entry]
