"""The main router's public IPv4 for ``public_address 'auto'``.

With a main_router_control other than manual, the main router is asked first (UPnP
GetExternalIPAddress, or its API): its answer is the address, and an empty or private
answer means that it has no public address (carrier-grade NAT, or another router in
front): hairpin is off then, and the plan says why. Only when it cannot be asked, two
independent HTTP services are asked in turn (short timeouts); an answer counts only
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
from .public import NoPublicAddress, Resolver, resolve_ipv4
from .site import Site
from .uci import atomic_write

SERVICES = ("api.ipify.org", "ipv4.icanhazip.com")  # both answer over HTTP and HTTPS
TIMEOUT = (3.05, 3.0)  # seconds: connect, read
MAX_ANSWER = 64  # bytes: an address and perhaps a newline
STATE_FILE = "public_ip"
MAX_AGE = 3600.0  # seconds before a known address is asked for again outside the daemon
RETRY_AFTER = 60.0  # seconds between two attempts after a failure

NONE = "none"  # the state file's word for "the main router has no public address"
Found = IPv4Address | NoPublicAddress
Discover = Callable[[], Found]


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
        self.no_public: str | None = None  # the main router that reports no public address
        self.found_at: float | None = None  # when `address` (or no_public) was confirmed
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
            text, stamp, *router = self.state_file.read_text().split()
            if text == NONE and len(router) == 1:
                self.address, self.no_public = None, router[0]
            else:
                self.address, self.no_public = parse_answer(text.encode()), None
            self.found_at = float(stamp)
        except (OSError, ValueError):
            return

    def record(self, result: Found | DiscoveryError) -> bool:
        """Store a discovery result; True when the address is new or different (or the
        main router now reports none, or one again)."""
        now = self._clock()
        self.tried_at = now
        if isinstance(result, DiscoveryError):
            self.error = str(result)
            return False
        address = None if isinstance(result, NoPublicAddress) else result
        no_public = result.router if isinstance(result, NoPublicAddress) else None
        changed = (address, no_public) != (self.address, self.no_public)
        self.address, self.no_public, self.found_at, self.error = address, no_public, now, None
        if self.state_file is not None:
            line = f"{address} {int(now)}" if address else f"{NONE} {int(now)} {no_public}"
            try:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.state_file, line + "\n")
            except OSError as exc:
                self.error = f"cannot write {self.state_file}: {exc}"
        return changed

    def lookup(self) -> Found | DiscoveryError:
        """Ask the services now, without recording the answer (safe in another thread)."""
        try:
            return self._discover()
        except DiscoveryError as exc:
            return exc

    def refresh(self) -> bool:
        """Discover now; True when the address changed."""
        return self.record(self.lookup())

    def current(self, max_age: float = MAX_AGE) -> Found | None:
        """The known address (or that the main router has none); discovered first when
        nothing is known or it is older than `max_age` (a failed attempt is not repeated
        for RETRY_AFTER seconds). With `background`, a lookup is requested instead and
        what is known returned."""
        if self.address is None and self.no_public is None:
            self.load()
        now = self._clock()
        known = self.address is not None or self.no_public is not None
        fresh = self.found_at is not None and now - self.found_at < max_age
        waiting = self.tried_at is not None and now - self.tried_at < RETRY_AFTER
        if not (known and fresh) and not waiting:
            if self.background:
                self.requested = True
            else:
                self.refresh()
        if self.no_public is not None:
            return NoPublicAddress(self.no_public)
        return self.address

    def resolve(self, name: str) -> Found | None:
        """The planner's resolver: ``auto`` is the discovered address, anything else DNS."""
        if name == PUBLIC_ADDRESS_AUTO:
            return self.current()
        return resolve_ipv4(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": str(self.address) if self.address else None,
            "no_public": self.no_public,
            "found_at": self.found_at,
            "tried_at": self.tried_at,
            "error": self.error,
        }


def discover_for(site: Site, services: Discover = discover) -> Discover:
    """Discovery for a config folder: the main router first (when dualnat controls it),
    then `services`. DiscoveryError names what each one said."""

    def run() -> Found:
        said: list[str] = []
        try:
            return _from_main_router(site)
        except LookupError as exc:
            said += [f"main router: {exc}"] if str(exc) else []
        try:
            return services()
        except DiscoveryError as exc:
            raise DiscoveryError("; ".join([*said, str(exc)])) from None

    return run


def _from_main_router(site: Site) -> Found:
    """What the main router reports; LookupError (with its reason, "" when it is not
    dualnat's to ask) when it cannot tell."""
    from .context import load_inputs
    from .errors import DualnatError
    from .uci import UciError

    try:
        inputs, _ = load_inputs(site)
    except (DualnatError, UciError, OSError):
        raise LookupError("") from None
    settings, net = inputs.config.settings, inputs.network
    if settings.main_router_control.value == "manual":
        raise LookupError("")
    from .mainrouter.control import public_address
    from .mainrouter.errors import RouterError

    try:
        address = public_address(settings, net, site)
    except RouterError as err:
        raise LookupError(err.reason) from None
    return address if address is not None else NoPublicAddress(str(net.main_router_ip))


def resolver_for(site: Site) -> Resolver:
    """The planner's resolver for a config folder: ``auto`` is the address in the state
    file that the daemon keeps (discovered now if it is missing or old: the main router
    first, then the Internet services), names use DNS."""
    return PublicAddress(site.state_dir / STATE_FILE, discover_for(site)).resolve
