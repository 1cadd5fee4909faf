/* model_jobs: JobService (submit, batch, cancel, retry, remove, priority)
 * and SweepService/Update as docs/protocol.md 7.3 and 7.5 and
 * docs/dependencies.md describe them. */
#include "compare.h"
#include "model.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)

/* spec_check returns the code a JobSpec deserves (0: valid) with *why; in
 * a batch, references by name are left to the caller. */
static int spec_check(const model *m, const Whatsnext__V1__JobSpec *s, bool batch, const char **why)
{
	if (s == NULL)
		return *why = "job missing", C_INVALID;
	if (!model_name_ok(s->project))
		return *why = "invalid project name", C_INVALID;
	if (model_project_get(m, s->project) == NULL)
		return *why = "no such project", C_NOT_FOUND;
	if (!model_name_ok(s->task))
		return *why = "invalid task name", C_INVALID;
	if (model_task_get(m, s->project, s->task) == NULL)
		return *why = "no such task", C_NOT_FOUND;
	if (model_project_get(m, s->project)->status == 2)
		return *why = "an archived project takes no new jobs", C_STATE;
	if (s->name[0] != '\0' && !model_jobname_ok(s->name))
		return *why = "invalid job name", C_INVALID;
	for (size_t i = 0; i < s->n_params; i++) {
		if (!model_name_ok(s->params[i]->key))
			return *why = "invalid parameter name", C_INVALID;
		if (strlen(s->params[i]->value) > (1 << 20))
			return *why = "parameter value over 1 MiB", C_INVALID;
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->params[k]->key, s->params[i]->key) == 0)
				return *why = "a parameter given twice", C_INVALID;
	}
	for (size_t i = 0; i < s->n_after; i++) {
		const Whatsnext__V1__Dependency *d = s->after[i];
		if ((int)d->condition < 0 || d->condition > 2)
			return *why = "unknown condition", C_INVALID;
		if (d->ref[0] != '\0' && !batch)
			return *why = "a dependency by name outside a batch", C_INVALID;
		if (d->ref[0] != '\0' && d->job_id != 0)
			return *why = "a dependency with both an id and a name", C_INVALID;
		if (d->ref[0] != '\0')
			continue;
		model_job *x = model_job_get(m, d->job_id);
		if (x == NULL)
			return *why = "a dependency on an unknown job", C_INVALID;
		if (strcmp(x->project, s->project) != 0)
			return *why = "a dependency on a job of another project", C_INVALID;
	}
	return C_OK;
}

/* deps_twice: a job names one dependency twice (ids resolved). */
static bool deps_twice(const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (ids[i] == ids[k])
				return true;
	return false;
}

/* job_from_spec adds job id built from spec s (dependency ids in ids). */
static model_job *job_from_spec(model *m, uint64_t id, const Whatsnext__V1__JobSpec *s,
                                const uint64_t *ids)
{
	model_job *j = model_job_new(m, id);
	j->project = model_strdup(s->project);
	j->task = model_strdup(s->task);
	char dflt[200];
	snprintf(dflt, sizeof(dflt), "%s-%llu", s->task, (unsigned long long)id);
	j->name = model_strdup(s->name[0] ? s->name : dflt);
	j->nparams = s->n_params;
	j->params = wn_xcalloc(s->n_params + 1, sizeof(*j->params));
	for (size_t i = 0; i < s->n_params; i++) {
		j->params[i].k = model_strdup(s->params[i]->key);
		j->params[i].v = model_strdup(s->params[i]->value);
	}
	j->priority = s->priority;
	j->status = ST_PENDING;
	j->ndeps = s->n_after;
	j->deps = wn_xcalloc(s->n_after + 1, sizeof(*j->deps));
	for (size_t i = 0; i < s->n_after; i++) {
		j->deps[i].id = ids[i];
		j->deps[i].cond = (int)s->after[i]->condition;
	}
	return j;
}

