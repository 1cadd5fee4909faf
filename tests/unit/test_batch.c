/* Unit tests of the batch file reader (src/ctl/batch.c): what `wnctl job batch` makes of a
 * file, and the message it refuses a bad one with. wnctl prints that message as
 * "wnctl: MESSAGE (see 'wnctl job batch --help')" and exits 2. */
#include "batch.h"
#include "err.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* parse reads text as the batch file jobs.json, with the given defaults, and checks that it
 * is accepted. */
static wn_ctl_batch *parse(const char *text, const char *project, const char *task)
{
	wn_ctl_batch *b = NULL;
	char *err = NULL;
	int rv = wn_ctl_batch_parse(text, strlen(text), "jobs.json", project, task, &b, &err);
	if (rv != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "refused: %s", err);
	CHECK(b != NULL);
	CHECK(err == NULL);
	CHECK(wn_ctl_batch_count(b) > 0);
	return b;
}

/* refused reads the len bytes at text as jobs.json and returns the message it is refused
 * with (malloc'd). */
static char *refused(const char *text, size_t len, const char *project, const char *task)
{
	wn_ctl_batch *b = (wn_ctl_batch *)&b; /* must become NULL */
	char *err = NULL;
	CHECK_EQ_INT(wn_ctl_batch_parse(text, len, "jobs.json", project, task, &b, &err),
	             WN_EINVAL);
	CHECK(b == NULL);
	CHECK(err != NULL);
	CHECK(strchr(err, '\n') == NULL);
	return err;
}

static const char *param(const Whatsnext__V1__JobSpec *s, const char *key)
{
	for (size_t i = 0; i < s->n_params; i++)
		if (strcmp(s->params[i]->key, key) == 0)
			return s->params[i]->value;
	return NULL;
}

