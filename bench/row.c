/* wnbench: running a row: producer and consumer threads; the dispatch latency row. */
#include "bench.h"
#include "err.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* bench_outstanding returns how many submitted jobs are not completed yet. */
static int64_t bench_outstanding(bench_row *row)
{
	return atomic_load(&row->submitted) - atomic_load(&row->completed);
}

/* bench_backlog_wait blocks a producer while the backlog is full: until the
 * consumers bring it down to half of it, the row fails or its time is up.
 * A blocked producer takes no CPU from the server under test, as a polling
 * one would. */
static void bench_backlog_wait(bench_row *row, int64_t backlog)
{
	if (backlog <= 0 || bench_outstanding(row) < backlog)
		return;
	pthread_mutex_lock(&row->backlog_mu);
	atomic_fetch_add(&row->backlog_waiting, 1);
	while (!atomic_load(&row->failed) && bench_outstanding(row) > backlog / 2 &&
	       bench_now_ns() < row->deadline_ns) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10000000; /* 10 ms: the deadline is checked that often */
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&row->backlog_cv, &row->backlog_mu, &until);
	}
	atomic_fetch_sub(&row->backlog_waiting, 1);
	pthread_mutex_unlock(&row->backlog_mu);
}

/* bench_backlog_done is a consumer's part: it wakes the producers waiting
 * for the backlog once it is down to half. */
static void bench_backlog_done(bench_row *row)
{
	if (atomic_load(&row->backlog_waiting) == 0 ||
	    bench_outstanding(row) > row->spec->backlog / 2)
		return;
	pthread_mutex_lock(&row->backlog_mu);
	pthread_cond_broadcast(&row->backlog_cv);
	pthread_mutex_unlock(&row->backlog_mu);
}

/* bench_claim takes up to want jobs of the row's budget, storing the index of
 * the first in *first; 0 when the budget is spent. It first waits until the
 * backlog of uncompleted jobs allows more. */
static int64_t bench_claim(bench_row *row, int64_t want, int64_t *first)
{
	bench_backlog_wait(row, row->spec->consumers > 0 ? row->spec->backlog : 0);
	if (atomic_load(&row->failed) || bench_now_ns() >= row->deadline_ns)
		return 0;
	int64_t n = atomic_fetch_add(&row->claimed, want);
	if (n >= row->spec->jobs)
		return 0;
	*first = n;
	return n + want > row->spec->jobs ? row->spec->jobs - n : want;
}

/* bench_produce submits the row's jobs, spec->submit_n per call; paced rows
 * submit each job at its due time and stamp it with that time. */
static void *bench_produce(void *arg)
{
	bench_thread *t = arg;
	bench_row *row = t->row;
	const bench_spec *sp = row->spec;
	bench_target *tg = row->target;
	pthread_barrier_wait(&row->start);
	int64_t n, first = 0;
	while ((n = bench_claim(row, (int64_t)sp->submit_n, &first)) > 0) {
		if (sp->rate > 0) {
			int64_t due = row->start_ns + first * (1000000000 / sp->rate);
			bench_sleep_until(due);
			bench_stamp(t, due);
		}
		uint64_t id = 0;
		int64_t t0 = bench_now_ns();
		if ((sp->noop ? tg->noop(t) : tg->submit(t, (size_t)n, &id)) != 0)
			break;
		int64_t t1 = bench_now_ns();
		if (!row->stamps)
			bench_lat_add(&t->lat, t1 - t0);
		if (sp->keep_ids)
			for (int64_t i = 0; i < n; i++)
				bench_keep_id(t, id + (uint64_t)i);
		t->done += n;
		t->last_ns = t1;
		atomic_fetch_add(&row->submitted, n);
	}
	return NULL;
}

/* bench_drained reports whether every submitted job is completed and no more
 * will be submitted. */
static bool bench_drained(bench_row *row)
{
	return atomic_load(&row->producers_done) &&
	       atomic_load(&row->completed) >= atomic_load(&row->submitted);
}

