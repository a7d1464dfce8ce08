#!/usr/bin/env python3
"""Compile a .po file into LuCI's binary catalogue format (.lmo), and read one back.

The SDK build uses LuCI's own po2lmo; `make ipk` builds without the SDK, so this is an
implementation of the same format for it:

* the translations, one after the other, each padded with NULs to a multiple of 4;
* an index of 16-byte entries (key_id, val_id, offset, length; big-endian uint32),
  sorted by key_id, where key_id is Paul Hsieh's SuperFastHash of the msgid (seeded with
  its length) and val_id is the plural form + 1; a translation whose hash equals the
  msgid's is left out (nothing to translate). The header's Plural-Forms expression is
  an entry with key_id 0;
* the offset of the index, as the last big-endian uint32.

Like po2lmo the msgid is hashed as written in the .po file, with only \\" and \\\\
unescaped; LuCI looks msgids up with whitespace collapsed, so they must be single-spaced
(scripts/i18n_scan.py writes them that way).
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

MASK = 0xFFFFFFFF


def _get16(data: bytes, i: int) -> int:
    return data[i] | (data[i + 1] << 8)


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte


def sfh_hash(data: bytes, init: int | None = None) -> int:
    """SuperFastHash as LuCI's lmo.c computes it (init defaults to the length)."""
    length = len(data)
    if length <= 0:
        return 0
    h = (length if init is None else init) & MASK
    rem = length & 3
    i = 0
    for _ in range(length >> 2):
        h = (h + _get16(data, i)) & MASK
        tmp = ((_get16(data, i + 2) << 11) ^ h) & MASK
        h = ((h << 16) ^ tmp) & MASK
        i += 4
        h = (h + (h >> 11)) & MASK
    if rem == 3:
        h = (h + _get16(data, i)) & MASK
        h ^= (h << 16) & MASK
        h ^= (_signed(data[i + 2]) << 18) & MASK
        h = (h + (h >> 11)) & MASK
    elif rem == 2:
        h = (h + _get16(data, i)) & MASK
        h ^= (h << 11) & MASK
        h = (h + (h >> 17)) & MASK
    elif rem == 1:
        h = (h + _signed(data[i])) & MASK
        h ^= (h << 10) & MASK
        h = (h + (h >> 1)) & MASK
    h ^= (h << 3) & MASK
    h = (h + (h >> 5)) & MASK
    h ^= (h << 4) & MASK
    h = (h + (h >> 17)) & MASK
    h ^= (h << 25) & MASK
    h = (h + (h >> 6)) & MASK
    return h


def canon_hash(msgid: str) -> int:
    """The hash LuCI looks a msgid up with: whitespace runs collapsed, ends trimmed."""
    return sfh_hash(" ".join(msgid.split()).encode())


def _raw(quoted: str) -> str:
    """A quoted po string as po2lmo reads it: \\" and \\\\ unescaped, other escapes kept."""
    body = quoted.strip()[1:-1]
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
            out.append(body[i + 1])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def parse_po(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(raw header msgstr, [(msgid, msgstr)]) with po2lmo's reading of strings; entries
    marked fuzzy are skipped (LuCI's po files do not use them)."""
    header = ""
    entries: list[tuple[str, str]] = []
    cur: dict[str, str] = {}
    key = None
    fuzzy = False

    def flush() -> None:
        nonlocal header, fuzzy
        if "msgid" in cur:
            if cur["msgid"] == "":
                header = cur.get("msgstr", "")
            elif cur.get("msgstr") and not fuzzy:
                entries.append((cur["msgid"], cur["msgstr"]))
        cur.clear()
        fuzzy = False

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#,") and "fuzzy" in line:
            flush()
            fuzzy = True
        elif line.startswith("msgid "):
            keep = fuzzy
            flush()
            fuzzy = keep
            key, cur["msgid"] = "msgid", _raw(line[6:])
        elif line.startswith("msgstr "):
            key, cur["msgstr"] = "msgstr", _raw(line[7:])
        elif line.startswith('"') and key:
            cur[key] += _raw(line)
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise ValueError(f"not supported by this compiler: {line.split()[0]}")
    flush()
    return header, entries


def compile_po(text: str) -> bytes:
    """The .lmo bytes for the .po `text` (empty when nothing is translated)."""
    header, entries = parse_po(text)
    blob = bytearray()
    index: list[tuple[int, int, int, int]] = []

    def add(key_id: int, val_id: int, value: bytes) -> None:
        index.append((key_id, val_id, len(blob), len(value)))
        blob.extend(value + b"\0" * ((4 - len(value) % 4) % 4))

    for field in header.split("\\n"):
        if field.lower().startswith("plural-forms: "):
            add(0, 0, field[len("plural-forms: ") :].encode())
            break
    for msgid, msgstr in entries:
        key, val = msgid.encode(), msgstr.encode()
        key_id = sfh_hash(key)
        if key_id != sfh_hash(val):
            add(key_id, 1, val)
    if not blob:
        return b""
    index.sort(key=lambda e: e[0])
    out = bytes(blob) + b"".join(struct.pack(">4I", *e) for e in index)
    return out + struct.pack(">I", len(blob))


def read_lmo(data: bytes) -> dict[int, bytes]:
    """key_id → translation of an .lmo file."""
    (start,) = struct.unpack(">I", data[-4:])
    count = (len(data) - start - 4) // 16
    out = {}
    for n in range(count):
        key_id, _val_id, offset, length = struct.unpack(
            ">4I", data[start + 16 * n : start + 16 * n + 16]
        )
        out[key_id] = data[offset : offset + length]
    return out


def lookup(data: bytes, msgid: str) -> str | None:
    """The translation of `msgid` as LuCI finds it (binary search over the index)."""
    (start,) = struct.unpack(">I", data[-4:])
    lo, hi = 0, (len(data) - start - 4) // 16 - 1
    want = canon_hash(msgid)
    while lo <= hi:
        mid = (lo + hi) // 2
        key_id, _val, offset, length = struct.unpack(
            ">4I", data[start + 16 * mid : start + 16 * mid + 16]
        )
        if key_id == want:
            return data[offset : offset + length].decode()
        if key_id < want:
            lo = mid + 1
        else:
            hi = mid - 1
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("po", type=Path)
    parser.add_argument("lmo", type=Path)
    args = parser.parse_args(argv)
    data = compile_po(args.po.read_text("utf-8"))
    if data:
        args.lmo.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
