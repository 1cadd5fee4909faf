/* JobService: submit (one or a batch), get, list, cancel, retry, remove,
 * set priority. */
#include "svc.h"

#include "bulk.h"
#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_LIST_SCAN_MAX 100000

/* job_deps_from_spec copies the dependencies of spec s into j, checking
 * those given by id; refs (batch-local names) are resolved by the caller. */
static int job_deps_from_spec(struct call *c, const Whatsnext__V1__JobSpec *s, Job *j,
                              struct project *p, bool batch, const char *where)
{
	j->n_deps = s->n_after;
	j->deps = wn_arena_alloc(c->arena, (s->n_after + 1) * sizeof(*j->deps));
	for (size_t i = 0; i < s->n_after; i++) {
		const Whatsnext__V1__Dependency *d = s->after[i];
		if ((int)d->condition < 0 ||
		    d->condition > WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK)
			return wn_call_fail(c, WN_EINVAL, "%sdependency %zu: unknown condition %d",
			                    where, i + 1, (int)d->condition);
		if (d->ref[0] != '\0' && !batch)
			return wn_call_fail(
			    c, WN_EINVAL,
			    "%sdependency %zu: a reference by name (\"%.140s\") is only "
			    "allowed inside a batch",
			    where, i + 1, d->ref);
		if (d->ref[0] != '\0' && d->job_id != 0)
			return wn_call_fail(c, WN_EINVAL,
			                    "%sdependency %zu: give a job id or a name, not both",
			                    where, i + 1);
		if (d->ref[0] == '\0') {
			if (d->job_id == 0)
				return wn_call_fail(c, WN_EINVAL, "%sdependency %zu: no job id",
				                    where, i + 1);
			Job *x = wn_job_find(c, d->job_id);
			if (x == NULL)
				return wn_call_fail(c, WN_EINVAL,
				                    "%sdependency on unknown job %llu", where,
				                    (unsigned long long)d->job_id);
			if (strcmp(x->project, p->name) != 0)
				return wn_call_fail(
				    c, WN_EINVAL,
				    "%sdependency on job %llu of another project (%s)", where,
				    (unsigned long long)d->job_id, x->project);
		}
		Whatsnext__V1__Dependency *nd = wn_arena_alloc(c->arena, sizeof(*nd));
		whatsnext__v1__dependency__init(nd);
		nd->job_id = d->job_id;
		nd->condition = d->condition;
		j->deps[i] = nd;
	}
	return WN_OK;
}

/* job_deps_unique refuses a job that names one dependency twice (by id, or
 * by name in a batch); linear in the number of dependencies. */
static int job_deps_unique(struct call *c, const Job *j, const char *where)
{
	if (j->n_deps < 2)
		return WN_OK;
	wn_map *seen = wn_map_new_u64();
	int rv = WN_OK;
	for (size_t i = 0; i < j->n_deps && rv == WN_OK; i++) {
		uint64_t id = j->deps[i]->job_id;
		if (wn_map_get_u64(seen, id) != NULL)
			rv = wn_call_fail(c, WN_EINVAL, "%sdependency on job %llu is given twice",
			                  where, (unsigned long long)id);
		wn_map_put_u64(seen, id, (void *)1);
	}
	wn_map_free(seen);
	return rv;
}

/* job_params_unique refuses a spec that names a parameter twice; linear in
 * the number of parameters (a request may hold a million). */
static int job_params_unique(struct call *c, const Whatsnext__V1__JobSpec *s, const char *where)
{
	if (s->n_params < 2)
		return WN_OK;
	wn_map *seen = wn_map_new_str();
	int rv = WN_OK;
	for (size_t i = 0; i < s->n_params && rv == WN_OK; i++) {
		const char *k = s->params[i]->key;
		if (wn_map_get_str(seen, k) != NULL)
			rv = wn_call_fail(c, WN_EINVAL, "%sparameter %s is given twice", where, k);
		wn_map_put_str(seen, k, (void *)1);
	}
	wn_map_free(seen);
	return rv;
}

/* job_from_spec validates spec (as job number n of a request, for messages)
 * and builds a PENDING job without an id. */
