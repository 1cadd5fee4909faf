/* QueueService: the worker's side (fetch, heartbeat, complete, release) and
 * the queue operations (stats, clear, pop, list). */
#include "svc.h"

#include "artifacts.h"
#include "auth_scope.h"
#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "output.h"
#include "project.h"
#include "queue.h"
#include "replay.h"
#include "watch.h"
#include "results.h"

#include "envelope.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static int worker_name_ok(struct call *c, const char *worker)
{
	const char *why = wn_name_check(worker);
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "invalid worker name \"%.140s\": %s", worker,
		                    why);
	return WN_OK;
}

#define FETCH_MAX_JOBS     1000
#define FETCH_MAX_PROJECTS 64
/* a parked Fetch keeps its task names: a bound on what it holds */
#define FETCH_MAX_TASKS 1024

/* A reply of up to the budget (and its envelope) reaches every client. */
_Static_assert(WN_REPLY_BUDGET + 65536 <= WN_REPLY_MAX,
               "a client's receive limit is below the reply budget");

/* fetch_check validates a Fetch request and finds its projects, each once,
 * into *want, changing nothing. */
static int fetch_check(struct call *c, const Whatsnext__V1__FetchRequest *rq,
                       struct fetch_want *want)
{
	int rv = worker_name_ok(c, rq->worker);
	if (rv != WN_OK)
		return rv;
	if (rq->wait_ms > WN_WAIT_MAX_MS)
		return wn_call_fail(c, WN_EINVAL, "wait_ms %u is over the limit of %d", rq->wait_ms,
		                    WN_WAIT_MAX_MS);
	if (rq->max_jobs > FETCH_MAX_JOBS)
		return wn_call_fail(c, WN_EINVAL, "max_jobs %u is over the limit of %d",
		                    rq->max_jobs, FETCH_MAX_JOBS);
	size_t np = (rq->project[0] != '\0') + rq->n_projects;
	if (np == 0)
		return wn_call_fail(c, WN_EINVAL, "no project to fetch from");
	if (np > FETCH_MAX_PROJECTS)
		return wn_call_fail(c, WN_EINVAL, "at most %d projects per fetch",
		                    FETCH_MAX_PROJECTS);
	struct project **ps = wn_arena_alloc(c->arena, np * sizeof(*ps));
	size_t n = 0;
	for (size_t i = 0; i < np; i++) {
		const char *name = i == 0 && rq->project[0]
		                       ? rq->project
		                       : rq->projects[i - (rq->project[0] != 0)];
		struct project *p = wn_engine_project(c, name, &rv);
		if (p == NULL)
			return rv;
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= ps[k] == p;
		if (!dup)
			ps[n++] = p;
	}
	if (rq->n_tasks > FETCH_MAX_TASKS)
		return wn_call_fail(c, WN_EINVAL, "at most %d tasks per fetch", FETCH_MAX_TASKS);
	/* a task a project does not have simply matches nothing there */
	for (size_t i = 0; i < rq->n_tasks; i++) {
		const char *why = wn_name_check(rq->tasks[i]);
		if (why != NULL)
			return wn_call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s",
			                    rq->tasks[i], why);
	}
	want->ps = ps;
	want->np = n;
	want->tasks = wn_arena_alloc(c->arena, (rq->n_tasks + 1) * sizeof(char *));
	if (rq->n_tasks > 0)
		memcpy(want->tasks, rq->tasks, rq->n_tasks * sizeof(char *));
	wn_queue_tasks_sort(want->tasks, rq->n_tasks);
	want->ntasks = rq->n_tasks;
	want->worker = rq->worker;
	want->max_jobs = rq->max_jobs ? rq->max_jobs : 1;
	return WN_OK;
}

/* fetch_reply fills r with the n jobs claimed. */
static void fetch_reply(struct call *c, Whatsnext__V1__FetchResponse *r, Job **got, size_t n)
{
	if (n > 0)
		r->job = got[0];
	if (n == 1) /* the reply carries the job as its record was just packed */
		wn_call_splice(c, &r->base, (ProtobufCMessage **)&r->job, 1, got[0]);
	if (n > 1) {
		r->more = got + 1;
		r->n_more = n - 1;
	}
	/* the tasks as they are now: a worker applies a task's settings of the
	 * moment to each run it starts */
	r->tasks = wn_arena_alloc(c->arena, (n + 1) * sizeof(*r->tasks));
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t k = 0; k < r->n_tasks && !known; k++)
			known = strcmp(r->tasks[k]->project, got[i]->project) == 0 &&
			        strcmp(r->tasks[k]->name, got[i]->task) == 0;
		Task *t = NULL;
		if (!known &&
		    wn_records_task_get(&c->rec, got[i]->project, got[i]->task, &t) == WN_OK)
			r->tasks[r->n_tasks++] = t;
	}
}

