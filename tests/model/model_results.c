/* model_results: what jobs report, as docs/results.md, docs/protocol.md
 * (Heartbeat, Complete, History) and docs/server.md ("Results") describe
 * it: the progress of a job whose lease the worker holds sets its latest
 * values (a completion's are its results, even none) and adds its points to
 * the history of its latest attempt, a point not above the last report of
 * its key dropped; a new attempt starts with none; a progress that breaks a
 * rule is refused. A point's number within its key (nth) and the stride
 * its worker thinned to decide which points a series keeps. The runs report
 * few points: no series is thinned for its count (test_results covers
 * that). */
#include "model.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5

#define WANT(code, why) return model_want(m, c, code, why)

/* The keys the runs report: a number and a text. */
static const char *const res_keys[2] = {"loss", "phase"};

void model_results_fill(Whatsnext__V1__JobProgress *pg, int64_t v, void *(*alloc)(size_t))
{
	int64_t kind = v % 11;
	if (v <= 0 || kind < 6)
		return; /* reports nothing */
	Whatsnext__V1__JobProgress__ResultsEntry **ev = alloc(3 * sizeof(*ev));
	Whatsnext__V1__ResultValue *vv = alloc(2 * sizeof(*vv));
	for (int i = 0; i < 2; i++) {
		ev[i] = alloc(sizeof(*ev[i]));
		whatsnext__v1__job_progress__results_entry__init(ev[i]);
		whatsnext__v1__result_value__init(&vv[i]);
		ev[i]->key = (char *)res_keys[i];
		ev[i]->value = &vv[i];
	}
	vv[0].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
	vv[0].number = kind == 10 ? NAN : (double)(v % 1000) / 8; /* 10: refused */
	vv[1].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
	vv[1].text = (char *)((v / 11) % 2 ? "warmup" : "train");
	pg->results = ev;
	pg->n_results = 2;
	/* points of "loss" from report (v / 7) % 50 + 1 on, one to four */
	size_t n = 1 + (size_t)(v % 4);
	Whatsnext__V1__ResultPoint **pv = alloc((n + 1) * sizeof(*pv));
	for (size_t i = 0; i < n; i++) {
		pv[i] = alloc(sizeof(*pv[i]));
		whatsnext__v1__result_point__init(pv[i]);
		pv[i]->key = (char *)res_keys[0];
		pv[i]->value = (double)(v % 1000) / 8 + (double)i;
		pv[i]->seq = (uint64_t)((v / 7) % 50) + 1 + i;
		pv[i]->time_ms = 1000 + (int64_t)i;
		/* its number within the key: none (the next), or one that
		 * skips some; the stride the worker thinned to: every one, 2,
		 * 4, or (rarely) 3, refused */
		int64_t nk = (v / 17) % 3;
		pv[i]->nth = nk == 0 ? 0 : nk == 1 ? pv[i]->seq : 3 * pv[i]->seq;
		int64_t sk = (v / 19) % 4;
		pv[i]->stride = (v / 23) % 29 == 0 ? 3 : sk == 2 ? 2 : sk == 3 ? 4 : 0;
	}
	pg->points = pv;
	pg->n_points = n;
}

bool model_results_bad(const Whatsnext__V1__JobProgress *pg)
{
	for (size_t i = 0; i < pg->n_points; i++)
		if ((pg->points[i]->stride & (pg->points[i]->stride - 1)) != 0)
			return true;
	for (size_t i = 0; i < pg->n_results; i++) {
		const Whatsnext__V1__ResultValue *v = pg->results[i]->value;
		if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER &&
		    !isfinite(v->number))
			return true;
	}
	return false;
}

void model_results_fresh(model_job *j)
{
	j->res_n = 0;
}

/* series_of returns j's series of key, added when new. */
static model_series *series_of(model_job *j, const char *key)
{
	for (size_t i = 0; i < j->hist_n; i++)
		if (strcmp(j->hist[i].key, key) == 0)
			return &j->hist[i];
	j->hist = wn_xrealloc(j->hist, (j->hist_n + 1) * sizeof(*j->hist));
	model_series *s = &j->hist[j->hist_n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	return s;
}

/* on_stride: the point numbered nth is one a stride keeps. */
static bool on_stride(uint64_t nth, uint32_t stride)
{
	return (nth - 1) % stride == 0;
}

/* series_keep keeps the points of s on its stride, and its latest. */
static void series_keep(model_series *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->npts; i++)
		if (on_stride(s->pts[i].nth, s->stride) || i + 1 == s->npts)
			s->pts[k++] = s->pts[i];
	s->npts = k;
}

/* series_add adds point p to s: numbered p->nth when it is past the last,
 * else the one after; the latest point is kept until the next comes, and
 * a worker's larger stride becomes the series'. The runs hold far fewer
 * than 512 points: no thinning by count. */
