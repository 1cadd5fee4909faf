/* Unit tests of JobService/Wait and the watches it parks on: answered at once
 * when the jobs have ended, parked until the last one ends (by ids, sweep or
 * project), answered at the deadline, dropped with a closed connection,
 * released at shutdown, counted against the limits of parked requests, and
 * bad input refused; many watches of many jobs cost each event and each end
 * a bounded amount of work. */
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

typedef Whatsnext__V1__WaitRequest WaitRq;
typedef Whatsnext__V1__WaitResponse WaitRs;

/* The replies delivered to parked requests, by slot. */
#define NSLOTS 64
static struct {
	int n;         /* deliveries */
	bool dropped;  /* freed without a reply */
	int code;      /* the last reply's code */
	WaitRs *reply; /* the last one */
} got[NSLOTS];
static int slots[NSLOTS]; /* slot i is &slots[i], on connection i + 1 (or conn_of) */
static uint32_t conn_of[NSLOTS];

static void capture(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	(void)arg;
	(void)seq;
	int i = (int)((int *)slot - slots);
	got[i].n++;
	if (buf == NULL) {
		got[i].dropped = true;
		return;
	}
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, buf);
	free(buf);
	CHECK(r != NULL);
	got[i].code = r->code;
	if (r->code != 0) {
		whatsnext__v1__response__free_unpacked(r, NULL);
		return;
	}
	if (got[i].reply != NULL)
		whatsnext__v1__wait_response__free_unpacked(got[i].reply, NULL);
	got[i].reply = whatsnext__v1__wait_response__unpack(NULL, r->body.len, r->body.data);
	CHECK(got[i].reply != NULL);
	whatsnext__v1__response__free_unpacked(r, NULL);
}

static uint32_t slot_conn(void *slot)
{
	int i = (int)((int *)slot - slots);
	return conn_of[i] != 0 ? conn_of[i] : (uint32_t)i + 1;
}

static void reset(void)
{
	for (int i = 0; i < NSLOTS; i++) {
		if (got[i].reply != NULL)
			whatsnext__v1__wait_response__free_unpacked(got[i].reply, NULL);
		memset(&got[i], 0, sizeof(got[i]));
		conn_of[i] = 0;
	}
}

static wn_engine *open_engine(size_t per_conn, size_t max)
{
	reset();
	wn_engine_config cfg = wn_fixture_config();
	cfg.deliver = capture;
	cfg.slot_conn = slot_conn;
	cfg.max_parked_per_conn = per_conn;
	cfg.max_parked = max;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	return e;
}

static char last_msg[512];

/* wait_on sends rq from slot i: the code, and the reply at once in *out
 * (NULL when parked: *parked true). */
static int wait_on(wn_engine *e, int i, const WaitRq *rq, WaitRs **out, bool *parked)
{
	static uint64_t reqid = 1u << 30;
	Whatsnext__V1__Request env = WHATSNEXT__V1__REQUEST__INIT;
	env.id = reqid++;
	env.method = M("JobService", "Wait");
	env.token = (char *)wn_fixture_token;
	size_t bl, len;
	env.body.data = wn_message_pack(&rq->base, &bl);
	env.body.len = bl;
	uint8_t *buf = wn_message_pack(&env.base, &len);
	free(env.body.data);
	uint8_t *rb = NULL;
	size_t rl = 0;
	wn_engine_handle(e, buf, len, &slots[i], &rb, &rl);
	free(buf);
	*out = NULL;
	*parked = rb == NULL;
	if (rb == NULL)
		return 0;
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, rl, rb);
	free(rb);
	CHECK(r != NULL);
	int code = r->code;
	snprintf(last_msg, sizeof(last_msg), "%s", r->message ? r->message : "");
	if (code == 0)
		*out = whatsnext__v1__wait_response__unpack(NULL, r->body.len, r->body.data);
	whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

/* park_ids parks a Wait for the n ids from slot i, expecting it to park. */
static void park_ids(wn_engine *e, int i, uint64_t *ids, size_t n, uint32_t wait_ms)
{
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.ids = ids;
	rq.n_ids = n;
	rq.wait_ms = wait_ms;
	WaitRs *r = NULL;
	bool parked = false;
	CHECK_EQ_INT(wait_on(e, i, &rq, &r, &parked), 0);
	CHECK(parked);
}

static void cancel(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &rq.base, NULL, NULL), 0);
}

