#!/usr/bin/env bash
# scripts/demo.sh — the main job: two SAM sessions on a private offline I2P network say ping/pong.
#
#   ./scripts/demo.sh [ARGS for the example...]      from any directory
#
# Installs the testbed's i2pd if missing (root), builds the example, starts the testbed, runs
#   cargo run --release -p sam-tokio --example tokio_ping_pong
# with SAM_ADDR / SAM_UDP_ADDR / SAM_TESTBED set, and stops the testbed on exit (also on failure/Ctrl-C).
# Env: SAM_PORT (default 17666, not test.sh's 17656, so both can run at once), TESTBED_DIR.
# Not root: i2pd must be installed already; the run happens inside `unshare -rn` (see scripts/test.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

SAM_PORT=${SAM_PORT:-17666}
TESTBED_DIR=${TESTBED_DIR:-$ROOT/.testbed/demo}
EXAMPLE=(cargo run --release -p sam-tokio --example tokio_ping_pong)
T_ALL=$(now)

header "testbed: install"
"$TESTBED" install

# build first (may need the package registry; the testbed is not needed for that and may have no network)
header "build: cargo build --release -p sam-tokio --example tokio_ping_pong"
t0=$(now)
cargo build --release -p sam-tokio --example tokio_ping_pong || {
    rc=$?; echo "==== demo.sh: FAILED: the tokio_ping_pong example does not build (exit $rc)"; exit "$rc"; }
echo "==== built ($(since "$t0") s)"

if needs_private_netns; then
    reexec_in_private_netns "$ROOT/scripts/demo.sh" "$@"
fi

finish() {
    local rc=$?
    testbed_stop "$TESTBED_DIR"
    if [ $rc = 0 ]; then echo "==== demo.sh: OK in $(since "$T_ALL") s"
    else echo "==== demo.sh: FAILED (exit $rc) after $(since "$T_ALL") s"; fi
    exit "$rc"
}
trap finish EXIT
trap 'echo; echo "interrupted (SIGINT)"; exit 130' INT
trap 'echo "terminated (SIGTERM)"; exit 143' TERM

lock_testbed_dir "$TESTBED_DIR"
header "testbed: start ($TESTBED_DIR, SAM port $SAM_PORT)"
t0=$(now)
testbed_start "$TESTBED_DIR" "$SAM_PORT"
echo "==== testbed up ($(since "$t0") s)"

header "run: ${EXAMPLE[*]} $*"
t0=$(now)
"${EXAMPLE[@]}" -- "$@"
echo "==== example finished ($(since "$t0") s)"
