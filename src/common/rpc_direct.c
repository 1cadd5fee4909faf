#include "rpc_direct.h"

#include "err.h"
#include "tlsdiag.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DIRECT_RBUF          65536 /* receive buffer kept between calls */
#define DIRECT_RETRY_MIN     50    /* ms before a background connect is tried again, doubling */
#define DIRECT_RETRY_MAX     2000
#define DIRECT_DIAG_MS       3000 /* longest look for TLS behind a failed handshake */
#define DIRECT_OPEN_GREET_MS 500  /* how long opening waits for the server's SP header */
#define DIRECT_FRESH_MS      1000 /* an idle connection given back this lately is not probed */
#define DIRECT_COARSE_MS     100  /* below this many ms left, a receive waits in poll */
#define DIRECT_STEP_MS       50   /* a pause between connects looks this often for a stop */

struct wn_rpc_direct_conn {
	wn_rpc_direct *d;
	wn_rpc_direct_conn *next;          /* in the idle list */
	wn_rpc_direct_conn *bprev, *bnext; /* in the busy list, while a call holds it */
	bool busy;                         /* in the busy list */
	atomic_bool given_up;              /* wn_rpc_direct_interrupt: its call fails at once */
	int fd;                            /* -1 while not connected; set and closed under d->mu */
	bool greeted;                      /* the peer's SP header came */
	bool authed;                       /* wn_rpc_direct_set_authed since connected */
	int rcvtimeo;                      /* ms of its SO_RCVTIMEO (0: none set, waits for ever) */
	int64_t idle_since;                /* monotonic ms it was given back */
	int64_t open_by; /* not greeted when opened: its greeting is due by then */
	int open_ms;     /* the opening's timeout, ms, that set open_by */
	uint8_t *rbuf;   /* received, not yet consumed: rbuf[rpos..rlen) */
	size_t rpos, rlen, rcap;
	char why[256]; /* reason of the last failure */
};

struct wn_rpc_direct {
	char *url;
	bool ipc;
	bool background; /* connect retries until the deadline */
	wn_wire_url addr;
	struct sockaddr_un sun; /* ipc */
	atomic_uint counter;    /* low 31 bits of the next request id */
	pthread_mutex_t mu;     /* guards the idle and busy lists, and busy ones' fds */
	wn_rpc_direct_conn *idle;
	wn_rpc_direct_conn *busy; /* held by calls */
	size_t nidle, idle_max;
};

/* Where an exchange failed, for its message. */
enum { STEP_CONNECT, STEP_SEND, STEP_AWAIT };

static int direct_fail(wn_rpc_direct_conn *c, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* direct_fail records why something failed on c and returns rv. */
static int direct_fail(wn_rpc_direct_conn *c, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return rv;
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

/* direct_parse fills in the address of url; on failure c->why says why. */
static int direct_parse(wn_rpc_direct *d, wn_rpc_direct_conn *c, const char *url)
{
	char *why = NULL;
	int rv = wn_wire_url_parse(url, &d->addr, &why);
	if (rv != WN_OK) {
		rv = direct_fail(c, rv, "%s", why);
		free(why);
		return rv;
	}
	if (d->addr.tls)
		return direct_fail(c, WN_EINVAL, "the direct client does not speak TLS");
	if (d->addr.ipc) {
		d->ipc = true;
		d->sun.sun_family = AF_UNIX;
		_Static_assert(sizeof(d->sun.sun_path) == WN_WIRE_PATH_MAX,
		               "wire's ipc path length");
		memcpy(d->sun.sun_path, d->addr.path, sizeof(d->sun.sun_path));
	} else if (d->addr.host[0] == '\0') {
		return direct_fail(c, WN_EINVAL, "the address needs a host (tcp://HOST:PORT)");
	}
	return WN_OK;
}

/* direct_wait waits until fd is ready for events or deadline passes. */
static int direct_wait(wn_rpc_direct_conn *c, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, direct_left(deadline));
		if (n > 0)
			return WN_OK; /* readable, writable, or an error the next call reports */
		if (n == 0)
			return direct_fail(c, WN_ETIMEDOUT, "timed out");
		if (errno != EINTR)
			return direct_fail(c, WN_EUNAVAIL, "poll: %s", strerror(errno));
	}
}

/* direct_set_fd sets c's socket (under the lock: wn_rpc_direct_interrupt
 * shuts down the sockets of busy connections); false, fd closed, when c's
 * call was given up meanwhile. */
