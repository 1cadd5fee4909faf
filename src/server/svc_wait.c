/* JobService/Wait: a long poll until every job named (by ids, a sweep or a
 * project) has ended, parked on the watch module. A job has ended when it is
 * COMPLETED, FAILED, CANCELLED or BLOCKED (a BLOCKED job runs only if one of
 * its dependencies is retried); one removed while waited on has ended too,
 * counted as removed unless it had ended before. */
#include "svc.h"

#include "engine_state.h"
#include "project.h"
#include "watch.h"

#include <stdlib.h>
#include <string.h>

/* Most job ids a Wait names. */
#define WAIT_MAX_IDS 1000

/* The status kept for a job removed before it ended. */
#define WAIT_GONE 0

/* What a Wait waits for: the jobs by id (sorted, each once, with the
 * status each had last, and how many have each status: an event updates
 * them in a step, whatever the number of jobs), or a sweep, or a project;
 * the jobs removed before they ended while it waited. */
struct wait_arg {
	uint64_t *ids;
	uint8_t *st;
	size_t n;
	uint64_t by_st[WN_NSTATUS]; /* of ids, by st (WAIT_GONE: removed) */
	uint64_t sweep;
	char *project;
	uint64_t removed;
};

static void wait_arg_free(void *arg)
{
	struct wait_arg *a = arg;
	if (a == NULL)
		return;
	free(a->ids);
	free(a->st);
	free(a->project);
	free(a);
}

static bool wait_ended(int st)
{
	return st != PENDING && st != RUNNING;
}

/* wait_add counts n jobs of status st into r. */
static void wait_add(Whatsnext__V1__WaitResponse *r, int st, uint64_t n)
{
	switch (st) {
	case PENDING:
		r->pending += n;
		break;
	case RUNNING:
		r->running += n;
		break;
	case COMPLETED:
		r->completed += n;
		break;
	case FAILED:
		r->failed += n;
		break;
	case BLOCKED:
		r->blocked += n;
		break;
	case CANCELLED:
		r->cancelled += n;
		break;
	default:
		return;
	}
	r->total += n;
}

/* wait_counts is how many of the jobs a waits for have each status now
 * (NULL: none, its sweep or project gone). */
static const uint64_t *wait_counts(struct call *c, const struct wait_arg *a)
{
	if (a->sweep != 0) {
		struct sweep *s = wn_engine_sweep(c->e, a->sweep);
		return s != NULL ? s->counts : NULL;
	}
	if (a->project != NULL) {
		struct project *p = wn_map_get_str(c->e->proj.byname, a->project);
		return p != NULL ? p->counts : NULL;
	}
	return a->by_st;
}

/* wait_done tells whether every job a waits for has ended. */
static bool wait_done(struct call *c, const struct wait_arg *a)
{
	const uint64_t *n = wait_counts(c, a);
	return n == NULL || (n[PENDING] == 0 && n[RUNNING] == 0);
}

/* wait_reply counts what a waits for as it is now. */
static Whatsnext__V1__WaitResponse *wait_reply(struct call *c, const struct wait_arg *a)
{
	Whatsnext__V1__WaitResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__wait_response__init(r);
	const uint64_t *counts = wait_counts(c, a);
	for (int st = 1; counts != NULL && st < WN_NSTATUS; st++)
		wait_add(r, st, counts[st]);
	r->total += a->by_st[WAIT_GONE];
	r->removed = a->removed;
	r->done = r->pending == 0 && r->running == 0;
	return r;
}

/* wait_note updates a with a job's status change (to 0: removed). */
static void wait_note(struct wait_arg *a, const struct wn_watch_event *ev)
{
	bool gone_unended = ev->to == 0 && !wait_ended(ev->from);
	if (a->n == 0) {
		a->removed += gone_unended;
		return;
	}
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->ids[mid] < ev->job)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n || a->ids[lo] != ev->job || a->st[lo] == WAIT_GONE)
		return;
	int to = a->st[lo];
	if (ev->to != 0) {
		to = ev->to;
	} else if (!wait_ended(a->st[lo])) {
		to = WAIT_GONE;
		a->removed++;
	}
	a->by_st[a->st[lo]]--;
	a->by_st[to]++;
	a->st[lo] = (uint8_t)to;
}

/* wait_event answers a parked Wait once everything it names has ended, or
 * at its deadline. */
