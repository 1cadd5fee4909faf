#include "net.h"

#include "net_int.h"

#include "err.h"
#include "listen.h"
#include "log.h"
#include "map.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static void list_push(struct list *l, struct outgoing *o)
{
	o->next = NULL;
	if (l->tail != NULL)
		l->tail->next = o;
	else
		l->head = o;
	l->tail = o;
}

static struct outgoing *list_take(struct list *l)
{
	struct outgoing *o = l->head;
	l->head = l->tail = NULL;
	return o;
}

static void outgoing_free(struct outgoing *o)
{
	free(o->buf);
	free(o);
}

static void loop_wake(struct loop *lp)
{
	uint64_t one = 1;
	ssize_t rv = write(lp->evfd, &one, sizeof(one));
	(void)rv; /* EAGAIN: already signalled */
}

/* ------------------------------------------------------------ connections */

static void conn_free(struct conn *c)
{
	wn_tls_conn_free(c->tls);
	close(c->fd);
	while (c->out_head != NULL) {
		struct chunk *next = c->out_head->next;
		free(c->out_head);
		c->out_head = next;
	}
	free(c->rbuf);
	free(c);
}

void wn_net_conn_close(struct loop *lp, struct conn *c)
{
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	wn_map_del_u64(lp->conns, c->id);
	wn_engine_conn_closed(lp->n->e, c->id);
	wn_net_rbuf_release(lp, c);
	wn_netguard_leave(lp->n->guard, c->guard);
	conn_free(c);
}

#define conn_close wn_net_conn_close

/* conn_events registers what c waits for: requests unless paused, room to
 * write while replies are queued. */
static void conn_events(struct loop *lp, struct conn *c)
{
	uint32_t want = (c->paused ? 0 : EPOLLIN) | (c->out_head != NULL ? EPOLLOUT : 0);
	uint32_t tls = c->tls != NULL ? wn_tls_want(c->tls) : 0;
	if (tls != 0)
		want = tls; /* a TLS handshake first */
	if (c->events == want)
		return;
	struct epoll_event ev = {.events = want, .data.u64 = c->id};
	epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = want;
}

/* conn_recv and conn_send move bytes of c's stream as recv and send do,
 * through TLS on a tls+tcp connection. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	return c->tls != NULL ? wn_tls_recv(c->tls, buf, len) : recv(c->fd, buf, len, 0);
}

ssize_t wn_net_conn_recv(struct conn *c, void *buf, size_t len)
{
	return conn_recv(c, buf, len);
}

static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
	return c->tls != NULL ? wn_tls_send(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

/* conn_secure advances a tls+tcp connection's TLS handshake: 1 once it is
 * complete (at once for other connections), 0 while it waits for the
 * socket, -1 when it failed and c was closed. Until it completes the SP
 * handshake has not arrived, so the handshake timeout covers both. */
static int conn_secure(struct loop *lp, struct conn *c)
{
	if (c->tls == NULL)
		return 1;
	const char *why = NULL;
	int rv = wn_tls_handshake(c->tls, &why);
	if (rv < 0) {
		wn_debug("connection %u: %s; closed", c->id, why);
		conn_close(lp, c);
		return -1;
	}
	conn_events(lp, c);
	return rv;
}

/* conn_flush writes what is queued; false when the connection broke (and was
 * closed). */
