/* wnbench: the steps of bench/scale.sh. */
#include "bench.h"
#include "err.h"
#include "methods.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* bench_stats returns the pending and completed counts of project. */
static int bench_stats(wn_rpc *r, const char *project, uint64_t *pending, uint64_t *completed)
{
	Whatsnext__V1__StatsRequest req = WHATSNEXT__V1__STATS_REQUEST__INIT;
	req.project = (char *)project;
	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(r, WN_PATH_QUEUE_STATS, &req.base,
	                     &whatsnext__v1__stats_response__descriptor, &out, &err, 0, 0);
	if (rv != 0) {
		fprintf(stderr, "wnbench: cannot read the counts of %s: %s\n", project, err);
		free(err);
		return rv;
	}
	Whatsnext__V1__StatsResponse *s = (Whatsnext__V1__StatsResponse *)out;
	*pending = s->n_projects ? s->projects[0]->pending : 0;
	*completed = s->n_projects ? s->projects[0]->completed : 0;
	protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

/* bench_fill tops project up to want pending jobs with SubmitBatch calls of
 * 10,000 from 2 threads; *rate gets the jobs/s (0 if none were needed). */
static int bench_fill(bench_target *tg, const char *project, uint64_t want, double *rate)
{
	uint64_t pending, completed;
	int rv = bench_stats(tg->ctl, project, &pending, &completed);
	*rate = 0;
	if (rv != 0 || pending >= want)
		return rv;
	bench_spec sp = {.producers = 2,
	                 .jobs = (int64_t)(want - pending),
	                 .duration_ms = 3600 * 1000,
	                 .submit_n = 10000,
	                 .claim_n = 1};
	bench_result res;
	rv = bench_run(tg, &sp, project, &res, NULL, NULL);
	if (rv == 0 && res.secs > 0)
		*rate = (double)res.jobs / res.secs;
	return rv;
}

/* bench_remove removes the jobs ids (the submit probe's) again. */
static int bench_remove(wn_rpc *r, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Whatsnext__V1__JobIdRequest req = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
		req.id = ids[i];
		ProtobufCMessage *out = NULL;
		char *err = NULL;
		int rv = wn_rpc_call(r, WN_PATH_JOB_REMOVE, &req.base,
		                     &whatsnext__v1__job__descriptor, &out, &err, 0, 0);
		if (rv != 0) {
			fprintf(stderr, "wnbench: cannot remove job %" PRIu64 ": %s\n", ids[i],
			        err);
			free(err);
			return rv;
		}
		protobuf_c_message_free_unpacked(out, NULL);
	}
	return 0;
}

/* bench_fetch_probe fetches and completes n jobs of project one at a time
 * from one client, timing each Fetch. */
static int bench_fetch_probe(bench_target *tg, const char *project, int64_t n, bench_result *res)
{
	bench_spec sp = {.producers = 0, .consumers = 1, .jobs = n, .claim_n = 1};
	bench_row row;
	int rv = bench_row_init(&row, &sp, tg, project);
	if (rv != 0)
		return rv;
	row.wait_ms = 0;
	bench_thread *th = bench_threads_open(&row, 1, 0);
	bench_job job;
	int64_t t0 = bench_now_ns();
	for (int64_t i = 0; i < n && rv == 0; i++) {
		size_t got = 0;
		int64_t a = bench_now_ns();
		rv = tg->claim(th, 1, &job, &got);
		int64_t b = bench_now_ns();
		if (rv == 0 && got == 0) {
			fprintf(stderr, "wnbench: the queue of %s ran dry\n", project);
			rv = WN_ENOTFOUND;
		}
		if (rv == 0)
			rv = tg->complete(th, &job, 1, NULL, NULL);
		bench_lat_add(&th->lat, b - a);
		th->done++;
		th->last_ns = bench_now_ns();
	}
	bench_collect(th, 1, t0, res);
	bench_threads_close(&row, th, 1);
	return rv;
}

/* bench_scale_probe measures, at level pending jobs in the project: the
 * unbatched submit rate (4 threads; the jobs go to the back of the queue and
 * are removed afterwards) and the latency of Fetch (3 rounds of --probe jobs
 * from the head, one client). One line of output. */
