#!/usr/bin/env python3
"""delay_relay.py: one-way delay with jitter on the TCP links between the testbed's routers.

This kernel has no `sch_netem` ("Specified qdisc kind is unknown", and no modules to load), so
the realistic network puts the delay in user space: every router publishes an address on which
this relay listens, and the relay forwards to the router's real (bound) address, holding each
chunk for DELAY +- JITTER milliseconds in each direction.  Chunks are never reordered (a TCP
stream cannot be): a chunk leaves no earlier than the one before it.  Packet loss is real and
comes from the kernel (iptables `statistic`, set up by start-realistic.sh), not from here.

The relay connects to the router from the caller's *published* address (it binds the source),
so the router sees the same address as the one in the peer's RouterInfo, as on a real network.

    delay_relay.py --delay-ms 40 --jitter-ms 20 --stats FILE \
        PUBLISHED_IP:PORT=BOUND_IP:PORT ...  [--map BOUND_IP=PUBLISHED_IP ...]
"""
import argparse
import asyncio
import json
import random
import signal
import sys

HIGH_WATER = 4 * 1024 * 1024  # bytes held per direction before reading pauses (backpressure)


class Stats:
    def __init__(self):
        self.connections = 0
        self.bytes = 0
        self.chunks = 0
        self.unmapped_sources = 0

    def dump(self, path):
        if path:
            with open(path, "w") as f:
                json.dump(self.__dict__, f)


async def pump(reader, writer, delay, jitter, stats):
    """Copy reader -> writer, each chunk due at max(previous due, now + delay +- jitter)."""
    queue = asyncio.Queue()
    held = 0
    room = asyncio.Event()
    room.set()
    loop = asyncio.get_running_loop()

    async def sender():
        nonlocal held
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            held -= len(chunk)
            if held < HIGH_WATER:
                room.set()
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.create_task(sender())
    last_due = 0.0
    try:
        while True:
            await room.wait()
            chunk = await reader.read(65536)
            if not chunk:
                break
            d = max(0.0, delay + random.uniform(-jitter, jitter))
            last_due = max(last_due, loop.time() + d)
            held += len(chunk)
            stats.bytes += len(chunk)
            stats.chunks += 1
            if held >= HIGH_WATER:
                room.clear()
            queue.put_nowait((last_due, chunk))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((0.0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, target, source_map, delay, jitter, stats):
    peer_ip = client_writer.get_extra_info("peername")[0]
    source = source_map.get(peer_ip)
    if source is None:
        stats.unmapped_sources += 1
    try:
        up_reader, up_writer = await asyncio.open_connection(
            target[0], target[1], local_addr=(source, 0) if source else None
        )
    except OSError as e:
        print(f"delay_relay: connect {target} from {source}: {e}", file=sys.stderr)
        client_writer.close()
        return
    stats.connections += 1
    await asyncio.gather(
        pump(client_reader, up_writer, delay, jitter, stats),
        pump(up_reader, client_writer, delay, jitter, stats),
    )
    for w in (up_writer, client_writer):
        w.close()


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("links", nargs="+", help="PUBLISHED_IP:PORT=BOUND_IP:PORT")
    p.add_argument("--map", action="append", default=[], help="BOUND_IP=PUBLISHED_IP (source to bind)")
    p.add_argument("--delay-ms", type=float, default=40.0)
    p.add_argument("--jitter-ms", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stats", default=None, help="JSON counters written every second and at exit")
    a = p.parse_args()
    if a.jitter_ms > a.delay_ms:
        p.error("--jitter-ms must not exceed --delay-ms")
    random.seed(a.seed)
    source_map = dict(m.split("=", 1) for m in a.map)
    delay, jitter = a.delay_ms / 1000.0, a.jitter_ms / 1000.0
    stats = Stats()
    servers = []
    for link in a.links:
        listen, target = link.split("=", 1)
        lhost, lport = addr(listen)
        tgt = addr(target)
        servers.append(
            await asyncio.start_server(
                lambda r, w, tgt=tgt: handle(r, w, tgt, source_map, delay, jitter, stats),
                lhost,
                lport,
                reuse_address=True,
            )
        )
    print(f"delay_relay: {len(servers)} links, {a.delay_ms}+-{a.jitter_ms} ms each way", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    while not stop.is_set():
        stats.dump(a.stats)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    stats.dump(a.stats)


if __name__ == "__main__":
    asyncio.run(main())
