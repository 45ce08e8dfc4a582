#!/usr/bin/env bash
# scripts/recovery.sh — the recovery suite of every adapter on both i2pd bridges (about 20 min):
# a supervised acceptor (`Service`) under 5 kill -9 + restart cycles of the SAM router and a
# frozen router (SIGSTOP), on private testbeds (testbed/kit/src/recovery.rs).
#
#   ./scripts/recovery.sh [BRIDGE...]      default: i2pd-2.45 i2pd-2.59
#
# ./scripts/test.sh runs the same suites on i2pd-2.59 only (SAM_RECOVERY_BRIDGES' default), to
# stay within its time. The figures go to target/recovery.log; the summary lines are printed at
# the end. Not root: the run happens inside `unshare -rn` (see scripts/test.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

BRIDGES=${*:-i2pd-2.45 i2pd-2.59}
T_ALL=$(now)
TESTS=(--test recovery_tokio --test recovery_async_std --test recovery_blocking)

if ! in_private_netns; then
    for b in $BRIDGES; do "$TESTBED" install --bridge "$b"; done
    cargo build -p sam-testkit "${TESTS[@]}"
fi
if needs_private_netns; then
    reexec_in_private_netns "$ROOT/scripts/recovery.sh" "$@"
fi

header "recovery suites on: $BRIDGES"
log=$ROOT/target/recovery.log
rc=0
# One binary at a time (each runs its bridges in turn): the figures are not bent by a neighbour.
SAM_RECOVERY_BRIDGES=$BRIDGES cargo test -p sam-testkit "${TESTS[@]}" -- --nocapture 2>&1 \
    | tee "$log" || rc=$?
header "summary"
grep -E '^recovery\[.*(cycles back online|SIGSTOP noticed|after SIGCONT)' "$log" || true
if [ "$rc" = 0 ]; then echo "==== recovery.sh: OK in $(since "$T_ALL") s"
else echo "==== recovery.sh: FAILED (exit $rc) after $(since "$T_ALL") s"; fi
exit "$rc"