static int job_from_spec(struct call *c, const Whatsnext__V1__JobSpec *s, size_t n, bool many,
                         Job **out, struct project **proj)
{
	char where[32] = "";
	if (many)
		snprintf(where, sizeof(where), "job %zu: ", n + 1);
	if (s == NULL)
		return wn_call_fail(c, WN_EINVAL, "%sjob is missing", where);
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, s->project, &rv);
	if (p == NULL || wn_engine_task(c, p, s->task, &rv) == NULL)
		return wn_call_fail(c, rv, "%s%s", where, c->msg);
	if (p->archived)
		return wn_call_fail(c, WN_ESTATE,
		                    "%sproject %s is archived: it takes no new jobs (unarchive it "
		                    "first)",
		                    where, p->name);
	const char *why = s->name[0] ? wn_job_name_check(s->name) : NULL;
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "%sinvalid job name \"%.140s\": %s", where,
		                    s->name, why);
	Job *j = wn_arena_alloc(c->arena, sizeof(*j));
	whatsnext__v1__job__init(j);
	j->n_params = s->n_params;
	j->params = wn_arena_alloc(c->arena, (s->n_params + 1) * sizeof(*j->params));
	for (size_t i = 0; i < s->n_params; i++) {
		const char *k = s->params[i]->key;
		const char *bad = wn_name_check(k);
		if (bad != NULL)
			return wn_call_fail(c, WN_EINVAL, "%sinvalid parameter name \"%.140s\": %s",
			                    where, k, bad);
		if (strlen(s->params[i]->value) > WN_PARAM_VALUE_MAX)
			return wn_call_fail(c, WN_EINVAL,
			                    "%sparameter %s: value is longer than %d bytes", where,
			                    k, WN_PARAM_VALUE_MAX);
		Whatsnext__V1__Job__ParamsEntry *e = wn_arena_alloc(c->arena, sizeof(*e));
		whatsnext__v1__job__params_entry__init(e);
		e->key = s->params[i]->key;
		e->value = s->params[i]->value;
		j->params[i] = e;
	}
	if ((rv = job_params_unique(c, s, where)) != WN_OK)
		return rv;
	j->project = p->name;
	j->task = s->task;
	j->name = s->name;
	j->priority = s->priority;
	j->status = PENDING;
	j->submitter = (char *)(c->caller != NULL ? c->caller : "");
	if ((rv = job_deps_from_spec(c, s, j, p, many, where)) != WN_OK)
		return rv;
	if (!many && (rv = job_deps_unique(c, j, where)) != WN_OK)
		return rv;
	*out = j;
	*proj = p;
	return WN_OK;
}

/* job_reply commits b and answers with j as it is now. */
static int job_reply(struct call *c, wn_batch *b, Job *j, bool position, ProtobufCMessage **out)
{
	int rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	wn_job_fill_live(c, j, position);
	*out = &j->base;
	return WN_OK;
}

int wn_svc_job_submit(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SubmitRequest *rq = (const void *)in;
	int replayed =
	    wn_replay_answer(c, &whatsnext__v1__submit_response__descriptor, rq->brief, out);
	if (replayed != 0)
		return replayed > 0 ? WN_OK : replayed;
	Job *j = NULL;
	struct project *p = NULL;
	int rv = job_from_spec(c, rq->job, 0, false, &j, &p);
	if (rv == WN_OK)
		rv = wn_job_ids_left(c, 1);
	if (rv != WN_OK)
		return rv;
	wn_job_assign_id(c, j, wn_engine_now(c->e));
	j->submit_request_id = c->reqid;
	Whatsnext__V1__SubmitResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__submit_response__init(r);
	r->job = rq->brief ? NULL : j;
	wn_batch *b = wn_batch_new();
	wn_job_insert(c, b, p, j);
	if (rq->brief)
		r->job = wn_job_brief(c, j);
	wn_job_ids_store(c, b);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	wn_replay_submitted(c, j);
	*out = &r->base;
	return WN_OK;
}

/* batch_resolve turns the by-name dependencies of a batch into ids (the jobs
 * are numbered first + index) and checks the batch-local graph for cycles;
 * *order gets an order in which every job follows its dependencies. */
