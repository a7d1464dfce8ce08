"""files/etc/uci-defaults/80_dualnat against a fake `uci` (tests/fixtures/fake_uci.py).

The script runs under /bin/sh (dash here, busybox ash on OpenWrt), sourced in a subshell
the way LuCI's postinst and /etc/init.d/boot run uci-defaults, with a PATH whose `uci`
works on a temporary config folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dualnat.uci import Document

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "files" / "etc" / "uci-defaults" / "80_dualnat"
DEFAULT_CONFIG = ROOT / "files" / "etc" / "config" / "dualnat"
NETWORK = ROOT / "tests" / "fixtures" / "router" / "network"
SHIM = Path(__file__).resolve().parent / "uci_shim.py"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(DEFAULT_CONFIG, d / "dualnat")
    shutil.copy(NETWORK, d / "network")
    return d


def run(confdir: Path, tmp_path: Path, quiet: bool = True) -> tuple[int, list[dict]]:
    """Source the script as uci-defaults are sourced; (exit status, uci calls). With
    `quiet`, nothing may appear on stderr."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "uci"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" "$@"\n')
    shim.chmod(0o755)
    log = tmp_path / "uci.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "FAKE_UCI_CONFDIR": str(confdir),
        "FAKE_UCI_LOG": str(log),
    }
    proc = subprocess.run(
        ["/bin/sh", "-c", f'( . "{SCRIPT}" )'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if quiet:
        assert proc.stderr == ""
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc.returncode, calls


def main_section(confdir: Path) -> dict:
    doc = Document.parse((confdir / "dualnat").read_text())
    [main] = [s for s in doc.sections() if s.type == "dualnat"]
    assert main.name == "main"
    return main.options


def test_the_script_parses_and_is_executable() -> None:
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")


def test_first_install_records_the_lan_of_the_network_config(confdir: Path, tmp_path: Path) -> None:
    status, calls = run(confdir, tmp_path)
    assert status == 0
    main = main_section(confdir)
    assert main["lan_interface"] == "lan"
    assert main["bypass_ip"] == "192.168.1.2"
    assert main["main_router_ip"] == "192.168.1.1"
    assert main["main_router_vendor"] == "generic"  # the rest of the default config stays
    [batch] = [c for c in calls if c["argv"] == ["-c", str(confdir), "batch"]]
    assert batch["stdin"] == (
        "set dualnat.main.bypass_ip=192.168.1.2\n"
        "set dualnat.main.main_router_ip=192.168.1.1\n"
        "commit dualnat\n"
    )


def test_a_second_run_changes_nothing(confdir: Path, tmp_path: Path) -> None:
    assert run(confdir, tmp_path)[0] == 0
    after_first = (confdir / "dualnat").read_bytes()
    status, calls = run(confdir, tmp_path)
    assert status == 0
    assert (confdir / "dualnat").read_bytes() == after_first
    assert not [c for c in calls if "batch" in c["argv"]]


def test_values_that_are_set_are_kept(confdir: Path, tmp_path: Path) -> None:
    text = (
        (confdir / "dualnat")
        .read_text()
        .replace(
            "option lan_interface 'lan'",
            "option lan_interface 'lan'\n\toption bypass_ip '192.168.1.9'",
        )
    )
    (confdir / "dualnat").write_text(text)
    assert run(confdir, tmp_path)[0] == 0
    main = main_section(confdir)
    assert main["bypass_ip"] == "192.168.1.9"
    assert main["main_router_ip"] == "192.168.1.1"


def test_a_list_address_with_a_prefix(confdir: Path, tmp_path: Path) -> None:
    text = (confdir / "network").read_text()
    text = text.replace("\toption ipaddr '192.168.1.2'\n\toption netmask '255.255.255.0'\n", "")
    text = text.replace(
        "option proto 'static'\n\toption gateway",
        "option proto 'static'\n\tlist ipaddr '10.9.8.2/24'\n\toption gateway",
    )
    (confdir / "network").write_text(text)
    assert "list ipaddr '10.9.8.2/24'" in text
    assert run(confdir, tmp_path)[0] == 0
    assert main_section(confdir)["bypass_ip"] == "10.9.8.2"


def test_a_dhcp_lan_leaves_the_addresses_empty(confdir: Path, tmp_path: Path) -> None:
    text = (confdir / "network").read_text()
    lan = text.index("config interface 'lan'")
    (confdir / "network").write_text(
        text[:lan] + "config interface 'lan'\n\toption device 'br-lan'\n\toption proto 'dhcp'\n"
    )
    status, calls = run(confdir, tmp_path)
    assert status == 0
    main = main_section(confdir)
    assert "bypass_ip" not in main and "main_router_ip" not in main
    assert not [c for c in calls if "batch" in c["argv"]]


def test_without_a_lan_interface_the_static_one_with_a_gateway_is_taken(
    tmp_path: Path, confdir: Path
) -> None:
    (confdir / "dualnat").write_text("config dualnat 'main'\n\toption enabled '1'\n")
    text = (
        (confdir / "network")
        .read_text()
        .replace("config interface 'lan'", "config interface 'intranet'")
    )
    (confdir / "network").write_text(text)
    assert run(confdir, tmp_path)[0] == 0
    main = main_section(confdir)
    assert main["lan_interface"] == "intranet"
    assert main["bypass_ip"] == "192.168.1.2"


def test_an_empty_config_gets_its_main_section(confdir: Path, tmp_path: Path) -> None:
    (confdir / "dualnat").write_text("")
    assert run(confdir, tmp_path)[0] == 0
    assert main_section(confdir) == {
        "lan_interface": "lan",
        "bypass_ip": "192.168.1.2",
        "main_router_ip": "192.168.1.1",
    }


def test_without_the_config_file_it_fails_and_stays_for_the_next_boot(
    confdir: Path, tmp_path: Path
) -> None:
    (confdir / "dualnat").unlink()
    status, _ = run(confdir, tmp_path, quiet=False)
    assert status == 1  # uci-defaults keep a script that fails
    assert not (confdir / "dualnat").exists()
