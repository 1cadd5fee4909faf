/* compare: server answers against the model. */
#include "compare.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) return model_fail(m, __VA_ARGS__)

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* time_field: value v of a time field against the model's t (0: unset). */
static bool time_field(int64_t v, int64_t t)
{
	return t == 0 ? v == 0 : model_time_ok(v, t);
}

static int reason_check(model *m, const model_job *j, const Whatsnext__V1__Job *g,
                        const char *where)
{
	const char *r = g->reason ? g->reason : "";
	bool ok;
	switch (j->reason_kind) {
	case RK_EXACT:
		ok = strcmp(r, j->reason) == 0;
		break;
	case RK_PREFIX:
		ok = strncmp(r, j->reason, strlen(j->reason)) == 0;
		break;
	case RK_CONTAINS:
		ok = strstr(r, j->reason) != NULL;
		break;
	case RK_NONEMPTY:
		ok = r[0] != '\0';
		break;
	default: {
		/* BLOCKED: the reason names a dependency that can no longer hold */
		unsigned long long x = 0;
		ok = sscanf(r, "dependency job %llu ", &x) == 1;
		bool broken = false;
		for (size_t i = 0; ok && i < j->ndeps; i++)
			broken |= j->deps[i].id == x &&
			          model_edge(j->deps[i].cond, model_dep_status(m, x)) < 0;
		ok = ok && broken;
		break;
	}
	}
	if (!ok)
		FAIL("%s: job %llu reason \"%.300s\"; the model expected %s\"%.300s\"", where,
		     (unsigned long long)j->id, r,
		     j->reason_kind == RK_EXACT      ? ""
		     : j->reason_kind == RK_PREFIX   ? "a text starting with "
		     : j->reason_kind == RK_CONTAINS ? "a text containing "
		     : j->reason_kind == RK_NONEMPTY ? "any text "
		                                     : "a currently unsatisfiable ",
		     j->reason);
	return 0;
}

/* waiting_expect says what a PENDING job's waiting text and position must
 * be: *pos (-2: any non-negative queue place) and the text (NULL: one of the
 * queue-place texts). */
static const char *waiting_expect(const model *m, const model_job *j, int what, int64_t *pos,
                                  char *buf, size_t len)
{
	model_project *p = model_project_get(m, j->project);
	model_task *t = model_task_get(m, j->project, j->task);
	*pos = -1;
	if (j->held) {
		snprintf(buf, len, "held; wnctl job release %llu lets it run",
		         (unsigned long long)j->id);
		return buf;
	}
	if (p != NULL && p->status == 2) {
		snprintf(buf, len, "project %s is archived", p->name);
		return buf;
	}
	if (!model_ready(m, j)) {
		for (size_t i = 0; i < j->ndeps; i++) {
			int st = model_dep_status(m, j->deps[i].id);
			if (model_edge(j->deps[i].cond, st) != 1) {
				snprintf(buf, len, "waiting for job %llu (%s; it is %s)",
				         (unsigned long long)j->deps[i].id,
				         model_cond_name(j->deps[i].cond),
				         st ? model_status_name(st) : "removed");
				return buf;
			}
		}
	}
	if (t != NULL && model_never(m, j->project, j->task, &t->need) != NULL)
		return "never";
	if (model_capped(m, j)) {
		model_sweep *s = model_sweep_get(m, j->sweep_id);
		snprintf(buf, len, "sweep %llu has %llu running (max_running %u)",
		         (unsigned long long)s->id,
		         (unsigned long long)model_sweep_count(m, s->id, ST_RUNNING),
		         s->max_running);
		return buf;
	}
	if ((what & (CJ_POSITION | CJ_OUT)) && model_past_room(m, j)) {
		/* the server finds it out of line only when it walks the line */
		model_sweep *s = model_sweep_get(m, j->sweep_id);
		snprintf(buf, len,
		         "sweep %llu has %llu running (max_running %u); its jobs ahead take the "
		         "free places",
		         (unsigned long long)s->id,
		         (unsigned long long)model_sweep_count(m, s->id, ST_RUNNING),
		         s->max_running);
		return buf;
	}
	*pos = -2;
	return NULL;
}

