/* Unit tests for fencing: Heartbeat, Complete, CompleteBatch and Release
 * only from the worker holding the lease; Join refused under a name another
 * live instance holds; Leave only from the instance holding the name; when
 * a worker was last seen, kept across restarts; the Fetch reply budget. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* fence_config: relaxed durability, a 5 s worker timeout. */
static wn_engine_config fence_config(void)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.durability = WN_DURABILITY_RELAXED;
	cfg.relaxed_ms = 50;
	cfg.worker_timeout_ms = 5000;
	return cfg;
}

/* open_engine_raw opens the engine on ./data; NULL on failure. */
static wn_engine *open_engine_raw(void)
{
	wn_engine_config cfg = fence_config();
	wn_engine *e = NULL;
	char *err = NULL;
	if (wn_fixture_try_open(&cfg, &e, &err) != WN_OK)
		e = NULL;
	free(err);
	return e;
}

static wn_engine *open_engine(void)
{
	wn_engine_config cfg = fence_config();
	return wn_fixture_open_with(&cfg);
}

static void setup(wn_engine *e)
{
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "p";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL), 0);
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "p";
	t.name = "t";
	Whatsnext__V1__CreateTaskRequest ct = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	ct.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &ct.base, NULL, NULL), 0);
}

/* submit adds a job of p/t, with parameter x of size big if big > 0. */
static uint64_t submit(wn_engine *e, size_t big)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	Whatsnext__V1__JobSpec__ParamsEntry pe = WHATSNEXT__V1__JOB_SPEC__PARAMS_ENTRY__INIT;
	Whatsnext__V1__JobSpec__ParamsEntry *pv[1] = {&pe};
	char *val = NULL;
	if (big > 0) {
		val = malloc(big + 1);
		memset(val, 'v', big);
		val[big] = '\0';
		pe.key = "x";
		pe.value = val;
		s.params = pv;
		s.n_params = 1;
	}
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	rq.brief = true;
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &rq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	free(val);
	uint64_t id = r->job->id;
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	return id;
}

static uint64_t fetch(wn_engine *e, const char *worker)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = "p";
	rq.worker = (char *)worker;
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
	                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job ? r->job->id : 0;
	whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	return id;
}

/* wn_check_job requires job id to be RUNNING at attempt 1 under worker, with
 * its lease ending at expires (0: return it) and no external id; returns the
 * lease's end. */
static int64_t wn_check_job(wn_engine *e, uint64_t id, const char *worker, int64_t expires)
{
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(j->attempt, 1);
	CHECK_EQ_STR(j->worker, worker);
	if (expires != 0)
		CHECK_EQ_INT(j->lease_expires_ms, expires);
	CHECK_EQ_STR(j->external_id, "");
	int64_t v = j->lease_expires_ms;
	whatsnext__v1__job__free_unpacked(j, NULL);
	return v;
}

static int heartbeat(wn_engine *e, const char *worker, uint64_t id, uint32_t attempt)
{
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = id;
	l.attempt = attempt;
	l.external_id = "slurm-1";
	Whatsnext__V1__Lease *lv[1] = {&l};
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = (char *)worker;
	hb.leases = lv;
	hb.n_leases = 1;
	return call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL);
}

static int complete(wn_engine *e, const char *worker, uint64_t id)
{
	Whatsnext__V1__CompleteRequest cr = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cr.job_id = id;
	cr.attempt = 1;
	cr.worker = (char *)worker;
	cr.success = true;
	return call(e, M("QueueService", "Complete"), &cr.base, NULL, NULL);
}

static int release(wn_engine *e, const char *worker, uint64_t id)
{
	Whatsnext__V1__ReleaseRequest rr = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	rr.job_id = id;
	rr.attempt = 1;
	rr.worker = (char *)worker;
	return call(e, M("QueueService", "Release"), &rr.base, NULL, NULL);
}

