#!/usr/bin/env bash
# stop-emissary.sh DIR
#
# Stops exactly the processes start-emissary.sh DIR started: the PIDs in DIR/rK.pid, and only if
# /proc/PID/cmdline still mentions DIR (protects against PID reuse); then any emissary-cli whose
# command line has `-b DIR/rK` (a start killed half-way, e.g. in phase 1).  If a PID is an strace
# wrapper (STRACE=1), its traced emissary child is stopped first.  Sends SIGTERM (emissary-cli only
# handles SIGINT, so SIGTERM ends it at once), SIGKILL after 5 s.  The SAM router goes first.
set -uo pipefail

DIR=${1:?usage: stop-emissary.sh DIR}
DIR=$(cd "$DIR" 2>/dev/null && pwd) || { echo "stop-emissary: no such dir: $1" >&2; exit 1; }

running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
cmdline_of() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null || true; }

stop_pid() {   # stop_pid PID LABEL
    local pid=$1 label=$2
    running "$pid" || { echo "$label ($pid): not running"; return 0; }
    if [[ $(cmdline_of "$pid") != *"$DIR/"* ]]; then
        echo "$label ($pid): cmdline does not mention $DIR, not touching it" >&2
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 500); do
        running "$pid" || { echo "$label ($pid): stopped"; return 0; }
        sleep 0.01
    done
    echo "$label ($pid): still alive after 5s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    sleep 0.2
}

rc=0
shopt -s nullglob
pidfiles=("$DIR"/*.pid)
# the SAM router (highest rN.pid) first, then the rest
mapfile -t pidfiles < <(printf '%s\n' "${pidfiles[@]}" | sort -rV | grep .)
for f in "${pidfiles[@]}"; do
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    if running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = strace ]; then
        # shellcheck disable=SC2013  # the file is a space-separated list of PIDs
        for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
            stop_pid "$child" "$name-child" || rc=1
        done
    fi
    stop_pid "$pid" "$name" || rc=1
    rm -f "$f"
done
# leftovers without (valid) pidfiles
for p in /proc/[0-9]*; do
    p=${p#/proc/}
    c=$(cmdline_of "$p")
    [[ $c == *emissary-cli*" -b $DIR/r"[0-9]* ]] || continue
    stop_pid "$p" "leftover" || rc=1
done
exit $rc
