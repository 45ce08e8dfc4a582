#!/usr/bin/env bash
# testbed.sh — the project's offline I2P test networks: three real SAM bridges, startable side by side.
#
#   testbed.sh install [--bridge NAME|all]   get what NAME needs (idempotent; fetched/built things are cached)
#   testbed.sh start DIR [PORT] [--bridge NAME] [--network realistic]
#                                 start a fresh network whose SAM bridge is 127.0.0.1:PORT (TCP) and
#                                 127.0.0.1:PORT-1 (UDP).  Prints KEY=VALUE lines (also in DIR/env).
#                                 Anything left over from an earlier run on DIR (of any bridge) is
#                                 stopped first.  Default PORT: 17656 / 17646 / 17636 (by NAME, below).
#   testbed.sh stop DIR           stop exactly what `start DIR` started (whatever the bridge)
#   testbed.sh status DIR         exit 0 if it runs, 3 if not, 1 if only partly
#   testbed.sh restart-sam DIR    kill -9 the SAM router and start it again (same port, keys; i2pd only)
#
#   NAME (default i2pd-2.45; stop/status read it from DIR/env):
#     i2pd-2.45  Debian 12's i2pd 2.45.1 (apt, root), SAM 3.0/3.1, two routers (MODE=veth or here, below)
#     i2pd-2.59  i2pd 2.59.0 from Debian forky, pinned .debs fetched into the cache and run without
#                installing (fetch-i2pd-forky.sh), SAM up to 3.3, one router on loopback (MODE=single), no root
#     emissary   emissary 0.4.0 (Rust router), `cargo install` into the cache (emissary/install-emissary.sh),
#                SAM 3.1/3.2, 7 processes on 127.0.0.1 (emissary/start-emissary.sh), no root
#   --network realistic (i2pd-2.59 only; root for the loss): five routers, sessions with 2-hop tunnels
#              each way, 40+-20 ms per router link each way, 0.5 % packet loss (testbed/realistic/);
#              default PORT 17616.  The default network (zero-hop) is the one described above.
#   Cache: ${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed} (survives between runs; delete it to refetch/rebuild).
#   DIR/env always has SAM_BRIDGE, SAM_BRIDGE_VERSION, SAM_TCP_PORT, SAM_UDP_PORT, SAM_VERSION_MAX (the
#   VERSION that `HELLO VERSION MIN=3.1 MAX=3.3` gets), SAM_SESSION_OPTIONS (tunnel options sessions
#   need on this bridge), SAM_E2E_BULK_BYTES (bytes per bulk echo the e2e suite sends),
#   SAM_E2E_TIME_SCALE (factor on the e2e suite's time bounds) and START_MS.  Give each bridge its own PORT (and DIR) to run them side by side.
#
# i2pd-2.45 topology (see testbed/README.md): as root, MODE=veth — the SAM router r1 runs in the caller's
# network namespace, the floodfill r2 in a private namespace "i2pffPORT" joined by a veth pair.  Without
# root the routers must live in a private network namespace that the *clients share*: run the whole test
# command as `unshare -rn <command>` (then `start` detects the namespace and uses MODE=here).  A
# non-root `start` outside such a namespace still works, but then the network lives in a detached
# namespace and clients must be run with the CLIENT_EXEC_PREFIX printed (nsenter ...).
# Env: TESTBED_MODE=veth|here forces the i2pd-2.45 mode; I2PD=path another i2pd for i2pd-2.45;
# EMISSARY=path another emissary-cli; everything else (LOGLEVEL, WARM, ...) goes to start-i2pd.sh /
# emissary/start-emissary.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_PORT=17656                 # i2pd-2.45 (unchanged); the others get their own default
SYSTEM_SAM_PORT=7656
BRIDGES="i2pd-2.45 i2pd-2.59 emissary"
CACHE=${SAM_TESTBED_CACHE:-$HOME/.cache/sam-testbed}
FORKY_WRAPPER=$CACHE/i2pd-forky                              # written by fetch-i2pd-forky.sh
EMISSARY_BIN=${EMISSARY:-$CACHE/emissary-0.4.0/bin/emissary-cli}   # built by emissary/install-emissary.sh