/* fetch_into claims jobs for a Fetch request into r (r->job NULL when none
 * is ready), adding the changes to b; *want gets what it asked for. */
static int fetch_into(struct call *c, wn_batch *b, const Whatsnext__V1__FetchRequest *rq,
                      struct fetch_want *want, Whatsnext__V1__FetchResponse *r)
{
	int rv = fetch_check(c, rq, want);
	if (rv != WN_OK)
		return rv;
	Job **got = wn_arena_alloc(c->arena, want->max_jobs * sizeof(*got));
	size_t n = 0;
	rv = wn_queue_claim(c, b, want, got, &n);
	fetch_reply(c, r, got, n);
	return rv;
}

/* fetch_answer answers a parked Fetch with the n jobs claimed for it (none:
 * its wait is over). */
static void fetch_answer(struct call *c, const struct parked *pk, Job **got, size_t n)
{
	Whatsnext__V1__FetchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__fetch_response__init(r);
	fetch_reply(c, r, got, n);
	wn_call_answer(c, pk, &r->base);
}

int wn_svc_queue_fetch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__FetchRequest *rq = (const void *)in;
	Whatsnext__V1__FetchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__fetch_response__init(r);
	wn_batch *b = wn_batch_new();
	struct fetch_want want;
	int rv = fetch_into(c, b, rq, &want, r);
	if (rv == WN_OK && r->job == NULL && rq->wait_ms > 0 && c->slot != NULL &&
	    !c->e->q.no_park) {
		/* a worker back from LOST is stored before it waits */
		if ((rv = wn_call_commit(c, b)) != WN_OK)
			return rv;
		return wn_queue_park(c, &want, rq->wait_ms, fetch_answer);
	}
	if (rv != WN_OK) {
		wn_batch_free(b);
		return rv;
	}
	if ((rv = wn_call_commit(c, b)) != WN_OK)
		return rv;
	*out = &r->base;
	return WN_OK;
}

/* holder_check refuses a request about job j (attempt held) from a worker
 * other than the one holding it; a job held by no named worker takes any. */
static int holder_check(struct call *c, const Job *j, const char *worker)
{
	if (j->worker[0] == '\0' || strcmp(j->worker, worker) == 0)
		return WN_OK;
	if (worker[0] == '\0')
		return wn_call_fail(
		    c, WN_ESTATE,
		    "job %llu attempt %u is held by worker %s; this request names no "
		    "worker",
		    (unsigned long long)j->id, j->attempt, j->worker);
	return wn_call_fail(c, WN_ESTATE, "job %llu attempt %u is held by worker %s, not by %.140s",
	                    (unsigned long long)j->id, j->attempt, j->worker, worker);
}

/* heartbeat_fence refuses a heartbeat naming a lease that is held (or was,
 * until a cancel) by another worker, before anything changes. */
static int heartbeat_fence(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq)
{
	const struct wrk *w = wn_fleet_get(c->e, rq->worker);
	int rv = wn_svc_heartbeat_readable(c, rq); /* the jobs it names, read first */
	for (size_t i = 0; rv == WN_OK && i < rq->n_leases; i++) {
		const Whatsnext__V1__Lease *l = rq->leases[i];
		if (w != NULL && wn_map_get_u64(w->jobs, l->job_id) != NULL)
			continue; /* a job the fleet knows this worker runs */
		bool current = wn_job_lease_held(c->e, l->job_id, l->attempt) ||
		               wn_job_lease_cancelled(c->e, l->job_id, l->attempt);
		Job *j = current ? wn_job_find(c, l->job_id) : NULL;
		if (j == NULL || j->attempt != l->attempt)
			continue; /* not held by anyone at that attempt: reported lost */
		rv = holder_check(c, j, rq->worker);
	}
	return rv;
}

/* progress_check validates the progress a heartbeat carries before anything
 * changes: each job once, what each part of it carries. */
