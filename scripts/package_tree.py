"""What the OpenWrt packages of luci-app-dualnat hold, for every package format.

One definition shared by `make ipk` (scripts/build_ipk.py) and `make apk`
(scripts/build_apk.py): each package's name, version, dependencies, licence, description,
files with their modes, conffiles and the package's own maintainer-script code. The
builders only add what their format needs (control.tar.gz and ipk wrappers; the ADB
metadata, /lib/apk/packages files and OpenWrt's apk wrappers).

Facts the SDK build also uses come from luci-app-dualnat/Makefile (LUCI_DEPENDS,
LUCI_PKGARCH, PKG_RELEASE, PKG_LICENSE, MARSHMALLOW_VERSION); the version is the
backend's __version__.

marshmallow is not in the OpenWrt 23.05-25.12 package feeds. Its wheel is downloaded from
PyPI with pip (pinned version, checked against a pinned SHA-256; cached in build/cache,
so `make ipk` and `make apk` download it once) and its files and licence are installed
under /usr/share/dualnat. A wheel given with --wheel is checked all the same.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from po2lmo import compile_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "luci-app-dualnat"
BACKEND = ROOT / "backend" / "dualnat"
FILES = ROOT / "files"
CACHE = ROOT / "build" / "cache"
LIB = "usr/share/dualnat"
DEFAULT_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
MARSHMALLOW = "4.4.0"
MARSHMALLOW_WHEEL = f"marshmallow-{MARSHMALLOW}-py3-none-any.whl"
MARSHMALLOW_WHEEL_SHA256 = "03a882ff2eabb9a4e24b433c2949f359ef4d172a12fdc14cde10375fd55328b4"
BACKEND_SUFFIXES = (".py", ".toml")
BACKEND_NAMES = ("py.typed",)
APP = "luci-app-dualnat"
SOURCE = f"feeds/dualnat/{APP}"  # the package's folder in the buildroot (ipk Source, apk origin)
SECTION = "luci"
CONFFILES = ("/etc/config/dualnat",)
# po/<dir> → the language code of the package and the .lmo file (LuCI's aliases)
LANGS = {"zh_Hans": ("zh-cn", "普通话 (Chinese)"), "ja": ("ja", "日本語 (Japanese)")}

# The package's own maintainer-script code; each format wraps it around OpenWrt's
# default_postinst / default_prerm (which run /etc/uci-defaults/80_dualnat, enable,
# start, stop and disable /etc/init.d/dualnat).
POSTINST = """[ -n "${IPKG_INSTROOT}" ] && exit 0
# LuCI: forget the cached menu, reload the ACLs
rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
rm -rf /tmp/luci-modulecache/
killall -HUP rpcd 2>/dev/null
exit 0
"""

# takes dualnat's sections out of /etc/config/firewall (and /etc/config/dhcp)
PRERM = """if [ -z "${IPKG_INSTROOT}" ] && [ -x /usr/bin/dualnat ]; then
\t/usr/bin/dualnat revert 2>&1 | logger -t dualnat
fi
"""


@dataclass(frozen=True)
class Entry:
    """One installed path: a directory (data None) or a regular file."""

    path: str  # without a leading / or ./
    data: bytes | None
    mode: int


@dataclass(frozen=True)
class Package:
    """One binary package, independent of the format it is packed in."""

    name: str
    version: str  # PKG_VERSION, e.g. 0.1.0
    release: str  # PKG_RELEASE, e.g. 1
    pkgarch: str  # PKGARCH: "all" for an architecture-independent package
    depends: tuple[str, ...]
    license: str
    description: tuple[str, ...]  # first line: the summary; then the long text
    files: tuple[Entry, ...]  # regular files only; the builders add the directories
    conffiles: tuple[str, ...] = ()
    postinst: str | None = None  # the package's own code, run after default_postinst
    prerm: str | None = None  # the package's own code, run around default_prerm
    source: str = SOURCE
    source_name: str = APP
    section: str = SECTION

    def __post_init__(self) -> None:
        paths = {"/" + e.path for e in self.files}
        missing = [c for c in self.conffiles if c not in paths]
        if missing:
            raise SystemExit(f"{self.name}: conffiles {missing} are not files of the package")


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


def source_epoch() -> int:
    """The mtime of every packed file: $SOURCE_DATE_EPOCH, else 2024-01-01."""
    return int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH))


def file_mode(path: Path) -> int:
    return 0o755 if path.stat().st_mode & 0o111 else 0o644


def tree(source: Path, target: str, keep: Callable[[Path], bool] = lambda p: True) -> list[Entry]:
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


def dependencies(luci_depends: str) -> tuple[str, ...]:
    """LUCI_DEPENDS (+pkg +pkg) as package names."""
    return tuple(word.lstrip("+@") for word in luci_depends.split())


def packages(cache: Path = CACHE, wheel: Path | None = None) -> list[Package]:
    """luci-app-dualnat and its translation packages."""
    mk = makefile_vars()
    if mk.get("MARSHMALLOW_VERSION") != MARSHMALLOW:
        raise SystemExit(
            "MARSHMALLOW_VERSION in luci-app-dualnat/Makefile differs from this script"
        )
    common = {
        "version": backend_version(),
        "release": mk.get("PKG_RELEASE", "1"),
        "pkgarch": mk["LUCI_PKGARCH"],
    }
    app = Package(
        name=APP,
        depends=dependencies(mk["LUCI_DEPENDS"]),
        license=mk["PKG_LICENSE"],
        description=(
            mk["LUCI_TITLE"],
            "Port forwarding, NAT loopback (hairpin) and masquerade for an OpenWrt bypass",
            "router: the main router forwards to this router, which forwards to the device.",
            "The LuCI pages, the dualnat command and its ubus service. Includes",
            f"marshmallow {MARSHMALLOW} (MIT, from PyPI) in /usr/share/dualnat.",
        ),
        files=tuple(data_entries(fetch_wheel(cache, wheel))),
        conffiles=CONFFILES,
        postinst=POSTINST,
        prerm=PRERM,
        **common,
    )
    out = [app]
    for po_dir, (code, title) in LANGS.items():
        lmo = compile_po((PACKAGE / "po" / po_dir / "dualnat.po").read_text("utf-8"))
        out.append(
            Package(
                name=f"luci-i18n-dualnat-{code}",
                depends=(APP,),
                license="Apache-2.0",
                description=(f"Translation for {APP} - {title}",),
                files=(Entry(f"usr/lib/lua/luci/i18n/dualnat.{code}.lmo", lmo, 0o644),),
                **common,
            )
        )
    return out
