#include "results.h"

#include "records_results.h"
#include "resultrules.h"

#include "err.h"
#include "log.h"

#include <stdint.h>
#include <sys/types.h>
#include <string.h>

/* ---------------------------------------------------------------- checks */

/* value_check validates one result value of key. */
static int value_check(struct call *c, uint64_t id, const char *key,
                       const Whatsnext__V1__ResultValue *v)
{
	const char *why = NULL;
	if (v == NULL || v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE__NOT_SET)
		why = "a value is a number or a text, not nothing";
	else if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER)
		why = wn_result_number_check(v->number);
	else
		why = wn_result_text_check(v->text, strlen(v->text));
	if (why == NULL)
		return WN_OK;
	return wn_call_fail(c, WN_EINVAL, "job %llu: result \"%.64s\": %s", (unsigned long long)id,
	                    key, why);
}

/* key_check validates a key of a result or a point. */
static int key_check(struct call *c, uint64_t id, const char *key)
{
	const char *why = wn_result_key_check(key, strlen(key));
	if (why == NULL)
		return WN_OK;
	return wn_call_fail(c, WN_EINVAL, "job %llu: result key \"%.64s\": %s",
	                    (unsigned long long)id, key, why);
}

static int results_values_check(struct call *c, const Whatsnext__V1__JobProgress *pg)
{
	uint64_t id = pg->job_id;
	if (pg->n_results > WN_RESULT_KEYS_MAX)
		return wn_call_fail(c, WN_EINVAL,
		                    "job %llu: %zu results, over the limit of %d keys",
		                    (unsigned long long)id, pg->n_results, WN_RESULT_KEYS_MAX);
	for (size_t i = 0; i < pg->n_results; i++) {
		const Whatsnext__V1__JobProgress__ResultsEntry *e = pg->results[i];
		int rv = key_check(c, id, e->key);
		if (rv == WN_OK)
			rv = value_check(c, id, e->key, e->value);
		if (rv != WN_OK)
			return rv;
		for (size_t k = 0; k < i; k++)
			if (strcmp(pg->results[k]->key, e->key) == 0)
				return wn_call_fail(c, WN_EINVAL,
				                    "job %llu: result \"%s\" given twice",
				                    (unsigned long long)id, e->key);
	}
	return WN_OK;
}

int wn_results_check(struct call *c, const Whatsnext__V1__JobProgress *pg)
{
	uint64_t id = pg->job_id;
	int rv = results_values_check(c, pg);
	if (rv != WN_OK)
		return rv;
	if (pg->n_points > WN_PROGRESS_POINTS_MAX)
		return wn_call_fail(c, WN_EINVAL, "job %llu: %zu points, over the limit of %d",
		                    (unsigned long long)id, pg->n_points, WN_PROGRESS_POINTS_MAX);
	for (size_t i = 0; i < pg->n_points; i++) {
		const Whatsnext__V1__ResultPoint *p = pg->points[i];
		if ((rv = key_check(c, id, p->key)) != WN_OK)
			return rv;
		const char *why = wn_result_number_check(p->value);
		if (why == NULL && p->seq == 0)
			why = "its report (seq) is 0";
		if (why == NULL && p->time_ms < 0)
			why = "its time is negative";
		if (why == NULL && (p->stride & (p->stride - 1)) != 0)
			why = "its stride is not a power of two";
		if (why != NULL)
			return wn_call_fail(c, WN_EINVAL, "job %llu: point of \"%.64s\": %s",
			                    (unsigned long long)id, p->key, why);
	}
	return WN_OK;
}

/* ---------------------------------------------------------------- history */

/* series_stale gives the index in h of a series whose key is none of pg's
 * values (a key its results file no longer holds, after a rewrite), -1 when
 * there is none or pg has no values. */
static ssize_t series_stale(const Whatsnext__V1__ResultHistory *h,
                            const Whatsnext__V1__JobProgress *pg)
{
	for (size_t i = 0; i < h->n_series && pg->n_results > 0; i++) {
		size_t k = 0;
		while (k < pg->n_results && strcmp(pg->results[k]->key, h->series[i]->key) != 0)
			k++;
		if (k == pg->n_results)
			return (ssize_t)i;
	}
	return -1;
}

/* series_of returns h's series of key, added when new and room is left (or
 * in the place of a series of a key pg's values no longer hold; NULL:
 * none); its points array gets room for more points. */
