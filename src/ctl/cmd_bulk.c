/* wnctl job cancel|retry|remove|priority|hold|release on one job, many ids, a
 * sweep or filters (one JobService/Bulk call for more than one id), job
 * update, and sweep cancel|retry. */
#include "ctl.h"
#include "envelope.h"
#include "methods.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Ids and skip reasons printed at most; --json has them all. */
#define BULK_SHOW_IDS   20
#define BULK_SHOW_SKIPS 20

enum {
	OPT_REASON = 1,
	OPT_FORCE,
	OPT_SWEEP,
	OPT_STATUS,
	OPT_PROJECT,
	OPT_TASK,
	OPT_NAME,
	OPT_PARAM,
	OPT_FAILED,
};

/* clang-format off */
#define BULK_SELECT_OPTS                                                                           \
	{"sweep", required_argument, NULL, OPT_SWEEP},                                             \
	{"status", required_argument, NULL, OPT_STATUS},                                           \
	{"project", required_argument, NULL, OPT_PROJECT},                                         \
	{"task", required_argument, NULL, OPT_TASK},                                               \
	{"name", required_argument, NULL, OPT_NAME},                                               \
	WN_CTL_YES_OPT
#define BULK_SELECT_HELP                                                                           \
	{"--sweep ID", "the jobs of this sweep"},                                                  \
	{"--status S,...", "only jobs in these states; repeat or separate by commas for more"},    \
	{"--project P,...", "only jobs of these projects; repeat or separate by commas for more"}, \
	{"--task T", "only jobs of this task"},                                                    \
	{"--name GLOB", "only jobs whose name matches GLOB (*, ?, [...]; quote it)"}
/* --yes of the commands that ask nothing: taken, so that a script may pass it to each one */
#define BULK_YES_ACCEPTED_HELP                                                                     \
	{"-y, --yes", "accepted, as by cancel and remove; this command asks nothing"}
/* clang-format on */

