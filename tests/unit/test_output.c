/* Unit tests for live output (output.c, svc_log.c): output shipped with
 * heartbeats and completions, read back with JobService.Log; resends, gaps,
 * the bound per job, a new attempt, bad progress refused with nothing
 * changed, restarts. */
#include "test.h"

#include "fixture.h"

#include "check.h"
#include "envelope.h"
#include "engine.h"
#include "keys.h"
#include "store.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one_job makes project p, task t (retries r) and one job held by w1. */
static uint64_t one_job(wn_engine *e, uint32_t retries, uint32_t *att)
{
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, retries);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", att), id);
	return id;
}

/* ship sends a heartbeat of worker w holding job id at attempt with len
 * bytes of data at off; returns the code. */
static int ship(wn_engine *e, const char *w, uint64_t id, uint32_t att, uint64_t off,
                const void *data, size_t len)
{
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = id;
	l.attempt = att;
	Whatsnext__V1__Lease *lp = &l;
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = att;
	pg.output_offset = off;
	pg.output.data = (uint8_t *)data;
	pg.output.len = len;
	Whatsnext__V1__JobProgress *pp = &pg;
	Whatsnext__V1__HeartbeatRequest rq = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	rq.worker = (char *)w;
	rq.leases = &lp;
	rq.n_leases = 1;
	rq.progress = &pp;
	rq.n_progress = 1;
	return call(e, M("QueueService", "Heartbeat"), &rq.base, NULL, NULL);
}

/* rd reads job id's output from off (max bytes, 0: default, in attempt att). */
static Whatsnext__V1__LogResponse *rd(wn_engine *e, uint64_t id, uint64_t off, uint32_t max,
                                      uint32_t att)
{
	Whatsnext__V1__LogRequest rq = WHATSNEXT__V1__LOG_REQUEST__INIT;
	rq.id = id;
	rq.offset = off;
	rq.max_bytes = max;
	rq.attempt = att;
	Whatsnext__V1__LogResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "Log"), &rq.base,
	                  &whatsnext__v1__log_response__descriptor, (void **)&r),
	             0);
	return r;
}

/* data_is checks that r holds text s. */
static void data_is(const Whatsnext__V1__LogResponse *r, const char *s)
{
	CHECK_EQ_INT(r->data.len, strlen(s));
	CHECK(memcmp(r->data.data, s, r->data.len) == 0);
}

