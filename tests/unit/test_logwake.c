/* Unit tests of what Log long-polls woken together cost: new output wakes
 * every Log waiting on its job, and each reply carries a bounded part of it
 * (the reader asks again for the rest), so a crowd of waiting readers cannot
 * make one heartbeat allocate the output once per reader. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "envelope.h"
#include "whatsnext.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define NREADERS 8

/* The replies delivered to the parked Logs, by slot. */
static int slots[NREADERS];
static Whatsnext__V1__LogResponse *got[NREADERS];

static void capture(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	(void)arg, (void)seq;
	int i = (int)((int *)slot - slots);
	CHECK(buf != NULL);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, len, buf);
	free(buf);
	CHECK(r != NULL && r->code == 0);
	got[i] = whatsnext__v1__log_response__unpack(NULL, r->body.len, r->body.data);
	whatsnext__v1__response__free_unpacked(r, NULL);
}

/* park sends from slot i a Log of job id from offset 0 that waits. */
static void park(wn_engine *e, int i, uint64_t id)
{
	Whatsnext__V1__LogRequest rq = WHATSNEXT__V1__LOG_REQUEST__INIT;
	rq.id = id;
	rq.max_bytes = 4u << 20;
	rq.wait_ms = 30000;
	Whatsnext__V1__Request env = WHATSNEXT__V1__REQUEST__INIT;
	env.id = 1000 + (uint64_t)i;
	env.method = M("JobService", "Log");
	size_t bl, len;
	env.body.data = wn_message_pack(&rq.base, &bl);
	env.body.len = bl;
	uint8_t *buf = wn_message_pack(&env.base, &len);
	free(env.body.data);
	uint8_t *rb = NULL;
	size_t rl = 0;
	wn_engine_handle(e, buf, len, &slots[i], &rb, &rl);
	free(buf);
	CHECK(rb == NULL); /* parked */
}

TEST(readers_woken_together_get_a_bounded_part_each)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.deliver = capture;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	for (int i = 0; i < NREADERS; i++)
		park(e, i, id);
	/* a heartbeat brings 1 MiB of output */
	size_t n = 1u << 20;
	uint8_t *out = malloc(n);
	for (size_t k = 0; k < n; k++)
		out[k] = (uint8_t)('a' + k % 26);
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = id;
	l.attempt = att;
	Whatsnext__V1__Lease *lp = &l;
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	pg.job_id = id;
	pg.attempt = att;
	pg.output.data = out;
	pg.output.len = n;
	Whatsnext__V1__JobProgress *pp = &pg;
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w1";
	hb.leases = &lp;
	hb.n_leases = 1;
	hb.progress = &pp;
	hb.n_progress = 1;
	CHECK_EQ_INT(call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL), 0);
	for (int i = 0; i < NREADERS; i++) {
		Whatsnext__V1__LogResponse *r = got[i];
		CHECK(r != NULL);
		/* the first bytes, not the megabyte; where the rest is */
		CHECK(r->data.len > 0 && r->data.len <= 64 * 1024);
		CHECK(memcmp(r->data.data, out, r->data.len) == 0);
		CHECK_EQ_INT(r->offset, 0);
		CHECK_EQ_INT(r->next_offset, r->data.len);
		CHECK_EQ_INT(r->end, n);
		CHECK(!r->ended);
		whatsnext__v1__log_response__free_unpacked(r, NULL);
		got[i] = NULL;
	}
	free(out);
	wn_fixture_close(e);
}

TEST_MAIN()
