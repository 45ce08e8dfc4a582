#!/usr/bin/env bash
# scripts/realistic.sh — the stream and datagram scenarios on a realistic I2P network, with the
# zero-hop testbed's figures beside them (about 8 min).
#
#   ./scripts/realistic.sh
#
# 1. zero-hop: i2pd 2.59 alone (the test command's testbed), the network figures;
# 2. realistic: five i2pd 2.59 routers, sessions with 2-hop tunnels each way, 40 +- 20 ms on
#    every router link each way, 0.5 % packet loss (testbed.sh start --network realistic,
#    testbed/realistic/): the e2e suites of the three adapters, then the same figures.
#
# Figures (testbed/kit/benches/network_figures.rs): session creation, connect + 1-byte echo
# p50/p99, 1 MiB echo by b32 (SHA-256 checked), 50 concurrent streams, datagram loss. They go to
# target/realistic.md (a table for the README) and target/realistic.log. Not in the test command:
# it is slow, and its delays are randomised (the figures move between runs).
# Not root: the run happens inside `unshare -rn` (mapped root there: iptables works in it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

T_ALL=$(now)
E2E=(--test e2e_tokio --test e2e_async_std --test e2e_blocking)
if ! in_private_netns; then
    "$TESTBED" install --bridge i2pd-2.59
    if ! command -v iptables >/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            header "apt-get install -y iptables (the realistic network's packet loss)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables \
                || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables; }
        else
            echo "error: iptables is missing (the realistic network's packet loss): apt-get install iptables" >&2
            exit 1
        fi
    fi
    cargo build -p sam-testkit "${E2E[@]}"
    cargo bench -p sam-testkit --bench network_figures --no-run
fi
if needs_private_netns; then
    reexec_in_private_netns "$ROOT/scripts/realistic.sh" "$@"
fi
in_private_netns && ip link set lo up 2>/dev/null || true

DIR=$ROOT/target/testbed-realistic
lock_testbed_dir "$DIR"
trap 'testbed_stop "$DIR"' EXIT
log=$ROOT/target/realistic.log
: > "$log"

figures() { # NAME
    header "network figures: $1"
    NETWORK_NAME=$1 cargo bench -q -p sam-testkit --bench network_figures 2>&1 | tee -a "$log" \
        | tee "$ROOT/target/realistic-$1.txt"
}

header "zero-hop: i2pd 2.59 alone"
TESTBED_STARTED=1
"$TESTBED" start "$DIR" 17606 --bridge i2pd-2.59 9>&- | tee -a "$log"
export_bridge_env "$DIR"
figures zero-hop
testbed_stop "$DIR"

header "realistic: five routers, 2-hop tunnels, delay and loss"
TESTBED_STARTED=1
"$TESTBED" start "$DIR" 17616 --bridge i2pd-2.59 --network realistic 9>&- | tee -a "$log"
export_bridge_env "$DIR"
rc=0
header "e2e suites of the three adapters on the realistic network"
t_e2e=$(now)
# 8 test threads: most of each suite waits on the network, not on the CPU.
cargo test --no-fail-fast -p sam-testkit "${E2E[@]}" -- --test-threads 8 2>&1 | tee -a "$log" || rc=$?
E2E_S=$(since "$t_e2e")
figures realistic || rc=$?
header "relay and loss counters"
cat "$DIR/relay-stats.json" | tee -a "$log"; echo
chain=$(sed -n 's/^IPTABLES_CHAIN=//p' "$DIR/env" | tail -1)
DROPPED=0
[ -n "$chain" ] && DROPPED=$(iptables -L "$chain" -v -n -x | awk '/DROP/ { s += $1 } END { print s + 0 }')
echo "packets dropped by the loss rule: $DROPPED" | tee -a "$log"

value() { # FILE KEY -> the value after KEY= (up to the next space)
    sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | head -1
}
row() { # LABEL KEY
    printf '| %s | %s | %s |\n' "$1" "$(value "$ROOT/target/realistic-zero-hop.txt" "$2")" \
        "$(value "$ROOT/target/realistic-realistic.txt" "$2")"
}
{
    echo "| figure | zero-hop (1 router) | realistic (5 routers, 2 hops, 40±20 ms/link, 0.5 % loss) |"
    echo "|---|---|---|"
    row "session creation, ms (min/median/max of 4 at once)" session_create_ms
    row "first connect + echo, ms (b32 lookup included)" first_connect_echo_ms
    row "connect + 1-byte echo p50, ms" connect_echo_ms_p50
    row "connect + 1-byte echo p99, ms" p99
    row "1 MiB echo by b32, s (SHA-256 equal)" echo_1MiB_s
    row "throughput, KiB/s (both ways)" throughput_KiB_s
    row "50 concurrent streams, s" fifty_streams_s
    row "datagrams received (1 KiB, 20 ms apart), A→B" datagrams_a_to_b
    row "datagrams received, B→A" datagrams_b_to_a
    echo
    echo "e2e suites (3 adapters) on the realistic network: exit $rc in $E2E_S s; packets dropped: $DROPPED."
} > "$ROOT/target/realistic.md"
header "summary (target/realistic.md)"
cat "$ROOT/target/realistic.md"
if [ "$rc" = 0 ]; then echo "==== realistic.sh: OK in $(since "$T_ALL") s"
else echo "==== realistic.sh: FAILED (exit $rc) after $(since "$T_ALL") s"; fi
exit "$rc"