default_port() { case $1 in i2pd-2.45) echo "$DEFAULT_PORT" ;; i2pd-2.59) echo 17646 ;; emissary) echo 17636 ;; esac; }
check_bridge() { case " $BRIDGES " in *" $1 "*) ;; *) die "unknown bridge '$1' (one of: $BRIDGES)" ;; esac; }

say() { echo "testbed: $*" >&2; }
die() { echo "testbed: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
    sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

find_i2pd() { command -v i2pd 2>/dev/null || { [ -x /usr/sbin/i2pd ] && echo /usr/sbin/i2pd; } || true; }

# root in the initial user namespace (not the mapped root of `unshare -r`)
is_real_root() {
    [ "$(id -u)" = 0 ] && [ "$(awk 'NR == 1 { print $1, $2, $3 }' /proc/self/uid_map)" = "0 0 4294967295" ]
}
# this network namespace has no interface but lo (e.g. inside `unshare -rn`)
in_private_netns() { ! ip -o link show 2>/dev/null | grep -v ': lo:' >/dev/null; }

cmdline_of() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null || true; }

# PIDs of i2pd processes started from DIR (whatever their pidfiles say), found by their command line
pids_for_dir() { # DIR
    local p c
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        c=$(cmdline_of "$p")
        case $c in *"--conf=$1/r1/i2pd.conf "*|*"--conf=$1/r2/i2pd.conf "*) echo "$p" ;; esac
    done
}

kill_pids() { # PID...  SIGTERM, wait up to 10 s, then SIGKILL
    local pid
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    for pid in "$@"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then say "pid $pid still alive after 10 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    done
}

sam_hello() { # PORT [exec prefix...]  -> prints the HELLO reply line, fails if none
    local port=$1; shift
    "$@" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf '${HELLO_LINE:-HELLO VERSION MIN=3.0 MAX=3.1}\n' >&3 && timeout 2 head -n1 <&3" 2>/dev/null
}

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

env_get() { # DIR KEY  -> value from DIR/env (without quotes)
    [ -f "$1/env" ] || return 0
    sed -n "s/^$2=//p" "$1/env" | tail -1 | sed 's/^"\(.*\)"$/\1/'
}

# ------------------------------------------------------------------------------------------- install
apt_has_candidate() { # (no `| grep -q`: with pipefail, grep's early exit would fail the pipeline)
    local out; out=$(apt-cache policy "$1" 2>/dev/null || true)
    [[ $out == *"Candidate: "[0-9]* ]]
}

system_i2pd_pids() {
    local p c pidfile_pid=""
    pidfile_pid=$(cat /run/i2pd/i2pd.pid 2>/dev/null || true)
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = i2pd ] || continue
        c=$(cmdline_of "$p")
        # the Debian service: --service / the /etc/i2pd config / the pid in its pidfile / no --conf at all
        if [ "$p" = "$pidfile_pid" ] || [[ $c == *" --service"* ]] || [[ $c == *"--conf=/etc/i2pd/"* ]] || [[ $c != *"--conf="* ]]; then
            echo "$p"
        fi
    done
    # whatever i2pd listens on the default SAM port
    ss -Hltnp "( sport = :$SYSTEM_SAM_PORT )" 2>/dev/null | grep -o '"i2pd",pid=[0-9]*' | sed 's/.*pid=//' || true
}

stop_system_i2pd() {
    local pids
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        if systemctl disable --now i2pd.service >/dev/null 2>&1; then say "systemd: i2pd.service disabled and stopped"; fi
    fi
    pids=$(system_i2pd_pids | sort -u)
    [ -n "$pids" ] || return 0
    say "a system i2pd is running (pid ${pids//$'\n'/ }): stopping it"
    if command -v invoke-rc.d >/dev/null; then
        invoke-rc.d i2pd stop >/dev/null 2>&1 || true
    fi
    pids=$(system_i2pd_pids | sort -u)
    # in containers /usr/sbin/policy-rc.d refuses (exit 101) and invoke-rc.d then exits 0 without stopping it
    [ -z "$pids" ] || say "still running after invoke-rc.d (refused by policy-rc.d?): SIGTERM to pid ${pids//$'\n'/ }"
    # shellcheck disable=SC2086  # word list of PIDs
    [ -z "$pids" ] || kill_pids $pids
    pids=$(system_i2pd_pids | sort -u)
    [ -z "$pids" ] || die "could not stop the system i2pd (pid $pids)"
    if command -v update-rc.d >/dev/null && [ -x /etc/init.d/i2pd ]; then
        update-rc.d i2pd disable >/dev/null 2>&1 || true   # no start at the next boot either
    fi
    say "system i2pd stopped"
}

