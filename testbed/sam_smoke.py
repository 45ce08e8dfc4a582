#!/usr/bin/env python3
"""Minimal plain-socket smoke check of a started testbed bridge (any of the three).

usage: sam_smoke.py DIR            (reads DIR/env written by `testbed.sh start`)
       sam_smoke.py PORT [OPTIONS] (SAM on 127.0.0.1:PORT; OPTIONS = the session's tunnel options)

Checks: HELLO VERSION MIN=3.1 MAX=3.3 -> RESULT=OK; two STREAM sessions created concurrently (unique
IDs, SIGNATURE_TYPE=7, DIR/env's SAM_SESSION_OPTIONS); NAMING LOOKUP NAME=ME on the acceptor's session
socket; STREAM ACCEPT + STREAM CONNECT (by full destination); the acceptor's first line is the
connector's destination; a line and a 32 KiB blob echoed back; QUIT both sessions.
Every command is one write() and waits for its reply (emissary mis-parses split commands).
Prints each exchange (long values shortened) and a final `SMOKE ...` summary line; exit 0 if all passed.
"""
import os, socket, sys, threading, time

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.3f}] {msg}", flush=True)


def short(b: bytes):
    return repr(b) if len(b) < 160 else repr(b[:90]) + "..." + repr(b[-40:]) + f" [{len(b)} bytes]"


class Conn:
    def __init__(self, name, port):
        self.name, self.buf = name, b""
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def readline(self, timeout):
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(f"[{self.name}] EOF, pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_exact(self, n, timeout):
        self.s.settimeout(timeout)
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(f"[{self.name}] EOF after {len(self.buf)} of {n} bytes")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, line: bytes, timeout=10.0):
        t = time.monotonic()
        self.s.sendall(line)
        r = self.readline(timeout)
        dt = time.monotonic() - t
        log(f"[{self.name}] {short(line)} -> {short(r)} ({dt:.3f}s)")
        return r, dt

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def parse(reply: bytes):
    return dict(t.split("=", 1) for t in reply.decode(errors="replace").split() if "=" in t)


def read_env(d):
    env = {}
    for line in open(os.path.join(d, "env")):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v
    return env


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if os.path.isdir(sys.argv[1]):
        env = read_env(sys.argv[1])
        port, opts, bridge = int(env["SAM_TCP_PORT"]), env.get("SAM_SESSION_OPTIONS", ""), env.get("SAM_BRIDGE", "?")
    else:
        port, opts, bridge = int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else ""), "?"
    hello = b"HELLO VERSION MIN=3.1 MAX=3.3\n"
    res, tm = {}, {}

    def check(name, ok):
        res[name] = bool(ok)
        log(f"CHECK {name}: {'PASS' if ok else 'FAIL'}")

    c = Conn("hello", port)
    r, tm["hello"] = c.cmd(hello)
    c.close()
    version = parse(r).get("VERSION", "NONE")
    check("hello", r.startswith(b"HELLO REPLY RESULT=OK"))

    tag = f"smoke{os.getpid()}x{int(time.time()) % 100000}"
    S, errors = {}, {}

    def mk(key):
        try:
            s = Conn(key, port)
            s.cmd(hello)
            extra = (" " + opts) if opts else ""
            r, dt = s.cmd(f"SESSION CREATE STYLE=STREAM ID={tag}{key} DESTINATION=TRANSIENT SIGNATURE_TYPE=7{extra}\n".encode(), timeout=120)
            if not r.startswith(b"SESSION STATUS RESULT=OK"):
                raise RuntimeError(f"SESSION CREATE: {r!r}")
            s.create_s = dt
            r, _ = s.cmd(b"NAMING LOOKUP NAME=ME\n", timeout=30)
            s.pub = parse(r)["VALUE"]
            S[key] = s
        except Exception as e:  # noqa: BLE001 - report whatever went wrong
            errors[key] = repr(e)
            log(f"[{key}] session failed: {e!r}")

    t = time.monotonic()
    th = [threading.Thread(target=mk, args=(k,)) for k in ("a", "b")]
    [x.start() for x in th]
    [x.join() for x in th]
    tm["sessions_wall"] = time.monotonic() - t
    for k, s in S.items():
        tm[f"create_{k}"] = s.create_s
    check("two_sessions", len(S) == 2)
    if len(S) == 2:
        try:
            acc = Conn("acc", port)
            acc.cmd(hello)
            r, _ = acc.cmd(f"STREAM ACCEPT ID={tag}b\n".encode(), timeout=30)
            check("accept_ok", r == b"STREAM STATUS RESULT=OK\n")
            con = Conn("con", port)
            con.cmd(hello)
            r, tm["connect"] = con.cmd(f"STREAM CONNECT ID={tag}a DESTINATION={S['b'].pub}\n".encode(), timeout=60)
            check("connect_ok", r == b"STREAM STATUS RESULT=OK\n")
            t = time.monotonic()
            con.s.sendall(b"ping\n")
            first = acc.readline(30)
            check("acceptor_first_line_is_connector_dest", first == S["a"].pub.encode() + b"\n")
            line = acc.readline(30)
            acc.s.sendall(line)
            back = con.readline(30)
            tm["echo_line"] = time.monotonic() - t
            check("echo_line", line == b"ping\n" and back == b"ping\n")
            blob = os.urandom(32 * 1024)
            t = time.monotonic()
            threading.Thread(target=lambda: con.s.sendall(blob), daemon=True).start()
            got = acc.read_exact(len(blob), 60)
            threading.Thread(target=lambda: acc.s.sendall(got), daemon=True).start()
            back = con.read_exact(len(blob), 60)
            tm["echo_32KiB"] = time.monotonic() - t
            check("echo_32KiB", got == blob and back == blob)
            con.close()
            acc.close()
        except Exception as e:  # noqa: BLE001
            log(f"stream part failed: {e!r}")
            res["stream_exception"] = False
    for s in S.values():
        try:
            s.s.sendall(b"QUIT\n")  # emissary frees the ID at once; i2pd just closes the socket
        except OSError:
            pass
        s.close()
    ok = all(res.values())
    log("TIMINGS " + " ".join(f"{k}={v:.3f}s" for k, v in tm.items()))
    print(f"SMOKE {'PASSED' if ok else 'FAILED'} bridge={bridge} port={port} version={version} "
          f"checks={sum(res.values())}/{len(res)} total={time.monotonic() - T0:.2f}s", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
