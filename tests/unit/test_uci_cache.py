"""uci/cache.py: a file is parsed again only when it changed, and a read is never stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dualnat.uci import FileBackend, SetOption, UciParseError
from dualnat.uci import cache as cache_module

OLD_NS = 1_500_000_000 * 10**9  # a time long past: the file is not racy


def write(path: Path, text: str, *, settled: bool = True) -> None:
    path.write_text(text)
    if settled:
        os.utime(path, ns=(OLD_NS, OLD_NS))


@pytest.fixture
def backend(tmp_path: Path) -> FileBackend:
    write(tmp_path / "dualnat", "config dualnat 'main'\n\toption enabled '1'\n")
    return FileBackend(tmp_path)


def enabled(backend: FileBackend) -> str | None:
    return backend.read("dualnat").section("main").options.get("enabled")


def test_an_unchanged_file_is_parsed_once(backend: FileBackend) -> None:
    for _ in range(5):
        assert enabled(backend) == "1"
    assert backend.cache.parses == 1


def test_a_file_replaced_by_rename_is_read_again(backend: FileBackend, tmp_path: Path) -> None:
    assert enabled(backend) == "1"
    new = tmp_path / ".dualnat.new"
    write(new, "config dualnat 'main'\n\toption enabled '0'\n")
    os.replace(new, tmp_path / "dualnat")  # as libuci's commit does; same size, same mtime
    assert enabled(backend) == "0"
    assert backend.cache.parses == 2


def test_a_file_edited_in_place_is_read_again(backend: FileBackend, tmp_path: Path) -> None:
    assert enabled(backend) == "1"
    path = tmp_path / "dualnat"
    with open(path, "r+") as fh:  # same inode, same size
        fh.write(fh.read().replace("'1'", "'0'"))
    assert enabled(backend) == "0"


def test_a_racy_file_is_compared_by_its_bytes(
    backend: FileBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change within one timestamp tick that keeps the size keeps every stat field:
    with the stat key frozen, a recently modified file is still read correctly, and the
    parse is reused while its bytes are the same."""
    monkeypatch.setattr(cache_module, "_key", lambda st: (1, 2, 3, 4, 5))
    path = tmp_path / "dualnat"
    write(path, "config dualnat 'main'\n\toption enabled '1'\n", settled=False)
    assert enabled(backend) == "1"
    assert enabled(backend) == "1"
    assert backend.cache.parses == 1
    write(path, "config dualnat 'main'\n\toption enabled '0'\n", settled=False)
    assert enabled(backend) == "0"
    assert backend.cache.parses == 2


def test_a_settled_file_is_trusted_by_its_stat_key(
    backend: FileBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the racy rule: a file whose mtime was old when it was read is
    not read again while its stat key is the same (here frozen to show it)."""
    monkeypatch.setattr(cache_module, "_key", lambda st: (1, 2, 3, 4, 5))
    assert enabled(backend) == "1"
    write(tmp_path / "dualnat", "config dualnat 'main'\n\toption enabled '0'\n")
    assert enabled(backend) == "1"  # only because the key is frozen
    assert backend.cache.parses == 1


def test_documents_read_are_independent(backend: FileBackend) -> None:
    first = backend.read("dualnat")
    first.apply([SetOption("main", "enabled", "0")])
    assert first.section("main").options["enabled"] == "0"
    assert enabled(backend) == "1"
    assert backend.read("dualnat").serialize() == (backend.path("dualnat")).read_text()


def test_commit_is_seen_by_the_next_read(backend: FileBackend) -> None:
    assert enabled(backend) == "1"
    backend.commit("dualnat", [SetOption("main", "enabled", "0")])
    assert enabled(backend) == "0"


def test_missing_file_and_parse_errors(backend: FileBackend, tmp_path: Path) -> None:
    assert backend.read("firewall").sections() == []
    write(tmp_path / "firewall", "config zone 'lan'\n\toption name 'lan\n")
    with pytest.raises(UciParseError):
        backend.read("firewall")
    with pytest.raises(UciParseError):  # an error is not kept as a document
        backend.read("firewall")
    write(tmp_path / "firewall", "config zone 'lan'\n\toption name 'lan'\n")
    assert backend.read("firewall").section("lan").options == {"name": "lan"}
    (tmp_path / "firewall").unlink()
    assert backend.read("firewall").sections() == []
