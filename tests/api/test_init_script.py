"""files/etc/init.d/dualnat: valid sh, and what it asks of procd (run with stub procd
functions in place of /etc/rc.common)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent.parent / "files" / "etc" / "init.d" / "dualnat"
STUBS = """
procd_open_instance() { echo "open"; }
procd_close_instance() { echo "close"; }
procd_set_param() { echo "param $*"; }
procd_add_reload_trigger() { echo "reload-trigger $*"; }
logger() { sed "s/^/logger $* | /"; }
"""


def run_sh(body: str, tmp_path: Path) -> str:
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell
    proc = subprocess.run(
        [shell, "-c", f"{STUBS}\n. {SCRIPT}\n{body}"],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_script_is_valid_sh() -> None:
    for shell in ("sh", "dash", "busybox"):
        path = shutil.which(shell)
        if path is None:
            continue
        cmd = [path, "sh", "-n", str(SCRIPT)] if shell == "busybox" else [path, "-n", str(SCRIPT)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (shell, proc.stderr)


def test_the_script_is_a_procd_service() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/bin/sh /etc/rc.common\n")
    assert "\nUSE_PROCD=1\n" in text
    assert SCRIPT.stat().st_mode & 0o111, "the init script must be executable"


def test_start_applies_then_runs_the_daemon_with_respawn(tmp_path: Path) -> None:
    fake = tmp_path / "dualnat"
    fake.write_text('#!/bin/sh\necho "dualnat $*"\n')
    fake.chmod(0o755)
    out = run_sh(f"PROG={fake}\nstart_service", tmp_path).splitlines()
    # the firewall gets the configured rules before the daemon starts (after a reinstall
    # the removal's revert took them out)
    # the main router is left to the daemon (it pushes in the background)
    assert out[0] == "logger -t dualnat | dualnat apply --no-push"
    assert out[1] == "open" and out[-1] == "close"
    out = run_sh("start_service", tmp_path).splitlines()
    assert out[-1] == "close"
    assert "param command /usr/bin/dualnat ubus" in out
    assert any(line.startswith("param respawn ") for line in out)
    assert "param term_timeout 5" in out
    assert not any("serve" in line for line in out), "no TCP listener on the router"


def test_config_changes_reload_and_reload_applies(tmp_path: Path) -> None:
    assert run_sh("service_triggers", tmp_path).splitlines() == ["reload-trigger dualnat"]
    fake = tmp_path / "dualnat"
    fake.write_text('#!/bin/sh\necho "dualnat $*"\necho "to stderr" >&2\n')
    fake.chmod(0o755)
    out = run_sh(f"PROG={fake}\nreload_service", tmp_path).splitlines()
    assert out == ["logger -t dualnat | dualnat apply", "logger -t dualnat | to stderr"]
