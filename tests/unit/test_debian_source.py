"""scripts/debian_source.py: Debian version order (against dpkg), the index parts it reads,
and a whole fetch from a local signed mirror, including what it refuses."""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from debian_source import (  # noqa: E402
    SourceError,
    current,
    fetch_checked,
    fetch_orig,
    gpgv_accepts,
    orig_tarball,
    stanzas,
    unpack,
    version_key,
)

ASCENDING = [
    "0.9",
    "1.0~rc1",
    "1.0",
    "1.0-0.1",
    "1.0-1",
    "1.0-1+b1",
    "1.0-1+deb12u1",
    "1.0-1+deb12u10",
    "1.0a",
    "1.0.1",
    "1.2.13.dfsg-1",
    "3.13.5-2",
    "3.13.5-2+deb13u5",
    "1:1.2.13.dfsg-1",
    "1:1.3.dfsg+really1.3.1-1",
    "1:1.3.dfsg+really1.3.1-1+deb13u1",
    "2:0.1",
]


def test_versions_sort_as_dpkg_sorts_them() -> None:
    assert sorted(reversed(ASCENDING), key=version_key) == ASCENDING
    assert version_key("1.0") == version_key("1.0-0") == version_key("0:1.0")


VERSION_PART = st.text("0123456789abz.+~", max_size=6)


@st.composite
def versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "1:", "2:"]))
    upstream = draw(st.integers(0, 9).map(str)) + draw(VERSION_PART)
    revision = draw(st.one_of(st.just(""), VERSION_PART.map(lambda r: "-" + (r or "0"))))
    return epoch + upstream + revision


