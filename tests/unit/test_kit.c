/* Unit tests of the common kit: the string buffer, argv arrays, path joining,
 * one-line text and memory sizes. */
#include "err.h"
#include "kit.h"
#include "status.h"
#include "strbuf.h"
#include "test.h"
#include "whatsnext.pb-c.h"

#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(a_string_buffer_grows_and_hands_over_its_text)
{
	wn_strbuf b = WN_STRBUF_INIT;
	CHECK_EQ_STR(wn_strbuf_str(&b), "");
	wn_strbuf_adds(&b, "job");
	wn_strbuf_addc(&b, ' ');
	wn_strbuf_addf(&b, "%d of %s", 7, "sweep");
	wn_strbuf_add(&b, "!?", 1);
	CHECK_EQ_STR(wn_strbuf_str(&b), "job 7 of sweep!");
	CHECK_EQ_INT(b.len, strlen("job 7 of sweep!"));
	for (int i = 0; i < 10000; i++)
		wn_strbuf_addf(&b, "%05d", i);
	CHECK_EQ_INT(b.len, 15 + 50000);
	CHECK(memcmp(b.s + b.len - 5, "09999", 5) == 0);
	CHECK_EQ_INT(b.s[b.len], '\0');
	char *s = wn_strbuf_take(&b);
	CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
	CHECK_EQ_INT(strlen(s), 15 + 50000);
	free(s);
}

TEST(an_empty_string_buffer_takes_an_empty_string)
{
	wn_strbuf b = WN_STRBUF_INIT;
	char *s = wn_strbuf_take(&b);
	CHECK_EQ_STR(s, "");
	free(s);
	wn_strbuf_free(&b); /* a no-op on an empty buffer */
	wn_strbuf_add(&b, "", 0);
	CHECK_EQ_STR(wn_strbuf_str(&b), "");
	wn_strbuf_free(&b);
	CHECK(b.s == NULL);
}

TEST(a_long_formatted_string_is_whole)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, "x");
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	wn_strbuf_addf(&b, "<%s>", big);
	CHECK_EQ_INT(b.len, 1 + 2 + 4999);
	CHECK_EQ_INT(b.s[b.len - 1], '>');
	CHECK_EQ_INT(b.s[1], '<');
	wn_strbuf_free(&b);
}

TEST(a_reset_buffer_keeps_its_memory)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_reset(&b); /* on an empty buffer too */
	wn_strbuf_adds(&b, "first");
	char *mem = b.s;
	wn_strbuf_reset(&b);
	CHECK_EQ_STR(wn_strbuf_str(&b), "");
	CHECK_EQ_INT(b.len, 0);
	wn_strbuf_adds(&b, "second");
	CHECK(b.s == mem);
	CHECK_EQ_STR(b.s, "second");
	wn_strbuf_free(&b);
}

TEST(an_argv_stays_null_terminated)
{
	wn_argv a = {0};
	CHECK(a.v == NULL);
	wn_argv_push(&a, strdup("runai"));
	CHECK(a.v[1] == NULL);
	wn_argv_push(&a, strdup("submit"));
	wn_argv_push(&a, strdup("--name"));
	CHECK_EQ_INT(a.n, 3);
	CHECK_EQ_STR(a.v[0], "runai");
	CHECK_EQ_STR(a.v[2], "--name");
	CHECK(a.v[3] == NULL);
	wn_argv_free(a.v);
	wn_argv_free(NULL);
}

TEST(paths_join_with_one_slash)
{
	static const struct {
		const char *base, *path, *want;
	} cases[] = {
	    {"/var/log/wn", "job-1.log", "/var/log/wn/job-1.log"},
	    {"/var/log/wn/", "job-1.log", "/var/log/wn/job-1.log"},
	    {"logs", "a/b.log", "logs/a/b.log"},
	    {"/var/log/wn", "/tmp/abs.log", "/tmp/abs.log"},
	    {"", "rel.log", "rel.log"},
	    {NULL, "rel.log", "rel.log"},
	    {"/", "x", "/x"},
	    {".", "x", "./x"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = wn_path_join(cases[i].base, cases[i].path);
		CHECK_EQ_STR(p, cases[i].want);
		free(p);
	}
}

TEST(one_line_joins_the_meaningful_lines)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"sbatch: error: Batch job submission failed\n",
	     "sbatch: error: Batch job submission failed"},
	    {"  first  \n\n\t\r\nsecond\r\n   \nthird", "first; second; third"},
	    {"", ""},
	    {"\n\n \t \n", ""},
	    {"one", "one"},
	    {"a\v\fb\n", "a\v\fb"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = wn_one_line(cases[i].text, 1000);
		CHECK_EQ_STR(s, cases[i].want);
		free(s);
	}
	char *s = wn_one_line(NULL, 1000);
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(one_line_cuts_long_text_and_says_so)
{
	char text[3000];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	char *s = wn_one_line(text, 1000);
	CHECK_EQ_INT(strlen(s), 1000);
	CHECK_EQ_STR(s + 997, "...");
	CHECK_EQ_INT(s[996], 'x');
	free(s);
	/* exactly max bytes is not cut */
	text[10] = '\0';
	s = wn_one_line(text, 10);
	CHECK_EQ_STR(s, "xxxxxxxxxx");
	free(s);
	s = wn_one_line("abcdefghijk", 10);
	CHECK_EQ_STR(s, "abcdefg...");
	free(s);
}

