/* engine: state, start-up load, request dispatch, request-id dedupe, the
 * lease and parked-fetch sweeper, and the queue core shared by the methods. */
#include "engine_int.h"

#include "dedupe.h"
#include "envelope.h"
#include "log.h"
#include "methods.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_DEDUPE_AGE_MS (10LL * 60 * 1000)
#define ENGINE_DEDUPE_BYTES  (32u << 20)

struct method {
	const char *path;
	const ProtobufCMessageDescriptor *in, *out;
	wn_method_fn fn;
	int flags; /* WN_METHOD_* */
};

/* The method table: one row per RPC of the method list (methods.def), with
 * the handler that serves it. */
static const struct method methods[] = {
#define WN_METHOD(ID, Service, Method, svc_c, req_c, rep_c, handler, fl)                           \
	{WN_PATH_##ID, &whatsnext__v1__##req_c##__descriptor,                                      \
	 &whatsnext__v1__##rep_c##__descriptor, handler, fl},
#include "methods.def"
#undef WN_METHOD
};

static wn_map *method_map;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void engine_methods_init(void)
{
	method_map = wn_map_new_str();
	for (size_t i = 0; i < WN_ARRAY_LEN(methods); i++)
		wn_map_put_str(method_map, methods[i].path, (void *)&methods[i]);
}

/* ------------------------------------------------------------------ helpers */

int call_fail(struct call *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->msg = wn_arena_strdup(c->arena, buf);
	return err;
}

static int64_t engine_real_clock(void *arg)
{
	(void)arg;
	return wn_now_ms();
}

static int64_t engine_real_mono(void *arg)
{
	(void)arg;
	return wn_mono_ms();
}

int64_t engine_now(wn_engine *e)
{
	return e->cfg.clock(e->cfg.clock_arg);
}

int64_t engine_mono(wn_engine *e)
{
	return e->cfg.mono(e->cfg.clock_arg);
}

int64_t engine_mono_to_wall(wn_engine *e, int64_t mono)
{
	/* the clocks' distance is kept until the wall clock steps (over a
	 * second), so the same deadline reads the same on every call */
	int64_t off = engine_now(e) - engine_mono(e);
	if (off - e->wall_off > 1000 || e->wall_off - off > 1000)
		e->wall_off = off;
	return mono + e->wall_off;
}

/* ------------------------------------------------------------ records of the call */

int engine_write(struct call *c, wn_batch *b)
{
	int rv = wn_records_write(&c->rec, b, &c->seq);
	if (rv != WN_OK)
		return call_fail(c, WN_EUNAVAIL, "cannot store the change: %s", wn_strerror(rv));
	return WN_OK;
}

Job *job_find(struct call *c, uint64_t id)
{
	return wn_records_job_find(&c->rec, id);
}

Job *job_brief(struct call *c, const Job *j)
{
	if (j == NULL)
		return NULL;
	Job *b = wn_arena_alloc(c->arena, sizeof(*b));
	whatsnext__v1__job__init(b);
	b->id = j->id;
	b->status = j->status;
	b->attempt = j->attempt;
	return b;
}

void job_adopt(struct call *c, Job *j)
{
	wn_records_job_adopt(&c->rec, j);
}

int job_load(struct call *c, uint64_t id, Job **out)
{
	Job *j = job_find(c, id);
	if (j == NULL)
		return call_fail(c, WN_ENOTFOUND, "job %llu not found", (unsigned long long)id);
	*out = j;
	return WN_OK;
}

void job_put(struct call *c, wn_batch *b, const Job *j)
{
	wn_records_job_put(&c->rec, b, j);
}

void job_del(struct call *c, wn_batch *b, uint64_t id)
{
	wn_records_job_del(&c->rec, b, id);
}

struct project *job_project(struct call *c, const Job *j)
{
	return wn_map_get_str(c->e->projects, j->project);
}

const char *job_status_name(int status)
{
	return wn_status_name(status);
}

/* ----------------------------------------------------------- projects, tasks */

struct project *engine_project(struct call *c, const char *name, int *err)
{
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
		                 name ? name : "", why);
		return NULL;
	}
	struct project *p = wn_map_get_str(c->e->projects, name);
	if (p == NULL)
		*err = call_fail(c, WN_ENOTFOUND, "project \"%s\" not found", name ? name : "");
	return p;
}

