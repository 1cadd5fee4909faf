/* test_resultfile: the worker's reading of a results file (resultfile.h). */
#include "test.h"

#include "resultfile.h"
#include "resultrules.h"

#include <fcntl.h>
#include <unistd.h>

/* feed gives r the text s; returns its error message ("" when none). */
static const char *feed(wn_resultfile *r, const char *s, bool final)
{
	static char msg[512];
	char *err = NULL;
	int rv = wn_resultfile_feed(r, s, strlen(s), final, &err);
	snprintf(msg, sizeof(msg), "%s", rv == WN_OK ? "" : err ? err : "?");
	free(err);
	return msg;
}

/* values gives the latest values of r as "k=v k=v" (texts quoted). */
static const char *values(wn_resultfile *r)
{
	static char out[2048];
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	r = wn_resultfile_ref(r);
	/* not final: nothing cut short is an error yet */
	wn_resultfile_fill(r, &pg, false, &why);
	free(why);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < pg.n_results; i++) {
		const Whatsnext__V1__ResultValue *v = pg.results[i]->value;
		if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT)
			n += snprintf(out + n, sizeof(out) - n, "%s%s=\"%s\"", i ? " " : "",
			              pg.results[i]->key, v->text);
		else
			n += snprintf(out + n, sizeof(out) - n, "%s%s=%g", i ? " " : "",
			              pg.results[i]->key, v->number);
	}
	wn_resultfile_done(r, &pg, false);
	wn_resultfile_unref(r);
	return out;
}

TEST(json_lines_and_key_value_lines)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(
	    feed(r, "{\"step\": 1, \"loss\": 0.5}\nacc=0.25\n# note\n\nname = \"a b\"\n", false),
	    "");
	CHECK_EQ_STR(values(r), "step=1 loss=0.5 acc=0.25 name=\"a b\"");
	uint64_t reports;
	size_t keys;
	wn_resultfile_count(r, &reports, &keys);
	CHECK_EQ_INT(reports, 3);
	CHECK_EQ_INT(keys, 4);
	wn_resultfile_unref(r);
}

TEST(a_hexadecimal_value_is_a_text)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "seed=0x1f\nmask=-0X10\nn=+12\ne=1e3\n", false), "");
	CHECK_EQ_STR(values(r), "seed=\"0x1f\" mask=\"-0X10\" n=12 e=1000");
	wn_resultfile_unref(r);
}

/* a UTF-8 byte order mark at the start of the file is skipped, also when it
 * comes in pieces; anywhere else it is part of a key, which is refused */
TEST(a_byte_order_mark_at_the_start_is_skipped)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "\xef\xbb\xbfk=1\n", false), "");
	CHECK_EQ_STR(values(r), "k=1");
	wn_resultfile_unref(r);
	r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "\xef", false), "");
	CHECK_EQ_STR(feed(r, "\xbb", false), "");
	CHECK_EQ_STR(feed(r, "\xbf{\"a\": 2}\n", false), "");
	CHECK_EQ_STR(values(r), "a=2");
	CHECK_EQ_STR(feed(r,
	                  "\xef\xbb\xbf"
	                  "b=3\n",
	                  false),
	             "line 2: key \"\xef\xbb\xbf"
	             "b\": a key starts with a letter or '_'");
	wn_resultfile_unref(r);
}

TEST(a_report_cut_short_waits_for_the_rest)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "{\"loss\":", false), "");
	CHECK_EQ_STR(feed(r, " 2,\n", false), "");
	CHECK_EQ_STR(feed(r, "  \"acc\": 1}\nx=", false), "");
	CHECK_EQ_STR(values(r), "loss=2 acc=1");
	CHECK_EQ_STR(feed(r, "3", false), "");
	CHECK_EQ_STR(values(r), "loss=2 acc=1");
	CHECK_EQ_STR(feed(r, "", true), "");
	CHECK_EQ_STR(values(r), "loss=2 acc=1 x=3");
	wn_resultfile_unref(r);
}

TEST(a_report_cut_in_a_token_or_a_character_waits_too)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "{\"name\": \"caf\xc3", false), "");
	CHECK_EQ_STR(feed(r, "\xa9\", \"ok\": tr", false), "");
	CHECK_EQ_STR(feed(r, "ue, \"x\": 1.", false), "");
	CHECK_EQ_STR(feed(r, "5}\n", false), "");
	CHECK_EQ_STR(values(r), "name=\"caf\xc3\xa9\" ok=\"true\" x=1.5");
	/* a whole line that is wrong is wrong at once */
	CHECK_EQ_STR(feed(r, "{\"a\": tru}\n", false),
	             "line 2: invalid JSON: invalid token near 'tru'");
	wn_resultfile_unref(r);
}

