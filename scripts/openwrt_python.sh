#!/bin/sh
# Usage: scripts/openwrt_python.sh [3.11|3.13]
# Build a CPython like OpenWrt's python3 into .cache/openwrt-python<version> and print its
# path: musl libc, -Os, shared libpython, no pymalloc (configure flags as in
# openwrt/packages lang/python/python3/Makefile), zlib, and no ssl module (python3-openssl
# is a separate, optional OpenWrt package). 3.11 is the Python of OpenWrt 23.05 and 24.10,
# 3.13 the one of 25.12. `make bench` measures the daemon's memory with them, since
# Debian's glibc Python is not what runs on a router.
#
# Sources: the upstream tarballs of Debian's source packages (python3.11 and zlib from
# bookworm, python3.13 and zlib from trixie), whatever version the mirror has now, found
# and checked by scripts/debian_source.py (signed index, SHA-256) without apt: nothing
# under /etc/apt changes. Downloads, build and result stay in .cache/. Installs only
# musl-tools (and gpgv, which apt normally brings) if missing, as root, and says so; later
# runs reuse the build. On failure it says why on stderr, writes the reason to
# .cache/openwrt-python<version>.failed (for `make bench`) and exits non-zero.
set -eu
VERSION=${1:-3.11}
case "$VERSION" in
3.11) SUITE=bookworm ;;
3.13) SUITE=trixie ;;
*) echo "usage: $0 [3.11|3.13]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/.cache
OUT=$CACHE/openwrt-python$VERSION
FAILED=$OUT.failed
PY="$OUT/bin/python$VERSION"
NEEDED="import zlib, _socket, select, _posixsubprocess, _json, _datetime, binascii, fcntl"
if [ -x "$PY" ] && "$PY" -c "$NEEDED" 2>/dev/null; then
    rm -f "$FAILED"
    echo "$PY"
    exit 0
fi

WORK=$CACHE/build-python$VERSION
STEP="preparing"
log() { echo "openwrt_python: $*" >&2; }
fail() {
    log "$*"
    echo "$*" >"$FAILED"
    exit 1
}
# Any other failure (set -e) still leaves a reason: the step it happened in.
finish() {
    rc=$?
    rm -rf "$WORK"
    if [ "$rc" -ne 0 ] && [ ! -s "$FAILED" ]; then
        echo "$STEP failed (exit status $rc)" >"$FAILED"
        log "$STEP failed (exit status $rc)"
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM
mkdir -p "$CACHE"
rm -rf "$OUT" "$WORK" "$FAILED"
mkdir -p "$WORK"

# need COMMAND PACKAGE WHY: install the Debian package if COMMAND is missing, and say so.
need() {
    command -v "$1" >/dev/null && return 0
    [ "$(id -u)" = 0 ] || fail "$1 missing: install the Debian package $2 (apt-get install $2)"
    log "installing $2 (Debian package) $3"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$2" >"$WORK/apt.log" 2>&1 ||
        { apt-get update -q >>"$WORK/apt.log" 2>&1 &&
            apt-get install -y -q --no-install-recommends "$2" >>"$WORK/apt.log" 2>&1; } ||
        fail "apt-get install $2 failed: $(grep -m1 '^E:' "$WORK/apt.log" || tail -n 1 "$WORK/apt.log")"
}
for tool in gcc make python3; do
    command -v "$tool" >/dev/null || fail "$tool missing (Debian packages build-essential, python3)"
done
need musl-gcc musl-tools "for the OpenWrt-like Python builds"
need gpgv gpgv "to check the signature of Debian's source index"

# unpack_source PACKAGE: unpack the current Debian source's upstream tarball into $WORK
# and print its folder.
unpack_source() {
    python3 "$ROOT/scripts/debian_source.py" "$SUITE" "$1" --cache "$CACHE/debian" \
        --unpack "$WORK/$1" 2>"$WORK/fetch.log" || {
        sed '$d' "$WORK/fetch.log" >&2
        fail "$STEP: $(tail -n 1 "$WORK/fetch.log" | sed 's/^debian_source: //')"
    }
    sed 's/^debian_source: /openwrt_python: /' "$WORK/fetch.log" >&2
}
STEP="fetching the Debian source of zlib ($SUITE)"
ZLIB_SRC=$(unpack_source zlib)
STEP="fetching the Debian source of python$VERSION ($SUITE)"
PYTHON_SRC=$(unpack_source "python$VERSION")

STEP="building zlib for musl"
log "$STEP"
mkdir -p "$OUT"
(cd "$ZLIB_SRC" && CC=musl-gcc ./configure --prefix="$OUT" >"$WORK/zlib.log" 2>&1 &&
    make -s -j"$(nproc)" >>"$WORK/zlib.log" 2>&1 && make -s install >>"$WORK/zlib.log" 2>&1) ||
    { tail -20 "$WORK/zlib.log" >&2; fail "$STEP failed (log above)"; }

# musl-gcc wraps the host gcc, whose (-)-print-multiarch says *-linux-gnu: configure then
# refuses the musl triplet and 3.11's setup.py adds glibc's include folder. Answer for musl.
printf '%s\n' '#!/bin/sh' \
    'case "$*" in -print-multiarch|--print-multiarch) echo "$(uname -m)-linux-musl"; exit 0;; esac' \
    'exec musl-gcc "$@"' >"$WORK/cc"
chmod +x "$WORK/cc"

STEP="building CPython $VERSION"
log "$STEP (a few minutes)"
cd "$PYTHON_SRC"
# No pkg-config: it would find the host's (glibc) libraries; zlib is given explicitly.
PKG_CONFIG_LIBDIR=/nonexistent CC="$WORK/cc" ./configure -q --prefix="$OUT" --enable-shared \
    --without-cxx-main --with-ensurepip=no --without-pymalloc \
    OPT="-Os -pipe -DNDEBUG -fno-inline" CPPFLAGS="-I$OUT/include" \
    ZLIB_CFLAGS="-I$OUT/include" ZLIB_LIBS="-L$OUT/lib -lz" \
    LDFLAGS="-L$OUT/lib -Wl,-rpath,$OUT/lib" >"$WORK/configure.log" 2>&1 ||
    { tail -20 "$WORK/configure.log" >&2; fail "$STEP: configure failed (log above)"; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 ||
    { tail -40 "$WORK/make.log" >&2; fail "$STEP: make failed (log above)"; }
make install >"$WORK/install.log" 2>&1 ||
    { tail -20 "$WORK/install.log" >&2; fail "$STEP: make install failed (log above)"; }
"$PY" -c "$NEEDED" || fail "$STEP: modules the daemon needs are missing"
cd "$ROOT"
echo "$PY"
