/* model_queue: QueueService (fetch, heartbeat, complete, release, clear,
 * pop) and WorkerService (join, leave, drain) as docs/protocol.md 7.4, 7.6
 * and 9 describe them. */
#include "compare.h"
#include "model.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)
#define TAIL_MAX        65536

/* fetch_projects lists the projects a Fetch names, each once. */
static size_t fetch_projects(const Whatsnext__V1__FetchRequest *rq, const char **ps, size_t cap)
{
	size_t n = 0;
	size_t all = (rq->project[0] != '\0') + rq->n_projects;
	for (size_t i = 0; i < all && n < cap; i++) {
		const char *p = i == 0 && rq->project[0] ? rq->project
		                                         : rq->projects[i - (rq->project[0] != 0)];
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(ps[k], p) == 0;
		if (!dup)
			ps[n++] = p;
	}
	return n;
}

/* fetch_check returns the code a FetchRequest deserves (0: valid). */
static int fetch_check(const model *m, const Whatsnext__V1__FetchRequest *rq, const char **why)
{
	if (!model_name_ok(rq->worker))
		return *why = "invalid worker name", C_INVALID;
	if (rq->wait_ms > 60000)
		return *why = "wait_ms over 60000", C_INVALID;
	if (rq->max_jobs > 1000)
		return *why = "max_jobs over 1000", C_INVALID;
	size_t all = (rq->project[0] != '\0') + rq->n_projects;
	if (all == 0)
		return *why = "no project", C_INVALID;
	for (size_t i = 0; i < all; i++) {
		const char *p = i == 0 && rq->project[0] ? rq->project
		                                         : rq->projects[i - (rq->project[0] != 0)];
		if (!model_name_ok(p))
			return *why = "invalid project name", C_INVALID;
		if (model_project_get(m, p) == NULL)
			return *why = "no such project", C_NOT_FOUND;
	}
	for (size_t i = 0; i < rq->n_tasks; i++)
		if (!model_name_ok(rq->tasks[i]))
			return *why = "invalid task name", C_INVALID;
	return C_OK;
}

/* fetch_apply judges the jobs a valid Fetch handed out (got, n of them). */
static int fetch_apply(model *m, const Whatsnext__V1__FetchRequest *rq, size_t want,
                       Whatsnext__V1__Job *const *got, size_t n)
{
	const char *ps[16];
	size_t np = fetch_projects(rq, ps, 16);
	model_worker *w = model_worker_get(m, rq->worker);
	if (w != NULL) {
		model_heard(m, w);
		if (w->draining)
			want = 0; /* a draining worker gets nothing */
	}
	if (n > want)
		return model_fail(m, "Fetch handed out %zu job(s), at most %zu expected", n, want);
	for (size_t i = 0; i < n; i++) {
		if (model_fetch_one(m, rq, got[i], ps, np) != 0)
			return -1;
		if (compare_job(m, model_job_get(m, got[i]->id), got[i], CJ_LEASE, "fetched job") !=
		    0)
			return -1;
		model_settle(m);
	}
	/* with faults, a job whose record could not be read ends the claim:
	 * those claimed before it are handed out (docs/server.md) */
	if (n < want && !(m->faults && n > 0) && model_fetch_any(m, rq, ps, np))
		return model_fail(m,
		                  "Fetch handed out %zu of %zu job(s) while the model has more "
		                  "ready for it",
		                  n, want);
	return 0;
}

/* fetch_tasks: a Fetch (or a Complete's next, what) answers the task of
 * each job it hands out, once each, with its settings as they are now: the
 * tasks[0..ntasks) of its reply. */
