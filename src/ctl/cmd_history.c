/* wnctl job history: the history of a job's numeric results (JobService/History). */
#include "ctl.h"
#include "methods.h"
#include "rtable.h"
#include "table.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_KEY = 1 };

const struct option wn_ctl_job_history_opts[] = {
    {"key", required_argument, NULL, OPT_KEY},
    {0},
};

const struct wn_ctl_opthelp wn_ctl_job_history_help[] = {
    {"--key K", "only result K; repeat for more (default: every key)"},
    {NULL, NULL},
};

/* A row of the table: one report, and the point of each key it holds. */
struct history_row {
	uint64_t seq;
	int64_t time_ms;
	const Whatsnext__V1__ResultPoint **cells; /* one per series, NULL: none */
};

static int history_row_cmp(const void *a, const void *b)
{
	const struct history_row *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* history_rows merges the series of h by report into *rows; returns how many. */
static size_t history_rows(wn_ctl *c, const Whatsnext__V1__ResultHistory *h,
                           struct history_row **rows)
{
	size_t total = 0;
	for (size_t i = 0; i < h->n_series; i++)
		total += h->series[i]->n_points;
	struct history_row *v = wn_ctl_alloc(c, (total + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < h->n_series; i++)
		for (size_t k = 0; k < h->series[i]->n_points; k++) {
			const Whatsnext__V1__ResultPoint *p = h->series[i]->points[k];
			v[n].seq = p->seq;
			v[n].time_ms = p->time_ms;
			v[n].cells = wn_ctl_alloc(c, (h->n_series + 1) * sizeof(*v[n].cells));
			memset(v[n].cells, 0, (h->n_series + 1) * sizeof(*v[n].cells));
			v[n++].cells[i] = p;
		}
	qsort(v, n, sizeof(*v), history_row_cmp);
	size_t k = 0; /* rows of one report become one */
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && v[k - 1].seq == v[i].seq) {
			for (size_t s = 0; s < h->n_series; s++)
				if (v[i].cells[s] != NULL)
					v[k - 1].cells[s] = v[i].cells[s];
			continue;
		}
		v[k++] = v[i];
	}
	*rows = v;
	return k;
}

int wn_ctl_job_history(wn_ctl *c)
{
	Whatsnext__V1__HistoryRequest req = WHATSNEXT__V1__HISTORY_REQUEST__INIT;
	char **keys = NULL;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_KEY) {
			char **v = wn_ctl_alloc(c, (req.n_keys + 1) * sizeof(*v));
			if (req.n_keys > 0)
				memcpy(v, keys, req.n_keys * sizeof(*v));
			v[req.n_keys++] = wn_ctl_strdup(c, optarg);
			keys = v;
		}
	req.keys = keys;
	req.id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	Whatsnext__V1__ResultHistory *h = wn_ctl_call(
	    c, WN_PATH_JOB_HISTORY, &req.base, &whatsnext__v1__result_history__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&h->base);
		return WN_CTL_EXIT_OK;
	}
	if (h->n_series == 0) {
		/* under the keys asked for, when it was asked for some */
		printf("job %llu attempt %u reported no numbers", (unsigned long long)h->job_id,
		       h->attempt);
		for (size_t i = 0; i < req.n_keys; i++)
			printf("%s%s",
			       i == 0 ? (req.n_keys == 1 ? " under key " : " under keys ") : ", ",
			       wn_ctl_line(c, keys[i]));
		putchar('\n');
		return WN_CTL_EXIT_OK;
	}
	const char **heads = wn_ctl_alloc(c, (h->n_series + 3) * sizeof(*heads));
	heads[0] = ">report";
	heads[1] = "time";
	for (size_t i = 0; i < h->n_series; i++)
		heads[i + 2] = wn_ctl_printf(c, ">%s", h->series[i]->key);
	heads[h->n_series + 2] = NULL;
	wn_table *t = wn_table_new(heads);
	struct history_row *rows = NULL;
	size_t n = history_rows(c, h, &rows);
	char num[32];
	for (size_t r = 0; r < n; r++) {
		wn_table_add(t, "%llu", (unsigned long long)rows[r].seq);
		wn_table_add(t, "%s", wn_ctl_time(c, rows[r].time_ms));
		for (size_t s = 0; s < h->n_series; s++)
			if (rows[r].cells[s] != NULL)
				wn_table_add(
				    t, "%s",
				    wn_rtable_number(rows[r].cells[s]->value, num, sizeof(num)));
			else
				wn_table_add(t, "%s", "");
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	for (size_t s = 0; s < h->n_series; s++)
		if (h->series[s]->stride > 1)
			printf("%s: %llu reported, every %u-th kept\n", h->series[s]->key,
			       (unsigned long long)h->series[s]->reported, h->series[s]->stride);
	return WN_CTL_EXIT_OK;
}