static int progress_check(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq)
{
	if (rq->n_progress > rq->n_leases)
		return wn_call_fail(c, WN_EINVAL, "%zu progress reports for %zu leases",
		                    rq->n_progress, rq->n_leases);
	wn_map *seen = wn_map_new_u64();
	int rv = WN_OK;
	for (size_t i = 0; i < rq->n_progress && rv == WN_OK; i++) {
		const Whatsnext__V1__JobProgress *pg = rq->progress[i];
		if (wn_map_get_u64(seen, pg->job_id) != NULL)
			rv = wn_call_fail(c, WN_EINVAL, "job %llu has more than one progress",
			                  (unsigned long long)pg->job_id);
		wn_map_put_u64(seen, pg->job_id, (void *)pg);
		if (rv == WN_OK)
			rv = wn_output_check(c, pg);
		if (rv == WN_OK)
			rv = wn_results_check(c, pg);
	}
	wn_map_free(seen);
	return rv;
}

/* progress_apply adds to b the progress of the jobs whose lease worker holds
 * at the progress's attempt (their ids into woken, *nwoken of them, to wake
 * the readers of their output once stored); the others are ignored. */
static int progress_apply(struct call *c, wn_batch *b, const Whatsnext__V1__HeartbeatRequest *rq,
                          uint64_t *woken, size_t *nwoken)
{
	for (size_t i = 0; i < rq->n_progress; i++) {
		const Whatsnext__V1__JobProgress *pg = rq->progress[i];
		bool held = wn_job_lease_held(c->e, pg->job_id, pg->attempt);
		if (!held && !wn_job_lease_cancelled(c->e, pg->job_id, pg->attempt))
			continue;
		Job *j = wn_job_find(c, pg->job_id);
		if (j == NULL || j->attempt != pg->attempt || (!held && j->status != CANCELLED) ||
		    (j->worker[0] != '\0' && strcmp(j->worker, rq->worker) != 0))
			continue;
		/* (no bytes: the output kept stays until the run has some) */
		int rv = pg->output.len > 0 ? wn_output_apply(c, b, j, pg) : WN_OK;
		if (rv == WN_OK)
			rv = wn_results_apply(c, b, j, pg, false);
		if (rv != WN_OK)
			return rv;
		if (pg->output.len > 0)
			woken[(*nwoken)++] = j->id;
	}
	return WN_OK;
}

int wn_svc_queue_heartbeat(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__HeartbeatRequest *rq = (const void *)in;
	int rv = worker_name_ok(c, rq->worker);
	if (rv != WN_OK)
		return rv;
	if (rq->wait_ms > WN_WAIT_MAX_MS)
		return wn_call_fail(c, WN_EINVAL, "wait_ms %u is over the limit of %d", rq->wait_ms,
		                    WN_WAIT_MAX_MS);
	if ((rv = heartbeat_fence(c, rq)) != WN_OK || (rv = progress_check(c, rq)) != WN_OK)
		return rv;
	Whatsnext__V1__HeartbeatResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__heartbeat_response__init(r);
	r->cancelled = wn_arena_alloc(c->arena, (rq->n_leases + 1) * sizeof(uint64_t));
	r->lost = wn_arena_alloc(c->arena, (rq->n_leases + 1) * sizeof(uint64_t));
	int64_t now = wn_engine_now(c->e);
	int64_t exp = wn_engine_mono(c->e) + c->e->cfg.lease_ms;
	wn_batch *b = wn_batch_new();
	r->drain = wn_fleet_seen(c->e, rq->worker, now, b);
	r->unknown_worker = wn_fleet_get(c->e, rq->worker) == NULL;
	for (size_t i = 0; i < rq->n_leases; i++) {
		const Whatsnext__V1__Lease *l = rq->leases[i];
		if (l->external_id[0] != '\0' && strlen(l->external_id) <= WN_NAME_MAX) {
			/* record where the job runs (a SLURM id, ...) once it is known */
			Job *j = wn_job_lease_held(c->e, l->job_id, l->attempt)
			             ? wn_job_find(c, l->job_id)
			             : NULL;
			if (j != NULL && strcmp(j->external_id, l->external_id) != 0) {
				j->external_id = l->external_id;
				wn_job_put(c, b, j);
			}
		}
		if (wn_job_lease_cancelled(c->e, l->job_id, l->attempt))
			r->cancelled[r->n_cancelled++] = l->job_id;
		else if (!wn_job_lease_extend(c->e, l->job_id, l->attempt, exp) &&
		         !wn_job_rerun_by(c, l->job_id, l->attempt, rq->worker))
			r->lost[r->n_lost++] = l->job_id;
	}
	r->lease_expires_ms = now + c->e->cfg.lease_ms;
	uint64_t *woken = wn_arena_alloc(c->arena, (rq->n_progress + 1) * sizeof(uint64_t));
	size_t nwoken = 0;
	if ((rv = progress_apply(c, b, rq, woken, &nwoken)) != WN_OK) {
		wn_batch_free(b);
		return rv;
	}
	if ((rv = wn_call_commit(c, b)) != WN_OK)
		return rv;
	for (size_t i = 0; i < nwoken; i++)
		wn_watch_output(c, woken[i]); /* stored: its readers read it */
	return wn_svc_heartbeat_wait(c, rq, r, out);
}

