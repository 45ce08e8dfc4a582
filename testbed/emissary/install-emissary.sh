#!/usr/bin/env bash
# install-emissary.sh [CACHE]
#
# Builds emissary-cli 0.4.0 without its native UI (`cargo install emissary-cli --version 0.4.0
# --no-default-features --locked`) into CACHE/emissary-0.4.0/bin/emissary-cli, once.  CACHE defaults to
# ${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}; it survives between runs, so a second install only
# checks the stamp and the binary's sha256 (instant).  A fresh machine needs the Rust package
# registry (cargo's default or its configured source) and ~4 min on 2 cores.
#
# --locked: the Cargo.lock published with emissary-cli 0.4.0 is used, so the same dependency versions are
# built everywhere (EMISSARY_LOCKED=0 drops it, e.g. if a locked dependency no longer builds).
# Concurrent installs wait for each other (flock on CACHE/emissary.lock).
# Prints the binary's path on stdout (last line); progress on stderr.
set -euo pipefail
CACHE=${1:-${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}}
VERSION=0.4.0
ROOT=$CACHE/emissary-$VERSION
BIN=$ROOT/bin/emissary-cli
STAMP=$ROOT/installed.stamp          # "emissary-cli VERSION no-default-features SHA256"

say() { echo "install-emissary: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed_ok() {
    [ -x "$BIN" ] && [ -f "$STAMP" ] || return 1
    local want have
    want=$(awk '{ print $4 }' "$STAMP")
    have=$(sha256sum "$BIN" | cut -d' ' -f1)
    [ -n "$want" ] && [ "$want" = "$have" ]
}

mkdir -p "$CACHE"
if installed_ok; then say "cached: $BIN"; echo "$BIN"; exit 0; fi

exec 8>"$CACHE/emissary.lock"
if ! flock -n 8; then say "another install holds $CACHE/emissary.lock: waiting"; flock 8; fi
if installed_ok; then say "cached (built by the other install): $BIN"; echo "$BIN"; exit 0; fi

command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
STAGE=$CACHE/emissary-$VERSION.tmp.$$
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
locked=(--locked)
[ "${EMISSARY_LOCKED:-1}" = 0 ] && locked=()
say "building emissary-cli $VERSION (no UI) with $(cargo --version); ~4 min on 2 cores, log: $CACHE/emissary-build.log"
t0=$(date +%s.%N)
if ! cargo install emissary-cli --version "$VERSION" --no-default-features "${locked[@]}" --root "$STAGE" \
        >"$CACHE/emissary-build.log" 2>&1; then
    tail -n 30 "$CACHE/emissary-build.log" >&2
    die "cargo install failed (full log: $CACHE/emissary-build.log)"
fi
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
[ -x "$STAGE/bin/emissary-cli" ] || die "cargo install did not produce $STAGE/bin/emissary-cli"
help=$("$STAGE/bin/emissary-cli" --help 2>/dev/null || true)
if [[ $help == *router-ui-dev* ]]; then
    die "the built binary has the native UI (router-ui-dev): --no-default-features was not honoured"
fi
echo "emissary-cli $VERSION no-default-features $(sha256sum "$STAGE/bin/emissary-cli" | cut -d' ' -f1) built-in-${secs}s $(date -u +%FT%TZ)" > "$STAGE/installed.stamp"
rm -rf "$ROOT"
mv "$STAGE" "$ROOT"
trap - EXIT
say "built in ${secs} s: $BIN ($(du -h "$BIN" | cut -f1))"
echo "$BIN"
