/* Unit tests of the queue through the engine (wn_engine_handle, no
 * sockets): priority order, retries, batches, job names, brief replies,
 * Complete with `next`, a refused result of a CompleteBatch, Pop, Clear and
 * project Delete. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "engine_state.h"
#include "envelope.h"
#include "err.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(priority_then_fifo)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "a", 0, 0);
	wn_fixture_task(e, "p", "b", 0, 0);
	/* ids 1..8 with priorities; expected order: prio desc, then id asc */
	int32_t prios[] = {0, 5, 0, 5, -1, 9, 0, 5};
	uint64_t ids[8];
	for (int i = 0; i < 8; i++)
		ids[i] = wn_fixture_submit(e, "p", i % 2 ? "a" : "b", prios[i]);
	uint64_t want[] = {ids[5], ids[1], ids[3], ids[7], ids[0], ids[2], ids[6], ids[4]};
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), want[i]);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", NULL), 0);
	wn_fixture_close(e);
}

TEST(retries_requeue_failed_commands)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 2);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	for (uint32_t i = 1; i <= 3; i++) {
		uint32_t att = 0;
		CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
		CHECK_EQ_INT(att, i);
		CHECK_EQ_INT(wn_fixture_complete(e, id, att, false), 0);
		CHECK_EQ_INT(wn_fixture_job_status(e, id),
		             i < 3 ? WHATSNEXT__V1__JOB_STATUS__JOB_PENDING
		                   : WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	}
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->exit_code, 7);
	CHECK_EQ_STR(j->output_tail, "done\n");
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* retry puts it back with fresh counts */
	Whatsnext__V1__JobIdRequest rr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rr.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Retry"), &rr.base, NULL, NULL), 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 4);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, true), 0);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	/* a second completion of the same lease is refused */
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, true),
	             WHATSNEXT__V1__CODE__FAILED_PRECONDITION);
	wn_fixture_close(e);
}

TEST(jobs_without_a_name_are_named_task_dash_id)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	for (int i = 0; i < 12; i++) {
		uint64_t id = wn_fixture_submit(e, "p", "t", 0);
		Whatsnext__V1__Job *j = wn_fixture_job(e, id);
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
		Whatsnext__V1__Job *j = wn_fixture_job(e, r->ids[i]);
		char want[64];
		snprintf(want, sizeof(want), "t-%llu", (unsigned long long)r->ids[i]);
		CHECK_EQ_STR(j->name, i == 1 ? "mine" : want);
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

TEST(batch_is_all_or_nothing)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
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
	CHECK(strstr(wn_fixture_msg(), "job 3") != NULL);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", NULL), 0);
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
	wn_fixture_close(e);
}

/* submit_whole_and_brief submits job a of p/t (a parameter, a name)
 * briefly and job b whole, checking both replies. */
static void submit_whole_and_brief(wn_engine *e, uint64_t *a, uint64_t *b)
{
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
	*a = r->job->id;
	CHECK(*a != 0);
	CHECK_EQ_INT(r->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(r->job->n_params, 0);
	CHECK_EQ_STR(r->job->name, "");
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	s.name = "b";
	rq.brief = false;
	CHECK_EQ_INT(call(e, M("JobService", "Submit"), &rq.base,
	                  &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	*b = r->job->id;
	CHECK_EQ_INT(r->job->n_params, 1);
	CHECK_EQ_STR(r->job->name, "b");
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
}

/* complete_brief_with_next ends job a (claimed first) with a brief Complete
 * that fetches the next job, b, and returns b's attempt. */
static uint32_t complete_brief_with_next(wn_engine *e, uint64_t a, uint64_t b)
{
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), a);
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
	return batt;
}

/* complete_batch_brief fails job b's attempt batt in a brief CompleteBatch. */
static void complete_batch_brief(wn_engine *e, uint64_t b, uint32_t batt)
{
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
}

/* brief replies: the job reduced to id, status and attempt, while the
 * stored job keeps everything; `next` of a brief Complete stays whole. */
TEST(brief_replies_leave_the_job_whole)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t a, b;
	submit_whole_and_brief(e, &a, &b);
	uint32_t batt = complete_brief_with_next(e, a, b);
	/* in a batch, each result asks for itself */
	complete_batch_brief(e, b, batt);

	/* what is stored is whole */
	Whatsnext__V1__Job *j = wn_fixture_job(e, a);
	CHECK_EQ_STR(j->name, "a");
	CHECK_EQ_INT(j->n_params, 1);
	CHECK_EQ_STR(j->output_tail, "a long output\n");
	whatsnext__v1__job__free_unpacked(j, NULL);
	j = wn_fixture_job(e, b);
	CHECK_EQ_INT(j->exit_code, 3);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_close(e);
}

