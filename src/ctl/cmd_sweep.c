/* wnctl sweep: list, show, priority, cap; and `job sweep`, which submits one. */
#include "ctl.h"
#include "err.h"
#include "grid.h"
#include "json.h"
#include "methods.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum {
	OPT_GRID = 1,
	OPT_PARAM,
	OPT_NAME,
	OPT_PRIORITY,
	OPT_MAX_RUNNING,
	OPT_SWEEP,
	OPT_FILE,
	OPT_DRY_RUN,
};

const struct option wn_ctl_job_sweep_opts[] = {
    {"grid", required_argument, NULL, OPT_GRID},
    {"param", required_argument, NULL, OPT_PARAM},
    {"name", required_argument, NULL, OPT_NAME},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"file", required_argument, NULL, OPT_FILE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_job_sweep_help[] = {
    {"--grid K=V1,V2,...",
     "a parameter and the values it takes; repeat for more: every "
     "combination becomes a job (the last --grid varies fastest); a value may be a "
     "range: 1..10 (integers), 0..1:5 (5 evenly spaced), "
     "log:1e-4..1e-1:4 (4 on a log scale)"},
    {"--param K=V", "a parameter every job gets; repeat for more"},
    {"--name TEMPLATE", "job names, with {K} for the value of parameter K ('lr{lr}-bs{bs}'); "
                        "default: the grid's keys and values ('lr=0.1,bs=32')"},
    {"--priority N", "priority of every job (default 0)"},
    {"--max-running N", "run at most N of the sweep's jobs at once (default 0: no cap)"},
    {"--sweep NAME", "the sweep's name (default: the task's)"},
    {"--file FILE",
     "a YAML sweep ('-' for stdin): grid: {K: [values]}, list: [{K: V, ...}], params: {K: V}, "
     "name, sweep, priority, max_running; options given here win"},
    {"--dry-run", "print the jobs instead of submitting them"},
    {NULL, NULL},
};

/* ---------------------------------------------------------------- job sweep */

static void sweep_grid_free(void *g)
{
	wn_grid_free(g);
}

/* Names of the jobs of a sweep being built, freed with the context. */
struct sweep_names {
	char **v;
	size_t n;
};

static void sweep_names_free(void *p)
{
	struct sweep_names *names = p;
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	free(names);
}

/* sweep_dry_run prints the jobs of req instead of submitting them. */
static void sweep_dry_run(wn_ctl *c, const Whatsnext__V1__SubmitBatchRequest *req)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&req->base);
		return;
	}
	static const char *const cols[] = {"NAME", ">PRIO", "PARAMS", NULL};
	wn_table *t = wn_table_new(cols);
	wn_strbuf params = WN_STRBUF_INIT;
	for (size_t i = 0; i < req->n_jobs; i++) {
		const Whatsnext__V1__JobSpec *s = req->jobs[i];
		wn_strbuf_reset(&params);
		for (size_t k = 0; k < s->n_params; k++)
			wn_strbuf_addf(&params, "%s%s=%s", k ? " " : "", s->params[k]->key,
			               s->params[k]->value);
		wn_table_add(t, "%s", s->name);
		wn_table_add(t, "%d", s->priority);
		wn_table_add(t, "%s", wn_strbuf_str(&params));
	}
	wn_strbuf_free(&params);
	wn_table_print(t, stdout);
	wn_table_free(t);
}

/* What `job sweep` was given. */
struct sweep_args {
	char **pos; /* PROJECT TASK */
	struct wn_ctl_kv params;
	const char **grids;
	size_t ngrids;
	const char *tmpl, *sweep_name, *file;
	int64_t priority;    /* INT64_MIN: not given */
	int64_t max_running; /* -1: not given */
	bool dry_run;
};

