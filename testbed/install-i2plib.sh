#!/usr/bin/env bash
# install-i2plib.sh [CACHE]
#
# Installs i2plib 0.0.14, the original Python SAM client (https://github.com/l-n-s/i2plib), into a venv at
# CACHE/i2plib-venv, once.  CACHE defaults to ${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}; it survives
# between runs, so a second install only checks the stamp (instant).  A fresh machine needs the Python package index
# that pip is configured for (pip's own default or its pip.conf; no URL is named here).
#
# The wheel is pinned by version *and* sha256 (`pip install --require-hashes`): i2plib has no dependencies,
# so the one hash pins everything that is installed.  The venv uses /usr/bin/python3 (Debian's), not
# whatever python3 is first on PATH, so the interop tests always run the same interpreter.  i2plib 0.0.14
# (2019) passes `loop=` to asyncio; testbed/i2plib_peer.py carries the shim for Python >= 3.10.
# If `python3 -m venv` is missing (Debian splits it into python3-venv), it is installed with apt-get as
# root, and only then.
# Concurrent installs wait for each other (flock on CACHE/i2plib.lock).
# Prints the venv's python path on stdout (last line); progress on stderr.
set -euo pipefail
CACHE=${1:-${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}}
VERSION=0.0.14
WHEEL=i2plib-$VERSION-py3-none-any.whl
# sha256 of $WHEEL as served by the Python package index (pip download i2plib==0.0.14 --no-deps, 2026-11-25)
SHA256=98147edda01196b8b0cec1414f1a53b08f87564bfeea652dd47339711b51c13b
PYTHON=/usr/bin/python3
VENV=$CACHE/i2plib-venv
PY=$VENV/bin/python
STAMP=$VENV/installed.stamp          # "i2plib VERSION SHA256 PYTHON-VERSION"

say() { echo "install-i2plib: $*" >&2; }
die() { say "error: $*"; exit 1; }

stamp_line() { echo "i2plib $VERSION $SHA256 $("$PYTHON" -c 'import platform; print(platform.python_version())')"; }

installed_ok() {
    [ -x "$PY" ] && [ -f "$STAMP" ] || return 1
    # the stamp names the interpreter version: a Debian python3 upgrade (3.11 -> 3.12) breaks the venv
    [ "$(head -n1 "$STAMP")" = "$(stamp_line)" ]
}

[ -x "$PYTHON" ] || die "$PYTHON not found (Debian: apt-get install -y python3)"
mkdir -p "$CACHE"
if installed_ok; then say "cached: $PY"; echo "$PY"; exit 0; fi

exec 8>"$CACHE/i2plib.lock"
if ! flock -n 8; then say "another install holds $CACHE/i2plib.lock: waiting"; flock 8; fi
if installed_ok; then say "cached (installed by the other install): $PY"; echo "$PY"; exit 0; fi

# `import venv` works without python3-venv; what is missing then is ensurepip (venv creation fails with
# "ensurepip is not available").  Check that, the way testbed.sh checks for i2pd: install only if missing.
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    [ "$(id -u)" = 0 ] || die "python3 -m venv is missing; install as root: apt-get install -y python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    say "python3 -m venv is missing: apt-get install -y python3-venv"
    rc=0; apt-get install -y -q python3-venv >&2 || rc=$?
    if [ $rc != 0 ]; then
        say "install failed (exit $rc): retrying after apt-get update"
        apt-get update -q >&2; apt-get install -y -q python3-venv >&2
    fi
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "python3-venv installed but ensurepip still missing"
fi

# Build in a staging dir and move it into place: an interrupted install never leaves a half venv behind a
# stamp.  A venv is relocatable enough for this (its scripts are not used, only bin/python and -m pip).
STAGE=$CACHE/i2plib-venv.tmp.$$
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
t0=$(date +%s.%N)
say "creating a venv with $("$PYTHON" --version 2>&1) in $VENV"
"$PYTHON" -m venv "$STAGE"
echo "i2plib==$VERSION --hash=sha256:$SHA256" > "$STAGE/requirements.txt"
say "pip install i2plib==$VERSION (hash-pinned)"
if ! "$STAGE/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir --only-binary=:all: \
        --require-hashes -r "$STAGE/requirements.txt" >&2; then
    die "pip install i2plib==$VERSION failed (network? a hash mismatch means the package index serves another $WHEEL)"
fi
rm -rf "$VENV"
mv "$STAGE" "$VENV"
trap - EXIT
# venv puts the absolute staging path into bin/activate and the pip scripts; bin/python is a symlink to
# $PYTHON and finds its site-packages relative to itself, so the moved venv works.  Check it does.
"$PY" -c 'import i2plib, sys; assert i2plib.__version__ == sys.argv[1], i2plib.__version__' "$VERSION" \
    || die "the moved venv cannot import i2plib $VERSION"
stamp_line > "$STAMP"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
say "installed in ${secs} s: $PY"
echo "$PY"
