/* Unit tests for the dependency graph code: edge states, the batch cycle
 * check, and the engine's handling of dependencies and sweeps. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "call.h"
#include "deps.h"
#include "envelope.h"
#include "err.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OK_ = WHATSNEXT__V1__DEP_CONDITION__AFTEROK,
	ANY = WHATSNEXT__V1__DEP_CONDITION__AFTERANY,
	NOTOK = WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK
};

TEST(edge_states_follow_the_conditions)
{
	CHECK_EQ_INT(wn_deps_edge_state(OK_, PENDING), EDGE_UNDECIDED);
	CHECK_EQ_INT(wn_deps_edge_state(OK_, RUNNING), EDGE_UNDECIDED);
	CHECK_EQ_INT(wn_deps_edge_state(OK_, COMPLETED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(OK_, FAILED), EDGE_BROKEN);
	CHECK_EQ_INT(wn_deps_edge_state(OK_, CANCELLED), EDGE_BROKEN);
	CHECK_EQ_INT(wn_deps_edge_state(ANY, COMPLETED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(ANY, FAILED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(ANY, CANCELLED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(NOTOK, COMPLETED), EDGE_BROKEN);
	CHECK_EQ_INT(wn_deps_edge_state(NOTOK, FAILED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(NOTOK, CANCELLED), EDGE_OK);
	/* BLOCKED: an end without success; removed (0): an end of unknown outcome */
	CHECK_EQ_INT(wn_deps_edge_state(OK_, BLOCKED), EDGE_BROKEN);
	CHECK_EQ_INT(wn_deps_edge_state(ANY, BLOCKED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(NOTOK, BLOCKED), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(OK_, 0), EDGE_BROKEN);
	CHECK_EQ_INT(wn_deps_edge_state(ANY, 0), EDGE_OK);
	CHECK_EQ_INT(wn_deps_edge_state(NOTOK, 0), EDGE_BROKEN);
}

/* order_ok checks that every edge goes forward in order. */
static bool order_ok(size_t n, const size_t *from, const size_t *to, size_t ne, const size_t *ord)
{
	size_t *at = calloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		at[ord[i]] = i;
	bool ok = true;
	for (size_t i = 0; i < ne; i++)
		ok &= at[from[i]] < at[to[i]];
	free(at);
	return ok;
}

TEST(toposort_orders_and_finds_cycles)
{
	/* diamond: 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, listed backwards */
	size_t from[] = {2, 1, 0, 0}, to[] = {3, 3, 2, 1}, ord[4], cyc = 99;
	CHECK(wn_deps_toposort(4, from, to, 4, ord, &cyc));
	CHECK(order_ok(4, from, to, 4, ord));
	/* self-dependency */
	size_t f1[] = {1}, t1[] = {1};
	CHECK(!wn_deps_toposort(3, f1, t1, 1, ord, &cyc));
	CHECK_EQ_INT(cyc, 1);
	/* a long cycle 0 -> 1 -> ... -> 99 -> 0 and a tail off it */
	enum { N = 100 };
	size_t fl[N + 1], tl[N + 1], ol[N + 1];
	for (size_t i = 0; i < N; i++) {
		fl[i] = i;
		tl[i] = (i + 1) % N;
	}
	fl[N] = 5;
	tl[N] = N; /* node 100 hangs off the cycle */
	CHECK(!wn_deps_toposort(N + 1, fl, tl, N + 1, ol, &cyc));
	CHECK(cyc < N);
}

TEST(toposort_is_iterative_on_a_million_node_chain)
{
	enum { N = 1000000 };
	size_t *from = malloc(N * sizeof(size_t)), *to = malloc(N * sizeof(size_t));
	size_t *ord = malloc(N * sizeof(size_t)), cyc;
	for (size_t i = 0; i + 1 < N; i++) {
		/* reversed chain: node i depends on node i + 1 */
		from[i] = i + 1;
		to[i] = i;
	}
	CHECK(wn_deps_toposort(N, from, to, N - 1, ord, &cyc));
	CHECK_EQ_INT(ord[0], N - 1);
	CHECK_EQ_INT(ord[N - 1], 0);
	free(from);
	free(to);
	free(ord);
}