static int fetch_tasks(model *m, const char *what, Whatsnext__V1__Task *const *tasks, size_t ntasks,
                       Whatsnext__V1__Job *const *got, size_t n)
{
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(got[k]->project, got[i]->project) == 0 &&
			       strcmp(got[k]->task, got[i]->task) == 0;
		distinct += !seen;
		const model_task *t = model_task_get(m, got[i]->project, got[i]->task);
		const Whatsnext__V1__Task *rt = NULL;
		for (size_t k = 0; k < ntasks && rt == NULL; k++)
			if (strcmp(tasks[k]->project, got[i]->project) == 0 &&
			    strcmp(tasks[k]->name, got[i]->task) == 0)
				rt = tasks[k];
		if (t != NULL && (rt == NULL || rt->timeout_s != t->timeout_s))
			return model_fail(m, "%s answered job %llu without its task %s/%s as it is",
			                  what, (unsigned long long)got[i]->id, got[i]->project,
			                  got[i]->task);
	}
	if (ntasks != distinct)
		return model_fail(m, "%s answered %zu tasks for %zu distinct ones", what, ntasks,
		                  distinct);
	return 0;
}

static int queue_fetch(model *m, const model_call *c)
{
	const Whatsnext__V1__FetchRequest *rq = (const void *)c->rq;
	const char *why = NULL;
	int code = fetch_check(m, rq, &why);
	if (code != C_OK)
		WANT(code, why);
	if (c->code != C_OK)
		WANT(C_OK, "a valid fetch");
	const Whatsnext__V1__FetchResponse *r = (const void *)c->rp;
	Whatsnext__V1__Job *got[1024];
	size_t n = 0;
	if (r->job != NULL)
		got[n++] = r->job;
	else if (r->n_more > 0)
		return model_fail(m, "Fetch answered more jobs but no first job");
	for (size_t i = 0; i < r->n_more && n < 1024; i++)
		got[n++] = r->more[i];
	if (fetch_tasks(m, "Fetch", r->tasks, r->n_tasks, got, n) != 0)
		return -1;
	return fetch_apply(m, rq, rq->max_jobs ? rq->max_jobs : 1, got, n);
}

