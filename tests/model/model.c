/* model: state, lookups, the rules derived from the documentation
 * (dependencies, dispatch order, fleet fit); time and restarts are in
 * model_time.c. */
#include "model.h"

#include "err.h"
#include "status.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

model *model_new(int64_t now)
{
	model *m = wn_xcalloc(1, sizeof(*m));
	m->now = now;
	m->byid = wn_map_new_u64();
	return m;
}

static void need_free(model_need *n)
{
	for (size_t i = 0; i < n->nlabels; i++) {
		free(n->labels[i].k);
		free(n->labels[i].v);
	}
	memset(n, 0, sizeof(*n));
}

static void project_free(model_project *p)
{
	free(p->name);
	free(p->desc);
	free(p);
}

static void task_free(model_task *t)
{
	free(t->project);
	free(t->name);
	free(t->desc);
	need_free(&t->need);
	free(t);
}

static void job_free(model_job *j)
{
	free(j->project);
	free(j->task);
	free(j->name);
	for (size_t i = 0; i < j->nparams; i++) {
		free(j->params[i].k);
		free(j->params[i].v);
	}
	free(j->params);
	free(j->worker);
	free(j->reason);
	free(j->output_tail);
	free(j->external_id);
	free(j->deps);
	free(j->out);
	model_results_free(j);
	free(j);
}

static void worker_free(model_worker *w)
{
	free(w->name);
	model_worker_clear(w);
	free(w->instance);
	free(w);
}

void model_free(model *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nprojects; i++)
		project_free(m->projects[i]);
	for (size_t i = 0; i < m->ntasks; i++)
		task_free(m->tasks[i]);
	for (size_t i = 0; i < m->njobs; i++)
		job_free(m->jobs[i]);
	free(m->jobs);
	for (size_t i = 0; i < m->nsweeps; i++) {
		free(m->sweeps[i]->project);
		free(m->sweeps[i]->name);
		free(m->sweeps[i]);
	}
	free(m->sweeps);
	for (size_t i = 0; i < m->nworkers; i++)
		worker_free(m->workers[i]);
	wn_map_free(m->byid);
	free(m->err);
	free(m);
}

int model_fail(model *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(m->err);
	m->err = wn_xstrdup(buf);
	return -1;
}

char *model_strdup(const char *s)
{
	return wn_xstrdup(s ? s : "");
}

void model_set_reason(model_job *j, int kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[8192];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(j->reason);
	j->reason = wn_xstrdup(buf);
	j->reason_kind = kind;
}

bool model_time_ok(int64_t v, int64_t t)
{
	return v >= t - 1000 && v <= t + MODEL_TOL_MS;
}

/* ----------------------------------------------------------------- lookups */

model_project *model_project_get(const model *m, const char *name)
{
	for (size_t i = 0; i < m->nprojects; i++)
		if (strcmp(m->projects[i]->name, name) == 0)
			return m->projects[i];
	return NULL;
}

model_task *model_task_get(const model *m, const char *project, const char *name)
{
	for (size_t i = 0; i < m->ntasks; i++)
		if (strcmp(m->tasks[i]->project, project) == 0 &&
		    strcmp(m->tasks[i]->name, name) == 0)
			return m->tasks[i];
	return NULL;
}

model_job *model_job_get(const model *m, uint64_t id)
{
	model_job *j = wn_map_get_u64(m->byid, id);
	return j != NULL && j->live ? j : NULL;
}

model_sweep *model_sweep_get(const model *m, uint64_t id)
{
	for (size_t i = 0; i < m->nsweeps; i++)
		if (m->sweeps[i]->id == id)
			return m->sweeps[i];
	return NULL;
}

void model_worker_forget(model *m, model_worker *w)
{
	for (size_t i = 0; i < m->nworkers; i++)
		if (m->workers[i] == w) {
			m->workers[i] = m->workers[--m->nworkers];
			worker_free(w);
			return;
		}
}

const char *model_status_name(int st)
{
	return wn_status_name(st);
}

const char *model_cond_name(int cond)
{
	return cond == COND_AFTERANY     ? "afterany"
	       : cond == COND_AFTERNOTOK ? "afternotok"
	                                 : "afterok";
}

