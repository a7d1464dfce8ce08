"""POST /apply and /revert: the core's apply behind the API, its lock reused."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

from conftest import resolve, snapshot
from flask.testing import FlaskClient

from dualnat.api import create_app
from dualnat.site import Site
from dualnat.uci import Document, FileBackend

API = "/api/v1"


def dualnat_sections(confdir: Path) -> list[str]:
    doc = Document.parse((confdir / "firewall").read_text())
    return [s.name for s in doc.sections() if s.name and s.name.startswith("dualnat_")]


def test_dry_run_shows_the_diff_and_writes_nothing(client: FlaskClient, confdir: Path) -> None:
    before = snapshot(confdir)
    r = client.post(f"{API}/apply", json={"dry_run": True})
    assert r.status_code == 200
    body = r.get_json()
    assert body["dry_run"] is True and body["changed"] is True and body["changes"] > 10
    assert body["diff"].startswith("--- a/firewall\n+++ b/firewall\n")
    assert snapshot(confdir) == before


def test_apply_writes_then_changes_nothing_and_revert_restores(
    client: FlaskClient, confdir: Path
) -> None:
    original = (confdir / "firewall").read_bytes()
    r = client.post(f"{API}/apply")  # no body: not a dry run
    assert r.status_code == 200
    body = r.get_json()
    assert body["changed"] is True and body["diff"] == ""
    assert any("reload skipped" in m for m in body["messages"])
    assert "dualnat_nas_web_dnat" in dualnat_sections(confdir)
    again = client.post(f"{API}/apply", json={"dry_run": False}).get_json()
    assert again["changed"] is False and "firewall: nothing to change" in again["messages"]
    r = client.post(f"{API}/revert", json={"dry_run": False})
    assert r.status_code == 200 and r.get_json()["changed"] is True
    assert (confdir / "firewall").read_bytes() == original


def test_a_failing_reload_is_a_json_error_and_the_old_config_stays(confdir: Path) -> None:
    site = Site(FileBackend(confdir), confdir / ".dualnat", reload_cmd=["false"])
    client = create_app(confdir, resolve=resolve, site=site).test_client()
    original = (confdir / "firewall").read_bytes()
    r = client.post(f"{API}/apply", json={"dry_run": False})
    assert r.status_code == 500
    [message] = r.get_json()["errors"]["_apply"]
    assert "firewall reload failed" in message and "restored" in message
    assert (confdir / "firewall").read_bytes() == original


def test_apply_waits_for_the_core_lock(client: FlaskClient, confdir: Path) -> None:
    """The API takes apply.py's own lock file, so it waits for a `dualnat apply` running
    in another process."""
    state = confdir / ".dualnat"
    state.mkdir()
    done = threading.Event()
    with open(state / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(
            target=lambda: (client.post(f"{API}/apply"), done.set()), daemon=True
        )
        worker.start()
        assert not done.wait(0.5), "apply must wait while another process holds the lock"
        assert dualnat_sections(confdir) == []
    assert done.wait(10)
    assert dualnat_sections(confdir)
