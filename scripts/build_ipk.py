#!/usr/bin/env python3
"""Build luci-app-dualnat as .ipk packages without the OpenWrt SDK (`make ipk`).

Writes to dist/ (or --out):

* ``luci-app-dualnat_<version>_all.ipk``: the LuCI views, menu and ACL, /usr/bin/dualnat,
  the Python backend in /usr/share/dualnat with a private copy of marshmallow, and the
  router files (init script, default config, uci-defaults);
* ``luci-i18n-dualnat-<lang>_<version>_all.ipk``: the compiled translations.

An .ipk is what OpenWrt's ipkg-build makes: a gzip'd tar of ./debian-binary,
./data.tar.gz and ./control.tar.gz (control, conffiles, postinst, prerm). The build is
reproducible: the same tree gives the same bytes (entries sorted, mtimes fixed to
$SOURCE_DATE_EPOCH or 2024-01-01, uid/gid 0 without names, gzip without name or time).

marshmallow is not in the OpenWrt 23.05-25.12 package feeds. The build downloads its
wheel from PyPI with pip (pinned version, checked against a pinned SHA-256; cached in
build/cache) and installs its files and licence under /usr/share/dualnat. --wheel takes
a wheel you downloaded yourself (the hash is checked all the same).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from po2lmo import compile_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "luci-app-dualnat"
BACKEND = ROOT / "backend" / "dualnat"
FILES = ROOT / "files"
LIB = "usr/share/dualnat"
DEFAULT_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
MARSHMALLOW = "4.4.0"
MARSHMALLOW_WHEEL = f"marshmallow-{MARSHMALLOW}-py3-none-any.whl"
MARSHMALLOW_WHEEL_SHA256 = "03a882ff2eabb9a4e24b433c2949f359ef4d172a12fdc14cde10375fd55328b4"
BACKEND_SUFFIXES = (".py", ".toml")
BACKEND_NAMES = ("py.typed",)
CONFFILES = ("/etc/config/dualnat",)
# po/<dir> → the language code of the package and the .lmo file (LuCI's aliases)
LANGS = {"zh_Hans": ("zh-cn", "普通话 (Chinese)"), "ja": ("ja", "日本語 (Japanese)")}

POSTINST = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
# runs /etc/uci-defaults/80_dualnat, enables and starts /etc/init.d/dualnat
default_postinst "$0" "$@" || exit $?
[ -n "${IPKG_INSTROOT}" ] && exit 0
# LuCI: forget the cached menu, reload the ACLs
rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
rm -rf /tmp/luci-modulecache/
killall -HUP rpcd 2>/dev/null
exit 0
"""

PRERM = """#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
# take dualnat's sections out of /etc/config/firewall (and /etc/config/dhcp) first
if [ -z "${IPKG_INSTROOT}" ] && [ -x /usr/bin/dualnat ]; then
\t/usr/bin/dualnat revert 2>&1 | logger -t dualnat
fi
# stops and disables /etc/init.d/dualnat
default_prerm "$0" "$@"
"""


@dataclass(frozen=True)
class Entry:
    """One member of data.tar.gz: a directory (data None) or a regular file."""

    path: str  # without the leading ./
    data: bytes | None
    mode: int