/* bench_consume claims and completes jobs until the row is drained. */
void *bench_consume(void *arg)
{
	bench_thread *t = arg;
	bench_row *row = t->row;
	const bench_spec *sp = row->spec;
	bench_target *tg = row->target;
	bench_job *jobs = wn_xcalloc(sp->claim_n, sizeof(*jobs));
	size_t have = 0;
	int64_t idle_since = 0, t1 = 0;
	pthread_barrier_wait(&row->start);
	while (!atomic_load(&row->failed)) {
		if (have == 0) {
			if (bench_drained(row))
				break;
			int64_t t0 = bench_now_ns();
			if (tg->claim(t, sp->claim_n, jobs, &have) != 0)
				break;
			t1 = bench_now_ns();
			if (have == 0) {
				if (!atomic_load(&row->producers_done)) {
					idle_since = 0;
				} else if (idle_since == 0) {
					idle_since = t1;
				} else if (t1 - idle_since > (int64_t)BENCH_STALL_MS * 1000000) {
					bench_fail(row, "claim", WHATSNEXT__V1__CODE__INTERNAL,
					           "submitted jobs never became claimable");
					break;
				}
				continue;
			}
			idle_since = 0;
			if (!row->stamps)
				bench_lat_add(&t->lat, t1 - t0);
		}
		bench_job next;
		bool have_next = false;
		if (tg->complete(t, jobs, have, sp->chain ? &next : NULL, &have_next) != 0)
			break;
		int64_t t2 = bench_now_ns();
		if (row->stamps) {
			for (size_t i = 0; i < have; i++)
				bench_lat_add(&t->lat, t2 - jobs[i].due_ns);
		} else {
			bench_lat_add(&t->lat, t2 - t1);
		}
		t->done += (int64_t)have;
		t->last_ns = t2;
		atomic_fetch_add(&row->completed, (int64_t)have);
		bench_backlog_done(row);
		have = 0;
		if (have_next) {
			jobs[0] = next;
			have = 1;
			t1 = t2;
		}
	}
	free(jobs);
	return NULL;
}

/* bench_collect sorts the threads' latencies into *res and frees them. */
void bench_collect(bench_thread *th, int n, int64_t t0, bench_result *res)
{
	size_t total = 0;
	int64_t end = t0;
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < n; i++) {
		total += th[i].lat.n;
		if (th[i].counts) {
			res->jobs += th[i].done;
			if (th[i].last_ns > end)
				end = th[i].last_ns;
		}
	}
	uint32_t *all = wn_xmalloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		if (th[i].lat.n > 0)
			memcpy(all + k, th[i].lat.us, th[i].lat.n * sizeof(*all));
		k += th[i].lat.n;
		free(th[i].lat.us);
		th[i].lat.us = NULL;
	}
	qsort(all, total, sizeof(*all), bench_cmp_u32);
	res->secs = (double)(end - t0) / 1e9;
	res->p50_ms = bench_pct(all, total, 50);
	res->p99_ms = bench_pct(all, total, 99);
	free(all);
}

/* bench_threads_open prepares n threads for row; the first producers of them
 * produce. */
bench_thread *bench_threads_open(bench_row *row, int n, int producers)
{
	bench_thread *th = wn_xcalloc((size_t)n, sizeof(*th));
	for (int i = 0; i < n; i++) {
		th[i].row = row;
		th[i].index = i;
		th[i].counts = row->spec->consumers > 0 ? i >= producers : true;
		snprintf(th[i].worker, sizeof(th[i].worker), "wnbench-%d", i);
		th[i].rng = wn_random_u64() | 1;
		if (row->target->connect(&th[i]) != 0)
			atomic_store(&row->failed, true);
	}
	return th;
}

void bench_threads_close(bench_row *row, bench_thread *th, int n)
{
	for (int i = 0; i < n; i++) {
		row->target->disconnect(&th[i]);
		free(th[i].lat.us);
		free(th[i].ids);
		free(th[i].pay);
	}
	free(th);
}

/* bench_row_init prepares a row of spec against tg, with a fresh queue unless
 * queue is given. */
