#include "map.h"
#include "test.h"

#include <stdio.h>

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define V(x) ((void *)(uintptr_t)(x))

TEST(u64_put_get_del)
{
	wn_map *m = wn_map_new_u64();
	CHECK_EQ_INT(wn_map_count(m), 0);
	CHECK(wn_map_get_u64(m, 7) == NULL);
	wn_map_put_u64(m, 7, V(70));
	wn_map_put_u64(m, 8, V(80));
	CHECK_EQ_INT(wn_map_count(m), 2);
	CHECK(wn_map_get_u64(m, 7) == V(70));
	CHECK(wn_map_get_u64(m, 8) == V(80));
	wn_map_put_u64(m, 7, V(71));
	CHECK_EQ_INT(wn_map_count(m), 2);
	CHECK(wn_map_get_u64(m, 7) == V(71));
	CHECK(wn_map_del_u64(m, 7) == V(71));
	CHECK(wn_map_del_u64(m, 7) == NULL);
	CHECK(wn_map_get_u64(m, 7) == NULL);
	CHECK_EQ_INT(wn_map_count(m), 1);
	CHECK(wn_map_get_u64(m, 8) == V(80));
	wn_map_free(m);
	wn_map_free(NULL);
}

TEST(u64_extreme_keys)
{
	wn_map *m = wn_map_new_u64();
	CHECK(wn_map_get_u64(m, 0) == NULL);
	CHECK(wn_map_del_u64(m, 0) == NULL);
	wn_map_put_u64(m, 0, V(1));
	wn_map_put_u64(m, UINT64_MAX, V(2));
	CHECK_EQ_INT(wn_map_count(m), 2);
	CHECK(wn_map_get_u64(m, 0) == V(1));
	CHECK(wn_map_get_u64(m, UINT64_MAX) == V(2));
	wn_map_put_u64(m, 0, V(3));
	CHECK_EQ_INT(wn_map_count(m), 2);
	CHECK(wn_map_del_u64(m, 0) == V(3));
	CHECK_EQ_INT(wn_map_count(m), 1);
	CHECK(wn_map_get_u64(m, 0) == NULL);
	wn_map_free(m);
}

TEST(u64_growth_and_strided_keys)
{
	/* Keys sharing their low bits must still spread over the table. */
	wn_map *m = wn_map_new_u64();
	const uint64_t n = 100000;
	for (uint64_t i = 1; i <= n; i++)
		wn_map_put_u64(m, i << 32, V(i));
	CHECK_EQ_INT(wn_map_count(m), n);
	for (uint64_t i = 1; i <= n; i++)
		CHECK(wn_map_get_u64(m, i << 32) == V(i));
	CHECK(wn_map_get_u64(m, (n + 1) << 32) == NULL);
	for (uint64_t i = 1; i <= n; i += 2)
		CHECK(wn_map_del_u64(m, i << 32) == V(i));
	CHECK_EQ_INT(wn_map_count(m), n / 2);
	for (uint64_t i = 1; i <= n; i++)
		CHECK(wn_map_get_u64(m, i << 32) == (i % 2 ? NULL : V(i)));
	wn_map_free(m);
}

TEST(str_put_get_del_owns_keys)
{
	wn_map *m = wn_map_new_str();
	char key[16] = "alpha";
	wn_map_put_str(m, key, V(1));
	strcpy(key, "beta");
	CHECK(wn_map_get_str(m, "alpha") == V(1));
	CHECK(wn_map_get_str(m, "beta") == NULL);
	wn_map_put_str(m, key, V(2));
	wn_map_put_str(m, "", V(3));
	CHECK_EQ_INT(wn_map_count(m), 3);
	CHECK(wn_map_get_str(m, "") == V(3));
	wn_map_put_str(m, "alpha", V(4));
	CHECK_EQ_INT(wn_map_count(m), 3);
	CHECK(wn_map_get_str(m, "alpha") == V(4));
	CHECK(wn_map_get_str(m, "alph") == NULL);
	CHECK(wn_map_get_str(m, "alphaa") == NULL);
	CHECK(wn_map_del_str(m, "alpha") == V(4));
	CHECK(wn_map_del_str(m, "alpha") == NULL);
	CHECK_EQ_INT(wn_map_count(m), 2);
	CHECK(wn_map_get_str(m, "beta") == V(2));
	wn_map_free(m);
}

TEST(str_long_keys)
{
	/* Keys differing only past the first word, or only in length. */
	wn_map *m = wn_map_new_str();
	char buf[200];
	memset(buf, 'x', sizeof(buf));
	for (int len = 0; len < 150; len++) {
		buf[len] = '\0';
		wn_map_put_str(m, buf, V(len + 1));
		buf[len] = 'x';
	}
	for (int i = 0; i < 150; i++) {
		char k[200];
		snprintf(k, sizeof(k), "project-with-a-long-common-prefix-%d", i);
		wn_map_put_str(m, k, V(1000 + i));
	}
	CHECK_EQ_INT(wn_map_count(m), 300);
	for (int len = 0; len < 150; len++) {
		buf[len] = '\0';
		CHECK(wn_map_get_str(m, buf) == V(len + 1));
		buf[len] = 'x';
	}
	for (int i = 0; i < 150; i++) {
		char k[200];
		snprintf(k, sizeof(k), "project-with-a-long-common-prefix-%d", i);
		CHECK(wn_map_get_str(m, k) == V(1000 + i));
	}
	wn_map_free(m);
}

