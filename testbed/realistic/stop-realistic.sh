#!/usr/bin/env bash
# stop-realistic.sh DIR -- stops what start-realistic.sh DIR started: its routers and relay (by PID,
# checked against the command line) and its iptables chain.
set -uo pipefail
DIR=${1:?usage: stop-realistic.sh DIR}
DIR=$(cd "$DIR" 2>/dev/null && pwd || echo "$DIR")
pids=()
for f in "$DIR"/r[1-5]/launcher.pid "$DIR/relay.pid"; do
    pid=$(cat "$f" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    if { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -E -- "--conf=$DIR/r[1-5]/i2pd.conf |delay_relay.py .*$DIR/relay-stats.json" >/dev/null; then
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
done
for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "pid $pid still alive after 10 s, SIGKILL" >&2; kill -KILL "$pid"; fi
done
chain=$(sed -n 's/^IPTABLES_CHAIN=//p' "$DIR/env" 2>/dev/null | tail -1)
if [ -n "$chain" ] && command -v iptables >/dev/null; then
    while iptables -D OUTPUT -j "$chain" 2>/dev/null; do :; done
    iptables -F "$chain" 2>/dev/null; iptables -X "$chain" 2>/dev/null
fi
exit 0
