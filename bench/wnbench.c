/* wnbench: a load generator for wnd. It measures, against a server on this
 * machine, the submit rate (one job per call), the batched submit rate, and the
 * full cycle rate (producers submit, consumers fetch with wait and complete; a
 * job counts once its completion is acknowledged), at several client thread
 * counts, each thread with its own connection. One table row per measurement.
 *
 * Every row uses a fresh project, so rows do not see each other's jobs. */

#include "envelope.h"
#include "err.h"
#include "rpc.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_PAYLOAD     200   /* bytes of parameter value per job */
#define BENCH_THREADS_MAX 256   /* per row */
#define BENCH_ROWS_MAX    16    /* entries in --threads */
#define BENCH_FETCH_WAIT  250   /* FetchRequest.wait_ms of the consumers */
#define BENCH_STALL_MS    30000 /* a cycle gives up when nothing completes this long */
#define BENCH_TASK        "bench"

#define M_PROJECT_CREATE "/whatsnext.v1.ProjectService/Create"
#define M_PROJECT_LIST   "/whatsnext.v1.ProjectService/List"
#define M_PROJECT_DELETE "/whatsnext.v1.ProjectService/Delete"
#define M_TASK_CREATE    "/whatsnext.v1.TaskService/Create"
#define M_SUBMIT         "/whatsnext.v1.JobService/Submit"
#define M_SUBMIT_BATCH   "/whatsnext.v1.JobService/SubmitBatch"
#define M_FETCH          "/whatsnext.v1.QueueService/Fetch"
#define M_COMPLETE       "/whatsnext.v1.QueueService/Complete"

enum { OP_SUBMIT = 1, OP_CYCLE = 2, OP_BATCH = 4 };

typedef struct bench_opts {
	const char *url;
	const char *label;
	int64_t jobs;        /* per row, at most */
	int64_t duration_ms; /* per row, at most (a cycle row then drains) */
	int64_t warmup;      /* jobs of the warm-up cycle; 0 = none */
	int64_t batch;       /* jobs per SubmitBatch call */
	int64_t batch_jobs;  /* at most this many jobs in the batched row */
	int64_t batch_threads;
	int64_t backlog;       /* cycle: producers stay at most this far ahead; 0 = no bound */
	int64_t wait_ready_ms; /* --wait-ready: wait for the server, then exit */
	int threads[BENCH_ROWS_MAX];
	size_t n_threads;
	unsigned ops;
	bool header;
	bool keep;
} bench_opts;

/* Latencies of one thread's calls, microseconds. */
typedef struct bench_lat {
	uint32_t *us;
	size_t n;
	size_t cap;
} bench_lat;

/* One measurement: shared by its threads. */
typedef struct bench_row {
	char project[64];
	int64_t jobs_max;
	int64_t batch;
	int64_t backlog; /* 0 = producers never wait for consumers */
	int64_t deadline_ns;
	atomic_int_fast64_t claimed;   /* jobs producers have taken on */
	atomic_int_fast64_t submitted; /* jobs whose submission was acknowledged */
	atomic_int_fast64_t completed; /* jobs whose completion was acknowledged */
	atomic_bool producers_done;
	atomic_bool failed;
	pthread_barrier_t start;
} bench_row;

typedef struct bench_thread {
	bench_row *row;
	pthread_t tid;
	int index;
	bool counts; /* its jobs are the row's jobs */
	wn_rpc *rpc;
	bench_lat lat;
	int64_t done;
	int64_t last_ns; /* when its last counted job was acknowledged */
} bench_thread;

/* The result of one row. */
typedef struct bench_result {
	int64_t jobs;
	double secs;
	double p50_ms;
	double p99_ms;
} bench_result;

static char bench_payload[BENCH_PAYLOAD + 1];

static int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void bench_lat_add(bench_lat *l, int64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->us = wn_xrealloc(l->us, l->cap * sizeof(*l->us));
	}
	int64_t us = ns / 1000;
	l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* bench_pct returns the nearest-rank percentile p of the sorted v, in ms. */
