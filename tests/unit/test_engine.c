/* Unit tests for the engine: every method through wn_engine_handle, with a
 * clock the test controls and no sockets. */
#include "test.h"

#include "engine.h"
#include "engine_int.h"
#include "envelope.h"
#include "err.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fake_now = 1700000000000LL;
static char last_msg[1024];

/* a step of the wall clock alone (the monotonic clock is fake_now) */
static int64_t wall_step;

static int64_t test_clock(void *arg)
{
	(void)arg;
	return fake_now + wall_step;
}

static int64_t test_mono(void *arg)
{
	(void)arg;
	return fake_now;
}

static int64_t retention;

static int durability = WN_DURABILITY_SYNC;

static wn_engine *open_engine(int64_t lease_ms)
{
	wn_engine_config cfg = {
	    .data_dir = "data",
	    .durability = durability,
	    .lease_ms = lease_ms,
	    .retention_ms = retention,
	    .no_sweeper = true,
	    .clock = test_clock,
	    .mono = test_mono,
	};
	wn_engine *e = NULL;
	char *err = NULL;
	int rv = wn_engine_open(&cfg, &e, &err);
	if (rv != WN_OK)
		fprintf(stderr, "# open: %s\n", err);
	free(err);
	CHECK_OK(rv);
	return e;
}

/* raw sends bytes and returns the response's code (message in last_msg). */
static int raw(wn_engine *e, const uint8_t *buf, size_t len, Whatsnext__V1__Response **out)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	wn_engine_handle(e, buf, len, NULL, &reply, &rlen);
	CHECK(reply != NULL);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, rlen, reply);
	free(reply);
	CHECK(r != NULL);
	snprintf(last_msg, sizeof(last_msg), "%s", r->message);
	int code = (int)r->code;
	if (out != NULL)
		*out = r;
	else
		whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

/* call_id runs method with in and request id; on OK *out is the output. */
static int call_id(wn_engine *e, const char *method, const ProtobufCMessage *in, uint64_t id,
                   const ProtobufCMessageDescriptor *od, void **out)
{
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = id;
	rq.method = (char *)method;
	size_t bl;
	rq.body.data = wn_message_pack(in, &bl);
	rq.body.len = bl;
	size_t len;
	uint8_t *buf = wn_message_pack(&rq.base, &len);
	free(rq.body.data);
	Whatsnext__V1__Response *r = NULL;
	int code = raw(e, buf, len, &r);
	free(buf);
	if (out != NULL)
		*out = NULL;
	if (code == 0 && out != NULL && od != NULL) {
		*out = protobuf_c_message_unpack(od, NULL, r->body.len, r->body.data);
		CHECK(*out != NULL);
	}
	whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

static uint64_t next_req = 1000;

static int call(wn_engine *e, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *od, void **out)
{
	return call_id(e, method, in, next_req++, od, out);
}

#define M(svc, m) "/whatsnext.v1." svc "/" m

static void mk_project(wn_engine *e, const char *name)
{
	Whatsnext__V1__CreateProjectRequest rq = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	rq.name = (char *)name;
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &rq.base, NULL, NULL), 0);
}

static void mk_task(wn_engine *e, const char *project, const char *name, uint32_t max_attempts,
                    uint32_t retries)
{
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)project;
	t.name = (char *)name;
	t.max_attempts = max_attempts;
	t.retries = retries;
	Whatsnext__V1__CreateTaskRequest rq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	rq.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &rq.base, NULL, NULL), 0);
}

static uint64_t submit(wn_engine *e, const char *project, const char *task, int32_t prio)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = (char *)task;
	s.priority = prio;
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &rq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job->id;
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	return id;
}

/* fetch claims a job for worker; returns its id (0 if none), attempt in *att. */
static uint64_t fetch(wn_engine *e, const char *project, const char *worker, uint32_t *att)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = (char *)project;
	rq.worker = (char *)worker;
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
	                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job ? r->job->id : 0;
	if (att != NULL)
		*att = r->job ? r->job->attempt : 0;
	whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	return id;
}

