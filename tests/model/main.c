/* wnmodel: the model-based random test of wnd. Seeded random sequences of
 * every mutating method, time passing on a test clock, and restarts (clean
 * and kill -9), each reply judged by a reference model of the documented
 * semantics and the whole state compared across every restart. A failure is
 * shortened to a few operations and can be replayed. */
#include "run.h"
#include "snapshot.h"

#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct opts {
	uint64_t seed;
	bool have_seed;
	long ops;
	double minutes;
	const char *wnd, *dir, *replay;
	bool verbose, keep, faults;
	int shrink_s;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: wnmodel [options]\n"
	           "\n"
	           "Runs wnd against a reference model of its protocol: a seeded random\n"
	           "sequence of operations, the clock moved forward, restarts by SIGTERM and\n"
	           "kill -9, and every Get and List answer compared with the model and across\n"
	           "each restart. A failure is shortened to the operations that reproduce it.\n"
	           "\n"
	           "options:\n"
	           "  --seed N            the sequence to run (default: a new one, printed)\n"
	           "  --ops N             how many operations (default 400)\n"
	           "  --minutes M         run for M minutes instead of a count of operations\n"
	           "  --wnd PATH          the wnd to test (default $WN_BIN/wnd)\n"
	           "  --dir DIR           work directory (default a new one under $TMPDIR)\n"
	           "  --replay FILE       run the operations listed in FILE (from a failure)\n"
	           "  --shrink-seconds S  time to spend shortening a failure (default 120)\n"
	           "  --faults            start wnd each time with store read and scan faults\n"
	           "                      (WN_STORE_FAULTS, drawn from the seed): a request\n"
	           "                      answered UNAVAILABLE must have changed nothing\n"
	           "  --keep              keep the work directory when the run passes\n"
	           "  -v, --verbose       print each operation and its answer\n"
	           "  -h, --help          show this help\n"
	           "\n"
	           "exit status: 0 the server and the model agree, 1 they do not, 2 usage\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"seed", required_argument, NULL, 's'},
	    {"ops", required_argument, NULL, 'n'},
	    {"minutes", required_argument, NULL, 'm'},
	    {"wnd", required_argument, NULL, 'w'},
	    {"dir", required_argument, NULL, 'd'},
	    {"replay", required_argument, NULL, 'r'},
	    {"shrink-seconds", required_argument, NULL, 'S'},
	    {"keep", no_argument, NULL, 'k'},
	    {"faults", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, at = 0;
	int64_t v;
	while ((c = getopt_long(argc, argv, "vh", longopts, &at)) != -1) {
		switch (c) {
		case 's':
			if (wn_parse_i64(optarg, 0, INT64_MAX, &v) != 0)
				goto bad;
			o->seed = (uint64_t)v;
			o->have_seed = true;
			break;
		case 'n':
			if (wn_parse_i64(optarg, 1, 100000000, &v) != 0)
				goto bad;
			o->ops = (long)v;
			break;
		case 'm':
			o->minutes = atof(optarg);
			if (o->minutes <= 0)
				goto bad;
			break;
		case 'w':
			o->wnd = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'r':
			o->replay = optarg;
			break;
		case 'S':
			if (wn_parse_i64(optarg, 0, 86400, &v) != 0)
				goto bad;
			o->shrink_s = (int)v;
			break;
		case 'k':
			o->keep = true;
			break;
		case 'f':
			o->faults = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "wnmodel: try 'wnmodel --help'\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wnmodel: unexpected argument \"%s\"; try 'wnmodel --help'\n",
		        argv[optind]);
		return 2;
	}
	return 0;
bad:
	fprintf(stderr, "wnmodel: --%s: invalid value \"%s\"\n", longopts[at].name, optarg);
	return 2;
}

static pid_t *running_pid;