TEST(one_line_never_cuts_a_character_in_two)
{
	/* "é" is two bytes: the cut at byte 7 would land inside the fourth one */
	char *s = wn_one_line("abcdé\xc3\xa9\xc3\xa9xyz", 10);
	CHECK_EQ_STR(s, "abcd\xc3\xa9...");
	free(s);
	s = wn_one_line("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8);
	CHECK_EQ_STR(s, "\xe2\x82\xac...");
	free(s);
}

TEST(unsigned_integers_are_digits_alone_up_to_the_largest)
{
	uint64_t v = 7;
	CHECK_OK(wn_parse_u64("0", 1, &v));
	CHECK(v == 0);
	CHECK_OK(wn_parse_u64("18446744073709551615", 20, &v));
	CHECK(v == UINT64_MAX);
	CHECK_OK(wn_parse_u64("42:afterok", 2, &v)); /* only the n bytes given */
	CHECK(v == 42);
	CHECK_EQ_INT(wn_parse_u64("18446744073709551616", 20, &v), WN_ETOOBIG);
	CHECK_EQ_INT(wn_parse_u64("99999999999999999999999", 23, &v), WN_ETOOBIG);
	CHECK(v == 42); /* untouched on failure */
	const char *bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "١"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(wn_parse_u64(bad[i], strlen(bad[i]), &v), WN_EINVAL);
	CHECK(v == 42);
}

TEST(sizes_in_mib)
{
	static const struct {
		const char *text;
		uint64_t mib;
	} ok[] = {
	    {"512", 512},
	    {"512M", 512},
	    {"512mb", 512},
	    {"512MiB", 512},
	    {"1.5G", 1536},
	    {"1.5g", 1536},
	    {"16GB", 16384},
	    {"16GiB", 16384},
	    {"2T", 2097152},
	    {"2tib", 2097152},
	    {"0", 0},
	    {"0.0", 0},
	    {".5G", 512},
	    {"1.", 1},
	    {"0.4", 0},
	    {"0.5", 1},
	    {"1.0009765625G", 1025},
	    {"007", 7},
	    {"0.000000000000000000000000000000000001T", 0},
	    {"9007199254740992", 9007199254740992ull},
	    {"8796093022208G", 9007199254740992ull},
	    {"8589934592T", 9007199254740992ull},
	    {"9007199254740991.5", 9007199254740992ull},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t mib = 12345;
		int rc = wn_size_parse(ok[i].text, &mib);
		if (rc != WN_OK)
			wn_test_fail(__FILE__, __LINE__, "'%s' is refused", ok[i].text);
		CHECK_EQ_INT(mib, ok[i].mib);
	}
}

TEST(sizes_that_are_not_sizes_are_refused)
{
	static const char *const bad[] = {
	    "",
	    "-1",
	    "+1",
	    "1e3",
	    "1E3",
	    "0x10",
	    "1e400",
	    "inf",
	    "nan",
	    ".",
	    "G",
	    "lots",
	    "16X",
	    "16 G",
	    " 16",
	    "16 ",
	    "16\n",
	    "1.5.3",
	    "1,5G",
	    "16GBB",
	    "16K",
	    "16B",
	    "9007199254740993",
	    "8796093022209G",
	    "9007199254740992.5",
	    "18446744073709551615",
	    "18446744073709551616",
	    "99999999999999999999999999999999999999",
	    "8589934593T",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t mib = 12345;
		if (wn_size_parse(bad[i], &mib) != WN_EINVAL)
			wn_test_fail(__FILE__, __LINE__, "'%s' is accepted", bad[i]);
		CHECK_EQ_INT(mib, 12345);
	}
	uint64_t mib = 1;
	CHECK_EQ_INT(wn_size_parse(NULL, &mib), WN_EINVAL);
	/* a NUL ends the text: what follows it is not read */
	CHECK_OK(wn_size_parse("2G\0junk", &mib));
	CHECK_EQ_INT(mib, 2048);
}

/* write_file writes n bytes of c to path. */
static void write_file(const char *path, size_t n, char c)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	for (size_t i = 0; i < n; i++)
		CHECK(fputc(c, f) == c);
	CHECK(fclose(f) == 0);
}

