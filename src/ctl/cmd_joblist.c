/* wnctl job list: jobs by filters (several states and projects, a name glob),
 * a page at a time or all of them, the newest first with --last N, in the
 * columns --format names (like `ps -o` or `squeue -O`). */
#include "ctl.h"
#include "json.h"
#include "kit.h"
#include "methods.h"
#include "resultrules.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_PROJECT = 1,
	OPT_TASK,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_AFTER,
	OPT_ALL,
	OPT_SWEEP,
	OPT_SUBMITTER,
	OPT_RESULTS,
	OPT_LAST,
	OPT_NAME,
	OPT_FORMAT,
};

const struct option wn_ctl_job_list_opts[] = {
    {"project", required_argument, NULL, OPT_PROJECT},
    {"task", required_argument, NULL, OPT_TASK},
    {"status", required_argument, NULL, OPT_STATUS},
    {"name", required_argument, NULL, OPT_NAME},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"after", required_argument, NULL, OPT_AFTER},
    {"all", no_argument, NULL, OPT_ALL},
    {"last", required_argument, NULL, OPT_LAST},
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"submitter", required_argument, NULL, OPT_SUBMITTER},
    {"results", required_argument, NULL, OPT_RESULTS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_job_list_help[] = {
    {"--project P,...", "only jobs of these projects; repeat or separate by commas for more"},
    {"--task T", "only jobs of this task"},
    {"--status S,...", "only jobs in these states (pending, running, completed, failed, blocked, "
                       "cancelled); repeat or separate by commas for more"},
    {"--name GLOB", "only jobs whose name matches GLOB (* ? [...] as in the shell)"},
    {"--limit N", "jobs per page, at most 10000 (default 100)"},
    {"--after ID", "only jobs with a larger id (the next page)"},
    {"--all", "follow the pages to the end (the table prints each page as it comes)"},
    {"--last N", "the N newest jobs (of those the filters select), newest first; at most 10000"},
    {"--sweep ID", "only jobs of this sweep"},
    {"--submitter NAME", "only jobs submitted with token NAME"},
    {"--results K,...", "a column for each of these results (- where a job has none); each "
                        "key at most once"},
    {"--format COLS", "the columns, separated by commas: id, project, task, name, prio, status, "
                      "attempt, exit, worker, sweep, submitter, params, param.K (parameter K), "
                      "result.K, created, started, finished, wait, duration, failures, lost, "
                      "reason, waiting, external, held (default: id,project,task,name,prio,status,"
                      "attempt,exit,worker); each at most once"},
    {NULL, NULL},
};

/* ---------------------------------------------------------------- columns */

typedef const char *(*list_text_fn)(wn_ctl *c, const Whatsnext__V1__Job *j, const char *key);

/* One column --format may name. */
struct list_col {
	const char *name; /* in --format; "param." and "result." columns take a key after */
	const char *head; /* header; '>' aligns the column right */
	list_text_fn text;
};

/* list_line returns s as one line (context-owned): every control a visible escape, "-" for "". */
static const char *list_line(wn_ctl *c, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return "-";
	return wn_ctl_line(c, s);
}

/* list_span returns a length of time in ms as "45s", "2m05s", "1h02m03s", "3d04h05m". */
static const char *list_span(wn_ctl *c, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	long long s = (long long)(ms / 1000);
	if (s < 60)
		return wn_ctl_printf(c, "%llds", s);
	if (s < 3600)
		return wn_ctl_printf(c, "%lldm%02llds", s / 60, s % 60);
	if (s < 86400)
		return wn_ctl_printf(c, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	return wn_ctl_printf(c, "%lldd%02lldh%02lldm", s / 86400, s / 3600 % 24, s / 60 % 60);
}

static bool list_finished(const Whatsnext__V1__Job *j)
{
	return j->status == WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ||
	       j->status == WHATSNEXT__V1__JOB_STATUS__JOB_FAILED;
}

static const char *col_id(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_printf(c, "%llu", (unsigned long long)j->id);
}

static const char *col_project(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->project);
}

static const char *col_task(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->task);
}

static const char *col_name(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->name);
}

