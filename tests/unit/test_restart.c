/* Unit tests of what survives a restart of the engine: queue order, leases
 * and job ids, and records beyond what the engine keeps in memory. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(state_survives_reopen)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 1000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t a = wn_fixture_submit(e, "p", "t", 1);
	uint64_t b = wn_fixture_submit(e, "p", "t", 3);
	uint64_t c = wn_fixture_submit(e, "p", "t", 2);
	uint32_t att;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), b);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, b), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	/* the restored lease is honoured and expires from the restart on */
	CHECK_EQ_INT(wn_fixture_complete(e, b, att, true), 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), c);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), a);
	/* ids go on increasing after a restart (past the reserved block) */
	uint64_t d = wn_fixture_submit(e, "p", "t", 0);
	CHECK(d > c);
	CHECK(wn_fixture_submit(e, "p", "t", 0) == d + 1);
	e = wn_fixture_restart(e);
	CHECK(wn_fixture_submit(e, "p", "t", 0) > d + 1);
	wn_fixture_close(e);
}

/* More jobs than the engine keeps records of in memory: every one is
 * claimed and completed with its own record, the oldest read back from the
 * store, and what Get shows afterwards (and after a reopen) is the truth. */
TEST(records_beyond_the_cache_stay_right)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.durability = WN_DURABILITY_RELAXED; /* 40,000 writes */
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	enum { N = 20000, BATCH = 1000 };
	Whatsnext__V1__JobSpec s[BATCH];
	Whatsnext__V1__JobSpec *sp[BATCH];
	char names[BATCH][16];
	for (int k = 0; k < N / BATCH; k++) {
		for (int i = 0; i < BATCH; i++) {
			whatsnext__v1__job_spec__init(&s[i]);
			s[i].project = "p";
			s[i].task = "t";
			snprintf(names[i], sizeof(names[i]), "n%d", k * BATCH + i + 1);
			s[i].name = names[i];
			sp[i] = &s[i];
		}
		Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
		rq.n_jobs = BATCH;
		rq.jobs = sp;
		CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &rq.base, NULL, NULL), 0);
	}
	for (uint64_t want = 1; want <= N; want++) {
		uint32_t att = 0;
		uint64_t id = wn_fixture_fetch(e, "p", "w1", &att);
		CHECK_EQ_INT(id, want);
		CHECK_EQ_INT(att, 1);
		CHECK_EQ_INT(wn_fixture_complete(e, id, att, id % 3 != 0), 0);
	}
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), 0);
	for (int round = 0; round < 2; round++) {
		for (uint64_t id = 1; id <= N; id += 997) {
			Whatsnext__V1__Job *j = wn_fixture_job(e, id);
			char want[16];
			snprintf(want, sizeof(want), "n%llu", (unsigned long long)id);
			CHECK_EQ_STR(j->name, want);
			CHECK_EQ_INT(j->status, id % 3 != 0
			                            ? WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED
			                            : WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
			CHECK_EQ_INT(j->attempt, 1);
			whatsnext__v1__job__free_unpacked(j, NULL);
		}
		e = wn_fixture_restart(e);
	}
	wn_fixture_close(e);
}

TEST_MAIN()