static int batch_resolve(struct call *c, const Whatsnext__V1__SubmitBatchRequest *rq, Job **jobs,
                         uint64_t first, size_t **order)
{
	size_t n = rq->n_jobs;
	wn_map *byname = wn_map_new_str();
	int rv = WN_OK;
	for (size_t i = 0; i < n; i++) {
		const char *name = rq->jobs[i]->name;
		if (name[0] == '\0')
			continue;
		uintptr_t prev = (uintptr_t)wn_map_get_str(byname, name);
		/* i + 1 so that 0 means absent; a name given twice maps to SIZE_MAX */
		wn_map_put_str(byname, name, (void *)(prev ? (uintptr_t)SIZE_MAX : i + 1));
	}
	size_t nedges = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < rq->jobs[i]->n_after; k++)
			nedges += rq->jobs[i]->after[k]->ref[0] != '\0';
	size_t *from = wn_arena_alloc(c->arena, (nedges + 1) * sizeof(size_t));
	size_t *to = wn_arena_alloc(c->arena, (nedges + 1) * sizeof(size_t));
	size_t e = 0;
	for (size_t i = 0; i < n && rv == WN_OK; i++) {
		for (size_t k = 0; k < rq->jobs[i]->n_after; k++) {
			const char *ref = rq->jobs[i]->after[k]->ref;
			if (ref[0] == '\0')
				continue;
			uintptr_t at = (uintptr_t)wn_map_get_str(byname, ref);
			if (at == 0) {
				rv = wn_call_fail(
				    c, WN_EINVAL,
				    "job %zu: dependency on \"%.140s\", which names no job "
				    "of the batch",
				    i + 1, ref);
				break;
			}
			if (at == (uintptr_t)SIZE_MAX) {
				rv = wn_call_fail(
				    c, WN_EINVAL,
				    "job %zu: dependency on \"%.140s\", a name that several "
				    "jobs of the batch share",
				    i + 1, ref);
				break;
			}
			if (strcmp(jobs[at - 1]->project, jobs[i]->project) != 0) {
				rv = wn_call_fail(
				    c, WN_EINVAL,
				    "job %zu: dependency on \"%.140s\", a job of another "
				    "project (%s)",
				    i + 1, ref, jobs[at - 1]->project);
				break;
			}
			from[e] = at - 1;
			to[e] = i;
			e++;
			jobs[i]->deps[k]->job_id = first + at - 1;
		}
	}
	wn_map_free(byname);
	for (size_t i = 0; i < n && rv == WN_OK; i++) {
		char where[32];
		snprintf(where, sizeof(where), "job %zu: ", i + 1);
		rv = job_deps_unique(c, jobs[i], where);
	}
	if (rv != WN_OK)
		return rv;
	*order = wn_arena_alloc(c->arena, (n + 1) * sizeof(size_t));
	size_t cyc = 0;
	if (!wn_deps_toposort(n, from, to, nedges, *order, &cyc))
		return wn_call_fail(
		    c, WN_EINVAL, "job %zu (\"%.140s\") is part of a dependency cycle in the batch",
		    cyc + 1, rq->jobs[cyc]->name);
	return WN_OK;
}

int wn_svc_job_submit_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SubmitBatchRequest *rq = (const void *)in;
	int replayed =
	    wn_replay_answer(c, &whatsnext__v1__submit_batch_response__descriptor, false, out);
	if (replayed != 0)
		return replayed > 0 ? WN_OK : replayed;
	if (rq->n_jobs == 0)
		return wn_call_fail(c, WN_EINVAL, "batch holds no jobs");
	if (rq->n_jobs > WN_BATCH_MAX)
		return wn_call_fail(c, WN_EINVAL, "batch of %zu jobs is over the limit of %d",
		                    rq->n_jobs, WN_BATCH_MAX);
	Job **jobs = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*jobs));
	struct project **projs = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*projs));
	for (size_t i = 0; i < rq->n_jobs; i++) {
		int rv = job_from_spec(c, rq->jobs[i], i, true, &jobs[i], &projs[i]);
		if (rv != WN_OK)
			return rv;
		if (rq->sweep != NULL && projs[i] != projs[0])
			return wn_call_fail(c, WN_EINVAL,
			                    "job %zu: a sweep's jobs must all belong to project %s",
			                    i + 1, projs[0]->name);
	}
	if (rq->sweep != NULL && rq->sweep->name[0] != '\0' &&
	    (strlen(rq->sweep->name) > WN_NAME_MAX || wn_job_name_check(rq->sweep->name) != NULL))
		return wn_call_fail(
		    c, WN_EINVAL, "invalid sweep name \"%.140s\": %s", rq->sweep->name,
		    strlen(rq->sweep->name) > WN_NAME_MAX ? "name is longer than 128 bytes"
		                                          : wn_job_name_check(rq->sweep->name));
	if (wn_job_ids_left(c, rq->n_jobs) != WN_OK)
		return WN_ETOOBIG;
	uint64_t first = c->e->next_id;
	size_t *order = NULL;
	int rv = batch_resolve(c, rq, jobs, first, &order);
	if (rv != WN_OK)
		return rv;
	Whatsnext__V1__SubmitBatchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__submit_batch_response__init(r);
	r->n_ids = rq->n_jobs;
	r->ids = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*r->ids));
	int64_t now = wn_engine_now(c->e);
	wn_batch *b = wn_batch_new();
	if (rq->sweep != NULL) {
		Whatsnext__V1__Sweep *sw = wn_arena_alloc(c->arena, sizeof(*sw));
		whatsnext__v1__sweep__init(sw);
		sw->id = first;
		sw->project = projs[0]->name;
		sw->name = rq->sweep->name[0]
		               ? rq->sweep->name
		               : wn_arena_printf(c->arena, "sweep-%llu", (unsigned long long)first);
		sw->max_running = rq->sweep->max_running;
		sw->total = rq->n_jobs;
		sw->created_ms = now;
		wn_records_sweep_put(b, sw);
		wn_engine_sweep_new(c->e, projs[0], sw);
		r->sweep_id = first;
	}
	for (size_t i = 0; i < rq->n_jobs; i++) {
		wn_job_assign_id(c, jobs[i], now);
		jobs[i]->sweep_id = r->sweep_id;
		r->ids[i] = jobs[i]->id;
	}
	for (size_t i = 0; i < rq->n_jobs; i++)
		wn_job_insert(c, b, projs[order[i]], jobs[order[i]]);
	wn_job_ids_store(c, b);
	wn_replay_persist(c, b, &r->base);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	*out = &r->base;
	return WN_OK;
}

