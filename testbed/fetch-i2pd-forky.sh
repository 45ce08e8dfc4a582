#!/usr/bin/env bash
# fetch-i2pd-forky.sh [CACHE]          fetch the PINNED i2pd 2.59.0 from Debian forky into CACHE (once)
# fetch-i2pd-forky.sh --repin          print the pin lines for what forky has today (maintenance)
#
# Downloads exactly the .debs listed in PINS below (i2pd and the shared libraries it needs) from
# $MIRROR/pool/... (MIRROR: the Debian mirror this machine's apt uses, read from
# /etc/apt/sources.list{,.d/*.sources,.d/*.list} by apt-mirror.sh; MIRROR=URL overrides it), checks each against the sha256 recorded here, extracts them with dpkg -x into
# CACHE/i2pd-forky-2.59.0/root and writes the wrapper CACHE/i2pd-forky, which runs the binary through the
# extracted ld.so (nothing is installed; no root needed; use with I2PD=CACHE/i2pd-forky).
# CACHE defaults to ${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed} and survives between runs: a second
# call only checks the stamp and runs `i2pd --version` (instant).  Verified .debs are kept and not
# downloaded again.
#
# Why pins: forky is Debian testing and moves.  When a pinned file is gone from the mirror (a newer
# build replaced it), this fails with a clear message instead of silently running another i2pd.  Then
# either point MIRROR at a Debian snapshot archive that still has it (a dated snapshot of the Debian
# archive taken on or after 2026-11-25, e.g. MIRROR=<snapshot service>/archive/debian/20261125T000000Z)
# or re-pin deliberately: `fetch-i2pd-forky.sh --repin` reads forky's signed index (private apt
# config, the system's apt is untouched) and prints new PINS lines; paste them below after a test run.
# The pins below came from that index (InRelease signed by the Debian archive key) on 2026-11-25.
set -euo pipefail
# shellcheck source=testbed/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-mirror.sh"
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
I2PD_VERSION=2.59.0
# package  version  size  pool path  sha256
PINS='
i2pd 2.59.0-1+b1 3956980 pool/main/i/i2pd/i2pd_2.59.0-1+b1_amd64.deb 21517a4a8700764a8d95306025360574335faa89391bbd2509861b2f48452145
libboost-program-options1.92.0 1.92.0-4+b1 344008 pool/main/b/boost1.92/libboost-program-options1.92.0_1.92.0-4+b1_amd64.deb c8ae3cd394f2d71e4df0bd04398d59ef24b35523d7d84a81accd424aec44b767
libc6 2.43-7 1866392 pool/main/g/glibc/libc6_2.43-7_amd64.deb 5c71715c51103beb4fbba9fe9f8dff604af6610dfa71c70bff342f54a7860803
libgcc-s1 16.2.0-3 74048 pool/main/g/gcc-16/libgcc-s1_16.2.0-3_amd64.deb e716dc8baad27e884c45ff83a76955047a7a9e33a80e94f9459ee996ebb800b0
libminiupnpc21 2.3.3-2+b2 34596 pool/main/m/miniupnpc/libminiupnpc21_2.3.3-2+b2_amd64.deb ecc3ce09d54497b284fd2968b92edcfdcce445e3218972c144e482eb79b58fcc
libssl3t64 3.6.5-1 2620984 pool/main/o/openssl/libssl3t64_3.6.5-1_amd64.deb 0a0ec84fe860c5c93c74d53cbb071aea0793327a3761b483080e9d7b73c21b37
libstdc++6 16.2.0-3 823236 pool/main/g/gcc-16/libstdc++6_16.2.0-3_amd64.deb 7c9e1a89e6c0b9202699957b469c06d0b86f5c97e86c1ff912b6502ddd8793b6
zlib1g 1:1.3.dfsg+really1.3.2-3 90912 pool/main/z/zlib/zlib1g_1.3.dfsg+really1.3.2-3_amd64.deb 52c585b07bea72ef36df9ddd5d1937f4739d3caec057d827954baec256292651
libzstd1 1.5.7+dfsg-4 304040 pool/main/libz/libzstd/libzstd1_1.5.7+dfsg-4_amd64.deb 93e7930e4c25b918f1dd980cc1c6d4487654a248f5fa71eacb976ed7bbe954bd
'
say() { echo "fetch-i2pd-forky: $*" >&2; }
die() { say "error: $*"; exit 1; }
pin_lines() { printf '%s\n' "$PINS" | grep .; }

# ------------------------------------------------------------------ --repin (maintenance only)
if [ "${1:-}" = --repin ]; then
    MIRROR=$(debian_mirror) || exit 1
    say "Debian mirror $MIRROR"
    A=$(mktemp -d)
    trap 'rm -rf "$A"' EXIT
    mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/etc/apt.conf.d"
    : > "$A/state/status"
    echo "deb [signed-by=$KEYRING] $MIRROR forky main" > "$A/etc/sources.list"
    cat > "$A/apt.conf" <<CONF
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "$A/etc/sources.list.d";
Dir::Etc::preferences "$A/etc/preferences";
Dir::Etc::preferencesparts "$A/etc/preferences.d";
Dir::Etc::parts "$A/etc/apt.conf.d";
Dir::State "$A/state";
Dir::State::status "$A/state/status";
Dir::Cache "$A/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
CONF
    export APT_CONFIG=$A/apt.conf
    # as root apt downloads as _apt, which must be able to write there (else a harmless warning)
    if [ "$(id -u)" = 0 ]; then chmod 755 "$A"; chown -R _apt "$A/state/lists" 2>/dev/null || true; fi
    apt-get -qq update >&2
    # the package names stay; only versions/hashes change (if a soname changes, edit the names first)
    for p in $(pin_lines | awk '{ print $1 }'); do
        apt-cache show --no-all-versions "$p" | awk -v p="$p" '
            /^Version:/ { v = $2 } /^Size:/ { z = $2 } /^Filename:/ { f = $2 } /^SHA256:/ { s = $2 }
            END { if (f == "") { print "# " p ": not in forky any more" } else { print p, v, z, f, s } }'
    done
    say "forky's i2pd Depends: $(apt-cache show --no-all-versions i2pd | sed -n 's/^Depends: //p')"
    exit 0