struct task *engine_task(struct call *c, struct project *p, const char *name, int *err)
{
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s", name ? name : "",
		                 why);
		return NULL;
	}
	struct task *t = wn_map_get_str(p->tasks, name);
	if (t == NULL)
		*err = call_fail(c, WN_ENOTFOUND, "task \"%s\" not found in project \"%s\"", name,
		                 p->name);
	return t;
}

struct project *engine_project_new(wn_engine *e, const char *name, bool archived)
{
	struct project *p = wn_xcalloc(1, sizeof(*p));
	p->name = wn_xstrdup(name);
	p->archived = archived;
	p->tasks = wn_map_new_str();
	p->queues = wn_map_new_str();
	p->waiting = wn_map_new_u64();
	wn_map_put_str(e->projects, name, p);
	return p;
}

struct task *engine_task_new(struct project *p, const Task *t)
{
	struct task *k = wn_xcalloc(1, sizeof(*k));
	k->name = wn_xstrdup(t->name);
	k->max_attempts = t->max_attempts;
	k->retries = t->retries;
	need_set(&k->need, t->resources);
	k->proj = p;
	wn_map_put_str(p->tasks, t->name, k);
	return k;
}

void engine_task_drop(struct project *p, struct task *t)
{
	for (size_t i = 0; i < p->nq;) {
		struct queue *q = p->qv[i];
		if (q->task != t) {
			i++;
			continue;
		}
		char key[WN_NAME_MAX + 32];
		snprintf(key, sizeof(key), "%s#%llu", t->name,
		         (unsigned long long)(q->sweep ? q->sweep->id : 0));
		wn_map_del_str(p->queues, key);
		wn_index_free(q->ready);
		free(q);
		p->qv[i] = p->qv[--p->nq];
	}
	wn_map_del_str(p->tasks, t->name);
	need_release(&t->need);
	free(t->name);
	free(t);
}

struct sweep *engine_sweep_new(wn_engine *e, struct project *p, const Whatsnext__V1__Sweep *s)
{
	struct sweep *w = wn_xcalloc(1, sizeof(*w));
	w->id = s->id;
	w->proj = p;
	w->name = wn_xstrdup(s->name);
	w->max_running = s->max_running;
	w->total = s->total;
	w->created_ms = s->created_ms;
	wn_map_put_u64(e->sweeps, w->id, w);
	return w;
}

struct sweep *engine_sweep(wn_engine *e, uint64_t id)
{
	return wn_map_get_u64(e->sweeps, id);
}

/* project_free frees an in-memory project and what hangs off it. */
static void project_free(wn_engine *e, struct project *p)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(p->tasks, &pos, &uk, &sk, &val)) {
		/* engine_task_drop changes the map: restart the walk */
		engine_task_drop(p, val);
		pos = 0;
	}
	pos = 0;
	while (wn_map_next(p->waiting, &pos, &uk, &sk, &val)) {
		wn_map_del_u64(e->waiting, uk);
		free(val);
	}
	pos = 0;
	while (wn_map_next(e->sweeps, &pos, &uk, &sk, &val)) {
		struct sweep *w = val;
		if (w->proj == p) {
			wn_map_del_u64(e->sweeps, w->id);
			free(w->name);
			free(w);
			pos = 0;
		}
	}
	wn_map_free(p->tasks);
	wn_map_free(p->queues);
	wn_map_free(p->waiting);
	free(p->qv);
	free(p->name);
	free(p);
}

uint8_t *engine_pack_response(uint64_t id, int code, const char *message,
                              const ProtobufCMessage *body, size_t *len)
{
	Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
	resp.id = id;
	resp.code = (Whatsnext__V1__Code)code;
	resp.message = (char *)(message ? message : "");
	uint8_t *bbuf = NULL;
	if (body != NULL) {
		size_t bl = 0;
		bbuf = wn_message_pack(body, &bl);
		resp.body.data = bbuf;
		resp.body.len = bl;
	}
	uint8_t *out = wn_message_pack(&resp.base, len);
	free(bbuf);
	return out;
}

void call_park(struct call *c, struct parked *pk)
{
	pk->slot = c->slot;
	pk->conn = c->e->cfg.slot_conn ? c->e->cfg.slot_conn(c->slot) : 0;
	pk->reqid = c->reqid;
	c->parked = true;
}

void call_answer(struct call *c, const struct parked *pk, const ProtobufCMessage *reply)
{
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = pk->slot;
	d->buf = engine_pack_response(pk->reqid, 0, NULL, reply, &d->len);
	d->next = c->deliveries;
	c->deliveries = d;
	dedupe_finish(c->e->dd, pk->reqid, d->buf, d->len);
}

