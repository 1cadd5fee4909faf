/* queue: claiming (leasing the best ready jobs to a worker), the fetches
 * parked until a job is ready, lease expiry, and wn_call_commit, which writes a
 * call's changes and then feeds the parked fetches. */
#include "queue.h"

#include "artifacts.h"
#include "clock.h"
#include "dedupe.h"
#include "engine_state.h"
#include "jobs.h"
#include "watch.h"
#include "results.h"

#include "log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int task_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void wn_queue_tasks_sort(char **tasks, size_t ntasks)
{
	qsort(tasks, ntasks, sizeof(*tasks), task_cmp);
}

/* task_allowed: a claim asks it of every class of every project for each
 * job, so a Fetch's tasks are sorted (wn_queue_tasks_sort) and searched. */
static bool task_allowed(const char *task, char **tasks, size_t ntasks)
{
	return ntasks == 0 || bsearch(&task, tasks, ntasks, sizeof(*tasks), task_cmp) != NULL;
}

bool wn_queue_peek(struct project *p, char **tasks, size_t ntasks, const struct wrk *w,
                   wn_index_entry *out)
{
	if (p->archived)
		return false;
	bool found = false;
	wn_index_entry e;
	for (size_t i = 0; i < p->nq; i++) {
		struct queue *q = p->qv[i];
		if (!wn_index_first(q->ready, &e) || wn_queue_capped(q) ||
		    !task_allowed(q->task->name, tasks, ntasks) ||
		    (w != NULL && !wn_fleet_fits(w, &q->task->need)))
			continue;
		if (!found || wn_index_before(&e, out)) {
			*out = e;
			found = true;
		}
	}
	return found;
}

int wn_queue_take(struct call *c, wn_batch *b, struct project *p, wn_index_entry e,
                  const char *worker, Job **out)
{
	Job *j = NULL;
	int rv = wn_job_get(c, e.id, &j);
	if (rv != WN_OK && rv != WN_ENOTFOUND)
		return WN_EUNAVAIL; /* not known to be gone: it stays in line */
	/* its task goes to the worker with it (fetch_reply): a task that cannot
	 * be read keeps the job in line too */
	if (j != NULL && (rv = wn_records_task_ready(&c->rec, j->project, j->task)) != WN_OK &&
	    rv != WN_ENOTFOUND && rv != WN_EINTERNAL)
		return WN_EUNAVAIL;
	if (j == NULL || j->status != PENDING) {
		/* cannot happen while the queues and the store agree; heal it */
		for (size_t i = 0; i < p->nq; i++)
			wn_index_remove(p->qv[i]->ready, e.priority, e.id);
		wn_error("ready queue held job %llu, which is not pending; dropped",
		         (unsigned long long)e.id);
		return WN_ENOTFOUND;
	}
	int64_t now = wn_engine_now(c->e);
	j->attempt++;
	j->worker = wn_arena_strdup(c->arena, worker);
	j->started_ms = now;
	j->finished_ms = 0;
	wn_results_fresh(j); /* a new attempt reports afresh */
	/* and runs somewhere new: an earlier attempt's SLURM job id would be
	 * followed by a worker that restarts before this one reports its own */
	j->external_id = (char *)"";
	j->lease_expires_ms = now + c->e->cfg.lease_ms;
	wn_job_set_status(c, b, p, j, RUNNING);
	int64_t due = wn_engine_mono(c->e) + c->e->cfg.lease_ms;
	wn_leases_put(c->e->leases, j->id, j->attempt, due);
	wn_engine_wake(c->e, due);
	*out = j;
	return WN_OK;
}

int wn_call_commit_if(struct call *c, wn_batch *b, int rv)
{
	if (rv == WN_OK)
		return wn_call_commit(c, b);
	wn_batch_free(b);
	return rv;
}

int wn_call_commit(struct call *c, wn_batch *b)
{
	int rv = wn_batch_count(b) > 0 ? wn_engine_write(c, b) : WN_OK;
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	bool feed = false;
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->proj.byname, &pos, &uk, &sk, &val)) {
		struct project *p = val;
		feed |= p->feed;
		p->feed = false;
	}
	if (feed && c->e->q.wait_head != NULL)
		wn_queue_feed(c);
	return WN_OK;
}

