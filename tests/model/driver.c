/* driver: operations against wnd and the model side by side. */
#include "driver.h"

#include "compare.h"
#include "envelope.h"
#include "http.h"
#include "err.h"
#include "methods.h"
#include "pool.h"
#include "snapshot.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model names a method by its path without this prefix ("JobService/Submit"). */
#define DRIVER_PATH_PREFIX "/whatsnext.v1."

/* method_get returns the method the model calls name; the model only names
 * methods of the protocol's list. */
static const wn_method *method_get(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), DRIVER_PATH_PREFIX "%s", name);
	const wn_method *m = wn_method_find(path);
	if (m == NULL) {
		fprintf(stderr, "wnmodel: %s is not a method of the protocol\n", name);
		abort();
	}
	return m;
}

/* method_name returns the model's name of m. */
static const char *method_name(const wn_method *m)
{
	return m->path + strlen(DRIVER_PATH_PREFIX);
}

static int vfail(driver *d, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static int vfail(driver *d, const char *fmt, va_list ap)
{
	char buf[8192];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	free(d->err);
	d->err = wn_xstrdup(buf);
	return -1;
}

static int fail(driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(driver *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rv = vfail(d, fmt, ap);
	va_end(ap);
	return rv;
}

int driver_fail(driver *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rv = vfail(d, fmt, ap);
	va_end(ap);
	return rv;
}

/* ring_index: where the k-th newest remembered request is in d->ring. */
static size_t ring_index(const driver *d, int64_t k)
{
	size_t n = d->nring < DRIVER_RING ? d->nring : DRIVER_RING;
	return (d->nring - 1 - (size_t)k % n) % DRIVER_RING;
}

const sent *driver_sent(const driver *d, int64_t k)
{
	return &d->ring[ring_index(d, k)];
}

/* remember keeps a mutating request (or updates the entry of its id). */
static void remember(driver *d, const wn_method *mt, uint64_t reqid, const uint8_t *body,
                     size_t blen, int code, const ProtobufCMessage *out)
{
	sent *s = NULL;
	size_t n = d->nring < DRIVER_RING ? d->nring : DRIVER_RING;
	for (size_t i = 0; i < n && s == NULL; i++)
		if (d->ring[i].reqid == reqid)
			s = &d->ring[i];
	if (s == NULL) {
		s = &d->ring[d->nring++ % DRIVER_RING];
		free(s->body);
		s->body = wn_xmalloc(blen + 1);
		memcpy(s->body, body, blen);
		s->blen = blen;
	}
	free(s->reply);
	s->reply = NULL;
	s->rlen = 0;
	s->method = method_name(mt);
	s->reqid = reqid;
	s->other = d->no_http;
	free(s->secret);
	s->secret = d->no_http && d->as_secret != NULL ? wn_xstrdup(d->as_secret) : NULL;
	s->at = d->m->now;
	s->epoch = d->epoch;
	s->mine_at = 0;
	s->mine_epoch = 0;
	s->code = code;
	if (code == 0 && out != NULL)
		s->reply = wn_message_pack(out, &s->rlen);
}

/* catch_up brings the model to the time it is now, as wnd sees it. */
static void catch_up(driver *d)
{
	driver_catch_up(d);
}

void driver_catch_up(driver *d)
{
	int64_t now = wn_now_ms() + d->offset;
	if (now > d->m->now)
		model_advance(d->m, now);
}

/* send sends msg to method with request id reqid; *out gets the answer. */
static int send_call(driver *d, const wn_method *mt, const ProtobufCMessage *msg, uint64_t reqid,
                     ProtobufCMessage **out, char **errmsg)
{
	catch_up(d);
	int code = 0;
	bool via_http = false;
	/* a quarter of the calls with a request id go over HTTP, the same for a
	 * seed every time */
	if (d->srv.http != NULL && !d->no_http && reqid != 0 &&
	    (reqid * 0x9E3779B97F4A7C15ull) >> 62 == 0) {
		code = http_call(d->srv.http, d->srv.tokens ? SERVER_ADMIN_SECRET : NULL, mt, msg,
		                 reqid, out, errmsg, &via_http);
		d->http_calls += via_http;
	}
	if (!via_http)
		code = wn_rpc_call(d->srv.rpc, mt->path, msg, mt->reply, out, errmsg, reqid, 0);
	if (code >= 0)
		code == 0 ? d->replies_ok++ : d->replies_err++;
	d->last_code = code;
	return code;
}

/* exec sends one request and has the model judge its reply. */
static int exec_request(driver *d, const wn_method *mt, const ProtobufCMessage *msg, uint64_t reqid)
{
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = send_call(d, mt, msg, reqid, &out, &errmsg);
	/* a Get or List a fault made fail is asked again: the faults run out */
	for (int i = 0; i < DRIVER_FAULT_TRIES && driver_unavailable(d, code) &&
	                !(mt->flags & WN_METHOD_MUTATES);
	     i++) {
		free(errmsg);
		errmsg = NULL;
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		out = NULL;
		d->reasked++;
		code = send_call(d, mt, msg, reqid, &out, &errmsg);
	}
	int rv = 0;
	if (code < 0) {
		rv = fail(d, "%s: no reply: %s", method_name(mt),
		          errmsg ? errmsg : wn_strerror(code));
	} else if (driver_unavailable(d, code) && (mt->flags & WN_METHOD_MUTATES)) {
		/* a read of the store failed: nothing changed, the model neither */
		d->unavailable++;
		size_t blen = 0;
		uint8_t *body = wn_message_pack(msg, &blen);
		remember(d, mt, reqid, body, blen, code, out);
		free(body);
	} else {
		model_call c = {method_name(mt), reqid, msg, code, errmsg ? errmsg : "", out};
		if (model_exec(d->m, &c) != 0)
			rv = fail(d, "%s", d->m->err);
		if ((mt->flags & WN_METHOD_MUTATES)) {
			size_t blen = 0;
			uint8_t *body = wn_message_pack(msg, &blen);
			remember(d, mt, reqid, body, blen, code, out);
			free(body);
		}
	}
	if (d->verbose) {
		static char line[1200];
		snapshot_line(msg, line, sizeof(line));
		fprintf(stderr, "    %s %.1000s\n", method_name(mt), line);
		if (out != NULL)
			snapshot_line(out, line, sizeof(line));
		fprintf(stderr, "    -> %s%s%.1000s\n", code >= 0 ? wn_code_name(code) : "no reply",
		        code ? ": " : " ", code ? errmsg : line);
	}
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	free(errmsg);
	return rv;
}

enum { FATE_SKIP, FATE_FRESH, FATE_DEDUPE, FATE_SUBMIT, FATE_BATCH };

/* resend_fate says what sending s again does now: answered from memory
 * (the first answer; a Submit's job or a SubmitBatch's ids for a day),
 * executed afresh, or too close to a limit to tell (skipped). */
static int resend_fate(const driver *d, const sent *s)
{
	int64_t age = d->m->now - s->at;
	if (age > MODEL_DEDUPE_MS - MODEL_MARGIN_MS && age < MODEL_DEDUPE_MS + MODEL_MARGIN_MS)
		return FATE_SKIP;
	if (s->code == 0 && s->epoch == d->epoch && age < MODEL_DEDUPE_MS)
		return FATE_DEDUPE;
	bool submit = strcmp(s->method, "JobService/Submit") == 0;
	bool batch = strcmp(s->method, "JobService/SubmitBatch") == 0;
	if (s->code == 0 && (submit || batch))
		return age < 23LL * 3600 * 1000 ? (submit ? FATE_SUBMIT : FATE_BATCH) : FATE_SKIP;
	return FATE_FRESH;
}

/* resend_theirs: s, which another token sent, sent again by the admin while
 * its id is remembered: refused (another caller's reply is not the admin's),
 * unless it is a Submit or SubmitBatch whose (first) job is gone, which is no
 * one's. 1 when judged here, 0 to judge as the admin's own. */
static int resend_theirs(driver *d, const sent *s, const wn_method *mt, int fate, int *rv)
{
	if (!s->other || (fate != FATE_DEDUPE && fate != FATE_SUBMIT && fate != FATE_BATCH))
		return 0;
	uint64_t first = 0;
	if (fate == FATE_SUBMIT) {
		Whatsnext__V1__SubmitResponse *r =
		    whatsnext__v1__submit_response__unpack(NULL, s->rlen, s->reply);
		first = r && r->job ? r->job->id : 0;
		whatsnext__v1__submit_response__free_unpacked(r, NULL);
	} else if (fate == FATE_BATCH) {
		Whatsnext__V1__SubmitBatchResponse *r =
		    whatsnext__v1__submit_batch_response__unpack(NULL, s->rlen, s->reply);
		first = r && r->n_ids > 0 ? r->ids[0] : 0;
		whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	}
	model_job *j = first != 0 ? wn_map_get_u64(d->m->byid, first) : NULL;
	/* the token sent it again since this start: the id is its in memory */
	int64_t since = d->m->now - s->mine_at;
	bool mine = s->mine_epoch == d->epoch && s->mine_at > 0;
	if (mine && since > MODEL_DEDUPE_MS - MODEL_MARGIN_MS &&
	    since < MODEL_DEDUPE_MS + MODEL_MARGIN_MS)
		return 1; /* too close to the end of that memory to tell */
	mine = mine && since < MODEL_DEDUPE_MS;
	if (fate != FATE_DEDUPE && !mine && (j == NULL || !j->live))
		return 0;
	ProtobufCMessage *msg = protobuf_c_message_unpack(mt->request, NULL, s->blen, s->body);
	if (msg == NULL) /* the id's first request was of another method */
		return 0;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = send_call(d, mt, msg, s->reqid, &out, &errmsg);
	*rv = (code == 3 && errmsg != NULL && strstr(errmsg, "another caller") != NULL) ||
	              driver_unavailable(d, code)
	          ? 0
	          : fail(d,
	                 "resent %s of another token: expected INVALID_ARGUMENT (another caller), "
	                 "got %s: %s",
	                 s->method, code >= 0 ? wn_code_name(code) : "no reply",
	                 errmsg ? errmsg : "");
	free(errmsg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
	return 1;
}

static int resend_answer(driver *d, const sent *s, int fate);

/* resend_mine: s, which another token sent, sent again with that token
 * (still live, with the same secret): answered as a resend of the admin's
 * own, even after a step back of the wall clock dated its job before the
 * token. 1 when judged here, 0 when the token is gone or the request would
 * run afresh (as the admin's then). */
static int resend_mine(driver *d, sent *s, int fate, int *rv)
{
	if (!s->other || s->secret == NULL || fate == FATE_FRESH)
		return 0;
	bool live = false;
	for (int i = 0; i < MODEL_NTOKENS; i++)
		live |= d->tokens[i].live && d->tokens[i].secret != NULL &&
		        strcmp(d->tokens[i].secret, s->secret) == 0;
	wn_rpc *r = NULL;
	char *err = NULL;
	if (!live || wn_rpc_open(d->srv.url, s->secret, WN_RPC_DIRECT, &r, &err) != 0) {
		free(err);
		return 0;
	}
	wn_rpc *admin = d->srv.rpc;
	d->srv.rpc = r;
	d->no_http = true;
	*rv = resend_answer(d, s, fate);
	if (d->last_code == 0 && fate != FATE_DEDUPE) {
		s->mine_at = d->m->now;
		s->mine_epoch = d->epoch;
	}
	d->no_http = false;
	d->srv.rpc = admin;
	wn_rpc_close(r);
	return 1;
}

/* resend_same sends remembered request s again with its id: by the admin,
 * or, mine set, by the token that sent it. */
static int resend_same(driver *d, sent *s, bool mine)
{
	const wn_method *mt = method_get(s->method);
	int fate = resend_fate(d, s);
	if (fate == FATE_SKIP)
		return 0;
	int rv = 0;
	if ((mine && resend_mine(d, s, fate, &rv)) || resend_theirs(d, s, mt, fate, &rv))
		return rv;
	return resend_answer(d, s, fate);
}

/* resend_answer sends s again as it was and judges the answer by its fate. */
static int resend_answer(driver *d, const sent *s, int fate)
{
	const wn_method *mt = method_get(s->method);
	ProtobufCMessage *msg = protobuf_c_message_unpack(mt->request, NULL, s->blen, s->body);
	if (msg == NULL) /* the id's first request was of another method */
		return 0;
	bool remembered = fate == FATE_DEDUPE, batch = fate == FATE_BATCH;
	int rv;
	if (fate == FATE_FRESH) {
		rv = exec_request(d, mt, msg, s->reqid);
		protobuf_c_message_free_unpacked(msg, NULL);
		return rv;
	}
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = send_call(d, mt, msg, s->reqid, &out, &errmsg);
	size_t rlen = 0;
	uint8_t *reply = out ? wn_message_pack(out, &rlen) : NULL;
	if (driver_unavailable(d, code))
		rv = 0; /* its first answer could not be read: nothing changed */
	else if (code != 0)
		rv = fail(d, "resent %s: expected its first answer again, got %s: %s", s->method,
		          code > 0 ? wn_code_name(code) : "no reply", errmsg ? errmsg : "");
	else if (remembered || batch)
		rv = rlen == s->rlen && memcmp(reply, s->reply, rlen) == 0
		         ? 0
		         : fail(d, "resent %s: the answer differs from the first one", s->method);
	else {
		/* a Submit answered from its job as it is now */
		Whatsnext__V1__SubmitResponse *first =
		    whatsnext__v1__submit_response__unpack(NULL, s->rlen, s->reply);
		const Whatsnext__V1__SubmitRequest *rq = (const void *)msg;
		const Whatsnext__V1__Job *g = ((Whatsnext__V1__SubmitResponse *)out)->job;
		model_job *j = wn_map_get_u64(d->m->byid, first->job->id);
		rv = 0;
		if (g == NULL || j == NULL)
			rv = fail(d, "resent Submit: no job in the answer");
		else if (j->live && compare_job(d->m, j, g, rq->brief ? CJ_BRIEF : CJ_RECORD,
		                                "resent Submit") != 0)
			rv = fail(d, "%s", d->m->err);
		else if (!j->live && (g->id != j->id || (int)g->status != j->removed_status ||
		                      g->attempt != j->attempt || g->name[0] != '\0'))
			rv = fail(d,
			          "resent Submit of removed job %llu: answered %s attempt %u; "
			          "expected its last status %s attempt %u",
			          (unsigned long long)j->id, model_status_name((int)g->status),
			          g->attempt, model_status_name(j->removed_status), j->attempt);
		whatsnext__v1__submit_response__free_unpacked(first, NULL);
	}
	free(reply);
	free(errmsg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
	return rv;
}

/* resend_other sends another mutating method under a remembered id: it is
 * refused and changes nothing while the id is remembered. */
static int resend_other(driver *d, const sent *s)
{
	const char *name = strcmp(s->method, "WorkerService/Drain") == 0 ? "WorkerService/Leave"
	                                                                 : "WorkerService/Drain";
	Whatsnext__V1__WorkerNameRequest rq = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	rq.name = "w0";
	int fate = resend_fate(d, s);
	if (fate == FATE_SKIP)
		return 0;
	if (fate != FATE_DEDUPE) /* forgotten: an ordinary request */
		return exec_request(d, method_get(name), &rq.base, s->reqid);
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = send_call(d, method_get(name), &rq.base, s->reqid, &out, &errmsg);
	int rv = code == 3 || driver_unavailable(d, code)
	             ? 0
	             : fail(d,
	                    "%s under the request id of a %s: expected INVALID_ARGUMENT, "
	                    "got %s",
	                    name, s->method, code >= 0 ? wn_code_name(code) : "no reply");
	free(errmsg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

int driver_exec_as(driver *d, wn_rpc *r, const char *method, const ProtobufCMessage *msg,
                   uint64_t reqid, int want)
{
	const wn_method *mt = method_get(method);
	if (want == 0) {
		wn_rpc *admin = d->srv.rpc;
		d->srv.rpc = r;
		d->no_http = true;
		int rv = exec_request(d, mt, msg, reqid);
		d->no_http = false;
		d->srv.rpc = admin;
		return rv;
	}
	catch_up(d);
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = wn_rpc_call(r, mt->path, msg, mt->reply, &out, &errmsg, reqid, 0);
	d->last_code = code;
	int rv =
	    code == want || driver_unavailable(d, code)
	        ? 0
	        : fail(d, "%s with a token: expected %s, got %s: %s", method, wn_code_name(want),
	               code >= 0 ? wn_code_name(code) : "no reply", errmsg ? errmsg : "");
	if (d->verbose)
		fprintf(stderr, "    %s -> %s: %s\n", method,
		        code >= 0 ? wn_code_name(code) : "no reply", errmsg ? errmsg : "");
	free(errmsg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

/* check_all takes a snapshot and compares it with the model. */
static int check_all(driver *d, snapshot *s, const char *when)
{
	char *err = NULL;
	catch_up(d);
	if (snapshot_take(d->srv.rpc, s, d->srv.faults ? DRIVER_FAULT_TRIES : 0, &err) != 0) {
		fail(d, "%s: %s", when, err);
		free(err);
		return -1;
	}
	if (compare_snapshot(d->m, s) != 0)
		return fail(d, "%s: %s", when, d->m->err);
	if (tokens_compare(d) != 0)
		return fail(d, "%s: %s", when, d->err);
	return 0;
}

/* restart stops wnd (SIGTERM, or kill -9 after a snapshot, or kill -9 at
 * once: mode 0, 1, 2) and starts it again: the state must be what it was and
 * what the model holds. */
static int restart(driver *d, int mode, const op *o)
{
	snapshot before = {0}, after = {0};
	char *err = NULL;
	bool kill9 = mode != 0;
	const char *how = mode == 0 ? "SIGTERM" : mode == 1 ? "kill -9" : "kill -9 at once";
	int rv = mode == 2 ? 0 : check_all(d, &before, "before the restart");
	driver_longpoll_start(d);
	if (rv == 0 && server_stop(&d->srv, kill9, &err) != 0)
		rv = fail(d, "stopping wnd: %s", err);
	if (rv == 0 && server_check(&d->srv, &err) != 0)
		rv = fail(d, "after %s: %s", how, err);
	catch_up(d); /* the restart happens now, as far as the model goes */
	faults_set(d, o, o->a[6] != 0);
	if (rv == 0 && server_start(&d->srv, d->offset, &err) != 0)
		rv = fail(d, "restarting wnd after %s: %s", how, err);
	free(err);
	kill9 ? d->restarts_kill++ : d->restarts_term++;
	if (rv != 0) {
		snapshot_free(&before);
		return rv;
	}
	d->epoch++;
	model_restart(d->m, kill9);
	rv = driver_longpoll_finish(d, kill9);
	if (rv == 0)
		rv = check_all(d, &after,
		               mode == 2 ? "after a kill -9 at once" : "after the restart");
	if (rv == 0 && mode != 2) {
		char *diff = snapshot_diff(&before, &after, kill9);
		if (diff != NULL)
			rv = fail(d, "the state changed across a restart (%s):\n%s", how, diff);
		free(diff);
	}
	snapshot_free(&before);
	snapshot_free(&after);
	return rv == 0 && o->a[6] == 0 ? faults_start(d, o) : rv;
}

int driver_poke(driver *d)
{
	Whatsnext__V1__ListProjectsRequest rq = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int code = -1;
	for (int i = 0; i <= DRIVER_FAULT_TRIES && (i == 0 || driver_unavailable(d, code)); i++) {
		free(errmsg);
		errmsg = NULL;
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		out = NULL;
		code = wn_rpc_call(d->srv.rpc, WN_PATH_PROJECT_LIST, &rq.base,
		                   &whatsnext__v1__list_projects_response__descriptor, &out,
		                   &errmsg, 0, 0);
	}
	int rv = code == 0 ? 0 : fail(d, "advancing the clock: %s", errmsg ? errmsg : "no reply");
	free(errmsg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

void driver_clock_to(driver *d, int64_t t)
{
	d->offset += t - d->m->now;
	server_clock(&d->srv, d->offset);
	model_advance(d->m, t);
}

static int advance(driver *d, int64_t delta)
{
	if (!d->srv.test_clock)
		return 0; /* no test clock: time is the machine's */
	catch_up(d);
	size_t nlive = 0, nleased = 0;
	uint64_t *live = faults_live(d, false, &nlive);
	uint64_t *leased = faults_live(d, true, &nleased);
	driver_clock_to(d, model_safe_time(d->m, d->m->now + delta));
	/* any request runs the work that fell due */
	int rv = driver_poke(d);
	if (rv == 0 && live != NULL)
		rv = faults_retention(d, live, nlive);
	if (rv == 0 && leased != NULL)
		rv = faults_leases(d, leased, nleased);
	free(live);
	free(leased);
	return rv;
}

/* The wall clock's steps stay within this either way in all, so that a
 * Submit's request id, remembered for a day of wall-clock time, is still
 * remembered 23 hours of the test clock later (the driver resends only
 * those). */
#define WALL_MAX_MS (25 * 60000LL)

/* wall_step steps wnd's wall clock alone by delta ms (less where it would
 * pass WALL_MAX_MS), as a correction of the system's clock does: times shown
 * move, deadlines do not. */
static int wall_step(driver *d, int64_t delta)
{
	if (!d->srv.test_clock)
		return 0;
	catch_up(d);
	int64_t to = d->m->wall_off + delta;
	to = to > WALL_MAX_MS ? WALL_MAX_MS : to < -WALL_MAX_MS ? -WALL_MAX_MS : to;
	if (to == d->m->wall_off)
		return 0;
	model_wall_step(d->m, to - d->m->wall_off);
	d->srv.wall_off = to;
	server_clock(&d->srv, d->offset);
	return 0;
}

int driver_run(driver *d, op *o)
{
	o->code = -1;
	if (o->kind < 0 || o->kind >= OP_NKINDS)
		return fail(d, "unknown operation %d", o->kind);
	d->ops[o->kind]++;
	if (d->verbose) {
		char line[256];
		op_format(o, line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	int rv;
	switch (o->kind) {
	case OP_ADVANCE:
		return advance(d, o->a[0]);
	case OP_WALL_STEP:
		return wall_step(d, o->a[0]);
	case OP_RESTART:
		return restart(d, (int)(o->a[0] < 0 || o->a[0] > 2 ? 1 : o->a[0]), o);
	case OP_CHECK: {
		snapshot s;
		rv = check_all(d, &s, "check");
		snapshot_free(&s);
		return rv;
	}
	case OP_TOKEN_CREATE:
	case OP_TOKEN_REVOKE:
	case OP_AS:
		return tokens_run(d, o);
	case OP_RESEND:
		if (d->nring == 0)
			return 0;
		return o->a[1] ? resend_other(d, driver_sent(d, o->a[0]))
		               : resend_same(d, &d->ring[ring_index(d, o->a[0])], o->a[2] != 0);
	}
	const char *name = NULL;
	ProtobufCMessage *msg = NULL;
	catch_up(d); /* built as things are now: a lease's age, say */
	if (build_request(d, o, &name, &msg) != 0)
		return fail(d, "cannot build operation %s", op_name(o->kind));
	rv = exec_request(d, method_get(name), msg, o->reqid);
	o->code = d->last_code;
	pool_reset();
	return rv;
}

int driver_open(driver *d, const char *wnd, const char *dir, bool verbose, char **err)
{
	memset(d, 0, sizeof(*d));
	d->verbose = verbose;
	if (server_init(&d->srv, wnd, dir, err) != 0)
		return -1;
	d->m = model_new(wn_now_ms());
	return server_start(&d->srv, d->offset, err);
}

int driver_finish(driver *d)
{
	op o = {.kind = OP_RESTART};
	if (driver_run(d, &o) != 0)
		return -1;
	o.a[0] = 1;
	return driver_run(d, &o);
}

void driver_close(driver *d)
{
	char *err = NULL;
	server_stop(&d->srv, true, &err);
	free(err);
	server_release(&d->srv);
	model_free(d->m);
	for (size_t i = 0; i < DRIVER_RING; i++) {
		free(d->ring[i].secret);
		free(d->ring[i].body);
		free(d->ring[i].reply);
	}
	free(d->err);
	tokens_free(d);
	memset(d, 0, sizeof(*d));
}
