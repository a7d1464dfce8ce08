#!/usr/bin/env python3
"""Read apk-tools v3 packages (.apk, "ADB"; see adb_format.py) strictly, and show them.

`read_package` decodes a file by the package schema and refuses anything apk would not
have written: an unknown or unexpected value type, an offset outside the payload or
into its header, a value not aligned to its size, a block whose size, type, order or
padding is wrong, a DATA block for no file or of the wrong size, a file whose SHA-256
differs from its DATA, a package id (info.hashes) that is not the SHA-256 of the ADB
payload. `dump` prints a package the way `apk adbdump` does.

    python scripts/adb_reader.py FILE.apk      # the dump
"""

from __future__ import annotations

import hashlib
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adb_format import (
    ALIGN,
    ARRAY,
    BLOB8,
    BLOB16,
    BLOB32,
    BLOCK_ADB,
    BLOCK_ALIGN,
    BLOCK_DATA,
    BLOCK_SIG,
    CONFLICT,
    DATA_HEADER,
    DECIMAL,
    DEFLATE_MAGIC,
    DEPENDENCY,
    EQUAL,
    FUZZY,
    GREATER,
    HEX,
    INFO,
    INT,
    INT32,
    INT64,
    LESS,
    MAGIC,
    NULL,
    OBJECT,
    OCTAL,
    PACKAGE,
    PAYLOAD_HEADER,
    SCHEMA_PACKAGE,
    TEXT,
    UID_SIZE,
    VALUE_MAX,
    ArraySchema,
    Kind,
    ObjectSchema,
)

BLOCK_NAMES = {BLOCK_ADB: "ADB", BLOCK_SIG: "SIG", BLOCK_DATA: "DATA"}


class AdbError(ValueError):
    """The file is not a package apk would have written."""


@dataclass(frozen=True)
class Block:
    kind: int
    offset: int  # of the block header in the (uncompressed) file
    payload: bytes


@dataclass
class ApkFile:
    """A decoded package."""

    compressed: bool
    schema: bytes
    payload: bytes  # the ADB block's payload
    package: dict[str, Any]  # by the package schema, absent fields left out
    data: dict[tuple[int, int], bytes] = field(default_factory=dict)  # (dir, file), 1-based
    blocks: list[Block] = field(default_factory=list)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Every file by its path (no leading /), with its DATA as "data"."""
        out = {}
        for i, folder in enumerate(self.package.get("paths", []), 1):
            prefix = folder.get("name", "")
            for j, f in enumerate(folder.get("files", []), 1):
                path = f"{prefix}/{f['name']}" if prefix else f["name"]
                out[path] = {**f, "data": self.data.get((i, j), b"")}
        return out


def unwrap(raw: bytes) -> tuple[bool, bytes]:
    """(compressed?, the ADB. file)."""
    if raw[:4] == MAGIC:
        return False, raw
    if raw[:4] != DEFLATE_MAGIC:
        raise AdbError(f"not an ADB file (starts with {raw[:4]!r})")
    z = zlib.decompressobj(-15)
    try:
        data = z.decompress(raw[4:])
    except zlib.error as exc:
        raise AdbError(f"bad deflate stream: {exc}") from None
    if not z.eof or z.unused_data:
        raise AdbError("the deflate stream is truncated or followed by other bytes")
    if data[:4] != MAGIC:
        raise AdbError("the deflate stream does not hold an ADB. file")
    return True, data


def split_blocks(data: bytes) -> tuple[bytes, list[Block]]:
    """The schema id and the blocks, checking sizes, padding and order."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise AdbError("no ADB. header")
    schema, pos, blocks = data[4:8], 8, []
    order = {BLOCK_ADB: 0, BLOCK_SIG: 1, BLOCK_DATA: 2}
    while pos < len(data):
        if len(data) - pos < 4:
            raise AdbError(f"block at {pos}: truncated header")
        (head,) = struct.unpack_from("<I", data, pos)
        kind, size = head >> 30, head & 0x3FFFFFFF
        if kind not in order:
            raise AdbError(f"block at {pos}: type {kind} (DATAX) is not allowed")
        if size < 4 or pos + size > len(data):
            raise AdbError(f"block at {pos}: size {size} does not fit the file")
        end = pos + size + (-size % BLOCK_ALIGN)
        if end > len(data) or any(data[pos + size : end]):
            raise AdbError(f"block at {pos}: padding missing or not zero")
        if (kind == BLOCK_ADB) == bool(blocks) or (blocks and order[kind] < order[blocks[-1].kind]):
            raise AdbError(f"block at {pos}: {BLOCK_NAMES[kind]} block out of order")
        blocks.append(Block(kind, pos, data[pos + 4 : pos + size]))
        pos = end
    if not blocks:
        raise AdbError("no ADB block")
    return schema, blocks


