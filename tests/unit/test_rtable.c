/* Unit tests of the results table (src/ctl/rtable.c): what `wnctl sweep results` prints
 * for a sweep's jobs in each format, sorted and cut to the best. */
#include "rtable.h"
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A job built for a test: its params and results point into it. */
struct tjob {
	Whatsnext__V1__Job j;
	Whatsnext__V1__Job__ParamsEntry pe[4], *pp[4];
	Whatsnext__V1__Job__ResultsEntry re[4], *rp[4];
	Whatsnext__V1__ResultValue rv[4];
};

static struct tjob jobs_store[8];
static Whatsnext__V1__Job *jobs[8];
static size_t njobs;

/* job adds a job with id, name and status; params "k=v" and results "k=number" or
 * "k:text" follow, NULL-terminated. */
static Whatsnext__V1__Job *job(uint64_t id, const char *name, int status, ...)
{
	struct tjob *t = &jobs_store[njobs];
	memset(t, 0, sizeof(*t));
	whatsnext__v1__job__init(&t->j);
	t->j.id = id;
	t->j.name = (char *)name;
	t->j.status = status;
	t->j.params = t->pp;
	t->j.results = t->rp;
	va_list ap;
	va_start(ap, status);
	const char *s;
	while ((s = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(s, '=');
		const char *colon = strchr(s, ':');
		if (s[0] == 'p') { /* "p.k=v": a parameter */
			Whatsnext__V1__Job__ParamsEntry *e = &t->pe[t->j.n_params];
			whatsnext__v1__job__params_entry__init(e);
			e->key = strndup(s + 2, (size_t)(eq - s - 2));
			e->value = strdup(eq + 1);
			t->pp[t->j.n_params++] = e;
			continue;
		}
		size_t i = t->j.n_results;
		Whatsnext__V1__ResultValue *v = &t->rv[i];
		whatsnext__v1__result_value__init(v);
		const char *sep = eq != NULL ? eq : colon;
		if (eq != NULL) {
			v->value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
			v->number = strtod(eq + 1, NULL);
		} else {
			v->value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
			v->text = strdup(colon + 1);
		}
		Whatsnext__V1__Job__ResultsEntry *e = &t->re[i];
		whatsnext__v1__job__results_entry__init(e);
		e->key = strndup(s + 2, (size_t)(sep - s - 2));
		e->value = v;
		t->rp[t->j.n_results++] = e;
	}
	va_end(ap);
	jobs[njobs++] = &t->j;
	return &t->j;
}

static void jobs_free(void)
{
	for (size_t i = 0; i < njobs; i++) {
		struct tjob *t = &jobs_store[i];
		for (size_t k = 0; k < t->j.n_params; k++) {
			free(t->pe[k].key);
			free(t->pe[k].value);
		}
		for (size_t k = 0; k < t->j.n_results; k++) {
			free(t->re[k].key);
			if (t->rv[k].value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT)
				free(t->rv[k].text);
		}
	}
	njobs = 0;
}

enum {
	DONE = WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED,
	FAIL = WHATSNEXT__V1__JOB_STATUS__JOB_FAILED
};

/* sweep makes four jobs of a sweep over lr: two with a loss, one with a text loss and one
 * (failed) without. */
static void sweep(void)
{
	jobs_free();
	job(10, "lr=0.1", DONE, "p.lr=0.1", "p.bs=32", "r.loss=0.5", "r.step=20", NULL);
	job(11, "lr=0.01", DONE, "p.lr=0.01", "p.bs=32", "r.loss=0.25", "r.step=20",
	    "r.note:ok, \"best\"", NULL);
	job(12, "lr=1", FAIL, "p.lr=1", "p.bs=32", NULL);
	job(13, "lr=0.001", DONE, "p.lr=0.001", "p.bs=32", "r.loss:diverged", NULL);
}

/* render returns what t prints in fmt (malloc'd). */
static char *render(const wn_rtable *t, enum wn_rtable_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	CHECK_EQ_INT(wn_rtable_write(t, fmt, f), WN_OK);
	fclose(f);
	return buf;
}

/* ids returns the ids of t's rows in order, as printed in the CSV's first column. */
static char *ids(const wn_rtable *t)
{
	char *csv = render(t, WN_RTABLE_CSV);
	char *out = calloc(1, strlen(csv) + 1);
	const char *line = strstr(csv, "\r\n") + 2; /* past the header */
	while (*line != '\0') {
		size_t n = strcspn(line, ",");
		if (out[0] != '\0')
			strcat(out, " ");
		strncat(out, line, n);
		line = strstr(line, "\r\n") + 2;
	}
	free(csv);
	return out;
}

TEST(numbers_print_shortest_exact)
{
	char buf[64];
	CHECK_EQ_STR(wn_rtable_number(0.1, buf, sizeof(buf)), "0.1");
	CHECK_EQ_STR(wn_rtable_number(20, buf, sizeof(buf)), "20");
	CHECK_EQ_STR(wn_rtable_number(0.30000000000000004, buf, sizeof(buf)),
	             "0.30000000000000004");
	CHECK_EQ_STR(wn_rtable_number(1e21, buf, sizeof(buf)), "1e+21");
	CHECK_EQ_STR(wn_rtable_number(-2.5e-7, buf, sizeof(buf)), "-2.5e-07");
	CHECK_EQ_STR(wn_rtable_number(NAN, buf, sizeof(buf)), "nan");
	CHECK_EQ_STR(wn_rtable_number(-INFINITY, buf, sizeof(buf)), "-inf");
	CHECK(strtod(wn_rtable_number(1.0 / 3, buf, sizeof(buf)), NULL) == 1.0 / 3);
}

TEST(csv_is_rfc4180_with_empty_missing_cells)
{
	sweep();
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	CHECK_EQ_INT(wn_rtable_rows(t), 4);
	char *csv = render(t, WN_RTABLE_CSV);
	CHECK_EQ_STR(csv, "id,name,bs,lr,status,loss,note,step\r\n"
	                  "10,lr=0.1,32,0.1,completed,0.5,,20\r\n"
	                  "11,lr=0.01,32,0.01,completed,0.25,\"ok, \"\"best\"\"\",20\r\n"
	                  "12,lr=1,32,1,failed,,,\r\n"
	                  "13,lr=0.001,32,0.001,completed,diverged,,\r\n");
	free(csv);
	wn_rtable_free(t);
	jobs_free();
}

TEST(table_aligns_numbers_and_shows_missing_as_dash)
{
	sweep();
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	char *out = render(t, WN_RTABLE_TABLE);
	CHECK_EQ_STR(out, "ID  NAME      bs     lr  STATUS     loss      note        step\n"
	                  "10  lr=0.1    32    0.1  completed  0.5       -             20\n"
	                  "11  lr=0.01   32   0.01  completed  0.25      ok, \"best\"    20\n"
	                  "12  lr=1      32      1  failed     -         -              -\n"
	                  "13  lr=0.001  32  0.001  completed  diverged  -              -\n");
	free(out);
	wn_rtable_free(t);
	jobs_free();
}

TEST(json_is_an_array_of_objects)
{
	sweep();
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	char *out = render(t, WN_RTABLE_JSON);
	json_error_t err;
	json_t *a = json_loads(out, 0, &err);
	CHECK(a != NULL);
	CHECK(json_is_array(a));
	CHECK_EQ_INT(json_array_size(a), 4);
	json_t *o = json_array_get(a, 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "id")), 11);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "name")), "lr=0.01");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "status")), "completed");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(o, "params"), "lr")),
	             "0.01");
	json_t *r = json_object_get(o, "results");
	CHECK(json_real_value(json_object_get(r, "loss")) == 0.25);
	CHECK_EQ_STR(json_string_value(json_object_get(r, "note")), "ok, \"best\"");
	/* the failed job has no results: an empty object, no member for a missing key */
	CHECK_EQ_INT(json_object_size(json_object_get(json_array_get(a, 2), "results")), 0);
	CHECK_EQ_STR(json_string_value(
	                 json_object_get(json_object_get(json_array_get(a, 3), "results"), "loss")),
	             "diverged");
	json_decref(a);
	free(out);
	wn_rtable_free(t);
	jobs_free();
}

