/* wnbench: a load generator for wnd, and a side-by-side comparison with
 * beanstalkd.
 *
 * Every measurement is a row: P producer threads submit jobs (200-byte
 * parameter payload), C consumer threads claim and complete them; a job counts
 * once its completion is acknowledged (or, with no consumers, once its
 * submission is). Each thread has its own connection. A row runs until its job
 * budget or its time is spent, and a cycle row then drains.
 *
 * Three ways to run:
 *   - the thread table (default): submit, cycle and batched submit rows against
 *     wnd at several thread counts;
 *   - --beanstalk ADDR: the comparison table, every row run against wnd and
 *     against beanstalkd, alternating, --runs times each, medians and ratios;
 *   - --scale WHAT: the steps of bench/scale.sh (queue length, restart, drain).
 *
 * Every row uses a fresh project (or tube), so rows do not see each other's
 * jobs. The row threads talk to wnd through the direct client (one plain
 * socket speaking nng's SP protocol, like bench/beanstalk.c for beanstalkd)
 * or, with --client nng, through nng's REQ socket as wnctl and wnworker do;
 * the no-op rows are run with both. */

#include "beanstalk.h"
#include "envelope.h"
#include "err.h"
#include "methods.h"
#include "rpc.h"
#include "util.h"

#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PAYLOAD     200   /* bytes of parameter value (or body) per job */
#define BENCH_STAMP       19    /* leading payload digits: when the job was due, ns */
#define BENCH_THREADS_MAX 256   /* per row */
#define BENCH_ROWS_MAX    16    /* entries in --threads */
#define BENCH_CLAIM_MAX   1000  /* jobs per claim call */
#define BENCH_FETCH_WAIT  250   /* wait of the consumers' claims, ms */
#define BENCH_STALL_MS    30000 /* a cycle gives up when nothing completes this long */
#define BENCH_RUNS_MAX    15
#define BENCH_TASK        "bench"
#define BENCH_BS_PRI      1024 /* beanstalkd's default priority */
#define BENCH_BS_TTR      120  /* seconds a reserved beanstalkd job stays reserved */

enum { OP_SUBMIT = 1, OP_CYCLE = 2, OP_BATCH = 4, OP_NOOP = 8 };

typedef struct bench_opts {
	const char *url;
	const char *label;
	int client;          /* wn_rpc_open flags of the row threads: WN_RPC_DIRECT or 0 (nng) */
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
	/* comparison */
	const char *beanstalk; /* beanstalkd address; comparison mode when set */
	int64_t runs;
	int64_t rate;    /* offered jobs/s of the paced row */
	int64_t samples; /* jobs of the dispatch latency row, per run */
	int64_t claim;   /* jobs per claim call in the batched cycle row */
	int64_t wnd_pid, bs_pid;
	double goal_cycle, goal_batch;
	const char *rows; /* run only the comparison rows whose name holds this */
	/* scale */
	const char *scale;
	const char *project;
	int64_t level;
	int64_t probe;
} bench_opts;

/* Latencies of one thread, microseconds. */
typedef struct bench_lat {
	uint32_t *us;
	size_t n;
	size_t cap;
} bench_lat;

/* What one row does. */
typedef struct bench_spec {
	int producers, consumers;
	int64_t jobs, duration_ms, backlog;
	size_t submit_n; /* jobs per submit call (batched, or pipelined) */
	size_t claim_n;  /* jobs per claim call */
	bool chain;      /* complete and claim the next job in one call */
	int64_t rate;    /* paced: offered jobs/s over all producers; 0 = flat out */
	int priority;    /* of the submitted jobs (wnd) */
	bool keep_ids;   /* producers keep the ids they were given */
	bool noop;       /* producers send requests that change nothing, not jobs */
	bool nng;        /* wnd: the threads use nng's REQ socket whatever --client says */
} bench_spec;

/* One measurement: shared by its threads. */
typedef struct bench_row {
	const bench_spec *spec;
	struct bench_target *target;
	char queue[64]; /* the project (wnd) or tube (beanstalkd) */
	bool stamps;    /* jobs carry their due time; latency is per job, due to done */
	int wait_ms;    /* how long a claim waits for a job */
	int64_t start_ns;
	int64_t deadline_ns;
	atomic_int_fast64_t claimed;   /* jobs producers have taken on */
	atomic_int_fast64_t submitted; /* jobs whose submission was acknowledged */
	atomic_int_fast64_t completed; /* jobs whose completion was acknowledged */
	atomic_bool producers_done;
	atomic_bool stopping; /* the row is over: a woken call is no failure */
	atomic_bool failed;
	pthread_barrier_t start;
} bench_row;

typedef struct bench_job {
	uint64_t id;
	uint32_t attempt;
	int64_t due_ns; /* with stamps: when the job was due to be submitted */
} bench_job;

typedef struct bench_thread {
	bench_row *row;
	pthread_t tid;
	int index;
	bool counts; /* its jobs are the row's jobs */
	wn_rpc *rpc;
	wn_beanstalk *bs;
	wn_beanstalk_job *bsjobs; /* claim_n + 1 */
	char worker[32];
	char *pay; /* payloads of the jobs of one submit call */
	size_t pay_cap;
	uint64_t rng;
	int64_t due; /* stamped into the next payloads when not 0 */
	bench_lat lat;
	int64_t done;
	int64_t last_ns; /* when its last counted job was acknowledged */
	uint64_t *ids;   /* with keep_ids */
	size_t n_ids, cap_ids;
} bench_thread;

/* The server under test, behind the same few operations whatever it is. */
typedef struct bench_target {
	const char *name;
	const char *addr;
	int64_t pid;   /* for its CPU time; 0 = unknown */
	wn_rpc *ctl;   /* wnd: control connection (nng) */
	int rpc_flags; /* wnd: wn_rpc_open flags of the row threads (--client) */
	/* setup gives the row a fresh queue */
	int (*setup)(struct bench_target *tg, bench_row *row);
	/* connect opens the thread's connection, ready for the row */
	int (*connect)(bench_thread *t);
	void (*disconnect)(bench_thread *t);
	/* wake makes a claim blocked in t return */
	void (*wake)(bench_thread *t);
	/* submit submits n jobs in one call (n > 1: batched or pipelined) */
	int (*submit)(bench_thread *t, size_t n, uint64_t *first_id);
	/* claim claims up to max jobs, waiting up to the row's wait for one */
	int (*claim)(bench_thread *t, size_t max, bench_job *jobs, size_t *got);
	/* complete reports success for n jobs; with next, claims one more */
	/* noop sends one request the server answers without touching any state */
	int (*noop)(bench_thread *t);
	int (*complete)(bench_thread *t, const bench_job *jobs, size_t n, bench_job *next,
	                bool *have_next);
	char (*queues)[64]; /* wnd: projects created, deleted at the end */
	size_t n_queues, cap_queues;
} bench_target;

/* The result of one row. */
typedef struct bench_result {
	int64_t jobs;
	double secs;
	double p50_ms;
	double p99_ms;
	double cpu_us; /* server CPU per job; < 0 = unknown */
	double cli_us; /* CPU of this client program per job; < 0 = unknown */
} bench_result;

static int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void bench_sleep_until(int64_t ns)
{
	int64_t now = bench_now_ns();
	if (ns <= now)
		return;
	struct timespec ts = {(time_t)((ns - now) / 1000000000), (long)((ns - now) % 1000000000)};
	nanosleep(&ts, NULL);
}

