#include "beanstalk.h"

#include "err.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BEANSTALK_RBUF 65536
#define BEANSTALK_LINE 256 /* longest reply line we accept */

struct wn_beanstalk {
	int fd;
	char *rbuf;
	size_t rpos, rlen;
	char *wbuf;
	size_t wlen, wcap;
	char err[256];
};

/* beanstalk_fail records the failure message and returns rv. */
static int beanstalk_fail(wn_beanstalk *b, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int beanstalk_fail(wn_beanstalk *b, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	return rv;
}

int wn_beanstalk_open(const char *addr, wn_beanstalk **out, char **errmsg)
{
	const char *colon = strrchr(addr, ':');
	int64_t port = 0;
	char host[64];
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    wn_parse_i64(colon + 1, 1, 65535, &port) != 0) {
		*errmsg = wn_xasprintf("bad beanstalkd address %s (want HOST:PORT)", addr);
		return WN_EINVAL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		*errmsg = wn_xasprintf("bad beanstalkd address %s (want an IPv4 address)", addr);
		return WN_EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errmsg = wn_xasprintf("cannot open socket: %s", strerror(errno));
		return WN_EUNAVAIL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		*errmsg =
		    wn_xasprintf("cannot connect to beanstalkd at %s: %s", addr, strerror(errno));
		close(fd);
		return WN_EUNAVAIL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	wn_beanstalk *b = wn_xcalloc(1, sizeof(*b));
	b->fd = fd;
	b->rbuf = wn_xmalloc(BEANSTALK_RBUF);
	*out = b;
	return WN_OK;
}

void wn_beanstalk_close(wn_beanstalk *b)
{
	if (b == NULL)
		return;
	close(b->fd);
	free(b->rbuf);
	free(b->wbuf);
	free(b);
}

void wn_beanstalk_wake(wn_beanstalk *b)
{
	shutdown(b->fd, SHUT_RDWR);
}

const char *wn_beanstalk_error(const wn_beanstalk *b)
{
	return b->err;
}

/* beanstalk_append adds len bytes to the pending write. */
static void beanstalk_append(wn_beanstalk *b, const void *p, size_t len)
{
	if (b->wlen + len > b->wcap) {
		b->wcap = (b->wlen + len) * 2;
		b->wbuf = wn_xrealloc(b->wbuf, b->wcap);
	}
	memcpy(b->wbuf + b->wlen, p, len);
	b->wlen += len;
}

static void beanstalk_appendf(wn_beanstalk *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void beanstalk_appendf(wn_beanstalk *b, const char *fmt, ...)
{
	char line[BEANSTALK_LINE];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		fprintf(stderr, "beanstalk: command too long\n");
		abort();
	}
	beanstalk_append(b, line, (size_t)n);
}

/* beanstalk_flush writes the pending commands. */
static int beanstalk_flush(wn_beanstalk *b)
{
	size_t off = 0;
	while (off < b->wlen) {
		ssize_t n = send(b->fd, b->wbuf + off, b->wlen - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			b->wlen = 0;
			return beanstalk_fail(b, WN_EUNAVAIL, "cannot send to beanstalkd: %s",
			                      n < 0 ? strerror(errno) : "connection closed");
		}
		off += (size_t)n;
	}
	b->wlen = 0;
	return WN_OK;
}

/* beanstalk_fill reads more bytes into the read buffer. */
static int beanstalk_fill(wn_beanstalk *b)
{
	if (b->rpos > 0) {
		memmove(b->rbuf, b->rbuf + b->rpos, b->rlen - b->rpos);
		b->rlen -= b->rpos;
		b->rpos = 0;
	}
	if (b->rlen == BEANSTALK_RBUF)
		return beanstalk_fail(b, WN_EPROTO, "reply line too long");
	for (;;) {
		ssize_t n = recv(b->fd, b->rbuf + b->rlen, BEANSTALK_RBUF - b->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return beanstalk_fail(b, WN_EUNAVAIL, "cannot read from beanstalkd: %s",
			                      n < 0 ? strerror(errno) : "connection closed");
		b->rlen += (size_t)n;
		return WN_OK;
	}
}

/* beanstalk_line reads one reply line into line (without its CRLF). */
static int beanstalk_line(wn_beanstalk *b, char *line, size_t cap)
{
	for (;;) {
		char *start = b->rbuf + b->rpos;
		char *end = memmem(start, b->rlen - b->rpos, "\r\n", 2);
		if (end != NULL) {
			size_t n = (size_t)(end - start);
			if (n >= cap)
				return beanstalk_fail(b, WN_EPROTO, "reply line too long");
			memcpy(line, start, n);
			line[n] = '\0';
			b->rpos += n + 2;
			return WN_OK;
		}
		int rv = beanstalk_fill(b);
		if (rv != WN_OK)
			return rv;
	}
}

/* beanstalk_body reads a job body of len bytes and its CRLF into job. */
static int beanstalk_body(wn_beanstalk *b, size_t len, wn_beanstalk_job *job)
{
	size_t want = len + 2, got = 0;
	job->len = len < WN_BEANSTALK_BODY_MAX ? len : WN_BEANSTALK_BODY_MAX;
	while (got < want) {
		if (b->rpos == b->rlen) {
			int rv = beanstalk_fill(b);
			if (rv != WN_OK)
				return rv;
		}
		size_t n = b->rlen - b->rpos;
		if (n > want - got)
			n = want - got;
		if (got < job->len) {
			size_t k = job->len - got < n ? job->len - got : n;
			memcpy(job->body + got, b->rbuf + b->rpos, k);
		}
		b->rpos += n;
		got += n;
	}
	job->body[job->len] = '\0';
	return WN_OK;
}

/* beanstalk_expect reads one reply line and checks that it starts with word. */
static int beanstalk_expect(wn_beanstalk *b, const char *what, const char *word, char *line,
                            size_t cap)
{
	int rv = beanstalk_line(b, line, cap);
	if (rv != WN_OK)
		return rv;
	size_t wl = strlen(word);
	if (strncmp(line, word, wl) != 0 || (line[wl] != '\0' && line[wl] != ' '))
		return beanstalk_fail(b, WN_EPROTO, "%s: beanstalkd answered %.100s", what, line);
	return WN_OK;
}

int wn_beanstalk_use(wn_beanstalk *b, const char *tube)
{
	char line[BEANSTALK_LINE];
	beanstalk_appendf(b, "use %s\r\n", tube);
	int rv = beanstalk_flush(b);
	return rv != WN_OK ? rv : beanstalk_expect(b, "use", "USING", line, sizeof(line));
}

int wn_beanstalk_watch(wn_beanstalk *b, const char *tube)
{
	char line[BEANSTALK_LINE];
	beanstalk_appendf(b, "watch %s\r\nignore default\r\n", tube);
	int rv = beanstalk_flush(b);
	if (rv == WN_OK)
		rv = beanstalk_expect(b, "watch", "WATCHING", line, sizeof(line));
	if (rv == WN_OK)
		rv = beanstalk_expect(b, "ignore", "WATCHING", line, sizeof(line));
	return rv;
}

int wn_beanstalk_put(wn_beanstalk *b, uint32_t pri, uint32_t ttr, const char *const *body,
                     const size_t *len, size_t n, uint64_t *ids)
{
	for (size_t i = 0; i < n; i++) {
		beanstalk_appendf(b, "put %" PRIu32 " 0 %" PRIu32 " %zu\r\n", pri, ttr, len[i]);
		beanstalk_append(b, body[i], len[i]);
		beanstalk_append(b, "\r\n", 2);
	}
	int rv = beanstalk_flush(b);
	for (size_t i = 0; i < n && rv == WN_OK; i++) {
		char line[BEANSTALK_LINE];
		rv = beanstalk_expect(b, "put", "INSERTED", line, sizeof(line));
		if (rv == WN_OK && ids != NULL)
			ids[i] = strtoull(line + 9, NULL, 10);
	}
	return rv;
}

/* beanstalk_reserved reads the reply to one reserve: WN_OK with *job filled,
 * or WN_ETIMEDOUT. */
static int beanstalk_reserved(wn_beanstalk *b, wn_beanstalk_job *job)
{
	char line[BEANSTALK_LINE];
	int rv = beanstalk_line(b, line, sizeof(line));
	if (rv != WN_OK)
		return rv;
	if (strcmp(line, "TIMED_OUT") == 0 || strcmp(line, "DEADLINE_SOON") == 0)
		return WN_ETIMEDOUT;
	uint64_t id;
	size_t len;
	if (sscanf(line, "RESERVED %" SCNu64 " %zu", &id, &len) != 2)
		return beanstalk_fail(b, WN_EPROTO, "reserve: beanstalkd answered %.100s", line);
	job->id = id;
	return beanstalk_body(b, len, job);
}

int wn_beanstalk_reserve(wn_beanstalk *b, int timeout_s, wn_beanstalk_job *job)
{
	beanstalk_appendf(b, "reserve-with-timeout %d\r\n", timeout_s);
	int rv = beanstalk_flush(b);
	return rv != WN_OK ? rv : beanstalk_reserved(b, job);
}

int wn_beanstalk_reserve_ready(wn_beanstalk *b, wn_beanstalk_job *jobs, size_t max, size_t *got)
{
	*got = 0;
	for (size_t i = 0; i < max; i++)
		beanstalk_append(b, "reserve-with-timeout 0\r\n", 24);
	int rv = beanstalk_flush(b);
	for (size_t i = 0; i < max && rv == WN_OK; i++) {
		int r = beanstalk_reserved(b, &jobs[*got]);
		if (r == WN_OK)
			(*got)++;
		else if (r != WN_ETIMEDOUT)
			rv = r;
	}
	return rv;
}

int wn_beanstalk_delete(wn_beanstalk *b, const uint64_t *ids, size_t n, wn_beanstalk_job *next,
                        int *have_next)
{
	for (size_t i = 0; i < n; i++)
		beanstalk_appendf(b, "delete %" PRIu64 "\r\n", ids[i]);
	if (next != NULL)
		beanstalk_append(b, "reserve-with-timeout 0\r\n", 24);
	int rv = beanstalk_flush(b);
	for (size_t i = 0; i < n && rv == WN_OK; i++) {
		char line[BEANSTALK_LINE];
		rv = beanstalk_expect(b, "delete", "DELETED", line, sizeof(line));
	}
	if (next != NULL) {
		*have_next = 0;
		if (rv == WN_OK) {
			int r = beanstalk_reserved(b, next);
			if (r == WN_OK)
				*have_next = 1;
			else if (r != WN_ETIMEDOUT)
				rv = r;
		}
	}
	return rv;
}
