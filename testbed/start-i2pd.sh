#!/usr/bin/env bash
# start-i2pd.sh DIR [SAM_TCP_PORT]     (works with Debian 12 i2pd 2.45.1 and with newer i2pd from fetch-i2pd.sh)
#
# Starts a private, fully offline I2P network made of one or two i2pd routers and waits until its
# SAM bridge answers HELLO.
#
#   r1 "sam"       : SAM bridge on 127.0.0.1:SAM_TCP_PORT (TCP) and 127.0.0.1:SAM_UDP_PORT (UDP),
#                    non-floodfill (floodfill itself in MODE=single).
#   r2 "floodfill" : floodfill router (stores/serves the LeaseSets; no SAM); not started in MODE=single.
#
# Binary: $I2PD, default: the i2pd on PATH (Debian 12: 2.45.1); a newer one comes from fetch-i2pd.sh, extracted with
# dpkg -x and run through its own ld.so (nothing installed; see
# testbed/README.md).  I2PD=/usr/sbin/i2pd runs bookworm's 2.45.1 with the same script
# (then config options unknown to 2.45.1 are left out and MODE defaults to veth).
#
# i2pd cannot resolve the LeaseSet of a destination living on the same router unless some floodfill
# exists (still true in 2.56 for a non-floodfill router).  Topologies (MODE):
#   single (i2pd >= 2.56, tested with 2.56.0 and 2.59.0; no root, nothing created, ONE process): r1 alone
#         with floodfill = true on 127.0.N.1.  A floodfill router now puts itself into its own
#         floodfill table (upstream commit d40cd00c, first in 2.47.0), so two sessions on it reach each
#         other (2.45.1 could not: CANT_REACH_PEER).  ntcp2.published must stay true.
#   lo    (default for i2pd >= 2.56; no root, nothing created): r1 on 127.0.N.1, r2 on 127.0.N.2,
#         NTCP2 over the host's loopback.  Works because since 2.51.0 NTCP2/SSU2 use the check that
#         honours `reservedrange = false` (2.45.1 always rejected peers in 127/8).
#   veth  (default for 2.45.1; root): r2 in a private namespace "i2pffPORT", veth pair,
#         198.18.N.1 <-> 198.18.N.2 (198.18/15 is not in i2pd's reserved list because of a typo that
#         is still in 2.56).
#   netns (root): both routers inside the namespace on 198.18.N.1/.2 (its lo); run clients with
#         `ip netns exec $NETNS ...`.
#   here  (no root): no namespace is created; the caller must already be inside a private one that
#         has only `lo` (e.g. `unshare -rn bash -c '...'`); 198.18.N.1/.2 are added to that lo.
# Env knobs:
#   NET_ID=0..255     third octet (default: SAM_TCP_PORT % 256); use distinct ports for parallel runs
#   SAM_UDP_PORT      default SAM_TCP_PORT-1 (2.45.1 hard-codes that; >= 2.56 honours sam.portudp)
#   LOGLEVEL=warn     i2pd log level; logs in DIR/r1/i2pd.log, DIR/r2/i2pd.log
#   I2PD=...          i2pd binary or wrapper
#   SHARED_ZEROHOP=1  (>= 2.56) give the router's shared local destination zero-hop tunnels
#                     ([shareddest] section) so NAMING LOOKUP works on sockets without a session
#   RUN_AS=user       run both i2pd processes as this unprivileged user (DIR is chowned to it)
#   NTCP2_PUBLISHED=true  (false breaks MODE=single: "Can't publish LeaseSet, no more floodfills found")
#   WARM=N, WARM_WAIT pre-create N destinations (see testbed/README.md); WARM_WAIT default
#                     16 s for 2.45.1, 6 s for >= 2.56.  With 2.56 only STREAM sessions on warm keys work
#                     fully: a DATAGRAM/RAW session with a UDP forward never gets its datagrams (the
#                     warm udpclient tunnel keeps the default receiver).
# Prints KEY=VALUE lines (also written to DIR/env).  Stop with:  stop-i2pd.sh DIR
set -euo pipefail

