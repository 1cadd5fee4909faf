/* model_worker: WorkerService (join, leave, drain, resume, remove) as docs/protocol.md 7.6
 * describes it. */
#include "compare.h"
#include "model.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_EXISTS    6
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)

model_worker *model_worker_get(const model *m, const char *name)
{
	for (size_t i = 0; i < m->nworkers; i++)
		if (strcmp(m->workers[i]->name, name) == 0)
			return m->workers[i];
	return NULL;
}

/* join_held lists the jobs a Join under name answers as held: the RUNNING
 * jobs leased to it, and those cancelled while it ran them with an external
 * id that are still to be stopped, their lease over or not (malloc'd). */
static model_job **join_held(const model *m, const char *name, size_t *n)
{
	model_job **v = model_held(m, name, n);
	v = wn_xrealloc(v, (*n + m->njobs + 1) * sizeof(*v));
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (model_job_stopping(j) && j->external_id[0] != '\0' &&
		    strcmp(j->worker, name) == 0)
			v[(*n)++] = j;
	}
	return v;
}

/* join_check returns the code a Worker announcement deserves (0: valid). */
static int join_check(const Whatsnext__V1__Worker *w, const char **why)
{
	if (w == NULL)
		return *why = "worker missing", C_INVALID;
	if (!model_name_ok(w->name))
		return *why = "invalid worker name", C_INVALID;
	if (strlen(w->host) > 255 || strlen(w->version) > 128)
		return *why = "host or version too long", C_INVALID;
	const Whatsnext__V1__Capacity *cap = w->capacity;
	for (size_t i = 0; cap != NULL && i < cap->n_gpus; i++)
		if (cap->gpus[i][0] == '\0' || strlen(cap->gpus[i]) > 128)
			return *why = "invalid device id", C_INVALID;
	for (size_t i = 0; cap != NULL && i < cap->n_labels; i++)
		if (!model_name_ok(cap->labels[i]->key))
			return *why = "invalid label name", C_INVALID;
		else if (!model_label_value_ok(cap->labels[i]->value))
			return *why = "a label value holding a control character", C_INVALID;
	for (size_t i = 0; i < w->n_projects; i++)
		if (!model_name_ok(w->projects[i]))
			return *why = "invalid project name", C_INVALID;
	for (size_t i = 0; i < w->n_tasks; i++)
		if (!model_name_ok(w->tasks[i]))
			return *why = "invalid task name", C_INVALID;
	if (w->instance[0] != '\0' && !model_name_ok(w->instance))
		return *why = "invalid instance id", C_INVALID;
	return C_OK;
}

void model_worker_clear(model_worker *w)
{
	free(w->host);
	free(w->version);
	for (size_t i = 0; i < w->ngpus; i++)
		free(w->gpus[i]);
	for (size_t i = 0; i < w->nlabels; i++) {
		free(w->labels[i].k);
		free(w->labels[i].v);
	}
	for (size_t i = 0; i < w->nprojects; i++)
		free(w->projects[i]);
	for (size_t i = 0; i < w->ntasks; i++)
		free(w->tasks[i]);
	w->ngpus = w->nlabels = w->nprojects = w->ntasks = 0;
}

static void worker_set(model_worker *w, const Whatsnext__V1__Worker *g)
{
	model_worker_clear(w);
	w->host = model_strdup(g->host);
	w->version = model_strdup(g->version);
	const Whatsnext__V1__Capacity *cap = g->capacity;
	w->has_cap = cap != NULL;
	w->cpu = cap ? cap->cpu : 0;
	w->mem = cap ? cap->memory_mb : 0;
	for (size_t i = 0; cap != NULL && i < cap->n_gpus && i < 4; i++)
		w->gpus[w->ngpus++] = model_strdup(cap->gpus[i]);
	for (size_t i = 0; cap != NULL && i < cap->n_labels && i < 4; i++) {
		w->labels[i].k = model_strdup(cap->labels[i]->key);
		w->labels[i].v = model_strdup(cap->labels[i]->value);
		w->nlabels++;
	}
	for (size_t i = 0; i < g->n_projects && i < 4; i++)
		w->projects[w->nprojects++] = model_strdup(g->projects[i]);
	for (size_t i = 0; i < g->n_tasks && i < 4; i++)
		w->tasks[w->ntasks++] = model_strdup(g->tasks[i]);
	w->slots = g->slots;
}

