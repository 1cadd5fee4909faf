/* Unit tests for the fleet: resource fit and label matching at fetch, the
 * never-runnable reason, round-robin across projects, LOST detection with a
 * test clock, draining and a worker joining again. */
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

static wn_engine *open_engine(void)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.durability = WN_DURABILITY_RELAXED;
	cfg.relaxed_ms = 50;
	cfg.worker_timeout_ms = 5000;
	return wn_fixture_open_with(&cfg);
}

static void mk_task(wn_engine *e, const char *project, const char *name, uint32_t gpu,
                    const char *label_key, const char *label_val)
{
	Whatsnext__V1__Resources r = WHATSNEXT__V1__RESOURCES__INIT;
	Whatsnext__V1__Resources__LabelsEntry le = WHATSNEXT__V1__RESOURCES__LABELS_ENTRY__INIT;
	Whatsnext__V1__Resources__LabelsEntry *lv[1] = {&le};
	r.gpu = gpu;
	r.cpu = 1;
	if (label_key != NULL) {
		le.key = (char *)label_key;
		le.value = (char *)label_val;
		r.labels = lv;
		r.n_labels = 1;
	}
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)project;
	t.name = (char *)name;
	t.resources = &r;
	Whatsnext__V1__CreateTaskRequest ct = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	ct.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &ct.base, NULL, NULL), 0);
}

static uint64_t submit(wn_engine *e, const char *project, const char *task)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = (char *)task;
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

/* join registers a worker with cpu cores and ngpu gpus and one label. */
static void join(wn_engine *e, const char *name, uint32_t cpu, size_t ngpu, const char *lk,
                 const char *lv)
{
	char *gpus[4] = {"0", "1", "2", "3"};
	Whatsnext__V1__Capacity cap = WHATSNEXT__V1__CAPACITY__INIT;
	Whatsnext__V1__Capacity__LabelsEntry le = WHATSNEXT__V1__CAPACITY__LABELS_ENTRY__INIT;
	Whatsnext__V1__Capacity__LabelsEntry *lvv[1] = {&le};
	cap.cpu = cpu;
	cap.gpus = gpus;
	cap.n_gpus = ngpu;
	cap.memory_mb = 16000;
	if (lk != NULL) {
		le.key = (char *)lk;
		le.value = (char *)lv;
		cap.labels = lvv;
		cap.n_labels = 1;
	}
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)name;
	w.host = "box";
	w.capacity = &cap;
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &rq.base, NULL, NULL), 0);
}

static uint64_t fetch_from(wn_engine *e, const char *worker, const char *p1, const char *p2)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	char *ps[2] = {(char *)p1, (char *)p2};
	rq.worker = (char *)worker;
	rq.projects = ps;
	rq.n_projects = p2 ? 2 : 1;
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
	                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job ? r->job->id : 0;
	whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	return id;
}

TEST(gpu_jobs_go_only_where_they_fit)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "gpu1", 1, NULL, NULL);
	mk_task(e, "p", "cpu", 0, NULL, NULL);
	join(e, "cpubox", 8, 0, NULL, NULL);
	join(e, "gpubox", 8, 2, NULL, NULL);
	uint64_t g1 = submit(e, "p", "gpu1");
	uint64_t g2 = submit(e, "p", "gpu1");
	uint64_t g3 = submit(e, "p", "gpu1");
	uint64_t c1 = submit(e, "p", "cpu");
	/* zero means zero: the CPU box skips every GPU job */
	CHECK_EQ_INT(fetch_from(e, "cpubox", "p", NULL), c1);
	CHECK_EQ_INT(fetch_from(e, "cpubox", "p", NULL), 0);
	/* two 1-GPU jobs on the 2-GPU box, the third waits */
	CHECK_EQ_INT(fetch_from(e, "gpubox", "p", NULL), g1);
	CHECK_EQ_INT(fetch_from(e, "gpubox", "p", NULL), g2);
	CHECK_EQ_INT(fetch_from(e, "gpubox", "p", NULL), 0);
	Whatsnext__V1__Job *j = wn_fixture_job(e, g3);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* one finishes: the third fits now */
	Whatsnext__V1__CompleteRequest cr = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cr.job_id = g1;
	cr.attempt = 1;
	cr.worker = "gpubox";
	cr.success = true;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cr.base, NULL, NULL), 0);
	CHECK_EQ_INT(fetch_from(e, "gpubox", "p", NULL), g3);
	wn_fixture_close(e);
}