DIR=${1:?usage: start-i2pd.sh DIR [SAM_TCP_PORT]}
SAM_PORT=${2:-7656}
SAM_UDP_PORT=${SAM_UDP_PORT:-$((SAM_PORT - 1))}
NET_ID=${NET_ID:-$((SAM_PORT % 256))}
LOGLEVEL=${LOGLEVEL:-warn}
I2PD=${I2PD:-$(command -v i2pd || echo /usr/sbin/i2pd)}
RUN_AS=${RUN_AS:-}
SHARED_ZEROHOP=${SHARED_ZEROHOP:-1}

[ -x "$I2PD" ] || { echo "i2pd not found: $I2PD (install it with: testbed/testbed.sh install, as root)" >&2; exit 1; }
I2PD_VERSION=$("$I2PD" --version 2>/dev/null | sed -n 's/^i2pd version \([0-9.]*\).*/\1/p' | head -1 || true)
[ -n "$I2PD_VERSION" ] || { echo "could not run '$I2PD --version':" >&2; "$I2PD" --version >&2 || true; exit 1; }
ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }   # ver_ge A B  <=>  A >= B
NEW_I2PD=0; if ver_ge "$I2PD_VERSION" 2.56.0; then NEW_I2PD=1; fi
if [ $NEW_I2PD = 1 ]; then MODE=${MODE:-lo}; else MODE=${MODE:-veth}; fi
if [ $NEW_I2PD = 0 ] && [ "$SAM_UDP_PORT" != $((SAM_PORT - 1)) ]; then
    echo "i2pd $I2PD_VERSION: SAM UDP port is always TCP port - 1" >&2; exit 1; fi

NETNS=i2pff$SAM_PORT
VETH_R1=i2pr1p$SAM_PORT                 # <= 15 chars
VETH_R2=i2pr2p$SAM_PORT
if [ "$MODE" = lo ] || [ "$MODE" = single ]; then IP1=127.0.$NET_ID.1; IP2=127.0.$NET_ID.2
else IP1=198.18.$NET_ID.1; IP2=198.18.$NET_ID.2; fi
NTCP2_PORT1=$((20000 + SAM_PORT % 10000))
NTCP2_PORT2=$((NTCP2_PORT1 + 1))

case $MODE in single|lo|veth|netns|here) ;; *) echo "MODE must be single, lo, veth, netns or here" >&2; exit 1;; esac
if [ "$MODE" = lo ] || [ "$MODE" = single ]; then
    [ $NEW_I2PD = 1 ] || { echo "MODE=$MODE needs i2pd >= 2.56 ($I2PD is $I2PD_VERSION: it rejects NTCP2 peers in 127/8 and, as a lone floodfill, cannot reach its own destinations)" >&2; exit 1; }
elif [ "$MODE" = here ]; then
    # caller already is in a private network namespace (e.g. `unshare -rn`, works without root)
    if ip -o link show | grep -v ': lo:' >/dev/null; then
        echo "MODE=here refuses to run: this network namespace has interfaces besides lo" >&2
        echo "(run it under 'unshare -rn' or 'ip netns exec NS')" >&2; exit 1
    fi
else
    [ "$(id -u)" = 0 ] || { echo "MODE=$MODE must run as root (network namespace + veth); non-root: MODE=lo or unshare -rn + MODE=here" >&2; exit 1; }
fi

hello() {
    "${R1_EXEC[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SAM_PORT && printf 'HELLO VERSION MIN=3.0 MAX=3.1\n' >&3 && timeout 2 head -n1 <&3" 2>/dev/null
}
R1_EXEC=()
# refuse to clobber anything that is already there (another instance, a stale namespace)
if [ "$MODE" != netns ] && hello >/dev/null; then
    echo "something already answers on 127.0.0.1:$SAM_PORT - pick another SAM port" >&2; exit 1