install_i2pd_245() {
    local pkgs=() i2pd rc tmp_policy=""
    i2pd=$(find_i2pd)
    if [ -z "$i2pd" ]; then pkgs=(i2pd iproute2)
    elif ! command -v ip >/dev/null || ! command -v ss >/dev/null; then pkgs=(iproute2); fi
    if [ ${#pkgs[@]} -gt 0 ]; then
        is_real_root || die "missing: ${pkgs[*]}; install as root: sudo $0 install  (or: apt-get install -y ${pkgs[*]})"
        export DEBIAN_FRONTEND=noninteractive
        local updated=0
        if ! apt_has_candidate i2pd; then say "apt-get update"; apt-get update -q; updated=1; fi
        say "apt-get install -y ${pkgs[*]}"
        rc=0; apt-get install -y -q "${pkgs[@]}" || rc=$?
        if [ $rc != 0 ] && [ $updated = 0 ]; then
            say "install failed (exit $rc): retrying after apt-get update"
            apt-get update -q; rc=0; apt-get install -y -q "${pkgs[@]}" || rc=$?
        fi
        if [ $rc != 0 ] && [ -x /usr/sbin/i2pd ] && [ ! -e /usr/sbin/policy-rc.d ]; then
            # postinst runs `invoke-rc.d i2pd start || exit 1`: where starting services fails, forbid
            # starts for the duration of the configure step (standard policy-rc.d mechanism)
            say "configure step failed (exit $rc): retrying with service starts forbidden (policy-rc.d)"
            tmp_policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' > "$tmp_policy"; chmod 755 "$tmp_policy"
            rc=0; dpkg --configure -a || rc=$?
            rm -f "$tmp_policy"
        fi
        [ $rc = 0 ] || die "apt-get install ${pkgs[*]} failed (exit $rc)"
    fi
    i2pd=$(find_i2pd)
    [ -n "$i2pd" ] || die "i2pd still not found after install"
    is_real_root && stop_system_i2pd
    for t in ip ss setsid timeout unshare; do command -v "$t" >/dev/null || die "missing tool: $t"; done
    say "ok: $("$i2pd" --version 2>/dev/null | head -1) ($i2pd)"
}

cmd_install() { # BRIDGE
    local t0; t0=$(now)
    case $1 in
        i2pd-2.45) install_i2pd_245 ;;
        i2pd-2.59) "$HERE/fetch-i2pd-forky.sh" "$CACHE" >/dev/null || die "fetching i2pd 2.59 failed (see above)"
                   say "ok: i2pd-2.59: $FORKY_WRAPPER" ;;
        emissary)  [ -z "${EMISSARY:-}" ] || say "note: EMISSARY=$EMISSARY is set; installing the cached build anyway"
                   "$HERE/emissary/install-emissary.sh" "$CACHE" >/dev/null || die "building emissary failed (see above)"
                   say "ok: emissary: $CACHE/emissary-0.4.0/bin/emissary-cli" ;;
        all)       cmd_install i2pd-2.45; cmd_install i2pd-2.59; cmd_install emissary ;;
    esac
    say "install $1 done in $(since "$t0") s"
}

# ------------------------------------------------------------------------------------------- stop
# emissary-cli processes started from DIR (`-b DIR/rK`), whatever its pidfiles say
emissary_pids_for_dir() { # DIR
    local p
    for p in $(pgrep -x emissary-cli 2>/dev/null); do
        [[ $(cmdline_of "$p") == *" -b $1/r"[0-9]* ]] && echo "$p"
    done
    return 0
}

