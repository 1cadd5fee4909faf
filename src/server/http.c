/* http: wnd's HTTP listener (http.h). One nng handler takes every request;
 * a method call's headers are checked (origin, verb, type, length, token)
 * before its body is read, by wnd itself within HTTP_BODIES_MAX and
 * HTTP_BODY_MS (nng would read any body first); the body becomes a Request
 * envelope for wn_engine_serve, and its reply goes back once durable: at
 * once when it is, else through the waiter thread, which also sends the
 * replies of parked requests (Wait, Log, Fetch) that the engine delivers
 * later. A call (struct hcall) is held by the handler or the body's read,
 * the engine while parked, and the waiter's queue while queued: it is freed
 * when the last lets go. */
#include "http.h"
#include "http_int.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "map.h"
#include "methods.h"
#include "metrics.h"
#include "pbjson.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"
#include "webassets.h"

/* Connection numbers of HTTP calls, apart from the SP listeners' (net.c
 * counts up from 1). */
#define HTTP_CONN_BASE 0x80000000u

void wn_http_thread_ready(void)
{
	static __thread bool ready;
	if (!ready) {
		wn_store_thread_init();
		ready = true;
	}
}

/* ------------------------------------------------------------ calls */

static struct hcall *hcall_new(wn_http *h, nng_aio *aio, const wn_method *m, const char *origin)
{
	struct hcall *hc = wn_xcalloc(1, sizeof(*hc));
	hc->h = h;
	hc->aio = aio;
	hc->m = m;
	hc->origin = origin != NULL ? wn_xstrdup(origin) : NULL;
	hc->refs = 1;
	pthread_mutex_lock(&h->mu);
	hc->conn = HTTP_CONN_BASE | (h->next_conn++ & 0x7fffffffu);
	wn_map_put_u64(h->calls, (uint64_t)(uintptr_t)hc, hc);
	pthread_mutex_unlock(&h->mu);
	return hc;
}

/* hcall_unref drops one hold of hc (h->mu held) and frees it with the last. */
static void hcall_unref(struct hcall *hc)
{
	if (--hc->refs > 0)
		return;
	wn_map_del_u64(hc->h->calls, (uint64_t)(uintptr_t)hc);
	if (hc->body != NULL)
		hc->h->body_bytes -= hc->bodylen;
	free(hc->body);
	free(hc->origin);
	free(hc->tok);
	free(hc->buf);
	free(hc);
}

static void hcall_release(struct hcall *hc)
{
	wn_http *h = hc->h;
	pthread_mutex_lock(&h->mu);
	hcall_unref(hc);
	pthread_mutex_unlock(&h->mu);
}

/* hcall_answer sends res on hc's connection if it still waits (a cancelled
 * call's reply is dropped). */
static void hcall_answer(struct hcall *hc, nng_http_res *res)
{
	pthread_mutex_lock(&hc->h->mu);
	nng_aio *aio = hc->aio;
	hc->aio = NULL;
	pthread_mutex_unlock(&hc->h->mu);
	if (aio != NULL)
		wn_http_finish(aio, res);
	else if (res != NULL)
		nng_http_res_free(res);
}

/* hcall_cancel: the connection of a call closed while it waited (wnd's
 * HTTP server stops). arg is h, not the call: an answer may be finishing
 * aio and letting go of its call meanwhile, so the call is looked up by
 * aio among those alive, under h->mu. */
static void hcall_cancel(nng_aio *aio, void *arg, int rv)
{
	wn_http *h = arg;
	struct hcall *hc = NULL;
	size_t pos = 0;
	void *val;
	pthread_mutex_lock(&h->mu);
	while (wn_map_next(h->calls, &pos, NULL, NULL, &val)) {
		if (((struct hcall *)val)->aio == aio) {
			hc = val;
			break;
		}
	}
	if (hc == NULL) { /* answered: the answer completes aio */
		pthread_mutex_unlock(&h->mu);
		return;
	}
	hc->aio = NULL;
	uint32_t conn = hc->conn;
	bool reading = hc->reading;
	if (reading) /* under h->mu: http_body_done frees rd once it has it */
		nng_aio_abort(hc->rd, rv);
	pthread_mutex_unlock(&h->mu);
	nng_aio_finish(aio, rv);
	if (!reading)
		wn_engine_conn_closed(h->e, conn); /* a parked request is dropped */
}

