"""An i2plib peer for the interop tests (testbed/kit/tests/i2plib_interop.rs).

Run with the python of the venv made by testbed/install-i2plib.sh (i2plib 0.0.14, the original Python
SAM client, https://github.com/l-n-s/i2plib):

    i2plib_peer.py accept N          session, print DEST, accept one stream, read N bytes, echo them back
    i2plib_peer.py connect DEST N    session, connect to DEST (full base64), send N random bytes, read the
                                     echo, check it

Environment:
    SAM_ADDR             host:port of the SAM bridge (required)
    SAM_SESSION_OPTIONS  space-separated k=v tunnel options for SESSION CREATE (empty: bridge defaults)
    I2PLIB_PEER_TIMEOUT  seconds before giving up (default 90)

stdout (machine-readable, one line each, read by the Rust test):
    DEST <base64>        our destination, as soon as the session exists
    PEER <base64>        (accept) the destination that connected, from the bridge's accept line
    OK <sha256hex> <n>   the n bytes received (accept) / echoed back (connect), all checked
stderr: diagnostics.  Exit 0 on success, 1 on any error, 2 on timeout.

Everything SAM goes through i2plib's own API: new_destination (DEST GENERATE), Session (SESSION CREATE),
stream_accept, stream_connect.  What i2plib leaves to its user is done here the way its own ServerTunnel
does it: after stream_accept's `STREAM STATUS RESULT=OK`, the first line on the socket is the peer's
destination (optionally followed by ports), and stream data follows it.

Datagrams: i2plib 0.0.14 has NO datagram API.  create_session accepts style="DATAGRAM"/"RAW", but there
is no function to send or receive a datagram, no UDP socket and no DATAGRAM SEND/RECEIVED handling.  A
datagram test would put our own hand-written SAM UDP framing on the wire, which tests this script, not
i2plib, so this peer does streams only.

Our own destination: i2plib's create_session parses the bridge's DESTINATION= reply but does not return
it (only the control socket's reader/writer).  So, like i2plib's own tunnels (I2PTunnel._pre_run), we ask
for a destination first with new_destination() and pass it to the Session; we know it then.
"""

import asyncio
import functools
import hashlib
import os
import sys
import time

import i2plib
import i2plib.utils

# ---------------------------------------------------------------------------------------------- the shim
# i2plib 0.0.14 (2019) passes `loop=` to asyncio functions.  Python 3.10 removed that parameter from
# several of them; passing it (even loop=None, i2plib's default) is then a TypeError (open_connection
# forwards it to loop.create_connection: "unexpected keyword argument 'loop'").  The calls in the installed
# source (grep -n 'loop=self.loop\|loop=loop' in site-packages/i2plib/*.py):
#   aiosam.py  asyncio.open_connection(*sam_address, loop=loop)   <- every SAM socket (get_sam_socket)
#   tunnel.py  asyncio.start_server(..., loop=self.loop)          <- ClientTunnel (not used here)
#   tunnel.py  asyncio.wait_for(asyncio.open_connection(..., loop=self.loop), timeout=5, loop=self.loop)
#   tunnel.py  asyncio.ensure_future(..., loop=self.loop)         <- still accepts loop=: not shimmed
# So exactly open_connection, start_server and wait_for are wrapped to drop `loop` when it is None or the
# running loop (which is all i2plib ever passes when called from a coroutine), and to refuse another loop.
# i2plib looks these up as `asyncio.X` at call time, so patching the module attributes is enough.
SHIMMED = ("open_connection", "start_server", "wait_for")


def _drop_loop(fn):
    @functools.wraps(fn)
    def wrapper(*args, loop=None, **kwargs):
        if loop is not None and loop is not asyncio.get_running_loop():
            raise RuntimeError("i2plib shim: loop= names another event loop than the running one")
        return fn(*args, **kwargs)

    return wrapper


if sys.version_info >= (3, 10):
    for _name in SHIMMED:
        setattr(asyncio, _name, _drop_loop(getattr(asyncio, _name)))

# ------------------------------------------------------------------------------------------------- peer


def log(msg):
    print(f"i2plib_peer[{os.getpid()}] {time.monotonic() - T0:6.2f}s: {msg}", file=sys.stderr, flush=True)


def out(line):
    print(line, flush=True)


T0 = time.monotonic()
EOF_WAIT = 20  # seconds the accept side waits for the peer's close after echoing


def sam_address():
    value = os.environ.get("SAM_ADDR")
    if not value:
        raise SystemExit("i2plib_peer: SAM_ADDR (host:port of the SAM bridge) is not set")
    return i2plib.utils.address_from_string(value)


