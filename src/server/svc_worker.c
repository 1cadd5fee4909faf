/* WorkerService: join, leave, get, list, drain, resume, remove. The registry of workers is
 * fleet.c; this file decodes, validates, calls it and encodes. */
#include "svc.h"

#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "envelope.h"
#include "fleet.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"
#include "replay.h"
#include "watch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_STATE_ACTIVE WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE
#define WORKER_STATE_GONE   WHATSNEXT__V1__WORKER_STATE__WORKER_GONE
#define WORKER_STATE_LOST   WHATSNEXT__V1__WORKER_STATE__WORKER_LOST

/* What a worker may announce: its record is kept, listed and stored. */

/* worker_reply fills a Worker message with w's record and what it holds. */
static Whatsnext__V1__Worker *worker_reply(struct call *c, const struct wrk *w)
{
	Whatsnext__V1__Worker *r = wn_arena_alloc(c->arena, sizeof(*r));
	*r = *w->rec;
	r->last_seen_ms = w->last_seen_ms;
	Whatsnext__V1__Resources *u = wn_arena_alloc(c->arena, sizeof(*u));
	whatsnext__v1__resources__init(u);
	u->cpu = w->used_cpu;
	u->gpu = w->used_gpu;
	u->memory_mb = w->used_mem;
	r->used = u;
	r->n_jobs = wn_map_count(w->jobs);
	r->jobs = wn_arena_alloc(c->arena, (r->n_jobs + 1) * sizeof(uint64_t));
	size_t pos = 0, i = 0;
	uint64_t id;
	const char *sk;
	void *val;
	while (wn_map_next(w->jobs, &pos, &id, &sk, &val))
		r->jobs[i++] = id;
	return r;
}

static struct wrk *worker_named(struct call *c, const char *name, int *rv)
{
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*rv = wn_call_fail(c, WN_EINVAL, "invalid worker name \"%.140s\": %s", name, why);
		return NULL;
	}
	struct wrk *w = wn_fleet_get(c->e, name);
	if (w == NULL)
		*rv = wn_call_fail(c, WN_ENOTFOUND, "worker \"%s\" not found", name);
	return w;
}

/* join_fence refuses a Join under a name that another instance holds while
 * it is ACTIVE (LOST and GONE ones give the name up). */
static int join_fence(struct call *c, const Whatsnext__V1__Worker *wk)
{
	const struct wrk *w = wn_fleet_get(c->e, wk->name);
	if (w == NULL || w->rec->state != WORKER_STATE_ACTIVE ||
	    strcmp(w->rec->instance, wk->instance) == 0)
		return WN_OK;
	int64_t ago = wn_engine_now(c->e) - w->last_seen_ms;
	return wn_call_fail(c, WN_EEXIST,
	                    "worker name %s is held by another running instance on host %s (last "
	                    "seen %lld s ago); it is free once that one leaves or is LOST (silent "
	                    "for %lld s)",
	                    wk->name, w->rec->host[0] ? w->rec->host : "(unknown)",
	                    (long long)(ago > 0 ? ago / 1000 : 0),
	                    (long long)(c->e->cfg.worker_timeout_ms / 1000));
}

/* join_check validates what a joining worker announces. */
static int join_check(struct call *c, const Whatsnext__V1__Worker *wk)
{
	const char *why = wn_name_check(wk->name);
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "invalid worker name \"%.140s\": %s", wk->name,
		                    why);
	if (strlen(wk->host) > 255 || strlen(wk->version) > WN_NAME_MAX)
		return wn_call_fail(c, WN_EINVAL, "host or version is too long");
	if (wk->capacity != NULL) {
		if (wk->capacity->n_gpus > WN_JOIN_GPUS_MAX)
			return wn_call_fail(c, WN_EINVAL, "at most %d gpus", WN_JOIN_GPUS_MAX);
		for (size_t i = 0; i < wk->capacity->n_gpus; i++)
			if (strlen(wk->capacity->gpus[i]) == 0 ||
			    strlen(wk->capacity->gpus[i]) > WN_NAME_MAX)
				return wn_call_fail(c, WN_EINVAL, "gpu %zu: invalid device id", i);
		if (wk->capacity->n_labels > WN_JOIN_LABELS_MAX)
			return wn_call_fail(c, WN_EINVAL, "at most %d labels", WN_JOIN_LABELS_MAX);
		for (size_t i = 0; i < wk->capacity->n_labels; i++) {
			const Whatsnext__V1__Capacity__LabelsEntry *l = wk->capacity->labels[i];
			char *bad = wn_fleet_label_check(l->key, l->value);
			if (bad != NULL) {
				int rv = wn_call_fail(c, WN_EINVAL, "%s", bad);
				free(bad);
				return rv;
			}
		}
	}
	if (wk->n_projects > WN_JOIN_PROJECTS_MAX)
		return wn_call_fail(c, WN_EINVAL, "at most %d projects", WN_JOIN_PROJECTS_MAX);
	for (size_t i = 0; i < wk->n_projects; i++)
		if ((why = wn_name_check(wk->projects[i])) != NULL)
			return wn_call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
			                    wk->projects[i], why);
	if (wk->n_tasks > WN_JOIN_TASKS_MAX)
		return wn_call_fail(c, WN_EINVAL, "at most %d tasks", WN_JOIN_TASKS_MAX);
	for (size_t i = 0; i < wk->n_tasks; i++)
		if ((why = wn_name_check(wk->tasks[i])) != NULL)
			return wn_call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s",
			                    wk->tasks[i], why);
	if (wk->instance[0] != '\0' && (why = wn_name_check(wk->instance)) != NULL)
		return wn_call_fail(c, WN_EINVAL, "invalid instance id \"%.140s\": %s",
		                    wk->instance, why);
	return WN_OK;
}