def makefile_vars(path: Path = PACKAGE / "Makefile") -> dict[str, str]:
    """The simple ``NAME:=value`` assignments of the package Makefile."""
    out = {}
    for line in path.read_text("utf-8").splitlines():
        m = re.match(r"^([A-Z0-9_]+)\s*:=\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def backend_version() -> str:
    text = (BACKEND / "__init__.py").read_text("utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        raise SystemExit("backend/dualnat/__init__.py has no __version__")
    return m.group(1)


def file_mode(path: Path) -> int:
    return 0o755 if path.stat().st_mode & 0o111 else 0o644


def tree(source: Path, target: str, keep=lambda p: True) -> list[Entry]:
    """Every file below `source` (sorted), installed below `target`."""
    out = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and "__pycache__" not in rel.parts and keep(path):
            out.append(
                Entry(f"{target}/{rel.as_posix()}".lstrip("/"), path.read_bytes(), file_mode(path))
            )
    return out


def fetch_wheel(cache: Path, wheel: Path | None = None) -> Path:
    """The marshmallow wheel: `wheel`, the cached copy, or a new download (pip)."""
    candidates = [wheel] if wheel else [cache / MARSHMALLOW_WHEEL]
    for path in candidates:
        if (
            path.is_file()
            and hashlib.sha256(path.read_bytes()).hexdigest() == MARSHMALLOW_WHEEL_SHA256
        ):
            return path
        if wheel:
            raise SystemExit(
                f"{wheel}: not {MARSHMALLOW_WHEEL} (SHA-256 {MARSHMALLOW_WHEEL_SHA256})"
            )
    cache.mkdir(parents=True, exist_ok=True)
    req = cache / "marshmallow.txt"
    req.write_text(f"marshmallow=={MARSHMALLOW} --hash=sha256:{MARSHMALLOW_WHEEL_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    cmd += ["--require-hashes", "-r", str(req), "-d", str(cache)]
    subprocess.run(cmd, check=True)
    return fetch_wheel(cache, cache / MARSHMALLOW_WHEEL)


def wheel_entries(wheel: Path) -> list[Entry]:
    """The wheel's package below LIB, its licence files in LIB/licenses/marshmallow (the
    same files the SDK build takes from the release tarball)."""
    out = []
    licences = f"marshmallow-{MARSHMALLOW}.dist-info/licenses/"
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(zf.namelist()):
            if name.startswith("marshmallow/") and not name.endswith("/"):
                out.append(Entry(f"{LIB}/{name}", zf.read(name), 0o644))
            elif name.startswith(licences) and not name.endswith("/"):
                out.append(
                    Entry(
                        f"{LIB}/licenses/marshmallow/{name[len(licences) :]}", zf.read(name), 0o644
                    )
                )
    if not any(e.path.endswith("/licenses/marshmallow/LICENSE") for e in out):
        raise SystemExit(f"{wheel}: no LICENSE")
    return out


def data_entries(wheel: Path) -> list[Entry]:
    """What luci-app-dualnat installs, files only (directories are added when packing):
    what luci.mk installs from htdocs/ and root/, and what src/Makefile installs."""
    htdocs = PACKAGE / "htdocs"
    files = tree(htdocs, "www")
    files += tree(PACKAGE / "root", "")
    files += tree(FILES / "etc", "etc")
    files += tree(
        BACKEND,
        f"{LIB}/dualnat",
        keep=lambda p: p.suffix in BACKEND_SUFFIXES or p.name in BACKEND_NAMES,
    )
    files += wheel_entries(wheel)
    paths = [e.path for e in files]
    if len(paths) != len(set(paths)):
        raise SystemExit("two sources install the same file")
    return files


def with_dirs(files: list[Entry]) -> list[Entry]:
    """The files and every directory above them, sorted by path (parents first)."""
    dirs = set()
    for e in files:
        parts = e.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    entries = [Entry(d, None, 0o755) for d in dirs] + list(files)
    return sorted(entries, key=lambda e: e.path.split("/"))


def tar_gz(entries: list[Entry], epoch: int, root_dir: bool = True) -> bytes:
    """A reproducible gzip'd tar with ./-relative names."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        members = ([Entry("", None, 0o755)] if root_dir else []) + entries
        for e in members:
            info = tarfile.TarInfo("./" + e.path if e.path else "./")
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = e.mode
            if e.data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def control_text(fields: list[tuple[str, str]], description: list[str]) -> str:
    lines = [f"{k}: {v}" for k, v in fields if v]
    lines.append("Description: " + description[0])
    lines += [" " + (line or ".") for line in description[1:]]
    return "\n".join(lines) + "\n"


def ipk(control: str, scripts: dict[str, str], files: list[Entry], epoch: int) -> bytes:
    data = tar_gz(with_dirs(files), epoch)
    ctl = [Entry("control", control.encode(), 0o644)]
    for name, text in sorted(scripts.items()):
        ctl.append(Entry(name, text.encode(), 0o755 if name in ("postinst", "prerm") else 0o644))
    ctl_gz = tar_gz(sorted(ctl, key=lambda e: e.path), epoch)
    outer = [
        Entry("debian-binary", b"2.0\n", 0o644),
        Entry("data.tar.gz", data, 0o644),
        Entry("control.tar.gz", ctl_gz, 0o644),
    ]
    return tar_gz(outer, epoch, root_dir=False)


def depends(luci_depends: str) -> str:
    """LUCI_DEPENDS (+pkg +pkg) as a Depends field."""
    return ", ".join(word.lstrip("+@") for word in luci_depends.split())


def build(
    out: Path, cache: Path, wheel: Path | None = None, epoch: int | None = None
) -> list[Path]:
    """Build every package into `out`; their paths."""
    if epoch is None:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH))
    mk = makefile_vars()
    if mk.get("MARSHMALLOW_VERSION") != MARSHMALLOW:
        raise SystemExit(
            "MARSHMALLOW_VERSION in luci-app-dualnat/Makefile differs from this script"
        )
    version = f"{backend_version()}-{mk.get('PKG_RELEASE', '1')}"
    files = data_entries(fetch_wheel(cache, wheel))
    size = sum(len(e.data or b"") for e in files)
    control = control_text(
        [
            ("Package", "luci-app-dualnat"),
            ("Version", version),
            ("Depends", depends(mk["LUCI_DEPENDS"])),
            ("Source", "feeds/dualnat/luci-app-dualnat"),
            ("SourceName", "luci-app-dualnat"),
            ("License", mk["PKG_LICENSE"]),
            ("Section", "luci"),
            ("Architecture", "all"),
            ("Installed-Size", str(size)),
        ],
        [
            mk["LUCI_TITLE"],
            "Port forwarding, NAT loopback (hairpin) and masquerade for an OpenWrt bypass",
            "router: the main router forwards to this router, which forwards to the device.",
            "The LuCI pages, the dualnat command and its ubus service. Includes",
            f"marshmallow {MARSHMALLOW} (MIT, from PyPI) in /usr/share/dualnat.",
        ],
    )
    scripts = {
        "postinst": POSTINST,
        "prerm": PRERM,
        "conffiles": "".join(f"{c}\n" for c in CONFFILES),
    }
    out.mkdir(parents=True, exist_ok=True)
    built = []
    path = out / f"luci-app-dualnat_{version}_all.ipk"
    path.write_bytes(ipk(control, scripts, files, epoch))
    built.append(path)
    for po_dir, (code, title) in LANGS.items():
        lmo = compile_po((PACKAGE / "po" / po_dir / "dualnat.po").read_text("utf-8"))
        tr_files = [Entry(f"usr/lib/lua/luci/i18n/dualnat.{code}.lmo", lmo, 0o644)]
        tr_control = control_text(
            [
                ("Package", f"luci-i18n-dualnat-{code}"),
                ("Version", version),
                ("Depends", "luci-app-dualnat"),
                ("Source", "feeds/dualnat/luci-app-dualnat"),
                ("SourceName", "luci-app-dualnat"),
                ("License", "Apache-2.0"),
                ("Section", "luci"),
                ("Architecture", "all"),
                ("Installed-Size", str(len(lmo))),
            ],
            [f"Translation for luci-app-dualnat - {title}"],
        )
        path = out / f"luci-i18n-dualnat-{code}_{version}_all.ipk"
        path.write_bytes(ipk(tr_control, {}, tr_files, epoch))
        built.append(path)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default dist/")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "cache", help="wheel cache")
    parser.add_argument("--wheel", type=Path, help=f"use this {MARSHMALLOW_WHEEL} (offline)")
    args = parser.parse_args(argv)
    for path in build(args.out, args.cache, args.wheel):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
