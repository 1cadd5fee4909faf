/* Unit tests for the start-up load: orphaned records are reported and left
 * alone, records that cannot be read stop the start with what to run. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "jobs.h"
#include "keys.h"
#include "project.h"
#include "envelope.h"
#include "err.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* open_engine opens the engine on ./data (the real clock); the result and
 * *err as wn_engine_open gives them. */
static int open_engine(wn_engine **e, char **err)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.clock = NULL;
	cfg.mono = NULL;
	return wn_fixture_try_open(&cfg, e, err);
}

/* put_records writes raw records straight into the store of "data". */
static void put_records(void (*fill)(wn_batch *b))
{
	wn_store *s = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open("data", WN_DURABILITY_SYNC, 0, &s, &err));
	wn_batch *b = wn_batch_new();
	fill(b);
	uint64_t seq;
	CHECK_OK(wn_store_write(s, b, &seq));
	CHECK_OK(wn_store_wait(s, seq));
	wn_batch_free(b);
	wn_store_close(s);
}

static void put_msg(wn_batch *b, const char *key, size_t kl, const ProtobufCMessage *m)
{
	size_t len;
	uint8_t *buf = wn_message_pack(m, &len);
	wn_batch_put(b, key, kl, buf, len);
	free(buf);
}

static void fill_orphans(wn_batch *b)
{
	char key[WN_KEY_MAX];
	Whatsnext__V1__Project p = WHATSNEXT__V1__PROJECT__INIT;
	p.name = "kept";
	put_msg(b, key, wn_key_project(key, "kept"), &p.base);
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "gone";
	t.name = "train";
	put_msg(b, key, wn_key_task(key, "gone", "train"), &t.base);
	Whatsnext__V1__Sweep w = WHATSNEXT__V1__SWEEP__INIT;
	w.id = 7;
	w.project = "gone";
	w.name = "lr";
	put_msg(b, key, wn_key_sweep(key, 7), &w.base);
	Whatsnext__V1__Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = 41;
	j.project = "gone";
	j.task = "train";
	j.status = WHATSNEXT__V1__JOB_STATUS__JOB_PENDING;
	put_msg(b, key, wn_key_job(key, 41), &j.base);
	/* a job of a live project whose sweep and task are gone */
	j.id = 42;
	j.project = "kept";
	j.sweep_id = 7;
	put_msg(b, key, wn_key_job(key, 42), &j.base);
}

TEST(orphaned_records_do_not_stop_the_start)
{
	put_records(fill_orphans);
	wn_engine *e;
	char *err;
	CHECK_OK(open_engine(&e, &err));
	/* the live project's job is there, and no id is handed out twice */
	CHECK_EQ_INT(wn_project_count(e), 1);
	CHECK(wn_jobs_next_id(e) > 42);
	struct project *p = wn_project_get(e, "kept");
	CHECK(p != NULL);
	CHECK_EQ_INT(p->counts[PENDING], 1);
	CHECK(wn_engine_sweep(e, 7) == NULL);
	wn_fixture_close(e);
}

static void fill_corrupt_job(wn_batch *b)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, 3);
	wn_batch_put(b, key, kl, "\xff\xff\xff", 3);
}

TEST(an_unreadable_record_stops_the_start_and_says_what_to_run)
{
	put_records(fill_corrupt_job);
	wn_engine *e;
	char *err;
	CHECK_EQ_INT(open_engine(&e, &err), WN_EIO);
	CHECK(err != NULL);
	CHECK(strstr(err, "job 3") != NULL);
	CHECK(strstr(err, "wnd --check --data data") != NULL);
	free(err);
}

TEST_MAIN()
