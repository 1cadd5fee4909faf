/* wnctl status: every project's job counts by state, with totals, and every sweep's (of
 * the projects a token limited to some may see). */
#include "ctl.h"
#include "json.h"
#include "methods.h"
#include "table.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The counts of one ProjectStats, in column order. */
static void status_counts(const Whatsnext__V1__ProjectStats *s, uint64_t out[6])
{
	out[0] = s->pending;
	out[1] = s->running;
	out[2] = s->completed;
	out[3] = s->failed;
	out[4] = s->blocked;
	out[5] = s->cancelled;
}

/* status_sum adds up the counts of every project of r. */
static void status_sum(const Whatsnext__V1__StatsResponse *r, Whatsnext__V1__ProjectStats *sum)
{
	for (size_t i = 0; i < r->n_projects; i++) {
		const Whatsnext__V1__ProjectStats *s = r->projects[i];
		sum->pending += s->pending;
		sum->running += s->running;
		sum->completed += s->completed;
		sum->failed += s->failed;
		sum->blocked += s->blocked;
		sum->cancelled += s->cancelled;
		sum->artifact_bytes += s->artifact_bytes;
	}
}

/* status_json returns r as JSON with the "total" counts over every project. */
static json_t *status_json(const Whatsnext__V1__StatsResponse *r)
{
	Whatsnext__V1__ProjectStats sum = WHATSNEXT__V1__PROJECT_STATS__INIT;
	status_sum(r, &sum);
	json_t *j = wn_json_encode(&r->base);
	json_t *t = wn_json_encode(&sum.base);
	json_object_del(t, "project");
	json_object_set_new(j, "total", t);
	return j;
}