/* ------------------------------------------------------------ engine */

static wn_engine *open_engine(void)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.durability = WN_DURABILITY_RELAXED;
	cfg.relaxed_ms = 50;
	return wn_fixture_open_with(&cfg);
}

static void setup(wn_engine *e)
{
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "p";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL), 0);
	cp.name = "q";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL), 0);
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "p";
	t.name = "t";
	Whatsnext__V1__CreateTaskRequest ct = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	ct.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &ct.base, NULL, NULL), 0);
	t.project = "q";
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &ct.base, NULL, NULL), 0);
}

/* submit adds a job to p/t depending on up to two jobs (0 = none). */
static uint64_t submit(wn_engine *e, const char *project, uint64_t d1, int c1, uint64_t d2, int c2)
{
	Whatsnext__V1__Dependency a = WHATSNEXT__V1__DEPENDENCY__INIT,
	                          b = WHATSNEXT__V1__DEPENDENCY__INIT;
	Whatsnext__V1__Dependency *deps[2];
	size_t nd = 0;
	a.job_id = d1;
	a.condition = c1;
	b.job_id = d2;
	b.condition = c2;
	if (d1)
		deps[nd++] = &a;
	if (d2)
		deps[nd++] = &b;
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = "t";
	s.n_after = nd;
	s.after = deps;
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	Whatsnext__V1__SubmitResponse *r = NULL;
	int code = call(e, M("JobService", "Submit"), &rq.base,
	                &whatsnext__v1__submit_response__descriptor, (void **)&r);
	if (code != 0)
		return 0;
	uint64_t id = r->job->id;
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	return id;
}

static uint64_t fetch(wn_engine *e, uint32_t *att)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = "p";
	rq.worker = "w";
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
	                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job ? r->job->id : 0;
	if (att)
		*att = r->job ? r->job->attempt : 0;
	whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	return id;
}

static void finish(wn_engine *e, uint64_t id, uint32_t att, bool ok)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = att;
	rq.worker = "w";
	rq.success = ok;
	rq.exit_code = ok ? 0 : 1;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), 0);
}

TEST(dependencies_gate_dispatch_and_block_transitively)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, "p", 0, 0, 0, 0);
	uint64_t b = submit(e, "p", a, OK_, 0, 0);   /* afterok a */
	uint64_t c = submit(e, "p", b, OK_, 0, 0);   /* afterok b */
	uint64_t d = submit(e, "p", a, NOTOK, 0, 0); /* afternotok a: alert */
	uint64_t f = submit(e, "p", a, ANY, 0, 0);   /* afterany a: clean-up */
	uint64_t g = submit(e, "p", b, ANY, 0, 0);   /* afterany b: a report */
	/* only a is ready */
	uint32_t att;
	CHECK_EQ_INT(fetch(e, &att), a);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	finish(e, a, att, false);
	/* a failed: b blocked, c blocked through b; d, f and g (b's blocking
	 * is an end for afterany) ready, in submission order */
	CHECK_EQ_INT(wn_fixture_job_status(e, b), BLOCKED);
	CHECK_EQ_INT(wn_fixture_job_status(e, c), BLOCKED);
	CHECK_EQ_INT(fetch(e, NULL), d);
	CHECK_EQ_INT(fetch(e, NULL), f);
	CHECK_EQ_INT(fetch(e, NULL), g);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	/* retry a: b and c are pending again (transitively) */
	Whatsnext__V1__JobIdRequest rr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rr.id = a;
	CHECK_EQ_INT(call(e, M("JobService", "Retry"), &rr.base, NULL, NULL), 0);
	CHECK_EQ_INT(wn_fixture_job_status(e, b), PENDING);
	CHECK_EQ_INT(wn_fixture_job_status(e, c), PENDING);
	CHECK_EQ_INT(fetch(e, &att), a);
	finish(e, a, att, true);
	CHECK_EQ_INT(fetch(e, &att), b);
	finish(e, b, att, true);
	CHECK_EQ_INT(fetch(e, &att), c);
	wn_fixture_close(e);
}

