#include "sp.h"

#include <string.h>

void sp_handshake(uint8_t out[SP_HANDSHAKE_LEN], uint16_t proto)
{
	out[0] = 0;
	out[1] = 'S';
	out[2] = 'P';
	out[3] = 0;
	out[4] = (uint8_t)(proto >> 8);
	out[5] = (uint8_t)proto;
	out[6] = 0;
	out[7] = 0;
}

bool sp_handshake_check(const uint8_t in[SP_HANDSHAKE_LEN], uint16_t proto)
{
	uint8_t want[SP_HANDSHAKE_LEN];
	sp_handshake(want, proto);
	return memcmp(in, want, SP_HANDSHAKE_LEN) == 0;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int sp_frame_next(const uint8_t *buf, size_t len, bool ipc, size_t max, struct sp_frame *f,
                  size_t *need)
{
	size_t pre = ipc ? 9 : 8;
	*need = 0;
	if (len < pre)
		return SP_NEED_MORE;
	if (ipc && buf[0] != 1)
		return SP_BAD;
	uint64_t mlen = get_be64(buf + pre - 8);
	if (mlen > max)
		return SP_TOO_BIG;
	if (len - pre < mlen) {
		*need = pre + (size_t)mlen;
		return SP_NEED_MORE;
	}
	f->size = pre + (size_t)mlen;
	f->data = buf + pre;
	f->len = (size_t)mlen;
	return SP_FRAME;
}

size_t sp_frame_prefix(uint8_t out[9], bool ipc, uint64_t len)
{
	size_t i = 0;
	if (ipc)
		out[i++] = 1;
	for (int s = 56; s >= 0; s -= 8)
		out[i++] = (uint8_t)(len >> s);
	return i;
}

size_t sp_split_header(const uint8_t *msg, size_t len)
{
	for (size_t off = 0; off + 4 <= len && off + 4 <= SP_HEADER_MAX; off += 4) {
		if (msg[off] & 0x80)
			return off + 4;
	}
	return 0;
}
