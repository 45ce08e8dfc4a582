"""The peer benchmark's i2plib side: what `peer-bench` (src/main.rs) measures for sam-tokio and
yosemite, done with i2plib 0.0.14 (the original Python SAM client). scripts/peer-bench.sh runs it
with the python of the venv made by testbed/install-i2plib.sh:

    i2plib_cycles.py [--cycles N] [--connectors C]

Two STREAM sessions, a server and a client, with the tunnel options in SAM_SESSION_OPTIONS (k=v
words) on the bridge at SAM_ADDR. The server accepts one stream at a time in a loop and echoes each
on a task of its own. After one warm-up cycle, C connectors run N cycles in all, each connector one
cycle after another. A cycle: connect, write 1 KiB of random bytes, read the echo back, compare
SHA-256, close. Prints the same JSON line as peer-bench on stdout (diagnostics on stderr):

    {"client":"i2plib","cycles":..,"connectors":..,"seconds":..,"rate":..,"p50_ms":..,"p99_ms":..,
     "intact":..,"errors":..}

`rate` counts intact cycles only; p50/p99 are over them. Exit 0 when every cycle was intact, 1 when
some failed (the JSON line is printed all the same) or the sessions could not be made, 2 on bad
arguments.

The SAM side is i2plib's own API, as testbed/i2plib_peer.py uses it (imported from there: its
session setup and its shim for i2plib's `loop=` arguments on Python >= 3.10, kept in one place):
new_destination + Session, stream_accept (then the peer line, as i2plib's ServerTunnel reads it),
stream_connect to a Destination object (so i2plib does no NAMING LOOKUP).
"""

import argparse
import asyncio
import hashlib
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import i2plib_peer  # noqa: E402 -- on import, wraps asyncio for i2plib 0.0.14 on Python >= 3.10

import i2plib  # noqa: E402

PAYLOAD = 1024  # bytes written and echoed per cycle
CYCLE_TIMEOUT = 60  # s: a longer cycle counts as an error (a stalled stream must not hang the run)
WARM_UP_DEADLINE = 90  # s: the server's lease set may not be known to the router at once


def log(msg):
    print(f"i2plib_cycles: {msg}", file=sys.stderr, flush=True)


async def echo(reader, writer):
    """The server side of a stream: echo everything until the peer closes, then close."""
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError) as e:
        log(f"echo: {type(e).__name__}: {e}")  # the connector sees it too and counts it
    finally:
        writer.close()


async def serve(session_name, sam, tasks):
    """Accepts one stream at a time and echoes each on a task of its own."""
    while True:
        reader, writer = await i2plib.stream_accept(session_name, sam_address=sam)
        # The bridge writes the peer line when a stream arrives; the stream's bytes follow it.
        line = await reader.readline()
        if not line.endswith(b"\n"):
            writer.close()
            raise ConnectionError(f"the accept socket closed before the peer line: {line[:80]!r}")
        task = asyncio.create_task(echo(reader, writer))
        tasks.add(task)  # asyncio keeps only weak references to tasks
        task.add_done_callback(tasks.discard)


async def cycle(session_name, target, sam):
    """Connect, write PAYLOAD random bytes, read the echo, compare SHA-256, close."""
    sent = os.urandom(PAYLOAD)  # random: the bridge may compress stream data
    reader, writer = await i2plib.stream_connect(session_name, target, sam_address=sam)
    try:
        writer.write(sent)
        await writer.drain()
        echoed = await reader.readexactly(PAYLOAD)
        if hashlib.sha256(echoed).digest() != hashlib.sha256(sent).digest():
            raise ValueError("the echo differs from what was sent (SHA-256)")
    finally:
        writer.close()
    await writer.wait_closed()