cmd_stop() { # DIR  (any bridge: stops what DIR's pidfiles name, then anything else started from DIR)
    local dir=${1:?usage: testbed.sh stop DIR} pids
    dir=$(realpath -m "$dir")
    if [ -d "$dir" ] && { compgen -G "$dir/r[0-9]*.pid" >/dev/null || [ -n "$(emissary_pids_for_dir "$dir")" ]; }; then
        "$HERE/emissary/stop-emissary.sh" "$dir" >/dev/null || say "stop-emissary.sh $dir reported a problem"
        pids=$(emissary_pids_for_dir "$dir")
        [ -z "$pids" ] || die "emissary of $dir still running: $pids"
    fi
    [ -d "$dir" ] && [ -f "$dir/relay.pid" ] && "$HERE/realistic/stop-realistic.sh" "$dir"
    [ -d "$dir" ] && "$HERE/stop-i2pd.sh" "$dir"
    # routers of DIR whose pidfiles are gone or wrong (e.g. a start killed half-way)
    pids=$(pids_for_dir "$dir")
    if [ -n "$pids" ]; then
        say "stopping leftover i2pd of $dir: $(echo "$pids" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        kill_pids $pids
    fi
    pids=$(pids_for_dir "$dir")
    [ -z "$pids" ] || die "i2pd of $dir still running: $pids"
}

# a namespace / veth named after PORT that nobody uses any more (its routers were killed)
cleanup_stale_port() { # PORT
    local port=$1 ns=i2pff$1 veth=i2pr1p$1 nspids
    is_real_root || return 0
    if ip netns list 2>/dev/null | grep -w "$ns" >/dev/null; then
        nspids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        if [ -n "${nspids// /}" ]; then
            die "namespace $ns is in use by another testbed on port $port (pids: $nspids); stop it (testbed.sh stop ITS_DIR) or use another PORT"
        fi
        say "removing stale namespace $ns"
        ip netns del "$ns"
    fi
    if ip link show "$veth" >/dev/null 2>&1; then
        if sam_hello "$port" >/dev/null; then
            die "link $veth exists and something answers on 127.0.0.1:$port: another testbed? use another PORT"
        fi
        say "removing stale link $veth"
        ip link del "$veth" 2>/dev/null || true
    fi
}

# ------------------------------------------------------------------------------------------- start
start_i2pd_245() { # DIR PORT
    local dir=$1 port=$2 mode i2pd t0 rc ver
    i2pd=${I2PD:-$(find_i2pd)}     # I2PD=... : another binary/wrapper (e.g. from fetch-i2pd.sh)
    [ -n "$i2pd" ] || die "i2pd is not installed: run (as root) $HERE/testbed.sh install"
    ver=$("$i2pd" --version 2>/dev/null | sed -n 's/^i2pd version \([0-9.]*\).*/\1/p' | head -1)
    dir=$(abs_dir "$dir")

    if [ -n "${TESTBED_MODE:-}" ]; then mode=$TESTBED_MODE
    elif is_real_root; then mode=veth
    elif in_private_netns; then mode=here
    elif [ "$(id -u)" != 0 ] && command -v unshare >/dev/null; then mode=detached
    else
        die "cannot start: need root (network namespace + veth), or run inside a private network namespace with only lo, e.g. as an ordinary user: unshare -rn $0 start $dir $port"
    fi

    if [ "$mode" = detached ]; then
        # non-root outside a private namespace: re-exec inside `unshare -rn` with MODE=here.  The routers
        # keep that namespace alive after we return; clients must join it.
        say "not root: starting the routers inside a new private network namespace (unshare -rn)"
        unshare -rn env TESTBED_MODE=here "$0" start "$dir" "$port" >/dev/null || die "start inside unshare -rn failed (are unprivileged user namespaces allowed? sysctl user.max_user_namespaces)"
        local r1 prefix
        r1=$(env_get "$dir" R1_PID)
        prefix="nsenter --preserve-credentials -U -n -t $r1"
        sed -i "s|^CLIENT_EXEC_PREFIX=.*|CLIENT_EXEC_PREFIX=\"$prefix\"|" "$dir/env"
        cat "$dir/env"
        DETACHED=1       # the inner start already added the SAM_BRIDGE... lines
        cat >&2 <<MSG
testbed: NOTE: 127.0.0.1:$port exists only inside that namespace, NOT in yours.  Either run the clients
testbed:   through the prefix:   $prefix <command>
testbed: or (better) stop this one and run the whole test command inside one namespace, where
testbed: start then just works:  unshare -rn <command>   (e.g. unshare -rn ./scripts/test.sh)
MSG
        return 0
    fi

    case $mode in
        veth) is_real_root || die "TESTBED_MODE=veth needs root" ;;
        here) in_private_netns || die "MODE=here needs a private network namespace with only lo (run under: unshare -rn ...)" ;;
        *) die "TESTBED_MODE must be veth or here" ;;
    esac

    # stale run on DIR (stop uses DIR/env if present, and finds its routers by command line anyway)
    if [ -f "$dir/env" ] || [ -d "$dir/r1" ] || [ -d "$dir/r2" ] || [ -n "$(pids_for_dir "$dir")" ]; then
        say "stopping whatever an earlier run left in $dir"
        cmd_stop "$dir"
    fi
    [ "$mode" = veth ] && cleanup_stale_port "$port"
    if sam_hello "$port" >/dev/null; then
        die "something else already answers SAM on 127.0.0.1:$port: stop it or pick another PORT"
    fi

    say "starting i2pd $ver (MODE=$mode) in $dir, SAM 127.0.0.1:$port"
    t0=$(now)
    rc=0; MODE=$mode I2PD=$i2pd "$HERE/start-i2pd.sh" "$dir" "$port" || rc=$?
    if [ $rc != 0 ]; then
        cmd_stop "$dir" >/dev/null 2>&1 || true
        if [ "$mode" = veth ]; then ip netns del "i2pff$port" 2>/dev/null || true; ip link del "i2pr1p$port" 2>/dev/null || true; fi
        echo "testbed: error: start failed (exit $rc); logs: $dir/r1/i2pd.log $dir/r2/i2pd.log (if any)" >&2
        if [ "$mode" = veth ]; then echo "testbed: if the error above is about 'ip netns'/'ip link' not being permitted (container without CAP_SYS_ADMIN), run the whole test command as: unshare -rn <command>" >&2; fi
        exit 1
    fi
    BRIDGE_VERSION=$ver
    say "started in $(since "$t0") s"
}