static int waiting_check(model *m, const model_job *j, const Whatsnext__V1__Job *g, int what,
                         const char *where)
{
	const char *w = g->waiting ? g->waiting : "";
	if (!(what & CJ_WAITING) || j->status != ST_PENDING) {
		if (w[0] != '\0' || g->position != 0)
			FAIL("%s: job %llu (%s) has waiting \"%s\", position %lld; none expected",
			     where, (unsigned long long)j->id, model_status_name(j->status), w,
			     (long long)g->position);
		return 0;
	}
	char buf[300];
	int64_t pos;
	const char *want = waiting_expect(m, j, what, &pos, buf, sizeof(buf));
	if (want != NULL && strcmp(want, "never") == 0) {
		if (strncmp(w, "needs ", 6) != 0 && strncmp(w, "no active worker", 16) != 0)
			FAIL("%s: job %llu waiting \"%s\"; the model expected that no worker can "
			     "run it",
			     where, (unsigned long long)j->id, w);
	} else if (want != NULL && strcmp(w, want) != 0) {
		FAIL("%s: job %llu waiting \"%s\"; the model expected \"%s\"", where,
		     (unsigned long long)j->id, w, want);
	}
	if (want != NULL) {
		if (g->position != -1)
			FAIL("%s: job %llu position %lld; the model expected -1 (%s)", where,
			     (unsigned long long)j->id, (long long)g->position, want);
		return 0;
	}
	model_task *t = model_task_get(m, j->project, j->task);
	const char *wait = t != NULL && model_busy(m, j->project, j->task, &t->need)
	                       ? "every worker that can run it is busy"
	                       : "waiting for a worker";
	if (!(what & CJ_POSITION)) {
		if (strcmp(w, wait) != 0 || g->position != 0)
			FAIL("%s: job %llu waiting \"%s\" position %lld; the model expected \"%s\"",
			     where, (unsigned long long)j->id, w, (long long)g->position, wait);
		return 0;
	}
	size_t n = 0;
	model_job **q = model_line(m, j->project, &n);
	int64_t at = -1;
	for (size_t i = 0; i < n; i++)
		if (q[i] == j)
			at = (int64_t)i;
	free(q);
	if (at == 0)
		snprintf(buf, sizeof(buf), "next in line; %s",
		         wait[0] == 'e' ? wait : "waiting for a worker to fetch");
	else
		snprintf(buf, sizeof(buf), "%s; %lld job%s ahead in the queue", wait, (long long)at,
		         at == 1 ? "" : "s");
	if (g->position != at || strcmp(w, buf) != 0)
		FAIL("%s: job %llu at position %lld (\"%s\"); the model expected %lld (\"%s\")",
		     where, (unsigned long long)j->id, (long long)g->position, w, (long long)at,
		     buf);
	return 0;
}

static int brief_check(model *m, const model_job *j, const Whatsnext__V1__Job *g, const char *where)
{
	Whatsnext__V1__Job rest = *g;
	rest.id = 0;
	rest.status = 0;
	rest.attempt = 0;
	if (protobuf_c_message_get_packed_size(&rest.base) != 0)
		FAIL("%s: brief job %llu carries more than id, status and attempt", where,
		     (unsigned long long)j->id);
	if ((int)g->status != j->status || g->attempt != j->attempt)
		FAIL("%s: brief job %llu is %s attempt %u; the model expected %s attempt %u", where,
		     (unsigned long long)j->id, model_status_name((int)g->status), g->attempt,
		     model_status_name(j->status), j->attempt);
	return 0;
}

static int deps_check(model *m, const model_job *j, const Whatsnext__V1__Job *g, int what,
                      const char *where)
{
	if (g->n_deps != j->ndeps)
		FAIL("%s: job %llu has %zu dependencies; the model has %zu", where,
		     (unsigned long long)j->id, g->n_deps, j->ndeps);
	for (size_t i = 0; i < j->ndeps; i++) {
		const Whatsnext__V1__Dependency *d = g->deps[i];
		int st = (what & CJ_DEPS) ? model_dep_status(m, j->deps[i].id) : (int)d->status;
		if (d->job_id != j->deps[i].id || (int)d->condition != j->deps[i].cond ||
		    (int)d->status != st || d->ref[0] != '\0')
			FAIL("%s: job %llu dependency %zu is %s %llu (%s); the model expected %s "
			     "%llu "
			     "(%s)",
			     where, (unsigned long long)j->id, i + 1,
			     model_cond_name((int)d->condition), (unsigned long long)d->job_id,
			     model_status_name((int)d->status), model_cond_name(j->deps[i].cond),
			     (unsigned long long)j->deps[i].id, model_status_name(st));
	}
	return 0;
}