static int job_submit(model *m, const model_call *c)
{
	const Whatsnext__V1__SubmitRequest *rq = (const void *)c->rq;
	const char *why = NULL;
	int code = spec_check(m, rq->job, false, &why);
	if (code != C_OK)
		WANT(code, why);
	uint64_t ids[64];
	size_t nd = rq->job->n_after < 64 ? rq->job->n_after : 64;
	for (size_t i = 0; i < nd; i++)
		ids[i] = rq->job->after[i]->job_id;
	if (deps_twice(ids, nd))
		WANT(C_INVALID, "a dependency given twice");
	if (c->code != C_OK)
		WANT(C_OK, "a valid job");
	const Whatsnext__V1__Job *g = ((const Whatsnext__V1__SubmitResponse *)c->rp)->job;
	if (g == NULL || g->id <= m->max_id)
		return model_fail(m, "Submit answered job id %llu; ids must grow (last %llu)",
		                  g ? (unsigned long long)g->id : 0ULL,
		                  (unsigned long long)m->max_id);
	model_job *j = job_from_spec(m, g->id, rq->job, ids);
	j->submit_reqid = c->reqid;
	model_settle(m);
	return compare_job(m, j, g, rq->brief ? CJ_BRIEF : CJ_RECORD, "reply");
}

/* batch_refs resolves the batch's references by name into ids (first + i)
 * and returns the code the batch deserves. */
static int batch_refs(const model *m, const Whatsnext__V1__SubmitBatchRequest *rq, uint64_t first,
                      uint64_t *ids, size_t stride, const char **why)
{
	for (size_t i = 0; i < rq->n_jobs; i++) {
		const Whatsnext__V1__JobSpec *s = rq->jobs[i];
		for (size_t k = 0; k < s->n_after && k < stride; k++) {
			const char *ref = s->after[k]->ref;
			ids[i * stride + k] = s->after[k]->job_id;
			if (ref[0] == '\0')
				continue;
			size_t hits = 0, at = 0;
			for (size_t x = 0; x < rq->n_jobs; x++)
				if (strcmp(rq->jobs[x]->name, ref) == 0)
					hits++, at = x;
			if (hits == 0)
				return *why = "a reference that names no job of the batch",
				       C_INVALID;
			if (hits > 1)
				return *why = "a reference to a name several jobs share", C_INVALID;
			if (strcmp(rq->jobs[at]->project, s->project) != 0)
				return *why = "a reference to a job of another project", C_INVALID;
			ids[i * stride + k] = first + at;
		}
	}
	for (size_t i = 0; i < rq->n_jobs; i++)
		if (deps_twice(ids + i * stride, rq->jobs[i]->n_after))
			return *why = "a dependency given twice", C_INVALID;
	(void)m;
	return C_OK;
}

/* batch_cycle: the batch's references form a cycle (ids of batch jobs are
 * first .. first + n - 1). */
static bool batch_cycle(const Whatsnext__V1__SubmitBatchRequest *rq, uint64_t first,
                        const uint64_t *ids, size_t stride)
{
	size_t n = rq->n_jobs;
	int *state = wn_xcalloc(n + 1, sizeof(int)); /* 0 new, 1 open, 2 done */
	size_t *stack = wn_xcalloc(2 * n + 2, sizeof(size_t));
	bool cycle = false;
	for (size_t r = 0; r < n && !cycle; r++) {
		if (state[r] != 0)
			continue;
		/* iterative depth-first walk: (node, next edge) pairs */
		size_t sp = 0;
		stack[sp++] = r;
		stack[sp++] = 0;
		state[r] = 1;
		while (sp > 0 && !cycle) {
			size_t v = stack[sp - 2], e = stack[sp - 1];
			if (e >= rq->jobs[v]->n_after || e >= stride) {
				state[v] = 2;
				sp -= 2;
				continue;
			}
			stack[sp - 1]++;
			uint64_t d = ids[v * stride + e];
			if (rq->jobs[v]->after[e]->ref[0] == '\0' || d < first || d >= first + n)
				continue;
			size_t w = (size_t)(d - first);
			if (state[w] == 1)
				cycle = true;
			else if (state[w] == 0) {
				state[w] = 1;
				stack[sp++] = w;
				stack[sp++] = 0;
			}
		}
	}
	free(state);
	free(stack);
	return cycle;
}

#define BATCH_STRIDE 8