static void bench_lat_add(bench_lat *l, int64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->us = wn_xrealloc(l->us, l->cap * sizeof(*l->us));
	}
	int64_t us = ns / 1000;
	if (us < 0)
		us = 0;
	l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
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

/* bench_median returns the median of v (sorted here). */
static double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* bench_cpu_ticks returns the user + system CPU time of process pid in clock
 * ticks, or -1. */
static int64_t bench_cpu_ticks(int64_t pid)
{
	if (pid <= 0)
		return -1;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name (which may hold spaces): state is 3rd */
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)(ut + st);
}

/* bench_self_us returns the CPU time this program has used, microseconds. */
static int64_t bench_self_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

/* bench_fail records the row's first failure and prints it, unless the row
 * is over and the failure is a woken call. */
static void bench_fail(bench_row *row, const char *what, int code, const char *msg)
{
	if (atomic_load(&row->stopping))
		return;
	bool was = atomic_exchange(&row->failed, true);
	if (!was)
		fprintf(stderr, "wnbench: %s: %s failed: %s (%s)\n", row->target->name, what,
		        msg ? msg : "", code >= 0 ? wn_code_name(code) : wn_strerror(code));
}

/* bench_stamp makes the thread's next jobs carry due (ns) in their payload. */
static void bench_stamp(bench_thread *t, int64_t due)
{
	t->due = due;
}

/* bench_payloads returns n fresh payloads, BENCH_PAYLOAD + 1 bytes apart, each
 * NUL-terminated: random letters (as little compressible as real parameters,
 * and each job's its own), headed by the due time when one is set. */
static char *bench_payloads(bench_thread *t, size_t n)
{
	size_t need = n * (BENCH_PAYLOAD + 1);
	if (need > t->pay_cap) {
		t->pay_cap = need;
		t->pay = wn_xrealloc(t->pay, need);
	}
	char digits[BENCH_STAMP + 1];
	if (t->due != 0)
		snprintf(digits, sizeof(digits), "%019" PRId64, t->due);
	for (size_t i = 0; i < n; i++) {
		char *p = t->pay + i * (BENCH_PAYLOAD + 1);
		for (size_t k = 0; k < BENCH_PAYLOAD; k++) {
			t->rng ^= t->rng << 13; /* xorshift64 */
			t->rng ^= t->rng >> 7;
			t->rng ^= t->rng << 17;
			p[k] = (char)('a' + (t->rng >> 32) % 26);
		}
		p[BENCH_PAYLOAD] = '\0';
		if (t->due != 0)
			memcpy(p, digits, BENCH_STAMP);
	}
	return t->pay;
}

/* bench_due reads the due time back from a payload; 0 if it has none. */
static int64_t bench_due(const char *payload)
{
	int64_t v = 0;
	for (int i = 0; i < BENCH_STAMP; i++) {
		if (payload[i] < '0' || payload[i] > '9')
			return 0;
		v = v * 10 + (payload[i] - '0');
	}
	return v;
}

/* bench_keep_id remembers a submitted job id (keep_ids rows). */
static void bench_keep_id(bench_thread *t, uint64_t id)
{
	if (t->n_ids == t->cap_ids) {
		t->cap_ids = t->cap_ids ? 2 * t->cap_ids : 1024;
		t->ids = wn_xrealloc(t->ids, t->cap_ids * sizeof(*t->ids));
	}
	t->ids[t->n_ids++] = id;
}

/* ------------------------------------------------------------------ wnd */

/* wnd_call performs one call; 0 or the failure code, reported to the row. */
static int wnd_call(bench_thread *t, const char *method, const ProtobufCMessage *in,
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

/* wnd_open connects one client with the given wn_rpc_open flags; exits the
 * program on failure. */
static wn_rpc *wnd_open(const char *url, int flags)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, getenv("WN_TOKEN"), flags, &r, &err) != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		exit(1);
	}
	return r;
}

/* wnd_project creates project name with the benchmark task over r; an
 * existing one is fine when may_exist. */
static int wnd_project(wn_rpc *r, const char *name, bool may_exist)
{
	Whatsnext__V1__CreateProjectRequest preq = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	preq.name = (char *)name;
	preq.description = "load generator";
	Whatsnext__V1__Task task = WHATSNEXT__V1__TASK__INIT;
	task.project = (char *)name;
	task.name = BENCH_TASK;
	Whatsnext__V1__CreateTaskRequest treq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	treq.task = &task;

	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(r, WN_PATH_PROJECT_CREATE, &preq.base,
	                     &whatsnext__v1__project__descriptor, &out, &err, 0, 0);
	if (rv == WHATSNEXT__V1__CODE__ALREADY_EXISTS && may_exist)
		rv = 0;
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv == 0) {
		free(err);
		err = NULL;
		rv = wn_rpc_call(r, WN_PATH_TASK_CREATE, &treq.base,
		                 &whatsnext__v1__task__descriptor, &out, &err, 0, 0);
		if (rv == WHATSNEXT__V1__CODE__ALREADY_EXISTS && may_exist)
			rv = 0;
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
	}
	if (rv != 0)
		fprintf(stderr, "wnbench: cannot create project %s: %s\n", name, err);
	free(err);
	return rv;
}

static int wnd_setup(bench_target *tg, bench_row *row)
{
	if (row->queue[0] != '\0')
		return 0; /* a given project (scale runs) */
	snprintf(row->queue, sizeof(row->queue), "wnbench-%016" PRIx64, wn_random_u64());
	int rv = wnd_project(tg->ctl, row->queue, false);
	if (rv != 0)
		return rv;
	if (tg->n_queues == tg->cap_queues) {
		tg->cap_queues = tg->cap_queues ? 2 * tg->cap_queues : 32;
		tg->queues = wn_xrealloc(tg->queues, tg->cap_queues * sizeof(*tg->queues));
	}
	memcpy(tg->queues[tg->n_queues++], row->queue, sizeof(row->queue));
	return 0;
}

static int wnd_connect(bench_thread *t)
{
	const bench_target *tg = t->row->target;
	t->rpc = wnd_open(tg->addr, t->row->spec->nng ? 0 : tg->rpc_flags);
	return 0;
}

static void wnd_disconnect(bench_thread *t)
{
	wn_rpc_close(t->rpc);
	t->rpc = NULL;
}

static void wnd_wake(bench_thread *t)
{
	(void)t; /* a waiting Fetch comes back within the row's wait */
}

static void wnd_spec(bench_thread *t, Whatsnext__V1__JobSpec *spec,
                     Whatsnext__V1__JobSpec__ParamsEntry *kv,
                     Whatsnext__V1__JobSpec__ParamsEntry **kvs, char *payload)
{
	whatsnext__v1__job_spec__params_entry__init(kv);
	kv->key = "payload";
	kv->value = payload;
	kvs[0] = kv;
	whatsnext__v1__job_spec__init(spec);
	spec->project = t->row->queue;
	spec->task = BENCH_TASK;
	spec->n_params = 1;
	spec->params = kvs;
	spec->priority = t->row->spec->priority;
}

/* wnd_noop calls a method the server does not have: answered at once, before
 * any lock or storage, so the round trip is all transport and envelope. */
static int wnd_noop(bench_thread *t)
{
	Whatsnext__V1__StatsRequest in = WHATSNEXT__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(t->rpc, "/whatsnext.v1.Bench/Noop", &in.base,
	                     &whatsnext__v1__stats_response__descriptor, &out, &err, 0, 0);
	if (rv != WHATSNEXT__V1__CODE__UNIMPLEMENTED)
		bench_fail(t->row, "no-op request", rv, rv < 0 ? err : "expected UNIMPLEMENTED");
	free(err);
	if (rv == WHATSNEXT__V1__CODE__UNIMPLEMENTED)
		return 0;
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv == 0 ? WN_EINTERNAL : rv;
}

