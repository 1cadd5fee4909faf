/* Unit tests for the key schema (keys.c): the bytes of every key kind, as
 * the data directories of earlier servers hold them, and the printable names
 * of `wnd --check` and wnstore. */
#include "keys.h"
#include "test.h"

/* key_is checks that the key built (kl bytes of key) is exactly want (wl bytes). */
static void key_is(const char *key, size_t kl, const char *want, size_t wl)
{
	CHECK_EQ_INT(kl, wl);
	CHECK(memcmp(key, want, wl) == 0);
}

TEST(keys_have_the_stored_bytes)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, "ml");
	key_is(key, kl, "p/ml", 4);
	kl = wn_key_task(key, "ml", "train");
	key_is(key, kl, "t/ml/train", 10);
	kl = wn_key_task_prefix(key, "ml");
	key_is(key, kl, "t/ml/", 5);
	kl = wn_key_worker(key, "w1");
	key_is(key, kl, "w/w1", 4);
	kl = wn_key_job(key, 0x0102030405060708ULL);
	key_is(key, kl, "j/\x01\x02\x03\x04\x05\x06\x07\x08", 10);
	kl = wn_key_sweep(key, 7);
	key_is(key, kl, "s/\0\0\0\0\0\0\0\x07", 10);
	kl = wn_key_req(key, 256);
	key_is(key, kl, "i/\0\0\0\0\0\0\x01\0", 10);
	key_is(WN_KEY_VERSION, WN_KEY_VERSION_LEN, "m/version", 9);
	key_is(WN_KEY_NEXT_ID, WN_KEY_NEXT_ID_LEN, "m/next_id", 9);
	kl = wn_key_prefix_end(key, WN_KEY_JOB);
	key_is(key, kl, "j0", 2);
	CHECK_EQ_STR(wn_key_prefix(WN_KEY_ASIDE), "x/");
}

TEST(keys_of_what_a_job_reported_are_named_by_its_id)
{
	char key[WN_KEY_MAX], name[64], back[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, 42), bl = 0;
	key_is(key, kl, "r/\0\0\0\0\0\0\0\x2a", 10);
	wn_key_name(name, sizeof(name), key, kl);
	CHECK_EQ_STR(name, "r/42");
	kl = wn_key_of_job(key, WN_KEY_LOG, 42);
	memcpy(key + kl, "\0\0\0\0\0\0\1\0", 8);
	kl += 8;
	wn_key_name(name, sizeof(name), key, kl);
	CHECK_EQ_STR(name, "o/42/\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00");
	CHECK(wn_key_parse_name(name, back, sizeof(back), &bl));
	key_is(back, bl, key, kl);
	kl = wn_key_of_job(key, WN_KEY_BLOB, 7);
	memcpy(key + kl, "a.txt", 5);
	kl += 5;
	wn_key_name(name, sizeof(name), key, kl);
	CHECK_EQ_STR(name, "b/7/a.txt");
	CHECK(wn_key_parse_name(name, back, sizeof(back), &bl));
	key_is(back, bl, key, kl);
	CHECK(!wn_key_parse_name("b/x/a.txt", back, sizeof(back), &bl));
}

TEST(job_keys_sort_by_id)
{
	char a[WN_KEY_MAX], b[WN_KEY_MAX];
	wn_key_job(a, 255);
	wn_key_job(b, 256);
	CHECK(memcmp(a, b, WN_KEY_ID_LEN) < 0);
	CHECK_EQ_INT(wn_key_id(b), 256);
	/* 256 consecutive ids share the group prefix */
	CHECK(memcmp(a, b, WN_KEY_JOB_GROUP_LEN) != 0);
	wn_key_job(a, 257);
	CHECK(memcmp(a, b, WN_KEY_JOB_GROUP_LEN) == 0);
}

TEST(kinds_are_read_from_the_prefix)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, 3);
	CHECK_EQ_INT(wn_key_kind(key, kl), WN_KEY_JOB);
	CHECK(wn_key_is_id(key, kl, WN_KEY_JOB));
	CHECK(!wn_key_is_id(key, kl, WN_KEY_SWEEP));
	CHECK(!wn_key_is_id(key, kl - 1, WN_KEY_JOB));
	CHECK_EQ_INT(wn_key_kind("t/a/b", 5), WN_KEY_TASK);
	CHECK_EQ_INT(wn_key_kind("m/version", 9), WN_KEY_META);
	CHECK_EQ_INT(wn_key_kind("q/x", 3), 0);
	CHECK_EQ_INT(wn_key_kind("j", 1), 0);
	CHECK_EQ_INT(wn_key_kind("jx", 2), 0);
}

TEST(key_names_are_printable)
{
	char buf[128], key[WN_KEY_MAX];
	wn_key_job(key, 42);
	wn_key_name(buf, sizeof(buf), key, 10);
	CHECK_EQ_STR(buf, "j/42");
	char x[12] = "x/";
	wn_key_sweep(x + 2, 7);
	wn_key_name(buf, sizeof(buf), x, 12);
	CHECK_EQ_STR(buf, "x/s/7");
	wn_key_name(buf, sizeof(buf), "p/a\nb\\", 6);
	CHECK_EQ_STR(buf, "p/a\\x0ab\\x5c");
	wn_key_id_name(buf, sizeof(buf), WN_KEY_REQ, 9);
	CHECK_EQ_STR(buf, "i/9");
}

TEST(names_parse_back_to_keys)
{
	const char *names[] = {
	    "j/42",      "s/7",   "i/18446744073709551615", "x/j/3", "p/a\\x0ab\\x5c", "t/ml/train",
	    "m/next_id", "x/w/w1"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char key[WN_KEY_MAX], back[128];
		size_t kl = 0;
		CHECK(wn_key_parse_name(names[i], key, sizeof(key), &kl));
		wn_key_name(back, sizeof(back), key, kl);
		CHECK_EQ_STR(back, names[i]);
	}
	char key[WN_KEY_MAX];
	size_t kl = 0;
	CHECK(!wn_key_parse_name("j/12x", key, sizeof(key), &kl));
	CHECK(!wn_key_parse_name("j/-1", key, sizeof(key), &kl));
	CHECK(!wn_key_parse_name("", key, sizeof(key), &kl));
	CHECK(!wn_key_parse_name("p/abcdef", key, 4, &kl));
}

TEST(aside_keys_hold_the_key)
{
	char key[WN_KEY_MAX], aside[WN_KEY_MAX + 2];
	size_t kl = wn_key_job(key, 5);
	size_t al = wn_key_aside(aside, key, kl);
	key_is(aside, al, "x/j/\0\0\0\0\0\0\0\x05", 12);
	CHECK_EQ_INT(wn_key_kind(aside, al), WN_KEY_ASIDE);
}

TEST_MAIN()
