/* load: the start-up load, rebuilding the in-memory state (projects, tasks,
 * sweeps, workers, jobs, ready queues, leases, dependency edges) from the
 * records of the store.
 *
 * A record that is merely orphaned (a task, sweep or job whose project is
 * gone, a job naming a task or sweep that is gone) is reported and left
 * alone: the server starts, and `wnd --check --repair` tidies it. A record
 * that cannot be read stops the start: going on would misread acknowledged
 * data, so the message says what to run. */
#include "load.h"

#include "auth.h"
#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "project.h"
#include "replay.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Orphans reported one by one before a summary takes over. */
#define LOAD_REPORT_MAX 10

struct load {
	wn_engine *e;
	char **errmsg;
	int rv;      /* a walk's callback stops the start with it */
	int64_t now; /* wall clock, for the request ids of Submits */
	uint64_t orphans, njobs;
	wn_map *statuses; /* job id -> status, of every job loaded */
	Job **withdeps;   /* jobs with dependencies, placed once all are loaded */
	size_t nwith, capwith;
};

/* load_orphan reports a record left alone. */
__attribute__((format(printf, 2, 3))) static void load_orphan(struct load *l, const char *fmt, ...)
{
	if (++l->orphans > LOAD_REPORT_MAX)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wn_warn("%s; left alone (run 'wnd --check --data %s' with the server stopped)", buf,
	        l->e->cfg.data_dir);
}

/* load_corrupt stops the start at a record that cannot be read. */
static int load_corrupt(struct load *l, const char *what)
{
	*l->errmsg = wn_xasprintf("cannot read the %s record: the data in %s is damaged; "
	                          "run 'wnd --check --data %s' for every finding",
	                          what, l->e->cfg.data_dir, l->e->cfg.data_dir);
	return WN_EIO;
}

/* load_walk_end stops the start if the walk of kind ended early on a read
 * error (a damaged table file): going on would serve part of the jobs. */
static int load_walk_end(struct load *l, int walked, char *why, int rv)
{
	if (rv == WN_OK && walked != WN_OK) {
		*l->errmsg = wn_xasprintf("cannot read every record of %s: %s; run 'wnd --check "
		                          "--data %s' and restore a backup if it cannot be read",
		                          l->e->cfg.data_dir, why, l->e->cfg.data_dir);
		rv = WN_EIO;
	}
	free(why);
	return rv;
}

/* load_walk walks the records of kind with fn, which sets l->rv to stop the
 * start. */
static int load_walk(struct load *l, enum wn_key_kind kind, wn_records_fn fn)
{
	char *why = NULL;
	l->rv = WN_OK;
	int walked = wn_records_walk(l->e->rec, kind, fn, l, &why);
	return load_walk_end(l, walked, why, l->rv);
}

static bool load_project(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct load *l = arg;
	Project *p = whatsnext__v1__project__unpack(NULL, vl, (const uint8_t *)v);
	if (p == NULL) {
		char what[WN_KEY_MAX + 16];
		snprintf(what, sizeof(what), "project %.*s", (int)kl, k);
		l->rv = load_corrupt(l, what);
		return false;
	}
	wn_engine_project_new(l->e, p->name,
	                      p->status == WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED);
	whatsnext__v1__project__free_unpacked(p, NULL);
	return true;
}

static bool load_task(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct load *l = arg;
	Task *t = whatsnext__v1__task__unpack(NULL, vl, (const uint8_t *)v);
	if (t == NULL) {
		char what[WN_KEY_MAX + 16];
		snprintf(what, sizeof(what), "task %.*s", (int)kl, k);
		l->rv = load_corrupt(l, what);
		return false;
	}
	struct project *p = wn_map_get_str(l->e->proj.byname, t->project);
	if (p == NULL)
		load_orphan(l,
		            "task record %.*s belongs to project \"%s\", which does not "
		            "exist",
		            (int)kl, k, t->project);
	else
		wn_engine_task_new(p, t);
	whatsnext__v1__task__free_unpacked(t, NULL);
	return true;
}

static bool load_sweep(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct load *l = arg;
	unsigned long long id = kl == WN_KEY_ID_LEN ? (unsigned long long)wn_key_id(k) : 0;
	Whatsnext__V1__Sweep *w = whatsnext__v1__sweep__unpack(NULL, vl, (const uint8_t *)v);
	if (w == NULL || kl != WN_KEY_ID_LEN) {
		char what[64];
		snprintf(what, sizeof(what), "sweep %llu", id);
		l->rv = load_corrupt(l, what);
		if (w != NULL)
			whatsnext__v1__sweep__free_unpacked(w, NULL);
		return false;
	}
	struct project *p = wn_map_get_str(l->e->proj.byname, w->project);
	if (p == NULL)
		load_orphan(l,
		            "sweep record %llu belongs to project \"%s\", which does not "
		            "exist",
		            id, w->project);
	else
		wn_engine_sweep_new(l->e, p, w);
	whatsnext__v1__sweep__free_unpacked(w, NULL);
	return true;
}

