/* wnctl queue: show, stats, clear, pop, and the worker's side (fetch,
 * heartbeat, complete, release) for scripts and debugging. */
#include "ctl.h"
#include "json.h"
#include "methods.h"
#include "table.h"
#include "util.h"

#include <string.h>

enum {
	OPT_LIMIT = 1,
	OPT_OFFSET,
	OPT_TASK,
	OPT_WORKER,
	OPT_WAIT,
	OPT_FAIL,
	OPT_EXIT_CODE,
	OPT_REASON,
	OPT_OUTPUT,
	OPT_DURATION,
	OPT_READY,
};

static const struct option queue_show_opts[] = {
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"ready", no_argument, NULL, OPT_READY},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_show_help[] = {
    {"--limit N", "jobs to show, at most 10000 (default 100; 0 is the server's default, 100)"},
    {"--offset N", "skip this many from the head of the queue (default 0)"},
    {"--ready", "only the jobs that can run now, not those that wait (on a dependency, their "
                "sweep's cap, an archived project)"},
    {NULL, NULL},
};

static const struct option queue_clear_opts[] = {
    {"task", required_argument, NULL, OPT_TASK},
    WN_CTL_YES_OPT,
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_clear_help[] = {
    {"--task T", "only the pending jobs of this task"},
    WN_CTL_YES_HELP,
    {NULL, NULL},
};

static const struct wn_ctl_opthelp queue_pop_help[] = {
    {"POSITION", "place in the dispatch order, 0 = the next job handed out (default 0)"},
    {NULL, NULL},
};

static const struct option queue_fetch_opts[] = {
    {"worker", required_argument, NULL, OPT_WORKER},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"task", required_argument, NULL, OPT_TASK},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_fetch_help[] = {
    {"--worker NAME", "who takes the lease (required)"},
    {"--wait MS", "wait up to this long for a job, at most 60000 (default 0)"},
    {"--task T", "only jobs of this task; repeat for more (default any)"},
    {NULL, NULL},
};

static const struct option queue_heartbeat_opts[] = {
    {"worker", required_argument, NULL, OPT_WORKER},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_heartbeat_help[] = {
    {"--worker NAME", "the worker holding the leases (required)"},
    {"JOB:ATTEMPT", "a lease to renew, as fetch printed it; repeat for more"},
    {NULL, NULL},
};

static const struct option queue_complete_opts[] = {
    {"worker", required_argument, NULL, OPT_WORKER},
    {"fail", no_argument, NULL, OPT_FAIL},
    {"exit-code", required_argument, NULL, OPT_EXIT_CODE},
    {"reason", required_argument, NULL, OPT_REASON},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"duration-ms", required_argument, NULL, OPT_DURATION},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_complete_help[] = {
    {"--worker NAME", "the worker holding the lease (required)"},
    {"--fail", "the run failed (default: it succeeded)"},
    {"--exit-code N", "the command's exit code (default 0)"},
    {"--reason T", "why it failed"},
    {"--output T", "the tail of the run's output (the server keeps 64 KiB)"},
    {"--duration-ms N", "how long the run took, ms"},
    {NULL, NULL},
};

static const struct option queue_release_opts[] = {
    {"worker", required_argument, NULL, OPT_WORKER},
    {"reason", required_argument, NULL, OPT_REASON},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp queue_release_help[] = {
    {"--worker NAME", "the worker holding the lease (required)"},
    {"--reason T", "why it is handed back"},
    {NULL, NULL},
};

static int queue_show(wn_ctl *c)
{
	Whatsnext__V1__QueueListRequest req = WHATSNEXT__V1__QUEUE_LIST_REQUEST__INIT;
	req.limit = 100;
	bool ready_only = false;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_LIMIT)
			req.limit = (int32_t)wn_ctl_parse_int(c, "--limit", optarg, 0, 10000);
		else if (ch == OPT_OFFSET)
			req.offset = wn_ctl_parse_int(c, "--offset", optarg, 0, INT64_MAX);
		else if (ch == OPT_READY)
			ready_only = true;
	}
	req.project = wn_ctl_args(c, 1, 1, NULL)[0];
	req.include_waiting = !ready_only;
	Whatsnext__V1__QueueListResponse *r = wn_ctl_call(
	    c, WN_PATH_QUEUE_LIST, &req.base, &whatsnext__v1__queue_list_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {
	    ">POS", "ID", "TASK", "NAME", ">PRIO", ">ATTEMPT", "WAITING", NULL,
	};
	wn_table *t = wn_table_new(cols);
	/* the jobs in line come first (an archived project's have no position
	 * but are in line all the same), then those that cannot run now */
	uint64_t in_line = r->total > (uint64_t)req.offset ? r->total - (uint64_t)req.offset : 0;
	uint64_t ready = 0, waiting = 0;
	for (size_t i = 0; i < r->n_jobs; i++) {
		const Whatsnext__V1__Job *j = r->jobs[i];
		if (i < in_line)
			ready++;
		else
			waiting++;
		if (j->position < 0) /* the reason is in WAITING */
			wn_table_add(t, "-");
		else
			wn_table_add(t, "%lld", (long long)j->position);
		wn_table_add(t, "%llu", (unsigned long long)j->id);
		wn_table_add(t, "%s", j->task);
		wn_table_add(t, "%s", j->name);
		wn_table_add(t, "%d", j->priority);
		wn_table_add(t, "%u", j->attempt);
		wn_table_add(t, "%s", j->waiting[0] ? wn_ctl_states(c, j->waiting) : "-");
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	uint64_t shown_to = (uint64_t)req.offset + ready;
	if (ready > 0 && (req.offset > 0 || shown_to < r->total))
		fprintf(stderr, "wnctl: showing %llu to %llu of %s\n",
		        (unsigned long long)req.offset, (unsigned long long)shown_to - 1,
		        wn_ctl_count(c, r->total, "pending job", NULL));
	else if (ready == 0 && req.offset > 0 && r->total > 0) /* not an empty queue */
		fprintf(stderr,
		        "wnctl: showing none: --offset %lld is past the end of %s in line\n",
		        (long long)req.offset, wn_ctl_count(c, r->total, "pending job", NULL));
	if (waiting < r->waiting_total)
		fprintf(stderr, "wnctl: showing %llu of %s that cannot run now\n",
		        (unsigned long long)waiting,
		        wn_ctl_count(c, r->waiting_total, "job", NULL));
	return WN_CTL_EXIT_OK;
}

static int queue_stats(wn_ctl *c)
{
	Whatsnext__V1__StatsRequest req = WHATSNEXT__V1__STATS_REQUEST__INIT;
	int n = 0;
	char **a = wn_ctl_args(c, 0, 1, &n);
	if (n == 1)
		req.project = (char *)wn_ctl_filter(c, "PROJECT", a[0]);
	Whatsnext__V1__StatsResponse *r = wn_ctl_call(
	    c, WN_PATH_QUEUE_STATS, &req.base, &whatsnext__v1__stats_response__descriptor, 0);
	wn_ctl_stats_print(c, r, false);
	return WN_CTL_EXIT_OK;
}

static int queue_clear(wn_ctl *c)
{
	Whatsnext__V1__ClearRequest req = WHATSNEXT__V1__CLEAR_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_TASK)
			req.task = (char *)wn_ctl_once(c, "--task", req.task,
			                               wn_ctl_filter(c, "--task", optarg));
	req.project = wn_ctl_args(c, 1, 1, NULL)[0];
	if (req.task != NULL && req.task[0] != '\0')
		wn_ctl_confirm(c, "remove the pending jobs of task %s/%s", req.project, req.task);
	else
		wn_ctl_confirm(c, "remove every pending job of project %s", req.project);
	Whatsnext__V1__ClearResponse *r = wn_ctl_call(
	    c, WN_PATH_QUEUE_CLEAR, &req.base, &whatsnext__v1__clear_response__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->base);
	else
		printf("removed %s\n", wn_ctl_count(c, r->removed, "pending job", NULL));
	return WN_CTL_EXIT_OK;
}

static int queue_pop(wn_ctl *c)
{
	Whatsnext__V1__PopRequest req = WHATSNEXT__V1__POP_REQUEST__INIT;
	int n = 0;
	char **a = wn_ctl_args(c, 1, 2, &n);
	req.project = a[0];
	if (n == 2)
		req.position = (uint64_t)wn_ctl_parse_int(c, "position", a[1], 0, INT64_MAX);
	Whatsnext__V1__Job *j =
	    wn_ctl_call(c, WN_PATH_QUEUE_POP, &req.base, &whatsnext__v1__job__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&j->base);
	else
		printf("%llu\n", (unsigned long long)j->id);
	return WN_CTL_EXIT_OK;
}

static int queue_fetch(wn_ctl *c)
{
	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	char **tasks = NULL;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_WORKER:
			req.worker = optarg;
			break;
		case OPT_WAIT:
			req.wait_ms = (uint32_t)wn_ctl_parse_int(c, "--wait", optarg, 0, 60000);
			break;
		case OPT_TASK: {
			char **t = wn_ctl_alloc(c, (req.n_tasks + 1) * sizeof(*t));
			if (req.n_tasks > 0)
				memcpy(t, tasks, req.n_tasks * sizeof(*t));
			t[req.n_tasks++] = optarg;
			tasks = t;
			break;
		}
		}
	}
	req.tasks = tasks;
	req.project = wn_ctl_args(c, 1, 1, NULL)[0];
	if (req.worker[0] == '\0')
		wn_ctl_usage(c, "missing --worker NAME");
	Whatsnext__V1__FetchResponse *r =
	    wn_ctl_call(c, WN_PATH_QUEUE_FETCH, &req.base,
	                &whatsnext__v1__fetch_response__descriptor, (int)req.wait_ms);
	if (wn_ctl_json(c)) {
		/* {"job": Job or null}: one job is asked for, so `more` is always empty. */
		json_t *j = json_object();
		json_object_set_new(j, "job", wn_json_encode(r->job ? &r->job->base : NULL));
		wn_json_print(j);
	} else if (r->job != NULL)
		printf("%llu %u\n", (unsigned long long)r->job->id, r->job->attempt);
	else
		fprintf(stderr, "wnctl: no job ready\n");
	return WN_CTL_EXIT_OK;
}

