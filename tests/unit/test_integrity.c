/* Unit tests for defects the model-based test (tests/model) found: each
 * replays the shortened sequence that showed it, through the engine, and
 * asserts on what a client sees. */
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

/* open_dir opens an engine on dir: sync durability, a 30 s worker timeout. */
static wn_engine *open_dir(const char *dir)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.data_dir = dir;
	cfg.worker_timeout_ms = 30000;
	return wn_fixture_open_with(&cfg);
}

static wn_engine *open_engine(void)
{
	return open_dir("data");
}

static void mk_task(wn_engine *e, const char *project, const char *name, uint32_t cpu)
{
	Whatsnext__V1__Resources r = WHATSNEXT__V1__RESOURCES__INIT;
	r.cpu = cpu;
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)project;
	t.name = (char *)name;
	t.resources = cpu ? &r : NULL;
	Whatsnext__V1__CreateTaskRequest rq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	rq.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &rq.base, NULL, NULL), 0);
}

/* submit_after submits a job of priority prio waiting for job dep (0: none). */
static uint64_t submit_after(wn_engine *e, const char *project, const char *task, int32_t prio,
                             uint64_t dep)
{
	Whatsnext__V1__Dependency d = WHATSNEXT__V1__DEPENDENCY__INIT;
	d.job_id = dep;
	Whatsnext__V1__Dependency *dv[1] = {&d};
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = (char *)task;
	s.priority = prio;
	s.after = dv;
	s.n_after = dep != 0;
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

static uint64_t submit(wn_engine *e, const char *project, const char *task)
{
	return submit_after(e, project, task, 0, 0);
}

static void complete_as(wn_engine *e, uint64_t id, uint32_t attempt, bool success)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = attempt;
	rq.worker = "w1";
	rq.success = success;
	rq.exit_code = success ? 0 : 1;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), 0);
}

static void complete_ok(wn_engine *e, uint64_t id, uint32_t attempt)
{
	complete_as(e, id, attempt, true);
}

static Whatsnext__V1__QueueListResponse *queue_list(wn_engine *e, const char *project,
                                                    int32_t limit)
{
	Whatsnext__V1__QueueListRequest rq = WHATSNEXT__V1__QUEUE_LIST_REQUEST__INIT;
	rq.project = (char *)project;
	rq.limit = limit;
	rq.include_waiting = true;
	Whatsnext__V1__QueueListResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "List"), &rq.base,
	                  &whatsnext__v1__queue_list_response__descriptor, (void **)&r),
	             0);
	return r;
}

/* A Complete whose `next` names a project that does not exist is refused and
 * changes nothing: the job keeps its lease, and the same result without
 * `next` is then taken (it used to find the lease gone, the job RUNNING for
 * good). */
TEST(complete_with_a_bad_next_changes_nothing)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0);
	uint64_t id = submit(e, "p", "t");
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	Whatsnext__V1__FetchRequest next = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	next.project = "nope";
	next.worker = "w1";
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = att;
	rq.worker = "w1";
	rq.success = true;
	rq.next = &next;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), 5);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK(j->lease_expires_ms > wn_fixture_now);
	whatsnext__v1__job__free_unpacked(j, NULL);
	rq.next = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), 0);
	j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* A queue listing that stops at its limit inside the jobs that cannot run
 * yet shows the first of them in dispatch order (it showed whichever came
 * first in a hash map), and every listed job carries its dependencies'
 * statuses (the ready ones carried none). */