static int job_batch(model *m, const model_call *c)
{
	const Whatsnext__V1__SubmitBatchRequest *rq = (const void *)c->rq;
	const char *why = NULL;
	if (rq->n_jobs == 0)
		WANT(C_INVALID, "an empty batch");
	for (size_t i = 0; i < rq->n_jobs; i++) {
		int code = spec_check(m, rq->jobs[i], true, &why);
		if (code != C_OK)
			WANT(code, why);
		if (rq->sweep != NULL && strcmp(rq->jobs[i]->project, rq->jobs[0]->project) != 0)
			WANT(C_INVALID, "a sweep across projects");
	}
	if (rq->sweep != NULL && rq->sweep->name[0] != '\0' && !model_jobname_ok(rq->sweep->name))
		WANT(C_INVALID, "invalid sweep name");
	uint64_t *ids = wn_xcalloc(rq->n_jobs * BATCH_STRIDE + 1, sizeof(uint64_t));
	/* ids are known once the server answers; references are checked with
	 * a stand-in first id and resolved again below */
	uint64_t first = m->max_id + 1;
	int code = batch_refs(m, rq, first, ids, BATCH_STRIDE, &why);
	if (code == C_OK && batch_cycle(rq, first, ids, BATCH_STRIDE))
		code = C_INVALID, why = "a dependency cycle in the batch";
	if (code != C_OK || c->code != C_OK) {
		free(ids);
		WANT(code, code ? why : "a valid batch");
	}
	const Whatsnext__V1__SubmitBatchResponse *r = (const void *)c->rp;
	int rv = 0;
	first = r->n_ids > 0 ? r->ids[0] : 0;
	if (r->n_ids != rq->n_jobs || first <= m->max_id)
		rv = model_fail(m,
		                "SubmitBatch answered %zu id(s) from %llu; the model expected "
		                "%zu growing ids (last %llu)",
		                r->n_ids, (unsigned long long)first, rq->n_jobs,
		                (unsigned long long)m->max_id);
	for (size_t i = 0; rv == 0 && i < r->n_ids; i++)
		if (r->ids[i] != first + i)
			rv = model_fail(m, "SubmitBatch ids are not consecutive: %llu at %zu",
			                (unsigned long long)r->ids[i], i);
	if (rv == 0 && r->sweep_id != (rq->sweep ? first : 0))
		rv = model_fail(m, "SubmitBatch answered sweep id %llu; the model expected %llu",
		                (unsigned long long)r->sweep_id,
		                (unsigned long long)(rq->sweep ? first : 0));
	if (rv == 0) {
		batch_refs(m, rq, first, ids, BATCH_STRIDE, &why);
		for (size_t i = 0; i < rq->n_jobs; i++) {
			model_job *j =
			    job_from_spec(m, first + i, rq->jobs[i], ids + i * BATCH_STRIDE);
			j->sweep_id = r->sweep_id;
		}
		if (rq->sweep != NULL) {
			if (m->nsweeps == m->capsweeps) {
				m->capsweeps = m->capsweeps ? 2 * m->capsweeps : 16;
				m->sweeps =
				    wn_xrealloc(m->sweeps, m->capsweeps * sizeof(*m->sweeps));
			}
			model_sweep *s = wn_xcalloc(1, sizeof(*s));
			s->id = first;
			s->project = model_strdup(rq->jobs[0]->project);
			char dflt[64];
			snprintf(dflt, sizeof(dflt), "sweep-%llu", (unsigned long long)first);
			s->name = model_strdup(rq->sweep->name[0] ? rq->sweep->name : dflt);
			s->max_running = rq->sweep->max_running;
			s->created = model_wall(m);
			s->total = rq->n_jobs;
			m->sweeps[m->nsweeps++] = s;
		}
	}
	free(ids);
	return rv;
}

static int wn_job_find(model *m, const model_call *c, uint64_t id, model_job **out)
{
	if ((*out = model_job_get(m, id)) == NULL)
		WANT(C_NOT_FOUND, "no such job");
	return 0;
}

static int job_cancel(model *m, const model_call *c)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)c->rq;
	model_job *j;
	int rv = wn_job_find(m, c, rq->id, &j);
	if (j == NULL)
		return rv;
	if (j->status != ST_PENDING && j->status != ST_RUNNING && j->status != ST_BLOCKED)
		WANT(C_STATE, "the job has ended");
	if (strlen(rq->reason) > 4096)
		WANT(C_INVALID, "reason over 4096 bytes");
	if (c->code != C_OK)
		WANT(C_OK, "a valid cancel");
	if (j->status == ST_RUNNING)
		j->cancel_attempt = j->attempt;
	j->held = false;
	j->status = ST_CANCELLED;
	model_set_reason(j, RK_EXACT, "%s", rq->reason[0] ? rq->reason : "cancelled by user");
	j->finished = model_wall(m);
	model_settle(m);
	return compare_job(m, j, (const void *)c->rp, CJ_DEPS | CJ_WAITING, "reply");
}

