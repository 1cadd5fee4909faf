/* Unit tests of request ids: a request sent again runs once, before and
 * after a restart, while its id is remembered (a day), and runs again once
 * it is forgotten. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "replay.h"
#include "envelope.h"
#include "err.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* submit_as submits a job of p/t with request id id; the reply in *r. */
static int submit_as(wn_engine *e, uint64_t id, bool brief, Whatsnext__V1__SubmitResponse **r)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	rq.brief = brief;
	return call_id(e, M("JobService", "Submit"), &rq.base, id,
	               &whatsnext__v1__submit_response__descriptor, (void **)r);
}

/* submit_id submits as submit_as does, expects OK and returns the job's id. */
static uint64_t submit_id(wn_engine *e, uint64_t id, bool brief)
{
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(submit_as(e, id, brief, &r), 0);
	uint64_t job = r->job->id;
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	return job;
}

/* remove_job removes job id (JobService/Remove), expecting OK. */
static void remove_job(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &rq.base, NULL, NULL), 0);
}

/* count_of returns how many jobs of project p have status st (Stats). */
static uint64_t count_of(wn_engine *e, int st)
{
	Whatsnext__V1__StatsRequest rq = WHATSNEXT__V1__STATS_REQUEST__INIT;
	rq.project = "p";
	Whatsnext__V1__StatsResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &rq.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_projects, 1);
	const Whatsnext__V1__ProjectStats *ps = r->projects[0];
	uint64_t n = st == WHATSNEXT__V1__JOB_STATUS__JOB_PENDING     ? ps->pending
	             : st == WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING   ? ps->running
	             : st == WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ? ps->completed
	                                                              : ps->failed;
	whatsnext__v1__stats_response__free_unpacked(r, NULL);
	return n;
}

TEST(repeated_request_id_runs_once)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	Whatsnext__V1__SubmitResponse *r1 = NULL, *r2 = NULL;
	CHECK_EQ_INT(call_id(e, M("JobService", "Submit"), &rq.base, 77,
	                     &whatsnext__v1__submit_response__descriptor, (void **)&r1),
	             0);
	CHECK_EQ_INT(call_id(e, M("JobService", "Submit"), &rq.base, 77,
	                     &whatsnext__v1__submit_response__descriptor, (void **)&r2),
	             0);
	CHECK_EQ_INT(r1->job->id, r2->job->id);
	whatsnext__v1__submit_response__free_unpacked(r1, NULL);
	whatsnext__v1__submit_response__free_unpacked(r2, NULL);
	/* after a restart too */
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(call_id(e, M("JobService", "Submit"), &rq.base, 77,
	                     &whatsnext__v1__submit_response__descriptor, (void **)&r2),
	             0);
	CHECK_EQ_INT(r2->job->id, 1);
	whatsnext__v1__submit_response__free_unpacked(r2, NULL);
	Whatsnext__V1__StatsRequest st = WHATSNEXT__V1__STATS_REQUEST__INIT;
	st.project = "p";
	Whatsnext__V1__StatsResponse *sr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &st.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&sr),
	             0);
	CHECK_EQ_INT(sr->projects[0]->pending, 1);
	whatsnext__v1__stats_response__free_unpacked(sr, NULL);
	/* the same id for another method is refused */
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "q";
	CHECK_EQ_INT(call_id(e, M("ProjectService", "Create"), &cp.base, 77, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	wn_fixture_close(e);
}

TEST(resent_submit_after_restart_gets_its_job_as_it_is_now)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(submit_as(e, 91, false, &r), 0);
	uint64_t id = r->job->id;
	CHECK_EQ_INT(r->job->submit_request_id, 91);
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	uint64_t brief_id = submit_id(e, 92, true);
	uint32_t att;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, true), 0);
	for (int round = 0; round < 2; round++) {
		e = wn_fixture_restart(e);
		/* the job that Submit made, as it is now; nothing new */
		CHECK_EQ_INT(submit_as(e, 91, false, &r), 0);
		CHECK_EQ_INT(r->job->id, id);
		CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
		CHECK_EQ_STR(r->job->task, "t");
		whatsnext__v1__submit_response__free_unpacked(r, NULL);
		/* a brief Submit gets a brief answer */
		CHECK_EQ_INT(submit_as(e, 92, true, &r), 0);
		CHECK_EQ_INT(r->job->id, brief_id);
		CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
		CHECK_EQ_STR(r->job->task, "");
		whatsnext__v1__submit_response__free_unpacked(r, NULL);
		CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 1);
		CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED), 1);
	}
	/* built again each time, not remembered as first built: the brief
	 * job, claimed since the last resend, is RUNNING now */
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), brief_id);
	CHECK_EQ_INT(submit_as(e, 92, true, &r), 0);
	CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	/* the id stays a Submit's: another method under it is refused */
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "q";
	CHECK_EQ_INT(call_id(e, M("ProjectService", "Create"), &cp.base, 92, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	/* a new request id is a new job */
	CHECK_EQ_INT(submit_as(e, 93, false, &r), 0);
	CHECK(r->job->id > brief_id);
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 1);
	wn_fixture_close(e);
}

