/* sp: the scalability-protocols wire format that nng's REQ sockets speak,
 * parsed without nng: the connection handshake, message framing over tcp://
 * and ipc://, and the request-id header a REP side echoes back. Pure
 * functions on bytes, so the parser of untrusted input can be fuzzed alone. */
#ifndef WN_SP_H
#define WN_SP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_HANDSHAKE_LEN 8
#define SP_PROTO_REQ     48 /* REQ v0 */
#define SP_PROTO_REP     49 /* REP v0 */
/* The routing header: at most 8 hops of 4 bytes, the last with its top bit set. */
#define SP_HEADER_MAX 32

/* sp_handshake writes the 8-byte handshake announcing proto into out. */
void sp_handshake(uint8_t out[SP_HANDSHAKE_LEN], uint16_t proto);

/* sp_handshake_check returns true when in is a handshake announcing proto. */
bool sp_handshake_check(const uint8_t in[SP_HANDSHAKE_LEN], uint16_t proto);

enum { SP_NEED_MORE = 0, SP_FRAME = 1, SP_BAD = -1, SP_TOO_BIG = -2 };

/* One message found in a byte stream. */
struct sp_frame {
	size_t size;         /* bytes of the stream the message occupies */
	const uint8_t *data; /* the message: routing header, then body */
	size_t len;          /* its length */
};

/* sp_frame_next looks for a whole message at the start of buf (len bytes
 * read so far). ipc selects ipc:// framing (a type byte before the length).
 * Returns SP_FRAME (then *f is set), SP_NEED_MORE (*need gets the bytes the
 * message needs in all, once its length is known, else 0), SP_TOO_BIG (its
 * length exceeds max) or SP_BAD (a malformed ipc type byte). */
int sp_frame_next(const uint8_t *buf, size_t len, bool ipc, size_t max, struct sp_frame *f,
                  size_t *need);

/* sp_frame_prefix writes the framing of a message of len bytes into out
 * (8 bytes for tcp, 9 for ipc) and returns how many bytes it wrote. */
size_t sp_frame_prefix(uint8_t out[9], bool ipc, uint64_t len);

/* sp_split_header splits a request into its routing header (returned length,
 * 4 to SP_HEADER_MAX bytes) and the body after it; 0 when no valid header
 * ends within SP_HEADER_MAX bytes (nng drops such messages). */
size_t sp_split_header(const uint8_t *msg, size_t len);

#endif