static double bench_pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

/* bench_fail records the row's first failure and prints it. */
static void bench_fail(bench_row *row, const char *what, int code, const char *msg)
{
	bool was = atomic_exchange(&row->failed, true);
	if (!was)
		fprintf(stderr, "wnbench: %s failed: %s (%s)\n", what, msg ? msg : "",
		        code >= 0 ? wn_code_name(code) : wn_strerror(code));
}

/* bench_call performs one call and frees its reply; 0 or the failure code. */
static int bench_call(bench_thread *t, const char *method, const ProtobufCMessage *in,
                      const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out,
                      int extra_ms)
{
	char *err = NULL;
	ProtobufCMessage *reply = NULL;
	int rv = wn_rpc_call(t->rpc, method, in, out_desc, &reply, &err, 0, extra_ms);
	if (rv != 0) {
		bench_fail(t->row, strrchr(method, '/') + 1, rv, err);
		free(err);
		return rv;
	}
	if (out != NULL)
		*out = reply;
	else
		protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* bench_spec_init fills a JobSpec with the row's project and the payload. */
static void bench_spec_init(Whatsnext__V1__JobSpec *spec, Whatsnext__V1__JobSpec__ParamsEntry *kv,
                            Whatsnext__V1__JobSpec__ParamsEntry **kvs, const bench_row *row)
{
	whatsnext__v1__job_spec__params_entry__init(kv);
	kv->key = "payload";
	kv->value = bench_payload;
	kvs[0] = kv;
	whatsnext__v1__job_spec__init(spec);
	spec->project = (char *)row->project;
	spec->task = BENCH_TASK;
	spec->n_params = 1;
	spec->params = kvs;
}

/* bench_claim takes up to want jobs of the row's budget; 0 when it is spent.
 * In a cycle it first waits until the backlog of uncompleted jobs allows more. */
static int64_t bench_claim(bench_row *row, int64_t want)
{
	const struct timespec pause = {0, 100000};
	while (row->backlog > 0 && !atomic_load(&row->failed) &&
	       atomic_load(&row->submitted) - atomic_load(&row->completed) >= row->backlog &&
	       bench_now_ns() < row->deadline_ns)
		nanosleep(&pause, NULL);
	if (atomic_load(&row->failed) || bench_now_ns() >= row->deadline_ns)
		return 0;
	int64_t n = atomic_fetch_add(&row->claimed, want);
	if (n >= row->jobs_max)
		return 0;
	return n + want > row->jobs_max ? row->jobs_max - n : want;
}

/* bench_submit_main submits one job per call until the row's budget is spent. */
static void *bench_submit_main(void *arg)
{
	bench_thread *t = arg;
	bench_row *row = t->row;
	Whatsnext__V1__JobSpec spec;
	Whatsnext__V1__JobSpec__ParamsEntry kv, *kvs[1];
	bench_spec_init(&spec, &kv, kvs, row);
	Whatsnext__V1__SubmitRequest req = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	req.job = &spec;

	pthread_barrier_wait(&row->start);
	while (bench_claim(row, 1) > 0) {
		int64_t t0 = bench_now_ns();
		if (bench_call(t, M_SUBMIT, &req.base, &whatsnext__v1__submit_response__descriptor,
		               NULL, 0) != 0)
			break;
		int64_t t1 = bench_now_ns();
		bench_lat_add(&t->lat, t1 - t0);
		t->done++;
		t->last_ns = t1;
		atomic_fetch_add(&row->submitted, 1);
	}
	return NULL;
}

/* bench_batch_main submits row->batch jobs per SubmitBatch call. */
static void *bench_batch_main(void *arg)
{
	bench_thread *t = arg;
	bench_row *row = t->row;
	Whatsnext__V1__JobSpec spec;
	Whatsnext__V1__JobSpec__ParamsEntry kv, *kvs[1];
	bench_spec_init(&spec, &kv, kvs, row);
	Whatsnext__V1__JobSpec **specs = wn_xcalloc((size_t)row->batch, sizeof(*specs));
	for (int64_t i = 0; i < row->batch; i++)
		specs[i] = &spec;
	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	req.jobs = specs;

	pthread_barrier_wait(&row->start);
	int64_t n;
	while ((n = bench_claim(row, row->batch)) > 0) {
		req.n_jobs = (size_t)n;
		ProtobufCMessage *out = NULL;
		int64_t t0 = bench_now_ns();
		if (bench_call(t, M_SUBMIT_BATCH, &req.base,
		               &whatsnext__v1__submit_batch_response__descriptor, &out, 0) != 0)
			break;
		int64_t t1 = bench_now_ns();
		Whatsnext__V1__SubmitBatchResponse *resp =
		    (Whatsnext__V1__SubmitBatchResponse *)out;
		size_t got = resp->n_ids;
		protobuf_c_message_free_unpacked(out, NULL);
		if (got != (size_t)n) {
			bench_fail(row, "SubmitBatch", WHATSNEXT__V1__CODE__INTERNAL,
			           "reply does not hold one id per job");
			break;
		}
		bench_lat_add(&t->lat, t1 - t0);
		t->done += n;
		t->last_ns = t1;
		atomic_fetch_add(&row->submitted, n);
	}
	free(specs);
	return NULL;
}

/* bench_consume_main fetches (with wait) and completes jobs until every job
 * the producers submitted is completed. */
static void *bench_consume_main(void *arg)
{
	bench_thread *t = arg;
	bench_row *row = t->row;
	char worker[32];
	snprintf(worker, sizeof(worker), "wnbench-%d", t->index);
	Whatsnext__V1__FetchRequest freq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	freq.project = row->project;
	freq.worker = worker;
	freq.wait_ms = BENCH_FETCH_WAIT;
	Whatsnext__V1__CompleteRequest creq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	creq.worker = worker;
	creq.success = 1;

	pthread_barrier_wait(&row->start);
	int64_t idle_since = 0;
	while (!atomic_load(&row->failed)) {
		bool drained = atomic_load(&row->producers_done) &&
		               atomic_load(&row->completed) >= atomic_load(&row->submitted);
		if (drained)
			break;
		ProtobufCMessage *out = NULL;
		int64_t t0 = bench_now_ns();
		if (bench_call(t, M_FETCH, &freq.base, &whatsnext__v1__fetch_response__descriptor,
		               &out, BENCH_FETCH_WAIT) != 0)
			break;
		int64_t t1 = bench_now_ns();
		Whatsnext__V1__FetchResponse *fresp = (Whatsnext__V1__FetchResponse *)out;
		if (fresp->job == NULL) {
			protobuf_c_message_free_unpacked(out, NULL);
			if (!atomic_load(&row->producers_done)) {
				idle_since = 0;
			} else if (idle_since == 0) {
				idle_since = t1;
			} else if (t1 - idle_since > (int64_t)BENCH_STALL_MS * 1000000) {
				bench_fail(row, "Fetch", WHATSNEXT__V1__CODE__INTERNAL,
				           "submitted jobs never became fetchable");
				break;
			}
			continue;
		}
		idle_since = 0;
		creq.job_id = fresp->job->id;
		creq.attempt = fresp->job->attempt;
		protobuf_c_message_free_unpacked(out, NULL);
		bench_lat_add(&t->lat, t1 - t0);

		if (bench_call(t, M_COMPLETE, &creq.base,
		               &whatsnext__v1__complete_response__descriptor, NULL, 0) != 0)
			break;
		int64_t t2 = bench_now_ns();
		bench_lat_add(&t->lat, t2 - t1);
		t->done++;
		t->last_ns = t2;
		atomic_fetch_add(&row->completed, 1);
	}
	return NULL;
}

/* bench_open connects one client; exits the program on failure. */
static wn_rpc *bench_open(const char *url)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, getenv("WN_TOKEN"), 0, &r, &err) != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		exit(1);
	}
	return r;
}