void call_drop(struct call *c, const struct parked *pk)
{
	dedupe_abort(c->e->dd, pk->reqid);
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = pk->slot; /* no buf: free the slot without a reply */
	d->next = c->deliveries;
	c->deliveries = d;
}

void engine_project_drop(struct call *c, struct project *p)
{
	wn_map_del_str(c->e->projects, p->name);
	project_free(c->e, p);
}

/* ------------------------------------------------------------------ start-up */

static void *engine_sweeper(void *arg);
static int64_t engine_periodic(wn_engine *e);

int wn_engine_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg)
{
	pthread_once(&method_once, engine_methods_init);
	wn_engine *e = wn_xcalloc(1, sizeof(*e));
	e->cfg = *cfg;
	if (e->cfg.clock == NULL)
		e->cfg.clock = engine_real_clock;
	if (e->cfg.mono == NULL)
		e->cfg.mono = engine_real_mono;
	e->wall_off = engine_now(e) - engine_mono(e);
	if (e->cfg.lease_ms <= 0)
		e->cfg.lease_ms = 60000;
	if (e->cfg.worker_timeout_ms <= 0)
		e->cfg.worker_timeout_ms = 30000;
	if (e->cfg.max_msg == 0)
		e->cfg.max_msg = WN_MSG_MAX;
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->closed_mu, NULL);
	pthread_mutex_init(&e->periodic_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wall-clock steps do not move it */
	pthread_cond_init(&e->sweep_cv, &ca);
	pthread_condattr_destroy(&ca);
	e->projects = wn_map_new_str();
	e->leases = wn_leases_new();
	e->cancelled = wn_map_new_u64();
	e->sweeps = wn_map_new_u64();
	e->rdeps = wn_map_new_u64();
	e->workers = wn_map_new_str();
	e->waiting = wn_map_new_u64();
	e->dd = dedupe_new(ENGINE_DEDUPE_AGE_MS, ENGINE_DEDUPE_BYTES);
	replay_init(e);
	int rv = wn_store_open(cfg->data_dir, cfg->durability, cfg->relaxed_ms, &e->store, errmsg);
	if (rv == WN_OK) {
		e->rec = wn_records_new(e->store);
		rv = engine_load(e, errmsg);
	}
	if (rv == WN_OK)
		replay_forget(e);
	if (rv == WN_OK && !cfg->no_sweeper) {
		if (pthread_create(&e->sweeper, NULL, engine_sweeper, e) != 0) {
			*errmsg = wn_xasprintf("cannot start the lease sweeper");
			rv = WN_EINTERNAL;
		} else {
			e->have_sweeper = true;
		}
	}
	if (rv != WN_OK) {
		wn_engine_close(e);
		return rv;
	}
	*out = e;
	return WN_OK;
}

void wn_engine_close(wn_engine *e)
{
	if (e == NULL)
		return;
	wn_engine_release_parked(e);
	if (e->have_sweeper) {
		pthread_mutex_lock(&e->mu);
		e->stopping = true;
		pthread_cond_signal(&e->sweep_cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->sweeper, NULL);
	}
	if (e->store != NULL && e->workers != NULL) {
		pthread_mutex_lock(&e->mu);
		fleet_flush_seen(e);
		pthread_mutex_unlock(&e->mu);
	}
	wn_store_close(e->store);
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->projects, &pos, &uk, &sk, &val)) {
		wn_map_del_str(e->projects, ((struct project *)val)->name);
		project_free(e, val);
		pos = 0;
	}
	pos = 0;
	while (wn_map_next(e->rdeps, &pos, &uk, &sk, &val))
		free(val);
	wn_map_free(e->rdeps);
	wn_map_free(e->waiting);
	wn_map_free(e->sweeps);
	fleet_free(e);
	wn_map_free(e->projects);
	wn_leases_free(e->leases);
	wn_map_free(e->cancelled);
	wn_records_free(e->rec);
	dedupe_free(e->dd);
	replay_free(e);
	pthread_cond_destroy(&e->sweep_cv);
	pthread_mutex_destroy(&e->closed_mu);
	pthread_mutex_destroy(&e->periodic_mu);
	pthread_mutex_destroy(&e->mu);
	free(e->closed);
	free(e);
}

/* ------------------------------------------------------------------ dispatch */

