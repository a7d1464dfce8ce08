"""Where things are, decided once per process and passed down: the config folder and the
UCI backend for it, whether it is this router's own /etc/config, where dualnat keeps its
state (and its one lock for writes), the state that must outlive a reboot (what dualnat
added to a transparent proxy's settings), where the files outside the config folder are
(a proxy's rules files, firewall4's includes), and the commands and kernel paths that
`apply` uses.

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
# kept across reboots (and sysupgrade: keep.d), root-only: what dualnat added to the
# proxies' settings, the main router's secret (secrets.py) and which router it pushed to
ROUTER_PERSIST_DIR = Path("/etc/dualnat")
SYSCTL_FILE = Path("/etc/sysctl.d/90-dualnat.conf")
LOCK_FILE = "lock"
PROXY_STATE_FILE = "proxies.json"
OFF_ROUTER_DIR = ".dualnat"

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
    tune. On the router (`live`) the commands are firewall4's and the init scripts; off it
    only files are written, and dualnat's state lives in <folder>/.dualnat.

    `persist_dir` holds what must survive a reboot and only root may read (/etc/dualnat
    on the router, the state dir off it): what dualnat added to a proxy's settings, the
    main router's password or API secret, and which main router it last pushed to.
    `root` stands for / for the files outside the config folder that dualnat reads and
    writes (a proxy's rules file, firewall4's include directory): / on the router,
    <folder>/.dualnat/root off it. `system` says that `run` reaches the
    machine this folder configures: its loaded rules are read (`nft list ruleset`) and
    its services restarted (true on the router; the lab sets it with a `run` that enters
    the bypass router's network namespace)."""

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
    persist_dir: Path | None = None  # default: state_dir
    root: Path | None = None  # default: state_dir/root
    system: bool = False

    @property
    def private_dir(self) -> Path:
        """`persist_dir`, or the state dir where there is none."""
        return self.persist_dir or self.state_dir

    @property
    def config_dir(self) -> Path:
        return Path(self.backend.config_dir)

    @property
    def proxy_state(self) -> Path:
        """What dualnat added to the proxies' settings (JSON), to remove exactly that."""
        return self.private_dir / PROXY_STATE_FILE

    def path(self, absolute: str) -> Path:
        """Where the file `absolute` (a path on the router) is for this site."""
        return (self.root or self.state_dir / "root") / absolute.lstrip("/")

    def output(self, *argv: str) -> str | None:
        """A command's standard output on the machine `run` reaches (None: it cannot run
        or fails). Only for a `system` site."""
        try:
            proc = self.run(
                list(argv),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout if proc.returncode == 0 else None

    def reload_skipped(self, service: str) -> str:
        """Why `service` is not reloaded: what was found (or not) on this machine."""
        if self.init_dir is None:
            return f"not on the router (dualnat works on the folder {self.config_dir})"
        return f"{self.init_dir / service} does not exist on this router"

    @contextmanager
    def lock(self, dry_run: bool = False, name: str = LOCK_FILE) -> Iterator[None]:
        """The one lock for dualnat's writes (its config, the firewall and DHCP configs,
        the sysctls), across processes; `name` another one in the same place (the main
        router's pushes have their own). A dry run writes nothing, not even the lock file
        (it only reads files that writers replace atomically)."""
        if dry_run:
            yield
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / name, "w") as fh:
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
            return cls(backend, config_dir / OFF_ROUTER_DIR)
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
            persist_dir=ROUTER_PERSIST_DIR,
            root=Path("/"),
            system=True,
        )

    @classmethod
    def open(cls, config_dir: str | os.PathLike[str] | None = None) -> Site:
        """The site of a config folder (default $DUALNAT_CONFIG_DIR or /etc/config)."""
        folder = config_dir_from(os.fspath(config_dir) if config_dir is not None else None)
        return cls.detect(backend_for(folder))