fi
if { [ "$MODE" = lo ] || [ "$MODE" = single ]; } && ss -Hltn "( sport = :$NTCP2_PORT1 or sport = :$NTCP2_PORT2 )" | grep . >/dev/null; then
    echo "NTCP2 port $NTCP2_PORT1 or $NTCP2_PORT2 already in use - pick another SAM port" >&2; exit 1
fi
if [ "$MODE" = veth ] || [ "$MODE" = netns ]; then
    if ip netns list | grep -w "$NETNS" >/dev/null || ip link show "$VETH_R1" >/dev/null 2>&1; then
        echo "namespace $NETNS or link $VETH_R1 already exists: another instance on port $SAM_PORT?" >&2
        echo "stop it with stop-i2pd.sh, or remove a stale one: ip netns del $NETNS; ip link del $VETH_R1" >&2; exit 1
    fi
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -rf "$DIR/r1" "$DIR/r2" "$DIR/env"

# On any failure from here on, undo what this run created (routers by PID via stop-i2pd.sh, which
# checks /proc/PID/cmdline; the namespace/veth only if this run created them), so a failed start
# leaves nothing behind.
CREATED_NETNS=""; CREATED_VETH=""
cleanup_on_failure() {
    local rc=$?
    [ "$rc" = 0 ] && return 0
    echo "start-i2pd.sh failed (exit $rc): cleaning up what it started" >&2
    "$(dirname "${BASH_SOURCE[0]}")/stop-i2pd.sh" "$DIR" >&2 || true
    [ -n "$CREATED_NETNS" ] && ip netns del "$CREATED_NETNS" 2>/dev/null
    [ -n "$CREATED_VETH" ] && ip link del "$CREATED_VETH" 2>/dev/null
    return "$rc"
}
trap cleanup_on_failure EXIT

# ---------------------------------------------------------------- network
if [ "$MODE" = lo ] || [ "$MODE" = single ]; then
    NETNS=""; VETH_R1=""               # 127.0.0.0/8 is routed to lo by Linux: nothing to create
    R1_EXEC=(); R2_EXEC=()
elif [ "$MODE" = here ]; then
    ip link set lo up
    ip addr add "$IP1/32" dev lo 2>/dev/null || true
    ip addr add "$IP2/32" dev lo 2>/dev/null || true
    NETNS=""; VETH_R1=""
    R1_EXEC=(); R2_EXEC=()
else
    ip netns add "$NETNS"
    CREATED_NETNS=$NETNS
    ip -n "$NETNS" link set lo up
    if [ "$MODE" = veth ]; then
        ip link add "$VETH_R1" type veth peer name "$VETH_R2" netns "$NETNS"
        CREATED_VETH=$VETH_R1
        # no IPv6 (link-local autoconf) on the pair: IPv4 198.18.N.0/30 only
        sysctl -qw "net.ipv6.conf.$VETH_R1.disable_ipv6=1" 2>/dev/null || true
        ip netns exec "$NETNS" sysctl -qw "net.ipv6.conf.$VETH_R2.disable_ipv6=1" 2>/dev/null || true
        ip addr add "$IP1/30" dev "$VETH_R1"
        ip link set "$VETH_R1" up
        ip -n "$NETNS" addr add "$IP2/30" dev "$VETH_R2"
        ip -n "$NETNS" link set "$VETH_R2" up
        R1_EXEC=()
    else
        ip -n "$NETNS" addr add "$IP1/32" dev lo
        ip -n "$NETNS" addr add "$IP2/32" dev lo
        R1_EXEC=(ip netns exec "$NETNS")
    fi
    R2_EXEC=(ip netns exec "$NETNS")
fi