TEST(output_in_order_resends_and_gaps)
{
	wn_engine *e = wn_fixture_open();
	uint32_t att = 0;
	uint64_t id = one_job(e, 0, &att);
	Whatsnext__V1__LogResponse *r = rd(e, id, 0, 0, 0);
	CHECK_EQ_INT(r->data.len, 0);
	CHECK_EQ_INT(r->attempt, 0);
	CHECK(!r->ended);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, "one\n", 4), 0);
	CHECK_EQ_INT(ship(e, "w1", id, att, 4, "two\n", 4), 0);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, "XXX\nXXX\nthree\n", 14), 0); /* a resend and more */
	r = rd(e, id, 0, 0, 0);
	data_is(r, "one\ntwo\nthree\n");
	CHECK_EQ_INT(r->offset, 0);
	CHECK_EQ_INT(r->next_offset, 14);
	CHECK_EQ_INT(r->attempt, att);
	CHECK_EQ_INT(r->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	r = rd(e, id, 4, 3, 0); /* part of it */
	data_is(r, "two");
	CHECK_EQ_INT(r->next_offset, 7);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* bytes 14..20 never come: the reader sees where the next ones start */
	CHECK_EQ_INT(ship(e, "w1", id, att, 20, "after\n", 6), 0);
	r = rd(e, id, 14, 0, 0);
	CHECK_EQ_INT(r->offset, 20);
	data_is(r, "after\n");
	CHECK_EQ_INT(r->end, 26);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	r = rd(e, id, 0, 0, 0); /* stops before the gap */
	data_is(r, "one\ntwo\nthree\n");
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* another worker's progress is ignored */
	CHECK_EQ_INT(ship(e, "w2", id, att, 26, "not mine\n", 9), 9);
	/* the completion brings the rest; the output survives a restart */
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = att;
	pg.output_offset = 26;
	pg.output.data = (uint8_t *)"last\n";
	pg.output.len = 5;
	Whatsnext__V1__CompleteRequest cr = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cr.job_id = id;
	cr.attempt = att;
	cr.worker = "w1";
	cr.success = true;
	cr.progress = &pg;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cr.base, NULL, NULL), 0);
	e = wn_fixture_restart(e);
	r = rd(e, id, 20, 0, 0);
	data_is(r, "after\nlast\n");
	CHECK(r->ended);
	CHECK_EQ_INT(r->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	r = rd(e, id, 0, 0, 0);
	CHECK(!r->ended); /* more to read */
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

TEST(output_bound_drops_the_oldest)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.output_max = 65536;
	wn_engine *e = wn_fixture_open_with(&cfg);
	uint32_t att = 0;
	uint64_t id = one_job(e, 0, &att);
	char buf[10000];
	uint64_t off = 0;
	for (int i = 0; i < 30; i++) { /* 300000 bytes, numbered by block */
		memset(buf, 'a' + i % 26, sizeof(buf));
		CHECK_EQ_INT(ship(e, "w1", id, att, off, buf, sizeof(buf)), 0);
		off += sizeof(buf);
	}
	Whatsnext__V1__LogResponse *r = rd(e, id, 0, 0, 0);
	CHECK(r->offset > 0);
	CHECK_EQ_INT(r->offset, r->start);
	CHECK(r->end - r->start <= 65536);
	CHECK(r->end - r->start >= 65536 - 16384 - 10000);
	CHECK_EQ_INT(r->end, 300000);
	CHECK_EQ_INT(r->next_offset, 300000);
	CHECK_EQ_INT(r->data.data[r->data.len - 1], 'a' + 29 % 26);
	CHECK_EQ_INT(r->data.data[0], 'a' + (int)(r->offset / 10000) % 26);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* one progress larger than the bound keeps its last bytes */
	char *big = malloc(200000);
	for (size_t i = 0; i < 200000; i++)
		big[i] = (char)('0' + i % 10);
	CHECK_EQ_INT(ship(e, "w1", id, att, off, big, 200000), 0);
	r = rd(e, id, 0, 0, 0);
	CHECK_EQ_INT(r->start, 500000 - 65536);
	CHECK_EQ_INT(r->data.len, 65536);
	CHECK_EQ_INT(r->data.data[0], '0' + (500000 - 65536 - 300000) % 10);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	free(big);
	wn_fixture_close(e);
}

TEST(output_new_attempt_replaces)
{
	wn_engine *e = wn_fixture_open();
	uint32_t att = 0;
	uint64_t id = one_job(e, 1, &att);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, "first attempt\n", 14), 0);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, false), 0); /* retried */
	Whatsnext__V1__LogResponse *r = rd(e, id, 0, 0, 0);
	data_is(r, "first attempt\n");
	CHECK(!r->ended); /* PENDING: another attempt comes */
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	uint32_t att2 = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att2), id);
	CHECK_EQ_INT(att2, att + 1);
	CHECK_EQ_INT(ship(e, "w1", id, att2, 0, "two\n", 4), 0);
	r = rd(e, id, 14, 0, att); /* a reader of the first attempt starts over */
	data_is(r, "two\n");
	CHECK_EQ_INT(r->offset, 0);
	CHECK_EQ_INT(r->attempt, att2);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* the old attempt's late progress changes nothing */
	CHECK_EQ_INT(ship(e, "w1", id, att, 14, "late\n", 5), 0);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att2, false), 0);
	r = rd(e, id, 0, 0, 0);
	data_is(r, "two\n");
	CHECK(r->ended);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

