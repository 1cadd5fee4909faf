#include "index.h"
#include "util.h"
#include "test.h"

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* model_before is dispatch order written out independently of the index:
 * higher priority first, then lower id. */
static bool model_before(int32_t pa, uint64_t ia, int32_t pb, uint64_t ib)
{
	if (pa != pb)
		return pa > pb;
	return ia < ib;
}

/* check_walk compares a full walk of ix with want[0..n). */
static void check_walk(const wn_index *ix, const wn_index_entry *want, size_t n)
{
	CHECK_EQ_INT(wn_index_count(ix), n);
	wn_index_iter it;
	wn_index_entry e;
	size_t i = 0;
	wn_index_iter_init(ix, &it);
	while (wn_index_iter_next(&it, &e)) {
		CHECK(i < n);
		CHECK_EQ_INT(e.priority, want[i].priority);
		CHECK_EQ_INT(e.id, want[i].id);
		i++;
	}
	CHECK_EQ_INT(i, n);
	CHECK(!wn_index_iter_next(&it, &e));
}

TEST(empty)
{
	wn_index *ix = wn_index_new();
	wn_index_entry e;
	CHECK(!wn_index_first(ix, &e));
	CHECK_EQ_INT(wn_index_count(ix), 0);
	check_walk(ix, NULL, 0);
	CHECK_EQ_INT(wn_index_remove(ix, 0, 1), WN_ENOTFOUND);
	wn_index_free(ix);
	wn_index_free(NULL);
}

TEST(priority_then_fifo)
{
	wn_index *ix = wn_index_new();
	CHECK_OK(wn_index_insert(ix, 0, 5));
	CHECK_OK(wn_index_insert(ix, 0, 3));
	CHECK_OK(wn_index_insert(ix, 10, 9));
	CHECK_OK(wn_index_insert(ix, -2, 1));
	CHECK_OK(wn_index_insert(ix, 10, 4));
	CHECK_OK(wn_index_insert(ix, 0, 4));
	const wn_index_entry want[] = {{10, 4}, {10, 9}, {0, 3}, {0, 4}, {0, 5}, {-2, 1}};
	check_walk(ix, want, WN_ARRAY_LEN(want));
	wn_index_entry e;
	CHECK(wn_index_first(ix, &e));
	CHECK_EQ_INT(e.priority, 10);
	CHECK_EQ_INT(e.id, 4);
	wn_index_free(ix);
}

TEST(duplicate_and_absent)
{
	wn_index *ix = wn_index_new();
	CHECK_OK(wn_index_insert(ix, 3, 7));
	CHECK_EQ_INT(wn_index_insert(ix, 3, 7), WN_EEXIST);
	/* The same id at another priority is another entry. */
	CHECK_OK(wn_index_insert(ix, 4, 7));
	CHECK_EQ_INT(wn_index_count(ix), 2);
	CHECK_EQ_INT(wn_index_remove(ix, 3, 8), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_index_remove(ix, 5, 7), WN_ENOTFOUND);
	CHECK_OK(wn_index_remove(ix, 3, 7));
	CHECK_EQ_INT(wn_index_remove(ix, 3, 7), WN_ENOTFOUND);
	const wn_index_entry want[] = {{4, 7}};
	check_walk(ix, want, 1);
	CHECK_OK(wn_index_remove(ix, 4, 7));
	check_walk(ix, NULL, 0);
	/* Usable again once emptied. */
	CHECK_OK(wn_index_insert(ix, 1, 1));
	check_walk(ix, (const wn_index_entry[]){{1, 1}}, 1);
	wn_index_free(ix);
}

TEST(extreme_values)
{
	wn_index *ix = wn_index_new();
	CHECK_OK(wn_index_insert(ix, INT32_MIN, 0));
	CHECK_OK(wn_index_insert(ix, INT32_MAX, UINT64_MAX));
	CHECK_OK(wn_index_insert(ix, INT32_MAX, 0));
	CHECK_OK(wn_index_insert(ix, INT32_MIN, UINT64_MAX));
	CHECK_OK(wn_index_insert(ix, -1, 1ULL << 63));
	CHECK_OK(wn_index_insert(ix, -1, 1));
	const wn_index_entry want[] = {{INT32_MAX, 0}, {INT32_MAX, UINT64_MAX},
	                               {-1, 1},        {-1, 1ULL << 63},
	                               {INT32_MIN, 0}, {INT32_MIN, UINT64_MAX}};
	check_walk(ix, want, WN_ARRAY_LEN(want));
	wn_index_free(ix);
}

