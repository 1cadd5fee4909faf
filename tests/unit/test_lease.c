#include "lease.h"
#include "testclock.h"
#include "util.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

TEST(empty)
{
	wn_leases *l = wn_leases_new();
	uint64_t job;
	uint32_t attempt;
	int64_t exp;
	CHECK_EQ_INT(wn_leases_count(l), 0);
	CHECK(wn_leases_next_due(l) == INT64_MAX);
	CHECK(!wn_leases_pop_expired(l, INT64_MAX, &job, &attempt));
	CHECK_EQ_INT(wn_leases_get(l, 1, &attempt, &exp), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_leases_extend(l, 1, 1, 100), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_leases_remove(l, 1), WN_ENOTFOUND);
	wn_leases_free(l);
	wn_leases_free(NULL);
}

TEST(put_get_replace_remove)
{
	wn_leases *l = wn_leases_new();
	uint32_t attempt;
	int64_t exp;
	wn_leases_put(l, 10, 1, 5000);
	wn_leases_put(l, 11, 2, 3000);
	CHECK_EQ_INT(wn_leases_count(l), 2);
	CHECK_OK(wn_leases_get(l, 10, &attempt, &exp));
	CHECK_EQ_INT(attempt, 1);
	CHECK_EQ_INT(exp, 5000);
	CHECK_EQ_INT(wn_leases_next_due(l), 3000);
	/* A new lease for the same job replaces the old one. */
	wn_leases_put(l, 10, 2, 1000);
	CHECK_EQ_INT(wn_leases_count(l), 2);
	CHECK_OK(wn_leases_get(l, 10, &attempt, &exp));
	CHECK_EQ_INT(attempt, 2);
	CHECK_EQ_INT(exp, 1000);
	CHECK_EQ_INT(wn_leases_next_due(l), 1000);
	CHECK_OK(wn_leases_remove(l, 10));
	CHECK_EQ_INT(wn_leases_remove(l, 10), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_leases_get(l, 10, &attempt, &exp), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_leases_next_due(l), 3000);
	CHECK_OK(wn_leases_remove(l, 11));
	CHECK(wn_leases_next_due(l) == INT64_MAX);
	wn_leases_free(l);
}

TEST(extend_checks_attempt)
{
	wn_leases *l = wn_leases_new();
	uint32_t attempt;
	int64_t exp;
	wn_leases_put(l, 1, 3, 100);
	wn_leases_put(l, 2, 1, 200);
	CHECK_EQ_INT(wn_leases_extend(l, 1, 2, 900), WN_ESTATE);
	CHECK_EQ_INT(wn_leases_extend(l, 1, 4, 900), WN_ESTATE);
	CHECK_OK(wn_leases_get(l, 1, &attempt, &exp));
	CHECK_EQ_INT(exp, 100);
	CHECK_EQ_INT(wn_leases_extend(l, 3, 3, 900), WN_ENOTFOUND);
	CHECK_OK(wn_leases_extend(l, 1, 3, 900));
	CHECK_OK(wn_leases_get(l, 1, &attempt, &exp));
	CHECK_EQ_INT(attempt, 3);
	CHECK_EQ_INT(exp, 900);
	CHECK_EQ_INT(wn_leases_next_due(l), 200);
	/* Extending may also move a lease earlier. */
	CHECK_OK(wn_leases_extend(l, 1, 3, 50));
	CHECK_EQ_INT(wn_leases_next_due(l), 50);
	wn_leases_free(l);
}

TEST(pop_expired_in_expiry_order)
{
	wn_leases *l = wn_leases_new();
	uint64_t job;
	uint32_t attempt;
	wn_leases_put(l, 1, 1, 300);
	wn_leases_put(l, 2, 2, 100);
	wn_leases_put(l, 3, 3, 200);
	wn_leases_put(l, 4, 4, 400);
	CHECK(!wn_leases_pop_expired(l, 99, &job, &attempt));
	CHECK_EQ_INT(wn_leases_count(l), 4);
	CHECK(wn_leases_pop_expired(l, 300, &job, &attempt));
	CHECK_EQ_INT(job, 2);
	CHECK_EQ_INT(attempt, 2);
	CHECK(wn_leases_pop_expired(l, 300, &job, &attempt));
	CHECK_EQ_INT(job, 3);
	CHECK(wn_leases_pop_expired(l, 300, &job, &attempt));
	CHECK_EQ_INT(job, 1);
	CHECK_EQ_INT(attempt, 1);
	/* Expiry equal to now is due; later is not. */
	CHECK(!wn_leases_pop_expired(l, 300, &job, &attempt));
	CHECK_EQ_INT(wn_leases_next_due(l), 400);
	CHECK(wn_leases_pop_expired(l, 400, &job, &attempt));
	CHECK_EQ_INT(job, 4);
	CHECK_EQ_INT(wn_leases_count(l), 0);
	CHECK_EQ_INT(wn_leases_get(l, 4, NULL, NULL), WN_ENOTFOUND);
	wn_leases_free(l);
}

/* Random puts, extends, removes and expiry sweeps with an advancing clock,
 * against a per-job array. Each popped lease must be one with the earliest
 * expiry, and due. */
#define JOBS 500

typedef struct model_lease {
	bool held;
	uint32_t attempt;
	int64_t exp;
} model_lease;

static int64_t model_min(const model_lease *m)
{
	int64_t min = INT64_MAX;
	for (int j = 0; j < JOBS; j++)
		if (m[j].held && m[j].exp < min)
			min = m[j].exp;
	return min;
}