TEST(array_of_jobs_with_every_field)
{
	const char *text =
	    "[{\"project\": \"p\", \"task\": \"t\", \"name\": \"a\", \"priority\": -5,\n"
	    "  \"params\": {\"s\": \"x y\", \"i\": 12, \"r\": 0.1, \"big\": 1e300, \"yes\": true,\n"
	    "             \"no\": false, \"neg\": -3},\n"
	    "  \"after\": [3, \"4:afterany\", \"b\", \"b:afternotok\",\n"
	    "            {\"ref\": \"b\", \"condition\": \"afterany\"}, {\"job_id\": 9}]},\n"
	    " {\"name\": \"b\", \"after\": \"a\"}]";
	wn_ctl_batch *b = parse(text, "dp", "dt");
	CHECK_EQ_INT(wn_ctl_batch_count(b), 2);
	CHECK(wn_ctl_batch_sweep(b) == NULL);
	Whatsnext__V1__JobSpec **j = wn_ctl_batch_jobs(b);
	CHECK_EQ_STR(j[0]->project, "p");
	CHECK_EQ_STR(j[0]->task, "t");
	CHECK_EQ_STR(j[0]->name, "a");
	CHECK_EQ_INT(j[0]->priority, -5);
	CHECK_EQ_INT(j[0]->n_params, 7);
	CHECK_EQ_STR(param(j[0], "s"), "x y");
	CHECK_EQ_STR(param(j[0], "i"), "12");
	CHECK_EQ_STR(param(j[0], "r"), "0.1");
	CHECK_EQ_STR(param(j[0], "big"), "1e+300");
	CHECK_EQ_STR(param(j[0], "yes"), "true");
	CHECK_EQ_STR(param(j[0], "no"), "false");
	CHECK_EQ_STR(param(j[0], "neg"), "-3");
	CHECK_EQ_INT(j[0]->n_after, 6);
	const Whatsnext__V1__Dependency *const *d =
	    (const Whatsnext__V1__Dependency *const *)j[0]->after;
	CHECK_EQ_INT(d[0]->job_id, 3);
	CHECK_EQ_STR(d[0]->ref, "");
	CHECK_EQ_INT(d[0]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTEROK);
	CHECK_EQ_INT(d[1]->job_id, 4);
	CHECK_EQ_INT(d[1]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_EQ_INT(d[2]->job_id, 0);
	CHECK_EQ_STR(d[2]->ref, "b");
	CHECK_EQ_INT(d[2]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTEROK);
	CHECK_EQ_STR(d[3]->ref, "b");
	CHECK_EQ_INT(d[3]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK);
	CHECK_EQ_STR(d[4]->ref, "b");
	CHECK_EQ_INT(d[4]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_EQ_INT(d[5]->job_id, 9);
	CHECK_EQ_INT(d[5]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTEROK);
	/* the defaults fill in what a job does not say */
	CHECK_EQ_STR(j[1]->project, "dp");
	CHECK_EQ_STR(j[1]->task, "dt");
	CHECK_EQ_INT(j[1]->priority, 0);
	CHECK_EQ_INT(j[1]->n_params, 0);
	CHECK_EQ_INT(j[1]->n_after, 1);
	CHECK_EQ_STR(j[1]->after[0]->ref, "a");
	wn_ctl_batch_free(b);
}

TEST(one_job_per_line)
{
	/* blank lines, CRLF, and two objects on one line */
	const char *text = "\n{\"name\": \"a\"}\n\n{\"name\": \"b\", \"after\": [\"a\"]} "
	                   "{\"name\": \"c\"}\r\n{\"name\": \"d\", \"params\": {\"k\": \"v\"}}\n";
	wn_ctl_batch *b = parse(text, "p", "t");
	CHECK_EQ_INT(wn_ctl_batch_count(b), 4);
	Whatsnext__V1__JobSpec **j = wn_ctl_batch_jobs(b);
	const char *names[] = {"a", "b", "c", "d"};
	for (size_t i = 0; i < 4; i++) {
		CHECK_EQ_STR(j[i]->name, names[i]);
		CHECK_EQ_STR(j[i]->project, "p");
		CHECK_EQ_STR(j[i]->task, "t");
	}
	CHECK_EQ_STR(j[1]->after[0]->ref, "a");
	CHECK_EQ_STR(param(j[3], "k"), "v");
	wn_ctl_batch_free(b);
}

TEST(object_with_a_sweep)
{
	wn_ctl_batch *b =
	    parse("{\"sweep\": {\"name\": \"s\", \"max_running\": 3},\n"
	          " \"jobs\": [{\"name\": \"a\"}, {\"name\": \"b\", \"after\": [\"a\"]}]}",
	          "p", "t");
	CHECK_EQ_INT(wn_ctl_batch_count(b), 2);
	const Whatsnext__V1__SweepSpec *s = wn_ctl_batch_sweep(b);
	CHECK(s != NULL);
	CHECK_EQ_STR(s->name, "s");
	CHECK_EQ_INT(s->max_running, 3);
	wn_ctl_batch_free(b);

	/* "jobs" alone: no sweep; "sweep" alone asks for one with the defaults */
	b = parse("{\"jobs\": [{\"name\": \"a\"}]}", "p", "t");
	CHECK(wn_ctl_batch_sweep(b) == NULL);
	wn_ctl_batch_free(b);
	b = parse("{\"sweep\": {}, \"jobs\": [{}]}", "p", "t");
	CHECK(wn_ctl_batch_sweep(b) != NULL);
	CHECK_EQ_STR(wn_ctl_batch_sweep(b)->name, "");
	CHECK_EQ_INT(wn_ctl_batch_sweep(b)->max_running, 0);
	wn_ctl_batch_free(b);
}

TEST(names_and_conditions_in_dependencies)
{
	/* a name with a colon and no condition after it is a name whole; a condition
	 * after the last colon is taken off; job ids need no name in the batch */
	wn_ctl_batch *b = parse("{\"name\": \"a:b\"}\n{\"name\": \"x\", \"after\": [\"a:b\", "
	                        "\"a:b:afterany\", \"12:AFTERANY\", \"x\"]}\n",
	                        "p", "t");
	Whatsnext__V1__JobSpec *j = wn_ctl_batch_jobs(b)[1];
	CHECK_EQ_INT(j->n_after, 4);
	CHECK_EQ_STR(j->after[0]->ref, "a:b");
	CHECK_EQ_INT(j->after[0]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTEROK);
	CHECK_EQ_STR(j->after[1]->ref, "a:b");
	CHECK_EQ_INT(j->after[1]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_EQ_INT(j->after[2]->job_id, 12);
	CHECK_EQ_INT(j->after[2]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_EQ_STR(j->after[3]->ref, "x"); /* on itself: the server refuses the cycle */
	wn_ctl_batch_free(b);
}

TEST(reads_only_len_bytes)
{
	/* the buffer needs no NUL: what follows len is not read */
	const char text[] = "{\"name\": \"a\"}\n{\"name\": ";
	wn_ctl_batch *b = NULL;
	char *err = NULL;
	CHECK_OK(wn_ctl_batch_parse(text, 14, "jobs.json", "p", "t", &b, &err));
	CHECK_EQ_INT(wn_ctl_batch_count(b), 1);
	wn_ctl_batch_free(b);
	err = refused(text, sizeof(text) - 1, "p", "t");
	CHECK_EQ_STR(err, "cannot parse jobs.json line 2: unexpected token near end of file");
	free(err);
}

TEST(many_jobs)
{
	size_t n = 20000, cap = n * 40, off = 0;
	char *text = malloc(cap);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off, "{\"name\": \"j%zu\"%s}\n", i,
		                        i > 0 ? ", \"after\": [\"j0\"]" : "");
	wn_ctl_batch *b = NULL;
	char *err = NULL;
	CHECK_OK(wn_ctl_batch_parse(text, off, "jobs.json", "p", "t", &b, &err));
	CHECK_EQ_INT(wn_ctl_batch_count(b), n);
	CHECK_EQ_STR(wn_ctl_batch_jobs(b)[n - 1]->name, "j19999");
	wn_ctl_batch_free(b);
	/* a bad last line is named by its number */
	off += (size_t)snprintf(text + off, cap - off, "{\"name\": 1}\n");
	err = refused(text, off, "p", "t");
	CHECK_EQ_STR(err, "jobs.json line 20001: \"name\" must be a string");
	free(err);
	free(text);
}

/* Bad files: the text, whether --project P --task T are given, the message. */
static const struct {
	const char *text;
	bool defaults;
	const char *msg;
} bad[] = {
    {"{\"after\":-3}", true, "jobs.json line 1: \"after\": job ids are positive integers"},
    {"{\"after\":null}", true,
     "jobs.json line 1: \"after\" holds job ids, \"ID:COND\" or \"NAME:COND\" strings, or objects"},
    {"{\"after\":[{\"job_id\":1,\"ref\":\"x\"}]}", true,
     "jobs.json line 1: \"after\": an object needs either \"job_id\" or \"ref\""},
    {"{\"after\":[{\"job_id\":1,\"condition\":\"never\"}]}", true,
     "jobs.json line 1: \"after\": \"condition\" must be afterok, afterany or afternotok"},
    {"{\"after\":[{\"job_id\":1,\"condition\":1}]}", true,
     "jobs.json line 1: \"after\": \"condition\" must be afterok, afterany or afternotok"},
    {"{\"after\":[{\"condition\":\"afterok\"}]}", true,
     "jobs.json line 1: \"after\": an object needs either \"job_id\" or \"ref\""},
    {"{\"after\":[{\"job_id\":\"1\"}]}", true,
     "jobs.json line 1: \"after\": \"job_id\" must be a positive integer"},
    {"{\"after\":[{\"job_id\":0}]}", true,
     "jobs.json line 1: \"after\": \"job_id\" must be a positive integer"},
    {"{\"after\":[{}]}", true,
     "jobs.json line 1: \"after\": an object needs either \"job_id\" or \"ref\""},
    {"{\"after\":[{\"ref\":\"\"}]}", true,
     "jobs.json line 1: \"after\": \"ref\" must be the name of a job of the batch"},
    {"{\"after\":[{\"ref\":3}]}", true,
     "jobs.json line 1: \"after\": \"ref\" must be the name of a job of the batch"},
    {"{\"after\":[{\"job_id\":1,\"when\":1}]}", true,
     "jobs.json line 1: \"after\": unknown field \"when\""},
    {"{\"after\":[\"1:never\"]}", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"after\":[\"1:never\"]}", true,
     "jobs.json line 1: \"after\": no job of the batch is named '1:never'"},
    {"{\"after\":[\"99999999999999999999\"]}", true,
     "jobs.json line 1: \"after\": invalid '99999999999999999999': job id out of range (at "
     "most 18446744073709551615)"},
    {"{\"after\":[\":afterok\"]}", true,
     "jobs.json line 1: \"after\": invalid ':afterok': expected a job id, ID:CONDITION, the name "
     "of a job of the batch or NAME:CONDITION"},
    {"{\"after\":[\"0\"]}", true,
     "jobs.json line 1: \"after\": invalid '0': expected a job id, ID:CONDITION, the name of a job "
     "of the batch or NAME:CONDITION"},
    {"{\"after\":[\"\"]}", true,
     "jobs.json line 1: \"after\": invalid '': expected a job id, ID:CONDITION, the name of a job "
     "of the batch or NAME:CONDITION"},
    {"{\"after\":[true]}", true,
     "jobs.json line 1: \"after\" holds job ids, \"ID:COND\" or \"NAME:COND\" strings, or objects"},
    {"{\"after\":[1.5]}", true,
     "jobs.json line 1: \"after\" holds job ids, \"ID:COND\" or \"NAME:COND\" strings, or objects"},
    {"{\"after\":[0]}", true, "jobs.json line 1: \"after\": job ids are positive integers"},
    {"[{\"name\":\"a\",\"name\":\"b\"}]", true,
     "cannot parse jobs.json line 1: duplicate object key near '\"name\"'"},
    {"[]", true, "no jobs in jobs.json"},
    {"[{\"project\":\"P\",\"task\":\"t\",\"name\":\"a\",\"params\":{\"x\":1,\"y\":0.1,\"z\":true,"
     "\"w\":\"s\",\"f\":false,\"big\":1e300,\"neg\":-3},\"priority\":-5,\"after\":[3,\"4:"
     "afterany\",\"a\",\"b:afternotok\",{\"ref\":\"a\",\"condition\":\"afterany\"},{\"job_id\":9}]}"
     ",{\"name\":\"b\",\"after\":\"a\"}]",
     false, "jobs.json: job 2: no \"project\" (give one, or --project)"},
    {"[{\"name\":\"a\"}, 5]", false, "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"[{\"name\":\"a\"}, 5]", true, "jobs.json: job 2: a job must be a JSON object"},
    {"[\n{\"name\":\"a\"},\n{\"name\":}\n]", true,
     "cannot parse jobs.json line 3: unexpected token near '}'"},
    {"\n\n  [{\"name\":\"a\"},\n{\"name\":\"b\"\n", true,
     "cannot parse jobs.json line 5: '}' expected near end of file"},
    {"{\"name\":\"\xff"
     "\"}",
     true, "cannot parse jobs.json line 1: unable to decode byte 0xff near '\"'"},
    /* a byte order mark is passed over: what follows it is read */
    {"\xef"
     "\xbb"
     "\xbf"
     "x{\"name\":\"a\"}",
     true, "cannot parse jobs.json line 1: '[' or '{' expected near 'x'"},
    {"// x\n{\"name\":\"a\"}", true, "cannot parse jobs.json line 1: '[' or '{' expected near '/'"},
    {"{\"after\":[\"3:AFTERANY\",\"4:DEP_CONDITION_AFTEROK\"]}", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"after\":[\"3:AFTERANY\",\"4:DEP_CONDITION_AFTEROK\"]}", true,
     "jobs.json line 1: \"after\": no job of the batch is named '4:DEP_CONDITION_AFTEROK'"},
    {"", true, "no jobs in jobs.json"},
    {"{\"project\":\"\",\"task\":\"t\"}", true,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":[]}", true, "jobs.json line 1: \"name\" must be a string"},
    {"{\"params\":{\"\":\"x\"}}", true, "jobs.json line 1: a parameter has an empty name"},
    {"{\"params\":{\"a\":\"1\",\"k\":{}}}", true,
     "jobs.json line 1: parameter \"k\" must be a string, number or boolean"},
    {"{\"params\":{\"k\":null}}", true,
     "jobs.json line 1: parameter \"k\" must be a string, number or boolean"},
    {"{\"params\":[]}", true, "jobs.json line 1: \"params\" must be an object"},
    {"{\"priority\":\"1\"}", true,
     "jobs.json line 1: \"priority\" must be an integer from -2147483648 to 2147483647"},
    {"{\"priority\":2147483648}", true,
     "jobs.json line 1: \"priority\" must be an integer from -2147483648 to 2147483647"},
    {"{\"priority\":-2147483649}", true,
     "jobs.json line 1: \"priority\" must be an integer from -2147483648 to 2147483647"},
    {"{\"priority\":1.5}", true,
     "jobs.json line 1: \"priority\" must be an integer from -2147483648 to 2147483647"},
    {"{\"project\":5}", true, "jobs.json line 1: \"project\" must be a string"},
    {"{\"task\":null}", true, "jobs.json line 1: \"task\" must be a string"},
    {"{\"nme\":\"x\"}", true, "jobs.json line 1: unknown field \"nme\" (did you mean \"name\"?)"},
    {"hello", true, "cannot parse jobs.json line 1: '[' or '{' expected near 'hello'"},
    {"{\"name\":\"a\"}\n[1]\n", false, "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\"}\n[1]\n", true, "jobs.json line 2: a job must be a JSON object"},
    {"{\"name\":\"a\"}\n{\"name\":\"a\",\"name\":\"b\"}\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\"}\n{\"name\":\"a\",\"name\":\"b\"}\n", true,
     "cannot parse jobs.json line 2: duplicate object key near '\"name\"'"},
    {"5\n", true, "cannot parse jobs.json line 1: '[' or '{' expected near '5'"},
    {"{\"name\":\"a\"}\n{\"name\":\"b\"\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\"}\n{\"name\":\"b\"\n", true,
     "cannot parse jobs.json line 3: '}' expected near end of file"},
    {"{\"name\":\"a\"}\n\n\n{\"name\": x}\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\"}\n\n\n{\"name\": x}\n", true,
     "cannot parse jobs.json line 4: invalid token near 'x'"},
    {"{\"name\":\"a\"}\n\n{\"name\":\"b\",\"after\":[\"a\"]} "
     "{\"name\":\"c\"}\r\n{\"name\":\"d\",\"params\":{\"k\":\"v\"}}\n",
     false, "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\",\"jobs\":5}\n", true,
     "jobs.json: unknown field \"name\" (a batch object holds \"jobs\" and \"sweep\")"},
    {"{\"name\":\"a\"}\n[{\"name\":\"b\"}]\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a\"}\n[{\"name\":\"b\"}]\n", true,
     "jobs.json line 2: a job must be a JSON object"},
    {"{\"task\":\"t\"}", false, "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"project\":\"p\"}", false, "jobs.json line 1: no \"task\" (give one, or --task)"},
    {"{\"name\":\"a\\u0000b\"}", true,
     "cannot parse jobs.json line 1: \\u0000 is not allowed without JSON_ALLOW_NUL near "
     "'\"a\\u0000b\"'"},
    {"{\"name\":\"x\"}\n{\"name\":\"x\"}\n{\"name\":\"y\",\"after\":[\"x\"]}\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"x\"}\n{\"name\":\"x\"}\n{\"name\":\"y\",\"after\":[\"x\"]}\n", true,
     "jobs.json line 3: \"after\": 'x' is ambiguous: several jobs of the batch have that name"},
    {"[{\"name\":\"x\"},{\"name\":\"x\"},{\"name\":\"y\",\"after\":[\"x\"]}]", false,
     "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"[{\"name\":\"x\"},{\"name\":\"x\"},{\"name\":\"y\",\"after\":[\"x\"]}]", true,
     "jobs.json: job 3: \"after\": 'x' is ambiguous: several jobs of the batch have that name"},
    {"{\"name\":\"a\"}\n{\"after\":[\"a:afterany\"]}\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"a:b\"}\n{\"after\":[\"a:b\"]}\n", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"x\",\"after\":[\"nosuch\"]}", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"name\":\"x\",\"after\":[\"nosuch\"]}", true,
     "jobs.json line 1: \"after\": no job of the batch is named 'nosuch'"},
    {"{\"name\":\"x\",\"after\":[\"x\"]}", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"  \n\t\n", true, "no jobs in jobs.json"},
    {"[{\"name\":\"a\"}] x", true, "cannot parse jobs.json line 1: end of file expected near 'x'"},
    {"{\"jobs\":[{}]} x", true, "jobs.json line 1: unknown field \"jobs\""},
    {"{\"name\":\"ete\",\"params\":{\"k\":\"\\u2603\\u00e9\"}}", false,
     "jobs.json line 1: no \"project\" (give one, or --project)"},
    {"{\"jobs\":{\"name\":\"a\"}}", true, "jobs.json: \"jobs\" must be an array"},
    {"{\"sweep\":5,\"jobs\":[]}", true,
     "jobs.json: \"sweep\" must be an object {\"name\", \"max_running\"}"},
    {"{\"jobs\":[{}],\"jobs\":[{}]}", true,
     "cannot parse jobs.json line 1: duplicate object key near '\"jobs\"'"},
    {"{\"jobs\":[]}", true, "no jobs in jobs.json"},
    {"{\"sweep\":{\"name\":\"s\",\"max_running\":3},\"jobs\":[{\"name\":\"a\"},{\"name\":\"b\","
     "\"after\":[\"a\"]}]}",
     false, "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"{\"jobs\":[{\"name\":\"a\"},{\"name\":3}]}", false,
     "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"{\"jobs\":[{\"name\":\"a\"},{\"name\":3}]}", true,
     "jobs.json: job 2: \"name\" must be a string"},
    {"{\"sweep\":{\"name\":\"s\"}}", true, "jobs.json line 1: unknown field \"sweep\""},
    {"{\"jobs\":[{\"name\":\"a\"}]}", false,
     "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"{\"sweep\":{\"max_running\":-1},\"jobs\":[{}]}", true,
     "jobs.json: \"sweep\": \"max_running\" must be an integer from 0 to 4294967295"},
    {"{\"sweep\":{\"max_running\":4294967296},\"jobs\":[{}]}", true,
     "jobs.json: \"sweep\": \"max_running\" must be an integer from 0 to 4294967295"},
    {"{\"sweep\":{\"name\":5},\"jobs\":[{}]}", true,
     "jobs.json: \"sweep\": \"name\" must be a string"},
    {"{\"sweep\": {\"name\": \"s\", \"cap\": 1}, \"jobs\": [{\"name\": \"a\"}]}", true,
     "jobs.json: \"sweep\": unknown field \"cap\""},
    {"{\"jobs\":[{}]}\n{\"name\":\"b\"}\n", true, "jobs.json line 1: unknown field \"jobs\""},
    {"{\"jobs\":[{}],\"other\":1}", false,
     "jobs.json: job 1: no \"project\" (give one, or --project)"},
    {"{\"jobs\":[{}],\"other\":1}", true,
     "jobs.json: unknown field \"other\" (a batch object holds \"jobs\" and \"sweep\")"},
};

TEST(bad_files)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = bad[i].defaults ? "P" : NULL, *t = bad[i].defaults ? "T" : NULL;
		char *err = refused(bad[i].text, strlen(bad[i].text), p, t);
		if (strcmp(err, bad[i].msg) != 0)
			wn_test_fail(__FILE__, __LINE__, "file %s\n got: %s\nwant: %s", bad[i].text,
			             err, bad[i].msg);
		free(err);
	}
}

TEST(nesting_too_deep)
{
	size_t n = 100000;
	char *text = malloc(n);
	memset(text, '[', n);
	char *err = refused(text, n, "p", "t");
	CHECK_EQ_STR(err, "cannot parse jobs.json line 1: maximum parsing depth reached near '['");
	free(err);
	free(text);
}

TEST(file_name_in_messages)
{
	wn_ctl_batch *b = NULL;
	char *err = NULL;
	CHECK_EQ_INT(wn_ctl_batch_parse("", 0, "stdin", "p", "t", &b, &err), WN_EINVAL);
	CHECK_EQ_STR(err, "no jobs in stdin");
	free(err);
	CHECK_EQ_INT(wn_ctl_batch_parse("[{\"x\": 1}]", 10, "stdin", "p", "t", &b, &err),
	             WN_EINVAL);
	CHECK_EQ_STR(err, "stdin: job 1: unknown field \"x\"");
	free(err);
}

TEST(dependency_text)
{
	struct wn_ctl_batch_dep d;
	char *err = NULL;
	CHECK_OK(wn_ctl_batch_dep_parse("42", false, &d, &err));
	CHECK_EQ_INT(d.job_id, 42);
	CHECK_EQ_INT(d.condition, WHATSNEXT__V1__DEP_CONDITION__AFTEROK);
	CHECK_OK(wn_ctl_batch_dep_parse("42:afternotok", false, &d, &err));
	CHECK_EQ_INT(d.job_id, 42);
	CHECK_EQ_INT(d.condition, WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK);
	CHECK_OK(wn_ctl_batch_dep_parse("prep:afterany", true, &d, &err));
	CHECK_EQ_INT(d.job_id, 0);
	CHECK_EQ_INT(d.ref_len, 4);
	CHECK_EQ_INT(d.condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_OK(wn_ctl_batch_dep_parse("prep:later", true, &d, &err));
	CHECK_EQ_INT(d.ref_len, strlen("prep:later"));

	/* what `job add --after` refuses: wnctl prints "invalid --after 'ARG': MESSAGE" */
	static const struct {
		const char *s;
		bool refs;
		const char *msg;
	} no[] = {
	    {"1:afterwards", false,
	     "unknown condition 'afterwards': must be afterok, afterany or afternotok"},
	    {"abc", false, "expected a job id or ID:CONDITION"},
	    {"0", false, "expected a job id or ID:CONDITION"},
	    {"", false, "expected a job id or ID:CONDITION"},
	    {"-1", false, "expected a job id or ID:CONDITION"},
	    {"18446744073709551616", false, "job id out of range (at most 18446744073709551615)"},
	    {"18446744073709551616:afterany", true,
	     "job id out of range (at most 18446744073709551615)"},
	    {"0", true,
	     "expected a job id, ID:CONDITION, the name of a job of the batch or NAME:CONDITION"},
	    {":afterok", true,
	     "expected a job id, ID:CONDITION, the name of a job of the batch or NAME:CONDITION"},
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		err = NULL;
		CHECK_EQ_INT(wn_ctl_batch_dep_parse(no[i].s, no[i].refs, &d, &err), WN_EINVAL);
		CHECK_EQ_STR(err, no[i].msg);
		free(err);
	}
}

TEST_MAIN()
