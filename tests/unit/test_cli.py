"""The command line against the example config folder: output, JSON shape, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dualnat.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bypass-router"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, d)
    return d


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "check")
    assert code == 0 and "configuration is valid: 4 forwards, " in out and "(s)" not in out


def test_config_dir_from_environment(capsys, confdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("DUALNAT_CONFIG_DIR", str(confdir))
    assert run(capsys, "check")[0] == 0


def test_plan_text_and_json(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "plan")
    assert code == 0 and "why:" in out and "On the main router (ikuai)" in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "plan", "--json")
    data = json.loads(out)
    assert code == 0 and all(i["reason"] for i in data["items"])
    assert data["network"]["bypass_ip"] == "192.168.1.2"


def test_main_router_json_shape(capsys, confdir: Path) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "main-router", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"bypass_ip", "vendor", "port_forwards", "dhcp", "notes", "ipv6"}
    assert data["bypass_ip"] == "192.168.1.2"
    # off the router the LAN's IPv6 is not read: no pinhole without ipv6_suffix
    assert data["ipv6"]["path"] == "unknown" and data["ipv6"]["pinholes"] == []
    assert "ipv6_suffix" in data["ipv6"]["notes"][0]
    # a forward with allow_source gets no IPv6 rule even with a known address
    assert [m["name"] for m in data["ipv6"]["missing"]] == ["office_ssh"]
    for pf in data["port_forwards"]:
        assert set(pf) == {"name", "proto", "external_port", "internal_ip", "internal_port"}
        assert pf["internal_ip"] == "192.168.1.2"
    web = next(pf for pf in data["port_forwards"] if pf["name"] == "web")
    assert (web["external_port"], web["internal_port"]) == ("80", "10080")
    assert data["dhcp"]["mode"] == "gateway"


@pytest.mark.parametrize("fmt", ["uci", "nft", "iptables"])
def test_render(capsys, confdir: Path, fmt: str) -> None:
    code, out, _ = run(capsys, "--config-dir", str(confdir), "render", "--format", fmt)
    assert code == 0 and "192.168.1.50" in out


def test_render_revert(capsys, confdir: Path) -> None:
    code, out, _ = run(
        capsys, "--config-dir", str(confdir), "render", "--format", "nft", "--revert"
    )
    assert code == 0 and "delete table inet dualnat" in out


def test_invalid_config_exit_2_one_error_per_line(capsys, confdir: Path) -> None:
    cfg = confdir / "dualnat"
    cfg.write_text(
        cfg.read_text()
        .replace("'192.168.1.60'", "'10.9.9.9'")
        .replace("option external_port '2222'", "option external_port '70000'")
    )
    before = (confdir / "firewall").read_bytes()
    code, out, err = run(capsys, "--config-dir", str(confdir), "apply")
    assert code == 2 and out == ""
    where = confdir / "dualnat"
    assert sorted(err.strip().splitlines()) == [
        f"error: {where}:26: forward 'game': internal_ip: 10.9.9.9 is not inside the LAN "
        "192.168.1.0/24",
        f"error: {where}:41: forward 'office_ssh': external_port: ports must be between 1 and "
        "65535",
    ]
    assert (confdir / "firewall").read_bytes() == before


def test_malformed_uci_file_exit_2_with_file_and_line(capsys, confdir: Path) -> None:
    (confdir / "dualnat").write_text("config dualnat 'main'\n\toption enabled '1\n")
    code, _, err = run(capsys, "--config-dir", str(confdir), "check")
    assert code == 2 and "dualnat:" in err and "unterminated" in err


def test_apply_dry_run_then_apply_then_revert(capsys, confdir: Path) -> None:
    original = (confdir / "firewall").read_bytes()
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply", "--dry-run")
    assert code == 0 and out.startswith("--- a/firewall")
    assert (confdir / "firewall").read_bytes() == original
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply")
    assert code == 0 and "reload skipped" in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "apply")
    assert code == 0 and "nothing to change" in out
    code, out, _ = run(capsys, "--config-dir", str(confdir), "revert")
    assert code == 0
    assert (confdir / "firewall").read_bytes() == original


def test_console_script_entry_point(confdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dualnat", "--config-dir", str(confdir), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# what each command must not load: the apply machinery, HTTP (Flask, the API) and ubus
HEAVY = (
    "dualnat.apply",
    "dualnat.sync",
    "dualnat.api",
    "dualnat.ubus.daemon",
    "flask",
    "werkzeug",
    "marshmallow",
    "ubus",
    "dualnat.doctor",
    "dualnat.instructions",
    "dualnat.mainrouter.commands",
    "dualnat.mainrouter.control",
    "dualnat.proxies.sync",
    "requests",
)
IMPORTS = {
    "check": (*HEAVY, "dualnat.render"),
    "plan": (*HEAVY, "dualnat.render"),
    "main-router": (*HEAVY, "dualnat.render"),
    "render": HEAVY,
    "schema": (*HEAVY, "dualnat.render"),
}


@pytest.mark.parametrize("command", sorted(IMPORTS))
def test_a_command_imports_only_what_it_needs(command: str, confdir: Path) -> None:
    """Each CLI run is a new process on a slow CPU: the modules of other commands stay
    unloaded (checked in a fresh interpreter, as the command runs)."""
    folder = confdir
    code = (
        "import io, sys, contextlib\n"
        "from dualnat.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['--config-dir', {str(folder)!r}, {command!r}])\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "dualnat.cli" in loaded
    unwanted = [m for m in loaded if any(m == n or m.startswith(n + ".") for n in IMPORTS[command])]
    assert unwanted == [], f"dualnat {command} loaded {sorted(unwanted)}"
