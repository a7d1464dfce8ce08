"""The .apk encoder (scripts/apk_package.py, adb_writer.py) and decoder (adb_reader.py)
against packages made by the real `apk mkpkg` (tests/package/apk_vectors), and the
decoder's and encoder's refusals."""

from __future__ import annotations

import hashlib
import struct
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from adb_format import (  # noqa: E402
    ARRAY,
    BLOB8,
    BLOB16,
    BLOB32,
    DIR,
    FILE,
    INFO,
    INT,
    INT32,
    INT64,
    NULL,
    OBJECT,
    PACKAGE,
    VALUE_MAX,
    tag,
)
from adb_reader import AdbError, Payload, decode, dump, read_package  # noqa: E402
from adb_writer import AdbWriter  # noqa: E402
from apk_package import (  # noqa: E402
    FILE_SIZE_MAX,
    PackageError,
    PackageFile,
    PackageInfo,
    build,
    encode,
)

VECTORS = Path(__file__).resolve().parent / "apk_vectors"
EPOCH = 1704067200
PAYLOAD_AT = 12  # file header (8) + ADB block header (4)
NOBODY = "Nobody <nobody@example.org>"
HELLO = PackageInfo(
    name="hello",
    version="1.0.0-r1",
    description="Hello test vector",
    license="MIT",
    origin="hello",
    maintainer=NOBODY,
    url="https://example.org/hello",
)
DEMO = PackageInfo(
    name="demo",
    version="0.1.0-r1",
    description="Demo package with conffile and scripts",
    license="Apache-2.0",
    origin="feeds/demo/demo",
    maintainer=NOBODY,
    url="https://example.org/demo",
    depends=("libdemo-a", "libdemo-b>=1.2"),
)


