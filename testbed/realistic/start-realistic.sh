#!/usr/bin/env bash
# start-realistic.sh DIR [SAM_TCP_PORT]   (i2pd >= 2.56; root for the packet loss)
#
# A private I2P network that looks more like the real one than the zero-hop testbeds: five i2pd
# routers on loopback, tunnels of 1-2 hops through the others, delay with jitter on every router
# link, and packet loss.  Nothing leaves this machine: every address is in 127/8.
#
#   r1  SAM router (127.0.0.1:SAM_TCP_PORT, UDP SAM_TCP_PORT-1), no transit
#   r2  floodfill, transit
#   r3..r5 transit routers
#
# Router k binds NTCP2 on 127.(20+k).N.1 and publishes 127.(20+k).N.2, where delay_relay.py
# listens and forwards to the router after DELAY_MS +- JITTER_MS (default 40 +- 20 ms each way, so
# 40-120 ms round trip per link; a 2-hop tunnel pair between two sessions crosses four links each
# way).  Each router gets its own /16 so that no "same subnet" rule of tunnel peer selection
# sees them as one network.  LOSS (default 0.005 = 0.5 %) of the TCP packets sent to those
# addresses are dropped by iptables (`statistic` match; chain SAMRT<PORT>); the kernel's TCP then
# retransmits, as on a lossy link.  Without root or iptables the run has delay only and says so.
#
# This kernel has no sch_netem, which is why the delay is in user space (see delay_relay.py).
#
# Env: I2PD (default: the i2pd-2.59 wrapper in the testbed cache), DELAY_MS, JITTER_MS, LOSS,
#      LOGLEVEL.  Prints KEY=VALUE lines (also DIR/env).  Stop with stop-realistic.sh DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${1:?usage: start-realistic.sh DIR [SAM_TCP_PORT]}
SAM_PORT=${2:-17616}
SAM_UDP_PORT=$((SAM_PORT - 1))
CACHE=${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}
I2PD=${I2PD:-$CACHE/i2pd-forky}
DELAY_MS=${DELAY_MS:-40}
JITTER_MS=${JITTER_MS:-20}
LOSS=${LOSS:-0.005}
LOGLEVEL=${LOGLEVEL:-warn}
N=$((SAM_PORT % 256))
ROUTERS=5
NTCP2_BASE=$((20000 + SAM_PORT % 10000))
CHAIN=SAMRT$SAM_PORT

[ -x "$I2PD" ] || { echo "i2pd not found: $I2PD (testbed/testbed.sh install --bridge i2pd-2.59)" >&2; exit 1; }
VERSION=$("$I2PD" --version 2>/dev/null | sed -n 's/^i2pd version \([0-9.]*\).*/\1/p' | head -1)
[ "$(printf '%s\n2.56.0\n' "$VERSION" | sort -V | head -1)" = 2.56.0 ] \
    || { echo "the realistic network needs i2pd >= 2.56 (NTCP2 peers in 127/8); $I2PD is $VERSION" >&2; exit 1; }

bound() { echo "127.$((20 + $1)).$N.1"; }
published() { echo "127.$((20 + $1)).$N.2"; }
port_of() { echo $((NTCP2_BASE + $1)); }

hello() {
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$SAM_PORT && printf 'HELLO VERSION MIN=3.0 MAX=3.1\n' >&3 && timeout 2 head -n1 <&3" 2>/dev/null
}
if hello >/dev/null; then echo "something already answers on 127.0.0.1:$SAM_PORT" >&2; exit 1; fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
"$HERE/stop-realistic.sh" "$DIR" >/dev/null 2>&1 || true
rm -rf "$DIR"/r[1-5] "$DIR/env" "$DIR/relay.pid" "$DIR/relay.log" "$DIR/relay-stats.json"

cleanup_on_failure() {
    local rc=$?
    [ "$rc" = 0 ] && return 0
    echo "start-realistic.sh failed (exit $rc): stopping what it started" >&2
    "$HERE/stop-realistic.sh" "$DIR" >&2 || true
    return "$rc"
}
trap cleanup_on_failure EXIT

write_conf() { # k floodfill notransit sam
    local k=$1 d=$DIR/r$1
    mkdir -p "$d/data" "$d/tunnels.d"
    : > "$d/tunnels.conf"
    : > "$d/data/hosts.txt"
    echo "# none (offline)" > "$d/data/subscriptions.txt"
    cat > "$d/i2pd.conf" <<CONF
log = file
logfile = $d/i2pd.log
loglevel = $LOGLEVEL
datadir = $d/data
pidfile = $d/i2pd.pid
tunconf = $d/tunnels.conf
tunnelsdir = $d/tunnels.d
ipv4 = true
ipv6 = false
host = $(published "$k")
address4 = $(bound "$k")
port = $(port_of "$k")
nat = true
floodfill = $2
notransit = $3
reservedrange = false
bandwidth = X
daemon = false
service = false

[ntcp2]
enabled = true
published = true
port = $(port_of "$k")

[ssu2]
enabled = false

[http]
enabled = false
[httpproxy]
enabled = false
[socksproxy]
enabled = false
[bob]
enabled = false
[i2cp]
enabled = false
[i2pcontrol]
enabled = false
[upnp]
enabled = false

[sam]
enabled = $4
address = 127.0.0.1
port = $SAM_PORT
portudp = $SAM_UDP_PORT

[reseed]
verify = false
threshold = 0
urls =
zipfile = $d/no-such-reseed.zip

[addressbook]
enabled = true

[nettime]
enabled = false

[exploratory]
inbound.length = 1
outbound.length = 1
inbound.quantity = 2
outbound.quantity = 2

[precomputation]
elgamal = false
CONF
}

