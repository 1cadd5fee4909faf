/* libFuzzer target: the check of a request's head before nng's HTTP server
 * reads it (http_guard_head.c): the bytes of a client, as they come. Nothing may
 * crash; a head that goes on ends where nng's server ends it (its first
 * empty line, lines ending at a LF with or without a CR) and has no '%' in
 * its path; one refused for an escape has one; one refused for its Host is
 * of HTTP/1.1 and has no line naming Host; one that goes on has a target
 * that nng's server takes to wnd's handler, and one refused for its target
 * has none that is a path or an http(s) URI; one that goes on has at most
 * HTTP_GUARD_FIELDS header lines and HTTP_GUARD_HEAD_NNG bytes, and one
 * refused for its lines more of them; a HEAD is
 * found as nng's server
 * finds it (method "HEAD", in capitals); one whose target is an absolute
 * URI, rewritten to its path, is read as the same request; one that goes
 * on keeps to HTTP's grammar (grammar_ok). The bytes come a few at a
 * time, as a client may send them, and each is read once, but the last two
 * (a long line sent a byte at a time was read again for each). Run:
 * build/fuzz/fuzz_http_guard -max_total_time=60 */
#include "http_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* nng_head returns the length of the head at p (len bytes) as nng's server
 * reads it: up to and with its first empty line; 0 when it has none. */
static size_t nng_head(const char *p, size_t len)
{
	const char *line = p;
	for (const char *q = p; q < p + len; q++) {
		if (*q != '\n')
			continue;
		size_t n = (size_t)(q - line);
		if (n == 0 || (n == 1 && line[0] == '\r'))
			return (size_t)(q + 1 - p);
		line = q + 1;
	}
	return 0;
}

/* path_escaped tells whether the target of the request line at p holds a
 * '%' before its query ('?'; nng's server decodes past a '#'), as the guard
 * must judge it. */
static int path_escaped(const char *p)
{
	const char *eol = p;
	while (*eol != '\r' && *eol != '\n')
		eol++;
	const char *sp = memchr(p, ' ', (size_t)(eol - p));
	if (sp == NULL)
		return 0;
	for (const char *q = sp + 1; q < eol && *q != ' ' && *q != '?'; q++)
		if (*q == '%')
			return 1;
	return 0;
}

/* nng_handles tells whether nng's server takes the target of the request
 * line at p to a handler of wnd's (its own 404 keeps the connection, the
 * body unread): cut at '?', an absolute http(s) URI, or a path; and
 * origin tells whether it is a path or such a URI, as the guard wants. */
static int nng_handles(const char *p, int *origin)
{
	const char *eol = p;
	while (*eol != '\r' && *eol != '\n')
		eol++;
	const char *sp = memchr(p, ' ', (size_t)(eol - p)), *t, *end;
	*origin = 1;
	if (sp == NULL)
		return 1; /* no request line nng reads: it closes the connection */
	t = sp + 1;
	end = memchr(t, ' ', (size_t)(eol - t));
	end = end != NULL ? end : eol;
	size_t n = (size_t)(end - t);
	int abs = (n >= 7 && strncasecmp(t, "http://", 7) == 0) ||
	          (n >= 8 && strncasecmp(t, "https://", 8) == 0);
	*origin = abs || (n > 0 && t[0] == '/');
	return abs || n == 0 || t[0] == '/' || t[0] == '?';
}

/* hostless tells whether the head at p (len bytes, a whole head) is of
 * HTTP/1.1 (its request line ends so) and no line after its first names
 * Host (nng's server then answers 400 with the body left unread). */
static int hostless(const char *p, size_t len)
{
	const char *eol = memchr(p, '\n', len);
	size_t n = (size_t)(eol - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n < 9 || memcmp(p + n - 9, " HTTP/1.1", 9) != 0)
		return 0;
	for (const char *q = eol + 1; q + 5 <= p + len;
	     q = (const char *)memchr(q, '\n', (size_t)(p + len - q)) + 1)
		if (strncasecmp(q, "host:", 5) == 0)
			return 0;
	return 1;
}

/* check_origin rewrites a copy of the head at p (h, one that goes on) as
 * wn_http_guard_tidy and wn_http_guard_origin do: a head rewritten is no
 * longer, its target is a path, its header lines hold no tab nor Cookie,
 * and the guard reads it as the same request (a head that goes on, of the same body, a
 * HEAD if it was one). */
