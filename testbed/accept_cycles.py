#!/usr/bin/env python3
"""accept_cycles.py - connect + accept + 1 KiB echo cycles against a SAM bridge, over raw sockets.

Written to reproduce (and rule in or out) the crash of i2pd 2.45.1's SAM thread that appeared when
a client set TCP_QUICKACK on its accept sockets, and to measure the ways of accepting streams fast.
It speaks SAM v3 directly (no library of this project), Python 3.11 standard library only.

usage:
  accept_cycles.py [--env DIR] [--port PORT] [--cycles N] [--quickack] [--accept-sockets K]
                   [--forward] [--concurrency C] [--pace-ms MS] [--max-version 3.1|3.3] ...

  --env DIR            read SAM_TCP_PORT, SAM_SESSION_OPTIONS, SAM_VERSION_MAX and R1_PID from DIR/env
                       (written by `testbed/testbed.sh start DIR ...`); explicit options win
  --port PORT          SAM TCP port on 127.0.0.1 (default 17756)
  --max-version V      HELLO VERSION MIN=3.0 MAX=V (default 3.1; 3.3 works on newer i2pd)
  --options "K=V ..."  session tunnel options (default: zero-hop, as the testbed needs)
  --cycles N           measured cycles (default 1000), after one unmeasured warm-up cycle
  --quickack           set TCP_QUICKACK on the accept socket (or forwarded socket) before every
                       recv() of the handshake (HELLO reply, ACCEPT status, peer line); Linux clears
                       the flag again after it has sent an ACK, so it is re-armed before each read
  --accept-sockets K   K accept sockets outstanding at once (K > 1: several STREAM ACCEPTs pending
                       on one session at the same time; default 1)
  --forward            accept through one `STREAM FORWARD ... PORT=<local listener>` instead of
                       STREAM ACCEPT; every stream arrives as a new TCP connection to the listener
                       whose first line is the peer's destination
  --concurrency C      C connecting threads (default 1 = sequential cycles)
  --pace-ms MS         start cycles at least MS ms apart (all connectors together) to hold the
                       rate down, e.g. 43 = the rate without QUICKACK
  --echo-inline        the acceptor does the echo itself before it arms the next accept
                       (default: the accepted stream is handed to a thread and the next accept is
                       armed at once, as the library's acceptor does)
  --close-after-peer   the acceptor closes each accepted stream right after the peer line (no
                       echo; the connector then counts EOF as the expected outcome)
  --quickack-connector also re-arm TCP_QUICKACK before the connector's handshake reads (HELLO
                       reply, CONNECT status), as a client library setting it on every handshake does
  --abrupt-teardown    at the end close the two session sockets first, while the accepts are still
                       outstanding (and echo threads may still run), and only then the accept sockets
  --cancel-accepts M   before the cycles, M cancelled accepts on the server session, one after the
                       other: new socket, HELLO, STREAM ACCEPT, status line, wait --cancel-after-ms,
                       close (like the e2e test "hundred cancelled accepts then one that works")
  --cancel-during      keep doing such cancelled accepts in a thread while the cycles run (this
                       makes a second ACCEPT outstanding now and then: streams may get lost)
  --cancel-after-ms MS how long a cancelled accept waits before its socket is closed (default 10)
  --router-pid PID     watch this process: a run stops early when it dies
  --timeout S          per-step socket timeout (default 10 s)
  --max-errors M       stop the run after M errors in a row (default 30)
  --json FILE          also append the summary as one JSON line to FILE

A cycle (measured at the connector): new TCP socket, HELLO, STREAM CONNECT ID=<client>
DESTINATION=<server dest> SILENT=false, status line, write 1024 random bytes, read 1024 bytes back,
compare SHA-256, close.  The accepting side: new socket, HELLO, STREAM ACCEPT ID=<server>
SILENT=false, status line, peer line (the connector's destination, possibly followed by
FROM_PORT=.. TO_PORT=..), read 1024 bytes, write them back, close.

Prints cycles/s, p50/p99/max cycle latency, intact echoes, errors by kind, the client's open fd
count before and after, whether the router PID is alive and whether the bridge still answers HELLO
after the run, and a final line `RESULT {json}`.  Exit status: 0 if all cycles were intact and the
bridge still answers, 1 otherwise.

example (testbed on 17756):
  testbed/accept_cycles.py --env /tmp/crash245 --cycles 3000 --quickack
  testbed/accept_cycles.py --env /tmp/crash259 --forward --concurrency 8
"""
import argparse
import collections
import hashlib
import json
import os
import secrets
import socket
import sys
import threading
import time