start_router() { # k
    local d=$DIR/r$1
    setsid "$I2PD" --conf="$d/i2pd.conf" --datadir="$d/data" --tunconf="$d/tunnels.conf" \
        --tunnelsdir="$d/tunnels.d" --pidfile="$d/i2pd.pid" </dev/null >>"$d/stdout.log" 2>&1 &
    echo $! > "$d/launcher.pid"
}
stop_routers() {
    local k pid
    for k in $(seq 1 $ROUTERS); do
        pid=$(cat "$DIR/r$k/launcher.pid" 2>/dev/null || true)
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for k in $(seq 1 $ROUTERS); do
        pid=$(cat "$DIR/r$k/launcher.pid" 2>/dev/null || true)
        [ -n "$pid" ] || continue
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

T0=$(date +%s%N)
write_conf 1 false true true
write_conf 2 true false false
for k in 3 4 5; do write_conf "$k" false false false; done

# 1. A first start writes every router's keys and RouterInfo (published address included).
for k in $(seq 1 $ROUTERS); do start_router "$k"; done
for k in $(seq 1 $ROUTERS); do
    for _ in $(seq 1 200); do [ -s "$DIR/r$k/data/router.info" ] && break; sleep 0.05; done
    [ -s "$DIR/r$k/data/router.info" ] || { echo "r$k wrote no router.info" >&2; cat "$DIR/r$k/i2pd.log" >&2; exit 1; }
done
stop_routers
# 2. Every router knows every other one from the start (a tiny network has no reseed).
for k in $(seq 1 $ROUTERS); do
    mkdir -p "$DIR/r$k/data/netDb"
    for j in $(seq 1 $ROUTERS); do
        [ "$j" = "$k" ] || cp "$DIR/r$j/data/router.info" "$DIR/r$k/data/netDb/routerInfo-r$j.dat"
    done
done

# 3. Delay: the relay listens on every published address.
LINKS=(); MAPS=()
for k in $(seq 1 $ROUTERS); do
    LINKS+=("$(published "$k"):$(port_of "$k")=$(bound "$k"):$(port_of "$k")")
    MAPS+=(--map "$(bound "$k")=$(published "$k")")
done
setsid python3 "$HERE/delay_relay.py" --delay-ms "$DELAY_MS" --jitter-ms "$JITTER_MS" \
    --stats "$DIR/relay-stats.json" "${MAPS[@]}" "${LINKS[@]}" </dev/null >"$DIR/relay.log" 2>&1 &
echo $! > "$DIR/relay.pid"
for _ in $(seq 1 100); do grep -q "links" "$DIR/relay.log" 2>/dev/null && break; sleep 0.05; done
grep -q "links" "$DIR/relay.log" || { echo "delay relay did not start" >&2; cat "$DIR/relay.log" >&2; exit 1; }

# 4. Loss: real packet drops on the router links (both TCP legs of each relayed link).
LOSS_APPLIED=0
if [ "$(id -u)" = 0 ] && command -v iptables >/dev/null && awk -v l="$LOSS" 'BEGIN { exit !(l > 0) }'; then
    iptables -N "$CHAIN" 2>/dev/null || iptables -F "$CHAIN"
    for k in $(seq 1 $ROUTERS); do
        iptables -A "$CHAIN" -p tcp -d "127.$((20 + k)).$N.0/24" -m statistic --mode random --probability "$LOSS" -j DROP
    done
    iptables -C OUTPUT -j "$CHAIN" 2>/dev/null || iptables -I OUTPUT -j "$CHAIN"
    LOSS_APPLIED=1
else
    echo "warning: no packet loss (needs root, iptables and LOSS > 0); delay only" >&2
fi

# 5. The network proper.
for k in $(seq 2 $ROUTERS); do start_router "$k"; done
start_router 1
REPLY_LINE=
for _ in $(seq 1 300); do
    REPLY_LINE=$(hello || true)
    [[ $REPLY_LINE == "HELLO REPLY RESULT=OK"* ]] && break
    sleep 0.1
done
[[ $REPLY_LINE == "HELLO REPLY RESULT=OK"* ]] || { echo "SAM did not answer HELLO" >&2; tail -n 20 "$DIR/r1/i2pd.log" >&2; exit 1; }
# Wait until r1 is linked to at least two routers (its exploratory tunnels go through them).
LINKED=0
for _ in $(seq 1 300); do
    LINKED=$(ss -Htn state established 2>/dev/null | grep -c "$(bound 1):" || true)
    [ "$LINKED" -ge 2 ] && break
    sleep 0.1
done
START_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
for k in $(seq 1 $ROUTERS); do
    kill -0 "$(cat "$DIR/r$k/launcher.pid")" 2>/dev/null || { echo "r$k (i2pd) died during start-up, see $DIR/r$k/i2pd.log" >&2; exit 1; }
done
cat > "$DIR/env" <<ENV
SAM_HOST=127.0.0.1
SAM_TCP_PORT=$SAM_PORT
SAM_UDP_PORT=$SAM_UDP_PORT
NETWORK=realistic
ROUTERS=$ROUTERS
DELAY_MS=$DELAY_MS
JITTER_MS=$JITTER_MS
LOSS=$([ $LOSS_APPLIED = 1 ] && echo "$LOSS" || echo 0)
IPTABLES_CHAIN=$([ $LOSS_APPLIED = 1 ] && echo "$CHAIN")
R1_PID=$(cat "$DIR/r1/launcher.pid")
R1_LINKS=$LINKED
I2PD=$I2PD
I2PD_VERSION=$VERSION
REALISTIC_START_MS=$START_MS
ENV
cat "$DIR/env"
echo "SAM says: $REPLY_LINE" >&2
