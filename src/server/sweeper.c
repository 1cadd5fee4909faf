/* sweeper: the periodic work (sweeper.h). */
#include "sweeper.h"

#include "call.h"
#include "deps.h"
#include "engine_state.h"
#include "jobs.h"
#include "log.h"
#include "queue.h"
#include "replay.h"
#include "watch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void wn_engine_conn_closed(wn_engine *e, uint32_t conn)
{
	pthread_mutex_lock(&e->sweeper.closed_mu);
	if (e->sweeper.nclosed == e->sweeper.capclosed) {
		e->sweeper.capclosed = e->sweeper.capclosed ? e->sweeper.capclosed * 2 : 16;
		e->sweeper.closed = wn_xrealloc(e->sweeper.closed,
		                                e->sweeper.capclosed * sizeof(*e->sweeper.closed));
	}
	e->sweeper.closed[e->sweeper.nclosed++] = conn;
	pthread_mutex_unlock(&e->sweeper.closed_mu);
	pthread_mutex_lock(&e->mu);
	pthread_cond_signal(&e->clock.cv);
	pthread_mutex_unlock(&e->mu);
}

/* engine_drop_closed drops the parked requests of closed connections: their
 * requester is gone, and a job handed to it would be stuck until its lease
 * ran out. A resend of the same request (nng's, after reconnecting) then runs
 * afresh. */
static void engine_drop_closed(struct call *c)
{
	wn_engine *e = c->e;
	pthread_mutex_lock(&e->sweeper.closed_mu);
	uint32_t *closed = e->sweeper.closed;
	size_t n = e->sweeper.nclosed;
	e->sweeper.closed = NULL;
	e->sweeper.nclosed = e->sweeper.capclosed = 0;
	pthread_mutex_unlock(&e->sweeper.closed_mu);
	wn_queue_waiters_drop(c, closed, n);
	wn_watch_drop(c, closed, n);
	free(closed);
}

int64_t wn_engine_tick(wn_engine *e)
{
	struct call c;
	wn_call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	engine_drop_closed(&c);
	int64_t now = wn_engine_mono(e);
	uint64_t recoveries = wn_store_recoveries(e->store);
	if (recoveries != e->sweeper.recoveries) {
		/* the store failed since the last tick, and heartbeats were
		 * refused with the reads (after a failed write): the time it
		 * was down does not count against leases and workers */
		e->sweeper.recoveries = recoveries;
		wn_leases_grace(e->leases, now + e->cfg.lease_ms);
		wn_fleet_grace(e, now);
	}
	uint64_t job;
	uint32_t attempt;
	while (wn_leases_pop_expired(e->leases, now, &job, &attempt))
		wn_queue_expire(&c, job, attempt);
	int64_t lost_at = INT64_MAX;
	size_t pos = 0;
	struct wrk *w;
	while ((w = wn_fleet_lose_next(&c, now, &pos, &lost_at)) != NULL)
		wn_queue_release_worker(&c, w);
	wn_fleet_save_seen_due(&c);
	int64_t next = wn_deps_recheck(&c, now, wn_leases_next_due(e->leases));
	if (lost_at < next)
		next = lost_at;
	next = wn_queue_waiters_due(&c, now, next);
	next = wn_watch_due(&c, now, next);
	pthread_mutex_unlock(&e->mu);
	wn_call_wait(&c);
	wn_call_finish(&c);
	return next;
}

/* expired_ok tells whether finished job j may be deleted: no job that may
 * still wait on it is left but COMPLETED ones. Nothing waits on it, nor runs
 * and may wait on it again (a lost lease, a release, a failure with retries
 * left put a RUNNING job back to PENDING, its dependencies evaluated again),
 * nor ended without success and may be retried (its retry would find the
 * dependency removed, and be refused). */
static bool expired_ok(struct call *c, const Job *j)
{
	struct redges *r = wn_deps_dependents(c->e, j->id);
	for (uint32_t k = 0; r != NULL && k < r->n; k++) {
		Job *y = wn_job_find(c, r->v[k].job);
		if (y != NULL && y->status != COMPLETED)
			return false;
	}
	return c->rec.read_err == 0; /* a dependent it could not read may wait */
}

