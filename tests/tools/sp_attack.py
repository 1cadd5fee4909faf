#!/usr/bin/env python3
"""sp_attack: a hostile peer of wnd's transport for the limits tests
(tests/integration/server_limits.sh): raw SP REQ connections that do what a
well-behaved client would not. Frames are built by sp_peer.py's Peer.

  sp_attack.py URL repeat N FETCH_HEX SUBMIT_HEX
        connection A sends a Fetch (body FETCH_HEX, which should wait long)
        and a List behind it; once the List is answered the Fetch is parked.
        N more connections each send a copy of the Fetch (the same request
        id), then a List. Prints "copy I list: ok" (or "timeout", when the
        copy held the connection's event loop), then "fresh list: ok|timeout"
        for a List on a new connection, "early fetch replies: K" (Fetch
        replies before any job exists), then Submits SUBMIT_HEX and prints
        "fetch reply: copy I code C job J" for the copy that got the Fetch's
        answer and "other fetch replies: K" for the replies any other copy
        got within a second.
  sp_attack.py URL parkmany CONNS N FETCH_HEX
        CONNS connections, one after the other, each send N Fetches (body
        FETCH_HEX, distinct request ids) and a List; prints per connection
        "conn I refused=K" (Fetches answered before the List, that is not
        parked), then "message: TEXT" of the first refusal, then "fresh
        list: ok|timeout" with every connection still open.

  sp_attack.py URL bigframe N SIZE PID
        N connections each send a Submit of SIZE bytes without a token, all
        but its last byte, and hold it; then prints "rss_growth_kb=K" (wnd's,
        process PID, since before the first) and, per connection, "conn I
        code C message M" for the answer it got within 5 s ("code -" for
        none).
  sp_attack.py URL partial N SIZE PART
        N connections each send the first PART bytes of a SIZE-byte request
        without a token and hold them; prints "answered=K codes=C,..." for
        the answers that came within 2 s and "message: M" of the first.
  sp_attack.py URL hold N MODE SECONDS
        opens N connections (a connect that fails or takes over 2 s counts as
        refused), each sends MODE: "none" (nothing), "half" (half the
        handshake), "handshake" (the handshake only), "request" (the
        handshake and a List, its answer read) or "fetch=HEX" (the handshake
        and a Fetch with body HEX); prints "holding K" once they are open,
        then holds them up to SECONDS (until each is closed) and prints
        "opened=K refused=R closed_by_server=C answered=A" (closed, answers
        read while held) and "message: M" of the first answer that was not
        OK, if any.
  sp_attack.py URL revoked SIZE FLAG
        one connection sends a List (with --token, it authenticates) and
        prints "list: ok|timeout"; once the file FLAG exists (the test
        revokes the token meanwhile) it sends a Submit of SIZE bytes, all but
        its last byte, and prints "code C message M" for the answer that
        came within 5 s ("code - message -" for none).
Options before URL: --token T puts T in every envelope. Exit 0, or 1 on a
protocol error (a message on stderr)."""
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sp_peer import Peer, field, parse, varint  # noqa: E402

M_FETCH = "/whatsnext.v1.QueueService/Fetch"
M_SUBMIT = "/whatsnext.v1.JobService/Submit"
M_LIST = "/whatsnext.v1.ProjectService/List"
TOKEN = ""


def envelope(req_id, method, body):
    env = varint(1 << 3) + varint(req_id) + field(2, method.encode()) + field(3, body)
    if TOKEN:
        env += field(4, TOKEN.encode())
    return env


def new_id():
    return int.from_bytes(os.urandom(7), "big") | 1


class Conn(Peer):
    """A Peer that reads whole replies as dicts, with a deadline."""

    def __init__(self, url):
        Peer.__init__(self, url)
        self.handshake()
        self.next_sp = 1

    def send(self, method, body, req_id=None):
        sp = self.next_sp
        self.next_sp += 1
        self.s.sendall(self.frame(sp, envelope(req_id or new_id(), method, body)))
        return sp

    def reply(self, timeout):
        """The next reply as (sp id, fields), or None when none came in time."""
        self.s.settimeout(timeout)
        try:
            if self.ipc and self.recv_exact(1) != b"\x01":
                raise ValueError("bad ipc message type")
            (n,) = struct.unpack(">Q", self.recv_exact(8))
            self.s.settimeout(10)
            msg = self.recv_exact(n)
        except socket.timeout:
            return None
        (sp,) = struct.unpack(">I", msg[:4])
        return sp & 0x7FFFFFFF, parse(msg[4:])

    def pending(self):
        """True when a reply (or the connection's end) is waiting to be read."""
        if len(self.buf) > self.pos:
            return True
        return bool(select.select([self.s], [], [], 0)[0])