static bool conn_flush(struct loop *lp, struct conn *c)
{
	int hs = conn_secure(lp, c);
	if (hs <= 0)
		return hs == 0;
	while (c->out_head != NULL) {
		struct chunk *k = c->out_head;
		ssize_t w = conn_send(c, k->data + k->off, k->len - k->off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			wn_debug("connection %u: send failed: %s", c->id, strerror(errno));
			conn_close(lp, c);
			return false;
		}
		k->off += (size_t)w;
		if (k->off < k->len)
			continue;
		c->out_head = k->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		c->out_bytes -= k->len;
		free(k);
	}
	if (c->closing && c->out_head == NULL && !c->shut) {
		/* refused, its answer out: end the stream, then wait for the peer's
		 * end (closing at once could reset the answer away) */
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	if (c->paused && c->out_bytes <= NET_OUT_RESUME) {
		c->paused = false;
		if (lp->nresumed == lp->capresumed) {
			lp->capresumed = lp->capresumed ? lp->capresumed * 2 : 8;
			lp->resumed =
			    wn_xrealloc(lp->resumed, lp->capresumed * sizeof(*lp->resumed));
		}
		lp->resumed[lp->nresumed++] = c->id;
	}
	conn_events(lp, c);
	return true;
}

static void conn_queue(struct conn *c, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       const uint8_t *d, size_t dlen)
{
	struct chunk *k = wn_xmalloc(sizeof(*k) + alen + blen + dlen);
	memcpy(k->data, a, alen);
	if (blen > 0)
		memcpy(k->data + alen, b, blen);
	if (dlen > 0)
		memcpy(k->data + alen + blen, d, dlen);
	k->len = alen + blen + dlen;
	k->off = 0;
	k->next = NULL;
	c->out_bytes += k->len;
	if (c->out_tail != NULL)
		c->out_tail->next = k;
	else
		c->out_head = k;
	c->out_tail = k;
}

bool wn_net_conn_send(struct loop *lp, struct conn *c, const uint8_t *hdr, size_t hlen,
                      const uint8_t *buf, size_t len)
{
	uint8_t pre[WN_SP_PREFIX_MAX];
	size_t plen = wn_wire_frame_prefix(pre, c->ipc, (uint64_t)hlen + len);
	bool idle = c->out_head == NULL;
	conn_queue(c, pre, plen, hdr, hlen, buf, len);
	return idle ? conn_flush(lp, c) : true;
}

/* loop_send sends a reply whose write is durable (or failed) and frees it;
 * one without bytes (its requester is gone) is only let go. */
static void loop_send(struct loop *lp, struct outgoing *o)
{
	struct conn *c = wn_map_get_u64(lp->conns, o->conn);
	if (c != NULL) {
		c->inflight--;
		c->since_ms = wn_mono_ms();
	}
	if (c != NULL && o->buf != NULL) {
		if (wn_engine_durable(lp->n->e, o->seq) == WN_EIO)
			wn_engine_undurable(lp->n->e, &o->buf, &o->len);
		wn_net_conn_send(lp, c, o->hdr, o->hlen, o->buf, o->len);
	}
	outgoing_free(o);
}

/* loop_reply sends o now if its write is durable, else keeps it until it is. */
static void loop_reply(struct loop *lp, struct outgoing *o)
{
	if (wn_engine_durable(lp->n->e, o->seq) == WN_EBUSY) {
		list_push(&lp->durable, o);
		atomic_store(&lp->waiting, true);
		/* the sync may have happened between the check and the flag */
		if (wn_engine_durable(lp->n->e, o->seq) != WN_EBUSY)
			loop_wake(lp);
		return;
	}
	loop_send(lp, o);
}

/* loop_flush_durable sends every waiting reply whose write is now durable. */
static void loop_flush_durable(struct loop *lp)
{
	if (lp->durable.head == NULL)
		return;
	wn_engine_flush(lp->n->e);
	atomic_store(&lp->waiting, false);
	struct outgoing *o = list_take(&lp->durable);
	while (o != NULL) {
		struct outgoing *next = o->next;
		if (wn_engine_durable(lp->n->e, o->seq) == WN_EBUSY)
			list_push(&lp->durable, o);
		else
			loop_send(lp, o);
		o = next;
	}
	if (lp->durable.head != NULL) {
		atomic_store(&lp->waiting, true);
		if (wn_engine_durable(lp->n->e, lp->durable.tail->seq) != WN_EBUSY)
			loop_wake(lp);
	}
}

/* conn_request runs one request message and queues or sends its reply. */
static void conn_request(struct loop *lp, struct conn *c, const uint8_t *msg, size_t len)
{
	size_t hlen = wn_wire_split_header(msg, len);
	if (hlen == 0) {
		wn_debug("connection %u: message without a request id dropped", c->id);
		return;
	}
	struct outgoing *o = wn_xcalloc(1, sizeof(*o));
	o->loop = lp;
	o->conn = c->id;
	o->hlen = (uint8_t)hlen;
	memcpy(o->hdr, msg, hlen);
	wn_reply r;
	c->inflight++;
	c->since_ms = wn_mono_ms();
	wn_engine_serve(lp->n->e, msg + hlen, len - hlen, o, &r);
	if (r.authed && (!c->authed || r.who != c->who)) {
		c->authed = true; /* the limits of unauthenticated peers are lifted */
		c->who = r.who;
		c->auth_gen = 0; /* checked again at its next request */
		wn_net_rbuf_release(lp, c);
	}
	if (r.buf == NULL)
		return; /* parked: the engine owns o and answers through wn_net_deliver */
	o->buf = r.buf;
	o->len = r.len;
	o->seq = r.seq;
	loop_reply(lp, o);
}

static bool conn_process(struct loop *lp, struct conn *c);

/* conn_read reads what the socket has and runs every whole request; false
 * when the connection closed. */
static bool conn_read(struct loop *lp, struct conn *c)
{
	uint32_t id = c->id;
	int hs = conn_secure(lp, c);
	if (hs <= 0)
		return hs == 0;
	if (!c->ready) {
		ssize_t r = conn_recv(c, c->hs + c->hsgot, WN_SP_HANDSHAKE_LEN - c->hsgot);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (r <= 0) {
			conn_close(lp, c);
			return false;
		}
		c->hsgot += (size_t)r;
		if (c->hsgot < WN_SP_HANDSHAKE_LEN)
			return true;
		uint16_t proto = 0;
		if (!wn_wire_handshake_parse(c->hs, &proto) || proto != WN_SP_REQ0) {
			wn_debug("connection %u: not an SP REQ peer; closed", id);
			conn_close(lp, c);
			return false;
		}
		c->ready = true;
	}
	if (c->skip > 0) {
		if (!wn_net_skip(lp, c))
			return false;
		if (c->skip > 0)
			return true;
	}
	do {
		if (c->rlen == c->rcap) {
			/* full without a whole message: only while its length is unknown */
			c->rcap = c->rcap < NET_RBUF_MIN ? NET_RBUF_MIN : c->rcap * 2;
			c->rbuf = wn_xrealloc(c->rbuf, c->rcap);
		}
		ssize_t r = conn_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (r <= 0) {
			conn_close(lp, c);
			return false;
		}
		c->rlen += (size_t)r;
		/* TLS may hold decrypted bytes the socket will not announce */
	} while (c->tls != NULL && wn_tls_pending(c->tls) > 0);
	return conn_process(lp, c);
}

/* conn_process runs every whole request in c's read buffer, unless its peer
 * has too many replies unread; false when the connection closed. */
static bool conn_process(struct loop *lp, struct conn *c)
{
	uint32_t id = c->id;
	size_t off = 0;
	for (;;) {
		if (c->out_bytes > NET_OUT_PAUSE) {
			c->paused = true;
			conn_events(lp, c);
			break;
		}
		if (c->closing) {
			off = c->rlen; /* refused: nothing more is served */
			break;
		}
		wn_wire_frame f;
		size_t need = 0;
		int k = wn_wire_frame_next(c->rbuf + off, c->rlen - off, c->ipc, lp->n->max_frame,
		                           &f, &need);
		if (c->authed && !wn_engine_auth_holds(lp->n->e, c->who, &c->auth_gen)) {
			/* its token is revoked: the limits come back at once */
			wn_debug("connection %u: its token was revoked", id);
			c->authed = false;
		}
		if (k >= 0 && !c->authed) {
			ssize_t g =
			    wn_net_frame_guard(lp, c, c->rbuf + off, c->rlen - off, k, &f, need);
			if (g != 0 && wn_map_get_u64(lp->conns, id) != c)
				return false;
			if (g < 0)
				break;
			if (g > 0) {
				off += (size_t)g;
				continue;
			}
		}
		if (k == 0) {
			if (need > c->rcap) {
				/* room for the whole message: one copy of what came */
				memmove(c->rbuf, c->rbuf + off, c->rlen - off);
				c->rlen -= off;
				off = 0;
				c->rcap = need;
				c->rbuf = wn_xrealloc(c->rbuf, c->rcap);
			}
			break;
		}
		if (k < 0) {
			wn_warn("connection %u: %s; closed", id,
			        k == WN_ETOOBIG ? "message over the transport limit"
			                        : "malformed message framing");
			conn_close(lp, c);
			return false;
		}
		off += f.size;
		conn_request(lp, c, f.data, f.len);
		/* a reply may have found the connection broken */
		if (wn_map_get_u64(lp->conns, id) != c)
			return false;
	}
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (c->rlen == 0 && (c->rcap > NET_RBUF_KEEP || !c->authed)) {
		/* an idle connection that has not authenticated holds no buffer */
		wn_net_rbuf_release(lp, c);
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	return true;
}

void wn_net_conn_new(struct loop *lp, const wn_listener *ls, int fd, int guard)
{
	if (!ls->ipc) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	struct conn *c = wn_xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->ipc = ls->ipc;
	c->guard = guard;
	c->since_ms = wn_mono_ms();
	if (ls->tls)
		c->tls = wn_tls_conn_new(lp->n->tls, fd);
	do
		c->id = atomic_fetch_add(&lp->n->next_conn, 1);
	while (c->id == 0 || wn_map_get_u64(lp->conns, c->id) != NULL);
	uint8_t hs[WN_SP_HANDSHAKE_LEN];
	wn_wire_handshake(hs, WN_SP_REP0);
	wn_map_put_u64(lp->conns, c->id, c);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = c->id};
	c->events = EPOLLIN;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		wn_warn("cannot watch a connection: %s", strerror(errno));
		wn_map_del_u64(lp->conns, c->id);
		wn_netguard_leave(lp->n->guard, guard);
		conn_free(c);
		return;
	}
	conn_queue(c, hs, sizeof(hs), NULL, 0, NULL, 0);
	conn_flush(lp, c);
}

