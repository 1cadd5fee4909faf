/* JobService/Bulk and JobService/Update: one change to many jobs in one
 * write, and a job's parameters changed before it runs. */
#include "svc.h"

#include "bulk.h"
#include "deps.h"
#include "engine_state.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BULK_SKIPS_MAX 1000

typedef Whatsnext__V1__BulkRequest BulkRequest;

static int bulk_id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* bulk_by_ids loads the jobs rq names by id, each once, in id order. */
static int bulk_by_ids(struct call *c, const BulkRequest *rq, const wn_job_filter *f, Job **v,
                       size_t *n)
{
	uint64_t *ids = wn_arena_alloc(c->arena, rq->n_ids * sizeof(*ids));
	memcpy(ids, rq->ids, rq->n_ids * sizeof(*ids));
	qsort(ids, rq->n_ids, sizeof(*ids), bulk_id_cmp);
	*n = 0;
	for (size_t i = 0; i < rq->n_ids; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		Job *j = NULL;
		int rv = wn_job_load(c, ids[i], &j);
		if (rv != WN_OK)
			return rv;
		if (wn_records_job_match(f, j))
			v[(*n)++] = j;
	}
	return WN_OK;
}

/* bulk_statuses returns the statuses (a bit each) action applies to. */
static unsigned bulk_statuses(int action)
{
	switch (action) {
	case WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL:
		return 1u << PENDING | 1u << RUNNING | 1u << BLOCKED;
	case WHATSNEXT__V1__BULK_ACTION__BULK_RETRY:
		return 1u << FAILED | 1u << CANCELLED | 1u << BLOCKED;
	case WHATSNEXT__V1__BULK_ACTION__BULK_HOLD:
	case WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE:
		return 1u << PENDING | 1u << BLOCKED;
	default:
		return 0;
	}
}

/* bulk_select finds the jobs rq selects into *v (in id order). */
static int bulk_select(struct call *c, const BulkRequest *rq, Job ***v, size_t *n)
{
	struct wn_svc_select sel = {.project = rq->project,
	                            .projects = rq->projects,
	                            .n_projects = rq->n_projects,
	                            .task = rq->task,
	                            .submitter = "",
	                            .name_glob = rq->name_glob,
	                            .statuses = rq->statuses,
	                            .n_statuses = rq->n_statuses};
	wn_records_page pg = {
	    .last = UINT64_MAX, .max = WN_BATCH_MAX + 1, .scan_max = SIZE_MAX, .bytes = SIZE_MAX};
	int rv = wn_svc_job_filter(c, &sel, &pg.f);
	if (rv != WN_OK)
		return rv;
	bool filtered = pg.f.n_projects > 0 || pg.f.statuses != 0 || rq->task[0] != '\0' ||
	                rq->name_glob[0] != '\0';
	if (rq->n_ids == 0 && rq->sweep_id == 0 && !filtered)
		return wn_call_fail(c, WN_EINVAL,
		                    "name the jobs: by ids, a sweep, or a filter (status, project, "
		                    "task, name)");
	if (rq->n_ids > 0 && rq->sweep_id != 0)
		return wn_call_fail(c, WN_EINVAL, "name the jobs by ids or by a sweep, not both");
	if (rq->n_ids > WN_BATCH_MAX)
		return wn_call_fail(c, WN_EINVAL, "%zu ids are over the limit of %d", rq->n_ids,
		                    WN_BATCH_MAX);
	*v = wn_arena_alloc(c->arena, (WN_BATCH_MAX + 1) * sizeof(**v));
	if (rq->n_ids > 0)
		return bulk_by_ids(c, rq, &pg.f, *v, n);
	if (rq->sweep_id != 0) {
		struct sweep *sw = wn_engine_sweep(c->e, rq->sweep_id);
		if (sw == NULL)
			return wn_call_fail(c, WN_ENOTFOUND, "sweep %llu not found",
			                    (unsigned long long)rq->sweep_id);
		pg.after = sw->id - 1;
		pg.last = sw->id + sw->total - 1;
	}
	if (pg.f.statuses == 0) /* only the jobs the action applies to */
		pg.f.statuses = bulk_statuses(rq->action);
	/* held ones only, before the cap: the many others are not in the selection */
	pg.f.held = rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE;
	pg.jobs = *v;
	wn_records_job_page(&c->rec, &pg);
	*n = pg.n;
	if (c->rec.read_err != 0) /* a selection cut short: nothing is changed */
		return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	if (pg.n > WN_BATCH_MAX)
		return wn_call_fail(c, WN_EINVAL, "the selection holds over %d jobs; narrow it",
		                    WN_BATCH_MAX);
	return WN_OK;
}