def job_of(resp):
    body = parse(resp.get(4, b""))
    return parse(body.get(1, b"")).get(1, "-")


def list_ok(c, timeout=10):
    """Sends a List on c and reads replies until its own: "ok" or "timeout";
    the other replies read on the way are returned too."""
    sp = c.send(M_LIST, b"")
    others = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        r = c.reply(max(left, 0.01)) if left > 0 else None
        if r is None:
            return "timeout", others
        if r[0] == sp:
            return "ok", others
        others.append(r)


def cmd_repeat(url, n, fetch_hex, submit_hex):
    fetch = bytes.fromhex(fetch_hex)
    rid = new_id()
    first = Conn(url)
    first.send(M_FETCH, fetch, rid)
    state, early = list_ok(first)
    if state != "ok" or early:
        raise ValueError("the first Fetch did not park (list %s, %d replies)" % (state, len(early)))
    copies = []
    for i in range(n):
        c = Conn(url)
        c.send(M_FETCH, fetch, rid)
        state, got = list_ok(c)
        early += got
        print("copy %d list: %s" % (i + 1, state), flush=True)
        copies.append(c)
    state, _ = list_ok(Conn(url))
    print("fresh list: %s" % state, flush=True)
    early += [c for c in [first] + copies if c.pending()]
    print("early fetch replies: %d" % len(early), flush=True)
    sub = Conn(url)
    sub.send(M_SUBMIT, bytes.fromhex(submit_hex))
    r = sub.reply(10)
    if r is None or r[1].get(2, 0) != 0:
        raise ValueError("submit failed: %r" % (r,))
    got, others = None, 0
    deadline = time.time() + 3
    while time.time() < deadline and got is None:
        for i, c in enumerate([first] + copies):
            if c.pending():
                rr = c.reply(1)
                if rr is not None and got is None:
                    got = (i, rr[1].get(2, 0), job_of(rr[1]))
                else:
                    others += 1
        time.sleep(0.01)
    if got is not None:
        print("fetch reply: copy %d code %d job %s" % got, flush=True)
    time.sleep(1)
    for i, c in enumerate([first] + copies):
        while c.pending() and c.reply(1) is not None:
            others += 1
    print("other fetch replies: %d" % others, flush=True)


def cmd_parkmany(url, conns, n, fetch_hex):
    fetch = bytes.fromhex(fetch_hex)
    held, message = [], None
    for i in range(conns):
        c = Conn(url)
        for _ in range(n):
            c.send(M_FETCH, fetch)
        state, got = list_ok(c)
        if state != "ok":
            raise ValueError("connection %d: no answer to its List" % (i + 1))
        for _, resp in got:
            if message is None and resp.get(2, 0) != 0:
                message = resp.get(3, b"").decode()
        print("conn %d refused=%d codes=%s" % (i + 1, len(got),
              ",".join(sorted({str(r.get(2, 0)) for _, r in got})) or "-"), flush=True)
        held.append(c)
    print("message: %s" % (message or "-"), flush=True)
    state, _ = list_ok(Conn(url))
    print("fresh list: %s" % state, flush=True)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError("no VmRSS for process %d" % pid)


def raw_conn(url, timeout=2):
    """A connected socket (no handshake), or None when the server does not
    take it in time."""
    try:
        p = Peer.__new__(Peer)
        p.ipc = url.startswith("ipc://")
        if p.ipc:
            p.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            p.s.settimeout(timeout)
            p.s.connect(url[6:])
        else:
            host, port = url.split("://", 1)[1].rsplit(":", 1)
            p.s = socket.create_connection((host.strip("[]"), int(port)), timeout)
        p.s.settimeout(10)
        p.buf, p.pos = bytearray(), 0
        return p
    except (OSError, socket.timeout):
        return None


def big_request(size):
    """The bytes of an SP message of size bytes: SP id, then a Submit
    envelope whose body fills the rest."""
    head = varint(1 << 3) + varint(new_id()) + field(2, M_SUBMIT.encode())
    for vl in range(1, 11):
        fill = size - 4 - len(head) - 1 - vl
        if len(varint(fill)) == vl:
            break
    body = head + varint(3 << 3 | 2) + varint(fill) + b"x" * fill
    return struct.pack(">I", 0x80000001) + body


def cmd_bigframe(url, n, size, pid):
    before = rss_kb(pid)
    conns = []
    for _ in range(n):
        c = Conn(url)
        msg = big_request(size)
        pre = (b"\x01" if c.ipc else b"") + struct.pack(">Q", len(msg))
        c.s.settimeout(30)
        c.s.sendall(pre + msg[:-1])
        conns.append(c)
    time.sleep(0.5)
    print("rss_growth_kb=%d" % (rss_kb(pid) - before), flush=True)
    for i, c in enumerate(conns):
        r = c.reply(5)
        if r is None:
            print("conn %d code - message -" % (i + 1), flush=True)
        else:
            print("conn %d code %d message %s" % (i + 1, r[1].get(2, 0),
                  r[1].get(3, b"").decode()), flush=True)