TEST(a_json_object_over_many_lines_is_one_report)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "{\n  \"a\": 1,\n  \"b\": \"x\",\n  \"ok\": true\n}\n", true), "");
	CHECK_EQ_STR(values(r), "a=1 b=\"x\" ok=\"true\"");
	uint64_t reports;
	size_t keys;
	wn_resultfile_count(r, &reports, &keys);
	CHECK_EQ_INT(reports, 1);
	wn_resultfile_unref(r);
}

/* bad feeds text (final) to a fresh reader and returns its error. */
static const char *bad(const char *text)
{
	wn_resultfile *r = wn_resultfile_new("none");
	const char *m = feed(r, text, true);
	wn_resultfile_unref(r);
	return m;
}

/* nul_verdict feeds the n bytes of text (a NUL among them) whole, or a byte
 * at a time, and returns the error. */
static const char *nul_verdict(const char *text, size_t n, bool bytewise)
{
	static char msg[512];
	wn_resultfile *r = wn_resultfile_new("none");
	char *err = NULL;
	int rv = WN_OK;
	for (size_t at = 0; at < n && rv == WN_OK; at += bytewise ? 1 : n)
		rv = wn_resultfile_feed(r, text + at, bytewise ? 1 : n, false, &err);
	if (rv == WN_OK)
		rv = wn_resultfile_feed(r, "", 0, true, &err);
	snprintf(msg, sizeof(msg), "%s", rv == WN_OK ? "" : err ? err : "?");
	free(err);
	wn_resultfile_unref(r);
	return msg;
}

TEST(a_nul_byte_is_refused_at_its_line_however_the_file_is_read)
{
	static const char json[] = "a=1\n{\n \"b\": 1\0,\n \"c\": 2\n}\n";
	CHECK_EQ_STR(nul_verdict(json, sizeof(json) - 1, false), "line 3: a NUL byte");
	CHECK_EQ_STR(nul_verdict(json, sizeof(json) - 1, true), "line 3: a NUL byte");
	static const char line[] = "a=1\nb=2\0\n";
	CHECK_EQ_STR(nul_verdict(line, sizeof(line) - 1, false), "line 2: a NUL byte");
	CHECK_EQ_STR(nul_verdict(line, sizeof(line) - 1, true), "line 2: a NUL byte");
}

TEST(bad_reports_name_the_line_and_what_is_wrong)
{
	CHECK_EQ_STR(bad("a=1\nloss=nan\n"),
	             "line 2: key \"loss\": a number is not finite (NaN or infinity)");
	CHECK_EQ_STR(bad("a=1e999\n"),
	             "line 1: key \"a\": a number is not finite (NaN or infinity)");
	CHECK_EQ_STR(bad("\n\n{\"a\": null}\n"),
	             "line 3: key \"a\": a value is a number or a text, not null");
	CHECK_EQ_STR(bad("{\"a\": {\"b\": 1}}"),
	             "line 1: key \"a\": a value is a number or a text, not an object");
	CHECK_EQ_STR(bad("{\"a\": 1,\n \"a\": 2}"),
	             "line 2: invalid JSON: duplicate object key near '\"a\"'");
	CHECK_EQ_STR(bad("{\"a\": 1\n"), "line 2: invalid JSON: '}' expected near end of file");
	CHECK_EQ_STR(bad("{\"t\": \"a\\u0000b\"}\n"),
	             "line 1: invalid JSON: a string holds \\u0000 (a NUL character)");
	CHECK_EQ_STR(bad("no equals sign\n"), "line 1: expected key=value or a JSON object");
	CHECK_EQ_STR(bad("a=\n"), "line 1: key \"a\" has no value");
	CHECK_EQ_STR(bad("=1\n"), "line 1: key \"\": a key is empty");
	CHECK_EQ_STR(bad("1a=1\n"), "line 1: key \"1a\": a key starts with a letter or '_'");
	CHECK_EQ_STR(bad("a b=1\n"),
	             "line 1: key \"a b\": a key holds only letters, digits and \"_.-/\"");
	CHECK_EQ_STR(bad("t=caf\xe9\n"), "line 1: key \"t\": a text is not valid UTF-8");
	CHECK_EQ_STR(bad("t=a\x01z\n"), "line 1: key \"t\": a text holds a control character");
	char longtext[400];
	memset(longtext, 'x', sizeof(longtext));
	memcpy(longtext, "t=", 2);
	longtext[sizeof(longtext) - 1] = '\0';
	CHECK_EQ_STR(bad(longtext), "line 1: key \"t\": a text is longer than 256 bytes");
	char longkey[80];
	memset(longkey, 'k', sizeof(longkey));
	memcpy(longkey + 70, "=1", 3);
	CHECK(strstr(bad(longkey), "a key is longer than 64 bytes") != NULL);
}