# ---------------------------------------------------------------- configs
write_conf() { # name ip ntcp2port floodfill samenabled
    local d=$DIR/$1
    mkdir -p "$d/data" "$d/tunnels.d"
    : > "$d/tunnels.conf"
    : > "$d/data/hosts.txt"                                   # addressbook "loaded" -> no default download
    echo "# none (offline)" > "$d/data/subscriptions.txt"     # 0 subscriptions; an empty
    # addressbook.subscriptions= crashes 2.45.1 (std::out_of_range) ~3 min after start
    local samextra="" newer=""
    if [ $NEW_I2PD = 1 ]; then
        samextra="portudp = $SAM_UDP_PORT"
        if [ "$SHARED_ZEROHOP" = 1 ]; then
            newer="[shareddest]
inbound.length = 0
outbound.length = 0
inbound.quantity = 1
outbound.quantity = 1"
        fi
    fi
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
host = $2
address4 = $2
port = $3
nat = false
floodfill = $4
notransit = true
reservedrange = false
bandwidth = X
daemon = false
service = false

[ntcp2]
enabled = true
published = ${NTCP2_PUBLISHED:-true}
port = $3

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
enabled = $5
address = 127.0.0.1
port = $SAM_PORT
$samextra

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
inbound.length = 0
outbound.length = 0
inbound.quantity = 1
outbound.quantity = 1

[precomputation]
elgamal = false

$newer
CONF
}
if [ "$MODE" = single ]; then
    write_conf r1 "$IP1" "$NTCP2_PORT1" true true        # the SAM router is its own floodfill
else
    write_conf r1 "$IP1" "$NTCP2_PORT1" false true
    write_conf r2 "$IP2" "$NTCP2_PORT2" true false
fi
WARM=${WARM:-0}
WARM_UDP_BASE=${WARM_UDP_BASE:-$((40000 + (SAM_PORT % 100) * 100))}   # local UDP ports taken by warm tunnels
for k in $(seq 1 "$WARM"); do
    # A "udpclient" tunnel is the only tunnel type whose destination is public (LeaseSet published)
    # AND leaves the streaming acceptor alone (a "server" tunnel grabs port-0 streams).
    cat >> "$DIR/r1/tunnels.conf" <<CONF
[warm-$k]
type = udpclient
address = 127.0.0.1
port = $((WARM_UDP_BASE + k))
destination = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p
keys = warm-$k.dat
signaturetype = 7
inbound.length = 0
outbound.length = 0
CONF
done
if [ -n "$RUN_AS" ]; then chown -R "$RUN_AS" "$DIR/r1"; [ -d "$DIR/r2" ] && chown -R "$RUN_AS" "$DIR/r2"; fi

start_router() { # name exec-prefix...
    local name=$1; shift
    local d=$DIR/$name
    local asuser=()
    [ -n "$RUN_AS" ] && asuser=(setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --clear-groups)
    # setsid: own session/process group, so a Ctrl-C in the caller's terminal does not hit it
    local cmd=("$@" "${asuser[@]}" setsid "$I2PD" --conf="$d/i2pd.conf" --datadir="$d/data"
        --tunconf="$d/tunnels.conf" --tunnelsdir="$d/tunnels.d" --pidfile="$d/i2pd.pid")
    "${cmd[@]}" </dev/null >"$d/stdout.log" 2>&1 &
    echo $! > "$d/launcher.pid"
    # The same launch again, for `testbed.sh restart-sam DIR` (a router restart on the same
    # port, data dir and keys).
    { printf '%q ' "${cmd[@]}"; printf '</dev/null >>%q 2>&1 &\necho $! > %q\n' "$d/stdout.log" "$d/launcher.pid"; } > "$d/launch.sh"
}

T0=$(date +%s%N)
if [ "$MODE" != single ]; then
# ---------------------------------------------------------------- r2: floodfill
start_router r2 "${R2_EXEC[@]}"
for _ in $(seq 1 200); do [ -s "$DIR/r2/data/router.info" ] && break; sleep 0.05; done
[ -s "$DIR/r2/data/router.info" ] || { echo "r2 did not write router.info" >&2; cat "$DIR/r2/stdout.log" "$DIR/r2/i2pd.log" >&2; exit 1; }
# ---------------------------------------------------------------- r1: SAM router, knows r2 from its netDb
mkdir -p "$DIR/r1/data/netDb"
cp "$DIR/r2/data/router.info" "$DIR/r1/data/netDb/routerInfo-floodfill.dat"   # any file under netDb/ is loaded
[ -n "$RUN_AS" ] && chown -R "$RUN_AS" "$DIR/r1/data/netDb"
fi
start_router r1 "${R1_EXEC[@]}"
T_R1=$(date +%s%N)

