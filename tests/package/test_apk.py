"""`make apk` (scripts/build_apk.py): the packages, decoded and checked against the ipk
(same files, modes, conffiles, dependencies, script code) and against what OpenWrt's
package-pack.mk makes (version, arch, /lib/apk/packages files, script wrappers).

Like test_ipk.py, the marshmallow wheel comes from PyPI once (build/cache); without
PyPI the tests skip, in CI (DUALNAT_REQUIRE_LAB=1) they fail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_apk  # noqa: E402
import build_ipk  # noqa: E402
import package_tree  # noqa: E402
from adb_reader import ApkFile, read_package  # noqa: E402
from package_tree import CACHE, Entry  # noqa: E402

VERSION = f"{package_tree.backend_version()}-r{package_tree.makefile_vars()['PKG_RELEASE']}"
APP = f"luci-app-dualnat-{VERSION}.apk"
LANG_CODES = [code for code, _title in package_tree.LANGS.values()]
META = "lib/apk/packages/"

POST_INSTALL = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="luci-app-dualnat"
add_group_and_user
default_postinst
[ -n "${IPKG_INSTROOT}" ] && exit 0
# LuCI: forget the cached menu, reload the ACLs
rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
rm -rf /tmp/luci-modulecache/
killall -HUP rpcd 2>/dev/null
exit 0
"""

PRE_DEINSTALL = """#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="luci-app-dualnat"
default_prerm
if [ -z "${IPKG_INSTROOT}" ] && [ -x /usr/bin/dualnat ]; then
\t/usr/bin/dualnat revert 2>&1 | logger -t dualnat
fi
"""

# a stand-in for OpenWrt's /lib/functions.sh: like the real one, default_postinst and
# default_prerm find the package's files through /lib/apk/packages/$pkgname.list
FUNCTIONS_SH = """
add_group_and_user() { echo "add_group_and_user $pkgname" >> "$LOG"; }
default_postinst() {
\tfor f in $(grep -E '^/etc/(uci-defaults|init\\.d)/' "$root/lib/apk/packages/$pkgname.list"); do
\t\techo "default_postinst $pkgname upgrade=${PKG_UPGRADE:-0} $f" >> "$LOG"
\tdone
}
default_prerm() {
\tfor f in $(grep '^/etc/init\\.d/' "$root/lib/apk/packages/$pkgname.list"); do
\t\techo "default_prerm $pkgname $f" >> "$LOG"
\tdone
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two apk builds of the same tree and one ipk build, in three folders."""
    first, second, ipks = (tmp_path_factory.mktemp(n) for n in ("apk1", "apk2", "ipk"))
    try:
        build_apk.build_all(first, CACHE)
    except (SystemExit, subprocess.CalledProcessError) as exc:
        if os.environ.get("DUALNAT_REQUIRE_LAB") == "1":
            pytest.fail(f"cannot build the apk: {exc}")
        pytest.skip(f"cannot build the apk (PyPI unreachable?): {exc}")
    build_apk.build_all(second, CACHE)
    build_ipk.build(ipks, CACHE)
    return first, second, ipks


@pytest.fixture(scope="module")
def app(built: tuple[Path, Path, Path]) -> ApkFile:
    return read_package((built[0] / APP).read_bytes())


def ipk_data(path: Path) -> dict[str, tarfile.TarInfo | bytes]:
    """Path → bytes (files) of an ipk's data.tar.gz, and path → TarInfo under "info:"."""
    out: dict[str, tarfile.TarInfo | bytes] = {}
    with tarfile.open(path, "r:gz") as outer:
        data = outer.extractfile("./data.tar.gz").read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                out[m.name[2:]] = tar.extractfile(m).read()  # type: ignore[union-attr]
                out["info:" + m.name[2:]] = m
    return out


def ipk_control(path: Path, name: str) -> str:
    with tarfile.open(path, "r:gz") as outer:
        ctl = outer.extractfile("./control.tar.gz").read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(ctl), mode="r:gz") as tar:
        return tar.extractfile(f"./{name}").read().decode()  # type: ignore[union-attr]


