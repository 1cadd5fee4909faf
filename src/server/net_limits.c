/* net_limits: the transport's side of the limits netguard.h decides:
 * accepting within max_connections and backing off when descriptors run
 * out, closing connections past their handshake or idle time, and holding a
 * connection that has not authenticated to max_unauthenticated_request and,
 * with every other such connection, to max_unauthenticated_bytes. A refused
 * request is answered from its first bytes and the rest of it is read and
 * dropped, so a client learns why and the server holds none of it. */
#include "net_int.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections are looked over for timeouts this often at most. */
#define LIMITS_SWEEP_MS 1000
/* A refused request's bytes are dropped this much per read, at most this
 * many reads per event (the rest at the next one: fair to the others). */
#define LIMITS_SKIP_CHUNK (64 * 1024)
#define LIMITS_SKIP_READS 16

/* listener_watch starts or stops lp's watch on listener li. */
static void listener_watch(struct loop *lp, size_t li, bool on)
{
	int fd = lp->n->listens[li].fd;
	if (!on) {
		epoll_ctl(lp->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
	                         .data.u64 = NET_ID_LISTENER + li};
	epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev);
}

void wn_net_accept(struct loop *lp, size_t li)
{
	wn_listener *ls = &lp->n->listens[li];
	wn_netguard *g = lp->n->guard;
	for (;;) {
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			int pause = wn_netguard_accept_failed(g, ls->fd, ls->url, errno);
			if (pause == 0)
				continue;
			/* not a tight loop: stop watching it a while */
			listener_watch(lp, li, false);
			lp->resume_ms[li] = wn_mono_ms() + pause;
			return;
		}
		wn_netguard_accepted(g);
		int how = wn_netguard_admit(g);
		if (how == WN_GUARD_DROP)
			close(fd);
		else
			wn_net_conn_new(lp, ls, fd, how);
	}
}

/* conn_expired tells why c has been open too long, or NULL: its handshake
 * (or, refused, its first request) within handshake_timeout_ms, then a
 * request at least every idle_timeout_ms while nothing is in flight. */
static const char *conn_expired(const wn_netlimits *l, const struct conn *c, int64_t now)
{
	if (!c->ready || c->guard == WN_GUARD_REFUSE)
		return now - c->since_ms >= l->handshake_timeout_ms ? "no handshake in time" : NULL;
	if (c->inflight > 0 || c->out_head != NULL)
		return NULL;
	return now - c->since_ms >= l->idle_timeout_ms ? "idle" : NULL;
}