static bool id_in(uint64_t id, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* heartbeat_progress applies what rq carries of the jobs its worker holds
 * at that attempt: their output and results. */
static void heartbeat_progress(model *m, const Whatsnext__V1__HeartbeatRequest *rq)
{
	for (size_t i = 0; i < rq->n_progress; i++) {
		const Whatsnext__V1__JobProgress *pg = rq->progress[i];
		model_job *j = model_job_get(m, pg->job_id);
		if (j != NULL &&
		    ((j->leased && j->lease_attempt == pg->attempt) ||
		     (j->cancel_attempt != 0 && j->cancel_attempt == pg->attempt &&
		      j->status == ST_CANCELLED)) &&
		    j->attempt == pg->attempt && model_holder_ok(j, rq->worker)) {
			model_output_apply(j, pg);
			model_results_apply(j, pg, false);
		}
	}
}

static int queue_heartbeat(model *m, const model_call *c)
{
	const Whatsnext__V1__HeartbeatRequest *rq = (const void *)c->rq;
	if (!model_name_ok(rq->worker))
		WANT(C_INVALID, "invalid worker name");
	if (rq->wait_ms > 60000)
		WANT(C_INVALID, "wait_ms over the limit");
	for (size_t i = 0; i < rq->n_leases; i++) {
		/* a lease held by another worker at that attempt refuses it all */
		const Whatsnext__V1__Lease *l = rq->leases[i];
		model_job *j = model_job_get(m, l->job_id);
		bool current = j != NULL && ((j->leased && j->lease_attempt == l->attempt) ||
		                             j->cancel_attempt == l->attempt);
		if (current && j->attempt == l->attempt && !model_holder_ok(j, rq->worker))
			WANT(C_STATE, "a lease held by another worker");
	}
	for (size_t i = 0; i < rq->n_progress; i++)
		for (size_t k = 0; k < i; k++)
			if (rq->progress[k]->job_id == rq->progress[i]->job_id)
				WANT(C_INVALID, "two progress of one job");
	for (size_t i = 0; i < rq->n_progress; i++)
		if (model_results_bad(rq->progress[i]))
			WANT(C_INVALID, "a result that is not finite");
	if (c->code != C_OK)
		WANT(C_OK, "a valid heartbeat");
	const Whatsnext__V1__HeartbeatResponse *r = (const void *)c->rp;
	model_worker *w = model_worker_get(m, rq->worker);
	bool drain = w != NULL && w->draining;
	if (w != NULL)
		model_heard(m, w);
	uint64_t cancelled[64], lost[64];
	size_t nc = 0, nl = 0;
	for (size_t i = 0; i < rq->n_leases && i < 64; i++) {
		const Whatsnext__V1__Lease *l = rq->leases[i];
		model_job *j = model_job_get(m, l->job_id);
		bool held = j != NULL && j->leased && j->lease_attempt == l->attempt;
		if (held && l->external_id[0] && strlen(l->external_id) <= 128) {
			free(j->external_id);
			j->external_id = model_strdup(l->external_id);
		}
		if (j != NULL && j->cancel_attempt != 0 && j->cancel_attempt == l->attempt)
			cancelled[nc++] = l->job_id;
		else if (held)
			j->lease_exp = m->now + MODEL_LEASE_MS;
		else if (!(j != NULL && j->status == ST_RUNNING && j->attempt > l->attempt &&
		           j->worker != NULL && strcmp(j->worker, rq->worker) == 0))
			lost[nl++] = l->job_id; /* not a later run on this worker */
	}
	heartbeat_progress(m, rq);
	/* a long poll with no news from the leases or the drain is answered at
	 * once, held, when the worker holds a lease the request does not name
	 * (the driver sends no other: the model cannot wait) */
	bool held = rq->wait_ms > 0 && nc == 0 && nl == 0 && rq->draining == drain && w != NULL &&
	            w->state == W_ACTIVE && model_unnamed_held(m, rq, MODEL_FRESH_LEASE_MS);
	if (r->drain != drain || r->held != held)
		return model_fail(m,
		                  "Heartbeat answered drain=%d held=%d; the model expected %d %d",
		                  r->drain, r->held, drain, held);
	if (r->unknown_worker != (w == NULL))
		return model_fail(m, "Heartbeat answered unknown_worker=%d; the model expected %d",
		                  r->unknown_worker, w == NULL);
	if (!model_time_ok(r->lease_expires_ms, model_wall(m) + MODEL_LEASE_MS))
		return model_fail(m,
		                  "Heartbeat answered lease_expires_ms %lld; the model expected "
		                  "about %lld",
		                  (long long)r->lease_expires_ms,
		                  (long long)(model_wall(m) + MODEL_LEASE_MS));
	bool same = r->n_cancelled == nc && r->n_lost == nl;
	for (size_t i = 0; same && i < nc; i++)
		same = id_in(cancelled[i], r->cancelled, r->n_cancelled);
	for (size_t i = 0; same && i < nl; i++)
		same = id_in(lost[i], r->lost, r->n_lost);
	if (!same)
		return model_fail(m,
		                  "Heartbeat answered %zu cancelled and %zu lost lease(s); the "
		                  "model expected %zu and %zu",
		                  r->n_cancelled, r->n_lost, nc, nl);
	return 0;
}

static const char *tail_of(const char *s)
{
	size_t n = strlen(s);
	return n <= TAIL_MAX ? s : s + n - TAIL_MAX;
}

/* complete_check returns the code a result deserves (0: valid); *j is the
 * job and *cancelled says it was cancelled while it ran. */
static int complete_check(const model *m, const Whatsnext__V1__CompleteRequest *rq, model_job **j,
                          bool *cancelled, const char **why)
{
	*cancelled = false;
	if (strlen(rq->reason) > 4096)
		return *why = "reason over 4096 bytes", C_INVALID;
	if (strlen(rq->external_id) > 128)
		return *why = "external_id over 128 bytes", C_INVALID;
	if (rq->duration_ms < 0)
		return *why = "a negative duration_ms", C_INVALID;
	if (rq->progress != NULL && model_results_bad(rq->progress))
		return *why = "a result that is not finite", C_INVALID;
	if (model_art_bad(rq))
		return *why = "an artifact without a path", C_INVALID;
	if ((*j = model_job_get(m, rq->job_id)) == NULL)
		return *why = "no such job", C_NOT_FOUND;
	*cancelled = (*j)->cancel_attempt != 0 && (*j)->cancel_attempt == rq->attempt &&
	             (*j)->status == ST_CANCELLED;
	if (!*cancelled && ((*j)->status != ST_RUNNING || (*j)->attempt != rq->attempt ||
	                    !(*j)->leased || (*j)->lease_attempt != rq->attempt))
		return *why = "the lease is not held", C_STATE;
	if (!model_holder_ok(*j, rq->worker))
		return *why = "the lease is held by another worker", C_STATE;
	return C_OK;
}

/* complete_apply records the end of the run of j as rq reports it. */
static void complete_apply(model *m, const Whatsnext__V1__CompleteRequest *rq, model_job *j,
                           bool cancelled)
{
	model_task *t = model_task_get(m, j->project, j->task);
	model_art_completed(j, rq);
	model_output_completed(j, rq->attempt);
	if (rq->progress != NULL) {
		model_output_apply(j, rq->progress);
		model_results_apply(j, rq->progress, true);
	}
	j->exit_code = rq->exit_code;
	free(j->output_tail);
	j->output_tail = model_strdup(tail_of(rq->output_tail));
	j->duration = rq->duration_ms;
	if (rq->external_id[0]) {
		free(j->external_id);
		j->external_id = model_strdup(rq->external_id);
	}
	j->finished = model_wall(m);
	j->leased = false;
	j->cancel_attempt = 0;
	if (cancelled)
		return; /* stays CANCELLED with its reason */
	if (rq->success) {
		j->status = ST_COMPLETED;
		model_set_reason(j, RK_EXACT, "%s", "");
	} else if (rq->cancelled) {
		j->status = ST_CANCELLED;
		if (rq->reason[0])
			model_set_reason(j, RK_EXACT, "%s", rq->reason);
		else
			model_set_reason(j, RK_NONEMPTY, "%s", "");
	} else {
		j->failures++;
		if (j->failures <= (t ? t->retries : 0)) {
			j->status = ST_PENDING;
			j->finished = 0;
			model_set_reason(j, RK_PREFIX, "attempt %u failed: ", j->attempt);
		} else {
			j->status = ST_FAILED;
			if (rq->reason[0])
				model_set_reason(j, RK_EXACT, "%s", rq->reason);
			else
				model_set_reason(j, RK_EXACT, "exit code %d", rq->exit_code);
		}
	}
	model_settle(m);
}

static int queue_complete(model *m, const model_call *c)
{
	const Whatsnext__V1__CompleteRequest *rq = (const void *)c->rq;
	model_job *j;
	bool cancelled;
	const char *why = NULL;
	/* `next` claims one job whatever its max_jobs; a bad one is refused
	 * first: the result changes nothing then */
	Whatsnext__V1__FetchRequest next;
	if (rq->next != NULL) {
		next = *rq->next;
		next.max_jobs = 1;
	}
	int code = rq->next != NULL ? fetch_check(m, &next, &why) : C_OK;
	if (code == C_OK)
		code = complete_check(m, rq, &j, &cancelled, &why);
	if (code != C_OK)
		WANT(code, why);
	if (c->code != C_OK)
		WANT(C_OK, "a valid result");
	const Whatsnext__V1__CompleteResponse *r = (const void *)c->rp;
	complete_apply(m, rq, j, cancelled);
	if (r->job == NULL)
		return model_fail(m, "Complete answered no job");
	/* the job as the result left it, before `next` claims (maybe it) */
	int rv = compare_job(m, j, r->job, rq->brief ? CJ_BRIEF : CJ_RECORD, "reply");
	if (rv == 0 && rq->next != NULL) {
		Whatsnext__V1__Job *got[1] = {r->next};
		rv = fetch_tasks(m, "Complete's next", r->next_tasks, r->n_next_tasks, got,
		                 r->next != NULL);
		if (rv == 0)
			rv = fetch_apply(m, &next, 1, got, r->next != NULL);
	} else if (rv == 0 && (r->next != NULL || r->n_next_tasks > 0)) {
		rv = model_fail(m, "Complete without next answered a next job or its task");
	}
	return rv;
}

static int queue_complete_batch(model *m, const model_call *c)
{
	const Whatsnext__V1__CompleteBatchRequest *rq = (const void *)c->rq;
	if (c->code != C_OK)
		WANT(C_OK, "a batch of results");
	const Whatsnext__V1__CompleteBatchResponse *r = (const void *)c->rp;
	if (r->n_results != rq->n_results)
		return model_fail(m, "CompleteBatch answered %zu result(s) for %zu", r->n_results,
		                  rq->n_results);
	for (size_t i = 0; i < rq->n_results; i++) {
		const Whatsnext__V1__CompleteRequest *one = rq->results[i];
		const Whatsnext__V1__CompleteResult *res = r->results[i];
		model_job *j = NULL;
		bool cancelled = false;
		const char *why = "a valid result";
		int code = one->next != NULL ? (why = "next in a batch", C_INVALID)
		                             : complete_check(m, one, &j, &cancelled, &why);
		if (m->faults && res->code == 14)
			continue; /* UNAVAILABLE: its read failed, nothing changed */
		if ((int)res->code != code)
			return model_fail(
			    m, "CompleteBatch result %zu: expected %s (%s), got %s: %s", i + 1,
			    wn_code_name(code), why, wn_code_name((int)res->code), res->message);
		if (code != C_OK)
			continue;
		complete_apply(m, one, j, cancelled);
		if (res->job == NULL ||
		    compare_job(m, j, res->job, one->brief ? CJ_BRIEF : CJ_RECORD, "result") != 0)
			return res->job
			           ? -1
			           : model_fail(m, "CompleteBatch result %zu has no job", i + 1);
	}
	return 0;
}

static int queue_release(model *m, const model_call *c)
{
	const Whatsnext__V1__ReleaseRequest *rq = (const void *)c->rq;
	if (strlen(rq->reason) > 4096)
		WANT(C_INVALID, "reason over 4096 bytes");
	model_job *j = model_job_get(m, rq->job_id);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no such job");
	bool cancelled =
	    j->cancel_attempt != 0 && j->cancel_attempt == rq->attempt && j->status == ST_CANCELLED;
	if (!cancelled && (j->status != ST_RUNNING || j->attempt != rq->attempt || !j->leased ||
	                   j->lease_attempt != rq->attempt))
		WANT(C_STATE, "the lease is not held");
	if (!model_holder_ok(j, rq->worker))
		WANT(C_STATE, "the lease is held by another worker");
	if (c->code != C_OK)
		WANT(C_OK, "a valid release");
	j->leased = false;
	j->cancel_attempt = 0;
	if (!cancelled) {
		j->status = ST_PENDING;
		char r200[201];
		snprintf(r200, sizeof(r200), "%s", rq->reason);
		model_set_reason(j, rq->reason[0] ? RK_CONTAINS : RK_NONEMPTY, "%s", r200);
		model_settle(m);
	}
	return compare_job(m, j, (const void *)c->rp, CJ_RECORD, "reply");
}

static int queue_clear(model *m, const model_call *c)
{
	const Whatsnext__V1__ClearRequest *rq = (const void *)c->rq;
	if (!model_name_ok(rq->project))
		WANT(C_INVALID, "invalid project name");
	if (model_project_get(m, rq->project) == NULL)
		WANT(C_NOT_FOUND, "no such project");
	if (rq->task[0] != '\0' && !model_name_ok(rq->task))
		WANT(C_INVALID, "invalid task name");
	if (rq->task[0] != '\0' && model_task_get(m, rq->project, rq->task) == NULL)
		WANT(C_NOT_FOUND, "no such task");
	if (c->code != C_OK)
		WANT(C_OK, "a valid clear");
	uint64_t n = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && j->status == ST_PENDING && strcmp(j->project, rq->project) == 0 &&
		    (rq->task[0] == '\0' || strcmp(j->task, rq->task) == 0)) {
			model_job_remove(m, j);
			n++;
		}
	}
	uint64_t got = ((const Whatsnext__V1__ClearResponse *)c->rp)->removed;
	if (got != n)
		return model_fail(m, "Clear removed %llu job(s); the model expected %llu",
		                  (unsigned long long)got, (unsigned long long)n);
	return 0;
}