/* bench_setup creates the row's project and its task over r. */
static int bench_setup(wn_rpc *r, bench_row *row)
{
	snprintf(row->project, sizeof(row->project), "wnbench-%016" PRIx64, wn_random_u64());
	Whatsnext__V1__CreateProjectRequest preq = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	preq.name = row->project;
	preq.description = "load generator";
	Whatsnext__V1__Task task = WHATSNEXT__V1__TASK__INIT;
	task.project = row->project;
	task.name = BENCH_TASK;
	Whatsnext__V1__CreateTaskRequest treq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	treq.task = &task;

	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(r, M_PROJECT_CREATE, &preq.base, &whatsnext__v1__project__descriptor,
	                     &out, &err, 0, 0);
	if (rv == 0) {
		protobuf_c_message_free_unpacked(out, NULL);
		rv = wn_rpc_call(r, M_TASK_CREATE, &treq.base, &whatsnext__v1__task__descriptor,
		                 &out, &err, 0, 0);
		if (rv == 0)
			protobuf_c_message_free_unpacked(out, NULL);
	}
	if (rv != 0) {
		fprintf(stderr, "wnbench: cannot create project %s: %s\n", row->project, err);
		free(err);
		return rv;
	}
	return 0;
}

/* bench_run runs one row with the given producer (and, for a cycle, as many
 * consumer) threads and fills *res. Returns 0 or a failure code. */