static void call_init(struct call *c, wn_engine *e, void *slot)
{
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->arena = wn_arena_new();
	c->pa = wn_arena_allocator(c->arena);
	c->slot = slot;
	wn_records_call_init(&c->rec, e->rec, c->pa);
}

/* call_wait waits until the call's writes are durable. */
static int call_wait(struct call *c)
{
	return wn_store_wait(c->e->store, c->seq);
}

/* call_finish sends the replies to parked requests the call answered (after
 * call_wait) and frees the call. */
static void call_finish(struct call *c)
{
	struct delivery *d = c->deliveries;
	while (d != NULL) {
		struct delivery *next = d->next;
		if (c->e->cfg.deliver != NULL)
			c->e->cfg.deliver(c->e->cfg.deliver_arg, d->slot, d->buf, d->len, c->seq);
		else
			free(d->buf);
		free(d);
		d = next;
	}
	c->deliveries = NULL;
	wn_records_call_release(&c->rec);
	wn_arena_free(c->arena);
}

void wn_engine_oversize(wn_engine *e, size_t len, uint8_t **out, size_t *outlen)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "request of %zu bytes exceeds the limit of %zu bytes", len,
	         e->cfg.max_msg);
	*out = engine_pack_response(0, WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, msg, NULL, outlen);
}

void wn_engine_serve(wn_engine *e, const uint8_t *req, size_t len, void *slot, wn_reply *reply)
{
	uint8_t **out = &reply->buf;
	size_t *outlen = &reply->len;
	*out = NULL;
	*outlen = 0;
	reply->seq = 0;
	if (len > e->cfg.max_msg) {
		wn_engine_oversize(e, len, out, outlen);
		return;
	}
	Whatsnext__V1__Request *rq = whatsnext__v1__request__unpack(NULL, len, req);
	if (rq == NULL) {
		*out = engine_pack_response(0, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                            "malformed request envelope", NULL, outlen);
		return;
	}
	uint64_t id = rq->id;
	if (rq->base.n_unknown_fields > 0) {
		*out = engine_pack_response(id, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                            "request envelope has unknown fields", NULL, outlen);
		goto done;
	}
	const struct method *m = wn_map_get_str(method_map, rq->method ? rq->method : "");
	if (m == NULL) {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method \"%.128s\"",
		         rq->method ? rq->method : "");
		*out =
		    engine_pack_response(id, WHATSNEXT__V1__CODE__UNIMPLEMENTED, msg, NULL, outlen);
		goto done;
	}
	if (e->cfg.token != NULL && e->cfg.token[0] != '\0' &&
	    (rq->token == NULL || strcmp(rq->token, e->cfg.token) != 0)) {
		*out = engine_pack_response(
		    id, WHATSNEXT__V1__CODE__UNAUTHENTICATED,
		    rq->token && rq->token[0] ? "wrong token" : "this server requires a token",
		    NULL, outlen);
		goto done;
	}
	bool dedupe = (m->flags & WN_METHOD_MUTATES) && id != 0;
	if (dedupe) {
		int d = dedupe_begin(e->dd, id, m->path, engine_mono(e), out, outlen);
		if (d == DEDUPE_DONE) {
			/* the first answer may still wait for its sync */
			reply->seq = wn_store_written(e->store);
			goto done;
		}
		if (d == DEDUPE_MISMATCH) {
			*out = engine_pack_response(
			    id, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
			    "request id was already used for another method", NULL, outlen);
			goto done;
		}
	}

	if (e->cfg.tick_per_request)
		engine_periodic(e);
	struct call c;
	call_init(&c, e, slot);
	c.reqid = id;
	c.method = m->path;
	int rv;
	ProtobufCMessage *result = NULL;
	ProtobufCMessage *in = protobuf_c_message_unpack(m->in, c.pa, rq->body.len, rq->body.data);
	if (in == NULL) {
		rv = call_fail(&c, WN_EINVAL, "body is not a valid %s", m->in->name);
	} else if (in->n_unknown_fields > 0) {
		rv = call_fail(&c, WN_EINVAL, "body is not a %s (it has unknown fields)",
		               m->in->name);
	} else {
		bool lock = !(m->flags & WN_METHOD_UNLOCKED);
		if (lock)
			pthread_mutex_lock(&e->mu);
		/* while the store cannot write, changes are refused before they are
		 * made; reads go on if they see every change made (only a call under
		 * the lock may get the store to recover) */
		char why[512];
		bool down =
		    lock ? wn_store_recover(e->store) != WN_OK : wn_store_failed(e->store, NULL, 0);
		if (down && ((m->flags & WN_METHOD_MUTATES) || !wn_store_readable(e->store)) &&
		    wn_store_failed(e->store, why, sizeof(why)))
			rv = call_fail(&c, WN_EUNAVAIL, "%s; retry later", why);
		else
			rv = m->fn(&c, in, &result);
		if (lock)
			pthread_mutex_unlock(&e->mu);
	}
	if (rv == WN_OK && c.parked) {
		/* the reply comes later through deliver; the dedupe entry stays open */
		call_finish(&c);
		goto done;
	}
	reply->seq = c.seq;
	int code = wn_err_to_code(rv);
	if (rv == WN_EPROTO)
		code = WHATSNEXT__V1__CODE__INVALID_ARGUMENT;
	*out = engine_pack_response(id, code,
	                            rv == WN_OK ? NULL
	                            : c.msg     ? c.msg
	                                        : wn_strerror(rv),
	                            rv == WN_OK ? result : NULL, outlen);
	if (dedupe) {
		if (rv == WN_OK || c.seq != 0)
			dedupe_finish(e->dd, id, *out, *outlen);
		else
			dedupe_abort(e->dd, id);
	}
	call_finish(&c);