void wn_queue_expire(struct call *c, uint64_t id, uint32_t attempt)
{
	wn_engine *e = c->e;
	/* the lease of a run cancelled while it ran ends quietly; a mark left
	 * by an earlier attempt (cancelled, retried, handed out again) does not
	 * keep this attempt's lease from expiring */
	uintptr_t cv = (uintptr_t)wn_map_get_u64(e->cancelled, id);
	bool cancelled_run = cv != 0 && cv == attempt + 1ULL;
	Job *j = NULL;
	int got = wn_job_get(c, id, &j);
	wn_batch *b = wn_batch_new();
	/* what the run uploaded no Complete will list now: it goes */
	bool drop = j != NULL && j->attempt == attempt && (cancelled_run || j->status == RUNNING);
	if ((got != WN_OK && got != WN_ENOTFOUND) ||
	    (drop && wn_artifacts_drop_attempt(c, b, j, attempt) != WN_OK)) {
		/* not known to be gone, or its files not all read: its lease is
		 * looked at again in a second */
		wn_batch_free(b);
		int64_t due = wn_engine_mono(e) + 1000;
		wn_leases_put(e->leases, id, attempt, due);
		wn_engine_wake(e, due);
		return;
	}
	/* a run outside its worker (a SLURM job) goes on without it: it stays
	 * to be stopped, by the worker started again under its name */
	bool outside = cancelled_run && j != NULL && j->attempt == attempt &&
	               j->external_id[0] != '\0' && j->stopping;
	if (cancelled_run && !outside)
		wn_map_del_u64(e->cancelled, id);
	if (cancelled_run && j != NULL && j->attempt == attempt) {
		/* but for a run outside its worker, no worker is told to stop
		 * the run any more */
		if (j->stopping && !outside) {
			j->stopping = false;
			wn_job_put(c, b, j);
		}
		wn_call_commit(c, b);
		return;
	}
	struct project *p = drop ? wn_job_project(c, j) : NULL;
	if (p == NULL) {
		wn_batch_free(b);
		return;
	}
	struct task *t = wn_map_get_str(p->tasks, j->task);
	uint32_t max = t && t->max_attempts ? t->max_attempts : WN_DEFAULT_MAX_ATTEMPTS;
	j->lost++;
	int to;
	if (j->lost >= max) {
		to = FAILED;
		j->reason =
		    wn_arena_printf(c->arena,
		                    "lease expired %u time(s) (max_attempts %u); last held by "
		                    "worker %s, attempt %u",
		                    j->lost, max, j->worker, j->attempt);
		j->finished_ms = wn_engine_now(e);
	} else {
		to = PENDING;
		j->reason = wn_arena_printf(
		    c->arena, "lease of attempt %u expired (worker %s stopped heartbeating)",
		    j->attempt, j->worker);
	}
	j->lease_expires_ms = 0;
	wn_job_set_status(c, b, p, j, to);
	int rv = wn_call_commit(c, b);
	if (rv == WN_OK)
		wn_info("job %llu: %s", (unsigned long long)id, j->reason);
}

/* ------------------------------------------------------------------ claiming */

/* What claiming adds to a job's record in a reply, besides the worker's
 * name: attempt, times, field tags and lengths. */
#define FETCH_JOB_SLACK 128

/* claim_fits tells whether job id, claimed by worker, still fits the reply
 * budget after the *bytes of the got jobs claimed so far (the first always
 * does), and counts it in. */
static bool claim_fits(struct call *c, uint64_t id, const char *worker, size_t *bytes, size_t got)
{
	Job *j = wn_job_find(c, id);
	size_t n = FETCH_JOB_SLACK + strlen(worker) +
	           (j != NULL ? protobuf_c_message_get_packed_size(&j->base) : 0);
	if (got > 0 && *bytes + n > WN_REPLY_BUDGET)
		return false;
	*bytes += n;
	return true;
}

int wn_queue_claim(struct call *c, wn_batch *b, const struct fetch_want *want, Job **got,
                   size_t *ngot)
{
	struct project **ps = want->ps;
	size_t n = want->np;
	*ngot = 0;
	struct wrk *w = wn_fleet_get(c->e, want->worker);
	if (w != NULL && w->rec->draining) {
		wn_fleet_seen(c->e, want->worker, wn_engine_now(c->e), b);
		return WN_OK; /* a draining worker takes no new jobs */
	}
	size_t bytes = 0;
	for (size_t k = 0; k < want->max_jobs; k++) {
		/* highest priority first; among equals, projects take turns: the
		 * search starts after the project served last, so a project with
		 * nothing ready gives its turn to the next one, not to the one
		 * after it twice */
		uint64_t *rr = w ? &w->rr : &c->e->q.rr;
		size_t start = (size_t)(*rr % n), best = n;
		wn_index_entry be, e;
		for (size_t i = 0; i < n; i++) {
			size_t at = (start + i) % n;
			if (wn_queue_peek(ps[at], want->tasks, want->ntasks, w, &e) &&
			    (best == n || e.priority > be.priority)) {
				best = at;
				be = e;
			}
		}
		if (best == n)
			break;
		if (want->max_jobs > 1 && !claim_fits(c, be.id, want->worker, &bytes, *ngot))
			break;
		Job *j = NULL;
		int rv = wn_queue_take(c, b, ps[best], be, want->worker, &j);
		if (rv == WN_ENOTFOUND) {
			k--; /* a stale entry was dropped: look again */
			continue;
		}
		if (rv == WN_EUNAVAIL && *ngot == 0) /* a job ready, not known to be gone */
			return wn_call_fail(c, rv, WN_STORE_UNREADABLE);
		if (rv == WN_EUNAVAIL)
			break; /* its record cannot be read: what was claimed goes */
		if (rv != WN_OK)
			return rv;
		*rr = best + 1;
		got[(*ngot)++] = j;
	}
	if (w != NULL) /* seen by a call that was answered */
		wn_fleet_seen(c->e, want->worker, wn_engine_now(c->e), b);
	return WN_OK;
}