def test_the_build_is_reproducible(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    first, second, _ = built
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted([APP, *(f"luci-i18n-dualnat-{c}-{VERSION}.apk" for c in LANG_CODES)])
    for name in names:
        raw = (first / name).read_bytes()
        assert raw == (second / name).read_bytes(), name
        assert raw[:4] == b"ADBd"
    other = build_apk.build_all(tmp_path, CACHE, epoch=1700000000)
    apk = read_package(next(p for p in other if p.name == APP).read_bytes())
    assert {f["mtime"] for f in apk.files.values()} == {1700000000}
    assert (first / APP).read_bytes() != (tmp_path / APP).read_bytes()


def test_the_metadata_is_what_openwrts_build_writes(
    app: ApkFile, built: tuple[Path, Path, Path]
) -> None:
    info = app.package["info"]
    ipk = built[2] / f"luci-app-dualnat_{VERSION.replace('-r', '-')}_all.ipk"
    control = dict(
        line.split(": ", 1) for line in ipk_control(ipk, "control").splitlines() if ": " in line
    )
    assert info["name"] == "luci-app-dualnat" and info["version"] == VERSION
    assert info["arch"] == "noarch" and control["Architecture"] == "all"
    assert info["license"] == control["License"] == "Apache-2.0 MIT"
    assert info["origin"] == control["Source"] == "feeds/dualnat/luci-app-dualnat"
    assert "maintainer" not in info and "url" not in info  # the Makefile sets neither
    long_text = ipk_control(ipk, "control").split("Description: ", 1)[1].splitlines()[1:]
    assert info["description"] == " ".join(line.strip() for line in long_text)
    assert "\n" not in info["description"] and len(info["description"]) <= 512
    deps = [d.strip() for d in control["Depends"].split(",")]
    assert info["depends"] == [{"name": d} for d in sorted(deps)]
    assert info["installed-size"] == sum(len(f["data"]) for f in app.files.values())


def test_the_files_are_the_ipks(app: ApkFile, built: tuple[Path, Path, Path]) -> None:
    ipk = ipk_data(built[2] / f"luci-app-dualnat_{VERSION.replace('-r', '-')}_all.ipk")
    ours = {p: f for p, f in app.files.items() if not p.startswith(META)}
    assert sorted(ours) == sorted(k for k in ipk if not k.startswith("info:"))
    for path, f in ours.items():
        info = ipk["info:" + path]
        assert isinstance(info, tarfile.TarInfo)
        assert f["data"] == ipk[path], path
        assert f["acl"]["mode"] == info.mode, path
        assert (f["acl"]["user"], f["acl"]["group"]) == ("root", "root")
        assert f["mtime"] == package_tree.DEFAULT_EPOCH
    assert ours["etc/init.d/dualnat"]["acl"]["mode"] == 0o755
    assert ours["etc/uci-defaults/80_dualnat"]["acl"]["mode"] == 0o755
    assert ours["etc/config/dualnat"]["acl"]["mode"] == 0o644
    for folder in app.package["paths"]:
        assert folder["acl"] == {"mode": 0o755, "user": "root", "group": "root"}
    folders = {d.get("name", "") for d in app.package["paths"]}
    parents = {"/".join(p.split("/")[:i]) for p in app.files for i in range(len(p.split("/")))}
    assert folders == parents  # the root and every folder above a file


def test_the_lib_apk_packages_files(app: ApkFile) -> None:
    files = app.files
    assert sorted(p for p in files if p.startswith(META)) == [
        f"{META}luci-app-dualnat.conffiles",
        f"{META}luci-app-dualnat.conffiles_static",
        f"{META}luci-app-dualnat.list",
    ]
    listing = files[f"{META}luci-app-dualnat.list"]["data"].decode()
    installed = sorted("/" + p for p in files if not p.startswith(META))
    assert listing == "".join(f"{p}\n" for p in installed)
    assert "/etc/uci-defaults/80_dualnat\n" in listing and "/etc/init.d/dualnat\n" in listing
    assert files[f"{META}luci-app-dualnat.conffiles"]["data"] == b"/etc/config/dualnat\n"
    digest = hashlib.sha256(files["etc/config/dualnat"]["data"]).hexdigest()
    static = files[f"{META}luci-app-dualnat.conffiles_static"]["data"]
    assert static == f"/etc/config/dualnat {digest}\n".encode()


def test_the_scripts_are_package_pack_mks(
    app: ApkFile, built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    scripts = app.package["scripts"]
    assert sorted(scripts) == ["post-install", "post-upgrade", "pre-deinstall"]
    assert scripts["post-install"] == POST_INSTALL
    assert scripts["post-upgrade"] == "#!/bin/sh\nexport PKG_UPGRADE=1\n" + POST_INSTALL[10:]
    assert scripts["pre-deinstall"] == PRE_DEINSTALL
    # the package's own code is the ipk's, around OpenWrt's defaults in OpenWrt's order
    ipk = built[2] / f"luci-app-dualnat_{VERSION.replace('-r', '-')}_all.ipk"
    assert ipk_control(ipk, "postinst").endswith(package_tree.POSTINST)
    assert package_tree.PRERM in ipk_control(ipk, "prerm")
    text = scripts["pre-deinstall"]
    assert text.index("default_prerm") < text.index("dualnat revert")
    for name, text in scripts.items():
        path = tmp_path / name
        path.write_text(text)
        subprocess.run(["sh", "-n", str(path)], check=True)


def run_script(text: str, root: Path, log: Path, **env: str) -> None:
    script = root / "script"
    script.write_text(text)
    environ = {"PATH": os.environ["PATH"], "IPKG_INSTROOT": str(root), "LOG": str(log), **env}
    subprocess.run(["sh", str(script), VERSION], env=environ, check=True, timeout=30)


def test_the_scripts_find_the_uci_defaults_and_the_init_script(
    app: ApkFile, tmp_path: Path
) -> None:
    """Installed into a root, the wrappers run add_group_and_user and default_postinst
    (which find 80_dualnat and the init script through the .list), PKG_UPGRADE=1 on
    upgrade, default_prerm on removal; in an image build (IPKG_INSTROOT set) the
    package's own code leaves LuCI and the firewall alone."""
    root = tmp_path / "root"
    for path, f in app.files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(f["data"])
    (root / "lib" / "functions.sh").write_text(FUNCTIONS_SH)
    scripts = app.package["scripts"]
    log = tmp_path / "log"
    run_script(scripts["post-install"], root, log)
    run_script(scripts["post-upgrade"], root, log)
    run_script(scripts["pre-deinstall"], root, log)
    run_script(scripts["post-install"], root, log, IPKG_NO_SCRIPT="1")
    assert log.read_text().splitlines() == [
        "add_group_and_user luci-app-dualnat",
        "default_postinst luci-app-dualnat upgrade=0 /etc/init.d/dualnat",
        "default_postinst luci-app-dualnat upgrade=0 /etc/uci-defaults/80_dualnat",
        "add_group_and_user luci-app-dualnat",
        "default_postinst luci-app-dualnat upgrade=1 /etc/init.d/dualnat",
        "default_postinst luci-app-dualnat upgrade=1 /etc/uci-defaults/80_dualnat",
        "default_prerm luci-app-dualnat /etc/init.d/dualnat",
    ]


def test_the_translation_packages(built: tuple[Path, Path, Path]) -> None:
    for po_dir, (code, title) in package_tree.LANGS.items():
        name = f"luci-i18n-dualnat-{code}"
        apk = read_package((built[0] / f"{name}-{VERSION}.apk").read_bytes())
        info = apk.package["info"]
        assert (info["name"], info["version"], info["arch"]) == (name, VERSION, "noarch")
        assert info["depends"] == [{"name": "luci-app-dualnat"}]
        assert info["description"] == f"Translation for luci-app-dualnat - {title}"
        lmo = f"usr/lib/lua/luci/i18n/dualnat.{code}.lmo"
        assert sorted(apk.files) == [f"{META}{name}.list", lmo]
        assert apk.files[f"{META}{name}.list"]["data"] == f"/{lmo}\n".encode()
        ipk = ipk_data(built[2] / f"{name}_{VERSION.replace('-r', '-')}_all.ipk")
        assert apk.files[lmo]["data"] == ipk[lmo], po_dir
        scripts = apk.package["scripts"]
        assert scripts["post-install"].endswith(
            f'export pkgname="{name}"\nadd_group_and_user\ndefault_postinst\n'
        )
        assert scripts["pre-deinstall"].endswith(f'export pkgname="{name}"\ndefault_prerm\n')


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Entry("etc/bad\nname", b"x", 0o644), "etc/bad\\\\nname"),
        (Entry("etc/odd", b"x", 0o100644), "etc/odd: mode"),
    ],
)
def test_a_file_the_format_cannot_carry_stops_the_build_before_dist(
    built: tuple[Path, Path, Path], tmp_path: Path, bad: Entry, message: str
) -> None:
    pkgs = package_tree.packages(CACHE)
    pkgs[-1] = dataclasses.replace(pkgs[-1], files=(*pkgs[-1].files, bad))
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "other.txt").write_text("kept")
    with pytest.raises(SystemExit, match=message):
        build_apk.write_all(dist, pkgs, package_tree.DEFAULT_EPOCH)
    assert sorted(p.name for p in dist.iterdir()) == ["other.txt"]


def test_a_failed_write_leaves_no_partial_apk(
    built: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(build_apk.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        build_apk.build_all(tmp_path, CACHE)
    assert list(tmp_path.iterdir()) == []


def test_the_wheel_is_shared_with_the_ipk_build(
    built: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `make ipk` (or a first `make apk`) the cached wheel serves: no new download."""

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"downloaded again: {args}")

    monkeypatch.setattr(package_tree.subprocess, "run", no_download)
    assert build_apk.CACHE == build_ipk.CACHE == CACHE
    assert APP in [p.name for p in build_apk.build_all(tmp_path, CACHE)]