TEST(wait_ids_parks_until_the_last_job_ends)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t ids[2] = {wn_fixture_submit(e, "p", "t", 0), wn_fixture_submit(e, "p", "t", 0)};
	park_ids(e, 0, ids, 2, 30000);
	uint32_t att = 0;
	uint64_t a = wn_fixture_fetch(e, "p", "w1", &att);
	CHECK_EQ_INT(wn_fixture_complete(e, a, att, true), 0);
	CHECK_EQ_INT(got[0].n, 0); /* one job still pending */
	uint64_t b = wn_fixture_fetch(e, "p", "w1", &att);
	CHECK_EQ_INT(wn_fixture_complete(e, b, att, false), 0);
	CHECK_EQ_INT(got[0].n, 1);
	WaitRs *r = got[0].reply;
	CHECK(r->done);
	CHECK_EQ_INT(r->total, 2);
	CHECK_EQ_INT(r->completed, 1);
	CHECK_EQ_INT(r->failed, 1);
	/* ended already: answered at once */
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.ids = ids;
	rq.n_ids = 2;
	rq.wait_ms = 30000;
	bool parked = true;
	CHECK_EQ_INT(wait_on(e, 1, &rq, &r, &parked), 0);
	CHECK(!parked && r->done && r->completed == 1 && r->failed == 1);
	whatsnext__v1__wait_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
	reset();
}

TEST(wait_deadline_answers_not_done)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	park_ids(e, 0, &id, 1, 5000);
	wn_fixture_now += 4000;
	wn_engine_tick(e);
	CHECK_EQ_INT(got[0].n, 0);
	wn_fixture_now += 1000;
	wn_engine_tick(e);
	CHECK_EQ_INT(got[0].n, 1);
	CHECK(!got[0].reply->done);
	CHECK_EQ_INT(got[0].reply->pending, 1);
	/* wait_ms 0 answers at once */
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.ids = &id;
	rq.n_ids = 1;
	WaitRs *r = NULL;
	bool parked = true;
	CHECK_EQ_INT(wait_on(e, 1, &rq, &r, &parked), 0);
	CHECK(!parked && !r->done && r->pending == 1);
	whatsnext__v1__wait_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
	reset();
}

TEST(wait_without_a_connection_answers_at_once)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	/* a call with no connection to answer later (no slot) cannot park */
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.ids = &id;
	rq.n_ids = 1;
	rq.wait_ms = 5000;
	WaitRs *r = NULL;
	CHECK_OK(call(e, WN_PATH_JOB_WAIT, &rq.base, &whatsnext__v1__wait_response__descriptor,
	              (void **)&r));
	CHECK(r != NULL && !r->done && r->pending == 1);
	whatsnext__v1__wait_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
	reset();
}

TEST(wait_sweep_and_project)
{
	wn_engine *e = open_engine(0, 0);
	Whatsnext__V1__JobSpec s1 = WHATSNEXT__V1__JOB_SPEC__INIT, s2 = s1;
	s1.project = s2.project = "p";
	s1.task = s2.task = "t";
	Whatsnext__V1__JobSpec *specs[2] = {&s1, &s2};
	Whatsnext__V1__SubmitBatchRequest br = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	br.jobs = specs;
	br.n_jobs = 2;
	Whatsnext__V1__SweepSpec ss = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	br.sweep = &ss;
	Whatsnext__V1__SubmitBatchResponse *bs = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "SubmitBatch"), &br.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, (void **)&bs),
	             0);
	uint64_t sweep = bs->sweep_id;
	CHECK(sweep != 0);
	whatsnext__v1__submit_batch_response__free_unpacked(bs, NULL);
	uint64_t other = wn_fixture_submit(e, "p", "t", 0);
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.sweep_id = sweep;
	rq.wait_ms = 30000;
	WaitRs *r = NULL;
	bool parked = false;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), 0);
	CHECK(parked);
	WaitRq pq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	pq.project = "p";
	pq.wait_ms = 30000;
	CHECK_EQ_INT(wait_on(e, 1, &pq, &r, &parked), 0);
	CHECK(parked);
	cancel(e, sweep);
	CHECK_EQ_INT(got[0].n, 0);
	cancel(e, sweep + 1);
	CHECK_EQ_INT(got[0].n, 1);
	CHECK(got[0].reply->done && got[0].reply->cancelled == 2 && got[0].reply->total == 2);
	CHECK_EQ_INT(got[1].n, 0); /* the project has one more job */
	/* removed before it ended: the project's wait ends, counted as removed */
	Whatsnext__V1__JobIdRequest jr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	jr.id = other;
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &jr.base, NULL, NULL), 0);
	CHECK_EQ_INT(got[1].n, 1);
	CHECK(got[1].reply->done && got[1].reply->removed == 1 && got[1].reply->cancelled == 2);
	wn_fixture_close(e);
	reset();
}

