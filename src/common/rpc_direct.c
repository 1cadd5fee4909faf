#include "rpc_direct.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DIRECT_HANDSHAKE 8           /* bytes of the SP header each side sends first */
#define DIRECT_ID_BIT    0x80000000u /* set in every request id (the last hop) */
#define DIRECT_RBUF      65536       /* receive buffer kept between calls */
#define DIRECT_RETRY_MIN 50          /* ms before a background connect is tried again, doubling */
#define DIRECT_RETRY_MAX 2000

struct wn_rpc_direct {
	pthread_mutex_t mu; /* one exchange at a time */
	char *url;
	bool ipc;
	bool background;
	int family;             /* tcp: AF_UNSPEC, AF_INET or AF_INET6 */
	char *host, *port;      /* tcp */
	struct sockaddr_un sun; /* ipc */
	int fd;                 /* -1 while not connected */
	uint32_t counter;       /* low 31 bits of the next request id */
	uint8_t *rbuf;          /* received, not yet consumed: rbuf[rpos..rlen) */
	size_t rpos, rlen, rcap;
	char why[160]; /* reason of the last failure */
};

/* Where an exchange failed, for its message. */
enum { STEP_CONNECT, STEP_SEND, STEP_AWAIT };

static int direct_fail(wn_rpc_direct *d, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* direct_fail records why something failed and returns rv. */
static int direct_fail(wn_rpc_direct *d, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	return rv;
}

static void direct_put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void direct_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t direct_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t direct_get64(const uint8_t *p)
{
	return (uint64_t)direct_get32(p) << 32 | direct_get32(p + 4);
}

/* direct_left returns the ms left until deadline (monotonic ms), at least 0. */
static int direct_left(int64_t deadline)
{
	int64_t left = deadline - wn_mono_ms();
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* direct_deadline returns the monotonic ms timeout_ms from now (negative: never). */
static int64_t direct_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX : wn_mono_ms() + timeout_ms;
}

/* direct_parse fills in the address of url. */
static int direct_parse(wn_rpc_direct *d, const char *url)
{
	static const struct {
		const char *scheme;
		int family;
	} tcp[] = {{"tcp://", AF_UNSPEC}, {"tcp4://", AF_INET}, {"tcp6://", AF_INET6}};
	if (strncmp(url, "ipc://", 6) == 0) {
		const char *path = url + 6;
		if (path[0] == '\0' || strlen(path) >= sizeof(d->sun.sun_path))
			return direct_fail(d, WN_EINVAL, "bad ipc path (1 to %zu bytes)",
			                   sizeof(d->sun.sun_path) - 1);
		d->ipc = true;
		d->sun.sun_family = AF_UNIX;
		memcpy(d->sun.sun_path, path, strlen(path) + 1);
		return WN_OK;
	}
	for (size_t i = 0; i < WN_ARRAY_LEN(tcp); i++) {
		size_t n = strlen(tcp[i].scheme);
		if (strncmp(url, tcp[i].scheme, n) != 0)
			continue;
		const char *host = url + n, *end, *colon;
		if (host[0] == '[') {
			host++;
			end = strchr(host, ']');
			colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
		} else {
			colon = strrchr(host, ':');
			end = colon;
		}
		if (colon == NULL || end == host || colon[1] == '\0')
			return direct_fail(d, WN_EINVAL, "expected %sHOST:PORT", tcp[i].scheme);
		d->host = wn_xmalloc((size_t)(end - host) + 1);
		memcpy(d->host, host, (size_t)(end - host));
		d->host[end - host] = '\0';
		d->port = wn_xstrdup(colon + 1);
		d->family = tcp[i].family;
		return WN_OK;
	}
	return direct_fail(d, WN_EINVAL, "expected tcp://HOST:PORT or ipc://PATH");
}

/* direct_wait waits until fd is ready for events or deadline passes. */
static int direct_wait(wn_rpc_direct *d, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, direct_left(deadline));
		if (n > 0)
			return WN_OK; /* readable, writable, or an error the next call reports */
		if (n == 0)
			return direct_fail(d, WN_ETIMEDOUT, "timed out");
		if (errno != EINTR)
			return direct_fail(d, WN_EUNAVAIL, "poll: %s", strerror(errno));
	}
}