static void series_add(model_series *s, const Whatsnext__V1__ResultPoint *p)
{
	if (s->stride == 0)
		s->stride = 1;
	s->reported = p->nth > s->reported ? p->nth : s->reported + 1;
	if (s->npts > 0 && !on_stride(s->pts[s->npts - 1].nth, s->stride))
		s->npts--;
	s->pts = wn_xrealloc(s->pts, (s->npts + 1) * sizeof(*s->pts));
	s->pts[s->npts].seq = p->seq;
	s->pts[s->npts].nth = s->reported;
	s->pts[s->npts].value = p->value;
	s->pts[s->npts++].time_ms = p->time_ms;
	if (p->stride > s->stride) {
		s->stride = p->stride;
		series_keep(s);
	}
}

void model_results_apply(model_job *j, const Whatsnext__V1__JobProgress *pg, bool final)
{
	if (pg->n_points > 0 && j->hist_attempt != j->attempt) {
		for (size_t i = 0; i < j->hist_n; i++)
			free(j->hist[i].pts);
		j->hist_n = 0;
		j->hist_attempt = j->attempt;
	}
	for (size_t i = 0; i < pg->n_points; i++) {
		const Whatsnext__V1__ResultPoint *p = pg->points[i];
		model_series *s = series_of(j, p->key);
		if (p->seq <= s->last_seq)
			continue;
		s->last_seq = p->seq;
		series_add(s, p);
	}
	if (pg->n_results == 0 && !final)
		return;
	j->res_n = pg->n_results < MODEL_RES_MAX ? pg->n_results : MODEL_RES_MAX;
	for (size_t i = 0; i < j->res_n; i++) {
		const Whatsnext__V1__ResultValue *v = pg->results[i]->value;
		snprintf(j->res[i].key, sizeof(j->res[i].key), "%s", pg->results[i]->key);
		j->res[i].text = v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
		j->res[i].num = j->res[i].text ? 0 : v->number;
		snprintf(j->res[i].str, sizeof(j->res[i].str), "%s", j->res[i].text ? v->text : "");
	}
}

void model_results_free(model_job *j)
{
	for (size_t i = 0; i < j->hist_n; i++)
		free(j->hist[i].pts);
	free(j->hist);
}

bool model_results_same(const model_job *j, const Whatsnext__V1__Job *g)
{
	if (g->n_results != j->res_n)
		return false;
	for (size_t i = 0; i < j->res_n; i++) {
		const Whatsnext__V1__ResultValue *v = g->results[i]->value;
		bool text = v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
		if (strcmp(g->results[i]->key, j->res[i].key) != 0 || text != j->res[i].text ||
		    (text ? strcmp(v->text, j->res[i].str) != 0 : v->number != j->res[i].num))
			return false;
	}
	return true;
}

int model_exec_history(model *m, const model_call *c)
{
	const Whatsnext__V1__HistoryRequest *rq = (const void *)c->rq;
	const model_job *j = model_job_get(m, rq->id);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no such job");
	if (c->code != C_OK)
		WANT(C_OK, "a valid read of the history");
	const Whatsnext__V1__ResultHistory *h = (const void *)c->rp;
	size_t n = j->hist_attempt == j->attempt ? j->hist_n : 0;
	if (h->job_id != j->id || h->attempt != j->attempt || h->n_series != n)
		return model_fail(m,
		                  "History of job %llu answered attempt %u with %zu series; the "
		                  "model has attempt %u with %zu",
		                  (unsigned long long)rq->id, h->attempt, h->n_series, j->attempt,
		                  n);
	for (size_t i = 0; i < n; i++) {
		const Whatsnext__V1__ResultSeries *s = h->series[i];
		const model_series *ms = &j->hist[i];
		bool same = strcmp(s->key, ms->key) == 0 && s->n_points == ms->npts &&
		            s->reported == ms->reported && s->last_seq == ms->last_seq &&
		            s->stride == ms->stride;
		for (size_t k = 0; same && k < ms->npts; k++)
			same = s->points[k]->seq == ms->pts[k].seq &&
			       s->points[k]->nth == ms->pts[k].nth &&
			       s->points[k]->value == ms->pts[k].value &&
			       s->points[k]->time_ms == ms->pts[k].time_ms;
		if (!same)
			return model_fail(
			    m,
			    "History of job %llu: series %s of %zu points (last report "
			    "%llu) differs from the model's %s of %zu (last %llu)",
			    (unsigned long long)rq->id, s->key, s->n_points,
			    (unsigned long long)s->last_seq, ms->key, ms->npts,
			    (unsigned long long)ms->last_seq);
	}
	return 0;
}