#define EXPIRE_CHUNK 4096

/* expired_held tells whether job j, to be deleted, holds a dependency that
 * is past its retention but was kept for j (expired_ok): it may go now. */
static bool expired_held(struct call *c, const Job *j, int64_t cutoff)
{
	for (size_t k = 0; k < j->n_deps; k++) {
		const Job *d = wn_job_find(c, j->deps[k]->job_id);
		if (d != NULL && d->finished_ms != 0 && d->finished_ms <= cutoff)
			return true;
	}
	return false;
}

/* expire_group deletes the n expired jobs gone of p in b and returns how
 * many; none, with *more cleared, if what they reported cannot be read (the
 * pass ends; the next one goes on). */
static size_t expire_group(struct call *c, wn_batch *b, struct project *p, Job **gone, size_t n,
                           bool *more)
{
	if (wn_job_remove_many(c, b, p, gone, n, false) == WN_OK)
		return n;
	wn_records_read_ok(&c->rec, WN_EIO);
	*more = false;
	return 0;
}

/* expire_chunk deletes the expired jobs of the next chunk of keys after
 * *after; counts them in *removed, and sets *freed when one of them held a
 * dependency past its retention (which may be deleted now). Returns whether
 * keys are left. A store that failed (here or in a request between two
 * chunks) ends the pass, *freed cleared: the database lacks the changes
 * made since, so its records would bring back jobs deleted in memory, to
 * be deleted again (and walked again for ever); the pass after the store
 * recovered goes on. */
static bool expire_chunk(wn_engine *e, uint64_t *after, uint64_t *removed, bool *freed)
{
	/* a chunk of keys per lock hold, so requests keep flowing */
	struct call c;
	wn_call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	if (wn_store_failed(e->store, NULL, 0)) {
		pthread_mutex_unlock(&e->mu);
		wn_call_finish(&c);
		*freed = false;
		return false;
	}
	int64_t cutoff = wn_engine_now(e) - e->cfg.retention_ms;
	wn_batch *b = wn_batch_new();
	Job **v = wn_arena_alloc(c.arena, EXPIRE_CHUNK * sizeof(*v));
	Job **gone = wn_arena_alloc(c.arena, EXPIRE_CHUNK * sizeof(*gone));
	size_t ngone = 0, ngone_all = 0;
	struct project *gp = NULL;
	bool more = true;
	size_t n = wn_records_job_chunk(&c.rec, after, EXPIRE_CHUNK, v, &more);
	for (size_t i = 0; i < n; i++) {
		Job *j = v[i];
		if (j->finished_ms == 0 || j->finished_ms > cutoff ||
		    (j->status != COMPLETED && j->status != FAILED && j->status != CANCELLED))
			continue;
		wn_job_adopt(&c, j);
		struct project *p = wn_job_project(&c, j);
		if (p == NULL || !expired_ok(&c, j))
			continue;
		if (gp != NULL && p != gp) {
			ngone_all += expire_group(&c, b, gp, gone, ngone, &more);
			ngone = 0;
		}
		gp = p;
		*freed = *freed || expired_held(&c, j, cutoff);
		gone[ngone++] = j;
	}
	if (ngone > 0)
		ngone_all += expire_group(&c, b, gp, gone, ngone, &more);
	*removed += ngone_all;
	if (c.rec.read_err != 0)
		*freed = false; /* the store cannot be read: no walk again */
	if (wn_batch_count(b) > 0)
		wn_engine_write(&c, b);
	wn_batch_free(b);
	pthread_mutex_unlock(&e->mu);
	wn_call_wait(&c);
	wn_call_finish(&c);
	return more;
}

