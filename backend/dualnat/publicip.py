"""The main router's public IPv4 for ``public_address 'auto'``.

Two independent HTTP services are asked in turn (short timeouts); an answer counts only
when it is a public IPv4 address. They are asked over HTTPS when Python has its ssl
module (python3-openssl on OpenWrt, an optional package) and over plain HTTP otherwise,
as OpenWrt's own DDNS scripts do. The last address found is kept in memory and in a small
state file that the daemon and the command line share, so a plan never waits for the
network when an address is known.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from . import __version__
from .model import NOT_PUBLIC
from .options import PUBLIC_ADDRESS_AUTO
from .public import Resolver, resolve_ipv4
from .site import Site
from .uci import atomic_write

SERVICES = ("api.ipify.org", "ipv4.icanhazip.com")  # both answer over HTTP and HTTPS
TIMEOUT = (3.05, 3.0)  # seconds: connect, read
MAX_ANSWER = 64  # bytes: an address and perhaps a newline
STATE_FILE = "public_ip"
MAX_AGE = 3600.0  # seconds before a known address is asked for again outside the daemon
RETRY_AFTER = 60.0  # seconds between two attempts after a failure

Discover = Callable[[], IPv4Address]


class DiscoveryError(Exception):
    """No service gave a public IPv4 address; the message says what each one did."""


def parse_answer(body: bytes) -> IPv4Address:
    """The address in a service's answer; ValueError unless it is one public IPv4."""
    try:
        text = body.decode("ascii").strip()
        addr = IPv4Address(text)
    except (UnicodeDecodeError, ValueError):
        shown = body[:40].decode("ascii", "replace").strip()
        raise ValueError(f"answer {shown!r} is not an IPv4 address") from None
    if any(addr in net for net in NOT_PUBLIC):
        raise ValueError(f"answer {addr} is not a public address")
    return addr


def has_tls() -> bool:
    """True when Python can speak HTTPS (its ``_ssl`` module is installed)."""
    return find_spec("_ssl") is not None


def service_urls(hosts: Sequence[str] = SERVICES, tls: bool | None = None) -> tuple[str, ...]:
    """The URLs to ask: HTTPS when `tls` (default: whether Python has ssl), else HTTP."""
    scheme = "https" if (has_tls() if tls is None else tls) else "http"
    return tuple(f"{scheme}://{host}" for host in hosts)


def _ask(session: Any, url: str, timeout: tuple[float, float]) -> IPv4Address:
    headers = {"Accept": "text/plain", "User-Agent": f"dualnat/{__version__}"}
    with session.get(
        url, timeout=timeout, headers=headers, stream=True, allow_redirects=False
    ) as resp:
        if resp.status_code != 200:
            raise ValueError(f"HTTP status {resp.status_code}")
        body = b""
        for chunk in resp.iter_content(MAX_ANSWER + 1):
            body += chunk
            if len(body) > MAX_ANSWER:
                raise ValueError(f"answer longer than {MAX_ANSWER} bytes")
    return parse_answer(body)


def discover(
    services: Sequence[str] | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    session: Any = None,
) -> IPv4Address:
    """The first valid answer of `services` (default: `service_urls()`), asked in order;
    DiscoveryError if none gives one."""
    import requests  # only needed here; the daemon even runs this in a child process

    errors: list[str] = []
    http = session or requests.Session()
    try:
        for url in service_urls() if services is None else services:
            try:
                return _ask(http, url, timeout)
            except (requests.RequestException, ValueError) as exc:
                errors.append(f"{url}: {exc}")
    finally:
        if session is None:
            http.close()
    raise DiscoveryError("; ".join(errors) or "no service to ask")


class PublicAddress:
    """The last discovered address, with when it was checked and the last error.

    `state_file` holds ``<address> <unix time>``; it is read when nothing is known in
    memory and written after every successful discovery.
    """

    def __init__(
        self,
        state_file: Path | None = None,
        discover: Discover = discover,
        clock: Callable[[], float] = time.time,
        background: bool = False,
    ) -> None:
        self.state_file = state_file
        self._discover = discover
        self._clock = clock
        self.address: IPv4Address | None = None
        self.found_at: float | None = None  # when `address` was last confirmed
        self.tried_at: float | None = None  # when discovery last ran
        self.error: str | None = None
        # In the daemon a refresher looks up in the background: `current()` never waits
        # for the network there, it only sets `requested` to have a lookup started now.
        self.background = background
        self.requested = False

    def load(self) -> None:
        """Take the address from the state file when it holds a valid one."""
        if self.state_file is None:
            return
        try:
            text, stamp = self.state_file.read_text().split()
            self.address, self.found_at = parse_answer(text.encode()), float(stamp)
        except (OSError, ValueError):
            return

    def record(self, result: IPv4Address | DiscoveryError) -> bool:
        """Store a discovery result; True when the address is new or different."""
        now = self._clock()
        self.tried_at = now
        if isinstance(result, DiscoveryError):
            self.error = str(result)
            return False
        changed = result != self.address
        self.address, self.found_at, self.error = result, now, None
        if self.state_file is not None:
            try:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.state_file, f"{result} {int(now)}\n")
            except OSError as exc:
                self.error = f"cannot write {self.state_file}: {exc}"
        return changed

    def lookup(self) -> IPv4Address | DiscoveryError:
        """Ask the services now, without recording the answer (safe in another thread)."""
        try:
            return self._discover()
        except DiscoveryError as exc:
            return exc

    def refresh(self) -> bool:
        """Discover now; True when the address changed."""
        return self.record(self.lookup())

    def current(self, max_age: float = MAX_AGE) -> IPv4Address | None:
        """The known address; discovered first when none is known or it is older than
        `max_age` (a failed attempt is not repeated for RETRY_AFTER seconds). With
        `background`, a lookup is requested instead and the known address returned."""
        if self.address is None:
            self.load()
        now = self._clock()
        fresh = self.found_at is not None and now - self.found_at < max_age
        waiting = self.tried_at is not None and now - self.tried_at < RETRY_AFTER
        if not (self.address is not None and fresh) and not waiting:
            if self.background:
                self.requested = True
            else:
                self.refresh()
        return self.address

    def resolve(self, name: str) -> IPv4Address | None:
        """The planner's resolver: ``auto`` is the discovered address, anything else DNS."""
        if name == PUBLIC_ADDRESS_AUTO:
            return self.current()
        return resolve_ipv4(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": str(self.address) if self.address else None,
            "found_at": self.found_at,
            "tried_at": self.tried_at,
            "error": self.error,
        }


def resolver_for(site: Site) -> Resolver:
    """The planner's resolver for a config folder: ``auto`` is the address in the state
    file that the daemon keeps (discovered now if it is missing or old), names use DNS."""
    return PublicAddress(site.state_dir / STATE_FILE).resolve