fi

# ------------------------------------------------------------------ fetch
CACHE=${1:-${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
BASE=$CACHE/i2pd-forky-$I2PD_VERSION
DEBS=$BASE/debs
ROOT=$BASE/root
WRAPPER=$CACHE/i2pd-forky
STAMP=$BASE/installed.stamp
PINS_SUM=$(pin_lines | sha256sum | cut -d' ' -f1)

# (no `| grep -q`: with pipefail, grep's early exit can SIGPIPE the writer and fail the pipeline)
version_ok() { local v; v=$("$WRAPPER" --version 2>/dev/null | head -1) || true; [[ $v == "i2pd version $I2PD_VERSION "* ]]; }
installed_ok() {
    [ -x "$WRAPPER" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PINS_SUM" ] && version_ok
}
if installed_ok; then say "cached: $WRAPPER ($("$WRAPPER" --version | head -1))"; echo "$WRAPPER"; exit 0; fi

exec 8>"$CACHE/i2pd-forky.lock"
if ! flock -n 8; then say "another fetch holds $CACHE/i2pd-forky.lock: waiting"; flock 8; fi
if installed_ok; then say "cached (fetched by the other run): $WRAPPER"; echo "$WRAPPER"; exit 0; fi

download() { # URL FILE
    if command -v curl >/dev/null; then curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null; then wget -q -t 2 -T 20 -O "$2" "$1"
    else /usr/lib/apt/apt-helper download-file "$1" "$2" >/dev/null; fi
}
command -v dpkg >/dev/null || die "dpkg not found (needed for dpkg -x)"
MIRROR=$(debian_mirror) || die "no Debian mirror (see above)"
say "Debian mirror $MIRROR"
mkdir -p "$DEBS"
t0=$(date +%s.%N); n_dl=0; bytes=0
while read -r name version size path sum; do
    f=$DEBS/${path##*/}
    if [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sum" ]; then continue; fi
    rm -f "$f" "$f.part"
    if ! download "$MIRROR/$path" "$f.part"; then
        rm -f "$f.part"
        die "cannot download $MIRROR/$path ($name $version).  If the mirror answered 404, Debian forky has moved on
  from the pinned i2pd $I2PD_VERSION build.  Use a Debian snapshot archive that still has it (dated
  2026-11-25 or later): MIRROR=<snapshot archive URL>/archive/debian/20261125T000000Z $0 ${1:-}
  or re-pin on purpose: $0 --repin (prints new PINS lines for this script)"
    fi
    have=$(sha256sum "$f.part" | cut -d' ' -f1)
    if [ "$have" != "$sum" ]; then
        rm -f "$f.part"
        die "sha256 mismatch for $path: got $have, pinned $sum (forky rebuilt $name under the same name, or the download is corrupt); refusing to use it"
    fi
    [ "$(stat -c %s "$f.part")" = "$size" ] || say "warning: $path has $(stat -c %s "$f.part") bytes, pinned $size"
    mv "$f.part" "$f"
    n_dl=$((n_dl + 1)); bytes=$((bytes + size))
done < <(pin_lines)
t1=$(date +%s.%N)
# only the pinned files, nothing else that may lie around in DEBS
rm -rf "$ROOT.tmp"; mkdir -p "$ROOT.tmp"
while read -r _ _ _ path _; do dpkg -x "$DEBS/${path##*/}" "$ROOT.tmp"; done < <(pin_lines)
rm -rf "$ROOT"; mv "$ROOT.tmp" "$ROOT"
cat > "$WRAPPER.tmp" <<WRAP
#!/bin/sh
# i2pd $I2PD_VERSION from Debian forky (pinned, see testbed/fetch-i2pd-forky.sh), run through its own
# dynamic loader and libraries (nothing installed)
R=\${I2PD_ROOT:-$ROOT}
L=\$R/usr/lib/x86_64-linux-gnu
exec "\$L/ld-linux-x86-64.so.2" --library-path "\$L" "\$R/usr/bin/i2pd" "\$@"
WRAP
chmod +x "$WRAPPER.tmp"; mv "$WRAPPER.tmp" "$WRAPPER"
version_ok || { "$WRAPPER" --version >&2 || true; die "$WRAPPER does not report i2pd $I2PD_VERSION"; }
echo "$PINS_SUM" > "$STAMP"
t2=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
say "ok: $("$WRAPPER" --version | head -1); downloaded $n_dl .debs ($bytes bytes) in $(secs "$t0" "$t1") s, extracted in $(secs "$t1" "$t2") s"
echo "$WRAPPER"
