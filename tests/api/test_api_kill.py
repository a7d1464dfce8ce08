"""Kill the process at every file-system step of an apply (and of a config write): the
file it writes is always byte for byte the old or the new version, never a mix.

Each run happens in a forked child that counts steps with an audit hook (file opens,
renames, removals, mode changes, locks, commands) and SIGKILLs itself at step k.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dualnat.api import create_app
from dualnat.site import Site
from dualnat.uci import FileBackend

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "router"
STEPS = {
    "open",
    "os.rename",
    "os.remove",
    "os.rmdir",
    "os.chmod",
    "os.chown",
    "os.mkdir",
    "os.truncate",
    "fcntl.flock",
    "subprocess.Popen",
}
Action = Callable[[FlaskClient], int]


def apply(client: FlaskClient) -> int:
    return client.post("/api/v1/apply", json={"dry_run": False}).status_code


def write(client: FlaskClient) -> int:
    body = {"external_port": 81, "internal_ip": "192.168.1.51"}
    return client.put("/api/v1/forwards/web", json=body).status_code


def run_child(client: FlaskClient, action: Action, kill_at: int) -> tuple[int, int]:
    """Run `action` in a forked child killed at step `kill_at` (0: never).

    Returns (signal that ended it or 0, number of steps it saw when it finished)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: count, kill, report; never return into pytest
        try:
            os.close(read_fd)
            count = 0

            def hook(event: str, args: tuple) -> None:
                nonlocal count
                if event in STEPS:
                    count += 1
                    if count == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)

            sys.addaudithook(hook)
            status = action(client)
            os.write(write_fd, f"{count} {status}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        report = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        return os.WTERMSIG(wait_status), 0
    return 0, int(report.split()[0])


def client_for(confdir: Path, reload_ok: bool) -> FlaskClient:
    site = Site(
        FileBackend(confdir), confdir / ".dualnat", reload_cmd=["true" if reload_ok else "false"]
    )
    client = create_app(confdir, resolve=lambda _: None, site=site).test_client()
    warm_up = client.post("/api/v1/apply", json={"dry_run": True})  # imports, state dir
    assert warm_up.status_code == 200
    return client


def reset(confdir: Path) -> None:
    shutil.rmtree(confdir, ignore_errors=True)
    shutil.copytree(FIXTURES, confdir)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize(
    ("action", "reload_ok", "target"),
    [(apply, True, "firewall"), (apply, False, "firewall"), (write, True, "dualnat")],
    ids=["apply", "apply-with-failing-reload", "config-write"],
)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_file(
    tmp_path: Path, action: Action, reload_ok: bool, target: str
) -> None:
    confdir = tmp_path / "config"
    reset(confdir)
    old = (confdir / target).read_bytes()
    run_child(client_for(confdir, reload_ok=True), action, 0)
    new = (confdir / target).read_bytes()  # what the action writes
    assert new != old
    # with a failing reload the backup is put back: old, new, old
    final = new if reload_ok else old
    client = client_for(confdir, reload_ok)
    reset(confdir)
    signum, steps = run_child(client, action, 0)
    assert signum == 0 and steps > 5
    assert (confdir / target).read_bytes() == final
    for k in range(1, steps + 1):
        reset(confdir)
        signum, _ = run_child(client, action, k)
        assert signum == signal.SIGKILL, f"step {k} of {steps} was not reached"
        after = (confdir / target).read_bytes()
        assert after in (old, new), f"killed at step {k} of {steps}: a mix was left"
    # after the last kill the lock is free again and a new run completes
    signum, _ = run_child(client, action, 0)
    assert signum == 0 and (confdir / target).read_bytes() == final


def test_the_harness_catches_a_writer_that_is_not_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same kills against a writer that truncates and writes in place leave a mix."""
    from dualnat.uci import backends

    def in_place(path: str | os.PathLike[str], text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        with open(path, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            open(os.devnull).close()  # a step between the two halves
            fh.write(data[len(data) // 2 :])

    monkeypatch.setattr(backends, "atomic_write", in_place)
    confdir = tmp_path / "config"
    reset(confdir)
    old = (confdir / "dualnat").read_bytes()
    client = client_for(confdir, reload_ok=True)
    reset(confdir)  # as before every kill: files the client has not read yet (none cached)
    signum, steps = run_child(client, write, 0)
    assert signum == 0
    new = (confdir / "dualnat").read_bytes()
    mixed = []
    for k in range(1, steps + 1):
        reset(confdir)
        run_child(client, write, k)
        if (confdir / "dualnat").read_bytes() not in (old, new):
            mixed.append(k)
    assert mixed, "the harness must see the half-written file"