static const char *col_prio(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_printf(c, "%d", j->priority);
}

static const char *col_status(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, j->status);
}

static const char *col_attempt(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_printf(c, "%u", j->attempt);
}

static const char *col_exit(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_finished(j) ? wn_ctl_printf(c, "%d", j->exit_code) : "-";
}

static const char *col_worker(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->worker);
}

static const char *col_sweep(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return j->sweep_id ? wn_ctl_printf(c, "%llu", (unsigned long long)j->sweep_id) : "-";
}

static const char *col_submitter(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->submitter);
}

static const char *col_params(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	if (j->n_params == 0)
		return "-";
	/* built once, not copied again for each parameter: a job may have thousands */
	wn_strbuf sb = WN_STRBUF_INIT;
	for (size_t i = 0; i < j->n_params; i++)
		wn_strbuf_addf(&sb, "%s%s=%s", i ? " " : "", j->params[i]->key,
		               j->params[i]->value);
	const char *s = list_line(c, wn_strbuf_str(&sb));
	wn_strbuf_free(&sb);
	return s;
}

static const char *col_param(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	for (size_t i = 0; i < j->n_params; i++)
		if (strcmp(j->params[i]->key, k) == 0)
			return list_line(c, j->params[i]->value);
	return "-";
}

static const char *col_result(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	const char *s = wn_ctl_result_text(c, j, k);
	return s[0] ? list_line(c, s) : "-";
}

static const char *col_created(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_time(c, j->created_ms);
}

static const char *col_started(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_time(c, j->started_ms);
}

static const char *col_finished(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_time(c, j->finished_ms);
}

/* col_wait: how long the job waited in the queue for its hand-out, or has been waiting. */
static const char *col_wait(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	if (j->started_ms != 0 && j->started_ms >= j->created_ms)
		return list_span(c, j->started_ms - j->created_ms);
	if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_PENDING && j->created_ms != 0)
		return list_span(c, wn_now_ms() - j->created_ms);
	return "-";
}

/* col_duration: how long the latest attempt ran (the worker's count when it gave one), or
 * has been running. */
static const char *col_duration(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING && j->started_ms != 0)
		return list_span(c, wn_now_ms() - j->started_ms);
	if (j->duration_ms != 0)
		return list_span(c, j->duration_ms);
	if (j->started_ms != 0 && j->finished_ms >= j->started_ms)
		return list_span(c, j->finished_ms - j->started_ms);
	return "-";
}

static const char *col_failures(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_printf(c, "%u", j->failures);
}

static const char *col_lost(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return wn_ctl_printf(c, "%u", j->lost);
}

static const char *col_reason(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, wn_ctl_states(c, j->reason));
}

static const char *col_waiting(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, wn_ctl_states(c, j->waiting));
}

static const char *col_held(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)c;
	(void)k;
	return j->held ? "held" : "-";
}

static const char *col_external(wn_ctl *c, const Whatsnext__V1__Job *j, const char *k)
{
	(void)k;
	return list_line(c, j->external_id);
}

static const struct list_col list_cols[] = {
    {"id", "ID", col_id},
    {"project", "PROJECT", col_project},
    {"task", "TASK", col_task},
    {"name", "NAME", col_name},
    {"prio", ">PRIO", col_prio},
    {"status", "STATUS", col_status},
    {"attempt", ">ATTEMPT", col_attempt},
    {"exit", ">EXIT", col_exit},
    {"worker", "WORKER", col_worker},
    {"sweep", ">SWEEP", col_sweep},
    {"submitter", "SUBMITTER", col_submitter},
    {"params", "PARAMS", col_params},
    {"param.", NULL, col_param},
    {"result.", NULL, col_result},
    {"created", "CREATED", col_created},
    {"started", "STARTED", col_started},
    {"finished", "FINISHED", col_finished},
    {"wait", ">WAIT", col_wait},
    {"duration", ">DURATION", col_duration},
    {"failures", ">FAILURES", col_failures},
    {"lost", ">LOST", col_lost},
    {"reason", "REASON", col_reason},
    {"waiting", "WAITING", col_waiting},
    {"external", "EXTERNAL", col_external},
    {"held", "HELD", col_held},
};

