"""Which transparent proxy is installed, switched on and running, and in which mode.

Pure functions over the proxies' UCI config texts and `nft list ruleset` text, plus a thin
reader (`read`) that fetches both on the router.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..nft_text import chains, tables
from ..uci import Document, UciParseError
from .catalog import PROXIES, Capture, Mode, Proxy, Ref

FALSE = frozenset({"", "0", "nil", "false", "off", "no", "disabled"})


@dataclass(frozen=True)
class Detected:
    """One proxy as found: installed (its config exists), enabled (its settings switch it
    on), running (its rules are loaded), its mode by its settings, and what the loaded
    rules capture."""

    proxy: Proxy
    installed: bool
    enabled: bool
    running: bool
    mode: Mode | None
    live: frozenset[Capture]
    evidence: tuple[str, ...]

    @property
    def active(self) -> bool:
        """Worth excluding forwards from: switched on, or its rules are loaded."""
        return self.enabled or self.running

    def to_dict(self) -> dict[str, object]:
        return {
            "proxy": self.proxy.key,
            "name": self.proxy.name,
            "installed": self.installed,
            "enabled": self.enabled,
            "running": self.running,
            "tcp": self.mode.tcp if self.mode else None,
            "udp": self.mode.udp if self.mode else None,
            "fake_ip": bool(self.mode and self.mode.fake_ip),
            "live": sorted(self.live),
            "evidence": list(self.evidence),
        }


def option(doc: Document, ref: Ref) -> str:
    """The option's value (a list joined by spaces), or the option's default."""
    section = doc.section(ref.section)
    value = section.get(ref.option) if section is not None else None
    return ref.default if value is None else value


def enabled_in(proxy: Proxy, doc: Document) -> bool:
    return all(option(doc, ref).strip().lower() not in FALSE for ref in proxy.enable)


def mode_of(proxy: Proxy, doc: Document) -> Mode:
    """The mode its settings select (an unknown value counts as the option's default)."""
    found: dict[str, str | None] = {}
    for mode_option in proxy.mode_options:
        values = mode_option.values
        value = option(doc, mode_option.ref)
        found.update(values.get(value, values.get(mode_option.ref.default, {})))
    return Mode(
        tcp=Capture(found["tcp"]) if found.get("tcp") else None,
        udp=Capture(found["udp"]) if found.get("udp") else None,
        fake_ip=found.get("fake_ip") == "1",
    )


def _captures(lines: list[str], tun_devices: tuple[str, ...]) -> set[Capture]:
    seen: set[Capture] = set()
    for line in lines:
        if " tproxy " in f" {line} ":
            seen.add(Capture.TPROXY)
        elif "redirect to" in line:
            seen.add(Capture.REDIRECT)
        elif tun_devices and "mark set" in line and "icmp" not in line:
            seen.add(Capture.TUN)
        if any(f'"{dev}"' in line or f" {dev} " in f" {line} " for dev in tun_devices):
            seen.add(Capture.TUN)
    return seen


_JUMP = re.compile(r"\b(?:jump|goto) (\S+)")


def reachable(found: Mapping[str, list[str]]) -> set[str]:
    """Chains that packets reach: base chains and those they jump or go to."""
    todo = [name for name, lines in found.items() if lines and lines[0].startswith("type ")]
    seen = set(todo)
    while todo:
        for line in found.get(todo.pop(), []):
            for target in _JUMP.findall(line):
                if target in found and target not in seen:
                    seen.add(target)
                    todo.append(target)
    return seen


def live_rules(proxy: Proxy, ruleset: str) -> tuple[bool, frozenset[Capture], list[str]]:
    """Whether its rules are loaded, what they capture, and what shows it."""
    bodies = tables(ruleset)
    names = {c.name for c in proxy.chains}
    running = False
    lines: list[str] = []
    evidence: list[str] = []
    for table in proxy.tables:
        body = bodies.get(table)
        if body is None:
            continue
        found = chains(body)
        mine = sorted(n for n in found if n in names or proxy.own_table)
        if not mine:
            continue
        running = True
        evidence.append(f"its chains {', '.join(mine)} are loaded in table {table}")
        used = reachable(found)
        for name in mine:
            if name in used:
                lines += [ln for ln in found[name] if not ln.startswith("type ")]
    if not running:
        return False, frozenset(), []
    seen = _captures(lines, proxy.tun_devices)
    if seen:
        evidence.append("the loaded rules " + ", ".join(sorted(seen)))
    return True, frozenset(seen), evidence


def detect_one(proxy: Proxy, config_text: str | None, ruleset: str) -> Detected:
    running, live, evidence = live_rules(proxy, ruleset)
    doc: Document | None = None
    if config_text is not None:
        try:
            doc = Document.parse(config_text, f"/etc/config/{proxy.config}")
        except UciParseError as exc:
            evidence.insert(0, f"/etc/config/{proxy.config} cannot be read: {exc}")
    enabled = doc is not None and enabled_in(proxy, doc)
    mode = mode_of(proxy, doc) if doc is not None else None
    if doc is not None:
        state = "switched on" if enabled else "switched off"
        refs = ", ".join(f"{r} '{option(doc, r)}'" for r in proxy.enable)
        evidence.insert(0, f"/etc/config/{proxy.config}: {state} ({refs}); mode {mode}")
    return Detected(
        proxy=proxy,
        installed=doc is not None or running,
        enabled=enabled,
        running=running,
        mode=mode,
        live=live,
        evidence=tuple(evidence),
    )


def detect(configs: Mapping[str, str | None], ruleset: str) -> list[Detected]:
    """Every proxy of the catalog that is installed (config or rules found).

    `configs`: UCI config name → file text (absent or None: no such file)."""
    found = [detect_one(p, configs.get(p.config), ruleset) for p in PROXIES.values()]
    return [d for d in found if d.installed]


Runner = Callable[..., subprocess.CompletedProcess[str]]


def read(root: Path = Path("/"), run: Runner = subprocess.run) -> list[Detected]:
    """Read the proxies' configs below `root` and the live ruleset, then `detect`."""
    configs: dict[str, str | None] = {}
    for proxy in PROXIES.values():
        path = root / "etc/config" / proxy.config
        try:
            configs[proxy.config] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            configs[proxy.config] = None
    try:
        proc = run(["nft", "list", "ruleset"], capture_output=True, text=True, check=False)
        ruleset = proc.stdout if proc.returncode == 0 else ""
    except OSError:
        ruleset = ""
    return detect(configs, ruleset)