TEST(queue_list_is_in_dispatch_order_with_dependency_statuses)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0);
	uint64_t root = submit(e, "p", "t");
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), root);
	complete_ok(e, root, att);
	uint64_t ready = submit_after(e, "p", "t", 0, root);
	uint64_t first = submit(e, "p", "t");
	uint64_t waiting[12];
	for (int i = 0; i < 12; i++) /* later ones first: priority i */
		waiting[i] = submit_after(e, "p", "t", i, first);
	Whatsnext__V1__QueueListResponse *r = queue_list(e, "p", 4);
	CHECK_EQ_INT(r->total, 2);
	CHECK_EQ_INT(r->waiting_total, 12);
	CHECK_EQ_INT(r->n_jobs, 4);
	CHECK_EQ_INT(r->jobs[0]->id, ready);
	CHECK_EQ_INT(r->jobs[0]->n_deps, 1);
	CHECK_EQ_INT(r->jobs[0]->deps[0]->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	CHECK_EQ_INT(r->jobs[1]->id, first);
	CHECK_EQ_INT(r->jobs[2]->id, waiting[11]);
	CHECK_EQ_INT(r->jobs[3]->id, waiting[10]);
	CHECK_EQ_INT(r->jobs[3]->position, -1);
	CHECK_EQ_INT(r->jobs[3]->deps[0]->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	whatsnext__v1__queue_list_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

/* A batch job that depends by name on a batch job of another project is
 * refused, as a dependency by id on such a job is, and nothing is stored. */
TEST(batch_reference_to_another_project_is_refused)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "a");
	wn_fixture_project(e, "b");
	mk_task(e, "a", "t", 0);
	mk_task(e, "b", "t", 0);
	Whatsnext__V1__JobSpec x = WHATSNEXT__V1__JOB_SPEC__INIT, y = WHATSNEXT__V1__JOB_SPEC__INIT;
	x.project = "a";
	x.task = "t";
	x.name = "x";
	y.project = "b";
	y.task = "t";
	Whatsnext__V1__Dependency d = WHATSNEXT__V1__DEPENDENCY__INIT;
	d.ref = "x";
	Whatsnext__V1__Dependency *dv[1] = {&d};
	y.after = dv;
	y.n_after = 1;
	Whatsnext__V1__JobSpec *jobs[2] = {&x, &y};
	Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	rq.jobs = jobs;
	rq.n_jobs = 2;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &rq.base, NULL, NULL), 3);
	CHECK(strstr(wn_fixture_msg(), "another project") != NULL);
	Whatsnext__V1__ListJobsRequest lq = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	Whatsnext__V1__ListJobsResponse *l = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lq.base,
	                  &whatsnext__v1__list_jobs_response__descriptor, (void **)&l),
	             0);
	CHECK_EQ_INT(l->n_jobs, 0);
	whatsnext__v1__list_jobs_response__free_unpacked(l, NULL);
	wn_fixture_close(e);
}

static Whatsnext__V1__Worker *join(wn_engine *e, const char *name, uint32_t cpu)
{
	Whatsnext__V1__Capacity cap = WHATSNEXT__V1__CAPACITY__INIT;
	cap.cpu = cpu;
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)name;
	w.capacity = &cap;
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	Whatsnext__V1__JoinResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &rq.base,
	                  &whatsnext__v1__join_response__descriptor, (void **)&r),
	             0);
	Whatsnext__V1__Worker *out = r->worker;
	r->worker = NULL;
	CHECK_EQ_INT(r->n_held, out->n_jobs);
	whatsnext__v1__join_response__free_unpacked(r, NULL);
	return out;
}

/* A worker that fetched under its name before it first joined holds those
 * jobs once it joins, with what they use, as it does after a restart (it
 * held nothing until one). */
TEST(first_join_takes_the_jobs_leased_to_the_name)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 2);
	uint64_t id = submit(e, "p", "t");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), id);
	Whatsnext__V1__Worker *w = join(e, "w1", 4);
	CHECK_EQ_INT(w->n_jobs, 1);
	CHECK_EQ_INT(w->jobs[0], id);
	CHECK_EQ_INT(w->used->cpu, 2);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_close(e);
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

/* worker_uses checks the jobs and the cpu a worker holds. */
static void worker_uses(wn_engine *e, const char *name, size_t njobs, uint32_t cpu)
{
	Whatsnext__V1__Worker *w = get_worker(e, name);
	CHECK_EQ_INT(w->n_jobs, njobs);
	CHECK_EQ_INT(w->used->cpu, cpu);
	whatsnext__v1__worker__free_unpacked(w, NULL);
}