/* lease_check loads the job of a lease and verifies the lease is current and
 * held by worker. */
static int lease_check(struct call *c, uint64_t id, uint32_t attempt, const char *worker, Job **out,
                       bool *cancelled)
{
	Job *j = NULL;
	int rv = wn_job_load(c, id, &j);
	if (rv != WN_OK)
		return rv;
	*cancelled = wn_job_lease_cancelled(c->e, id, attempt) && j->status == CANCELLED;
	if (*cancelled) {
		*out = j;
		return holder_check(c, j, worker);
	}
	if (j->status != RUNNING || j->attempt != attempt || !wn_job_lease_held(c->e, id, attempt))
		return wn_call_fail(
		    c, WN_ESTATE,
		    "job %llu attempt %u no longer holds a lease (the job is %s, attempt "
		    "%u)",
		    (unsigned long long)id, attempt, wn_job_status_name(j->status), j->attempt);
	*out = j;
	return holder_check(c, j, worker);
}

static const char *tail_of(const char *s)
{
	size_t n = strlen(s);
	if (n <= WN_TAIL_MAX)
		return s;
	s += n - WN_TAIL_MAX;
	while ((*s & 0xC0) == 0x80) /* do not start inside a UTF-8 sequence */
		s++;
	return s;
}

/* complete_fields checks the fields of a result that need no job. */
static int complete_fields(struct call *c, const Whatsnext__V1__CompleteRequest *rq)
{
	if (strlen(rq->reason) > WN_REASON_MAX)
		return wn_call_fail(c, WN_EINVAL, "reason is longer than %d bytes", WN_REASON_MAX);
	if (strlen(rq->external_id) > WN_NAME_MAX)
		return wn_call_fail(c, WN_EINVAL, "external_id is longer than %d bytes",
		                    WN_NAME_MAX);
	if (rq->duration_ms < 0)
		return wn_call_fail(c, WN_EINVAL, "duration_ms %lld is negative",
		                    (long long)rq->duration_ms);
	const Whatsnext__V1__JobProgress *pg = rq->progress;
	if (pg != NULL && ((pg->job_id != 0 && pg->job_id != rq->job_id) ||
	                   (pg->attempt != 0 && pg->attempt != rq->attempt)))
		return wn_call_fail(c, WN_EINVAL,
		                    "progress of job %llu attempt %u in the completion of job %llu "
		                    "attempt %u",
		                    (unsigned long long)pg->job_id, pg->attempt,
		                    (unsigned long long)rq->job_id, rq->attempt);
	return WN_OK;
}