static int complete(wn_engine *e, uint64_t id, uint32_t attempt, bool success)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = attempt;
	rq.worker = "w1";
	rq.success = success;
	rq.exit_code = success ? 0 : 7;
	rq.output_tail = "done\n";
	return call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL);
}

static Whatsnext__V1__Job *get_job(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	rq.id = id;
	Whatsnext__V1__Job *j = NULL;
	CHECK_EQ_INT(
	    call(e, M("JobService", "Get"), &rq.base, &whatsnext__v1__job__descriptor, (void **)&j),
	    0);
	return j;
}

static int job_status(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__Job *j = get_job(e, id);
	int s = (int)j->status;
	whatsnext__v1__job__free_unpacked(j, NULL);
	return s;
}

TEST(priority_then_fifo)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "a", 0, 0);
	mk_task(e, "p", "b", 0, 0);
	/* ids 1..8 with priorities; expected order: prio desc, then id asc */
	int32_t prios[] = {0, 5, 0, 5, -1, 9, 0, 5};
	uint64_t ids[8];
	for (int i = 0; i < 8; i++)
		ids[i] = submit(e, "p", i % 2 ? "a" : "b", prios[i]);
	uint64_t want[] = {ids[5], ids[1], ids[3], ids[7], ids[0], ids[2], ids[6], ids[4]};
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(fetch(e, "p", "w1", NULL), want[i]);
	CHECK_EQ_INT(fetch(e, "p", "w1", NULL), 0);
	wn_engine_close(e);
}

TEST(lease_expires_and_returns_with_next_attempt)
{
	wn_engine *e = open_engine(1000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 2, 0);
	uint64_t id = submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 1);
	fake_now += 999;
	wn_engine_tick(e);
	CHECK_EQ_INT(job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	fake_now += 2;
	wn_engine_tick(e);
	Whatsnext__V1__Job *j = get_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(j->lost, 1);
	CHECK(strstr(j->reason, "expired") != NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(fetch(e, "p", "w2", &att), id);
	CHECK_EQ_INT(att, 2);
	/* the first holder's late result is refused */
	CHECK_EQ_INT(complete(e, id, 1, true), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	/* second loss reaches max_attempts 2: FAILED with the reason */
	fake_now += 1001;
	wn_engine_tick(e);
	j = get_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	CHECK(strstr(j->reason, "max_attempts 2") != NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(complete(e, id, 2, true), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	wn_engine_close(e);
}

TEST(wall_clock_steps_move_no_lease)
{
	wn_engine *e = open_engine(1000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 2, 0);
	uint64_t id = submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), id);
	/* two hours forward: the lease is not expired, and is shown from the new time */
	wall_step = 2 * 3600 * 1000LL;
	wn_engine_tick(e);
	Whatsnext__V1__Job *j = get_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(j->lease_expires_ms, fake_now + wall_step + 1000);
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* an hour back: a lease not heartbeated still expires on time */
	wall_step = -3600 * 1000LL;
	fake_now += 1001;
	wn_engine_tick(e);
	CHECK_EQ_INT(job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	wall_step = 0;
	wn_engine_close(e);
}

TEST(heartbeat_extends_lease_and_reports_cancel)
{
	wn_engine *e = open_engine(1000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	uint64_t a = submit(e, "p", "t", 0);
	uint64_t b = submit(e, "p", "t", 0);
	uint32_t att_a, att_b;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att_a), a);
	CHECK_EQ_INT(fetch(e, "p", "w1", &att_b), b);
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
	fake_now += 800;
	Whatsnext__V1__HeartbeatResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_cancelled + r->n_lost, 0);
	CHECK_EQ_INT(r->lease_expires_ms, fake_now + 1000);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	fake_now += 800; /* past the first expiry, within the extended one */
	wn_engine_tick(e);
	CHECK_EQ_INT(job_status(e, a), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);

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
	CHECK_EQ_INT(complete(e, b, att_b, false), 0);
	CHECK_EQ_INT(job_status(e, b), WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED);
	/* an unknown lease is reported lost */
	la.attempt = att_a + 5;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_lost, 2);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	wn_engine_close(e);
}