static Whatsnext__V1__ResultSeries *series_of(struct call *c, Whatsnext__V1__ResultHistory *h,
                                              const Whatsnext__V1__JobProgress *pg, const char *key,
                                              size_t more)
{
	Whatsnext__V1__ResultSeries *s = NULL;
	for (size_t i = 0; i < h->n_series && s == NULL; i++)
		if (strcmp(h->series[i]->key, key) == 0)
			s = h->series[i];
	if (s == NULL && h->n_series >= WN_RESULT_KEYS_MAX) {
		ssize_t old = series_stale(h, pg);
		if (old < 0)
			return NULL;
		memmove(h->series + old, h->series + old + 1,
		        (h->n_series - (size_t)old - 1) * sizeof(*h->series));
		h->n_series--;
	}
	if (s == NULL) {
		Whatsnext__V1__ResultSeries **v =
		    wn_arena_alloc(c->arena, (h->n_series + 1) * sizeof(*v));
		if (h->n_series > 0)
			memcpy(v, h->series, h->n_series * sizeof(*v));
		s = wn_arena_alloc(c->arena, sizeof(*s));
		whatsnext__v1__result_series__init(s);
		s->key = wn_arena_strdup(c->arena, key);
		s->stride = 1;
		v[h->n_series++] = s;
		h->series = v;
	}
	Whatsnext__V1__ResultPoint **pv =
	    wn_arena_alloc(c->arena, (s->n_points + more + 1) * sizeof(*pv));
	if (s->n_points > 0)
		memcpy(pv, s->points, s->n_points * sizeof(*pv));
	s->points = pv;
	return s;
}

/* on_stride tells whether q, the nth number of its key, is one that a
 * stride keeps (the first always is). */
static bool on_stride(const Whatsnext__V1__ResultPoint *q, uint32_t stride)
{
	return (q->nth - 1) % stride == 0;
}

/* series_keep drops the points of s off its stride, but the latest. */
static void series_keep(Whatsnext__V1__ResultSeries *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n_points; i++)
		if (on_stride(s->points[i], s->stride) || i + 1 == s->n_points)
			s->points[k++] = s->points[i];
	s->n_points = k;
}

/* series_thin raises the stride of s to at least `stride` (the one its
 * worker sent with) and doubles it while s holds more than
 * WN_HISTORY_POINTS points. Numbers so far apart that the largest stride
 * keeps them all (a worker's nth beyond any real run) lose the points
 * after the first that are oldest. */
static void series_thin(Whatsnext__V1__ResultSeries *s, uint32_t stride)
{
	if (stride > s->stride) {
		s->stride = stride;
		series_keep(s);
	}
	while (s->n_points > WN_HISTORY_POINTS && s->stride <= UINT32_MAX / 2) {
		s->stride *= 2;
		series_keep(s);
	}
	if (s->n_points > WN_HISTORY_POINTS) {
		size_t drop = s->n_points - WN_HISTORY_POINTS;
		memmove(s->points + 1, s->points + 1 + drop,
		        (s->n_points - 1 - drop) * sizeof(*s->points));
		s->n_points = WN_HISTORY_POINTS;
	}
}

/* series_add adds point p to s unless s had it (a report sent again). The
 * series keeps the points whose nth - 1 is a multiple of its stride, and
 * its latest point until a later one comes; a point with no nth is the one
 * after the last reported. */
static void series_add(struct call *c, Whatsnext__V1__ResultSeries *s,
                       const Whatsnext__V1__ResultPoint *p)
{
	if (p->seq <= s->last_seq)
		return;
	s->last_seq = p->seq;
	if (s->stride == 0)
		s->stride = 1;
	s->reported = p->nth > s->reported ? p->nth : s->reported + 1;
	if (s->n_points > 0 && !on_stride(s->points[s->n_points - 1], s->stride))
		s->n_points--; /* kept only as the latest */
	Whatsnext__V1__ResultPoint *q = wn_arena_alloc(c->arena, sizeof(*q));
	whatsnext__v1__result_point__init(q);
	q->value = p->value;
	q->time_ms = p->time_ms;
	q->seq = p->seq;
	q->nth = s->reported;
	s->points[s->n_points++] = q;
	series_thin(s, p->stride);
}

/* history_number gives the points of h stored without their nth theirs:
 * such a series kept one point of every `stride` from the first. */
static void history_number(Whatsnext__V1__ResultHistory *h)
{
	for (size_t i = 0; i < h->n_series; i++) {
		Whatsnext__V1__ResultSeries *s = h->series[i];
		uint64_t stride = s->stride > 0 ? s->stride : 1;
		for (size_t k = 0; k < s->n_points; k++)
			if (s->points[k]->nth == 0)
				s->points[k]->nth = k * stride + 1;
	}
}

