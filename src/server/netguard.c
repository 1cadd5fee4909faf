/* netguard: the transport's limits against unfair peers (netguard.h). */
#include "netguard.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections over the limit held at once to answer their first request
 * with a refusal; beyond them a connection is closed at once. */
#define GUARD_REFUSING_MAX 16
/* A burst of the same trouble is logged once: again only after this long. */
#define GUARD_NOTE_MS 10000
/* Accepting pauses this long when descriptors ran out, doubling up to max. */
#define GUARD_PAUSE_MIN_MS 100
#define GUARD_PAUSE_MAX_MS 1000

/* One kind of trouble, logged once per burst with how often it happened. */
struct note {
	int64_t logged_ms; /* monotonic; 0: never */
	uint64_t count;    /* since the last line */
};

struct wn_netguard {
	wn_netlimits l;
	atomic_size_t conns;    /* served connections */
	atomic_size_t refusing; /* over the limit, waiting for their first request */
	atomic_size_t held;     /* bytes held for unauthenticated connections */
	pthread_mutex_t mu;     /* the reserve descriptor, the back-off, the notes */
	int reserve;            /* /dev/null, closed to accept when descriptors run out */
	int pause_ms;           /* the next back-off */
	struct note n_conns, n_accept, n_budget;
};

/* note_due counts one more event of n and says whether to log it now: then
 * *count gets the events since the last line (this one included). */
static bool note_due(wn_netguard *g, struct note *n, uint64_t *count)
{
	pthread_mutex_lock(&g->mu);
	int64_t now = wn_mono_ms();
	n->count++;
	bool due = n->logged_ms == 0 || now - n->logged_ms >= GUARD_NOTE_MS;
	if (due) {
		*count = n->count;
		n->count = 0;
		n->logged_ms = now;
	}
	pthread_mutex_unlock(&g->mu);
	return due;
}

/* note_times says how often a trouble logged again happened meanwhile. */
static const char *note_times(uint64_t count, char *buf, size_t n)
{
	if (count <= 1)
		return "";
	snprintf(buf, n, " (%llu times since the last such line)", (unsigned long long)count);
	return buf;
}

static uint64_t guard_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1u << 20;
	return (uint64_t)rl.rlim_cur;
}

bool wn_netguard_raise_nofile(uint64_t *from, uint64_t *to)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > WN_NET_NOFILE_MAX
	                  ? (rlim_t)WN_NET_NOFILE_MAX
	                  : rl.rlim_max;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = want;
	if (want <= was || setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false; /* past fs.nr_open, say: the limit stays */
	*from = (uint64_t)was;
	*to = (uint64_t)want;
	return true;
}

int wn_netguard_nofile_check(char **errmsg)
{
	uint64_t n = guard_nofile();
	if (n >= WN_NET_NOFILE_MIN)
		return WN_OK;
	*errmsg = wn_xasprintf("too few file descriptors: the limit (ulimit -n) is %llu, and "
	                       "a start needs at least %d; raise it",
	                       (unsigned long long)n, WN_NET_NOFILE_MIN);
	return WN_EINVAL;
}

size_t wn_netguard_default_connections(uint64_t nofile)
{
	uint64_t n = nofile > 2 * WN_NET_FD_RESERVE ? nofile - WN_NET_FD_RESERVE : nofile / 4;
	if (n < 8)
		n = 8;
	return n > 65536 ? 65536 : (size_t)n;
}

wn_netguard *wn_netguard_new(const wn_netlimits *l)
{
	wn_netguard *g = wn_xcalloc(1, sizeof(*g));
	g->l = *l;
	uint64_t nofile = guard_nofile();
	if (g->l.max_connections == 0)
		g->l.max_connections = wn_netguard_default_connections(nofile);
	else if (g->l.max_connections + WN_NET_FD_RESERVE > nofile)
		wn_warn("max_connections %zu leaves less than %d of the %llu descriptors wnd may "
		        "open (ulimit -n) for its store; when they run out wnd pauses accepting",
		        g->l.max_connections, WN_NET_FD_RESERVE, (unsigned long long)nofile);
	if (g->l.handshake_timeout_ms <= 0)
		g->l.handshake_timeout_ms = WN_NET_HANDSHAKE_MS;
	if (g->l.idle_timeout_ms <= 0)
		g->l.idle_timeout_ms = WN_NET_IDLE_MS;
	if (g->l.max_unauth_request == 0)
		g->l.max_unauth_request = WN_NET_UNAUTH_REQ;
	if (g->l.max_unauth_bytes == 0)
		g->l.max_unauth_bytes = WN_NET_UNAUTH_BYTES;
	pthread_mutex_init(&g->mu, NULL);
	g->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g->pause_ms = GUARD_PAUSE_MIN_MS;
	return g;
}