TEST(retries_requeue_failed_commands)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 2);
	uint64_t id = submit(e, "p", "t", 0);
	for (uint32_t i = 1; i <= 3; i++) {
		uint32_t att = 0;
		CHECK_EQ_INT(fetch(e, "p", "w1", &att), id);
		CHECK_EQ_INT(att, i);
		CHECK_EQ_INT(complete(e, id, att, false), 0);
		CHECK_EQ_INT(job_status(e, id), i < 3 ? WHATSNEXT__V1__JOB_STATUS__JOB_PENDING
		                                      : WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	}
	Whatsnext__V1__Job *j = get_job(e, id);
	CHECK_EQ_INT(j->exit_code, 7);
	CHECK_EQ_STR(j->output_tail, "done\n");
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* retry puts it back with fresh counts */
	Whatsnext__V1__JobIdRequest rr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rr.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Retry"), &rr.base, NULL, NULL), 0);
	uint32_t att = 0;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 4);
	CHECK_EQ_INT(complete(e, id, att, true), 0);
	CHECK_EQ_INT(job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	/* a second completion of the same lease is refused */
	CHECK_EQ_INT(complete(e, id, att, true), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	wn_engine_close(e);
}

TEST(repeated_request_id_runs_once)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
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
	wn_engine_close(e);
	e = open_engine(60000);
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
	wn_engine_close(e);
}

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

TEST(resent_submit_after_restart_gets_its_job_as_it_is_now)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(submit_as(e, 91, false, &r), 0);
	uint64_t id = r->job->id;
	CHECK_EQ_INT(r->job->submit_request_id, 91);
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	uint64_t brief_id = submit_id(e, 92, true);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(complete(e, id, att, true), 0);
	for (int round = 0; round < 2; round++) {
		wn_engine_close(e);
		e = open_engine(60000);
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
	/* a new request id is a new job */
	CHECK_EQ_INT(submit_as(e, 93, false, &r), 0);
	CHECK(r->job->id > brief_id);
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 2);
	wn_engine_close(e);
}

TEST(resent_submit_of_a_removed_job_creates_nothing)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
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
		wn_engine_close(e);
		e = open_engine(60000);
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
	wn_engine_close(e);
}

TEST(resent_submit_batch_after_restart_creates_nothing)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
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
	wn_engine_close(e);
	e = open_engine(60000);
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
	wn_engine_close(e);
}

TEST(request_ids_are_forgotten_after_a_day)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	uint64_t kept = submit_id(e, 96, false);
	uint64_t removed = submit_id(e, 97, false);
	remove_job(e, removed);
	/* within the day, after a restart: both answered */
	fake_now += 23LL * 3600 * 1000;
	wn_engine_close(e);
	e = open_engine(60000);
	CHECK_EQ_INT(submit_id(e, 96, false), kept);
	CHECK_EQ_INT(submit_id(e, 97, false), removed);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 1);
	/* past the day (and the ten-minute reply cache): new requests */
	fake_now += 2LL * 3600 * 1000;
	wn_engine_close(e);
	e = open_engine(60000);
	CHECK(submit_id(e, 96, false) != kept);
	CHECK(submit_id(e, 97, false) != removed);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 3);
	wn_engine_close(e);
}

TEST(a_running_server_forgets_request_ids_after_a_day)
{
	durability = WN_DURABILITY_RELAXED; /* 6,000 writes */
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	uint64_t first = submit_id(e, 100001, true);
	for (uint64_t q = 2; q <= 5000; q++)
		submit_id(e, 100000 + q, true);
	fake_now += 23LL * 3600 * 1000;
	uint64_t late = submit_id(e, 200001, true);
	for (uint64_t q = 2; q <= 1000; q++)
		submit_id(e, 200000 + q, true);
	CHECK_EQ_INT(wn_map_count(e->replay.jobs), 6000);
	/* the hourly pass, 2 h later: the first 5,000 are past the day */
	fake_now += 2LL * 3600 * 1000;
	replay_forget(e);
	CHECK_EQ_INT(wn_map_count(e->replay.jobs), 1000);
	CHECK_EQ_INT(e->replay.n, 1000);
	CHECK(e->replay.cap <= 2048);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 6000);
	/* past the ten-minute reply cache too: a kept id is answered, a forgotten
	 * one runs again */
	wn_engine_close(e);
	e = open_engine(60000);
	CHECK_EQ_INT(submit_id(e, 200001, true), late);
	CHECK(submit_id(e, 100001, true) != first);
	CHECK_EQ_INT(count_of(e, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING), 6001);
	wn_engine_close(e);
	durability = WN_DURABILITY_SYNC;
}