/* sweep_options reads the options and arguments of `job sweep` into a. */
static void sweep_options(wn_ctl *c, struct sweep_args *a)
{
	a->priority = INT64_MIN;
	a->max_running = -1;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_GRID: {
			const char **v = wn_ctl_alloc(c, (a->ngrids + 1) * sizeof(*v));
			if (a->ngrids > 0)
				memcpy(v, a->grids, a->ngrids * sizeof(*v));
			v[a->ngrids++] = optarg;
			a->grids = v;
			break;
		}
		case OPT_PARAM:
			wn_ctl_param_add(c, &a->params, optarg);
			break;
		case OPT_NAME:
			a->tmpl = wn_ctl_once(c, "--name", a->tmpl, optarg);
			break;
		case OPT_PRIORITY:
			a->priority =
			    wn_ctl_parse_int(c, "--priority", optarg, INT32_MIN, INT32_MAX);
			break;
		case OPT_MAX_RUNNING:
			a->max_running =
			    wn_ctl_parse_int(c, "--max-running", optarg, 0, UINT32_MAX);
			break;
		case OPT_SWEEP:
			a->sweep_name = wn_ctl_once(c, "--sweep", a->sweep_name, optarg);
			break;
		case OPT_FILE: /* a second file would not be merged, but drop the first */
			a->file = wn_ctl_once(c, "--file", a->file, optarg);
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		}
	}
	a->pos = wn_ctl_args(c, 2, 2, NULL);
}

/* sweep_usage exits with the grid's message errmsg (freed) as a usage error. */
__attribute__((noreturn)) static void sweep_usage(wn_ctl *c, char *errmsg)
{
	const char *msg = wn_ctl_strdup(c, errmsg);
	free(errmsg);
	wn_ctl_usage(c, "%s", msg);
}

/* The largest sweep file read: a YAML file of the jobs of one request. */
#define SWEEP_FILE_MAX (16u * 1024u * 1024u)

/* sweep_grid builds the grid of a (the --file, then the options) and stores its number of
 * jobs in *count; what the options leave out the file gives. */
static wn_grid *sweep_grid(wn_ctl *c, struct sweep_args *a, uint64_t *count)
{
	wn_grid *g = wn_grid_new();
	wn_ctl_defer(c, sweep_grid_free, g);
	struct wn_grid_file f = {0};
	char *errmsg = NULL;
	if (a->file != NULL) {
		size_t len = 0;
		const char *text = wn_ctl_read_input(c, a->file, SWEEP_FILE_MAX, NULL, &len);
		int rv = wn_grid_load_text(g, wn_ctl_input_name(a->file), text, len, &f, &errmsg);
		if (rv != WN_OK) {
			const char *msg = wn_ctl_strdup(c, errmsg ? errmsg : wn_strerror(rv));
			free(errmsg);
			wn_ctl_die(c, rv == WN_EINVAL ? WN_CTL_EXIT_USAGE : WN_CTL_EXIT_ERROR, "%s",
			           msg);
		}
	}
	for (size_t i = 0; i < a->params.n; i++)
		wn_grid_param(g, a->params.keys[i], a->params.values[i]);
	for (size_t i = 0; i < a->ngrids; i++) {
		if (wn_grid_axis_arg(g, a->grids[i], &errmsg) != WN_OK) {
			const char *msg = wn_ctl_strdup(c, errmsg);
			free(errmsg);
			wn_ctl_usage(c, "invalid --grid '%s': %s", a->grids[i], msg);
		}
	}
	for (size_t i = 0; i < a->params.n; i++)
		if (wn_grid_sweeps(g, a->params.keys[i]))
			wn_ctl_usage(
			    c,
			    "--param %s=%s: '%s' varies in the sweep (a grid or a list names "
			    "it), so a --param cannot fix it; leave it out of one of them",
			    a->params.keys[i], a->params.values[i], a->params.keys[i]);
	*count = wn_grid_count(g, &errmsg);
	if (*count == UINT64_MAX)
		sweep_usage(c, errmsg);
	if (!wn_grid_varies(g))
		wn_ctl_usage(c, "nothing to sweep: give --grid K=V1,V2,... or a --file with a grid "
		                "or a list");
	if (a->tmpl == NULL && f.has_name)
		a->tmpl = f.name;
	if (a->priority == INT64_MIN)
		a->priority = f.has_priority ? f.priority : 0;
	if (a->max_running < 0)
		a->max_running = f.has_max_running ? f.max_running : 0;
	if (a->sweep_name == NULL)
		a->sweep_name = f.has_sweep ? f.sweep : a->pos[1];
	return g;
}