def session_options():
    """SAM_SESSION_OPTIONS as i2plib's options dict (it joins them back as `k=v k=v`)."""
    opts = {}
    for item in os.environ.get("SAM_SESSION_OPTIONS", "").split():
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"i2plib_peer: SAM_SESSION_OPTIONS item without '=': {item!r}")
        opts[key] = value
    return opts


async def open_session(sam):
    """new_destination + Session: returns (session context, our Destination)."""
    dest = await i2plib.new_destination(sam_address=sam)
    name = i2plib.utils.generate_session_id()
    log(f"SESSION CREATE {name} {dest.base32}.b32.i2p options={session_options()}")
    session = i2plib.Session(name, sam_address=sam, destination=dest, options=session_options())
    await session.__aenter__()
    log(f"session {name} ready")
    return session, dest


async def accept(n):
    sam = sam_address()
    session, dest = await open_session(sam)
    try:
        out(f"DEST {dest.base64}")
        reader, writer = await i2plib.stream_accept(session.session_name, sam_address=sam)
        log("STREAM ACCEPT: waiting for a peer")
        # The peer line: "<base64 dest>[ FROM_PORT=.. TO_PORT=..]\n", then the stream's bytes (ServerTunnel
        # splits one read on b"\n"; readline does the same and keeps the rest buffered).
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise ConnectionError(f"the accept socket closed before the peer line: {line[:80]!r}")
        peer = i2plib.Destination(line.decode().split()[0])
        log(f"accepted {peer.base32}.b32.i2p")
        out(f"PEER {peer.base64}")
        data = await reader.readexactly(n)
        log(f"read {n} bytes: echoing")
        writer.write(data)
        await writer.drain()
        out(f"OK {hashlib.sha256(data).hexdigest()} {n}")
        # Wait for the peer to close first: closing our SAM socket right after the write could make the
        # bridge drop the stream before the echo left it.  Bounded: whether a close arrives at all is up
        # to the bridges (the peer has the echo once it closes; the Rust test closes after our OK line).
        try:
            rest = await asyncio.wait_for(reader.read(), EOF_WAIT)
        except asyncio.TimeoutError:
            log(f"no EOF from the peer within {EOF_WAIT} s: closing anyway")
        else:
            if rest:
                raise ConnectionError(f"{len(rest)} unexpected bytes after the {n} echoed")
            log("the peer closed the stream")
        writer.close()
    finally:
        await session.__aexit__(None, None, None)


async def connect(dest_b64, n):
    sam = sam_address()
    target = i2plib.Destination(dest_b64)  # an object: i2plib then does no NAMING LOOKUP
    session, dest = await open_session(sam)
    try:
        out(f"DEST {dest.base64}")
        attempt = 0
        while True:
            attempt += 1
            try:
                reader, writer = await i2plib.stream_connect(session.session_name, target, sam_address=sam)
                break
            except (i2plib.CantReachPeer, i2plib.PeerNotFound, i2plib.Timeout) as e:
                # a fresh LeaseSet may not be in the floodfill yet: retry until the overall timeout
                log(f"connect attempt {attempt} to {target.base32}.b32.i2p: {type(e).__name__}; retrying")
                await asyncio.sleep(min(attempt, 5))
        log(f"connected to {target.base32}.b32.i2p after {attempt} attempt(s): sending {n} bytes")
        data = os.urandom(n)
        writer.write(data)
        _, echo = await asyncio.gather(writer.drain(), reader.readexactly(n))
        if echo != data:
            bad = next(i for i in range(n) if echo[i] != data[i])
            raise ValueError(f"echo differs from what was sent, first at byte {bad}")
        out(f"OK {hashlib.sha256(echo).hexdigest()} {n}")
        writer.close()
    finally:
        await session.__aexit__(None, None, None)


def main(argv):
    usage = "usage: i2plib_peer.py accept N | connect DEST N"
    if len(argv) == 2 and argv[0] == "accept":
        job = accept(int(argv[1]))
    elif len(argv) == 3 and argv[0] == "connect":
        job = connect(argv[1], int(argv[2]))
    else:
        raise SystemExit(usage)
    timeout = float(os.environ.get("I2PLIB_PEER_TIMEOUT", "90"))
    log(f"i2plib {i2plib.__version__} on Python {sys.version.split()[0]}, SAM {os.environ.get('SAM_ADDR')}")
    try:
        asyncio.run(asyncio.wait_for(job, timeout))
    except asyncio.TimeoutError:
        log(f"timeout: gave up after {timeout:.0f} s")
        return 2
    except Exception as e:  # noqa: BLE001 -- the test wants the reason on stderr and exit 1
        log(f"error: {type(e).__name__}: {e}")
        return 1
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