/* room_taken: the jobs v[0..k) in line take all the free places of j's
 * capped sweep. */
static bool room_taken(const model *m, model_job *const *v, size_t k, const model_job *j)
{
	model_sweep *s = j->sweep_id ? model_sweep_get(m, j->sweep_id) : NULL;
	if (s == NULL || s->max_running == 0)
		return false;
	uint64_t run = model_sweep_count(m, s->id, ST_RUNNING), ahead = 0;
	for (size_t i = 0; i < k; i++)
		ahead += v[i]->sweep_id == s->id;
	return run + ahead >= s->max_running;
}

model_job **model_line(const model *m, const char *p, size_t *n)
{
	model_job **v = model_queue(m, p, n);
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		model_task *t = model_task_get(m, v[i]->project, v[i]->task);
		if ((t == NULL || model_never(m, p, t->name, &t->need) == NULL) &&
		    !room_taken(m, v, k, v[i]))
			v[k++] = v[i];
	}
	*n = k;
	return v;
}

bool model_past_room(const model *m, const model_job *j)
{
	model_sweep *s = j->sweep_id ? model_sweep_get(m, j->sweep_id) : NULL;
	model_task *t = model_task_get(m, j->project, j->task);
	if (s == NULL || s->max_running == 0 || !model_ready(m, j) || model_capped(m, j) ||
	    (t != NULL && model_never(m, j->project, j->task, &t->need) != NULL))
		return false;
	size_t n = 0;
	model_job **q = model_line(m, j->project, &n);
	bool in = false;
	for (size_t i = 0; i < n && !in; i++)
		in = q[i] == j;
	free(q);
	return !in;
}

