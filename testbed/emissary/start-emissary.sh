#!/usr/bin/env bash
# start-emissary.sh DIR [SAM_PORT]
#
# Starts a fresh, offline emissary 0.4.0 SAM v3 server (a private I2P network of its own) and waits
# until it is really usable: SAM answers HELLO *and* a probe stream between two fresh sessions connects.
# Prints KEY=VALUE lines (also written to DIR/env).  Stop it with stop-emissary.sh DIR.
# Normally run through `testbed/testbed.sh start DIR PORT --bridge emissary`.
#
# Topology ("mesh"): NUM_FF floodfills + NUM_R relays + 1 SAM router, each its own `emissary-cli`
# process (built with --no-default-features: install-emissary.sh), all on 127.0.0.1, net id 171, and
# every router knows every other one's RouterInfo:
#   phase 1: each router starts once with an OS-chosen NTCP2 port, writes its keys + router.info, is stopped;
#   phase 2: that port is pinned in its router.toml, every other router.info is copied into its
#            netDb/rA/, the relays start, SAM_DELAY_MS later the SAM router.
# A single emissary router cannot serve sessions (it needs >= 2 other routers for its 1..7-hop tunnels;
# 0-hop tunnels are rejected).  Every router gets `[router-ui] refresh_interval = 100000`: with the
# default (1 s) emissary 0.4.0 drops transit tunnels ~2 min after start (its bandwidth counters are
# reset every refresh tick), and new sessions/connects then fail.
# HELLO answers after ~3.3 s (3.0 s of it is SAM_DELAY_MS), the probe passes at 3.3-6.5 s.
#
# Everything listens on / talks to 127.0.0.1, except that emissary binds its NTCP2 ports on 0.0.0.0
# (it publishes 127.0.0.1 and knows no other peer; nothing is sent elsewhere).  No SSU2, reseed,
# UPnP/NAT-PMP, HTTP/SOCKS proxy, I2CP, address book or UI.  The network namespace must have an
# interface with a default route: emissary's SAM UDP socket setup asks for the default interface and
# fails without one ("Local IP address not found") - so not inside a bare `unshare -rn`.
#
# Env knobs: EMISSARY (binary; default CACHE/emissary-0.4.0/bin/emissary-cli, CACHE =
#            ${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}), NUM_FF (3), NUM_R (3),
#            SAM_UDP_PORT (SAM_PORT-1), LOG (emissary -l filter, default "info"),
#            PROBE (1: wait for a working stream between two probe sessions), TIMEOUT_S (60),
#            SAM_DELAY_MS (3000), STRACE=1 (every process under strace -f, network syscalls -> DIR/rK.strace)
set -euo pipefail

DIR=${1:?usage: start-emissary.sh DIR [SAM_PORT]}
SAM_PORT=${2:-7656}
SAM_UDP_PORT=${SAM_UDP_PORT:-$((SAM_PORT - 1))}
CACHE=${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}
EMISSARY=${EMISSARY:-$CACHE/emissary-0.4.0/bin/emissary-cli}
NUM_FF=${NUM_FF:-3}
NUM_R=${NUM_R:-3}
LOG=${LOG:-info}
PROBE=${PROBE:-1}
TIMEOUT_S=${TIMEOUT_S:-60}
# delay between starting the relays and the SAM router (3 s gave 6/6 starts ready on the first probe;
# without it about half the starts need one 8-s tunnel-build retry)
SAM_DELAY_MS=${SAM_DELAY_MS:-3000}
NET_ID=171   # never the main network's 2
N=$((NUM_FF + NUM_R))   # routers r0..r(N-1); rN is the SAM router
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

now_ms() { date +%s%3N; }
STARTED=0
SUCCESS=0
die() { echo "start-emissary: $*" >&2; exit 1; }
# whatever makes this script exit early (die, set -e): do not leave half-started routers behind
cleanup() {
    if [ "$SUCCESS" != 1 ] && [ "$STARTED" = 1 ]; then
        "$HERE/stop-emissary.sh" "$DIR" >&2 || true
    fi
}
trap cleanup EXIT
strip() { sed 's/\x1b\[[0-9;]*m//g' "$@"; }
# a process that exited but was not reaped yet is a zombie: kill -0 still succeeds for it
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