TEST(random_against_model)
{
	static model_lease m[JOBS];
	memset(m, 0, sizeof(m));
	size_t count = 0;
	uint64_t seed = 99;
	int64_t now = 1000;
	wn_leases *l = wn_leases_new();
	for (int step = 0; step < 50000; step++) {
		uint64_t r = rng_next(&seed);
		uint64_t j = (r >> 8) % JOBS;
		int64_t exp = now + (int64_t)((r >> 24) % 2000);
		uint32_t attempt = (uint32_t)((r >> 40) % 3);
		uint32_t got_attempt;
		int64_t got_exp;
		switch (r % 10) {
		case 0:
		case 1:
		case 2:
			count += !m[j].held;
			m[j] = (model_lease){true, attempt, exp};
			wn_leases_put(l, j, attempt, exp);
			break;
		case 3:
		case 4: {
			int want = !m[j].held                ? WN_ENOTFOUND
			           : m[j].attempt != attempt ? WN_ESTATE
			                                     : WN_OK;
			CHECK_EQ_INT(wn_leases_extend(l, j, attempt, exp), want);
			if (want == WN_OK)
				m[j].exp = exp;
			break;
		}
		case 5:
			CHECK_EQ_INT(wn_leases_remove(l, j), m[j].held ? WN_OK : WN_ENOTFOUND);
			count -= m[j].held;
			m[j].held = false;
			break;
		case 6:
			CHECK_EQ_INT(wn_leases_get(l, j, &got_attempt, &got_exp),
			             m[j].held ? WN_OK : WN_ENOTFOUND);
			if (m[j].held) {
				CHECK_EQ_INT(got_attempt, m[j].attempt);
				CHECK_EQ_INT(got_exp, m[j].exp);
			}
			break;
		default: {
			now += (int64_t)((r >> 24) % 300);
			uint64_t job;
			while (wn_leases_pop_expired(l, now, &job, &got_attempt)) {
				CHECK(job < JOBS && m[job].held);
				CHECK(m[job].exp <= now);
				CHECK_EQ_INT(m[job].exp, model_min(m));
				CHECK_EQ_INT(got_attempt, m[job].attempt);
				m[job].held = false;
				count--;
			}
			CHECK(model_min(m) > now);
		}
		}
		CHECK_EQ_INT(wn_leases_count(l), count);
		CHECK_EQ_INT(wn_leases_next_due(l), model_min(m));
	}
	for (uint64_t j = 0; j < JOBS; j++) {
		uint32_t a;
		int64_t e;
		CHECK_EQ_INT(wn_leases_get(l, j, &a, &e), m[j].held ? WN_OK : WN_ENOTFOUND);
		if (m[j].held) {
			CHECK_EQ_INT(a, m[j].attempt);
			CHECK_EQ_INT(e, m[j].exp);
		}
	}
	wn_leases_free(l);
}

/* The test clock's file: a number, else 0; never an offset that overflows
 * the clock or a deadline after it. */
TEST(testclock_offsets)
{
	char path[] = "/tmp/wn-testclock-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	wn_testclock *t = wn_testclock_new(path);
	const char *in[] = {"",
	                    "6000\n",
	                    "-2500",
	                    "abc",
	                    "12x",
	                    "9223372036854775807",
	                    "-9223372036854775808",
	                    "10000000000000",
	                    "10000000000001",
	                    "6000 -500\n",
	                    "0 3600000",
	                    "6000 x",
	                    "6000 10000000000001",
	                    "6000 -500 7"};
	/* the offset of both clocks, then the wall clock's own */
	const int64_t want[] = {0, 6000, -2500, 0, 0, 0, 0, 10000000000000LL, 0, 6000, 0, 0, 0, 0};
	const int64_t wall[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, -500, 3600000, 0, 0, 0};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		fputs(in[i], f);
		fclose(f);
		CHECK(wn_testclock_offset(t) == want[i]);
		int64_t lo = wn_now_ms(), w = wn_testclock_wall(t), hi = wn_now_ms();
		CHECK(w >= lo + want[i] + wall[i] && w <= hi + want[i] + wall[i]);
	}
	unlink(path);
	CHECK(wn_testclock_offset(t) == 0);
	wn_testclock_free(t);
}

TEST(grace_raises_the_early_ones_and_keeps_the_order)
{
	wn_leases *l = wn_leases_new();
	wn_leases_grace(l, 1000); /* none yet: nothing to do */
	CHECK_EQ_INT(wn_leases_count(l), 0);
	uint64_t seed = 7;
	for (uint64_t job = 1; job <= 200; job++)
		wn_leases_put(l, job, 1, (int64_t)(rng_next(&seed) % 2000));
	wn_leases_grace(l, 1000);
	uint32_t attempt;
	int64_t exp;
	for (uint64_t job = 1; job <= 200; job++) {
		CHECK_OK(wn_leases_get(l, job, &attempt, &exp));
		CHECK(exp >= 1000);
	}
	CHECK(wn_leases_next_due(l) == 1000);
	CHECK_OK(wn_leases_extend(l, 5, 1, 999)); /* the heap still works */
	CHECK(wn_leases_next_due(l) == 999);
	/* popped in (expiry, job id) order */
	uint64_t job, prev = 0;
	int64_t last = 0;
	size_t n = 0;
	for (;;) {
		int64_t due = wn_leases_next_due(l);
		if (!wn_leases_pop_expired(l, INT64_MAX, &job, &attempt))
			break;
		CHECK(due > last || (due == last && job > prev));
		last = due;
		prev = job;
		n++;
	}
	CHECK_EQ_INT(n, 200);
	wn_leases_free(l);
}

TEST_MAIN()
