#include "net.h"

#include "err.h"
#include "log.h"
#include "rpc.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often an idle serving thread looks at the stop flag. */
#define NET_POLL_MS 200
/* How often ipc:// listeners are probed, and how long a probe may take. */
#define NET_PROBE_EVERY_MS   500
#define NET_PROBE_TIMEOUT_MS 1000
#define NET_MAX_LISTEN       16

struct listen {
	char *url;
	nng_listener l;
	bool ipc;
};

struct slot {
	nng_ctx ctx;
	nng_aio *aio;
	uint32_t pipe; /* the connection of the request being served */
};

struct wn_net {
	nng_socket sock;
	wn_engine *e;
	pthread_t *threads;
	int nthreads;
	atomic_bool stopping;
	struct listen listens[NET_MAX_LISTEN];
	size_t nlisten;
	pthread_t watchdog;
	bool have_watchdog;
};

static struct slot *slot_new(wn_net *n)
{
	struct slot *s = wn_xcalloc(1, sizeof(*s));
	int rv = nng_ctx_open(&s->ctx, n->sock);
	if (rv == 0)
		rv = nng_aio_alloc(&s->aio, NULL, NULL);
	if (rv != 0) {
		wn_error("cannot open a connection context: %s", nng_strerror(rv));
		free(s);
		return NULL;
	}
	return s;
}

static void slot_free(struct slot *s)
{
	if (s == NULL)
		return;
	nng_aio_free(s->aio);
	nng_ctx_close(s->ctx);
	free(s);
}

/* slot_send sends buf (freed here) as the reply on s's context. */
static void slot_send(struct slot *s, uint8_t *buf, size_t len)
{
	nng_msg *msg = NULL;
	int rv = nng_msg_alloc(&msg, 0);
	if (rv == 0)
		rv = nng_msg_append(msg, buf, len);
	free(buf);
	if (rv != 0) {
		nng_msg_free(msg);
		wn_error("cannot build a reply: %s", nng_strerror(rv));
		return;
	}
	nng_aio_set_msg(s->aio, msg);
	nng_aio_set_timeout(s->aio, 10000);
	nng_ctx_send(s->ctx, s->aio);
	nng_aio_wait(s->aio);
	rv = nng_aio_result(s->aio);
	if (rv != 0) {
		nng_msg_free(nng_aio_get_msg(s->aio));
		wn_debug("reply not sent: %s", nng_strerror(rv));
	}
}

void wn_net_deliver(void *arg, void *slot, uint8_t *buf, size_t len)
{
	(void)arg;
	struct slot *s = slot;
	if (s == NULL) {
		free(buf);
		return;
	}
	if (buf != NULL)
		slot_send(s, buf, len);
	slot_free(s);
}

uint32_t wn_net_slot_conn(void *slot)
{
	return slot ? ((struct slot *)slot)->pipe : 0;
}

/* net_pipe_removed tells the engine a connection closed (an nng callback:
 * the engine only notes it). */
static void net_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)ev;
	wn_net *n = arg;
	if (n->e != NULL && nng_pipe_id(p) > 0)
		wn_engine_conn_closed(n->e, (uint32_t)nng_pipe_id(p));
}

static void *net_thread(void *arg)
{
	wn_net *n = arg;
	struct slot *s = slot_new(n);
	while (s != NULL && !atomic_load(&n->stopping)) {
		nng_aio_set_timeout(s->aio, NET_POLL_MS);
		nng_ctx_recv(s->ctx, s->aio);
		nng_aio_wait(s->aio);
		int rv = nng_aio_result(s->aio);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0) {
			wn_warn("receive failed: %s", nng_strerror(rv));
			continue;
		}
		nng_msg *msg = nng_aio_get_msg(s->aio);
		int pid = nng_pipe_id(nng_msg_get_pipe(msg));
		s->pipe = pid > 0 ? (uint32_t)pid : 0;
		uint8_t *out = NULL;
		size_t outlen = 0;
		wn_engine_handle(n->e, nng_msg_body(msg), nng_msg_len(msg), s, &out, &outlen);
		nng_msg_free(msg);
		if (out == NULL) {
			/* parked: the engine answers through wn_net_deliver */
			s = slot_new(n);
			continue;
		}
		slot_send(s, out, outlen);
	}
	slot_free(s);
	return NULL;
}

