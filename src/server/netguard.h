/* netguard: the limits of wnd's transport against peers that do not play
 * fair (docs/server.md, "Limits"): how many connections it holds, how long
 * one may take for its handshake or stay idle, how large a request a
 * connection may send before one of its requests was authenticated and how
 * many bytes all such connections may make it hold, and what to do when
 * accept runs out of descriptors. net.c asks it at each of these points; it
 * owns no socket but a reserve descriptor. Thread-safe. */
#ifndef WN_NETGUARD_H
#define WN_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The settings (srvconf's max_connections, handshake_timeout_ms,
 * idle_timeout_ms, max_unauthenticated_request, max_unauthenticated_bytes);
 * a 0 takes the default. */
typedef struct wn_netlimits {
	size_t max_connections;       /* default: sized from RLIMIT_NOFILE */
	int64_t handshake_timeout_ms; /* accept to the SP handshake (and TLS's) */
	int64_t idle_timeout_ms;      /* no request in flight and none parked */
	size_t max_unauth_request;    /* a request before one was authenticated */
	size_t max_unauth_bytes;      /* read buffers of those connections, in all */
} wn_netlimits;

#define WN_NET_HANDSHAKE_MS   10000
#define WN_NET_IDLE_MS        300000
#define WN_NET_UNAUTH_REQ     (1u << 20)
#define WN_NET_UNAUTH_BYTES   (64u << 20)
#define WN_NET_UNAUTH_REQ_MIN (64u << 10) /* clients may send this much at first */
/* Descriptors wnd keeps for the store (RocksDB's table files) and itself. */
#define WN_NET_FD_RESERVE 576

typedef struct wn_netguard wn_netguard;

/* wn_netguard_new makes a guard for the limits l (defaults filled in); it
 * warns when max_connections leaves fewer descriptors than the store needs. */
wn_netguard *wn_netguard_new(const wn_netlimits *l);
/* wn_netguard_free frees g and its reserve descriptor; NULL is a no-op. */
void wn_netguard_free(wn_netguard *g);
/* wn_netguard_limits returns the limits in force. */
const wn_netlimits *wn_netguard_limits(const wn_netguard *g);
/* wn_netguard_default_connections returns max_connections's default for a
 * descriptor limit of nofile. */
size_t wn_netguard_default_connections(uint64_t nofile);

/* The most descriptors wn_netguard_raise_nofile asks for (the kernel's
 * usual fs.nr_open). */
#define WN_NET_NOFILE_MAX (1u << 20)

/* wn_netguard_raise_nofile raises the soft descriptor limit (ulimit -Sn) to
 * the hard one, at most WN_NET_NOFILE_MAX: wnd waits on epoll, never on
 * select, so a soft limit below the hard one only makes descriptors run out
 * sooner (for nng's HTTP server, which has no limit of its own, first).
 * Returns whether it raised it, from *from to *to (untouched otherwise). */
bool wn_netguard_raise_nofile(uint64_t *from, uint64_t *to);

/* The fewest descriptors wnd starts with: its store, listeners, event loops
 * and threads take about 20, and the store's recovery after a failed write
 * wants 32 free. */
#define WN_NET_NOFILE_MIN 64

/* wn_netguard_nofile_check refuses a descriptor limit (ulimit -n, once
 * raised) under WN_NET_NOFILE_MIN: WN_EINVAL with *errmsg, before wnd
 * creates anything (below it a start fails part way, on whatever file it
 * opens then). */
int wn_netguard_nofile_check(char **errmsg);

/* What becomes of a connection just accepted. */
enum {
	WN_GUARD_SERVE = 0,  /* under the limit: served */
	WN_GUARD_REFUSE = 1, /* over it: its first request is answered UNAVAILABLE, then closed */
	WN_GUARD_DROP = 2,   /* far over it: closed at once */
};
/* wn_netguard_admit counts a connection just accepted and says what becomes
 * of it; SERVE and REFUSE must be given back with wn_netguard_leave. */
int wn_netguard_admit(wn_netguard *g);
/* wn_netguard_leave gives back a connection admitted as how. */
void wn_netguard_leave(wn_netguard *g, int how);

/* Why a request is refused before it reaches the engine. */
enum {
	WN_GUARD_CONNS = 0,      /* its connection is over max_connections */
	WN_GUARD_AUTH_FIRST = 1, /* over max_unauth_request before one was authenticated */
	WN_GUARD_BUSY = 2,       /* unauthenticated connections hold max_unauth_bytes */
};
/* wn_netguard_answer returns the Response (malloc'd, *len bytes, id 0) that
 * refuses a request for why. */
uint8_t *wn_netguard_answer(const wn_netguard *g, int why, size_t *len);

/* wn_netguard_accept_failed handles accept's failure err on listening socket
 * fd (url names it): out of descriptors, it closes the oldest pending
 * connection with the reserve descriptor so that its client learns at once.
 * Logs once per burst. Returns how long to stop accepting on fd, ms (0: go
 * on accepting). */
int wn_netguard_accept_failed(wn_netguard *g, int fd, const char *url, int err);
/* wn_netguard_accepted notes a successful accept: the back-off starts over. */
void wn_netguard_accepted(wn_netguard *g);

/* wn_netguard_take counts n more bytes held for unauthenticated connections;
 * false (nothing counted, a warning once per burst) when that would pass
 * max_unauth_bytes. */
bool wn_netguard_take(wn_netguard *g, size_t n);
/* wn_netguard_give gives back n bytes counted by wn_netguard_take. */
void wn_netguard_give(wn_netguard *g, size_t n);
/* wn_netguard_held returns the bytes held for unauthenticated connections. */
size_t wn_netguard_held(const wn_netguard *g);

#endif