static void check_origin(const char *p, const wn_http_head *h)
{
	char *q = malloc(h->len);
	memcpy(q, p, h->len);
	size_t n = 0, from = 0, t = wn_http_guard_tidy(q, h->len);
	wn_http_head h1;
	if (t > h->len || wn_http_guard_scan(q, t, &from, &h1) != WN_GUARD_HEAD || h1.len != t ||
	    h1.body != h->body || h1.opaque != h->opaque || h1.head != h->head)
		abort(); /* tidied, it is the same request */
	for (const char *l = (const char *)memchr(q, '\n', t) + 1, *e; l < q + t; l = e + 1) {
		e = memchr(l, '\n', (size_t)(q + t - l));
		if ((e - l >= 7 && strncasecmp(l, "cookie:", 7) == 0) ||
		    memchr(l, '\t', (size_t)(e - l)) != NULL)
			abort(); /* no Cookie nor tab goes on */
	}
	/* the scheme of the listener: as the head's length is odd or even */
	bool https = (h->len & 1) != 0;
	int r = wn_http_guard_origin(q, t, https, &n);
	if (r == 1) {
		wn_http_head h2;
		const char *sp = memchr(q, ' ', n);
		from = 0;
		if (n >= t || sp == NULL || sp[1] != '/')
			abort();
		if (wn_http_guard_scan(q, n, &from, &h2) != WN_GUARD_HEAD || h2.len != n ||
		    h2.body != h->body || h2.opaque != h->opaque || h2.head != h->head)
			abort();
	} else if (r == -2) {
		const char *sp = memchr(q, ' ', t);
		if (sp == NULL ||
		    strncasecmp(sp + 1, https ? "http://" : "https://", https ? 7 : 8) != 0)
			abort(); /* refused for its scheme: the other listener's */
	} else if (r == 0 ? n != t : r != -1) {
		abort(); /* a path goes on as it came */
	}
	free(q);
}

/* grammar_ok tells whether the whole head at p (len bytes) keeps to the
 * grammar the guard wants (RFC 9112): a request line of three words ending
 * with HTTP/1.0 or HTTP/1.1, header lines NAME:VALUE not folded, no control
 * byte but a tab in a value nor a CR but before a LF, no byte past ASCII
 * but in a Cookie, no Transfer-Encoding. */
static int grammar_ok(const char *p, size_t len)
{
	const char *eol = memchr(p, '\n', len);
	size_t n = (size_t)(eol - p);
	n -= n > 0 && p[n - 1] == '\r';
	int spaces = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ' ')
			spaces++;
		else if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return 0;
	if (spaces != 2 || n < 9 || p[0] == ' ' ||
	    (memcmp(p + n - 9, " HTTP/1.1", 9) != 0 && memcmp(p + n - 9, " HTTP/1.0", 9) != 0))
		return 0;
	for (const char *q = eol + 1; q < p + len;) {
		const char *e = memchr(q, '\n', (size_t)(p + len - q)),
		           *c = memchr(q, ':', (size_t)(e - q));
		if (e == q || (e == q + 1 && *q == '\r'))
			break;
		if (c == NULL || c == q || *q == ' ' || *q == '\t' ||
		    (e - q >= 18 && strncasecmp(q, "transfer-encoding:", 18) == 0))
			return 0;
		int cookie = c - q == 6 && strncasecmp(q, "cookie", 6) == 0; /* UTF-8 allowed */
		for (const char *b = q; b < e; b++)
			if ((b < c && (*b == ' ' || *b == '\t')) || *b == 0x7f ||
			    ((unsigned char)*b > 0x7f && !cookie) ||
			    ((unsigned char)*b < ' ' && *b != '\t' && !(*b == '\r' && b + 1 == e)))
				return 0;
		q = e + 1;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * HTTP_GUARD_HEAD_MAX)
		return 0;
	/* copied to a buffer of its own size: a read past it is found */
	char *p = malloc(size ? size : 1);
	memcpy(p, data, size);
	size_t off = 0, step = size > 0 ? (size_t)data[0] % 7 + 1 : 1;
	while (off < size) {
		size_t from = 0, n = 0;
		wn_http_head h;
		int k;
		do { /* the bytes come step by step, each scan resuming the last */
			n = n + step < size - off ? n + step : size - off;
			k = wn_http_guard_scan(p + off, n, &from, &h);
			if (k == WN_GUARD_MORE && from + 2 < n)
				abort(); /* the next scan reads again what this one read */
		} while (k == WN_GUARD_MORE && n < size - off);
		if (k == WN_GUARD_MORE || k == WN_GUARD_BIG)
			break;
		if (h.len == 0 || h.len != nng_head(p + off, size - off))
			abort();
		if ((k == WN_GUARD_ESCAPE) != path_escaped(p + off))
			abort();
		if (k != WN_GUARD_ESCAPE && (k == WN_GUARD_HOST) != hostless(p + off, h.len))
			abort();
		int origin, handled = nng_handles(p + off, &origin);
		if (k == WN_GUARD_HEAD && !handled)
			abort(); /* nng's server would answer it itself */
		if (k != WN_GUARD_ESCAPE && k != WN_GUARD_HOST && (k == WN_GUARD_TARGET) == origin)
			abort();
		size_t lines = 0; /* of the head, its request line and empty one too */
		for (size_t i = 0; i < h.len; i++)
			lines += p[off + i] == '\n';
		if (k == WN_GUARD_HEAD &&
		    (lines > HTTP_GUARD_FIELDS + 2 || h.len > HTTP_GUARD_HEAD_NNG))
			abort(); /* nng's server would not read it as wnd does */
		if (k == WN_GUARD_FIELDS && lines <= HTTP_GUARD_FIELDS + 2)
			abort();
		if (h.head != (h.len >= 5 && memcmp(p + off, "HEAD ", 5) == 0))
			abort();
		if (k == WN_GUARD_HEAD && !grammar_ok(p + off, h.len))
			abort(); /* nng's server may answer it with nothing */
		if (k == WN_GUARD_HEAD)
			check_origin(p + off, &h);
		if (k != WN_GUARD_HEAD || h.opaque || h.body > size - off - h.len)
			break;
		off += h.len + (size_t)h.body;
	}
	free(p);
	return 0;
}