/* direct_drop closes the connection and forgets what it received. */
static void direct_drop(wn_rpc_direct *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->rpos = d->rlen = 0;
	if (d->rcap > DIRECT_RBUF) {
		free(d->rbuf);
		d->rbuf = NULL;
		d->rcap = 0;
	}
}

/* direct_send writes hdr then body, whole, before deadline. */
static int direct_send(wn_rpc_direct *d, const uint8_t *hdr, size_t hlen, const uint8_t *body,
                       size_t len, int64_t deadline)
{
	struct iovec iov[2] = {{(void *)hdr, hlen}, {(void *)body, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1};
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(d->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rv = direct_wait(d, d->fd, POLLOUT, deadline);
			if (rv != WN_OK)
				return rv;
			continue;
		}
		if (n < 0)
			return direct_fail(d, WN_EUNAVAIL, "cannot send: %s", strerror(errno));
		size_t k = (size_t)n;
		while (mh.msg_iovlen > 0 && k >= mh.msg_iov->iov_len) {
			k -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
		}
	}
	return WN_OK;
}

/* direct_need reads until at least n unconsumed bytes are buffered. */
static int direct_need(wn_rpc_direct *d, size_t n, int64_t deadline)
{
	while (d->rlen - d->rpos < n) {
		if (d->rpos > 0) {
			memmove(d->rbuf, d->rbuf + d->rpos, d->rlen - d->rpos);
			d->rlen -= d->rpos;
			d->rpos = 0;
		}
		if (d->rcap < n || d->rcap < DIRECT_RBUF) {
			d->rcap = n > DIRECT_RBUF ? n : DIRECT_RBUF;
			d->rbuf = wn_xrealloc(d->rbuf, d->rcap);
		}
		ssize_t got = recv(d->fd, d->rbuf + d->rlen, d->rcap - d->rlen, 0);
		if (got > 0) {
			d->rlen += (size_t)got;
		} else if (got == 0) {
			return direct_fail(d, WN_EUNAVAIL, "connection closed by the server");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rv = direct_wait(d, d->fd, POLLIN, deadline);
			if (rv != WN_OK)
				return rv;
		} else if (errno != EINTR) {
			return direct_fail(d, WN_EUNAVAIL, "cannot receive: %s", strerror(errno));
		}
	}
	return WN_OK;
}

/* direct_handshake exchanges SP headers: we are REQ v0, the peer must be REP v0. */
static int direct_handshake(wn_rpc_direct *d, int64_t deadline)
{
	/* 0x00 'S' 'P' version, our protocol number (big endian), 0x00 0x00 */
	static const uint8_t hs[] = {0, 'S', 'P', WN_SP_VERSION, WN_SP_REQ0 >> 8, WN_SP_REQ0 & 0xff,
	                             0, 0};
	int rv = direct_send(d, hs, sizeof(hs), NULL, 0, deadline);
	if (rv == WN_OK)
		rv = direct_need(d, DIRECT_HANDSHAKE, deadline);
	if (rv != WN_OK)
		return rv;
	const uint8_t *h = d->rbuf + d->rpos;
	if (h[0] != 0 || h[1] != 'S' || h[2] != 'P' || h[3] != WN_SP_VERSION || h[6] != 0 ||
	    h[7] != 0)
		return direct_fail(d, WN_EPROTO, "peer does not speak the SP protocol");
	unsigned proto = (unsigned)h[4] << 8 | h[5];
	if (proto != WN_SP_REP0)
		return direct_fail(d, WN_EPROTO, "peer is not a REP socket (protocol %u)", proto);
	d->rpos += DIRECT_HANDSHAKE;
	return WN_OK;
}

