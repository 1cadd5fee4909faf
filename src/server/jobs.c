/* jobs: new jobs, status transitions, removal (jobs.h). */
#include "jobs.h"

#include "artifacts.h"
#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

/* job_leave takes j out of the queue state its current status puts it in
 * (its hold too: a status it moves to next keeps it only by job_hold). */
static void job_leave(struct call *c, struct project *p, const Job *j)
{
	if (j->status != PENDING && j->status != BLOCKED)
		return;
	if (j->held)
		wn_map_del_u64(p->held, j->id);
	if (!wn_dwait_del(c->e, j->id) && j->status == PENDING)
		wn_queue_ready_del(p, j);
}

/* job_enter_pending puts j (status PENDING) in a ready queue, or among the
 * waiting jobs, or makes it BLOCKED, as its dependencies say. */
static void job_enter_pending(struct call *c, struct project *p, Job *j)
{
	uint32_t unmet = 0, broken = 0;
	const char *why = NULL;
	if (j->n_deps > 0 && wn_deps_eval(c, j, &unmet, &broken, &why) != WN_OK)
		wn_deps_recheck_later(c->e, j->id); /* a dependency not read */
	if (unmet == 0 && broken == 0) {
		wn_queue_ready_add(c, p, j);
		return;
	}
	wn_dwait_put(c->e, p, j->id, unmet, broken);
	if (broken > 0) {
		j->status = BLOCKED;
		j->reason = (char *)why;
	}
}

void wn_job_set_status(struct call *c, wn_batch *b, struct project *p, Job *j, int to)
{
	int from = j->status;
	job_leave(c, p, j);
	if (from == RUNNING || to == RUNNING) {
		struct task *t = wn_map_get_str(p->tasks, j->task);
		static const struct need none;
		const struct need *n = t ? &t->need : &none;
		if (from == RUNNING)
			wn_fleet_drop(c->e, j->worker, j->id, n);
		else if (from != RUNNING)
			wn_fleet_hold(c->e, j->worker, j->id, n);
	}
	j->status = (Whatsnext__V1__JobStatus)to;
	if (j->held && (to == PENDING || to == BLOCKED))
		wn_map_put_u64(p->held, j->id, (void *)1);
	if (to == PENDING) {
		job_enter_pending(c, p, j);
	} else if (to == BLOCKED) {
		wn_dwait_put(c->e, p, j->id, 0, 1);
	}
	if (j->held && j->status != PENDING && j->status != BLOCKED)
		j->held = false; /* a hold ends with the wait (Cancel) */
	wn_queue_count_move(c, p, j, from, (int)j->status);
	wn_job_put(c, b, j);
	if (from != (int)j->status)
		wn_deps_propagate(c, b, j->id, from, (int)j->status);
}

int wn_job_remove_many(struct call *c, wn_batch *b, struct project *p, Job **v, size_t n,
                       bool propagate)
{
	/* what they reported first, every key of it read: a walk that fails
	 * leaves nothing of a removed job behind, and changes nothing */
	uint64_t *bytes = wn_arena_alloc(c->arena, (n + 1) * sizeof(*bytes));
	wn_batch_mark(b);
	for (size_t i = 0; i < n; i++)
		if (wn_job_del_reports(c, b, v[i]) != WN_OK ||
		    wn_artifacts_bytes(c, v[i], &bytes[i]) != WN_OK) {
			wn_batch_unmark(b, true);
			return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
		}
	wn_batch_unmark(b, false);
	int *old = wn_arena_alloc(c->arena, (n + 1) * sizeof(int));
	for (size_t i = 0; i < n; i++) {
		Job *j = v[i];
		old[i] = (int)j->status;
		job_leave(c, p, j);
		if (old[i] == RUNNING) { /* its worker no longer holds it */
			struct task *t = wn_map_get_str(p->tasks, j->task);
			static const struct need none;
			wn_fleet_drop(c->e, j->worker, j->id, t ? &t->need : &none);
		}
		wn_queue_count_move(c, p, j, old[i], 0);
		wn_replay_removed(c, b, j, old[i]);
		wn_artifacts_forget(c, j, bytes[i]);
		wn_job_del(c, b, j);
		wn_job_lease_end(c->e, j->id);
		/* status 0 in the call's cache: propagation passes it by */
		j->status = WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED;
	}
	for (size_t i = 0; i < n; i++) {
		if (propagate)
			wn_deps_propagate(c, b, v[i]->id, old[i], 0);
		wn_deps_del_edges(c->e, v[i]);
	}
	return WN_OK;
}