/* complete_one applies one result to its job, adding the changes to b. */
static int complete_one(struct call *c, wn_batch *b, const Whatsnext__V1__CompleteRequest *rq,
                        Job **out)
{
	int rv = complete_fields(c, rq);
	if (rv != WN_OK)
		return rv;
	const Whatsnext__V1__JobProgress *pg = rq->progress;
	Job *j = NULL;
	bool was_cancelled = false;
	/* everything a bad request can fail is checked before anything changes:
	 * in a CompleteBatch the other results' writes go out in any case */
	rv = pg != NULL ? wn_output_check(c, pg) : WN_OK;
	if (rv == WN_OK && pg != NULL)
		rv = wn_results_check(c, pg);
	if (rv == WN_OK)
		rv = wn_artifacts_check(c, rq->artifacts, rq->n_artifacts);
	if (rv != WN_OK ||
	    (rv = lease_check(c, rq->job_id, rq->attempt, rq->worker, &j, &was_cancelled)) !=
	        WN_OK ||
	    (rv = wn_output_apply(c, b, j, pg)) != WN_OK)
		return rv;
	if (pg != NULL && (rv = wn_results_apply(c, b, j, pg, true)) != WN_OK)
		return rv;
	if ((rv = wn_artifacts_apply(c, b, j, rq->artifacts, rq->n_artifacts)) != WN_OK)
		return rv;
	struct project *p = wn_job_project(c, j);
	if (p == NULL)
		return wn_call_fail(c, WN_EINTERNAL, "job %llu has no project",
		                    (unsigned long long)j->id);
	struct task *t = wn_map_get_str(p->tasks, j->task);
	j->exit_code = rq->exit_code;
	j->output_tail = (char *)tail_of(rq->output_tail);
	j->duration_ms = rq->duration_ms;
	if (rq->external_id[0])
		j->external_id = rq->external_id;
	j->finished_ms = wn_engine_now(c->e);
	j->lease_expires_ms = 0;
	j->stopping = false;
	wn_job_lease_end(c->e, j->id);
	if (was_cancelled) {
		/* already CANCELLED: keep the run's outcome on the record */
		wn_job_put(c, b, j);
		*out = j;
		return WN_OK;
	}
	int to;
	if (rq->success) {
		to = COMPLETED;
		j->reason = "";
	} else if (rq->cancelled) {
		to = CANCELLED;
		j->reason = rq->reason[0] ? rq->reason : "cancelled by the worker";
	} else {
		const char *why = rq->reason[0]
		                      ? rq->reason
		                      : wn_arena_printf(c->arena, "exit code %d", rq->exit_code);
		uint32_t retries = t ? t->retries : 0;
		j->failures++;
		if (j->failures <= retries) {
			to = PENDING;
			j->finished_ms = 0;
			j->reason =
			    wn_arena_printf(c->arena, "attempt %u failed: %s; retry %u of %u",
			                    j->attempt, why, j->failures, retries);
		} else {
			to = FAILED;
			j->reason = (char *)why;
		}
	}
	wn_job_set_status(c, b, p, j, to);
	*out = j;
	return WN_OK;
}

int wn_svc_queue_complete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CompleteRequest *rq = (const void *)in;
	Whatsnext__V1__CompleteResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__complete_response__init(r);
	struct fetch_want want;
	/* `next` claims one job whatever its max_jobs says; a bad `next` is
	 * refused before the result changes anything */
	Whatsnext__V1__FetchRequest one;
	if (rq->next != NULL) {
		one = *rq->next;
		one.max_jobs = 1;
		int bad = fetch_check(c, &one, &want);
		if (bad != WN_OK)
			return bad;
	}
	wn_batch *b = wn_batch_new();
	int rv = complete_one(c, b, rq, &r->job);
	if (rv == WN_OK && rq->brief) {
		r->job = wn_job_brief(c, r->job);
	} else if (rv == WN_OK && rq->next != NULL) {
		/* the job as this result left it, even if `next` claims it again */
		Job *was = wn_arena_alloc(c->arena, sizeof(*was));
		*was = *r->job;
		r->job = was;
	}
	if (rv == WN_OK && rq->next != NULL) {
		Whatsnext__V1__FetchResponse *fr = wn_arena_alloc(c->arena, sizeof(*fr));
		whatsnext__v1__fetch_response__init(fr);
		rv = fetch_into(c, b, &one, &want, fr);
		if (rv == WN_EUNAVAIL) /* the result stands; no job comes with it */
			rv = WN_OK;
		r->next = fr->job;
		wn_call_splice(c, &r->base, (ProtobufCMessage **)&r->next, 2, fr->job);
		r->next_tasks = fr->tasks;
		r->n_next_tasks = fr->n_tasks;
	}
	if (rv != WN_OK) {
		wn_batch_free(b);
		return rv;
	}
	if ((rv = wn_call_commit(c, b)) != WN_OK)
		return rv;
	wn_watch_output(c, rq->job_id); /* its last output stored, its run over */
	*out = &r->base;
	return WN_OK;
}