start_i2pd_259() { # DIR PORT
    local dir=$1 port=$2 t0 rc
    [ -x "$FORKY_WRAPPER" ] || die "i2pd 2.59 is not fetched: run $HERE/testbed.sh install --bridge i2pd-2.59"
    BRIDGE_VERSION=$("$FORKY_WRAPPER" --version 2>/dev/null | sed -n 's/^i2pd version \([0-9.]*\).*/\1/p' | head -1)
    # inside a fresh `unshare -rn` lo is down (single mode needs only loopback)
    if in_private_netns; then ip link set lo up 2>/dev/null || true; fi
    say "starting i2pd $BRIDGE_VERSION (MODE=single) in $dir, SAM 127.0.0.1:$port"
    t0=$(now)
    rc=0; MODE=single I2PD=$FORKY_WRAPPER "$HERE/start-i2pd.sh" "$dir" "$port" || rc=$?
    if [ $rc != 0 ]; then
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "start failed (exit $rc); log: $dir/r1/i2pd.log"
    fi
    say "started in $(since "$t0") s"
}

start_realistic() { # DIR PORT
    local dir=$1 port=$2 t0 rc
    [ -x "$FORKY_WRAPPER" ] || die "i2pd 2.59 is not fetched: run $HERE/testbed.sh install --bridge i2pd-2.59"
    BRIDGE_VERSION=$("$FORKY_WRAPPER" --version 2>/dev/null | sed -n 's/^i2pd version \([0-9.]*\).*/\1/p' | head -1)
    if in_private_netns; then ip link set lo up 2>/dev/null || true; fi
    say "starting the realistic network: 5 x i2pd $BRIDGE_VERSION in $dir, SAM 127.0.0.1:$port"
    t0=$(now)
    rc=0; I2PD=$FORKY_WRAPPER "$HERE/realistic/start-realistic.sh" "$dir" "$port" || rc=$?
    [ $rc = 0 ] || die "start failed (exit $rc); logs: $dir/r*/i2pd.log $dir/relay.log"
    say "started in $(since "$t0") s"
}

