#!/usr/bin/env bash
# stop-i2pd.sh DIR  -- stops what start-i2pd.sh DIR started (by PID only) and removes its namespace/veth.
# (it already copes with MODE=single/lo, where there is no r2
# or no namespace.)
set -uo pipefail
DIR=${1:?usage: stop-i2pd.sh DIR}
DIR=$(cd "$DIR" 2>/dev/null && pwd || echo "$DIR")
# shellcheck disable=SC1091  # written by start-i2pd.sh
[ -f "$DIR/env" ] && . "$DIR/env"
pids=()
for r in r1 r2; do
    pid=$(cat "$DIR/$r/i2pd.pid" 2>/dev/null || cat "$DIR/$r/launcher.pid" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    # only signal the PID if it still is the i2pd started with this DIR's config
    if { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -- "--conf=$DIR/$r/i2pd.conf " >/dev/null; then
        # SIGTERM = clean exit at once. (SIGINT = "graceful": waits up to 10 min while transit
        # tunnels exist; there are none here because of notransit=true, so it is as fast.)
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
done
for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "i2pd $pid still alive after 10 s, SIGKILL" >&2; kill -KILL "$pid"; fi
done
# Remove the namespace/veth only when no process is left in it: DIR/env may be stale (from a run stopped
# earlier) while another instance on the same SAM port now owns a namespace with that name.
KEEP_NET=0
if [ -n "${NETNS:-}" ] && [ "${MODE:-}" != here ]; then
    others=$(ip netns pids "$NETNS" 2>/dev/null | tr '\n' ' ')
    if [ -n "${others// /}" ]; then
        echo "namespace $NETNS still holds processes not started from $DIR ($others): left alone" >&2; KEEP_NET=1
    else
        ip netns del "$NETNS" 2>/dev/null || true
    fi
fi
if [ -n "${VETH:-}" ] && [ $KEEP_NET = 0 ]; then ip link del "$VETH" 2>/dev/null || true; fi
exit 0
