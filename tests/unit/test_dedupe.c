#include "dedupe.h"
#include "test.h"

#define M_SUBMIT "/whatsnext.v1.JobService/Submit"
#define M_CANCEL "/whatsnext.v1.JobService/Cancel"

static const char *const submit = M_SUBMIT, *const cancel = M_CANCEL;

/* run_one claims id and stores reply (len bytes of c) at time now. */
static void run_one(struct dedupe *d, uint64_t id, int64_t now, char c, size_t len)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	CHECK_EQ_INT(wn_dedupe_begin(d, id, submit, 0, now, &out, &outlen), DEDUPE_NEW);
	uint8_t buf[256];
	memset(buf, c, len);
	wn_dedupe_finish(d, id, buf, len);
}

TEST(repeat_gets_first_reply)
{
	struct dedupe *d = wn_dedupe_new(60000, 1 << 20);
	run_one(d, 42, 1000, 'a', 5);
	uint8_t *out = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wn_dedupe_begin(d, 42, submit, 0, 2000, &out, &len), DEDUPE_DONE);
	CHECK_EQ_INT(len, 5);
	CHECK(memcmp(out, "aaaaa", 5) == 0);
	free(out);
	CHECK_EQ_INT(wn_dedupe_begin(d, 42, cancel, 0, 2000, &out, &len), DEDUPE_MISMATCH);
	/* another caller's id: not its reply, for the same method or another */
	out = NULL;
	CHECK_EQ_INT(wn_dedupe_begin(d, 42, submit, 7, 2000, &out, &len), DEDUPE_CALLER);
	CHECK(out == NULL);
	CHECK_EQ_INT(wn_dedupe_begin(d, 42, cancel, 7, 2000, &out, &len), DEDUPE_CALLER);
	CHECK_EQ_INT(wn_dedupe_begin(d, 42, submit, 0, 2000, &out, &len), DEDUPE_DONE);
	free(out);
	wn_dedupe_free(d);
	wn_dedupe_free(NULL);
}

/* finished without a reply: the id stays taken, and a repeat runs again */
TEST(a_reply_not_kept_is_answered_again)
{
	struct dedupe *d = wn_dedupe_new(60000, 1 << 20);
	uint8_t *out = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	wn_dedupe_finish(d, 9, NULL, 0);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, cancel, 0, 1100, &out, &len), DEDUPE_MISMATCH);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 3, 1100, &out, &len), DEDUPE_CALLER);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1200, &out, &len), DEDUPE_NEW);
	CHECK(out == NULL);
	/* in flight again until it finishes */
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1300, &out, &len), DEDUPE_RUNNING);
	wn_dedupe_finish(d, 9, NULL, 0);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1400, &out, &len), DEDUPE_NEW);
	wn_dedupe_free(d);
}

TEST(abort_forgets)
{
	struct dedupe *d = wn_dedupe_new(60000, 1 << 20);
	uint8_t *out = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wn_dedupe_begin(d, 7, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	wn_dedupe_abort(d, 7);
	CHECK_EQ_INT(wn_dedupe_begin(d, 7, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	wn_dedupe_finish(d, 7, (const uint8_t *)"ok", 2);
	wn_dedupe_free(d);
}

TEST(old_replies_expire)
{
	struct dedupe *d = wn_dedupe_new(60000, 1 << 20);
	run_one(d, 1, 1000, 'a', 10);
	run_one(d, 2, 50000, 'b', 10);
	uint8_t *out = NULL;
	size_t len = 0;
	/* at 61001, id 1 is over a minute old, id 2 is not */
	CHECK_EQ_INT(wn_dedupe_begin(d, 2, submit, 0, 61001, &out, &len), DEDUPE_DONE);
	free(out);
	CHECK_EQ_INT(wn_dedupe_begin(d, 1, submit, 0, 61001, &out, &len), DEDUPE_NEW);
	wn_dedupe_abort(d, 1);
	wn_dedupe_free(d);
}

/* The byte budget covers the cache's own memory per entry (the entry, the
 * malloc headers, the id map), not just the replies: with 8-byte replies,
 * each entry costs well over 64 bytes. */
TEST(budget_counts_entries)
{
	const size_t budget = 8192, reply = 8;
	struct dedupe *d = wn_dedupe_new(60000, budget);
	for (uint64_t id = 1; id <= 1000; id++)
		run_one(d, id, 1000, 'x', reply);
	/* the newest are kept, back to the first one that went */
	size_t kept = 0;
	for (uint64_t id = 1000; id >= 1; id--) {
		uint8_t *out = NULL;
		size_t len = 0;
		int rv = wn_dedupe_begin(d, id, submit, 0, 1000, &out, &len);
		if (rv == DEDUPE_NEW) {
			wn_dedupe_abort(d, id);
			break;
		}
		CHECK_EQ_INT(rv, DEDUPE_DONE);
		CHECK_EQ_INT(len, reply);
		free(out);
		kept++;
	}
	CHECK(kept > 0);
	CHECK(kept * (reply + 64) <= budget);
	wn_dedupe_free(d);
}

TEST(repeat_in_flight_is_not_waited_for)
{
	struct dedupe *d = wn_dedupe_new(60000, 1 << 20);
	uint8_t *out = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	/* executing: a copy learns it at once */
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1000, &out, &len), DEDUPE_RUNNING);
	/* parked: a copy may take its place */
	wn_dedupe_park(d, 9);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1000, &out, &len), DEDUPE_PARKED);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, cancel, 0, 1000, &out, &len), DEDUPE_MISMATCH);
	CHECK(out == NULL);
	wn_dedupe_finish(d, 9, (const uint8_t *)"first", 5);
	CHECK_EQ_INT(wn_dedupe_begin(d, 9, submit, 0, 1000, &out, &len), DEDUPE_DONE);
	CHECK_EQ_INT(len, 5);
	CHECK(out != NULL && memcmp(out, "first", 5) == 0);
	free(out);
	/* a parked request dropped: its id runs afresh */
	CHECK_EQ_INT(wn_dedupe_begin(d, 10, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	wn_dedupe_park(d, 10);
	wn_dedupe_abort(d, 10);
	CHECK_EQ_INT(wn_dedupe_begin(d, 10, submit, 0, 1000, &out, &len), DEDUPE_NEW);
	wn_dedupe_abort(d, 10);
	wn_dedupe_free(d);
}

TEST_MAIN()
