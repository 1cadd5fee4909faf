/* compare_snap: a whole snapshot against the model, answer by answer. */
#include "compare.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) return model_fail(m, __VA_ARGS__)

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names_check: the names a list answered, in order, are the model's. */
static int names_check(model *m, const char *where, char **got, size_t ngot, char **want,
                       size_t nwant)
{
	qsort(want, nwant, sizeof(*want), str_cmp);
	bool same = ngot == nwant;
	for (size_t i = 0; same && i < ngot; i++)
		same = strcmp(got[i], want[i]) == 0;
	if (same)
		return 0;
	char g[256] = "", w[256] = "";
	for (size_t i = 0; i < ngot && strlen(g) < 200; i++)
		snprintf(g + strlen(g), sizeof(g) - strlen(g), " %s", got[i]);
	for (size_t i = 0; i < nwant && strlen(w) < 200; i++)
		snprintf(w + strlen(w), sizeof(w) - strlen(w), " %s", want[i]);
	FAIL("%s: answered [%s ]; the model expected [%s ]", where, g, w);
}

static int plist_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__ListProjectsResponse *r = (const void *)e->msg;
	char *got[16], *want[16];
	size_t ng = 0, nw = 0;
	for (size_t i = 0; i < r->n_projects && ng < 16; i++)
		got[ng++] = r->projects[i]->name;
	for (size_t i = 0; i < m->nprojects; i++)
		if (e->status == 0 || m->projects[i]->status == e->status)
			want[nw++] = m->projects[i]->name;
	if (names_check(m, e->label, got, ng, want, nw) != 0)
		return -1;
	for (size_t i = 0; i < r->n_projects; i++)
		if (compare_project(m, model_project_get(m, got[i]), r->projects[i], e->label) != 0)
			return -1;
	return 0;
}

static int tlist_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__ListTasksResponse *r = (const void *)e->msg;
	char *got[64], *want[64];
	size_t ng = 0, nw = 0;
	for (size_t i = 0; i < r->n_tasks && ng < 64; i++)
		got[ng++] = r->tasks[i]->name;
	for (size_t i = 0; i < m->ntasks; i++)
		if (strcmp(m->tasks[i]->project, e->project) == 0)
			want[nw++] = m->tasks[i]->name;
	if (names_check(m, e->label, got, ng, want, nw) != 0)
		return -1;
	for (size_t i = 0; i < r->n_tasks; i++)
		if (compare_task(m, model_task_get(m, e->project, got[i]), r->tasks[i], e->label) !=
		    0)
			return -1;
	return 0;
}

static bool job_listed(const model_job *j, const snap_entry *e)
{
	return j->live && (e->project[0] == '\0' || strcmp(j->project, e->project) == 0) &&
	       (e->task[0] == '\0' || strcmp(j->task, e->task) == 0) &&
	       (e->status == 0 || j->status == e->status) && (e->id == 0 || j->sweep_id == e->id);
}

static int jlist_check(model *m, const snap_entry *e)
{
	size_t k = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		const model_job *j = m->jobs[i];
		if (!job_listed(j, e))
			continue;
		if (k >= e->njobs || e->jobs[k]->id != j->id)
			FAIL("%s: job %llu is missing (the list has %llu there)", e->label,
			     (unsigned long long)j->id,
			     k < e->njobs ? (unsigned long long)e->jobs[k]->id : 0ULL);
		/* the unfiltered list is checked job by job; the others by id */
		if (e->status == 0 && e->project[0] == '\0' && e->id == 0 &&
		    compare_job(m, j, e->jobs[k], CJ_DEPS | CJ_WAITING | CJ_LEASE, e->label) != 0)
			return -1;
		k++;
	}
	if (k != e->njobs)
		FAIL("%s: job %llu is listed but the model does not have it there", e->label,
		     (unsigned long long)e->jobs[k]->id);
	return 0;
}

static int deps_graph_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__DepsResponse *r = (const void *)e->msg;
	model_job *j = model_job_get(m, e->id);
	if (j == NULL)
		FAIL("%s: the model has no job %llu", e->label, (unsigned long long)e->id);
	/* breadth first upstream, each job once, jobs that are gone left out */
	size_t cap = m->njobs + 1, n = 0;
	model_job **v = wn_xmalloc(cap * sizeof(*v));
	v[n++] = j;
	for (size_t i = 0; i < n; i++)
		for (size_t d = 0; d < v[i]->ndeps; d++) {
			model_job *x = model_job_get(m, v[i]->deps[d].id);
			bool seen = x == NULL;
			for (size_t k = 0; !seen && k < n; k++)
				seen = v[k] == x;
			if (!seen)
				v[n++] = x;
		}
	int rv = 0;
	if (r->n_jobs != n)
		rv = model_fail(m, "%s: answered %zu job(s); the model expected %zu", e->label,
		                r->n_jobs, n);
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = compare_job(m, v[i], r->jobs[i], CJ_DEPS | CJ_WAITING | CJ_LEASE, e->label);
	free(v);
	return rv;
}