TEST(jobs_without_a_name_are_named_task_dash_id)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	for (int i = 0; i < 12; i++) {
		uint64_t id = submit(e, "p", "t", 0);
		Whatsnext__V1__Job *j = get_job(e, id);
		char want[64];
		snprintf(want, sizeof(want), "t-%llu", (unsigned long long)id);
		CHECK_EQ_STR(j->name, want);
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT,
	                       named = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = named.project = "p";
	s.task = named.task = "t";
	named.name = "mine";
	Whatsnext__V1__JobSpec *sv[] = {&s, &named, &s};
	Whatsnext__V1__SubmitBatchRequest br = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	br.jobs = sv;
	br.n_jobs = 3;
	Whatsnext__V1__SubmitBatchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &br.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, (void **)&r),
	             0);
	for (size_t i = 0; i < 3; i++) {
		Whatsnext__V1__Job *j = get_job(e, r->ids[i]);
		char want[64];
		snprintf(want, sizeof(want), "t-%llu", (unsigned long long)r->ids[i]);
		CHECK_EQ_STR(j->name, i == 1 ? "mine" : want);
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	wn_engine_close(e);
}

TEST(state_survives_reopen)
{
	wn_engine *e = open_engine(1000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	uint64_t a = submit(e, "p", "t", 1);
	uint64_t b = submit(e, "p", "t", 3);
	uint64_t c = submit(e, "p", "t", 2);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), b);
	wn_engine_close(e);
	e = open_engine(1000);
	CHECK_EQ_INT(job_status(e, b), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	/* the restored lease is honoured and expires from the restart on */
	CHECK_EQ_INT(complete(e, b, att, true), 0);
	CHECK_EQ_INT(fetch(e, "p", "w1", NULL), c);
	CHECK_EQ_INT(fetch(e, "p", "w1", NULL), a);
	/* ids go on increasing after a restart (past the reserved block) */
	uint64_t d = submit(e, "p", "t", 0);
	CHECK(d > c);
	CHECK(submit(e, "p", "t", 0) == d + 1);
	wn_engine_close(e);
	e = open_engine(1000);
	CHECK(submit(e, "p", "t", 0) > d + 1);
	wn_engine_close(e);
}

