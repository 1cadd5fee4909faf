/* wnctl: what jobs reported. `sweep results` (one row per job of a sweep, rtable.c), the
 * results and artifacts `job show` prints, and the result columns of `job list
 * --results`. */
#include "ctl.h"
#include "err.h"
#include "methods.h"
#include "resultrules.h"
#include "rtable.h"
#include "table.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Jobs asked for per ListJobs call; the server cuts a page short by its size too. */
#define RESULTS_PAGE 1000

enum {
	OPT_SORT = 1,
	OPT_DESC,
	OPT_BEST,
	OPT_FORMAT,
};

const struct option wn_ctl_sweep_results_opts[] = {
    {"sort", required_argument, NULL, OPT_SORT},
    {"desc", no_argument, NULL, OPT_DESC},
    {"best", required_argument, NULL, OPT_BEST},
    {"format", required_argument, NULL, OPT_FORMAT},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_sweep_results_help[] = {
    {"--sort KEY", "order the jobs by their result KEY, smallest first: numbers, then texts, "
                   "then the jobs without it (default: by id)"},
    {"--desc", "largest first (with --sort)"},
    {"--best N", "only the N first jobs by --sort that have the result"},
    {"--format F", "table (default: printed page by page as the jobs come, unless --sort), csv "
                   "(RFC 4180, a header line first) or json (an array of {id, name, status, "
                   "params, results}); --json is --format json"},
    {NULL, NULL},
};

/* What `sweep results` was given. */
struct results_args {
	uint64_t sweep;
	const char *sort;
	bool desc;
	int64_t best; /* 0: all */
	enum wn_rtable_format format;
};

static enum wn_rtable_format results_format(wn_ctl *c, const char *s)
{
	if (strcmp(s, "table") == 0)
		return WN_RTABLE_TABLE;
	if (strcmp(s, "csv") == 0)
		return WN_RTABLE_CSV;
	if (strcmp(s, "json") == 0)
		return WN_RTABLE_JSON;
	wn_ctl_usage(c, "invalid --format '%s': table, csv or json", s);
}

static void results_options(wn_ctl *c, struct results_args *a)
{
	const char *format = NULL;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_SORT: {
			if (optarg[0] == '\0')
				wn_ctl_usage(c, "--sort needs a result key");
			const char *why = wn_result_key_check(optarg, strlen(optarg));
			if (why != NULL)
				wn_ctl_usage(c, "invalid --sort '%s': %s", optarg, why);
			a->sort = optarg;
			break;
		}
		case OPT_DESC:
			a->desc = true;
			break;
		case OPT_BEST:
			a->best = wn_ctl_parse_int(c, "--best", optarg, 1, INT64_MAX);
			break;
		case OPT_FORMAT:
			format = optarg;
			break;
		}
	}
	a->sweep = wn_ctl_parse_id(c, "sweep id", wn_ctl_args(c, 1, 1, NULL)[0]);
	a->format = format != NULL   ? results_format(c, format)
	            : wn_ctl_json(c) ? WN_RTABLE_JSON
	                             : WN_RTABLE_TABLE;
	if (wn_ctl_json(c) && a->format != WN_RTABLE_JSON)
		wn_ctl_usage(c, "--json and --format %s disagree", format);
	if (a->best > 0 && a->sort == NULL)
		wn_ctl_usage(c, "--best needs --sort KEY: the result the best are chosen by");
	if (a->desc && a->sort == NULL)
		wn_ctl_usage(c, "--desc needs --sort KEY");
}

/* results_pages asks for the jobs of sweep id page by page, in id order, handing each page
 * to page as it comes. */
static void results_pages(wn_ctl *c, uint64_t id,
                          void (*page)(wn_ctl *, Whatsnext__V1__ListJobsResponse *, void *),
                          void *arg)
{
	Whatsnext__V1__ListJobsRequest req = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	req.sweep_id = id;
	req.page_size = RESULTS_PAGE;
	for (;;) {
		Whatsnext__V1__ListJobsResponse *r =
		    wn_ctl_call(c, WN_PATH_JOB_LIST, &req.base,
		                &whatsnext__v1__list_jobs_response__descriptor, 0);
		uint64_t next = r->next_after_id;
		page(c, r, arg);
		if (next == 0)
			return;
		if (next <= req.after_id)
			wn_ctl_die(c, WN_CTL_EXIT_ERROR,
			           "cannot follow the pages: the server went back to id %llu",
			           (unsigned long long)next);
		req.after_id = next;
	}
}

/* Every job of a sweep, gathered page by page. */
struct results_all {
	Whatsnext__V1__Job **jobs; /* context-owned */
	size_t n, cap;
};

/* results_keep adds the jobs of page r to the results_all at arg (r stays, owned by the
 * context). */
static void results_keep(wn_ctl *c, Whatsnext__V1__ListJobsResponse *r, void *arg)
{
	struct results_all *all = arg;
	if (all->n + r->n_jobs > all->cap) {
		all->cap = (all->n + r->n_jobs) * 2;
		Whatsnext__V1__Job **v = wn_ctl_alloc(c, (all->cap + 1) * sizeof(*v));
		if (all->n > 0)
			memcpy(v, all->jobs, all->n * sizeof(*v));
		all->jobs = v;
	}
	if (r->n_jobs > 0)
		memcpy(all->jobs + all->n, r->jobs, r->n_jobs * sizeof(*all->jobs));
	all->n += r->n_jobs;
}

/* results_print_page prints the jobs of page r in the table at arg and frees r; a reader
 * gone (`| head`) ends wnctl before the next page is asked for. */
