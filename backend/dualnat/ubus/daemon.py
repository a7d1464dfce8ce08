"""`dualnat ubus`: connect to ubusd, register the object ``dualnat`` and loop.

Everything runs in the one thread (the bindings hold process-global state and are not
thread-safe). The HTTP lookups of public_address ``auto`` run in a forked child that
only returns an address (so the daemon never loads the HTTP client, see `forked`); the
loop collects it, records it and re-applies the rules when the address changed. Pushes
to the main router (main_router_control) run in forked children too (keeper.py), and so
do live tests of a forward (live/runner.py: the loop collects them and stops those nobody
polls). A malformed config only makes calls answer with errors; the loop keeps running. SIGTERM
or SIGINT stop it cleanly within one loop period.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from types import FrameType, ModuleType
from typing import Protocol

from flask import Flask

from ..api import create_app
from ..api.service import EXTENSION
from ..config import parse_config
from ..live.runner import LiveTests
from ..options import PUBLIC_ADDRESS_AUTO
from ..public import NoPublicAddress
from ..publicip import NONE, DiscoveryError, Found, PublicAddress
from ..uci import UciError
from .adapter import OBJECT, dispatch, load_binding, register
from .forked import FAILED, ForkedCall
from .keeper import Keeper
from .methods import METHODS

LOOP_MS = 500
REFRESH_EVERY = 300.0  # seconds between two lookups of public_address 'auto'
LOOKUP_DEADLINE = 60.0  # seconds a lookup may take before its process is stopped
APPLY = next(m for m in METHODS if m.name == "apply")

log = logging.getLogger("dualnat.ubus")


class Job(Protocol):
    """A call running elsewhere (`forked.ForkedCall`; tests use a thread)."""

    def result(self) -> str | None: ...

    def kill(self) -> str: ...


def encode(result: Found | DiscoveryError) -> str:
    """A lookup's result as the text a job hands back."""
    if isinstance(result, NoPublicAddress):
        return f"{NONE} {result.router}"
    return f"{FAILED}{result}" if isinstance(result, DiscoveryError) else str(result)


def decode(text: str) -> Found | DiscoveryError:
    """The lookup result in a job's text; anything but an address (or the main router
    saying it has none) is a DiscoveryError."""
    if text.startswith(FAILED):
        return DiscoveryError(text.removeprefix(FAILED))
    if text.startswith(f"{NONE} "):
        return NoPublicAddress(text.removeprefix(f"{NONE} ").strip())
    try:
        return IPv4Address(text)
    except ValueError:
        return DiscoveryError(f"unexpected answer from the lookup process: {text[:80]!r}")


class Refresher:
    """Looks the public address up every `interval` seconds while `wanted()` says so, and
    calls `on_change()` when a lookup found a new address. Each lookup is a job made by
    `spawn` (a forked child by default), stopped after `deadline` seconds."""

    def __init__(
        self,
        public: PublicAddress,
        wanted: Callable[[], bool],
        on_change: Callable[[], None],
        interval: float = REFRESH_EVERY,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], str]], Job] = ForkedCall,
        deadline: float = LOOKUP_DEADLINE,
    ) -> None:
        self.public = public
        self.wanted = wanted
        self.on_change = on_change
        self.interval = interval
        self.clock = clock
        self.spawn = spawn
        self.deadline = deadline
        self._due = clock()
        self.job: Job | None = None
        self._started = 0.0

    def _lookup(self) -> str:
        return encode(self.public.lookup())

    def _collect(self) -> str | None:
        assert self.job is not None
        text = self.job.result()
        if text is None and self.clock() - self._started >= self.deadline:
            text = self.job.kill()
        return text

    def tick(self) -> None:
        """Collect a finished lookup, then start the next one if it is due or an API call
        needed the address (`public.requested`)."""
        if self.job is not None:
            text = self._collect()
            if text is None:
                return
            self.job = None
            self.public.requested = False  # this lookup answers what was asked meanwhile
            result = decode(text)
            if isinstance(result, DiscoveryError):
                log.warning("public address: %s", result)
            if self.public.record(result):
                log.info("public address is now %s", self.public.address)
                self.on_change()
        now = self.clock()
        if now < self._due and not self.public.requested:
            return
        self.public.requested = False
        self._due = now + self.interval  # the config is read at most once per interval too
        if self.wanted():
            self._started = now
            self.job = self.spawn(self._lookup)

    def stop(self) -> None:
        """Stop a lookup that is still running (the daemon is about to exit)."""
        if self.job is not None:
            self.job.kill()
            self.job = None