TEST(bad_input_is_refused)
{
	wn_engine *e = open_engine(60000);
	uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
	CHECK_EQ_INT(raw(e, garbage, sizeof(garbage), NULL), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK(strstr(last_msg, "malformed") != NULL);
	Whatsnext__V1__GetProjectRequest gp = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
	gp.name = "p";
	CHECK_EQ_INT(call(e, "/whatsnext.v1.ProjectService/Nope", &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__UNIMPLEMENTED);
	/* a body of another type: a Job where a CreateProjectRequest belongs */
	Whatsnext__V1__Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = 5;
	j.attempt = 3;
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &j.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	uint8_t *big = calloc(1, WN_MSG_MAX + 1);
	CHECK_EQ_INT(raw(e, big, WN_MSG_MAX + 1, NULL), WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK(strstr(last_msg, "exceeds the limit") != NULL);
	free(big);
	uint8_t truncated[] = {0x08, 0x01, 0x12, 0x20, '/', 'w'};
	CHECK_EQ_INT(raw(e, truncated, sizeof(truncated), NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[199] = '\0';
	cp.name = longname;
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	cp.name = "a/b";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(call(e, M("ProjectService", "Get"), &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	Whatsnext__V1__ListJobsRequest lj = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	lj.page_size = -1;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lj.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	mk_project(e, "p");
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	/* nothing else was created */
	Whatsnext__V1__ListProjectsRequest lp = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
	Whatsnext__V1__ListProjectsResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("ProjectService", "List"), &lp.base,
	                  &whatsnext__v1__list_projects_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_projects, 1);
	whatsnext__v1__list_projects_response__free_unpacked(r, NULL);
	wn_engine_close(e);
}

TEST(batch_is_all_or_nothing)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	Whatsnext__V1__JobSpec s[3];
	Whatsnext__V1__JobSpec *sp[3];
	for (int i = 0; i < 3; i++) {
		whatsnext__v1__job_spec__init(&s[i]);
		s[i].project = "p";
		s[i].task = "t";
		sp[i] = &s[i];
	}
	s[2].task = "missing";
	Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	rq.n_jobs = 3;
	rq.jobs = sp;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &rq.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	CHECK(strstr(last_msg, "job 3") != NULL);
	CHECK_EQ_INT(fetch(e, "p", "w", NULL), 0);
	/* nothing of the refused batch is readable, from the store or elsewhere */
	Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	for (g.id = 1; g.id <= 3; g.id++)
		CHECK_EQ_INT(call(e, M("JobService", "Get"), &g.base, NULL, NULL),
		             WHATSNEXT__V1__CODE__NOT_FOUND);
	s[2].task = "t";
	Whatsnext__V1__SubmitBatchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &rq.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_ids, 3);
	CHECK_EQ_INT(r->ids[0], 1);
	CHECK_EQ_INT(r->ids[2], 3);
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	wn_engine_close(e);
}

/* More jobs than the engine keeps records of in memory: every one is
 * claimed and completed with its own record, the oldest read back from the
 * store, and what Get shows afterwards (and after a reopen) is the truth. */
TEST(records_beyond_the_cache_stay_right)
{
	durability = WN_DURABILITY_RELAXED; /* 40,000 writes */
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
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
		uint64_t id = fetch(e, "p", "w1", &att);
		CHECK_EQ_INT(id, want);
		CHECK_EQ_INT(att, 1);
		CHECK_EQ_INT(complete(e, id, att, id % 3 != 0), 0);
	}
	CHECK_EQ_INT(fetch(e, "p", "w1", NULL), 0);
	for (int round = 0; round < 2; round++) {
		for (uint64_t id = 1; id <= N; id += 997) {
			Whatsnext__V1__Job *j = get_job(e, id);
			char want[16];
			snprintf(want, sizeof(want), "n%llu", (unsigned long long)id);
			CHECK_EQ_STR(j->name, want);
			CHECK_EQ_INT(j->status, id % 3 != 0
			                            ? WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED
			                            : WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
			CHECK_EQ_INT(j->attempt, 1);
			whatsnext__v1__job__free_unpacked(j, NULL);
		}
		wn_engine_close(e);
		e = open_engine(60000);
	}
	wn_engine_close(e);
	durability = WN_DURABILITY_SYNC;
}

/* brief replies: the job reduced to id, status and attempt, while the
 * stored job keeps everything; `next` of a brief Complete stays whole. */
TEST(brief_replies_leave_the_job_whole)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	Whatsnext__V1__JobSpec__ParamsEntry kv = WHATSNEXT__V1__JOB_SPEC__PARAMS_ENTRY__INIT;
	Whatsnext__V1__JobSpec__ParamsEntry *kvs[1] = {&kv};
	kv.key = "lr";
	kv.value = "0.1";
	s.project = "p";
	s.task = "t";
	s.name = "a";
	s.n_params = 1;
	s.params = kvs;
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	rq.brief = true;
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &rq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	uint64_t a = r->job->id;
	CHECK(a != 0);
	CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(r->job->n_params, 0);
	CHECK_EQ_STR(r->job->name, "");
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	s.name = "b";
	rq.brief = false;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &rq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	uint64_t b = r->job->id;
	CHECK_EQ_INT(r->job->n_params, 1);
	CHECK_EQ_STR(r->job->name, "b");
	whatsnext__v1__submit_response__free_unpacked(r, NULL);

	uint32_t att = 0;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), a);
	Whatsnext__V1__FetchRequest next = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	next.project = "p";
	next.worker = "w1";
	Whatsnext__V1__CompleteRequest cq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cq.job_id = a;
	cq.attempt = att;
	cq.worker = "w1";
	cq.success = true;
	cq.output_tail = "a long output\n";
	cq.brief = true;
	cq.next = &next;
	Whatsnext__V1__CompleteResponse *cr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cq.base,
	                  &whatsnext__v1__complete_response__descriptor, (void **)&cr),
	             0);
	CHECK_EQ_INT(cr->job->id, a);
	CHECK_EQ_INT(cr->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	CHECK_EQ_INT(cr->job->attempt, att);
	CHECK_EQ_STR(cr->job->output_tail, "");
	CHECK_EQ_INT(cr->job->n_params, 0);
	CHECK(cr->next != NULL);
	CHECK_EQ_INT(cr->next->id, b);
	CHECK_EQ_INT(cr->next->n_params, 1); /* the claimed job comes whole */
	CHECK_EQ_STR(cr->next->name, "b");
	uint32_t batt = cr->next->attempt;
	whatsnext__v1__complete_response__free_unpacked(cr, NULL);

	/* in a batch, each result asks for itself */
	Whatsnext__V1__CompleteRequest one = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	one.job_id = b;
	one.attempt = batt;
	one.worker = "w1";
	one.success = false;
	one.exit_code = 3;
	one.brief = true;
	Whatsnext__V1__CompleteRequest *ones[1] = {&one};
	Whatsnext__V1__CompleteBatchRequest bq = WHATSNEXT__V1__COMPLETE_BATCH_REQUEST__INIT;
	bq.n_results = 1;
	bq.results = ones;
	Whatsnext__V1__CompleteBatchResponse *br = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "CompleteBatch"), &bq.base,
	                  &whatsnext__v1__complete_batch_response__descriptor, (void **)&br),
	             0);
	CHECK_EQ_INT(br->n_results, 1);
	CHECK_EQ_INT(br->results[0]->code, 0);
	CHECK_EQ_INT(br->results[0]->job->id, b);
	CHECK_EQ_INT(br->results[0]->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	CHECK_EQ_INT(br->results[0]->job->exit_code, 0); /* left out */
	whatsnext__v1__complete_batch_response__free_unpacked(br, NULL);

	/* what is stored is whole */
	Whatsnext__V1__Job *j = get_job(e, a);
	CHECK_EQ_STR(j->name, "a");
	CHECK_EQ_INT(j->n_params, 1);
	CHECK_EQ_STR(j->output_tail, "a long output\n");
	whatsnext__v1__job__free_unpacked(j, NULL);
	j = get_job(e, b);
	CHECK_EQ_INT(j->exit_code, 3);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_engine_close(e);
}

