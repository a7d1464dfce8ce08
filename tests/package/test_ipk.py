"""`make ipk` (scripts/build_ipk.py, scripts/package_tree.py): the packages, opened and
checked against the tree.

The marshmallow wheel comes from PyPI the first time (pip, hash-checked) and is cached
in build/cache. Without PyPI the tests skip and say why; in CI (DUALNAT_REQUIRE_LAB=1)
they fail instead.
"""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_ipk  # noqa: E402
import package_tree  # noqa: E402
import po2lmo  # noqa: E402

CACHE = ROOT / "build" / "cache"
PACKAGE = ROOT / "luci-app-dualnat"
VERSION = f"{package_tree.backend_version()}-1"
APP = f"luci-app-dualnat_{VERSION}_all.ipk"
EXECUTABLES = {"etc/init.d/dualnat", "etc/uci-defaults/80_dualnat", "usr/bin/dualnat"}


@dataclass
class Ipk:
    raw: bytes
    outer: list[tarfile.TarInfo]
    control: dict[str, tuple[tarfile.TarInfo, bytes]]
    data: dict[str, tuple[tarfile.TarInfo, bytes | None]]


def members(blob: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    out: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for info in tar.getmembers():
            f = tar.extractfile(info) if info.isfile() else None
            out[info.name] = (info, f.read() if f else None)
    return out


def open_ipk(path: Path) -> Ipk:
    raw = path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        outer = tar.getmembers()
        blobs = {m.name: tar.extractfile(m).read() for m in outer}  # type: ignore[union-attr]
    control = {k: (i, d or b"") for k, (i, d) in members(blobs["./control.tar.gz"]).items()}
    return Ipk(raw, outer, control, members(blobs["./data.tar.gz"]))


def fields(control: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    key = ""
    for line in control.decode().splitlines():
        if line.startswith(" "):
            out[key] += "\n" + line[1:]
        else:
            key, _, value = line.partition(": ")
            out[key] = value
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two builds of the same tree, in two folders."""
    first, second = tmp_path_factory.mktemp("dist1"), tmp_path_factory.mktemp("dist2")
    try:
        build_ipk.build(first, CACHE)
    except (SystemExit, subprocess.CalledProcessError) as exc:
        if os.environ.get("DUALNAT_REQUIRE_LAB") == "1":
            pytest.fail(f"cannot build the ipk: {exc}")
        pytest.skip(f"cannot build the ipk (PyPI unreachable?): {exc}")
    build_ipk.build(second, CACHE)
    return first, second


@pytest.fixture(scope="module")
def app(built: tuple[Path, Path]) -> Ipk:
    return open_ipk(built[0] / APP)


def expected_files() -> dict[str, Path]:
    """Installed path → file in the tree, for everything but marshmallow."""
    out: dict[str, Path] = {}

    def add(source: Path, target: str, keep=lambda p: True) -> None:
        for p in source.rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and keep(p):
                out[f"{target}/{p.relative_to(source).as_posix()}".lstrip("/")] = p

    add(PACKAGE / "htdocs", "www")
    add(PACKAGE / "root", "")
    add(ROOT / "files" / "etc", "etc")
    add(
        ROOT / "backend" / "dualnat",
        "usr/share/dualnat/dualnat",
        keep=lambda p: p.suffix in (".py", ".toml") or p.name == "py.typed",
    )
    return out


def test_the_build_is_reproducible(built: tuple[Path, Path]) -> None:
    first, second = built
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(
        [
            APP,
            f"luci-i18n-dualnat-ja_{VERSION}_all.ipk",
            f"luci-i18n-dualnat-zh-cn_{VERSION}_all.ipk",
        ]
    )
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        raw = (first / name).read_bytes()
        assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip, mtime 0


def test_the_outer_archive_is_what_opkg_reads(app: Ipk) -> None:
    assert [m.name for m in app.outer] == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    with tarfile.open(fileobj=io.BytesIO(app.raw), mode="r:gz") as tar:
        assert tar.extractfile("./debian-binary").read() == b"2.0\n"  # type: ignore[union-attr]
    for m in app.outer:
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        assert m.mtime == package_tree.DEFAULT_EPOCH


def test_the_control_fields(app: Ipk) -> None:
    assert sorted(app.control) == [".", "./conffiles", "./control", "./postinst", "./prerm"]
    f = fields(app.control["./control"][1])
    assert f["Package"] == "luci-app-dualnat"
    assert f["Version"] == VERSION
    assert f["Architecture"] == "all"
    assert f["Section"] == "luci"
    deps = [d.strip() for d in f["Depends"].split(",")]
    assert deps == [
        "luci-base",
        "python3-flask",
        "python3-werkzeug",
        "python3-ubus",
        "python3-requests",
        "python3-codecs",
        "python3-decimal",
        "python3-email",
        "python3-logging",
        "python3-urllib",
        "python3-uuid",
        "python3-xml",
    ]
    sizes = sum(len(d) for _, d in app.data.values() if d is not None)
    assert int(f["Installed-Size"]) == sizes
    assert "marshmallow 4.4.0" in f["Description"]
    assert f["License"] == "Apache-2.0 MIT"
    assert app.control["./conffiles"][1] == b"/etc/config/dualnat\n"


def test_the_maintainer_scripts(app: Ipk, tmp_path: Path) -> None:
    for name, call in (("./postinst", "default_postinst"), ("./prerm", "default_prerm")):
        info, text = app.control[name]
        assert info.mode == 0o755
        assert text.startswith(b"#!/bin/sh\n") and call.encode() in text
        script = tmp_path / name[2:]
        script.write_bytes(text)
        subprocess.run(["sh", "-n", str(script)], check=True)
    assert b"killall -HUP rpcd" in app.control["./postinst"][1]
    assert b"/usr/bin/dualnat revert" in app.control["./prerm"][1]


def test_the_files_are_the_ones_in_the_tree(app: Ipk) -> None:
    files = {k[2:]: v for k, v in app.data.items() if v[1] is not None}
    dirs = {k[2:].rstrip("/") for k, v in app.data.items() if v[1] is None}
    want = expected_files()
    marshmallow = {p for p in files if p.startswith("usr/share/dualnat/marshmallow/")}
    licences = {p for p in files if p.startswith("usr/share/dualnat/licenses/")}
    assert set(files) == set(want) | marshmallow | licences
    for path, source in want.items():
        info, data = files[path]
        assert data == source.read_bytes(), path
        assert info.mode == (0o755 if path in EXECUTABLES else 0o644), path
    assert set(files) >= EXECUTABLES
    assert {
        "www/luci-static/resources/view/dualnat/overview.js",
        "www/luci-static/resources/view/dualnat/forwards.js",
        "www/luci-static/resources/view/dualnat/mainrouter.js",
        "www/luci-static/resources/view/dualnat/settings.js",
        "www/luci-static/resources/dualnat/common.js",
        "usr/share/luci/menu.d/luci-app-dualnat.json",
        "usr/share/rpcd/acl.d/luci-app-dualnat.json",
        "etc/config/dualnat",
        "usr/share/dualnat/dualnat/vendors/ikuai.toml",
        "usr/share/dualnat/dualnat/i18n/zh.toml",
    } <= set(files)
    assert not [p for p in files if "__pycache__" in p or p.endswith(".pyc")]
    assert not [p for p in files if p.startswith(("usr/share/dualnat/src", "src/"))]
    # every parent directory is there, as a directory, 0755
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            assert "/".join(parts[:i]) in dirs
    for key, (info, data) in app.data.items():
        assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
        assert info.mtime == package_tree.DEFAULT_EPOCH
        if data is None:
            assert info.isdir() and info.mode == 0o755, key
    names = [k for k in app.data]
    assert names == sorted(names, key=lambda n: n.rstrip("/").split("/"))


def test_marshmallow_is_the_pinned_wheel_with_its_licence(app: Ipk) -> None:
    wheel = CACHE / package_tree.MARSHMALLOW_WHEEL
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith("marshmallow/") and not name.endswith("/"):
                assert app.data[f"./usr/share/dualnat/{name}"][1] == zf.read(name)
    licence = app.data["./usr/share/dualnat/licenses/marshmallow/LICENSE"][1]
    assert licence is not None and b"Permission is hereby granted" in licence


def test_the_installed_command_runs_with_the_private_marshmallow(app: Ipk, tmp_path: Path) -> None:
    root = tmp_path / "root"
    for key, (info, data) in app.data.items():
        path = root / key[2:]
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.write_bytes(data)
            path.chmod(info.mode)
    wrapper = (root / "usr/bin/dualnat").read_text()
    wrapper = wrapper.replace(
        "DUALNAT_LIB=/usr/share/dualnat", f"DUALNAT_LIB={root}/usr/share/dualnat"
    )
    wrapper = wrapper.replace("/usr/bin/python3", sys.executable)
    (root / "usr/bin/dualnat").write_text(wrapper)
    env = {**os.environ, "PYTHONPATH": "", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    config = ROOT / "tests" / "fixtures" / "router"
    run = subprocess.run(
        ["sh", str(root / "usr/bin/dualnat"), "--config-dir", str(config), "check"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = subprocess.run(
        [
            "sh",
            str(root / "usr/bin/dualnat"),
            "--config-dir",
            str(config),
            "instructions",
            "--lang",
            "zh",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0 and "端口" in out.stdout, out.stderr
    probe = (
        "import dualnat, marshmallow, dualnat.api; "
        "print(dualnat.__file__); print(marshmallow.__file__)"
    )
    paths = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PYTHONPATH": str(root / "usr/share/dualnat")},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.split()
    assert all(p.startswith(str(root / "usr/share/dualnat")) for p in paths), paths
    assert not list((root / "usr/share/dualnat").rglob("__pycache__"))  # cached in RAM


def test_the_translation_packages(built: tuple[Path, Path]) -> None:
    for po_dir, (code, _title) in package_tree.LANGS.items():
        ipk = open_ipk(built[0] / f"luci-i18n-dualnat-{code}_{VERSION}_all.ipk")
        f = fields(ipk.control["./control"][1])
        assert f["Package"] == f"luci-i18n-dualnat-{code}"
        assert f["Depends"] == "luci-app-dualnat" and f["Architecture"] == "all"
        assert sorted(ipk.control) == [".", "./control"]
        files = {k[2:]: d for k, (_i, d) in ipk.data.items() if d is not None}
        assert list(files) == [f"usr/lib/lua/luci/i18n/dualnat.{code}.lmo"]
        lmo = files[f"usr/lib/lua/luci/i18n/dualnat.{code}.lmo"]
        assert lmo is not None
        _header, entries = po2lmo.parse_po((PACKAGE / "po" / po_dir / "dualnat.po").read_text())
        found = 0
        for msgid, msgstr in entries:
            got = po2lmo.lookup(lmo, msgid)
            if msgid != msgstr:
                assert got == msgstr, msgid
                found += 1
        assert found > 100
        assert po2lmo.read_lmo(lmo)[0] == b"nplurals=1; plural=0;"


def test_sfh_hash_known_values() -> None:
    """SuperFastHash over every tail length, and bytes above 0x7f (signed char)."""
    assert po2lmo.sfh_hash(b"") == 0
    values = [po2lmo.sfh_hash(s) for s in (b"a", b"ab", b"abc", b"abcd", b"abcde")]
    assert len(set(values)) == 5 and all(0 < v <= 0xFFFFFFFF for v in values)
    assert po2lmo.sfh_hash("端".encode()) != po2lmo.sfh_hash(b"\x00\x00\x00")
    assert po2lmo.canon_hash("  Port \n forwards ") == po2lmo.sfh_hash(b"Port forwards")


def test_the_sdk_install_step_matches_the_ipk(app: Ipk, tmp_path: Path) -> None:
    """luci-app-dualnat/src/Makefile (what the SDK build runs), with the release tarball
    the Makefile pins: it installs the same files as `make ipk`."""
    mk = package_tree.makefile_vars()
    req = tmp_path / "req.txt"
    req.write_text(
        f"marshmallow=={mk['MARSHMALLOW_VERSION']} --hash=sha256:{mk['MARSHMALLOW_HASH']}\n"
    )
    tarball = CACHE / f"marshmallow-{mk['MARSHMALLOW_VERSION']}.tar.gz"
    if not tarball.exists():
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run(
            [*pip, "--no-binary=:all:", "--require-hashes", "-r", str(req), "-d", str(CACHE)],
            check=True,
        )
    work = tmp_path / "src"
    work.mkdir()
    (work / "Makefile").write_bytes((PACKAGE / "src" / "Makefile").read_bytes())
    dest = tmp_path / "dest"
    env = {
        **os.environ,
        "DUALNAT_TOP": str(ROOT),
        "MARSHMALLOW_VERSION": mk["MARSHMALLOW_VERSION"],
        "MARSHMALLOW_TARBALL": str(tarball),
    }
    for target in ("clean", "compile", "install"):
        subprocess.run(
            ["make", "-s", "-C", str(work), target, f"DESTDIR={dest}"], env=env, check=True
        )
    installed = {p.relative_to(dest).as_posix(): p for p in dest.rglob("*") if p.is_file()}
    in_ipk = {
        k[2:]: d
        for k, (_i, d) in app.data.items()
        if d is not None and k[2:].startswith(("usr/share/dualnat/", "etc/"))
    }
    assert set(installed) == set(in_ipk)
    for path, source in installed.items():
        assert source.read_bytes() == in_ipk[path], path
        executable = bool(source.stat().st_mode & stat.S_IXUSR)
        assert executable == (path in EXECUTABLES), path
    assert re.fullmatch(r"[0-9a-f]{64}", mk["MARSHMALLOW_HASH"])