static bool direct_set_fd(wn_rpc_direct_conn *c, int fd)
{
	pthread_mutex_lock(&c->d->mu);
	bool ok = !atomic_load(&c->given_up);
	if (ok)
		c->fd = fd;
	else
		close(fd);
	pthread_mutex_unlock(&c->d->mu);
	return ok;
}

/* direct_drop closes c's socket and forgets what it received. */
static void direct_drop(wn_rpc_direct_conn *c)
{
	if (c->fd >= 0) {
		pthread_mutex_lock(&c->d->mu);
		close(c->fd);
		c->fd = -1;
		pthread_mutex_unlock(&c->d->mu);
	}
	c->authed = false;
	c->rcvtimeo = 0;
	c->open_by = 0;
	c->rpos = c->rlen = 0;
	if (c->rcap > DIRECT_RBUF) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
}

static void direct_free(wn_rpc_direct_conn *c)
{
	direct_drop(c);
	free(c->rbuf);
	free(c);
}

/* direct_send writes hdr then body, whole, before deadline. */
static int direct_send(wn_rpc_direct_conn *c, const uint8_t *hdr, size_t hlen, const uint8_t *body,
                       size_t len, int64_t deadline)
{
	struct iovec iov[2] = {{(void *)hdr, hlen}, {(void *)body, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1};
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rv = direct_wait(c, c->fd, POLLOUT, deadline);
			if (rv != WN_OK)
				return rv;
			continue;
		}
		if (n < 0)
			return direct_fail(c, WN_EUNAVAIL, "cannot send: %s", strerror(errno));
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

/* direct_rcvtimeo_safe is the longest SO_RCVTIMEO that cannot run past left
 * ms: the kernel keeps such a timeout on its timer wheel, which rounds it up
 * by as much as an eighth of it, and to a whole tick (4 ms at 250 Hz). */
static int direct_rcvtimeo_safe(int left)
{
	return left - left / 8 - 8;
}

/* direct_set_rcvtimeo bounds c's blocking receives to a timeout that ends
 * before left ms (> DIRECT_COARSE_MS): a receive waits in the kernel, with
 * no poll before it. Set short of the safe bound, it stays while no longer
 * than the time left allows and not much shorter, so calls with one timeout
 * set it once; a receive that ends early for it is made again with the time
 * then left. */
static int direct_set_rcvtimeo(wn_rpc_direct_conn *c, int left)
{
	int safe = direct_rcvtimeo_safe(left);
	if (c->rcvtimeo > 0 && c->rcvtimeo <= safe && c->rcvtimeo >= safe - left / 8)
		return WN_OK;
	int ms = safe - left / 16;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return direct_fail(c, WN_EUNAVAIL, "cannot set a receive timeout: %s",
		                   strerror(errno));
	c->rcvtimeo = ms;
	return WN_OK;
}

/* direct_recv receives what c's peer sent into its buffer, waiting at most
 * left ms: while much time is left, in a blocking receive under a receive
 * timeout that ends early (direct_set_rcvtimeo: one system call per call
 * that waits); for the last stretch, in poll, whose timeout is exact. Like
 * recv, but -1 with errno EAGAIN when nothing came in time. */
static ssize_t direct_recv(wn_rpc_direct_conn *c, int left)
{
	void *at = c->rbuf + c->rlen;
	size_t room = c->rcap - c->rlen;
	if (left > DIRECT_COARSE_MS) {
		if (direct_set_rcvtimeo(c, left) != WN_OK)
			return -2;
		return recv(c->fd, at, room, 0);
	}
	ssize_t got = recv(c->fd, at, room, MSG_DONTWAIT);
	if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || left == 0)
		return got;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int n = poll(&p, 1, left);
	if (n < 0)
		return -1; /* EINTR: the caller looks again */
	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	return recv(c->fd, at, room, MSG_DONTWAIT);
}

/* direct_need reads until at least n unconsumed bytes are buffered; the
 * socket blocks (its sends do not: MSG_DONTWAIT), each receive bounded by
 * the time left. */
