/* dispatch: a request from its bytes to the bytes of its reply
 * (dispatch.h). */
#include "dispatch.h"

#include "audit.h"
#include "auth.h"
#include "auth_scope.h"
#include "call.h"
#include "clock.h"
#include "dedupe.h"
#include "engine_state.h"
#include "envelope.h"
#include "histo.h"
#include "methods.h"
#include "metrics.h"
#include "pbcheck.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct method {
	const char *path;
	const ProtobufCMessageDescriptor *in, *out;
	wn_method_fn fn;
	int flags;             /* WN_METHOD_* */
	const wn_method *desc; /* its row of the method list: roles, scope */
};

/* The method table: one row per RPC of the method list (methods.def), with
 * the handler that serves it. */
static const struct method methods[] = {
#define WN_METHOD(ID, Service, Method, svc_c, req_c, rep_c, handler, fl, roles, scope)             \
	{WN_PATH_##ID,                                                                             \
	 &whatsnext__v1__##req_c##__descriptor,                                                    \
	 &whatsnext__v1__##rep_c##__descriptor,                                                    \
	 handler,                                                                                  \
	 fl,                                                                                       \
	 &wn_methods[WN_MID_##ID]},
#include "methods.def"
#undef WN_METHOD
};

static wn_map *method_map;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void methods_init(void)
{
	method_map = wn_map_new_str();
	for (size_t i = 0; i < WN_ARRAY_LEN(methods); i++)
		wn_map_put_str(method_map, methods[i].path, (void *)&methods[i]);
}

void wn_dispatch_init(void)
{
	pthread_once(&method_once, methods_init);
}

void wn_engine_oversize(wn_engine *e, size_t len, uint8_t **out, size_t *outlen)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "request of %zu bytes exceeds the limit of %zu bytes", len,
	         e->cfg.max_msg);
	*out = wn_engine_pack_response(0, wn_err_to_code(WN_ETOOBIG), msg, NULL, outlen);
}

/* serve_busy answers a copy of request id while the first is executing: it
 * is not waited for, so that no event loop ever blocks on another request. */
static void serve_busy(uint64_t id, wn_reply *reply)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "request id %llu is still being executed; retry later",
	         (unsigned long long)id);
	reply->buf = wn_engine_pack_response(id, wn_err_to_code(WN_EBUSY), msg, NULL, &reply->len);
}

/* serve_auth identifies the caller by the token of the request (req, len
 * bytes, unpacked as rq) into *who; false when it is refused, answered in
 * *reply. Nothing is answered before: an unknown method is UNAUTHENTICATED
 * too without a valid token. */
static bool serve_auth(wn_engine *e, const uint8_t *req, size_t len,
                       const Whatsnext__V1__Request *rq, wn_reply *reply,
                       const struct wn_token **who)
{
	const uint8_t *tok = NULL;
	size_t toklen = 0;
	wn_auth_raw_token(req, len, &tok, &toklen);
	const char *why = NULL;
	if (wn_auth_identify(e, tok, toklen, who, &why) != WN_OK) {
		reply->buf = wn_engine_pack_response(rq->id, wn_err_to_code(WN_EAUTH), why, NULL,
		                                     &reply->len);
		return false;
	}
	reply->authed = true;
	reply->who = *who;
	return true;
}

/* serve_audit appends the audit log's line for a call of m by who that got
 * code, if m is one it records. */
static void serve_audit(wn_engine *e, const struct method *m, const struct wn_token *who,
                        const ProtobufCMessage *in, int code, const char *msg)
{
	bool admin_only = m->desc->roles == WN_ROLES_ADMIN;
	bool admin_change = who != NULL && who->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN &&
	                    (m->flags & WN_METHOD_MUTATES);
	if (!admin_only && !admin_change && !(m->flags & WN_METHOD_AUDIT))
		return;
	wn_strbuf target = WN_STRBUF_INIT;
	wn_auth_target(m->desc, in, &target);
	char method[128];
	snprintf(method, sizeof(method), "%s/%s", m->desc->service, m->desc->name);
	wn_audit_entry ent = {.time_ms = wn_engine_now(e),
	                      .token = who ? who->name : NULL,
	                      .role = who ? wn_role_name(who->role) : "",
	                      .method = method,
	                      .target = wn_strbuf_str(&target),
	                      .code = code,
	                      .message = msg};
	wn_audit_write(e->auth.audit, &ent);
	wn_strbuf_free(&target);
}

/* serve_audit_denied appends the audit log's line for a call of m that the
 * role of who may not make, naming what its body (of rq) names when it is a
 * valid one. */
