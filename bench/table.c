/* wnbench: the thread table (wnd alone at several thread counts). */
#include "bench.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>

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
int bench_threads_table(const bench_opts *o)
{
	bench_target tg;
	bench_target_wnd(&tg, o->url, o->wnd_pid, o->client);
	bench_result res;
	int rv = 0;
	if (o->warmup > 0) {
		bench_spec w = bench_warmup_spec(o);
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