TEST(pop_clear_and_delete)
{
	wn_engine *e = open_engine(60000);
	mk_project(e, "p");
	mk_task(e, "p", "a", 0, 0);
	mk_task(e, "p", "b", 0, 0);
	uint64_t j1 = submit(e, "p", "a", 0);
	uint64_t j2 = submit(e, "p", "b", 5);
	uint64_t j3 = submit(e, "p", "a", 1);
	/* order: j2, j3, j1; pop position 1 removes j3 */
	Whatsnext__V1__PopRequest pr = WHATSNEXT__V1__POP_REQUEST__INIT;
	pr.project = "p";
	pr.position = 1;
	Whatsnext__V1__Job *j = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Pop"), &pr.base, &whatsnext__v1__job__descriptor,
	                  (void **)&j),
	             0);
	CHECK_EQ_INT(j->id, j3);
	whatsnext__v1__job__free_unpacked(j, NULL);
	pr.position = 5;
	CHECK_EQ_INT(call(e, M("QueueService", "Pop"), &pr.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, "p", "w", &att), j2);
	Whatsnext__V1__ClearRequest cl = WHATSNEXT__V1__CLEAR_REQUEST__INIT;
	cl.project = "p";
	Whatsnext__V1__ClearResponse *cr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Clear"), &cl.base,
	                  &whatsnext__v1__clear_response__descriptor, (void **)&cr),
	             0);
	CHECK_EQ_INT(cr->removed, 1);
	whatsnext__v1__clear_response__free_unpacked(cr, NULL);
	Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	g.id = j1;
	CHECK_EQ_INT(call(e, M("JobService", "Get"), &g.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	/* delete refuses while j2 runs, unless forced */
	Whatsnext__V1__DeleteProjectRequest dp = WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
	dp.name = "p";
	CHECK_EQ_INT(call(e, M("ProjectService", "Delete"), &dp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	dp.force = true;
	CHECK_EQ_INT(call(e, M("ProjectService", "Delete"), &dp.base, NULL, NULL), 0);
	CHECK_EQ_INT(complete(e, j2, att, true), WHATSNEXT__V1__CODE__NOT_FOUND);
	mk_project(e, "p");
	CHECK_EQ_INT(fetch(e, "p", "w", NULL), 0);
	wn_engine_close(e);
}

TEST(store_is_locked_and_atomic)
{
	wn_store *s = NULL, *s2 = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err));
	CHECK_EQ_INT(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s2, &err), WN_EBUSY);
	CHECK(strstr(err, "in use") != NULL);
	free(err);
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, "k1", 2, "v1", 2);
	wn_batch_put(b, "k2", 2, "v2", 2);
	wn_batch_del(b, "k1", 2);
	uint64_t seq;
	CHECK_OK(wn_store_write(s, b, &seq));
	CHECK_OK(wn_store_wait(s, seq));
	wn_batch_free(b);
	wn_store_close(s);
	CHECK_OK(wn_store_open("db", WN_DURABILITY_RELAXED, 10, &s, &err));
	char *v = NULL;
	size_t len;
	CHECK_EQ_INT(wn_store_get(s, "k1", 2, &v, &len), WN_ENOTFOUND);
	CHECK_OK(wn_store_get(s, "k2", 2, &v, &len));
	CHECK_EQ_INT(len, 2);
	CHECK(memcmp(v, "v2", 2) == 0);
	free(v);
	wn_store_close(s);
}

