/* wnd --check: the rules on result histories (r/ID, records_results.h). */
#include "check_int.h"

#include "keys.h"

/* history_why tells what of h breaks the rules results.c keeps: every
 * series' stride a power of two (0: none yet), its points numbered in
 * increasing order and none past what was reported (points stored before
 * they were numbered, nth 0, aside); NULL when none. */
static const char *history_why(const Whatsnext__V1__ResultHistory *h)
{
	for (size_t i = 0; i < h->n_series; i++) {
		const Whatsnext__V1__ResultSeries *s = h->series[i];
		if ((s->stride & (s->stride - 1)) != 0)
			return "a series' stride is not a power of two";
		uint64_t last = 0;
		for (size_t k = 0; k < s->n_points; k++) {
			uint64_t nth = s->points[k]->nth;
			if (nth != 0 && (nth <= last || nth > s->reported))
				return "a series' points are out of order or past what was "
				       "reported";
			last = nth != 0 ? nth : last;
		}
	}
	return NULL;
}

void wn_check_history(struct check *k, const char *name, const char *key, size_t kl,
                      const uint8_t *v, size_t vl)
{
	uint64_t id = kl == WN_KEY_ID_LEN ? wn_key_id(key) : 0;
	const char *why = NULL;
	Whatsnext__V1__ResultHistory *h = NULL;
	/* r/ sorts after j/: every job is known by now */
	if (id == 0)
		why = "key does not name a job id";
	else if (wn_check_job(k, id) == NULL)
		why = "result history of a job that does not exist";
	else if ((h = whatsnext__v1__result_history__unpack(NULL, vl, v)) == NULL)
		why = "record does not unpack as a ResultHistory";
	else if (h->job_id != id)
		why = "record names another job than its key";
	else
		why = history_why(h);
	if (h != NULL)
		whatsnext__v1__result_history__free_unpacked(h, NULL);
	if (why == NULL)
		return;
	wn_check_finding(k, name, "%s", why);
	wn_check_plan_del(k, key, kl, "a result history wnd cannot use");
}
