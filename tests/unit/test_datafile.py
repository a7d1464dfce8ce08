"""datafile.py: parsed TOML kept where Python keeps bytecode, never stale."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dualnat import datafile


def test_a_parsed_file_is_kept_and_used_while_its_bytes_are_the_same(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('a = "one"\n')
    assert datafile.read_toml(path) == {"a": "one"}
    cache = datafile._cache_path(path)
    assert cache.parent == tmp_path / "__pycache__" and cache.exists()
    path.write_text('a = "two"\n')  # same size: only the bytes tell
    assert datafile.read_toml(path) == {"a": "two"}


def test_a_broken_cache_is_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text("n = 1\n")
    datafile.read_toml(path)
    datafile._cache_path(path).write_bytes(b"not marshal")
    assert datafile.read_toml(path) == {"n": 1}


def test_the_pycache_prefix_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The router's wrapper sets PYTHONPYCACHEPREFIX in RAM: nothing beside the package."""
    prefix = tmp_path / "ram"
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    package = tmp_path / "pkg"
    package.mkdir()
    path = package / "v.toml"
    path.write_text("n = 2\n")
    assert datafile.read_toml(path) == {"n": 2}
    assert not (package / "__pycache__").exists()
    assert datafile._cache_path(path).is_relative_to(prefix)
    assert datafile._cache_path(path).exists()


def test_a_folder_that_cannot_be_written_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.toml"
    path.write_text("n = 3\n")
    monkeypatch.setattr(datafile, "_cache_path", lambda _: Path("/proc/nope/x.marshal"))
    assert datafile.read_toml(path) == {"n": 3}
