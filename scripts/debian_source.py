#!/usr/bin/env python3
"""Fetch the upstream (.orig) tarball of a Debian source package's current version.

Usage: debian_source.py SUITE PACKAGE [--cache DIR] [--mirror URL] [--unpack DIR]

Uses neither apt nor the host's apt configuration. Reads the suite's InRelease from the
mirror and checks its signature with gpgv against Debian's archive keyring, then
main/source/Sources.xz against the SHA-256 that InRelease gives; takes the current version
of PACKAGE there (the highest one that is not an Extra-Source-Only leftover), so no
version is hard-coded; downloads that version's .orig tarball from the pool and checks the
SHA-256 the index gives. Everything stays under --cache (default .cache/debian); a file
there with the right checksum is not downloaded again. Prints the tarball's path, or with
--unpack DIR unpacks it there (Python's tarfile: no bzip2 or xz tools needed) and prints
the source folder. On failure it says what went wrong (URL and HTTP status, checksum,
signature) on stderr and exits 1. Standard library only: `scripts/openwrt_python.sh` runs
it with the host's python3.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
INDEX = "main/source/Sources.xz"
TIMEOUT = 60


class SourceError(Exception):
    """What went wrong while finding or fetching a source package, in one line."""


def download(url: str, dest: Path) -> None:
    """Write `url` to `dest` (through a .part file, so `dest` is never half written)."""
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, part.open("wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        part.replace(dest)
    except urllib.error.HTTPError as e:
        raise SourceError(f"{url}: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise SourceError(f"{url}: {e.reason}") from e
    except OSError as e:
        raise SourceError(f"{url}: {e}") from e
    finally:
        part.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def gpgv_accepts(status: str) -> bool:
    """gpgv's --status-fd output: at least one good signature and no bad one. Signatures
    by keys the keyring lacks (a newer release's key) are ignored, as apt ignores them."""
    words = [line.split()[1] for line in status.splitlines() if line.startswith("[GNUPG:] ")]
    return "GOODSIG" in words and "BADSIG" not in words


def verified_text(signed: Path, keyring: Path = KEYRING) -> str:
    """The text of a clearsigned file (InRelease) once gpgv accepted its signature."""
    if not keyring.is_file():
        raise SourceError(f"{keyring} missing (Debian package debian-archive-keyring)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "text"
        cmd = ["gpgv", "--status-fd", "1", "--keyring", str(keyring), "--output", str(out)]
        try:
            run = subprocess.run([*cmd, str(signed)], capture_output=True, text=True)
        except FileNotFoundError as e:
            raise SourceError("gpgv missing (Debian package gpgv)") from e
        if not gpgv_accepts(run.stdout) or not out.is_file():
            detail = run.stderr.strip().splitlines()[-1:] or ["no output"]
            raise SourceError(f"{signed}: signature not accepted by gpgv: {detail[0]}")
        return out.read_text()


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """The paragraphs of a deb822 file (Release, Sources) as field -> value; the lines
    of a multi-line value are joined with newlines, its first line may be empty."""
    fields: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, name = {}, ""
        elif line[0] in " \t":
            if name:
                fields[name] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value.strip()
    if fields:
        yield fields


def checksums(value: str) -> dict[str, tuple[str, int]]:
    """A Checksums-Sha256 / SHA256 field: file name -> (SHA-256, size)."""
    files = {}
    for line in value.splitlines():
        parts = line.split()
        if len(parts) == 3:
            files[parts[2]] = (parts[0], int(parts[1]))
    return files


def _order(c: str) -> int:
    """dpkg's weight of a non-digit character: ~ sorts before everything, even the end."""
    if c == "~":
        return -1
    return ord(c) if c.isascii() and c.isalpha() else ord(c) + 256


_END = ((0,), 0)  # an exhausted version part: no characters, number 0


def _part_key(part: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Key of an upstream version or revision: its (non-digits, digits) runs, dpkg order."""
    runs = re.findall(r"(\D*)(\d*)", part)
    key = [((*map(_order, text), 0), int(num or 0)) for text, num in runs]
    while len(key) > 1 and key[-1] == _END:  # findall ends with an empty match
        key.pop()
    return (*key, _END)


def version_key(version: str) -> tuple[int, tuple, tuple]:
    """Sort key for Debian versions (epoch:upstream-revision), as dpkg --compare-versions."""
    epoch, _, rest = version.partition(":") if ":" in version else ("0", "", version)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch or 0), _part_key(upstream), _part_key(revision)


def current(index: Iterable[dict[str, str]], package: str) -> dict[str, str]:
    """The index's stanza of `package`'s current version."""
    found = [
        s
        for s in index
        if s.get("Package") == package and s.get("Extra-Source-Only", "no") != "yes"
    ]
    if not found:
        raise SourceError(f"source package {package} not in the index")
    return max(found, key=lambda s: version_key(s["Version"]))


def orig_tarball(stanza: dict[str, str]) -> tuple[str, str, int]:
    """(file name, SHA-256, size) of the stanza's main upstream tarball."""
    pattern = re.compile(rf"{re.escape(stanza['Package'])}_[^_]+\.orig\.tar\.\w+")
    files = checksums(stanza.get("Checksums-Sha256", ""))
    for name, (sha, size) in files.items():
        if pattern.fullmatch(name):
            return name, sha, size
    raise SourceError(f"{stanza['Package']} {stanza['Version']}: no .orig tarball listed")


def fetch_checked(url: str, dest: Path, sha: str) -> Path:
    """`dest` with SHA-256 `sha`: the cached file, else downloaded from `url` and checked."""
    if dest.is_file() and sha256_of(dest) == sha:
        return dest
    download(url, dest)
    got = sha256_of(dest)
    if got != sha:
        dest.unlink()
        raise SourceError(f"{url}: SHA-256 {got}, the signed index says {sha}")
    return dest


def source_index(mirror: str, suite: str, cache: Path, keyring: Path = KEYRING) -> Path:
    """The suite's Sources.xz, checked against its freshly fetched, verified InRelease."""
    base = f"{mirror}/dists/{suite}"
    signed = cache / suite / "InRelease"
    download(f"{base}/InRelease", signed)
    release = next(stanzas(verified_text(signed, keyring)), {})
    if suite not in (release.get("Suite"), release.get("Codename")):
        raise SourceError(f"{base}/InRelease is for {release.get('Codename')}, not {suite}")
    listed = checksums(release.get("SHA256", "")).get(INDEX)
    if listed is None:
        raise SourceError(f"{base}/InRelease lists no {INDEX}")
    return fetch_checked(f"{base}/{INDEX}", cache / suite / "Sources.xz", listed[0])


def fetch_orig(
    suite: str, package: str, cache: Path, mirror: str = MIRROR, keyring: Path = KEYRING
) -> Path:
    """Download (or reuse) the verified .orig tarball of `package`'s current version."""
    index = source_index(mirror, suite, cache, keyring)
    try:
        text = lzma.decompress(index.read_bytes()).decode("utf-8", "replace")
    except lzma.LZMAError as e:
        raise SourceError(f"{index}: {e}") from e
    stanza = current(stanzas(text), package)
    name, sha, _ = orig_tarball(stanza)
    print(f"debian_source: {package} {stanza['Version']} ({suite}): {name}", file=sys.stderr)
    url = f"{mirror}/{stanza['Directory']}/{name}"
    return fetch_checked(url, cache / "pool" / name, sha)


def unpack(tarball: Path, dest: Path) -> Path:
    """Unpack `tarball` (gzip, bzip2 or xz; no external tools) into the empty or new folder
    `dest` and return its one top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tarball) as tar:
            if hasattr(tarfile, "data_filter"):  # PEP 706; Debian's tarballs are signed
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)
    except (tarfile.TarError, OSError) as e:
        raise SourceError(f"{tarball}: {e}") from e
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise SourceError(f"{tarball}: expected one top folder, found {len(tops)}")
    return tops[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", help="Debian suite, e.g. bookworm")
    parser.add_argument("package", help="source package, e.g. zlib")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "debian")
    parser.add_argument("--mirror", default=MIRROR, help=f"Debian mirror (default {MIRROR})")
    parser.add_argument("--unpack", type=Path, help="unpack into this folder, print its source")
    args = parser.parse_args(argv)
    try:
        tarball = fetch_orig(args.suite, args.package, args.cache, args.mirror.rstrip("/"))
        print(unpack(tarball, args.unpack) if args.unpack else tarball)
    except SourceError as e:
        print(f"debian_source: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
