/* SweepService: progress of sweeps, their priority and running cap. */
#include "svc.h"

#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

/* sweep_reply fills a Sweep message with the record and live counts of w. */
static Whatsnext__V1__Sweep *sweep_reply(struct call *c, const struct sweep *w)
{
	Whatsnext__V1__Sweep *s = wn_arena_alloc(c->arena, sizeof(*s));
	whatsnext__v1__sweep__init(s);
	s->id = w->id;
	s->project = w->proj->name;
	s->name = w->name;
	s->max_running = w->max_running;
	s->created_ms = w->created_ms;
	s->total = w->total;
	s->pending = w->counts[PENDING];
	s->running = w->counts[RUNNING];
	s->completed = w->counts[COMPLETED];
	s->failed = w->counts[FAILED];
	s->blocked = w->counts[BLOCKED];
	s->cancelled = w->counts[CANCELLED];
	return s;
}

static struct sweep *sweep_get(struct call *c, uint64_t id, int *rv)
{
	struct sweep *w = wn_engine_sweep(c->e, id);
	if (w == NULL)
		*rv = wn_call_fail(c, WN_ENOTFOUND, "sweep %llu not found", (unsigned long long)id);
	return w;
}

int wn_svc_sweep_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetSweepRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct sweep *w = sweep_get(c, rq->id, &rv);
	if (w == NULL)
		return rv;
	*out = &sweep_reply(c, w)->base;
	return WN_OK;
}

static int sweep_cmp(const void *a, const void *b)
{
	const Whatsnext__V1__Sweep *x = *(Whatsnext__V1__Sweep *const *)a;
	const Whatsnext__V1__Sweep *y = *(Whatsnext__V1__Sweep *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int wn_svc_sweep_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListSweepsRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = NULL;
	if (rq->project[0] != '\0' && (p = wn_engine_project(c, rq->project, &rv)) == NULL)
		return rv;
	Whatsnext__V1__ListSweepsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_sweeps_response__init(r);
	r->sweeps =
	    wn_arena_alloc(c->arena, (wn_map_count(c->e->proj.sweeps) + 1) * sizeof(*r->sweeps));
	size_t pos = 0;
	uint64_t id;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->proj.sweeps, &pos, &id, &sk, &val)) {
		struct sweep *w = val;
		if (p == NULL || w->proj == p)
			r->sweeps[r->n_sweeps++] = sweep_reply(c, w);
	}
	qsort(r->sweeps, r->n_sweeps, sizeof(*r->sweeps), sweep_cmp);
	*out = &r->base;
	return WN_OK;
}

int wn_svc_sweep_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__UpdateSweepRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct sweep *w = sweep_get(c, rq->id, &rv);
	if (w == NULL)
		return rv;
	struct project *p = w->proj;
	wn_batch *b = wn_batch_new();
	if (rq->set_max_running) {
		Whatsnext__V1__Sweep rec = WHATSNEXT__V1__SWEEP__INIT;
		rec.id = w->id;
		rec.project = p->name;
		rec.name = w->name;
		rec.max_running = rq->max_running;
		rec.total = w->total;
		rec.created_ms = w->created_ms;
		wn_records_sweep_put(b, &rec);
	}
	if (rq->set_priority) {
		/* the sweep's jobs have consecutive ids: read that range only */
		uint64_t *ids = wn_xmalloc((w->total + 1) * sizeof(*ids));
		Job **v = wn_xmalloc((w->total + 1) * sizeof(*v));
		size_t n = 0;
		/* every job read before any changes: none is left out unseen */
		rv = wn_records_job_ids(c->e->rec, w->id, w->id + w->total - 1, ids, w->total + 1,
		                        &n);
		for (size_t i = 0; rv == WN_OK && i < n; i++)
			if ((rv = wn_job_get(c, ids[i], &v[i])) == WN_ENOTFOUND) {
				v[i] = NULL;
				rv = WN_OK;
			}
		free(ids);
		if (rv != WN_OK) {
			free(v);
			wn_batch_free(b);
			return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
		}
		for (size_t i = 0; i < n; i++) {
			Job *j = v[i];
			/* a blocked job may run yet, once what it waits for is retried */
			if (j == NULL || (j->status != PENDING && j->status != BLOCKED) ||
			    j->priority == rq->priority)
				continue;
			bool ready = wn_job_is_ready(p, j);
			if (ready)
				wn_queue_ready_del(p, j);
			j->priority = rq->priority;
			if (ready)
				wn_queue_ready_add(c, p, j);
			wn_job_put(c, b, j);
		}
		free(v);
	}
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	if (rq->set_max_running) {
		bool more = rq->max_running == 0 || rq->max_running > w->max_running;
		w->max_running = rq->max_running;
		if (more) {
			p->feed = true;
			wn_batch *none = wn_batch_new();
			wn_call_commit(c, none);
		}
	}
	*out = &sweep_reply(c, w)->base;
	return WN_OK;
}