/* sweep_jobs returns the count jobs of grid g as job specs (context-owned). */
static Whatsnext__V1__JobSpec **sweep_jobs(wn_ctl *c, const struct sweep_args *a, const wn_grid *g,
                                           uint64_t count)
{
	/* One block per kind of thing: 100000 jobs stay cheap. */
	size_t np = wn_grid_nparams(g);
	Whatsnext__V1__JobSpec *specs = wn_ctl_alloc(c, count * sizeof(*specs));
	Whatsnext__V1__JobSpec **jobs = wn_ctl_alloc(c, count * sizeof(*jobs));
	Whatsnext__V1__JobSpec__ParamsEntry *entries =
	    wn_ctl_alloc(c, (count * np + 1) * sizeof(*entries));
	Whatsnext__V1__JobSpec__ParamsEntry **eptrs =
	    wn_ctl_alloc(c, (count * np + 1) * sizeof(*eptrs));
	const char **keys = wn_ctl_alloc(c, (np + 1) * sizeof(*keys));
	const char **values = wn_ctl_alloc(c, (np + 1) * sizeof(*values));
	struct sweep_names *names = wn_xcalloc(1, sizeof(*names));
	names->v = wn_xcalloc(count, sizeof(char *));
	wn_ctl_defer(c, sweep_names_free, names);
	char *errmsg = NULL;
	for (uint64_t i = 0; i < count; i++) {
		Whatsnext__V1__JobSpec *s = &specs[i];
		whatsnext__v1__job_spec__init(s);
		s->project = a->pos[0];
		s->task = a->pos[1];
		s->priority = (int32_t)a->priority;
		if (wn_grid_name(g, a->tmpl, i, &names->v[i], &errmsg) != WN_OK)
			sweep_usage(c, errmsg);
		names->n++;
		s->name = names->v[i];
		size_t n = wn_grid_job(g, i, keys, values);
		s->params = &eptrs[i * np];
		s->n_params = n;
		for (size_t k = 0; k < n; k++) {
			Whatsnext__V1__JobSpec__ParamsEntry *e = &entries[i * np + k];
			whatsnext__v1__job_spec__params_entry__init(e);
			e->key = (char *)keys[k];
			e->value = (char *)values[k];
			s->params[k] = e;
		}
		jobs[i] = s;
	}
	return jobs;
}