uint64_t wn_engine_expire_finished(wn_engine *e)
{
	if (e->cfg.retention_ms <= 0)
		return 0;
	uint64_t removed = 0;
	/* a job kept for one that waited for it goes in the same pass as that
	 * one: the keys are walked again while a walk deleted such a job */
	for (bool freed = true; freed;) {
		freed = false;
		uint64_t after = 0;
		while (expire_chunk(e, &after, &removed, &freed))
			;
	}
	if (removed > 0) {
		wn_records_compact_jobs(e->rec);
		wn_info("deleted %llu finished job(s) past the retention time",
		        (unsigned long long)removed);
	}
	return removed;
}

/* wn_sweeper_periodic: leases, parked requests and worker timeouts (the
 * tick), forgetting old request ids, and the retention pass. */
int64_t wn_sweeper_periodic(wn_engine *e)
{
	/* the periodic work writes: while the store cannot, it waits, and the
	 * store is tried again each second (it recovers when the fault clears) */
	pthread_mutex_lock(&e->mu);
	bool ok = wn_store_recover(e->store) == WN_OK;
	pthread_mutex_unlock(&e->mu);
	if (!ok)
		return wn_engine_mono(e) + 1000;
	pthread_mutex_lock(&e->sweeper.periodic_mu);
	int64_t retain_every = e->cfg.retention_ms / 10;
	if (retain_every > 60000)
		retain_every = 60000;
	if (retain_every < 1000)
		retain_every = 1000;
	int64_t next = wn_engine_tick(e);
	wn_artifacts_compact_freed(e);
	int64_t now = wn_engine_mono(e);
	if (e->sweeper.forget_at == 0)
		e->sweeper.forget_at = now + 3600 * 1000;
	if (e->sweeper.expire_at == 0)
		e->sweeper.expire_at = now + retain_every;
	if (now >= e->sweeper.forget_at) {
		wn_replay_forget(e);
		e->sweeper.forget_at = now + 3600 * 1000;
	}
	if (e->cfg.retention_ms > 0 && now >= e->sweeper.expire_at) {
		wn_engine_expire_finished(e);
		e->sweeper.expire_at = wn_engine_mono(e) + retain_every;
	}
	if (next > e->sweeper.forget_at)
		next = e->sweeper.forget_at;
	if (e->cfg.retention_ms > 0 && next > e->sweeper.expire_at)
		next = e->sweeper.expire_at;
	pthread_mutex_unlock(&e->sweeper.periodic_mu);
	return next;
}

static void *sweeper_main(void *arg)
{
	wn_engine *e = arg;
	wn_store_thread_init();
	for (;;) {
		int64_t next = wn_sweeper_periodic(e);
		int64_t now = wn_engine_mono(e);
		pthread_mutex_lock(&e->mu);
		if (e->sweeper.stopping) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		e->clock.wake_at = next;
		if (next > now) {
			/* a deadline set while the lock was dropped is caught within a second */
			int64_t wait = next - now < 1000 ? next - now : 1000;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&e->clock.cv, &e->mu, &ts);
		}
		e->clock.wake_at = 0;
		bool stop = e->sweeper.stopping;
		pthread_mutex_unlock(&e->mu);
		if (stop)
			break;
	}
	return NULL;
}

void wn_sweeper_init(wn_engine *e)
{
	memset(&e->sweeper, 0, sizeof(e->sweeper));
	pthread_mutex_init(&e->sweeper.closed_mu, NULL);
	pthread_mutex_init(&e->sweeper.periodic_mu, NULL);
}

bool wn_sweeper_start(wn_engine *e)
{
	if (pthread_create(&e->sweeper.thread, NULL, sweeper_main, e) != 0)
		return false;
	e->sweeper.running = true;
	return true;
}

void wn_sweeper_stop(wn_engine *e)
{
	if (!e->sweeper.running)
		return;
	pthread_mutex_lock(&e->mu);
	e->sweeper.stopping = true;
	pthread_cond_signal(&e->clock.cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->sweeper.thread, NULL);
	e->sweeper.running = false;
}

void wn_sweeper_release(wn_engine *e)
{
	pthread_mutex_destroy(&e->sweeper.closed_mu);
	pthread_mutex_destroy(&e->sweeper.periodic_mu);
	free(e->sweeper.closed);
	e->sweeper.closed = NULL;
}