/* join_cancelled_held adds to r's held jobs those cancelled while worker
 * name ran them outside itself (an external id: a SLURM job) and whose run
 * has not reported since, however long ago: the worker joining under the
 * name stops them. */
static void join_cancelled_held(struct call *c, const char *name, Whatsnext__V1__JoinResponse *r)
{
	size_t pos = 0;
	uint64_t id;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->cancelled, &pos, &id, &sk, &val)) {
		uint32_t attempt = (uint32_t)((uintptr_t)val - 1);
		Job *j = wn_job_find(c, id);
		if (j != NULL && j->status == CANCELLED && j->attempt == attempt &&
		    j->external_id[0] != '\0' && strcmp(j->worker, name) == 0) {
			wn_job_fill_live(c, j, false); /* its dependencies' statuses */
			r->held[r->n_held++] = j;
		}
	}
}

/* join_readable reads the jobs a Join of worker name answers with, and the
 * jobs they depend on (whose statuses the answer shows), before it changes
 * anything: one whose record cannot be read fails it (UNAVAILABLE), else the
 * worker would not be told of a run it holds. */
static int join_readable(struct call *c, const char *name)
{
	const struct wrk *w = wn_fleet_get(c->e, name);
	wn_map *maps[2] = {w != NULL ? w->jobs : NULL, c->e->cancelled};
	for (size_t k = 0; k < 2; k++) {
		size_t pos = 0;
		uint64_t id;
		const char *sk;
		void *val;
		while (maps[k] != NULL && wn_map_next(maps[k], &pos, &id, &sk, &val)) {
			Job *j = NULL, *d = NULL;
			int rv = wn_job_get(c, id, &j);
			for (size_t i = 0; rv == WN_OK && i < j->n_deps; i++)
				if ((rv = wn_job_get(c, j->deps[i]->job_id, &d)) == WN_ENOTFOUND)
					rv = WN_OK;
			if (rv != WN_OK && rv != WN_ENOTFOUND)
				return wn_call_fail(
				    c, WN_EUNAVAIL,
				    "cannot read job %llu, which worker %.140s may hold "
				    "(wnd's log says why); nothing was changed; retry later",
				    (unsigned long long)id, name);
		}
	}
	return WN_OK;
}

int wn_svc_worker_join(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JoinRequest *rq = (const void *)in;
	const Whatsnext__V1__Worker *wk = rq->worker;
	if (wk == NULL)
		return wn_call_fail(c, WN_EINVAL, "worker is missing");
	int rv = join_check(c, wk);
	if (rv != WN_OK)
		return rv;
	rv = join_fence(c, wk);
	if (rv == WN_OK)
		rv = join_readable(c, wk->name);
	if (rv != WN_OK)
		return rv;
	wn_batch *b = wn_batch_new();
	struct wrk *w = wn_fleet_join(c, wk, b);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	Whatsnext__V1__JoinResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__join_response__init(r);
	r->worker = worker_reply(c, w);
	r->worker_timeout_ms = c->e->cfg.worker_timeout_ms;
	r->lease_ms = c->e->cfg.lease_ms;
	/* what the server thinks this name holds: the worker takes it back */
	size_t nc = wn_map_count(c->e->cancelled);
	r->held = wn_arena_alloc(c->arena, (r->worker->n_jobs + nc + 1) * sizeof(*r->held));
	for (size_t i = 0; i < r->worker->n_jobs; i++) {
		Job *j = wn_job_find(c, r->worker->jobs[i]);
		if (j != NULL && j->status == RUNNING) {
			wn_job_fill_live(c, j, false);
			r->held[r->n_held++] = j;
		}
	}
	join_cancelled_held(c, w->rec->name, r);
	*out = &r->base;
	return WN_OK;
}

/* worker_is matches the parked fetches of worker name. */
static bool worker_is(const void *name, const char *worker)
{
	return strcmp(name, worker) == 0;
}