/* load_job_counts counts j in its project and sweep and restores its lease. */
static void load_job_counts(struct load *l, struct project *p, const Job *j)
{
	wn_engine *e = l->e;
	int st = (int)j->status;
	if (st <= 0 || st >= WN_NSTATUS) {
		load_orphan(l, "job %llu has an unknown status %d", (unsigned long long)j->id, st);
		return;
	}
	p->counts[st]++;
	struct sweep *w = j->sweep_id ? wn_engine_sweep(e, j->sweep_id) : NULL;
	if (w != NULL)
		w->counts[st]++;
	else if (j->sweep_id != 0)
		load_orphan(l, "job %llu belongs to sweep %llu, which does not exist",
		            (unsigned long long)j->id, (unsigned long long)j->sweep_id);
	struct task *t = wn_map_get_str(p->tasks, j->task);
	if (t == NULL)
		load_orphan(l, "job %llu belongs to task %s/%s, which does not exist",
		            (unsigned long long)j->id, p->name, j->task);
	if (st == RUNNING) { /* the holder gets a full lease from now on */
		wn_leases_put(e->leases, j->id, j->attempt, wn_engine_mono(e) + e->cfg.lease_ms);
		if (t != NULL)
			wn_fleet_hold(e, j->worker, j->id, &t->need);
	} else if (st == CANCELLED && j->stopping && j->attempt > 0 && j->worker[0] != '\0') {
		/* a run cancelled before the restart that has not reported: its
		 * holder is still to be told to stop it, for a lease from now on */
		wn_leases_put(e->leases, j->id, j->attempt, wn_engine_mono(e) + e->cfg.lease_ms);
		wn_job_lease_cancel(e, j->id, j->attempt);
	}
}

/* load_ready puts a PENDING job whose dependencies hold into its class. */
static void load_ready(wn_engine *e, struct project *p, const Job *j)
{
	struct task *t = wn_map_get_str(p->tasks, j->task);
	struct sweep *w = j->sweep_id ? wn_engine_sweep(e, j->sweep_id) : NULL;
	if (t != NULL && !j->held)
		wn_index_insert(wn_queue_of(p, t, w)->ready, j->priority, j->id);
}

/* load_job places one job record; false when it cannot be read. */
static bool load_job(struct load *l, const char *k, size_t kl, const char *v, size_t vl,
                     int64_t now)
{
	wn_engine *e = l->e;
	Job *j =
	    kl == WN_KEY_ID_LEN ? whatsnext__v1__job__unpack(NULL, vl, (const uint8_t *)v) : NULL;
	if (j == NULL)
		return false;
	/* ids are never handed out twice, even those of orphans */
	if (j->id >= e->next_id) /* an id of 2^64 - 1 leaves none: submits are refused */
		e->next_id = j->id == UINT64_MAX ? UINT64_MAX : j->id + 1;
	if (j->id == 0 || j->id != wn_key_id(k)) {
		/* served under its id, it would shadow or stand beside another job */
		load_orphan(l, "job record %llu holds id %llu", (unsigned long long)wn_key_id(k),
		            (unsigned long long)j->id);
		whatsnext__v1__job__free_unpacked(j, NULL);
		return true;
	}
	struct project *p = wn_map_get_str(e->proj.byname, j->project);
	if (p == NULL) {
		load_orphan(l, "job record %llu belongs to project \"%s\", which does not exist",
		            (unsigned long long)wn_key_id(k), j->project);
		whatsnext__v1__job__free_unpacked(j, NULL);
		return true;
	}
	l->njobs++;
	wn_map_put_u64(l->statuses, j->id, (void *)(uintptr_t)j->status);
	if (j->held && (j->status == PENDING || j->status == BLOCKED))
		wn_map_put_u64(p->held, j->id, (void *)1);
	load_job_counts(l, p, j);
	wn_replay_load_job(e, j, now);
	if (j->n_deps > 0) {
		if (l->nwith == l->capwith) {
			l->capwith = l->capwith ? l->capwith * 2 : 256;
			l->withdeps = wn_xrealloc(l->withdeps, l->capwith * sizeof(*l->withdeps));
		}
		l->withdeps[l->nwith++] = j;
		return true;
	}
	if (j->status == PENDING)
		load_ready(e, p, j);
	whatsnext__v1__job__free_unpacked(j, NULL);
	return true;
}

/* load_waiting places the jobs with dependencies, now that every job's
 * status is known. */