/* timers_sweep closes lp's connections past their time. */
static void timers_sweep(struct loop *lp, const wn_netlimits *l, int64_t now)
{
	size_t n = 0, cap = 0, pos = 0;
	uint32_t *ids = NULL;
	uint64_t id;
	void *val;
	while (wn_map_next(lp->conns, &pos, &id, NULL, &val)) {
		if (conn_expired(l, val, now) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = wn_xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = (uint32_t)id;
	}
	for (size_t i = 0; i < n; i++) {
		struct conn *c = wn_map_get_u64(lp->conns, ids[i]);
		wn_debug("connection %u: %s; closed", c->id, conn_expired(l, c, now));
		wn_net_conn_close(lp, c);
	}
	free(ids);
}

int wn_net_timers(struct loop *lp, bool stopping)
{
	int64_t now = wn_mono_ms(), next = INT64_MAX;
	for (size_t i = 0; i < lp->n->nlisten; i++) {
		if (lp->resume_ms[i] == 0)
			continue;
		if (lp->resume_ms[i] <= now || stopping) {
			lp->resume_ms[i] = 0;
			if (!stopping)
				listener_watch(lp, i, true);
		} else if (lp->resume_ms[i] < next) {
			next = lp->resume_ms[i];
		}
	}
	if (wn_map_count(lp->conns) > 0) {
		const wn_netlimits *l = wn_netguard_limits(lp->n->guard);
		int64_t every = l->handshake_timeout_ms / 4;
		every = every < 50 ? 50 : every > LIMITS_SWEEP_MS ? LIMITS_SWEEP_MS : every;
		if (lp->sweep_ms == 0 || lp->sweep_ms > now + every)
			lp->sweep_ms = now + every;
		if (lp->sweep_ms <= now) {
			timers_sweep(lp, l, now);
			lp->sweep_ms = now + every;
		}
		if (lp->sweep_ms < next)
			next = lp->sweep_ms;
	} else {
		lp->sweep_ms = 0;
	}
	return next == INT64_MAX ? -1 : (int)(next - now);
}

void wn_net_rbuf_release(struct loop *lp, struct conn *c)
{
	if (c->held > 0)
		wn_netguard_give(lp->n->guard, c->held);
	c->held = 0;
}

/* frame_refuse answers the request whose first avail bytes are at p (a
 * message of len bytes after a prefix of plen) with the refusal why, and
 * drops the rest of it; returns the bytes consumed, -1 while its SP header
 * has not all come. */
static ssize_t frame_refuse(struct loop *lp, struct conn *c, const uint8_t *p, size_t avail,
                            size_t plen, uint64_t len, int why)
{
	const uint8_t *msg = p + plen;
	size_t have = avail - plen < len ? avail - plen : (size_t)len;
	size_t hlen = wn_wire_split_header(msg, have);
	if (hlen == 0 && have < len && have < WN_SP_HEADER_MAX)
		return -1;
	size_t took = plen + have;
	c->skip = len - have;
	if (why == WN_GUARD_CONNS)
		c->closing = true;
	if (hlen == 0)
		return (ssize_t)took; /* no request id: dropped, as nng does */
	size_t rlen = 0;
	uint8_t *reply = wn_netguard_answer(lp->n->guard, why, &rlen);
	wn_debug("connection %u: request of %llu bytes refused", c->id, (unsigned long long)len);
	wn_net_conn_send(lp, c, msg, hlen, reply, rlen);
	free(reply);
	return (ssize_t)took;
}

ssize_t wn_net_frame_guard(struct loop *lp, struct conn *c, const uint8_t *p, size_t avail, int k,
                           const wn_wire_frame *f, size_t need)
{
	size_t plen = c->ipc ? WN_SP_PREFIX_MAX : WN_SP_PREFIX_MAX - 1;
	if (k == 0 && need == 0)
		return 0; /* its length has not come yet */
	uint64_t len = k == 1 ? f->len : need - plen;
	if (c->guard == WN_GUARD_REFUSE)
		return frame_refuse(lp, c, p, avail, plen, len, WN_GUARD_CONNS);
	const wn_netlimits *l = wn_netguard_limits(lp->n->guard);
	if (len > l->max_unauth_request)
		return frame_refuse(lp, c, p, avail, plen, len, WN_GUARD_AUTH_FIRST);
	if (k == 1 || need <= c->rcap)
		return 0;
	/* the buffer must grow: beyond its first size, counted in all */
	size_t charge = need - NET_RBUF_MIN;
	if (charge > c->held && !wn_netguard_take(lp->n->guard, charge - c->held))
		return frame_refuse(lp, c, p, avail, plen, len, WN_GUARD_BUSY);
	if (charge > c->held)
		c->held = charge;
	return 0;
}

bool wn_net_skip(struct loop *lp, struct conn *c)
{
	uint8_t drop[LIMITS_SKIP_CHUNK];
	for (int i = 0; c->skip > 0; i++) {
		/* TLS may hold decrypted bytes the socket will not announce */
		if (i >= LIMITS_SKIP_READS && (c->tls == NULL || wn_tls_pending(c->tls) == 0))
			break;
		size_t want = c->skip < sizeof(drop) ? (size_t)c->skip : sizeof(drop);
		ssize_t r = wn_net_conn_recv(c, drop, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r <= 0) {
			wn_net_conn_close(lp, c);
			return false;
		}
		c->skip -= (uint64_t)r;
	}
	return true;
}
