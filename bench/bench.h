/* bench: what the parts of wnbench share: the options, a row and its threads, the
 * target (the server under test behind a few operations), the result of a row, and the
 * functions one part calls in another. The parts: wnbench.c the options and main, row.c
 * a row's threads, target_wnd.c and target_bs.c the two servers, table.c and compare.c
 * the two tables, scale.c the scale steps, util.c clocks, latencies and payloads,
 * spawn.c and worker_lat.c the parts of the worker benchmark. */
#ifndef WN_BENCH_H
#define WN_BENCH_H

#include "beanstalk.h"
#include "rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool threads_set; /* --threads was given */
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
	double goal_plain, goal_next; /* each way one job per call on its own; 0: none */
	const char *rows;             /* run only the comparison rows whose name holds this */
	/* scale */
	const char *scale;
	const char *project;
	int64_t level;
	int64_t probe;
	/* the worker benchmark (bench/worker.sh) */
	int64_t spawn;         /* --spawn: spawns of /bin/true per spawn-loop row */
	int64_t worker_jobs;   /* --worker-latency: jobs through a waiting wnworker */
	const char *stamp_cmd; /* --stamp: a command printing the wall clock, ns */
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
	/* producers past the backlog sleep here until consumers bring it down
	 * to half, so that waiting costs the machine no CPU */
	pthread_mutex_t backlog_mu;
	pthread_cond_t backlog_cv;
	atomic_int backlog_waiting;
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
	double cpu_us;     /* server CPU per job; < 0 = unknown */
	double cli_us;     /* CPU of this client program per job; < 0 = unknown */
	double sys_us;     /* the system (kernel) part of cpu_us; < 0 = unknown */
	double cli_sys_us; /* the system part of cli_us; < 0 = unknown */
} bench_result;

/* ------------------------------------------------------------------ util.c */

/* bench_now_ns returns the monotonic clock, ns. */
int64_t bench_now_ns(void);

/* bench_sleep_until sleeps until the monotonic clock reads ns. */
void bench_sleep_until(int64_t ns);

/* bench_lat_add records one latency of ns nanoseconds in l. */
void bench_lat_add(bench_lat *l, int64_t ns);

/* bench_cmp_u32 orders uint32_t values for qsort. */
int bench_cmp_u32(const void *a, const void *b);

/* bench_pct returns the nearest-rank percentile p of the sorted v, in ms. */
double bench_pct(const uint32_t *v, size_t n, double p);

/* bench_median returns the median of v (sorted here). */
double bench_median(double *v, size_t n);

/* bench_cpu_ticks returns the user + system CPU time of process pid in clock
 * ticks, or -1; the system part in *sys unless sys is NULL. */
int64_t bench_cpu_ticks(int64_t pid, int64_t *sys);

/* bench_self_us returns the CPU time this program has used, microseconds;
 * the system part in *sys unless sys is NULL. */
int64_t bench_self_us(int64_t *sys);

/* bench_fail records the row's first failure and prints it, unless the row
 * is over and the failure is a woken call. */
void bench_fail(bench_row *row, const char *what, int code, const char *msg);

/* bench_stamp makes the thread's next jobs carry due (ns) in their payload. */
void bench_stamp(bench_thread *t, int64_t due);

/* bench_payloads returns n fresh payloads, BENCH_PAYLOAD + 1 bytes apart, each
 * NUL-terminated: random letters (as little compressible as real parameters,
 * and each job's its own), headed by the due time when one is set. */
char *bench_payloads(bench_thread *t, size_t n);

/* bench_due reads the due time back from a payload; 0 if it has none. */
int64_t bench_due(const char *payload);

/* bench_keep_id remembers a submitted job id (keep_ids rows). */
void bench_keep_id(bench_thread *t, uint64_t id);

/* ------------------------------------------------------------------ target_wnd.c */

/* wnd_project creates project name with the benchmark task over r; an
 * existing one is fine when may_exist. */
int wnd_project(wn_rpc *r, const char *name, bool may_exist);

/* bench_target_wnd makes tg the wnd at url (process pid, 0: unknown), its row threads
 * opening their connections with rpc_flags. */
void bench_target_wnd(bench_target *tg, const char *url, int64_t pid, int rpc_flags);

/* bench_target_release deletes the projects the rows created (unless keep). */
void bench_target_release(bench_target *tg, bool keep);

/* ------------------------------------------------------------------ target_bs.c */

/* bench_target_bs makes tg the beanstalkd at addr (process pid, 0: unknown). */
void bench_target_bs(bench_target *tg, const char *addr, int64_t pid);

/* ------------------------------------------------------------------ row.c */

/* bench_consume claims and completes jobs until the row is drained. */
void *bench_consume(void *arg);

/* bench_collect sorts the threads' latencies into *res and frees them. */
void bench_collect(bench_thread *th, int n, int64_t t0, bench_result *res);

/* bench_threads_open prepares n threads for row; the first producers of them
 * produce. */
bench_thread *bench_threads_open(bench_row *row, int n, int producers);

/* bench_threads_close closes the connections of the n threads of row and frees th. */
void bench_threads_close(bench_row *row, bench_thread *th, int n);

/* bench_row_init prepares a row of spec against tg, with a fresh queue unless
 * queue is given. */
int bench_row_init(bench_row *row, const bench_spec *spec, bench_target *tg, const char *queue);

/* bench_run runs one row of spec against tg and fills *res; ids (may be NULL)
 * gets the submitted ids of a keep_ids row, to free. Returns 0 or a failure
 * code. */
int bench_run(bench_target *tg, const bench_spec *spec, const char *queue, bench_result *res,
              uint64_t **ids, size_t *n_ids);

/* bench_dispatch_run measures, samples times, how long a job submitted to an
 * idle queue takes to reach a consumer already waiting for one. */
int bench_dispatch_run(bench_target *tg, int64_t samples, bench_result *res);

/* ------------------------------------------------------------------ table.c */

/* bench_threads_table runs the submit, cycle and batched submit rows against
 * wnd at each thread count. */
int bench_threads_table(const bench_opts *o);

/* ------------------------------------------------------------------ compare.c */

/* bench_compare runs every comparison row against wnd and beanstalkd. */
int bench_compare(const bench_opts *o);

/* ------------------------------------------------------------------ scale.c */

/* bench_scale runs one step of bench/scale.sh. */
int bench_scale(const bench_opts *o);

/* bench_warmup_spec is the warm-up run before a table: 4 producers, 4
 * consumers, o->warmup jobs one at a time. */
bench_spec bench_warmup_spec(const bench_opts *o);

/* ------------------------------------------------------------------ spawn.c */

/* bench_spawn prints the spawn loop's rates (1 and 2 threads, or --threads) and, with
 * o->stamp_cmd, how long that command takes from its spawn to its stamp. */
int bench_spawn(const bench_opts *o);

/* ------------------------------------------------------------------ worker_lat.c */

/* bench_worker_latency submits o->worker_jobs jobs one at a time to a waiting
 * wnworker that runs a command printing the wall clock in ns for them, and
 * prints submit -> command start. */
int bench_worker_latency(const bench_opts *o);

#endif
