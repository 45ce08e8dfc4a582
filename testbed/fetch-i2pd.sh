#!/usr/bin/env bash
# fetch-i2pd.sh [DEST] [SUITE]
# Downloads a newer Debian i2pd and exactly the shared libraries it needs into DEST
# WITHOUT touching the system: private apt config/state/cache under DEST/apt-SUITE, `apt-get download`
# (no dpkg -i, no sources.list change, no upgrade), `dpkg -x` into DEST/root-SUITE, and a wrapper
# DEST/i2pd-SUITE that runs the binary through the extracted ld.so.
#   SUITE=trixie (default) -> i2pd 2.56.0-1 (Debian 13, stable: reproducible)
#   SUITE=forky            -> i2pd 2.59.0-1+b1 at the time of writing (Debian testing: moves!)
# Needs: apt-get, dpkg (both already on Debian 12), network access to the Debian mirror this
# machine's apt uses (read from /etc/apt/sources.list{,.d/*.sources,.d/*.list} by apt-mirror.sh;
# MIRROR=URL overrides it), root only for apt's _apt sandbox (as non-root it still works, apt just
# prints a sandbox warning).
set -euo pipefail
DEST=${1:?usage: fetch-i2pd.sh DEST [trixie|forky]}
SUITE=${2:-trixie}
# shellcheck source=testbed/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-mirror.sh"
MIRROR=$(debian_mirror)
echo "fetch-i2pd: Debian mirror $MIRROR"
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}   # bookworm's keyring already has the trixie/forky keys
case $SUITE in
  trixie) PKGS="i2pd libboost-program-options1.83.0 libc6 libgcc-s1 libminiupnpc18 libssl3t64 libstdc++6 zlib1g libzstd1" ;;
  forky|testing|sid|unstable)
          PKGS="i2pd libboost-program-options1.92.0 libc6 libgcc-s1 libminiupnpc21 libssl3t64 libstdc++6 zlib1g libzstd1" ;;
  *) echo "unknown SUITE $SUITE" >&2; exit 1 ;;
esac
A=$DEST/apt-$SUITE
ROOT=$DEST/root-$SUITE
DEBS=$DEST/debs-$SUITE
mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/etc/apt.conf.d" "$DEBS"
: > "$A/state/status"                                   # empty dpkg status: nothing "installed"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" > "$A/etc/sources.list"
cat > "$A/apt.conf" <<EOF
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
EOF
export APT_CONFIG=$A/apt.conf
T0=$(date +%s.%N)
apt-get -q update
if [ "$(id -u)" = 0 ]; then chown _apt "$DEBS" 2>/dev/null || true; fi
# shellcheck disable=SC2086  # $PKGS is a word list
( cd "$DEBS" && apt-get -q download $PKGS )
T1=$(date +%s.%N)
rm -rf "$ROOT"; mkdir -p "$ROOT"
for d in "$DEBS"/*.deb; do dpkg -x "$d" "$ROOT"; done
T2=$(date +%s.%N)
cat > "$DEST/i2pd-$SUITE" <<EOF
#!/bin/sh
# i2pd from Debian $SUITE, run through its own dynamic loader and libraries (nothing installed)
R=\${I2PD_ROOT:-$ROOT}
L=\$R/usr/lib/x86_64-linux-gnu
exec "\$L/ld-linux-x86-64.so.2" --library-path "\$L" "\$R/usr/bin/i2pd" "\$@"
EOF
chmod +x "$DEST/i2pd-$SUITE"
"$DEST/i2pd-$SUITE" --version
NDEBS=$(find "$DEBS" -maxdepth 1 -name '*.deb' | wc -l)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }   # (bc is not on minimal images)
echo "downloaded $(du -cb "$DEBS"/*.deb | tail -1 | cut -f1) bytes in $NDEBS .debs (update+download $(secs "$T0" "$T1") s, extract $(secs "$T1" "$T2") s); wrapper: $DEST/i2pd-$SUITE"