TEST(before)
{
	const wn_index_entry hi = {5, 100}, lo = {4, 1}, early = {5, 99}, neg = {-5, 0};
	CHECK(wn_index_before(&hi, &lo));
	CHECK(!wn_index_before(&lo, &hi));
	CHECK(wn_index_before(&early, &hi));
	CHECK(!wn_index_before(&hi, &early));
	CHECK(!wn_index_before(&hi, &hi));
	CHECK(wn_index_before(&lo, &neg));
	CHECK(!wn_index_before(&neg, &lo));
}

TEST(drain_in_order)
{
	/* Ids inserted in a scrambled order come out priority-major, FIFO within. */
	wn_index *ix = wn_index_new();
	const uint64_t n = 50000;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t id = (i * 7919) % n;
		CHECK_OK(wn_index_insert(ix, (int32_t)(id % 5), id));
	}
	wn_index_entry prev = {0, 0}, e;
	for (uint64_t i = 0; i < n; i++) {
		CHECK(wn_index_first(ix, &e));
		if (i > 0)
			CHECK(model_before(prev.priority, prev.id, e.priority, e.id));
		CHECK_OK(wn_index_remove(ix, e.priority, e.id));
		prev = e;
	}
	CHECK(!wn_index_first(ix, &e));
	wn_index_free(ix);
}

/* Random inserts and removes on a small domain, so duplicates and absent
 * removals are common, against a sorted array kept with model_before. */
#define MODEL_MAX 4000

static size_t model_find(const wn_index_entry *m, size_t n, int32_t p, uint64_t id, bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (model_before(m[mid].priority, m[mid].id, p, id))
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && m[lo].priority == p && m[lo].id == id;
	return lo;
}

TEST(random_against_model)
{
	static wn_index_entry model[MODEL_MAX];
	size_t n = 0;
	uint64_t seed = 2024;
	wn_index *ix = wn_index_new();
	for (int step = 0; step < 60000; step++) {
		uint64_t r = rng_next(&seed);
		int32_t p = (int32_t)((r >> 8) % 7) - 3;
		uint64_t id = (r >> 16) % 1500;
		bool found;
		size_t at = model_find(model, n, p, id, &found);
		/* Inserts win slightly until the model is large, then removes. */
		bool insert = (r % 100) < (n < 1500 ? 60u : 40u);
		if (insert) {
			if (found) {
				CHECK_EQ_INT(wn_index_insert(ix, p, id), WN_EEXIST);
			} else {
				CHECK(n < MODEL_MAX);
				CHECK_OK(wn_index_insert(ix, p, id));
				memmove(&model[at + 1], &model[at], (n - at) * sizeof(*model));
				model[at] = (wn_index_entry){p, id};
				n++;
			}
		} else if (r % 3 == 0 && n > 0) {
			/* Remove the head, as a fetch does. */
			wn_index_entry e;
			CHECK(wn_index_first(ix, &e));
			CHECK_OK(wn_index_remove(ix, e.priority, e.id));
			CHECK_EQ_INT(e.priority, model[0].priority);
			CHECK_EQ_INT(e.id, model[0].id);
			memmove(&model[0], &model[1], (n - 1) * sizeof(*model));
			n--;
		} else if (found) {
			CHECK_OK(wn_index_remove(ix, p, id));
			memmove(&model[at], &model[at + 1], (n - at - 1) * sizeof(*model));
			n--;
		} else {
			CHECK_EQ_INT(wn_index_remove(ix, p, id), WN_ENOTFOUND);
		}
		CHECK_EQ_INT(wn_index_count(ix), n);
		wn_index_entry e;
		CHECK_EQ_INT(wn_index_first(ix, &e), n > 0);
		if (n > 0) {
			CHECK_EQ_INT(e.priority, model[0].priority);
			CHECK_EQ_INT(e.id, model[0].id);
		}
		if (step % 1000 == 0)
			check_walk(ix, model, n);
	}
	check_walk(ix, model, n);
	/* Empty it completely, then check it is still consistent. */
	while (n > 0) {
		CHECK_OK(wn_index_remove(ix, model[n - 1].priority, model[n - 1].id));
		n--;
	}
	check_walk(ix, model, 0);
	CHECK_OK(wn_index_insert(ix, 0, 1));
	check_walk(ix, (const wn_index_entry[]){{0, 1}}, 1);
	wn_index_free(ix);
}

TEST_MAIN()
