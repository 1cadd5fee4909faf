/* Unit tests of time in the engine, with a clock the test moves: leases
 * that expire, heartbeats that extend them and report cancelled jobs, steps
 * of the wall clock that move no lease, and the retention of finished jobs. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(lease_expires_and_returns_with_next_attempt)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 1000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 2, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 1);
	wn_fixture_now += 999;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	wn_fixture_now += 2;
	wn_engine_tick(e);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(j->lost, 1);
	CHECK(strstr(j->reason, "expired") != NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w2", &att), id);
	CHECK_EQ_INT(att, 2);
	/* the first holder's late result is refused */
	CHECK_EQ_INT(wn_fixture_complete(e, id, 1, true), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	/* second loss reaches max_attempts 2: FAILED with the reason */
	wn_fixture_now += 1001;
	wn_engine_tick(e);
	j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	CHECK(strstr(j->reason, "max_attempts 2") != NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(wn_fixture_complete(e, id, 2, true), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	wn_fixture_close(e);
}

TEST(wall_clock_steps_move_no_lease)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 1000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 2, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	/* two hours forward: the lease is not expired, and is shown from the new time */
	wn_fixture_wall_step = 2 * 3600 * 1000LL;
	wn_engine_tick(e);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(j->lease_expires_ms, wn_fixture_now + wn_fixture_wall_step + 1000);
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* an hour back: a lease not heartbeated still expires on time */
	wn_fixture_wall_step = -3600 * 1000LL;
	wn_fixture_now += 1001;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	wn_fixture_wall_step = 0;
	wn_fixture_close(e);
}

TEST(heartbeat_extends_lease_and_reports_cancel)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 1000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t a = wn_fixture_submit(e, "p", "t", 0);
	uint64_t b = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att_a, att_b;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att_a), a);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att_b), b);
	Whatsnext__V1__Lease la = WHATSNEXT__V1__LEASE__INIT, lb = WHATSNEXT__V1__LEASE__INIT;
	la.job_id = a;
	la.attempt = att_a;
	lb.job_id = b;
	lb.attempt = att_b;
	Whatsnext__V1__Lease *ls[] = {&la, &lb};
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w1";
	hb.n_leases = 2;
	hb.leases = ls;
	wn_fixture_now += 800;
	Whatsnext__V1__HeartbeatResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_cancelled + r->n_lost, 0);
	CHECK_EQ_INT(r->lease_expires_ms, wn_fixture_now + 1000);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	wn_fixture_now += 800; /* past the first expiry, within the extended one */
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, a), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);

	Whatsnext__V1__JobIdRequest cr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	cr.id = b;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &cr.base, NULL, NULL), 0);
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_cancelled, 1);
	CHECK_EQ_INT(r->cancelled[0], b);
	CHECK_EQ_INT(r->n_lost, 0);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	/* the worker reports the killed run: accepted, stays CANCELLED */
	CHECK_EQ_INT(wn_fixture_complete(e, b, att_b, false), 0);
	CHECK_EQ_INT(wn_fixture_job_status(e, b), WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED);
	/* an unknown lease is reported lost */
	la.attempt = att_a + 5;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_lost, 2);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

TEST(finished_jobs_expire_after_the_retention_time)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.retention_ms = 10000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t done = wn_fixture_submit(e, "p", "t", 0);
	uint64_t pending = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), done);
	CHECK_EQ_INT(wn_fixture_complete(e, done, att, true), 0);
	wn_fixture_now += 9000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 0);
	wn_fixture_now += 2000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 1);
	Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	g.id = done;
	CHECK_EQ_INT(call(e, M("JobService", "Get"), &g.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	CHECK_EQ_INT(wn_fixture_job_status(e, pending), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	Whatsnext__V1__StatsRequest st = WHATSNEXT__V1__STATS_REQUEST__INIT;
	st.project = "p";
	Whatsnext__V1__StatsResponse *sr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &st.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&sr),
	             0);
	CHECK_EQ_INT(sr->projects[0]->completed, 0);
	CHECK_EQ_INT(sr->projects[0]->pending, 1);
	whatsnext__v1__stats_response__free_unpacked(sr, NULL);
	wn_fixture_close(e);
}

TEST_MAIN()