start_emissary() { # DIR PORT
    local dir=$1 port=$2 t0 rc
    [ -x "$EMISSARY_BIN" ] || die "emissary is not built: run $HERE/testbed.sh install --bridge emissary"
    if in_private_netns && [ -z "$(ip route show default 2>/dev/null)" ]; then
        # Inside `unshare -rn` (no network at all): emissary's SAM UDP setup wants a default route.
        # A veth pair inside this namespace gives it one (the `dummy` link type is not in every
        # kernel); both ends stay here, so nothing can leave through it.
        say "private network namespace without a default route: adding veth samdflt0/samdflt1 (198.18.255.1/24) as default route"
        ip link set lo up 2>/dev/null || true
        if ! { ip link add samdflt0 type veth peer name samdflt1 && ip addr add 198.18.255.1/24 dev samdflt0 \
                && ip link set samdflt1 up && ip link set samdflt0 up && ip route add default dev samdflt0; }; then
            die "could not add a default route (needs CAP_NET_ADMIN in this namespace and veth support)"
        fi
    fi
    BRIDGE_VERSION=$("$EMISSARY_BIN" --version 2>/dev/null | awk '{ print $NF; exit }')
    say "starting emissary $BRIDGE_VERSION (mesh of $(( ${NUM_FF:-3} + ${NUM_R:-3} + 1 )) routers) in $dir, SAM 127.0.0.1:$port"
    t0=$(now)
    rc=0; EMISSARY=$EMISSARY_BIN "$HERE/emissary/start-emissary.sh" "$dir" "$port" || rc=$?
    if [ $rc != 0 ]; then
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "start failed (exit $rc); logs: $dir/r*/router.log"
    fi
    say "started in $(since "$t0") s"
}