done:
	whatsnext__v1__request__free_unpacked(rq, NULL);
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
	*buf = engine_pack_response(id, WHATSNEXT__V1__CODE__UNAVAILABLE, msg, NULL, len);
}

/* ------------------------------------------------------------------ sweeper */

void wn_engine_conn_closed(wn_engine *e, uint32_t conn)
{
	pthread_mutex_lock(&e->closed_mu);
	if (e->nclosed == e->capclosed) {
		e->capclosed = e->capclosed ? e->capclosed * 2 : 16;
		e->closed = wn_xrealloc(e->closed, e->capclosed * sizeof(*e->closed));
	}
	e->closed[e->nclosed++] = conn;
	pthread_mutex_unlock(&e->closed_mu);
	pthread_mutex_lock(&e->mu);
	pthread_cond_signal(&e->sweep_cv);
	pthread_mutex_unlock(&e->mu);
}

/* engine_drop_closed drops the parked requests of closed connections: their
 * requester is gone, and a job handed to it would be stuck until its lease
 * ran out. A resend of the same request (nng's, after reconnecting) then runs
 * afresh. */
static void engine_drop_closed(struct call *c)
{
	wn_engine *e = c->e;
	pthread_mutex_lock(&e->closed_mu);
	uint32_t *closed = e->closed;
	size_t n = e->nclosed;
	e->closed = NULL;
	e->nclosed = e->capclosed = 0;
	pthread_mutex_unlock(&e->closed_mu);
	queue_waiters_drop(c, closed, n);
	free(closed);
}

int64_t wn_engine_tick(wn_engine *e)
{
	struct call c;
	call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	engine_drop_closed(&c);
	int64_t now = engine_mono(e);
	uint64_t job;
	uint32_t attempt;
	while (wn_leases_pop_expired(e->leases, now, &job, &attempt))
		queue_expire(&c, job, attempt);
	int64_t lost_at = INT64_MAX;
	size_t pos = 0;
	struct wrk *w;
	while ((w = fleet_lose_next(&c, now, &pos, &lost_at)) != NULL)
		queue_release_worker(&c, w);
	fleet_save_seen_due(&c);
	int64_t next = wn_leases_next_due(e->leases);
	if (lost_at < next)
		next = lost_at;
	next = queue_waiters_due(&c, now, next);
	pthread_mutex_unlock(&e->mu);
	call_wait(&c);
	call_finish(&c);
	return next;
}

/* expired_ok tells whether finished job j may be deleted: nothing waits on it. */
static bool expired_ok(struct call *c, const Job *j)
{
	struct redges *r = deps_dependents(c->e, j->id);
	for (uint32_t k = 0; r != NULL && k < r->n; k++) {
		Job *y = job_find(c, r->v[k].job);
		if (y != NULL && (y->status == PENDING || y->status == BLOCKED))
			return false;
	}
	return true;
}

#define EXPIRE_CHUNK 4096