/* bulk_one applies rq's action to j: WN_OK, or why not in *why. */
static int bulk_one(struct call *c, wn_batch *b, const BulkRequest *rq, Job *j, const char **why)
{
	switch (rq->action) {
	case WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL:
		return wn_bulk_cancel(c, b, j, rq->reason, why);
	case WHATSNEXT__V1__BULK_ACTION__BULK_RETRY:
		return wn_bulk_retry(c, b, j, why);
	case WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE:
		return wn_bulk_remove(c, b, j, rq->force, why);
	case WHATSNEXT__V1__BULK_ACTION__BULK_PRIORITY:
		return wn_bulk_priority(c, b, j, rq->priority, why);
	case WHATSNEXT__V1__BULK_ACTION__BULK_HOLD:
		return wn_bulk_hold(c, b, j, why);
	default:
		return wn_bulk_release(c, b, j, why);
	}
}

/* bulk_pass applies the action to the jobs of v, in id order; returns how
 * many it changed. */
static size_t bulk_pass(struct call *c, wn_batch *b, const BulkRequest *rq, Job **v, size_t n,
                        bool *done, const char **why)
{
	size_t changed = 0;
	for (size_t i = 0; i < n; i++) {
		why[i] = NULL;
		if (bulk_one(c, b, rq, v[i], &why[i]) == WN_OK) {
			done[i] = true;
			changed++;
		}
	}
	return changed;
}

/* The jobs of a retry or a removal that were refused, to try again once a
 * change to another job of the call may let them change. */
struct bulk_redo {
	wn_map *at;        /* job id -> its index in the selection + 1 */
	const bool *tried; /* tried once already */
	bool *queued;      /* on the stack now */
	size_t *stack, n, cap;
};

/* redo_push queues the job of id again if it is in the selection, was
 * refused and is not queued already. */
static void redo_push(struct bulk_redo *r, const bool *done, uint64_t id)
{
	uintptr_t at = (uintptr_t)wn_map_get_u64(r->at, id);
	if (at == 0 || done[at - 1] || !r->tried[at - 1] || r->queued[at - 1])
		return;
	r->queued[at - 1] = true;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->stack = wn_xrealloc(r->stack, r->cap * sizeof(*r->stack));
	}
	r->stack[r->n++] = at - 1;
}

/* bulk_try applies rq's retry or removal to job v[k] and, when it changes,
 * queues again the refused jobs it may free: for a retry, those that wait
 * for it; for a removal, those it waited for. Returns 1 when it changed. */
static size_t bulk_try(struct call *c, wn_batch *b, const BulkRequest *rq, Job **v, size_t k,
                       bool *done, const char **why, struct bulk_redo *r)
{
	bool removal = rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE;
	Job *j = v[k];
	uint64_t id = j->id;
	size_t nd = removal ? j->n_deps : 0;
	uint64_t *deps = wn_arena_alloc(c->arena, (nd + 1) * sizeof(*deps));
	for (size_t i = 0; i < nd; i++)
		deps[i] = j->deps[i]->job_id; /* the removal takes them with the job */
	why[k] = NULL;
	if (bulk_one(c, b, rq, j, &why[k]) != WN_OK)
		return 0;
	done[k] = true;
	for (size_t i = 0; i < nd; i++)
		redo_push(r, done, deps[i]);
	const struct redges *re = removal ? NULL : wn_deps_dependents(c->e, id);
	for (uint32_t i = 0; re != NULL && i < re->n; i++)
		redo_push(r, done, re->v[i].job);
	return 1;
}

/* bulk_chain applies a retry or a removal to the jobs of v in id order (a
 * removal from the highest id down), then again to each job refused while a
 * dependency (a dependent, for a removal) of the call was not changed yet,
 * once that one is: as many passes as it takes, each job looked at again
 * only when one it waits on changed, whatever the order of their ids.
 * Returns how many it changed. */
static size_t bulk_chain(struct call *c, wn_batch *b, const BulkRequest *rq, Job **v,
                         const uint64_t *ids, size_t n, bool *done, const char **why)
{
	bool down = rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE;
	bool *tried = wn_arena_alloc(c->arena, 2 * (n + 1));
	memset(tried, 0, 2 * (n + 1));
	struct bulk_redo r = {wn_map_new_u64(), tried, tried + n + 1, NULL, 0, 0};
	for (size_t i = 0; i < n; i++)
		wn_map_put_u64(r.at, ids[i], (void *)(uintptr_t)(i + 1));
	size_t changed = 0;
	for (size_t s = 0; s < n; s++) {
		size_t k = down ? n - 1 - s : s;
		tried[k] = true;
		changed += bulk_try(c, b, rq, v, k, done, why, &r);
	}
	/* after the pass: a job waiting for many of the call is looked at once */
	while (r.n > 0) {
		size_t q = r.stack[--r.n];
		r.queued[q] = false;
		if (!done[q])
			changed += bulk_try(c, b, rq, v, q, done, why, &r);
	}
	free(r.stack);
	wn_map_free(r.at);
	return changed;
}