static void serve_audit_denied(wn_engine *e, const struct method *m, const struct wn_token *who,
                               const Whatsnext__V1__Request *rq, const char *msg)
{
	ProtobufCMessage *in = NULL;
	char *bad = NULL;
	if (wn_pb_check(m->in, rq->body.data, rq->body.len, &bad) == WN_OK)
		in = protobuf_c_message_unpack(m->in, NULL, rq->body.len, rq->body.data);
	free(bad);
	serve_audit(e, m, who, in, wn_err_to_code(WN_EPERM), msg);
	if (in != NULL)
		protobuf_c_message_free_unpacked(in, NULL);
}

/* serve_caller names who for the request-id cache: the first 8 bytes of its
 * secret's hash (SHA-256), not its name: a token made later under the name
 * of a revoked one is another caller. 0 for none (a server without tokens). */
static uint64_t serve_caller(const struct wn_token *who)
{
	if (who == NULL)
		return 0;
	uint64_t h;
	memcpy(&h, who->hash, sizeof(h));
	return h | 1;
}

/* serve_admit finds rq's method and lets the request in (the role of who,
 * its request id if the method mutates: *dedupe DEDUPE_NEW, or
 * DEDUPE_PARKED when a parked copy of it waits); NULL when it is answered
 * already, in *reply. */
static const struct method *serve_admit(wn_engine *e, const Whatsnext__V1__Request *rq,
                                        const struct wn_token *who, wn_reply *reply, int *dedupe)
{
	uint64_t id = rq->id;
	*dedupe = -1;
	if (rq->base.n_unknown_fields > 0) {
		reply->buf = wn_engine_pack_response(id, wn_err_to_code(WN_EINVAL),
		                                     "request envelope has unknown fields", NULL,
		                                     &reply->len);
		return NULL;
	}
	const struct method *m = wn_map_get_str(method_map, rq->method ? rq->method : "");
	if (m == NULL) {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method \"%.128s\"",
		         rq->method ? rq->method : "");
		reply->buf =
		    wn_engine_pack_response(id, wn_err_to_code(WN_EUNIMPL), msg, NULL, &reply->len);
		return NULL;
	}
	if (!wn_auth_allows(who, m->desc->roles)) {
		char msg[512];
		wn_auth_denied(who, m->desc, msg, sizeof(msg));
		serve_audit_denied(e, m, who, rq, msg);
		reply->buf =
		    wn_engine_pack_response(id, wn_err_to_code(WN_EPERM), msg, NULL, &reply->len);
		return NULL;
	}
	if (!(m->flags & WN_METHOD_MUTATES) || id == 0)
		return m;
	int d = wn_dedupe_begin(e->dd, id, m->path, serve_caller(who), wn_engine_mono(e),
	                        &reply->buf, &reply->len);
	if (d == DEDUPE_DONE) {
		/* the first answer may still wait for its sync */
		reply->seq = wn_store_written(e->store);
		return NULL;
	}
	if (d == DEDUPE_RUNNING) {
		serve_busy(id, reply);
		return NULL;
	}
	if (d == DEDUPE_MISMATCH || d == DEDUPE_CALLER) {
		reply->buf = wn_engine_pack_response(
		    id, wn_err_to_code(WN_EINVAL),
		    d == DEDUPE_MISMATCH ? "request id was already used for another method"
		                         : "request id was already used by another caller (use a "
		                           "random 64-bit request id)",
		    NULL, &reply->len);
		return NULL;
	}
	*dedupe = d;
	return m;
}

/* serve_adopt lets a copy of a parked request (a resend after a reconnect)
 * take its place, so that its answer goes where its client now waits; false
 * when it is parked no more (answered or dropped meanwhile: admit it again). */
static bool serve_adopt(wn_engine *e, const Whatsnext__V1__Request *rq, void *slot, wn_reply *reply)
{
	struct call c;
	wn_call_init(&c, e, slot);
	c.reqid = rq->id;
	pthread_mutex_lock(&e->mu);
	int rv = wn_queue_adopt(&c, rq->id);
	pthread_mutex_unlock(&e->mu);
	if (rv != WN_OK && rv != WN_ENOTFOUND)
		reply->buf =
		    wn_engine_pack_response(rq->id, wn_err_to_code(rv), c.msg, NULL, &reply->len);
	wn_call_finish(&c);
	return rv != WN_ENOTFOUND;
}

/* serve_run unpacks the body of rq (into *inp) and runs method m on it in
 * call c for who, under the engine lock unless m takes what it needs
 * itself. */