int wn_svc_job_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetJobRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	wn_job_fill_live(c, j, true);
	*out = &j->base;
	return WN_OK;
}

int wn_svc_job_filter(struct call *c, const struct wn_svc_select *s, wn_job_filter *f)
{
	memset(f, 0, sizeof(*f));
	if (s->n_projects > WN_FILTER_LIST_MAX || s->n_statuses > WN_FILTER_LIST_MAX)
		return wn_call_fail(c, WN_EINVAL, "more than %d projects or statuses",
		                    WN_FILTER_LIST_MAX);
	if (strlen(s->name_glob) > WN_GLOB_MAX)
		return wn_call_fail(c, WN_EINVAL, "name glob is longer than %d bytes", WN_GLOB_MAX);
	for (size_t i = 0; i <= s->n_statuses; i++) {
		int st = i < s->n_statuses ? (int)s->statuses[i] : s->status;
		if (st < 0 || st >= WN_NSTATUS)
			return wn_call_fail(c, WN_EINVAL, "unknown job status %d", st);
		if (st != 0)
			f->statuses |= 1u << st;
	}
	const char **pv = wn_arena_alloc(c->arena, (s->n_projects + 1) * sizeof(*pv));
	for (size_t i = 0; i <= s->n_projects; i++) {
		const char *name = i < s->n_projects ? s->projects[i] : s->project;
		int rv = WN_OK;
		if (name[0] == '\0' && i == s->n_projects)
			continue;
		if (wn_engine_project(c, name, &rv) == NULL)
			return rv;
		pv[f->n_projects++] = name;
	}
	f->projects = pv;
	f->task = s->task;
	f->submitter = s->submitter;
	f->name_glob = s->name_glob;
	return WN_OK;
}

/* job_list_range narrows the ids a listing walks, (*after, *last], to rq's
 * sweep and cursor. */
static int job_list_range(struct call *c, const Whatsnext__V1__ListJobsRequest *rq, uint64_t *after,
                          uint64_t *last)
{
	*after = 0;
	*last = UINT64_MAX;
	if (rq->sweep_id != 0) {
		/* a sweep's jobs have consecutive ids: read just that range */
		struct sweep *sw = wn_engine_sweep(c->e, rq->sweep_id);
		if (sw == NULL)
			return wn_call_fail(c, WN_ENOTFOUND, "sweep %llu not found",
			                    (unsigned long long)rq->sweep_id);
		*after = sw->id - 1;
		*last = sw->id + sw->total - 1;
	}
	if (rq->newest_first && rq->after_id != 0 && rq->after_id - 1 < *last)
		*last = rq->after_id - 1;
	else if (!rq->newest_first && rq->after_id > *after)
		*after = rq->after_id;
	return WN_OK;
}