/* A failed run completed with `next`: the reply's job is the job as the
 * failure left it (PENDING for a retry), even when `next` claims that very
 * job again; `next` claims one job whatever its max_jobs says. */
TEST(a_failure_completed_with_next_replies_the_job_it_left)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 1);
	uint64_t a = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), a);
	Whatsnext__V1__FetchRequest next = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	next.project = "p";
	next.worker = "w1";
	next.max_jobs = 1000000;
	Whatsnext__V1__CompleteRequest cq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cq.job_id = a;
	cq.attempt = att;
	cq.worker = "w1";
	cq.exit_code = 1;
	cq.next = &next;
	Whatsnext__V1__CompleteResponse *cr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cq.base,
	                  &whatsnext__v1__complete_response__descriptor, (void **)&cr),
	             0);
	CHECK_EQ_INT(cr->job->id, a);
	CHECK_EQ_INT(cr->job->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(cr->job->attempt, att);
	CHECK(strncmp(cr->job->reason, "attempt 1 failed: exit code 1", 29) == 0);
	CHECK(cr->next != NULL);
	CHECK_EQ_INT(cr->next->id, a);
	CHECK_EQ_INT(cr->next->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(cr->next->attempt, att + 1);
	whatsnext__v1__complete_response__free_unpacked(cr, NULL);
	CHECK_EQ_INT(wn_fixture_job_status(e, a), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	wn_fixture_close(e);
}

/* One result of a CompleteBatch refused for its artifact list stores none of
 * what it carried (output, result points); the other result goes through. */
TEST(a_refused_result_of_a_batch_stores_nothing)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t a = wn_fixture_submit(e, "p", "t", 0), b = wn_fixture_submit(e, "p", "t", 0);
	uint32_t aatt = 0, batt = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &aatt), a);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &batt), b);
	Whatsnext__V1__CompleteRequest ra = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	ra.job_id = a;
	ra.attempt = aatt;
	ra.worker = "w1";
	ra.success = true;
	Whatsnext__V1__CompleteRequest rb = ra;
	rb.job_id = b;
	rb.attempt = batt;
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.output.data = (uint8_t *)"leaked";
	pg.output.len = 6;
	Whatsnext__V1__ResultPoint pt = WHATSNEXT__V1__RESULT_POINT__INIT;
	pt.key = "loss";
	pt.value = 0.5;
	pt.seq = 1;
	Whatsnext__V1__ResultPoint *pts[1] = {&pt};
	pg.points = pts;
	pg.n_points = 1;
	rb.progress = &pg;
	Whatsnext__V1__Artifact art = WHATSNEXT__V1__ARTIFACT__INIT;
	art.path = ""; /* refused: no path */
	Whatsnext__V1__Artifact *arts[1] = {&art};
	rb.artifacts = arts;
	rb.n_artifacts = 1;
	Whatsnext__V1__CompleteRequest *rs[2] = {&ra, &rb};
	Whatsnext__V1__CompleteBatchRequest bq = WHATSNEXT__V1__COMPLETE_BATCH_REQUEST__INIT;
	bq.results = rs;
	bq.n_results = 2;
	Whatsnext__V1__CompleteBatchResponse *br = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "CompleteBatch"), &bq.base,
	                  &whatsnext__v1__complete_batch_response__descriptor, (void **)&br),
	             0);
	CHECK_EQ_INT(br->results[0]->code, 0);
	CHECK_EQ_INT(br->results[1]->code, WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK(strstr(br->results[1]->message, "artifact 1") != NULL);
	whatsnext__v1__complete_batch_response__free_unpacked(br, NULL);
	CHECK_EQ_INT(wn_fixture_job_status(e, a), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	CHECK_EQ_INT(wn_fixture_job_status(e, b), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(wn_fixture_log_len(e, b), 0);
	Whatsnext__V1__HistoryRequest hq = WHATSNEXT__V1__HISTORY_REQUEST__INIT;
	hq.id = b;
	Whatsnext__V1__ResultHistory *hr = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "History"), &hq.base,
	                  &whatsnext__v1__result_history__descriptor, (void **)&hr),
	             0);
	CHECK_EQ_INT(hr->n_series, 0);
	whatsnext__v1__result_history__free_unpacked(hr, NULL);
	wn_fixture_close(e);
}

