#!/usr/bin/env bash
# scripts/peer-bench.sh — the peer benchmark: connect + accept + 1 KiB echo cycles through one SAM
# bridge for three clients, sam-tokio, i2plib 0.0.14 and yosemite 0.7, interleaved in one run
# (about 1 min per client and round on each bridge at the default sizes).
#
#   ./scripts/peer-bench.sh [BRIDGE...]      default: i2pd-2.45 i2pd-2.59
#
#   ROUNDS=3     rounds per bridge; each runs the three clients in turn, in an order that rotates
#                from round to round (a drift of the machine does not favour one client)
#   CYCLES=200   cycles per client and round: CYCLES one after another, then CYCLES with 8
#                connectors at once
#   SAFETY=10000 then sam-tokio alone, SAFETY cycles in a row (0: none): every echo intact
#                (SHA-256), the client's open file descriptors the same before and after, the
#                SAM router alive and answering HELLO afterwards
#
# Per bridge: a private testbed (target/peer-bench-BRIDGE, SAM on 127.0.0.1:17720 for i2pd-2.45
# and :17710 for i2pd-2.59; stopped at exit), then the runs: testbed/peer-bench/ (the crate
# `sam-peer-bench`, binary `peer-bench`, for sam-tokio and yosemite) and
# testbed/peer-bench/i2plib_cycles.py (i2plib), each printing one JSON line per run.
# Each run makes its own two sessions (server and client) with the testbed's SAM_SESSION_OPTIONS
# (zero-hop tunnels) and does one warm-up cycle first; session creation and warm-up are not timed.
# The lines go to target/peer-bench-BRIDGE.jsonl (the clients' stderr to
# target/peer-bench-BRIDGE.log); at the end one markdown table per bridge (median rates over the
# rounds, their min–max, the median p50, the ratio to i2plib) is printed and written to
# target/peer-bench.md with the date, nproc and the CPU model. Not in the test command: it takes
# minutes, and its figures depend on the machine. emissary is not offered: yosemite always writes
# tunnel lengths and quantities into SESSION CREATE, so it cannot use emissary's defaults as the
# other clients do there.
# Not root: the run happens inside `unshare -rn` (see scripts/test.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

BRIDGES=${*:-i2pd-2.45 i2pd-2.59}
ROUNDS=${ROUNDS:-3}
SAFETY=${SAFETY:-10000}
CYCLES=${CYCLES:-200}
CONNECTORS=8
T_ALL=$(now)
MANIFEST=$ROOT/testbed/peer-bench/Cargo.toml
BENCH=$ROOT/testbed/peer-bench/target/release/peer-bench
I2PLIB_CYCLES=$ROOT/testbed/peer-bench/i2plib_cycles.py
CLIENTS=(sam-tokio i2plib yosemite)

port_of() { # BRIDGE -> the SAM TCP port of its private testbed
    case $1 in
        i2pd-2.45) echo 17720 ;;
        i2pd-2.59) echo 17710 ;;
        *) echo "error: unknown bridge '$1' (i2pd-2.45 or i2pd-2.59)" >&2; return 1 ;;
    esac
}
for b in $BRIDGES; do port_of "$b" >/dev/null; done
for n in "$ROUNDS" "$CYCLES"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS and CYCLES must be positive numbers" >&2; exit 2; }
done

if ! in_private_netns; then
    for b in $BRIDGES; do "$TESTBED" install --bridge "$b"; done
    SAM_I2PLIB_PYTHON=$("$ROOT/testbed/install-i2plib.sh" | tail -n1)
    export SAM_I2PLIB_PYTHON
    cargo build --release --manifest-path "$MANIFEST"
else
    # Already in a private namespace (the re-run below, or started in one): no registry here; the
    # build is a no-op after the one above, and i2plib's install only checks its stamp.
    CARGO_NET_OFFLINE=true cargo build --release --manifest-path "$MANIFEST"
    : "${SAM_I2PLIB_PYTHON:=$("$ROOT/testbed/install-i2plib.sh" | tail -n1)}"
