"""`dualnat doctor` end to end on a fake machine: a /proc folder and a fake command runner."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from doctor_data import EXAMPLE, conntrack_text, example_plan

import dualnat.doctor
from dualnat.cli import main
from dualnat.doctor import System, diagnose
from dualnat.render import nft

SYSCTLS = {
    "sys/net/ipv4/ip_forward": "1",
    "sys/net/ipv4/conf/all/send_redirects": "0",
    "sys/net/ipv4/conf/br-lan/send_redirects": "0",
    "sys/net/ipv4/conf/all/rp_filter": "0",
    "sys/net/ipv4/conf/br-lan/rp_filter": "2",
}


def fake_proc(root: Path, table: str = "proc_nf_conntrack.txt", **changes: str) -> Path:
    for rel, value in {**SYSCTLS, **changes}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(value + "\n")
    (root / "net").mkdir(exist_ok=True)
    (root / "net" / "nf_conntrack").write_text(conntrack_text(table))
    return root


def runner(nft_text: str | None, calls: list[list[str]]):
    def run(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        calls.append(cmd)
        if cmd == ["nft", "list", "ruleset"] and nft_text is not None:
            return subprocess.CompletedProcess(cmd, 0, nft_text, "")
        if cmd[0] == "iptables-save":
            raise FileNotFoundError(cmd[0])  # OpenWrt with fw4 has no iptables
        return subprocess.CompletedProcess(cmd, 1, "", "Operation not permitted")

    return run


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make diagnose() without a system argument read a fake machine; returns a setter."""
    calls: list[list[str]] = []

    def use(proc: Path, nft_text: str | None) -> list[list[str]]:
        monkeypatch.setattr(dualnat.doctor, "System", lambda: System(proc, runner(nft_text, calls)))
        return calls

    return use


def test_diagnose_reads_proc_files_and_commands(tmp_path: Path) -> None:
    plan = example_plan()
    calls: list[list[str]] = []
    report = diagnose(plan, System(fake_proc(tmp_path), runner(nft.render(plan), calls)))
    assert calls == [
        ["nft", "list", "ruleset"],
        ["iptables-save", "-t", "nat"],
        ["iptables-save", "-t", "filter"],
    ]
    assert report.sysctls["net.ipv4.conf.br-lan.rp_filter"] == "2"
    assert report.sysctls["net.bridge.bridge-nf-call-iptables"] is None
    assert report.table.source == str(tmp_path / "net" / "nf_conntrack")
    assert report.ruleset.kind == "nft" and not report.failed
    assert report.codes() == ["forward.ok"] * 4


def test_cli_json_exit_0(capsys, confdir: Path, tmp_path: Path, machine) -> None:
    machine(fake_proc(tmp_path / "proc"), nft.render(example_plan()))
    code = main(["--config-dir", str(confdir), "doctor", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["severity"] == "ok"
    assert data["conntrack"] == {
        "source": str(tmp_path / "proc" / "net" / "nf_conntrack"),
        "entries": 20,
        "skipped": 9,
    }
    assert set(data["forwards"]) == {"nas_web", "game", "web", "office_ssh"}


def test_cli_text_exit_1_on_errors(capsys, confdir: Path, tmp_path: Path, machine) -> None:
    proc = fake_proc(tmp_path / "proc", **{"sys/net/ipv4/ip_forward": "0"})
    machine(proc, None)
    code = main(["--config-dir", str(confdir), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ERROR   system.ip_forward_off" in out and "system.ruleset_unreadable" in out
    assert out.endswith("doctor: errors found\n")


def test_cli_warning_only_exits_0(capsys, confdir: Path, tmp_path: Path, machine) -> None:
    proc = fake_proc(tmp_path / "proc", **{"sys/net/ipv4/conf/br-lan/send_redirects": "1"})
    machine(proc, nft.render(example_plan()))
    assert main(["--config-dir", str(confdir), "doctor"]) == 0
    assert "WARNING system.redirects_on" in capsys.readouterr().out


def test_cli_invalid_config_exit_2(capsys, confdir: Path, tmp_path: Path, machine) -> None:
    calls = machine(fake_proc(tmp_path / "proc"), "")
    cfg = confdir / "dualnat"
    cfg.write_text(cfg.read_text().replace("192.168.1.50", "10.0.0.50"))
    assert main(["--config-dir", str(confdir), "doctor", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {confdir / 'dualnat'}:")
    assert "forward 'nas_web': internal_ip" in err
    assert calls == []  # nothing was read
