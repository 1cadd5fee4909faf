#include "termsafe.h"

#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* termsafe_utf8 returns the length of the UTF-8 sequence at s (n bytes
 * left) and its code point in *cp; 0 when it is not valid UTF-8, -1 when it
 * may be, but is cut short. */
static int termsafe_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned char b = s[0];
	int len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
	if (b < 0xc2 || b > 0xf4)
		return 0;
	unsigned lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
	unsigned hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
	*cp = b & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		unsigned c = s[i];
		if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf))
			return 0;
		*cp = (*cp << 6) | (c & 0x3f);
	}
	return len;
}

/* termsafe_add appends the visible form of s (n bytes) to b; returns how
 * many bytes it took: fewer than n when s ends inside a UTF-8 sequence and
 * more may follow (final false). */
static size_t termsafe_add(wn_strbuf *b, const char *s, size_t n, bool multiline, bool final)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = u[i];
		if (c < 0x80) {
			if (c == 0x7f || (c < 0x20 && !(multiline && (c == '\n' || c == '\t'))))
				wn_strbuf_addf(b, "\\x%02x", c);
			else
				wn_strbuf_addc(b, (char)c);
			i++;
			continue;
		}
		unsigned cp = 0;
		int len = termsafe_utf8(u + i, n - i, &cp);
		if (len < 0 && !final)
			break;
		if (len <= 0) {
			wn_strbuf_addf(b, "\\x%02x", c);
			i++;
		} else if (cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) ||
		           (cp >= 0x2066 && cp <= 0x2069)) {
			wn_strbuf_addf(b, "\\u%04x", cp);
			i += (size_t)len;
		} else {
			wn_strbuf_add(b, s + i, (size_t)len);
			i += (size_t)len;
		}
	}
	return i;
}

char *wn_termsafe_escape(const char *s, size_t n, bool multiline)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_add(&b, "", 0);
	termsafe_add(&b, s, n, multiline, true);
	return wn_strbuf_take(&b);
}

/* wn_termsafe_whole: a cut sequence's first byte is found looking back past its
 * continuation bytes (termsafe.h). */
size_t wn_termsafe_whole(const unsigned char *p, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char b = p[n - back];
		if ((b & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
		return len > back && b >= 0xC0 && b < 0xF8 ? n - back : n;
	}
	return n;
}

unsigned char *wn_termsafe_join(wn_termsafe_cut *cut, const void *p, size_t n, size_t *len)
{
	unsigned char *buf = wn_xmalloc(cut->n + n + 1);
	memcpy(buf, cut->b, cut->n);
	if (n > 0) /* an empty reply's bytes may be NULL */
		memcpy(buf + cut->n, p, n);
	size_t all = cut->n + n;
	*len = wn_termsafe_whole(buf, all);
	cut->n = all - *len;
	memcpy(cut->b, buf + *len, cut->n);
	return buf;
}

/* One escaping stream over a descriptor. */
typedef struct termsafe_stream {
	int fd;
	const bool *raw; /* true: write as it is */
	char pending[4]; /* the start of a UTF-8 sequence cut by a write */
	size_t npending;
} termsafe_stream;

int wn_termsafe_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a descriptor left non-blocking (by a shell, a terminal, a parent):
			 * full for now, as a blocking one would wait */
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t termsafe_cookie_write(void *cookie, const char *buf, size_t n)
{
	termsafe_stream *t = cookie;
	if (t->raw != NULL && *t->raw)
		return wn_termsafe_write_all(t->fd, buf, n) == 0 ? (ssize_t)n : -1;
	wn_strbuf in = WN_STRBUF_INIT, out = WN_STRBUF_INIT;
	wn_strbuf_add(&in, t->pending, t->npending);
	wn_strbuf_add(&in, buf, n);
	size_t took = termsafe_add(&out, in.s, in.len, true, false);
	t->npending = in.len - took;
	memcpy(t->pending, in.s + took, t->npending);
	int rv = out.len > 0 ? wn_termsafe_write_all(t->fd, out.s, out.len) : 0;
	wn_strbuf_free(&in);
	wn_strbuf_free(&out);
	return rv == 0 ? (ssize_t)n : -1;
}

static int termsafe_cookie_close(void *cookie)
{
	termsafe_stream *t = cookie;
	if (t->npending > 0) {
		char *e = wn_termsafe_escape(t->pending, t->npending, true);
		wn_termsafe_write_all(t->fd, e, strlen(e));
		free(e);
	}
	t->npending = 0;
	return 0;
}

/* The streams' state: static, since the streams replace stdout and stderr
 * for the life of the process (exit flushes them but never closes them). */
static termsafe_stream termsafe_streams[2];

/* termsafe_open returns an escaping stream over fd (raw: see termsafe_stream)
 * keeping its state in t. */
static FILE *termsafe_open(termsafe_stream *t, int fd, const bool *raw)
{
	t->fd = fd;
	t->raw = raw;
	t->npending = 0;
	cookie_io_functions_t io = {.write = termsafe_cookie_write, .close = termsafe_cookie_close};
	FILE *f = fopencookie(t, "w", io);
	if (f == NULL)
		return NULL;
	setvbuf(f, NULL, isatty(fd) ? _IOLBF : _IOFBF, BUFSIZ);
	return f;
}

void wn_termsafe_install(const bool *raw_stdout)
{
	fflush(stdout);
	fflush(stderr);
	FILE *out = termsafe_open(&termsafe_streams[0], STDOUT_FILENO, raw_stdout);
	FILE *err = termsafe_open(&termsafe_streams[1], STDERR_FILENO, NULL);
	if (out != NULL)
		stdout = out;
	if (err != NULL) {
		setvbuf(err, NULL, _IOLBF, BUFSIZ);
		stderr = err;
	}
}