int wn_project_remove_jobs(struct call *c, struct project *p, const char *task, wn_batch *b,
                           uint64_t *removed)
{
	size_t nids = 0, n = 0;
	uint64_t *ids = NULL;
	/* every job is read before any is removed: a job left behind would
	 * outlive its project or task */
	int rv = wn_records_job_ids_of(c->e->rec, p->name, task, &ids, &nids);
	Job **v = wn_xmalloc((nids + 1) * sizeof(*v));
	for (size_t i = 0; rv == WN_OK && i < nids; i++) {
		int got = wn_job_get(c, ids[i], &v[n]);
		if (got == WN_OK)
			n++;
		else if (got != WN_ENOTFOUND)
			rv = got;
	}
	free(ids);
	if (rv == WN_OK)
		rv = wn_job_remove_many(c, b, p, v, n, task != NULL);
	free(v);
	*removed = n;
	return rv == WN_OK ? WN_OK : wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
}

/* job_waiting_reason says why a PENDING job is not ready. */
static const char *job_waiting_reason(struct call *c, struct project *p, const Job *j)
{
	if (j->held)
		return wn_arena_printf(c->arena, "held; wnctl job release %llu lets it run",
		                       (unsigned long long)j->id);
	if (p->archived)
		return wn_arena_printf(c->arena, "project %s is archived", p->name);
	if (!wn_job_is_ready(p, j)) {
		for (size_t i = 0; i < j->n_deps; i++) {
			const Whatsnext__V1__Dependency *d = j->deps[i];
			Job *x = wn_job_find(c, d->job_id);
			int st = x ? (int)x->status : 0;
			if (wn_deps_edge_state(d->condition, st) != EDGE_OK)
				return wn_arena_printf(
				    c->arena, "waiting for job %llu (%s; it is %s)",
				    (unsigned long long)d->job_id, wn_deps_cond_name(d->condition),
				    x ? wn_job_status_name(st) : "removed");
		}
		return "waiting for its dependencies";
	}
	struct task *t = wn_map_get_str(p->tasks, j->task);
	const char *never = t ? wn_fleet_never(c, p, t) : NULL;
	if (never != NULL)
		return never;
	struct sweep *s = j->sweep_id ? wn_engine_sweep(c->e, j->sweep_id) : NULL;
	if (s != NULL && s->max_running > 0 && s->counts[RUNNING] >= s->max_running)
		return wn_arena_printf(c->arena, "sweep %llu has %llu running (max_running %u)",
		                       (unsigned long long)s->id,
		                       (unsigned long long)s->counts[RUNNING], s->max_running);
	return NULL;
}

int wn_job_load_live(struct call *c, uint64_t id, Job **out)
{
	int rv = wn_job_load(c, id, out);
	for (size_t i = 0; rv == WN_OK && i < (*out)->n_deps; i++) {
		Job *x = NULL;
		int got = wn_job_get(c, (*out)->deps[i]->job_id, &x);
		if (got != WN_OK && got != WN_ENOTFOUND)
			rv = wn_call_fail(
			    c, WN_EUNAVAIL,
			    "cannot read job %llu, a dependency of job %llu (wnd's log "
			    "says why); nothing was changed; retry later",
			    (unsigned long long)(*out)->deps[i]->job_id, (unsigned long long)id);
	}
	return rv;
}

void wn_job_fill_live(struct call *c, Job *j, bool position)
{
	for (size_t i = 0; i < j->n_deps; i++) {
		Job *x = wn_job_find(c, j->deps[i]->job_id);
		j->deps[i]->status =
		    x ? x->status : WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED;
	}
	if (j->status == RUNNING) {
		uint32_t att;
		int64_t exp;
		if (wn_leases_get(c->e->leases, j->id, &att, &exp) == WN_OK && att == j->attempt)
			j->lease_expires_ms = wn_engine_mono_to_wall(c->e, exp);
		return;
	}
	if (j->status != PENDING)
		return;
	struct project *p = wn_job_project(c, j);
	if (p == NULL)
		return;
	const char *why = job_waiting_reason(c, p, j);
	if (why != NULL) {
		j->waiting = (char *)why;
		j->position = -1;
		return;
	}
	struct task *t = wn_map_get_str(p->tasks, j->task);
	bool busy = t != NULL && wn_fleet_busy(c, p, t);
	if (!position) {
		j->waiting = busy ? WN_JOB_BUSY : "waiting for a worker";
		return;
	}
	struct qwalk w;
	wn_job_walk_init(c, p, &w);
	wn_index_entry e;
	int64_t pos = 0;
	bool mine = false;
	while (!mine && wn_qwalk_next(&w, &e) && pos < 1000000) {
		mine = e.id == j->id;
		if (!mine && !wn_qwalk_out(&w))
			pos++;
	}
	if (mine && wn_qwalk_out(&w)) {
		wn_job_fill_out(c, j);
		return;
	}
	j->position = pos;
	j->waiting = pos == 0 ? busy ? "next in line; " WN_JOB_BUSY
	                             : "next in line; waiting for a worker to fetch"
	                      : wn_arena_printf(c->arena, "%s; %lld job%s ahead in the queue",
	                                        busy ? WN_JOB_BUSY : "waiting for a worker",
	                                        (long long)pos, pos == 1 ? "" : "s");
}