int wn_svc_queue_complete_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CompleteBatchRequest *rq = (const void *)in;
	if (rq->n_results > WN_BATCH_MAX)
		return wn_call_fail(c, WN_EINVAL, "batch of %zu results is over the limit of %d",
		                    rq->n_results, WN_BATCH_MAX);
	Whatsnext__V1__CompleteBatchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__complete_batch_response__init(r);
	r->results = wn_arena_alloc(c->arena, (rq->n_results + 1) * sizeof(*r->results));
	wn_batch *b = wn_batch_new();
	for (size_t i = 0; i < rq->n_results; i++) {
		Whatsnext__V1__CompleteResult *res = wn_arena_alloc(c->arena, sizeof(*res));
		whatsnext__v1__complete_result__init(res);
		c->msg = NULL;
		int rv = rq->results[i]->next != NULL
		             ? wn_call_fail(c, WN_EINVAL, "next is not allowed in a batch")
		             : complete_one(c, b, rq->results[i], &res->job);
		res->code = (Whatsnext__V1__Code)wn_err_to_code(rv);
		res->message = rv == WN_OK ? "" : (char *)(c->msg ? c->msg : wn_strerror(rv));
		if (rv != WN_OK)
			res->job = NULL;
		else if (rq->results[i]->brief)
			res->job = wn_job_brief(c, res->job);
		r->results[r->n_results++] = res;
	}
	c->msg = NULL;
	int rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	for (size_t i = 0; i < rq->n_results; i++)
		if (r->results[i]->code == WHATSNEXT__V1__CODE__OK)
			wn_watch_output(c, rq->results[i]->job_id);
	*out = &r->base;
	return WN_OK;
}

int wn_svc_queue_release(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ReleaseRequest *rq = (const void *)in;
	if (strlen(rq->reason) > WN_REASON_MAX)
		return wn_call_fail(c, WN_EINVAL, "reason is longer than %d bytes", WN_REASON_MAX);
	Job *j = NULL;
	bool was_cancelled = false;
	int rv = lease_check(c, rq->job_id, rq->attempt, rq->worker, &j, &was_cancelled);
	if (rv != WN_OK)
		return rv;
	wn_job_lease_end(c->e, j->id);
	wn_batch *b = wn_batch_new();
	if (was_cancelled) { /* the run handed back is over: none to stop */
		j->stopping = false;
		wn_job_put(c, b, j);
		if ((rv = wn_call_commit(c, b)) == WN_OK)
			*out = &j->base;
		return rv;
	}
	struct project *p = wn_job_project(c, j);
	if (p == NULL)
		return wn_call_fail(c, WN_EINTERNAL, "job %llu has no project",
		                    (unsigned long long)j->id);
	j->lease_expires_ms = 0;
	j->reason = wn_arena_printf(c->arena, "attempt %u handed back by worker %s%s%.200s",
	                            j->attempt, j->worker, rq->reason[0] ? ": " : "", rq->reason);
	wn_job_set_status(c, b, p, j, PENDING);
	rv = wn_call_commit(c, b);
	if (rv != WN_OK)
		return rv;
	*out = &j->base;
	return WN_OK;
}

static Whatsnext__V1__ProjectStats *stats_of(struct call *c, const struct project *p)
{
	Whatsnext__V1__ProjectStats *s = wn_arena_alloc(c->arena, sizeof(*s));
	whatsnext__v1__project_stats__init(s);
	s->project = p->name;
	s->pending = p->counts[PENDING];
	s->running = p->counts[RUNNING];
	s->completed = p->counts[COMPLETED];
	s->failed = p->counts[FAILED];
	s->blocked = p->counts[WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED];
	s->cancelled = p->counts[CANCELLED];
	s->artifact_bytes = wn_artifacts_usage(c, p->name);
	return s;
}

static int stats_cmp(const void *a, const void *b)
{
	const Whatsnext__V1__ProjectStats *x = *(const Whatsnext__V1__ProjectStats *const *)a;
	const Whatsnext__V1__ProjectStats *y = *(const Whatsnext__V1__ProjectStats *const *)b;
	return strcmp(x->project, y->project);
}

