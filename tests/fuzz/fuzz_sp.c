/* libFuzzer target: the wire framing wnd reads from every connection, and the
 * direct client from its server (wire.c).
 * The first byte picks tcp:// or ipc:// framing and whether the input starts
 * with a handshake; the rest is read as a connection's byte stream, split into
 * messages exactly as the server does, each message then split into routing
 * header and body. Nothing may crash, every frame must lie inside the input,
 * and a frame rebuilt from its parts must parse back to the same. Run:
 * build/fuzz/fuzz_sp -max_total_time=60 */
#include "wire.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_FRAME (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(const uint8_t *msg, size_t len)
{
	size_t h = wn_wire_split_header(msg, len);
	if (h == 0)
		return;
	if (h % 4 != 0 || h > WN_SP_HEADER_MAX || h > len || !(msg[h - 4] & 0x80))
		abort();
	for (size_t off = 0; off + 4 < h; off += 4)
		if (msg[off] & 0x80)
			abort(); /* the header ends at the first word with the top bit */
}

static void check_roundtrip(bool ipc, const wn_wire_frame *f)
{
	uint8_t *buf = malloc(9 + f->len + 1);
	size_t pre = wn_wire_frame_prefix(buf, ipc, f->len);
	if (pre != (ipc ? 9u : 8u))
		abort();
	if (f->len > 0)
		memcpy(buf + pre, f->data, f->len);
	wn_wire_frame g;
	size_t need = 0;
	if (wn_wire_frame_next(buf, pre + f->len, ipc, FUZZ_MAX_FRAME, &g, &need) != 1 ||
	    g.size != pre + f->len || g.len != f->len ||
	    (f->len > 0 && memcmp(g.data, f->data, f->len) != 0))
		abort();
	/* one byte short is never a whole message */
	if (wn_wire_frame_next(buf, pre + f->len - 1, ipc, FUZZ_MAX_FRAME, &g, &need) != 0)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool ipc = data[0] & 1;
	bool handshake = data[0] & 2;
	data++;
	size--;
	if (handshake) {
		if (size < WN_SP_HANDSHAKE_LEN)
			return 0;
		/* a handshake parses exactly when it is the one its protocol
		 * number makes */
		uint16_t proto = 0;
		bool sp = wn_wire_handshake_parse(data, &proto);
		uint8_t want[WN_SP_HANDSHAKE_LEN];
		wn_wire_handshake(want, sp ? proto : WN_SP_REQ0);
		if (sp != (memcmp(data, want, WN_SP_HANDSHAKE_LEN) == 0))
			abort();
		data += WN_SP_HANDSHAKE_LEN;
		size -= WN_SP_HANDSHAKE_LEN;
	}
	size_t off = 0;
	for (;;) {
		wn_wire_frame f;
		size_t need = 0;
		int k = wn_wire_frame_next(data + off, size - off, ipc, FUZZ_MAX_FRAME, &f, &need);
		if (k == 0) {
			if (need != 0 && (need <= size - off || need > FUZZ_MAX_FRAME + 9))
				abort();
			break;
		}
		if (k == WN_ETOOBIG && f.len <= FUZZ_MAX_FRAME)
			abort();
		if (k != 1)
			break; /* the server closes the connection */
		if (f.size > size - off || f.data < data + off || f.data + f.len > data + size ||
		    f.len > FUZZ_MAX_FRAME)
			abort();
		check_header(f.data, f.len);
		check_roundtrip(ipc, &f);
		off += f.size;
	}
	return 0;
}