/* history_load reads j's history of its current attempt, or starts one. */
static int history_load(struct call *c, const Job *j, Whatsnext__V1__ResultHistory **out)
{
	Whatsnext__V1__ResultHistory *h = NULL;
	int rv = wn_records_history_get(&c->rec, j->id, &h);
	if (rv == WN_EINTERNAL)
		wn_warn("job %llu: its result history is unreadable; it starts again",
		        (unsigned long long)j->id);
	else if (rv != WN_OK && rv != WN_ENOTFOUND)
		return wn_call_fail(c, rv, "cannot read the result history of job %llu",
		                    (unsigned long long)j->id);
	if (rv == WN_OK)
		history_number(h);
	if (rv != WN_OK || h->attempt != j->attempt) {
		h = wn_arena_alloc(c->arena, sizeof(*h));
		whatsnext__v1__result_history__init(h);
		h->job_id = j->id;
		h->attempt = j->attempt;
	}
	*out = h;
	return WN_OK;
}

/* history_apply adds pg's points to j's history, in b. */
static int history_apply(struct call *c, wn_batch *b, const Job *j,
                         const Whatsnext__V1__JobProgress *pg)
{
	Whatsnext__V1__ResultHistory *h = NULL;
	int rv = history_load(c, j, &h);
	if (rv != WN_OK)
		return rv;
	const char *keys[WN_RESULT_KEYS_MAX];
	size_t counts[WN_RESULT_KEYS_MAX] = {0}, nk = 0;
	Whatsnext__V1__ResultSeries *ser[WN_RESULT_KEYS_MAX];
	int *at = wn_arena_alloc(c->arena, (pg->n_points + 1) * sizeof(*at));
	for (size_t i = 0; i < pg->n_points; i++) {
		size_t k = 0;
		while (k < nk && strcmp(keys[k], pg->points[i]->key) != 0)
			k++;
		if (k == nk && nk < WN_RESULT_KEYS_MAX)
			keys[nk++] = pg->points[i]->key;
		at[i] = k < nk ? (int)k : -1; /* past the keys' limit: dropped */
		if (k < nk)
			counts[k]++;
	}
	for (size_t k = 0; k < nk; k++)
		ser[k] = series_of(c, h, pg, keys[k], counts[k]);
	for (size_t i = 0; i < pg->n_points; i++)
		if (at[i] >= 0 && ser[at[i]] != NULL)
			series_add(c, ser[at[i]], pg->points[i]);
	wn_records_history_put(b, h);
	return WN_OK;
}

/* ---------------------------------------------------------------- apply */

void wn_results_fresh(Job *j)
{
	j->results = NULL;
	j->n_results = 0;
}

/* values_apply makes pg's values j's; returns whether they changed. */
static bool values_apply(struct call *c, Job *j, const Whatsnext__V1__JobProgress *pg)
{
	Whatsnext__V1__Job__ResultsEntry **v =
	    wn_arena_alloc(c->arena, (pg->n_results + 1) * sizeof(*v));
	bool changed = pg->n_results != j->n_results;
	for (size_t i = 0; i < pg->n_results; i++) {
		v[i] = wn_arena_alloc(c->arena, sizeof(*v[i]));
		whatsnext__v1__job__results_entry__init(v[i]);
		v[i]->key = pg->results[i]->key;
		v[i]->value = pg->results[i]->value;
		if (changed || i >= j->n_results)
			continue;
		const Whatsnext__V1__ResultValue *a = j->results[i]->value, *n = v[i]->value;
		changed = strcmp(j->results[i]->key, v[i]->key) != 0 ||
		          a->value_case != n->value_case ||
		          (a->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER
		               ? a->number != n->number
		               : strcmp(a->text, n->text) != 0);
	}
	j->results = v;
	j->n_results = pg->n_results;
	return changed;
}

int wn_results_apply(struct call *c, wn_batch *b, Job *j, const Whatsnext__V1__JobProgress *pg,
                     bool final)
{
	if (pg->n_points > 0) {
		int rv = history_apply(c, b, j, pg);
		if (rv != WN_OK)
			return rv;
	}
	if (pg->n_results == 0 && !final)
		return WN_OK; /* no news of the values */
	if (values_apply(c, j, pg) && !final)
		wn_job_put(c, b, j);
	return WN_OK;
}

/* ---------------------------------------------------------------- reading */

int wn_results_history(struct call *c, const Job *j, char *const *keys, size_t nkeys,
                       Whatsnext__V1__ResultHistory **out)
{
	Whatsnext__V1__ResultHistory *h = NULL;
	int rv = history_load(c, j, &h);
	if (rv != WN_OK)
		return rv;
	if (nkeys > 0) {
		size_t k = 0;
		for (size_t i = 0; i < h->n_series; i++)
			for (size_t n = 0; n < nkeys; n++)
				if (strcmp(h->series[i]->key, keys[n]) == 0) {
					h->series[k++] = h->series[i];
					break;
				}
		h->n_series = k;
	}
	*out = h;
	return WN_OK;
}