static int bench_run(const bench_opts *o, wn_rpc *ctl, unsigned op, int threads, int64_t jobs,
                     int64_t duration_ms, bench_result *res, char (*projects)[64],
                     size_t *n_projects)
{
	bench_row row;
	memset(&row, 0, sizeof(row));
	row.jobs_max = jobs;
	row.batch = op == OP_BATCH ? o->batch : 1;
	row.backlog = op == OP_CYCLE ? o->backlog : 0;
	atomic_init(&row.claimed, 0);
	atomic_init(&row.submitted, 0);
	atomic_init(&row.completed, 0);
	atomic_init(&row.producers_done, false);
	atomic_init(&row.failed, false);
	int rv = bench_setup(ctl, &row);
	if (rv != 0)
		return rv;
	if (projects != NULL)
		memcpy(projects[(*n_projects)++], row.project, sizeof(row.project));

	int producers = threads, consumers = op == OP_CYCLE ? threads : 0;
	int n = producers + consumers;
	bench_thread *th = wn_xcalloc((size_t)n, sizeof(*th));
	for (int i = 0; i < n; i++) {
		th[i].row = &row;
		th[i].index = i;
		th[i].rpc = bench_open(o->url);
		th[i].counts = op == OP_CYCLE ? i >= producers : true;
	}
	pthread_barrier_init(&row.start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		void *(*fn)(void *) = op == OP_BATCH ? bench_batch_main : bench_submit_main;
		if (i >= producers)
			fn = bench_consume_main;
		if (pthread_create(&th[i].tid, NULL, fn, &th[i]) != 0) {
			fprintf(stderr, "wnbench: cannot start thread\n");
			exit(1);
		}
	}
	int64_t t0 = bench_now_ns();
	row.deadline_ns = t0 + duration_ms * 1000000;
	pthread_barrier_wait(&row.start);
	for (int i = 0; i < producers; i++)
		pthread_join(th[i].tid, NULL);
	atomic_store(&row.producers_done, true);
	for (int i = producers; i < n; i++)
		pthread_join(th[i].tid, NULL);

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
		memcpy(all + k, th[i].lat.us, th[i].lat.n * sizeof(*all));
		k += th[i].lat.n;
		free(th[i].lat.us);
		wn_rpc_close(th[i].rpc);
	}
	qsort(all, total, sizeof(*all), bench_cmp_u32);
	res->secs = (double)(end - t0) / 1e9;
	res->p50_ms = bench_pct(all, total, 50);
	res->p99_ms = bench_pct(all, total, 99);
	free(all);
	free(th);
	pthread_barrier_destroy(&row.start);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}

