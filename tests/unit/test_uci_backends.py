"""FileBackend and UciCommandBackend (against tests/fixtures/fake_uci.py)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import threading
from pathlib import Path

import pytest

from dualnat.uci import (
    DeleteOption,
    DeleteSection,
    Document,
    FileBackend,
    SectionNotFoundError,
    SetList,
    SetOption,
    SetSection,
    UciBackend,
    UciCommandBackend,
    UciCommandError,
    atomic_write,
    batch_script,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FAKE_UCI = FIXTURES / "fake_uci.py"
NASTY = "a 'quoted' \"double\" $(reboot) `id` ; x # y \\ z\tü"


def values(doc: Document) -> list[tuple]:
    return [(s.type, s.name, s.options) for s in doc.sections()]


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.mkdir()
    for name in ("firewall", "network", "dhcp"):
        shutil.copy(FIXTURES / "uci" / name, path / name)
    return path


@pytest.fixture
def uci_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "uci.log"
    monkeypatch.setenv("FAKE_UCI_LOG", str(log))
    return log


def runs(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def shim(tmp_path: Path, body: str, name: str = "uci") -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def uci_bin(tmp_path: Path) -> Path:
    """The fake uci, run by this interpreter."""
    return shim(tmp_path, f'exec "{sys.executable}" "{FAKE_UCI}" "$@"', "fake-uci")


@pytest.fixture
def savedir(tmp_path: Path) -> Path:
    """Where uncommitted changes would be (empty: the host's /tmp/.uci plays no part)."""
    path = tmp_path / "uci-delta"
    path.mkdir()
    return path


def pending(savedir: Path, config: str) -> None:
    """Leave an uncommitted change of `config`, as `uci set` without `uci commit` does."""
    (savedir / config).write_text(f"{config}.game.enabled='0'\n")


@pytest.fixture
def command(confdir: Path, uci_bin: Path, savedir: Path) -> UciCommandBackend:
    return UciCommandBackend(confdir, uci_bin=str(uci_bin), savedir=savedir)


CHANGE_SETS = [
    [SetSection("dualnat_web", "redirect"), SetOption("dualnat_web", "name", "Web")],
    [SetOption("nas_web", "dest_ip", "192.168.1.11"), SetOption("nas_web", "reflection", "0")],
    [SetList("game", "proto", ["udp", "icmp"]), SetList("nas_web", "proto", ["tcp", "udp"])],
    [SetOption("game", "proto", "tcp udp"), SetList("game", "new_list", ["a", "b"])],
    [SetList("game", "proto", []), DeleteOption("nas_web", "dest_port")],
    [DeleteSection("nas_web"), DeleteSection("not_there"), DeleteOption("game", "nope")],
    [SetSection("nas_web", "rule")],
    [
        SetSection("dualnat_x", "redirect"),
        SetOption("dualnat_x", "name", NASTY),
        SetList("dualnat_x", "extra", [NASTY, "'", "''", "\\"]),
        SetOption("game", "name", "it's `here`; $(x)"),
        DeleteSection("dualnat_x"),
        SetSection("dualnat_x", "nat"),
        SetOption("dualnat_x", "target", "SNAT"),
    ],
]


def test_backends_satisfy_the_protocol(confdir: Path, command: UciCommandBackend) -> None:
    assert isinstance(FileBackend(confdir), UciBackend)
    assert isinstance(command, UciBackend)
    assert command.config_dir == confdir


# -- FileBackend ---------------------------------------------------------------------


def test_file_backend_reads_files_and_missing_configs(confdir: Path) -> None:
    backend = FileBackend(confdir)
    doc = backend.read("firewall")
    assert doc.serialize() == (confdir / "firewall").read_text()
    assert doc.path == str(confdir / "firewall")
    empty = backend.read("dualnat")
    assert empty.sections() == [] and empty.serialize() == ""


@pytest.mark.parametrize("config", ["../firewall", "fire wall", "", "a/b", ".hidden"])
def test_file_backend_refuses_bad_config_names(confdir: Path, config: str) -> None:
    with pytest.raises(ValueError):
        FileBackend(confdir).read(config)
    with pytest.raises(ValueError):
        FileBackend(confdir).commit(config, [DeleteSection("x")])


@pytest.mark.parametrize("changes", CHANGE_SETS)
def test_file_backend_commit_equals_document_edits(confdir: Path, changes: list) -> None:
    backend = FileBackend(confdir)
    expected = Document.parse((confdir / "firewall").read_text())
    expected.apply(changes)
    backend.commit("firewall", changes)
    assert (confdir / "firewall").read_text() == expected.serialize()
    assert not [p for p in confdir.iterdir() if p.name.startswith(".")]


def test_file_backend_keeps_mode_and_replaces_atomically(confdir: Path) -> None:
    path = confdir / "firewall"
    path.chmod(0o600)
    inode = path.stat().st_ino
    FileBackend(confdir).commit("firewall", [SetOption("game", "enabled", "1")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != inode  # a new file was renamed over the old one
    assert FileBackend(confdir).read("firewall").section("game").get("enabled") == "1"


def test_file_backend_without_changes_does_not_write(confdir: Path) -> None:
    path = confdir / "firewall"
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.stat()
    backend = FileBackend(confdir)
    backend.commit("firewall", [])
    backend.commit("firewall", [SetOption("game", "enabled", "0"), DeleteSection("nope")])
    backend.commit("firewall", [SetSection("game", "redirect")])
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    backend.commit("newconf", [DeleteSection("x")])
    assert not (confdir / "newconf").exists()


def test_file_backend_creates_a_missing_config(confdir: Path) -> None:
    FileBackend(confdir).commit("dualnat", [SetSection("main", "dualnat")])
    assert (confdir / "dualnat").read_text() == "config dualnat 'main'\n"
    assert stat.S_IMODE((confdir / "dualnat").stat().st_mode) == 0o644


def test_file_backend_failed_commit_leaves_the_file_alone(confdir: Path) -> None:
    text = (confdir / "firewall").read_text()
    with pytest.raises(SectionNotFoundError):
        FileBackend(confdir).commit(
            "firewall", [SetOption("game", "enabled", "1"), SetOption("missing", "a", "b")]
        )
    assert (confdir / "firewall").read_text() == text


def test_atomic_write_cleans_up_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_atomic_write_follows_symlinks_and_accepts_bytes(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.write_text("old")
    link = tmp_path / "link"
    link.symlink_to(target)
    atomic_write(link, b"new \xff bytes")
    assert link.is_symlink()
    assert target.read_bytes() == b"new \xff bytes"


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "firewall"
    texts = ["config a 'x'\n" * 20000, "config b 'y'\n" * 30000]
    atomic_write(path, texts[0])
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(path.read_text())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            atomic_write(path, texts[i % 2])
    finally:
        stop.set()
        thread.join()
    assert seen <= set(texts)


def test_non_utf8_bytes_survive_a_file_commit(confdir: Path) -> None:
    path = confdir / "dhcp"
    path.write_bytes(path.read_bytes() + b"# caf\xe9 latin-1 comment\n")
    original = path.read_bytes()
    backend = FileBackend(confdir)
    backend.commit("dhcp", [SetSection("x", "host")])
    backend.commit("dhcp", [DeleteSection("x")])
    assert path.read_bytes() == original


# -- UciCommandBackend against the fake uci -----------------------------------------


@pytest.mark.parametrize("delta", [False, True], ids=["file", "uci-export"])
@pytest.mark.parametrize("config", ["firewall", "network", "dhcp"])
def test_command_backend_reads_the_same_values(
    confdir: Path, command: UciCommandBackend, savedir: Path, config: str, delta: bool
) -> None:
    if delta:
        pending(savedir, config)
    assert values(command.read(config)) == values(FileBackend(confdir).read(config))


def test_command_backend_reads_the_file_unless_changes_are_pending(
    confdir: Path, command: UciCommandBackend, savedir: Path, uci_log: Path
) -> None:
    """Without uncommitted changes the file is read directly (problems name its lines);
    with them, libuci applies them: `uci export`."""
    assert command.read("firewall").path == str(confdir / "firewall")
    assert runs(uci_log) == []
    pending(savedir, "firewall")
    assert command.read("firewall").path == "uci export firewall"
    assert [r["argv"][-2:] for r in runs(uci_log)] == [["export", "firewall"]]


def test_command_backend_missing_config_reads_as_empty(
    command: UciCommandBackend, savedir: Path
) -> None:
    assert command.read("nothing_here").sections() == []
    pending(savedir, "nothing_here")
    assert command.read("nothing_here").sections() == []


@pytest.mark.parametrize("changes", CHANGE_SETS)
def test_command_backend_commit_matches_file_backend(
    confdir: Path, tmp_path: Path, command: UciCommandBackend, changes: list
) -> None:
    other = tmp_path / "other"
    shutil.copytree(confdir, other)
    FileBackend(other).commit("firewall", changes)
    command.commit("firewall", changes)
    expected = values(FileBackend(other).read("firewall"))
    assert values(FileBackend(confdir).read("firewall")) == expected
    assert values(command.read("firewall")) == expected


def test_command_backend_values_survive_exactly(command: UciCommandBackend, uci_log: Path) -> None:
    nasty = [NASTY, "'", "\\'", "$HOME", "`reboot`", "a;b", "#x", '"', "x\ty", "中文"]
    command.commit(
        "dhcp",
        [
            SetSection("t", "host"),
            *(SetOption("t", f"o{i}", v) for i, v in enumerate(nasty)),
            SetList("t", "l", nasty),
        ],
    )
    sec = command.read("dhcp").section("t")
    assert sec.options == {**{f"o{i}": v for i, v in enumerate(nasty)}, "l": nasty}
    [batch] = [r for r in runs(uci_log) if "batch" in r["argv"]]
    lines = batch["stdin"].splitlines()
    assert lines[0] == "set dhcp.t='host'"
    assert (
        lines[1] == "set dhcp.t.o0='a '\\''quoted'\\'' \"double\" $(reboot) `id` ; x # y \\ z\tü'"
    )
    assert lines[-1] == "commit dhcp"


def test_command_backend_script_shapes(command: UciCommandBackend, uci_log: Path) -> None:
    command.commit(
        "firewall",
        [
            SetList("game", "proto", ["udp"]),
            SetOption("game", "enabled", "1"),
            DeleteOption("game", "dest_ip"),
            DeleteSection("nas_web"),
        ],
    )
    [batch] = runs(uci_log)  # before and after it, the file is read directly
    assert batch["argv"][-1] == "batch"
    assert batch["argv"][:2] == ["-c", str(command.config_dir)]
    assert batch["stdin"] == (
        "delete firewall.game.proto\n"
        "add_list firewall.game.proto='udp'\n"
        "set firewall.game.enabled='1'\n"
        "delete firewall.game.dest_ip\n"
        "delete firewall.nas_web\n"
        "commit firewall\n"
    )


def test_command_backend_skips_changes_already_in_effect(
    command: UciCommandBackend, uci_log: Path
) -> None:
    command.commit("firewall", [])
    command.commit(
        "firewall",
        [
            SetOption("game", "enabled", "0"),
            SetList("game", "proto", ["tcp", "udp"]),
            SetSection("game", "redirect"),
            DeleteSection("missing"),
            DeleteOption("game", "missing"),
        ],
    )
    assert runs(uci_log) == []


def test_command_backend_creates_a_missing_config(
    confdir: Path, command: UciCommandBackend
) -> None:
    command.commit("dualnat", [SetSection("main", "dualnat"), SetOption("main", "enabled", "1")])
    assert command.read("dualnat").section("main").options == {"enabled": "1"}
    assert (confdir / "dualnat").read_text() == "\nconfig dualnat 'main'\n\toption enabled '1'\n\n"


def test_command_backend_missing_section_fails_before_running(
    command: UciCommandBackend, uci_log: Path
) -> None:
    with pytest.raises(SectionNotFoundError):
        command.commit("firewall", [SetOption("missing", "a", "b")])
    assert runs(uci_log) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: SetSection("x;reboot", "rule"),
        lambda: SetOption("x", "a.b=c", "v"),
        lambda: SetOption("x", "a", "v\ncommit firewall"),
        lambda: SetOption("x", "a", "nul\0"),
        lambda: SetList("x", "a", ["ok", "two\nlines"]),
        lambda: DeleteSection("x'\nreboot"),
        lambda: DeleteOption("$(reboot)", "a"),
    ],
)
def test_injection_in_changes_is_refused(make, command: UciCommandBackend, uci_log: Path) -> None:
    with pytest.raises(ValueError):
        command.commit("firewall", [make()])
    assert runs(uci_log) == []


@pytest.mark.parametrize("config", ["firewall;reboot", "../etc/passwd", "-c", "a b", "x\n"])
def test_injection_in_config_names_is_refused(
    command: UciCommandBackend, uci_log: Path, config: str
) -> None:
    with pytest.raises(ValueError):
        command.read(config)
    with pytest.raises(ValueError):
        command.commit(config, [DeleteSection("x")])
    assert runs(uci_log) == []


def test_tampered_change_is_refused_before_running(
    command: UciCommandBackend, uci_log: Path
) -> None:
    change = SetOption("game", "enabled", "1")
    object.__setattr__(change, "option", "enabled='1'\nreboot\n")
    with pytest.raises(ValueError):
        command.commit("firewall", [change])
    assert runs(uci_log) == []


def test_failing_uci_raises_with_its_stderr(confdir: Path, tmp_path: Path, savedir: Path) -> None:
    failing = shim(tmp_path, 'echo "uci: Parse error (too much coffee)" >&2; exit 1', "bad")
    backend = UciCommandBackend(confdir, uci_bin=str(failing), savedir=savedir)
    pending(savedir, "firewall")
    with pytest.raises(UciCommandError) as info:
        backend.read("firewall")
    err = info.value
    assert err.returncode == 1
    assert "too much coffee" in err.stderr and "too much coffee" in str(err)
    assert err.argv == [str(failing), "-c", str(confdir), "export", "firewall"]


LD_SO_WARNING = (
    "ERROR: ld.so: object '/usr/lib/libpreload.so' from LD_PRELOAD cannot be preloaded "
    "(cannot open shared object file): ignored."
)


def test_a_warning_on_stderr_with_exit_status_0_is_no_failure(
    confdir: Path, command: UciCommandBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as on a router whose loader complained: uci worked and exited 0
    monkeypatch.setenv("FAKE_UCI_WARNING", LD_SO_WARNING)
    assert values(command.read("firewall")) == values(FileBackend(confdir).read("firewall"))
    command.commit("firewall", [SetOption("game", "name", "Games"), SetSection("n", "rule")])
    sections = {s.name: s for s in FileBackend(confdir).read("firewall").sections()}
    assert sections["game"].options["name"] == "Games"
    assert sections["n"].type == "rule"


def test_a_non_zero_exit_fails_with_uci_stderr(
    confdir: Path, tmp_path: Path, uci_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UCI_WARNING", LD_SO_WARNING)
    body = f'[ "$3" = batch ] && {{ echo "uci: I/O error" >&2; exit 1; }}; exec "{uci_bin}" "$@"'
    uci = shim(tmp_path, body, "batch-fails")
    backend = UciCommandBackend(confdir, uci_bin=str(uci), savedir=tmp_path)
    before = (confdir / "firewall").read_bytes()
    with pytest.raises(UciCommandError) as info:
        backend.commit("firewall", [SetOption("game", "name", "Games")])
    err = info.value
    assert err.returncode == 1 and err.argv[-1] == "batch"
    assert "uci: I/O error" in err.stderr and "uci: I/O error" in str(err)
    assert (confdir / "firewall").read_bytes() == before


def test_a_batch_that_exits_0_without_doing_the_changes_fails(
    confdir: Path, command: UciCommandBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenWrt's `uci batch` reports a failing command on stderr and still exits 0
    monkeypatch.setenv("FAKE_UCI_KEEP_GOING", "1")
    real_read = command.read

    def read_then_remove(config: str) -> Document:
        doc = real_read(config)
        FileBackend(confdir).commit(config, [DeleteSection("game")])
        return doc

    monkeypatch.setattr(command, "read", read_then_remove)
    with pytest.raises(UciCommandError) as info:
        command.commit("firewall", [SetOption("game", "enabled", "1")])
    assert info.value.returncode == 0
    assert "not in effect" in str(info.value) and "Entry not found" in str(info.value)


def test_batch_errors_from_uci_are_raised(
    confdir: Path, tmp_path: Path, uci_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make the fake refuse the batch: the section disappears between read and batch.
    backend = UciCommandBackend(confdir, uci_bin=str(uci_bin), savedir=tmp_path)
    real_read = backend.read

    def read_then_remove(config: str) -> Document:
        doc = real_read(config)
        FileBackend(confdir).commit(config, [DeleteSection("game")])
        return doc

    monkeypatch.setattr(backend, "read", read_then_remove)
    with pytest.raises(UciCommandError) as info:
        backend.commit("firewall", [SetOption("game", "enabled", "1")])
    assert "Entry not found" in info.value.stderr
    assert info.value.returncode == 1


def test_missing_uci_binary_raises(confdir: Path, tmp_path: Path, savedir: Path) -> None:
    backend = UciCommandBackend(confdir, uci_bin=str(tmp_path / "no-such-uci"), savedir=savedir)
    with pytest.raises(UciCommandError) as info:
        backend.commit("firewall", [SetOption("game", "name", "Games")])
    assert info.value.returncode is None
    pending(savedir, "firewall")
    with pytest.raises(UciCommandError) as info:
        backend.read("firewall")
    assert info.value.returncode is None


def test_fake_uci_rejects_bad_commands(confdir: Path, uci_bin: Path) -> None:
    import subprocess

    def batch(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(uci_bin), "-c", str(confdir), "batch"],
            input=script.encode(),
            capture_output=True,
            check=False,
        )

    before = (confdir / "firewall").read_text()
    for script in [
        "set firewall.bad-name=rule\ncommit firewall\n",
        "frobnicate firewall.x\n",
        "set firewall.x.y='open\n",
        "delete firewall.nothere\n",
        "set firewall.nothere.opt=1\n",
    ]:
        proc = batch(script)
        assert proc.returncode == 1
        assert proc.stderr.startswith(b"uci: ")
    assert (confdir / "firewall").read_text() == before
    proc = subprocess.run(
        [str(uci_bin), "-c", str(confdir), "export", "nope"], capture_output=True, check=False
    )
    assert (proc.returncode, proc.stderr) == (1, b"uci: Entry not found\n")


def test_batch_script_without_current_state_is_unconditional() -> None:
    script = batch_script(
        "firewall",
        [SetSection("a", "rule"), SetList("a", "l", ["x"]), DeleteOption("a", "o")],
    )
    assert script == (
        "set firewall.a='rule'\n"
        "delete firewall.a.l\n"
        "add_list firewall.a.l='x'\n"
        "delete firewall.a.o\n"
        "commit firewall\n"
    )
    with pytest.raises(ValueError):
        batch_script("fire wall", [])