# remove the run files of any bridge from DIR (r1, r2 of i2pd; r0..rN, rK.pid of emissary; env, warm.txt)
clean_dir() { # DIR
    local f
    for f in "$1"/r[0-9]*; do
        [[ ${f##*/} =~ ^r[0-9]+(\.pid)?$ ]] && rm -rf "$f"
    done
    rm -f "$1/env" "$1/warm.txt"
}

cmd_start() { # DIR PORT BRIDGE
    local dir=$1 port=$2 bridge=$3 t0 reply vmax opts ms bulk scale
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1025 ] || [ "$port" -gt 65535 ]; then
        die "PORT must be 1025..65535 (SAM UDP uses PORT-1)"
    fi
    dir=$(abs_dir "$dir")
    t0=$(now)
    # a stale run on DIR, of whatever bridge (i2pd-2.45 repeats this check itself, harmlessly)
    if [ -f "$dir/env" ] || compgen -G "$dir/r[0-9]*" >/dev/null || [ -n "$(pids_for_dir "$dir")" ] || [ -n "$(emissary_pids_for_dir "$dir")" ]; then
        say "stopping whatever an earlier run left in $dir"
        cmd_stop "$dir"
        clean_dir "$dir"
    fi
    if [ "$bridge" != i2pd-2.45 ] && sam_hello "$port" >/dev/null; then
        die "something else already answers SAM on 127.0.0.1:$port: stop it or pick another PORT"
    fi
    DETACHED=0; BRIDGE_VERSION=""
    case $bridge/$NETWORK in
        i2pd-2.59/realistic) start_realistic "$dir" "$port" ;;
        */realistic) die "--network realistic is built for --bridge i2pd-2.59 (i2pd 2.45.1 refuses NTCP2 peers in 127/8)" ;;
        i2pd-2.45/*) start_i2pd_245 "$dir" "$port" ;;
        i2pd-2.59/*) start_i2pd_259 "$dir" "$port" ;;
        emissary/*) start_emissary "$dir" "$port" ;;
    esac
    [ "$DETACHED" = 1 ] && return 0
    reply=$(HELLO_LINE="HELLO VERSION MIN=3.1 MAX=3.3" sam_hello "$port" || true)
    case $reply in
        "HELLO REPLY RESULT=OK VERSION="*) vmax=${reply#*VERSION=}; vmax=${vmax%% *} ;;
        *) vmax=NONE; say "warning: HELLO VERSION MIN=3.1 MAX=3.3 got: '$reply'" ;;
    esac
    bulk=$((1024 * 1024))
    case $bridge in
        i2pd-2.45) opts="inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1" ;;
        i2pd-2.59) opts="inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1 i2cp.leaseSetEncType=0" ;;
        emissary)  opts=""        # its defaults (2 hops); 0-hop tunnels are rejected (SESSION CREATE never answers)
                   bulk=65536 ;;  # its streams stall 9 s about every 128 KiB: 1 MiB echo takes 72-216 s
    esac
    # realistic: tunnels through the other routers, 2 hops each way
    scale=1
    if [ "$NETWORK" = realistic ]; then
        opts="inbound.length=2 outbound.length=2 inbound.quantity=2 outbound.quantity=2"
        scale=3   # the e2e suite's time bounds: multi-hop tunnels, delay and loss are slower by design
    fi
    ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')
    {
        echo "SAM_BRIDGE=$bridge"
        echo "SAM_NETWORK=$NETWORK"
        echo "SAM_BRIDGE_VERSION=$BRIDGE_VERSION"
        echo "SAM_VERSION_MAX=$vmax"
        echo "SAM_SESSION_OPTIONS=\"$opts\""
        echo "SAM_E2E_BULK_BYTES=$bulk"
        echo "SAM_E2E_TIME_SCALE=$scale"
        echo "START_MS=$ms"
    } | tee -a "$dir/env"
}

# ------------------------------------------------------------------------------------------- status
status_emissary() { # DIR  (absolute)
    local dir=$1 port p alive=0 want=0 reply
    port=$(env_get "$dir" SAM_TCP_PORT)
    for p in $(env_get "$dir" ALL_PIDS); do
        want=$((want + 1))
        [[ $(cmdline_of "$p") == *" -b $dir/r"[0-9]* ]] && alive=$((alive + 1))
    done
    if [ $alive = 0 ]; then echo "not running (emissary, SAM port $port)"; return 3; fi
    if [ $alive != "$want" ]; then echo "partly running: $alive of $want emissary routers alive; run: $0 stop $dir"; return 1; fi
    if reply=$(sam_hello "$port"); then
        echo "running (emissary, $want routers, SAM 127.0.0.1:$port says: $reply)"
        return 0
    fi
    echo "emissary routers alive but SAM 127.0.0.1:$port does not answer (its SAM server dies on a received DATAGRAM2)"; return 1
}

cmd_status() { # DIR
    local dir=${1:?usage: testbed.sh status DIR} port mode r1 r2 alive=0 want=0 p prefix=() reply bridge
    if [ ! -f "$dir/env" ]; then
        dir=$(realpath -m "$dir")
        p=$(pids_for_dir "$dir"; emissary_pids_for_dir "$dir")
        if [ -n "$p" ]; then echo "not started, but processes of $dir are left (pids $(echo "$p" | tr '\n' ' ')); run: $0 stop $dir"; return 1; fi
        echo "not running (no $dir/env)"; return 3
    fi
    dir=$(cd "$dir" && pwd)
    bridge=$(env_get "$dir" SAM_BRIDGE)
    if [ "$bridge" = emissary ] || { [ -z "$bridge" ] && [ -n "$(env_get "$dir" ALL_PIDS)" ]; }; then
        status_emissary "$dir"; return
    fi
    bridge=${bridge:-i2pd-2.45}
    port=$(env_get "$dir" SAM_TCP_PORT); mode=$(env_get "$dir" MODE)
    r1=$(env_get "$dir" R1_PID); r2=$(env_get "$dir" R2_PID)
    for p in "r1:$r1" "r2:$r2"; do
        [ -n "${p#*:}" ] || continue
        want=$((want + 1))
        [[ $(cmdline_of "${p#*:}") == *"--conf=$dir/${p%%:*}/i2pd.conf "* ]] && alive=$((alive + 1))
    done
    if [ $alive = 0 ]; then echo "not running (MODE=$mode, SAM port $port)"; return 3; fi
    if [ $alive != "$want" ]; then echo "partly running: $alive of $want routers alive (MODE=$mode); run: $0 stop $dir"; return 1; fi
    read -r -a prefix <<< "$(env_get "$dir" CLIENT_EXEC_PREFIX)"   # a word list by design
    if [ "$mode" = here ] && [ ${#prefix[@]} = 0 ] && [ "$(readlink /proc/self/ns/net)" != "$(readlink "/proc/$r1/ns/net" 2>/dev/null)" ]; then
        echo "running (MODE=here, pids $r1 $r2) in another network namespace; SAM 127.0.0.1:$port is only reachable there"
        return 0
    fi
    if reply=$(sam_hello "$port" "${prefix[@]}"); then
        echo "running ($bridge, MODE=$mode, SAM 127.0.0.1:$port says: $reply, pids r1=$r1 r2=$r2)"
        return 0
    fi
    echo "routers alive (pids $r1 $r2) but SAM 127.0.0.1:$port does not answer"; return 1
}

# --bridge NAME / --bridge=NAME anywhere after the command; the rest are positional
CMD=${1:-}; [ $# -gt 0 ] && shift
# ------------------------------------------------------------------------------------------- restart-sam
# kill -9 of the SAM router (r1) if it still runs, then the same router again on the same port,
# data dir and keys (r2, the floodfill, stays); waits for HELLO and updates R1_PID in DIR/env.
# i2pd bridges only (DIR/r1/launch.sh is written by start-i2pd.sh).
cmd_restart_sam() { # DIR
    local dir r1 t0 reply=""
    dir=$(abs_dir "$1")
    [ -f "$dir/r1/launch.sh" ] || die "$dir/r1/launch.sh missing: restart-sam needs an i2pd testbed started by this script"
    r1=$(env_get "$dir" R1_PID)
    t0=$(now)
    if [ -n "$r1" ] && kill -0 "$r1" 2>/dev/null; then kill -9 "$r1"; fi
    for _ in $(seq 1 100); do { [ -n "$r1" ] && kill -0 "$r1" 2>/dev/null; } || break; sleep 0.05; done
    rm -f "$dir/r1/i2pd.pid"
    bash "$dir/r1/launch.sh"
    for _ in $(seq 1 300); do
        reply=$(sam_hello "$(env_get "$dir" SAM_TCP_PORT)" || true)
        [[ $reply == "HELLO REPLY RESULT=OK"* ]] && break
        sleep 0.1
    done
    [[ $reply == "HELLO REPLY RESULT=OK"* ]] || die "the restarted SAM router does not answer HELLO (see $dir/r1/i2pd.log)"
    for _ in $(seq 1 50); do [ -s "$dir/r1/i2pd.pid" ] && break; sleep 0.02; done
    r1=$(cat "$dir/r1/i2pd.pid" 2>/dev/null || cat "$dir/r1/launcher.pid")
    sed -i "s/^R1_PID=.*/R1_PID=$r1/" "$dir/env"
    say "SAM router restarted (pid $r1), HELLO answered after $(since "$t0") s"
}