/* A task's resources changed while a worker holds one of its jobs: the
 * worker uses what the task needs now (as after a restart), and nothing once
 * the job ends (it kept the difference for good). */
TEST(task_resources_changed_while_held)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 2);
	whatsnext__v1__worker__free_unpacked(join(e, "w1", 4), NULL);
	uint64_t id = submit(e, "p", "t");
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	worker_uses(e, "w1", 1, 2);
	Whatsnext__V1__Resources r = WHATSNEXT__V1__RESOURCES__INIT;
	r.cpu = 1;
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "p";
	t.name = "t";
	t.resources = &r;
	char *mask[] = {"resources"};
	Whatsnext__V1__UpdateTaskRequest up = WHATSNEXT__V1__UPDATE_TASK_REQUEST__INIT;
	up.task = &t;
	up.update_mask = mask;
	up.n_update_mask = 1;
	CHECK_EQ_INT(call(e, M("TaskService", "Update"), &up.base, NULL, NULL), 0);
	worker_uses(e, "w1", 1, 1);
	complete_ok(e, id, att);
	worker_uses(e, "w1", 0, 0);
	wn_fixture_close(e);
}

/* Removing a RUNNING job (force) frees its worker: the worker no longer
 * lists it nor uses its resources (it did until a restart). */
TEST(removed_running_job_frees_its_worker)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 3);
	whatsnext__v1__worker__free_unpacked(join(e, "w1", 4), NULL);
	uint64_t id = submit(e, "p", "t");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), id);
	worker_uses(e, "w1", 1, 3);
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	rq.force = true;
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &rq.base, NULL, NULL), 0);
	worker_uses(e, "w1", 0, 0);
	/* and it can take a job that needs its whole capacity again */
	uint64_t next = submit(e, "p", "t");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), next);
	wn_fixture_close(e);
}

/* Release checks its reason's length like every other reason (4096 bytes,
 * protocol section 6) and changes nothing when it is too long. */
TEST(release_reason_over_the_limit_is_refused)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0);
	uint64_t id = submit(e, "p", "t");
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	char *why = malloc(5001);
	memset(why, 'x', 5000);
	why[5000] = '\0';
	Whatsnext__V1__ReleaseRequest rq = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = att;
	rq.worker = "w1";
	rq.reason = why;
	CHECK_EQ_INT(call(e, M("QueueService", "Release"), &rq.base, NULL, NULL), 3);
	free(why);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* A BLOCKED job's reason names a dependency that blocks it now: when the one
 * it named is retried while another still blocks it, it names the other
 * (it kept naming the retried one). */
TEST(blocked_reason_follows_the_dependency_that_blocks)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0);
	uint64_t a = submit(e, "p", "t"), b = submit(e, "p", "t");
	Whatsnext__V1__Dependency da = WHATSNEXT__V1__DEPENDENCY__INIT,
	                          db = WHATSNEXT__V1__DEPENDENCY__INIT;
	da.job_id = a;
	db.job_id = b;
	Whatsnext__V1__Dependency *dv[2] = {&da, &db};
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = "p";
	s.task = "t";
	s.after = dv;
	s.n_after = 2;
	Whatsnext__V1__SubmitRequest sq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	sq.job = &s;
	Whatsnext__V1__SubmitResponse *sr = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &sq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&sr),
	             0);
	uint64_t y = sr->job->id;
	whatsnext__v1__submit_response__free_unpacked(sr, NULL);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), a);
	complete_as(e, a, att, false);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), b);
	complete_as(e, b, att, false);
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = a;
	CHECK_EQ_INT(call(e, M("JobService", "Retry"), &rq.base, NULL, NULL), 0);
	Whatsnext__V1__Job *j = wn_fixture_job(e, y);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED);
	char want[64];
	snprintf(want, sizeof(want), "dependency job %llu is FAILED", (unsigned long long)b);
	CHECK(strncmp(j->reason, want, strlen(want)) == 0);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* A worker using more than it has (its task's needs grew while it held a
 * job) has nothing free: it gets no job that needs any cpu (the free count
 * wrapped around and it got every one), and still one that needs nothing. */
