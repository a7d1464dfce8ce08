"""Fixtures for the API and ubus tests: a copy of a realistic router config folder, an
app that never leaves the machine (no DNS, no HTTP, no commands), and file snapshots."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dualnat.api import create_app
from dualnat.doctor import System

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAMES = {
    "home.example.net": IPv4Address("198.51.100.9"),
    "lan.example.net": IPv4Address("10.0.0.5"),
}


def resolve(name: str) -> IPv4Address | None:
    """Stand-in for DNS: two known names, nothing else resolves."""
    return NAMES.get(name)


def no_commands(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(cmd, 127, "", "not here")


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(FIXTURES / "router", d)
    return d


@pytest.fixture
def app(confdir: Path, tmp_path: Path) -> Flask:
    return create_app(
        confdir, resolve=resolve, doctor_system=System(proc=tmp_path / "proc", run=no_commands)
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file directly in `folder` (the UCI configs), byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