void wn_ctl_stats_print(wn_ctl *c, const Whatsnext__V1__StatsResponse *r, bool totals)
{
	Whatsnext__V1__ProjectStats sum = WHATSNEXT__V1__PROJECT_STATS__INIT;
	status_sum(r, &sum);
	if (wn_ctl_json(c)) {
		wn_json_print(totals ? status_json(r) : wn_json_encode(&r->base));
		return;
	}
	static const char *const cols[] = {
	    "PROJECT",  ">PENDING",   ">RUNNING", ">COMPLETED", ">FAILED",
	    ">BLOCKED", ">CANCELLED", ">TOTAL",   NULL,
	};
	wn_table *t = wn_table_new(cols);
	uint64_t n[6];
	for (size_t i = 0; i <= r->n_projects; i++) {
		const Whatsnext__V1__ProjectStats *s = i < r->n_projects ? r->projects[i] : &sum;
		if (i == r->n_projects && !totals)
			break;
		status_counts(s, n);
		wn_table_add(t, "%s", i < r->n_projects ? s->project : "TOTAL");
		uint64_t all = 0;
		for (size_t k = 0; k < 6; k++) {
			wn_table_add(t, "%llu", (unsigned long long)n[k]);
			all += n[k];
		}
		wn_table_add(t, "%llu", (unsigned long long)all);
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
}

static int status_sweep_cmp(const void *a, const void *b)
{
	uint64_t x = (*(Whatsnext__V1__Sweep *const *)a)->id;
	uint64_t y = (*(Whatsnext__V1__Sweep *const *)b)->id;
	return x < y ? -1 : x > y;
}

/* status_sweeps_of returns the sweeps of the projects of st, for a token limited to some
 * projects (which may not list every project's): the server's order, by id. */
static Whatsnext__V1__ListSweepsResponse *status_sweeps_of(wn_ctl *c,
                                                           const Whatsnext__V1__StatsResponse *st)
{
	Whatsnext__V1__ListSweepsResponse *all = wn_ctl_alloc(c, sizeof(*all));
	whatsnext__v1__list_sweeps_response__init(all);
	size_t cap = 0;
	for (size_t i = 0; i < st->n_projects; i++) {
		Whatsnext__V1__ListSweepsRequest req = WHATSNEXT__V1__LIST_SWEEPS_REQUEST__INIT;
		req.project = st->projects[i]->project;
		Whatsnext__V1__ListSweepsResponse *r =
		    wn_ctl_call(c, WN_PATH_SWEEP_LIST, &req.base,
		                &whatsnext__v1__list_sweeps_response__descriptor, 0);
		if (all->n_sweeps + r->n_sweeps > cap) {
			cap = (all->n_sweeps + r->n_sweeps) * 2;
			Whatsnext__V1__Sweep **v = wn_ctl_alloc(c, cap * sizeof(*v));
			if (all->n_sweeps > 0)
				memcpy(v, all->sweeps, all->n_sweeps * sizeof(*v));
			all->sweeps = v;
		}
		for (size_t k = 0; k < r->n_sweeps; k++)
			all->sweeps[all->n_sweeps++] = r->sweeps[k];
	}
	if (all->n_sweeps > 1)
		qsort(all->sweeps, all->n_sweeps, sizeof(*all->sweeps), status_sweep_cmp);
	return all;
}

/* status_sweeps returns every sweep the caller may see (st holds the projects it may),
 * or NULL when the server keeps none (or knows no sweeps). */
static Whatsnext__V1__ListSweepsResponse *status_sweeps(wn_ctl *c,
                                                        const Whatsnext__V1__StatsResponse *st)
{
	Whatsnext__V1__ListSweepsRequest req = WHATSNEXT__V1__LIST_SWEEPS_REQUEST__INIT;
	int code = 0;
	Whatsnext__V1__ListSweepsResponse *r =
	    wn_ctl_call_try(c, WN_PATH_SWEEP_LIST, &req.base,
	                    &whatsnext__v1__list_sweeps_response__descriptor, 0, &code);
	if (code == WHATSNEXT__V1__CODE__UNIMPLEMENTED)
		return NULL;
	if (code == WHATSNEXT__V1__CODE__PERMISSION_DENIED) /* a token limited to projects */
		return status_sweeps_of(c, st);
	if (code != 0)
		wn_ctl_die(c, wn_ctl_exit_code(code), "%s", wn_ctl_call_error(c));
	return r;
}

/* The finished sweeps status shows, the newest, when not given --all. */
#define STATUS_FINISHED_SWEEPS 5

enum { OPT_ALL = 1 };

static const struct option status_opts[] = {
    {"all", no_argument, NULL, OPT_ALL},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp status_help[] = {
    {"--all", "every sweep, not only those still going and the newest finished ones"},
    {NULL, NULL},
};

/* sweep_going tells whether a job of s may still run or waits for a user's
 * say (pending, running or blocked). */
static bool sweep_going(const Whatsnext__V1__Sweep *s)
{
	return s->pending + s->running + s->blocked > 0;
}

/* status_sweeps_print prints the table of sweeps: those still going and the
 * newest STATUS_FINISHED_SWEEPS finished ones (all with --all), then how many
 * it left out. */
static void status_sweeps_print(wn_ctl *c, Whatsnext__V1__Sweep *const *sw, size_t n, bool all)
{
	Whatsnext__V1__Sweep **shown = wn_ctl_alloc(c, (n + 1) * sizeof(*shown));
	size_t nshown = 0, finished = 0;
	for (size_t i = n; i-- > 0;) /* newest first, to pick the newest finished */
		if (sweep_going(sw[i]) || all || finished++ < STATUS_FINISHED_SWEEPS)
			shown[nshown++] = sw[i];
	for (size_t i = 0; i < nshown / 2; i++) { /* back to the server's order */
		Whatsnext__V1__Sweep *t = shown[i];
		shown[i] = shown[nshown - 1 - i];
		shown[nshown - 1 - i] = t;
	}
	putchar('\n');
	wn_ctl_sweeps_table(c, shown, nshown, "SWEEP");
	if (nshown < n)
		printf("(%zu older finished sweep%s not shown: wnctl status --all, or wnctl sweep "
		       "list)\n",
		       n - nshown, n - nshown == 1 ? "" : "s");
}

static int status_run(wn_ctl *c)
{
	bool all = false;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_ALL)
			all = true;
	wn_ctl_args(c, 0, 0, NULL);
	Whatsnext__V1__StatsRequest req = WHATSNEXT__V1__STATS_REQUEST__INIT;
	Whatsnext__V1__StatsResponse *r = wn_ctl_call(
	    c, WN_PATH_QUEUE_STATS, &req.base, &whatsnext__v1__stats_response__descriptor, 0);
	for (size_t i = 0; i < r->n_warnings; i++)
		fprintf(stderr, "wnctl: warning: the server says: %s\n",
		        wn_ctl_line(c, r->warnings[i]));
	Whatsnext__V1__ListSweepsResponse *sw = status_sweeps(c, r);
	size_t nsweeps = sw != NULL ? sw->n_sweeps : 0;
	if (wn_ctl_json(c)) {
		json_t *j = status_json(r);
		json_t *a = json_array();
		for (size_t i = 0; i < nsweeps; i++)
			json_array_append_new(a, wn_json_encode(&sw->sweeps[i]->base));
		json_object_set_new(j, "sweeps", a);
		wn_json_print(j);
		return WN_CTL_EXIT_OK;
	}
	wn_ctl_stats_print(c, r, true);
	if (nsweeps > 0)
		status_sweeps_print(c, sw->sweeps, nsweeps, all);
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb status_verbs[] = {
    {NULL, status_run, "[--all]",
     "Show every project's jobs counted by state, the totals over all projects, and the "
     "progress of each sweep still going and of the newest finished ones (for a token "
     "limited to some projects, of those); warnings of the server about its safety "
     "(--insecure) go to stderr.",
     status_opts, status_help},
};

const struct wn_ctl_noun wn_ctl_status = {
    "status",
    "The state of the whole server at a glance.",
    status_verbs,
    WN_ARRAY_LEN(status_verbs),
};
