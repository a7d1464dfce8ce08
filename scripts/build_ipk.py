#!/usr/bin/env python3
"""Build luci-app-dualnat as .ipk packages without the OpenWrt SDK (`make ipk`).

Writes to dist/ (or --out):

* ``luci-app-dualnat_<version>_all.ipk``: the LuCI views, menu and ACL, /usr/bin/dualnat,
  the Python backend in /usr/share/dualnat with a private copy of marshmallow, and the
  router files (init script, default config, uci-defaults);
* ``luci-i18n-dualnat-<lang>_<version>_all.ipk``: the compiled translations.

What the packages hold comes from scripts/package_tree.py (shared with `make apk`).
An .ipk is what OpenWrt's ipkg-build makes: a gzip'd tar of ./debian-binary,
./data.tar.gz and ./control.tar.gz (control, conffiles, postinst, prerm). The build is
reproducible: the same tree gives the same bytes (entries sorted, mtimes fixed to
$SOURCE_DATE_EPOCH or 2024-01-01, uid/gid 0 without names, gzip without name or time).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package_tree import (
    CACHE,
    MARSHMALLOW_WHEEL,
    ROOT,
    Entry,
    Package,
    packages,
    source_epoch,
    with_dirs,
)

POSTINST_HEAD = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
# runs /etc/uci-defaults/80_dualnat, enables and starts /etc/init.d/dualnat
default_postinst "$0" "$@" || exit $?
"""

PRERM_HEAD = """#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
# take dualnat's sections out of /etc/config/firewall (and /etc/config/dhcp) first
"""

PRERM_TAIL = """# stops and disables /etc/init.d/dualnat
default_prerm "$0" "$@"
"""


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


def version(pkg: Package) -> str:
    """opkg's spelling: 0.1.0-1."""
    return f"{pkg.version}-{pkg.release}"


def control_text(pkg: Package) -> str:
    fields = [
        ("Package", pkg.name),
        ("Version", version(pkg)),
        ("Depends", ", ".join(pkg.depends)),
        ("Source", pkg.source),
        ("SourceName", pkg.source_name),
        ("License", pkg.license),
        ("Section", pkg.section),
        ("Architecture", pkg.pkgarch),
        ("Installed-Size", str(sum(len(e.data or b"") for e in pkg.files))),
    ]
    lines = [f"{k}: {v}" for k, v in fields if v]
    lines.append("Description: " + pkg.description[0])
    lines += [" " + (line or ".") for line in pkg.description[1:]]
    return "\n".join(lines) + "\n"


def control_files(pkg: Package) -> dict[str, str]:
    """The CONTROL files besides `control`: conffiles and the maintainer scripts."""
    out = {}
    if pkg.postinst is not None:
        out["postinst"] = POSTINST_HEAD + pkg.postinst
    if pkg.prerm is not None:
        out["prerm"] = PRERM_HEAD + pkg.prerm + PRERM_TAIL
    if pkg.conffiles:
        out["conffiles"] = "".join(f"{c}\n" for c in pkg.conffiles)
    return out


def ipk(pkg: Package, epoch: int) -> bytes:
    data = tar_gz(with_dirs(list(pkg.files)), epoch)
    ctl = [Entry("control", control_text(pkg).encode(), 0o644)]
    for name, text in sorted(control_files(pkg).items()):
        ctl.append(Entry(name, text.encode(), 0o755 if name in ("postinst", "prerm") else 0o644))
    ctl_gz = tar_gz(sorted(ctl, key=lambda e: e.path), epoch)
    outer = [
        Entry("debian-binary", b"2.0\n", 0o644),
        Entry("data.tar.gz", data, 0o644),
        Entry("control.tar.gz", ctl_gz, 0o644),
    ]
    return tar_gz(outer, epoch, root_dir=False)


def file_name(pkg: Package) -> str:
    return f"{pkg.name}_{version(pkg)}_{pkg.pkgarch}.ipk"


def build(
    out: Path, cache: Path = CACHE, wheel: Path | None = None, epoch: int | None = None
) -> list[Path]:
    """Build every package into `out`; their paths."""
    if epoch is None:
        epoch = source_epoch()
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for pkg in packages(cache, wheel):
        path = out / file_name(pkg)
        path.write_bytes(ipk(pkg, epoch))
        built.append(path)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default dist/")
    parser.add_argument("--cache", type=Path, default=CACHE, help="wheel cache")
    parser.add_argument("--wheel", type=Path, help=f"use this {MARSHMALLOW_WHEEL} (offline)")
    args = parser.parse_args(argv)
    for path in build(args.out, args.cache, args.wheel):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
