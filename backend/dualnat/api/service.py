"""What the API works on: one config folder, its UCI backend and the system around it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ..config import CONFIG_NAME
from ..context import make_plan
from ..live.runner import LiveTests
from ..mainrouter.runner import Inline, Runner
from ..plan import Plan
from ..public import Resolver
from ..publicip import STATE_FILE, PublicAddress, discover_for
from ..site import Site
from ..uci import Document, UciBackend

EXTENSION = "dualnat"


@dataclass
class Service:
    """Everything that depends on where the API runs: the Site (built once, when the app
    is made), the public address discovery, the resolver of public_address (default:
    the discovered address for ``auto``, DNS otherwise), the machine the doctor
    examines (None: this one), who pushes to the main router (default: at once; the
    daemon's keeper in a forked child), and who runs live tests (forked children that
    watch the machine the doctor examines)."""

    site: Site
    public: PublicAddress
    resolve: Resolver
    doctor_system: Any = None
    main_router: Runner | None = None
    live_tests: LiveTests | None = None

    @classmethod
    def build(
        cls,
        config_dir: str | Path | None = None,
        *,
        site: Site | None = None,
        backend: UciBackend | None = None,
        public: PublicAddress | None = None,
        resolve: Resolver | None = None,
        doctor_system: Any = None,
        main_router: Runner | None = None,
    ) -> Service:
        if site is None:
            site = Site.detect(backend) if backend is not None else Site.open(config_dir)
        if public is None:
            public = PublicAddress(site.state_dir / STATE_FILE, discover_for(site))
        runner = main_router or Inline(site)
        tests = LiveTests(site, doctor_system, events=doctor_system is None)
        return cls(site, public, resolve or public.resolve, doctor_system, runner, tests)

    @property
    def config_dir(self) -> Path:
        return self.site.config_dir

    @property
    def backend(self) -> UciBackend:
        return self.site.backend

    @property
    def live(self) -> bool:
        return self.site.live

    def document(self) -> Document:
        """/etc/config/dualnat as it is now (UciError when it cannot be parsed)."""
        return self.backend.read(CONFIG_NAME)

    def plan(self, vendor: str | None = None) -> Plan:
        """The plan of the stored configuration (for another main-router `vendor`, if
        given); ConfigInvalid lists every problem."""
        return make_plan(self.site, self.resolve, vendor)


def service() -> Service:
    """The Service of the app that handles the current request."""
    return current_app.extensions[EXTENSION]
