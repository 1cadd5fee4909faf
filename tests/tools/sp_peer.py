#!/usr/bin/env python3
"""sp_peer: a raw client of nng's wire protocol (SP REQ over tcp:// or ipc://)
for the transport tests; it builds the frames itself, byte by byte, so the
tests can send what no nng socket would: several requests at once on one
connection, a request split into single bytes, a wrong handshake.

  sp_peer.py URL pipeline METHOD:BODYHEX...   send every request in one write,
        each with its own SP id (1, 2, ...), then print one line per reply in
        the order they arrive: "<sp id> <code> <job id>", the job id being
        field 1 of the message in the body's field 1 (the job of a Submit or
        a Fetch reply), "-" if there is none
  sp_peer.py URL trickle METHOD:BODYHEX       send one request a byte at a
        time, print "<code> <body hex>"
  sp_peer.py URL flood N HOLD                send N requests to a method the
        server does not have, without reading a reply for HOLD seconds; then
        print "sent_all=1" if the server took every request by then (else 0),
        read every reply and print "replies=<how many>"
  sp_peer.py URL handshake HEX                send HEX as the handshake (and a
        request after it); print "closed" if the server closes the
        connection within 3 s, else "open"
Exit 0, or 1 on a protocol error or timeout (with a message on stderr)."""
import os
import socket
import struct
import sys
import time


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def envelope(req_id, method, body):
    return varint(1 << 3) + varint(req_id) + field(2, method.encode()) + field(3, body)


def parse(buf):
    """Top-level fields of a protobuf message: {num: value} (last wins)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num], i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            out[num] = buf[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wt)
    return out


def read_varint(buf, i):
    v, s = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << s
        s += 7
        if not b & 0x80:
            return v, i


class Peer:
    def __init__(self, url):
        self.ipc = url.startswith("ipc://")
        if self.ipc:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(url[6:])
        else:
            host, port = url.split("://", 1)[1].rsplit(":", 1)
            self.s = socket.create_connection((host.strip("[]"), int(port)))
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10)
        self.buf, self.pos = bytearray(), 0

    def recv_exact(self, n):
        """The next n bytes from the server; what arrives beyond them waits
        in a buffer for the next call (a flood's replies come in few reads)."""
        while len(self.buf) - self.pos < n:
            chunk = self.s.recv(max(n - (len(self.buf) - self.pos), 1 << 20))
            if not chunk:
                raise EOFError("connection closed by the server")
            if self.pos > 0:
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += chunk
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def handshake(self, mine=bytes([0, 0x53, 0x50, 0, 0, 48, 0, 0])):
        self.s.sendall(mine)
        theirs = self.recv_exact(8)
        if theirs != bytes([0, 0x53, 0x50, 0, 0, 49, 0, 0]):
            raise ValueError("server handshake is not REP's: " + theirs.hex())

    def frame(self, sp_id, payload):
        msg = struct.pack(">I", 0x80000000 | sp_id) + payload
        pre = (b"\x01" if self.ipc else b"") + struct.pack(">Q", len(msg))
        return pre + msg

    def read_reply(self):
        if self.ipc and self.recv_exact(1) != b"\x01":
            raise ValueError("bad ipc message type")
        (n,) = struct.unpack(">Q", self.recv_exact(8))
        msg = self.recv_exact(n)
        (sp_id,) = struct.unpack(">I", msg[:4])
        resp = parse(msg[4:])
        return sp_id & 0x7FFFFFFF, resp.get(2, 0), resp.get(4, b"").hex()


def request(i, spec):
    method, body = spec.split(":", 1)
    return envelope(int.from_bytes(os.urandom(7), "big") + i, method, bytes.fromhex(body))


def main():
    url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    p = Peer(url)
    if cmd == "pipeline":
        p.handshake()
        p.s.sendall(b"".join(p.frame(i + 1, request(i, a)) for i, a in enumerate(args)))
        for _ in args:
            sp_id, code, body = p.read_reply()
            job = parse(parse(bytes.fromhex(body)).get(1, b"")).get(1, "-")
            print("%d %d %s" % (sp_id, code, job), flush=True)
    elif cmd == "trickle":
        p.handshake()
        for b in p.frame(7, request(0, args[0])):
            p.s.sendall(bytes([b]))
            time.sleep(0.002)
        sp_id, code, body = p.read_reply()
        if sp_id != 7:
            raise ValueError("reply carries SP id %d, not 7" % sp_id)
        print("%d %s" % (code, body))
    elif cmd == "flood":
        import threading
        n, hold = int(args[0]), float(args[1])
        p.handshake()
        body = envelope(1, "/whatsnext.v1.Bench/Noop", b"")
        frames = b"".join(p.frame(i % 0x7FFFFFFF, body) for i in range(n))
        p.s.settimeout(None)
        sender = threading.Thread(target=p.s.sendall, args=(frames,), daemon=True)
        sender.start()
        time.sleep(hold)
        print("sent_all=%d" % (0 if sender.is_alive() else 1), flush=True)
        p.s.settimeout(30)
        got = 0
        for _ in range(n):
            p.read_reply()
            got += 1
        sender.join(30)
        print("replies=%d" % got)
    elif cmd == "handshake":
        p.s.settimeout(3)
        try:
            p.s.sendall(bytes.fromhex(args[0]))
            p.s.sendall(p.frame(1, request(0, "/whatsnext.v1.ProjectService/List:")))
            deadline = time.time() + 3
            while time.time() < deadline:
                if not p.s.recv(4096):
                    print("closed")
                    return 0
        except (ConnectionResetError, BrokenPipeError):
            print("closed")
            return 0
        except socket.timeout:
            pass
        print("open")
    else:
        raise SystemExit("unknown command " + cmd)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, EOFError) as e:
        print("sp_peer: %s" % e, file=sys.stderr)
        sys.exit(1)