fi
if needs_private_netns; then
    reexec_in_private_netns "$ROOT/scripts/peer-bench.sh" "$@"
fi
in_private_netns && ip link set lo up 2>/dev/null || true

DIR=""
trap '[ -z "$DIR" ] || testbed_stop "$DIR"' EXIT

# A safety net only, should a client hang outside its own timeouts (each cycle has 60 s, the
# warm-up 90 s): far above what a healthy run takes (CYCLES cycles at a few per second).
RUN_TIMEOUT=$((600 + CYCLES * 3))

run_client() { # BRIDGE ROUND CLIENT CONNECTORS JSONL LOG [CYCLES]
    local bridge=$1 round=$2 client=$3 connectors=$4 jsonl=$5 log=$6 line rc=0 cmd
    local CYCLES=${7:-$CYCLES}
    case $client in
        i2plib) cmd=("$SAM_I2PLIB_PYTHON" "$I2PLIB_CYCLES") ;;
        *) cmd=("$BENCH" --client "$client") ;;
    esac
    cmd+=(--cycles "$CYCLES" --connectors "$connectors")
    echo "--- round $round: $client, $CYCLES cycles, $connectors connector(s)" >> "$log"
    line=$(timeout --kill-after=10 "$RUN_TIMEOUT" "${cmd[@]}" 2>> "$log") || rc=$?
    line=$(grep '^{' <<< "$line" | tail -n1 || true)
    if [ -z "$line" ]; then
        # No figures at all (the sessions failed, or the safety net fired): recorded as such.
        line="{\"client\":\"$client\",\"cycles\":$CYCLES,\"connectors\":$connectors,\"failed\":$rc}"
    fi
    line="{\"bridge\":\"$bridge\",\"round\":$round,\"exit\":$rc,${line#\{}"
    echo "$line" | tee -a "$jsonl"
    return 0
}

run_bridge() { # BRIDGE
    local bridge=$1 port jsonl log round i client connectors
    port=$(port_of "$bridge")
    DIR=$ROOT/target/peer-bench-$bridge
    jsonl=$ROOT/target/peer-bench-$bridge.jsonl
    log=$ROOT/target/peer-bench-$bridge.log
    : > "$jsonl"; : > "$log"; : > "$ROOT/target/peer-bench-$bridge.safety.jsonl"
    LAST_RUN=start
    lock_testbed_dir "$DIR"
    header "$bridge: start a private testbed on 127.0.0.1:$port"
    TESTBED_STARTED=1                      # set first: an interrupted start is cleaned up too
    "$TESTBED" start "$DIR" "$port" --bridge "$bridge" 9>&-
    export_bridge_env "$DIR"
    for ((round = 1; round <= ROUNDS; round++)); do
        header "$bridge: round $round of $ROUNDS"
        for i in 0 1 2; do
            client=${CLIENTS[$(((round - 1 + i) % 3))]}
            for connectors in 1 "$CONNECTORS"; do
                ensure_bridge "$bridge" "$port" "$jsonl" "$log"
                run_client "$bridge" "$round" "$client" "$connectors" "$jsonl" "$log"
                LAST_RUN="round $round, $client, $connectors connector(s)"
            done
        done
    done
    ensure_bridge "$bridge" "$port" "$jsonl" "$log"
    if [ "$SAFETY" -gt 0 ]; then
        LAST_RUN=start   # the final ensure_bridge above gave it a fresh router where needed
        header "$bridge: safety, sam-tokio, $SAFETY cycles in a row"
        RUN_TIMEOUT=$((600 + SAFETY)) run_client "$bridge" 0 sam-tokio 1 "$ROOT/target/peer-bench-$bridge.safety.jsonl" "$log" "$SAFETY"
        local r1 alive=no hello=no
        r1=$(sed -n 's/^R1_PID=//p' "$DIR/env" | tail -1)
        [ -n "$r1" ] && kill -0 "$r1" 2>/dev/null && alive=yes
        [[ $(sam_hello_line "$port") == "HELLO REPLY RESULT=OK"* ]] && hello=yes
        echo "{\"bridge\":\"$bridge\",\"router_alive\":\"$alive\",\"hello_after\":\"$hello\"}" \
            | tee -a "$ROOT/target/peer-bench-$bridge.safety.jsonl"
    fi
    testbed_stop "$DIR"
    DIR=""
}