TEST(iteration_visits_each_entry_once)
{
	wn_map *m = wn_map_new_u64();
	size_t pos = 0;
	uint64_t k;
	const char *s = "unset";
	void *v;
	CHECK(!wn_map_next(m, &pos, &k, &s, &v));
	unsigned char seen[1001] = {0};
	for (uint64_t i = 0; i <= 1000; i++)
		wn_map_put_u64(m, i, V(i + 5));
	pos = 0;
	int n = 0;
	while (wn_map_next(m, &pos, &k, &s, &v)) {
		CHECK(k <= 1000);
		CHECK(s == NULL);
		CHECK(v == V(k + 5));
		CHECK_EQ_INT(seen[k], 0);
		seen[k] = 1;
		n++;
	}
	CHECK_EQ_INT(n, 1001);
	CHECK(!wn_map_next(m, &pos, &k, &s, &v));
	wn_map_free(m);

	m = wn_map_new_str();
	wn_map_put_str(m, "a", V(1));
	wn_map_put_str(m, "b", V(2));
	wn_map_put_str(m, "c", V(3));
	wn_map_del_str(m, "b");
	pos = 0;
	int mask = 0;
	while (wn_map_next(m, &pos, NULL, &s, &v)) {
		CHECK(s != NULL && s[1] == '\0');
		CHECK(v == V(s[0] - 'a' + 1));
		mask |= 1 << (s[0] - 'a');
	}
	CHECK_EQ_INT(mask, 5);
	wn_map_free(m);
}

/* Random puts, gets and deletes on a small key space (so runs collide and
 * deletions shift entries), checked against a plain array after each step
 * and by a full iteration at checkpoints. */
#define MODEL_KEYS 3000

static void check_u64_model(const wn_map *m, const uintptr_t *model, size_t count)
{
	CHECK_EQ_INT(wn_map_count(m), count);
	static unsigned char seen[MODEL_KEYS];
	memset(seen, 0, sizeof(seen));
	size_t pos = 0, n = 0;
	uint64_t k;
	void *v;
	while (wn_map_next(m, &pos, &k, NULL, &v)) {
		CHECK(k < MODEL_KEYS);
		CHECK(!seen[k]);
		seen[k] = 1;
		CHECK_EQ_INT((uintptr_t)v, model[k]);
		n++;
	}
	CHECK_EQ_INT(n, count);
}

TEST(u64_random_against_model)
{
	static uintptr_t model[MODEL_KEYS]; /* 0 = absent */
	memset(model, 0, sizeof(model));
	size_t count = 0;
	uint64_t seed = 42;
	wn_map *m = wn_map_new_u64();
	for (int step = 0; step < 200000; step++) {
		uint64_t r = rng_next(&seed);
		/* The key space widens over time so the table grows mid-test. */
		uint64_t span = step < 50000 ? 300 : MODEL_KEYS;
		uint64_t k = (r >> 8) % span;
		switch (r % 8) {
		case 0:
		case 1:
		case 2: {
			uintptr_t v = (uintptr_t)(step + 1);
			count += model[k] == 0;
			model[k] = v;
			wn_map_put_u64(m, k, V(v));
			break;
		}
		case 3:
		case 4: {
			CHECK_EQ_INT((uintptr_t)wn_map_del_u64(m, k), model[k]);
			count -= model[k] != 0;
			model[k] = 0;
			break;
		}
		default:
			CHECK_EQ_INT((uintptr_t)wn_map_get_u64(m, k), model[k]);
		}
		CHECK_EQ_INT(wn_map_count(m), count);
		if (step % 5000 == 0)
			check_u64_model(m, model, count);
	}
	check_u64_model(m, model, count);
	for (uint64_t k = 0; k < MODEL_KEYS; k++)
		CHECK_EQ_INT((uintptr_t)wn_map_get_u64(m, k), model[k]);
	wn_map_free(m);
}

TEST(str_random_against_model)
{
	static uintptr_t model[MODEL_KEYS];
	memset(model, 0, sizeof(model));
	size_t count = 0;
	uint64_t seed = 7;
	wn_map *m = wn_map_new_str();
	char key[32];
	for (int step = 0; step < 100000; step++) {
		uint64_t r = rng_next(&seed);
		uint64_t k = (r >> 8) % (step < 30000 ? 200 : MODEL_KEYS);
		snprintf(key, sizeof(key), "job-%" PRIu64, k);
		switch (r % 8) {
		case 0:
		case 1:
		case 2:
			count += model[k] == 0;
			model[k] = (uintptr_t)(step + 1);
			wn_map_put_str(m, key, V(model[k]));
			break;
		case 3:
		case 4:
			CHECK_EQ_INT((uintptr_t)wn_map_del_str(m, key), model[k]);
			count -= model[k] != 0;
			model[k] = 0;
			break;
		default:
			CHECK_EQ_INT((uintptr_t)wn_map_get_str(m, key), model[k]);
		}
		CHECK_EQ_INT(wn_map_count(m), count);
	}
	size_t pos = 0, n = 0;
	const char *s;
	void *v;
	while (wn_map_next(m, &pos, NULL, &s, &v)) {
		uint64_t k;
		CHECK(sscanf(s, "job-%" SCNu64, &k) == 1 && k < MODEL_KEYS);
		CHECK_EQ_INT((uintptr_t)v, model[k]);
		n++;
	}
	CHECK_EQ_INT(n, count);
	wn_map_free(m);
}

TEST_MAIN()
