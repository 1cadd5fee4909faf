/* bulk: a user's changes to one job (bulk.h). */
#include "bulk.h"

#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* bulk_refuse sets *why to the message and returns code. */
static int bulk_refuse(struct call *c, int code, const char **why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bulk_refuse(struct call *c, int code, const char **why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = wn_arena_strdup(c->arena, buf);
	return code;
}

/* bulk_project returns j's project, or refuses (a broken record). */
static struct project *bulk_project(struct call *c, const Job *j, int *rv, const char **why)
{
	struct project *p = wn_job_project(c, j);
	if (p == NULL)
		*rv = bulk_refuse(c, WN_EINTERNAL, why, "job %llu has no project",
		                  (unsigned long long)j->id);
	return p;
}

int wn_bulk_cancel(struct call *c, wn_batch *b, Job *j, const char *reason, const char **why)
{
	int from = j->status, rv = WN_OK;
	if (from != PENDING && from != RUNNING && from != BLOCKED)
		return bulk_refuse(c, WN_ESTATE, why, "job %llu is already %s",
		                   (unsigned long long)j->id, wn_job_status_name(from));
	struct project *p = bulk_project(c, j, &rv, why);
	if (p == NULL)
		return rv;
	j->reason = (char *)(reason != NULL && reason[0] ? reason : "cancelled by user");
	j->finished_ms = wn_engine_now(c->e);
	j->lease_expires_ms = 0; /* a RUNNING job's lease ends with it */
	/* its holder learns it from the next heartbeat, or from its Join if it
	 * starts again: kept on the record until the run reports or its lease
	 * runs out, so that a restart does not forget it */
	j->stopping = from == RUNNING;
	wn_job_set_status(c, b, p, j, CANCELLED);
	if (from == RUNNING)
		wn_job_lease_cancel(c->e, j->id, j->attempt);
	return WN_OK;
}

int wn_bulk_retry(struct call *c, wn_batch *b, Job *j, const char **why)
{
	int from = j->status;
	if (from != FAILED && from != CANCELLED && from != BLOCKED)
		return bulk_refuse(c, WN_ESTATE, why,
		                   "job %llu is %s; only failed, cancelled or blocked jobs can "
		                   "be retried",
		                   (unsigned long long)j->id, wn_job_status_name(from));
	struct project *p = wn_job_project(c, j);
	if (p == NULL || wn_map_get_str(p->tasks, j->task) == NULL)
		return bulk_refuse(c, WN_ENOTFOUND, why, "task \"%s\" of job %llu no longer exists",
		                   j->task, (unsigned long long)j->id);
	uint32_t unmet = 0, broken = 0;
	const char *dep = NULL;
	if (wn_deps_eval(c, j, &unmet, &broken, &dep) != WN_OK)
		return bulk_refuse(c, WN_EUNAVAIL, why,
		                   "cannot read a dependency of job %llu (wnd's log says why); "
		                   "retry later",
		                   (unsigned long long)j->id);
	if (broken > 0)
		return bulk_refuse(c, WN_ESTATE, why, "job %llu cannot run: %s",
		                   (unsigned long long)j->id, dep);
	j->lost = 0;
	j->failures = 0;
	j->exit_code = 0;
	j->reason = "";
	j->finished_ms = 0;
	/* what the last attempt's run was is not the retried job's: gone until it runs again */
	j->worker = "";
	j->started_ms = 0;
	j->duration_ms = 0;
	j->external_id = "";
	/* a run cancelled while it ran may still be going: from now on its
	 * worker holds nothing, and its reports are refused or ignored */
	j->stopping = false;
	if (from == CANCELLED)
		wn_job_lease_end(c->e, j->id);
	wn_job_set_status(c, b, p, j, PENDING);
	return WN_OK;
}

int wn_bulk_remove(struct call *c, wn_batch *b, Job *j, bool force, const char **why)
{
	int rv = WN_OK;
	if (j->status == RUNNING && !force)
		return bulk_refuse(c, WN_ESTATE, why,
		                   "job %llu is running; cancel it first or force",
		                   (unsigned long long)j->id);
	if (!force) {
		struct redges *r = wn_deps_dependents(c->e, j->id);
		for (uint32_t k = 0; r != NULL && k < r->n; k++) {
			Job *y = wn_job_find(c, r->v[k].job);
			if (y == NULL && c->rec.read_err != 0)
				return bulk_refuse(
				    c, WN_EUNAVAIL, why,
				    "cannot read job %llu, which depends on job %llu "
				    "(wnd's log says why); retry later",
				    (unsigned long long)r->v[k].job, (unsigned long long)j->id);
			/* a RUNNING one waits again if its run ends without a result */
			if (y != NULL &&
			    (y->status == PENDING || y->status == BLOCKED || y->status == RUNNING))
				return bulk_refuse(
				    c, WN_ESTATE, why,
				    "job %llu has dependents waiting for it (job %llu%s); "
				    "force the removal to block those that wait afterok or "
				    "afternotok (afterany ones may run)",
				    (unsigned long long)j->id, (unsigned long long)y->id,
				    y->status == RUNNING
				        ? ", running: it waits again if it is retried"
				        : "");
		}
	}
	struct project *p = bulk_project(c, j, &rv, why);
	if (p == NULL)
		return rv;
	if (wn_job_remove_many(c, b, p, &j, 1, true) != WN_OK)
		return bulk_refuse(c, WN_EUNAVAIL, why,
		                   "cannot read what job %llu reported (wnd's log says why); "
		                   "retry later",
		                   (unsigned long long)j->id);
	return WN_OK;
}

int wn_bulk_priority(struct call *c, wn_batch *b, Job *j, int32_t prio, const char **why)
{
	(void)why;
	struct project *p = wn_job_project(c, j);
	bool ready = p != NULL && wn_job_is_ready(p, j);
	if (ready)
		wn_queue_ready_del(p, j);
	j->priority = prio;
	if (ready)
		wn_queue_ready_add(c, p, j);
	wn_job_put(c, b, j);
	return WN_OK;
}

int wn_bulk_hold(struct call *c, wn_batch *b, Job *j, const char **why)
{
	int rv = WN_OK;
	if (j->status != PENDING && j->status != BLOCKED)
		return bulk_refuse(c, WN_ESTATE, why,
		                   "job %llu is %s; only pending or blocked jobs can be held",
		                   (unsigned long long)j->id, wn_job_status_name(j->status));
	if (j->held)
		return bulk_refuse(c, WN_ESTATE, why, "job %llu is already held",
		                   (unsigned long long)j->id);
	struct project *p = bulk_project(c, j, &rv, why);
	if (p == NULL)
		return rv;
	if (wn_job_is_ready(p, j))
		wn_queue_ready_del(p, j);
	j->held = true;
	wn_map_put_u64(p->held, j->id, (void *)1);
	wn_job_put(c, b, j);
	return WN_OK;
}

int wn_bulk_release(struct call *c, wn_batch *b, Job *j, const char **why)
{
	int rv = WN_OK;
	if (!j->held)
		return bulk_refuse(c, WN_ESTATE, why, "job %llu is not held",
		                   (unsigned long long)j->id);
	struct project *p = bulk_project(c, j, &rv, why);
	if (p == NULL)
		return rv;
	j->held = false;
	wn_map_del_u64(p->held, j->id);
	if (wn_job_is_ready(p, j))
		wn_queue_ready_add(c, p, j);
	wn_job_put(c, b, j);
	return WN_OK;
}

int wn_bulk_params(struct call *c, wn_batch *b, Job *j, char **keys, char **vals, size_t n,
                   const char **why)
{
	if (j->status != PENDING && j->status != BLOCKED)
		return bulk_refuse(c, WN_ESTATE, why,
		                   "job %llu is %s; only pending or blocked jobs can be updated",
		                   (unsigned long long)j->id, wn_job_status_name(j->status));
	Whatsnext__V1__Job__ParamsEntry **v =
	    wn_arena_alloc(c->arena, (j->n_params + n + 1) * sizeof(*v));
	if (j->n_params > 0) /* params is NULL when there are none */
		memcpy(v, j->params, j->n_params * sizeof(*v));
	size_t m = j->n_params;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < m && strcmp(v[k]->key, keys[i]) != 0)
			k++;
		Whatsnext__V1__Job__ParamsEntry *e = wn_arena_alloc(c->arena, sizeof(*e));
		whatsnext__v1__job__params_entry__init(e);
		e->key = wn_arena_strdup(c->arena, keys[i]);
		e->value = wn_arena_strdup(c->arena, vals[i]);
		v[k] = e;
		if (k == m)
			m++;
	}
	/* a job must stay readable in one reply: updates may not grow it past that */
	size_t before = protobuf_c_message_get_packed_size(&j->base);
	Whatsnext__V1__Job__ParamsEntry **old = j->params;
	size_t n_old = j->n_params;
	j->params = v;
	j->n_params = m;
	size_t after = protobuf_c_message_get_packed_size(&j->base);
	if (after > WN_REPLY_BUDGET && after > before) {
		j->params = old;
		j->n_params = n_old;
		return bulk_refuse(c, WN_EINVAL, why,
		                   "job %llu would come to %zu bytes with these parameters, over "
		                   "the limit of %u",
		                   (unsigned long long)j->id, after, WN_REPLY_BUDGET);
	}
	wn_job_put(c, b, j);
	return WN_OK;
}