void wn_job_fill_out(struct call *c, Job *j)
{
	j->position = -1;
	struct sweep *s = j->sweep_id ? wn_engine_sweep(c->e, j->sweep_id) : NULL;
	if (s == NULL)
		return;
	j->waiting = wn_arena_printf(c->arena,
	                             "sweep %llu has %llu running (max_running %u); its jobs "
	                             "ahead take the free places",
	                             (unsigned long long)s->id,
	                             (unsigned long long)s->counts[RUNNING], s->max_running);
}

void wn_job_walk_init(struct call *c, struct project *p, struct qwalk *w)
{
	wn_qwalk_init(c, p, w);
	for (size_t i = 0; i < w->n; i++)
		if (!w->out[i] && wn_fleet_never(c, p, w->q[i]->task) != NULL)
			w->out[i] = true;
}

uint64_t wn_jobs_next_id(wn_engine *e)
{
	return e->next_id;
}

/* ------------------------------------------------------------------ new jobs */

void wn_job_assign_id(struct call *c, Job *j, int64_t now)
{
	j->id = c->e->next_id++;
	j->created_ms = now;
	if (j->name == NULL || j->name[0] == '\0') {
		/* "<task>-<id>", without printf: a batch names many jobs */
		char digits[24];
		size_t nd = 0;
		for (uint64_t v = j->id; nd == 0 || v != 0; v /= 10)
			digits[nd++] = (char)('0' + v % 10);
		size_t tl = strlen(j->task);
		char *name = wn_arena_alloc(c->arena, tl + 1 + nd + 1);
		memcpy(name, j->task, tl);
		name[tl] = '-';
		for (size_t i = 0; i < nd; i++)
			name[tl + 1 + i] = digits[nd - 1 - i];
		name[tl + 1 + nd] = '\0';
		j->name = name;
	}
}

void wn_job_insert(struct call *c, wn_batch *b, struct project *p, Job *j)
{
	wn_job_adopt(c, j);
	wn_deps_add_edges(c->e, j);
	j->status = WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED;
	wn_job_set_status(c, b, p, j, PENDING);
}

/* Job ids are reserved on disk this many at a time: m/next_id is a bound
 * above every id handed out, written only when the ids in use pass it. A
 * restart goes on from the bound, so ids keep increasing but may skip. */
#define ID_BLOCK 1024

void wn_job_ids_store(struct call *c, wn_batch *b)
{
	wn_engine *e = c->e;
	if (e->next_id <= e->id_limit)
		return;
	e->id_limit = e->next_id > UINT64_MAX - ID_BLOCK ? UINT64_MAX : e->next_id + ID_BLOCK;
	wn_records_next_id_put(b, e->id_limit);
}

int wn_job_ids_left(struct call *c, size_t n)
{
	if (n <= UINT64_MAX - c->e->next_id)
		return WN_OK;
	return wn_call_fail(c, WN_ETOOBIG, "no job ids are left: the next would be %llu",
	                    (unsigned long long)c->e->next_id);
}

/* ------------------------------------------------------------------ leases */

bool wn_job_lease_held(wn_engine *e, uint64_t id, uint32_t attempt)
{
	uint32_t held;
	int64_t until;
	return wn_leases_get(e->leases, id, &held, &until) == WN_OK && held == attempt;
}

bool wn_job_lease_extend(wn_engine *e, uint64_t id, uint32_t attempt, int64_t until)
{
	return wn_leases_extend(e->leases, id, attempt, until) == WN_OK;
}

void wn_job_lease_cancel(wn_engine *e, uint64_t id, uint32_t attempt)
{
	wn_map_put_u64(e->cancelled, id, (void *)(uintptr_t)(attempt + 1ULL));
}

bool wn_job_rerun_by(struct call *c, uint64_t id, uint32_t attempt, const char *worker)
{
	const Job *j = wn_job_find(c, id);
	return j != NULL && j->status == RUNNING && j->attempt > attempt &&
	       strcmp(j->worker, worker) == 0;
}

bool wn_job_lease_cancelled(wn_engine *e, uint64_t id, uint32_t attempt)
{
	uintptr_t cv = (uintptr_t)wn_map_get_u64(e->cancelled, id);
	return cv != 0 && cv == attempt + 1ULL;
}

void wn_job_lease_end(wn_engine *e, uint64_t id)
{
	wn_leases_remove(e->leases, id);
	wn_map_del_u64(e->cancelled, id);
}