TEST(a_stream_is_read_whole_up_to_its_limit)
{
	static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 100000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file("f", sizes[i], 'y');
		FILE *f = fopen("f", "rb");
		char *text = NULL;
		size_t len = 7;
		CHECK_OK(wn_read_all(f, 100000, &text, &len));
		fclose(f);
		CHECK_EQ_INT(len, sizes[i]);
		CHECK_EQ_INT(strlen(text), sizes[i]);
		CHECK(sizes[i] == 0 || (text[0] == 'y' && text[len - 1] == 'y'));
		free(text);
	}
	write_file("f", 100001, 'y');
	FILE *f = fopen("f", "rb");
	char *text = (char *)"untouched";
	size_t len = 7;
	CHECK_EQ_INT(wn_read_all(f, 100000, &text, &len), WN_ETOOBIG);
	CHECK_EQ_STR(text, "untouched");
	CHECK_EQ_INT(len, 7);
	fclose(f);
	write_file("f", 3, 'y');
	f = fopen("f", "rb");
	CHECK_EQ_INT(wn_read_all(f, 2, &text, &len), WN_ETOOBIG);
	fclose(f);
}

TEST(a_stream_that_cannot_be_read_is_an_io_error)
{
	FILE *f = fopen("f", "wb"); /* open for writing only: reading fails */
	CHECK(f != NULL);
	char *text = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wn_read_all(f, 100, &text, &len), WN_EIO);
	CHECK(text == NULL);
	fclose(f);
}

TEST(hex_digits_have_their_values)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		CHECK_EQ_INT(wn_hex_digit(digits[i]), i);
		CHECK_EQ_INT(wn_hex_digit(toupper((unsigned char)digits[i])), i);
	}
	for (int c = -1; c < 256; c++)
		if (strchr("0123456789abcdefABCDEF", c) == NULL || c == 0)
			CHECK_EQ_INT(wn_hex_digit(c), -1);
}

TEST(job_statuses_are_named_as_the_proto_names_them)
{
	static const char *const want[] = {"UNSPECIFIED", "PENDING", "RUNNING",  "COMPLETED",
	                                   "FAILED",      "BLOCKED", "CANCELLED"};
	for (int st = 0; st < (int)(sizeof(want) / sizeof(want[0])); st++)
		CHECK_EQ_STR(wn_status_name(st), want[st]);
	CHECK_EQ_STR(wn_status_name(WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED), "BLOCKED");
	CHECK_EQ_STR(wn_status_name(7), "UNKNOWN");
	CHECK_EQ_STR(wn_status_name(-1), "UNKNOWN");
}

TEST(names_join_and_numbers_print_without_printf)
{
	char buf[8];
	CHECK_EQ_INT(wn_join(buf, sizeof(buf), "ab", '/', "cd"), 5);
	CHECK_EQ_STR(buf, "ab/cd");
	CHECK_EQ_INT(wn_join(buf, sizeof(buf), "ab", '\0', "cd"), 4);
	CHECK_EQ_STR(buf, "abcd");
	CHECK_EQ_INT(wn_join(buf, sizeof(buf), "abcde", '#', "fghij"), 7); /* cut short */
	CHECK_EQ_STR(buf, "abcde#f");
	CHECK_EQ_INT(wn_join(buf, 1, "a", '/', "b"), 0);
	CHECK_EQ_STR(buf, "");
	char num[21];
	CHECK_EQ_INT(wn_u64_text(num, 0), 1);
	CHECK_EQ_STR(num, "0");
	CHECK_EQ_INT(wn_u64_text(num, 1024), 4);
	CHECK_EQ_STR(num, "1024");
	CHECK_EQ_INT(wn_u64_text(num, UINT64_MAX), 20);
	CHECK_EQ_STR(num, "18446744073709551615");
}

/* ids_of fills v with n request ids of this thread. */
static void ids_of(uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = wn_request_id();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void *ids_thread(void *arg)
{
	ids_of(arg, 1000);
	return NULL;
}

TEST(request_ids_are_odd_and_do_not_repeat_across_threads_and_forks)
{
	/* 1000 of this thread, 1000 of another, 1000 of a forked child (whose
	 * parent's stream would repeat) and 1000 more here */
	uint64_t *v = wn_xcalloc(4000, sizeof(*v));
	ids_of(v, 1000);
	pthread_t t;
	CHECK_EQ_INT(pthread_create(&t, NULL, ids_thread, v + 1000), 0);
	pthread_join(t, NULL);
	int fds[2];
	CHECK_EQ_INT(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t w[1000];
		ids_of(w, 1000);
		_exit(write(fds[1], w, sizeof(w)) == (ssize_t)sizeof(w) ? 0 : 1);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t n;
	while ((n = read(fds[0], (uint8_t *)(v + 2000) + got, 8000 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK_EQ_INT(got, 8000);
	ids_of(v + 3000, 1000);
	qsort(v, 4000, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < 4000; i++) {
		CHECK(v[i] & 1);
		CHECK(i == 0 || v[i] != v[i - 1]);
	}
	free(v);
}

TEST_MAIN()