int wn_net_open(const char *const *urls, size_t nurls, size_t max_msg, wn_net **out, char **errmsg)
{
	wn_net *n = wn_xcalloc(1, sizeof(*n));
	int rv = nng_rep0_open(&n->sock);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot open socket: %s", nng_strerror(rv));
		free(n);
		return WN_EUNAVAIL;
	}
	nng_socket_set_size(n->sock, NNG_OPT_RECVMAXSZ, max_msg * 4);
	if (nurls > NET_MAX_LISTEN) {
		*errmsg = wn_xasprintf("at most %d listen addresses", NET_MAX_LISTEN);
		wn_net_close(n);
		return WN_EINVAL;
	}
	for (size_t i = 0; i < nurls; i++) {
		struct listen *ls = &n->listens[n->nlisten];
		rv = nng_listen(n->sock, urls[i], &ls->l, 0);
		if (rv != 0) {
			*errmsg =
			    wn_xasprintf("cannot listen on %s: %s", urls[i], nng_strerror(rv));
			wn_net_close(n);
			return rv == NNG_EADDRINUSE ? WN_EBUSY : WN_EINVAL;
		}
		ls->url = wn_xstrdup(urls[i]);
		ls->ipc = strncmp(urls[i], "ipc://", 6) == 0;
		n->nlisten++;
	}
	*out = n;
	return WN_OK;
}

/* net_ipc_alive sends a request to an ipc:// listener over a new connection
 * and reports whether any reply comes back. nng 1.5.2 stops handing new
 * connections of an ipc listener to the socket for good once a client
 * disconnects during the handshake (upstream issue nanomsg/nng#1518, fixed in
 * 1.6); the watchdog notices and listens anew. */
static bool net_ipc_alive(const char *url)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, NULL, WN_RPC_BACKGROUND, &r, &err) != WN_OK) {
		free(err);
		return true; /* cannot tell */
	}
	wn_rpc_set_timeout(r, NET_PROBE_TIMEOUT_MS);
	Whatsnext__V1__StatsRequest in = WHATSNEXT__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	/* an unknown method: answered at once, touches no state */
	int rv = wn_rpc_call(r, "/whatsnext.v1.Probe/Alive", &in.base,
	                     &whatsnext__v1__stats_response__descriptor, &out, &err, 0, 0);
	free(err);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	wn_rpc_close(r);
	return rv >= 0;
}

static void *net_watchdog(void *arg)
{
	wn_net *n = arg;
	int64_t next = wn_mono_ms() + NET_PROBE_EVERY_MS;
	while (!atomic_load(&n->stopping)) {
		if (wn_mono_ms() < next) {
			usleep(50 * 1000);
			continue;
		}
		next = wn_mono_ms() + NET_PROBE_EVERY_MS;
		for (size_t i = 0; i < n->nlisten && !atomic_load(&n->stopping); i++) {
			struct listen *ls = &n->listens[i];
			if (!ls->ipc || net_ipc_alive(ls->url) || atomic_load(&n->stopping))
				continue;
			/* one more try before acting: a busy server may just be slow */
			if (net_ipc_alive(ls->url) || atomic_load(&n->stopping))
				continue;
			wn_warn("listener on %s stopped accepting connections; listening again",
			        ls->url);
			nng_listener_close(ls->l);
			int rv = nng_listen(n->sock, ls->url, &ls->l, 0);
			if (rv != 0)
				wn_error("cannot listen again on %s: %s", ls->url,
				         nng_strerror(rv));
		}
	}
	return NULL;
}

int wn_net_serve(wn_net *n, wn_engine *e, int nthreads)
{
	n->e = e;
	nng_pipe_notify(n->sock, NNG_PIPE_EV_REM_POST, net_pipe_removed, n);
	for (size_t i = 0; i < n->nlisten; i++) {
		if (n->listens[i].ipc && !n->have_watchdog) {
			if (pthread_create(&n->watchdog, NULL, net_watchdog, n) == 0)
				n->have_watchdog = true;
		}
	}
	n->e = e;
	n->threads = wn_xcalloc((size_t)nthreads, sizeof(*n->threads));
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&n->threads[i], NULL, net_thread, n) != 0) {
			wn_error("cannot start serving thread %d", i);
			wn_net_stop(n);
			return WN_EINTERNAL;
		}
		n->nthreads++;
	}
	return WN_OK;
}

void wn_net_stop(wn_net *n)
{
	atomic_store(&n->stopping, true);
	if (n->have_watchdog) {
		pthread_join(n->watchdog, NULL);
		n->have_watchdog = false;
	}
	for (int i = 0; i < n->nthreads; i++)
		pthread_join(n->threads[i], NULL);
	n->nthreads = 0;
	free(n->threads);
	n->threads = NULL;
}

void wn_net_close(wn_net *n)
{
	if (n == NULL)
		return;
	nng_close(n->sock);
	for (size_t i = 0; i < n->nlisten; i++)
		free(n->listens[i].url);
	free(n);
}