# ---------------------------------------------------------------- wait for SAM HELLO
REPLY_LINE=
for _ in $(seq 1 300); do
    REPLY_LINE=$(hello || true)
    [[ $REPLY_LINE == "HELLO REPLY RESULT=OK"* ]] && break
    kill -0 "$(cat "$DIR/r1/launcher.pid")" 2>/dev/null || { echo "r1 (i2pd) exited during start-up" >&2; break; }
    sleep 0.1
done
[[ $REPLY_LINE == "HELLO REPLY RESULT=OK"* ]] || { echo "SAM did not answer HELLO" >&2; tail -n 20 "$DIR/r1/i2pd.log" "$DIR/r1/stdout.log" >&2; exit 1; }
T_HELLO=$(( ($(date +%s%N) - T0) / 1000000 ))

# ---------------------------------------------------------------- wait until r1 has an NTCP2 session with r2
# (not strictly required - r1 connects on demand - but it makes the first SESSION CREATE deterministic)
LINKED=0
[ "$MODE" = single ] && LINKED=1
for _ in $(seq 1 100); do
    [ "$MODE" = single ] && break
    if "${R2_EXEC[@]}" ss -Htn state established "( sport = :$NTCP2_PORT2 )" 2>/dev/null | grep . >/dev/null; then LINKED=1; break; fi
    sleep 0.1
done
T_LINK=$(( ($(date +%s%N) - T0) / 1000000 ))
[ $LINKED = 1 ] || echo "warning: no NTCP2 connection r1->r2 after 10 s (see $DIR/r*/i2pd.log)" >&2

if [ "$WARM" -gt 0 ]; then
    if [ $NEW_I2PD = 1 ]; then WARM_WAIT=${WARM_WAIT:-6}; else WARM_WAIT=${WARM_WAIT:-16}; fi
    while [ $(( ($(date +%s%N) - T_R1) / 1000000000 )) -lt "$WARM_WAIT" ]; do sleep 0.2; done
fi
: > "$DIR/warm.txt"
for k in $(seq 1 "$WARM"); do
    base64 -w0 "$DIR/r1/data/warm-$k.dat" | tr '+/' '-~' >> "$DIR/warm.txt"; echo >> "$DIR/warm.txt"
done
R1_PID=$(cat "$DIR/r1/i2pd.pid" 2>/dev/null || cat "$DIR/r1/launcher.pid")
R2_PID=""
[ "$MODE" != single ] && R2_PID=$(cat "$DIR/r2/i2pd.pid" 2>/dev/null || cat "$DIR/r2/launcher.pid")
for p in $R1_PID $R2_PID; do
    kill -0 "$p" 2>/dev/null || { echo "i2pd $p died during start-up, see $DIR/r*/i2pd.log and stdout.log" >&2; exit 1; }
done
EXEC_PREFIX=""
[ "$MODE" = netns ] && EXEC_PREFIX="ip netns exec $NETNS"
cat > "$DIR/env" <<ENV
SAM_HOST=127.0.0.1
SAM_TCP_PORT=$SAM_PORT
SAM_UDP_PORT=$SAM_UDP_PORT
MODE=$MODE
NETNS=$NETNS
VETH=$VETH_R1
CLIENT_EXEC_PREFIX="$EXEC_PREFIX"
R1_PID=$R1_PID
R2_PID=$R2_PID
R1_ADDR=$IP1:$NTCP2_PORT1
R2_ADDR=$([ "$MODE" = single ] || echo "$IP2:$NTCP2_PORT2")
HELLO_MS=$T_HELLO
LINK_MS=$T_LINK
WARM=$WARM
WARM_FILE=$DIR/warm.txt
I2PD=$I2PD
I2PD_VERSION=$I2PD_VERSION
ENV
cat "$DIR/env"
echo "SAM says: $REPLY_LINE" >&2
