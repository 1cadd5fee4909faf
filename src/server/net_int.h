/* net_int: what the transport's files share (net.c: event loops,
 * connections, SP framing; net_limits.c: the limits netguard.h decides).
 * Private to them. */
#ifndef WN_NET_INT_H
#define WN_NET_INT_H

#include "engine.h"
#include "listen.h"
#include "map.h"
#include "net.h"
#include "netguard.h"
#include "tls.h"
#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define NET_MAX_LISTEN 16
#define NET_EVENTS     64
/* Read buffers start here and shrink back after a large message. */
#define NET_RBUF_MIN  (16 * 1024)
#define NET_RBUF_KEEP (1024 * 1024)
/* A connection whose peer leaves this many reply bytes unread is not read
 * from until it has taken most of them: a client that sends without reading
 * cannot make the server buffer without bound. */
#define NET_OUT_PAUSE  (8u << 20)
#define NET_OUT_RESUME (1u << 20)
/* How long a stopping loop may spend sending its last replies. */
#define NET_STOP_GRACE_MS 2000

/* A request's reply: where it goes (the loop and connection the request
 * came on, its routing header) and, once made, its bytes and the write that
 * must be durable before it leaves. It is also the engine's slot for the
 * request while a Fetch is parked. */
struct outgoing {
	struct outgoing *next;
	struct loop *loop;
	uint32_t conn;
	uint8_t hlen;
	uint8_t hdr[WN_SP_HEADER_MAX];
	uint8_t *buf;
	size_t len;
	uint64_t seq;
};

/* Bytes queued for a connection that the kernel did not take yet. */
struct chunk {
	struct chunk *next;
	size_t len, off;
	uint8_t data[];
};

struct conn {
	int fd;
	uint32_t id;
	bool ipc;
	bool ready; /* the peer's handshake arrived and is a REQ's */
	uint8_t hs[WN_SP_HANDSHAKE_LEN];
	size_t hsgot;
	uint8_t *rbuf;
	size_t rlen, rcap;
	struct chunk *out_head, *out_tail;
	size_t out_bytes; /* queued in out_head.. */
	bool paused;      /* not read from until the peer takes its replies */
	uint32_t events;  /* registered with epoll */
	wn_tls_conn *tls; /* tls+tcp: the session the bytes go through */
	/* the limits (net_limits.c) */
	int guard;         /* WN_GUARD_SERVE, or _REFUSE: over max_connections */
	bool authed;       /* a request of it was authenticated (wn_reply.authed) */
	const void *who;   /* authed: by this token (wn_reply.who) */
	uint64_t auth_gen; /* authed: wn_engine_auth_holds's state */
	bool closing;      /* refused: no more requests; ends once its reply is out */
	bool shut;         /* closing, its reply out: our side of the stream ended */
	int64_t since_ms;  /* accepted, then its last request or reply (monotonic) */
	uint32_t inflight; /* requests not answered yet, parked ones included */
	size_t held;       /* bytes of rbuf counted by the guard (not yet authed) */
	uint64_t skip;     /* bytes of a refused request still to read and drop */
};

struct list {
	struct outgoing *head, *tail;
};

struct loop {
	wn_net *n;
	int ep;
	int evfd;
	pthread_t thread;
	bool started;
	wn_map *conns; /* id -> struct conn */
	/* replies handed over by other threads */
	pthread_mutex_t mu;
	struct list mail;
	/* replies from this thread, sent after the current event */
	struct list local;
	/* replies waiting for their write to be durable */
	struct list durable;
	/* connections whose reading resumed, with requests already read */
	uint32_t *resumed;
	size_t nresumed, capresumed;
	atomic_bool waiting;               /* durable is not empty: wake on each sync */
	int64_t resume_ms[NET_MAX_LISTEN]; /* accepting paused until (0: not) */
	int64_t sweep_ms;                  /* the next look for timeouts */
};

struct wn_net {
	wn_engine *e;
	size_t max_frame;
	wn_listener listens[NET_MAX_LISTEN];
	size_t nlisten;
	struct loop *loops;
	int nloops;
	atomic_bool stopping;
	atomic_uint next_conn;
	void (*thread_start)(void); /* run first by each loop thread */
	wn_tls *tls;                /* for the tls+tcp listeners */
	wn_netlimits limits;        /* as set; guard holds them in force */
	wn_netguard *guard;
};

/* Ids below this in epoll data are listeners and the wake-up eventfd. */
#define NET_ID_EVFD     ((uint64_t)1 << 40)
#define NET_ID_LISTENER ((uint64_t)2 << 40)

/* net.c, for net_limits.c */

/* wn_net_conn_new serves fd, accepted on ls and admitted as guard
 * (WN_GUARD_SERVE or _REFUSE): it sends the handshake. */
void wn_net_conn_new(struct loop *lp, const wn_listener *ls, int fd, int guard);
/* wn_net_conn_close closes c and forgets it. */
void wn_net_conn_close(struct loop *lp, struct conn *c);
/* wn_net_conn_recv reads from c's stream as recv does (through TLS on
 * tls+tcp). */
ssize_t wn_net_conn_recv(struct conn *c, void *buf, size_t len);
/* wn_net_conn_send queues a reply (SP header hdr, then buf) on c and writes
 * it if nothing else waits; false when the connection broke (and closed). */
bool wn_net_conn_send(struct loop *lp, struct conn *c, const uint8_t *hdr, size_t hlen,
                      const uint8_t *buf, size_t len);

/* net_limits.c */

/* wn_net_accept accepts the connections waiting on listener li, within the
 * connection limit; out of descriptors, it stops accepting there a while. */
void wn_net_accept(struct loop *lp, size_t li);
/* wn_net_timers resumes paused listeners and closes the connections past
 * their handshake or idle time; returns how long epoll may wait, ms (-1: no
 * limit). */
int wn_net_timers(struct loop *lp, bool stopping);
/* wn_net_frame_guard looks at the next message of a connection that has not
 * authenticated (k, f and need as wn_wire_frame_next gave them for the avail
 * bytes at p): 0 lets it through (its buffer may grow), -1 waits for more
 * bytes, n > 0 refused it and consumed n bytes (the rest is c->skip). After a
 * refusal the connection may have closed. */
ssize_t wn_net_frame_guard(struct loop *lp, struct conn *c, const uint8_t *p, size_t avail, int k,
                           const wn_wire_frame *f, size_t need);
/* wn_net_skip reads and drops what is left of a refused request; false when
 * the connection closed. */
bool wn_net_skip(struct loop *lp, struct conn *c);
/* wn_net_rbuf_release gives back what c's read buffer held for the guard. */
void wn_net_rbuf_release(struct loop *lp, struct conn *c);

#endif