/* hcall_reply turns the Response in buf (len bytes) into hc's HTTP reply. */
static nng_http_res *hcall_reply(struct hcall *hc, const uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return wn_http_error_res(WHATSNEXT__V1__CODE__UNAVAILABLE, "wnd is shutting down",
		                         hc->origin);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, buf);
	if (r == NULL)
		return wn_http_error_res(WHATSNEXT__V1__CODE__INTERNAL, "cannot read the reply",
		                         hc->origin);
	nng_http_res *res;
	if (r->code != WHATSNEXT__V1__CODE__OK) {
		res = wn_http_error_res(r->code, r->message, hc->origin);
	} else {
		char *json = NULL, *err = NULL;
		size_t jlen = 0;
		if (wn_pbjson_from_pb(hc->m->reply, r->body.data, r->body.len, &json, &jlen,
		                      &err) == WN_OK) {
			res = wn_http_res(200, "application/json", json, jlen, hc->origin);
		} else {
			res = wn_http_error_res(WHATSNEXT__V1__CODE__INTERNAL,
			                        err ? err : "cannot encode", hc->origin);
		}
		free(json);
		free(err);
	}
	whatsnext__v1__response__free_unpacked(r, NULL);
	return res;
}

/* ------------------------------------------------------------ the waiter */

static void http_enqueue(wn_http *h, struct hcall *hc)
{
	hc->next = NULL;
	if (h->tail != NULL)
		h->tail->next = hc;
	else
		h->head = hc;
	h->tail = hc;
	pthread_cond_signal(&h->cv);
}

/* http_waiter sends each queued reply once its write is durable. */
void *wn_http_waiter(void *arg)
{
	wn_http *h = arg;
	wn_store_thread_init();
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->head == NULL && !h->stopping)
			pthread_cond_wait(&h->cv, &h->mu);
		struct hcall *hc = h->head;
		if (hc == NULL)
			break;
		h->head = hc->next;
		if (h->head == NULL)
			h->tail = NULL;
		pthread_mutex_unlock(&h->mu);
		if (hc->buf != NULL && hc->seq != 0 &&
		    wn_engine_wait_durable(h->e, hc->seq) != WN_OK)
			wn_engine_undurable(h->e, &hc->buf, &hc->len);
		hcall_answer(hc, hcall_reply(hc, hc->buf, hc->len));
		pthread_mutex_lock(&h->mu);
		hcall_unref(hc);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

bool wn_http_deliver(wn_http *h, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	if (h == NULL)
		return false;
	pthread_mutex_lock(&h->mu);
	struct hcall *hc = wn_map_get_u64(h->calls, (uint64_t)(uintptr_t)slot);
	if (hc == NULL) {
		pthread_mutex_unlock(&h->mu);
		return false;
	}
	if (buf == NULL) {
		/* no answer for this slot: its requester is gone (aio is NULL), or
		 * a retry with the same request id took its place. An HTTP request
		 * is answered all the same: its connection waits for it, and nng's
		 * server cannot stop while it does. */
		nng_aio *aio = hc->aio;
		hc->aio = NULL;
		nng_http_res *res =
		    aio != NULL ? wn_http_error_res(WHATSNEXT__V1__CODE__ABORTED,
		                                    "a retry with the same X-Request-Id took this "
		                                    "call's place: the retry gets its answer",
		                                    hc->origin)
		                : NULL;
		hcall_unref(hc);
		pthread_mutex_unlock(&h->mu);
		if (aio != NULL)
			wn_http_finish(aio, res);
		return true;
	}
	hc->buf = buf;
	hc->len = len;
	hc->seq = seq;
	http_enqueue(h, hc); /* the engine's hold passes to the queue */
	pthread_mutex_unlock(&h->mu);
	return true;
}

bool wn_http_slot_conn(wn_http *h, void *slot, uint32_t *conn)
{
	if (h == NULL)
		return false;
	pthread_mutex_lock(&h->mu);
	struct hcall *hc = wn_map_get_u64(h->calls, (uint64_t)(uintptr_t)slot);
	if (hc != NULL)
		*conn = hc->conn;
	pthread_mutex_unlock(&h->mu);
	return hc != NULL;
}

_Static_assert(HTTP_BODY_MAX == 22435156, "http_body_len's message names HTTP_BODY_MAX");

/* http_body_len reads the length of req's body into *len: false, answered
 * (with the CORS header for cors, NULL for none), when it cannot be read (a
 * chunked body, a bad or too long length). */
