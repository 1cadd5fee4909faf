/* libFuzzer target: the guard's reading of the replies of nng's HTTP server
 * (wn_http_guard_reply, http_guard_head.c), whose end lets the next request
 * pipelined on a connection go on. The bytes come a few at a time, each
 * piece in a buffer of its own size (a read past it is found), and *used
 * never counts more than the piece, nor less but where the reply ended. The
 * input is either bytes as they are, or, with its first byte's low bit set,
 * the makings of a reply: a final status, header lines of its own and
 * Content-Length N, after a 100 Continue or not, then what follows. Such a
 * reply ends exactly N bytes after its head's empty line (right after it for
 * a HEAD, a 204 or a 304), whatever follows. Run:
 * build/fuzz/fuzz_http_reply -max_total_time=60 */
#include "http_guard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS_MAX                                                                                 \
	4000 /* bytes of header lines taken: the head stays within HTTP_GUARD_REPLY_HEAD */

/* feed gives r the bytes p[0, n) step at a time and returns where the reply
 * ended in them, n + 1 when it did not; *verdict is the last one given. */
static size_t feed(wn_http_reply *r, const char *p, size_t n, size_t step, int *verdict)
{
	*verdict = WN_REPLY_MORE;
	for (size_t off = 0; off < n;) {
		size_t k = n - off < step ? n - off : step, used = SIZE_MAX;
		char *piece = malloc(k);
		memcpy(piece, p + off, k);
		*verdict = wn_http_guard_reply(r, piece, k, &used);
		free(piece);
		if (used > k || (*verdict != WN_REPLY_END && used != k))
			abort();
		if (*verdict == WN_REPLY_END)
			return off + used;
		off += k;
	}
	return n + 1;
}

/* fields appends to out the header lines in p[0, n): one a line, without
 * CR or LF, none empty, folded, or naming Content-Length or
 * Transfer-Encoding (the reply's length is the test's). */
static size_t fields(char *out, const uint8_t *p, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		size_t start = len;
		for (; i < n && p[i] != '\n'; i++)
			if (p[i] != '\r')
				out[len++] = (char)p[i];
		i++;
		size_t k = len - start;
		const char *line = out + start;
		if (k == 0 || line[0] == ' ' || line[0] == '\t' ||
		    (k >= 15 && strncasecmp(line, "content-length:", 15) == 0) ||
		    (k >= 18 && strncasecmp(line, "transfer-encoding:", 18) == 0)) {
			len = start;
			continue;
		}
		memcpy(out + len, "\r\n", 2);
		len += 2;
	}
	return len;
}

/* built checks a reply made from data (size > 8 bytes, flags in data[0]). */
static void built(const uint8_t *data, size_t size, size_t step)
{
	bool head_req = data[0] & 2, interim = data[0] & 4;
	int status = 200 + (data[1] << 8 | data[2]) % 400;
	if (data[1] & 0x80)
		status = data[1] & 0x40 ? 204 : 304;
	size_t body = (size_t)(data[3] << 16 | data[4] << 8 | data[5]) % 20000;
	size_t nf = (size_t)(data[6] << 8 | data[7]) % FIELDS_MAX;
	if (nf > size - 8)
		nf = size - 8;
	const uint8_t *rest = data + 8 + nf;
	size_t nrest = size - 8 - nf;
	char *p = malloc(256 + 3 * FIELDS_MAX + body + nrest);
	size_t len = 0;
	if (interim)
		len += (size_t)sprintf(p, "HTTP/1.1 100 Continue\r\n\r\n");
	len += (size_t)sprintf(p + len, "HTTP/1.1 %d Reason\r\n", status);
	size_t half = nf / 2; /* Content-Length among the other lines */
	len += fields(p + len, data + 8, half);
	len += (size_t)sprintf(p + len, "Content-Length: %zu\r\n", body);
	len += fields(p + len, data + 8 + half, nf - half);
	memcpy(p + len, "\r\n", 2);
	len += 2;
	size_t end = len + (head_req || status == 204 || status == 304 ? 0 : body);
	for (size_t i = 0; i < body; i++) /* the body, then what follows it */
		p[len++] = nrest > 0 ? (char)rest[i % nrest] : 'b';
	memcpy(p + len, rest, nrest);
	len += nrest;
	wn_http_reply r;
	wn_http_guard_reply_init(&r, head_req);
	int verdict;
	if (feed(&r, p, len, step, &verdict) != end || verdict != WN_REPLY_END)
		abort();
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = {1, 2, 3, 7, 64, 1000, 8192, 65536};
	if (size < 1 || size > 200000)
		return 0;
	size_t step = steps[(data[0] >> 3) % 8];
	if ((data[0] & 1) && size > 8) {
		built(data, size, step);
		return 0;
	}
	wn_http_reply r;
	wn_http_guard_reply_init(&r, data[0] & 2);
	int verdict;
	size_t end = feed(&r, (const char *)data + 1, size - 1, step, &verdict);
	/* a reply that ended begins with a status line */
	if (end <= size - 1 &&
	    (verdict != WN_REPLY_END || end < 14 || memcmp(data + 1, "HTTP/1.", 7) != 0))
		abort();
	if (verdict == WN_REPLY_EOF && !r.close)
		abort();
	return 0;
}
