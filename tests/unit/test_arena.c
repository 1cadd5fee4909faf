#include "arena.h"
#include "test.h"

#include <stdalign.h>

/* trim_settle leaves nothing to trim: two calls with no large arena freed
 * in between trim whatever earlier cases left. */
static void trim_settle(void)
{
	wn_arena_trim();
	wn_arena_trim();
}

/* free_large frees an arena that served a large request. */
static void free_large(void)
{
	wn_arena *a = wn_arena_new();
	for (int i = 0; i < 80; i++)
		wn_arena_alloc(a, 16000);
	wn_arena_free(a);
}

TEST(alloc_zeroed_aligned)
{
	wn_arena *a = wn_arena_new();
	for (size_t n = 1; n < 3000; n += 97) {
		unsigned char *p = wn_arena_alloc(a, n);
		CHECK((uintptr_t)p % alignof(max_align_t) == 0);
		for (size_t i = 0; i < n; i++)
			CHECK(p[i] == 0);
		memset(p, 0xa5, n);
	}
	/* a block larger than a chunk, then small ones again */
	char *big = wn_arena_alloc(a, 100000);
	memset(big, 1, 100000);
	char *s = wn_arena_strdup(a, "after the large block");
	CHECK_EQ_STR(s, "after the large block");
	CHECK(big[99999] == 1);
	wn_arena_free(a);
	wn_arena_free(NULL);
}

TEST(printf_short_and_long)
{
	wn_arena *a = wn_arena_new();
	CHECK_EQ_STR(wn_arena_printf(a, "%s-%d", "job", 7), "job-7");
	char want[1001];
	memset(want, 'x', 1000);
	want[1000] = '\0';
	CHECK_EQ_STR(wn_arena_printf(a, "%s", want), want);
	wn_arena_free(a);
}

TEST(trim_after_large_requests_pause)
{
	trim_settle();
	CHECK(!wn_arena_trim());
	/* small requests leave nothing to trim */
	wn_arena *a = wn_arena_new();
	wn_arena_alloc(a, 1000);
	wn_arena_free(a);
	CHECK(!wn_arena_trim());
	CHECK(!wn_arena_trim());
	/* a large one: not while more may follow, then once */
	free_large();
	CHECK(!wn_arena_trim());
	CHECK(wn_arena_trim());
	CHECK(!wn_arena_trim());
	CHECK(!wn_arena_trim());
}

TEST(trim_during_long_burst)
{
	trim_settle();
	/* large requests between every two calls: every 20th call trims */
	int trims = 0, first = 0;
	for (int i = 1; i <= 65; i++) {
		free_large();
		if (wn_arena_trim()) {
			trims++;
			if (first == 0)
				first = i;
		}
	}
	CHECK_EQ_INT(trims, 3);
	CHECK_EQ_INT(first, 20);
	/* the burst ends: one more trim */
	CHECK(wn_arena_trim());
	CHECK(!wn_arena_trim());
}

TEST_MAIN()