static bool http_body_len(nng_aio *aio, nng_http_req *req, const char *cors, size_t *len)
{
	const char *te = nng_http_req_get_header(req, "Transfer-Encoding");
	const char *cl = nng_http_req_get_header(req, "Content-Length");
	int64_t n = 0;
	const char *why = NULL;
	uint16_t status = 400;
	*len = 0;
	if (te != NULL) {
		status = 411;
		why = "the body must be sent with Content-Length (not chunked)";
	} else if (cl != NULL && (cl[strspn(cl, "0123456789")] != '\0' || cl[0] == '\0' ||
	                          wn_parse_i64(cl, 0, INT64_MAX, &n) != 0)) {
		/* digits only (RFC 9110): "+2", "-0" or " 2" could be read
		 * otherwise by a proxy in front */
		why = "Content-Length must be one decimal number";
	} else if ((uint64_t)n > HTTP_BODY_MAX) {
		status = 413;
		why = "the body is too large (at most 22435156 bytes)";
	}
	if (why == NULL) {
		*len = (size_t)n;
		return true;
	}
	nng_http_res *res =
	    wn_http_error_res(status == 413 ? WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED
	                                    : WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	                      why, cors);
	if (res != NULL) {
		nng_http_res_set_status(res, status);
		nng_http_res_set_reason(res, wn_http_reason(status));
	}
	wn_http_finish_close(aio, res);
	return false;
}

/* http_run sends hc's call with its body (len bytes of JSON) to the engine;
 * the caller's hold on hc passes on. */