/* direct_dial opens a socket to sa and waits for the connection. */
static int direct_dial(wn_rpc_direct *d, const struct sockaddr *sa, socklen_t salen,
                       int64_t deadline, int *out)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return direct_fail(d, WN_EUNAVAIL, "cannot open socket: %s", strerror(errno));
	int rv = WN_OK;
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS) {
			rv = direct_fail(d, WN_EUNAVAIL, "%s", strerror(errno));
		} else if ((rv = direct_wait(d, fd, POLLOUT, deadline)) == WN_OK) {
			int err = 0;
			socklen_t elen = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
				err = errno;
			if (err != 0)
				rv = direct_fail(d, WN_EUNAVAIL, "%s", strerror(err));
		}
	}
	if (rv != WN_OK) {
		close(fd);
		return rv;
	}
	*out = fd;
	return WN_OK;
}

/* direct_connect connects once, handshake included. */
static int direct_connect(wn_rpc_direct *d, int64_t deadline)
{
	int fd = -1, rv;
	if (d->ipc) {
		rv =
		    direct_dial(d, (const struct sockaddr *)&d->sun, sizeof(d->sun), deadline, &fd);
	} else {
		struct addrinfo hints = {.ai_family = d->family, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;
		int gai = getaddrinfo(d->host, d->port, &hints, &res);
		if (gai != 0)
			return direct_fail(d, WN_EUNAVAIL, "cannot resolve %s: %s", d->host,
			                   gai_strerror(gai));
		rv = direct_fail(d, WN_EUNAVAIL, "no address for %s", d->host);
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			rv = direct_dial(d, ai->ai_addr, ai->ai_addrlen, deadline, &fd);
			if (rv == WN_OK || rv == WN_ETIMEDOUT)
				break;
		}
		freeaddrinfo(res);
		if (rv == WN_OK) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
	}
	if (rv != WN_OK)
		return rv;
	d->fd = fd;
	d->rpos = d->rlen = 0;
	rv = direct_handshake(d, deadline);
	if (rv != WN_OK)
		direct_drop(d);
	return rv;
}

/* direct_reconnect connects; in the background it keeps trying until
 * deadline, then fails with WN_ETIMEDOUT. */
static int direct_reconnect(wn_rpc_direct *d, int64_t deadline)
{
	int pause = DIRECT_RETRY_MIN;
	for (;;) {
		int rv = direct_connect(d, deadline);
		if (rv != WN_EUNAVAIL || !d->background)
			return rv;
		int left = direct_left(deadline);
		if (left == 0)
			return WN_ETIMEDOUT; /* d->why keeps the last attempt's reason */
		int ms = pause < left ? pause : left;
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		pause = pause * 2 < DIRECT_RETRY_MAX ? pause * 2 : DIRECT_RETRY_MAX;
	}
}

/* direct_await reads replies until the one to request id, which it copies
 * out; replies to earlier requests are skipped. */
static int direct_await(wn_rpc_direct *d, uint32_t id, int64_t deadline, uint8_t **reply,
                        size_t *reply_len)
{
	size_t hlen = d->ipc ? 9 : 8;
	for (;;) {
		int rv = direct_need(d, hlen, deadline);
		if (rv != WN_OK)
			return rv;
		const uint8_t *h = d->rbuf + d->rpos;
		if (d->ipc && h[0] != 1)
			return direct_fail(d, WN_EPROTO, "malformed reply (frame type %u)", h[0]);
		uint64_t plen = direct_get64(h + hlen - 8);
		if (plen > WN_RPC_DIRECT_MAX)
			return direct_fail(d, WN_ETOOBIG,
			                   "reply of %llu bytes is over the limit of %u bytes",
			                   (unsigned long long)plen, WN_RPC_DIRECT_MAX);
		if (plen < 4)
			return direct_fail(d, WN_EPROTO,
			                   "malformed reply (%u bytes, no request id)",
			                   (unsigned)plen);
		rv = direct_need(d, hlen + (size_t)plen, deadline);
		if (rv != WN_OK)
			return rv;
		const uint8_t *p = d->rbuf + d->rpos + hlen;
		d->rpos += hlen + (size_t)plen;
		if (direct_get32(p) != id)
			continue; /* the late reply to a request given up on */
		*reply_len = (size_t)plen - 4;
		*reply = wn_xmalloc(*reply_len);
		memcpy(*reply, p + 4, *reply_len);
		if (d->rpos == d->rlen)
			d->rpos = d->rlen = 0;
		return WN_OK;
	}
}