int bench_row_init(bench_row *row, const bench_spec *spec, bench_target *tg, const char *queue)
{
	memset(row, 0, sizeof(*row));
	row->spec = spec;
	row->target = tg;
	row->stamps = spec->rate > 0;
	row->wait_ms = BENCH_FETCH_WAIT;
	atomic_init(&row->claimed, 0);
	atomic_init(&row->submitted, 0);
	atomic_init(&row->completed, 0);
	atomic_init(&row->producers_done, false);
	atomic_init(&row->stopping, false);
	atomic_init(&row->failed, false);
	atomic_init(&row->backlog_waiting, 0);
	pthread_mutex_init(&row->backlog_mu, NULL);
	pthread_cond_init(&row->backlog_cv, NULL);
	if (queue != NULL)
		snprintf(row->queue, sizeof(row->queue), "%s", queue);
	return tg->setup(tg, row);
}

/* bench_run runs one row of spec against tg and fills *res; ids (may be NULL)
 * gets the submitted ids of a keep_ids row, to free. Returns 0 or a failure
 * code. */
/* CPU times read at the start or the end of a run: the server's (clock
 * ticks, -1 = unknown) and this program's (microseconds), each with its
 * system part. */
typedef struct bench_cpu {
	int64_t srv, srv_sys, self, self_sys;
} bench_cpu;

static void bench_cpu_now(int64_t pid, bench_cpu *c)
{
	c->srv = bench_cpu_ticks(pid, &c->srv_sys);
	c->self = bench_self_us(&c->self_sys);
}

/* bench_cpu_per_job fills res's CPU times per job from the readings a and b
 * around its run (-1 where unknown). */
static void bench_cpu_per_job(const bench_cpu *a, const bench_cpu *b, bench_result *res)
{
	res->cpu_us = res->cli_us = res->sys_us = res->cli_sys_us = -1;
	if (res->jobs <= 0)
		return;
	double jobs = (double)res->jobs, tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);
	if (a->srv >= 0 && b->srv >= 0) {
		res->cpu_us = (double)(b->srv - a->srv) * tick_us / jobs;
		res->sys_us = (double)(b->srv_sys - a->srv_sys) * tick_us / jobs;
	}
	if (a->self >= 0 && b->self >= 0) {
		res->cli_us = (double)(b->self - a->self) / jobs;
		res->cli_sys_us = (double)(b->self_sys - a->self_sys) / jobs;
	}
}

int bench_run(bench_target *tg, const bench_spec *spec, const char *queue, bench_result *res,
              uint64_t **ids, size_t *n_ids)
{
	bench_row row;
	int rv = bench_row_init(&row, spec, tg, queue);
	if (rv != 0)
		return rv;
	int producers = spec->producers, n = spec->producers + spec->consumers;
	bench_thread *th = bench_threads_open(&row, n, producers);
	pthread_barrier_init(&row.start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		void *(*fn)(void *) = i < producers ? bench_produce : bench_consume;
		if (pthread_create(&th[i].tid, NULL, fn, &th[i]) != 0) {
			fprintf(stderr, "wnbench: cannot start thread\n");
			exit(1);
		}
	}
	bench_cpu at0, at1;
	bench_cpu_now(tg->pid, &at0);
	int64_t t0 = bench_now_ns();
	row.start_ns = t0;
	row.deadline_ns = t0 + spec->duration_ms * 1000000;
	pthread_barrier_wait(&row.start);
	for (int i = 0; i < producers; i++)
		pthread_join(th[i].tid, NULL);
	atomic_store(&row.producers_done, true);
	const struct timespec pause = {0, 1000000};
	while (n > producers && !bench_drained(&row) && !atomic_load(&row.failed))
		nanosleep(&pause, NULL);
	bench_cpu_now(tg->pid, &at1);
	atomic_store(&row.stopping, true);
	for (int i = producers; i < n; i++)
		tg->wake(&th[i]);
	for (int i = producers; i < n; i++)
		pthread_join(th[i].tid, NULL);

	bench_collect(th, n, t0, res);
	bench_cpu_per_job(&at0, &at1, res);
	if (ids != NULL) {
		*ids = NULL;
		*n_ids = 0;
		for (int i = 0; i < producers; i++) {
			*ids = wn_xrealloc(*ids, (*n_ids + th[i].n_ids + 1) * sizeof(**ids));
			if (th[i].n_ids > 0)
				memcpy(*ids + *n_ids, th[i].ids, th[i].n_ids * sizeof(**ids));
			*n_ids += th[i].n_ids;
		}
	}
	bench_threads_close(&row, th, n);
	pthread_barrier_destroy(&row.start);
	pthread_cond_destroy(&row.backlog_cv);
	pthread_mutex_destroy(&row.backlog_mu);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}