TEST(bad_dependencies_are_refused)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, "p", 0, 0, 0, 0);
	uint64_t other = submit(e, "q", 0, 0, 0, 0);
	CHECK_EQ_INT(submit(e, "p", 999, OK_, 0, 0), 0);
	CHECK(strstr(wn_fixture_msg(), "unknown job 999") != NULL);
	CHECK_EQ_INT(submit(e, "p", other, OK_, 0, 0), 0);
	CHECK(strstr(wn_fixture_msg(), "another project") != NULL);
	CHECK_EQ_INT(submit(e, "p", a, 7, 0, 0), 0);
	CHECK(strstr(wn_fixture_msg(), "condition") != NULL);
	wn_fixture_close(e);
}

static Whatsnext__V1__JobSpec *spec(const char *name, const char *after1, const char *after2)
{
	Whatsnext__V1__JobSpec *s = calloc(1, sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = "p";
	s->task = "t";
	s->name = (char *)name;
	s->after = calloc(2, sizeof(*s->after));
	const char *refs[2] = {after1, after2};
	for (int i = 0; i < 2; i++) {
		if (refs[i] == NULL)
			continue;
		Whatsnext__V1__Dependency *d = calloc(1, sizeof(*d));
		whatsnext__v1__dependency__init(d);
		d->ref = (char *)refs[i];
		s->after[s->n_after++] = d;
	}
	return s;
}

static void spec_free(Whatsnext__V1__JobSpec *s)
{
	for (size_t i = 0; i < s->n_after; i++)
		free(s->after[i]);
	free(s->after);
	free(s);
}

static int batch(wn_engine *e, Whatsnext__V1__JobSpec **v, size_t n, uint32_t cap,
                 Whatsnext__V1__SubmitBatchResponse **out)
{
	Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	Whatsnext__V1__SweepSpec sw = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	rq.jobs = v;
	rq.n_jobs = n;
	if (cap) {
		sw.name = "grid";
		sw.max_running = cap;
		rq.sweep = &sw;
	}
	return call(e, M("JobService", "SubmitBatch"), &rq.base,
	            &whatsnext__v1__submit_batch_response__descriptor, (void **)out);
}

TEST(batch_refs_resolve_and_cycles_are_refused)
{
	wn_engine *e = open_engine();
	setup(e);
	/* evaluate listed first, refers forward */
	Whatsnext__V1__JobSpec *v[4] = {spec("eval", "train1", "train2"), spec("train1", "prep", 0),
	                                spec("train2", "prep", 0), spec("prep", 0, 0)};
	Whatsnext__V1__SubmitBatchResponse *r = NULL;
	CHECK_EQ_INT(batch(e, v, 4, 0, &r), 0);
	uint64_t eval = r->ids[0], t1 = r->ids[1], t2 = r->ids[2], prep = r->ids[3];
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, &att), prep);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	finish(e, prep, att, true);
	uint32_t a1, a2;
	uint64_t x = fetch(e, &a1), y = fetch(e, &a2);
	CHECK((x == t1 && y == t2) || (x == t2 && y == t1));
	finish(e, x, a1, true);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	finish(e, y, a2, true);
	CHECK_EQ_INT(fetch(e, NULL), eval);
	for (int i = 0; i < 4; i++)
		spec_free(v[i]);

	/* a cycle inside a batch, and a reference to nothing */
	Whatsnext__V1__JobSpec *cyc[3] = {spec("a", "c", 0), spec("b", "a", 0), spec("c", "b", 0)};
	CHECK_EQ_INT(batch(e, cyc, 3, 0, &r), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK(strstr(wn_fixture_msg(), "cycle") != NULL);
	Whatsnext__V1__JobSpec *self[1] = {spec("s", "s", 0)};
	CHECK_EQ_INT(batch(e, self, 1, 0, &r), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	Whatsnext__V1__JobSpec *dangling[1] = {spec("d", "nobody", 0)};
	CHECK_EQ_INT(batch(e, dangling, 1, 0, &r), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK(strstr(wn_fixture_msg(), "nobody") != NULL);
	for (int i = 0; i < 3; i++)
		spec_free(cyc[i]);
	spec_free(self[0]);
	spec_free(dangling[0]);
	/* nothing of the refused batches was stored */
	CHECK_EQ_INT(fetch(e, NULL), 0);
	wn_fixture_close(e);
}

TEST(sweep_cap_limits_running_jobs_and_state_survives_restart)
{
	wn_engine *e = open_engine();
	setup(e);
	Whatsnext__V1__JobSpec *v[5];
	for (int i = 0; i < 5; i++)
		v[i] = spec("", 0, 0);
	Whatsnext__V1__SubmitBatchResponse *r = NULL;
	CHECK_EQ_INT(batch(e, v, 5, 2, &r), 0);
	uint64_t sweep = r->sweep_id;
	CHECK_EQ_INT(sweep, r->ids[0]);
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	uint64_t outside = submit(e, "p", 0, 0, 0, 0);
	uint32_t a1, a2;
	uint64_t j1 = fetch(e, &a1), j2 = fetch(e, &a2);
	CHECK(j1 != 0 && j2 != 0);
	/* the cap is reached: the next fetch skips the sweep */
	CHECK_EQ_INT(fetch(e, NULL), outside);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	finish(e, j1, a1, true);
	uint32_t a3;
	uint64_t j3 = fetch(e, &a3);
	CHECK(j3 != 0);
	CHECK_EQ_INT(fetch(e, NULL), 0);
	wn_fixture_close(e);
	/* after a restart the counts and the cap still hold */
	e = open_engine();
	CHECK_EQ_INT(fetch(e, NULL), 0);
	Whatsnext__V1__GetSweepRequest g = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	g.id = sweep;
	Whatsnext__V1__Sweep *s = NULL;
	CHECK_EQ_INT(call(e, M("SweepService", "Get"), &g.base, &whatsnext__v1__sweep__descriptor,
	                  (void **)&s),
	             0);
	CHECK_EQ_INT(s->total, 5);
	CHECK_EQ_INT(s->completed, 1);
	CHECK_EQ_INT(s->running, 2);
	CHECK_EQ_INT(s->pending, 2);
	whatsnext__v1__sweep__free_unpacked(s, NULL);
	for (int i = 0; i < 5; i++)
		spec_free(v[i]);
	wn_fixture_close(e);
}

TEST(dependency_state_survives_restart)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, "p", 0, 0, 0, 0);
	uint64_t b = submit(e, "p", a, OK_, 0, 0);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, &att), a);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(fetch(e, NULL), 0); /* b still waits for a */
	finish(e, a, att, true);
	CHECK_EQ_INT(fetch(e, NULL), b);
	wn_fixture_close(e);
}

