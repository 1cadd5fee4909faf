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
#include "bench.h"
#include "envelope.h"
#include "methods.h"
#include "util.h"

#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ options */

/* bench_url_check returns NULL if url is a loopback tcp or an ipc address. */
static const char *bench_url_check(const char *url)
{
	static const char tcp[] = "tcp://127.0.0.1:";
	int64_t port;
	if (strncmp(url, "ipc://", 6) == 0 && url[6] != '\0')
		return NULL;
	if (strncmp(url, "tls+", 4) == 0)
		url += 4; /* the TLS settings come from WN_TLS_CA and the like */
	if (strncmp(url, tcp, sizeof(tcp) - 1) == 0 &&
	    wn_parse_i64(url + sizeof(tcp) - 1, 1, 65535, &port) == 0)
		return NULL;
	return "only tcp://127.0.0.1:PORT, tls+tcp://127.0.0.1:PORT and ipc://PATH are allowed";
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
	        "                      else " WN_DEFAULT_URL "); tls+tcp://127.0.0.1:PORT\n"
	        "                      with $WN_TLS_CA (nng's client only)\n"
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
	        "  --goals X,Y[,F,N]   print whether wnd reaches X times beanstalkd's cycle\n"
	        "                      rate one job per call, and Y times with batches (and\n"
	        "                      F times with Fetch + Complete, N with complete+next)\n"
	        "  --rows TEXT         run only the rows whose name contains TEXT (e.g. cycle,\n"
	        "                      BATCHED, paced, dispatch, no-op); no goals printed\n"
	        "scale steps (bench/scale.sh), against a given project:\n"
	        "  --scale STEP        probe: submit rate and Fetch latency at --level pending\n"
	        "                      jobs; fill: top up to --level; drain: complete them all;\n"
	        "                      stats: print the pending and completed counts\n"
	        "  --project NAME      the project (created if missing; default: scale)\n"
	        "  --level N           pending jobs (default: 1000)\n"
	        "  --probe N           Fetch calls per probe round (default: 2000)\n"
	        "the worker benchmark (bench/worker.sh):\n"
	        "  --spawn N           the spawn loop: N spawns of /bin/true on 1, then 2\n"
	        "                      threads (or each of --threads, at most 16); needs no\n"
	        "                      server\n"
	        "  --stamp PATH        with --spawn: also time PATH (a command printing the\n"
	        "                      wall clock in ns) from its spawn to its stamp\n"
	        "  --worker-latency N  N jobs of --project's task bench, one at a time, to a\n"
	        "                      waiting wnworker that runs such a command for it:\n"
	        "                      submit -> command start\n");
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
	o->threads_set = true;
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
	if (end == y || (*end != '\0' && *end != ',') || o->goal_batch < 0)
		goto bad;
	if (*end == ',') { /* F,N: fetch+complete and complete+next, each on its own */
		const char *f = end + 1;
		o->goal_plain = strtod(f, &end);
		if (end == f || *end != ',' || o->goal_plain <= 0)
			goto bad;
		const char *nx = end + 1;
		o->goal_next = strtod(nx, &end);
		if (end == nx || *end != '\0' || o->goal_next <= 0)
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "wnbench: --goals: expected X,Y or X,Y,F,N (numbers): %s\n", s);
	return -1;
}

/* Values of the long options without a short one. */
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
	O_SPAWN,
	O_WLAT,
	O_STAMP,
};