#define LIST_DEFAULT_FORMAT "id,project,task,name,prio,status,attempt,exit,worker"

/* The columns chosen: the function, its key (param./result.) and header of each. */
struct list_format {
	size_t n;
	list_text_fn *text;
	const char **key;
	const char **head; /* NULL-terminated, for wn_table_new */
};

/* list_format_add appends column word ("status", "param.lr") of option opt to f; an
 * unknown one, or one f holds already, exits 2. */
static void list_format_add(wn_ctl *c, struct list_format *f, const char *word, const char *opt)
{
	const struct list_col *col = NULL;
	const char *key = NULL;
	for (size_t i = 0; i < WN_ARRAY_LEN(list_cols) && col == NULL; i++) {
		size_t len = strlen(list_cols[i].name);
		if (list_cols[i].head == NULL && strncmp(word, list_cols[i].name, len) == 0 &&
		    word[len] != '\0') {
			col = &list_cols[i];
			key = word + len;
		} else if (list_cols[i].head != NULL && strcmp(word, list_cols[i].name) == 0) {
			col = &list_cols[i];
		}
	}
	if (col == NULL) { /* the headers are in upper case: ID is near id */
		char *lower = wn_ctl_strdup(c, word);
		for (char *p = lower; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		struct wn_nearest near;
		wn_nearest_init(&near, lower);
		for (size_t i = 0; i < WN_ARRAY_LEN(list_cols); i++)
			wn_nearest_add(&near, list_cols[i].head ? list_cols[i].name : NULL);
		const char *best = wn_nearest_best(&near);
		wn_ctl_usage(c, "invalid --format: unknown column '%s'%s%s%s", word,
		             best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
	}
	/* a key no parameter or result can have ("result.loss acc"): a typo, not a column of '-' */
	const char *why = key == NULL               ? NULL
	                  : col->text == col_result ? wn_result_key_check(key, strlen(key))
	                                            : wn_name_check(key);
	if (why != NULL)
		wn_ctl_usage(c, "invalid %s: column '%s': %s", opt, word, why);
	for (size_t i = 0; i < f->n; i++)
		if (f->text[i] == col->text &&
		    (key == NULL ? f->key[i] == NULL : f->key[i] && strcmp(f->key[i], key) == 0))
			wn_ctl_usage(
			    c, "invalid %s: column '%s' is named twice (each column comes once)",
			    opt, word);
	f->text = wn_xrealloc(f->text, (f->n + 1) * sizeof(*f->text));
	f->key = wn_xrealloc(f->key, (f->n + 1) * sizeof(*f->key));
	f->head = wn_xrealloc(f->head, (f->n + 2) * sizeof(*f->head));
	f->text[f->n] = col->text;
	f->key[f->n] = key;
	f->head[f->n] = key == NULL               ? col->head
	                : col->text == col_result ? wn_ctl_printf(c, ">%s", key)
	                                          : key;
	f->head[++f->n] = NULL;
}

static void list_format_free(void *p)
{
	struct list_format *f = p;
	free(f->text);
	free(f->key);
	free(f->head);
}

/* list_format_parse appends the columns of the comma-separated spec to f. */
static void list_format_parse(wn_ctl *c, struct list_format *f, const char *spec)
{
	char *s = wn_ctl_strdup(c, spec);
	for (char *p = s;;) {
		char *end = strchr(p, ',');
		if (end != NULL)
			*end = '\0';
		while (*p == ' ')
			p++;
		size_t len = strlen(p);
		while (len > 0 && p[len - 1] == ' ')
			p[--len] = '\0';
		if (*p == '\0')
			wn_ctl_usage(c, "invalid --format '%s': an empty column", spec);
		list_format_add(c, f, p, "--format");
		if (end == NULL)
			break;
		p = end + 1;
	}
}

/* ---------------------------------------------------------------- options */

/* What the options of `job list` asked for besides the request. */
struct list_args {
	bool all;
	uint32_t last; /* 0: not given */
	bool limit, after;
	const char *format;
	struct wn_ctl_results_keys keys;
};

/* list_split calls add(c, req, item) for each comma-separated item of arg. */
static void list_split(wn_ctl *c, Whatsnext__V1__ListJobsRequest *req, const char *opt,
                       const char *arg,
                       void (*add)(wn_ctl *, Whatsnext__V1__ListJobsRequest *, const char *))
{
	size_t n = 0;
	char **v = wn_ctl_split(c, opt, arg, &n);
	for (size_t i = 0; i < n; i++)
		add(c, req, v[i]);
}

static void list_add_status(wn_ctl *c, Whatsnext__V1__ListJobsRequest *req, const char *s)
{
	int v = wn_ctl_parse_enum(c, "--status", &whatsnext__v1__job_status__descriptor, s);
	for (size_t i = 0; i < req->n_statuses; i++)
		if ((int)req->statuses[i] == v)
			return;
	Whatsnext__V1__JobStatus *st = wn_ctl_alloc(c, (req->n_statuses + 1) * sizeof(*st));
	if (req->n_statuses > 0)
		memcpy(st, req->statuses, req->n_statuses * sizeof(*st));
	st[req->n_statuses++] = (Whatsnext__V1__JobStatus)v;
	req->statuses = st;
}

static void list_add_project(wn_ctl *c, Whatsnext__V1__ListJobsRequest *req, const char *s)
{
	for (size_t i = 0; i < req->n_projects; i++)
		if (strcmp(req->projects[i], s) == 0)
			return;
	char **p = wn_ctl_alloc(c, (req->n_projects + 1) * sizeof(*p));
	if (req->n_projects > 0)
		memcpy(p, req->projects, req->n_projects * sizeof(*p));
	p[req->n_projects++] = (char *)s;
	req->projects = p;
}

/* list_options reads the options of `job list` into req and a. */
static void list_options(wn_ctl *c, Whatsnext__V1__ListJobsRequest *req, struct list_args *a)
{
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_PROJECT:
			list_split(c, req, "--project", optarg, list_add_project);
			break;
		case OPT_TASK:
			req->task = (char *)wn_ctl_once(c, "--task", req->task,
			                                wn_ctl_filter(c, "--task", optarg));
			break;
		case OPT_STATUS:
			list_split(c, req, "--status", optarg, list_add_status);
			break;
		case OPT_NAME:
			if (optarg[0] == '\0')
				wn_ctl_usage(c, "invalid --name '': give a glob such as 'lr*'");
			req->name_glob = (char *)wn_ctl_once(c, "--name", req->name_glob, optarg);
			break;
		case OPT_LIMIT:
			req->page_size = (int32_t)wn_ctl_parse_int(c, "--limit", optarg, 0, 10000);
			a->limit = true;
			break;
		case OPT_AFTER:
			req->after_id = wn_ctl_parse_u64(c, "--after", optarg, 0);
			a->after = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_LAST:
			a->last = (uint32_t)wn_ctl_parse_int(c, "--last", optarg, 1, 10000);
			break;
		case OPT_SWEEP:
			req->sweep_id = wn_ctl_once_id(c, "--sweep", req->sweep_id,
			                               wn_ctl_parse_id(c, "sweep id", optarg));
			break;
		case OPT_SUBMITTER:
			req->submitter =
			    (char *)wn_ctl_once(c, "--submitter", req->submitter,
			                        wn_ctl_filter(c, "--submitter", optarg));
			break;
		case OPT_RESULTS:
			wn_ctl_results_keys(c, optarg, &a->keys);
			break;
		case OPT_FORMAT:
			a->format = optarg;
			break;
		}
	}
	wn_ctl_args(c, 0, 0, NULL);
	wn_ctl_check_filters(c, req->n_projects, req->name_glob);
	if (a->last > 0 && (a->all || a->limit || a->after))
		wn_ctl_usage(c, "--last N goes alone: not with --all, --limit or --after");
	if (a->last > 0) {
		req->newest_first = true;
		req->page_size = (int32_t)a->last;
	}
}

