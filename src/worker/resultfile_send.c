/* resultfile_send: what of a results file goes to the server (resultfile.h):
 * the points it has not acknowledged and the latest values. */
#include "resultfile_int.h"

#include "util.h"

#include <stdlib.h>
#include <unistd.h>

/* results_fill_values puts the latest value of every key of the file as it
 * now stands into pg. */
static void results_fill_values(wn_resultfile *r, Whatsnext__V1__JobProgress *pg)
{
	size_t n = 0;
	r->sending = r->changed;
	if (r->nlive == 0)
		return;
	Whatsnext__V1__JobProgress__ResultsEntry **ev = wn_xcalloc(r->nlive + 1, sizeof(*ev));
	Whatsnext__V1__JobProgress__ResultsEntry *e = wn_xcalloc(r->nlive + 1, sizeof(*e));
	Whatsnext__V1__ResultValue *v = wn_xcalloc(r->nlive + 1, sizeof(*v));
	for (size_t i = 0; i < r->nkeys; i++) {
		if (!r->live[i])
			continue;
		whatsnext__v1__job_progress__results_entry__init(&e[n]);
		whatsnext__v1__result_value__init(&v[n]);
		e[n].key = wn_xstrdup(r->keys[i]); /* a slot may be reused meanwhile */
		if (r->vals[i].text) {
			v[n].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
			v[n].text = wn_xstrdup(r->vals[i].str);
		} else {
			v[n].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
			v[n].number = r->vals[i].num;
		}
		e[n].value = &v[n];
		ev[n] = &e[n];
		n++;
	}
	pg->results = ev;
	pg->n_results = n;
}

/* results_fill_points puts the points the server does not have into pg. */
static void results_fill_points(wn_resultfile *r, Whatsnext__V1__JobProgress *pg)
{
	size_t n = r->npts;
	if (n == 0)
		return;
	Whatsnext__V1__ResultPoint **pv = wn_xcalloc(n + 1, sizeof(*pv));
	Whatsnext__V1__ResultPoint *p = wn_xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		whatsnext__v1__result_point__init(&p[i]);
		p[i].key = wn_xstrdup(r->keys[r->pts[i].key]);
		p[i].value = r->pts[i].value;
		p[i].time_ms = r->pts[i].time_ms;
		p[i].seq = r->pts[i].seq;
		p[i].nth = r->pts[i].nth;
		p[i].stride = r->stride[r->pts[i].key];
		pv[i] = &p[i];
	}
	pg->points = pv;
	pg->n_points = n;
}

int wn_resultfile_fill(wn_resultfile *r, Whatsnext__V1__JobProgress *pg, bool final, char **reason)
{
	int err;
	int fd = wn_resultfile_open(r, final, &err);
	pthread_mutex_lock(&r->mu);
	int rv = wn_resultfile_read_locked(r, fd, err, final, reason);
	if (fd >= 0)
		close(fd);
	results_fill_points(r, pg);
	if (final || r->changed != r->acked)
		results_fill_values(r, pg);
	pthread_mutex_unlock(&r->mu);
	return rv;
}

void wn_resultfile_done(wn_resultfile *r, Whatsnext__V1__JobProgress *pg, bool ok)
{
	pthread_mutex_lock(&r->mu);
	if (ok && pg->n_points > 0) {
		uint64_t upto = pg->points[pg->n_points - 1]->seq;
		size_t k = 0;
		for (size_t i = 0; i < r->npts; i++)
			if (r->pts[i].seq > upto)
				r->pts[k++] = r->pts[i];
			else
				r->held[r->pts[i].key]--;
		r->npts = k;
	}
	if (ok)
		r->acked = r->sending;
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < pg->n_points; i++)
		free(pg->points[i]->key);
	if (pg->n_points > 0)
		free(pg->points[0]); /* the points, one block */
	free(pg->points);
	if (pg->n_results > 0) {
		for (size_t i = 0; i < pg->n_results; i++) {
			free(pg->results[i]->key);
			if (pg->results[i]->value->value_case ==
			    WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT)
				free(pg->results[i]->value->text);
		}
		free(pg->results[0]->value); /* the values, one block */
		free(pg->results[0]);        /* the entries, one block */
	}
	free(pg->results);
	pg->points = NULL;
	pg->n_points = 0;
	pg->results = NULL;
	pg->n_results = 0;
}