/* ------------------------------------------------------------ dependencies */

int model_edge(int cond, int status)
{
	switch (status) {
	case ST_PENDING:
	case ST_RUNNING:
		return 0;
	case ST_COMPLETED:
		return cond == COND_AFTERNOTOK ? -1 : 1;
	case ST_FAILED:
	case ST_CANCELLED:
	case ST_BLOCKED: /* an end without success until someone retries */
		return cond == COND_AFTEROK ? -1 : 1;
	default: /* 0 is a removed job: its outcome is unknown */
		return cond == COND_AFTERANY ? 1 : -1;
	}
}

int model_dep_status(const model *m, uint64_t id)
{
	model_job *x = model_job_get(m, id);
	return x ? x->status : 0;
}

/* broken_dep returns the first dependency of j that can no longer hold, or NULL. */
static const model_dep *broken_dep(const model *m, const model_job *j)
{
	for (size_t i = 0; i < j->ndeps; i++)
		if (model_edge(j->deps[i].cond, model_dep_status(m, j->deps[i].id)) < 0)
			return &j->deps[i];
	return NULL;
}

bool model_job_stopping(const model_job *j)
{
	return j->live && j->status == ST_CANCELLED && j->cancel_attempt != 0 &&
	       j->cancel_attempt == j->attempt;
}

bool model_ready(const model *m, const model_job *j)
{
	if (j->status != ST_PENDING || j->held)
		return false;
	for (size_t i = 0; i < j->ndeps; i++)
		if (model_edge(j->deps[i].cond, model_dep_status(m, j->deps[i].id)) != 1)
			return false;
	return true;
}

void model_settle(model *m)
{
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < m->njobs; i++) {
			model_job *j = m->jobs[i];
			if (!j->live || (j->status != ST_PENDING && j->status != ST_BLOCKED))
				continue;
			const model_dep *b = broken_dep(m, j);
			if (j->status == ST_PENDING && b != NULL) {
				j->status = ST_BLOCKED;
				m->n_blocked++;
				model_set_reason(j, RK_BLOCKED, "dependency job %llu",
				                 (unsigned long long)b->id);
				changed = true;
			} else if (j->status == ST_BLOCKED && b == NULL) {
				j->status = ST_PENDING;
				model_set_reason(j, RK_EXACT, "%s", "");
				changed = true;
				m->n_unblocked++;
			}
		}
	}
	model_retention_mark(m);
}

/* ------------------------------------------------------------------ queues */

bool model_capped(const model *m, const model_job *j)
{
	model_sweep *s = j->sweep_id ? model_sweep_get(m, j->sweep_id) : NULL;
	return s != NULL && s->max_running > 0 &&
	       model_sweep_count(m, s->id, ST_RUNNING) >= s->max_running;
}

static int dispatch_cmp(const void *a, const void *b)
{
	const model_job *x = *(model_job *const *)a, *y = *(model_job *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

model_job **model_queue(const model *m, const char *p, size_t *n)
{
	model_job **v = wn_xmalloc((m->njobs + 1) * sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && strcmp(j->project, p) == 0 && model_ready(m, j) &&
		    !model_capped(m, j))
			v[(*n)++] = j;
	}
	qsort(v, *n, sizeof(*v), dispatch_cmp);
	return v;
}

uint64_t model_sweep_count(const model *m, uint64_t s, int st)
{
	uint64_t n = 0;
	model_sweep *w = model_sweep_get(m, s);
	if (w == NULL)
		return 0;
	for (uint64_t id = w->id; id < w->id + w->total; id++) {
		model_job *j = model_job_get(m, id);
		n += j != NULL && j->status == st && j->sweep_id == s;
	}
	return n;
}

uint64_t model_project_count(const model *m, const char *p, int st)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->njobs; i++)
		n += m->jobs[i]->live && m->jobs[i]->status == st &&
		     strcmp(m->jobs[i]->project, p) == 0;
	return n;
}

