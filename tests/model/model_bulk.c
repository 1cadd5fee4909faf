/* model_bulk: JobService/Bulk and JobService/Update as docs/protocol.md 7.3
 * describes them: one change to many jobs, each job changed as the
 * single-job method would change it, in id order (a removal from the
 * highest id down), a retry or removal again while a pass changes one (the
 * server gets there without passes; the jobs changed are the same). */
#include "compare.h"
#include "model.h"

#include "util.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)
/* REFUSE: the call must fail with code (bulk_select's verdict). */
#define REFUSE(code, why) return model_want(m, c, code, why) == 0 ? 0 : -1

#define B_CANCEL   WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL
#define B_RETRY    WHATSNEXT__V1__BULK_ACTION__BULK_RETRY
#define B_REMOVE   WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE
#define B_PRIORITY WHATSNEXT__V1__BULK_ACTION__BULK_PRIORITY
#define B_HOLD     WHATSNEXT__V1__BULK_ACTION__BULK_HOLD
#define B_RELEASE  WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE

typedef Whatsnext__V1__BulkRequest BulkRequest;

/* bulk_match: j passes rq's filters (statuses, a bit each in st). */
static bool bulk_match(const BulkRequest *rq, unsigned st, const model_job *j)
{
	if (st != 0 && !(st & (1u << j->status)))
		return false;
	if (rq->task[0] != '\0' && strcmp(rq->task, j->task) != 0)
		return false;
	if (rq->name_glob[0] != '\0' && fnmatch(rq->name_glob, j->name, 0) != 0)
		return false;
	if (rq->project[0] == '\0' && rq->n_projects == 0)
		return true;
	if (strcmp(rq->project, j->project) == 0)
		return true;
	for (size_t i = 0; i < rq->n_projects; i++)
		if (strcmp(rq->projects[i], j->project) == 0)
			return true;
	return false;
}

/* bulk_can says whether the action's single-job method would change j. */
static bool bulk_can(const model *m, const BulkRequest *rq, const model_job *j)
{
	switch (rq->action) {
	case B_CANCEL:
		return j->status == ST_PENDING || j->status == ST_RUNNING ||
		       j->status == ST_BLOCKED;
	case B_RETRY:
		if (j->status != ST_FAILED && j->status != ST_CANCELLED && j->status != ST_BLOCKED)
			return false;
		for (size_t i = 0; i < j->ndeps; i++)
			if (model_edge(j->deps[i].cond, model_dep_status(m, j->deps[i].id)) < 0)
				return false;
		return true;
	case B_REMOVE:
		if (rq->force)
			return true;
		return j->status != ST_RUNNING && !model_waited_on(m, j);
	case B_PRIORITY:
		return true;
	case B_HOLD:
		return (j->status == ST_PENDING || j->status == ST_BLOCKED) && !j->held;
	default:
		return j->held;
	}
}

/* bulk_apply changes j as the action's single-job method does. */
static void bulk_apply(model *m, const BulkRequest *rq, model_job *j)
{
	switch (rq->action) {
	case B_CANCEL:
		if (j->status == ST_RUNNING)
			j->cancel_attempt = j->attempt;
		j->held = false;
		j->status = ST_CANCELLED;
		model_set_reason(j, RK_EXACT, "%s",
		                 rq->reason[0] ? rq->reason : "cancelled by user");
		j->finished = model_wall(m);
		break;
	case B_RETRY:
		model_job_retry(j);
		break;
	case B_REMOVE:
		model_job_remove(m, j);
		break;
	case B_PRIORITY:
		j->priority = rq->priority;
		break;
	default:
		j->held = rq->action == B_HOLD;
	}
	model_settle(m);
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = (*(model_job *const *)a)->id, y = (*(model_job *const *)b)->id;
	return x < y ? -1 : x > y;
}

/* bulk_select lists the jobs rq selects into v (in id order) and returns
 * 1; or 0 when the call must be refused and was, -1 when it was not. */
static int bulk_select(model *m, const model_call *c, model_job **v, size_t *n)
{
	const BulkRequest *rq = (const void *)c->rq;
	unsigned st = 0;
	for (size_t i = 0; i < rq->n_statuses; i++)
		st |= 1u << rq->statuses[i];
	if (rq->project[0] != '\0' && model_project_get(m, rq->project) == NULL)
		REFUSE(C_NOT_FOUND, "the project filter names no project");
	bool filtered = st != 0 || rq->project[0] != '\0' || rq->n_projects > 0 ||
	                rq->task[0] != '\0' || rq->name_glob[0] != '\0';
	if (rq->n_ids == 0 && rq->sweep_id == 0 && !filtered)
		REFUSE(C_INVALID, "no jobs named");
	*n = 0;
	if (rq->n_ids > 0) {
		for (size_t i = 0; i < rq->n_ids; i++) {
			model_job *j = model_job_get(m, rq->ids[i]);
			if (j == NULL)
				REFUSE(C_NOT_FOUND, "an id names no job");
			bool seen = false;
			for (size_t k = 0; k < *n; k++)
				seen |= v[k] == j;
			if (!seen && bulk_match(rq, st, j))
				v[(*n)++] = j;
		}
		qsort(v, *n, sizeof(*v), id_cmp);
		return 1;
	}
	if (rq->sweep_id != 0 && model_sweep_get(m, rq->sweep_id) == NULL)
		REFUSE(C_NOT_FOUND, "no such sweep");
	static const unsigned applies[] = {
	    [B_CANCEL] = 1u << ST_PENDING | 1u << ST_RUNNING | 1u << ST_BLOCKED,
	    [B_RETRY] = 1u << ST_FAILED | 1u << ST_CANCELLED | 1u << ST_BLOCKED,
	    [B_HOLD] = 1u << ST_PENDING | 1u << ST_BLOCKED,
	    [B_RELEASE] = 1u << ST_PENDING | 1u << ST_BLOCKED,
	};
	if (st == 0)
		st = applies[rq->action];
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && (rq->sweep_id == 0 || j->sweep_id == rq->sweep_id) &&
		    bulk_match(rq, st, j) && (rq->action != B_RELEASE || j->held))
			v[(*n)++] = j;
	}
	return 1;
}