def dpkg_says(a: str, op: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg to compare with")
@settings(max_examples=150, deadline=None)
@given(versions(), versions())
def test_version_order_matches_dpkg(a: str, b: str) -> None:
    assert (version_key(a) < version_key(b)) == dpkg_says(a, "lt", b)
    assert (version_key(a) == version_key(b)) == dpkg_says(a, "eq", b)


def stanza(package: str, version: str, extra: str = "") -> str:
    upstream = version.split(":")[-1].rsplit("-", 1)[0]
    return (
        f"Package: {package}\nVersion: {version}\n{extra}Checksums-Sha256:\n"
        f" {'a' * 64} 10 {package}_{version.split(':')[-1]}.dsc\n"
        f" {'b' * 64} 20 {package}_{upstream}.orig.tar.gz\n"
        f" {'c' * 64} 30 {package}_{upstream}.orig.tar.gz.asc\n"
        f"Directory: pool/main/{package[0]}/{package}\n"
    )


INDEX = "\n".join(
    [
        stanza("zlib", "1:1.3.dfsg+really1.3.1-1+deb13u1"),
        stanza("zlib", "1:1.4-1", "Extra-Source-Only: yes\n"),
        stanza("zlib", "1:1.3.dfsg+really1.3.1-1"),
        stanza("zlibc", "9-1"),
    ]
)


def test_stanzas_keep_multi_line_fields() -> None:
    [first, *_] = stanzas(INDEX)
    assert first["Package"] == "zlib"
    assert first["Checksums-Sha256"].splitlines()[0] == ""
    assert len(first["Checksums-Sha256"].splitlines()) == 4
    assert len(list(stanzas(INDEX))) == 4


def test_current_is_the_highest_version_that_is_not_a_leftover() -> None:
    assert current(stanzas(INDEX), "zlib")["Version"] == "1:1.3.dfsg+really1.3.1-1+deb13u1"
    with pytest.raises(SourceError, match=r"python3\.99 not in the index"):
        current(stanzas(INDEX), "python3.99")


def test_orig_tarball_is_the_upstream_tarball_not_its_signature() -> None:
    name, sha, size = orig_tarball(current(stanzas(INDEX), "zlib"))
    assert (name, sha, size) == ("zlib_1.3.dfsg+really1.3.1.orig.tar.gz", "b" * 64, 20)
    native = {"Package": "x", "Version": "1", "Checksums-Sha256": f"\n {'a' * 64} 1 x_1.tar.xz"}
    with pytest.raises(SourceError, match=r"no \.orig tarball"):
        orig_tarball(native)


def test_gpgv_needs_a_good_signature_and_no_bad_one() -> None:
    good = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 6ED0 Debian\n[GNUPG:] VALIDSIG 4CB5 x\n"
    unknown = "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 78DB 1 8\n[GNUPG:] NO_PUBKEY 78DB\n"
    assert gpgv_accepts(good + unknown)
    assert not gpgv_accepts(unknown)
    assert not gpgv_accepts(good + "[GNUPG:] BADSIG 78DB Debian\n")
    assert not gpgv_accepts("")


# A local mirror: a dists/<suite> folder with a clearsigned InRelease, a pool, over HTTP.


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, the folder it serves, the paths requested so far)."""
    root = tmp_path / "mirror"
    root.mkdir()
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requested.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, requested
    finally:
        server.shutdown()
        server.server_close()


def test_download_errors_name_the_url_and_the_http_status(
    served: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, _ = served
    with pytest.raises(SourceError, match="^" + re.escape(f"{base}/pool/gone.tar.gz: HTTP 404 ")):
        fetch_checked(f"{base}/pool/gone.tar.gz", tmp_path / "gone.tar.gz", "0" * 64)
    assert not list(tmp_path.glob("gone*"))


def test_a_checksum_mismatch_is_refused_and_a_good_copy_reused(
    served: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, root, requested = served
    (root / "f").write_bytes(b"data")
    dest = tmp_path / "cache" / "f"
    with pytest.raises(SourceError, match="the signed index says"):
        fetch_checked(f"{base}/f", dest, "0" * 64)
    assert not dest.exists()
    sha = hashlib.sha256(b"data").hexdigest()
    assert fetch_checked(f"{base}/f", dest, sha).read_bytes() == b"data"
    assert fetch_checked(f"{base}/f", dest, sha) == dest
    assert len(requested) == 2


def source_tarball(top: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        body = b"echo configured\n"
        info = tarfile.TarInfo(f"{top}/configure")
        info.size, info.mode = len(body), 0o755
        tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """(environment for gpg with a new signing key, a keyring file holding that key)."""
    if not (shutil.which("gpg") and shutil.which("gpgv")):
        pytest.skip("needs gpg and gpgv")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback"]
    subprocess.run([*gpg, "--quick-gen-key", "mirror", "ed25519", "sign"], env=env, check=True)
    keyring = tmp_path / "keyring.gpg"
    keyring.write_bytes(
        subprocess.run([*gpg, "--export"], env=env, check=True, stdout=subprocess.PIPE).stdout
    )
    try:
        yield env, keyring
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


def publish(root: Path, env: dict[str, str], version: str, codename: str = "bookworm") -> None:
    """A bookworm suite holding zlib `version` (and an older one), signed with `env`'s key;
    its InRelease names `codename`."""
    upstream = version.split(":")[-1].rsplit("-", 1)[0]
    tarball = source_tarball(f"zlib-{upstream}")
    pool = root / "pool" / "main" / "z" / "zlib"
    pool.mkdir(parents=True)
    (pool / f"zlib_{upstream}.orig.tar.gz").write_bytes(tarball)
    entry = stanza("zlib", version).replace(
        f" {'b' * 64} 20", f" {hashlib.sha256(tarball).hexdigest()} {len(tarball)}"
    )
    sources = lzma.compress((stanza("zlib", "1:1.0-1") + "\n" + entry).encode())
    suite = root / "dists" / "bookworm"
    (suite / "main" / "source").mkdir(parents=True)
    (suite / "main" / "source" / "Sources.xz").write_bytes(sources)
    release = (
        f"Origin: Debian\nSuite: stable\nCodename: {codename}\nSHA256:\n"
        f" {hashlib.sha256(sources).hexdigest()} {len(sources)} main/source/Sources.xz\n"
    )
    gpg = ["gpg", "--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback"]
    signed = subprocess.run(
        [*gpg, "--clearsign"], env=env, input=release.encode(), check=True, stdout=subprocess.PIPE
    )
    (suite / "InRelease").write_bytes(signed.stdout)


def test_fetch_from_a_signed_mirror(
    served: tuple[str, Path, list[str]],
    gnupg: tuple[dict[str, str], Path],
    tmp_path: Path,
) -> None:
    base, root, requested = served
    env, keyring = gnupg
    publish(root, env, "1:1.3.1-2+deb12u1")
    cache = tmp_path / "cache"
    tarball = fetch_orig("bookworm", "zlib", cache, base, keyring)
    assert tarball == cache / "pool" / "zlib_1.3.1.orig.tar.gz"
    src = unpack(tarball, tmp_path / "src")
    assert (src.name, (src / "configure").read_text()) == ("zlib-1.3.1", "echo configured\n")
    # again: only InRelease is fetched, the index and the tarball are reused
    requested.clear()
    assert fetch_orig("bookworm", "zlib", cache, base, keyring) == tarball
    assert requested == ["/dists/bookworm/InRelease"]


def test_an_altered_or_foreign_or_other_suites_index_is_refused(
    served: tuple[str, Path, list[str]],
    gnupg: tuple[dict[str, str], Path],
    tmp_path: Path,
) -> None:
    base, root, _ = served
    env, keyring = gnupg
    publish(root, env, "1:1.3.1-2", codename="trixie")
    with pytest.raises(SourceError, match="InRelease is for trixie, not bookworm"):
        fetch_orig("bookworm", "zlib", tmp_path / "c1", base, keyring)
    inrelease = root / "dists" / "bookworm" / "InRelease"
    inrelease.write_text(inrelease.read_text().replace("Codename: trixie", "Codename: bookworm"))
    with pytest.raises(SourceError, match="signature not accepted by gpgv"):
        fetch_orig("bookworm", "zlib", tmp_path / "c2", base, keyring)
    other = tmp_path / "other.gpg"
    other.write_bytes(b"")
    with pytest.raises(SourceError, match="signature not accepted by gpgv"):
        fetch_orig("bookworm", "zlib", tmp_path / "c3", base, other)


def test_a_tarball_with_two_top_folders_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "two.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for top in ("a", "b"):
            tar.addfile(tarfile.TarInfo(f"{top}/f"), io.BytesIO())
    with pytest.raises(SourceError, match="expected one top folder, found 2"):
        unpack(tarball, tmp_path / "out")