static void bench_print_header(void)
{
	printf("%-8s %-18s %7s %8s %7s %10s %8s %8s\n", "mode", "op", "threads", "jobs", "secs",
	       "jobs/s", "p50 ms", "p99 ms");
}

static void bench_print_row(const char *label, const char *op, int threads, const bench_result *r)
{
	double rate = r->secs > 0 ? (double)r->jobs / r->secs : 0;
	printf("%-8s %-18s %7d %8" PRId64 " %7.2f %10.0f %8.3f %8.3f\n", label, op, threads,
	       r->jobs, r->secs, rate, r->p50_ms, r->p99_ms);
	fflush(stdout);
}

/* bench_url_check returns NULL if url is a loopback tcp or an ipc address. */
static const char *bench_url_check(const char *url)
{
	static const char tcp[] = "tcp://127.0.0.1:";
	int64_t port;
	if (strncmp(url, "ipc://", 6) == 0 && url[6] != '\0')
		return NULL;
	if (strncmp(url, tcp, sizeof(tcp) - 1) == 0 &&
	    wn_parse_i64(url + sizeof(tcp) - 1, 1, 65535, &port) == 0)
		return NULL;
	return "only tcp://127.0.0.1:PORT and ipc://PATH are allowed";
}

/* bench_wait_ready waits up to ms for the server to answer; 0 when it did. */
static int bench_wait_ready(const char *url, int64_t ms)
{
	int64_t until = wn_mono_ms() + ms;
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, getenv("WN_TOKEN"), WN_RPC_BACKGROUND, &r, &err) != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		free(err);
		return 1;
	}
	wn_rpc_set_timeout(r, 250);
	Whatsnext__V1__ListProjectsRequest req = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
	int rv;
	do {
		ProtobufCMessage *out = NULL;
		free(err);
		err = NULL;
		rv = wn_rpc_call(r, M_PROJECT_LIST, &req.base,
		                 &whatsnext__v1__list_projects_response__descriptor, &out, &err, 0,
		                 0);
		if (rv == 0)
			protobuf_c_message_free_unpacked(out, NULL);
	} while (rv < 0 && wn_mono_ms() < until);
	if (rv != 0)
		fprintf(stderr, "wnbench: %s does not answer: %s\n", url, err ? err : "");
	free(err);
	wn_rpc_close(r);
	return rv != 0;
}

/* bench_cleanup deletes the projects the rows created. */
static void bench_cleanup(wn_rpc *ctl, char (*projects)[64], size_t n)
{
	wn_rpc_set_timeout(ctl, 120000);
	for (size_t i = 0; i < n; i++) {
		Whatsnext__V1__DeleteProjectRequest req =
		    WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
		req.name = projects[i];
		req.force = 1;
		ProtobufCMessage *out = NULL;
		char *err = NULL;
		int rv = wn_rpc_call(ctl, M_PROJECT_DELETE, &req.base,
		                     &whatsnext__v1__delete_project_response__descriptor, &out,
		                     &err, 0, 0);
		if (rv == 0)
			protobuf_c_message_free_unpacked(out, NULL);
		else
			fprintf(stderr, "wnbench: cannot delete project %s: %s\n", projects[i],
			        err);
		free(err);
	}
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: wnbench [options]\n"
	           "  --server URL        tcp://127.0.0.1:PORT or ipc://PATH (default $WN_SERVER,\n"
	           "                      else " WN_DEFAULT_URL ")\n"
	           "  --label NAME        first column of the table (default: bench)\n"
	           "  --ops LIST          rows to run: submit,cycle,batch (default: all)\n"
	           "  --threads LIST      client threads per row (default: 1,4,16); a cycle row\n"
	           "                      runs that many producers and as many consumers\n"
	           "  --jobs N            at most N jobs per row (default: 50000)\n"
	           "  --duration SECONDS  at most this long per row (default: 5)\n"
	           "  --batch N           jobs per SubmitBatch call (default: 100)\n"
	           "  --batch-threads N   client threads of the batched row (default: 4)\n"
	           "  --backlog N         cycle rows: producers stay at most N jobs ahead of\n"
	           "                      completions, 0 = no bound (default: 1000)\n"
	           "  --warmup N          jobs of the warm-up cycle, not reported (default: 2000)\n"
	           "  --no-header         print rows only\n"
	           "  --keep              leave the benchmark projects on the server\n"
	           "  --wait-ready MS     wait until the server answers, then exit\n");
}

