/* wnbench: the comparison table (wnd against beanstalkd). */
#include "bench.h"
#include "util.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { ROW_PLAIN, ROW_PACED, ROW_DISPATCH };

/* The medians of one target's runs of a row. */
typedef struct bench_summary {
	double rate, p50, p99, cpu, cli;
	double sys, cli_sys; /* the system parts of cpu and cli */
	bool ok;
} bench_summary;

/* bench_medians reduces n runs to their medians. */
static bench_summary bench_medians(const bench_result *r, size_t n, bool have_rate)
{
	double rate[BENCH_RUNS_MAX], p50[BENCH_RUNS_MAX], p99[BENCH_RUNS_MAX];
	double cpu[4][BENCH_RUNS_MAX]; /* server, client, their system parts */
	size_t ncpu[4] = {0, 0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		rate[i] = have_rate && r[i].secs > 0 ? (double)r[i].jobs / r[i].secs : 0;
		p50[i] = r[i].p50_ms;
		p99[i] = r[i].p99_ms;
		const double v[4] = {r[i].cpu_us, r[i].cli_us, r[i].sys_us, r[i].cli_sys_us};
		for (int k = 0; k < 4; k++)
			if (v[k] >= 0)
				cpu[k][ncpu[k]++] = v[k];
	}
	double m[4];
	for (int k = 0; k < 4; k++)
		m[k] = ncpu[k] ? bench_median(cpu[k], ncpu[k]) : -1;
	bench_summary s = {bench_median(rate, n),
	                   bench_median(p50, n),
	                   bench_median(p99, n),
	                   m[0],
	                   m[1],
	                   m[2],
	                   m[3],
	                   n > 0};
	return s;
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

/* bench_compare_warmup runs the warm-up cycle against both targets: connections, caches,
 * the servers' first compactions. */
static int bench_compare_warmup(const bench_opts *o, bench_target *tgs)
{
	int rv = 0;
	bench_result res;
	if (o->warmup > 0) {
		bench_spec w = bench_warmup_spec(o);
		for (int k = 0; k < 2 && rv == 0; k++)
			rv = bench_run(&tgs[k], &w, NULL, &res, NULL, NULL);
	}
	return rv;
}

/* bench_compare_spec returns what comparison row cr does under the options. */
static bench_spec bench_compare_spec(const bench_opts *o, const bench_crow *cr)
{
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
		int64_t room =
		    2 * cr->producers * (int64_t)sp.submit_n + cr->consumers * (int64_t)sp.claim_n;
		if (sp.backlog < room)
			sp.backlog = room;
	}
	if (cr->kind == ROW_PACED) {
		sp.rate = o->rate;
		sp.jobs = o->rate * o->duration_ms / 1000;
		sp.duration_ms = 2 * o->duration_ms;
	}
	return sp;
}

/* bench_compare_name writes the name row cr is printed with into name. */
static void bench_compare_name(const bench_opts *o, const bench_crow *cr, char *name, size_t n)
{
	if (cr->kind == ROW_PACED)
		snprintf(name, n, "paced, %" PRId64 " jobs/s offered", o->rate);
	else if (cr->batched && cr->submit_only)
		snprintf(name, n, "BATCHED submit x%" PRId64 " (**)", o->batch);
	else if (cr->batched)
		snprintf(name, n, "BATCHED cycle x%" PRId64 "/x%" PRId64 " (**)", o->batch,
		         o->claim);
	else
		snprintf(name, n, "%s", cr->name);
}

/* bench_compare_row runs row cr --runs times against each target, alternating, prints its
 * medians and stores them in med (wnd, beanstalkd). */
static int bench_compare_row(const bench_opts *o, bench_target *tgs, const bench_crow *cr,
                             int64_t *settled_ms, bench_summary *med)
{
	bench_spec sp = bench_compare_spec(o, cr);
	bench_result runs[2][BENCH_RUNS_MAX];
	int rv = 0;
	for (int64_t i = 0; i < o->runs && rv == 0; i++) {
		for (int k = 0; k < 2 && rv == 0; k++) {
			int which = (int)((k + i) % 2); /* wnd first, then beanstalkd first */
			bench_result *out = &runs[which][i];
			bench_settle(tgs, 2, settled_ms);
			if (cr->kind == ROW_DISPATCH)
				rv = bench_dispatch_run(&tgs[which], o->samples, out);
			else
				rv = bench_run(&tgs[which], &sp, NULL, out, NULL, NULL);
		}
	}
	if (rv != 0)
		return rv;
	for (int k = 0; k < 2; k++)
		med[k] = bench_medians(runs[k], (size_t)o->runs, cr->kind != ROW_DISPATCH);
	char name[64];
	bench_compare_name(o, cr, name, sizeof(name));
	bench_compare_line(name, cr->producers, cr->consumers, &med[0], &med[1],
	                   cr->kind != ROW_DISPATCH);
	return 0;
}

/* bench_compare_notes prints the footnotes of the table. */
static void bench_compare_notes(const bench_opts *o, int64_t settled_ms)
{
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
}

