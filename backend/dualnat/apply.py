"""Write the plan into /etc/config/firewall (and dhcp), check, reload, roll back on failure."""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ApplyError, ConfigInvalid
from .plan import DhcpServer, Plan, Sysctl
from .render.uci import UciSection, firewall_sections
from .site import Site
from .sync import dhcp_changes, firewall_changes
from .uci import (
    Change,
    Document,
    UciError,
    atomic_write,
)

FIREWALL = "firewall"
DHCP = "dhcp"
ORIGINAL_MARK = "# before dualnat: "


@dataclass
class ApplyResult:
    """What an apply or revert did."""

    changes: list[Change]
    diff: str  # unified diff of the config, computed for dry runs
    messages: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _diff(config: str, before: Document, changes: Sequence[Change]) -> str:
    after = Document.parse(before.serialize())
    after.apply(changes)
    return "".join(
        difflib.unified_diff(
            before.serialize().splitlines(keepends=True),
            after.serialize().splitlines(keepends=True),
            fromfile=f"a/{config}",
            tofile=f"b/{config}",
        )
    )


def _run_ok(env: Site, cmd: list[str] | None) -> tuple[bool, str]:
    if cmd is None:
        return True, ""
    try:
        proc = env.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stderr or proc.stdout or "").strip()


@dataclass(frozen=True)
class _Target:
    """One config that apply writes, and how the system is told about it."""

    config: str
    check_cmd: list[str] | None
    reload_cmd: list[str] | None
    service: str


def _targets(env: Site) -> tuple[_Target, _Target]:
    return (
        _Target(FIREWALL, env.check_cmd, env.reload_cmd, "firewall"),
        _Target(DHCP, None, env.dhcp_reload_cmd, "dnsmasq"),
    )


Undo = Callable[[], None]


def _commit_checked(env: Site, target: _Target, changes: list[Change], messages: list[str]) -> Undo:
    """Back up, commit, check and reload; restore the backup if anything fails.

    Returns what puts the previous config back, for when a later step fails.
    """
    path = Path(env.backend.config_dir) / target.config
    backup_dir = env.state_dir / "backup"
    backup_dir.mkdir(parents=True, exist_ok=True)
    had_file = path.exists()
    original = path.read_bytes() if had_file else b""
    atomic_write(backup_dir / target.config, original)

    def undo() -> None:
        if had_file:
            atomic_write(path, original)
        else:
            path.unlink(missing_ok=True)
        _run_ok(env, target.reload_cmd)

    def restore(why: str) -> ApplyError:
        undo()
        return ApplyError(f"{why}; the previous {target.config} config was restored")

    try:
        env.backend.commit(target.config, changes)
    except UciError as exc:
        raise restore(f"writing the {target.config} config failed: {exc}") from exc
    ok, out = _run_ok(env, target.check_cmd)
    if not ok:
        raise restore(f"fw4 check failed: {out}")
    if target.reload_cmd is None:
        why = env.reload_skipped(target.service)
        messages.append(f"wrote {path}; {target.service} reload skipped: {why}")
        return undo
    ok, out = _run_ok(env, target.reload_cmd)
    if not ok:
        raise restore(f"{target.service} reload failed: {out}")
    messages.append(f"wrote {path} and reloaded {target.service}")
    return undo


def _read_originals(path: Path) -> dict[str, str]:
    originals: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith(ORIGINAL_MARK):
                key, _, value = line[len(ORIGINAL_MARK) :].partition("=")
                originals[key.strip()] = value.strip()
    return originals


def _sysctl_path(env: Site, key: str) -> Path:
    assert env.proc_sys is not None
    return env.proc_sys / Sysctl(None, (), key, "").proc_path


def _apply_sysctls(env: Site, items: list[Sysctl], messages: list[str]) -> None:
    if env.sysctl_file is None or env.proc_sys is None:
        if items:
            wanted = ", ".join(f"{i.key}={i.value}" for i in items)
            messages.append(f"sysctl skipped (not running on the router): {wanted}")
        return
    originals = _read_originals(env.sysctl_file)
    for item in items:
        proc = _sysctl_path(env, item.key)
        try:
            current = proc.read_text().strip()
        except OSError:
            messages.append(f"sysctl {item.key} does not exist here; skipped")
            continue
        originals.setdefault(item.key, current)
        if current != item.value:
            proc.write_text(item.value + "\n")
            messages.append(f"set {item.key}={item.value}")
    body = [f"{ORIGINAL_MARK}{k}={v}" for k, v in sorted(originals.items())]
    body += [f"{i.key}={i.value}" for i in items]
    env.sysctl_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        env.sysctl_file,
        "# Written by dualnat; removed by 'dualnat revert'.\n" + "\n".join(body) + "\n",
    )


def _revert_sysctls(env: Site, messages: list[str]) -> None:
    if env.sysctl_file is None or env.proc_sys is None or not env.sysctl_file.exists():
        return
    for key, value in _read_originals(env.sysctl_file).items():
        proc = _sysctl_path(env, key)
        try:
            if proc.read_text().strip() != value:
                proc.write_text(value + "\n")
                messages.append(f"restored {key}={value}")
        except OSError:
            continue
    env.sysctl_file.unlink()


def _sync(
    env: Site,
    target: _Target,
    changes: list[Change],
    before: Document,
    dry_run: bool,
    result: ApplyResult,
) -> Undo | None:
    if not changes:
        result.messages.append(f"{target.config}: nothing to change")
        return None
    result.changes += changes
    if dry_run:
        result.diff += _diff(target.config, before, changes)
        return None
    return _commit_checked(env, target, changes, result.messages)


def _apply(env: Site, plan: Plan | None, dry_run: bool) -> ApplyResult:
    result = ApplyResult([], "", [])
    firewall, dhcp = _targets(env)
    wanted: list[UciSection] = firewall_sections(plan) if plan is not None else []
    doc = env.backend.read(FIREWALL)
    undo_firewall = _sync(env, firewall, firewall_changes(doc, wanted), doc, dry_run, result)
    servers = plan.of_kind(DhcpServer) if plan is not None else []
    try:
        doc = env.backend.read(DHCP)
        changes = dhcp_changes(doc, servers[0] if servers else None)
        _sync(env, dhcp, changes, doc, dry_run, result)
    except (ApplyError, UciError) as exc:
        if undo_firewall is None:
            raise
        undo_firewall()  # all or nothing: the firewall goes back too
        raise ApplyError(f"{exc}; the previous firewall config was restored too") from exc
    if not dry_run:
        if plan is not None:
            _apply_sysctls(env, plan.of_kind(Sysctl), result.messages)
        else:
            _revert_sysctls(env, result.messages)
    return result


def apply_plan(plan: Plan, env: Site, dry_run: bool = False) -> ApplyResult:
    """Make the firewall and DHCP configs and the sysctls match `plan` (idempotent).

    A plan with apply blockers (e.g. DHCP must move but there is no dhcp section) raises
    ConfigInvalid with them before anything is written."""
    if plan.apply_blockers:
        raise ConfigInvalid(plan.apply_blockers)
    with env.lock(dry_run):
        return _apply(env, plan, dry_run)


def revert(env: Site, dry_run: bool = False) -> ApplyResult:
    """Remove every dualnat_* section, undo dualnat's DHCP edits, restore the sysctls."""
    with env.lock(dry_run):
        return _apply(env, None, dry_run)