static int queue_heartbeat(wn_ctl *c)
{
	Whatsnext__V1__HeartbeatRequest req = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_WORKER)
			req.worker = optarg;
	int n = 0;
	char **a = wn_ctl_args(c, 0, -1, &n);
	if (req.worker[0] == '\0')
		wn_ctl_usage(c, "missing --worker NAME");
	req.leases = wn_ctl_alloc(c, ((size_t)n + 1) * sizeof(*req.leases));
	for (int i = 0; i < n; i++) {
		char *id = wn_ctl_strdup(c, a[i]);
		char *colon = strchr(id, ':');
		if (colon == NULL)
			wn_ctl_usage(c, "invalid lease '%s': expected JOB:ATTEMPT", a[i]);
		*colon = '\0';
		Whatsnext__V1__Lease *l = wn_ctl_alloc(c, sizeof(*l));
		whatsnext__v1__lease__init(l);
		l->job_id = wn_ctl_parse_id(c, "job id", id);
		l->attempt = (uint32_t)wn_ctl_parse_int(c, "attempt", colon + 1, 0, UINT32_MAX);
		req.leases[req.n_leases++] = l;
	}
	Whatsnext__V1__HeartbeatResponse *r =
	    wn_ctl_call(c, WN_PATH_QUEUE_HEARTBEAT, &req.base,
	                &whatsnext__v1__heartbeat_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	wn_ctl_field("lease_expires", "%s", wn_ctl_time(c, r->lease_expires_ms));
	const char *ids = "";
	for (size_t i = 0; i < r->n_cancelled; i++)
		ids = wn_ctl_printf(c, "%s %llu", ids, (unsigned long long)r->cancelled[i]);
	if (r->n_cancelled > 0)
		wn_ctl_field("cancelled", "%s", ids + 1);
	ids = "";
	for (size_t i = 0; i < r->n_lost; i++)
		ids = wn_ctl_printf(c, "%s %llu", ids, (unsigned long long)r->lost[i]);
	if (r->n_lost > 0)
		wn_ctl_field("lost", "%s", ids + 1);
	return WN_CTL_EXIT_OK;
}