static int direct_need(wn_rpc_direct_conn *c, size_t n, int64_t deadline)
{
	while (c->rlen - c->rpos < n) {
		if (c->rpos > 0) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		if (c->rcap < n || c->rcap < DIRECT_RBUF) {
			c->rcap = n > DIRECT_RBUF ? n : DIRECT_RBUF;
			c->rbuf = wn_xrealloc(c->rbuf, c->rcap);
		}
		int left = direct_left(deadline);
		ssize_t got = direct_recv(c, left);
		if (got > 0) {
			c->rlen += (size_t)got;
		} else if (got == 0) {
			return direct_fail(c, WN_EUNAVAIL, "connection closed by the server");
		} else if (got == -2) {
			return WN_EUNAVAIL; /* c->why says why */
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (left == 0)
				return direct_fail(c, WN_ETIMEDOUT, "timed out");
		} else if (errno != EINTR) {
			return direct_fail(c, WN_EUNAVAIL, "cannot receive: %s", strerror(errno));
		}
	}
	return WN_OK;
}

/* direct_parse_greeting reads the peer's SP header, buffered: it must be
 * REP v0's; *sp tells whether it is an SP header at all. */
static int direct_parse_greeting(wn_rpc_direct_conn *c, bool *sp)
{
	uint16_t proto = 0;
	*sp = wn_wire_handshake_parse(c->rbuf + c->rpos, &proto);
	if (!*sp)
		return direct_fail(c, WN_EPROTO, "peer does not speak the SP protocol");
	if (proto != WN_SP_REP0)
		return direct_fail(c, WN_EPROTO, "peer is not a REP socket (protocol %u)", proto);
	c->rpos += WN_SP_HANDSHAKE_LEN;
	return WN_OK;
}

/* direct_greet waits until deadline for the SP header of c's peer (ours
 * went out when it connected). On failure c is closed, unless the header is
 * only late and pending is set: then it stays open for the next exchange
 * to wait on. A tcp peer that takes the connection but fails the handshake
 * may speak TLS: asked, it says so. */
static int direct_greet(wn_rpc_direct *d, wn_rpc_direct_conn *c, int64_t deadline, bool pending)
{
	bool sp = false;
	int rv = direct_need(c, WN_SP_HANDSHAKE_LEN, deadline);
	if (rv == WN_ETIMEDOUT && pending)
		return WN_OK;
	if (rv == WN_OK)
		rv = direct_parse_greeting(c, &sp);
	if (rv == WN_OK) {
		c->greeted = true;
		return WN_OK;
	}
	direct_drop(c);
	if (!d->ipc && !sp && rv != WN_ETIMEDOUT) { /* a TLS server answers, then closes */
		const wn_tlsdiag_opts none = {0};
		char *tls = wn_tlsdiag_run(d->url, &none, DIRECT_DIAG_MS);
		if (tls != NULL)
			rv = direct_fail(c, WN_EPROTO, "%s", tls);
		free(tls);
	}
	return rv;
}

/* direct_dial opens a socket to sa, as c's, and waits for the connection;
 * a call given up meanwhile (wn_rpc_direct_interrupt) fails. */
static int direct_dial(wn_rpc_direct_conn *c, const struct sockaddr *sa, socklen_t salen,
                       int64_t deadline)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) /* this machine's failure (out of descriptors, say), not the server's */
		return direct_fail(c, WN_EIO, "cannot open socket: %s", strerror(errno));
	if (!direct_set_fd(c, fd))
		return direct_fail(c, WN_ETIMEDOUT, "given up");
	int rv = WN_OK;
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS) {
			rv = direct_fail(c, WN_EUNAVAIL, "%s", strerror(errno));
		} else if ((rv = direct_wait(c, fd, POLLOUT, deadline)) == WN_OK) {
			int err = 0;
			socklen_t elen = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
				err = errno;
			if (err != 0)
				rv = direct_fail(c, WN_EUNAVAIL, "%s", strerror(err));
		}
	}
	if (rv == WN_OK && atomic_load(&c->given_up))
		rv = direct_fail(c, WN_ETIMEDOUT, "given up");
	if (rv == WN_OK && fcntl(fd, F_SETFL, 0) != 0) /* receives block, see direct_need */
		rv = direct_fail(c, WN_EUNAVAIL, "cannot make the socket blocking: %s",
		                 strerror(errno));
	if (rv != WN_OK)
		direct_drop(c);
	return rv;
}