const struct option wn_ctl_job_cancel_opts[] = {
    {"reason", required_argument, NULL, OPT_REASON}, BULK_SELECT_OPTS, {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_job_cancel_help[] = {
    {"--reason T", "why, recorded on the jobs"}, BULK_SELECT_HELP, WN_CTL_YES_HELP, {NULL, NULL}};
const struct option wn_ctl_job_remove_opts[] = {
    {"force", no_argument, NULL, OPT_FORCE}, BULK_SELECT_OPTS, {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_job_remove_help[] = {
    {"--force", "remove even running jobs and jobs others depend on: those become blocked"},
    BULK_SELECT_HELP,
    WN_CTL_YES_HELP,
    {NULL, NULL}};
const struct option wn_ctl_job_bulk_opts[] = {BULK_SELECT_OPTS, {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_job_bulk_help[] = {
    BULK_SELECT_HELP, BULK_YES_ACCEPTED_HELP, {NULL, NULL}};
const struct option wn_ctl_job_update_opts[] = {{"param", required_argument, NULL, OPT_PARAM},
                                                {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_job_update_help[] = {
    {"--param K=V", "set parameter K to V (repeat for more; the others are kept)"}, {NULL, NULL}};
const struct option wn_ctl_sweep_cancel_opts[] = {
    {"reason", required_argument, NULL, OPT_REASON}, WN_CTL_YES_OPT, {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_sweep_cancel_help[] = {
    {"--reason T", "why, recorded on the jobs"}, WN_CTL_YES_HELP, {NULL, NULL}};
const struct option wn_ctl_sweep_retry_opts[] = {{"failed", no_argument, NULL, OPT_FAILED},
                                                 {NULL, 0, NULL, 0}};
const struct wn_ctl_opthelp wn_ctl_sweep_retry_help[] = {
    {"--failed", "only the failed jobs (not the cancelled or blocked ones)"}, {NULL, NULL}};

typedef Whatsnext__V1__BulkRequest BulkRequest;

/* What a bulk command was given. */
struct bulk {
	BulkRequest rq;
	const char *verb; /* "cancel" */
	const char *done; /* "cancelled" */
	bool filtered;    /* jobs named by a sweep or a filter, not by id */
	bool one;         /* exactly one id, nothing else: the single-job method */
};

/* bulk_add appends v to the n values at *vp (context-owned, grown by one). */
static void *bulk_grow(wn_ctl *c, void *vp, size_t n, size_t size)
{
	char *v = wn_ctl_alloc(c, (n + 1) * size);
	if (n > 0)
		memcpy(v, vp, n * size);
	return v;
}

/* bulk_option applies one of the selection options; false if ch is none. */
static bool bulk_option(wn_ctl *c, struct bulk *b, int ch)
{
	BulkRequest *rq = &b->rq;
	char **v = NULL;
	size_t n = 0;
	switch (ch) {
	case OPT_SWEEP:
		rq->sweep_id = wn_ctl_once_id(c, "--sweep", rq->sweep_id,
		                              wn_ctl_parse_id(c, "sweep id", optarg));
		break;
	case OPT_STATUS:
		v = wn_ctl_split(c, "--status", optarg, &n);
		for (size_t i = 0; i < n; i++) {
			rq->statuses =
			    bulk_grow(c, rq->statuses, rq->n_statuses, sizeof(*rq->statuses));
			rq->statuses[rq->n_statuses++] = wn_ctl_parse_enum(
			    c, "--status", &whatsnext__v1__job_status__descriptor, v[i]);
		}
		break;
	case OPT_PROJECT:
		v = wn_ctl_split(c, "--project", optarg, &n);
		for (size_t i = 0; i < n; i++) {
			rq->projects =
			    bulk_grow(c, rq->projects, rq->n_projects, sizeof(*rq->projects));
			rq->projects[rq->n_projects++] = v[i];
		}
		break;
	case OPT_TASK:
		rq->task =
		    (char *)wn_ctl_once(c, "--task", rq->task, wn_ctl_filter(c, "--task", optarg));
		break;
	case OPT_NAME:
		rq->name_glob = (char *)wn_ctl_once(c, "--name", rq->name_glob,
		                                    wn_ctl_filter(c, "--name", optarg));
		break;
	default:
		return false;
	}
	b->filtered = true;
	return true;
}

/* bulk_ids reads the positional arguments a[0..n) as job ids. */
static void bulk_ids(wn_ctl *c, struct bulk *b, char **a, int n)
{
	BulkRequest *rq = &b->rq;
	if (n == 0 && !b->filtered)
		wn_ctl_usage(c, "name the jobs: ids, --sweep ID, or filters (--status, --project, "
		                "--task, --name)");
	if (n > 0 && rq->sweep_id != 0)
		wn_ctl_usage(c, "name the jobs by ids or by --sweep, not both");
	wn_ctl_check_filters(c, rq->n_projects, rq->name_glob);
	if (n > WN_BATCH_MAX) /* refused by the server: nothing is sent */
		wn_ctl_usage(c,
		             "%d ids: one command takes at most %d (select them with --sweep or "
		             "filters, or give them in parts)",
		             n, WN_BATCH_MAX);
	rq->ids = wn_ctl_alloc(c, ((size_t)n + 1) * sizeof(*rq->ids));
	for (int i = 0; i < n; i++)
		rq->ids[i] = wn_ctl_parse_id(c, "job id", a[i]);
	rq->n_ids = (size_t)n;
	b->one = n == 1 && !b->filtered;
}

/* bulk_ids_text lists up to BULK_SHOW_IDS of the n ids v: "2, 3, 4". */
static const char *bulk_ids_text(wn_ctl *c, const uint64_t *v, size_t n)
{
	char *s = "";
	for (size_t i = 0; i < n && i < BULK_SHOW_IDS; i++)
		s = wn_ctl_printf(c, "%s%s%llu", s, i ? ", " : "", (unsigned long long)v[i]);
	if (n > BULK_SHOW_IDS)
		s = wn_ctl_printf(c, "%s and %zu more", s, n - BULK_SHOW_IDS);
	return s;
}

/* bulk_what names the jobs of a filtered command for its confirmation. */
static const char *bulk_what(wn_ctl *c, const BulkRequest *rq)
{
	if (rq->sweep_id != 0)
		return wn_ctl_printf(c, "the jobs of sweep %llu", (unsigned long long)rq->sweep_id);
	return "every job the filters select";
}

/* bulk_send makes the Bulk call and prints what changed and what did not:
 * exit 0 when nothing was refused, else 6. */
static int bulk_send(wn_ctl *c, struct bulk *b)
{
	if (b->filtered && (b->rq.action == WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL ||
	                    b->rq.action == WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE))
		wn_ctl_confirm(c, "%s %s", b->verb, bulk_what(c, &b->rq));
	Whatsnext__V1__BulkResponse *r = wn_ctl_call(c, WN_PATH_JOB_BULK, &b->rq.base,
	                                             &whatsnext__v1__bulk_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return r->skipped > 0 ? WN_CTL_EXIT_PRECONDITION : WN_CTL_EXIT_OK;
	}
	if (r->n_changed == 0 && r->skipped == 0) {
		printf("no job matched: nothing %s\n", b->done);
		return WN_CTL_EXIT_OK;
	}
	printf("%s %s%s%s\n", b->done, wn_ctl_count(c, r->n_changed, "job", NULL),
	       r->n_changed ? ": " : "", bulk_ids_text(c, r->changed, r->n_changed));
	if (r->skipped == 0)
		return WN_CTL_EXIT_OK;
	printf("left %s as they were:\n", wn_ctl_count(c, r->skipped, "job", NULL));
	for (size_t i = 0; i < r->n_skips && i < BULK_SHOW_SKIPS; i++)
		printf("  %s\n", wn_ctl_states(c, r->skips[i]->reason));
	if (r->skipped > BULK_SHOW_SKIPS)
		printf("  and %llu more (--json lists %zu)\n",
		       (unsigned long long)(r->skipped - BULK_SHOW_SKIPS), r->n_skips);
	return WN_CTL_EXIT_PRECONDITION;
}

/* bulk_single sends one job's change by its own method, as before Bulk:
 * prints "job ID: what" (or the Job with --json). */
static int bulk_single(wn_ctl *c, const struct bulk *b, const char *what)
{
	const BulkRequest *rq = &b->rq;
	Whatsnext__V1__JobIdRequest req = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	Whatsnext__V1__SetPriorityRequest pr = WHATSNEXT__V1__SET_PRIORITY_REQUEST__INIT;
	const ProtobufCMessage *in = &req.base;
	const char *path;
	req.id = pr.id = rq->ids[0];
	req.reason = rq->reason;
	req.force = rq->force;
	pr.priority = rq->priority;
	switch (rq->action) {
	case WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL:
		path = WN_PATH_JOB_CANCEL;
		break;
	case WHATSNEXT__V1__BULK_ACTION__BULK_RETRY:
		path = WN_PATH_JOB_RETRY;
		break;
	case WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE:
		path = WN_PATH_JOB_REMOVE;
		break;
	default:
		path = WN_PATH_JOB_SET_PRIORITY;
		in = &pr.base;
		break;
	}
	Whatsnext__V1__Job *j = wn_ctl_call(c, path, in, &whatsnext__v1__job__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&j->base);
	else
		printf("job %llu: %s\n", (unsigned long long)j->id,
		       what != NULL
		           ? what
		           : wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, j->status));
	return WN_CTL_EXIT_OK;
}

/* bulk_init starts a command of action. */
static void bulk_init(struct bulk *b, int action, const char *verb, const char *done)
{
	memset(b, 0, sizeof(*b));
	whatsnext__v1__bulk_request__init(&b->rq);
	b->rq.action = action;
	b->verb = verb;
	b->done = done;
}

/* bulk_run reads a bulk command's options and ids (n_extra more arguments
 * after them are left in *extra) and makes the call. */
static int bulk_run(wn_ctl *c, int action, const char *verb, const char *done)
{
	struct bulk b;
	bulk_init(&b, action, verb, done);
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (bulk_option(c, &b, ch))
			continue;
		if (ch == OPT_REASON)
			b.rq.reason = optarg;
		else if (ch == OPT_FORCE)
			b.rq.force = true;
	}
	int n = 0;
	char **a = wn_ctl_args(c, 0, -1, &n);
	bulk_ids(c, &b, a, n);
	if (b.one && action != WHATSNEXT__V1__BULK_ACTION__BULK_HOLD &&
	    action != WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE)
		return bulk_single(
		    c, &b, action == WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE ? "removed" : NULL);
	return bulk_send(c, &b);
}

int wn_ctl_job_cancel(wn_ctl *c)
{
	return bulk_run(c, WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL, "cancel", "cancelled");
}

int wn_ctl_job_retry(wn_ctl *c)
{
	return bulk_run(c, WHATSNEXT__V1__BULK_ACTION__BULK_RETRY, "retry", "retried");
}

int wn_ctl_job_remove(wn_ctl *c)
{
	return bulk_run(c, WHATSNEXT__V1__BULK_ACTION__BULK_REMOVE, "remove", "removed");
}

int wn_ctl_job_hold(wn_ctl *c)
{
	return bulk_run(c, WHATSNEXT__V1__BULK_ACTION__BULK_HOLD, "hold", "held");
}

int wn_ctl_job_release(wn_ctl *c)
{
	return bulk_run(c, WHATSNEXT__V1__BULK_ACTION__BULK_RELEASE, "release", "released");
}

int wn_ctl_job_priority(wn_ctl *c)
{
	struct bulk b;
	bulk_init(&b, WHATSNEXT__V1__BULK_ACTION__BULK_PRIORITY, "reprioritize", "reprioritized");
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		bulk_option(c, &b, ch);
	int n = 0;
	char **a = wn_ctl_args(c, 1, -1, &n);
	if (n == 1 && !b.filtered && b.rq.sweep_id == 0)
		wn_ctl_usage(
		    c,
		    "missing the jobs or the priority: job priority ID... N takes the jobs, "
		    "then the new priority ('%s' alone is the priority of no job)",
		    a[0]);
	b.rq.priority = (int32_t)wn_ctl_parse_int(c, "priority", a[n - 1], INT32_MIN, INT32_MAX);
	bulk_ids(c, &b, a, n - 1);
	if (b.one)
		return bulk_single(c, &b, wn_ctl_printf(c, "priority %d", b.rq.priority));
	return bulk_send(c, &b);
}

int wn_ctl_job_update(wn_ctl *c)
{
	struct wn_ctl_kv kv = {0};
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_PARAM)
			wn_ctl_kv_add(c, &kv, "--param", optarg);
	char **a = wn_ctl_args(c, 1, 1, NULL);
	Whatsnext__V1__UpdateJobRequest rq = WHATSNEXT__V1__UPDATE_JOB_REQUEST__INIT;
	rq.id = wn_ctl_parse_id(c, "job id", a[0]);
	if (kv.n == 0)
		wn_ctl_usage(c, "give the parameters to set with --param K=V");
	for (size_t i = 0; i < kv.n; i++)
		if (kv.values[i][0] == '\0')
			wn_ctl_usage(c, "--param %s= has no value", kv.keys[i]);
	rq.n_params = kv.n;
	rq.params = wn_ctl_alloc(c, kv.n * sizeof(*rq.params));
	for (size_t i = 0; i < kv.n; i++) {
		rq.params[i] = wn_ctl_alloc(c, sizeof(*rq.params[i]));
		whatsnext__v1__update_job_request__params_entry__init(rq.params[i]);
		rq.params[i]->key = kv.keys[i];
		rq.params[i]->value = kv.values[i];
	}
	Whatsnext__V1__Job *j =
	    wn_ctl_call(c, WN_PATH_JOB_UPDATE, &rq.base, &whatsnext__v1__job__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&j->base);
	else
		printf("job %llu: updated %s\n", (unsigned long long)j->id,
		       wn_ctl_count(c, kv.n, "parameter", NULL));
	return WN_CTL_EXIT_OK;
}

/* sweep_bulk runs action on the jobs of the sweep named by the one argument. */
static int sweep_bulk(wn_ctl *c, struct bulk *b)
{
	b->rq.sweep_id = wn_ctl_parse_id(c, "sweep id", wn_ctl_args(c, 1, 1, NULL)[0]);
	b->filtered = true;
	return bulk_send(c, b);
}

int wn_ctl_sweep_cancel(wn_ctl *c)
{
	struct bulk b;
	bulk_init(&b, WHATSNEXT__V1__BULK_ACTION__BULK_CANCEL, "cancel", "cancelled");
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_REASON)
			b.rq.reason = optarg;
	return sweep_bulk(c, &b);
}

int wn_ctl_sweep_retry(wn_ctl *c)
{
	static Whatsnext__V1__JobStatus failed = WHATSNEXT__V1__JOB_STATUS__JOB_FAILED;
	struct bulk b;
	bulk_init(&b, WHATSNEXT__V1__BULK_ACTION__BULK_RETRY, "retry", "retried");
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_FAILED) {
			b.rq.statuses = &failed;
			b.rq.n_statuses = 1;
		}
	return sweep_bulk(c, &b);
}
