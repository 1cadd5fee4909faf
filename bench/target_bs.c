/* wnbench: the beanstalkd target. */
#include "bench.h"
#include "err.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void bench_target_bs(bench_target *tg, const char *addr, int64_t pid)
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