TEST(sort_puts_numbers_then_texts_then_missing)
{
	sweep();
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	wn_rtable_sort(t, "loss", false);
	char *order = ids(t);
	CHECK_EQ_STR(order, "11 10 13 12");
	free(order);
	wn_rtable_sort(t, "loss", true);
	order = ids(t);
	CHECK_EQ_STR(order, "10 11 13 12");
	free(order);
	/* equal values keep id order, ascending and descending alike */
	wn_rtable_sort(t, "step", true);
	order = ids(t);
	CHECK_EQ_STR(order, "10 11 12 13");
	free(order);
	/* a key no job has: id order */
	wn_rtable_sort(t, "acc", false);
	order = ids(t);
	CHECK_EQ_STR(order, "10 11 12 13");
	free(order);
	CHECK(!wn_rtable_has_result(t, "acc"));
	CHECK(wn_rtable_has_result(t, "loss"));
	wn_rtable_free(t);
	jobs_free();
}

TEST(best_keeps_the_first_rows_that_have_the_key)
{
	sweep();
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	wn_rtable_sort(t, "loss", false);
	wn_rtable_best(t, "loss", 2);
	char *order = ids(t);
	CHECK_EQ_STR(order, "11 10");
	free(order);
	wn_rtable_free(t);
	t = wn_rtable_new(jobs, njobs);
	wn_rtable_sort(t, "loss", false);
	wn_rtable_best(t, "loss", 10); /* more than there are: the failed job stays out */
	order = ids(t);
	CHECK_EQ_STR(order, "11 10 13");
	free(order);
	/* the columns stay those of every job of the sweep */
	char *csv = render(t, WN_RTABLE_CSV);
	CHECK(strncmp(csv, "id,name,bs,lr,status,loss,note,step\r\n", 37) == 0);
	free(csv);
	wn_rtable_free(t);
	jobs_free();
}