# i2pd's SAM thread can die when a client's sessions end (seen with i2plib, yosemite and raw
# sockets on 2.45.1 and 2.59; testbed/bridge-notes.md): a dead bridge is recorded against the run
# before it and the SAM router restarted (same keys and port), so the next client gets a bridge.
LAST_RUN="start"
# i2pd 2.59 corrupts its heap when a session that carried streams is closed and dies at a later
# SESSION CREATE or stream (bridge-notes.md, "Fast accepts"), and i2pd 2.45.1's SAM died at the
# start of the run after i2plib's 200 cycles: every run gets a freshly started SAM router (kill -9
# and start again, same keys and port), so each client meets the same bridge. One that does not
# answer HELLO before the restart is recorded against the run before.
ensure_bridge() { # BRIDGE PORT JSONL LOG
    [ "$LAST_RUN" = start ] && return 0
    if [[ $(sam_hello_line "$2") != "HELLO REPLY RESULT=OK"* ]]; then
        echo "{\"bridge\":\"$1\",\"bridge_crash_after\":\"$LAST_RUN\"}" | tee -a "$3"
    fi
    echo "--- a fresh SAM router for the next run" >> "$4"
    "$TESTBED" restart-sam "$DIR" 9>&- >> "$4" 2>&1
}

sam_hello_line() { # PORT
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'HELLO VERSION MIN=3.0 MAX=3.1\n' >&3 && timeout 2 head -n1 <&3" 2>/dev/null || true
}