def cmd_partial(url, n, size, part):
    conns = []
    for _ in range(n):
        c = Conn(url)
        msg = big_request(size)
        pre = (b"\x01" if c.ipc else b"") + struct.pack(">Q", len(msg))
        c.s.sendall((pre + msg)[:part])
        conns.append(c)
    codes, message = [], None
    deadline = time.time() + 2
    for c in conns:
        r = c.reply(max(deadline - time.time(), 0.01))
        if r is not None:
            codes.append(r[1].get(2, 0))
            if message is None:
                message = r[1].get(3, b"").decode()
    print("answered=%d codes=%s" % (len(codes), ",".join(sorted(set(map(str, codes)))) or "-"))
    print("message: %s" % (message or "-"), flush=True)


def cmd_revoked(url, size, flag):
    c = Conn(url)
    print("list: %s" % list_ok(c)[0], flush=True)
    deadline = time.time() + 60
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.05)
    msg = big_request(size)
    pre = (b"\x01" if c.ipc else b"") + struct.pack(">Q", len(msg))
    c.s.settimeout(30)
    c.s.sendall(pre + msg[:-1])
    r = c.reply(5)
    if r is None:
        print("code - message -", flush=True)
    else:
        print("code %d message %s" % (r[1].get(2, 0), r[1].get(3, b"").decode()), flush=True)


def cmd_hold(url, n, mode, seconds):
    held, refused, message = [], 0, None
    hs = bytes([0, 0x53, 0x50, 0, 0, 48, 0, 0])
    for _ in range(n):
        p = raw_conn(url)
        if p is None:
            refused += 1
            continue
        try:
            if mode == "half":
                p.s.sendall(hs[:4])
            elif mode in ("handshake", "request") or mode.startswith("fetch="):
                p.s.sendall(hs)
            if mode.startswith("fetch="):
                p.recv_exact(8)
                p.s.sendall(p.frame(1, envelope(new_id(), M_FETCH, bytes.fromhex(mode[6:]))))
            if mode == "request":
                p.recv_exact(8)
                p.s.sendall(p.frame(1, envelope(new_id(), M_LIST, b"")))
                if p.ipc and p.recv_exact(1) != b"\x01":
                    raise ValueError("bad ipc message type")
                (ln,) = struct.unpack(">Q", p.recv_exact(8))
                resp = parse(p.recv_exact(ln)[4:])
                if resp.get(2, 0) != 0 and message is None:
                    message = resp.get(3, b"").decode()
        except (OSError, EOFError):
            refused += 1
            continue
        held.append(p)
    print("holding %d" % len(held), flush=True)
    closed, got = 0, []
    deadline = time.time() + seconds
    open_ = list(held)
    while open_ and time.time() < deadline:
        ready = select.select([p.s for p in open_], [], [], max(deadline - time.time(), 0))[0]
        for p in [p for p in open_ if p.s in ready]:
            try:
                data = p.s.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed += 1
                open_.remove(p)
            elif mode.startswith("fetch=") and p not in got:
                got.append(p)  # the server's handshake came before: its answer
    print("opened=%d refused=%d closed_by_server=%d answered=%d"
          % (len(held), refused, closed, len(got)))
    print("message: %s" % (message or "-"), flush=True)


def main():
    global TOKEN
    args = sys.argv[1:]
    if len(args) > 1 and args[0] == "--token":
        TOKEN = args[1]
        args = args[2:]
    url, cmd, rest = args[0], args[1], args[2:]
    if cmd == "repeat":
        cmd_repeat(url, int(rest[0]), rest[1], rest[2])
    elif cmd == "parkmany":
        cmd_parkmany(url, int(rest[0]), int(rest[1]), rest[2])
    elif cmd == "bigframe":
        cmd_bigframe(url, int(rest[0]), int(rest[1]), int(rest[2]))
    elif cmd == "partial":
        cmd_partial(url, int(rest[0]), int(rest[1]), int(rest[2]))
    elif cmd == "revoked":
        cmd_revoked(url, int(rest[0]), rest[1])
    elif cmd == "hold":
        cmd_hold(url, int(rest[0]), rest[1], float(rest[2]))
    else:
        raise SystemExit("unknown command " + cmd)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, EOFError) as e:
        print("sp_attack: %s" % e, file=sys.stderr)
        sys.exit(1)