[ -x "$EMISSARY" ] || die "emissary binary not found: $EMISSARY (build it: testbed/testbed.sh install --bridge emissary)"
help=$("$EMISSARY" --help 2>/dev/null || true)
[[ $help == *router-ui-dev* ]] && die "$EMISSARY has the native UI: build it with --no-default-features (install-emissary.sh); with the UI, refresh_interval would open a window"
if [ "$NUM_FF" -lt 1 ] || [ $((NUM_FF + NUM_R)) -lt 2 ]; then die "need NUM_FF >= 1 and NUM_FF + NUM_R >= 2"; fi
[ -n "$(ip route show default 2>/dev/null)" ] || die "no default route in this network namespace: emissary's SAM UDP bind fails without one (see the header)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# refuse to touch a running instance
for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    if running "$(cat "$f")"; then die "$f: process $(cat "$f") is still running (stop-emissary.sh $DIR first)"; fi
done
[ -z "$(ss -Htln "sport = :$SAM_PORT")" ] || die "TCP port $SAM_PORT is already in use"
[ -z "$(ss -Huan "sport = :$SAM_UDP_PORT")" ] || die "UDP port $SAM_UDP_PORT is already in use"

rm -rf "$DIR"/r[0-9]* "$DIR/env" "$DIR"/*.pid "$DIR"/*.strace

# write_toml FILE NTCP2_PORT FLOODFILL(true|false) SAM(0|1) TRANSIT(0|1)
write_toml() {
    {
        echo "allow_local = true"
        echo "floodfill = $3"
        echo "insecure_tunnels = true"
        echo "net_id = $NET_ID"
        echo
        echo "[ntcp2]"
        echo "port = $2"
        echo 'host = "127.0.0.1"'
        echo "publish = true"
        echo "ipv4 = true"
        echo "ipv6 = false"
        if [ "$4" = 1 ]; then
            echo; echo "[sam]"; echo "tcp_port = $SAM_PORT"; echo "udp_port = $SAM_UDP_PORT"; echo 'host = "127.0.0.1"'
        fi
        if [ "$5" = 1 ]; then echo; echo "[transit]"; echo "max_tunnels = 5000"; fi
        # no UI in this build; only refresh_interval is used (the transit-tunnel work-around, see header)
        echo; echo "[router-ui]"; echo 'theme = "Dark"'; echo "refresh_interval = 100000"
    } >"$1"
}
is_ff() { [ "$1" -lt "$NUM_FF" ] && echo true || echo false; }
is_sam() { [ "$1" = "$N" ] && echo 1 || echo 0; }
is_transit() { [ "$1" = "$N" ] && echo 0 || echo 1; }
args_for() {   # -> array A
    A=(-b "$DIR/r$1" -l "$LOG" --disable-reseed --net-id "$NET_ID" --allow-local --insecure-tunnels)
    [ "$1" -lt "$NUM_FF" ] && A+=(--floodfill)
    return 0
}
WRAP=()
# shellcheck disable=SC2054  # the commas belong to strace's -e argument
if [ "${STRACE:-0}" = 1 ]; then WRAP=(strace -f -qq -e trace=connect,sendto,sendmsg,bind -o); fi

T0=$(now_ms)
STARTED=1
for k in $(seq 0 $N); do
    mkdir -p "$DIR/r$k/netDb/rA"
    write_toml "$DIR/r$k/router.toml" 0 "$(is_ff "$k")" "$(is_sam "$k")" "$(is_transit "$k")"
done
# phase 1 (pidfiles written at once, so an interrupted start is cleaned up by stop-emissary.sh too)
p1=()
for k in $(seq 0 $N); do
    args_for "$k"
    NO_COLOR=1 setsid "$EMISSARY" "${A[@]}" </dev/null >"$DIR/r$k/phase1.log" 2>&1 &
    p1+=($!); echo $! >"$DIR/r$k.pid"
done
deadline=$(( $(now_ms) + TIMEOUT_S * 1000 ))
for k in $(seq 0 $N); do
    until [ -s "$DIR/r$k/router.info" ] && grep -q "starting ntcp2" "$DIR/r$k/phase1.log"; do
        [ "$(now_ms)" -lt "$deadline" ] || die "phase 1 of r$k did not finish: $(tail -3 "$DIR/r$k/phase1.log")"
        running "${p1[$k]}" || die "phase 1 of r$k exited: $(tail -3 "$DIR/r$k/phase1.log")"
        sleep 0.01
    done
done
for p in "${p1[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${p1[@]}"; do while running "$p"; do sleep 0.01; done; done
rm -f "$DIR"/r[0-9]*.pid
for k in $(seq 0 $N); do
    port=$(strip "$DIR/r$k/phase1.log" | grep -o 'ipv4_address=Some(0.0.0.0:[0-9]*)' | head -1 | grep -o '[0-9]*)$' | tr -d ')' || true)
    [ -n "$port" ] || die "no NTCP2 port for r$k in $DIR/r$k/phase1.log"
    write_toml "$DIR/r$k/router.toml" "$port" "$(is_ff "$k")" "$(is_sam "$k")" "$(is_transit "$k")"
    for j in $(seq 0 $N); do
        [ "$j" = "$k" ] || cp "$DIR/r$j/router.info" "$DIR/r$k/netDb/rA/routerInfo-r$j.dat"
    done
done
# phase 2
for k in $(seq 0 $N); do
    if [ "$k" = "$N" ] && [ "$SAM_DELAY_MS" -gt 0 ]; then sleep "$(awk "BEGIN{print ${SAM_DELAY_MS}/1000}")"; fi
    args_for "$k"
    if [ ${#WRAP[@]} -gt 0 ]; then
        NO_COLOR=1 setsid "${WRAP[@]}" "$DIR/r$k.strace" "$EMISSARY" "${A[@]}" </dev/null >"$DIR/r$k/router.log" 2>&1 &
    else
        NO_COLOR=1 setsid "$EMISSARY" "${A[@]}" </dev/null >"$DIR/r$k/router.log" 2>&1 &
    fi
    echo $! >"$DIR/r$k.pid"
done
SAM_LOG="$DIR/r$N/router.log"
T1=$(now_ms)

alive_all() {   # all started processes still running
    local f
    for f in "$DIR"/*.pid; do running "$(cat "$f")" || return 1; done
}

# --- wait for HELLO -------------------------------------------------------------------------
hello() {
    local line=""
    { exec 3<>"/dev/tcp/127.0.0.1/$SAM_PORT"; } 2>/dev/null || return 1
    printf 'HELLO VERSION MIN=3.1 MAX=3.2\n' >&3
    read -r -t 2 line <&3 || true
    exec 3<&- 3>&-
    [[ "$line" == "HELLO REPLY RESULT=OK"* ]]
}
deadline=$(( $(now_ms) + TIMEOUT_S * 1000 ))
until hello; do
    alive_all || die "a process exited: $(tail -3 "$SAM_LOG" 2>/dev/null)"
    [ "$(now_ms)" -lt "$deadline" ] || die "SAM did not answer HELLO within ${TIMEOUT_S}s"
    sleep 0.01
done
HELLO_MS=$(( $(now_ms) - T0 ))

# --- readiness probe: two sessions, ACCEPT + CONNECT (needs a LeaseSet lookup), QUIT both ----
# (each command is written with a single printf: emissary mis-parses commands split over writes)
probe_once() {   # returns 0 if a stream could be opened
    local id="probe$$_$1" a b pub line ok=1
    { exec 4<>"/dev/tcp/127.0.0.1/$SAM_PORT" 5<>"/dev/tcp/127.0.0.1/$SAM_PORT"; } 2>/dev/null || return 1
    printf 'HELLO VERSION MIN=3.1 MAX=3.2\n' >&4; read -r -t 5 line <&4 || true
    printf 'HELLO VERSION MIN=3.1 MAX=3.2\n' >&5; read -r -t 5 line <&5 || true
    printf 'SESSION CREATE STYLE=STREAM ID=%sA DESTINATION=TRANSIENT\n' "$id" >&4
    printf 'SESSION CREATE STYLE=STREAM ID=%sB DESTINATION=TRANSIENT\n' "$id" >&5
    read -r -t 30 a <&4 || true; read -r -t 30 b <&5 || true
    if [[ "$a" == "SESSION STATUS RESULT=OK"* && "$b" == "SESSION STATUS RESULT=OK"* ]]; then
        printf 'NAMING LOOKUP NAME=ME\n' >&5; read -r -t 5 line <&5 || true
        pub=${line##*VALUE=}
        if { exec 6<>"/dev/tcp/127.0.0.1/$SAM_PORT" 7<>"/dev/tcp/127.0.0.1/$SAM_PORT"; } 2>/dev/null; then
            printf 'HELLO VERSION MIN=3.1 MAX=3.2\n' >&6; read -r -t 5 line <&6 || true
            printf 'STREAM ACCEPT ID=%sB\n' "$id" >&6; read -r -t 5 line <&6 || true
            printf 'HELLO VERSION MIN=3.1 MAX=3.2\n' >&7; read -r -t 5 line <&7 || true
            printf 'STREAM CONNECT ID=%sA DESTINATION=%s\n' "$id" "$pub" >&7
            line=""; read -r -t 15 line <&7 || true
            [ "$line" = "STREAM STATUS RESULT=OK" ] && ok=0
            exec 6<&- 6>&- 7<&- 7>&-
        fi
    fi
    # QUIT frees the IDs at once (a session closed without QUIT keeps its ID reserved for 60 s)
    printf 'QUIT\n' >&4 2>/dev/null || true; printf 'QUIT\n' >&5 2>/dev/null || true
    exec 4<&- 4>&- 5<&- 5>&-
    return $ok
}
READY_MS=-1; PROBES=0
if [ "$PROBE" = 1 ]; then
    until probe_once "$PROBES"; do
        PROBES=$((PROBES + 1))
        alive_all || die "a process exited: $(tail -3 "$SAM_LOG" 2>/dev/null)"
        [ "$(now_ms)" -lt "$deadline" ] || die "probe stream did not connect within ${TIMEOUT_S}s"
        sleep 1
    done
    PROBES=$((PROBES + 1))
    READY_MS=$(( $(now_ms) - T0 ))
fi

alive_all || die "a process died during start-up"
NTCP2_PORT=$(strip "$SAM_LOG" | grep -o 'ipv4_address=Some(0.0.0.0:[0-9]*)' | head -1 | grep -o '[0-9]*)$' | tr -d ')' || true)

{
    echo "SAM_HOST=127.0.0.1"
    echo "SAM_TCP_PORT=$SAM_PORT"
    echo "SAM_UDP_PORT=$SAM_UDP_PORT"
    echo "MODE=mesh"
    echo "EMISSARY=$EMISSARY"
    echo "SAM_ROUTER_PID=$(cat "$DIR/r$N.pid")"
    echo "ALL_PIDS=\"$(cat "$DIR"/r[0-9]*.pid | tr '\n' ' ' | sed 's/ $//')\""
    echo "SAM_LOG=$SAM_LOG"
    echo "NTCP2_PORT=${NTCP2_PORT:-?}"
    echo "NUM_FF=$NUM_FF"
    echo "NUM_R=$NUM_R"
    echo "SPAWN_MS=$((T1 - T0))"
    echo "HELLO_MS=$HELLO_MS"
    echo "READY_MS=$READY_MS"
    echo "PROBES=$PROBES"
    echo "STARTED_AT=$(date +%s)"
} >"$DIR/env"
SUCCESS=1
cat "$DIR/env"