int wn_svc_worker_leave(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct wrk *w = worker_named(c, rq->name, &rv);
	if (w == NULL)
		return rv;
	if (rq->instance[0] != '\0' && strcmp(rq->instance, w->rec->instance) != 0)
		return wn_call_fail(
		    c, WN_ESTATE,
		    "worker %s has joined again as another instance (on host %s); this "
		    "one no longer holds the name",
		    w->rec->name, w->rec->host[0] ? w->rec->host : "(unknown)");
	wn_batch *b = wn_batch_new();
	wn_fleet_leave(c, w, b);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	/* what it still waits for ends now: it is leaving */
	wn_queue_waiters_of(c, worker_is, w->rec->name);
	wn_watch_worker(c, w->rec->name);
	*out = &worker_reply(c, w)->base;
	return WN_OK;
}

int wn_svc_worker_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct wrk *w = worker_named(c, rq->name, &rv);
	if (w == NULL)
		return rv;
	*out = &worker_reply(c, w)->base;
	return WN_OK;
}

static int worker_cmp(const void *a, const void *b)
{
	const Whatsnext__V1__Worker *x = *(Whatsnext__V1__Worker *const *)a;
	const Whatsnext__V1__Worker *y = *(Whatsnext__V1__Worker *const *)b;
	return strcmp(x->name, y->name);
}

int wn_svc_worker_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListWorkersRequest *rq = (const void *)in;
	if ((int)rq->state < 0 || rq->state > WORKER_STATE_GONE)
		return wn_call_fail(c, WN_EINVAL, "unknown worker state %d", (int)rq->state);
	Whatsnext__V1__ListWorkersResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_workers_response__init(r);
	r->workers =
	    wn_arena_alloc(c->arena, (wn_map_count(c->e->fleet.workers) + 1) * sizeof(*r->workers));
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->fleet.workers, &pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		if (rq->state == 0 || w->rec->state == rq->state)
			r->workers[r->n_workers++] = worker_reply(c, w);
	}
	qsort(r->workers, r->n_workers, sizeof(*r->workers), worker_cmp);
	*out = &r->base;
	return WN_OK;
}

int wn_svc_worker_drain(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct wrk *w = worker_named(c, rq->name, &rv);
	if (w == NULL)
		return rv;
	wn_batch *b = wn_batch_new();
	wn_fleet_drain(w, b);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	wn_watch_worker(c, w->rec->name); /* its waiting heartbeat tells it */
	*out = &worker_reply(c, w)->base;
	return WN_OK;
}

int wn_svc_worker_resume(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct wrk *w = worker_named(c, rq->name, &rv);
	if (w == NULL)
		return rv;
	if (w->rec->state == WORKER_STATE_GONE)
		return wn_call_fail(c, WN_ESTATE,
		                    "worker %s is GONE: it left; started again, it joins and takes "
		                    "jobs",
		                    w->rec->name);
	if (w->rec->draining) {
		wn_batch *b = wn_batch_new();
		wn_fleet_resume(w, b);
		rv = wn_call_commit(c, b);
		if (rv != WN_OK)
			return rv;
		wn_watch_worker(c, w->rec->name);
	}
	*out = &worker_reply(c, w)->base;
	return WN_OK;
}

/* worker_copy is worker_reply with every string copied into c's arena, for a
 * reply that outlives w. */
static Whatsnext__V1__Worker *worker_copy(struct call *c, const struct wrk *w)
{
	Whatsnext__V1__Worker *r = worker_reply(c, w);
	size_t len;
	uint8_t *buf = wn_message_pack(&r->base, &len);
	r = whatsnext__v1__worker__unpack(wn_arena_allocator(c->arena), len, buf);
	free(buf);
	assert(r != NULL);
	return r;
}

int wn_svc_worker_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct wrk *w = worker_named(c, rq->name, &rv);
	if (w == NULL)
		return rv;
	/* a LOST one (a machine that died) gave its jobs back when it was lost;
	 * should it come back, it joins again */
	if (w->rec->state == WORKER_STATE_ACTIVE)
		return wn_call_fail(c, WN_ESTATE,
		                    "worker %s is ACTIVE: only a GONE worker (one that left) or a "
		                    "LOST one can be removed; drain it first (wnctl worker drain)",
		                    w->rec->name);
	size_t held = wn_map_count(w->jobs);
	if (held > 0)
		return wn_call_fail(
		    c, WN_ESTATE,
		    "worker %s still holds %zu running job%s; it can be removed once "
		    "%s",
		    w->rec->name, held, held == 1 ? "" : "s",
		    held == 1 ? "it ends or its lease runs out"
		              : "they end or their leases run out");
	Whatsnext__V1__Worker *r = worker_copy(c, w);
	rv = wn_fleet_remove(c, w);
	if (rv != WN_OK)
		return rv;
	*out = &r->base;
	return WN_OK;
}