static int bench_parse_num(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (wn_parse_i64(s, lo, hi, out) != 0) {
		fprintf(stderr,
		        "wnbench: %s: expected a number in [%" PRId64 ", %" PRId64 "]: %s\n", opt,
		        lo, hi, s);
		return -1;
	}
	return 0;
}

static int bench_parse_threads(const char *s, bench_opts *o)
{
	char *copy = wn_xstrdup(s), *save = NULL;
	o->n_threads = 0;
	int rv = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;
		if (o->n_threads == BENCH_ROWS_MAX ||
		    bench_parse_num("--threads", tok, 1, BENCH_THREADS_MAX, &v) != 0) {
			rv = -1;
			break;
		}
		o->threads[o->n_threads++] = (int)v;
	}
	free(copy);
	if (rv == 0 && o->n_threads == 0)
		rv = -1;
	return rv;
}

static int bench_parse_ops(const char *s, bench_opts *o)
{
	static const struct {
		const char *name;
		unsigned op;
	} table[] = {{"submit", OP_SUBMIT}, {"cycle", OP_CYCLE}, {"batch", OP_BATCH}};
	char *copy = wn_xstrdup(s), *save = NULL;
	int rv = 0;
	o->ops = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < WN_ARRAY_LEN(table); i++)
			if (strcmp(tok, table[i].name) == 0)
				break;
		if (i == WN_ARRAY_LEN(table)) {
			fprintf(stderr, "wnbench: --ops: unknown row kind %s\n", tok);
			rv = -1;
			break;
		}
		o->ops |= table[i].op;
	}
	free(copy);
	return rv;
}