static const struct option bench_longopts[] = {
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
    {"spawn", required_argument, NULL, O_SPAWN},
    {"worker-latency", required_argument, NULL, O_WLAT},
    {"stamp", required_argument, NULL, O_STAMP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define BENCH_MANY (INT64_C(1) << 40)

/* The options that take an integer: the field of bench_opts each sets and its bounds. */
static const struct bench_num_opt {
	int val;
	const char *name;
	size_t field; /* offset of an int64_t in bench_opts */
	int64_t lo, hi;
} bench_num_opts[] = {
    {'n', "--jobs", offsetof(bench_opts, jobs), 1, BENCH_MANY},
    {'b', "--batch", offsetof(bench_opts, batch), 1, 10000},
    {O_BJOBS, "--batch-jobs", offsetof(bench_opts, batch_jobs), 1, BENCH_MANY},
    {O_BTHREADS, "--batch-threads", offsetof(bench_opts, batch_threads), 1, BENCH_THREADS_MAX},
    {O_BACKLOG, "--backlog", offsetof(bench_opts, backlog), 0, BENCH_MANY},
    {'w', "--warmup", offsetof(bench_opts, warmup), 0, BENCH_MANY},
    {O_WAIT, "--wait-ready", offsetof(bench_opts, wait_ready_ms), 1, 3600000},
    {O_RUNS, "--runs", offsetof(bench_opts, runs), 1, BENCH_RUNS_MAX},
    {O_RATE, "--rate", offsetof(bench_opts, rate), 1, 1000000},
    {O_SAMPLES, "--samples", offsetof(bench_opts, samples), 1, 1000000},
    {O_CLAIM, "--claim", offsetof(bench_opts, claim), 1, BENCH_CLAIM_MAX},
    {O_WND_PID, "--wnd-pid", offsetof(bench_opts, wnd_pid), 1, INT32_MAX},
    {O_BS_PID, "--beanstalkd-pid", offsetof(bench_opts, bs_pid), 1, INT32_MAX},
    {O_LEVEL, "--level", offsetof(bench_opts, level), 0, BENCH_MANY},
    {O_PROBE, "--probe", offsetof(bench_opts, probe), 1, 1000000},
    {O_SPAWN, "--spawn", offsetof(bench_opts, spawn), 1, 10000000},
    {O_WLAT, "--worker-latency", offsetof(bench_opts, worker_jobs), 1, 1000000},
};

/* bench_parse_opt applies option c (a getopt_long value) with argument arg to o; returns 0,
 * or -1 after a message. */
static int bench_parse_opt(int c, char *arg, bench_opts *o)
{
	for (size_t i = 0; i < WN_ARRAY_LEN(bench_num_opts); i++) {
		const struct bench_num_opt *n = &bench_num_opts[i];
		if (n->val == c)
			return bench_parse_num(n->name, arg, n->lo, n->hi,
			                       (int64_t *)((char *)o + n->field));
	}
	switch (c) {
	case 's':
		o->url = arg;
		return 0;
	case 'l':
		o->label = arg;
		return 0;
	case O_CLIENT:
		return bench_parse_client(arg, o);
	case 'o':
		return bench_parse_ops(arg, o);
	case 't':
		return bench_parse_threads(arg, o);
	case 'd':
		return bench_parse_secs("--duration", arg, &o->duration_ms);
	case O_NOHEADER:
		o->header = false;
		return 0;
	case O_KEEP:
		o->keep = true;
		return 0;
	case O_BEANSTALK:
		o->beanstalk = arg;
		return 0;
	case O_GOALS:
		return bench_parse_goals(arg, o);
	case O_ROWS:
		o->rows = arg;
		return 0;
	case O_SCALE:
		o->scale = arg;
		return 0;
	case O_PROJECT:
		o->project = arg;
		return 0;
	case O_STAMP:
		o->stamp_cmd = arg;
		return 0;
	default:
		bench_usage(stderr);
		return -1;
	}
}

static int bench_parse_args(int argc, char **argv, bench_opts *o)
{
	int c;
	while ((c = getopt_long(argc, argv, "s:l:o:t:n:d:b:w:h", bench_longopts, NULL)) != -1) {
		if (c == 'h') {
			bench_usage(stdout);
			exit(0);
		}
		if (bench_parse_opt(c, optarg, o) != 0)
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
	if (o.spawn > 0)
		return bench_spawn(&o) == 0 ? 0 : 1;
	if (o.worker_jobs > 0)
		return bench_worker_latency(&o) == 0 ? 0 : 1;

	int rv;
	if (o.scale != NULL)
		rv = bench_scale(&o);
	else if (o.beanstalk != NULL)
		rv = bench_compare(&o);
	else
		rv = bench_threads_table(&o);
	return rv == 0 ? 0 : 1;
}