/* ---------------------------------------------------------------- listing */

/* list_pages asks for the page req names, and with all the pages after it to the end,
 * handing each to page as it comes; returns the next_after_id of the last one. */
static uint64_t list_pages(wn_ctl *c, Whatsnext__V1__ListJobsRequest *req, bool all,
                           void (*page)(wn_ctl *, Whatsnext__V1__ListJobsResponse *, void *),
                           void *arg)
{
	for (;;) {
		Whatsnext__V1__ListJobsResponse *r =
		    wn_ctl_call(c, WN_PATH_JOB_LIST, &req->base,
		                &whatsnext__v1__list_jobs_response__descriptor, 0);
		uint64_t next = r->next_after_id;
		page(c, r, arg);
		if (!all || next == 0)
			return next;
		if (next <= req->after_id)
			wn_ctl_die(c, WN_CTL_EXIT_ERROR,
			           "cannot follow the pages: the server went back to id %llu",
			           (unsigned long long)next);
		req->after_id = next;
	}
}

/* The table being filled, page by page. */
struct list_table {
	wn_table *t;
	const struct list_format *f;
};

/* list_rows prints the jobs of page r as rows of the table at arg and frees r: the table
 * goes out page by page (the first page sets the columns' widths, a later one widens a
 * column only for a wider value), and a reader gone (`| head`) ends wnctl before the next
 * page is asked for, as in list_print. */