/* sweep_submit sends req and prints what it made: "sweep ID: N jobs (ids FIRST-LAST)". */
static void sweep_submit(wn_ctl *c, const Whatsnext__V1__SubmitBatchRequest *req)
{
	Whatsnext__V1__SubmitBatchResponse *r =
	    wn_ctl_call(c, WN_PATH_JOB_SUBMIT_BATCH, &req->base,
	                &whatsnext__v1__submit_batch_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return;
	}
	if (r->n_ids == 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read the new jobs: the reply holds none");
	if (r->sweep_id != 0)
		printf("sweep %llu: ", (unsigned long long)r->sweep_id);
	if (r->n_ids == 1)
		printf("1 job (id %llu)\n", (unsigned long long)r->ids[0]);
	else
		printf("%zu jobs (ids %llu-%llu)\n", r->n_ids, (unsigned long long)r->ids[0],
		       (unsigned long long)r->ids[r->n_ids - 1]);
}

int wn_ctl_job_sweep(wn_ctl *c)
{
	struct sweep_args a = {0};
	sweep_options(c, &a);
	uint64_t count = 0;
	wn_grid *g = sweep_grid(c, &a, &count);
	Whatsnext__V1__SweepSpec spec = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	req.jobs = sweep_jobs(c, &a, g, count);
	req.n_jobs = count;
	spec.name = (char *)a.sweep_name;
	spec.max_running = (uint32_t)a.max_running;
	req.sweep = &spec;
	if (a.dry_run)
		sweep_dry_run(c, &req);
	else
		sweep_submit(c, &req);
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- sweeps */

void wn_ctl_sweeps_table(wn_ctl *c, Whatsnext__V1__Sweep *const *sweeps, size_t n,
                         const char *id_header)
{
	const char *cols[] = {
	    id_header, "PROJECT", "NAME",     ">CAP",       ">PENDING", ">RUNNING",
	    ">DONE",   ">FAILED", ">BLOCKED", ">CANCELLED", ">TOTAL",   NULL,
	};
	(void)c;
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < n; i++) {
		const Whatsnext__V1__Sweep *s = sweeps[i];
		wn_table_add(t, "%llu", (unsigned long long)s->id);
		wn_table_add(t, "%s", s->project);
		wn_table_add(t, "%s", s->name);
		if (s->max_running != 0)
			wn_table_add(t, "%u", s->max_running);
		else
			wn_table_add(t, "-");
		wn_table_add(t, "%llu", (unsigned long long)s->pending);
		wn_table_add(t, "%llu", (unsigned long long)s->running);
		wn_table_add(t, "%llu", (unsigned long long)s->completed);
		wn_table_add(t, "%llu", (unsigned long long)s->failed);
		wn_table_add(t, "%llu", (unsigned long long)s->blocked);
		wn_table_add(t, "%llu", (unsigned long long)s->cancelled);
		wn_table_add(t, "%llu", (unsigned long long)s->total);
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
}

static void sweep_print(wn_ctl *c, const Whatsnext__V1__Sweep *s)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&s->base);
		return;
	}
	wn_ctl_field("id", "%llu", (unsigned long long)s->id);
	wn_ctl_field("project", "%s", s->project);
	wn_ctl_field("name", "%s", s->name);
	if (s->max_running != 0)
		wn_ctl_field("max_running", "%u", s->max_running);
	else
		wn_ctl_field("max_running", "none");
	wn_ctl_field("created", "%s", wn_ctl_time(c, s->created_ms));
	/* the counts are of the jobs still stored: retention and job remove take some away */
	uint64_t left =
	    s->pending + s->running + s->completed + s->failed + s->blocked + s->cancelled;
	const char *gone = left < s->total ? wn_ctl_printf(c, "; %llu removed",
	                                                   (unsigned long long)(s->total - left))
	                                   : "";
	wn_ctl_field("jobs", "%llu (ids %llu-%llu%s)", (unsigned long long)s->total,
	             (unsigned long long)s->id, (unsigned long long)(s->id + s->total - 1), gone);
	wn_ctl_field("pending", "%llu", (unsigned long long)s->pending);
	wn_ctl_field("running", "%llu", (unsigned long long)s->running);
	wn_ctl_field("completed", "%llu", (unsigned long long)s->completed);
	wn_ctl_field("failed", "%llu", (unsigned long long)s->failed);
	wn_ctl_field("blocked", "%llu", (unsigned long long)s->blocked);
	wn_ctl_field("cancelled", "%llu", (unsigned long long)s->cancelled);
}

static int sweep_list(wn_ctl *c)
{
	Whatsnext__V1__ListSweepsRequest req = WHATSNEXT__V1__LIST_SWEEPS_REQUEST__INIT;
	int n = 0;
	char **a = wn_ctl_args(c, 0, 1, &n);
	if (n == 1)
		req.project = (char *)wn_ctl_filter(c, "PROJECT", a[0]);
	Whatsnext__V1__ListSweepsResponse *r = wn_ctl_call(
	    c, WN_PATH_SWEEP_LIST, &req.base, &whatsnext__v1__list_sweeps_response__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->base);
	else
		wn_ctl_sweeps_table(c, r->sweeps, r->n_sweeps, "ID");
	return WN_CTL_EXIT_OK;
}

