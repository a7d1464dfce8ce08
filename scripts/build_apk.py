#!/usr/bin/env python3
"""Build luci-app-dualnat as apk-tools v3 packages for OpenWrt 25.12, without the SDK
(`make apk`).

Writes to dist/ (or --out) ``luci-app-dualnat-<version>-r<release>.apk`` and
``luci-i18n-dualnat-<lang>-<version>-r<release>.apk``: the files, modes, conffiles,
dependencies and script code of scripts/package_tree.py (the same as `make ipk`), packed
the way OpenWrt's include/package-pack.mk packs them with `apk mkpkg`:

* version ``0.1.0-r1``, arch ``noarch`` (PKGARCH all), origin = the ipk's Source, the
  description on one line, depends = the ipk's Depends separated by spaces;
* /lib/apk/packages/<name>.list (every file, sorted; OpenWrt's default_postinst and
  default_prerm find the uci-defaults and init scripts there), <name>.conffiles and
  <name>.conffiles_static (path and SHA-256; sysupgrade keeps the file);
* the scripts package-pack.mk writes: post-install (functions.sh, add_group_and_user,
  default_postinst, then the package's own postinst code), post-upgrade (the same with
  PKG_UPGRADE=1) and pre-deinstall (default_prerm, then the package's own prerm code).

The packages are unsigned, as OpenWrt's are (it signs the repository index): install one
with `apk add --allow-untrusted`. The build is reproducible: every mtime is
$SOURCE_DATE_EPOCH (or 2024-01-01), and the bytes are those `apk mkpkg` writes for the
same tree (tests/package/apk_vectors). A file the format cannot carry stops the build
with its name, before anything is written to dist/.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apk_package import PackageError, PackageFile, PackageInfo, build
from package_tree import CACHE, MARSHMALLOW_WHEEL, ROOT, Entry, Package, packages, source_epoch

PACKAGES_DIR = "lib/apk/packages"

POST_INSTALL = """#!/bin/sh
[ "${{IPKG_NO_SCRIPT}}" = "1" ] && exit 0
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
add_group_and_user
default_postinst
"""

PRE_DEINSTALL = """#!/bin/sh
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
default_prerm
"""

UPGRADE = "#!/bin/sh\nexport PKG_UPGRADE=1\n"


def version(pkg: Package) -> str:
    """apk's spelling: 0.1.0-r1."""
    return f"{pkg.version}-r{pkg.release}"


def file_name(pkg: Package) -> str:
    return f"{pkg.name}-{version(pkg)}.apk"


def description(pkg: Package) -> str:
    """One line: the long description (as OpenWrt passes Package/description, its
    whitespace collapsed by make's strip), or the summary if there is none."""
    return " ".join(" ".join(pkg.description[1:] or pkg.description[:1]).split())


def without_shebangs(text: str) -> str:
    """`sed '/^\\s*#!/d'`, which package-pack.mk runs on a script it appends."""
    return "".join(line for line in text.splitlines(keepends=True) if not re.match(r"\s*#!", line))


def scripts(pkg: Package) -> dict[str, str]:
    """post-install, post-upgrade and pre-deinstall as package-pack.mk writes them."""
    post_install = POST_INSTALL.format(name=pkg.name) + without_shebangs(pkg.postinst or "")
    return {
        "post-install": post_install,
        "post-upgrade": UPGRADE + without_shebangs(post_install),
        "pre-deinstall": PRE_DEINSTALL.format(name=pkg.name) + without_shebangs(pkg.prerm or ""),
    }


def metadata_files(pkg: Package) -> list[Entry]:
    """/lib/apk/packages/<name>.list, .conffiles and .conffiles_static."""
    base = f"{PACKAGES_DIR}/{pkg.name}"
    listing = "".join(f"/{p}\n" for p in sorted(e.path for e in pkg.files))
    out = [Entry(f"{base}.list", listing.encode(), 0o644)]
    if pkg.conffiles:
        data = {f"/{e.path}": e.data for e in pkg.files}
        out.append(
            Entry(f"{base}.conffiles", "".join(f"{c}\n" for c in pkg.conffiles).encode(), 0o644)
        )
        static = "".join(
            f"{c} {hashlib.sha256(data[c] or b'').hexdigest()}\n" for c in pkg.conffiles
        )
        out.append(Entry(f"{base}.conffiles_static", static.encode(), 0o644))
    return out


def info(pkg: Package) -> PackageInfo:
    return PackageInfo(
        name=pkg.name,
        version=version(pkg),
        description=description(pkg),
        arch="noarch" if "all" in pkg.pkgarch else pkg.pkgarch,
        license=pkg.license,
        origin=pkg.source,
        depends=pkg.depends,
    )


def encode_apk(pkg: Package, epoch: int) -> bytes:
    """The .apk of `pkg` (deflate-compressed, as apk writes by default)."""
    files = [PackageFile(e.path, e.data or b"", e.mode) for e in [*pkg.files, *metadata_files(pkg)]]
    return build(info(pkg), files, scripts(pkg), epoch)


def write_all(out: Path, pkgs: list[Package], epoch: int) -> list[Path]:
    """Encode every package, then write each through a temporary file: a refused file
    or a failed write leaves no .apk (and no temporary file) behind."""
    try:
        encoded = [(file_name(pkg), encode_apk(pkg, epoch)) for pkg in pkgs]
    except PackageError as exc:
        raise SystemExit(f"make apk: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for name, data in encoded:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        built.append(out / name)
    return built


def build_all(
    out: Path, cache: Path = CACHE, wheel: Path | None = None, epoch: int | None = None
) -> list[Path]:
    """Build every package into `out`; their paths."""
    return write_all(out, packages(cache, wheel), source_epoch() if epoch is None else epoch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default dist/")
    parser.add_argument("--cache", type=Path, default=CACHE, help="wheel cache (shared with ipk)")
    parser.add_argument("--wheel", type=Path, help=f"use this {MARSHMALLOW_WHEEL} (offline)")
    args = parser.parse_args(argv)
    for path in build_all(args.out, args.cache, args.wheel):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