int compare_job(model *m, const model_job *j, const Whatsnext__V1__Job *g, int what,
                const char *where)
{
	if (j == NULL || g == NULL)
		FAIL("%s: job %llu %s", where, (unsigned long long)(g ? g->id : j->id),
		     g ? "is not in the model" : "missing from the reply");
	if (g->id != j->id)
		FAIL("%s: job %llu where the model expected job %llu", where,
		     (unsigned long long)g->id, (unsigned long long)j->id);
	if (what & CJ_BRIEF)
		return brief_check(m, j, g, where);
#define FIELD(ok, fmt, got, want)                                                                  \
	if (!(ok))                                                                                 \
	FAIL("%s: job %llu " fmt "; the model expected " fmt, where, (unsigned long long)j->id,    \
	     got, want)
	FIELD(str_eq(g->project, j->project), "project %s", g->project, j->project);
	FIELD(str_eq(g->task, j->task), "task %s", g->task, j->task);
	FIELD(str_eq(g->name, j->name), "name \"%s\"", g->name, j->name);
	FIELD((int)g->status == j->status, "status %s", model_status_name((int)g->status),
	      model_status_name(j->status));
	FIELD(g->priority == j->priority, "priority %d", g->priority, j->priority);
	FIELD(g->held == j->held, "held %d", (int)g->held, (int)j->held);
	FIELD(g->stopping == model_job_stopping(j), "stopping %d", (int)g->stopping,
	      (int)model_job_stopping(j));
	FIELD(g->attempt == j->attempt, "attempt %u", g->attempt, j->attempt);
	FIELD(str_eq(g->worker, j->worker), "worker \"%s\"", g->worker, j->worker);
	FIELD(g->exit_code == j->exit_code, "exit code %d", g->exit_code, j->exit_code);
	FIELD(g->lost == j->lost, "lost %u", g->lost, j->lost);
	FIELD(g->failures == j->failures, "failures %u", g->failures, j->failures);
	FIELD(g->duration_ms == j->duration, "duration %lld", (long long)g->duration_ms,
	      (long long)j->duration);
	FIELD(g->sweep_id == j->sweep_id, "sweep %llu", (unsigned long long)g->sweep_id,
	      (unsigned long long)j->sweep_id);
	FIELD(g->submit_request_id == j->submit_reqid, "submit_request_id %llu",
	      (unsigned long long)g->submit_request_id, (unsigned long long)j->submit_reqid);
	FIELD(str_eq(g->external_id, j->external_id), "external_id \"%s\"", g->external_id,
	      j->external_id);
	FIELD(str_eq(g->output_tail, j->output_tail), "output of %zu bytes", strlen(g->output_tail),
	      strlen(j->output_tail));
	FIELD(model_results_same(j, g), "%zu results", g->n_results, j->res_n);
	char awhy[96];
	if (model_art_check(j, g->artifacts, g->n_artifacts, awhy, sizeof(awhy)) != 0)
		FAIL("%s: job %llu has %s", where, (unsigned long long)j->id, awhy);
	FIELD(time_field(g->created_ms, j->created), "created_ms %lld", (long long)g->created_ms,
	      (long long)j->created);
	FIELD(time_field(g->started_ms, j->started), "started_ms %lld", (long long)g->started_ms,
	      (long long)j->started);
	FIELD(time_field(g->finished_ms, j->finished), "finished_ms %lld",
	      (long long)g->finished_ms, (long long)j->finished);
	if ((what & CJ_LEASE) && j->status == ST_RUNNING)
		FIELD(model_time_ok(g->lease_expires_ms, j->lease_exp + m->wall_off),
		      "lease_expires_ms %lld", (long long)g->lease_expires_ms,
		      (long long)(j->lease_exp + m->wall_off));
#undef FIELD
	if (g->n_params != j->nparams)
		FAIL("%s: job %llu has %zu parameters; the model has %zu", where,
		     (unsigned long long)j->id, g->n_params, j->nparams);
	for (size_t i = 0; i < j->nparams; i++)
		if (!str_eq(g->params[i]->key, j->params[i].k) ||
		    !str_eq(g->params[i]->value, j->params[i].v))
			FAIL("%s: job %llu parameter %s differs from the model's", where,
			     (unsigned long long)j->id, j->params[i].k);
	if (reason_check(m, j, g, where) != 0 || deps_check(m, j, g, what, where) != 0)
		return -1;
	return waiting_check(m, j, g, what, where);
}