TEST(labels_must_match_and_impossible_jobs_say_why)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "a100", 0, "gpu_model", "a100");
	mk_task(e, "p", "big", 4, NULL, NULL);
	join(e, "v100box", 8, 2, "gpu_model", "v100");
	join(e, "a100box", 8, 2, "gpu_model", "a100");
	uint64_t a = submit(e, "p", "a100");
	uint64_t big = submit(e, "p", "big");
	CHECK_EQ_INT(fetch_from(e, "v100box", "p", NULL), 0);
	CHECK_EQ_INT(fetch_from(e, "a100box", "p", NULL), a);
	Whatsnext__V1__Job *j = wn_fixture_job(e, big);
	CHECK(strstr(j->waiting, "needs 4 gpu; largest worker offers 2") != NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

TEST(equal_priorities_take_turns_across_projects)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "big");
	wn_fixture_project(e, "small");
	mk_task(e, "big", "t", 0, NULL, NULL);
	mk_task(e, "small", "t", 0, NULL, NULL);
	join(e, "w", 64, 0, NULL, NULL);
	for (int i = 0; i < 20; i++)
		submit(e, "big", "t");
	uint64_t s1 = submit(e, "small", "t"), s2 = submit(e, "small", "t");
	/* within the first four fetches both small jobs are served */
	int small = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t id = fetch_from(e, "w", "big", "small");
		small += id == s1 || id == s2;
	}
	CHECK_EQ_INT(small, 2);
	wn_fixture_close(e);
}

TEST(lost_workers_release_their_jobs_at_once)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0, NULL, NULL);
	join(e, "w1", 4, 0, NULL, NULL);
	join(e, "w2", 4, 0, NULL, NULL);
	uint64_t id = submit(e, "p", "t");
	CHECK_EQ_INT(fetch_from(e, "w1", "p", NULL), id);
	/* w2 keeps heartbeating, w1 falls silent past the 5 s timeout, well
	 * within the 60 s lease */
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w2";
	wn_fixture_now += 3000;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL), 0);
	wn_fixture_now += 3000;
	wn_engine_tick(e);
	Whatsnext__V1__WorkerNameRequest wr = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	wr.name = "w1";
	Whatsnext__V1__Worker *w = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Get"), &wr.base,
	                  &whatsnext__v1__worker__descriptor, (void **)&w),
	             0);
	CHECK_EQ_INT(w->state, WHATSNEXT__V1__WORKER_STATE__WORKER_LOST);
	CHECK_EQ_INT(w->n_jobs, 0);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wr.name = "w2";
	CHECK_EQ_INT(call(e, M("WorkerService", "Get"), &wr.base,
	                  &whatsnext__v1__worker__descriptor, (void **)&w),
	             0);
	CHECK_EQ_INT(w->state, WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	whatsnext__v1__job__free_unpacked(j, NULL);
	CHECK_EQ_INT(fetch_from(e, "w2", "p", NULL), id);
	wn_fixture_close(e);
}

TEST(drain_stops_new_work_and_join_takes_identity_back)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0, NULL, NULL);
	join(e, "w", 4, 0, NULL, NULL);
	uint64_t a = submit(e, "p", "t");
	submit(e, "p", "t");
	CHECK_EQ_INT(fetch_from(e, "w", "p", NULL), a);
	Whatsnext__V1__WorkerNameRequest wr = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	wr.name = "w";
	CHECK_EQ_INT(call(e, M("WorkerService", "Drain"), &wr.base, NULL, NULL), 0);
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w";
	Whatsnext__V1__HeartbeatResponse *hr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base,
	                  &whatsnext__v1__heartbeat_response__descriptor, (void **)&hr),
	             0);
	CHECK(hr->drain);
	whatsnext__v1__heartbeat_response__free_unpacked(hr, NULL);
	CHECK_EQ_INT(fetch_from(e, "w", "p", NULL), 0);
	/* restarted under the same name: it learns what it holds */
	e = wn_fixture_restart(e);
	Whatsnext__V1__Worker wk = WHATSNEXT__V1__WORKER__INIT;
	wk.name = "w";
	Whatsnext__V1__JoinRequest jr = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	jr.worker = &wk;
	Whatsnext__V1__JoinResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &jr.base,
	                  &whatsnext__v1__join_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_held, 1);
	CHECK_EQ_INT(r->held[0]->id, a);
	CHECK(!r->worker->draining);
	whatsnext__v1__join_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

/* last_seen returns when worker name was last seen, as Get answers. */
static int64_t last_seen(wn_engine *e, const char *name)
{
	Whatsnext__V1__WorkerNameRequest wr = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	wr.name = (char *)name;
	Whatsnext__V1__Worker *w = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Get"), &wr.base,
	                  &whatsnext__v1__worker__descriptor, (void **)&w),
	             0);
	int64_t seen = w ? w->last_seen_ms : -1;
	whatsnext__v1__worker__free_unpacked(w, NULL);
	return seen;
}

TEST(last_seen_survives_a_restart_after_a_wall_clock_step_back)
{
	wn_engine *e = open_engine();
	join(e, "w", 4, 0, NULL, NULL);
	/* the wall clock steps back an hour (an NTP correction), then the
	 * worker heartbeats: seen an hour before what was stored */
	wn_fixture_wall_step = -3600 * 1000LL;
	wn_fixture_now += 1000;
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w";
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL), 0);
	int64_t seen = last_seen(e, "w");
	CHECK_EQ_INT(seen, wn_fixture_now + wn_fixture_wall_step);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(last_seen(e, "w"), seen);
	wn_fixture_wall_step = 0;
	wn_fixture_close(e);
}

TEST_MAIN()