def auto_wanted(app: Flask) -> Callable[[], bool]:
    """True while /etc/config/dualnat says ``enabled`` and ``public_address 'auto'``."""
    svc = app.extensions[EXTENSION]

    def wanted() -> bool:
        try:
            settings = parse_config(svc.document())[0].settings
        except (UciError, OSError):
            return False
        return settings.enabled and settings.public_address == PUBLIC_ADDRESS_AUTO

    return wanted


def reapply(app: Flask) -> Callable[[], None]:
    """Apply through the API, as `ubus call dualnat apply` would, and log the outcome."""

    def run() -> None:
        reply = dispatch(app, APPLY, {"dry_run": False})
        if "errors" in reply:
            log.error("re-apply after the address change failed: %s", reply["errors"])
        for message in reply.get("messages", []):
            log.info("re-apply: %s", message)

    return run


class Daemon:
    """The connected object and its loop; `stop()` ends `run()` after the current period."""

    def __init__(
        self,
        binding: ModuleType,
        app: Flask,
        refresher: Refresher | None,
        keeper: Keeper | None = None,
        tests: LiveTests | None = None,
    ) -> None:
        self.binding = binding
        self.app = app
        self.refresher = refresher
        self.keeper = keeper
        self.tests = tests
        self.stopped = False

    def stop(self, *_: object) -> None:
        self.stopped = True

    def run(self, socket_path: str | None = None, loop_ms: int = LOOP_MS) -> None:
        if socket_path:
            self.binding.connect(socket_path)
        else:
            self.binding.connect()
        try:
            register(self.binding, self.app)
            log.info("ubus object '%s' registered", OBJECT)
            # What start-up built lives as long as the daemon: frozen, the collector skips
            # it, and a full pass after each loop period only scans what calls made since
            # (about 0.01 ms). Calls leave small reference cycles (werkzeug's router); left
            # to the collector's own schedule, whose full passes are rare, they kept Python
            # 3.13's heap about 1 MB larger (make bench).
            gc.freeze()
            while not self.stopped:
                self.binding.loop(loop_ms)
                if self.refresher is not None:
                    self.refresher.tick()
                if self.keeper is not None:
                    self.keeper.tick()
                if self.tests is not None:
                    self.tests.tick()
                gc.collect()
        finally:
            if self.refresher is not None:
                self.refresher.stop()
            if self.keeper is not None:
                self.keeper.stop()
            if self.tests is not None:
                self.tests.stop_all()
            self.binding.disconnect()


def _on_signal(daemon: Daemon) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        daemon.stop()

    return handler


def main(config_dir: Path, socket_path: str | None, refresh_every: float = REFRESH_EVERY) -> int:
    """Run the daemon until SIGTERM/SIGINT; 0 after a clean stop, 1 if ubus is unusable."""
    logging.basicConfig(level=logging.INFO, format="dualnat: %(levelname)s: %(message)s")
    try:
        binding = load_binding()
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    app = create_app(config_dir)
    svc = app.extensions[EXTENSION]
    svc.public.background = True  # API calls never wait for the network: the refresher asks
    svc.public.load()
    refresher = Refresher(svc.public, auto_wanted(app), reapply(app), refresh_every)
    keeper = Keeper(svc.site)  # the main router's forwards, pushed in forked children
    svc.main_router = keeper
    daemon = Daemon(binding, app, refresher, keeper, svc.live_tests)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal(daemon))
    try:
        daemon.run(socket_path)
    except (OSError, RuntimeError) as exc:
        log.error("ubus: %s", exc)
        return 1
    return 0
