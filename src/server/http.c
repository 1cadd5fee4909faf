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

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "listen.h"
#include "log.h"
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

/* ------------------------------------------------------------ replies */

static const char *http_reason(uint16_t status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 499:
		return "Client Closed Request";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

/* http_status is the HTTP status of gRPC code code, as gRPC-HTTP gateways
 * map them. */
static uint16_t http_status(int code)
{
	static const uint16_t map[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
	                               400, 409, 400, 501, 500, 503, 500, 401};
	return code >= 0 && (size_t)code < sizeof(map) / sizeof(map[0]) ? map[code] : 500;
}

/* http_res makes a reply of status with body (len bytes, of type; NULL for
 * none) and the CORS header for origin (NULL: none). */
static nng_http_res *http_res(uint16_t status, const char *type, const void *body, size_t len,
                              const char *origin)
{
	nng_http_res *res;
	if (nng_http_res_alloc(&res) != 0)
		return NULL;
	nng_http_res_set_status(res, status);
	nng_http_res_set_reason(res, http_reason(status));
	if (type != NULL)
		nng_http_res_set_header(res, "Content-Type", type);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
	if (origin != NULL) {
		nng_http_res_set_header(res, "Access-Control-Allow-Origin", origin);
		nng_http_res_set_header(res, "Vary", "Origin");
	}
	if (body != NULL && nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		return NULL;
	}
	return res;
}

/* http_error_res is the JSON error reply {"code", "message"} of gRPC code code. */
static nng_http_res *http_error_res(int code, const char *msg, const char *origin)
{
	json_t *j = json_pack("{s:i,s:s,s:[]}", "code", code, "message", msg, "details");
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	nng_http_res *res =
	    http_res(http_status(code), "application/json", text != NULL ? text : "{}",
	             text != NULL ? strlen(text) : 2, origin);
	free(text);
	return res;
}

/* http_finish completes aio with res (NULL: the connection is dropped). */
static void http_finish(nng_aio *aio, nng_http_res *res)
{
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, res != NULL ? 0 : NNG_ENOMEM);
}

/* http_finish_close completes aio with res and closes the connection after
 * it: a body left unread must not be taken for the next request. */
static void http_finish_close(nng_aio *aio, nng_http_res *res)
{
	if (res != NULL)
		nng_http_res_set_header(res, "Connection", "close");
	http_finish(aio, res);
}