TEST(resent_submit_of_a_removed_job_creates_nothing)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	Whatsnext__V1__SubmitResponse *r = NULL;
	uint64_t id = submit_id(e, 94, false);
	remove_job(e, id);
	for (int round = 0; round < 3; round++) {
		/* at once, after a restart, and after another one */
		CHECK_EQ_INT(submit_as(e, 94, false, &r), 0);
		CHECK_EQ_INT(r->job->id, id);
		CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
		whatsnext__v1__submit_response__free_unpacked(r, NULL);
		CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 0);
		e = wn_fixture_restart(e);
	}
	/* the same request id for SubmitBatch is another request: it runs */
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	Whatsnext__V1__JobSpec *sv[] = {&s};
	Whatsnext__V1__SubmitBatchRequest br = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	br.jobs = sv;
	br.n_jobs = 1;
	CHECK_EQ_INT(call_id(e, M("JobService", "SubmitBatch"), &br.base, 94, NULL, NULL), 0);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 1);
	wn_fixture_close(e);
}

TEST(resent_submit_batch_after_restart_creates_nothing)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	Whatsnext__V1__JobSpec *sv[] = {&s, &s, &s};
	Whatsnext__V1__SubmitBatchRequest br = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	br.jobs = sv;
	br.n_jobs = 3;
	Whatsnext__V1__SubmitBatchResponse *r1 = NULL, *r2 = NULL;
	CHECK_EQ_INT(call_id(e, M("JobService", "SubmitBatch"), &br.base, 95,
	                     &whatsnext__v1__submit_batch_response__descriptor, (void **)&r1),
	             0);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(call_id(e, M("JobService", "SubmitBatch"), &br.base, 95,
	                     &whatsnext__v1__submit_batch_response__descriptor, (void **)&r2),
	             0);
	CHECK_EQ_INT(r2->n_ids, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ_INT(r2->ids[i], r1->ids[i]);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 3);
	/* the same id for Submit is refused while the batch's reply is cached */
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(submit_as(e, 95, false, &r), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 3);
	whatsnext__v1__submit_batch_response__free_unpacked(r1, NULL);
	whatsnext__v1__submit_batch_response__free_unpacked(r2, NULL);
	wn_fixture_close(e);
}

TEST(request_ids_are_forgotten_after_a_day)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t kept = submit_id(e, 96, false);
	uint64_t removed = submit_id(e, 97, false);
	remove_job(e, removed);
	/* within the day, after a restart: both answered */
	wn_fixture_now += 23LL * 3600 * 1000;
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(submit_id(e, 96, false), kept);
	CHECK_EQ_INT(submit_id(e, 97, false), removed);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 1);
	/* past the day (and the ten-minute reply cache): new requests */
	wn_fixture_now += 2LL * 3600 * 1000;
	e = wn_fixture_restart(e);
	CHECK(submit_id(e, 96, false) != kept);
	CHECK(submit_id(e, 97, false) != removed);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 3);
	wn_fixture_close(e);
}

TEST(a_running_server_forgets_request_ids_after_a_day)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.durability = WN_DURABILITY_RELAXED; /* 6,000 writes */
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t first = submit_id(e, 100001, true);
	for (uint64_t q = 2; q <= 5000; q++)
		submit_id(e, 100000 + q, true);
	wn_fixture_now += 23LL * 3600 * 1000;
	uint64_t late = submit_id(e, 200001, true);
	for (uint64_t q = 2; q <= 1000; q++)
		submit_id(e, 200000 + q, true);
	CHECK_EQ_INT(wn_replay_remembered(e, NULL), 6000);
	/* the hourly pass, 2 h later: the first 5,000 are past the day */
	wn_fixture_now += 2LL * 3600 * 1000;
	wn_replay_forget(e);
	size_t ring = 0;
	CHECK_EQ_INT(wn_replay_remembered(e, &ring), 1000);
	CHECK(ring <= 2048);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 6000);
	/* past the ten-minute reply cache too: a kept id is answered, a forgotten
	 * one runs again */
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(submit_id(e, 200001, true), late);
	CHECK(submit_id(e, 100001, true) != first);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 6001);
	wn_fixture_close(e);
}

TEST_MAIN()
