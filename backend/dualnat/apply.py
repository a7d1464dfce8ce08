"""Write the plan into /etc/config/firewall, check, reload, and roll back on failure."""

from __future__ import annotations

import difflib
import fcntl
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .context import is_live
from .errors import ApplyError
from .plan import Plan, Sysctl
from .render.uci import PREFIX, UciSection, firewall_sections
from .uci import (
    Change,
    DeleteOption,
    DeleteSection,
    Document,
    SetOption,
    SetSection,
    UciBackend,
    UciError,
    atomic_write,
)

FIREWALL = "firewall"
SYSCTL_FILE = Path("/etc/sysctl.d/90-dualnat.conf")
ORIGINAL_MARK = "# before dualnat: "

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass
class Environment:
    """The system around a config folder: where to lock, back up, check, reload, tune."""

    backend: UciBackend
    state_dir: Path
    check_cmd: list[str] | None = None
    reload_cmd: list[str] | None = None
    sysctl_file: Path | None = None
    proc_sys: Path | None = None
    run: Runner = field(default=subprocess.run)

    @classmethod
    def detect(cls, backend: UciBackend) -> Environment:
        """OpenWrt when working on the live /etc/config, otherwise files only."""
        config_dir = Path(backend.config_dir)
        if not is_live(config_dir):
            return cls(backend, config_dir / ".dualnat")
        fw4 = shutil.which("fw4")
        reload_cmd = None
        if Path("/etc/init.d/firewall").exists():
            reload_cmd = ["/etc/init.d/firewall", "reload"]
        return cls(
            backend,
            Path("/tmp/dualnat"),
            check_cmd=[fw4, "-q", "check"] if fw4 else None,
            reload_cmd=reload_cmd,
            sysctl_file=SYSCTL_FILE,
            proc_sys=Path("/proc/sys"),
        )


@dataclass
class ApplyResult:
    """What an apply or revert did."""

    changes: list[Change]
    diff: str  # unified diff of the config, computed for dry runs
    messages: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def firewall_changes(doc: Document, wanted: Sequence[UciSection]) -> list[Change]:
    """The edits that turn the dualnat_* sections of `doc` into exactly `wanted`."""
    existing = {s.name: s for s in doc.sections() if s.name and s.name.startswith(PREFIX)}
    names = {w.name for w in wanted}
    changes: list[Change] = [DeleteSection(n) for n in existing if n not in names]
    for sec in wanted:
        cur = existing.get(sec.name)
        opts = sec.as_dict()
        if cur is None or cur.type != sec.type:
            if cur is not None:
                changes.append(DeleteSection(sec.name))
            changes.append(SetSection(sec.name, sec.type))
            changes += [SetOption(sec.name, k, v) for k, v in sec.options]
            continue
        changes += [DeleteOption(sec.name, k) for k in cur.options if k not in opts]
        changes += [SetOption(sec.name, k, v) for k, v in sec.options if cur.options.get(k) != v]
    return changes


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


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One apply or revert at a time, across processes."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_ok(env: Environment, cmd: list[str] | None) -> tuple[bool, str]:
    if cmd is None:
        return True, ""
    try:
        proc = env.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stderr or proc.stdout or "").strip()


def _commit_checked(env: Environment, changes: list[Change], messages: list[str]) -> None:
    """Back up, commit, check and reload; restore the backup if anything fails."""
    path = Path(env.backend.config_dir) / FIREWALL
    backup_dir = env.state_dir / "backup"
    backup_dir.mkdir(parents=True, exist_ok=True)
    had_file = path.exists()
    original = path.read_bytes() if had_file else b""
    atomic_write(backup_dir / FIREWALL, original.decode("utf-8", "surrogateescape"))

    def restore(why: str) -> ApplyError:
        if had_file:
            atomic_write(path, original.decode("utf-8", "surrogateescape"))
        else:
            path.unlink(missing_ok=True)
        _run_ok(env, env.reload_cmd)
        return ApplyError(f"{why}; the previous firewall config was restored")

    try:
        env.backend.commit(FIREWALL, changes)
    except UciError as exc:
        raise restore(f"writing the firewall config failed: {exc}") from exc
    ok, out = _run_ok(env, env.check_cmd)
    if not ok:
        raise restore(f"fw4 check failed: {out}")
    if env.reload_cmd is None:
        messages.append(f"wrote {path}; firewall reload skipped (not running on OpenWrt)")
        return
    ok, out = _run_ok(env, env.reload_cmd)
    if not ok:
        raise restore(f"firewall reload failed: {out}")
    messages.append(f"wrote {path} and reloaded the firewall")


def _read_originals(path: Path) -> dict[str, str]:
    originals: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith(ORIGINAL_MARK):
                key, _, value = line[len(ORIGINAL_MARK) :].partition("=")
                originals[key.strip()] = value.strip()
    return originals


def _sysctl_path(env: Environment, key: str) -> Path:
    assert env.proc_sys is not None
    return env.proc_sys / Sysctl(None, "", key, "").proc_path


def _apply_sysctls(env: Environment, items: list[Sysctl], messages: list[str]) -> None:
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


def _revert_sysctls(env: Environment, messages: list[str]) -> None:
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


def _sync(env: Environment, wanted: list[UciSection], dry_run: bool) -> ApplyResult:
    doc = env.backend.read(FIREWALL)
    changes = firewall_changes(doc, wanted)
    diff = _diff(FIREWALL, doc, changes) if changes and dry_run else ""
    messages: list[str] = []
    if not changes:
        messages.append("firewall: nothing to change")
    elif not dry_run:
        _commit_checked(env, changes, messages)
    return ApplyResult(changes, diff, messages)


def apply_plan(plan: Plan, env: Environment, dry_run: bool = False) -> ApplyResult:
    """Make the firewall config and sysctls match `plan` (idempotent)."""
    with _locked(env.state_dir):
        result = _sync(env, firewall_sections(plan), dry_run)
        if not dry_run:
            _apply_sysctls(env, plan.of_kind(Sysctl), result.messages)
        return result


def revert(env: Environment, dry_run: bool = False) -> ApplyResult:
    """Remove every dualnat_* section and restore the sysctls dualnat changed."""
    with _locked(env.state_dir):
        result = _sync(env, [], dry_run)
        if not dry_run:
            _revert_sysctls(env, result.messages)
        return result