static void on_signal(int sig)
{
	if (running_pid != NULL && *running_pid > 0)
		kill(*running_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void summary(const driver *d, bool replay, uint64_t seed, double secs)
{
	char line[2048];
	size_t n = 0;
	uint64_t total = 0;
	for (int k = 0; k < OP_NKINDS; k++) {
		total += d->ops[k];
		if (d->ops[k] > 0 && n < sizeof(line) - 64)
			n +=
			    (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %llu", n ? ", " : "",
			                     op_name(k), (unsigned long long)d->ops[k]);
	}
	if (!replay)
		printf("wnmodel: seed %llu: ", (unsigned long long)seed);
	else
		printf("wnmodel: ");
	printf("%llu operations in %.1f s: %s\n", (unsigned long long)total, secs, line);
	const model *m = d->m;
	printf("wnmodel: leases lost %llu, workers LOST %llu, jobs deleted by retention %llu, "
	       "jobs BLOCKED %llu and unblocked %llu\n",
	       (unsigned long long)m->n_lost, (unsigned long long)m->n_workers_lost,
	       (unsigned long long)m->n_retained, (unsigned long long)m->n_blocked,
	       (unsigned long long)m->n_unblocked);
	printf("wnmodel: restarts: %llu by SIGTERM, %llu by kill -9; replies: %llu OK, %llu "
	       "errors; %llu calls over HTTP\n",
	       (unsigned long long)d->restarts_term, (unsigned long long)d->restarts_kill,
	       (unsigned long long)d->replies_ok, (unsigned long long)d->replies_err,
	       (unsigned long long)d->http_calls);
	if (d->fault_starts > 0)
		printf("wnmodel: store faults: %llu starts with faults, %llu changes answered "
		       "UNAVAILABLE (nothing changed), %llu Gets and Lists asked again (%llu "
		       "in full looks), %llu minutes waited for retention, %llu seconds for "
		       "leases\n",
		       (unsigned long long)d->fault_starts, (unsigned long long)d->unavailable,
		       (unsigned long long)(d->reasked + snapshot_asked_again()),
		       (unsigned long long)snapshot_asked_again(),
		       (unsigned long long)d->retention_late, (unsigned long long)d->leases_late);
}

/* report prints a failure, shortens it and says how to replay it. */
static void report(const struct opts *o, const char *base, oplist *l, const run_result *res,
                   uint64_t seed)
{
	if (o->replay != NULL)
		fprintf(stderr, "wnmodel: FAILED at operation %zu of %s:\n%s\n", res->at + 1,
		        o->replay, res->why);
	else
		fprintf(stderr, "wnmodel: FAILED at operation %zu of seed %llu:\n%s\n", res->at + 1,
		        (unsigned long long)seed, res->why);
	char *all = wn_xasprintf("%s/ops.txt", base);
	if (res->at < l->n)
		l->n = res->at + 1;
	oplist_write(l, all);
	fprintf(stderr, "wnmodel: %zu operations in %s; shortening (up to %d s)...\n", l->n, all,
	        o->shrink_s);
	run_shrink(o->wnd, base, l, res, o->shrink_s);
	char *shortp = wn_xasprintf("%s/shortened.txt", base);
	oplist_write(l, shortp);
	fprintf(stderr, "wnmodel: %zu operation(s) reproduce it (%s):\n", l->n, shortp);
	for (size_t i = 0; i < l->n && i < 60; i++) {
		char line[256];
		op_format(&l->v[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	if (l->n > 60)
		fprintf(stderr, "  ...\n");
	fprintf(stderr, "wnmodel: replay with: %s --wnd %s --replay %s --verbose\n", "wnmodel",
	        o->wnd, shortp);
	free(all);
	free(shortp);
}

static uint64_t fresh_seed(void)
{
	return wn_random_u64() % 1000000000ULL;
}

/* find_wnd sets o->wnd from WN_BIN when --wnd was not given; 2 if neither. */
static int find_wnd(struct opts *o)
{
	static char wnd[4096];
	if (o->wnd != NULL)
		return 0;
	const char *bin = getenv("WN_BIN");
	if (bin == NULL) {
		fprintf(stderr, "wnmodel: give --wnd PATH or set WN_BIN\n");
		return 2;
	}
	snprintf(wnd, sizeof(wnd), "%s/wnd", bin);
	o->wnd = wnd;
	return 0;
}

/* make_base makes the work directory: --dir, or a new one in TMPDIR. */
static int make_base(const struct opts *o, char *base, size_t len)
{
	if (o->dir != NULL) {
		snprintf(base, len, "%s", o->dir);
		mkdir(base, 0700);
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(base, len, "%s/wnmodel.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		fprintf(stderr, "wnmodel: cannot create a work directory in %s\n", base);
		return 1;
	}
	return 0;
}

/* run_seed runs the operations of seed (or for --minutes) against a new wnd
 * in dir, adding them to l; a disagreement is left in *res. 1 if wnd
 * cannot start. */
static int run_seed(const struct opts *o, uint64_t seed, const char *dir, int64_t start, oplist *l,
                    run_result *res, driver *d)
{
	char *err = NULL;
	if (driver_open(d, o->wnd, dir, o->verbose, &err) != 0) {
		fprintf(stderr, "wnmodel: cannot start wnd: %s\n", err);
		return 1;
	}
	running_pid = &d->srv.pid;
	d->faults = o->faults;
	if (!d->srv.test_clock)
		fprintf(stderr,
		        "wnmodel: warning: %s has no --test-clock; leases, worker "
		        "timeouts and retention are not exercised\n",
		        o->wnd);
	if (!d->srv.check)
		fprintf(stderr,
		        "wnmodel: warning: %s has no --check; the stopped data "
		        "directory is not checked\n",
		        o->wnd);
	uint64_t rng = seed;
	d->profile = (int)(seed % 4);
	int64_t until = o->minutes > 0 ? start + (int64_t)(o->minutes * 60000) : 0;
	for (long i = 0; until ? wn_mono_ms() < until : i < o->ops; i++) {
		op x;
		gen_op(d, &rng, &x);
		oplist_add(l, &x);
		if (driver_run(d, &l->v[l->n - 1]) != 0) {
			res->failed = true;
			res->at = l->n - 1;
			break;
		}
	}
	if (!res->failed && driver_finish(d) != 0) {
		res->failed = true;
		res->at = l->n;
	}
	if (res->failed) {
		res->why = wn_xstrdup(d->err);
		run_signature(res, res->at < l->n ? &l->v[res->at] : NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.ops = 400, .shrink_s = 120};
	int rv = parse(argc, argv, &o);
	if (rv == 0)
		rv = find_wnd(&o);
	if (rv != 0)
		return rv;
	uint64_t seed = o.have_seed ? o.seed : fresh_seed();
	char base[4096];
	if (make_base(&o, base, sizeof(base)) != 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (o.replay != NULL)
		printf("wnmodel: replaying %s\n", o.replay);
	else
		printf("wnmodel: seed %llu\n", (unsigned long long)seed);
	fflush(stdout);

	oplist l = {0};
	run_result res = {0};
	driver d;
	char *dir = wn_xasprintf("%s/run", base);
	int64_t start = wn_mono_ms();
	if (o.replay != NULL) {
		char *err = NULL;
		if (oplist_read(&l, o.replay, &err) != 0) {
			fprintf(stderr, "wnmodel: %s\n", err);
			return 2;
		}
		run_list(o.wnd, dir, &l, o.verbose, true, &res, &d);
		running_pid = &d.srv.pid;
	} else if (run_seed(&o, seed, dir, start, &l, &res, &d) != 0) {
		return 1;
	}
	summary(&d, o.replay != NULL, seed, (double)(wn_mono_ms() - start) / 1000.0);
	fflush(stdout);
	driver_close(&d);
	running_pid = NULL;
	if (res.failed) {
		report(&o, base, &l, &res, seed);
		free(res.why);
		free(l.v);
		free(dir);
		return 1;
	}
	if (!o.keep)
		run_rmtree(base);
	if (o.replay != NULL)
		printf("wnmodel: the server and the model agree\n");
	else
		printf("wnmodel: seed %llu: the server and the model agree\n",
		       (unsigned long long)seed);
	free(l.v);
	free(dir);
	return 0;
}