BRIDGE=""; NETWORK=zero-hop; ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
        --network) [ $# -ge 2 ] || usage; NETWORK=$2; shift 2 ;;
        --network=*) NETWORK=${1#--network=}; shift ;;
        --bridge) [ $# -ge 2 ] || usage; BRIDGE=$2; shift 2 ;;
        --bridge=*) BRIDGE=${1#--bridge=}; shift ;;
        -*) usage ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
case $CMD in
    install) [ ${#ARGS[@]} = 0 ] || usage; BRIDGE=${BRIDGE:-i2pd-2.45}
             [ "$BRIDGE" = all ] || check_bridge "$BRIDGE"; cmd_install "$BRIDGE" ;;
    start)   if [ ${#ARGS[@]} -lt 1 ] || [ ${#ARGS[@]} -gt 2 ]; then usage; fi
             BRIDGE=${BRIDGE:-i2pd-2.45}; check_bridge "$BRIDGE"
             case $NETWORK in zero-hop|realistic) ;; *) die "--network must be zero-hop or realistic" ;; esac
             [ "$NETWORK" = realistic ] && [ ${#ARGS[@]} = 1 ] && ARGS+=(17616)
             cmd_start "${ARGS[0]}" "${ARGS[1]:-$(default_port "$BRIDGE")}" "$BRIDGE" ;;
    stop)    [ ${#ARGS[@]} = 1 ] || usage; cmd_stop "${ARGS[0]}" ;;     # (a --bridge is accepted and ignored)
    status)  [ ${#ARGS[@]} = 1 ] || usage; cmd_status "${ARGS[0]}" ;;
    restart-sam) [ ${#ARGS[@]} = 1 ] || usage; cmd_restart_sam "${ARGS[0]}" ;;
    *) usage ;;
esac