static void loop_drain_mail(struct loop *lp)
{
	pthread_mutex_lock(&lp->mu);
	struct outgoing *o = list_take(&lp->mail);
	pthread_mutex_unlock(&lp->mu);
	while (o != NULL) {
		struct outgoing *next = o->next;
		loop_reply(lp, o);
		o = next;
	}
	o = list_take(&lp->local);
	while (o != NULL) {
		struct outgoing *next = o->next;
		loop_reply(lp, o);
		o = next;
	}
}

/* loop_resume runs the requests that waited in the read buffers of
 * connections whose peers have taken their replies. */
static void loop_resume(struct loop *lp)
{
	while (lp->nresumed > 0) {
		uint32_t id = lp->resumed[--lp->nresumed];
		struct conn *c = wn_map_get_u64(lp->conns, id);
		if (c != NULL && !c->paused)
			conn_process(lp, c);
	}
}

static bool loop_idle(struct loop *lp)
{
	if (lp->durable.head != NULL || lp->local.head != NULL)
		return false;
	pthread_mutex_lock(&lp->mu);
	bool mail = lp->mail.head != NULL;
	pthread_mutex_unlock(&lp->mu);
	if (mail)
		return false;
	size_t pos = 0;
	void *val;
	while (wn_map_next(lp->conns, &pos, NULL, NULL, &val)) {
		if (((struct conn *)val)->out_head != NULL)
			return false;
	}
	return true;
}