/* queue_lease parses the JOB ATTEMPT arguments of complete and release. */
static void queue_lease(wn_ctl *c, uint64_t *id, uint32_t *attempt)
{
	char **a = wn_ctl_args(c, 2, 2, NULL);
	*id = wn_ctl_parse_id(c, "job id", a[0]);
	*attempt = (uint32_t)wn_ctl_parse_int(c, "attempt", a[1], 0, UINT32_MAX);
}

static void queue_done(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	if (wn_ctl_json(c))
		wn_ctl_print_message(&j->base);
	else
		printf("job %llu: %s\n", (unsigned long long)j->id,
		       wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, j->status));
}

static int queue_complete(wn_ctl *c)
{
	Whatsnext__V1__CompleteRequest req = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	req.success = 1;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_WORKER:
			req.worker = optarg;
			break;
		case OPT_FAIL:
			req.success = 0;
			break;
		case OPT_EXIT_CODE:
			req.exit_code = (int32_t)wn_ctl_parse_int(c, "--exit-code", optarg,
			                                          INT32_MIN, INT32_MAX);
			break;
		case OPT_REASON:
			req.reason = optarg;
			break;
		case OPT_OUTPUT:
			req.output_tail = optarg;
			break;
		case OPT_DURATION:
			req.duration_ms =
			    wn_ctl_parse_int(c, "--duration-ms", optarg, 0, INT64_MAX);
			break;
		}
	}
	queue_lease(c, &req.job_id, &req.attempt);
	if (req.worker[0] == '\0')
		wn_ctl_usage(c, "missing --worker NAME");
	Whatsnext__V1__CompleteResponse *r = wn_ctl_call(
	    c, WN_PATH_QUEUE_COMPLETE, &req.base, &whatsnext__v1__complete_response__descriptor, 0);
	if (r->job == NULL) {
		if (wn_ctl_json(c))
			wn_ctl_print_message(&r->base);
		else
			printf("job %llu: %s\n", (unsigned long long)req.job_id,
			       req.success ? "completed" : "failed");
		return WN_CTL_EXIT_OK;
	}
	queue_done(c, r->job);
	return WN_CTL_EXIT_OK;
}