static void results_print_page(wn_ctl *c, Whatsnext__V1__ListJobsResponse *r, void *arg)
{
	wn_rtable_stream_page(arg, r->jobs, r->n_jobs);
	wn_ctl_release(c, r);
	wn_ctl_output_check(c);
}

static void results_stream_free(void *s)
{
	wn_rtable_stream_free(s);
}

static void results_rtable_free(void *t)
{
	wn_rtable_free(t);
}

int wn_ctl_sweep_results(wn_ctl *c)
{
	struct results_args a = {0};
	results_options(c, &a);
	if (a.format == WN_RTABLE_TABLE && a.sort == NULL) { /* the table, page by page */
		wn_rtable_stream *s = wn_rtable_stream_new(stdout);
		wn_ctl_defer(c, results_stream_free, s);
		results_pages(c, a.sweep, results_print_page, s);
		return WN_CTL_EXIT_OK;
	}
	struct results_all all = {0};
	results_pages(c, a.sweep, results_keep, &all);
	size_t n = all.n;
	wn_rtable *t = wn_rtable_new(all.jobs, n);
	wn_ctl_defer(c, results_rtable_free, t);
	if (a.sort != NULL) {
		if (n > 0 && !wn_rtable_has_result(t, a.sort)) {
			fflush(stdout);
			fprintf(stderr, "wnctl: no job of sweep %llu has a result %s\n",
			        (unsigned long long)a.sweep, a.sort);
		}
		wn_rtable_sort(t, a.sort, a.desc);
		if (a.best > 0)
			wn_rtable_best(t, a.sort, (size_t)a.best);
	}
	/* CSV and JSON are for programs: they go out exactly, as --json output does. */
	if (a.format != WN_RTABLE_TABLE && !wn_ctl_json(c))
		wn_ctl_global_option(c, WN_CTL_OPT_JSON, NULL);
	if (wn_rtable_write(t, a.format, stdout) != WN_OK)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write output: %s", strerror(errno));
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- job show, job list */

static int results_entry_cmp(const void *a, const void *b)
{
	const Whatsnext__V1__Job__ResultsEntry *ea =
	    *(const Whatsnext__V1__Job__ResultsEntry *const *)a;
	const Whatsnext__V1__Job__ResultsEntry *eb =
	    *(const Whatsnext__V1__Job__ResultsEntry *const *)b;
	return strcmp(ea->key, eb->key);
}

/* results_print prints the results of j, "  KEY=VALUE" in key order, under "results:". */
static void results_print(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	if (j->n_results == 0)
		return;
	Whatsnext__V1__Job__ResultsEntry **v = wn_ctl_alloc(c, j->n_results * sizeof(*v));
	memcpy(v, j->results, j->n_results * sizeof(*v));
	qsort(v, j->n_results, sizeof(*v), results_entry_cmp);
	printf("results:\n");
	char buf[64];
	for (size_t i = 0; i < j->n_results; i++)
		printf("  %s=%s\n", wn_ctl_line(c, v[i]->key),
		       wn_ctl_line(c, wn_rtable_value(v[i]->value, buf, sizeof(buf))));
}

/* artifacts_print prints the artifacts of j under "artifacts:", one line each: "  PATH
 * (SIZE bytes, sha256 HEX, stored)", or "not stored" and why; "  PATH: NOTE" for what the
 * worker found no file for (a glob that matched nothing, a path refused). */
static void artifacts_print(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	if (j->n_artifacts == 0)
		return;
	printf("artifacts:\n");
	for (size_t i = 0; i < j->n_artifacts; i++) {
		const Whatsnext__V1__Artifact *a = j->artifacts[i];
		if (a->sha256[0] == '\0' && a->note[0] != '\0') {
			printf("  %s: %s\n", wn_ctl_line(c, a->path), wn_ctl_line(c, a->note));
			continue;
		}
		const char *stored = a->stored            ? "stored"
		                     : a->note[0] != '\0' ? wn_ctl_printf(c, "not stored: %s",
		                                                          wn_ctl_line(c, a->note))
		                                          : "not stored";
		printf("  %s (%s, sha256 %s, %s)\n", wn_ctl_line(c, a->path),
		       wn_ctl_count(c, a->size, "byte", NULL),
		       a->sha256[0] ? wn_ctl_line(c, a->sha256) : "-", stored);
	}
}

void wn_ctl_job_results_print(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	results_print(c, j);
	artifacts_print(c, j);
}

void wn_ctl_results_keys(wn_ctl *c, const char *arg, struct wn_ctl_results_keys *keys)
{
	const char *p = arg;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0)
			wn_ctl_usage(c, "invalid --results '%s': an empty key", arg);
		const char *why = wn_result_key_check(p, len);
		if (why != NULL) /* no result has it: a typo ("loss acc") */
			wn_ctl_usage(c, "invalid --results '%s': key '%.*s': %s", arg, (int)len, p,
			             why);
		for (size_t i = 0; i < keys->n; i++)
			if (strlen(keys->v[i]) == len && memcmp(keys->v[i], p, len) == 0)
				wn_ctl_usage(c,
				             "invalid --results: key '%s' is named twice (each "
				             "column comes once)",
				             keys->v[i]);
		const char **v = wn_ctl_alloc(c, (keys->n + 2) * sizeof(*v));
		if (keys->n > 0)
			memcpy(v, keys->v, keys->n * sizeof(*v));
		char *k = wn_ctl_alloc(c, len + 1);
		memcpy(k, p, len);
		v[keys->n++] = k;
		keys->v = v;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

const char *wn_ctl_result_text(wn_ctl *c, const Whatsnext__V1__Job *j, const char *key)
{
	char buf[64];
	return wn_ctl_strdup(c, wn_rtable_value(wn_rtable_result(j, key), buf, sizeof(buf)));
}