TEST(an_error_stays_and_what_came_before_is_kept)
{
	wn_resultfile *r = wn_resultfile_new("none");
	CHECK_EQ_STR(feed(r, "a=1\nb=oops\x02\nc=3\n", false),
	             "line 2: key \"b\": a text holds a control character");
	CHECK_EQ_STR(feed(r, "d=4\n", false),
	             "line 2: key \"b\": a text holds a control character");
	CHECK_EQ_STR(values(r), "a=1");
	wn_resultfile_unref(r);
}

TEST(keys_are_bounded)
{
	wn_resultfile *r = wn_resultfile_new("none");
	char line[64];
	for (int i = 0; i < WN_RESULT_KEYS_MAX; i++) {
		snprintf(line, sizeof(line), "k%d=%d\n", i, i);
		CHECK_EQ_STR(feed(r, line, false), "");
	}
	CHECK_EQ_STR(feed(r, "k0=5\n", false), ""); /* a key seen before */
	CHECK_EQ_STR(feed(r, "one_more=1\n", false), "line 66: more than 64 keys reported");
	wn_resultfile_unref(r);
}

TEST(the_file_is_read_as_it_grows_and_again_when_rewritten)
{
	wn_resultfile *r = wn_resultfile_new("res");
	char *why = NULL;
	CHECK_EQ_INT(wn_resultfile_read(r, false, &why), WN_OK); /* no file yet */
	FILE *f = fopen("res", "w");
	fputs("{\"epoch\": 1, \"loss\": 3}\n{\"epoch\": 2", f);
	fflush(f);
	CHECK_EQ_INT(wn_resultfile_read(r, false, &why), WN_OK);
	CHECK_EQ_STR(values(r), "epoch=1 loss=3");
	fputs(", \"loss\": 2}\n", f);
	fclose(f);
	CHECK_EQ_INT(wn_resultfile_read(r, false, &why), WN_OK);
	CHECK_EQ_STR(values(r), "epoch=2 loss=2");
	/* rewritten whole, as a script that dumps its results each epoch does */
	f = fopen("res", "w");
	fputs("{\"epoch\": 3, \"loss\": 1.5, \"acc\": 0.5}\n", f);
	fclose(f);
	CHECK_EQ_INT(wn_resultfile_read(r, true, &why), WN_OK);
	CHECK_EQ_STR(values(r), "epoch=3 loss=1.5 acc=0.5");
	wn_resultfile_unref(r);
}

/* rewrite_with writes keys PREFIX1..PREFIXn=I to res, whole. */
static void rewrite_with(const char *prefix, int n)
{
	FILE *f = fopen("res.tmp", "w");
	for (int i = 1; i <= n; i++)
		fprintf(f, "%s%d=%d\n", prefix, i, i);
	fclose(f);
	rename("res.tmp", "res");
}