static void load_waiting(struct load *l)
{
	wn_engine *e = l->e;
	for (size_t i = 0; i < l->nwith; i++) {
		Job *j = l->withdeps[i];
		struct project *p = wn_map_get_str(e->proj.byname, j->project);
		wn_deps_add_edges(e, j);
		if (j->status == PENDING || j->status == BLOCKED) {
			uint32_t unmet = 0, broken = 0;
			for (size_t d = 0; d < j->n_deps; d++) {
				int st =
				    (int)(uintptr_t)wn_map_get_u64(l->statuses, j->deps[d]->job_id);
				int es = wn_deps_edge_state(j->deps[d]->condition, st);
				unmet += es == EDGE_UNDECIDED;
				broken += es == EDGE_BROKEN;
			}
			if (j->status == BLOCKED && broken == 0)
				broken = 1; /* stays BLOCKED until retried */
			if (unmet == 0 && broken == 0)
				load_ready(e, p, j);
			else
				wn_dwait_put(e, p, j->id, unmet, broken);
		}
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	free(l->withdeps);
	l->withdeps = NULL;
	l->nwith = 0;
}

/* load_one_job places one job record; an unreadable one stops the start. */
static bool load_one_job(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct load *l = arg;
	if (load_job(l, k, kl, v, vl, l->now))
		return true;
	char what[64];
	snprintf(what, sizeof(what), "job %llu",
	         kl == WN_KEY_ID_LEN ? (unsigned long long)wn_key_id(k) : 0ULL);
	l->rv = load_corrupt(l, what);
	return false;
}

static int load_jobs(struct load *l)
{
	l->now = wn_engine_now(l->e);
	int rv = load_walk(l, WN_KEY_JOB, load_one_job);
	load_waiting(l);
	return rv;
}

/* load_next_id reads m/next_id: ids below it were handed out already. One
 * that cannot be read stops the start: an id handed out before would be
 * given to a new job. */
static int load_next_id(wn_engine *e, char **errmsg)
{
	uint64_t n = 0;
	int rv = wn_records_next_id_get(e->rec, &n);
	if (rv != WN_OK && rv != WN_ENOTFOUND) {
		*errmsg = wn_xasprintf("cannot read the bound of the job ids handed out (%s)",
		                       WN_KEY_NEXT_ID);
		return rv;
	}
	if (rv == WN_OK && n > e->next_id)
		e->next_id = n;
	if (e->next_id == 0)
		e->next_id = 1;
	e->id_limit = e->next_id;
	return WN_OK;
}

/* load_token adds a token record to the tables of auth.c. One that cannot be
 * read stops the start: serving without it could leave the server without
 * tokens, open to anyone. */
static bool load_token(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct load *l = arg;
	Whatsnext__V1__TokenRecord *t =
	    whatsnext__v1__token_record__unpack(NULL, vl, (const uint8_t *)v);
	char why[256];
	bool ok = t != NULL && t->token != NULL && t->sha256.len == WN_AUTH_HASH_LEN &&
	          wn_token_check(t->token, why, sizeof(why)) == NULL &&
	          wn_auth_add(l->e, wn_auth_token_from(t->token, t->sha256.data, t->first_job));
	if (t != NULL)
		whatsnext__v1__token_record__free_unpacked(t, NULL);
	if (!ok) {
		char what[WN_KEY_MAX + 16];
		snprintf(what, sizeof(what), "token %.*s", (int)kl, k);
		l->rv = load_corrupt(l, what);
	}
	return ok;
}

int wn_engine_load(wn_engine *e, char **errmsg)
{
	struct load l = {.e = e, .errmsg = errmsg, .statuses = wn_map_new_u64()};
	int rv = load_walk(&l, WN_KEY_PROJECT, load_project);
	if (rv == WN_OK)
		rv = load_walk(&l, WN_KEY_TOKEN, load_token);
	if (rv == WN_OK)
		rv = load_walk(&l, WN_KEY_TASK, load_task);
	if (rv == WN_OK)
		rv = load_walk(&l, WN_KEY_SWEEP, load_sweep);
	if (rv == WN_OK)
		rv = wn_fleet_load(e, errmsg);
	if (rv == WN_OK)
		rv = load_jobs(&l);
	wn_map_free(l.statuses);
	if (rv == WN_OK)
		rv = load_next_id(e, errmsg);
	if (rv != WN_OK)
		return rv;
	if (l.orphans > LOAD_REPORT_MAX)
		wn_warn("%llu orphaned record(s) in all, %llu not shown; run 'wnd --check --data "
		        "%s' with the server stopped",
		        (unsigned long long)l.orphans,
		        (unsigned long long)(l.orphans - LOAD_REPORT_MAX), e->cfg.data_dir);
	wn_info("loaded %zu project(s), %llu job(s), %zu running", wn_map_count(e->proj.byname),
	        (unsigned long long)l.njobs, wn_leases_count(e->leases));
	return WN_OK;
}
