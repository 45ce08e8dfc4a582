# shellcheck shell=bash
# scripts/lib.sh — helpers shared by scripts/test.sh and scripts/demo.sh (sourced, not run).
# Expects: set -euo pipefail, cwd = repo root, ROOT set.

TESTBED=$ROOT/testbed/testbed.sh

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
header() { printf '\n==== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# this network namespace has only lo (e.g. we run inside `unshare -rn`)
in_private_netns() { ! ip -o link show 2>/dev/null | grep -v ': lo:' >/dev/null; }

# Non-root users cannot create the veth network; the routers and every client (cargo test, the
# example) must then share one private network namespace: re-run the calling script inside
# `unshare -rn`.  That namespace has no network at all, so whatever needs the network (the package registry)
# must have been done before (the caller does it), and cargo runs with CARGO_NET_OFFLINE=true.
needs_private_netns() { [ "$(id -u)" != 0 ] && ! in_private_netns; }
reexec_in_private_netns() { # SCRIPT ARGS...
    command -v unshare >/dev/null || { echo "error: not root and no unshare(1): run as root" >&2; exit 1; }
    header "not root: re-running inside a private network namespace: unshare -rn $*"
    exec unshare -rn env CARGO_NET_OFFLINE=true "$@"
}

# Take a lock on the testbed dir so two runs on the same DIR do not stop each other's routers.
lock_testbed_dir() { # DIR
    mkdir -p "$(dirname "$1")"
    exec 9>"$1.lock"
    flock -n 9 || { echo "error: another run holds $1.lock (a test.sh/demo.sh is already running on $1)" >&2; exit 1; }
}

# Start the testbed in DIR on PORT and export SAM_ADDR, SAM_UDP_ADDR, SAM_TESTBED for the clients.
# The caller must have installed an EXIT trap that calls testbed_stop.
TESTBED_STARTED=0
testbed_start() { # DIR PORT
    TESTBED_STARTED=1                      # set first: an interrupted start is cleaned up too
    "$TESTBED" start "$1" "$2" 9>&- || return   # (9>&-: the routers must not inherit the lock)
    export_bridge_env "$1"
}

# Export what clients need from a started testbed's DIR/env: SAM_ADDR, SAM_UDP_ADDR, SAM_TESTBED
# (the bridge's name) and the bridge's settings for the e2e suite (SAM_SESSION_OPTIONS,
# SAM_VERSION_MAX, SAM_E2E_BULK_BYTES; see testbed/testbed.sh).
export_bridge_env() { # DIR
    local key
    env_value() { sed -n "s/^$1=//p" "$2/env" | tail -1 | sed 's/^"\(.*\)"$/\1/'; }
    SAM_ADDR=127.0.0.1:$(env_value SAM_TCP_PORT "$1")
    SAM_UDP_ADDR=127.0.0.1:$(env_value SAM_UDP_PORT "$1")
    SAM_TESTBED=$(env_value SAM_BRIDGE "$1")
    export SAM_ADDR SAM_UDP_ADDR SAM_TESTBED
    for key in SAM_SESSION_OPTIONS SAM_VERSION_MAX SAM_E2E_BULK_BYTES SAM_E2E_TIME_SCALE; do
        export "$key=$(env_value "$key" "$1")"
    done
    # The examples' tunnel options (they use the router's defaults when unset): the testbed's
    # zero-hop tunnels, because its routers have one peer. They give no anonymity and belong
    # to this offline testbed only.
    export SAM_TUNNEL_OPTIONS="$SAM_SESSION_OPTIONS"
    echo "exported SAM_ADDR=$SAM_ADDR SAM_UDP_ADDR=$SAM_UDP_ADDR SAM_TESTBED=$SAM_TESTBED" \
        "SAM_SESSION_OPTIONS=\"$SAM_SESSION_OPTIONS\" SAM_VERSION_MAX=$SAM_VERSION_MAX SAM_E2E_BULK_BYTES=$SAM_E2E_BULK_BYTES"
}
testbed_stop() { # DIR
    [ "$TESTBED_STARTED" = 1 ] || return 0
    TESTBED_STARTED=0
    local t0; t0=$(now)
    header "stop testbed ($1)"
    "$TESTBED" stop "$1" 9>&- || echo "warning: testbed stop failed; check: pgrep -a i2pd; ip netns list" >&2
    echo "==== testbed stopped ($(since "$t0") s)"
}
