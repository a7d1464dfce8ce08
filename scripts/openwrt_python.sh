#!/bin/sh
# Build a CPython like OpenWrt's python3 into .cache/openwrt-python and print its path:
# musl libc, -Os, shared libpython, no pymalloc (configure flags as in openwrt/packages
# lang/python/python3/Makefile), zlib, and no ssl module (python3-openssl is a separate,
# optional OpenWrt package). `make bench` measures the daemon's memory with it, since
# Debian's glibc Python is not what runs on a router. Sources come from Debian's source
# packages (python3.11, zlib), so only the Debian mirror is needed. Needs root the first
# time (apt); later runs reuse the build.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OPENWRT_PYTHON:-$ROOT/.cache/openwrt-python}
PY="$OUT/bin/python3.11"
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
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding Debian source entries (deb-src)"
    . /etc/os-release
    cat >/etc/apt/sources.list.d/dualnat-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $VERSION_CODENAME
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -q >&2
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
log "fetching sources"
apt-get source -q --download-only python3.11 zlib >/dev/null 2>&1 ||
    apt-get source -q --download-only python3.11 zlib >&2
mkdir -p "$OUT"

log "building zlib for musl"
tar xf zlib_*.orig.tar.*
(cd zlib-*/ && CC=musl-gcc ./configure --prefix="$OUT" >/dev/null && make -s -j"$(nproc)" >/dev/null &&
    make -s install >/dev/null)

# musl-gcc wraps the host gcc, whose (-)-print-multiarch says *-linux-gnu: configure then
# refuses the musl triplet and setup.py adds glibc's include folder. Answer it for musl.
cat >cc <<'EOF'
#!/bin/sh
case "$*" in -print-multiarch|--print-multiarch) echo "$(uname -m)-linux-musl"; exit 0;; esac
exec musl-gcc "$@"
EOF
chmod +x cc

log "building CPython (a minute or two)"
tar xzf python3.11_*.orig.tar.gz
cd Python-3.11.*/
CC="$WORK/cc" ./configure -q --prefix="$OUT" --enable-shared --without-cxx-main \
    --with-ensurepip=no --without-pymalloc \
    OPT="-Os -pipe -DNDEBUG -fno-inline" CPPFLAGS="-I$OUT/include" \
    LDFLAGS="-L$OUT/lib -Wl,-rpath,$OUT/lib" >"$WORK/configure.log" 2>&1 ||
    { tail -20 "$WORK/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || { tail -40 "$WORK/make.log" >&2; exit 1; }
make install >"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; exit 1; }
"$PY" -c "$NEEDED" ||
    { log "modules the daemon needs are missing"; exit 1; }
echo "$PY"