static int slist_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__ListSweepsResponse *r = (const void *)e->msg;
	size_t k = 0;
	model_sweep **v = wn_xcalloc(m->nsweeps + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < m->nsweeps; i++)
		if (e->project[0] == '\0' || strcmp(m->sweeps[i]->project, e->project) == 0)
			v[n++] = m->sweeps[i];
	/* by id */
	for (size_t i = 1; i < n; i++)
		for (size_t x = i; x > 0 && v[x - 1]->id > v[x]->id; x--) {
			model_sweep *t = v[x];
			v[x] = v[x - 1];
			v[x - 1] = t;
		}
	int rv = 0;
	if (r->n_sweeps != n)
		rv = model_fail(m, "%s: answered %zu sweep(s); the model has %zu", e->label,
		                r->n_sweeps, n);
	for (k = 0; rv == 0 && k < n; k++)
		rv = compare_sweep(m, v[k], r->sweeps[k], e->label);
	free(v);
	return rv;
}

static int wlist_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__ListWorkersResponse *r = (const void *)e->msg;
	char *got[16], *want[16];
	size_t ng = 0, nw = 0;
	for (size_t i = 0; i < r->n_workers && ng < 16; i++)
		got[ng++] = r->workers[i]->name;
	for (size_t i = 0; i < m->nworkers; i++)
		if (e->status == 0 || m->workers[i]->state == e->status)
			want[nw++] = m->workers[i]->name;
	if (names_check(m, e->label, got, ng, want, nw) != 0)
		return -1;
	for (size_t i = 0; i < r->n_workers; i++)
		if (compare_worker(m, model_worker_get(m, got[i]), r->workers[i], e->label) != 0)
			return -1;
	return 0;
}

static int stats_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__StatsResponse *r = (const void *)e->msg;
	char *got[16], *want[16];
	size_t ng = 0, nw = 0;
	for (size_t i = 0; i < r->n_projects && ng < 16; i++)
		got[ng++] = r->projects[i]->project;
	for (size_t i = 0; i < m->nprojects; i++)
		if (e->project[0] == '\0' || strcmp(m->projects[i]->name, e->project) == 0)
			want[nw++] = m->projects[i]->name;
	if (names_check(m, e->label, got, ng, want, nw) != 0)
		return -1;
	for (size_t i = 0; i < r->n_projects; i++) {
		const Whatsnext__V1__ProjectStats *s = r->projects[i];
		const uint64_t v[] = {s->pending, s->running, s->completed,
		                      s->failed,  s->blocked, s->cancelled};
		for (int st = ST_PENDING; st <= ST_CANCELLED; st++)
			if (v[st - 1] != model_project_count(m, s->project, st))
				FAIL("%s: %s has %llu %s job(s); the model has %llu", e->label,
				     s->project, (unsigned long long)v[st - 1],
				     model_status_name(st),
				     (unsigned long long)model_project_count(m, s->project, st));
		if (s->artifact_bytes != model_art_bytes(m, s->project))
			FAIL("%s: %s stores %llu bytes of artifacts; the model %llu", e->label,
			     s->project, (unsigned long long)s->artifact_bytes,
			     (unsigned long long)model_art_bytes(m, s->project));
	}
	return 0;
}