TEST(only_the_holder_heartbeats_completes_or_releases)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, 0), b = submit(e, 0);
	CHECK_EQ_INT(fetch(e, "w1"), a);
	CHECK_EQ_INT(fetch(e, "w1"), b);
	int64_t until = wn_check_job(e, a, "w1", 0);
	wn_fixture_now += 1000;
	const char *who[] = {"w2", ""};
	for (size_t i = 0; i < 2; i++) {
		CHECK_EQ_INT(complete(e, who[i], a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
		CHECK(strstr(wn_fixture_msg(), "held by worker w1") != NULL);
		CHECK_EQ_INT(release(e, who[i], a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
		CHECK(strstr(wn_fixture_msg(), "held by worker w1") != NULL);
		wn_check_job(e, a, "w1", until);
	}
	/* a heartbeat names a worker; another's is refused whole */
	CHECK_EQ_INT(heartbeat(e, "", a, 1), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(heartbeat(e, "w2", a, 1), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK(strstr(wn_fixture_msg(), "job 1 attempt 1 is held by worker w1, not by w2") != NULL);
	wn_check_job(e, a, "w1", until);
	/* one result of a batch from another worker is refused on its own */
	Whatsnext__V1__CompleteRequest c1 = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	Whatsnext__V1__CompleteRequest c2 = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	c1.job_id = a;
	c1.attempt = 1;
	c1.worker = "w2";
	c1.success = true;
	c2 = c1;
	c2.job_id = b;
	c2.worker = "w1";
	Whatsnext__V1__CompleteRequest *cv[2] = {&c1, &c2};
	Whatsnext__V1__CompleteBatchRequest cb = WHATSNEXT__V1__COMPLETE_BATCH_REQUEST__INIT;
	cb.results = cv;
	cb.n_results = 2;
	Whatsnext__V1__CompleteBatchResponse *br = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "CompleteBatch"), &cb.base,
	                  &whatsnext__v1__complete_batch_response__descriptor, (void **)&br),
	             0);
	CHECK_EQ_INT(br->n_results, 2);
	CHECK_EQ_INT(br->results[0]->code, WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK_EQ_INT(br->results[1]->code, 0);
	whatsnext__v1__complete_batch_response__free_unpacked(br, NULL);
	wn_check_job(e, a, "w1", until);
	/* the holder is heard */
	CHECK_EQ_INT(heartbeat(e, "w1", a, 1), 0);
	Whatsnext__V1__Job *j = wn_fixture_job(e, a);
	CHECK(j->lease_expires_ms > until);
	CHECK_EQ_STR(j->external_id, "slurm-1");
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(release(e, "w1", a), 0);
	CHECK_EQ_INT(fetch(e, "w2"), a);
	CHECK_EQ_INT(complete(e, "w1", a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	wn_fixture_close(e);
}

TEST(a_cancelled_job_is_reported_only_by_its_holder)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, 0);
	CHECK_EQ_INT(fetch(e, "w1"), a);
	Whatsnext__V1__JobIdRequest cj = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	cj.id = a;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &cj.base, NULL, NULL), 0);
	CHECK_EQ_INT(heartbeat(e, "w2", a, 1), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK_EQ_INT(complete(e, "w2", a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK_EQ_INT(release(e, "", a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK_EQ_INT(complete(e, "w1", a), 0);
	Whatsnext__V1__Job *j = wn_fixture_job(e, a);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* job_call calls the JobService method at path on job id. */
static int job_call(wn_engine *e, const char *path, uint64_t id)
{
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	return call(e, path, &rq.base, NULL, NULL);
}

/* heartbeat_output heartbeats job id at attempt from worker with output
 * text; the reply in *out. */
static int heartbeat_output(wn_engine *e, const char *worker, uint64_t id, uint32_t attempt,
                            const char *text, Whatsnext__V1__HeartbeatResponse **out)
{
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = id;
	l.attempt = attempt;
	Whatsnext__V1__Lease *lv[1] = {&l};
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = attempt;
	pg.output.data = (uint8_t *)text;
	pg.output.len = strlen(text);
	Whatsnext__V1__JobProgress *pv[1] = {&pg};
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = (char *)worker;
	hb.leases = lv;
	hb.n_leases = 1;
	hb.progress = pv;
	hb.n_progress = 1;
	return call(e, M("QueueService", "Heartbeat"), &hb.base,
	            &whatsnext__v1__heartbeat_response__descriptor, (void **)out);
}

TEST(a_cancelled_run_holds_nothing_once_its_job_is_retried)
{
	wn_engine *e = open_engine();
	setup(e);
	uint64_t a = submit(e, 0);
	CHECK_EQ_INT(fetch(e, "w1"), a);
	CHECK_EQ_INT(job_call(e, M("JobService", "Cancel"), a), 0);
	/* while cancelled, its holder hears so and may still report */
	Whatsnext__V1__HeartbeatResponse *r = NULL;
	CHECK_EQ_INT(heartbeat_output(e, "w1", a, 1, "before", &r), 0);
	CHECK_EQ_INT(r->n_cancelled, 1);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(wn_fixture_log_len(e, a), 6);
	/* retried: the old run's reports no longer land on the job */
	CHECK_EQ_INT(job_call(e, M("JobService", "Retry"), a), 0);
	CHECK_EQ_INT(heartbeat_output(e, "w1", a, 1, "zombie", &r), 0);
	CHECK_EQ_INT(r->n_cancelled, 0);
	CHECK_EQ_INT(r->n_lost, 1);
	CHECK_EQ_INT(r->lost[0], a);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(wn_fixture_log_len(e, a), 6);
	CHECK_EQ_INT(complete(e, "w1", a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	/* cancelled again before it ran: still no report of the old run */
	CHECK_EQ_INT(job_call(e, M("JobService", "Cancel"), a), 0);
	CHECK_EQ_INT(complete(e, "w1", a), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	CHECK_EQ_INT(heartbeat_output(e, "w1", a, 1, "zombie", &r), 0);
	CHECK_EQ_INT(r->n_lost, 1);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	Whatsnext__V1__Job *j = wn_fixture_job(e, a);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED);
	CHECK_EQ_STR(j->reason, "cancelled by user");
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* retried and run by another worker: the old run adds nothing to what
	 * is kept (the cancelled run's own output, until the new run has some) */
	CHECK_EQ_INT(job_call(e, M("JobService", "Retry"), a), 0);
	CHECK_EQ_INT(fetch(e, "w2"), a);
	CHECK_EQ_INT(heartbeat_output(e, "w1", a, 1, "zombie", &r), 0);
	CHECK_EQ_INT(r->n_lost, 1);
	whatsnext__v1__heartbeat_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(wn_fixture_log_len(e, a), 6);
	wn_fixture_close(e);
}

/* join announces worker name from host with instance id inst. */
static int join(wn_engine *e, const char *name, const char *host, const char *inst)
{
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)name;
	w.host = (char *)host;
	w.instance = (char *)inst;
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	return call(e, M("WorkerService", "Join"), &rq.base, NULL, NULL);
}

static int leave(wn_engine *e, const char *name, const char *inst)
{
	Whatsnext__V1__WorkerNameRequest rq = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	rq.name = (char *)name;
	rq.instance = (char *)inst;
	return call(e, M("WorkerService", "Leave"), &rq.base, NULL, NULL);
}

static Whatsnext__V1__Worker *get_worker(wn_engine *e, const char *name)
{
	Whatsnext__V1__WorkerNameRequest rq = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	rq.name = (char *)name;
	Whatsnext__V1__Worker *w = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Get"), &rq.base,
	                  &whatsnext__v1__worker__descriptor, (void **)&w),
	             0);
	return w;
}

static void check_worker(wn_engine *e, const char *name, const char *host, const char *inst,
                         int state)
{
	Whatsnext__V1__Worker *w = get_worker(e, name);
	CHECK_EQ_STR(w->host, host);
	CHECK_EQ_STR(w->instance, inst);
	CHECK_EQ_INT(w->state, state);
	whatsnext__v1__worker__free_unpacked(w, NULL);
}

#define ACTIVE WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE
#define GONE   WHATSNEXT__V1__WORKER_STATE__WORKER_GONE

TEST(a_name_is_held_by_one_live_instance)
{
	wn_engine *e = open_engine();
	setup(e);
	CHECK_EQ_INT(join(e, "w", "box-a", "a1"), 0);
	uint64_t id = submit(e, 0);
	CHECK_EQ_INT(fetch(e, "w"), id);
	int64_t until = wn_check_job(e, id, "w", 0);
	/* another instance is refused and changes nothing */
	wn_fixture_now += 2000;
	CHECK_EQ_INT(join(e, "w", "box-b", "b1"), WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	CHECK(strstr(wn_fixture_msg(),
	             "held by another running instance on host box-a (last seen 2 s "
	             "ago)") != NULL);
	CHECK_EQ_INT(join(e, "w", "box-b", ""), WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	CHECK_EQ_INT(join(e, "w", "box-b", "bad id!"), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	check_worker(e, "w", "box-a", "a1", ACTIVE);
	wn_check_job(e, id, "w", until);
	CHECK_EQ_INT(leave(e, "w", "b1"), WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	check_worker(e, "w", "box-a", "a1", ACTIVE);
	/* the same instance joins again, also after a restart */
	CHECK_EQ_INT(join(e, "w", "box-a", "a1"), 0);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(join(e, "w", "box-b", "b1"), WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	CHECK_EQ_INT(join(e, "w", "box-a", "a1"), 0);
	/* once it left, another takes the name and what it held */
	CHECK_EQ_INT(leave(e, "w", "a1"), 0);
	check_worker(e, "w", "box-a", "a1", GONE);
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = "w";
	w.host = "box-b";
	w.instance = "b1";
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	Whatsnext__V1__JoinResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &rq.base,
	                  &whatsnext__v1__join_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_held, 1);
	CHECK_EQ_INT(r->held[0]->id, id);
	whatsnext__v1__join_response__free_unpacked(r, NULL);
	check_worker(e, "w", "box-b", "b1", ACTIVE);
	/* once it is LOST, too (its jobs went back to the queue) */
	wn_fixture_now += 6000;
	wn_engine_tick(e);
	CHECK_EQ_INT(join(e, "w", "box-c", "c1"), 0);
	check_worker(e, "w", "box-c", "c1", ACTIVE);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

TEST(clients_without_an_instance_id_take_their_name_back)
{
	wn_engine *e = open_engine();
	CHECK_EQ_INT(join(e, "old", "box-a", ""), 0);
	CHECK_EQ_INT(join(e, "old", "box-a", ""), 0);
	/* a client with an id waits until the one without leaves */
	CHECK_EQ_INT(join(e, "old", "box-b", "b1"), WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	CHECK_EQ_INT(leave(e, "old", ""), 0);
	CHECK_EQ_INT(join(e, "old", "box-b", "b1"), 0);
	/* a Leave without an id leaves whatever holds the name */
	CHECK_EQ_INT(leave(e, "old", ""), 0);
	check_worker(e, "old", "box-b", "b1", GONE);
	wn_fixture_close(e);
}

TEST(last_seen_survives_a_restart)
{
	wn_engine *e = open_engine();
	setup(e);
	int64_t t0 = wn_fixture_now;
	CHECK_EQ_INT(join(e, "w", "box", "a1"), 0);
	CHECK_EQ_INT(join(e, "gone", "box", "g1"), 0);
	wn_fixture_now += 1000;
	CHECK_EQ_INT(leave(e, "gone", "g1"), 0);
	wn_fixture_now += 3000;
	CHECK_EQ_INT(fetch(e, "w"), 0);
	Whatsnext__V1__Worker *w = get_worker(e, "w");
	CHECK_EQ_INT(w->last_seen_ms, t0 + 4000);
	CHECK_EQ_INT(w->registered_ms, t0);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_now += 500000; /* much later: the server's restart */
	e = wn_fixture_restart(e);
	w = get_worker(e, "w");
	CHECK_EQ_INT(w->last_seen_ms, t0 + 4000);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	w = get_worker(e, "gone");
	CHECK_EQ_INT(w->last_seen_ms, t0 + 1000);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_close(e);
}

TEST(last_seen_is_stored_now_and_then)
{
	int64_t t0 = wn_fixture_now;
	/* a server that heartbeats a worker for 80 s, checking as the sweeper
	 * does, then dies without closing */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) { /* no CHECK here: the child only answers by its exit status */
		wn_engine *e = open_engine_raw();
		if (e == NULL)
			_exit(1);
		int bad = join(e, "w", "box", "a1") != 0;
		Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
		hb.worker = "w";
		for (int i = 1; i <= 40; i++) {
			wn_fixture_now = t0 + i * 2000;
			bad |= call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL) != 0;
			wn_engine_tick(e);
		}
		bad |= wn_engine_flush(e) != WN_OK;
		_exit(bad);
	}
	int st = 0;
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* what was stored last, a minute after the join: not the join time */
	wn_engine *e = open_engine();
	Whatsnext__V1__Worker *w = get_worker(e, "w");
	CHECK_EQ_INT(w->last_seen_ms, t0 + 60000);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_close(e);
}

TEST(a_fetch_reply_stays_within_the_budget)
{
	wn_engine *e = open_engine();
	setup(e);
	enum { N = 40, BIG = 1 << 20 };
	for (int i = 0; i < N; i++)
		submit(e, BIG - 64);
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = "p";
	rq.worker = "w";
	rq.max_jobs = N;
	size_t got = 0, fetches = 0;
	while (got < N) {
		Whatsnext__V1__FetchResponse *r = NULL;
		CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
		                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
		             0);
		CHECK(r->job != NULL);
		size_t size = protobuf_c_message_get_packed_size(&r->base);
		CHECK(size <= (8u << 20));
		/* about 8 MiB in each: 7 jobs, and the rest at the end */
		CHECK_EQ_INT(1 + r->n_more, N - got < 7 ? N - got : 7);
		got += 1 + r->n_more;
		fetches++;
		whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	}
	CHECK_EQ_INT(got, N);
	CHECK_EQ_INT(fetches, 6);
	/* one job larger than the budget still goes out, alone */
	for (int i = 0; i < 2; i++) {
		Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
		s.project = "p";
		s.task = "t";
		Whatsnext__V1__JobSpec__ParamsEntry pe[9];
		Whatsnext__V1__JobSpec__ParamsEntry *pv[9];
		char *val = malloc(BIG - 64 + 1);
		memset(val, 'v', BIG - 64);
		val[BIG - 64] = '\0';
		char keys[9][4];
		for (int k = 0; k < 9; k++) {
			whatsnext__v1__job_spec__params_entry__init(&pe[k]);
			snprintf(keys[k], sizeof(keys[k]), "k%d", k);
			pe[k].key = keys[k];
			pe[k].value = val;
			pv[k] = &pe[k];
		}
		s.params = pv;
		s.n_params = 9;
		Whatsnext__V1__SubmitRequest sr = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
		sr.job = &s;
		sr.brief = true;
		CHECK_EQ_INT(call(e, M("JobService", "Submit"), &sr.base, NULL, NULL), 0);
		free(val);
	}
	for (int i = 0; i < 2; i++) {
		Whatsnext__V1__FetchResponse *r = NULL;
		CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
		                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
		             0);
		CHECK(r->job != NULL);
		CHECK_EQ_INT(r->n_more, 0);
		CHECK(protobuf_c_message_get_packed_size(&r->base) < WN_REPLY_MAX);
		whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	}
	wn_fixture_close(e);
}

TEST_MAIN()
