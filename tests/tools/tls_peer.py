#!/usr/bin/env python3
"""tls_peer: an independent client of wnd over tls+tcp://, written from
docs/protocol.md with Python's standard library only (ssl for TLS, the SP
handshake and tcp framing by hand): no nng, no code of WhatsNext.

  tls_peer.py URL CA METHOD BODYHEX [CERT KEY]
      connect to tls+tcp://HOST:PORT, verify the server's certificate with
      the CA file and by HOST, present CERT and KEY if given, send one
      Request envelope (METHOD, the body given in hex) and print the
      Response as "<code> <body hex> <message>". BODYHEX "@FILE": the body
      is the bytes of FILE.
Exit 0 when a Response came, 1 on a TLS or protocol failure (the reason on
stderr)."""
import os
import socket
import ssl
import struct
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


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
    """Top-level fields of a protobuf message: {number: value}."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        if key & 7 == 0:
            out[key >> 3], i = read_varint(buf, i)
        elif key & 7 == 2:
            n, i = read_varint(buf, i)
            out[key >> 3] = buf[i : i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % (key & 7))
    return out


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        buf += chunk
    return buf


def main():
    url, ca, method, body = sys.argv[1:5]
    if body.startswith("@"):
        with open(body[1:], "rb") as f:
            body = f.read().hex()
    if not url.startswith("tls+tcp://"):
        raise SystemExit("tls_peer: the address must be tls+tcp://HOST:PORT")
    host, port = url[len("tls+tcp://") :].rsplit(":", 1)
    host = host.strip("[]")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(ca)
    if len(sys.argv) > 6:
        ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    raw = socket.create_connection((host, int(port)), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = ctx.wrap_socket(raw, server_hostname=host)
    sock.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # REQ v0
    if recv_exact(sock, 8) != b"\x00SP\x00\x00\x31\x00\x00":  # REP v0
        raise ConnectionError("peer is not a REP socket")
    req_id = int.from_bytes(os.urandom(7), "big") | 1
    envelope = (
        varint(1 << 3) + varint(req_id)
        + varint(2 << 3 | 2) + varint(len(method)) + method.encode()
        + varint(3 << 3 | 2) + varint(len(bytes.fromhex(body))) + bytes.fromhex(body)
    )
    payload = struct.pack(">I", 0x80000000 | 1) + envelope
    sock.sendall(struct.pack(">Q", len(payload)) + payload)
    while True:
        reply = recv_exact(sock, struct.unpack(">Q", recv_exact(sock, 8))[0])
        if reply[:4] == payload[:4]:
            break
    resp = fields(reply[4:])
    if resp.get(1) != req_id:
        raise ValueError("the Response carries another id")
    print("%d %s %s" % (resp.get(2, 0), resp.get(4, b"").hex(), resp.get(3, b"").decode()))
    sock.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, ssl.SSLError) as e:
        print("tls_peer: %s" % e, file=sys.stderr)
        sys.exit(1)