static int bench_scale_probe(const bench_opts *o, bench_target *tg)
{
	double fill_rate = 0;
	uint64_t want = (uint64_t)o->level + 3 * (uint64_t)o->probe;
	int rv = bench_fill(tg, o->project, want, &fill_rate);
	bench_result sub, fetch[3];
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	if (rv == 0) {
		bench_spec sp = {.producers = 4,
		                 .jobs = 4 * o->probe,
		                 .duration_ms = 3600 * 1000,
		                 .submit_n = 1,
		                 .claim_n = 1,
		                 .priority = -1,
		                 .keep_ids = true};
		rv = bench_run(tg, &sp, o->project, &sub, &ids, &n_ids);
	}
	for (int i = 0; i < 3 && rv == 0; i++)
		rv = bench_fetch_probe(tg, o->project, o->probe, &fetch[i]);
	if (rv == 0)
		rv = bench_remove(tg->ctl, ids, n_ids);
	free(ids);
	if (rv != 0)
		return rv;
	double p50[3], p99[3];
	for (int i = 0; i < 3; i++) {
		p50[i] = fetch[i].p50_ms;
		p99[i] = fetch[i].p99_ms;
	}
	if (o->header)
		printf("%10s %10s %10s %9s %9s %9s %9s\n", "pending", "fill/s", "submit/s",
		       "sub p50", "sub p99", "fetch p50", "fetch p99");
	printf("%10" PRId64 " %10.0f %10.0f %9.3f %9.3f %9.3f %9.3f\n", o->level, fill_rate,
	       sub.secs > 0 ? (double)sub.jobs / sub.secs : 0, sub.p50_ms, sub.p99_ms,
	       bench_median(p50, 3), bench_median(p99, 3));
	fflush(stdout);
	return 0;
}

/* bench_scale_drain fetches (1000 per call) and completes (CompleteBatch)
 * every pending job of the project from 2 clients. */
static int bench_scale_drain(const bench_opts *o, bench_target *tg)
{
	uint64_t pending, completed;
	int rv = bench_stats(tg->ctl, o->project, &pending, &completed);
	if (rv != 0)
		return rv;
	bench_spec sp = {.producers = 0, .consumers = 2, .jobs = 0, .claim_n = 1000};
	bench_row row;
	rv = bench_row_init(&row, &sp, tg, o->project);
	if (rv != 0)
		return rv;
	row.wait_ms = 0;
	/* nothing to produce: the jobs are there; drained once all are done */
	atomic_store(&row.submitted, (int64_t)pending);
	atomic_store(&row.producers_done, true);
	bench_thread *th = bench_threads_open(&row, 2, 0);
	pthread_barrier_init(&row.start, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i].tid, NULL, bench_consume, &th[i]);
	int64_t t0 = bench_now_ns();
	pthread_barrier_wait(&row.start);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i].tid, NULL);
	bench_result res;
	bench_collect(th, 2, t0, &res);
	bench_threads_close(&row, th, 2);
	pthread_barrier_destroy(&row.start);
	pthread_cond_destroy(&row.backlog_cv);
	pthread_mutex_destroy(&row.backlog_mu);
	printf("drained %" PRId64 " jobs in %.2f s: %.0f jobs/s (Fetch max_jobs 1000 + "
	       "CompleteBatch, 2 clients)\n",
	       res.jobs, res.secs, res.secs > 0 ? (double)res.jobs / res.secs : 0);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}

/* bench_scale runs one step of bench/scale.sh. */
int bench_scale(const bench_opts *o)
{
	bench_target tg;
	bench_target_wnd(&tg, o->url, o->wnd_pid, o->client);
	int rv = wnd_project(tg.ctl, o->project, true);
	if (rv == 0 && strcmp(o->scale, "probe") == 0) {
		rv = bench_scale_probe(o, &tg);
	} else if (rv == 0 && strcmp(o->scale, "fill") == 0) {
		double rate;
		rv = bench_fill(&tg, o->project, (uint64_t)o->level, &rate);
		if (rv == 0)
			printf("filled to %" PRId64 " pending: %.0f jobs/s (SubmitBatch of 10000, "
			       "2 clients)\n",
			       o->level, rate);
	} else if (rv == 0 && strcmp(o->scale, "drain") == 0) {
		rv = bench_scale_drain(o, &tg);
	} else if (rv == 0 && strcmp(o->scale, "stats") == 0) {
		uint64_t pending, completed;
		rv = bench_stats(tg.ctl, o->project, &pending, &completed);
		if (rv == 0)
			printf("%" PRIu64 " %" PRIu64 "\n", pending, completed);
	} else if (rv == 0) {
		fprintf(stderr, "wnbench: --scale: unknown step %s\n", o->scale);
		rv = WN_EINVAL;
	}
	bench_target_release(&tg, true);
	return rv;
}