/* bulk_unread: whether r skipped job id as one it could not read. */
static bool bulk_unread(const Whatsnext__V1__BulkResponse *r, uint64_t id)
{
	for (size_t i = 0; i < r->n_skips; i++)
		if (r->skips[i]->id == id && strstr(r->skips[i]->reason, "retry later") != NULL)
			return true;
	return false;
}

int model_exec_bulk(model *m, const model_call *c)
{
	const BulkRequest *rq = (const void *)c->rq;
	if (rq->action < B_CANCEL || rq->action > B_RELEASE)
		WANT(C_INVALID, "unknown action");
	model_job **v = wn_xcalloc(m->njobs + 1, sizeof(*v));
	size_t n = 0;
	int rv = bulk_select(m, c, v, &n);
	if (rv != 1 || c->code != C_OK) {
		free(v);
		return rv != 1 ? rv : model_want(m, c, C_OK, "a valid bulk call");
	}
	bool *done = wn_xcalloc(n + 1, sizeof(*done));
	uint64_t *ids = wn_xcalloc(n + 1, sizeof(*ids));
	bool *blocked = wn_xcalloc(n + 1, sizeof(*blocked));
	bool *unread = wn_xcalloc(n + 1, sizeof(*unread));
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i]->id;
		blocked[i] = v[i]->status == ST_BLOCKED;
		/* under store faults, a job whose record wnd could not read is
		 * skipped and left as it was (docs/server.md, "Reads that fail") */
		unread[i] = m->faults && bulk_unread((const void *)c->rp, ids[i]);
	}
	size_t changed = 0, more;
	do {
		more = 0;
		for (size_t k = 0; k < n; k++) {
			size_t i = rq->action == B_REMOVE ? n - 1 - k : k;
			if (done[i] || unread[i] || !bulk_can(m, rq, v[i]))
				continue;
			bulk_apply(m, rq, v[i]);
			done[i] = true;
			more++;
		}
		changed += more;
	} while (more > 0 && (rq->action == B_RETRY || rq->action == B_REMOVE));
	/* a blocked job the retry of its dependency put back to PENDING in the
	 * same call was retried with it */
	for (size_t i = 0; rq->action == B_RETRY && i < n; i++)
		if (!done[i] && !unread[i] && blocked[i] && v[i]->status == ST_PENDING) {
			done[i] = true;
			changed++;
		}
	const Whatsnext__V1__BulkResponse *r = (const void *)c->rp;
	rv = 0;
	if (r->n_changed != changed || r->skipped != n - changed)
		rv = model_fail(m, "Bulk: %zu changed, %llu skipped; the model expected %zu, %zu",
		                r->n_changed, (unsigned long long)r->skipped, changed, n - changed);
	for (size_t i = 0, k = 0; rv == 0 && i < n; i++)
		if (done[i] && r->changed[k++] != ids[i])
			rv = model_fail(m, "Bulk: changed job %llu where the model expected %llu",
			                (unsigned long long)r->changed[k - 1],
			                (unsigned long long)ids[i]);
	free(unread);
	free(blocked);
	free(ids);
	free(done);
	free(v);
	return rv;
}

int model_exec_update(model *m, const model_call *c)
{
	const Whatsnext__V1__UpdateJobRequest *rq = (const void *)c->rq;
	model_job *j = model_job_get(m, rq->id);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no such job");
	if (rq->n_params == 0)
		WANT(C_INVALID, "no parameter");
	for (size_t i = 0; i < rq->n_params; i++)
		if (!model_name_ok(rq->params[i]->key))
			WANT(C_INVALID, "an invalid parameter name");
	if (j->status != ST_PENDING && j->status != ST_BLOCKED)
		WANT(C_STATE, "only PENDING or BLOCKED jobs are updated");
	if (c->code != C_OK)
		WANT(C_OK, "a valid update");
	for (size_t i = 0; i < rq->n_params; i++) {
		size_t k = 0;
		while (k < j->nparams && strcmp(j->params[k].k, rq->params[i]->key) != 0)
			k++;
		if (k == j->nparams) {
			j->params = wn_xrealloc(j->params, (j->nparams + 1) * sizeof(*j->params));
			j->params[j->nparams++].k = model_strdup(rq->params[i]->key);
		} else {
			free(j->params[k].v);
		}
		j->params[k].v = model_strdup(rq->params[i]->value);
	}
	return compare_job(m, j, (const void *)c->rp, CJ_DEPS | CJ_WAITING | CJ_POSITION | CJ_LEASE,
	                   "reply");
}