TEST(wait_removals_keep_what_had_ended)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t ids[2] = {wn_fixture_submit(e, "p", "t", 0), wn_fixture_submit(e, "p", "t", 0)};
	uint32_t att = 0;
	uint64_t a = wn_fixture_fetch(e, "p", "w1", &att);
	CHECK_EQ_INT(a, ids[0]);
	CHECK_EQ_INT(wn_fixture_complete(e, a, att, true), 0);
	park_ids(e, 0, ids, 2, 30000);
	Whatsnext__V1__JobIdRequest jr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	jr.id = ids[0]; /* completed, then removed: it stays completed for the wait */
	CHECK_EQ_INT(call(e, M("JobService", "Remove"), &jr.base, NULL, NULL), 0);
	CHECK_EQ_INT(got[0].n, 0);
	/* the project deleted with the other job pending: ended, as removed */
	WaitRq pq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	pq.project = "p";
	pq.wait_ms = 30000;
	WaitRs *r = NULL;
	bool parked = false;
	CHECK_EQ_INT(wait_on(e, 1, &pq, &r, &parked), 0);
	CHECK(parked);
	Whatsnext__V1__DeleteProjectRequest dr = WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
	dr.name = "p";
	dr.force = true;
	CHECK_EQ_INT(call(e, M("ProjectService", "Delete"), &dr.base, NULL, NULL), 0);
	CHECK(got[0].n == 1 && got[1].n == 1);
	r = got[0].reply;
	CHECK(r->done && r->total == 2 && r->completed == 1 && r->removed == 1 && r->pending == 0);
	r = got[1].reply;
	CHECK(r->done && r->total == 0 && r->removed == 1);
	wn_fixture_close(e);
	reset();
}

static char *make_token(wn_engine *e, const char *name, int role)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = (char *)name;
	t.role = role;
	Whatsnext__V1__CreateTokenRequest rq = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	rq.token = &t;
	Whatsnext__V1__CreateTokenResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("TokenService", "Create"), &rq.base,
	                  &whatsnext__v1__create_token_response__descriptor, (void **)&r),
	             0);
	char *s = strdup(r->secret);
	whatsnext__v1__create_token_response__free_unpacked(r, NULL);
	return s;
}

TEST(wait_of_a_revoked_token_is_refused)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	char *root = make_token(e, "root", WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN);
	wn_fixture_token = root;
	char *bob = make_token(e, "bob", WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER);
	wn_fixture_token = bob;
	park_ids(e, 0, &id, 1, 30000);
	wn_fixture_token = root;
	park_ids(e, 1, &id, 1, 30000);
	Whatsnext__V1__RevokeTokenRequest rv = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	rv.name = "bob";
	CHECK_EQ_INT(call(e, M("TokenService", "Revoke"), &rv.base, NULL, NULL), 0);
	CHECK_EQ_INT(got[0].n, 1);
	CHECK_EQ_INT(got[0].code, WHATSNEXT__V1__CODE__UNAUTHENTICATED);
	CHECK_EQ_INT(got[1].n, 0); /* root's wait goes on */
	cancel(e, id);
	CHECK(got[1].n == 1 && got[1].code == 0 && got[1].reply->done);
	wn_fixture_token = NULL;
	free(root);
	free(bob);
	wn_fixture_close(e);
	reset();
}

TEST(wait_closed_connection_and_shutdown)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	park_ids(e, 0, &id, 1, 30000);
	park_ids(e, 1, &id, 1, 30000);
	wn_engine_conn_closed(e, 1); /* slot 0's connection */
	wn_engine_tick(e);
	CHECK_EQ_INT(got[0].n, 1);
	CHECK(got[0].dropped);
	CHECK_EQ_INT(got[1].n, 0);
	wn_engine_release_parked(e); /* shutting down: answered with the state now */
	CHECK_EQ_INT(got[1].n, 1);
	CHECK(!got[1].reply->done && got[1].reply->pending == 1);
	wn_fixture_close(e);
	reset();
}