TEST(a_result_named_like_a_parameter_is_told_apart)
{
	jobs_free();
	job(1, "a", DONE, "p.lr=0.1", "p.status=x", "r.lr=0.05", "r.id=3", "r.acc=0.9", NULL);
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	char *csv = render(t, WN_RTABLE_CSV);
	CHECK_EQ_STR(csv, "id,name,lr,param.status,status,acc,result.id,result.lr\r\n"
	                  "1,a,0.1,x,completed,0.9,3,0.05\r\n");
	free(csv);
	wn_rtable_free(t);
	jobs_free();
}

TEST(no_jobs_prints_the_header_only)
{
	wn_rtable *t = wn_rtable_new(jobs, 0);
	char *csv = render(t, WN_RTABLE_CSV);
	CHECK_EQ_STR(csv, "id,name,status\r\n");
	free(csv);
	char *js = render(t, WN_RTABLE_JSON);
	CHECK_EQ_STR(js, "[]\n");
	free(js);
	wn_rtable_free(t);
}

TEST(table_escapes_controls_in_text_results)
{
	jobs_free();
	job(1, "a", DONE, "r.note:\x1b[2Jline\nbreak", NULL);
	wn_rtable *t = wn_rtable_new(jobs, njobs);
	char *out = render(t, WN_RTABLE_TABLE);
	CHECK(strchr(out, '\x1b') == NULL);
	CHECK(strstr(out, "\\x1b[2Jline\\x0abreak") != NULL);
	free(out);
	/* CSV is exact: a line break inside quotes */
	char *csv = render(t, WN_RTABLE_CSV);
	CHECK(strstr(csv, "\"\x1b[2Jline\nbreak\"") != NULL);
	free(csv);
	wn_rtable_free(t);
	jobs_free();
}

TEST_MAIN()