static void http_run(struct hcall *hc, const uint8_t *body, size_t len)
{
	wn_http *h = hc->h;
	uint8_t *pb = NULL;
	size_t pblen = 0;
	char *err = NULL;
	int rv = wn_pbjson_to_pb(hc->m->request, (const char *)body, len, &pb, &pblen, &err);
	if (rv != WN_OK && hc->denied) {
		/* refused for its role all the same, with no target to name */
		free(err);
		err = NULL;
		rv = WN_OK;
	}
	pthread_mutex_lock(&h->mu);
	if (hc->body != NULL) { /* the room it took is given back */
		h->body_bytes -= hc->bodylen;
		free(hc->body);
		hc->body = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (rv != WN_OK) {
		nng_http_res *res =
		    wn_http_error_res(rv == WN_ETOOBIG ? WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED
		                                       : WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                      err ? err : "bad JSON", hc->origin);
		if (res != NULL && rv == WN_ETOOBIG) {
			nng_http_res_set_status(res, 413);
			nng_http_res_set_reason(res, wn_http_reason(413));
		}
		hcall_answer(hc, res);
		free(err);
		hcall_release(hc);
		return;
	}
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = hc->reqid;
	rq.method = (char *)hc->m->path;
	rq.body.data = pb;
	rq.body.len = pblen;
	rq.token = hc->tok;
	size_t envlen;
	uint8_t *env = wn_message_pack(&rq.base, &envlen);
	free(pb);

	pthread_mutex_lock(&h->mu);
	hc->refs++; /* the engine's, should it park the call */
	pthread_mutex_unlock(&h->mu);
	wn_reply r;
	wn_engine_serve(h->e, env, envlen, hc, &r);
	free(env);
	if (r.buf == NULL) { /* parked: the engine answers through wn_http_deliver */
		hcall_release(hc);
		return;
	}
	pthread_mutex_lock(&h->mu);
	hc->refs--; /* not parked */
	if (r.seq != 0 && wn_engine_durable(h->e, r.seq) != WN_OK) {
		hc->buf = r.buf;
		hc->len = r.len;
		hc->seq = r.seq;
		http_enqueue(h, hc); /* the hold passes to the queue */
		pthread_mutex_unlock(&h->mu);
		return;
	}
	pthread_mutex_unlock(&h->mu);
	hcall_answer(hc, hcall_reply(hc, r.buf, r.len));
	free(r.buf);
	hcall_release(hc);
}

/* http_body_done: hc's body has arrived, or not (a timeout, the connection
 * closed, the call cancelled). */
static void http_body_done(void *arg)
{
	struct hcall *hc = arg;
	wn_http *h = hc->h;
	wn_http_thread_ready();
	int rv = nng_aio_result(hc->rd);
	pthread_mutex_lock(&h->mu);
	hc->reading = false;
	nng_aio *aio = rv != 0 ? hc->aio : NULL;
	if (aio != NULL)
		hc->aio = NULL;
	bool cancelled = hc->aio == NULL && aio == NULL;
	pthread_mutex_unlock(&h->mu);
	nng_aio_reap(hc->rd);
	hc->rd = NULL;
	if (rv != 0 || cancelled) {
		/* a timeout or a read error has closed the connection (nng's
		 * reader does): no reply can go */
		if (aio != NULL)
			wn_http_finish(aio, NULL);
		hcall_release(hc);
		return;
	}
	http_run(hc, hc->body, hc->bodylen);
}

/* An interim reply sent on its own: "100 Continue". */
struct hinterim {
	nng_aio *aio;
};

static void http_interim_done(void *arg)
{
	struct hinterim *hi = arg;
	nng_aio_reap(hi->aio);
	free(hi);
}

/* http_continue answers "Expect: 100-continue" on conn: the client sends
 * its body only then (curl waits a second for it with a body past 1 MiB),
 * and a call refused by its headers never has its body sent. */
static void http_continue(nng_http_req *req, nng_http_conn *conn)
{
	static char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *ex = nng_http_req_get_header(req, "Expect");
	if (ex == NULL || strcasecmp(ex, "100-continue") != 0 ||
	    strcmp(nng_http_req_get_version(req), "HTTP/1.1") != 0)
		return;
	struct hinterim *hi = wn_xcalloc(1, sizeof(*hi));
	if (nng_aio_alloc(&hi->aio, http_interim_done, hi) != 0) {
		free(hi);
		return; /* the client sends its body after its own wait */
	}
	nng_iov iov = {.iov_buf = line, .iov_len = sizeof(line) - 1};
	nng_aio_set_iov(hi->aio, 1, &iov);
	nng_http_conn_write_all(conn, hi->aio);
}

/* http_call runs POST /v1/<Service>/<Method> (path without "/v1/"). */
static void http_call(wn_http *h, nng_aio *aio, nng_http_req *req, const char *path)
{
	if (strcmp(nng_http_req_get_method(req), "OPTIONS") == 0) {
		wn_http_preflight(h, aio, req, "POST, OPTIONS",
		                  "Authorization, Content-Type, X-Request-Id");
		return;
	}
	char full[160];
	const wn_method *m = NULL;
	if (strlen(path) < sizeof(full) - 16) {
		snprintf(full, sizeof(full), "/whatsnext.v1.%s", path);
		m = wn_method_find(full);
	}
	const char *cors = NULL, *tok = NULL;
	size_t len;
	uint64_t id;
	bool denied = false;
	/* an allowed origin's page may read why its body was refused */
	if (!wn_http_origin_ok(h, req, &cors))
		cors = NULL;
	if (!http_body_len(aio, req, cors, &len) ||
	    wn_http_check_call(h, aio, req, m, len, &cors, &tok, &id, &denied))
		return;
	if (len > 0) {
		pthread_mutex_lock(&h->mu);
		bool room = h->body_bytes + len <= HTTP_BODIES_MAX;
		if (room)
			h->body_bytes += len; /* given back with hc->body */
		pthread_mutex_unlock(&h->mu);
		if (!room) {
			nng_http_res *res = wn_http_error_res(
			    WHATSNEXT__V1__CODE__UNAVAILABLE,
			    "too many request bodies arriving at once; retry", cors);
			if (res != NULL)
				nng_http_res_set_header(res, "Retry-After", "1");
			wn_http_finish_close(aio, res);
			return;
		}
	}
	struct hcall *hc = hcall_new(h, aio, m, cors);
	hc->tok = wn_xstrdup(tok);
	hc->reqid = id;
	hc->denied = denied;
	if (len == 0) {
		nng_aio_defer(aio, hcall_cancel, h);
		http_run(hc, (const uint8_t *)"", 0);
		return;
	}
	hc->body = wn_xmalloc(len);
	hc->bodylen = len;
	if (nng_aio_alloc(&hc->rd, http_body_done, hc) != 0) {
		hcall_answer(hc, NULL); /* drops the connection */
		hcall_release(hc);
		return;
	}
	hc->reading = true;
	nng_iov iov = {.iov_buf = hc->body, .iov_len = len};
	nng_aio_set_iov(hc->rd, 1, &iov);
	nng_aio_set_timeout(hc->rd, HTTP_BODY_MS);
	nng_aio_defer(aio, hcall_cancel, h);
	nng_http_conn *conn = nng_aio_get_input(aio, 2);
	http_continue(req, conn);
	/* the handler's hold on hc passes to http_body_done */
	nng_http_conn_read_all(conn, hc->rd);
}

/* http_metrics serves GET /metrics: once wnd has tokens, to a token that may
 * read every project (the metrics name them all). */
static void http_metrics(wn_http *h, nng_aio *aio, nng_http_req *req)
{
	const char *cors;
	if (wn_http_read_only(h, aio, req, &cors))
		return;
	const char *tok;
	int rv = wn_http_token(req, &tok) ? wn_engine_identify_all(h->e, tok) : WN_EAUTH;
	if (rv == WN_EPERM) {
		wn_http_finish(aio,
		               wn_http_error_res(WHATSNEXT__V1__CODE__PERMISSION_DENIED,
		                                 "the metrics cover every project: they want a "
		                                 "token of role reader, user or admin that is "
		                                 "not limited to some projects",
		                                 cors));
		return;
	}
	if (rv != WN_OK) {
		wn_http_finish(aio, wn_http_error_res(WHATSNEXT__V1__CODE__UNAUTHENTICATED,
		                                      "a valid token is required "
		                                      "(Authorization: Bearer TOKEN)",
		                                      cors));
		return;
	}
	wn_strbuf sb = WN_STRBUF_INIT;
	wn_metrics_render(h->e, &sb);
	wn_http_finish(aio, wn_http_res(200, "text/plain; version=0.0.4; charset=utf-8",
	                                sb.s ? sb.s : "", sb.len, cors));
	wn_strbuf_free(&sb);
}

void wn_http_quiesce(wn_http *h)
{
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	while (h->active > 0)
		pthread_cond_wait(&h->idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void wn_http_settle(wn_http *h)
{
	int64_t until = wn_mono_ms() + HTTP_SETTLE_MS;
	pthread_mutex_lock(&h->mu);
	while (wn_map_count(h->calls) > 0 && wn_mono_ms() < until) {
		pthread_mutex_unlock(&h->mu);
		nng_msleep(10);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	nng_msleep(HTTP_SETTLE_WRITE_MS);
}

static void http_serve(wn_http *h, nng_aio *aio, nng_http_req *req);

void wn_http_handle(nng_aio *aio)
{
	wn_http_thread_ready();
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	wn_http *h = nng_http_handler_get_data(hd);
	pthread_mutex_lock(&h->mu);
	bool closing = h->closing;
	if (!closing)
		h->active++;
	pthread_mutex_unlock(&h->mu);
	if (closing) {
		wn_http_finish_close(aio, wn_http_error_res(WHATSNEXT__V1__CODE__UNAVAILABLE,
		                                            "wnd is shutting down", NULL));
		return;
	}
	http_serve(h, aio, req);
	pthread_mutex_lock(&h->mu);
	if (--h->active == 0 && h->closing)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->mu);
}

/* http_serve answers req by its path. */
static void http_serve(wn_http *h, nng_aio *aio, nng_http_req *req)
{
	const char *uri = nng_http_req_get_uri(req);
	const char *cl = nng_http_req_get_header(req, "Content-Length");
	if (!wn_http_host_ok(h, req)) {
		wn_http_finish_close(
		    aio, wn_http_error_res(WHATSNEXT__V1__CODE__PERMISSION_DENIED,
		                           "the Host header names another machine than "
		                           "this loopback listener: list its origin in "
		                           "http_cors_origins to serve it (docs/http.md)",
		                           NULL));
		return;
	}
	bool body = nng_http_req_get_header(req, "Transfer-Encoding") != NULL ||
	            (cl != NULL && strcmp(cl, "0") != 0);
	if (body && (strncmp(uri, "/v1/", 4) != 0 ||
	             strcmp(nng_http_req_get_method(req), "OPTIONS") == 0)) {
		/* only a call's body is read: another would be taken for the
		 * next request */
		wn_http_finish_close(aio, wn_http_error_res(WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                                            "a body is sent only with POST /v1/...",
		                                            NULL));
		return;
	}
	char path[HTTP_PATH_MAX];
	size_t n = strcspn(uri, "?#");
	if (n >= sizeof(path)) {
		nng_http_res *res =
		    wn_http_error_res(WHATSNEXT__V1__CODE__NOT_FOUND, "no such page", NULL);
		if (body) /* left unread: it would be taken for the next request */
			wn_http_finish_close(aio, res);
		else
			wn_http_finish(aio, res);
		return;
	}
	memcpy(path, uri, n);
	path[n] = '\0';
	if (strncmp(path, "/v1/", 4) == 0)
		http_call(h, aio, req, path + 4);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(h, aio, req);
	else if (strncmp(path, "/artifacts/", 11) == 0)
		wn_http_artifact(h, aio, req, path + 11);
	else
		wn_http_file(h, aio, req, path);
}
