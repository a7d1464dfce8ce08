#!/bin/sh
# Usage: scripts/openwrt_python.sh [3.11|3.13]
# Build a CPython like OpenWrt's python3 into .cache/openwrt-python<version> and print its
# path: musl libc, -Os, shared libpython, no pymalloc (configure flags as in
# openwrt/packages lang/python/python3/Makefile), zlib, and no ssl module (python3-openssl
# is a separate, optional OpenWrt package). 3.11 is the Python of OpenWrt 23.05 and 24.10,
# 3.13 the one of 25.12. `make bench` measures the daemon's memory with them, since
# Debian's glibc Python is not what runs on a router. Sources come from Debian's source
# packages (python3.11 from bookworm, python3.13 from trixie, zlib), so only the Debian
# mirror is needed. Needs root the first time (apt); later runs reuse the build.
set -eu
VERSION=${1:-3.11}
case "$VERSION" in
3.11) SUITE=bookworm ;;
3.13) SUITE=trixie ;;
*) echo "usage: $0 [3.11|3.13]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/.cache/openwrt-python$VERSION
PY="$OUT/bin/python$VERSION"
NEEDED="import zlib, _socket, select, _posixsubprocess, _json, _datetime, binascii, fcntl"
if [ -x "$PY" ] && "$PY" -c "$NEEDED" 2>/dev/null; then
    echo "$PY"
    exit 0
fi
rm -rf "$OUT"

log() { echo "openwrt_python: $*" >&2; }
if ! command -v musl-gcc >/dev/null || ! command -v dpkg-source >/dev/null; then
    log "installing musl-tools and dpkg-dev"
    apt-get install -y -q musl-tools dpkg-dev >&2
fi
if ! apt-cache showsrc "python$VERSION" 2>/dev/null | grep -q "^Package:"; then
    log "adding Debian source entries (deb-src) for $SUITE"
    printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: $SUITE" \
        "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
        >"/etc/apt/sources.list.d/dualnat-src-$SUITE.sources"
    apt-get update -q >&2
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
log "fetching sources"
apt-get source -q --download-only "python$VERSION/$SUITE" zlib >"$WORK/source.log" 2>&1 ||
    { cat "$WORK/source.log" >&2; exit 1; }
mkdir -p "$OUT"

log "building zlib for musl"
tar xf "$(ls zlib_*.orig.tar.* | grep -v "\.asc$")"
(cd zlib-*/ && CC=musl-gcc ./configure --prefix="$OUT" >/dev/null &&
    make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null)

# musl-gcc wraps the host gcc, whose (-)-print-multiarch says *-linux-gnu: configure then
# refuses the musl triplet and 3.11's setup.py adds glibc's include folder. Answer for musl.
printf '%s\n' '#!/bin/sh' \
    'case "$*" in -print-multiarch|--print-multiarch) echo "$(uname -m)-linux-musl"; exit 0;; esac' \
    'exec musl-gcc "$@"' >cc
chmod +x cc

log "building CPython $VERSION (a few minutes)"
tar xf "$(ls "python${VERSION}_"*.orig.tar.* | grep -v "\.asc$")"
cd "Python-$VERSION".*/
# No pkg-config: it would find the host's (glibc) libraries; zlib is given explicitly.
PKG_CONFIG_LIBDIR=/nonexistent CC="$WORK/cc" ./configure -q --prefix="$OUT" --enable-shared \
    --without-cxx-main --with-ensurepip=no --without-pymalloc \
    OPT="-Os -pipe -DNDEBUG -fno-inline" CPPFLAGS="-I$OUT/include" \
    ZLIB_CFLAGS="-I$OUT/include" ZLIB_LIBS="-L$OUT/lib -lz" \
    LDFLAGS="-L$OUT/lib -Wl,-rpath,$OUT/lib" >"$WORK/configure.log" 2>&1 ||
    { tail -20 "$WORK/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || { tail -40 "$WORK/make.log" >&2; exit 1; }
make install >"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; exit 1; }
"$PY" -c "$NEEDED" || { log "modules the daemon needs are missing"; exit 1; }
echo "$PY"
