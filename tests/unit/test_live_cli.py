"""`dualnat test FORWARD` end to end as a command: a fake machine (a /proc folder whose
connection table changes while the command watches, `nft list ruleset` answered with
the plan's rules), each event printed as it happens, the verdict, its exit code, --json
and --lang."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import dualnat.doctor.system
import dualnat.live.events
from dualnat.cli import main
from dualnat.context import make_plan
from dualnat.render import nft
from dualnat.site import Site
from dualnat.uci import FileBackend

ROUTER = Path(__file__).resolve().parent.parent / "fixtures" / "router"
CLIENT = "203.0.113.9"
# nas_web (8443 → 192.168.1.50:443) reached from the Internet and answered
ESTABLISHED = (
    f"ipv4     2 tcp      6 431999 ESTABLISHED src={CLIENT} dst=192.168.1.2 sport=40000 "
    f"dport=8443 src=192.168.1.50 dst={CLIENT} sport=443 dport=40000 [ASSURED] "
    "mark=0 zone=0 use=2\n"
)


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(ROUTER, d)
    return d


@pytest.fixture
def table(tmp_path: Path, confdir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """The machine the command examines; returns a setter of its connection table. No
    event stream (the conntrack tool cannot be started)."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    rules = nft.render(make_plan(Site(FileBackend(confdir), confdir / ".dualnat")))

    def run(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        if cmd == ["nft", "list", "ruleset"]:
            return subprocess.CompletedProcess(cmd, 0, rules, "")
        raise FileNotFoundError(cmd[0])

    def set_table(text: str) -> None:
        tmp = proc / "net" / "nf_conntrack.tmp"
        tmp.write_text(text)
        tmp.replace(proc / "net" / "nf_conntrack")

    system = dualnat.doctor.system.System
    monkeypatch.setattr(dualnat.doctor.system, "System", lambda: system(proc, run))
    monkeypatch.setattr(dualnat.live.events, "COMMAND", (str(tmp_path / "no-conntrack"),))
    set_table("")
    return set_table


def test_a_working_forward_prints_each_stage_and_exits_0(
    capsys: pytest.CaptureFixture[str], confdir: Path, table: Callable[[str], None]
) -> None:
    later = threading.Timer(1.5, table, [ESTABLISHED])  # someone connects from outside
    later.start()
    began = time.monotonic()
    try:
        code = main(["--config-dir", str(confdir), "test", "nas_web", "--seconds", "30"])
    finally:
        later.cancel()
    out = capsys.readouterr().out
    assert code == 0, out
    assert time.monotonic() - began < 15  # the verdict was in: it did not watch 30 s
    lines = out.splitlines()
    assert "Watching forward 'nas_web'" in lines[0] and "198.51.100.7:8443" in lines[0]
    stages = [line.split("] ", 1)[1] for line in lines[1:5]]
    assert stages[0].startswith(f"#1 TCP connection from {CLIENT} arrived from the main router")
    assert stages[1].startswith("#1 Sent on to the device 192.168.1.50:443")
    assert stages[2] == "#1 The device answered, and its answer left through this router."
    assert stages[3].startswith("#1 Connected")
    assert lines[6] == "Verdict: the forward works (ok)"


def test_json_without_any_attempt_says_nothing_arrived_and_exits_1(
    capsys: pytest.CaptureFixture[str], confdir: Path, table: Callable[[str], None]
) -> None:
    args = ["--config-dir", str(confdir), "test", "nas_web", "--seconds", "5", "--json"]
    code = main([*args, "--lang", "zh"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (data["state"], data["forward"], data["seconds"]) == ("done", "nas_web", 5)
    assert data["verdict"]["code"] == "nothing_arrived" and data["elapsed"] >= 5
    assert "8443" in data["verdict"]["fix"] and "主路由" in data["verdict"]["fix"]


@pytest.mark.parametrize("seconds", ["4", "601", "x"])
def test_seconds_out_of_range_are_refused(
    capsys: pytest.CaptureFixture[str], confdir: Path, seconds: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--config-dir", str(confdir), "test", "nas_web", "--seconds", seconds])
    assert exit_.value.code == 2 and "--seconds" in capsys.readouterr().err


def test_an_unknown_forward_cannot_be_tested(
    capsys: pytest.CaptureFixture[str], confdir: Path, table: Callable[[str], None]
) -> None:
    assert main(["--config-dir", str(confdir), "test", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