TEST(output_bad_progress_changes_nothing)
{
	wn_engine *e = wn_fixture_open();
	uint32_t att = 0;
	uint64_t id = one_job(e, 0, &att);
	size_t n = (1u << 20) + 1;
	char *big = calloc(1, n);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, big, n), 3);
	CHECK(strstr(wn_fixture_msg(), "over the limit") != NULL);
	CHECK_EQ_INT(ship(e, "w1", id, att, 1ull << 51, "x", 1), 3);
	free(big);
	/* two progress of one job */
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = att;
	pg.output.data = (uint8_t *)"x";
	pg.output.len = 1;
	Whatsnext__V1__JobProgress *pp[2] = {&pg, &pg};
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w1";
	hb.progress = pp;
	hb.n_progress = 2;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL), 3);
	/* a completion carrying another job's progress */
	Whatsnext__V1__CompleteRequest cr = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cr.job_id = id;
	cr.attempt = att;
	cr.worker = "w1";
	cr.success = true;
	pg.job_id = id + 1;
	cr.progress = &pg;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cr.base, NULL, NULL), 3);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	Whatsnext__V1__LogResponse *r = rd(e, id, 0, 0, 0);
	CHECK_EQ_INT(r->data.len, 0);
	CHECK_EQ_INT(r->end, 0);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* bad reads */
	Whatsnext__V1__LogRequest lr = WHATSNEXT__V1__LOG_REQUEST__INIT;
	lr.id = id + 100;
	CHECK_EQ_INT(call(e, M("JobService", "Log"), &lr.base, NULL, NULL), 5);
	lr.id = id;
	lr.max_bytes = (4u << 20) + 1;
	CHECK_EQ_INT(call(e, M("JobService", "Log"), &lr.base, NULL, NULL), 3);
	lr.max_bytes = 0;
	lr.wait_ms = 60001;
	CHECK_EQ_INT(call(e, M("JobService", "Log"), &lr.base, NULL, NULL), 3);
	wn_fixture_close(e);
}

/* put_raw writes key = val into the data directory no engine holds. */
static void put_raw(const char *key, size_t kl, const char *val)
{
	wn_store *s = NULL;
	char *err = NULL;
	CHECK_EQ_INT(wn_store_open("data", WN_DURABILITY_SYNC, 100, &s, &err), 0);
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, key, kl, val, strlen(val));
	uint64_t seq = 0;
	CHECK_EQ_INT(wn_store_write(s, b, &seq), 0);
	CHECK_EQ_INT(wn_store_wait(s, seq), 0);
	wn_batch_free(b);
	wn_store_close(s);
}

TEST(output_check_and_removal)
{
	wn_engine *e = wn_fixture_open();
	uint32_t att = 0;
	uint64_t id = one_job(e, 0, &att);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, "kept\n", 5), 0);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, true), 0);
	wn_fixture_close(e);
	wn_check_result res;
	char *err = NULL;
	FILE *devnull = fopen("/dev/null", "w");
	CHECK_EQ_INT(wn_check_run("data", false, devnull, &res, &err), 0);
	CHECK_EQ_INT(res.findings, 0);
	/* the output of a job that does not exist, an unreadable record */
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_LOG, id + 5);
	put_raw(key, kl, "orphan");
	kl = wn_key_of_job(key, WN_KEY_LOG, id);
	put_raw(key, kl, "\xff\xff\xff");
	CHECK_EQ_INT(wn_check_run("data", false, devnull, &res, &err), 0);
	CHECK_EQ_INT(res.findings, 2);
	CHECK_EQ_INT(wn_check_run("data", true, devnull, &res, &err), 0);
	CHECK_EQ_INT(res.left, 0);
	e = wn_fixture_open();
	Whatsnext__V1__LogResponse *r = rd(e, id, 0, 0, 0);
	CHECK_EQ_INT(r->attempt, 0); /* its record went: nothing to show */
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* removing the job removes its output */
	Whatsnext__V1__JobIdRequest rm = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rm.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &rm.base, NULL, NULL), 0);
	wn_fixture_close(e);
	CHECK_EQ_INT(wn_check_run("data", false, devnull, &res, &err), 0);
	CHECK_EQ_INT(res.findings, 0);
	fclose(devnull);
	free(err);
}

/* The reply delivered to a parked Log (long-poll), and how many came. */
static Whatsnext__V1__LogResponse *parked_reply;
static int parked_n;
static int parked_slot;

static void capture(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	(void)arg, (void)slot, (void)seq;
	parked_n++;
	if (buf == NULL)
		return;
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, buf);
	free(buf);
	CHECK(r != NULL && r->code == 0);
	if (parked_reply != NULL)
		whatsnext__v1__log_response__free_unpacked(parked_reply, NULL);
	parked_reply = whatsnext__v1__log_response__unpack(NULL, r->body.len, r->body.data);
	whatsnext__v1__response__free_unpacked(r, NULL);
}

/* log_wait sends a Log of job id from off waiting up to 10 s; the reply at
 * once, or NULL when it waits. */