int wn_svc_queue_stats(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__StatsRequest *rq = (const void *)in;
	Whatsnext__V1__StatsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__stats_response__init(r);
	r->projects =
	    wn_arena_alloc(c->arena, (wn_map_count(c->e->proj.byname) + 1) * sizeof(*r->projects));
	if (rq->project[0] != '\0') {
		int rv = WN_OK;
		struct project *p = wn_engine_project(c, rq->project, &rv);
		if (p == NULL)
			return rv;
		r->projects[r->n_projects++] = stats_of(c, p);
	} else {
		size_t pos = 0;
		uint64_t uk;
		const char *sk;
		void *val;
		while (wn_map_next(c->e->proj.byname, &pos, &uk, &sk, &val))
			if (wn_auth_sees(c, sk)) /* a token limited to projects: those */
				r->projects[r->n_projects++] = stats_of(c, val);
		qsort(r->projects, r->n_projects, sizeof(*r->projects), stats_cmp);
	}
	if (c->e->cfg.warning != NULL && c->e->cfg.warning[0] != '\0') {
		r->warnings = wn_arena_alloc(c->arena, sizeof(*r->warnings));
		r->warnings[r->n_warnings++] = (char *)c->e->cfg.warning;
	}
	*out = &r->base;
	return WN_OK;
}

int wn_svc_queue_clear(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ClearRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	struct task *only = NULL;
	if (rq->task[0] != '\0' && (only = wn_engine_task(c, p, rq->task, &rv)) == NULL)
		return rv;
	Whatsnext__V1__ClearResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__clear_response__init(r);
	Job **v = NULL;
	size_t n = 0;
	wn_batch *b = wn_batch_new();
	if ((rv = wn_project_pending_jobs(c, p, only, &v, &n)) == WN_OK)
		rv = wn_job_remove_many(c, b, p, v, n, true);
	free(v);
	r->removed = n;
	if ((rv = wn_call_commit_if(c, b, rv)) == WN_OK)
		*out = &r->base;
	return rv;
}

