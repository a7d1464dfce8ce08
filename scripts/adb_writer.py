"""Write ADB values, blocks and files (the apk-tools v3 format; see adb_format.py).

AdbWriter appends each value to the ADB payload as it is made, children before their
object, aligned to its size. Like `apk mkpkg` (apk-tools 3.0.x) it shares identical
items: a blob, int32 or object whose bytes (length prefix included) were written before
at an offset aligned for it is pointed at instead of written again. Following mkpkg's
order of writes therefore gives mkpkg's bytes (apk_package.py).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping

from adb_format import (
    ARRAY,
    BLOB8,
    BLOB16,
    BLOB32,
    BLOCK_ALIGN,
    DEFLATE_MAGIC,
    INT,
    INT32,
    INT64,
    MAGIC,
    NULL,
    OBJECT,
    PAYLOAD_HEADER,
    VALUE_MAX,
    block_header,
    padding,
    tag,
)


class AdbWriter:
    """The payload of one ADB block, written front to back."""

    def __init__(self) -> None:
        self.buf = bytearray(PAYLOAD_HEADER)  # compat 0, version 0, reserved, root 0
        self._seen: dict[bytes, int] = {}

    def _put(self, data: bytes, align: int, share: bool = True) -> int:
        """Write `data` (or point at an earlier copy); its offset."""
        if share:
            offset = self._seen.get(data)
            if offset is not None and offset % align == 0:
                return offset
        self.buf += bytes(padding(len(self.buf), align))
        offset = len(self.buf)
        if offset > VALUE_MAX:
            raise ValueError("the package metadata exceeds 256 MiB")
        self.buf += data
        if share:
            self._seen[data] = offset
        return offset

    def blob(self, data: bytes, share: bool = True) -> int:
        """A string or byte string; empty is null (absent)."""
        n = len(data)
        if n == 0:
            return NULL
        if n <= 0xFF:
            return tag(BLOB8, self._put(struct.pack("<B", n) + data, 1, share))
        if n <= 0xFFFF:
            return tag(BLOB16, self._put(struct.pack("<H", n) + data, 2, share))
        return tag(BLOB32, self._put(struct.pack("<I", n) + data, 4, share))

    def integer(self, n: int) -> int:
        """An unsigned integer: in the tag if it fits in 28 bits, else as int32/int64."""
        if n < 0:
            raise ValueError(f"negative integer {n}")
        if n <= VALUE_MAX:
            return tag(INT, n)
        if n <= 0xFFFFFFFF:
            return tag(INT32, self._put(struct.pack("<I", n), 4))
        return tag(INT64, self._put(struct.pack("<Q", n), 8))

    def _slots(self, kind: int, values: list[int]) -> int:
        while values and values[-1] == NULL:
            values.pop()
        if not values:
            return NULL
        data = struct.pack(f"<{len(values) + 1}I", len(values) + 1, *values)
        return tag(kind, self._put(data, 4))

    def object(self, fields: Mapping[int, int]) -> int:
        """An object from {field number: value}; null fields are left out at the end."""
        values = [NULL] * max(fields, default=0)
        for number, value in fields.items():
            values[number - 1] = value
        return self._slots(OBJECT, values)

    def array(self, items: Iterable[int], kind: int = ARRAY) -> int:
        """An array of the non-null items; null if there are none. apk reads an array
        tagged OBJECT alike (mkpkg writes most of its lists so)."""
        if kind not in (ARRAY, OBJECT):
            raise ValueError(f"an array cannot have type {kind:#x}")
        return self._slots(kind, [v for v in items if v != NULL])

    def set_root(self, value: int) -> None:
        struct.pack_into("<I", self.buf, 4, value)

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite bytes written before (the package uid)."""
        if offset + len(data) > len(self.buf):
            raise ValueError("patch beyond the payload")
        self.buf[offset : offset + len(data)] = data

    def payload(self) -> bytes:
        return bytes(self.buf)


def block(kind: int, payload: bytes) -> bytes:
    """A block: header, payload, zero padding to 8."""
    head = struct.pack("<I", block_header(kind, len(payload)))
    return head + payload + bytes(padding(len(head) + len(payload), BLOCK_ALIGN))


def adb_file(schema: bytes, blocks: Iterable[bytes]) -> bytes:
    """The uncompressed file: ``ADB.``, the schema id, the blocks."""
    if len(schema) != 4:
        raise ValueError("a schema id has 4 bytes")
    return MAGIC + schema + b"".join(blocks)


def deflate(data: bytes) -> bytes:
    """The compressed form apk writes by default: ``ADBd`` + raw deflate (zlib's default
    level and memory, as apk-tools uses them)."""
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15, 8)
    return DEFLATE_MAGIC + z.compress(data) + z.flush()
