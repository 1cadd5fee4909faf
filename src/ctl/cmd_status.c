/* wnctl status: every project's job counts by state, with totals. */
#include "ctl.h"
#include "json.h"
#include "table.h"
#include "util.h"

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

void wn_ctl_stats_print(wn_ctl *c, const Whatsnext__V1__StatsResponse *r, bool totals)
{
	Whatsnext__V1__ProjectStats sum = WHATSNEXT__V1__PROJECT_STATS__INIT;
	for (size_t i = 0; i < r->n_projects; i++) {
		const Whatsnext__V1__ProjectStats *s = r->projects[i];
		sum.pending += s->pending;
		sum.running += s->running;
		sum.completed += s->completed;
		sum.failed += s->failed;
		sum.blocked += s->blocked;
		sum.cancelled += s->cancelled;
	}
	if (wn_ctl_json(c)) {
		json_t *j = wn_json_encode(&r->base);
		if (totals) {
			json_t *t = wn_json_encode(&sum.base);
			json_object_del(t, "project");
			json_object_set_new(j, "total", t);
		}
		wn_json_print(j);
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

static int status_run(wn_ctl *c)
{
	wn_ctl_args(c, 0, 0, NULL);
	Whatsnext__V1__StatsRequest req = WHATSNEXT__V1__STATS_REQUEST__INIT;
	Whatsnext__V1__StatsResponse *r =
	    wn_ctl_call(c, "/whatsnext.v1.QueueService/Stats", &req.base,
	                &whatsnext__v1__stats_response__descriptor, 0);
	wn_ctl_stats_print(c, r, true);
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb status_verbs[] = {
    {NULL, status_run, "",
     "Show every project's jobs counted by state, and the totals over all projects.", NULL, NULL},
};

const struct wn_ctl_noun wn_ctl_status = {
    "status",
    "The state of the whole server at a glance.",
    status_verbs,
    WN_ARRAY_LEN(status_verbs),
};