static int sweep_show(wn_ctl *c)
{
	Whatsnext__V1__GetSweepRequest req = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "sweep id", wn_ctl_args(c, 1, 1, NULL)[0]);
	sweep_print(
	    c, wn_ctl_call(c, WN_PATH_SWEEP_GET, &req.base, &whatsnext__v1__sweep__descriptor, 0));
	return WN_CTL_EXIT_OK;
}

static int sweep_priority(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 2, 2, NULL);
	Whatsnext__V1__UpdateSweepRequest req = WHATSNEXT__V1__UPDATE_SWEEP_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "sweep id", a[0]);
	req.set_priority = 1;
	req.priority = (int32_t)wn_ctl_parse_int(c, "priority", a[1], INT32_MIN, INT32_MAX);
	Whatsnext__V1__Sweep *s =
	    wn_ctl_call(c, WN_PATH_SWEEP_UPDATE, &req.base, &whatsnext__v1__sweep__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&s->base);
	else
		printf("sweep %llu: priority %d\n", (unsigned long long)s->id, req.priority);
	return WN_CTL_EXIT_OK;
}

static int sweep_cap(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 2, 2, NULL);
	Whatsnext__V1__UpdateSweepRequest req = WHATSNEXT__V1__UPDATE_SWEEP_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "sweep id", a[0]);
	req.set_max_running = 1;
	req.max_running = (uint32_t)wn_ctl_parse_int(c, "max running", a[1], 0, UINT32_MAX);
	Whatsnext__V1__Sweep *s =
	    wn_ctl_call(c, WN_PATH_SWEEP_UPDATE, &req.base, &whatsnext__v1__sweep__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&s->base);
	else if (s->max_running != 0)
		printf("sweep %llu: max_running %u\n", (unsigned long long)s->id, s->max_running);
	else
		printf("sweep %llu: no cap\n", (unsigned long long)s->id);
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_opthelp sweep_cap_help[] = {
    {"N", "most jobs of the sweep running at once; 0 removes the cap"},
    {NULL, NULL},
};

static const struct wn_ctl_opthelp sweep_priority_help[] = {
    {"N", "the new priority of every pending job of the sweep (may be negative)"},
    {NULL, NULL},
};

static const struct wn_ctl_verb sweep_verbs[] = {
    {"list", sweep_list, "[PROJECT]",
     "List the sweeps (of one project) with their jobs counted by state.", NULL, NULL},
    {"show", sweep_show, "ID",
     "Show a sweep: its cap and its jobs counted by state, and how many were removed.", NULL, NULL},
    {"priority", sweep_priority, "ID N", "Set the priority of every pending job of a sweep.", NULL,
     sweep_priority_help},
    {"cap", sweep_cap, "ID N", "Let at most N jobs of a sweep run at once (0: no cap).", NULL,
     sweep_cap_help},
    {"results", wn_ctl_sweep_results, "ID [--sort KEY] [--desc] [--best N] [--format F]",
     "One row per job of a sweep: its id, name, parameters, status and results.",
     wn_ctl_sweep_results_opts, wn_ctl_sweep_results_help},
    {"cancel", wn_ctl_sweep_cancel, "ID [--reason T] [--yes]",
     "Cancel every pending, running or blocked job of a sweep, in one change.",
     wn_ctl_sweep_cancel_opts, wn_ctl_sweep_cancel_help},
    {"retry", wn_ctl_sweep_retry, "ID [--failed]",
     "Queue a sweep's failed, cancelled and blocked jobs again (--failed: the failed ones), in "
     "one change.",
     wn_ctl_sweep_retry_opts, wn_ctl_sweep_retry_help},
};

const struct wn_ctl_noun wn_ctl_sweep = {
    "sweep",
    "Sweeps: the jobs of one batch or `job sweep`, followed and steered together.",
    sweep_verbs,
    WN_ARRAY_LEN(sweep_verbs),
};
