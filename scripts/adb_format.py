"""The apk-tools v3 package format ("ADB"): constants and the package schema.

Shared by the encoder (adb_writer.py, apk_package.py) and the decoder (adb_reader.py).
Sources: apk-tools 3.0.6 doc/apk-v3.5.scd (values, blocks) and doc/apk-package.5.scd
(field meanings); field numbers, header layouts and the operator bits from its
src/adb.h, src/apk_adb.h and src/apk_version.h, checked by decoding packages made by
`apk mkpkg` (tests/package/apk_vectors).

A file is the 8-byte header (``ADB.`` + schema id), then blocks: one ADB block, SIG
blocks (none in an unsigned package), DATA blocks. Each block starts with a u32 LE:
type in the top 2 bits, size including these 4 bytes in the low 30; blocks are padded
with zeros to a multiple of 8. The ADB block's payload starts with 8 bytes (u8 compat
version, u8 version, u16 reserved, u32 root value); a value is a u32 LE tag (type in
the top 4 bits, an immediate or an offset into the payload in the low 28).
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"ADB."
DEFLATE_MAGIC = b"ADBd"  # followed by a raw deflate stream of the whole ADB. file
SCHEMA_PACKAGE = b"pckg"

BLOCK_ADB, BLOCK_SIG, BLOCK_DATA, BLOCK_DATAX = 0, 1, 2, 3
BLOCK_ALIGN = 8
BLOCK_SIZE_MAX = (1 << 30) - 1  # larger blocks need the DATAX form, which apk refuses
PAYLOAD_HEADER = 8  # compat version, version, reserved, root
DATA_HEADER = 8  # u32 directory index, u32 file index (both 1-based)

# value types (top 4 bits of a tag)
SPECIAL, INT, INT32, INT64 = 0x0, 0x1, 0x2, 0x3
BLOB8, BLOB16, BLOB32 = 0x8, 0x9, 0xA
ARRAY, OBJECT = 0xD, 0xE
NULL = 0  # SPECIAL 0; 1 and 2 are true and false
VALUE_MAX = (1 << 28) - 1
# alignment of indirect values inside the payload
ALIGN = {INT32: 4, INT64: 8, BLOB8: 1, BLOB16: 2, BLOB32: 4, ARRAY: 4, OBJECT: 4}

# dependency "match" bits (apk_version.h)
EQUAL, LESS, GREATER, FUZZY, CONFLICT = 1, 2, 4, 8, 16
OPERATORS = {"=": EQUAL, "<": LESS, "<=": LESS | EQUAL, ">": GREATER, ">=": GREATER | EQUAL}
ANY = LESS | EQUAL | GREATER  # a bare name: no version, no match field

UID_SIZE = 20  # info.hashes of a package: SHA-256 of the payload (uid zeroed), cut to 20

# scalar kinds: how a value is read and shown
STRING, TEXT, HEX, DECIMAL, OCTAL = "string", "text", "hex", "decimal", "octal"


@dataclass(frozen=True)
class ArraySchema:
    item: Kind


@dataclass(frozen=True)
class ObjectSchema:
    fields: tuple[tuple[str, Kind], ...]  # field i + 1

    def number(self, name: str) -> int:
        """The 1-based field number of `name`."""
        for i, (field, _kind) in enumerate(self.fields, 1):
            if field == name:
                return i
        raise KeyError(name)


Kind = str | ArraySchema | ObjectSchema

ACL = ObjectSchema(
    (("mode", OCTAL), ("user", STRING), ("group", STRING), ("xattrs", ArraySchema(HEX)))
)
FILE = ObjectSchema(
    (
        ("name", STRING),
        ("acl", ACL),
        ("size", DECIMAL),
        ("mtime", DECIMAL),
        ("hash", HEX),
        ("target", HEX),
    )
)
DIR = ObjectSchema((("name", STRING), ("acl", ACL), ("files", ArraySchema(FILE))))
DEPENDENCY = ObjectSchema((("name", STRING), ("version", STRING), ("match", DECIMAL)))
DEPENDENCIES = ArraySchema(DEPENDENCY)
INFO = ObjectSchema(
    (
        ("name", STRING),
        ("version", STRING),
        ("hashes", HEX),
        ("description", STRING),
        ("arch", STRING),
        ("license", STRING),
        ("origin", STRING),
        ("maintainer", STRING),
        ("url", STRING),
        ("repo-commit", HEX),
        ("build-time", DECIMAL),
        ("installed-size", DECIMAL),
        ("file-size", DECIMAL),
        ("provider-priority", DECIMAL),
        ("depends", DEPENDENCIES),
        ("provides", DEPENDENCIES),
        ("replaces", DEPENDENCIES),
        ("install-if", DEPENDENCIES),
        ("recommends", DEPENDENCIES),
        ("layer", DECIMAL),
        ("tags", ArraySchema(STRING)),
    )
)
SCRIPT_NAMES = (
    "trigger",
    "pre-install",
    "post-install",
    "pre-deinstall",
    "post-deinstall",
    "pre-upgrade",
    "post-upgrade",
)
SCRIPTS = ObjectSchema(tuple((name, TEXT) for name in SCRIPT_NAMES))
PACKAGE = ObjectSchema(
    (
        ("info", INFO),
        ("paths", ArraySchema(DIR)),
        ("scripts", SCRIPTS),
        ("triggers", ArraySchema(STRING)),
        ("replaces-priority", DECIMAL),
    )
)


def tag(kind: int, value: int) -> int:
    """A value's u32 tag."""
    if not 0 <= value <= VALUE_MAX:
        raise ValueError(f"{value} does not fit in a tag")
    return kind << 28 | value


def block_header(kind: int, payload_size: int) -> int:
    """A block's u32 header: type and size (header included)."""
    size = payload_size + 4
    if size > BLOCK_SIZE_MAX:
        raise ValueError(f"a block of {size} bytes needs the DATAX form")
    return kind << 30 | size


def padding(size: int, align: int = BLOCK_ALIGN) -> int:
    return -size % align
