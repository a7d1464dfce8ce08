"""Encode one apk-tools v3 package (.apk) from its metadata, files and scripts.

The values are written in the order `apk mkpkg` (apk-tools 3.0.x, default --compat)
writes them, so the same input gives mkpkg's bytes (tests/package/apk_vectors):

1. the info fields given, by field number (a dependency: name, version, the object; the
   list sorted by name);
2. every folder, the root first, then by path: for each file, sorted by name: name,
   SHA-256, mtime, size, owner names, ACL, the file object; then the folder's name, ACL,
   file list and object (folders are 0755 root:root);
3. installed-size, a 20-byte zero placeholder for the package id, the info object, the
   folder list, the scripts, the root object;
4. the package id: SHA-256 of that payload, cut to 20 bytes, written into the
   placeholder; then one DATA block per non-empty file, in folder/file order.

Input the format cannot carry (a mode with more than permission bits, an owner that is
not a user name, a file too large for a DATA block, a path apk cannot install) is
refused with PackageError naming the file, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from adb_format import (
    ACL,
    ANY,
    BLOCK_ADB,
    BLOCK_DATA,
    BLOCK_SIZE_MAX,
    DATA_HEADER,
    DEPENDENCY,
    DIR,
    EQUAL,
    FILE,
    INFO,
    NULL,
    OBJECT,
    OPERATORS,
    PACKAGE,
    SCHEMA_PACKAGE,
    SCRIPT_NAMES,
    SCRIPTS,
    UID_SIZE,
    VALUE_MAX,
)
from adb_writer import AdbWriter, adb_file, block, deflate

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
VERSION = re.compile(
    r"[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?"
)
DEPEND = re.compile(r"(?P<name>[^<>=~!\s]+)(?:(?P<op><=|>=|<|>|=)(?P<version>\S+))?")
OWNER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?")
MODE_BITS = 0o7777  # the ACL's mode holds permission bits only
FILE_SIZE_MAX = BLOCK_SIZE_MAX - 4 - DATA_HEADER  # a DATA block's 30-bit size
NAME_MAX, PATH_MAX = 255, 4095  # bytes, as Linux limits them
DIR_MODE, DIR_OWNER = 0o755, "root"
# the info fields mkpkg writes from --info, in its order (field number)
INFO_STRINGS = ("name", "version", "description", "arch", "license", "origin", "maintainer", "url")
LIST = OBJECT  # the type mkpkg tags its lists with (depends, paths, files); apk reads both


class PackageError(ValueError):
    """Input the package format cannot carry."""


@dataclass(frozen=True)
class PackageInfo:
    """The info fields the package gets (empty ones are left out)."""

    name: str
    version: str  # apk's spelling, e.g. 0.1.0-r1
    description: str = ""
    arch: str = "noarch"
    license: str = ""
    origin: str = ""
    maintainer: str = ""
    url: str = ""
    depends: tuple[str, ...] = ()  # "name" or "name>=version"


@dataclass(frozen=True)
class PackageFile:
    """A regular file: path without leading /, content, permission bits, owner names."""

    path: str
    data: bytes
    mode: int = 0o644
    user: str = "root"
    group: str = "root"


def check_info(info: PackageInfo) -> None:
    if not NAME.fullmatch(info.name):
        raise PackageError(f"package name {info.name!r}: not a valid apk name")
    if not VERSION.fullmatch(info.version):
        raise PackageError(f"{info.name}: version {info.version!r} is not valid for apk")
    for field in INFO_STRINGS[2:]:
        value = getattr(info, field)
        if "\n" in value:
            raise PackageError(f"{info.name}: the {field} must be one line")
        check_utf8(value, f"{info.name}: the {field}")
    for dep in info.depends:
        parse_dependency(dep)


def check_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PackageError(f"{what} is not UTF-8") from None


def parse_dependency(text: str) -> tuple[str, str, int]:
    """Parse "name", "name=1.2" or "name>=1.2" into (name, version, match bits)."""
    m = DEPEND.fullmatch(text)
    if not m or not NAME.fullmatch(m["name"]):
        raise PackageError(f"dependency {text!r}: not name[op version]")
    if m["op"] is None:
        return m["name"], "", ANY
    if not VERSION.fullmatch(m["version"]):
        raise PackageError(f"dependency {text!r}: version is not valid for apk")
    return m["name"], m["version"], OPERATORS[m["op"]]


def check_file(f: PackageFile) -> None:
    """Refuse a file whose path, mode, owner or size the format cannot carry."""
    path = f.path
    check_utf8(path, f"{path!r}: the name")
    raw = path.encode()
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PackageError(f"{path!r}: not a relative path of plain names")
    if "\0" in path or "\n" in path:
        raise PackageError(f"{path!r}: a name with NUL or a line break")
    if len(raw) > PATH_MAX or any(len(p.encode()) > NAME_MAX for p in parts):
        raise PackageError(f"{path}: the path or a name in it is too long")
    if not isinstance(f.mode, int) or not 0 <= f.mode <= MODE_BITS:
        raise PackageError(f"{path}: mode {f.mode!r} (only permission bits, 0..0o7777)")
    for owner in (f.user, f.group):
        if not isinstance(owner, str) or not OWNER.fullmatch(owner):
            raise PackageError(f"{path}: owner {owner!r} (apk records user and group names)")
    if len(f.data) > FILE_SIZE_MAX:
        raise PackageError(f"{path}: {len(f.data)} bytes (a file can have {FILE_SIZE_MAX})")


def check_tree(files: list[PackageFile]) -> None:
    seen: set[str] = set()
    for f in files:
        check_file(f)
        if f.path in seen:
            raise PackageError(f"{f.path}: in the package twice")
        seen.add(f.path)
    for f in files:
        parts = f.path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise PackageError(f"{'/'.join(parts[:i])}: a file and a folder of {f.path}")


def folders(files: list[PackageFile]) -> list[tuple[str, list[PackageFile]]]:
    """Every folder ("" = the root) in byte order, each with its files by name."""
    out: dict[str, list[PackageFile]] = {"": []}
    for f in files:
        parts = f.path.split("/")
        for i in range(1, len(parts)):
            out.setdefault("/".join(parts[:i]), [])
        out.setdefault("/".join(parts[:-1]), []).append(f)
    return [
        (name, sorted(out[name], key=lambda f: f.path.rsplit("/", 1)[-1].encode()))
        for name in sorted(out, key=str.encode)
    ]


def _acl(w: AdbWriter, mode: int, user: str, group: str) -> int:
    return w.object(
        {
            ACL.number("mode"): w.integer(mode),
            ACL.number("user"): w.blob(user.encode()),
            ACL.number("group"): w.blob(group.encode()),
        }
    )


def _dependencies(w: AdbWriter, depends: tuple[str, ...]) -> int:
    deps = []
    for text in depends:
        name, version, match = parse_dependency(text)
        fields = {DEPENDENCY.number("name"): w.blob(name.encode())}
        if match != ANY:
            fields[DEPENDENCY.number("version")] = w.blob(version.encode())
            if match != EQUAL:
                fields[DEPENDENCY.number("match")] = w.integer(match)
        deps.append((name.encode(), w.object(fields)))
    deps.sort(key=lambda d: d[0])
    unique = [v for i, (_n, v) in enumerate(deps) if i == 0 or v != deps[i - 1][1]]
    return w.array(unique, LIST)


def _file(w: AdbWriter, f: PackageFile, mtime: int) -> int:
    fields = {FILE.number("name"): w.blob(f.path.rsplit("/", 1)[-1].encode())}
    fields[FILE.number("hash")] = w.blob(hashlib.sha256(f.data).digest())
    fields[FILE.number("mtime")] = w.integer(mtime)
    fields[FILE.number("size")] = w.integer(len(f.data))
    fields[FILE.number("acl")] = _acl(w, f.mode, f.user, f.group)
    return w.object(fields)


def encode(
    info: PackageInfo,
    files: list[PackageFile],
    scripts: Mapping[str, str] | None = None,
    mtime: int = 0,
) -> bytes:
    """The uncompressed package (``ADB.pckg`` ...)."""
    scripts = dict(scripts or {})
    check_info(info)
    check_tree(files)
    for name, text in scripts.items():
        if name not in SCRIPT_NAMES:
            raise PackageError(f"{info.name}: unknown script {name!r}")
        if not text:
            raise PackageError(f"{info.name}: the {name} script is empty")
        check_utf8(text, f"{info.name}: the {name} script")
    if not 0 <= mtime <= 0xFFFFFFFFFFFFFFFF:
        raise PackageError(f"mtime {mtime} out of range")

    w = AdbWriter()
    fields: dict[int, int] = {}
    for field in INFO_STRINGS:
        fields[INFO.number(field)] = w.blob(getattr(info, field).encode())
    if info.depends:
        fields[INFO.number("depends")] = _dependencies(w, info.depends)

    tree = folders(files)
    dirs = []
    for name, members in tree:
        entries = [_file(w, f, mtime) for f in members]
        dir_name = w.blob(name.encode())
        dir_acl = _acl(w, DIR_MODE, DIR_OWNER, DIR_OWNER)
        dirs.append(
            w.object(
                {
                    DIR.number("name"): dir_name,
                    DIR.number("acl"): dir_acl,
                    DIR.number("files"): w.array(entries, LIST),
                }
            )
        )
    size = sum(len(f.data) for f in files)
    fields[INFO.number("installed-size")] = w.integer(size or int(bool(files or scripts)))
    uid = w.blob(bytes(UID_SIZE), share=False)
    fields[INFO.number("hashes")] = uid
    info_value = w.object(fields)
    paths_value = w.array(dirs, LIST)
    script_values = {
        SCRIPTS.number(n): w.blob(scripts[n].encode()) for n in SCRIPT_NAMES if n in scripts
    }
    root = {PACKAGE.number("info"): info_value, PACKAGE.number("paths"): paths_value}
    root[PACKAGE.number("scripts")] = w.object(script_values) if script_values else NULL
    w.set_root(w.object(root))
    digest = hashlib.sha256(w.payload()).digest()[:UID_SIZE]
    w.patch((uid & VALUE_MAX) + 1, digest)  # after the blob's length byte

    blocks = [block(BLOCK_ADB, w.payload())]
    for i, (_name, members) in enumerate(tree, 1):
        for j, f in enumerate(members, 1):
            if f.data:
                blocks.append(block(BLOCK_DATA, struct.pack("<II", i, j) + f.data))
    return adb_file(SCHEMA_PACKAGE, blocks)


def build(
    info: PackageInfo,
    files: list[PackageFile],
    scripts: Mapping[str, str] | None = None,
    mtime: int = 0,
) -> bytes:
    """The package as apk writes it by default: deflate-compressed."""
    return deflate(encode(info, files, scripts, mtime))