ECHO = 1024                                   # bytes per echo
HOST = "127.0.0.1"
DEFAULT_OPTIONS = "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1"
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:8.3f}] {msg}", flush=True)


class Failure(Exception):
    """A cycle step failed; `kind` is the key it is counted under."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class SamSocket:
    """One TCP connection to the bridge with a line buffer.

    If `quickack` is set, TCP_QUICKACK is re-armed before every recv() done by readline(): Linux
    switches quick-ACK mode off by itself after it sent an ACK, so setting it once is not enough.
    """

    def __init__(self, port, timeout, quickack=False, sock=None, name="?"):
        self.name, self.buf, self.quickack = name, b"", quickack
        if sock is None:
            try:
                sock = socket.create_connection((HOST, port), timeout=timeout)
            except ConnectionRefusedError as e:
                raise Failure(f"{name}:refused", str(e))
            except OSError as e:
                raise Failure(f"{name}:connect-{type(e).__name__}", str(e))
        self.s = sock
        self.s.settimeout(timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def arm_quickack(self):
        if self.quickack:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def _recv(self, step):
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            raise Failure(f"{self.name}:timeout@{step}")
        except OSError as e:
            raise Failure(f"{self.name}:{type(e).__name__}@{step}", str(e))
        if not chunk:
            raise Failure(f"{self.name}:EOF@{step}", f"pending {self.buf[:80]!r}")
        return chunk

    def readline(self, step):
        while b"\n" not in self.buf:
            self.arm_quickack()            # before each handshake recv (no-op without --quickack)
            self.buf += self._recv(step)
            if len(self.buf) > 16384:
                raise Failure(f"{self.name}:overlong-line@{step}")
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("ascii", "replace")

    def read_exact(self, n, step):
        while len(self.buf) < n:
            self.buf += self._recv(step)  # stream data: no QUICKACK here, only the handshake
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data, step):
        try:
            self.s.sendall(data)
        except OSError as e:
            raise Failure(f"{self.name}:{type(e).__name__}@{step}", str(e))

    def command(self, line, step):
        """One write of a whole command line, then its one reply line."""
        self.send(line.encode() + b"\n", step)
        return self.readline(step)

    def hello(self, min_v, max_v):
        reply = self.command(f"HELLO VERSION MIN={min_v} MAX={max_v}", "hello")
        if not reply.startswith("HELLO REPLY RESULT=OK"):
            raise Failure(f"{self.name}:hello-refused", reply)
        return reply

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def field(line, key):
    for tok in line.split():
        if tok.startswith(key + "="):
            return tok[len(key) + 1:]
    return None


def hello_ok(port, max_v, timeout=3.0):
    """True if the bridge answers HELLO on a fresh socket (the SAM thread still works)."""
    try:
        s = SamSocket(port, timeout, name="check")
        try:
            s.hello("3.0", max_v)
            return True
        finally:
            s.close()
    except Failure:
        return False


def pid_alive(pid):
    if not pid:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie or a reused PID would fool kill -0: check it is still an i2pd
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def fd_count():
    return len(os.listdir("/proc/self/fd"))


class Run:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.errors = collections.Counter()
        self.latencies = []           # seconds, measured cycles only
        self.intact = 0
        self.peer_mismatch = 0        # accepted stream announced another destination
        self.expected_eof = 0         # --close-after-peer: EOF instead of the echo
        self.stop = threading.Event()
        self.next_cycle = 0           # cycles handed out to connectors
        self.pace_next = 0.0          # earliest start of the next cycle (--pace-ms)
        self.consecutive_errors = 0
        self.stopped_because = None
        self.accepted = 0             # streams the accepting side got
        self.open_accept_socks = set()
        self.handlers = []            # echo threads (joined at the end)
        self.cancelled = 0            # accepts cancelled (--cancel-accepts / --cancel-during)
        self.measuring = False        # --max-errors applies to the measured cycles only
        self.warmup_errors = {}       # errors before the measured cycles (reported apart)

    def error(self, kind):
        with self.lock:
            self.errors[kind] += 1
            self.consecutive_errors += 1
            if self.measuring and self.consecutive_errors >= self.a.max_errors and not self.stop.is_set():
                self.stopped_because = f"{self.consecutive_errors} errors in a row (last: {kind})"
                self.stop.set()

    def ok(self):
        with self.lock:
            self.consecutive_errors = 0

    # ------------------------------------------------------------------------------ sessions
    def create_session(self, sid, out):
        s = SamSocket(self.a.port, 120, name=f"session-{sid}")
        s.hello("3.0", self.a.max_version)
        reply = s.command(f"SESSION CREATE STYLE=STREAM ID={sid} DESTINATION=TRANSIENT {self.a.options}",
                          "session-create")
        if "RESULT=OK" not in reply:
            raise Failure("session-create", reply)
        # our public destination: NAMING LOOKUP NAME=ME on the session socket
        reply = s.command("NAMING LOOKUP NAME=ME", "naming-me")
        pub = field(reply, "VALUE")
        if not pub:
            raise Failure("naming-me", reply)
        out[sid] = (s, pub)

    # ------------------------------------------------------------------------------ accepting side
    def serve_stream(self, conn, first_line):
        """The accepted stream (conn, peer line already read): echo 1024 bytes and close."""
        try:
            dest = first_line.split(" ", 1)[0]
            if dest != self.client_dest:
                with self.lock:
                    self.peer_mismatch += 1
            if self.a.close_after_peer:
                return
            data = conn.read_exact(ECHO, "server-echo-read")
            conn.send(data, "server-echo-write")
        except Failure as f:
            if not self.stop.is_set():
                self.error(f.kind)
        finally:
            conn.close()

    def dispatch(self, conn, line):
        with self.lock:
            self.accepted += 1
        if self.a.echo_inline:
            self.serve_stream(conn, line)
        else:
            t = threading.Thread(target=self.serve_stream, args=(conn, line), daemon=True)
            t.start()
            with self.lock:
                self.handlers.append(t)
                self.handlers = [h for h in self.handlers if h.is_alive()]

    def acceptor(self, slot):
        """Keeps one STREAM ACCEPT outstanding, re-arming it as soon as a stream has arrived."""
        while not self.stop.is_set():
            conn = None
            try:
                conn = SamSocket(self.a.port, None, quickack=self.a.quickack, name="accept")
                conn.s.settimeout(self.a.timeout)
                conn.hello("3.0", self.a.max_version)
                with self.lock:
                    self.open_accept_socks.add(conn)
                status = conn.command(f"STREAM ACCEPT ID={self.server_id} SILENT=false", "accept-status")
                if "RESULT=OK" not in status:
                    raise Failure(f"accept-status:{field(status, 'RESULT')}", status)
                # the peer line arrives when a stream comes in: wait as long as needed
                while True:
                    try:
                        conn.s.settimeout(1.0)
                        line = conn.readline("peer-line")
                        break
                    except Failure as f:
                        if f.kind.endswith("timeout@peer-line") and not self.stop.is_set():
                            continue
                        raise
                conn.s.settimeout(self.a.timeout)
                with self.lock:
                    self.open_accept_socks.discard(conn)
                self.dispatch(conn, line)
                conn = None
            except Failure as f:
                if not self.stop.is_set():
                    self.error(f.kind)
                    time.sleep(0.05)
            finally:
                if conn is not None:
                    with self.lock:
                        self.open_accept_socks.discard(conn)
                    conn.close()

    def forward_listener(self, lsock):
        """Local listener of STREAM FORWARD: each connection = one incoming stream."""
        while not self.stop.is_set():
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.forwarded, args=(c,), daemon=True).start()

    def forwarded(self, c):
        conn = SamSocket(None, self.a.timeout, quickack=self.a.quickack, sock=c, name="forwarded")
        try:
            line = conn.readline("fwd-peer-line")
        except Failure as f:
            if not self.stop.is_set():
                self.error(f.kind)
            conn.close()
            return
        with self.lock:
            self.accepted += 1
        self.serve_stream(conn, line)

    # ------------------------------------------------------------------------------ connecting side
    def cycle(self, measured):
        t = time.monotonic()
        s = SamSocket(self.a.port, self.a.timeout, quickack=self.a.quickack_connector, name="client")
        try:
            s.hello("3.0", self.a.max_version)
            status = s.command(f"STREAM CONNECT ID={self.client_id} DESTINATION={self.server_dest} SILENT=false",
                               "connect-status")
            if "RESULT=OK" not in status:
                raise Failure(f"client:connect-status:{field(status, 'RESULT')}", status)
            payload = secrets.token_bytes(ECHO)
            s.send(payload, "client-echo-write")
            if self.a.close_after_peer:
                try:
                    s.read_exact(1, "client-wait-eof")
                    raise Failure("client:data-instead-of-EOF")
                except Failure as f:
                    if "EOF" not in f.kind and "ConnectionReset" not in f.kind:
                        raise
                    if measured:
                        with self.lock:
                            self.expected_eof += 1
            else:
                back = s.read_exact(ECHO, "client-echo-read")
                if hashlib.sha256(back).digest() != hashlib.sha256(payload).digest():
                    raise Failure("client:echo-mismatch")
                if measured:
                    with self.lock:
                        self.intact += 1
        finally:
            s.close()
        return time.monotonic() - t

    def connector(self):
        while not self.stop.is_set():
            with self.lock:
                if self.next_cycle >= self.a.cycles:
                    return
                self.next_cycle += 1
                wait = 0.0
                if self.a.pace_ms:
                    now = time.monotonic()
                    start = max(now, self.pace_next)
                    self.pace_next = start + self.a.pace_ms / 1000
                    wait = start - now
            if wait > 0:
                time.sleep(wait)
            try:
                dt = self.cycle(True)
                with self.lock:
                    self.latencies.append(dt)
                self.ok()
            except Failure as f:
                self.error(f.kind)
                if f.kind.endswith(":refused"):
                    time.sleep(0.05)

    def cancelled_accept(self):
        """HELLO, STREAM ACCEPT, status line, wait, close: an accept given up before any stream."""
        c = SamSocket(self.a.port, self.a.timeout, quickack=self.a.quickack, name="cancel")
        try:
            c.hello("3.0", self.a.max_version)
            status = c.command(f"STREAM ACCEPT ID={self.server_id} SILENT=false", "cancel-accept-status")
            if "RESULT=OK" not in status:
                raise Failure(f"cancel:accept-status:{field(status, 'RESULT')}", status)
            time.sleep(self.a.cancel_after_ms / 1000)
        finally:
            c.close()
        with self.lock:
            self.cancelled += 1

    def canceller(self):
        while not self.stop.is_set():
            try:
                self.cancelled_accept()
            except Failure as f:
                if not self.stop.is_set():
                    self.error(f.kind)
                    time.sleep(0.05)

    def watchdog(self):
        while not self.stop.wait(0.5):
            if self.a.router_pid and not pid_alive(self.a.router_pid):
                self.stopped_because = f"router pid {self.a.router_pid} died"
                log(f"!!! router pid {self.a.router_pid} is gone (cycle ~{self.next_cycle})")
                self.stop.set()

    # ------------------------------------------------------------------------------ the run
    def main(self):
        a = self.a
        fds_before = fd_count()
        tag = secrets.token_hex(3)
        self.server_id, self.client_id = f"srv{tag}", f"cli{tag}"
        mode = ("forward" if a.forward else f"accept x{a.accept_sockets}") + \
            (" +quickack" if a.quickack else "") + f", {a.concurrency} connector(s)" + \
            (f", pace {a.pace_ms} ms" if a.pace_ms else "") + (", echo inline" if a.echo_inline else "") + \
            (", close after peer line" if a.close_after_peer else "") + \
            (", quickack on connector too" if a.quickack_connector else "") + \
            (", abrupt teardown" if a.abrupt_teardown else "") + \
            (f", {a.cancel_accepts} cancelled accepts first" if a.cancel_accepts else "") + \
            (", cancelled accepts during the cycles" if a.cancel_during else "")
        log(f"SAM 127.0.0.1:{a.port}, HELLO MAX={a.max_version}, options: {a.options!r}; {mode}; "
            f"{a.cycles} cycles; router pid {a.router_pid}; client fds {fds_before}")
        if not hello_ok(a.port, a.max_version):
            log("the bridge does not answer HELLO before the run")
            return self.finish(mode, fds_before, 0.0, bridge_dead_before=True)

        sessions, errs = {}, []

        def make(sid):
            try:
                self.create_session(sid, sessions)
            except Failure as f:
                errs.append(f)
        t = time.monotonic()
        ths = [threading.Thread(target=make, args=(sid,)) for sid in (self.server_id, self.client_id)]
        [th.start() for th in ths]
        [th.join() for th in ths]
        if errs:
            log(f"session creation failed: {errs}")
            self.errors[errs[0].kind] += 1
            return self.finish(mode, fds_before, 0.0)
        self.server_dest, self.client_dest = sessions[self.server_id][1], sessions[self.client_id][1]
        log(f"two sessions in {time.monotonic() - t:.2f} s; server dest {len(self.server_dest)} chars")

        threading.Thread(target=self.watchdog, daemon=True).start()
        if a.cancel_accepts:
            t = time.monotonic()
            for _ in range(a.cancel_accepts):
                try:
                    self.cancelled_accept()
                except Failure as f:
                    self.errors[f.kind] += 1
            log(f"{self.cancelled} cancelled accepts in {time.monotonic() - t:.2f} s")
        threads, fwd_sock, lsock = [], None, None
        if a.forward:
            lsock = socket.socket()
            lsock.bind((HOST, 0))
            lsock.listen(512)
            lport = lsock.getsockname()[1]
            threads.append(threading.Thread(target=self.forward_listener, args=(lsock,), daemon=True))
            fwd_sock = SamSocket(a.port, a.timeout, name="forward")
            fwd_sock.hello("3.0", a.max_version)
            r = fwd_sock.command(f"STREAM FORWARD ID={self.server_id} PORT={lport} HOST={HOST} SILENT=false",
                                 "forward-status")
            if "RESULT=OK" not in r:
                log(f"STREAM FORWARD failed: {r}")
                self.errors["forward-status"] += 1
                return self.finish(mode, fds_before, 0.0)
            log(f"STREAM FORWARD to 127.0.0.1:{lport}: {r}")
        else:
            for k in range(a.accept_sockets):
                threads.append(threading.Thread(target=self.acceptor, args=(k,), daemon=True))
        [th.start() for th in threads]

        if a.cancel_during:
            threads.append(threading.Thread(target=self.canceller, daemon=True))
            threads[-1].start()
        # warm-up (lease-set lookup of the first connect), retried on CANT_REACH_PEER
        for attempt in range(8):
            try:
                dt = self.cycle(False)
                log(f"warm-up cycle: {dt * 1000:.1f} ms")
                break
            except Failure as f:
                log(f"warm-up cycle failed ({f}); retrying in 1 s")
                time.sleep(1)
        else:
            self.errors["warm-up"] += 1
            self.stop.set()
            return self.finish(mode, fds_before, 0.0)
        with self.lock:
            self.warmup_errors = dict(self.errors)
            self.errors.clear()
            self.consecutive_errors = 0
            self.measuring = True
        if self.warmup_errors:
            log(f"errors before the measured cycles: {self.warmup_errors}")

        t = time.monotonic()
        conns = [threading.Thread(target=self.connector, daemon=True) for _ in range(a.concurrency)]
        [c.start() for c in conns]
        last_report = t
        while any(c.is_alive() for c in conns):
            for c in conns:
                c.join(timeout=0.5)
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                log(f"  ... {len(self.latencies)} cycles done, errors {dict(self.errors)}")
        wall = time.monotonic() - t
        self.stop.set()

        # teardown: outstanding accepts, forward, echo threads, then the two sessions
        # (--abrupt-teardown: the sessions first, with the accepts still outstanding)
        if a.abrupt_teardown:
            for s, _ in sessions.values():
                s.close()
        with self.lock:
            pending = list(self.open_accept_socks)
        for c in pending:
            c.close()
        if fwd_sock:
            fwd_sock.close()
        if lsock:
            lsock.close()
        for th in threads:
            th.join(timeout=3)
        for h in list(self.handlers):
            h.join(timeout=3)
        for s, _ in sessions.values():
            s.close()
        return self.finish(mode, fds_before, wall)

    def finish(self, mode, fds_before, wall, bridge_dead_before=False):
        a = self.a
        time.sleep(1.0)                      # let the bridge tear the sessions down first
        hello_after = hello_ok(a.port, a.max_version)
        alive = pid_alive(a.router_pid)
        lat = sorted(self.latencies)

        def pct(p):
            return lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000 if lat else None
        res = {
            "mode": mode, "port": a.port, "quickack": a.quickack, "forward": a.forward,
            "accept_sockets": a.accept_sockets, "concurrency": a.concurrency, "pace_ms": a.pace_ms,
            "echo_inline": a.echo_inline, "close_after_peer": a.close_after_peer,
            "quickack_connector": a.quickack_connector, "abrupt_teardown": a.abrupt_teardown,
            "cancel_accepts": a.cancel_accepts, "cancel_during": a.cancel_during,
            "cycles_asked": a.cycles, "cycles_done": len(lat), "wall_s": round(wall, 3),
            "cycles_per_s": round(len(lat) / wall, 1) if wall else 0.0,
            "p50_ms": round(pct(50), 2) if lat else None, "p99_ms": round(pct(99), 2) if lat else None,
            "max_ms": round(lat[-1] * 1000, 2) if lat else None,
            "intact": self.intact, "expected_eof": self.expected_eof, "accepted": self.accepted,
            "peer_mismatch": self.peer_mismatch, "cancelled": self.cancelled,
            "warmup_errors": self.warmup_errors, "errors": dict(self.errors),
            "stopped_because": self.stopped_because,
            "fds_before": fds_before, "fds_after": fd_count(),
            "router_pid": a.router_pid, "router_alive_after": alive,
            "hello_after": hello_after, "bridge_dead_before": bridge_dead_before,
        }
        log(f"{res['cycles_done']}/{a.cycles} cycles in {wall:.2f} s: {res['cycles_per_s']} cycles/s, "
            f"p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms, max {res['max_ms']} ms")
        log(f"intact echoes {self.intact}, expected EOFs {self.expected_eof}, streams accepted "
            f"{self.accepted}, peer-line mismatches {self.peer_mismatch}, cancelled accepts {self.cancelled}")
        log(f"errors by kind: {dict(self.errors) or 'none'}" +
            (f"; stopped early: {self.stopped_because}" if self.stopped_because else ""))
        log(f"client fds before {fds_before}, after {res['fds_after']}; router alive after: {alive}; "
            f"bridge answers HELLO after: {hello_after}")
        print("RESULT " + json.dumps(res), flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(res) + "\n")
        good = hello_after and not self.errors and (self.intact == a.cycles or
                                                     self.expected_eof == a.cycles)
        return 0 if good else 1


def read_env(path):
    env = {}
    try:
        with open(os.path.join(path, "env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v.strip('"')
    except OSError as e:
        sys.exit(f"cannot read {path}/env: {e}")
    return env


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--env")
    p.add_argument("--port", type=int)
    p.add_argument("--max-version")
    p.add_argument("--options")
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--quickack", action="store_true")
    p.add_argument("--accept-sockets", type=int, default=1)
    p.add_argument("--forward", action="store_true")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--pace-ms", type=float, default=0.0)
    p.add_argument("--echo-inline", action="store_true")
    p.add_argument("--close-after-peer", action="store_true")
    p.add_argument("--quickack-connector", action="store_true")
    p.add_argument("--abrupt-teardown", action="store_true")
    p.add_argument("--cancel-accepts", type=int, default=0)
    p.add_argument("--cancel-during", action="store_true")
    p.add_argument("--cancel-after-ms", type=float, default=10.0)
    p.add_argument("--router-pid", type=int)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--max-errors", type=int, default=30)
    p.add_argument("--json")
    a = p.parse_args()
    env = read_env(a.env) if a.env else {}
    a.port = a.port or int(env.get("SAM_TCP_PORT", 17756))
    a.options = a.options if a.options is not None else env.get("SAM_SESSION_OPTIONS", DEFAULT_OPTIONS)
    if a.max_version is None:
        a.max_version = "3.1" if env.get("SAM_VERSION_MAX", "3.1") in ("3.0", "3.1", "NONE") else "3.3"
    a.router_pid = a.router_pid or (int(env["R1_PID"]) if env.get("R1_PID") else None)
    if a.forward and a.accept_sockets != 1:
        p.error("--forward and --accept-sockets exclude each other")
    sys.exit(Run(a).main())


if __name__ == "__main__":
    main()
