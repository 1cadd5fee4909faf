/* wire: the scalability-protocols (SP) wire format that nng's REQ and REP
 * sockets speak, without nng, for wnd and the direct client alike: the
 * connection handshake, message framing over tcp:// and ipc://, the
 * request-id header a REP side echoes back, and the server addresses both
 * sides parse. Functions of bytes and strings only, so that the parsers of
 * untrusted input can be fuzzed alone (fuzz_sp, fuzz_url). */
#ifndef WN_WIRE_H
#define WN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SP layout is nng's (its sp-tcp and ipc mappings), not ours: its
 * header's version byte is 0 and changes only if nng's protocol does. */
#define WN_SP_VERSION 0
#define WN_SP_REQ0    48 /* protocol number of a REQ v0 socket (0x30) */
#define WN_SP_REP0    49 /* protocol number of a REP v0 socket (0x31) */
/* Bytes of the handshake each side sends first. */
#define WN_SP_HANDSHAKE_LEN 8
/* Bytes before a message: its length (8), after a type byte (1) on ipc://. */
#define WN_SP_PREFIX_MAX 9
/* The routing header: at most 8 hops of 4 bytes, the last with its top bit
 * set; a REQ socket's own request id is that last word. */
#define WN_SP_HEADER_MAX 32
#define WN_SP_LAST_HOP   0x80000000u

/* wn_wire_handshake writes the 8-byte handshake announcing proto into out. */
void wn_wire_handshake(uint8_t out[WN_SP_HANDSHAKE_LEN], uint16_t proto);

/* wn_wire_handshake_parse returns true when in is an SP handshake of version
 * WN_SP_VERSION, and puts the protocol number it announces in *proto. */
bool wn_wire_handshake_parse(const uint8_t in[WN_SP_HANDSHAKE_LEN], uint16_t *proto);

/* One message found in a byte stream. */
typedef struct wn_wire_frame {
	size_t size;         /* bytes of the stream the message occupies */
	const uint8_t *data; /* the message: routing header, then body */
	size_t len;          /* its length */
} wn_wire_frame;

/* wn_wire_frame_next looks for a whole message at the start of buf (len
 * bytes read so far). ipc selects ipc:// framing (a type byte before the
 * length). Returns 1 when one is there (*f is set), 0 when more bytes are
 * needed (*need gets the bytes the message needs in all once its length is
 * known, else 0), WN_ETOOBIG when its length is over max (f->len gets it) or
 * WN_EPROTO for a malformed ipc type byte. */
int wn_wire_frame_next(const uint8_t *buf, size_t len, bool ipc, size_t max, wn_wire_frame *f,
                       size_t *need);

/* wn_wire_frame_prefix writes the framing of a message of len bytes into out
 * (8 bytes for tcp, 9 for ipc) and returns how many bytes it wrote. */
size_t wn_wire_frame_prefix(uint8_t out[WN_SP_PREFIX_MAX], bool ipc, uint64_t len);

/* wn_wire_split_header returns the length of a message's routing header (4
 * to WN_SP_HEADER_MAX bytes; the body follows it), or 0 when no valid header
 * ends within WN_SP_HEADER_MAX bytes (nng drops such messages). */
size_t wn_wire_split_header(const uint8_t *msg, size_t len);

/* wn_wire_put32 writes v big-endian at p (a request id). */
void wn_wire_put32(uint8_t *p, uint32_t v);

/* wn_wire_get32 reads a big-endian 32-bit value at p. */
uint32_t wn_wire_get32(const uint8_t *p);

/* Longest parts of a server address. */
#define WN_WIRE_HOST_MAX 256
#define WN_WIRE_PORT_MAX 32
#define WN_WIRE_PATH_MAX 108 /* sizeof(sun_path) on Linux, its NUL included */

/* A server address: tcp://HOST:PORT (PORT in digits, 0 to 65535; tcp4:// and
 * tcp6:// for one address family; HOST in brackets for an IPv6 address), the
 * same over TLS (tls+tcp://, tls+tcp4://, tls+tcp6://) or ipc://PATH. */
typedef struct wn_wire_url {
	bool ipc;
	bool tls;                    /* tls+tcp: TLS under the tcp framing */
	int family;                  /* tcp: AF_UNSPEC, AF_INET (tcp4) or AF_INET6 (tcp6) */
	char host[WN_WIRE_HOST_MAX]; /* tcp: without brackets; may be "" or "*" (any) */
	char port[WN_WIRE_PORT_MAX]; /* tcp: not empty */
	char path[WN_WIRE_PATH_MAX]; /* ipc: the socket file, not empty */
} wn_wire_url;

/* wn_wire_url_parse parses url into *u. Returns WN_OK, or WN_EINVAL with
 * *errmsg saying what is wrong with it ("the address needs a port ..."). */
int wn_wire_url_parse(const char *url, wn_wire_url *u, char **errmsg);

#endif