static int bench_parse_args(int argc, char **argv, bench_opts *o)
{
	enum { O_NOHEADER = 256, O_KEEP, O_WAIT, O_BTHREADS, O_BJOBS, O_BACKLOG };
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"label", required_argument, NULL, 'l'},
	    {"ops", required_argument, NULL, 'o'},
	    {"threads", required_argument, NULL, 't'},
	    {"jobs", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"batch", required_argument, NULL, 'b'},
	    {"batch-jobs", required_argument, NULL, O_BJOBS},
	    {"batch-threads", required_argument, NULL, O_BTHREADS},
	    {"backlog", required_argument, NULL, O_BACKLOG},
	    {"warmup", required_argument, NULL, 'w'},
	    {"no-header", no_argument, NULL, O_NOHEADER},
	    {"keep", no_argument, NULL, O_KEEP},
	    {"wait-ready", required_argument, NULL, O_WAIT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t secs;
	int c;
	while ((c = getopt_long(argc, argv, "s:l:o:t:n:d:b:w:h", longopts, NULL)) != -1) {
		int rv = 0;
		switch (c) {
		case 's':
			o->url = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'o':
			rv = bench_parse_ops(optarg, o);
			break;
		case 't':
			rv = bench_parse_threads(optarg, o);
			break;
		case 'n':
			rv = bench_parse_num("--jobs", optarg, 1, INT64_C(1) << 40, &o->jobs);
			break;
		case 'd':
			rv = bench_parse_num("--duration", optarg, 1, 3600, &secs);
			o->duration_ms = secs * 1000;
			break;
		case 'b':
			rv = bench_parse_num("--batch", optarg, 1, 10000, &o->batch);
			break;
		case O_BJOBS:
			rv = bench_parse_num("--batch-jobs", optarg, 1, INT64_C(1) << 40,
			                     &o->batch_jobs);
			break;
		case O_BTHREADS:
			rv = bench_parse_num("--batch-threads", optarg, 1, BENCH_THREADS_MAX,
			                     &o->batch_threads);
			break;
		case O_BACKLOG:
			rv = bench_parse_num("--backlog", optarg, 0, INT64_C(1) << 40, &o->backlog);
			break;
		case 'w':
			rv = bench_parse_num("--warmup", optarg, 0, INT64_C(1) << 40, &o->warmup);
			break;
		case O_NOHEADER:
			o->header = false;
			break;
		case O_KEEP:
			o->keep = true;
			break;
		case O_WAIT:
			rv = bench_parse_num("--wait-ready", optarg, 1, 3600000, &o->wait_ready_ms);
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		default:
			bench_usage(stderr);
			return -1;
		}
		if (rv != 0)
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "wnbench: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bench_opts o = {
	    .url = getenv("WN_SERVER") ? getenv("WN_SERVER") : WN_DEFAULT_URL,
	    .label = "bench",
	    .jobs = 50000,
	    .duration_ms = 5000,
	    .warmup = 2000,
	    .batch = 100,
	    .batch_jobs = 200000,
	    .batch_threads = 4,
	    .backlog = 1000,
	    .threads = {1, 4, 16},
	    .n_threads = 3,
	    .ops = OP_SUBMIT | OP_CYCLE | OP_BATCH,
	    .header = true,
	};
	if (bench_parse_args(argc, argv, &o) != 0)
		return 2;
	const char *why = bench_url_check(o.url);
	if (why != NULL) {
		fprintf(stderr, "wnbench: refusing server %s: %s\n", o.url, why);
		return 2;
	}
	if (o.wait_ready_ms > 0)
		return bench_wait_ready(o.url, o.wait_ready_ms);

	memset(bench_payload, 'x', BENCH_PAYLOAD);
	wn_rpc *ctl = bench_open(o.url);
	char(*projects)[64] = wn_xcalloc(2 * BENCH_ROWS_MAX + 2, sizeof(*projects));
	size_t n_projects = 0;
	bench_result res;
	int rv = 0;

	if (o.warmup > 0)
		rv = bench_run(&o, ctl, OP_CYCLE, 4, o.warmup, 2000, &res, projects, &n_projects);
	if (o.header)
		bench_print_header();
	static const struct {
		unsigned op;
		const char *name;
	} rows[] = {{OP_SUBMIT, "submit"}, {OP_CYCLE, "cycle"}};
	for (size_t k = 0; k < WN_ARRAY_LEN(rows) && rv == 0; k++) {
		if (!(o.ops & rows[k].op))
			continue;
		for (size_t i = 0; i < o.n_threads && rv == 0; i++) {
			rv = bench_run(&o, ctl, rows[k].op, o.threads[i], o.jobs, o.duration_ms,
			               &res, projects, &n_projects);
			if (rv == 0)
				bench_print_row(o.label, rows[k].name, o.threads[i], &res);
		}
	}
	if (rv == 0 && (o.ops & OP_BATCH)) {
		char name[32];
		snprintf(name, sizeof(name), "submit batched/%" PRId64, o.batch);
		rv = bench_run(&o, ctl, OP_BATCH, (int)o.batch_threads, o.batch_jobs, o.duration_ms,
		               &res, projects, &n_projects);
		if (rv == 0)
			bench_print_row(o.label, name, (int)o.batch_threads, &res);
	}
	if (!o.keep)
		bench_cleanup(ctl, projects, n_projects);
	free(projects);
	wn_rpc_close(ctl);
	return rv == 0 ? 0 : 1;
}