TEST(finished_jobs_expire_after_the_retention_time)
{
	retention = 10000;
	wn_engine *e = open_engine(60000);
	retention = 0;
	mk_project(e, "p");
	mk_task(e, "p", "t", 0, 0);
	uint64_t done = submit(e, "p", "t", 0);
	uint64_t pending = submit(e, "p", "t", 0);
	uint32_t att;
	CHECK_EQ_INT(fetch(e, "p", "w1", &att), done);
	CHECK_EQ_INT(complete(e, done, att, true), 0);
	fake_now += 9000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 0);
	fake_now += 2000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 1);
	Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	g.id = done;
	CHECK_EQ_INT(call(e, M("JobService", "Get"), &g.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	CHECK_EQ_INT(job_status(e, pending), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	Whatsnext__V1__StatsRequest st = WHATSNEXT__V1__STATS_REQUEST__INIT;
	st.project = "p";
	Whatsnext__V1__StatsResponse *sr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &st.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&sr),
	             0);
	CHECK_EQ_INT(sr->projects[0]->completed, 0);
	CHECK_EQ_INT(sr->projects[0]->pending, 1);
	whatsnext__v1__stats_response__free_unpacked(sr, NULL);
	wn_engine_close(e);
}

TEST(method_paths_follow_the_descriptors)
{
	char buf[128];
	CHECK_EQ_STR(wn_method_path(&whatsnext__v1__queue_service__descriptor, 0, buf, sizeof(buf)),
	             "/whatsnext.v1.QueueService/Fetch");
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = 42;
	rq.method = "/x/y";
	size_t len;
	uint8_t *p = wn_message_pack(&rq.base, &len);
	Whatsnext__V1__Request *back = whatsnext__v1__request__unpack(NULL, len, p);
	CHECK(back != NULL);
	CHECK_EQ_INT(back->id, 42);
	CHECK_EQ_STR(back->method, "/x/y");
	whatsnext__v1__request__free_unpacked(back, NULL);
	free(p);
}

TEST_MAIN()