/* bench_compare_goals prints whether wnd met the goals, from the medians of every row. */
static void bench_compare_goals(const bench_opts *o, bench_summary (*med)[2])
{
	const bench_summary *c4 = med[CROW_CYCLE4], *nx = med[CROW_NEXT], *bc = med[CROW_BCYCLE],
	                    *dp = med[CROW_DISPATCH];
	double plain = c4[1].rate > 0 ? c4[0].rate / c4[1].rate : 0;
	double next = c4[1].rate > 0 ? nx[0].rate / c4[1].rate : 0;
	double best = plain > next ? plain : next;
	double batch = c4[1].rate > 0 ? bc[0].rate / c4[1].rate : 0;
	double batch_pipe = bc[1].rate > 0 ? bc[0].rate / bc[1].rate : 0;
	printf("goals (%s), ratio = wnd jobs/s / beanstalkd jobs/s in the same run:\n", o->label);
	if (o->goal_cycle > 0)
		printf("  one job per call, cycle 4P+4C vs beanstalkd cycle 4P+4C: "
		       "%.2fx (fetch+complete %.2fx,\n"
		       "    complete+next %.2fx); goal >= %.1fx: %s\n",
		       best, plain, next, o->goal_cycle, best >= o->goal_cycle ? "met" : "NOT MET");
	if (o->goal_plain > 0)
		printf("  one job per call, each way: fetch+complete %.2fx, goal >= %.1fx: %s;\n"
		       "    complete+next %.2fx, goal >= %.1fx: %s\n",
		       plain, o->goal_plain, plain >= o->goal_plain ? "met" : "NOT MET", next,
		       o->goal_next, next >= o->goal_next ? "met" : "NOT MET");
	if (o->goal_batch > 0)
		printf("  batched cycle vs beanstalkd cycle 4P+4C: %.2fx (vs beanstalkd "
		       "pipelined %.2fx);\n"
		       "    goal >= %.1fx: %s\n",
		       batch, batch_pipe, o->goal_batch,
		       batch >= o->goal_batch ? "met" : "NOT MET");
	printf("  dispatch latency p50 %.2f ms (p99 %.2f ms); goal <= 5 ms: %s\n", dp[0].p50,
	       dp[0].p99, dp[0].p50 <= 5 ? "met" : "NOT MET");
	fflush(stdout);
}

/* bench_split_line prints one row's CPU per job as user/system, server and
 * client; false when any part is unknown. */
static bool bench_split_line(const char *what, const bench_summary *m)
{
	if (m->cpu < 0 || m->cli < 0 || m->sys < 0 || m->cli_sys < 0)
		return false;
	printf("  %-26s %5.0f/%-5.0f %5.0f/%-5.0f %7.0f\n", what, m->cpu - m->sys, m->sys,
	       m->cli - m->cli_sys, m->cli_sys, m->cpu + m->cli);
	return true;
}

/* bench_compare_split prints where the one-job rows' CPU goes, and what wnd's
 * ratios would be with no user time in its server at all: on cores the
 * client shares, a rate goes as the inverse of the CPU per job (the line
 * before it shows how closely it did in this run). */
static void bench_compare_split(const bench_summary (*med)[2])
{
	const bench_summary *c4 = med[CROW_CYCLE4], *nx = med[CROW_NEXT];
	printf("CPU per job, us, user/system (cycle 4P+4C):  server       client    total\n");
	bool ok = bench_split_line("wnd, fetch+complete", &c4[0]);
	ok = bench_split_line("wnd, complete+next", &nx[0]) && ok;
	ok = bench_split_line("beanstalkd", &c4[1]) && ok;
	if (!ok || c4[1].rate <= 0) {
		printf("  (not known for every row)\n");
		return;
	}
	double bs = c4[1].cpu + c4[1].cli;
	double wp = c4[0].cpu + c4[0].cli, wn = nx[0].cpu + nx[0].cli;
	printf("  beanstalkd's CPU per job / wnd's: fetch+complete %.2fx, complete+next %.2fx\n"
	       "    (the rates: %.2fx and %.2fx)\n",
	       bs / wp, bs / wn, c4[0].rate / c4[1].rate, nx[0].rate / c4[1].rate);
	double up = c4[0].cpu - c4[0].sys, un = nx[0].cpu - nx[0].sys;
	if (wp - up > 0 && wn - un > 0)
		printf("  with no user time in wnd's server at all: fetch+complete about %.2fx,\n"
		       "    complete+next about %.2fx\n",
		       c4[0].rate / c4[1].rate * wp / (wp - up),
		       nx[0].rate / c4[1].rate * wn / (wn - un));
	printf("  system time alone, server and client: wnd fetch+complete %.0f us per job,\n"
	       "    complete+next %.0f; beanstalkd's CPU in all %.0f\n",
	       c4[0].sys + c4[0].cli_sys, nx[0].sys + nx[0].cli_sys, bs);
}

/* bench_compare runs every comparison row against wnd and beanstalkd. */
int bench_compare(const bench_opts *o)
{
	bench_target tgs[2];
	bench_target_wnd(&tgs[0], o->url, o->wnd_pid, o->client);
	bench_target_bs(&tgs[1], o->beanstalk, o->bs_pid);
	int rv = bench_compare_warmup(o, tgs);
	if (o->header)
		bench_compare_header(o);
	bench_summary med[WN_ARRAY_LEN(bench_crows)][2];
	memset(med, 0, sizeof(med));
	int64_t settled_ms = 0;
	bool all = o->rows == NULL;
	for (size_t r = 0; r < WN_ARRAY_LEN(bench_crows) && rv == 0; r++) {
		const bench_crow *cr = &bench_crows[r];
		if (all || strstr(cr->name, o->rows) != NULL)
			rv = bench_compare_row(o, tgs, cr, &settled_ms, med[r]);
	}
	if (rv == 0 && all) {
		bench_compare_notes(o, settled_ms);
		bench_compare_goals(o, med);
		bench_compare_split(med);
	}
	bench_target_release(&tgs[0], o->keep);
	bench_target_release(&tgs[1], o->keep);
	return rv;
}
