"""What the command line's apply and revert need to know of the main router without
loading its clients: which main router dualnat last pushed to (a root-only record that
survives reboots) and whether a revert took dualnat off it (the daemon then pushes nothing
until the next apply)."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from ..model import MainRouterControl, Settings
from ..site import Site

MANUAL = MainRouterControl.MANUAL.value
KINDS = tuple(c.value for c in MainRouterControl if c is not MainRouterControl.MANUAL)
OFF_FILE = "main_router.off"  # revert took dualnat off the main router: no periodic pushes
RECORD_FILE = "main_router"


def read_record(site: Site) -> tuple[str, IPv4Address] | None:
    """The main router dualnat last pushed to: (kind, address)."""
    try:
        data = json.loads((site.private_dir / RECORD_FILE).read_text())
        kind = str(data["kind"])
        return (kind, IPv4Address(data["router"])) if kind in KINDS else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_off(site: Site) -> bool:
    """revert removed dualnat's entries, and nothing pushed since."""
    return (site.state_dir / OFF_FILE).exists()


def set_off(site: Site, off: bool) -> None:
    path = site.state_dir / OFF_FILE
    if off:
        site.state_dir.mkdir(parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)


def resume(site: Site) -> None:
    """An apply wants the rules again: the daemon may push by itself again (after revert;
    `apply --no-push` at boot leaves the push to it)."""
    set_off(site, False)


def needed(site: Site, settings: Settings) -> bool:
    """Whether the main router has to follow an apply or revert: a control other than
    manual, or a main router that dualnat pushed to before (its entries have to go)."""
    return settings.main_router_control.value != MANUAL or read_record(site) is not None