TEST(pop_clear_and_delete)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "a", 0, 0);
	wn_fixture_task(e, "p", "b", 0, 0);
	uint64_t j1 = wn_fixture_submit(e, "p", "a", 0);
	uint64_t j2 = wn_fixture_submit(e, "p", "b", 5);
	uint64_t j3 = wn_fixture_submit(e, "p", "a", 1);
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
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", &att), j2);
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
	CHECK_EQ_INT(wn_fixture_complete(e, j2, att, true), WHATSNEXT__V1__CODE__NOT_FOUND);
	wn_fixture_project(e, "p");
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", NULL), 0);
	wn_fixture_close(e);
}

/* sweep_of_two submits a sweep of two jobs of p/t; returns its first id. */
static uint64_t sweep_of_two(wn_engine *e)
{
	Whatsnext__V1__JobSpec s[2];
	Whatsnext__V1__JobSpec *sp[2] = {&s[0], &s[1]};
	for (int i = 0; i < 2; i++) {
		whatsnext__v1__job_spec__init(&s[i]);
		s[i].project = "p";
		s[i].task = "t";
	}
	Whatsnext__V1__SweepSpec sw = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	rq.n_jobs = 2;
	rq.jobs = sp;
	rq.sweep = &sw;
	Whatsnext__V1__SubmitBatchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &rq.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, (void **)&r),
	             0);
	uint64_t first = r->ids[0];
	whatsnext__v1__submit_batch_response__free_unpacked(r, NULL);
	return first;
}

/* classes returns how many dispatch classes project name has in memory. */
static size_t classes(wn_engine *e, const char *name)
{
	const struct project *p = wn_map_get_str(e->proj.byname, name);
	return p != NULL ? p->nq : 0;
}

TEST(a_sweep_s_class_goes_with_its_last_ready_job)
{
	/* every claim looks at each class of the project: those of the sweeps
	 * a long run of wnd has seen must not add up */
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t plain = wn_fixture_submit(e, "p", "t", 0);
	uint64_t first[20];
	for (int i = 0; i < 20; i++)
		first[i] = sweep_of_two(e);
	CHECK_EQ_INT(classes(e, "p"), 21);
	/* in id order, as if the classes were one */
	uint32_t att = 0, last_att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", &att), plain);
	for (int i = 0; i < 20; i++) {
		CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", NULL), first[i]);
		CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", &last_att), first[i] + 1);
	}
	CHECK_EQ_INT(classes(e, "p"), 1); /* the plain one, empty */
	/* a sweep's job ready again makes its class again, and is handed out */
	Whatsnext__V1__ReleaseRequest rl = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	rl.job_id = first[19] + 1;
	rl.attempt = last_att;
	rl.worker = "w";
	CHECK_EQ_INT(call(e, M("QueueService", "Release"), &rl.base, NULL, NULL), 0);
	CHECK_EQ_INT(classes(e, "p"), 2);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", NULL), first[19] + 1);
	CHECK_EQ_INT(classes(e, "p"), 1);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w", NULL), 0);
	wn_fixture_close(e);
}

TEST_MAIN()