static void list_rows(wn_ctl *c, Whatsnext__V1__ListJobsResponse *r, void *arg)
{
	struct list_table *lt = arg;
	size_t mark = wn_ctl_mark(c); /* the cells' texts, copied into the table */
	for (size_t i = 0; i < r->n_jobs; i++)
		for (size_t k = 0; k < lt->f->n; k++)
			wn_table_add(lt->t, "%s", lt->f->text[k](c, r->jobs[i], lt->f->key[k]));
	wn_ctl_rewind(c, mark);
	wn_ctl_release(c, r);
	wn_table_flush(lt->t, stdout);
	wn_ctl_output_check(c);
}

/* list_print writes the jobs of page r into the JSON list at arg and frees r: `--json job
 * list --all` holds one page at a time, however many jobs there are. The list begins
 * with the first page: a server that cannot be reached leaves stdout empty. Output that
 * cannot be written (its reader gone: `| head -1`) ends wnctl before the next page is
 * asked for. */
static void list_print(wn_ctl *c, Whatsnext__V1__ListJobsResponse *r, void *arg)
{
	struct wn_json_list *l = arg;
	if (l->name == NULL)
		wn_json_list_begin(l, "jobs");
	for (size_t i = 0; i < r->n_jobs; i++)
		wn_json_list_add(arg, &r->jobs[i]->base);
	wn_ctl_release(c, r);
	wn_ctl_output_check(c);
}

int wn_ctl_job_list(wn_ctl *c)
{
	Whatsnext__V1__ListJobsRequest req = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	req.page_size = 100;
	struct list_args a = {0};
	list_options(c, &req, &a);
	struct list_format *f = wn_ctl_alloc(c, sizeof(*f));
	wn_ctl_defer(c, list_format_free, f);
	list_format_parse(c, f, a.format != NULL ? a.format : LIST_DEFAULT_FORMAT);
	for (size_t k = 0; k < a.keys.n; k++)
		list_format_add(c, f, wn_ctl_printf(c, "result.%s", a.keys.v[k]), "--results");

	if (wn_ctl_json(c)) { /* {"jobs": [...], "next_after_id": N}, page by page */
		Whatsnext__V1__ListJobsResponse rest = WHATSNEXT__V1__LIST_JOBS_RESPONSE__INIT;
		struct wn_json_list l = {0};
		rest.next_after_id = list_pages(c, &req, a.all, list_print, &l);
		wn_json_list_end(&l, wn_json_encode(&rest.base));
		return WN_CTL_EXIT_OK;
	}
	struct list_table lt = {wn_table_new(f->head), f};
	uint64_t next = list_pages(c, &req, a.all, list_rows, &lt);
	wn_table_print(lt.t, stdout);
	wn_table_free(lt.t);
	if (next != 0 && a.last == 0)
		fprintf(stderr,
		        "wnctl: more jobs follow: add --after %llu for the next page, or --all\n",
		        (unsigned long long)next);
	return WN_CTL_EXIT_OK;
}