void wn_netguard_free(wn_netguard *g)
{
	if (g == NULL)
		return;
	if (g->reserve >= 0)
		close(g->reserve);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

const wn_netlimits *wn_netguard_limits(const wn_netguard *g)
{
	return &g->l;
}

int wn_netguard_admit(wn_netguard *g)
{
	if (atomic_fetch_add(&g->conns, 1) < g->l.max_connections)
		return WN_GUARD_SERVE;
	atomic_fetch_sub(&g->conns, 1);
	uint64_t count = 0;
	char buf[64];
	if (note_due(g, &g->n_conns, &count))
		wn_warn("connection limit reached (%zu, max_connections): new connections are "
		        "refused%s",
		        g->l.max_connections, note_times(count, buf, sizeof(buf)));
	if (atomic_fetch_add(&g->refusing, 1) < GUARD_REFUSING_MAX)
		return WN_GUARD_REFUSE;
	atomic_fetch_sub(&g->refusing, 1);
	return WN_GUARD_DROP;
}

void wn_netguard_leave(wn_netguard *g, int how)
{
	if (how == WN_GUARD_SERVE)
		atomic_fetch_sub(&g->conns, 1);
	else if (how == WN_GUARD_REFUSE)
		atomic_fetch_sub(&g->refusing, 1);
}

uint8_t *wn_netguard_answer(const wn_netguard *g, int why, size_t *len)
{
	char msg[256];
	int err = WN_EUNAVAIL;
	if (why == WN_GUARD_CONNS)
		snprintf(msg, sizeof(msg),
		         "the server has too many connections (%zu, max_connections); retry later",
		         g->l.max_connections);
	else if (why == WN_GUARD_AUTH_FIRST) {
		err = WN_EAUTH;
		snprintf(msg, sizeof(msg),
		         "authenticate first: a request over %zu bytes "
		         "(max_unauthenticated_request) must follow one with a valid token "
		         "on the same connection",
		         g->l.max_unauth_request);
	} else
		snprintf(msg, sizeof(msg),
		         "the server holds too many bytes from connections that have not "
		         "authenticated (%zu, max_unauthenticated_bytes); retry later",
		         g->l.max_unauth_bytes);
	Whatsnext__V1__Response r = WHATSNEXT__V1__RESPONSE__INIT;
	r.code = (Whatsnext__V1__Code)wn_err_to_code(err);
	r.message = msg;
	return wn_message_pack(&r.base, len);
}

int wn_netguard_accept_failed(wn_netguard *g, int fd, const char *url, int err)
{
	if (err == ECONNABORTED || err == EPROTO || err == EPERM || err == EINTR)
		return 0; /* that connection is gone: the next may be fine */
	bool out = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
	int pause;
	pthread_mutex_lock(&g->mu);
	if (out && g->reserve >= 0) {
		/* one descriptor in hand: close the oldest waiting connection, so
		 * that its client learns at once instead of timing out */
		close(g->reserve);
		int x = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (x >= 0)
			close(x);
		g->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pause = g->pause_ms;
	g->pause_ms = pause * 2 > GUARD_PAUSE_MAX_MS ? GUARD_PAUSE_MAX_MS : pause * 2;
	pthread_mutex_unlock(&g->mu);
	uint64_t count = 0;
	char buf[64];
	if (note_due(g, &g->n_accept, &count))
		wn_warn("accept on %s failed: %s; accepting pauses for up to %d ms at a time%s%s",
		        url, strerror(err), GUARD_PAUSE_MAX_MS,
		        out ? " and waiting connections are closed" : "",
		        note_times(count, buf, sizeof(buf)));
	return pause;
}

void wn_netguard_accepted(wn_netguard *g)
{
	pthread_mutex_lock(&g->mu);
	g->pause_ms = GUARD_PAUSE_MIN_MS;
	if (g->reserve < 0) /* taken back when descriptors ran out: again */
		g->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&g->mu);
}

bool wn_netguard_take(wn_netguard *g, size_t n)
{
	size_t was = atomic_fetch_add(&g->held, n);
	if (was + n <= g->l.max_unauth_bytes)
		return true;
	atomic_fetch_sub(&g->held, n);
	uint64_t count = 0;
	char buf[64];
	if (note_due(g, &g->n_budget, &count))
		wn_warn("connections that have not authenticated hold %zu bytes "
		        "(max_unauthenticated_bytes %zu): their larger requests are refused%s",
		        was, g->l.max_unauth_bytes, note_times(count, buf, sizeof(buf)));
	return false;
}

void wn_netguard_give(wn_netguard *g, size_t n)
{
	atomic_fetch_sub(&g->held, n);
}

size_t wn_netguard_held(const wn_netguard *g)
{
	return atomic_load(&((wn_netguard *)g)->held);
}