static int dispatch_cmp(const void *a, const void *b)
{
	const model_job *x = *(model_job *const *)a, *y = *(model_job *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* qlist_ready checks the ready part of a queue listing: q[offset ...]. */
static int qlist_ready(model *m, const snap_entry *e, model_job **q, size_t nq, size_t *k)
{
	const Whatsnext__V1__QueueListResponse *r = (const void *)e->msg;
	model_project *p = model_project_get(m, e->project);
	for (size_t i = (size_t)e->offset; i < nq && *k < (size_t)e->limit; i++, (*k)++) {
		if (*k >= r->n_jobs)
			FAIL("%s: job %llu is missing at position %zu", e->label,
			     (unsigned long long)q[i]->id, i);
		Whatsnext__V1__Job g = *r->jobs[*k];
		model_task *t = model_task_get(m, q[i]->project, q[i]->task);
		bool busy = t != NULL && model_busy(m, q[i]->project, q[i]->task, &t->need);
		int64_t pos = p->status == 2 ? -1 : (int64_t)i;
		bool text = p->status == 2 ? strstr(g.waiting, "archived") != NULL
		            : busy ? strcmp(g.waiting, "every worker that can run it is busy") == 0
		                   : strcmp(g.waiting, "waiting for a worker") == 0;
		if (g.id != q[i]->id || g.position != pos || !text)
			FAIL(
			    "%s: at %zu job %llu position %lld \"%s\"; the model expected job %llu "
			    "position %lld",
			    e->label, *k, (unsigned long long)g.id, (long long)g.position,
			    g.waiting, (unsigned long long)q[i]->id, (long long)pos);
		g.position = 0;
		g.waiting = "";
		if (compare_job(m, q[i], &g, CJ_DEPS, e->label) != 0)
			return -1;
	}
	return 0;
}

static int qlist_check(model *m, const snap_entry *e)
{
	const Whatsnext__V1__QueueListResponse *r = (const void *)e->msg;
	size_t nq = 0, nw = 0, k = 0;
	model_job **q = model_line(m, e->project, &nq);
	model_job **w = wn_xcalloc(m->njobs + 1, sizeof(*w));
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		model_task *t = model_task_get(m, j->project, j->task);
		if (j->live && j->status == ST_PENDING && !j->held &&
		    strcmp(j->project, e->project) == 0 &&
		    (!model_ready(m, j) || model_capped(m, j) || model_past_room(m, j) ||
		     (t != NULL && model_never(m, j->project, j->task, &t->need) != NULL)))
			w[nw++] = j;
	}
	qsort(w, nw, sizeof(*w), dispatch_cmp);
	int rv = 0;
	if (r->total != nq || r->waiting_total != nw)
		rv = model_fail(
		    m, "%s: total %llu, waiting_total %llu; the model expected %zu, %zu", e->label,
		    (unsigned long long)r->total, (unsigned long long)r->waiting_total, nq, nw);
	if (rv == 0)
		rv = qlist_ready(m, e, q, nq, &k);
	for (size_t i = 0; rv == 0 && e->waiting && i < nw && k < (size_t)e->limit; i++, k++)
		rv = k < r->n_jobs
		         ? compare_job(m, w[i], r->jobs[k], CJ_DEPS | CJ_WAITING | CJ_OUT, e->label)
		         : model_fail(m, "%s: waiting job %llu is missing", e->label,
		                      (unsigned long long)w[i]->id);
	if (rv == 0 && k != r->n_jobs)
		rv = model_fail(m, "%s: answered %zu job(s); the model expected %zu", e->label,
		                r->n_jobs, k);
	free(q);
	free(w);
	return rv;
}

int compare_snapshot(model *m, const snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const snap_entry *e = &s->v[i];
		int rv = 0;
		switch (e->kind) {
		case SE_PLIST:
			rv = plist_check(m, e);
			break;
		case SE_PGET:
			rv = compare_project(m, model_project_get(m, e->project),
			                     (const void *)e->msg, e->label);
			break;
		case SE_TLIST:
			rv = tlist_check(m, e);
			break;
		case SE_TGET:
			rv = compare_task(m, model_task_get(m, e->project, e->task),
			                  (const void *)e->msg, e->label);
			break;
		case SE_JLIST:
			rv = jlist_check(m, e);
			break;
		case SE_JGET:
			rv = compare_job(m, model_job_get(m, e->id), (const void *)e->msg,
			                 CJ_DEPS | CJ_WAITING | CJ_POSITION | CJ_LEASE, e->label);
			break;
		case SE_DEPS:
			rv = deps_graph_check(m, e);
			break;
		case SE_SLIST:
			rv = slist_check(m, e);
			break;
		case SE_SGET:
			rv = compare_sweep(m, model_sweep_get(m, e->id), (const void *)e->msg,
			                   e->label);
			break;
		case SE_WLIST:
			rv = wlist_check(m, e);
			break;
		case SE_WGET:
			rv = compare_worker(m, model_worker_get(m, e->task), (const void *)e->msg,
			                    e->label);
			break;
		case SE_STATS:
			rv = stats_check(m, e);
			break;
		case SE_QLIST:
			rv = qlist_check(m, e);
			break;
		}
		if (rv != 0)
			return -1;
	}
	return 0;
}