/* direct_dial_tcp connects to the first of the host's addresses that answers. */
static int direct_dial_tcp(wn_rpc_direct *d, wn_rpc_direct_conn *c, int64_t deadline)
{
	struct addrinfo hints = {.ai_family = d->addr.family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(d->addr.host, d->addr.port, &hints, &res);
	if (gai != 0)
		return direct_fail(c, WN_EUNAVAIL, "cannot resolve %s: %s", d->addr.host,
		                   gai_strerror(gai));
	int rv = direct_fail(c, WN_EUNAVAIL, "no address for %s", d->addr.host);
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		rv = direct_dial(c, ai->ai_addr, ai->ai_addrlen, deadline);
		if (rv == WN_OK || rv == WN_ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (rv == WN_OK) {
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return rv;
}

/* direct_connect connects c once, handshake included, all before deadline;
 * a peer that takes the connection but has not greeted by greet_by (before
 * deadline) is waited for by the exchange. */
static int direct_connect(wn_rpc_direct *d, wn_rpc_direct_conn *c, int64_t deadline,
                          int64_t greet_by)
{
	int rv = d->ipc ? direct_dial(c, (const struct sockaddr *)&d->sun, sizeof(d->sun), deadline)
	                : direct_dial_tcp(d, c, deadline);
	if (rv != WN_OK)
		return rv;
	c->rpos = c->rlen = 0;
	c->authed = false;
	c->greeted = false;
	uint8_t hs[WN_SP_HANDSHAKE_LEN];
	wn_wire_handshake(hs, WN_SP_REQ0);
	rv = direct_send(c, hs, sizeof(hs), NULL, 0, deadline);
	if (rv != WN_OK) {
		direct_drop(c);
		return rv;
	}
	return greet_by < deadline ? direct_greet(d, c, greet_by, true)
	                           : direct_greet(d, c, deadline, false);
}

/* direct_reconnect connects c; in the background it keeps trying until
 * deadline, then fails with WN_ETIMEDOUT. */
static int direct_reconnect(wn_rpc_direct *d, wn_rpc_direct_conn *c, int64_t deadline)
{
	int pause = DIRECT_RETRY_MIN;
	for (;;) {
		int rv = direct_connect(d, c, deadline, deadline);
		if (rv != WN_EUNAVAIL || !d->background)
			return rv;
		int left = direct_left(deadline);
		if (left == 0)
			return WN_ETIMEDOUT; /* c->why keeps the last attempt's reason */
		/* in steps, so that a call given up does not sleep on */
		for (int ms = pause < left ? pause : left; ms > 0; ms -= DIRECT_STEP_MS) {
			if (atomic_load(&c->given_up))
				return direct_fail(c, WN_ETIMEDOUT, "given up");
			int step = ms < DIRECT_STEP_MS ? ms : DIRECT_STEP_MS;
			struct timespec ts = {0, (long)step * 1000000};
			nanosleep(&ts, NULL);
		}
		pause = pause * 2 < DIRECT_RETRY_MAX ? pause * 2 : DIRECT_RETRY_MAX;
	}
}

/* direct_await reads replies until the one to request id, which it copies
 * out; replies to other requests are skipped. */
static int direct_await(wn_rpc_direct *d, wn_rpc_direct_conn *c, uint32_t id, int64_t deadline,
                        uint8_t **reply, size_t *reply_len)
{
	size_t pre = d->ipc ? 9 : 8;
	for (;;) {
		wn_wire_frame f;
		size_t need = 0;
		int k = wn_wire_frame_next(c->rbuf + c->rpos, c->rlen - c->rpos, d->ipc,
		                           WN_RPC_DIRECT_MAX, &f, &need);
		if (k == WN_EPROTO)
			return direct_fail(c, WN_EPROTO, "malformed reply (frame type %u)",
			                   c->rbuf[c->rpos]);
		if (k == WN_ETOOBIG)
			return direct_fail(c, WN_ETOOBIG,
			                   "reply of %zu bytes is over the limit of %u bytes",
			                   f.len, WN_RPC_DIRECT_MAX);
		if (k == 0 && need != 0 && need < pre + 4)
			return direct_fail(
			    c, WN_EPROTO, "malformed reply (%zu bytes, no request id)", need - pre);
		if (k == 0) {
			int rv = direct_need(c, need != 0 ? need : pre, deadline);
			if (rv != WN_OK)
				return rv;
			continue;
		}
		if (f.len < 4)
			return direct_fail(c, WN_EPROTO,
			                   "malformed reply (%zu bytes, no request id)", f.len);
		c->rpos += f.size;
		if (wn_wire_get32(f.data) != id)
			continue; /* a reply to another request */
		*reply_len = f.len - 4;
		*reply = wn_xmalloc(*reply_len);
		memcpy(*reply, f.data + 4, *reply_len);
		if (c->rpos == c->rlen)
			c->rpos = c->rlen = 0;
		return WN_OK;
	}
}

static wn_rpc_direct_conn *direct_conn_new(wn_rpc_direct *d)
{
	wn_rpc_direct_conn *c = wn_xcalloc(1, sizeof(*c));
	c->d = d;
	c->fd = -1;
	return c;
}

int wn_rpc_direct_open(const char *url, bool background, int timeout_ms, wn_rpc_direct **out,
                       char **errmsg)
{
	wn_rpc_direct *d = wn_xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	d->url = wn_xstrdup(url);
	d->background = background;
	atomic_init(&d->counter, (unsigned)wn_random_u64());
	d->idle_max = WN_RPC_DIRECT_IDLE;
	wn_rpc_direct_conn *c = direct_conn_new(d);
	int rv = direct_parse(d, c, url);
	if (rv != WN_OK) {
		*errmsg = wn_xasprintf("bad address %s: %s", url, c->why);
	} else if (!background) {
		/* a wrong address or peer is reported now; a server slow to
		 * greet (stopped, say) is waited for by the first call, within
		 * that call's timeout */
		int64_t end = direct_deadline(timeout_ms);
		int64_t by = direct_deadline(DIRECT_OPEN_GREET_MS);
		rv = direct_connect(d, c, end, by < end ? by : end);
		if (rv == WN_ETIMEDOUT)
			*errmsg = wn_xasprintf("cannot connect to %s within %d ms: %s", url,
			                       timeout_ms, c->why);
		else if (rv != WN_OK)
			*errmsg = wn_xasprintf("cannot connect to %s: %s", url, c->why);
		else if (!c->greeted) { /* the opening's wait counts */
			c->open_by = end;
			c->open_ms = timeout_ms;
		}
	}
	wn_rpc_direct_give(d, c); /* the first call's connection, if made */
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
	while (d->idle != NULL) {
		wn_rpc_direct_conn *c = d->idle;
		d->idle = c->next;
		direct_free(c);
	}
	pthread_mutex_destroy(&d->mu);
	free(d->url);
	free(d);
}

/* direct_usable tells whether idle connection c can carry a call: it is
 * open and has nothing to read (a server that closed it, or restarted, made
 * it readable). Without probe, one given back within DIRECT_FRESH_MS is
 * taken as it is: if the server closed it meanwhile, the exchange sends
 * again on a new one, as after any broken connection. */
static bool direct_usable(const wn_rpc_direct_conn *c, bool probe)
{
	if (c->fd < 0)
		return false;
	if (!c->greeted)
		return true; /* the exchange reads the greeting first */
	if (!probe && wn_mono_ms() - c->idle_since < DIRECT_FRESH_MS)
		return true;
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	return poll(&p, 1, 0) == 0;
}

/* direct_busy_add puts c in d's busy list, its call not given up (lock held). */
static void direct_busy_add(wn_rpc_direct *d, wn_rpc_direct_conn *c)
{
	atomic_store(&c->given_up, false);
	c->busy = true;
	c->bprev = NULL;
	c->bnext = d->busy;
	if (d->busy != NULL)
		d->busy->bprev = c;
	d->busy = c;
}

/* direct_busy_remove takes c out of d's busy list (lock held). */
static void direct_busy_remove(wn_rpc_direct *d, wn_rpc_direct_conn *c)
{
	if (!c->busy)
		return;
	if (c->bprev != NULL)
		c->bprev->bnext = c->bnext;
	else
		d->busy = c->bnext;
	if (c->bnext != NULL)
		c->bnext->bprev = c->bprev;
	c->bprev = c->bnext = NULL;
	c->busy = false;
}

wn_rpc_direct_conn *wn_rpc_direct_take(wn_rpc_direct *d, bool probe)
{
	pthread_mutex_lock(&d->mu);
	wn_rpc_direct_conn *c = d->idle;
	if (c != NULL) {
		d->idle = c->next;
		d->nidle--;
		c->next = NULL;
	} else {
		c = direct_conn_new(d);
	}
	direct_busy_add(d, c);
	pthread_mutex_unlock(&d->mu);
	if (!direct_usable(c, probe))
		direct_drop(c); /* the exchange connects again */
	return c;
}

void wn_rpc_direct_interrupt(wn_rpc_direct *d)
{
	pthread_mutex_lock(&d->mu);
	for (wn_rpc_direct_conn *c = d->busy; c != NULL; c = c->bnext) {
		atomic_store(&c->given_up, true);
		/* wakes a receive, a poll or a send that waits, and fails those
		 * to come: the exchange sees given_up and does not send again */
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&d->mu);
}

void wn_rpc_direct_set_idle(wn_rpc_direct *d, size_t n)
{
	pthread_mutex_lock(&d->mu);
	d->idle_max = n > 0 ? n : 1;
	pthread_mutex_unlock(&d->mu);
}

void wn_rpc_direct_give(wn_rpc_direct *d, wn_rpc_direct_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0 && c->rpos == c->rlen && c->rcap > DIRECT_RBUF) {
		free(c->rbuf); /* a large reply's room: not kept while idle */
		c->rbuf = NULL;
		c->rpos = c->rlen = c->rcap = 0;
	}
	pthread_mutex_lock(&d->mu);
	direct_busy_remove(d, c);
	/* a call given up leaves its connection shut down: not kept */
	bool keep = c->fd >= 0 && !atomic_load(&c->given_up) && d->nidle < d->idle_max;
	if (keep) {
		c->idle_since = wn_mono_ms();
		c->next = d->idle;
		d->idle = c;
		d->nidle++;
	}
	pthread_mutex_unlock(&d->mu);
	if (!keep)
		direct_free(c);
}

bool wn_rpc_direct_authed(const wn_rpc_direct_conn *c)
{
	return c->authed;
}

void wn_rpc_direct_set_authed(wn_rpc_direct_conn *c)
{
	c->authed = true;
}

/* direct_message returns the message of an exchange that failed with rv at step. */
static char *direct_message(const wn_rpc_direct *d, const wn_rpc_direct_conn *c, int rv, int step,
                            int timeout_ms)
{
	if (rv == WN_ETIMEDOUT && step != STEP_CONNECT)
		return wn_xasprintf("no reply from %s within %d ms (is wnd running?)", d->url,
		                    timeout_ms);
	if (rv == WN_ETIMEDOUT)
		return wn_xasprintf("cannot connect to %s within %d ms: %s", d->url, timeout_ms,
		                    c->why);
	return wn_xasprintf("cannot %s %s: %s", step == STEP_CONNECT ? "connect to" : "talk to",
	                    d->url, c->why);
}

int wn_rpc_direct_exchange(wn_rpc_direct *d, wn_rpc_direct_conn *c, const uint8_t *body, size_t len,
                           int timeout_ms, uint8_t **reply, size_t *reply_len, char **errmsg)
{
	*reply = NULL;
	*reply_len = 0;
	*errmsg = NULL;
	int64_t deadline = direct_deadline(timeout_ms);
	uint32_t id = WN_SP_LAST_HOP | (atomic_fetch_add(&d->counter, 1) & ~WN_SP_LAST_HOP);
	uint8_t hdr[WN_SP_PREFIX_MAX + 4]; /* the framing, then the request id */
	size_t hlen = wn_wire_frame_prefix(hdr, d->ipc, (uint64_t)len + 4);
	wn_wire_put32(hdr + hlen, id);
	hlen += 4;
	/* a greeting the opening waited for already is due by the opening's
	 * deadline; the call itself then has its own time */
	bool opening = c->open_by != 0 && c->open_by < deadline;
	int64_t greet_by = opening ? c->open_by : deadline;
	int connect_ms = opening ? c->open_ms : timeout_ms; /* what a connect's timeout names */
	c->open_by = 0;
	bool resent = false;
	int rv, step;
	for (;;) {
		step = STEP_CONNECT;
		rv = c->fd < 0     ? direct_reconnect(d, c, deadline)
		     : !c->greeted ? direct_greet(d, c, greet_by, false)
		                   : WN_OK;
		if (rv == WN_OK) {
			step = STEP_SEND;
			rv = direct_send(c, hdr, hlen, body, len, deadline);
		}
		if (rv == WN_OK) {
			step = STEP_AWAIT;
			rv = direct_await(d, c, id, deadline, reply, reply_len);
		}
		if (rv == WN_OK)
			return WN_OK;
		/* the stream is in an unknown state, or owes a reply that would
		 * hold up the next call on it */
		direct_drop(c);
		if (atomic_load(&c->given_up)) {
			*errmsg = wn_xasprintf("gave up waiting for %s: interrupted", d->url);
			return WN_ETIMEDOUT;
		}
		if (rv == WN_EUNAVAIL && step != STEP_CONNECT && !resent) {
			resent = true; /* the same request, under the same id */
			connect_ms = timeout_ms;
			continue;
		}
		break;
	}
	*errmsg = direct_message(d, c, rv, step, step == STEP_CONNECT ? connect_ms : timeout_ms);
	return rv;
}