TEST(wait_counts_against_parked_limits)
{
	wn_engine *e = open_engine(2, 3);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	for (int i = 0; i < 4; i++)
		conn_of[i] = 9; /* slots 0-3 share one connection */
	park_ids(e, 0, &id, 1, 30000);
	park_ids(e, 1, &id, 1, 30000);
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.ids = &id;
	rq.n_ids = 1;
	rq.wait_ms = 30000;
	WaitRs *r = NULL;
	bool parked = false;
	CHECK_EQ_INT(wait_on(e, 2, &rq, &r, &parked), WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK(strstr(last_msg, "max_parked_per_connection") != NULL);
	park_ids(e, 10, &id, 1, 30000); /* another connection: 3 in all */
	CHECK_EQ_INT(wait_on(e, 11, &rq, &r, &parked), WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED);
	/* the job ends: every watch is answered, and room is back */
	cancel(e, id);
	CHECK(got[0].n == 1 && got[1].n == 1 && got[10].n == 1);
	uint64_t id2 = wn_fixture_submit(e, "p", "t", 0);
	park_ids(e, 2, &id2, 1, 30000);
	wn_fixture_close(e);
	reset();
}

/* Many watches naming many jobs: ending one (its connection closed, or it
 * answered) and an event of one job look at a bounded number of entries,
 * not at every watch of each job nor at every job of each watch (10,000
 * Waits of 1,000 jobs each once held wnd for minutes when they ended). */
TEST(wait_many_watches_of_many_jobs_stay_cheap)
{
	enum { NJOBS = 1000, NW = NSLOTS };
	wn_engine *e = open_engine(0, 0);
	uint64_t *ids = calloc(NJOBS, sizeof(*ids));
	for (int i = 0; i < NJOBS; i++)
		ids[i] = wn_fixture_submit(e, "p", "t", 0);
	for (int i = 0; i < NW; i++)
		park_ids(e, i, ids, NJOBS, 30000);
	e->w.steps = 0;
	for (int i = 0; i < NW / 2; i++) /* half of them lose their connection */
		wn_engine_conn_closed(e, (uint32_t)i + 1);
	wn_engine_tick(e);
	for (int i = 0; i < NW / 2; i++)
		CHECK(got[i].n == 1 && got[i].dropped);
	for (int i = 0; i < NJOBS; i++) /* the others hear of every job */
		cancel(e, ids[i]);
	for (int i = NW / 2; i < NW; i++) {
		CHECK_EQ_INT(got[i].n, 1);
		CHECK(got[i].reply != NULL && got[i].reply->done);
		CHECK_EQ_INT(got[i].reply->total, NJOBS);
		CHECK_EQ_INT(got[i].reply->cancelled, NJOBS);
	}
	/* each watch is in NJOBS lists: ending it and each event it hears of
	 * cost a few steps each, not NW or NJOBS of them */
	if (e->w.steps > 4u * NW * NJOBS)
		fprintf(stderr, "# %llu steps\n", (unsigned long long)e->w.steps);
	CHECK(e->w.steps <= 4u * NW * NJOBS);
	free(ids);
	wn_fixture_close(e);
	reset();
}

TEST(wait_bad_input)
{
	wn_engine *e = open_engine(0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	WaitRs *r = NULL;
	bool parked = false;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	rq.ids = &id;
	rq.n_ids = 1;
	rq.project = "p";
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	rq.project = NULL;
	rq.wait_ms = 60001;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	uint64_t bad[2] = {id, id + 100};
	rq.ids = bad;
	rq.n_ids = 2;
	rq.wait_ms = 1000;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__NOT_FOUND);
	rq.n_ids = 0;
	rq.sweep_id = 12345;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__NOT_FOUND);
	rq.sweep_id = 0;
	rq.project = "nope";
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__NOT_FOUND);
	uint64_t *many = calloc(1001, sizeof(*many));
	for (int i = 0; i < 1001; i++)
		many[i] = id;
	rq.project = NULL;
	rq.ids = many;
	rq.n_ids = 1001;
	CHECK_EQ_INT(wait_on(e, 0, &rq, &r, &parked), WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	free(many);
	CHECK_EQ_INT(got[0].n, 0);
	wn_fixture_close(e);
	reset();
}

TEST_MAIN()