static int serve_run(struct call *c, const struct method *m, const struct wn_token *who,
                     const Whatsnext__V1__Request *rq, ProtobufCMessage **inp,
                     ProtobufCMessage **result)
{
	wn_engine *e = c->e;
	/* strings are checked in the raw bytes: unpacked, a NUL would cut them */
	char *bad = NULL;
	if (wn_pb_check(m->in, rq->body.data, rq->body.len, &bad) != WN_OK) {
		int rv = wn_call_fail(c, WN_EINVAL, "%s", bad);
		free(bad);
		return rv;
	}
	ProtobufCMessage *in = protobuf_c_message_unpack(m->in, c->pa, rq->body.len, rq->body.data);
	if (in == NULL)
		return wn_call_fail(c, WN_EINVAL, "body is not a valid %s", m->in->name);
	if (in->n_unknown_fields > 0)
		return wn_call_fail(c, WN_EINVAL, "body is not a %s (it has unknown fields)",
		                    m->in->name);
	*inp = in;
	int rv;
	bool lock = !(m->flags & WN_METHOD_UNLOCKED);
	if (lock)
		pthread_mutex_lock(&e->mu);
	/* while the store cannot write, changes are refused before they are
	 * made; reads go on if they see every change made (only a call under
	 * the lock may get the store to recover). A heartbeat writes too (live
	 * output, results, external ids, when its worker was last seen). */
	char why[512];
	bool down = lock ? wn_store_recover(e->store) != WN_OK : wn_store_failed(e->store, NULL, 0);
	bool writes =
	    (m->flags & WN_METHOD_MUTATES) || m->desc == &wn_methods[WN_MID_QUEUE_HEARTBEAT];
	if ((rv = wn_auth_scope(c, who, m->desc, in)) != WN_OK)
		; /* refused before anything changed */
	else if (down && (writes || !wn_store_readable(e->store)) &&
	         wn_store_failed(e->store, why, sizeof(why)))
		rv = wn_call_fail(c, WN_EUNAVAIL, "%s; retry later", why);
	else
		rv = m->fn(c, in, result);
	if (lock)
		pthread_mutex_unlock(&e->mu);
	return rv;
}

/* serve_strings checks the strings of the envelope rq was unpacked from
 * (req, len bytes): false when they are not valid UTF-8 or hold a NUL byte,
 * the refusal in *reply (a method or token cut at a NUL is not the one sent). */
static bool serve_strings(const Whatsnext__V1__Request *rq, const uint8_t *req, size_t len,
                          wn_reply *reply)
{
	char *bad = NULL;
	if (wn_pb_check(&whatsnext__v1__request__descriptor, req, len, &bad) == WN_OK)
		return true;
	reply->buf =
	    wn_engine_pack_response(rq->id, wn_err_to_code(WN_EINVAL), bad, NULL, &reply->len);
	free(bad);
	return false;
}

/* serve answers the request in req into *reply and returns its method (NULL:
 * none found), for the metrics. */