TEST(a_rewrite_with_other_keys_counts_only_its_own)
{
	wn_resultfile *r = wn_resultfile_new("res");
	char *why = NULL;
	uint64_t reports = 0;
	size_t keys = 0;
	/* five versions of 40 keys each, the server taking nothing meanwhile:
	 * the keys of an earlier version give their slots to new ones, and the
	 * points of theirs still waiting go with them (those of the first
	 * version's keys, whose slots were all taken again) */
	static const char *const prefix[] = {"a", "b", "c", "d", "e"};
	for (int v = 0; v < 5; v++) {
		rewrite_with(prefix[v], 40);
		CHECK_EQ_INT(wn_resultfile_read(r, false, &why), WN_OK);
		wn_resultfile_count(r, &reports, &keys);
		CHECK_EQ_INT(keys, 40);
	}
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	CHECK_EQ_INT(wn_resultfile_fill(r, &pg, true, &why), WN_OK);
	CHECK_EQ_INT(pg.n_results, 40);
	for (size_t i = 0; i < pg.n_results; i++)
		CHECK(pg.results[i]->key[0] == 'e');
	size_t first = 0, last = 0; /* points of the first version and of the last */
	for (size_t i = 0; i < pg.n_points; i++) {
		first += pg.points[i]->key[0] == 'a';
		last += pg.points[i]->key[0] == 'e';
	}
	CHECK_EQ_INT(first, 0);
	CHECK_EQ_INT(last, 40);
	wn_resultfile_done(r, &pg, true);
	/* a version past 64 keys of its own is still refused */
	rewrite_with("f", WN_RESULT_KEYS_MAX + 1);
	CHECK_EQ_INT(wn_resultfile_read(r, true, &why), WN_EINVAL);
	CHECK(strstr(why, "more than 64 keys") != NULL);
	free(why);
	wn_resultfile_unref(r);
}

TEST(points_go_until_the_server_has_them)
{
	wn_resultfile *r = wn_resultfile_new("res");
	FILE *f = fopen("res", "w");
	fputs("step=1\n{\"step\": 2, \"loss\": 0.5, \"tag\": \"x\"}\n", f);
	fclose(f);
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	CHECK_EQ_INT(wn_resultfile_fill(r, &pg, false, &why), WN_OK);
	CHECK_EQ_INT(pg.n_points, 3); /* numbers only */
	CHECK_EQ_INT(pg.n_results, 3);
	CHECK_EQ_STR(pg.points[2]->key, "loss");
	CHECK_EQ_INT(pg.points[2]->seq, 2);
	wn_resultfile_done(r, &pg, false); /* the call failed: sent again */
	CHECK_EQ_INT(wn_resultfile_fill(r, &pg, false, &why), WN_OK);
	CHECK_EQ_INT(pg.n_points, 3);
	wn_resultfile_done(r, &pg, true);
	CHECK_EQ_INT(wn_resultfile_fill(r, &pg, false, &why), WN_OK);
	CHECK_EQ_INT(pg.n_points, 0);
	CHECK_EQ_INT(pg.n_results, 0); /* unchanged since the server took them */
	wn_resultfile_done(r, &pg, true);
	CHECK_EQ_INT(wn_resultfile_fill(r, &pg, true, &why), WN_OK);
	CHECK_EQ_INT(pg.n_results, 3); /* the final ones go always */
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
}

/* key_points copies the points of key in pg into pts (at most max). */
static size_t key_points(const Whatsnext__V1__JobProgress *pg, const char *key,
                         const Whatsnext__V1__ResultPoint **pts, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < pg->n_points && n < max; i++)
		if (strcmp(pg->points[i]->key, key) == 0)
			pts[n++] = pg->points[i];
	return n;
}

/* check_even checks that the points of key in pg, a key whose value was
 * its number 1..reported, are its first, its latest and one of every
 * `stride` in between: as many in every tenth of the run. */
static void check_even(const Whatsnext__V1__JobProgress *pg, const char *key, int reported)
{
	static const Whatsnext__V1__ResultPoint *pts[WN_RESULTFILE_PENDING_MAX];
	size_t n = key_points(pg, key, pts, WN_RESULTFILE_PENDING_MAX);
	CHECK(n >= 32);
	CHECK(pts[0]->value == 1);            /* the key's first report */
	CHECK(pts[n - 1]->value == reported); /* and its latest */
	CHECK_EQ_INT(pts[n - 1]->nth, reported);
	uint32_t stride = pts[0]->stride;
	CHECK(stride >= 2);
	int tenths[10] = {0};
	for (size_t i = 0; i < n; i++) {
		CHECK(pts[i]->stride == stride);
		CHECK_EQ_INT(pts[i]->nth, (uint64_t)pts[i]->value);
		if (i + 1 < n)
			CHECK_EQ_INT(pts[i]->nth, 1 + i * stride);
		tenths[(int)(pts[i]->value - 1) * 10 / reported]++;
	}
	for (int t = 0; t < 10; t++) {
		CHECK(tenths[t] >= reported / 10 / (int)stride - 1);
		CHECK(tenths[t] <= reported / 10 / (int)stride + 2);
	}
}