# The verdict of one bridge's safety run: every cycle intact, no error, the fd count unchanged,
# the router alive.
safety_line() { # BRIDGE
    python3 - "$ROOT/target/peer-bench-$1.safety.jsonl" "$1" <<'PY'
import json, sys
path, bridge = sys.argv[1:3]
lines = [json.loads(l) for l in open(path) if l.strip()]
run = next((l for l in lines if l.get("client") == "sam-tokio"), {})
state = next((l for l in lines if "router_alive" in l), {})
ok = (run.get("intact") == run.get("cycles") and run.get("errors") == 0
      and run.get("fds_before") is not None and run.get("fds_before") == run.get("fds_after")
      and state.get("router_alive") == "yes" and state.get("hello_after") == "yes")
print(f"- {bridge} safety: {run.get('intact')}/{run.get('cycles')} cycles intact (SHA-256), "
      f"{run.get('errors')} errors, {run.get('rate')} cycles/s, client fds {run.get('fds_before')} → "
      f"{run.get('fds_after')}, router alive after: {state.get('router_alive')}, "
      f"HELLO after: {state.get('hello_after')}: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
}

# The table of one bridge from its JSON lines (medians over the rounds; a run without figures
# counts in the footnote, not in the medians).
table() { # BRIDGE JSONL VERSION
    python3 - "$@" <<'PY'
import json, statistics, sys

bridge, path, version = sys.argv[1:4]
lines = [json.loads(line) for line in open(path) if line.strip()]
runs = [r for r in lines if "client" in r]
clients = ["sam-tokio", "i2plib", "yosemite"]


def figures(client, connectors, key):
    return [r[key] for r in runs
            if r["client"] == client and r["connectors"] == connectors and r.get(key) is not None]


def rate_cell(rates):
    if not rates:
        return "–"
    return f"{statistics.median(rates):.1f} ({min(rates):.1f}–{max(rates):.1f})"


def median(values):
    return statistics.median(values) if values else None


seq = {c: figures(c, 1, "rate") for c in clients}
par = {c: [r["rate"] for r in runs if r["client"] == c and r["connectors"] != 1
           and r.get("rate") is not None] for c in clients}
base_seq, base_par = median(seq["i2plib"]), median(par["i2plib"])
print(f"**{bridge}** (i2pd {version}): cycles/s are the median over the rounds (min–max); "
      f"p50 is the median of the sequential runs' p50.")
print()
print("| client | cycles/s sequential | p50, ms | cycles/s 8 connectors | ratio to i2plib (seq / 8) |")
print("|---|---|---|---|---|")
for c in clients:
    p50 = median(figures(c, 1, "p50_ms"))
    ratio = []
    for mine, base in ((median(seq[c]), base_seq), (median(par[c]), base_par)):
        ratio.append(f"{mine / base:.2f}" if mine is not None and base else "–")
    p50_cell = f"{p50:.1f}" if p50 is not None else "–"
    print(f"| {c} | {rate_cell(seq[c])} | {p50_cell} | {rate_cell(par[c])} | {' / '.join(ratio)} |")
notes = []
for r in lines:
    if "bridge_crash_after" in r:
        notes.append(f"the bridge's SAM stopped answering after: {r['bridge_crash_after']} "
                     f"(restarted for the next run)")
        continue
    if "failed" in r:
        notes.append(f"round {r['round']}, {r['client']}, {r['connectors']} connector(s): "
                     f"no figures (exit {r['failed']})")
    elif r.get("errors"):
        notes.append(f"round {r['round']}, {r['client']}, {r['connectors']} connector(s): "
                     f"{r['errors']} of {r['cycles']} cycles failed")
if notes:
    print()
    for note in notes:
        print(f"- {note}")
PY
}

header "peer benchmark on: $BRIDGES (ROUNDS=$ROUNDS, CYCLES=$CYCLES)"
for bridge in $BRIDGES; do
    run_bridge "$bridge"
done

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- sam-tokio sam-proto 2>/dev/null || rev="$rev + local changes"
md=$ROOT/target/peer-bench.md
{
    echo "Peer benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs (${cpu:-unknown model})."
    echo "Each cycle: connect, 1 KiB echo (SHA-256 checked), close; ROUNDS=$ROUNDS rounds of"
    echo "CYCLES=$CYCLES cycles per client, sequential and with $CONNECTORS connectors; zero-hop tunnels."
    echo "Clients: sam-tokio (git $rev), i2plib 0.0.14 ($("$SAM_I2PLIB_PYTHON" --version 2>&1)),"
    echo "yosemite $(awk '/^name = "yosemite"/ { getline; gsub(/[^0-9.]/, ""); print }' \
        "$ROOT/testbed/peer-bench/Cargo.lock")."
    for bridge in $BRIDGES; do
        echo
        table "$bridge" "$ROOT/target/peer-bench-$bridge.jsonl" \
            "$(sed -n 's/^SAM_BRIDGE_VERSION=//p' "$ROOT/target/peer-bench-$bridge/env" | tail -1)"
    done
    if [ "$SAFETY" -gt 0 ]; then
        echo
        for bridge in $BRIDGES; do safety_line "$bridge" || true; done
    fi
} > "$md"
header "summary (target/peer-bench.md)"
cat "$md"
failed=0
for bridge in $BRIDGES; do
    n=$(grep -c '"exit":[1-9]' "$ROOT/target/peer-bench-$bridge.jsonl" || true)
    failed=$((failed + n))
    if [ "$SAFETY" -gt 0 ] && ! safety_line "$bridge" >/dev/null; then failed=$((failed + 1)); fi
done
if [ "$failed" = 0 ]; then echo "==== peer-bench.sh: OK in $(since "$T_ALL") s"
else echo "==== peer-bench.sh: $failed run(s) with errors (see the notes above) after $(since "$T_ALL") s"; fi
[ "$failed" = 0 ]