TEST(a_finished_job_is_kept_while_a_running_dependent_may_return_to_it)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 100000;
	cfg.retention_ms = 10000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	setup(e);
	uint64_t a = submit(e, "p", 0, 0, 0, 0);
	uint64_t b = submit(e, "p", a, OK_, 0, 0);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, &att), a);
	finish(e, a, att, true);
	CHECK_EQ_INT(fetch(e, NULL), b);
	/* nor is a removed without force while b runs */
	Whatsnext__V1__JobIdRequest rm = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rm.id = a;
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &rm.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK(strstr(wn_fixture_msg(), "has dependents waiting for it (job") != NULL);
	CHECK(strstr(wn_fixture_msg(), "running: it waits again if it is retried") != NULL);
	/* a is past its retention time while b runs: b's lease may still run
	 * out, and b then waits for a again */
	wn_fixture_now += 20000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 0);
	CHECK_EQ_INT(wn_fixture_job_status(e, a), COMPLETED);
	wn_fixture_now += 100001;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, b), PENDING);
	CHECK_EQ_INT(fetch(e, &att), b);
	finish(e, b, att, true);
	/* nothing waits on a any more */
	CHECK_EQ_INT(wn_engine_expire_finished(e), 1);
	wn_fixture_close(e);
}

TEST_MAIN()
