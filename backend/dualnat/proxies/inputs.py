"""What the planner and apply need to know about the transparent proxies, read through a
Site: which proxy is installed, on and running (their UCI configs, and on a `system` site
the loaded ruleset), the files of theirs that dualnat edits (a rules file, firewall4's
include) and what dualnat added earlier (its state file, Site.proxy_state).

The state file is JSON, kept where it outlives a reboot (/etc/dualnat/proxies.json on the
router): UCI lists cannot carry a marker and `uci commit` drops comments, so this file is
how dualnat knows which list items are its own::

    {"version": 1,
     "proxies": {"openclash": [{"type": "uci", "config": "openclash", "section": "config",
                                "option": "wan_ac_black_ips", "value": "11.0.0.1"}],
                 "passwall": [{"type": "file", "path": "/usr/share/passwall/rules/direct_ip",
                               "line": "11.0.0.1"}],
                 "homeproxy": [{"type": "include", "path": "/usr/share/nftables.d/...",
                                "text": "..."}]}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog import PROXIES
from .detect import Detected, detect
from .entries import INCLUDE_DIR, Owned, owned_from_state

if TYPE_CHECKING:
    from ..site import Site

STATE_VERSION = 1


class StateError(ValueError):
    """dualnat's proxy state file exists but cannot be read."""


@dataclass(frozen=True)
class ProxyInputs:
    """`configs`: UCI config name → its text (None: no such config); `files`: router path
    → text ("" when missing) of the files dualnat may edit; `owned`: proxy key → what
    dualnat added earlier; `ruleset_read`: the loaded rules were looked at (detection
    says whether the proxy runs); `state_problem`: why the state file could not be read
    ("" when it could)."""

    detected: tuple[Detected, ...] = ()
    configs: Mapping[str, str | None] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    owned: Mapping[str, tuple[Owned, ...]] = field(default_factory=dict)
    ruleset_read: bool = False
    state_problem: str = ""

    def detected_of(self, key: str) -> Detected | None:
        return next((d for d in self.detected if d.proxy.key == key), None)


def include_path(key: str) -> str:
    """The firewall4 include dualnat writes for proxy `key` when it needs one."""
    return f"{INCLUDE_DIR}/90-dualnat-{key}.nft"


def watched_files() -> list[str]:
    """The router paths of every file dualnat may edit for a proxy."""
    paths = [p.hairpin.path for p in PROXIES.values() if p.hairpin.kind == "rules-file"]
    return paths + [include_path(key) for key in PROXIES]


def parse_state(text: str) -> dict[str, tuple[Owned, ...]]:
    """The entries of a state file's text; StateError when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"not JSON: {exc}") from None
    proxies = data.get("proxies") if isinstance(data, dict) else None
    if not isinstance(proxies, dict):
        raise StateError("no 'proxies' object")
    out: dict[str, tuple[Owned, ...]] = {}
    for key, entries in proxies.items():
        if not isinstance(entries, list):
            raise StateError(f"'{key}' is not a list")
        found = [owned_from_state(e) for e in entries]
        if any(o is None for o in found):
            raise StateError(f"'{key}' has an entry dualnat does not know")
        out[key] = tuple(o for o in found if o is not None)
    return out


def state_text(owned: Mapping[str, Sequence[Owned]]) -> str:
    """The state file for `owned` (proxies without entries left out)."""
    data: dict[str, Any] = {
        "version": STATE_VERSION,
        "proxies": {k: [o.to_state() for o in v] for k, v in sorted(owned.items()) if v},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_state(site: Site) -> dict[str, tuple[Owned, ...]]:
    """What dualnat added earlier ({} when there is no state file); StateError."""
    try:
        text = site.proxy_state.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(str(exc)) from None
    return parse_state(text)


def _read(site: Site, path: str) -> str:
    try:
        return site.path(path).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return ""


def load(site: Site) -> ProxyInputs:
    """Read everything about the proxies that a plan needs."""
    configs: dict[str, str | None] = {}
    for proxy in PROXIES.values():
        if (site.config_dir / proxy.config).is_file():
            configs[proxy.config] = site.backend.read(proxy.config).serialize()
        else:
            configs[proxy.config] = None
    ruleset = site.output("nft", "list", "ruleset") if site.system else None
    files = {path: _read(site, path) for path in watched_files()}
    problem = ""
    try:
        owned = read_state(site)
    except StateError as exc:
        owned, problem = {}, f"{site.proxy_state}: {exc}"
    return ProxyInputs(
        detected=tuple(detect(configs, ruleset or "")),
        configs=configs,
        files=files,
        owned=owned,
        ruleset_read=ruleset is not None,
        state_problem=problem,
    )


__all__ = [
    "ProxyInputs",
    "StateError",
    "include_path",
    "load",
    "parse_state",
    "read_state",
    "state_text",
    "watched_files",
]
