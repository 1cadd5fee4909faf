#include "rtable.h"

#include "pbjson.h"

#include "err.h"
#include "json.h"
#include "map.h"
#include "table.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One column of parameters or results. */
struct rtable_col {
	char *key;  /* owned */
	char *head; /* the column's header, owned */
	bool right; /* every value in it is a number: right-aligned in the table */
};

struct wn_rtable {
	const Whatsnext__V1__Job **rows;
	size_t n;
	struct rtable_col *params, *results;
	size_t np, nr;
};

/* The names of the columns every row has. */
static const char *const rtable_fixed[] = {"id", "name", "status", NULL};

/* The largest integer a JSON reader keeps exactly (2^53 - 1). */
#define RTABLE_JSON_INT_MAX 9007199254740991ULL

static bool rtable_is_fixed(const char *key)
{
	for (size_t i = 0; rtable_fixed[i] != NULL; i++)
		if (strcmp(rtable_fixed[i], key) == 0)
			return true;
	return false;
}

/* rtable_param returns the value of parameter key of job j, or NULL. */
static const char *rtable_param(const Whatsnext__V1__Job *j, const char *key)
{
	for (size_t i = 0; i < j->n_params; i++)
		if (strcmp(j->params[i]->key, key) == 0)
			return j->params[i]->value;
	return NULL;
}

const Whatsnext__V1__ResultValue *wn_rtable_result(const Whatsnext__V1__Job *j, const char *key)
{
	for (size_t i = 0; i < j->n_results; i++) {
		const Whatsnext__V1__Job__ResultsEntry *e = j->results[i];
		if (e->value != NULL && strcmp(e->key, key) == 0 &&
		    e->value->value_case != WHATSNEXT__V1__RESULT_VALUE__VALUE__NOT_SET)
			return e->value;
	}
	return NULL;
}

char *wn_rtable_number(double x, char *buf, size_t n)
{
	if (isnan(x)) {
		snprintf(buf, n, "nan");
		return buf;
	}
	if (isinf(x)) {
		snprintf(buf, n, x < 0 ? "-inf" : "inf");
		return buf;
	}
	/* An integer prints whole ("20", not "2e+01") while it is exact in a double's 15
	 * significant digits; past that the shortest of %g reads better ("1e+21"). */
	if (x == floor(x) && fabs(x) < 1e15) {
		snprintf(buf, n, "%.0f", x);
		return buf;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return buf;
}

const char *wn_rtable_value(const Whatsnext__V1__ResultValue *v, char *buf, size_t n)
{
	if (v == NULL)
		return "";
	if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER)
		return wn_rtable_number(v->number, buf, n);
	if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT && v->text != NULL)
		return v->text;
	return "";
}

/* rtable_is_number tells whether s is a whole decimal number (a parameter's value). */
static bool rtable_is_number(const char *s)
{
	char *end = NULL;
	if (s[0] == '\0')
		return false;
	double x = strtod(s, &end);
	return *end == '\0' && isfinite(x);
}