TEST(overcommitted_worker_gets_no_job_that_needs_what_it_lacks)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "big", 2);
	mk_task(e, "p", "small", 1);
	mk_task(e, "p", "none", 0);
	whatsnext__v1__worker__free_unpacked(join(e, "w1", 2), NULL);
	uint64_t id = submit(e, "p", "big");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), id);
	Whatsnext__V1__Resources r = WHATSNEXT__V1__RESOURCES__INIT;
	r.cpu = 3;
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "p";
	t.name = "big";
	t.resources = &r;
	char *mask[] = {"resources"};
	Whatsnext__V1__UpdateTaskRequest up = WHATSNEXT__V1__UPDATE_TASK_REQUEST__INIT;
	up.task = &t;
	up.update_mask = mask;
	up.n_update_mask = 1;
	CHECK_EQ_INT(call(e, M("TaskService", "Update"), &up.base, NULL, NULL), 0);
	worker_uses(e, "w1", 1, 3);
	submit(e, "p", "small");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), 0);
	uint64_t free_one = submit(e, "p", "none");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), free_one);
	wn_fixture_close(e);
}

/* A job cancelled while it ran, retried and handed out again has a lease
 * like any other: it expires (it stayed RUNNING without a lease, for good,
 * because of the first run's cancel mark). */
TEST(lease_of_a_job_retried_after_a_cancel_expires)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	mk_task(e, "p", "t", 0);
	uint64_t id = submit(e, "p", "t");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), id);
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &rq.base, NULL, NULL), 0);
	CHECK_EQ_INT(call(e, M("JobService", "Retry"), &rq.base, NULL, NULL), 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w2", &att), id);
	CHECK_EQ_INT(att, 2);
	wn_fixture_now += 60001;
	wn_engine_tick(e);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(j->lost, 1);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* A worker heard from after a long silence (here a Fetch while it is GONE)
 * has that stored with the request: a crash right after it (the data
 * directory copied while wnd runs) shows it last seen then, not at its
 * Leave five minutes before. */
TEST(last_seen_survives_a_crash_right_after)
{
	wn_engine *e = open_engine();
	wn_fixture_project(e, "p");
	whatsnext__v1__worker__free_unpacked(join(e, "w1", 1), NULL);
	Whatsnext__V1__WorkerNameRequest lv = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	lv.name = "w1";
	CHECK_EQ_INT(call(e, M("WorkerService", "Leave"), &lv.base, NULL, NULL), 0);
	wn_fixture_now += 300000;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), 0);
	CHECK_EQ_INT(system("cp -a data crash"), 0);
	wn_engine *after = open_dir("crash");
	Whatsnext__V1__Worker *w = get_worker(after, "w1");
	CHECK_EQ_INT(w->last_seen_ms, wn_fixture_now);
	CHECK_EQ_INT(w->state, WHATSNEXT__V1__WORKER_STATE__WORKER_GONE);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_close(after);
	wn_fixture_close(e);
}

/* A LOST worker that heartbeats is ACTIVE again, durably: a crash right
 * after (the data directory copied while wnd runs) keeps it ACTIVE. */
TEST(worker_back_from_lost_survives_a_crash)
{
	wn_engine *e = open_engine();
	whatsnext__v1__worker__free_unpacked(join(e, "w1", 1), NULL);
	wn_fixture_now += 30001;
	wn_engine_tick(e);
	Whatsnext__V1__Worker *w = get_worker(e, "w1");
	CHECK_EQ_INT(w->state, WHATSNEXT__V1__WORKER_STATE__WORKER_LOST);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w1";
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL), 0);
	CHECK_EQ_INT(system("cp -a data crash"), 0);
	wn_engine *after = open_dir("crash");
	w = get_worker(after, "w1");
	CHECK_EQ_INT(w->state, WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE);
	whatsnext__v1__worker__free_unpacked(w, NULL);
	wn_fixture_close(after);
	wn_fixture_close(e);
}

TEST_MAIN()