static int queue_pop(model *m, const model_call *c)
{
	const Whatsnext__V1__PopRequest *rq = (const void *)c->rq;
	if (!model_name_ok(rq->project))
		WANT(C_INVALID, "invalid project name");
	if (model_project_get(m, rq->project) == NULL)
		WANT(C_NOT_FOUND, "no such project");
	size_t n = 0;
	model_job **q = model_line(m, rq->project, &n);
	model_job *j = rq->position < n ? q[rq->position] : NULL;
	free(q);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no job at that position");
	if (c->code != C_OK)
		WANT(C_OK, "a valid pop");
	Whatsnext__V1__Job g = *(const Whatsnext__V1__Job *)c->rp;
	if (g.position != (int64_t)rq->position)
		return model_fail(m, "Pop answered position %lld for position %llu",
		                  (long long)g.position, (unsigned long long)rq->position);
	g.position = 0;
	int rv = compare_job(m, j, &g, CJ_RECORD, "reply (the job as it was)");
	model_job_remove(m, j);
	return rv;
}

int model_exec_queue(model *m, const model_call *c)
{
	static const struct {
		const char *name;
		int (*fn)(model *, const model_call *);
	} tab[] = {
	    {"QueueService/Fetch", queue_fetch},
	    {"QueueService/Heartbeat", queue_heartbeat},
	    {"QueueService/Complete", queue_complete},
	    {"QueueService/CompleteBatch", queue_complete_batch},
	    {"QueueService/Release", queue_release},
	    {"QueueService/Clear", queue_clear},
	    {"QueueService/Pop", queue_pop},
	};
	for (size_t i = 0; i < WN_ARRAY_LEN(tab); i++)
		if (strcmp(c->method, tab[i].name) == 0)
			return tab[i].fn(m, c);
	return model_fail(m, "the model has no method %s", c->method);
}
