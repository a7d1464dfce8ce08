"""Where things are, decided once per process and passed down: the config folder and the
UCI backend for it, whether it is this router's own /etc/config, where dualnat keeps its
state (and its one lock for writes), and the commands and kernel paths that `apply` uses.

    site = Site.open("/etc/config")     # the CLI, the daemon (from --config-dir)
    plan = make_plan(site)              # context.py
    apply_plan(plan, site)              # apply.py
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .uci import FileBackend, UciBackend, UciCommandBackend

ROUTER_CONFIG_DIR = Path("/etc/config")
ENV_CONFIG_DIR = "DUALNAT_CONFIG_DIR"
ROUTER_STATE_DIR = Path("/tmp/dualnat")
ROUTER_DATA_DIR = Path("/etc/dualnat")  # root-only: the main router's secret (secrets.py)
SYSCTL_FILE = Path("/etc/sysctl.d/90-dualnat.conf")
LOCK_FILE = "lock"

Runner = Callable[..., subprocess.CompletedProcess]


def config_dir_from(arg: str | None) -> Path:
    """--config-dir, else $DUALNAT_CONFIG_DIR, else /etc/config."""
    return Path(arg or os.environ.get(ENV_CONFIG_DIR) or ROUTER_CONFIG_DIR)


def is_live(config_dir: Path) -> bool:
    """True when we work on this machine's own /etc/config (i.e. on the router)."""
    try:
        return config_dir.resolve() == ROUTER_CONFIG_DIR.resolve() and ROUTER_CONFIG_DIR.is_dir()
    except OSError:
        return False


def backend_for(config_dir: Path) -> UciBackend:
    """libuci (the `uci` command) on the router, the pure-Python writer elsewhere."""
    if is_live(config_dir) and shutil.which("uci"):
        return UciCommandBackend(config_dir)
    return FileBackend(config_dir)


@dataclass
class Site:
    """A config folder and the system around it: where to lock, back up, check, reload and
    tune. On the router (`live`) the commands are firewall4's and the init scripts, the
    state is in /tmp/dualnat and the private data in /etc/dualnat; off it only files are
    written, and dualnat's state and private data live in <folder>/.dualnat."""

    backend: UciBackend
    state_dir: Path
    check_cmd: list[str] | None = None
    reload_cmd: list[str] | None = None
    dhcp_reload_cmd: list[str] | None = None
    sysctl_file: Path | None = None
    proc_sys: Path | None = None
    run: Runner = field(default=subprocess.run)
    init_dir: Path | None = None  # on the router: where the init scripts are
    live: bool = False
    data_dir: Path | None = None  # kept across reboots, root-only (None: state_dir)

    @property
    def private_dir(self) -> Path:
        """Where dualnat keeps what must survive a reboot and only root may read: the
        main router's password or API secret, and which main router it last pushed to."""
        return self.data_dir or self.state_dir

    @property
    def config_dir(self) -> Path:
        return Path(self.backend.config_dir)

    def reload_skipped(self, service: str) -> str:
        """Why `service` is not reloaded: what was found (or not) on this machine."""
        if self.init_dir is None:
            return f"not on the router (dualnat works on the folder {self.config_dir})"
        return f"{self.init_dir / service} does not exist on this router"

    @contextmanager
    def lock(self, dry_run: bool = False) -> Iterator[None]:
        """The one lock for dualnat's writes (its config, the firewall and DHCP configs,
        the sysctls), across processes. A dry run writes nothing, not even the lock file
        (it only reads files that writers replace atomically)."""
        if dry_run:
            yield
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / LOCK_FILE, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @classmethod
    def detect(cls, backend: UciBackend) -> Site:
        """OpenWrt when `backend` works on the live /etc/config, otherwise files only."""
        config_dir = Path(backend.config_dir)
        if not is_live(config_dir):
            return cls(backend, config_dir / ".dualnat")
        fw4 = shutil.which("fw4")
        init = Path("/etc/init.d")
        return cls(
            backend,
            ROUTER_STATE_DIR,
            check_cmd=[fw4, "-q", "check"] if fw4 else None,
            reload_cmd=[str(init / "firewall"), "reload"] if (init / "firewall").exists() else None,
            dhcp_reload_cmd=[str(init / "dnsmasq"), "reload"]
            if (init / "dnsmasq").exists()
            else None,
            sysctl_file=SYSCTL_FILE,
            proc_sys=Path("/proc/sys"),
            init_dir=init,
            live=True,
            data_dir=ROUTER_DATA_DIR,
        )

    @classmethod
    def open(cls, config_dir: str | os.PathLike[str] | None = None) -> Site:
        """The site of a config folder (default $DUALNAT_CONFIG_DIR or /etc/config)."""
        folder = config_dir_from(os.fspath(config_dir) if config_dir is not None else None)
        return cls.detect(backend_for(folder))