static int rtable_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* rtable_keys returns the keys of map m in byte order (n of them, malloc'd array). */
static const char **rtable_keys(const wn_map *m, size_t *n)
{
	*n = wn_map_count(m);
	const char **keys = wn_xcalloc(*n + 1, sizeof(*keys));
	size_t pos = 0, i = 0;
	const char *k = NULL;
	void *v = NULL;
	while (wn_map_next(m, &pos, NULL, &k, &v))
		keys[i++] = v; /* the job's own copy of the key */
	qsort(keys, *n, sizeof(*keys), rtable_key_cmp);
	return keys;
}

/* rtable_columns makes the columns of the keys that map m collected. */
static struct rtable_col *rtable_columns(const wn_map *m, size_t *n)
{
	const char **keys = rtable_keys(m, n);
	struct rtable_col *cols = wn_xcalloc(*n + 1, sizeof(*cols));
	for (size_t i = 0; i < *n; i++)
		cols[i].key = wn_xstrdup(keys[i]);
	free(keys);
	return cols;
}

/* rtable_align decides which columns are right-aligned: those holding numbers only. */
static void rtable_align(wn_rtable *t)
{
	for (size_t c = 0; c < t->np; c++) {
		bool num = true;
		for (size_t r = 0; r < t->n && num; r++) {
			const char *v = rtable_param(t->rows[r], t->params[c].key);
			num = v == NULL || rtable_is_number(v);
		}
		t->params[c].right = num;
	}
	for (size_t c = 0; c < t->nr; c++) {
		bool num = true;
		for (size_t r = 0; r < t->n && num; r++) {
			const Whatsnext__V1__ResultValue *v =
			    wn_rtable_result(t->rows[r], t->results[c].key);
			num =
			    v == NULL || v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
		}
		t->results[c].right = num;
	}
}

/* rtable_heads names the columns, telling a parameter and a result of one name apart. */
static void rtable_heads(wn_rtable *t, const wn_map *params)
{
	for (size_t c = 0; c < t->np; c++) {
		const char *k = t->params[c].key;
		t->params[c].head =
		    rtable_is_fixed(k) ? wn_xasprintf("param.%s", k) : wn_xstrdup(k);
	}
	for (size_t c = 0; c < t->nr; c++) {
		const char *k = t->results[c].key;
		bool clash = rtable_is_fixed(k) || wn_map_get_str(params, k) != NULL;
		t->results[c].head = clash ? wn_xasprintf("result.%s", k) : wn_xstrdup(k);
	}
}

/* rtable_build returns the rows of the n jobs with the columns of their keys and those of
 * prev (NULL: none). */
static wn_rtable *rtable_build(Whatsnext__V1__Job *const *jobs, size_t n, const wn_rtable *prev)
{
	wn_rtable *t = wn_xcalloc(1, sizeof(*t));
	t->rows = wn_xcalloc(n + 1, sizeof(*t->rows));
	t->n = n;
	wn_map *params = wn_map_new_str(), *results = wn_map_new_str();
	for (size_t c = 0; prev != NULL && c < prev->np; c++)
		wn_map_put_str(params, prev->params[c].key, (void *)prev->params[c].key);
	for (size_t c = 0; prev != NULL && c < prev->nr; c++)
		wn_map_put_str(results, prev->results[c].key, (void *)prev->results[c].key);
	for (size_t r = 0; r < n; r++) {
		const Whatsnext__V1__Job *j = jobs[r];
		t->rows[r] = j;
		for (size_t i = 0; i < j->n_params; i++)
			wn_map_put_str(params, j->params[i]->key, j->params[i]->key);
		for (size_t i = 0; i < j->n_results; i++)
			if (wn_rtable_result(j, j->results[i]->key) != NULL)
				wn_map_put_str(results, j->results[i]->key, j->results[i]->key);
	}
	t->params = rtable_columns(params, &t->np);
	t->results = rtable_columns(results, &t->nr);
	rtable_heads(t, params);
	rtable_align(t);
	wn_map_free(params);
	wn_map_free(results);
	return t;
}

wn_rtable *wn_rtable_new(Whatsnext__V1__Job *const *jobs, size_t n)
{
	return rtable_build(jobs, n, NULL);
}

void wn_rtable_free(wn_rtable *t)
{
	if (t == NULL)
		return;
	for (size_t c = 0; c < t->np; c++) {
		free(t->params[c].head);
		free(t->params[c].key);
	}
	for (size_t c = 0; c < t->nr; c++) {
		free(t->results[c].head);
		free(t->results[c].key);
	}
	free(t->params);
	free(t->results);
	free(t->rows);
	free(t);
}

size_t wn_rtable_rows(const wn_rtable *t)
{
	return t->n;
}

bool wn_rtable_has_result(const wn_rtable *t, const char *key)
{
	for (size_t c = 0; c < t->nr; c++)
		if (strcmp(t->results[c].key, key) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- order */

/* A row being sorted, with its value of the sort key looked up once. */
struct rtable_sortrow {
	const Whatsnext__V1__Job *job;
	const Whatsnext__V1__ResultValue *v;
	int class;
};

/* rtable_class ranks a value for sorting: numbers, texts, NaN, then none. */
static int rtable_class(const Whatsnext__V1__ResultValue *v)
{
	if (v == NULL)
		return 3;
	if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT)
		return 1;
	return isnan(v->number) ? 2 : 0;
}

static int rtable_cmp(const void *a, const void *b, void *arg)
{
	const bool *desc = arg;
	const struct rtable_sortrow *ra = a, *rb = b;
	if (ra->class != rb->class)
		return ra->class < rb->class ? -1 : 1;
	int r = 0;
	if (ra->class == 0)
		r = (ra->v->number > rb->v->number) - (ra->v->number < rb->v->number);
	else if (ra->class == 1)
		r = strcmp(ra->v->text ? ra->v->text : "", rb->v->text ? rb->v->text : "");
	r = r < 0 ? -1 : r > 0;
	if (*desc)
		r = -r;
	if (r != 0)
		return r;
	return (ra->job->id > rb->job->id) - (ra->job->id < rb->job->id);
}

void wn_rtable_sort(wn_rtable *t, const char *key, bool desc)
{
	struct rtable_sortrow *v = wn_xcalloc(t->n + 1, sizeof(*v));
	for (size_t r = 0; r < t->n; r++) {
		v[r].job = t->rows[r];
		v[r].v = wn_rtable_result(t->rows[r], key);
		v[r].class = rtable_class(v[r].v);
	}
	qsort_r(v, t->n, sizeof(*v), rtable_cmp, &desc);
	for (size_t r = 0; r < t->n; r++)
		t->rows[r] = v[r].job;
	free(v);
}

void wn_rtable_best(wn_rtable *t, const char *key, size_t n)
{
	size_t kept = 0;
	for (size_t r = 0; r < t->n && kept < n; r++)
		if (wn_rtable_result(t->rows[r], key) != NULL)
			t->rows[kept++] = t->rows[r];
	t->n = kept;
}

/* ---------------------------------------------------------------- output */

static const char *rtable_status(const Whatsnext__V1__Job *j, char *buf, size_t n)
{
	return wn_json_enum_name(&whatsnext__v1__job_status__descriptor, (int)j->status, buf, n);
}

/* rtable_table_new returns a table headed with the columns of t. */
static wn_table *rtable_table_new(const wn_rtable *t)
{
	size_t ncols = 3 + t->np + t->nr;
	const char **heads = wn_xcalloc(ncols + 1, sizeof(*heads));
	char **owned = wn_xcalloc(ncols + 1, sizeof(*owned));
	size_t h = 0;
	heads[h++] = "ID";
	heads[h++] = "NAME";
	for (size_t c = 0; c < t->np; c++) {
		owned[h] = wn_xasprintf("%s%s", t->params[c].right ? ">" : "", t->params[c].head);
		heads[h] = owned[h];
		h++;
	}
	heads[h++] = "STATUS";
	for (size_t c = 0; c < t->nr; c++) {
		owned[h] = wn_xasprintf("%s%s", t->results[c].right ? ">" : "", t->results[c].head);
		heads[h] = owned[h];
		h++;
	}
	wn_table *tab = wn_table_new(heads);
	for (size_t i = 0; i < ncols; i++)
		free(owned[i]);
	free(owned);
	free(heads);
	return tab;
}

/* rtable_table_rows adds the rows of t to tab, a table of t's columns. */
static void rtable_table_rows(const wn_rtable *t, wn_table *tab)
{
	char buf[64];
	for (size_t r = 0; r < t->n; r++) {
		const Whatsnext__V1__Job *j = t->rows[r];
		wn_table_add(tab, "%llu", (unsigned long long)j->id);
		wn_table_add(tab, "%s", j->name);
		for (size_t c = 0; c < t->np; c++) {
			const char *v = rtable_param(j, t->params[c].key);
			wn_table_add(tab, "%s", v ? v : "");
		}
		wn_table_add(tab, "%s", rtable_status(j, buf, sizeof(buf)));
		for (size_t c = 0; c < t->nr; c++)
			wn_table_add(tab, "%s",
			             wn_rtable_value(wn_rtable_result(j, t->results[c].key), buf,
			                             sizeof(buf)));
	}
}

static void rtable_write_table(const wn_rtable *t, FILE *f)
{
	wn_table *tab = rtable_table_new(t);
	rtable_table_rows(t, tab);
	wn_table_print(tab, f);
	wn_table_free(tab);
}

/* csv_field writes s as one field of RFC 4180, quoted when it holds a comma, a quote or a
 * line break, after a comma unless first. */
static void csv_field(FILE *f, const char *s, bool first)
{
	if (!first)
		fputc(',', f);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void rtable_write_csv(const wn_rtable *t, FILE *f)
{
	csv_field(f, "id", true);
	csv_field(f, "name", false);
	for (size_t c = 0; c < t->np; c++)
		csv_field(f, t->params[c].head, false);
	csv_field(f, "status", false);
	for (size_t c = 0; c < t->nr; c++)
		csv_field(f, t->results[c].head, false);
	fputs("\r\n", f);
	char buf[64];
	for (size_t r = 0; r < t->n; r++) {
		const Whatsnext__V1__Job *j = t->rows[r];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)j->id);
		csv_field(f, buf, true);
		csv_field(f, j->name, false);
		for (size_t c = 0; c < t->np; c++) {
			const char *v = rtable_param(j, t->params[c].key);
			csv_field(f, v ? v : "", false);
		}
		csv_field(f, rtable_status(j, buf, sizeof(buf)), false);
		for (size_t c = 0; c < t->nr; c++)
			csv_field(f,
			          wn_rtable_value(wn_rtable_result(j, t->results[c].key), buf,
			                          sizeof(buf)),
			          false);
		fputs("\r\n", f);
	}
}

/* rtable_json_value returns result v as JSON: a number, or a string for a text (and for a
 * number JSON cannot hold: nan, inf). */
static json_t *rtable_json_value(const Whatsnext__V1__ResultValue *v)
{
	char buf[64];
	if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER && isfinite(v->number))
		return json_real(v->number);
	const char *s = wn_rtable_value(v, buf, sizeof(buf));
	return wn_json_string(s, strlen(s));
}

