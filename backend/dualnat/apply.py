"""Write the plan into /etc/config/firewall (and dhcp) and a transparent proxy's settings,
check, reload, roll back on failure.

All or nothing: the firewall config, the DHCP config and the proxies' settings (their UCI
configs, rules files, firewall4 includes, dualnat's state file) are backed up before they
are written; when a later step fails (a check, a reload, a proxy's restart), every step
already done is put back, and its service told again."""

from __future__ import annotations

import difflib
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ApplyError, ConfigInvalid
from .plan import DhcpServer, Plan, ProxyExclusion, Sysctl
from .proxies import inputs as proxy_inputs
from .proxies.entries import FW4_RELOAD, FileLine, NftInclude, Owned, UciEdit
from .proxies.sync import ProxyEdits, proxy_edits
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
    """What an apply or revert did: the UCI changes, the other files written (a proxy's
    rules file, a firewall4 include), a diff for dry runs, messages."""

    changes: list[Change]
    diff: str  # unified diff of the config, computed for dry runs
    messages: list[str]
    files: list[str] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.files)


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


def _file_diff(path: str, before: str | None, after: str | None) -> str:
    return "".join(
        difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile="/dev/null" if before is None else f"a{path}",
            tofile="/dev/null" if after is None else f"b{path}",
        )
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None


def _activation(env: Site, command: str) -> list[str] | None:
    """The argv that runs `command` here (None: skipped, with the reason in messages)."""
    if command == FW4_RELOAD:
        return env.reload_cmd
    if not env.system:
        return None
    argv = shlex.split(command)
    if env.init_dir is not None and not Path(argv[0]).exists():
        return None
    return argv


class _Backups:
    """The files a step replaces, as they were, to put back on failure."""

    def __init__(self) -> None:
        self.saved: dict[Path, bytes | None] = {}

    def keep(self, path: Path) -> None:
        if path not in self.saved:
            self.saved[path] = path.read_bytes() if path.exists() else None

    def restore(self) -> None:
        for path, data in self.saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, data)


def _proxy_state_text(state: Mapping[str, Sequence[Owned]]) -> str:
    return proxy_inputs.state_text(state)


def _proxy_step(env: Site, plan: Plan | None, dry_run: bool, result: ApplyResult) -> Undo | None:
    """Bring the proxies' settings in line with the plan's proxy items (none: revert),
    with dualnat's state file; run the proxies' restarts. Returns what puts it all back."""
    try:
        owned = proxy_inputs.read_state(env)
    except proxy_inputs.StateError as exc:
        raise ApplyError(
            f"{env.proxy_state} cannot be read ({exc}): dualnat does not know what it added "
            "to the proxies' settings; fix or remove that file"
        ) from None
    wanted = plan.of_kind(ProxyExclusion) if plan is not None else []
    detected = plan.proxies if plan is not None else proxy_inputs.load(env).detected
    running = {d.proxy.key: d.running for d in detected}
    entries = [e for i in wanted for e in (*i.entries, *i.remove)]
    entries += [e for v in owned.values() for e in v]
    configs = sorted({e.config for e in entries if isinstance(e, UciEdit)})
    docs = {c: env.backend.read(c) for c in configs}
    paths = sorted({e.path for e in entries if isinstance(e, FileLine | NftInclude)})
    files = {p: _read_text(env.path(p)) for p in paths}
    edits = proxy_edits(wanted, owned, docs, files, running)
    state_before = _read_text(env.proxy_state)
    state_after = _proxy_state_text(edits.state) if any(edits.state.values()) else None
    if edits.empty and state_before == state_after:
        return None
    result.files = [*(result.files or []), *edits.files]
    for changes in edits.uci.values():
        result.changes += changes
    if dry_run:
        for config, changes in edits.uci.items():
            result.diff += _diff(config, docs[config], changes)
        for path, text in edits.files.items():
            result.diff += _file_diff(path, files.get(path), text)
        result.messages += [f"would run: {c}" for c in edits.activate]
        return None
    return _write_proxies(env, edits, state_after, result.messages)


def _write_proxies(
    env: Site, edits: ProxyEdits, state_after: str | None, messages: list[str]
) -> Undo:
    backups = _Backups()
    for config in edits.uci:
        backups.keep(env.config_dir / config)
    for path in edits.files:
        backups.keep(env.path(path))
    backups.keep(env.proxy_state)
    ran: list[list[str]] = []

    def undo() -> None:
        backups.restore()
        for argv in ran:
            _run_ok(env, argv)

    try:
        # The state first names both the old and the new entries: if the router stops
        # halfway, dualnat still knows everything that may be its own.
        env.proxy_state.parent.mkdir(parents=True, exist_ok=True)
        old = proxy_inputs.read_state(env)
        merged = {
            key: (*old.get(key, ()), *(e for e in new if e not in old.get(key, ())))
            for key, new in {**old, **edits.state}.items()
        }
        atomic_write(env.proxy_state, _proxy_state_text(merged))
        for config, changes in edits.uci.items():
            env.backend.commit(config, changes)
            messages.append(f"wrote {env.config_dir / config}")
        for path, text in edits.files.items():
            target = env.path(path)
            if text is None:
                target.unlink(missing_ok=True)
                messages.append(f"removed {target}")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, text)
                messages.append(f"wrote {target}")
        for command in edits.activate:
            argv = _activation(env, command)
            if argv is None:
                messages.append(
                    f"{command}: skipped ({env.reload_skipped(shlex.split(command)[0])})"
                )
                continue
            ok, out = _run_ok(env, argv)
            ran.append(argv)
            if not ok:
                raise ApplyError(f"{command} failed: {out}")
            messages.append(f"ran {command}")
        if state_after is None:
            env.proxy_state.unlink(missing_ok=True)
        else:
            atomic_write(env.proxy_state, state_after)
    except (ApplyError, UciError, OSError) as exc:
        undo()
        raise ApplyError(f"{exc}; the proxies' previous settings were restored") from exc
    return undo


def _apply(env: Site, plan: Plan | None, dry_run: bool) -> ApplyResult:
    result = ApplyResult([], "", [])
    firewall, dhcp = _targets(env)
    wanted: list[UciSection] = firewall_sections(plan) if plan is not None else []
    done: list[tuple[str, Undo]] = []  # the configs written so far, and their undo

    def step(name: str, undo: Undo | None) -> None:
        if undo is not None:
            done.append((name, undo))

    doc = env.backend.read(FIREWALL)
    step(FIREWALL, _sync(env, firewall, firewall_changes(doc, wanted), doc, dry_run, result))
    servers = plan.of_kind(DhcpServer) if plan is not None else []
    try:
        doc = env.backend.read(DHCP)
        changes = dhcp_changes(doc, servers[0] if servers else None)
        step(DHCP, _sync(env, dhcp, changes, doc, dry_run, result))
        _proxy_step(env, plan, dry_run, result)
    except (ApplyError, UciError) as exc:
        if not done:
            raise
        for _, undo in reversed(done):  # all or nothing: the steps done go back too
            undo()
        names = " and ".join(name for name, _ in done)
        configs = "config was" if len(done) == 1 else "configs were"
        raise ApplyError(f"{exc}; the previous {names} {configs} restored too") from exc
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
    """Remove every dualnat_* section, undo dualnat's DHCP edits, remove exactly what
    dualnat added to the proxies' settings, restore the sysctls."""
    with env.lock(dry_run):
        return _apply(env, None, dry_run)
