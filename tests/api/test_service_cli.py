"""`dualnat ubus` and `dualnat serve` on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from dualnat.cli import build_parser, main
from dualnat.ubus.commands import DEFAULT_PORT, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("::", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_both_commands_are_in_the_parser() -> None:
    args = build_parser().parse_args(["ubus", "--socket", "/tmp/u.sock"])
    assert args.socket == "/tmp/u.sock" and args.refresh == 300.0
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.allow_remote) == ("127.0.0.1", DEFAULT_PORT, False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ubus", "--refresh", "1"])  # would hammer the services


def recorded_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []

    def run(self: Flask, **kwargs: Any) -> None:
        runs.append(kwargs)

    monkeypatch.setattr(Flask, "run", run)
    return runs


def test_serve_refuses_a_remote_host(
    monkeypatch: pytest.MonkeyPatch, confdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = recorded_runs(monkeypatch)
    assert main(["--config-dir", str(confdir), "serve", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert runs == []


def test_serve_on_loopback_or_when_told(monkeypatch: pytest.MonkeyPatch, confdir: Path) -> None:
    runs = recorded_runs(monkeypatch)
    assert main(["--config-dir", str(confdir), "serve", "--port", "9999"]) == 0
    cmd = ["--config-dir", str(confdir), "serve", "--host", "0.0.0.0", "--allow-remote"]
    assert main(cmd) == 0
    assert runs == [
        {"host": "127.0.0.1", "port": 9999, "debug": False},
        {"host": "0.0.0.0", "port": DEFAULT_PORT, "debug": False},
    ]


def test_without_flask_the_commands_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, confdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    for name in [m for m in sys.modules if m.startswith(("dualnat.api", "dualnat.ubus.daemon"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "flask", None)  # import flask fails
    assert main(["--config-dir", str(confdir), "serve"]) == 1
    assert "python3-flask" in capsys.readouterr().err
    assert main(["--config-dir", str(confdir), "ubus"]) == 1
    assert "python3-flask" in capsys.readouterr().err