void model_job_retry(model_job *j)
{
	/* a run cancelled while it ran holds nothing from now on */
	j->cancel_attempt = 0;
	j->leased = false;
	j->status = ST_PENDING;
	j->lost = j->failures = 0;
	j->exit_code = 0;
	j->finished = 0;
	j->started = 0;
	j->duration = 0;
	free(j->worker);
	j->worker = model_strdup("");
	free(j->external_id);
	j->external_id = model_strdup("");
	model_set_reason(j, RK_EXACT, "%s", "");
}

static int job_retry(model *m, const model_call *c)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)c->rq;
	model_job *j;
	int rv = wn_job_find(m, c, rq->id, &j);
	if (j == NULL)
		return rv;
	if (j->status != ST_FAILED && j->status != ST_CANCELLED && j->status != ST_BLOCKED)
		WANT(C_STATE, "only FAILED, CANCELLED or BLOCKED jobs are retried");
	for (size_t i = 0; i < j->ndeps; i++)
		if (model_edge(j->deps[i].cond, model_dep_status(m, j->deps[i].id)) < 0)
			WANT(C_STATE, "a dependency can no longer hold");
	if (c->code != C_OK)
		WANT(C_OK, "a valid retry");
	model_job_retry(j);
	model_settle(m);
	return compare_job(m, j, (const void *)c->rp, CJ_DEPS | CJ_WAITING, "reply");
}

static int job_remove(model *m, const model_call *c)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)c->rq;
	model_job *j;
	int rv = wn_job_find(m, c, rq->id, &j);
	if (j == NULL)
		return rv;
	if (j->status == ST_RUNNING && !rq->force)
		WANT(C_STATE, "the job is RUNNING and no force");
	if (!rq->force && model_waited_on(m, j))
		WANT(C_STATE, "a PENDING, BLOCKED or RUNNING job depends on it and no force");
	if (c->code != C_OK)
		WANT(C_OK, "a valid remove");
	rv = compare_job(m, j, (const void *)c->rp, CJ_RECORD, "reply (the job as it was)");
	model_job_remove(m, j);
	return rv;
}

static int job_priority(model *m, const model_call *c)
{
	const Whatsnext__V1__SetPriorityRequest *rq = (const void *)c->rq;
	model_job *j;
	int rv = wn_job_find(m, c, rq->id, &j);
	if (j == NULL)
		return rv;
	if (c->code != C_OK)
		WANT(C_OK, "a valid priority");
	j->priority = rq->priority;
	return compare_job(m, j, (const void *)c->rp, CJ_DEPS | CJ_WAITING | CJ_POSITION | CJ_LEASE,
	                   "reply");
}

static int sweep_update(model *m, const model_call *c)
{
	const Whatsnext__V1__UpdateSweepRequest *rq = (const void *)c->rq;
	model_sweep *s = model_sweep_get(m, rq->id);
	if (s == NULL)
		WANT(C_NOT_FOUND, "no such sweep");
	if (c->code != C_OK)
		WANT(C_OK, "a valid update");
	for (size_t i = 0; rq->set_priority && i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && j->sweep_id == s->id &&
		    (j->status == ST_PENDING || j->status == ST_BLOCKED))
			j->priority = rq->priority;
	}
	if (rq->set_max_running)
		s->max_running = rq->max_running;
	return compare_sweep(m, s, (const void *)c->rp, "reply");
}

int model_exec_job(model *m, const model_call *c)
{
	static const struct {
		const char *name;
		int (*fn)(model *, const model_call *);
	} tab[] = {
	    {"JobService/Submit", job_submit},     {"JobService/SubmitBatch", job_batch},
	    {"JobService/Cancel", job_cancel},     {"JobService/Retry", job_retry},
	    {"JobService/Remove", job_remove},     {"JobService/SetPriority", job_priority},
	    {"SweepService/Update", sweep_update}, {"JobService/Wait", model_exec_wait},
	    {"JobService/Bulk", model_exec_bulk},  {"JobService/Update", model_exec_update},
	};
	for (size_t i = 0; i < WN_ARRAY_LEN(tab); i++)
		if (strcmp(c->method, tab[i].name) == 0)
			return tab[i].fn(m, c);
	return model_fail(m, "the model has no method %s", c->method);
}