model_job **model_held(const model *m, const char *name, size_t *n)
{
	model_job **v = wn_xmalloc((m->njobs + 1) * sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && j->status == ST_RUNNING && strcmp(j->worker, name) == 0)
			v[(*n)++] = j;
	}
	return v;
}

bool model_unnamed_held(const model *m, const Whatsnext__V1__HeartbeatRequest *rq, int64_t age)
{
	size_t n = 0;
	model_job **v = model_held(m, rq->worker, &n);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		int64_t since = m->now - v[i]->started_mono;
		bool unnamed = since >= 0 && since < age;
		for (size_t k = 0; k < rq->n_leases && unnamed; k++)
			unnamed = rq->leases[k]->job_id != v[i]->id;
		found = unnamed;
	}
	free(v);
	return found;
}

void model_used(const model *m, const char *name, uint32_t *cpu, uint32_t *gpu, uint64_t *mem)
{
	size_t n = 0;
	model_job **v = model_held(m, name, &n);
	*cpu = *gpu = 0;
	*mem = 0;
	for (size_t i = 0; i < n; i++) {
		model_task *t = model_task_get(m, v[i]->project, v[i]->task);
		if (t == NULL)
			continue;
		/* at most the largest count, as wnd adds them */
		*cpu = t->need.cpu > UINT32_MAX - *cpu ? UINT32_MAX : *cpu + t->need.cpu;
		*gpu = t->need.gpu > UINT32_MAX - *gpu ? UINT32_MAX : *gpu + t->need.gpu;
		*mem = t->need.mem > UINT64_MAX - *mem ? UINT64_MAX : *mem + t->need.mem;
	}
	free(v);
}

static const char *worker_label(const model_worker *w, const char *k)
{
	for (size_t i = 0; i < w->nlabels; i++)
		if (strcmp(w->labels[i].k, k) == 0)
			return w->labels[i].v;
	return NULL;
}

/* could: worker w could ever run a job needing n (its whole capacity). */
static bool could(const model_worker *w, const model_need *n)
{
	if (n->gpu > w->ngpus || n->cpu > w->cpu || n->mem > w->mem)
		return false;
	for (size_t i = 0; i < n->nlabels; i++) {
		const char *v = worker_label(w, n->labels[i].k);
		if (v == NULL || strcmp(v, n->labels[i].v) != 0)
			return false;
	}
	return true;
}

/* fits: worker w has n free now. */
static bool fits(const model *m, const model_worker *w, const model_need *n)
{
	if (!could(w, n))
		return false;
	uint32_t cpu, gpu;
	uint64_t mem;
	model_used(m, w->name, &cpu, &gpu, &mem);
	/* what it uses may exceed what it has: a need of nothing still fits */
	return (n->cpu == 0 || (uint64_t)cpu + n->cpu <= w->cpu) &&
	       (n->gpu == 0 || (uint64_t)gpu + n->gpu <= w->ngpus) &&
	       (n->mem == 0 || (mem <= w->mem && n->mem <= w->mem - mem));
}

static bool task_listed(const Whatsnext__V1__FetchRequest *rq, const char *task)
{
	if (rq->n_tasks == 0)
		return true;
	for (size_t i = 0; i < rq->n_tasks; i++)
		if (strcmp(rq->tasks[i], task) == 0)
			return true;
	return false;
}

/* names_have: a worker's list names name (an empty list names everything). */
static bool names_have(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return n == 0;
}

/* takes: w takes jobs (ACTIVE, not draining) of task t of project p that it
 * could run. */
static bool takes(const model_worker *w, const char *p, const char *t, const model_need *n)
{
	return names_have(w->projects, w->nprojects, p) && names_have(w->tasks, w->ntasks, t) &&
	       could(w, n);
}

const char *model_never(const model *m, const char *p, const char *t, const model_need *n)
{
	size_t avail = 0;
	for (size_t i = 0; i < m->nworkers; i++) {
		const model_worker *w = m->workers[i];
		if (w->state != W_ACTIVE || w->draining)
			continue;
		avail++;
		if (takes(w, p, t, n))
			return NULL;
	}
	return avail ? "no worker" : NULL;
}