/* http_thread_ready readies the calling thread (one of nng's) for the store. */
static void http_thread_ready(void)
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
		http_finish(aio, res);
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
		return http_error_res(WHATSNEXT__V1__CODE__UNAVAILABLE, "wnd is shutting down",
		                      hc->origin);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, buf);
	if (r == NULL)
		return http_error_res(WHATSNEXT__V1__CODE__INTERNAL, "cannot read the reply",
		                      hc->origin);
	nng_http_res *res;
	if (r->code != WHATSNEXT__V1__CODE__OK) {
		res = http_error_res(r->code, r->message, hc->origin);
	} else {
		char *json = NULL, *err = NULL;
		size_t jlen = 0;
		if (wn_pbjson_from_pb(hc->m->reply, r->body.data, r->body.len, &json, &jlen,
		                      &err) == WN_OK) {
			res = http_res(200, "application/json", json, jlen, hc->origin);
		} else {
			res = http_error_res(WHATSNEXT__V1__CODE__INTERNAL,
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
	if (buf == NULL) { /* the requester is gone */
		hcall_unref(hc);
	} else {
		hc->buf = buf;
		hc->len = len;
		hc->seq = seq;
		http_enqueue(h, hc); /* the engine's hold passes to the queue */
	}
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

/* ------------------------------------------------------------ requests */

/* http_origin_ok decides a request's Origin (NULL: none, as from curl): its
 * own origin (the dashboard) or one of the settings' is allowed; *cors gets
 * the origin to name in Access-Control-Allow-Origin (NULL for none). */
static bool http_origin_ok(const wn_http *h, nng_http_req *req, const char **cors)
{
	const char *origin = nng_http_req_get_header(req, "Origin");
	*cors = NULL;
	if (origin == NULL)
		return true;
	const char *host = nng_http_req_get_header(req, "Host");
	const char *scheme = h->https ? "https://" : "http://";
	size_t sl = strlen(scheme);
	if (host != NULL && strncasecmp(origin, scheme, sl) == 0 &&
	    strcasecmp(origin + sl, host) == 0)
		return true;
	for (size_t i = 0; i < h->norigins; i++) {
		if (strcmp(h->origins[i], "*") == 0 || strcmp(h->origins[i], origin) == 0) {
			*cors = origin;
			return true;
		}
	}
	return false;
}

/* http_host_loopback reports whether host (of a Host header, its port cut
 * off) names this machine: localhost, 127.x.x.x or ::1. */
static bool http_host_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* http_host_of copies the host of authority a ("HOST", "HOST:PORT",
 * "[V6]:PORT") into out (n bytes); false when it does not fit. */
static bool http_host_of(const char *a, char *out, size_t n)
{
	size_t len;
	if (a[0] == '[') {
		a++;
		len = strcspn(a, "]");
	} else {
		len = strcspn(a, ":/");
	}
	if (len == 0 || len >= n)
		return false;
	memcpy(out, a, len);
	out[len] = '\0';
	return true;
}

/* http_host_ok decides a request's Host header on a loopback listener: a
 * browser tricked by DNS rebinding sends the attacker's name, so only this
 * machine's names are taken, and the hosts of http_cors_origins (a reverse
 * proxy's name). No Host (HTTP/1.0) is no browser's. */
static bool http_host_ok(const wn_http *h, nng_http_req *req)
{
	const char *hdr = nng_http_req_get_header(req, "Host");
	char host[256], other[256];
	if (!h->loopback || hdr == NULL)
		return true;
	if (!http_host_of(hdr, host, sizeof(host)))
		return false;
	if (http_host_loopback(host))
		return true;
	for (size_t i = 0; i < h->norigins; i++) {
		const char *o = h->origins[i];
		const char *sep = strstr(o, "://");
		if (strcmp(o, "*") == 0)
			return true;
		if (sep != NULL && http_host_of(sep + 3, other, sizeof(other)) &&
		    strcasecmp(other, host) == 0)
			return true;
	}
	return false;
}

/* http_token finds the token of "Authorization: Bearer T" into *tok ("" for
 * none); false when the header is there but not a bearer token. */
static bool http_token(nng_http_req *req, const char **tok)
{
	const char *a = nng_http_req_get_header(req, "Authorization");
	*tok = "";
	if (a == NULL)
		return true;
	if (strncasecmp(a, "Bearer ", 7) != 0)
		return false;
	a += 7;
	while (*a == ' ')
		a++;
	*tok = a;
	return true;
}

/* http_request_id reads the request id of the X-Request-Id header (a
 * decimal number from 1 to 2^64-1, so a client's retry is answered from the
 * first execution) into *id, or makes a random one; false when the header
 * is there but not such a number. */
static bool http_request_id(nng_http_req *req, uint64_t *id)
{
	const char *v = nng_http_req_get_header(req, "X-Request-Id");
	*id = wn_random_u64() | 1;
	if (v == NULL)
		return true;
	uint64_t n = 0;
	size_t i = 0;
	for (; v[i] >= '0' && v[i] <= '9' && i < 20; i++) {
		unsigned d = (unsigned)(v[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (i == 0 || v[i] != '\0' || n == 0)
		return false;
	*id = n;
	return true;
}

static void http_preflight(wn_http *h, nng_aio *aio, nng_http_req *req)
{
	const char *cors;
	if (nng_http_req_get_header(req, "Origin") == NULL || !http_origin_ok(h, req, &cors)) {
		http_finish(aio, http_error_res(WHATSNEXT__V1__CODE__PERMISSION_DENIED,
		                                "origin not allowed (http_cors_origins)", NULL));
		return;
	}
	nng_http_res *res = http_res(204, NULL, NULL, 0, cors);
	if (res != NULL) {
		nng_http_res_set_header(res, "Access-Control-Allow-Methods", "POST, OPTIONS");
		nng_http_res_set_header(res, "Access-Control-Allow-Headers",
		                        "Authorization, Content-Type, X-Request-Id");
		nng_http_res_set_header(res, "Access-Control-Max-Age", "600");
	}
	http_finish(aio, res);
}

/* http_check_call answers a call that cannot go to the engine (a wrong
 * verb, origin, media type or token header): true when it did. */
static bool http_check_call(wn_http *h, nng_aio *aio, nng_http_req *req, const wn_method *m,
                            size_t len, const char **cors, const char **tok, uint64_t *id)
{
	const char *verb = nng_http_req_get_method(req);
	const char *why = NULL;
	int code = WHATSNEXT__V1__CODE__INVALID_ARGUMENT;
	uint16_t status = 0;
	const char *type = nng_http_req_get_header(req, "Content-Type");
	if (!http_origin_ok(h, req, cors)) {
		code = WHATSNEXT__V1__CODE__PERMISSION_DENIED;
		why = "origin not allowed (http_cors_origins)";
	} else if (m == NULL) {
		code = WHATSNEXT__V1__CODE__NOT_FOUND;
		why = "no such method: POST /v1/<Service>/<Method>, as in docs/protocol.md";
	} else if (strcmp(verb, "POST") != 0) {
		status = 405;
		why = "a method is called with POST";
	} else if (len > 0 && (type == NULL || strncasecmp(type, "application/json", 16) != 0 ||
	                       (type[16] != '\0' && type[16] != ';' && type[16] != ' '))) {
		status = 415;
		why = "the body must be Content-Type: application/json";
	} else if (!http_token(req, tok)) {
		code = WHATSNEXT__V1__CODE__UNAUTHENTICATED;
		why = "the Authorization header must be \"Bearer TOKEN\"";
	} else if (!http_request_id(req, id)) {
		why = "X-Request-Id must be a decimal number from 1 to 18446744073709551615";
	} else if (wn_engine_identify(h->e, *tok) != WN_OK) {
		/* before the body is read: a caller without a token makes wnd
		 * hold nothing */
		code = WHATSNEXT__V1__CODE__UNAUTHENTICATED;
		why = (*tok)[0] == '\0' ? "this server requires a token" /* as dispatch says */
		                        : "unknown or revoked token";
	}
	if (why == NULL)
		return false;
	nng_http_res *res = http_error_res(code, why, *cors);
	if (res != NULL && status != 0) {
		nng_http_res_set_status(res, status);
		nng_http_res_set_reason(res, http_reason(status));
		if (status == 405)
			nng_http_res_set_header(res, "Allow", "POST, OPTIONS");
	}
	if (len > 0)
		http_finish_close(aio, res);
	else
		http_finish(aio, res);
	return true;
}

_Static_assert(HTTP_BODY_MAX == 22435156, "http_body_len's message names HTTP_BODY_MAX");

/* http_body_len reads the length of req's body into *len: false, answered,
 * when it cannot be read (a chunked body, a bad or too long length). */
static bool http_body_len(nng_aio *aio, nng_http_req *req, size_t *len)
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
	} else if (cl != NULL && wn_parse_i64(cl, 0, INT64_MAX, &n) != 0) {
		why = "Content-Length must be one decimal number";
	} else if ((uint64_t)n > HTTP_BODY_MAX) {
		status = 413;
		why = "the body is too large (at most 22435156 bytes)";
	}
	if (why == NULL) {
		*len = (size_t)n;
		return true;
	}
	nng_http_res *res = http_error_res(status == 413 ? WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED
	                                                 : WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	                                   why, NULL);
	if (res != NULL) {
		nng_http_res_set_status(res, status);
		nng_http_res_set_reason(res, http_reason(status));
	}
	http_finish_close(aio, res);
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
	pthread_mutex_lock(&h->mu);
	if (hc->body != NULL) { /* the room it took is given back */
		h->body_bytes -= hc->bodylen;
		free(hc->body);
		hc->body = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (rv != WN_OK) {
		hcall_answer(hc, http_error_res(WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                                err ? err : "bad JSON", hc->origin));
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
	http_thread_ready();
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
			http_finish(aio, NULL);
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
		http_preflight(h, aio, req);
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
	if (!http_body_len(aio, req, &len) ||
	    http_check_call(h, aio, req, m, len, &cors, &tok, &id))
		return;
	if (len > 0) {
		pthread_mutex_lock(&h->mu);
		bool room = h->body_bytes + len <= HTTP_BODIES_MAX;
		if (room)
			h->body_bytes += len; /* given back with hc->body */
		pthread_mutex_unlock(&h->mu);
		if (!room) {
			nng_http_res *res =
			    http_error_res(WHATSNEXT__V1__CODE__UNAVAILABLE,
			                   "too many request bodies arriving at once; retry", cors);
			if (res != NULL)
				nng_http_res_set_header(res, "Retry-After", "1");
			http_finish_close(aio, res);
			return;
		}
	}
	struct hcall *hc = hcall_new(h, aio, m, cors);
	hc->tok = wn_xstrdup(tok);
	hc->reqid = id;
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

/* http_metrics serves GET /metrics: any valid token once wnd has tokens. */
static void http_metrics(wn_http *h, nng_aio *aio, nng_http_req *req)
{
	const char *tok;
	if (!http_token(req, &tok) || wn_engine_identify(h->e, tok) != WN_OK) {
		nng_http_res *res =
		    http_error_res(WHATSNEXT__V1__CODE__UNAUTHENTICATED,
		                   "a valid token is required (Authorization: Bearer "
		                   "TOKEN)",
		                   NULL);
		if (res != NULL)
			nng_http_res_set_header(res, "WWW-Authenticate", "Bearer");
		http_finish(aio, res);
		return;
	}
	wn_strbuf sb = WN_STRBUF_INIT;
	wn_metrics_render(h->e, &sb);
	http_finish(aio, http_res(200, "text/plain; version=0.0.4; charset=utf-8", sb.s ? sb.s : "",
	                          sb.len, NULL));
	wn_strbuf_free(&sb);
}

/* http_file serves a dashboard file. */
static void http_file(nng_aio *aio, nng_http_req *req, const char *path)
{
	const char *verb = nng_http_req_get_method(req);
	const wn_webasset *a = wn_webasset_find(path);
	if (strcmp(verb, "GET") != 0 && strcmp(verb, "HEAD") != 0) {
		nng_http_res *res =
		    http_error_res(WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                   "only GET is served here; methods are POST /v1/...", NULL);
		if (res != NULL) {
			nng_http_res_set_status(res, 405);
			nng_http_res_set_reason(res, http_reason(405));
			nng_http_res_set_header(res, "Allow", "GET, HEAD");
		}
		http_finish(aio, res);
		return;
	}
	if (a == NULL) {
		http_finish(aio,
		            http_error_res(WHATSNEXT__V1__CODE__NOT_FOUND, "no such page", NULL));
		return;
	}
	const char *inm = nng_http_req_get_header(req, "If-None-Match");
	bool same = inm != NULL && strcmp(inm, a->etag) == 0;
	nng_http_res *res = same ? http_res(304, NULL, NULL, 0, NULL)
	                         : http_res(200, a->type, a->data, a->len, NULL);
	if (res != NULL) {
		nng_http_res_set_header(res, "Cache-Control", "no-cache");
		nng_http_res_set_header(res, "ETag", a->etag);
		nng_http_res_set_header(
		    res, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' data:; "
		    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
		nng_http_res_set_header(res, "X-Frame-Options", "DENY");
		nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
	}
	http_finish(aio, res);
}

void wn_http_quiesce(wn_http *h)
{
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	while (h->active > 0)
		pthread_cond_wait(&h->idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void http_serve(wn_http *h, nng_aio *aio, nng_http_req *req);

void wn_http_handle(nng_aio *aio)
{
	http_thread_ready();
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	wn_http *h = nng_http_handler_get_data(hd);
	pthread_mutex_lock(&h->mu);
	bool closing = h->closing;
	if (!closing)
		h->active++;
	pthread_mutex_unlock(&h->mu);
	if (closing) {
		http_finish_close(aio, http_error_res(WHATSNEXT__V1__CODE__UNAVAILABLE,
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
	if (!http_host_ok(h, req)) {
		http_finish_close(aio,
		                  http_error_res(WHATSNEXT__V1__CODE__PERMISSION_DENIED,
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
		http_finish_close(aio,
		                  http_error_res(WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                                 "a body is sent only with POST /v1/...", NULL));
		return;
	}
	char path[256];
	size_t n = strcspn(uri, "?#");
	if (n >= sizeof(path)) {
		http_finish(aio,
		            http_error_res(WHATSNEXT__V1__CODE__NOT_FOUND, "no such page", NULL));
		return;
	}
	memcpy(path, uri, n);
	path[n] = '\0';
	if (strncmp(path, "/v1/", 4) == 0)
		http_call(h, aio, req, path + 4);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(h, aio, req);
	else
		http_file(aio, req, path);
}