static int queue_release(wn_ctl *c)
{
	Whatsnext__V1__ReleaseRequest req = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_WORKER)
			req.worker = optarg;
		else if (ch == OPT_REASON)
			req.reason = optarg;
	}
	queue_lease(c, &req.job_id, &req.attempt);
	if (req.worker[0] == '\0')
		wn_ctl_usage(c, "missing --worker NAME");
	queue_done(c, wn_ctl_call(c, WN_PATH_QUEUE_RELEASE, &req.base,
	                          &whatsnext__v1__job__descriptor, 0));
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb queue_verbs[] = {
    {"show", queue_show, "PROJECT [--limit N] [--offset N] [--ready]",
     "List a project's pending jobs in dispatch order (POS 0 is handed out next), then those "
     "that cannot run now with the reason.",
     queue_show_opts, queue_show_help},
    {"stats", queue_stats, "[PROJECT]",
     "Count a project's jobs (every project's without PROJECT) by state.", NULL, NULL},
    {"clear", queue_clear, "PROJECT [--task T] [--yes]",
     "Remove a project's pending jobs; asks first on a terminal unless --yes.", queue_clear_opts,
     queue_clear_help},
    {"pop", queue_pop, "PROJECT [POSITION]",
     "Remove one pending job from the queue and print its id.", NULL, queue_pop_help},
    {"fetch", queue_fetch, "PROJECT --worker NAME [--wait MS] [--task T]...",
     "Claim the next job as a worker does and print \"ID ATTEMPT\"; prints nothing when "
     "no job is ready.",
     queue_fetch_opts, queue_fetch_help},
    {"heartbeat", queue_heartbeat, "--worker NAME [JOB:ATTEMPT]...",
     "Renew a worker's leases; prints the new expiry and the jobs cancelled or lost.",
     queue_heartbeat_opts, queue_heartbeat_help},
    {"complete", queue_complete,
     "JOB ATTEMPT --worker NAME [--fail] [--exit-code N] [--reason T] [--output T] "
     "[--duration-ms N]",
     "Report the result of a leased job, as the worker holding it.", queue_complete_opts,
     queue_complete_help},
    {"release", queue_release, "JOB ATTEMPT --worker NAME [--reason T]",
     "Hand a leased job back unused, as the worker holding it; it is queued again.",
     queue_release_opts, queue_release_help},
};

const struct wn_ctl_noun wn_ctl_queue = {
    "queue",
    "Queues: each project's pending jobs in dispatch order, and the worker's side of the "
    "protocol.",
    queue_verbs,
    WN_ARRAY_LEN(queue_verbs),
};