int compare_worker(model *m, const model_worker *w, const Whatsnext__V1__Worker *g,
                   const char *where)
{
	if (w == NULL)
		FAIL("%s: worker %s is not in the model", where, g ? g->name : "?");
	if (g == NULL || !str_eq(g->name, w->name))
		FAIL("%s: worker %s missing", where, w->name);
	if (!str_eq(g->host, w->host) || !str_eq(g->version, w->version) || g->slots != w->slots)
		FAIL("%s: worker %s host, version or slots differ from the model's", where,
		     w->name);
	if ((int)g->state != w->state || g->draining != w->draining)
		FAIL("%s: worker %s is state %d%s; the model expected state %d%s", where, w->name,
		     (int)g->state, g->draining ? " draining" : "", w->state,
		     w->draining ? " draining" : "");
	if (!model_time_ok(g->registered_ms, w->registered) ||
	    g->last_seen_ms < w->seen_min - 1000 || g->last_seen_ms > w->last_seen + MODEL_TOL_MS)
		FAIL("%s: worker %s registered %lld, last seen %lld; the model expected %lld, %lld",
		     where, w->name, (long long)g->registered_ms, (long long)g->last_seen_ms,
		     (long long)w->registered, (long long)w->last_seen);
	const Whatsnext__V1__Capacity *c = g->capacity;
	bool same = (c != NULL) == w->has_cap;
	if (same && c != NULL) {
		same = c->cpu == w->cpu && c->memory_mb == w->mem && c->n_gpus == w->ngpus &&
		       c->n_labels == w->nlabels;
		for (size_t i = 0; same && i < w->ngpus; i++)
			same = str_eq(c->gpus[i], w->gpus[i]);
		for (size_t i = 0; same && i < w->nlabels; i++)
			same = str_eq(c->labels[i]->key, w->labels[i].k) &&
			       str_eq(c->labels[i]->value, w->labels[i].v);
	}
	same = same && g->n_projects == w->nprojects && g->n_tasks == w->ntasks;
	for (size_t i = 0; same && i < w->nprojects; i++)
		same = str_eq(g->projects[i], w->projects[i]);
	for (size_t i = 0; same && i < w->ntasks; i++)
		same = str_eq(g->tasks[i], w->tasks[i]);
	if (!same)
		FAIL("%s: worker %s capacity or projects differ from what it announced", where,
		     w->name);
	uint32_t cpu, gpu;
	uint64_t mem;
	model_used(m, w->name, &cpu, &gpu, &mem);
	const Whatsnext__V1__Resources *u = g->used;
	if (u == NULL || u->cpu != cpu || u->gpu != gpu || u->memory_mb != mem)
		FAIL("%s: worker %s uses cpu %u gpu %u memory %llu; the model expected %u %u %llu",
		     where, w->name, u ? u->cpu : 0, u ? u->gpu : 0,
		     u ? (unsigned long long)u->memory_mb : 0ULL, cpu, gpu,
		     (unsigned long long)mem);
	size_t n = 0;
	model_job **held = model_held(m, w->name, &n);
	same = g->n_jobs == n;
	for (size_t i = 0; same && i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < g->n_jobs; k++)
			found |= g->jobs[k] == held[i]->id;
		same = found;
	}
	char want[256] = "";
	for (size_t i = 0; i < n && strlen(want) < 200; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), " %llu",
		         (unsigned long long)held[i]->id);
	free(held);
	if (!same) {
		char got[256] = "";
		for (size_t i = 0; i < g->n_jobs && strlen(got) < 200; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), " %llu",
			         (unsigned long long)g->jobs[i]);
		FAIL("%s: worker %s holds jobs [%s ]; the model expected [%s ]", where, w->name,
		     got, want);
	}
	return 0;
}