static void *loop_run(void *arg)
{
	struct loop *lp = arg;
	struct epoll_event evs[NET_EVENTS];
	if (lp->n->thread_start != NULL)
		lp->n->thread_start();
	int64_t stop_by = 0;
	for (;;) {
		bool stopping = atomic_load(&lp->n->stopping);
		if (stopping) {
			if (stop_by == 0) {
				stop_by = wn_mono_ms() + NET_STOP_GRACE_MS;
				for (size_t i = 0; i < lp->n->nlisten; i++)
					epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->n->listens[i].fd,
					          NULL);
			}
			loop_drain_mail(lp);
			loop_flush_durable(lp);
			if (loop_idle(lp) || wn_mono_ms() >= stop_by)
				break;
		}
		int wait = wn_net_timers(lp, stopping);
		int n = epoll_wait(lp->ep, evs, NET_EVENTS, stopping ? 20 : wait);
		if (n < 0 && errno != EINTR) {
			wn_error("epoll_wait failed: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64;
			if (id == NET_ID_EVFD) {
				uint64_t v;
				ssize_t r = read(lp->evfd, &v, sizeof(v));
				(void)r;
			} else if (id >= NET_ID_LISTENER) {
				wn_net_accept(lp, (size_t)(id - NET_ID_LISTENER));
			} else {
				struct conn *c = wn_map_get_u64(lp->conns, id);
				if (c == NULL)
					continue;
				if ((evs[i].events & EPOLLOUT) && !conn_flush(lp, c))
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
					if (stopping || (c->paused && !(evs[i].events & EPOLLIN)))
						conn_close(lp, c);
					else if (!c->paused)
						conn_read(lp, c);
				}
			}
			loop_drain_mail(lp);
		}
		loop_drain_mail(lp);
		loop_resume(lp);
		loop_flush_durable(lp);
	}
	size_t pos = 0;
	void *val;
	while (wn_map_next(lp->conns, &pos, NULL, NULL, &val)) {
		conn_close(lp, val);
		pos = 0;
	}
	return NULL;
}