/* ------------------------------------------------------------ parked fetches */

static char **strv_dup(char **v, size_t n)
{
	char **d = wn_xcalloc(n + 1, sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i] = wn_xstrdup(v[i]);
	return d;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void wn_queue_init(wn_engine *e)
{
	e->q.by_reqid = wn_map_new_u64();
}

void wn_queue_release(wn_engine *e)
{
	wn_map_free(e->q.by_reqid);
	e->q.by_reqid = NULL;
}

static void waiter_unlink(wn_engine *e, struct waiter *w)
{
	if (w->pk.reqid != 0 && wn_map_get_u64(e->q.by_reqid, w->pk.reqid) == w)
		wn_map_del_u64(e->q.by_reqid, w->pk.reqid);
	wn_watch_count(e, w->pk.conn, -1);
	e->q.nwait--;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		e->q.wait_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		e->q.wait_tail = w->prev;
	w->prev = w->next = NULL;
}

static void waiter_free(struct waiter *w)
{
	free(w->worker);
	free(w->caller);
	strv_free(w->projects, w->nprojects);
	strv_free(w->tasks, w->ntasks);
	free(w);
}

/* waiter_answer detaches w and answers it with the n jobs got (none: its
 * wait is over). */
static void waiter_answer(struct call *c, struct waiter *w, Job **got, size_t n)
{
	waiter_unlink(c->e, w);
	w->answer(c, &w->pk, got, n);
	waiter_free(w);
}

int wn_queue_park(struct call *c, const struct fetch_want *want, uint32_t wait_ms,
                  queue_answer_fn answer)
{
	uint32_t conn = c->e->cfg.slot_conn ? c->e->cfg.slot_conn(c->slot) : 0;
	int rv = wn_watch_room(c, conn, "fetches");
	if (rv != WN_OK)
		return rv;
	struct waiter *w = wn_xcalloc(1, sizeof(*w));
	wn_call_park(c, &w->pk);
	/* a copy of this request now takes its place instead of waiting for it */
	if (c->reqid != 0) {
		wn_dedupe_park(c->e->dd, c->reqid);
		wn_map_put_u64(c->e->q.by_reqid, c->reqid, w);
	}
	wn_watch_count(c->e, w->pk.conn, 1);
	c->e->q.nwait++;
	wn_debug("fetch %llu of worker %s waits up to %u ms", (unsigned long long)c->reqid,
	         want->worker, wait_ms);
	w->worker = wn_xstrdup(want->worker);
	if (c->caller != NULL)
		w->caller = wn_xstrdup(c->caller);
	w->nprojects = want->np;
	w->projects = wn_xcalloc(want->np + 1, sizeof(*w->projects));
	for (size_t i = 0; i < want->np; i++)
		w->projects[i] = wn_xstrdup(want->ps[i]->name);
	w->ntasks = want->ntasks;
	w->tasks = strv_dup(want->tasks, want->ntasks);
	w->max_jobs = want->max_jobs;
	w->answer = answer;
	w->deadline = wn_engine_mono(c->e) + wait_ms;
	w->prev = c->e->q.wait_tail;
	if (c->e->q.wait_tail != NULL)
		c->e->q.wait_tail->next = w;
	else
		c->e->q.wait_head = w;
	c->e->q.wait_tail = w;
	wn_engine_wake(c->e, w->deadline);
	return WN_OK;
}

int wn_queue_adopt(struct call *c, uint64_t reqid)
{
	wn_engine *e = c->e;
	struct waiter *w = reqid != 0 ? wn_map_get_u64(e->q.by_reqid, reqid) : NULL;
	if (w == NULL)
		return WN_ENOTFOUND;
	uint32_t conn = e->cfg.slot_conn ? e->cfg.slot_conn(c->slot) : 0;
	if (conn != w->pk.conn) {
		if (conn != 0 && wn_watch_parked(e, conn) >= e->cfg.max_parked_per_conn)
			return wn_watch_room(c, conn, "fetches");
		/* moved, not one more: the count in all stays */
		wn_watch_count(e, w->pk.conn, -1);
		wn_watch_count(e, conn, 1);
	}
	/* the earlier copy's slot goes back to its connection without a reply:
	 * one request id, one answer */
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = w->pk.slot;
	d->next = c->deliveries;
	c->deliveries = d;
	wn_debug("fetch %llu of worker %s: a copy takes its place", (unsigned long long)reqid,
	         w->worker);
	w->pk.slot = c->slot;
	w->pk.conn = conn;
	c->parked = true;
	return WN_OK;
}

/* waiter_want finds what w asks for now; false if one of its projects is
 * gone (it waits on until its deadline). */
static bool waiter_want(struct call *c, const struct waiter *w, struct fetch_want *want)
{
	want->ps = wn_arena_alloc(c->arena, (w->nprojects + 1) * sizeof(*want->ps));
	want->np = w->nprojects;
	for (size_t i = 0; i < w->nprojects; i++)
		if ((want->ps[i] = wn_map_get_str(c->e->proj.byname, w->projects[i])) == NULL)
			return false;
	want->tasks = w->tasks;
	want->ntasks = w->ntasks;
	want->worker = w->worker;
	want->max_jobs = w->max_jobs;
	return true;
}

void wn_queue_feed(struct call *c)
{
	struct waiter *w = c->e->q.wait_head;
	while (w != NULL) {
		struct waiter *next = w->next;
		struct fetch_want want;
		Job **got = wn_arena_alloc(c->arena, (w->max_jobs + 1) * sizeof(*got));
		size_t n = 0;
		wn_batch *b = wn_batch_new();
		c->msg = NULL;
		if (waiter_want(c, w, &want) && wn_queue_claim(c, b, &want, got, &n) == WN_OK &&
		    n > 0 && wn_engine_write(c, b) == WN_OK)
			waiter_answer(c, w, got, n);
		wn_batch_free(b);
		w = next;
	}
	c->msg = NULL;
}

int64_t wn_queue_waiters_due(struct call *c, int64_t now, int64_t next)
{
	struct waiter *w = c->e->q.wait_head;
	while (w != NULL) {
		struct waiter *n = w->next;
		if (w->deadline <= now)
			waiter_answer(c, w, NULL, 0);
		else if (w->deadline < next)
			next = w->deadline;
		w = n;
	}
	return next;
}

void wn_queue_waiters_drop(struct call *c, const uint32_t *closed, size_t n)
{
	for (struct waiter *w = c->e->q.wait_head; n > 0 && w != NULL;) {
		struct waiter *next = w->next;
		bool gone = false;
		for (size_t i = 0; i < n && !gone; i++)
			gone = w->pk.conn != 0 && w->pk.conn == closed[i];
		if (gone) {
			waiter_unlink(c->e, w);
			wn_call_drop(c, &w->pk);
			waiter_free(w);
		}
		w = next;
	}
}

void wn_queue_waiters_of(struct call *c, bool (*match)(const void *arg, const char *worker),
                         const void *arg)
{
	for (struct waiter *w = c->e->q.wait_head; w != NULL;) {
		struct waiter *next = w->next;
		if (match(arg, w->worker))
			waiter_answer(c, w, NULL, 0);
		w = next;
	}
}

void wn_queue_waiters_revoked(struct call *c, const char *token)
{
	for (struct waiter *w = c->e->q.wait_head; w != NULL;) {
		struct waiter *next = w->next;
		if (w->caller != NULL && strcmp(w->caller, token) == 0)
			waiter_answer(c, w, NULL, 0);
		w = next;
	}
}

void wn_queue_waiters_release(struct call *c)
{
	c->e->q.no_park = true;
	while (c->e->q.wait_head != NULL)
		waiter_answer(c, c->e->q.wait_head, NULL, 0);
}

void wn_queue_release_worker(struct call *c, struct wrk *w)
{
	size_t n = wn_map_count(w->jobs), i = 0, pos = 0;
	uint64_t *ids = wn_xmalloc((n + 1) * sizeof(*ids)), id;
	const char *sk;
	void *val;
	while (wn_map_next(w->jobs, &pos, &id, &sk, &val))
		ids[i++] = id;
	for (i = 0; i < n; i++) {
		uint32_t att;
		int64_t exp;
		/* a run with an external id (a SLURM job) goes on without its
		 * worker: it keeps its lease, for a worker started again under
		 * the name to follow, rather than run a second time at once */
		Job *j = wn_job_find(c, ids[i]);
		if (j != NULL && j->status == RUNNING && j->external_id[0] != '\0') {
			wn_info("job %llu: runs on as %s without worker %s; its lease is kept",
			        (unsigned long long)j->id, j->external_id, w->rec->name);
			continue;
		}
		if (wn_leases_get(c->e->leases, ids[i], &att, &exp) == WN_OK) {
			wn_leases_remove(c->e->leases, ids[i]);
			wn_queue_expire(c, ids[i], att);
		}
	}
	free(ids);
}