int wn_svc_job_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListJobsRequest *rq = (const void *)in;
	if (rq->page_size < 0)
		return wn_call_fail(c, WN_EINVAL, "page_size must not be negative (got %d)",
		                    rq->page_size);
	if (rq->page_size > WN_PAGE_MAX)
		return wn_call_fail(c, WN_EINVAL, "page_size %d is over the limit of %d",
		                    rq->page_size, WN_PAGE_MAX);
	struct wn_svc_select sel = {.project = rq->project,
	                            .projects = rq->projects,
	                            .n_projects = rq->n_projects,
	                            .task = rq->task,
	                            .submitter = rq->submitter,
	                            .name_glob = rq->name_glob,
	                            .status = (int)rq->status,
	                            .statuses = rq->statuses,
	                            .n_statuses = rq->n_statuses};
	wn_records_page pg = {
	    .desc = rq->newest_first, .scan_max = JOB_LIST_SCAN_MAX, .bytes = WN_REPLY_BUDGET};
	int rv = wn_svc_job_filter(c, &sel, &pg.f);
	if (rv == WN_OK)
		rv = job_list_range(c, rq, &pg.after, &pg.last);
	if (rv != WN_OK)
		return rv;
	pg.max = rq->page_size ? (size_t)rq->page_size : WN_PAGE_DEFAULT;
	Whatsnext__V1__ListJobsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_jobs_response__init(r);
	r->jobs = wn_arena_alloc(c->arena, pg.max * sizeof(*r->jobs));
	pg.jobs = r->jobs;
	wn_records_job_page(&c->rec, &pg);
	for (size_t i = 0; i < pg.n; i++)
		wn_job_fill_live(c, pg.jobs[i], false);
	r->n_jobs = pg.n;
	r->next_after_id = pg.next_after;
	*out = &r->base;
	return WN_OK;
}

int wn_svc_job_cancel(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load_live(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	if (j->status == PENDING || j->status == RUNNING || j->status == BLOCKED)
		if (strlen(rq->reason) > WN_REASON_MAX)
			return wn_call_fail(c, WN_EINVAL, "reason is longer than %d bytes",
			                    WN_REASON_MAX);
	const char *why = NULL;
	wn_batch *b = wn_batch_new();
	if ((rv = wn_bulk_cancel(c, b, j, rq->reason, &why)) != WN_OK) {
		wn_batch_free(b);
		return wn_call_fail(c, rv, "%s", why);
	}
	return job_reply(c, b, j, false, out);
}

int wn_svc_job_retry(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load_live(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	const char *why = NULL;
	wn_batch *b = wn_batch_new();
	if ((rv = wn_bulk_retry(c, b, j, &why)) != WN_OK) {
		wn_batch_free(b);
		return wn_call_fail(c, rv, "%s", why);
	}
	return job_reply(c, b, j, false, out);
}

int wn_svc_job_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load_live(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	Job copy = *j;
	const char *why = NULL;
	wn_batch *b = wn_batch_new();
	if ((rv = wn_bulk_remove(c, b, j, rq->force, &why)) != WN_OK) {
		wn_batch_free(b);
		return wn_call_fail(c, rv, "%s", why);
	}
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	Job *reply = wn_arena_alloc(c->arena, sizeof(*reply));
	*reply = copy;
	*out = &reply->base;
	return WN_OK;
}

int wn_svc_job_set_priority(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SetPriorityRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load_live(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	const char *why = NULL;
	wn_batch *b = wn_batch_new();
	wn_bulk_priority(c, b, j, rq->priority, &why);
	return job_reply(c, b, j, true, out);
}

int wn_svc_job_deps(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetJobRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	/* breadth-first upstream, each job once */
	size_t cap = 16, n = 0;
	Job **v = wn_xmalloc(cap * sizeof(*v));
	wn_map *seen = wn_map_new_u64();
	v[n++] = j;
	wn_map_put_u64(seen, j->id, j);
	size_t bytes = 0;
	for (size_t i = 0; i < n && bytes <= WN_REPLY_BUDGET; i++) {
		wn_job_fill_live(c, v[i], false);
		bytes += protobuf_c_message_get_packed_size(&v[i]->base);
		for (size_t d = 0; d < v[i]->n_deps; d++) {
			uint64_t x = v[i]->deps[d]->job_id;
			if (wn_map_get_u64(seen, x) != NULL)
				continue;
			Job *xj = wn_job_find(c, x);
			if (xj == NULL)
				continue;
			wn_map_put_u64(seen, x, xj);
			if (n == cap) {
				cap *= 2;
				v = wn_xrealloc(v, cap * sizeof(*v));
			}
			v[n++] = xj;
		}
	}
	Whatsnext__V1__DepsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__deps_response__init(r);
	r->jobs = wn_arena_alloc(c->arena, n * sizeof(*r->jobs));
	memcpy(r->jobs, v, n * sizeof(*v));
	r->n_jobs = n;
	free(v);
	wn_map_free(seen);
	*out = &r->base;
	return WN_OK;
}