class Payload:
    """Values of one ADB block payload, each checked as it is read."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 2 * PAYLOAD_HEADER:
            raise AdbError(f"ADB block of {len(data)} bytes is too short")
        if data[0] != 0:
            raise AdbError(f"ADB compat version {data[0]} (0 expected)")
        self.data = data
        (self.root,) = struct.unpack_from("<I", data, 4)

    def _at(self, value: int, size: int) -> int:
        kind, offset = value >> 28, value & VALUE_MAX
        if offset < PAYLOAD_HEADER or offset + size > len(self.data):
            raise AdbError(f"value {value:#010x}: offset {offset} outside the payload")
        if offset % ALIGN[kind]:
            raise AdbError(f"value {value:#010x}: offset {offset} not aligned to {ALIGN[kind]}")
        return offset

    def blob(self, value: int) -> bytes:
        kind = value >> 28
        prefix = {BLOB8: "<B", BLOB16: "<H", BLOB32: "<I"}.get(kind)
        if prefix is None:
            raise AdbError(f"value {value:#010x}: type {kind:#x} where a blob belongs")
        width = struct.calcsize(prefix)
        offset = self._at(value, width)
        (n,) = struct.unpack_from(prefix, self.data, offset)
        self._at(value, width + n)
        return self.data[offset + width : offset + width + n]

    def integer(self, value: int) -> int:
        kind = value >> 28
        if kind == INT:
            return value & VALUE_MAX
        if kind in (INT32, INT64):
            fmt = "<I" if kind == INT32 else "<Q"
            return struct.unpack_from(fmt, self.data, self._at(value, struct.calcsize(fmt)))[0]
        raise AdbError(f"value {value:#010x}: type {kind:#x} where an integer belongs")

    def slots(self, value: int, kinds: tuple[int, ...]) -> list[int]:
        """The values of an array or object (without the count slot)."""
        kind = value >> 28
        if kind not in kinds:
            raise AdbError(f"value {value:#010x}: type {kind:#x} where {kinds} belongs")
        offset = self._at(value, 4)
        (count,) = struct.unpack_from("<I", self.data, offset)
        if count < 1:
            raise AdbError(f"value {value:#010x}: {count} slots")
        self._at(value, 4 * count)
        return list(struct.unpack_from(f"<{count - 1}I", self.data, offset + 4))


def decode(p: Payload, value: int, kind: Kind) -> Any:
    """`value` read as `kind`; None for null."""
    if value == NULL:
        return None
    if isinstance(kind, ObjectSchema):
        slots = p.slots(value, (OBJECT,))
        if len(slots) > len(kind.fields):
            raise AdbError(f"object {value:#010x}: {len(slots)} fields, the schema has fewer")
        out = {}
        for (name, sub), v in zip(kind.fields, slots, strict=False):
            got = decode(p, v, sub)
            if got is not None:
                out[name] = got
        return out
    if isinstance(kind, ArraySchema):
        items = [decode(p, v, kind.item) for v in p.slots(value, (ARRAY, OBJECT))]
        if any(item is None for item in items):
            raise AdbError(f"array {value:#010x}: a null item")
        return items
    if value >> 28 == 0:
        raise AdbError(f"value {value:#010x}: a special value where {kind} belongs")
    if kind in (DECIMAL, OCTAL):
        return p.integer(value)
    raw = p.blob(value)
    if kind == HEX:
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AdbError(f"value {value:#010x}: not UTF-8") from None


def check_sorted(names: list[bytes], what: str) -> None:
    if names != sorted(set(names)):
        raise AdbError(f"{what} not sorted by name or not unique")


def read_package(raw: bytes) -> ApkFile:
    """Decode and check a whole package (see the module's docstring)."""
    compressed, data = unwrap(raw)
    schema, blocks = split_blocks(data)
    if schema != SCHEMA_PACKAGE:
        raise AdbError(f"schema {schema!r}, not a package")
    p = Payload(blocks[0].payload)
    if p.root >> 28 != OBJECT:
        raise AdbError("the root is not an object")
    package = decode(p, p.root, PACKAGE)
    info = package.get("info", {})
    if not info.get("name") or not info.get("version"):
        raise AdbError("the package has no name or version")
    check_uid(p, info)
    paths = package.get("paths", [])
    check_sorted([d.get("name", "").encode() for d in paths], "folders")
    for d in paths:
        check_sorted([f["name"].encode() for f in d.get("files", [])], f"files of {d.get('name')}")
    apk = ApkFile(compressed, schema, p.data, package, blocks=blocks)
    check_data(apk, [b for b in blocks if b.kind == BLOCK_DATA])
    return apk


def check_uid(p: Payload, info: dict[str, Any]) -> None:
    """info.hashes: SHA-256 of the payload with these 20 bytes zeroed, cut to 20."""
    uid = info.get("hashes")
    if uid is None or len(uid) != UID_SIZE:
        raise AdbError("info.hashes is missing or not 20 bytes")
    info_value = p.slots(p.root, (OBJECT,))[PACKAGE.number("info") - 1]
    uid_value = p.slots(info_value, (OBJECT,))[INFO.number("hashes") - 1]
    offset = (uid_value & VALUE_MAX) + 1  # after the blob's length byte
    zeroed = p.data[:offset] + bytes(UID_SIZE) + p.data[offset + UID_SIZE :]
    if hashlib.sha256(zeroed).digest()[:UID_SIZE] != uid:
        raise AdbError("info.hashes is not the SHA-256 of the ADB payload")


def check_data(apk: ApkFile, blocks: list[Block]) -> None:
    """One DATA block per non-empty regular file, in order, matching size and hash."""
    paths = apk.package.get("paths", [])
    expected = [
        (i, j)
        for i, d in enumerate(paths, 1)
        for j, f in enumerate(d.get("files", []), 1)
        if "target" not in f and f.get("size", 0) > 0
    ]
    got = []
    for b in blocks:
        if len(b.payload) < DATA_HEADER:
            raise AdbError(f"DATA block at {b.offset}: {len(b.payload)} bytes")
        i, j = struct.unpack_from("<II", b.payload)
        content = b.payload[DATA_HEADER:]
        if not (1 <= i <= len(paths) and 1 <= j <= len(paths[i - 1].get("files", []))):
            raise AdbError(f"DATA block at {b.offset}: no file ({i}, {j})")
        f = paths[i - 1]["files"][j - 1]
        if len(content) != f.get("size", 0):
            raise AdbError(
                f"DATA block at {b.offset}: {len(content)} bytes, size says {f.get('size')}"
            )
        if hashlib.sha256(content).digest() != f.get("hash"):
            raise AdbError(f"DATA block at {b.offset}: SHA-256 differs from {f['name']}'s hash")
        apk.data[(i, j)] = content
        got.append((i, j))
    if got != expected:
        raise AdbError(f"DATA blocks {got} where {expected} belong")


def dependency_text(dep: dict[str, Any]) -> str:
    """name, name=1, name>=1.2, ... as apk prints a dependency."""
    match = dep.get("match", EQUAL)
    prefix = "!" if match & CONFLICT else ""
    if "version" not in dep:
        return prefix + dep["name"]
    op = "~" if match & FUZZY else ""
    op += "<" if match & LESS else ""
    op += ">" if match & GREATER else ""
    op += "=" if match & EQUAL and not match & FUZZY else ""
    return f"{prefix}{dep['name']}{op}{dep['version']}"


def _scalar(value: Any, kind: Kind) -> str:
    if kind == OCTAL:
        return f"0{value:o}"
    if kind == HEX:
        return value.hex()
    return str(value)


def _lines(obj: dict[str, Any], schema: ObjectSchema, indent: int) -> list[str]:
    pad, out = " " * indent, []
    for name, kind in schema.fields:
        if name not in obj:
            continue
        value = obj[name]
        if isinstance(kind, ObjectSchema):
            out += [f"{pad}{name}:", *_lines(value, kind, indent + 2)]
        elif isinstance(kind, ArraySchema):
            out.append(f"{pad}{name}: # {len(value)} items")
            for item in value:
                if kind.item == DEPENDENCY:
                    out.append(f"{pad}  - {dependency_text(item)}")
                elif isinstance(kind.item, ObjectSchema):
                    sub = _lines(item, kind.item, indent + 4)
                    out += [f"{pad}  - {sub[0].lstrip()}", *sub[1:]]
                else:
                    out.append(f"{pad}  - {_scalar(item, kind.item)}")
        elif kind == TEXT and "\n" in value:
            out += [f"{pad}{name}: |", *(f"{pad}  {line}" for line in value.splitlines())]
        else:
            out.append(f"{pad}{name}: {_scalar(value, kind)}")
    return out


def dump(apk: ApkFile) -> str:
    """The package as `apk adbdump` prints it."""
    (schema_id,) = struct.unpack("<I", apk.schema)
    lines = [
        f"#%SCHEMA: {schema_id:08X}",
        f"# ADB block, size: {len(apk.payload)}, compat: {apk.payload[0]}, ver: {apk.payload[1]}",
        *_lines(apk.package, PACKAGE, 0),
    ]
    for b in apk.blocks[1:]:
        lines.append(f"# {BLOCK_NAMES[b.kind].lower()} block, size: {len(b.payload)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        sys.stdout.write(dump(read_package(Path(args[0]).read_bytes())))
    except AdbError as exc:
        print(f"{args[0]}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