static Whatsnext__V1__LogResponse *log_wait(wn_engine *e, uint64_t id, uint64_t off, uint32_t att)
{
	static uint64_t reqid = 1u << 20;
	Whatsnext__V1__LogRequest rq = WHATSNEXT__V1__LOG_REQUEST__INIT;
	rq.id = id;
	rq.offset = off;
	rq.attempt = att;
	rq.wait_ms = 10000;
	Whatsnext__V1__Request env = WHATSNEXT__V1__REQUEST__INIT;
	env.id = reqid++;
	env.method = M("JobService", "Log");
	size_t bl, len;
	env.body.data = wn_message_pack(&rq.base, &bl);
	env.body.len = bl;
	uint8_t *buf = wn_message_pack(&env.base, &len);
	free(env.body.data);
	uint8_t *rb = NULL;
	size_t rl = 0;
	wn_engine_handle(e, buf, len, &parked_slot, &rb, &rl);
	free(buf);
	if (rb == NULL)
		return NULL;
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, rl, rb);
	free(rb);
	CHECK(r != NULL && r->code == 0);
	Whatsnext__V1__LogResponse *out =
	    whatsnext__v1__log_response__unpack(NULL, r->body.len, r->body.data);
	whatsnext__v1__response__free_unpacked(r, NULL);
	return out;
}

TEST(output_long_poll)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.deliver = capture;
	wn_engine *e = wn_fixture_open_with(&cfg);
	uint32_t att = 0;
	uint64_t id = one_job(e, 0, &att);
	/* nothing yet: it waits, and new output answers it */
	CHECK(log_wait(e, id, 0, 0) == NULL);
	CHECK_EQ_INT(parked_n, 0);
	CHECK_EQ_INT(ship(e, "w1", id, att, 0, "hello\n", 6), 0);
	CHECK_EQ_INT(parked_n, 1);
	data_is(parked_reply, "hello\n");
	CHECK(!parked_reply->ended);
	/* the completion brings the last bytes: the reader is woken and asks
	 * again until the reply says the job ended */
	CHECK(log_wait(e, id, 6, att) == NULL);
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = att;
	pg.output_offset = 6;
	pg.output.data = (uint8_t *)"bye\n";
	pg.output.len = 4;
	Whatsnext__V1__CompleteRequest cr = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	cr.job_id = id;
	cr.attempt = att;
	cr.worker = "w1";
	cr.success = true;
	cr.progress = &pg;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &cr.base, NULL, NULL), 0);
	CHECK_EQ_INT(parked_n, 2);
	/* woken by the status change, before the completion's bytes are stored:
	 * not ended yet, so the reader asks once more */
	CHECK(!parked_reply->ended);
	CHECK_EQ_INT(parked_reply->next_offset, 6);
	Whatsnext__V1__LogResponse *r = log_wait(e, id, 6, att);
	CHECK(r != NULL);
	data_is(r, "bye\n");
	CHECK(r->ended);
	CHECK_EQ_INT(r->status, WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* an ended job answers at once */
	r = log_wait(e, id, 10, att);
	CHECK(r != NULL && r->ended);
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	/* a wait on a job with no output ends at its deadline */
	uint64_t id2 = wn_fixture_submit(e, "p", "t", 0);
	CHECK(log_wait(e, id2, 0, 0) == NULL);
	wn_fixture_now += 11000;
	wn_engine_tick(e);
	CHECK_EQ_INT(parked_n, 3);
	CHECK_EQ_INT(parked_reply->data.len, 0);
	CHECK(!parked_reply->ended);
	/* a wait on a job removed meanwhile (its project deleted) is answered
	 * at once: nothing more comes */
	CHECK(log_wait(e, id2, 0, 0) == NULL);
	Whatsnext__V1__DeleteProjectRequest dp = WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
	dp.name = "p";
	dp.force = true;
	CHECK_EQ_INT(call(e, M("ProjectService", "Delete"), &dp.base, NULL, NULL), 0);
	CHECK_EQ_INT(parked_n, 4);
	CHECK(parked_reply->ended);
	whatsnext__v1__log_response__free_unpacked(parked_reply, NULL);
	parked_reply = NULL;
	wn_fixture_close(e);
}

TEST_MAIN()