uint64_t wn_engine_expire_finished(wn_engine *e)
{
	if (e->cfg.retention_ms <= 0)
		return 0;
	uint64_t removed = 0, after = 0;
	bool more = true;
	while (more) {
		/* a chunk of keys per lock hold, so requests keep flowing */
		struct call c;
		call_init(&c, e, NULL);
		pthread_mutex_lock(&e->mu);
		int64_t cutoff = engine_now(e) - e->cfg.retention_ms;
		wn_batch *b = wn_batch_new();
		Job **v = wn_arena_alloc(c.arena, EXPIRE_CHUNK * sizeof(*v));
		Job **gone = wn_arena_alloc(c.arena, EXPIRE_CHUNK * sizeof(*gone));
		size_t ngone = 0, ngone_all = 0;
		struct project *gp = NULL;
		size_t n = wn_records_job_chunk(&c.rec, &after, EXPIRE_CHUNK, v, &more);
		for (size_t i = 0; i < n; i++) {
			Job *j = v[i];
			if (j->finished_ms == 0 || j->finished_ms > cutoff ||
			    (j->status != COMPLETED && j->status != FAILED &&
			     j->status != CANCELLED))
				continue;
			job_adopt(&c, j);
			struct project *p = job_project(&c, j);
			if (p == NULL || !expired_ok(&c, j))
				continue;
			if (gp != NULL && p != gp) {
				job_remove_many(&c, b, gp, gone, ngone, false);
				ngone_all += ngone;
				ngone = 0;
			}
			gp = p;
			gone[ngone++] = j;
		}
		if (ngone > 0)
			job_remove_many(&c, b, gp, gone, ngone, false);
		ngone_all += ngone;
		removed += ngone_all;
		if (wn_batch_count(b) > 0)
			engine_write(&c, b);
		wn_batch_free(b);
		pthread_mutex_unlock(&e->mu);
		call_wait(&c);
		call_finish(&c);
	}
	if (removed > 0) {
		wn_records_compact_jobs(e->rec);
		wn_info("deleted %llu finished job(s) past the retention time",
		        (unsigned long long)removed);
	}
	return removed;
}

/* engine_periodic does the periodic work that is due: leases, parked
 * requests and worker timeouts (the tick), forgetting old request ids, and
 * the retention pass. Returns the monotonic time it is next due. */
static int64_t engine_periodic(wn_engine *e)
{
	/* the periodic work writes: while the store cannot, it waits, and the
	 * store is tried again each second (it recovers when the fault clears) */
	pthread_mutex_lock(&e->mu);
	bool ok = wn_store_recover(e->store) == WN_OK;
	pthread_mutex_unlock(&e->mu);
	if (!ok)
		return engine_mono(e) + 1000;
	pthread_mutex_lock(&e->periodic_mu);
	int64_t retain_every = e->cfg.retention_ms / 10;
	if (retain_every > 60000)
		retain_every = 60000;
	if (retain_every < 1000)
		retain_every = 1000;
	int64_t next = wn_engine_tick(e);
	int64_t now = engine_mono(e);
	if (e->forget_at == 0)
		e->forget_at = now + 3600 * 1000;
	if (e->expire_at == 0)
		e->expire_at = now + retain_every;
	if (now >= e->forget_at) {
		replay_forget(e);
		e->forget_at = now + 3600 * 1000;
	}
	if (e->cfg.retention_ms > 0 && now >= e->expire_at) {
		wn_engine_expire_finished(e);
		e->expire_at = engine_mono(e) + retain_every;
	}
	if (next > e->forget_at)
		next = e->forget_at;
	if (e->cfg.retention_ms > 0 && next > e->expire_at)
		next = e->expire_at;
	pthread_mutex_unlock(&e->periodic_mu);
	return next;
}

static void *engine_sweeper(void *arg)
{
	wn_engine *e = arg;
	wn_store_thread_init();
	for (;;) {
		int64_t next = engine_periodic(e);
		int64_t now = engine_mono(e);
		pthread_mutex_lock(&e->mu);
		if (e->stopping) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		e->sweep_at = next;
		if (next > now) {
			/* a deadline set while the lock was dropped is caught within a second */
			int64_t wait = next - now < 1000 ? next - now : 1000;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&e->sweep_cv, &e->mu, &ts);
		}
		e->sweep_at = 0;
		bool stop = e->stopping;
		pthread_mutex_unlock(&e->mu);
		if (stop)
			break;
	}
	return NULL;
}

void wn_engine_release_parked(wn_engine *e)
{
	struct call c;
	call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	e->no_park = true;
	queue_waiters_release(&c);
	pthread_mutex_unlock(&e->mu);
	call_wait(&c);
	call_finish(&c);
	admin_drain(e);
}
