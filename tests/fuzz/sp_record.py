#!/usr/bin/env python3
"""sp_record: seeds for the fuzzers of the wire (fuzz_sp, fuzz_envelope), taken
from what the real clients send. Used by tests/fuzz/seeds.sh.

  sp_record.py record LISTEN SERVER DIR   forward every connection made to the
        unix socket LISTEN to the unix socket SERVER (wnd's ipc:// path) and
        back, and write what each client sent to DIR/conn-N, until SIGTERM
  sp_record.py seeds DIR SP_OUT ENV_OUT METHODS_DEF
        split the recorded streams into nng's ipc frames and write seeds:
        to SP_OUT, streams as fuzz_sp reads them (its first byte chooses ipc
        or tcp framing and whether a handshake comes first); to ENV_OUT, one
        seed per method and distinct body, as fuzz_envelope reads it (the
        method's index in FUZZ_ENVELOPE_C's table, then the body), and a few
        whole Request envelopes
"""
import hashlib
import os
import re
import select
import signal
import socket
import struct
import sys

HANDSHAKE_LEN = 8


def record(listen, server, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pairs = {}  # client socket -> (server socket, file)
    n = 0
    while True:
        socks = [srv] + list(pairs) + [p[0] for p in pairs.values()]
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            if s is srv:
                c, _ = srv.accept()
                up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                up.connect(server)
                n += 1
                pairs[c] = (up, open(os.path.join(out_dir, "conn-%d" % n), "wb"))
                continue
            client = s if s in pairs else next(k for k, v in pairs.items() if v[0] is s)
            up, f = pairs[client]
            data = s.recv(65536)
            if not data:
                client.close()
                up.close()
                f.close()
                del pairs[client]
                continue
            if s is client:
                f.write(data)
                f.flush()
                up.sendall(data)
            else:
                client.sendall(data)


def frames(stream):
    """The payloads of an ipc stream (handshake, then type, length, payload)."""
    i = HANDSHAKE_LEN
    while i + 9 <= len(stream):
        (n,) = struct.unpack(">Q", stream[i + 1:i + 9])
        if i + 9 + n > len(stream):
            break
        yield stream[i + 9:i + 9 + n]
        i += 9 + n


def read_varint(buf, i):
    v, s = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << s
        s += 7
        if not b & 0x80:
            return v, i


def fields(buf):
    out, i = [], 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        start = i
        if wt == 0:
            _, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, buf[start:i] if wt == 2 else buf[start:i], wt))
    return out


def length_delimited(raw):
    n, i = read_varint(raw, 0)
    return raw[i:i + n]


def write(out_dir, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


def seeds(rec_dir, sp_out, env_out, methods_def):
    # fuzz_envelope's first byte indexes the methods in methods.def's order
    rows = re.findall(r'^WN_METHOD\((\w+), (\w+), (\w+),', open(methods_def).read(), re.M)
    methods = ["/whatsnext.v1.%s/%s" % (svc, m) for _, svc, m in rows]
    os.makedirs(sp_out, exist_ok=True)
    os.makedirs(env_out, exist_ok=True)
    streams = [open(os.path.join(rec_dir, n), "rb").read()
               for n in sorted(os.listdir(rec_dir), key=lambda n: int(n.split("-")[1]))]
    streams = [s for s in streams if len(s) > HANDSHAKE_LEN]
    per_method, raw_written = {}, set()
    for s in streams:
        for payload in frames(s):
            env = payload[4:]  # the routing header: one 4-byte request id
            parts = fields(env)
            method = next((length_delimited(v).decode() for n, v, _ in parts if n == 2), "")
            body = next((length_delimited(v) for n, v, _ in parts if n == 3), b"")
            bodies = per_method.setdefault(method, set())
            if body in bodies or len(bodies) >= 2:
                continue
            bodies.add(body)
            if method in methods:
                write(env_out, bytes([methods.index(method)]) + body)
            if method not in raw_written and (method not in methods or len(raw_written) < 4):
                # whole envelopes, with a token: fuzz_envelope reads what
                # follows a first byte of 0xff as one
                raw_written.add(method)
                token = b"\x22\x05t-123"
                write(env_out, b"\xff" + token + env)
    # fuzz_sp: bit 0 ipc framing, bit 1 a handshake first
    picked = sorted(streams, key=len)[:3] + [b"".join(streams[:2])[:4096]]
    for s in picked:
        write(sp_out, b"\x03" + s)
        tcp = b"".join(struct.pack(">Q", len(p)) + p for p in frames(s))
        write(sp_out, b"\x02" + s[:HANDSHAKE_LEN] + tcp)
    s = picked[0]
    write(sp_out, b"\x01" + s[HANDSHAKE_LEN:])
    write(sp_out, b"\x00" + b"".join(struct.pack(">Q", len(p)) + p for p in frames(s)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "record":
        record(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "seeds":
        seeds(*sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