/* rtable_json_row returns the JSON object of job j: id, name, status, params, results. */
static json_t *rtable_json_row(const wn_rtable *t, const Whatsnext__V1__Job *j)
{
	char buf[64];
	json_t *o = json_object();
	if (j->id <= RTABLE_JSON_INT_MAX) {
		json_object_set_new(o, "id", json_integer((json_int_t)j->id));
	} else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)j->id);
		json_object_set_new(o, "id", json_string(buf));
	}
	json_object_set_new(o, "name", wn_json_string(j->name, strlen(j->name)));
	json_object_set_new(o, "status", json_string(rtable_status(j, buf, sizeof(buf))));
	json_t *params = json_object(), *results = json_object();
	for (size_t c = 0; c < t->np; c++) {
		const char *v = rtable_param(j, t->params[c].key);
		if (v != NULL)
			json_object_set_new(params, t->params[c].key, wn_json_string(v, strlen(v)));
	}
	for (size_t c = 0; c < t->nr; c++) {
		const Whatsnext__V1__ResultValue *v = wn_rtable_result(j, t->results[c].key);
		if (v != NULL)
			json_object_set_new(results, t->results[c].key, rtable_json_value(v));
	}
	json_object_set_new(o, "params", params);
	json_object_set_new(o, "results", results);
	return o;
}