int wn_rpc_direct_open(const char *url, bool background, int timeout_ms, wn_rpc_direct **out,
                       char **errmsg)
{
	wn_rpc_direct *d = wn_xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	d->url = wn_xstrdup(url);
	d->background = background;
	d->fd = -1;
	d->counter = (uint32_t)wn_random_u64();
	int rv = direct_parse(d, url);
	if (rv != WN_OK) {
		*errmsg = wn_xasprintf("bad address %s: %s", url, d->why);
	} else if (!background) {
		rv = direct_connect(d, direct_deadline(timeout_ms));
		if (rv != WN_OK)
			*errmsg = wn_xasprintf("cannot connect to %s: %s", url, d->why);
	}
	if (rv != WN_OK) {
		wn_rpc_direct_close(d);
		return rv;
	}
	*out = d;
	return WN_OK;
}

void wn_rpc_direct_close(wn_rpc_direct *d)
{
	if (d == NULL)
		return;
	direct_drop(d);
	pthread_mutex_destroy(&d->mu);
	free(d->rbuf);
	free(d->host);
	free(d->port);
	free(d->url);
	free(d);
}

int wn_rpc_direct_exchange(wn_rpc_direct *d, const uint8_t *body, size_t len, int timeout_ms,
                           uint8_t **reply, size_t *reply_len, char **errmsg)
{
	*reply = NULL;
	*reply_len = 0;
	int64_t deadline = direct_deadline(timeout_ms);
	pthread_mutex_lock(&d->mu);
	uint32_t id = DIRECT_ID_BIT | (d->counter++ & ~DIRECT_ID_BIT);
	uint8_t hdr[13]; /* ipc: 0x01; payload length; request id */
	size_t hlen = 0;
	if (d->ipc)
		hdr[hlen++] = 1;
	direct_put64(hdr + hlen, (uint64_t)len + 4);
	direct_put32(hdr + hlen + 8, id);
	hlen += 12;
	bool resent = false;
	int rv, step;
	for (;;) {
		step = STEP_CONNECT;
		rv = d->fd >= 0 ? WN_OK : direct_reconnect(d, deadline);
		if (rv == WN_OK) {
			step = STEP_SEND;
			rv = direct_send(d, hdr, hlen, body, len, deadline);
		}
		if (rv == WN_OK) {
			step = STEP_AWAIT;
			rv = direct_await(d, id, deadline, reply, reply_len);
		}
		if (rv == WN_OK)
			break;
		/* A reply still on its way is skipped by the next exchange; any
		 * other failure leaves the stream in an unknown state. */
		if (rv != WN_ETIMEDOUT || step != STEP_AWAIT)
			direct_drop(d);
		if (rv == WN_EUNAVAIL && step != STEP_CONNECT && !resent) {
			resent = true; /* the same request, under the same id */
			continue;
		}
		break;
	}
	if (rv == WN_OK)
		*errmsg = NULL;
	else if (rv == WN_ETIMEDOUT && step != STEP_CONNECT)
		*errmsg = wn_xasprintf("no reply from %s within %d ms (is wnd running?)", d->url,
		                       timeout_ms);
	else if (rv == WN_ETIMEDOUT)
		*errmsg = wn_xasprintf("cannot connect to %s within %d ms: %s", d->url, timeout_ms,
		                       d->why);
	else
		*errmsg =
		    wn_xasprintf("cannot %s %s: %s",
		                 step == STEP_CONNECT ? "connect to" : "talk to", d->url, d->why);
	pthread_mutex_unlock(&d->mu);
	return rv;
}