/* ------------------------------------------------------------ engine side */

void wn_net_deliver(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	(void)arg;
	struct outgoing *o = slot;
	if (o == NULL) {
		free(buf);
		return;
	}
	/* no buf: the requester is gone; its loop lets the slot go */
	o->buf = buf;
	o->len = len;
	o->seq = seq;
	struct loop *lp = o->loop;
	if (lp->started && pthread_equal(pthread_self(), lp->thread)) {
		list_push(&lp->local, o);
		return;
	}
	pthread_mutex_lock(&lp->mu);
	list_push(&lp->mail, o);
	pthread_mutex_unlock(&lp->mu);
	loop_wake(lp);
}

uint32_t wn_net_slot_conn(void *slot)
{
	return slot ? ((struct outgoing *)slot)->conn : 0;
}

static void net_durable(void *arg)
{
	wn_net *n = arg;
	for (int i = 0; i < n->nloops; i++) {
		if (atomic_load(&n->loops[i].waiting))
			loop_wake(&n->loops[i]);
	}
}

/* ------------------------------------------------------------ start and stop */

int wn_net_open(const char *const *urls, size_t nurls, size_t max_msg, wn_net **out, char **errmsg)
{
	wn_net *n = wn_xcalloc(1, sizeof(*n));
	n->max_frame = max_msg * 4;
	atomic_init(&n->next_conn, 1);
	if (nurls > NET_MAX_LISTEN) {
		*errmsg = wn_xasprintf("at most %d listen addresses", NET_MAX_LISTEN);
		free(n);
		return WN_EINVAL;
	}
	for (size_t i = 0; i < nurls; i++) {
		wn_listener *ls = &n->listens[i];
		int rv = wn_listener_open(ls, urls[i], errmsg);
		if (rv != WN_OK) {
			wn_net_close(n);
			return rv;
		}
		n->nlisten++;
	}
	*out = n;
	return WN_OK;
}