static void rtable_write_json(const wn_rtable *t, FILE *f)
{
	json_t *a = json_array();
	for (size_t r = 0; r < t->n; r++)
		json_array_append_new(a, rtable_json_row(t, t->rows[r]));
	json_dumpf(a, f,
	           JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(wn_pbjson_precision(a)));
	fputc('\n', f);
	json_decref(a);
}

int wn_rtable_write(const wn_rtable *t, enum wn_rtable_format fmt, FILE *f)
{
	switch (fmt) {
	case WN_RTABLE_TABLE:
		rtable_write_table(t, f);
		break;
	case WN_RTABLE_CSV:
		rtable_write_csv(t, f);
		break;
	case WN_RTABLE_JSON:
		rtable_write_json(t, f);
		break;
	}
	return fflush(f) == 0 && !ferror(f) ? WN_OK : WN_EIO;
}

/* ---------------------------------------------------------------- page by page */

struct wn_rtable_stream {
	FILE *f;
	wn_rtable *cols; /* the columns of the table being printed (no rows); NULL at first */
	wn_table *tab;
};

wn_rtable_stream *wn_rtable_stream_new(FILE *f)
{
	wn_rtable_stream *s = wn_xcalloc(1, sizeof(*s));
	s->f = f;
	return s;
}

void wn_rtable_stream_free(wn_rtable_stream *s)
{
	if (s == NULL)
		return;
	wn_table_free(s->tab);
	wn_rtable_free(s->cols);
	free(s);
}

/* rtable_same_columns tells whether a and b have the same columns, headed the same. */
static bool rtable_same_columns(const wn_rtable *a, const wn_rtable *b)
{
	if (a->np != b->np || a->nr != b->nr)
		return false;
	for (size_t c = 0; c < a->np; c++)
		if (strcmp(a->params[c].head, b->params[c].head) != 0)
			return false;
	for (size_t c = 0; c < a->nr; c++)
		if (strcmp(a->results[c].head, b->results[c].head) != 0)
			return false;
	return true;
}

void wn_rtable_stream_page(wn_rtable_stream *s, Whatsnext__V1__Job *const *jobs, size_t n)
{
	wn_rtable *t = rtable_build(jobs, n, s->cols);
	if (s->cols == NULL || !rtable_same_columns(s->cols, t)) {
		if (s->tab != NULL)
			fputc('\n', s->f);
		wn_table_free(s->tab);
		s->tab = rtable_table_new(t);
	}
	rtable_table_rows(t, s->tab);
	wn_table_flush(s->tab, s->f);
	t->n = 0; /* the jobs go with their page */
	wn_rtable_free(s->cols);
	s->cols = t;
}