bool model_busy(const model *m, const char *p, const char *t, const model_need *n)
{
	bool some = false;
	for (size_t i = 0; i < m->nworkers; i++) {
		const model_worker *w = m->workers[i];
		if (w->state != W_ACTIVE || w->draining || !takes(w, p, t, n))
			continue;
		some = true;
		size_t held = 0;
		free(model_held(m, w->name, &held));
		if (fits(m, w, n) && (w->slots == 0 || held < w->slots))
			return false;
	}
	return some;
}

/* best_of returns the job Fetch rq would get from project p, or NULL. */
static model_job *best_of(const model *m, const Whatsnext__V1__FetchRequest *rq, const char *p)
{
	model_project *mp = model_project_get(m, p);
	if (mp == NULL || mp->status == 2)
		return NULL;
	model_worker *w = model_worker_get(m, rq->worker);
	size_t n = 0;
	model_job **q = model_queue(m, p, &n);
	model_job *best = NULL;
	for (size_t i = 0; i < n && best == NULL; i++) {
		model_task *t = model_task_get(m, q[i]->project, q[i]->task);
		if (t != NULL && task_listed(rq, q[i]->task) && (w == NULL || fits(m, w, &t->need)))
			best = q[i];
	}
	free(q);
	return best;
}

bool model_fetch_any(const model *m, const Whatsnext__V1__FetchRequest *rq, const char *const *ps,
                     size_t np)
{
	for (size_t i = 0; i < np; i++)
		if (best_of(m, rq, ps[i]) != NULL)
			return true;
	return false;
}

int model_fetch_one(model *m, const Whatsnext__V1__FetchRequest *rq, const Whatsnext__V1__Job *got,
                    const char *const *ps, size_t np)
{
	/* highest priority first; projects of equal priority take turns, so any
	 * of their heads may come */
	model_job *heads[16];
	size_t nh = 0;
	int32_t top = INT32_MIN;
	for (size_t i = 0; i < np && nh < 16; i++) {
		model_job *b = best_of(m, rq, ps[i]);
		if (b == NULL)
			continue;
		heads[nh++] = b;
		if (b->priority > top)
			top = b->priority;
	}
	model_job *j = NULL;
	for (size_t i = 0; i < nh; i++)
		if (heads[i]->priority == top && heads[i]->id == got->id)
			j = heads[i];
	if (j == NULL) {
		char want[256] = "";
		for (size_t i = 0; i < nh; i++)
			if (heads[i]->priority == top)
				snprintf(want + strlen(want), sizeof(want) - strlen(want), " %llu",
				         (unsigned long long)heads[i]->id);
		return model_fail(m, "Fetch handed out job %llu; the model expected one of:%s",
		                  (unsigned long long)got->id, nh ? want : " none");
	}
	j->status = ST_RUNNING;
	j->attempt++;
	model_results_fresh(j);
	free(j->external_id);
	j->external_id = model_strdup(""); /* the new attempt's is not known yet */
	free(j->worker);
	j->worker = model_strdup(rq->worker);
	j->started = model_wall(m);
	j->started_mono = m->now;
	j->finished = 0;
	j->leased = true;
	j->lease_attempt = j->attempt;
	j->lease_exp = m->now + MODEL_LEASE_MS;
	return 0;
}

void model_heard(model *m, model_worker *w)
{
	w->last_seen = w->seen_min = model_wall(m);
	w->heard = m->now;
	if (w->state == W_LOST)
		w->state = W_ACTIVE;
}

bool model_holder_ok(const model_job *j, const char *worker)
{
	return j->worker[0] == '\0' || strcmp(j->worker, worker) == 0;
}

/* --------------------------------------------------------------- job states */

void model_job_remove(model *m, model_job *j)
{
	j->removed_status = j->status;
	j->live = false;
	j->leased = false;
	j->cancel_attempt = 0;
	(void)m;
}

void model_lease_lost(model *m, model_job *j)
{
	model_task *t = model_task_get(m, j->project, j->task);
	uint32_t max = t && t->max_attempts ? t->max_attempts : 3;
	j->leased = false;
	j->lost++;
	m->n_lost++;
	model_art_drop(j, j->attempt); /* no Complete will list them now */
	j->status = j->lost >= max ? ST_FAILED : ST_PENDING;
	if (j->status == ST_FAILED)
		j->finished = model_wall(m);
	model_set_reason(j, RK_CONTAINS, "%s", j->worker);
}