/* ------------------------------------------------------------------ dispatch latency */

typedef struct bench_dispatch {
	bench_thread *th; /* [0] producer, [1] consumer */
	int64_t samples;
	atomic_int_fast64_t parked; /* the consumer is about to wait for job n */
} bench_dispatch;

static void *bench_dispatch_consume(void *arg)
{
	bench_dispatch *d = arg;
	bench_thread *t = &d->th[1];
	bench_row *row = t->row;
	bench_job job;
	pthread_barrier_wait(&row->start);
	for (int64_t i = 0; i < d->samples && !atomic_load(&row->failed);) {
		size_t got = 0;
		atomic_store(&d->parked, i);
		if (row->target->claim(t, 1, &job, &got) != 0)
			break;
		if (got == 0)
			continue;
		int64_t t1 = bench_now_ns();
		bench_lat_add(&t->lat, t1 - job.due_ns);
		if (row->target->complete(t, &job, 1, NULL, NULL) != 0)
			break;
		t->done++;
		t->last_ns = bench_now_ns();
		atomic_fetch_add(&row->completed, 1);
		i++;
	}
	return NULL;
}

static void *bench_dispatch_produce(void *arg)
{
	bench_dispatch *d = arg;
	bench_thread *t = &d->th[0];
	bench_row *row = t->row;
	const struct timespec pause = {0, 50000};
	pthread_barrier_wait(&row->start);
	for (int64_t i = 0; i < d->samples && !atomic_load(&row->failed); i++) {
		/* the queue is idle and the consumer on its way to waiting */
		while ((atomic_load(&row->completed) < i || atomic_load(&d->parked) < i) &&
		       !atomic_load(&row->failed))
			nanosleep(&pause, NULL);
		bench_sleep_until(bench_now_ns() + 3000000);
		int64_t due = bench_now_ns();
		bench_stamp(t, due);
		uint64_t id;
		if (row->target->submit(t, 1, &id) != 0)
			break;
		atomic_fetch_add(&row->submitted, 1);
	}
	return NULL;
}

/* bench_dispatch_run measures, samples times, how long a job submitted to an
 * idle queue takes to reach a consumer already waiting for one. */
int bench_dispatch_run(bench_target *tg, int64_t samples, bench_result *res)
{
	bench_spec spec = {
	    .producers = 1, .consumers = 1, .jobs = samples, .submit_n = 1, .claim_n = 1};
	bench_row row;
	int rv = bench_row_init(&row, &spec, tg, NULL);
	if (rv != 0)
		return rv;
	row.stamps = true;
	row.wait_ms = 10000;
	bench_dispatch d = {.samples = samples};
	atomic_init(&d.parked, -1);
	d.th = bench_threads_open(&row, 2, 1);
	pthread_barrier_init(&row.start, NULL, 3);
	pthread_create(&d.th[0].tid, NULL, bench_dispatch_produce, &d);
	pthread_create(&d.th[1].tid, NULL, bench_dispatch_consume, &d);
	int64_t t0 = bench_now_ns();
	pthread_barrier_wait(&row.start);
	pthread_join(d.th[0].tid, NULL);
	if (atomic_load(&row.failed)) {
		atomic_store(&row.stopping, true);
		tg->wake(&d.th[1]);
	}
	pthread_join(d.th[1].tid, NULL);
	bench_collect(d.th, 2, t0, res);
	res->cpu_us = res->cli_us = res->sys_us = res->cli_sys_us = -1;
	bench_threads_close(&row, d.th, 2);
	pthread_barrier_destroy(&row.start);
	pthread_cond_destroy(&row.backlog_cv);
	pthread_mutex_destroy(&row.backlog_mu);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}