static int worker_join(model *m, const model_call *c)
{
	const Whatsnext__V1__JoinRequest *rq = (const void *)c->rq;
	const char *why = NULL;
	int code = join_check(rq->worker, &why);
	if (code != C_OK)
		WANT(code, why);
	model_worker *w = model_worker_get(m, rq->worker->name);
	if (w != NULL && w->state == W_ACTIVE && strcmp(w->instance, rq->worker->instance) != 0)
		WANT(C_EXISTS, "another instance holds the name and is ACTIVE");
	if (c->code != C_OK)
		WANT(C_OK, "a valid join");
	if (w == NULL) {
		w = wn_xcalloc(1, sizeof(*w));
		w->name = model_strdup(rq->worker->name);
		w->registered = model_wall(m);
		m->workers[m->nworkers++] = w;
	}
	worker_set(w, rq->worker);
	free(w->instance);
	w->instance = model_strdup(rq->worker->instance);
	w->state = W_ACTIVE;
	w->draining = false;
	model_heard(m, w);
	const Whatsnext__V1__JoinResponse *r = (const void *)c->rp;
	if (r->worker == NULL || compare_worker(m, w, r->worker, "reply") != 0)
		return r->worker ? -1 : model_fail(m, "Join answered no worker");
	if (r->worker_timeout_ms != MODEL_WORKER_MS || r->lease_ms != MODEL_LEASE_MS)
		return model_fail(m,
		                  "Join answered timings %lld/%lld ms; wnd was started with "
		                  "%lld/%lld",
		                  (long long)r->worker_timeout_ms, (long long)r->lease_ms,
		                  (long long)MODEL_WORKER_MS, (long long)MODEL_LEASE_MS);
	size_t n = 0;
	model_job **held = join_held(m, w->name, &n);
	int rv = 0;
	if (r->n_held != n)
		rv =
		    model_fail(m, "Join answered %zu held job(s); the model has %zu", r->n_held, n);
	for (size_t i = 0; rv == 0 && i < r->n_held; i++) {
		model_job *j = model_job_get(m, r->held[i]->id);
		bool mine = false;
		for (size_t k = 0; k < n; k++)
			mine |= held[k] == j;
		rv = mine ? compare_job(m, j, r->held[i], CJ_DEPS | CJ_LEASE, "held job")
		          : model_fail(m,
		                       "Join answered held job %llu, which the worker does not "
		                       "hold",
		                       (unsigned long long)r->held[i]->id);
	}
	free(held);
	return rv;
}

/* worker_remove: Remove forgets a GONE or LOST worker that holds no job. */
static int worker_remove(model *m, const model_call *c, model_worker *w)
{
	size_t n = 0;
	free(model_held(m, w->name, &n));
	if (w->state == W_ACTIVE)
		WANT(C_STATE, "only a GONE or LOST worker can be removed");
	if (n > 0)
		WANT(C_STATE, "the worker still holds jobs");
	if (c->code != C_OK)
		WANT(C_OK, "a GONE or LOST worker holding nothing");
	int rv = compare_worker(m, w, (const void *)c->rp, "reply");
	model_worker_forget(m, w);
	return rv;
}

int model_exec_worker(model *m, const model_call *c)
{
	bool leave = strcmp(c->method, "WorkerService/Leave") == 0;
	bool resume = strcmp(c->method, "WorkerService/Resume") == 0;
	bool remove = strcmp(c->method, "WorkerService/Remove") == 0;
	if (!leave && !resume && !remove && strcmp(c->method, "WorkerService/Drain") != 0) {
		if (strcmp(c->method, "WorkerService/Join") == 0)
			return worker_join(m, c);
		return model_fail(m, "the model has no method %s", c->method);
	}
	const Whatsnext__V1__WorkerNameRequest *rq = (const void *)c->rq;
	model_worker *w = NULL;
	if (!model_name_ok(rq->name))
		WANT(C_INVALID, "invalid worker name");
	if ((w = model_worker_get(m, rq->name)) == NULL)
		WANT(C_NOT_FOUND, "no such worker");
	if (leave && rq->instance[0] != '\0' && strcmp(rq->instance, w->instance) != 0)
		WANT(C_STATE, "another instance holds the name");
	if (remove)
		return worker_remove(m, c, w);
	if (resume && w->state == W_GONE)
		WANT(C_STATE, "a GONE worker cannot resume");
	if (c->code != C_OK)
		WANT(C_OK, "a known worker");
	if (leave) {
		model_heard(m, w);
		w->state = W_GONE;
		w->draining = false;
	} else {
		w->draining = !resume;
	}
	return compare_worker(m, w, (const void *)c->rp, "reply");
}