def tree(root: Path) -> list[PackageFile]:
    """The input tree as mkpkg saw it: 0755 if executable, else 0644, owned by root."""
    return [
        PackageFile(
            p.relative_to(root).as_posix(),
            p.read_bytes(),
            0o755 if p.stat().st_mode & 0o111 else 0o644,
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]


def vector_input(name: str) -> tuple[PackageInfo, list[PackageFile], dict[str, str]]:
    if name == "hello":
        return HELLO, tree(VECTORS / "a" / "root"), {}
    scripts = {
        s: (VECTORS / "b" / "scripts" / s).read_text() for s in ("post-install", "pre-deinstall")
    }
    return DEMO, tree(VECTORS / "b" / "root"), scripts


STEMS = {"hello": "hello-1.0.0-r1", "demo": "demo-0.1.0-r1"}


@pytest.mark.parametrize("name", sorted(STEMS))
@pytest.mark.parametrize("form", ["", ".uncompressed"])
def test_the_decoder_reads_what_apk_adbdump_read(name: str, form: str) -> None:
    """Field for field: the decoder's dump of mkpkg's file is apk's own dump of it."""
    stem = STEMS[name]
    apk = read_package((VECTORS / f"{stem}{form}.apk").read_bytes())
    assert apk.compressed == (form == "")
    assert dump(apk) == (VECTORS / f"{stem}.adbdump.txt").read_text()


@pytest.mark.parametrize("name", sorted(STEMS))
def test_the_encoder_writes_mkpkg_bytes(name: str) -> None:
    """Byte for byte, from the same input tree and command-line fields."""
    info, files, scripts = vector_input(name)
    stem = STEMS[name]
    assert (
        encode(info, files, scripts, EPOCH) == (VECTORS / f"{stem}.uncompressed.apk").read_bytes()
    )
    assert build(info, files, scripts, EPOCH) == (VECTORS / f"{stem}.apk").read_bytes()


def test_the_encoder_decodes_to_the_vector_fields() -> None:
    """Field for field through the decoder (holds even where bytes could differ)."""
    info, files, scripts = vector_input("demo")
    ours = read_package(build(info, files, scripts, EPOCH))
    theirs = read_package((VECTORS / "demo-0.1.0-r1.apk").read_bytes())
    assert ours.package == theirs.package
    assert ours.data == theirs.data
    assert ours.package["info"]["depends"] == [
        {"name": "libdemo-a"},
        {"name": "libdemo-b", "version": "1.2", "match": 5},
    ]


# --- the decoder refuses what apk would not have written ---


def demo_bytes() -> bytearray:
    return bytearray((VECTORS / "demo-0.1.0-r1.uncompressed.apk").read_bytes())


def slot(raw: bytes | bytearray, *path: tuple[str, int]) -> int:
    """The file offset of a value's tag, found from the root by (field or item) steps:
    ("info", 0) = the root's info; ("paths", 3) = item 3 of the folder list; ..."""
    (size,) = struct.unpack_from("<I", raw, 8)
    p = Payload(bytes(raw[PAYLOAD_AT : 8 + (size & 0x3FFFFFFF)]))
    at, value = 4, p.root  # the root value lives at payload offset 4
    for step, item in path:
        base = value & VALUE_MAX
        number = item if step == "item" else step
        at = base + 4 * number
        (value,) = struct.unpack_from("<I", p.data, at)
    return PAYLOAD_AT + at


def put(raw: bytearray, at: int, value: int) -> bytearray:
    struct.pack_into("<I", raw, at, value)
    return raw


def tag_at(raw: bytearray, at: int) -> int:
    return struct.unpack_from("<I", raw, at)[0]


NAME = [(PACKAGE.number("info"), 0), (INFO.number("name"), 0)]
INFO_OBJ = [(PACKAGE.number("info"), 0)]
# paths item 3 is etc/config (root, etc, etc/config), its file 1 is demo
CONFIG_FILE = [(PACKAGE.number("paths"), 0), ("item", 3), (DIR.number("files"), 0), ("item", 1)]
MTIME = [*CONFIG_FILE, (FILE.number("mtime"), 0)]


def test_the_slot_helper_finds_the_values() -> None:
    raw = demo_bytes()
    assert tag_at(raw, slot(raw, *NAME)) >> 28 == BLOB8
    assert tag_at(raw, slot(raw, *MTIME)) >> 28 == INT32
    assert tag_at(raw, slot(raw, *INFO_OBJ)) >> 28 == OBJECT


def refused(raw: bytes | bytearray, message: str) -> None:
    with pytest.raises(AdbError, match=message):
        read_package(bytes(raw))


@pytest.mark.parametrize("kind", [0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xF, INT, ARRAY])
def test_a_wrong_tag_is_refused(kind: int) -> None:
    raw = demo_bytes()
    at = slot(raw, *NAME)
    refused(put(raw, at, kind << 28 | tag_at(raw, at) & VALUE_MAX), "where a blob belongs")


def test_a_wrong_tag_on_an_object_or_integer_is_refused() -> None:
    raw = demo_bytes()
    at = slot(raw, *INFO_OBJ)
    refused(put(raw, at, BLOB8 << 28 | tag_at(raw, at) & VALUE_MAX), "where .* belongs")
    raw = demo_bytes()
    at = slot(raw, *MTIME)
    refused(put(raw, at, BLOB16 << 28 | tag_at(raw, at) & VALUE_MAX), "where an integer belongs")
    raw = demo_bytes()
    refused(put(raw, slot(raw, *NAME), 1), "special value")  # TRUE where a string belongs
    raw = demo_bytes()
    refused(put(raw, 16, tag(ARRAY, tag_at(raw, 16) & VALUE_MAX)), "root is not an object")


@pytest.mark.parametrize("offset", [0, 4, 7, 1816, VALUE_MAX])
def test_a_wrong_offset_is_refused(offset: int) -> None:
    raw = demo_bytes()
    refused(put(raw, slot(raw, *NAME), tag(BLOB8, offset)), "outside the payload")


def test_a_misaligned_value_is_refused() -> None:
    for path in (INFO_OBJ, MTIME):
        raw = demo_bytes()
        at = slot(raw, *path)
        refused(put(raw, at, tag_at(raw, at) + 2), "not aligned")


@pytest.mark.parametrize(
    ("first_data", "delta", "message"),
    [
        (False, 8, "block at .* padding"),  # into the next block's header
        (False, -4, "block at .*DATAX"),  # the next "header" is the payload's last value
        (False, 4, "info.hashes"),  # the padding joins the payload
        (True, -1, "block at .* padding"),  # the data's last byte becomes "padding"
        (True, 1, "size says"),  # a padding byte joins the data
        (True, 4096, "block at .* does not fit"),
    ],
)
def test_a_wrong_block_size_is_refused(first_data: bool, delta: int, message: str) -> None:
    raw = demo_bytes()
    adb_size = tag_at(raw, 8) & 0x3FFFFFFF
    at = 8 + adb_size + (-adb_size % 8) if first_data else 8
    refused(put(raw, at, tag_at(raw, at) + delta), message)


def test_a_wrong_block_type_order_or_length_is_refused() -> None:
    good = demo_bytes()
    adb_size = tag_at(good, 8) & 0x3FFFFFFF
    data_at = 8 + adb_size + (-adb_size % 8)  # the first DATA block
    refused(put(demo_bytes(), data_at, 3 << 30 | tag_at(good, data_at) & 0x3FFFFFFF), "DATAX")
    refused(put(demo_bytes(), data_at, tag_at(good, data_at) & 0x3FFFFFFF), "out of order")
    refused(put(demo_bytes(), 8, 2 << 30 | adb_size), "out of order")
    last = read_package(bytes(good)).blocks[-1].offset
    refused(good[:last], "DATA blocks")  # the last block cut off whole
    refused(good[:-3], "block at")
    refused(good + bytes(3), "block at")


def test_a_wrong_hash_is_refused() -> None:
    good = demo_bytes()
    payload = bytes(good[PAYLOAD_AT:])
    data_at = good.index(b"config demo 'main'")  # the conffile's content, in a DATA block
    raw = demo_bytes()
    raw[data_at] ^= 1
    refused(raw, "SHA-256 differs")
    raw = demo_bytes()  # a character of the description
    raw[PAYLOAD_AT + payload.index(b"Demo package")] ^= 1
    refused(raw, "info.hashes")
    raw = demo_bytes()  # the package id itself
    uid = read_package(bytes(good)).package["info"]["hashes"]
    raw[good.index(uid)] ^= 1
    refused(raw, "info.hashes")
    raw = demo_bytes()  # a file's hash: the id no longer matches either
    digest = hashlib.sha256((VECTORS / "b/root/etc/config/demo").read_bytes()).digest()
    raw[good.index(digest)] ^= 1
    refused(raw, "info.hashes")


def test_data_blocks_must_belong_to_their_files() -> None:
    good = demo_bytes()
    adb_size = tag_at(good, 8) & 0x3FFFFFFF
    data_at = 8 + adb_size + (-adb_size % 8)
    refused(put(demo_bytes(), data_at + 4, 99), "no file")
    refused(put(demo_bytes(), data_at + 8, 2), "no file")  # etc/config has one file
    refused(put(demo_bytes(), data_at + 4, 4), "bytes, size says")  # another file's index


def test_the_header_and_compression_are_checked() -> None:
    raw = demo_bytes()
    refused(b"ADBx" + raw[4:], "not an ADB file")
    refused(raw[:4] + b"indx" + raw[8:], "not a package")
    raw = demo_bytes()
    raw[PAYLOAD_AT] = 1
    refused(raw, "compat version")
    packed = (VECTORS / "demo-0.1.0-r1.apk").read_bytes()
    refused(packed[:-10], "truncated")
    refused(packed + b"x", "followed by other bytes")
    refused(b"ADBd" + zlib.compress(b"ADB.pckg", 6)[2:-4] + b"", "block")


# --- the encoder refuses what the format cannot carry ---


class Huge(bytes):
    """Claims a size above what a DATA block can hold (without allocating it)."""

    def __len__(self) -> int:
        return FILE_SIZE_MAX + 1


BAD_FILES = [
    (PackageFile("etc/x", b"1", mode=0o100644), "etc/x: mode"),
    (PackageFile("etc/x", b"1", mode=0o10000), "etc/x: mode"),
    (PackageFile("etc/x", b"1", mode=-1), "etc/x: mode"),
    (PackageFile("etc/x", b"1", user=""), "etc/x: owner"),
    (PackageFile("etc/x", b"1", user=0), "etc/x: owner"),  # type: ignore[arg-type]
    (PackageFile("etc/x", b"1", group="wheel users"), "etc/x: owner"),
    (PackageFile("etc/big", Huge(b"x")), "etc/big: .* bytes"),
    (PackageFile("/etc/x", b"1"), "'/etc/x': not a relative path"),
    (PackageFile("etc//x", b"1"), "'etc//x': not a relative path"),
    (PackageFile("etc/../x", b"1"), "'etc/../x': not a relative path"),
    (PackageFile("etc/x/", b"1"), "'etc/x/': not a relative path"),
    (PackageFile("etc/a\nb", b"1"), "line break"),
    (PackageFile("etc/a\0b", b"1"), "NUL"),
    (PackageFile("etc/" + "n" * 256, b"1"), "too long"),
    (PackageFile("etc/\udcff", b"1"), "not UTF-8"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_FILES)
def test_a_file_the_format_cannot_carry_is_refused_by_name(bad: PackageFile, message: str) -> None:
    files = [PackageFile("usr/bin/ok", b"ok", 0o755), bad]
    with pytest.raises(PackageError, match=message):
        encode(HELLO, files, mtime=EPOCH)


def test_duplicates_and_file_folder_clashes_are_refused() -> None:
    with pytest.raises(PackageError, match="etc/x: in the package twice"):
        encode(HELLO, [PackageFile("etc/x", b"1"), PackageFile("etc/x", b"2")])
    with pytest.raises(PackageError, match="etc/x: a file and a folder"):
        encode(HELLO, [PackageFile("etc/x", b"1"), PackageFile("etc/x/y", b"2")])


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (PackageInfo("-x", "1.0"), "not a valid apk name"),
        (PackageInfo("x", "0.1.0-1"), "not valid for apk"),  # opkg's spelling
        (PackageInfo("x", "1.0", description="two\nlines"), "one line"),
        (PackageInfo("x", "1.0", description="\udcff"), "description is not UTF-8"),
        (PackageInfo("x", "1.0", depends=("a b>=",)), "dependency"),
        (PackageInfo("x", "1.0", depends=("a>=x.y",)), "dependency"),
    ],
)
def test_bad_metadata_is_refused(info: PackageInfo, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        encode(info, [PackageFile("a", b"1")])


def test_unknown_empty_or_non_utf8_scripts_are_refused() -> None:
    with pytest.raises(PackageError, match="unknown script"):
        encode(HELLO, [], {"postinst": "#!/bin/sh\n"})
    with pytest.raises(PackageError, match="empty"):
        encode(HELLO, [], {"post-install": ""})
    with pytest.raises(PackageError, match="post-install script is not UTF-8"):
        encode(HELLO, [], {"post-install": "echo \udcff"})


# --- the writer's values ---


@pytest.mark.parametrize(
    ("size", "kind", "align"),
    [(1, BLOB8, 1), (255, BLOB8, 1), (256, BLOB16, 2), (65536, BLOB32, 4)],
)
def test_blobs_take_the_smallest_length_prefix(size: int, kind: int, align: int) -> None:
    w = AdbWriter()
    w.blob(b"x")  # leaves the next offset unaligned
    value = w.blob(bytes(range(256)) * (size // 256) + b"y" * (size % 256))
    assert value >> 28 == kind and (value & VALUE_MAX) % align == 0
    assert len(Payload(w.payload() + bytes(8)).blob(value)) == size
    assert w.blob(b"") == NULL


@pytest.mark.parametrize(
    ("n", "kind"), [(0, INT), (VALUE_MAX, INT), (VALUE_MAX + 1, INT32), (1 << 32, INT64)]
)
def test_integers_are_immediate_when_they_fit(n: int, kind: int) -> None:
    w = AdbWriter()
    w.blob(b"abc")
    value = w.integer(n)
    assert value >> 28 == kind
    assert Payload(w.payload() + bytes(8)).integer(value) == n


def test_identical_items_are_written_once_and_objects_drop_trailing_nulls() -> None:
    w = AdbWriter()
    a, b = w.blob(b"root"), w.blob(b"root")
    assert a == b and w.payload().count(b"root") == 1
    obj = w.object({1: a, 3: NULL, 5: NULL})
    assert obj == w.object({1: b})
    assert Payload(w.payload() + bytes(8)).slots(obj, (OBJECT,)) == [a]
    assert w.array([]) == NULL and w.object({}) == NULL


# --- round trip: whatever the encoder writes, the decoder reads back ---

names = st.text(alphabet="abcz09._-", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@st.composite
def file_trees(draw: st.DrawFn) -> list[PackageFile]:
    paths = draw(
        st.lists(st.lists(names, min_size=1, max_size=4).map("/".join), max_size=12, unique=True)
    )
    paths = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    return [
        PackageFile(
            p, draw(st.binary(max_size=300)), draw(st.sampled_from([0o644, 0o755, 0o600, 0o4755]))
        )
        for p in paths
    ]


@settings(max_examples=60, deadline=None)
@given(
    files=file_trees(),
    description=st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=400
    ),
    script=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=700),
    mtime=st.sampled_from([0, EPOCH, 1 << 33]),
)
def test_round_trip(files: list[PackageFile], description: str, script: str, mtime: int) -> None:
    info = PackageInfo("pkg", "1.2.3-r4", description, depends=("zlib", "abc=1", "libx<2"))
    apk = read_package(build(info, files, {"post-upgrade": script}, mtime))
    got = apk.files
    assert sorted(got) == sorted(f.path for f in files)
    for f in files:
        entry = got[f.path]
        assert (entry["data"], entry["acl"]["mode"], entry["size"]) == (f.data, f.mode, len(f.data))
        assert entry["mtime"] == mtime and entry["hash"] == hashlib.sha256(f.data).digest()
    assert apk.package["scripts"] == {"post-upgrade": script}
    decoded = apk.package["info"]
    assert decoded.get("description", "") == description
    assert [d["name"] for d in decoded["depends"]] == ["abc", "libx", "zlib"]
    assert decoded["installed-size"] == max(1, sum(len(f.data) for f in files))
    folders = [d.get("name", "") for d in apk.package["paths"]]
    assert folders == sorted(folders, key=str.encode) and folders[0] == ""
    assert len(decoded["hashes"]) == 20


def test_strings_are_utf8() -> None:
    w = AdbWriter()
    good, bad = w.blob("ü".encode()), w.blob(b"\xff")
    p = Payload(w.payload() + bytes(8))
    assert decode(p, good, "string") == "ü"
    with pytest.raises(AdbError, match="not UTF-8"):
        decode(p, bad, "string")
