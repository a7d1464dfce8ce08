"""What the API works on: one config folder, its UCI backend and the system around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ..apply import Environment
from ..config import CONFIG_NAME
from ..context import backend_for, config_dir_from, is_live, make_plan
from ..plan import Plan
from ..public import Resolver
from ..publicip import STATE_FILE, PublicAddress
from ..uci import Document, UciBackend

EXTENSION = "dualnat"


@dataclass
class Service:
    """The config folder and everything that depends on where the API runs.

    `resolve` turns public_address into an address for the planner (default: the
    discovered address for ``auto``, DNS otherwise); `environment` says where apply
    writes, checks and reloads; `doctor_system` is the machine the doctor examines
    (None: this one).
    """

    config_dir: Path
    backend: UciBackend
    live: bool
    public: PublicAddress
    resolve: Resolver
    environment: Callable[[UciBackend], Environment] = Environment.detect
    doctor_system: Any = None

    @classmethod
    def build(
        cls,
        config_dir: str | Path | None = None,
        *,
        backend: UciBackend | None = None,
        public: PublicAddress | None = None,
        resolve: Resolver | None = None,
        environment: Callable[[UciBackend], Environment] | None = None,
        doctor_system: Any = None,
    ) -> Service:
        folder = config_dir_from(str(config_dir) if config_dir is not None else None)
        backend = backend or backend_for(folder)
        env = environment or Environment.detect
        if public is None:
            public = PublicAddress(env(backend).state_dir / STATE_FILE)
        return cls(
            folder,
            backend,
            is_live(folder),
            public,
            resolve or public.resolve,
            env,
            doctor_system,
        )

    @property
    def state_dir(self) -> Path:
        return self.env().state_dir

    def env(self) -> Environment:
        return self.environment(self.backend)

    def document(self) -> Document:
        """/etc/config/dualnat as it is now (UciError when it cannot be parsed)."""
        return self.backend.read(CONFIG_NAME)

    def plan(self, vendor: str | None = None) -> Plan:
        """The plan of the stored configuration (for another main-router `vendor`, if
        given); ConfigInvalid lists every problem."""
        return make_plan(self.backend, self.live, self.resolve, vendor)


def service() -> Service:
    """The Service of the app that handles the current request."""
    return current_app.extensions[EXTENSION]