static int wnd_submit(bench_thread *t, size_t n, uint64_t *first_id)
{
	char *pay = bench_payloads(t, n);
	ProtobufCMessage *out = NULL;
	if (n == 1) {
		Whatsnext__V1__JobSpec spec;
		Whatsnext__V1__JobSpec__ParamsEntry kv, *kvs[1];
		wnd_spec(t, &spec, &kv, kvs, pay);
		Whatsnext__V1__SubmitRequest req = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
		req.job = &spec;
		req.brief = 1; /* the id is all a producer needs back */
		int rv = wnd_call(t, WN_PATH_JOB_SUBMIT, &req.base,
		                  &whatsnext__v1__submit_response__descriptor, &out, 0);
		if (rv != 0)
			return rv;
		Whatsnext__V1__SubmitResponse *resp = (Whatsnext__V1__SubmitResponse *)out;
		*first_id = resp->job ? resp->job->id : 0;
		protobuf_c_message_free_unpacked(out, NULL);
		return 0;
	}
	Whatsnext__V1__JobSpec *spec = wn_xmalloc(n * sizeof(*spec));
	Whatsnext__V1__JobSpec **specs = wn_xmalloc(n * sizeof(*specs));
	Whatsnext__V1__JobSpec__ParamsEntry *kv = wn_xmalloc(n * sizeof(*kv));
	Whatsnext__V1__JobSpec__ParamsEntry **kvs = wn_xmalloc(n * sizeof(*kvs));
	for (size_t i = 0; i < n; i++) {
		wnd_spec(t, &spec[i], &kv[i], &kvs[i], pay + i * (BENCH_PAYLOAD + 1));
		specs[i] = &spec[i];
	}
	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	req.jobs = specs;
	req.n_jobs = n;
	int rv = wnd_call(t, WN_PATH_JOB_SUBMIT_BATCH, &req.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, &out, 0);
	free(kvs);
	free(kv);
	free(specs);
	free(spec);
	if (rv != 0)
		return rv;
	Whatsnext__V1__SubmitBatchResponse *resp = (Whatsnext__V1__SubmitBatchResponse *)out;
	size_t got = resp->n_ids;
	*first_id = got ? resp->ids[0] : 0;
	protobuf_c_message_free_unpacked(out, NULL);
	if (got != n) {
		bench_fail(t->row, "SubmitBatch", WHATSNEXT__V1__CODE__INTERNAL,
		           "reply does not hold one id per job");
		return WN_EINTERNAL;
	}
	return 0;
}

static void wnd_job(const bench_row *row, const Whatsnext__V1__Job *j, bench_job *out)
{
	out->id = j->id;
	out->attempt = j->attempt;
	out->due_ns = 0;
	for (size_t i = 0; row->stamps && i < j->n_params; i++)
		if (strcmp(j->params[i]->key, "payload") == 0)
			out->due_ns = bench_due(j->params[i]->value);
}

static void wnd_fetch_init(bench_thread *t, Whatsnext__V1__FetchRequest *f, size_t max, int wait_ms)
{
	whatsnext__v1__fetch_request__init(f);
	f->project = t->row->queue;
	f->worker = t->worker;
	f->wait_ms = (uint32_t)wait_ms;
	f->max_jobs = max > 1 ? (uint32_t)max : 0;
}