async def warm_up(session_name, target, sam):
    """One cycle, retried until it passes: the router then knows the server's lease set."""
    start = time.monotonic()
    while True:
        try:
            await asyncio.wait_for(cycle(session_name, target, sam), CYCLE_TIMEOUT)
            return
        except Exception as e:  # noqa: BLE001 -- any failure of the warm-up is retried
            if time.monotonic() - start > WARM_UP_DEADLINE:
                raise RuntimeError(f"warm-up cycle still failing after {WARM_UP_DEADLINE} s: {e!r}")
            log(f"warm-up cycle failed ({type(e).__name__}: {e}): once more in 1 s")
            await asyncio.sleep(1)


async def measure(session_name, target, sam, cycles, connectors):
    """`cycles` cycles shared by `connectors` tasks, each running its cycles one after another."""
    handed_out = 0
    latencies, errors = [], 0

    async def connector():
        nonlocal handed_out, errors
        # Cycles are handed out one by one (one thread: no lock), so no connector idles at the end.
        while handed_out < cycles:
            handed_out += 1
            t = time.perf_counter()
            try:
                await asyncio.wait_for(cycle(session_name, target, sam), CYCLE_TIMEOUT)
                latencies.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 -- counted, and the run goes on
                errors += 1
                log(f"cycle failed: {type(e).__name__}: {e}")

    start = time.perf_counter()
    await asyncio.gather(*(connector() for _ in range(connectors)))
    return time.perf_counter() - start, sorted(latencies), errors


def percentile_ms(sorted_secs, p):
    """Nearest-rank percentile p (0..1) in ms, or None without data (as peer-bench does)."""
    if not sorted_secs:
        return None
    rank = min(max(math.ceil(p * len(sorted_secs)), 1), len(sorted_secs))
    return sorted_secs[rank - 1] * 1000


def json_line(cycles, connectors, seconds, latencies, errors):
    """The same line, with the same number formats, as peer-bench prints."""
    ms = lambda v: "null" if v is None else f"{v:.1f}"  # noqa: E731
    rate = len(latencies) / seconds if seconds > 0 else 0.0
    return (
        f'{{"client":"i2plib","cycles":{cycles},"connectors":{connectors},"seconds":{seconds:.3f},'
        f'"rate":{rate:.2f},"p50_ms":{ms(percentile_ms(latencies, 0.50))},'
        f'"p99_ms":{ms(percentile_ms(latencies, 0.99))},"intact":{len(latencies)},"errors":{errors}}}'
    )


async def run(cycles, connectors):
    sam = i2plib_peer.sam_address()
    t0 = time.monotonic()
    # Both sessions at once: building their tunnels is most of the wait (not measured).
    (server, server_dest), (client, _) = await asyncio.gather(
        i2plib_peer.open_session(sam), i2plib_peer.open_session(sam)
    )
    tasks = set()
    serving = asyncio.create_task(serve(server.session_name, sam, tasks))
    try:
        log(f"sessions ready in {time.monotonic() - t0:.1f} s")
        await warm_up(client.session_name, server_dest, sam)
        log(f"warm-up done after {time.monotonic() - t0:.1f} s")
        seconds, latencies, errors = await measure(
            client.session_name, server_dest, sam, cycles, connectors
        )
        log(f"{cycles} cycles, {connectors} connector(s): {len(latencies)} intact, {errors} errors "
            f"in {seconds:.2f} s")
        return json_line(cycles, connectors, seconds, latencies, errors), errors
    finally:
        serving.cancel()
        for session in (client, server):
            await session.__aexit__(None, None, None)


def positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"wants a positive number, not {text!r}")
    return value


def main(argv):
    parser = argparse.ArgumentParser(description="connect + accept + 1 KiB echo cycles with i2plib")
    parser.add_argument("--cycles", type=positive, default=200)
    parser.add_argument("--connectors", type=positive, default=1)
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    try:
        line, errors = asyncio.run(run(args.cycles, args.connectors))
    except Exception as e:  # noqa: BLE001 -- the script wants the reason on stderr and exit 1
        log(f"error: {type(e).__name__}: {e}")
        return 1
    print(line, flush=True)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