/* job_cmp_dispatch orders jobs as the queue would: priority, then id. */
static int job_cmp_dispatch(const void *a, const void *b)
{
	const Job *x = *(Job *const *)a, *y = *(Job *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int wn_svc_queue_pop(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__PopRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	wn_index_entry e;
	struct qwalk w;
	wn_job_walk_init(c, p, &w);
	if (!wn_project_job_at(&w, rq->position, &e))
		return wn_call_fail(c, WN_ENOTFOUND,
		                    "project \"%s\" has no pending job at position %llu", p->name,
		                    (unsigned long long)rq->position);
	Job *j = NULL;
	if ((rv = wn_job_load(c, e.id, &j)) != WN_OK)
		return rv;
	Job copy = *j;
	wn_batch *b = wn_batch_new();
	rv = wn_call_commit_if(c, b, wn_job_remove_many(c, b, p, &j, 1, true));
	if (rv != WN_OK)
		return rv;
	Job *reply = wn_arena_alloc(c->arena, sizeof(*reply));
	*reply = copy;
	reply->position = (int64_t)rq->position;
	*out = &reply->base;
	return WN_OK;
}

/* list_totals counts p's ready jobs that take a place in line (r->total) and
 * those that do not: out of line in walk w (a task no worker could run, a
 * capped sweep's jobs past its free places), or waiting on dependencies. */
static void list_totals(struct project *p, struct qwalk *w, Whatsnext__V1__QueueListResponse *r)
{
	for (size_t i = 0; i < w->n; i++) {
		size_t n = wn_index_count(w->q[i]->ready);
		size_t in = w->out[i] ? 0 : n;
		if (!w->out[i] && w->room[i] != NULL) {
			in = n < w->room[i]->spare ? n : w->room[i]->spare;
			w->room[i]->spare -= in;
		}
		r->total += in;
		r->waiting_total += n - in;
	}
	size_t pos_w = 0;
	uint64_t wid;
	const char *sk;
	void *wv;
	while (wn_map_next(p->waiting, &pos_w, &wid, &sk, &wv))
		r->waiting_total += ((struct dwait *)wv)->broken == 0 &&
		                    wn_map_get_u64(p->held, wid) == NULL; /* held: left out */
}

/* list_waiting adds to the page r every job of p that cannot run now, in
 * dispatch order, as many as the page holds: the rest of the walk w's capped
 * classes (capped holds the ncapped seen so far), then the jobs waiting on
 * dependencies. */
static void list_waiting(struct call *c, struct project *p, struct qwalk *w, uint64_t *capped,
                         size_t ncapped, size_t limit, size_t *bytes,
                         Whatsnext__V1__QueueListResponse *r)
{
	wn_index_entry e;
	/* every job that cannot run now, in dispatch order, then as many
	 * as the page holds */
	while (wn_qwalk_next(w, &e))
		if (wn_qwalk_out(w) && ncapped <= r->waiting_total)
			capped[ncapped++] = e.id;
	Job **more = wn_arena_alloc(c->arena, (r->waiting_total + 1) * sizeof(*more));
	size_t nmore = 0;
	for (size_t i = 0; i < ncapped && nmore < r->waiting_total; i++) {
		Job *j = wn_job_find(c, capped[i]);
		if (j != NULL)
			more[nmore++] = j;
	}
	size_t pos_w = 0;
	uint64_t wid;
	const char *sk;
	void *wv;
	while (nmore < r->waiting_total && wn_map_next(p->waiting, &pos_w, &wid, &sk, &wv)) {
		Job *j = ((struct dwait *)wv)->broken == 0 ? wn_job_find(c, wid) : NULL;
		if (j != NULL && j->status == PENDING && !j->held)
			more[nmore++] = j;
	}
	qsort(more, nmore, sizeof(*more), job_cmp_dispatch);
	for (size_t i = 0; i < nmore && r->n_jobs < limit && *bytes <= WN_REPLY_BUDGET; i++) {
		wn_job_fill_live(c, more[i], false);
		if (more[i]->position != -1) /* ready, behind its sweep's free places */
			wn_job_fill_out(c, more[i]);
		*bytes += protobuf_c_message_get_packed_size(&more[i]->base);
		r->jobs[r->n_jobs++] = more[i];
	}
}

int wn_svc_queue_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__QueueListRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	if (rq->limit < 0)
		return wn_call_fail(c, WN_EINVAL, "limit must not be negative (got %d)", rq->limit);
	if (rq->limit > WN_PAGE_MAX)
		return wn_call_fail(c, WN_EINVAL, "limit %d is over the limit of %d", rq->limit,
		                    WN_PAGE_MAX);
	if (rq->offset < 0)
		return wn_call_fail(c, WN_EINVAL, "offset must not be negative (got %lld)",
		                    (long long)rq->offset);
	size_t limit = rq->limit ? (size_t)rq->limit : WN_PAGE_DEFAULT;
	Whatsnext__V1__QueueListResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__queue_list_response__init(r);
	r->jobs = wn_arena_alloc(c->arena, limit * sizeof(*r->jobs));
	struct qwalk w;
	wn_job_walk_init(c, p, &w);
	list_totals(p, &w, r);
	/* per class: 0 not known yet, 1 a worker has room, 2 all are busy */
	uint8_t *busy = wn_arena_alloc(c->arena, w.n + 1);
	memset(busy, 0, w.n + 1);
	wn_index_entry e;
	int64_t pos = 0;
	size_t bytes = 0;
	size_t ncapped = 0;
	uint64_t *capped = wn_arena_alloc(c->arena, (r->waiting_total + 1) * sizeof(uint64_t));
	while (r->n_jobs < limit && bytes <= WN_REPLY_BUDGET && wn_qwalk_next(&w, &e)) {
		if (wn_qwalk_out(&w)) {
			if (ncapped <= r->waiting_total)
				capped[ncapped++] = e.id;
			continue;
		}
		if (pos++ < rq->offset)
			continue;
		Job *j = wn_job_find(c, e.id);
		if (j == NULL)
			continue;
		wn_job_fill_live(c, j, false); /* its dependencies' statuses */
		j->position = p->archived ? -1 : pos - 1;
		if (busy[w.lasti] == 0)
			busy[w.lasti] = wn_fleet_busy(c, p, w.last->task) ? 2 : 1;
		j->waiting = p->archived
		                 ? wn_arena_printf(c->arena, "project %s is archived", p->name)
		             : busy[w.lasti] == 2 ? WN_JOB_BUSY
		                                  : "waiting for a worker";
		bytes += protobuf_c_message_get_packed_size(&j->base);
		r->jobs[r->n_jobs++] = j;
	}
	if (rq->include_waiting)
		list_waiting(c, p, &w, capped, ncapped, limit, &bytes, r);
	*out = &r->base;
	return WN_OK;
}