static const ProtobufCMessage *wait_event(struct call *c, void *arg,
                                          const struct wn_watch_event *ev)
{
	struct wait_arg *a = arg;
	if (ev->why == WN_WATCH_STATUS)
		wait_note(a, ev);
	/* the reply is made only to answer: a call that causes many events
	 * (a queue cleared) reaches each watch many times */
	if (ev->why != WN_WATCH_DEADLINE && ev->why != WN_WATCH_RELEASE && !wait_done(c, a))
		return NULL;
	return &wait_reply(c, a)->base;
}

static int id_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* wait_ids fills a with the jobs rq names by id, each once, with their
 * status; NOT_FOUND names the first that does not exist. */
static int wait_ids(struct call *c, const Whatsnext__V1__WaitRequest *rq, struct wait_arg *a)
{
	a->ids = wn_xmalloc(rq->n_ids * sizeof(*a->ids));
	a->st = wn_xmalloc(rq->n_ids);
	memcpy(a->ids, rq->ids, rq->n_ids * sizeof(*a->ids));
	qsort(a->ids, rq->n_ids, sizeof(*a->ids), id_cmp);
	for (size_t i = 0; i < rq->n_ids; i++) {
		if (a->n > 0 && a->ids[a->n - 1] == a->ids[i])
			continue;
		Job *j = NULL;
		int rv = wn_job_load(c, a->ids[i], &j);
		if (rv != WN_OK)
			return rv;
		a->ids[a->n] = a->ids[i];
		a->st[a->n++] = (uint8_t)j->status;
		a->by_st[j->status]++;
	}
	return WN_OK;
}

/* wait_check validates rq and fills a with what it waits for. */
static int wait_check(struct call *c, const Whatsnext__V1__WaitRequest *rq, struct wait_arg *a)
{
	bool by_project = rq->project != NULL && rq->project[0] != '\0';
	int named = (rq->n_ids > 0) + (rq->sweep_id != 0) + by_project;
	if (named != 1)
		return wn_call_fail(c, WN_EINVAL,
		                    "wait needs one of: job ids, a sweep_id or a project (%s)",
		                    named == 0 ? "none given" : "several given");
	if (rq->n_ids > WAIT_MAX_IDS)
		return wn_call_fail(c, WN_EINVAL, "too many job ids: %zu (at most %d)", rq->n_ids,
		                    WAIT_MAX_IDS);
	if (rq->wait_ms > WN_WAIT_MAX_MS)
		return wn_call_fail(c, WN_EINVAL, "wait_ms %u is over the limit of %d", rq->wait_ms,
		                    WN_WAIT_MAX_MS);
	if (rq->n_ids > 0)
		return wait_ids(c, rq, a);
	if (rq->sweep_id != 0) {
		if (wn_engine_sweep(c->e, rq->sweep_id) == NULL)
			return wn_call_fail(c, WN_ENOTFOUND, "sweep %llu not found",
			                    (unsigned long long)rq->sweep_id);
		a->sweep = rq->sweep_id;
		return WN_OK;
	}
	int rv = WN_OK;
	if (wn_engine_project(c, rq->project, &rv) == NULL)
		return rv;
	a->project = wn_xstrdup(rq->project);
	return WN_OK;
}

int wn_svc_job_wait(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__WaitRequest *rq = (const void *)in;
	struct wait_arg *a = wn_xcalloc(1, sizeof(*a));
	int rv = wait_check(c, rq, a);
	if (rv != WN_OK) {
		wait_arg_free(a);
		return rv;
	}
	Whatsnext__V1__WaitResponse *r = wait_reply(c, a);
	if (r->done || rq->wait_ms == 0 || c->slot == NULL) { /* nowhere to answer later */
		wait_arg_free(a);
		*out = &r->base;
		return WN_OK;
	}
	struct wn_watch_spec spec = {.ids = a->ids,
	                             .nids = a->n,
	                             .sweep = a->sweep,
	                             .project = a->project,
	                             .events = WN_WATCH_ON_STATUS,
	                             .wait_ms = rq->wait_ms,
	                             .fn = wait_event,
	                             .arg = a,
	                             .arg_free = wait_arg_free};
	rv = wn_watch_park(c, &spec);
	if (rv == WN_EUNAVAIL) /* a client that waits asks again after a pause */
		return wn_call_fail(c, WN_EUNAVAIL, "the server is shutting down; retry later");
	*out = NULL;
	return rv;
}