void wn_net_on_thread_start(wn_net *n, void (*fn)(void))
{
	n->thread_start = fn;
}

void wn_net_use_tls(wn_net *n, wn_tls *tls)
{
	n->tls = tls;
}

void wn_net_set_limits(wn_net *n, const wn_netlimits *l)
{
	n->limits = *l;
}

int wn_net_serve(wn_net *n, wn_engine *e, int nthreads)
{
	n->e = e;
	n->guard = wn_netguard_new(&n->limits);
	n->loops = wn_xcalloc((size_t)nthreads, sizeof(*n->loops));
	for (int i = 0; i < nthreads; i++) {
		struct loop *lp = &n->loops[i];
		lp->n = n;
		lp->conns = wn_map_new_u64();
		pthread_mutex_init(&lp->mu, NULL);
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		n->nloops++;
		if (lp->ep < 0 || lp->evfd < 0) {
			wn_error("cannot create an event loop: %s", strerror(errno));
			wn_net_stop(n);
			return WN_EINTERNAL;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = NET_ID_EVFD};
		epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->evfd, &ev);
		for (size_t j = 0; j < n->nlisten; j++) {
			/* every loop accepts; the kernel wakes one of them */
			struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
			                          .data.u64 = NET_ID_LISTENER + j};
			epoll_ctl(lp->ep, EPOLL_CTL_ADD, n->listens[j].fd, &lev);
		}
	}
	wn_engine_on_durable(e, net_durable, n);
	for (int i = 0; i < n->nloops; i++) {
		struct loop *lp = &n->loops[i];
		if (pthread_create(&lp->thread, NULL, loop_run, lp) != 0) {
			wn_error("cannot start serving thread %d", i);
			wn_net_stop(n);
			return WN_EINTERNAL;
		}
		lp->started = true;
	}
	return WN_OK;
}

void wn_net_stop(wn_net *n)
{
	atomic_store(&n->stopping, true);
	for (int i = 0; i < n->nloops; i++) {
		if (n->loops[i].evfd >= 0)
			loop_wake(&n->loops[i]);
	}
	for (int i = 0; i < n->nloops; i++) {
		if (n->loops[i].started)
			pthread_join(n->loops[i].thread, NULL);
		n->loops[i].started = false;
	}
	if (n->e != NULL)
		wn_engine_on_durable(n->e, NULL, NULL);
}

void wn_net_close(wn_net *n)
{
	if (n == NULL)
		return;
	for (int i = 0; i < n->nloops; i++) {
		struct loop *lp = &n->loops[i];
		struct outgoing *lists[3] = {list_take(&lp->mail), list_take(&lp->local),
		                             list_take(&lp->durable)};
		for (int k = 0; k < 3; k++) {
			while (lists[k] != NULL) {
				struct outgoing *next = lists[k]->next;
				outgoing_free(lists[k]);
				lists[k] = next;
			}
		}
		size_t pos = 0;
		void *val;
		while (wn_map_next(lp->conns, &pos, NULL, NULL, &val))
			conn_free(val);
		wn_map_free(lp->conns);
		free(lp->resumed);
		if (lp->ep >= 0)
			close(lp->ep);
		if (lp->evfd >= 0)
			close(lp->evfd);
		pthread_mutex_destroy(&lp->mu);
	}
	free(n->loops);
	for (size_t i = 0; i < n->nlisten; i++)
		wn_listener_close(&n->listens[i]);
	wn_netguard_free(n->guard);
	free(n);
}

const wn_netlimits *wn_net_limits(const wn_net *n)
{
	return wn_netguard_limits(n->guard);
}