/* bulk_requeued marks done the blocked jobs of v (blocked[i]: blocked when
 * selected) that the retry of a job they waited for, in this same call, put
 * back to PENDING: retried with it, not left as they were; returns how many. */
static size_t bulk_requeued(Job **v, size_t n, const bool *blocked, bool *done)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!done[i] && blocked[i] && v[i]->status == PENDING) {
			done[i] = true;
			k++;
		}
	return k;
}

int wn_svc_job_bulk(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const BulkRequest *rq = (const void *)in;
	if (rq->action <= 0 || rq->action > WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE)
		return wn_call_fail(c, WN_EINVAL, "unknown bulk action %d", (int)rq->action);
	if (strlen(rq->reason) > WN_REASON_MAX)
		return wn_call_fail(c, WN_EINVAL, "reason is longer than %d bytes", WN_REASON_MAX);
	Job **v = NULL;
	size_t n = 0;
	int rv = bulk_select(c, rq, &v, &n);
	if (rv != WN_OK)
		return rv;
	bool *done = wn_arena_alloc(c->arena, n + 1);
	memset(done, 0, n + 1);
	const char **why = wn_arena_alloc(c->arena, (n + 1) * sizeof(*why));
	uint64_t *ids = wn_arena_alloc(c->arena, (n + 1) * sizeof(*ids));
	bool *blocked = wn_arena_alloc(c->arena, n + 1);
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i]->id; /* a removal leaves the job's record behind */
		blocked[i] = v[i]->status == BLOCKED;
	}
	wn_batch *b = wn_batch_new();
	size_t changed;
	/* a retried job may let a blocked one after it run, a removed one free
	 * what it depended on */
	if (rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_RETRY ||
	    rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE)
		changed = bulk_chain(c, b, rq, v, ids, n, done, why);
	else
		changed = bulk_pass(c, b, rq, v, n, done, why);
	if (rq->action == WHATSNEXT__V1__BULK_ACTION__BULK_RETRY)
		changed += bulk_requeued(v, n, blocked, done);
	if ((rv = wn_call_commit(c, b)) != WN_OK)
		return rv;
	Whatsnext__V1__BulkResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__bulk_response__init(r);
	r->changed = wn_arena_alloc(c->arena, (changed + 1) * sizeof(*r->changed));
	r->skips = wn_arena_alloc(c->arena, (BULK_SKIPS_MAX + 1) * sizeof(*r->skips));
	for (size_t i = 0; i < n; i++) {
		if (done[i]) {
			r->changed[r->n_changed++] = ids[i];
			continue;
		}
		r->skipped++;
		if (r->n_skips == BULK_SKIPS_MAX)
			continue;
		Whatsnext__V1__BulkSkip *s = wn_arena_alloc(c->arena, sizeof(*s));
		whatsnext__v1__bulk_skip__init(s);
		s->id = ids[i];
		s->reason = (char *)(why[i] ? why[i] : "");
		r->skips[r->n_skips++] = s;
	}
	*out = &r->base;
	return WN_OK;
}

int wn_svc_job_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__UpdateJobRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load_live(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	if (rq->n_params == 0)
		return wn_call_fail(c, WN_EINVAL, "no parameter to set");
	if (rq->n_params > WN_LIMIT_MAX)
		return wn_call_fail(c, WN_EINVAL, "more than %d parameters", WN_LIMIT_MAX);
	char **keys = wn_arena_alloc(c->arena, rq->n_params * sizeof(*keys));
	char **vals = wn_arena_alloc(c->arena, rq->n_params * sizeof(*vals));
	for (size_t i = 0; i < rq->n_params; i++) {
		const char *k = rq->params[i]->key, *bad = wn_name_check(k);
		if (bad != NULL)
			return wn_call_fail(c, WN_EINVAL, "invalid parameter name \"%.140s\": %s",
			                    k, bad);
		if (strlen(rq->params[i]->value) > WN_PARAM_VALUE_MAX)
			return wn_call_fail(c, WN_EINVAL,
			                    "parameter %s: value is longer than %d bytes", k,
			                    WN_PARAM_VALUE_MAX);
		for (size_t m = 0; m < i; m++)
			if (strcmp(keys[m], k) == 0)
				return wn_call_fail(c, WN_EINVAL, "parameter %s is given twice", k);
		keys[i] = rq->params[i]->key;
		vals[i] = rq->params[i]->value;
	}
	const char *why = NULL;
	wn_batch *b = wn_batch_new();
	if ((rv = wn_bulk_params(c, b, j, keys, vals, rq->n_params, &why)) != WN_OK) {
		wn_batch_free(b);
		return wn_call_fail(c, rv, "%s", why);
	}
	if ((rv = wn_call_commit(c, b)) != WN_OK)
		return rv;
	wn_job_fill_live(c, j, true);
	*out = &j->base;
	return WN_OK;
}