static int wnd_claim(bench_thread *t, size_t max, bench_job *jobs, size_t *got)
{
	Whatsnext__V1__FetchRequest freq;
	wnd_fetch_init(t, &freq, max, t->row->wait_ms);
	ProtobufCMessage *out = NULL;
	*got = 0;
	int rv = wnd_call(t, WN_PATH_QUEUE_FETCH, &freq.base,
	                  &whatsnext__v1__fetch_response__descriptor, &out, t->row->wait_ms);
	if (rv != 0)
		return rv;
	Whatsnext__V1__FetchResponse *r = (Whatsnext__V1__FetchResponse *)out;
	if (r->job != NULL) {
		wnd_job(t->row, r->job, &jobs[(*got)++]);
		for (size_t i = 0; i < r->n_more && *got < max; i++)
			wnd_job(t->row, r->more[i], &jobs[(*got)++]);
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

static void wnd_complete_init(bench_thread *t, Whatsnext__V1__CompleteRequest *c,
                              const bench_job *j)
{
	whatsnext__v1__complete_request__init(c);
	c->job_id = j->id;
	c->attempt = j->attempt;
	c->worker = t->worker;
	c->success = 1;
	c->brief = 1; /* a worker has the job already */
}

static int wnd_complete(bench_thread *t, const bench_job *jobs, size_t n, bench_job *next,
                        bool *have_next)
{
	ProtobufCMessage *out = NULL;
	if (n == 1) {
		Whatsnext__V1__CompleteRequest creq;
		Whatsnext__V1__FetchRequest freq;
		wnd_complete_init(t, &creq, &jobs[0]);
		if (next != NULL) {
			wnd_fetch_init(t, &freq, 1, 0);
			creq.next = &freq;
		}
		int rv = wnd_call(t, WN_PATH_QUEUE_COMPLETE, &creq.base,
		                  &whatsnext__v1__complete_response__descriptor, &out, 0);
		if (rv != 0)
			return rv;
		Whatsnext__V1__CompleteResponse *r = (Whatsnext__V1__CompleteResponse *)out;
		if (next != NULL) {
			*have_next = r->next != NULL;
			if (r->next != NULL)
				wnd_job(t->row, r->next, next);
		}
		protobuf_c_message_free_unpacked(out, NULL);
		return 0;
	}
	Whatsnext__V1__CompleteRequest *cs = wn_xmalloc(n * sizeof(*cs));
	Whatsnext__V1__CompleteRequest **cps = wn_xmalloc(n * sizeof(*cps));
	for (size_t i = 0; i < n; i++) {
		wnd_complete_init(t, &cs[i], &jobs[i]);
		cps[i] = &cs[i];
	}
	Whatsnext__V1__CompleteBatchRequest req = WHATSNEXT__V1__COMPLETE_BATCH_REQUEST__INIT;
	req.results = cps;
	req.n_results = n;
	int rv = wnd_call(t, WN_PATH_QUEUE_COMPLETE_BATCH, &req.base,
	                  &whatsnext__v1__complete_batch_response__descriptor, &out, 0);
	free(cps);
	free(cs);
	if (rv != 0)
		return rv;
	Whatsnext__V1__CompleteBatchResponse *r = (Whatsnext__V1__CompleteBatchResponse *)out;
	for (size_t i = 0; i < r->n_results && rv == 0; i++) {
		if (r->results[i]->code != WHATSNEXT__V1__CODE__OK) {
			bench_fail(t->row, "CompleteBatch", (int)r->results[i]->code,
			           r->results[i]->message);
			rv = WN_EINTERNAL;
		}
	}
	if (rv == 0 && r->n_results != n) {
		bench_fail(t->row, "CompleteBatch", WHATSNEXT__V1__CODE__INTERNAL,
		           "reply does not hold one result per job");
		rv = WN_EINTERNAL;
	}
	protobuf_c_message_free_unpacked(out, NULL);
	if (next != NULL)
		*have_next = false;
	return rv;
}

/* ------------------------------------------------------------------ beanstalkd */

static int bs_setup(bench_target *tg, bench_row *row)
{
	(void)tg;
	snprintf(row->queue, sizeof(row->queue), "wnbench-%016" PRIx64, wn_random_u64());
	return 0;
}

static int bs_fail(bench_thread *t, const char *what, int rv)
{
	bench_fail(t->row, what, rv, wn_beanstalk_error(t->bs));
	return rv;
}

static int bs_connect(bench_thread *t)
{
	char *err = NULL;
	int rv = wn_beanstalk_open(t->row->target->addr, &t->bs, &err);
	if (rv != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		exit(1);
	}
	rv = wn_beanstalk_use(t->bs, t->row->queue);
	if (rv == 0)
		rv = wn_beanstalk_watch(t->bs, t->row->queue);
	if (rv != 0)
		return bs_fail(t, "use", rv);
	t->bsjobs = wn_xcalloc(t->row->spec->claim_n + 1, sizeof(*t->bsjobs));
	return 0;
}

static void bs_disconnect(bench_thread *t)
{
	wn_beanstalk_close(t->bs);
	t->bs = NULL;
	free(t->bsjobs);
	t->bsjobs = NULL;
}

static void bs_wake(bench_thread *t)
{
	wn_beanstalk_wake(t->bs);
}

/* bs_noop names the tube in use again: answered at once, nothing stored. */
static int bs_noop(bench_thread *t)
{
	int rv = wn_beanstalk_use(t->bs, t->row->queue);
	return rv != 0 ? bs_fail(t, "use", rv) : 0;
}

static int bs_submit(bench_thread *t, size_t n, uint64_t *first_id)
{
	const char **bodies = wn_xmalloc(n * sizeof(*bodies));
	size_t *lens = wn_xmalloc(n * sizeof(*lens));
	uint64_t *ids = wn_xmalloc(n * sizeof(*ids));
	char *pay = bench_payloads(t, n);
	for (size_t i = 0; i < n; i++) {
		bodies[i] = pay + i * (BENCH_PAYLOAD + 1);
		lens[i] = BENCH_PAYLOAD;
	}
	int rv = wn_beanstalk_put(t->bs, BENCH_BS_PRI, BENCH_BS_TTR, bodies, lens, n, ids);
	*first_id = ids[0];
	free(ids);
	free(lens);
	free(bodies);
	return rv != 0 ? bs_fail(t, "put", rv) : 0;
}

static void bs_job(const bench_row *row, const wn_beanstalk_job *bj, bench_job *out)
{
	out->id = bj->id;
	out->attempt = 0;
	out->due_ns = row->stamps ? bench_due(bj->body) : 0;
}

static int bs_claim(bench_thread *t, size_t max, bench_job *jobs, size_t *got)
{
	*got = 0;
	int rv = 0;
	if (max > 1)
		rv = wn_beanstalk_reserve_ready(t->bs, t->bsjobs, max, got);
	if (rv == 0 && *got == 0) {
		int secs = (t->row->wait_ms + 999) / 1000;
		rv = wn_beanstalk_reserve(t->bs, secs, &t->bsjobs[0]);
		if (rv == WN_ETIMEDOUT)
			return 0;
		if (rv == 0)
			*got = 1;
	}
	if (rv != 0)
		return bs_fail(t, "reserve", rv);
	for (size_t i = 0; i < *got; i++)
		bs_job(t->row, &t->bsjobs[i], &jobs[i]);
	return 0;
}

static int bs_complete(bench_thread *t, const bench_job *jobs, size_t n, bench_job *next,
                       bool *have_next)
{
	uint64_t *ids = wn_xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = jobs[i].id;
	int have = 0;
	wn_beanstalk_job *nj = next != NULL ? &t->bsjobs[t->row->spec->claim_n] : NULL;
	int rv = wn_beanstalk_delete(t->bs, ids, n, nj, &have);
	free(ids);
	if (rv != 0)
		return bs_fail(t, "delete", rv);
	if (next != NULL) {
		*have_next = have != 0;
		if (have)
			bs_job(t->row, nj, next);
	}
	return 0;
}

/* ------------------------------------------------------------------ rows */

/* bench_claim takes up to want jobs of the row's budget, storing the index of
 * the first in *first; 0 when the budget is spent. It first waits until the
 * backlog of uncompleted jobs allows more. */
static int64_t bench_claim(bench_row *row, int64_t want, int64_t *first)
{
	const struct timespec pause = {0, 100000};
	int64_t backlog = row->spec->consumers > 0 ? row->spec->backlog : 0;
	while (backlog > 0 && !atomic_load(&row->failed) &&
	       atomic_load(&row->submitted) - atomic_load(&row->completed) >= backlog &&
	       bench_now_ns() < row->deadline_ns)
		nanosleep(&pause, NULL);
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
static void *bench_consume(void *arg)
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
static void bench_collect(bench_thread *th, int n, int64_t t0, bench_result *res)
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
static bench_thread *bench_threads_open(bench_row *row, int n, int producers)
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

static void bench_threads_close(bench_row *row, bench_thread *th, int n)
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
static int bench_row_init(bench_row *row, const bench_spec *spec, bench_target *tg,
                          const char *queue)
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
	if (queue != NULL)
		snprintf(row->queue, sizeof(row->queue), "%s", queue);
	return tg->setup(tg, row);
}

/* bench_run runs one row of spec against tg and fills *res; ids (may be NULL)
 * gets the submitted ids of a keep_ids row, to free. Returns 0 or a failure
 * code. */
static int bench_run(bench_target *tg, const bench_spec *spec, const char *queue, bench_result *res,
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
	int64_t cpu0 = bench_cpu_ticks(tg->pid), self0 = bench_self_us();
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
	int64_t cpu1 = bench_cpu_ticks(tg->pid), self1 = bench_self_us();
	atomic_store(&row.stopping, true);
	for (int i = producers; i < n; i++)
		tg->wake(&th[i]);
	for (int i = producers; i < n; i++)
		pthread_join(th[i].tid, NULL);

	bench_collect(th, n, t0, res);
	res->cpu_us = -1;
	if (cpu0 >= 0 && cpu1 >= 0 && res->jobs > 0)
		res->cpu_us =
		    (double)(cpu1 - cpu0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)res->jobs;
	res->cli_us = self0 >= 0 && self1 >= 0 && res->jobs > 0
	                  ? (double)(self1 - self0) / (double)res->jobs
	                  : -1;
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
static int bench_dispatch_run(bench_target *tg, int64_t samples, bench_result *res)
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
	res->cpu_us = -1;
	res->cli_us = -1;
	bench_threads_close(&row, d.th, 2);
	pthread_barrier_destroy(&row.start);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}

/* ------------------------------------------------------------------ targets */

static void bench_target_wnd(bench_target *tg, const char *url, int64_t pid, int rpc_flags)
{
	memset(tg, 0, sizeof(*tg));
	tg->name = "wnd";
	tg->addr = url;
	tg->pid = pid;
	tg->ctl = wnd_open(url, 0);
	tg->rpc_flags = rpc_flags;
	tg->setup = wnd_setup;
	tg->connect = wnd_connect;
	tg->disconnect = wnd_disconnect;
	tg->wake = wnd_wake;
	tg->submit = wnd_submit;
	tg->claim = wnd_claim;
	tg->complete = wnd_complete;
	tg->noop = wnd_noop;
}

static void bench_target_bs(bench_target *tg, const char *addr, int64_t pid)
{
	memset(tg, 0, sizeof(*tg));
	tg->name = "beanstalkd";
	tg->addr = addr;
	tg->pid = pid;
	tg->setup = bs_setup;
	tg->connect = bs_connect;
	tg->disconnect = bs_disconnect;
	tg->wake = bs_wake;
	tg->submit = bs_submit;
	tg->claim = bs_claim;
	tg->complete = bs_complete;
	tg->noop = bs_noop;
}

/* bench_target_release deletes the projects the rows created (unless keep). */
static void bench_target_release(bench_target *tg, bool keep)
{
	if (tg->ctl != NULL && !keep) {
		wn_rpc_set_timeout(tg->ctl, 120000);
		for (size_t i = 0; i < tg->n_queues; i++) {
			Whatsnext__V1__DeleteProjectRequest req =
			    WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
			req.name = tg->queues[i];
			req.force = 1;
			ProtobufCMessage *out = NULL;
			char *err = NULL;
			int rv = wn_rpc_call(tg->ctl, WN_PATH_PROJECT_DELETE, &req.base,
			                     &whatsnext__v1__delete_project_response__descriptor,
			                     &out, &err, 0, 0);
			if (rv == 0)
				protobuf_c_message_free_unpacked(out, NULL);
			else
				fprintf(stderr, "wnbench: cannot delete project %s: %s\n",
				        tg->queues[i], err);
			free(err);
		}
	}
	free(tg->queues);
	wn_rpc_close(tg->ctl);
	memset(tg, 0, sizeof(*tg));
}

/* ------------------------------------------------------------------ the thread table */

static void bench_print_header(void)
{
	printf("%-8s %-18s %7s %8s %7s %10s %8s %8s\n", "mode", "op", "threads", "jobs", "secs",
	       "jobs/s", "p50 ms", "p99 ms");
}

static void bench_print_row(const char *label, const char *op, int threads, const bench_result *r)
{
	double rate = r->secs > 0 ? (double)r->jobs / r->secs : 0;
	printf("%-8s %-18s %7d %8" PRId64 " %7.2f %10.0f %8.3f %8.3f", label, op, threads, r->jobs,
	       r->secs, rate, r->p50_ms, r->p99_ms);
	if (r->cpu_us >= 0)
		printf("  server cpu %.0f us/job", r->cpu_us);
	if (r->cli_us >= 0)
		printf("  client cpu %.0f us/job", r->cli_us);
	printf("\n");
	fflush(stdout);
}

/* bench_threads_table runs the submit, cycle and batched submit rows against
 * wnd at each thread count. */
static int bench_threads_table(const bench_opts *o)
{
	bench_target tg;
	bench_target_wnd(&tg, o->url, o->wnd_pid, o->client);
	bench_result res;
	int rv = 0;
	if (o->warmup > 0) {
		bench_spec w = {.producers = 4,
		                .consumers = 4,
		                .jobs = o->warmup,
		                .duration_ms = 2000,
		                .backlog = o->backlog,
		                .submit_n = 1,
		                .claim_n = 1};
		rv = bench_run(&tg, &w, NULL, &res, NULL, NULL);
	}
	if (o->header)
		bench_print_header();
	static const struct {
		unsigned op;
		const char *name;
		bool nng;
	} rows[] = {{OP_NOOP, "no-op request", false},
	            {OP_NOOP, "no-op, nng REQ", true},
	            {OP_SUBMIT, "submit", false},
	            {OP_CYCLE, "cycle", false}};
	for (size_t k = 0; k < WN_ARRAY_LEN(rows) && rv == 0; k++) {
		if (!(o->ops & rows[k].op))
			continue;
		for (size_t i = 0; i < o->n_threads && rv == 0; i++) {
			bench_spec sp = {.producers = o->threads[i],
			                 .consumers = rows[k].op == OP_CYCLE ? o->threads[i] : 0,
			                 .jobs = o->jobs,
			                 .duration_ms = o->duration_ms,
			                 .backlog = o->backlog,
			                 .submit_n = 1,
			                 .claim_n = 1,
			                 .noop = rows[k].op == OP_NOOP,
			                 .nng = rows[k].nng};
			rv = bench_run(&tg, &sp, NULL, &res, NULL, NULL);
			if (rv == 0)
				bench_print_row(o->label, rows[k].name, o->threads[i], &res);
		}
	}
	if (rv == 0 && (o->ops & OP_BATCH)) {
		char name[32];
		snprintf(name, sizeof(name), "submit batched/%" PRId64, o->batch);
		bench_spec sp = {.producers = (int)o->batch_threads,
		                 .jobs = o->batch_jobs,
		                 .duration_ms = o->duration_ms,
		                 .submit_n = (size_t)o->batch,
		                 .claim_n = 1};
		rv = bench_run(&tg, &sp, NULL, &res, NULL, NULL);
		if (rv == 0)
			bench_print_row(o->label, name, (int)o->batch_threads, &res);
	}
	bench_target_release(&tg, o->keep);
	return rv;
}

/* ------------------------------------------------------------------ the comparison */

enum { ROW_PLAIN, ROW_PACED, ROW_DISPATCH };

/* The medians of one target's runs of a row. */
typedef struct bench_summary {
	double rate, p50, p99, cpu, cli;
	bool ok;
} bench_summary;

/* bench_medians reduces n runs to their medians. */
static bench_summary bench_medians(const bench_result *r, size_t n, bool have_rate)
{
	double rate[BENCH_RUNS_MAX], p50[BENCH_RUNS_MAX], p99[BENCH_RUNS_MAX], cpu[BENCH_RUNS_MAX],
	    cli[BENCH_RUNS_MAX];
	size_t ncpu = 0, ncli = 0;
	for (size_t i = 0; i < n; i++) {
		rate[i] = have_rate && r[i].secs > 0 ? (double)r[i].jobs / r[i].secs : 0;
		p50[i] = r[i].p50_ms;
		p99[i] = r[i].p99_ms;
		if (r[i].cpu_us >= 0)
			cpu[ncpu++] = r[i].cpu_us;
		if (r[i].cli_us >= 0)
			cli[ncli++] = r[i].cli_us;
	}
	bench_summary m = {bench_median(rate, n),
	                   bench_median(p50, n),
	                   bench_median(p99, n),
	                   ncpu ? bench_median(cpu, ncpu) : -1,
	                   ncli ? bench_median(cli, ncli) : -1,
	                   n > 0};
	return m;
}

/* bench_client_name describes how the row threads talk to wnd. */
static const char *bench_client_name(const bench_opts *o)
{
	return o->client & WN_RPC_DIRECT ? "the direct client (--client direct)"
	                                 : "nng's REQ socket (--client nng)";
}

static void bench_compare_header(const bench_opts *o)
{
	printf("\n%s: wnd --durability %s vs beanstalkd%s; %" PRId64
	       " runs per row alternating, medians;\n"
	       "200-byte payloads; P producers, C consumers, one connection each; latency "
	       "per call,\n"
	       "except paced and dispatch rows (per job: due -> completed, submitted -> "
	       "claimed);\n"
	       "cpu = CPU time per job, us: the server's + this client program's; wnd rows "
	       "use\n"
	       "%s unless they say otherwise\n",
	       o->label, o->label,
	       strcmp(o->label, "sync") == 0 ? " -b DIR -f 0 (fsync every write)" : " (no binlog)",
	       o->runs, bench_client_name(o));
	printf("%-34s %2s %2s | %9s %7s %7s %9s | %9s %7s %7s %9s | %6s\n", "row", "P", "C",
	       "wnd/s", "p50 ms", "p99 ms", "cpu", "bstalk/s", "p50 ms", "p99 ms", "cpu", "ratio");
}

static void bench_fmt_cpu(char *buf, size_t cap, const bench_summary *m)
{
	if (m->cpu < 0 || m->cli < 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.0f+%.0f", m->cpu, m->cli);
}

static void bench_compare_line(const char *name, int p, int c, const bench_summary *w,
                               const bench_summary *b, bool rates)
{
	char wc[32], bc[32], wr[16], br[16], ratio[16];
	bench_fmt_cpu(wc, sizeof(wc), w);
	bench_fmt_cpu(bc, sizeof(bc), b);
	snprintf(wr, sizeof(wr), rates ? "%.0f" : "-", w->rate);
	snprintf(br, sizeof(br), rates ? "%.0f" : "-", b->rate);
	if (rates && b->rate > 0)
		snprintf(ratio, sizeof(ratio), "%.2fx", w->rate / b->rate);
	else if (!rates && w->p50 > 0)
		snprintf(ratio, sizeof(ratio), "%.2fx", b->p50 / w->p50);
	else
		snprintf(ratio, sizeof(ratio), "-");
	printf("%-34s %2d %2d | %9s %7.3f %7.3f %9s | %9s %7.3f %7.3f %9s | %6s\n", name, p, c, wr,
	       w->p50, w->p99, wc, br, b->p50, b->p99, bc, ratio);
	fflush(stdout);
}

/* A row of the comparison. */
typedef struct bench_crow {
	const char *name;
	int kind;
	int producers, consumers;
	bool batched; /* submit_n, claim_n from the options */
	bool chain;
	bool submit_only;
	bool noop;
	bool nng; /* wnd through nng's REQ socket, whatever --client says */
} bench_crow;

static const bench_crow bench_crows[] = {
    {"round trip, no-op request (***)", ROW_PLAIN, 4, 0, false, false, true, true, false},
    {"round trip, no-op, nng REQ client", ROW_PLAIN, 4, 0, false, false, true, true, true},
    {"submit", ROW_PLAIN, 4, 0, false, false, true, false, false},
    {"cycle", ROW_PLAIN, 4, 1, false, false, false, false, false},
    {"cycle", ROW_PLAIN, 4, 4, false, false, false, false, false},
    {"cycle, complete+next (*)", ROW_PLAIN, 4, 4, false, true, false, false, false},
    {"paced", ROW_PACED, 4, 4, false, false, false, false, false},
    {"dispatch to a waiting consumer", ROW_DISPATCH, 1, 1, false, false, false, false, false},
    {"BATCHED submit (**)", ROW_PLAIN, 4, 0, true, false, true, false, false},
    {"BATCHED cycle (**)", ROW_PLAIN, 4, 4, true, false, false, false, false},
};

enum { CROW_CYCLE4 = 4, CROW_NEXT = 5, CROW_DISPATCH = 7, CROW_BCYCLE = 9 };

/* A run starts when both servers are idle: their background work left from
 * earlier runs (RocksDB flushing and compacting the jobs of the rows before)
 * is not billed to it. Idle = under 5 % of one CPU over 50 ms. */
#define SETTLE_WINDOW_MS 50
#define SETTLE_MAX_MS    15000

/* bench_cpu_ns returns the CPU time of every thread of process pid, in
 * nanoseconds (/proc/PID/task/TID/schedstat), or -1. Finer than
 * bench_cpu_ticks (clock ticks of 10 ms), for the idle check's short windows;
 * threads that have exited are not in it, so a run's CPU time per job comes
 * from bench_cpu_ticks. */
static int64_t bench_cpu_ns(int64_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/task", pid);
	DIR *d = pid > 0 ? opendir(path) : NULL;
	if (d == NULL)
		return -1;
	int64_t sum = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char sp[128];
		snprintf(sp, sizeof(sp), "/proc/%" PRId64 "/task/%.32s/schedstat", pid, de->d_name);
		FILE *f = fopen(sp, "r");
		unsigned long long ns = 0;
		if (f != NULL) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += (int64_t)ns;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

/* bench_settle waits until the servers of tgs are idle (or SETTLE_MAX_MS);
 * adds the time waited to *waited_ms. */
static void bench_settle(const bench_target *tgs, int n, int64_t *waited_ms)
{
	int64_t t0 = bench_now_ns();
	const struct timespec win = {0, SETTLE_WINDOW_MS * 1000000L};
	for (;;) {
		int64_t c0[2], c1[2];
		for (int k = 0; k < n && k < 2; k++)
			c0[k] = bench_cpu_ns(tgs[k].pid);
		nanosleep(&win, NULL);
		bool idle = true;
		for (int k = 0; k < n && k < 2; k++) {
			c1[k] = bench_cpu_ns(tgs[k].pid);
			if (c0[k] >= 0 && c1[k] - c0[k] > SETTLE_WINDOW_MS * 1000000L / 20)
				idle = false;
		}
		if (idle || (bench_now_ns() - t0) / 1000000 > SETTLE_MAX_MS)
			break;
	}
	*waited_ms += (bench_now_ns() - t0) / 1000000;
}

/* bench_compare runs every comparison row against wnd and beanstalkd. */
static int bench_compare(const bench_opts *o)
{
	bench_target tgs[2];
	bench_target_wnd(&tgs[0], o->url, o->wnd_pid, o->client);
	bench_target_bs(&tgs[1], o->beanstalk, o->bs_pid);
	int rv = 0;
	bench_result res;
	/* warm-up: connections, caches, the server's first compactions */
	if (o->warmup > 0) {
		bench_spec w = {.producers = 4,
		                .consumers = 4,
		                .jobs = o->warmup,
		                .duration_ms = 2000,
		                .backlog = o->backlog,
		                .submit_n = 1,
		                .claim_n = 1};
		for (int k = 0; k < 2 && rv == 0; k++)
			rv = bench_run(&tgs[k], &w, NULL, &res, NULL, NULL);
	}
	if (o->header)
		bench_compare_header(o);
	bench_summary med[WN_ARRAY_LEN(bench_crows)][2];
	memset(med, 0, sizeof(med));
	int64_t settled_ms = 0;
	bool all = o->rows == NULL;
	for (size_t r = 0; r < WN_ARRAY_LEN(bench_crows) && rv == 0; r++) {
		const bench_crow *cr = &bench_crows[r];
		if (!all && strstr(cr->name, o->rows) == NULL)
			continue;
		bench_spec sp = {.producers = cr->producers,
		                 .consumers = cr->consumers,
		                 .jobs = o->jobs,
		                 .duration_ms = o->duration_ms,
		                 .backlog = o->backlog,
		                 .submit_n = cr->batched ? (size_t)o->batch : 1,
		                 .claim_n = cr->batched ? (size_t)o->claim : 1,
		                 .chain = cr->chain,
		                 .noop = cr->noop,
		                 .nng = cr->nng};
		if (cr->batched) {
			sp.jobs = o->batch_jobs;
			/* room for every producer's next batch and every consumer's claim */
			int64_t room = 2 * cr->producers * (int64_t)sp.submit_n +
			               cr->consumers * (int64_t)sp.claim_n;
			if (sp.backlog < room)
				sp.backlog = room;
		}
		if (cr->kind == ROW_PACED) {
			sp.rate = o->rate;
			sp.jobs = o->rate * o->duration_ms / 1000;
			sp.duration_ms = 2 * o->duration_ms;
		}
		bench_result runs[2][BENCH_RUNS_MAX];
		for (int64_t i = 0; i < o->runs && rv == 0; i++) {
			for (int k = 0; k < 2 && rv == 0; k++) {
				int which =
				    (int)((k + i) % 2); /* wnd first, then beanstalkd first */
				bench_result *out = &runs[which][i];
				bench_settle(tgs, 2, &settled_ms);
				if (cr->kind == ROW_DISPATCH)
					rv = bench_dispatch_run(&tgs[which], o->samples, out);
				else
					rv = bench_run(&tgs[which], &sp, NULL, out, NULL, NULL);
			}
		}
		if (rv != 0)
			break;
		for (int k = 0; k < 2; k++)
			med[r][k] =
			    bench_medians(runs[k], (size_t)o->runs, cr->kind != ROW_DISPATCH);
		char name[64];
		if (cr->kind == ROW_PACED)
			snprintf(name, sizeof(name), "paced, %" PRId64 " jobs/s offered", o->rate);
		else if (cr->batched && cr->submit_only)
			snprintf(name, sizeof(name), "BATCHED submit x%" PRId64 " (**)", o->batch);
		else if (cr->batched)
			snprintf(name, sizeof(name), "BATCHED cycle x%" PRId64 "/x%" PRId64 " (**)",
			         o->batch, o->claim);
		else
			snprintf(name, sizeof(name), "%s", cr->name);
		bench_compare_line(name, cr->producers, cr->consumers, &med[r][0], &med[r][1],
		                   cr->kind != ROW_DISPATCH);
	}
	if (rv == 0 && all) {
		printf("(*)  wnd: Complete with `next` (complete and claim in one call); "
		       "beanstalkd: delete and\n"
		       "     reserve-with-timeout 0 sent in one write\n"
		       "(**) wnd: SubmitBatch of %" PRId64 ", Fetch max_jobs %" PRId64
		       ", CompleteBatch; beanstalkd: as many\n"
		       "     commands pipelined in one write (put, reserve-with-timeout 0, "
		       "delete)\n"
		       "(***) wnd: a method it does not have (UNIMPLEMENTED); beanstalkd: use; "
		       "no state touched\n"
		       "clients: wnd rows use %s, except the \"nng REQ client\"\n"
		       "     row: nng's REQ socket, a context per call (src/common/rpc.c), as in "
		       "wnctl and\n"
		       "     wnworker. The direct client: one plain socket per thread speaking "
		       "nng's SP\n"
		       "     protocol (src/common/rpc_direct.c); beanstalkd's: bench/beanstalk.c, "
		       "the same kind\n"
		       "dispatch ratio: beanstalkd p50 / wnd p50 (above 1: wnd is faster)\n"
		       "each run starts when both servers are idle (under 5 %% of a CPU for 50 "
		       "ms: wnd's\n"
		       "     flushing and compacting of earlier rows' jobs is not billed to the "
		       "next run;\n"
		       "     what a run causes while it runs is); waited %.1f s in all\n",
		       o->batch, o->claim, bench_client_name(o), (double)settled_ms / 1000);
		const bench_summary *c4 = med[CROW_CYCLE4], *nx = med[CROW_NEXT],
		                    *bc = med[CROW_BCYCLE], *dp = med[CROW_DISPATCH];
		double plain = c4[1].rate > 0 ? c4[0].rate / c4[1].rate : 0;
		double next = c4[1].rate > 0 ? nx[0].rate / c4[1].rate : 0;
		double best = plain > next ? plain : next;
		double batch = c4[1].rate > 0 ? bc[0].rate / c4[1].rate : 0;
		double batch_pipe = bc[1].rate > 0 ? bc[0].rate / bc[1].rate : 0;
		printf("goals (%s), ratio = wnd jobs/s / beanstalkd jobs/s in the same run:\n",
		       o->label);
		if (o->goal_cycle > 0)
			printf("  one job per call, cycle 4P+4C vs beanstalkd cycle 4P+4C: "
			       "%.2fx (fetch+complete %.2fx,\n"
			       "    complete+next %.2fx); goal >= %.1fx: %s\n",
			       best, plain, next, o->goal_cycle,
			       best >= o->goal_cycle ? "met" : "NOT MET");
		if (o->goal_batch > 0)
			printf("  batched cycle vs beanstalkd cycle 4P+4C: %.2fx (vs beanstalkd "
			       "pipelined %.2fx);\n"
			       "    goal >= %.1fx: %s\n",
			       batch, batch_pipe, o->goal_batch,
			       batch >= o->goal_batch ? "met" : "NOT MET");
		printf("  dispatch latency p50 %.2f ms (p99 %.2f ms); goal <= 5 ms: %s\n",
		       dp[0].p50, dp[0].p99, dp[0].p50 <= 5 ? "met" : "NOT MET");
		fflush(stdout);
	}
	bench_target_release(&tgs[0], o->keep);
	bench_target_release(&tgs[1], o->keep);
	return rv;
}

/* ------------------------------------------------------------------ scale steps */

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
	printf("drained %" PRId64 " jobs in %.2f s: %.0f jobs/s (Fetch max_jobs 1000 + "
	       "CompleteBatch, 2 clients)\n",
	       res.jobs, res.secs, res.secs > 0 ? (double)res.jobs / res.secs : 0);
	return atomic_load(&row.failed) ? WN_EINTERNAL : 0;
}

/* bench_scale runs one step of bench/scale.sh. */
static int bench_scale(const bench_opts *o)
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

/* ------------------------------------------------------------------ options */

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

/* bench_bs_check returns NULL if addr is 127.0.0.1:PORT. */
static const char *bench_bs_check(const char *addr)
{
	static const char lo[] = "127.0.0.1:";
	int64_t port;
	if (strncmp(addr, lo, sizeof(lo) - 1) == 0 &&
	    wn_parse_i64(addr + sizeof(lo) - 1, 1, 65535, &port) == 0)
		return NULL;
	return "only 127.0.0.1:PORT is allowed";
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
		rv = wn_rpc_call(r, WN_PATH_PROJECT_LIST, &req.base,
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

static void bench_usage(FILE *f)
{
	fprintf(f,
	        "usage: wnbench [options]\n"
	        "  --server URL        tcp://127.0.0.1:PORT or ipc://PATH (default $WN_SERVER,\n"
	        "                      else " WN_DEFAULT_URL ")\n"
	        "  --label NAME        first column of the table (default: bench)\n"
	        "  --client KIND       how the row threads talk to wnd: direct (one plain\n"
	        "                      socket speaking nng's SP protocol, as lean as the\n"
	        "                      beanstalkd client) or nng (nng's REQ socket, as wnctl\n"
	        "                      and wnworker); default: direct. The no-op rows run with\n"
	        "                      both; the control connection is always nng's\n"
	        "  --ops LIST          rows to run: submit,cycle,batch,noop (default:\n"
	        "                      submit,cycle,batch; noop: requests that change nothing,\n"
	        "                      through --client and through nng's REQ socket)\n"
	        "  --threads LIST      client threads per row (default: 1,4,16); a cycle row\n"
	        "                      runs that many producers and as many consumers\n"
	        "  --jobs N            at most N jobs per row (default: 50000)\n"
	        "  --duration SECONDS  at most this long per row, fractions allowed (default: 5)\n"
	        "  --batch N           jobs per SubmitBatch call (default: 100)\n"
	        "  --batch-jobs N      at most N jobs in a batched row (default: 200000)\n"
	        "  --batch-threads N   client threads of the batched row (default: 4)\n"
	        "  --backlog N         cycle rows: producers stay at most N jobs ahead of\n"
	        "                      completions, 0 = no bound (default: 1000)\n"
	        "  --warmup N          jobs of the warm-up cycle, not reported (default: 2000)\n"
	        "  --no-header         print rows only\n"
	        "  --keep              leave the benchmark projects on the server\n"
	        "  --wait-ready MS     wait until the server answers, then exit\n"
	        "  --wnd-pid PID       the server's process, to report its CPU time per job\n"
	        "comparison with beanstalkd (the same rows against both, alternating):\n"
	        "  --beanstalk ADDR    beanstalkd at 127.0.0.1:PORT; runs the comparison table\n"
	        "  --beanstalkd-pid PID  its process, for its CPU time per job\n"
	        "  --runs N            runs per row and server, medians reported (default: 3)\n"
	        "  --rate N            offered jobs/s of the paced row (default: 500)\n"
	        "  --samples N         jobs per run of the dispatch latency row (default: 100)\n"
	        "  --claim N           jobs per claim in the batched cycle row (default: 100)\n"
	        "  --goals X,Y         print whether wnd reaches X times beanstalkd's cycle\n"
	        "                      rate one job per call, and Y times with batches\n"
	        "  --rows TEXT         run only the rows whose name contains TEXT (e.g. cycle,\n"
	        "                      BATCHED, paced, dispatch, no-op); no goals printed\n"
	        "scale steps (bench/scale.sh), against a given project:\n"
	        "  --scale STEP        probe: submit rate and Fetch latency at --level pending\n"
	        "                      jobs; fill: top up to --level; drain: complete them all;\n"
	        "                      stats: print the pending and completed counts\n"
	        "  --project NAME      the project (created if missing; default: scale)\n"
	        "  --level N           pending jobs (default: 1000)\n"
	        "  --probe N           Fetch calls per probe round (default: 2000)\n");
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

/* bench_parse_secs parses a number of seconds (fractions allowed, 0.1 to 3600)
 * into *ms. */
static int bench_parse_secs(const char *opt, const char *s, int64_t *ms)
{
	char *end = NULL;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= 0.1 && v <= 3600)) {
		fprintf(stderr, "wnbench: %s: expected seconds between 0.1 and 3600: %s\n", opt, s);
		return -1;
	}
	*ms = (int64_t)(v * 1000 + 0.5);
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
	} table[] = {
	    {"submit", OP_SUBMIT}, {"cycle", OP_CYCLE}, {"batch", OP_BATCH}, {"noop", OP_NOOP}};
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

static int bench_parse_client(const char *s, bench_opts *o)
{
	if (strcmp(s, "direct") == 0)
		o->client = WN_RPC_DIRECT;
	else if (strcmp(s, "nng") == 0)
		o->client = 0;
	else {
		fprintf(stderr, "wnbench: --client: expected direct or nng: %s\n", s);
		return -1;
	}
	return 0;
}

static int bench_parse_goals(const char *s, bench_opts *o)
{
	char *end = NULL;
	o->goal_cycle = strtod(s, &end);
	if (end == s || *end != ',' || o->goal_cycle < 0)
		goto bad;
	const char *y = end + 1;
	o->goal_batch = strtod(y, &end);
	if (end == y || *end != '\0' || o->goal_batch < 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "wnbench: --goals: expected X,Y (two numbers): %s\n", s);
	return -1;
}

static int bench_parse_args(int argc, char **argv, bench_opts *o)
{
	enum {
		O_NOHEADER = 256,
		O_KEEP,
		O_WAIT,
		O_BTHREADS,
		O_BJOBS,
		O_BACKLOG,
		O_BEANSTALK,
		O_RUNS,
		O_RATE,
		O_SAMPLES,
		O_CLAIM,
		O_WND_PID,
		O_BS_PID,
		O_GOALS,
		O_ROWS,
		O_SCALE,
		O_PROJECT,
		O_LEVEL,
		O_PROBE,
		O_CLIENT,
	};
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"label", required_argument, NULL, 'l'},
	    {"client", required_argument, NULL, O_CLIENT},
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
	    {"beanstalk", required_argument, NULL, O_BEANSTALK},
	    {"runs", required_argument, NULL, O_RUNS},
	    {"rate", required_argument, NULL, O_RATE},
	    {"samples", required_argument, NULL, O_SAMPLES},
	    {"claim", required_argument, NULL, O_CLAIM},
	    {"wnd-pid", required_argument, NULL, O_WND_PID},
	    {"beanstalkd-pid", required_argument, NULL, O_BS_PID},
	    {"goals", required_argument, NULL, O_GOALS},
	    {"rows", required_argument, NULL, O_ROWS},
	    {"scale", required_argument, NULL, O_SCALE},
	    {"project", required_argument, NULL, O_PROJECT},
	    {"level", required_argument, NULL, O_LEVEL},
	    {"probe", required_argument, NULL, O_PROBE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
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
		case O_CLIENT:
			rv = bench_parse_client(optarg, o);
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
			rv = bench_parse_secs("--duration", optarg, &o->duration_ms);
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
		case O_BEANSTALK:
			o->beanstalk = optarg;
			break;
		case O_RUNS:
			rv = bench_parse_num("--runs", optarg, 1, BENCH_RUNS_MAX, &o->runs);
			break;
		case O_RATE:
			rv = bench_parse_num("--rate", optarg, 1, 1000000, &o->rate);
			break;
		case O_SAMPLES:
			rv = bench_parse_num("--samples", optarg, 1, 1000000, &o->samples);
			break;
		case O_CLAIM:
			rv = bench_parse_num("--claim", optarg, 1, BENCH_CLAIM_MAX, &o->claim);
			break;
		case O_WND_PID:
			rv = bench_parse_num("--wnd-pid", optarg, 1, INT32_MAX, &o->wnd_pid);
			break;
		case O_BS_PID:
			rv = bench_parse_num("--beanstalkd-pid", optarg, 1, INT32_MAX, &o->bs_pid);
			break;
		case O_GOALS:
			rv = bench_parse_goals(optarg, o);
			break;
		case O_ROWS:
			o->rows = optarg;
			break;
		case O_SCALE:
			o->scale = optarg;
			break;
		case O_PROJECT:
			o->project = optarg;
			break;
		case O_LEVEL:
			rv = bench_parse_num("--level", optarg, 0, INT64_C(1) << 40, &o->level);
			break;
		case O_PROBE:
			rv = bench_parse_num("--probe", optarg, 1, 1000000, &o->probe);
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
	    .client = WN_RPC_DIRECT,
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
	    .runs = 3,
	    .rate = 500,
	    .samples = 100,
	    .claim = 100,
	    .project = "scale",
	    .level = 1000,
	    .probe = 2000,
	};
	if (bench_parse_args(argc, argv, &o) != 0)
		return 2;
	const char *why = bench_url_check(o.url);
	if (why != NULL) {
		fprintf(stderr, "wnbench: refusing server %s: %s\n", o.url, why);
		return 2;
	}
	if (o.beanstalk != NULL && (why = bench_bs_check(o.beanstalk)) != NULL) {
		fprintf(stderr, "wnbench: refusing beanstalkd %s: %s\n", o.beanstalk, why);
		return 2;
	}
	if (o.wait_ready_ms > 0)
		return bench_wait_ready(o.url, o.wait_ready_ms);

	int rv;
	if (o.scale != NULL)
		rv = bench_scale(&o);
	else if (o.beanstalk != NULL)
		rv = bench_compare(&o);
	else
		rv = bench_threads_table(&o);
	return rv == 0 ? 0 : 1;
}