static const wn_method *serve(wn_engine *e, const uint8_t *req, size_t len, void *slot,
                              wn_reply *reply)
{
	reply->buf = NULL;
	reply->len = 0;
	reply->seq = 0;
	reply->authed = false;
	reply->who = NULL;
	if (len > e->cfg.max_msg) {
		wn_engine_oversize(e, len, &reply->buf, &reply->len);
		return NULL;
	}
	Whatsnext__V1__Request *rq = whatsnext__v1__request__unpack(NULL, len, req);
	if (rq == NULL) {
		reply->buf = wn_engine_pack_response(
		    0, wn_err_to_code(WN_EINVAL), "malformed request envelope", NULL, &reply->len);
		return NULL;
	}
	const struct wn_token *who = NULL;
	int dedupe;
	const struct method *m = NULL;
	if (!serve_auth(e, req, len, rq, reply, &who) || !serve_strings(rq, req, len, reply))
		goto done;
	for (int tries = 0;; tries++) {
		m = serve_admit(e, rq, who, reply, &dedupe);
		if (m == NULL || dedupe != DEDUPE_PARKED)
			break;
		if (slot != NULL && serve_adopt(e, rq, slot, reply))
			goto done;
		if (slot == NULL || tries == 2) {
			serve_busy(rq->id, reply);
			goto done;
		}
	}
	if (m == NULL)
		goto done;
	if (e->cfg.tick_per_request)
		wn_sweeper_periodic(e);
	struct call c;
	wn_call_init(&c, e, slot);
	c.reqid = rq->id;
	c.method = m->path;
	c.caller = who != NULL ? who->name : NULL;
	c.caller_since = who != NULL ? who->created_ms : 0;
	c.caller_first_job = who != NULL ? who->first_job : 0;
	ProtobufCMessage *in = NULL, *result = NULL;
	int rv = serve_run(&c, m, who, rq, &in, &result);
	if (c.rec.read_err != 0 && c.seq == 0 && !(rv == WN_OK && c.parked) && rv != WN_EUNAVAIL)
		/* what it answered may stand on a record it could not read (a job
		 * that looked absent): it changed nothing, so it may be sent again */
		rv = wn_call_fail(&c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	serve_audit(e, m, who, in, wn_err_to_code(rv), rv == WN_OK ? NULL : c.msg);
	if (rv == WN_OK && c.parked) {
		/* the reply comes later through deliver; the dedupe entry stays open */
		wn_call_finish(&c);
		goto done;
	}
	reply->seq = c.seq;
	if (rv == WN_OK)
		reply->buf = wn_call_pack_reply(&c, rq->id, result, &reply->len);
	else
		reply->buf = wn_engine_pack_response(
		    rq->id, wn_err_to_code(rv), c.msg ? c.msg : wn_strerror(rv), NULL, &reply->len);
	if (dedupe == DEDUPE_NEW) {
		if (rv == WN_OK || c.seq != 0) /* a reply built again is built again next time */
			wn_dedupe_finish(e->dd, rq->id, c.replayed ? NULL : reply->buf,
			                 c.replayed ? 0 : reply->len);
		else
			wn_dedupe_abort(e->dd, rq->id);
	}
	wn_call_finish(&c);
done:;
	const wn_method *md = m != NULL ? m->desc : wn_method_find(rq->method ? rq->method : "");
	whatsnext__v1__request__free_unpacked(rq, NULL);
	return md;
}

void wn_engine_serve(wn_engine *e, const uint8_t *req, size_t len, void *slot, wn_reply *reply)
{
	int64_t t0 = wn_histo_clock();
	const wn_method *md = serve(e, req, len, slot, reply);
	wn_metrics_request(e->metrics, md, reply, t0);
}

void wn_engine_handle(wn_engine *e, const uint8_t *req, size_t len, void *slot, uint8_t **out,
                      size_t *outlen)
{
	wn_reply r;
	wn_engine_serve(e, req, len, slot, &r);
	if (r.buf != NULL && wn_store_wait(e->store, r.seq) != WN_OK)
		wn_engine_undurable(e, &r.buf, &r.len);
	*out = r.buf;
	*outlen = r.len;
}

int wn_engine_durable(wn_engine *e, uint64_t seq)
{
	return wn_store_durable(e->store, seq);
}

int wn_engine_wait_durable(wn_engine *e, uint64_t seq)
{
	return wn_store_wait(e->store, seq);
}

int wn_engine_may_call(wn_engine *e, const char *token, const struct wn_method *desc, bool audit,
                       char *why, size_t n)
{
	const struct wn_token *who;
	const char *w;
	int rv = wn_auth_identify(e, (const uint8_t *)token, strlen(token), &who, &w);
	if (rv != WN_OK || wn_auth_allows(who, desc->roles))
		return rv;
	wn_auth_denied(who, desc, why, n);
	if (!audit)
		return WN_EPERM;
	pthread_once(&method_once, methods_init);
	serve_audit(e, &methods[desc - wn_methods], who, NULL, wn_err_to_code(WN_EPERM), why);
	return WN_EPERM;
}

int wn_engine_identify_all(wn_engine *e, const char *token)
{
	const struct wn_token *who;
	const char *why;
	int rv = wn_auth_identify(e, (const uint8_t *)token, strlen(token), &who, &why);
	if (rv != WN_OK || who == NULL)
		return rv;
	return who->nprojects == 0 && who->role != WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER
	           ? WN_OK
	           : WN_EPERM;
}

int wn_engine_flush(wn_engine *e)
{
	return wn_store_flush(e->store);
}

void wn_engine_on_durable(wn_engine *e, void (*fn)(void *arg), void *arg)
{
	wn_store_on_durable(e->store, fn, arg);
}

void wn_engine_undurable(wn_engine *e, uint8_t **buf, size_t *len)
{
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, *len, *buf);
	uint64_t id = r != NULL ? r->id : 0;
	if (r != NULL)
		whatsnext__v1__response__free_unpacked(r, NULL);
	char why[512];
	if (!wn_store_failed(e->store, why, sizeof(why)))
		snprintf(why, sizeof(why),
		         "cannot write to the store: it failed before the change was "
		         "synced");
	char msg[640];
	snprintf(msg, sizeof(msg), "%s; the change is not acknowledged, retry later", why);
	free(*buf);
	*buf = wn_engine_pack_response(id, wn_err_to_code(WN_EUNAVAIL), msg, NULL, len);
}