int compare_sweep(model *m, const model_sweep *s, const Whatsnext__V1__Sweep *g, const char *where)
{
	if (s == NULL)
		FAIL("%s: sweep %llu is not in the model", where,
		     g ? (unsigned long long)g->id : 0ULL);
	if (g == NULL || g->id != s->id)
		FAIL("%s: sweep %llu missing", where, (unsigned long long)s->id);
	if (!str_eq(g->project, s->project) || !str_eq(g->name, s->name) ||
	    g->max_running != s->max_running || g->total != s->total ||
	    !model_time_ok(g->created_ms, s->created))
		FAIL("%s: sweep %llu is %s/%s max_running %u total %llu; the model expected %s/%s "
		     "%u %llu",
		     where, (unsigned long long)s->id, g->project, g->name, g->max_running,
		     (unsigned long long)g->total, s->project, s->name, s->max_running,
		     (unsigned long long)s->total);
	const uint64_t got[] = {g->pending, g->running, g->completed,
	                        g->failed,  g->blocked, g->cancelled};
	for (int st = ST_PENDING; st <= ST_CANCELLED; st++) {
		uint64_t want = model_sweep_count(m, s->id, st);
		if (got[st - 1] != want)
			FAIL("%s: sweep %llu counts %llu %s; the model has %llu", where,
			     (unsigned long long)s->id, (unsigned long long)got[st - 1],
			     model_status_name(st), (unsigned long long)want);
	}
	return 0;
}

int compare_project(model *m, const model_project *p, const Whatsnext__V1__Project *g,
                    const char *where)
{
	if (p == NULL)
		FAIL("%s: project %s is not in the model", where, g ? g->name : "?");
	if (g == NULL || !str_eq(g->name, p->name))
		FAIL("%s: project %s missing", where, p->name);
	if (!str_eq(g->description, p->desc) || (int)g->status != p->status ||
	    !model_time_ok(g->created_ms, p->created) || !model_time_ok(g->updated_ms, p->updated))
		FAIL("%s: project %s (status %d, created %lld, updated %lld) differs from the "
		     "model's (status %d, %lld, %lld)",
		     where, p->name, (int)g->status, (long long)g->created_ms,
		     (long long)g->updated_ms, p->status, (long long)p->created,
		     (long long)p->updated);
	return 0;
}

int compare_task(model *m, const model_task *t, const Whatsnext__V1__Task *g, const char *where)
{
	if (t == NULL)
		FAIL("%s: task %s is not in the model", where, g ? g->name : "?");
	if (g == NULL || !str_eq(g->name, t->name) || !str_eq(g->project, t->project))
		FAIL("%s: task %s/%s missing", where, t->project, t->name);
	const Whatsnext__V1__Resources *r = g->resources;
	bool same = (r != NULL) == t->need.set;
	if (same && r != NULL) {
		same = r->cpu == t->need.cpu && r->gpu == t->need.gpu &&
		       r->memory_mb == t->need.mem && r->n_labels == t->need.nlabels;
		for (size_t i = 0; same && i < t->need.nlabels; i++)
			same = str_eq(r->labels[i]->key, t->need.labels[i].k) &&
			       str_eq(r->labels[i]->value, t->need.labels[i].v);
	}
	if (!same || !str_eq(g->description, t->desc) || g->max_attempts != t->max_attempts ||
	    g->retries != t->retries || g->timeout_s != t->timeout_s ||
	    !model_time_ok(g->created_ms, t->created) || !model_time_ok(g->updated_ms, t->updated))
		FAIL("%s: task %s/%s (max_attempts %u, retries %u, timeout %u) differs from the "
		     "model's (%u, %u, %u)%s",
		     where, t->project, t->name, g->max_attempts, g->retries, g->timeout_s,
		     t->max_attempts, t->retries, t->timeout_s, same ? "" : " in its resources");
	return 0;
}
