/* wnbench: dispatch latency through a real worker (bench/worker.sh). Jobs of
 * the benchmark task of a project, whose command a waiting wnworker runs as
 * a stamp command (bench/cmd/wnstamp.c), are submitted one at a time; each
 * job's output is the wall-clock time its command started, in nanoseconds. The latency of a job is
 * from just before its Submit call (and, apart, from the call's return) to
 * that stamp: both are CLOCK_REALTIME read on this machine, so the figures
 * have the clock's resolution (ns), not the server's millisecond stamps. A third
 * line splits off the part until wnd handed the job out (its started_ms, a
 * millisecond stamp: coarse, but it says on which side of the hand-out the
 * time goes). */
#include "bench.h"
#include "methods.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WLAT_WAIT_MS 10000 /* a job not done this long after its submission fails the run */
#define WLAT_IDLE_MS 20    /* pause between jobs: the worker is back in its wait */

static int64_t wlat_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* wlat_call performs one call, printing what failed; 0 or the failure code. */
static int wlat_call(wn_rpc *r, const char *method, const ProtobufCMessage *in,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
	char *err = NULL;
	int rv = wn_rpc_call(r, method, in, desc, out, &err, 0, WLAT_WAIT_MS);
	if (rv != 0)
		fprintf(stderr, "wnbench: %s failed: %s\n", strrchr(method, '/') + 1,
		        err ? err : "");
	free(err);
	return rv;
}

/* wlat_submit submits one job of the benchmark task of project; *id gets it. */
static int wlat_submit(wn_rpc *r, const char *project, uint64_t *id)
{
	Whatsnext__V1__JobSpec spec = WHATSNEXT__V1__JOB_SPEC__INIT;
	spec.project = (char *)project;
	spec.task = BENCH_TASK;
	Whatsnext__V1__SubmitRequest req = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	req.job = &spec;
	req.brief = true;
	ProtobufCMessage *out = NULL;
	int rv = wlat_call(r, WN_PATH_JOB_SUBMIT, &req.base,
	                   &whatsnext__v1__submit_response__descriptor, &out);
	if (rv != 0)
		return rv;
	Whatsnext__V1__SubmitResponse *resp = (Whatsnext__V1__SubmitResponse *)out;
	*id = resp->job != NULL ? resp->job->id : 0;
	protobuf_c_message_free_unpacked(out, NULL);
	return *id != 0 ? 0 : -1;
}

/* wlat_stamp waits for job id to end and reads the stamp its command printed,
 * and when wnd handed it out (*handed, ns, from its millisecond stamp). */
static int wlat_stamp(wn_rpc *r, uint64_t id, int64_t *stamp, int64_t *handed)
{
	Whatsnext__V1__WaitRequest wreq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	wreq.n_ids = 1;
	wreq.ids = &id;
	wreq.wait_ms = WLAT_WAIT_MS;
	ProtobufCMessage *out = NULL;
	int rv = wlat_call(r, WN_PATH_JOB_WAIT, &wreq.base,
	                   &whatsnext__v1__wait_response__descriptor, &out);
	if (rv != 0)
		return rv;
	bool done = ((Whatsnext__V1__WaitResponse *)out)->done;
	protobuf_c_message_free_unpacked(out, NULL);
	if (!done) {
		fprintf(stderr, "wnbench: job %" PRIu64 " did not end within %d ms\n", id,
		        WLAT_WAIT_MS);
		return -1;
	}
	Whatsnext__V1__GetJobRequest greq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	greq.id = id;
	rv = wlat_call(r, WN_PATH_JOB_GET, &greq.base, &whatsnext__v1__job__descriptor, &out);
	if (rv != 0)
		return rv;
	Whatsnext__V1__Job *job = (Whatsnext__V1__Job *)out;
	*handed = job->started_ms * INT64_C(1000000);
	char buf[32] = "";
	snprintf(buf, sizeof(buf), "%s", job->output_tail ? job->output_tail : "");
	buf[strcspn(buf, "\n")] = '\0';
	if (job->status != WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ||
	    wn_parse_i64(buf, 1, INT64_MAX, stamp) != 0) {
		fprintf(stderr,
		        "wnbench: job %" PRIu64 " did not print a stamp (status %d, output %s)\n",
		        id, (int)job->status, buf);
		rv = -1;
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

static void wlat_print(const char *what, bench_lat *l)
{
	qsort(l->us, l->n, sizeof(*l->us), bench_cmp_u32);
	printf("%-34s p50 %6.2f ms, p99 %6.2f ms, max %6.2f ms (%zu jobs)\n", what,
	       bench_pct(l->us, l->n, 50), bench_pct(l->us, l->n, 99), bench_pct(l->us, l->n, 100),
	       l->n);
}

int bench_worker_latency(const bench_opts *o)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(o->url, getenv("WN_TOKEN"), WN_RPC_DIRECT, &r, &err) != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		free(err);
		return -1;
	}
	int rv = wnd_project(r, o->project, true);
	bench_lat from_call = {0}, from_return = {0}, to_handout = {0};
	for (int64_t i = 0; rv == 0 && i < o->worker_jobs; i++) {
		uint64_t id = 0;
		int64_t stamp = 0, handed = 0;
		bench_sleep_until(bench_now_ns() + WLAT_IDLE_MS * INT64_C(1000000));
		int64_t t0 = wlat_realtime_ns();
		rv = wlat_submit(r, o->project, &id);
		int64_t t1 = wlat_realtime_ns();
		if (rv == 0)
			rv = wlat_stamp(r, id, &stamp, &handed);
		if (rv == 0) {
			bench_lat_add(&from_call, stamp - t0);
			bench_lat_add(&from_return, stamp - t1);
			bench_lat_add(&to_handout, handed - t0);
		}
	}
	if (rv == 0) {
		wlat_print("submit called -> command start", &from_call);
		wlat_print("submit returned -> command start", &from_return);
		wlat_print("submit called -> wnd's hand-out", &to_handout);
		printf("(the hand-out: wnd's started_ms, a millisecond stamp: up to 1 ms early)\n");
	}
	free(from_call.us);
	free(from_return.us);
	free(to_handout.us);
	wn_rpc_close(r);
	return rv;
}