TEST(points_thin_evenly_when_the_server_is_slow)
{
	wn_resultfile *r = wn_resultfile_new("none");
	char line[64];
	for (int i = 1; i <= 3000; i++) {
		snprintf(line, sizeof(line), "x=%d\n", i);
		CHECK_EQ_STR(feed(r, line, false), "");
	}
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	wn_resultfile_fill(r, &pg, false, &why);
	CHECK(pg.n_points <= WN_RESULTFILE_PENDING_MAX);
	CHECK(pg.n_points >= WN_RESULTFILE_PENDING_MAX / 4);
	check_even(&pg, "x", 3000);
	wn_resultfile_done(r, &pg, true);
	/* the stride holds for what comes next: the run stays even */
	for (int i = 3001; i <= 3100; i++) {
		snprintf(line, sizeof(line), "x=%d\n", i);
		CHECK_EQ_STR(feed(r, line, false), "");
	}
	uint32_t stride = 0;
	wn_resultfile_fill(r, &pg, false, &why);
	CHECK(pg.n_points > 0);
	for (size_t i = 0; i + 1 < pg.n_points; i++) {
		stride = pg.points[i]->stride;
		CHECK_EQ_INT((pg.points[i]->nth - 1) % stride, 0);
	}
	CHECK(pg.points[pg.n_points - 1]->value == 3100);
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
}

TEST(alternating_keys_thin_evenly_each)
{
	/* the shell style: a key a line, keys taking turns */
	wn_resultfile *r = wn_resultfile_new("none");
	char line[64];
	for (int i = 1; i <= 1500; i++) {
		snprintf(line, sizeof(line), "epoch=%d\nloss=%d\n", i, i);
		CHECK_EQ_STR(feed(r, line, false), "");
	}
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	wn_resultfile_fill(r, &pg, false, &why);
	CHECK(pg.n_points <= WN_RESULTFILE_PENDING_MAX);
	CHECK(pg.n_points >= WN_RESULTFILE_PENDING_MAX / 4);
	check_even(&pg, "epoch", 1500);
	check_even(&pg, "loss", 1500);
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
}

TEST(json_reports_thin_evenly_too)
{
	wn_resultfile *r = wn_resultfile_new("none");
	char line[64];
	for (int i = 1; i <= 3000; i++) {
		snprintf(line, sizeof(line), "{\"step\": %d, \"loss\": %d}\n", i, i);
		CHECK_EQ_STR(feed(r, line, false), "");
	}
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	wn_resultfile_fill(r, &pg, false, &why);
	CHECK(pg.n_points <= WN_RESULTFILE_PENDING_MAX);
	CHECK_EQ_INT(pg.points[pg.n_points - 1]->seq, 3000); /* the latest is kept */
	check_even(&pg, "step", 3000);
	check_even(&pg, "loss", 3000);
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
}

TEST(oversized_and_symlinked_files_are_refused)
{
	wn_resultfile *r = wn_resultfile_new("big");
	int fd = open("big", O_WRONLY | O_CREAT, 0600);
	CHECK(ftruncate(fd, WN_RESULTFILE_MAX + 1) == 0);
	close(fd);
	char *why = NULL;
	CHECK_EQ_INT(wn_resultfile_read(r, true, &why), WN_EINVAL);
	CHECK_EQ_STR(why, "results file big: larger than 4 MiB (4194305 bytes)");
	free(why);
	wn_resultfile_unref(r);
	CHECK(symlink("big", "link") == 0);
	r = wn_resultfile_new("link");
	CHECK_EQ_INT(wn_resultfile_read(r, true, &why), WN_EINVAL);
	CHECK_EQ_STR(why, "results file link: cannot open it: it is a symbolic link");
	free(why);
	wn_resultfile_unref(r);
}

TEST(the_path_beside_a_log)
{
	char *p = wn_resultfile_path_beside("/l/p/t/7.1.log");
	CHECK_EQ_STR(p, "/l/p/t/7.1.results");
	free(p);
	p = wn_resultfile_path_beside("/l/slurm-7.out");
	CHECK_EQ_STR(p, "/l/slurm-7.results");
	free(p);
	p = wn_resultfile_path_beside("/l/.log");
	CHECK_EQ_STR(p, "/l/.log.results");
	free(p);
}

TEST_MAIN()