/* model_waited_on: a PENDING, BLOCKED or RUNNING job (which may come back
 * to wait) depends on j: Remove without force refuses it. */
bool model_waited_on(const model *m, const model_job *j)
{
	for (size_t i = 0; i < m->njobs; i++) {
		const model_job *y = m->jobs[i];
		if (!y->live ||
		    (y->status != ST_PENDING && y->status != ST_BLOCKED && y->status != ST_RUNNING))
			continue;
		for (size_t d = 0; d < y->ndeps; d++)
			if (y->deps[d].id == j->id)
				return true;
	}
	return false;
}

bool model_retention_held(const model *m, const model_job *j)
{
	for (size_t i = 0; i < m->njobs; i++) {
		const model_job *y = m->jobs[i];
		if (!y->live || y->status == ST_COMPLETED)
			continue;
		for (size_t d = 0; d < y->ndeps; d++)
			if (y->deps[d].id == j->id)
				return true;
	}
	return false;
}

/* ---------------------------------------------------------------- dispatch */

int model_exec(model *m, const model_call *c)
{
	int rv;
	if (strncmp(c->method, "ProjectService/", 15) == 0)
		rv = model_exec_project(m, c);
	else if (strncmp(c->method, "TaskService/", 12) == 0)
		rv = model_exec_task(m, c);
	else if (strcmp(c->method, "JobService/Log") == 0)
		rv = model_exec_log(m, c);
	else if (strcmp(c->method, "JobService/History") == 0)
		rv = model_exec_history(m, c);
	else if (strcmp(c->method, "JobService/GetArtifact") == 0)
		rv = model_exec_get_artifact(m, c);
	else if (strcmp(c->method, "QueueService/PutArtifact") == 0)
		rv = model_exec_put_artifact(m, c);
	else if (strncmp(c->method, "JobService/", 11) == 0 ||
	         strncmp(c->method, "SweepService/", 13) == 0)
		rv = model_exec_job(m, c);
	else if (strncmp(c->method, "QueueService/", 13) == 0)
		rv = model_exec_queue(m, c);
	else if (strncmp(c->method, "WorkerService/", 14) == 0)
		rv = model_exec_worker(m, c);
	else
		rv = model_fail(m, "the model has no method %s", c->method);
	if (rv == 0)
		model_settle(m);
	return rv;
}

/* ------------------------------------------------------------------ checks */

int model_want(model *m, const model_call *c, int code, const char *why)
{
	if (c->code == code)
		return 0;
	return model_fail(m, "%s: expected %s (%s), got %s%s%s", c->method, wn_code_name(code), why,
	                  wn_code_name(c->code), c->code ? ": " : "", c->code ? c->msg : "");
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool name_like(const char *s, const char *more)
{
	size_t n = strlen(s);
	if (n == 0 || n > WN_NAME_MAX || !name_char(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!name_char(s[i]) && strchr(more, s[i]) == NULL)
			return false;
	return true;
}

bool model_name_ok(const char *s)
{
	return name_like(s, "._-");
}

bool model_jobname_ok(const char *s)
{
	return name_like(s, "._-=,:+@");
}

bool model_label_value_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return false;
	return true;
}

model_job *model_job_new(model *m, uint64_t id)
{
	if (m->njobs == m->capjobs) {
		m->capjobs = m->capjobs ? 2 * m->capjobs : 64;
		m->jobs = wn_xrealloc(m->jobs, m->capjobs * sizeof(*m->jobs));
	}
	model_job *j = wn_xcalloc(1, sizeof(*j));
	j->id = id;
	j->live = true;
	j->worker = model_strdup("");
	j->reason = model_strdup("");
	j->output_tail = model_strdup("");
	j->external_id = model_strdup("");
	j->created = model_wall(m);
	m->jobs[m->njobs++] = j;
	wn_map_put_u64(m->byid, id, j);
	if (id > m->max_id)
		m->max_id = id;
	return j;
}
