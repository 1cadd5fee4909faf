/* wnctl job: add, batch, show, deps, list (and sweep, in cmd_sweep.c; the
 * changes cancel, retry, remove, priority, hold, release, update in cmd_bulk.c); the batch file
 * format is read by batch.c. */
#include "batch.h"
#include "ctl.h"
#include "envelope.h"
#include "err.h"
#include "json.h"
#include "kit.h"
#include "map.h"
#include "methods.h"
#include "table.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Lines of a job's output tail `job show` prints; --json has all of it. */
#define JOB_OUTPUT_LINES 20

enum {
	OPT_NAME = 1,
	OPT_PARAM,
	OPT_PRIORITY,
	OPT_PROJECT,
	OPT_TASK,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_AFTER,
	OPT_ALL,
	OPT_REASON,
	OPT_DEP,
	OPT_SWEEP,
	OPT_MAX_RUNNING,
	OPT_FORCE,
	OPT_SUBMITTER,
	OPT_RESULTS,
};

static const struct option job_add_opts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"param", required_argument, NULL, OPT_PARAM},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"after", required_argument, NULL, OPT_DEP},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_add_help[] = {
    {"--name N", "the job's name (default TASK-ID)"},
    {"--param K=V", "a parameter the task's template substitutes; repeat for more "
                    "(a key given again replaces its value)"},
    {"--priority N", "higher runs first; equal priorities in submission order (default 0)"},
    {"--after ID[:COND]", "run only once job ID (of the same project) has ended as COND says: "
                          "afterok (default: completed), afterany (ended in any way) or "
                          "afternotok (failed, cancelled or blocked); repeat for more"},
    {NULL, NULL},
};

static const struct option job_batch_opts[] = {
    {"project", required_argument, NULL, OPT_PROJECT},
    {"task", required_argument, NULL, OPT_TASK},
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_batch_help[] = {
    {"FILE", "JSON jobs, '-' for stdin: an array of objects or one object per line, each "
             "{\"project\", \"task\", \"name\", \"params\": {K: V} (V a string, number or "
             "boolean, not \"\"), \"priority\", "
             "\"after\": [ID, \"ID:COND\", \"NAME\", {\"ref\": NAME, \"condition\": COND}]}; "
             "or an object {\"sweep\": {\"name\", \"max_running\"}, \"jobs\": [...]}"},
    {"--project P", "project of the jobs that name none"},
    {"--task T", "task of the jobs that name none"},
    {"--sweep NAME", "make the batch a sweep of this name: progress is counted per sweep"},
    {"--max-running N", "run at most N of the batch's jobs at once (makes it a sweep; 0 = no "
                        "cap)"},
    {NULL, NULL},
};

static const char *job_status(wn_ctl *c, int status)
{
	return wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, status);
}

static const char *job_condition(wn_ctl *c, int condition)
{
	return wn_ctl_enum(c, &whatsnext__v1__dep_condition__descriptor, condition);
}

/* job_finished tells whether j ran to an end, so its exit code means something. */
static bool job_finished(const Whatsnext__V1__Job *j)
{
	return j->status == WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ||
	       j->status == WHATSNEXT__V1__JOB_STATUS__JOB_FAILED;
}

/* job_stopping prints the `stopping` field of job j, cancelled while it ran: its
 * worker is told to stop the run with its next heartbeat, or, away (lost, gone,
 * removed), only when it comes back under its name. */
static void job_stopping(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	Whatsnext__V1__WorkerNameRequest req = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	req.name = j->worker;
	int code = 0;
	const Whatsnext__V1__Worker *w = wn_ctl_call_try(
	    c, WN_PATH_WORKER_GET, &req.base, &whatsnext__v1__worker__descriptor, 0, &code);
	const char *how = "told to stop";
	if (w == NULL && code != WHATSNEXT__V1__CODE__NOT_FOUND) /* not ours to see */
		how = "told to stop with the worker's next heartbeat, or when it comes back";
	else if (w == NULL || w->state != WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE)
		how = wn_ctl_printf(c, "to be told to stop when worker %s comes back", j->worker);
	wn_ctl_field("stopping", "the run of attempt %u on worker %s, %s", j->attempt, j->worker,
	             how);
}

static void job_print(wn_ctl *c, const Whatsnext__V1__Job *j)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&j->base);
		return;
	}
	bool pending = j->status == WHATSNEXT__V1__JOB_STATUS__JOB_PENDING;
	bool running = j->status == WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
	wn_ctl_field("id", "%llu", (unsigned long long)j->id);
	wn_ctl_field("project", "%s", j->project);
	wn_ctl_field("task", "%s", j->task);
	wn_ctl_field("name", "%s", j->name);
	wn_ctl_field("status", "%s", job_status(c, j->status));
	if (pending && j->waiting[0] != '\0')
		wn_ctl_field("waiting", "%s", wn_ctl_states(c, j->waiting));
	if (pending && j->position >= 0) /* -1: it cannot run now, `waiting` says why */
		wn_ctl_field("position", "%lld", (long long)j->position);
	wn_ctl_field("priority", "%d", j->priority);
	wn_ctl_field("attempt", "%u", j->attempt);
	/* a job handed back (lease lost, released, refused) keeps the worker of
	 * its last run, which no longer holds it */
	if (j->worker[0] != '\0')
		wn_ctl_field(running || job_finished(j) ? "worker" : "last_worker", "%s",
		             j->worker);
	if (job_finished(j))
		wn_ctl_field("exit_code", "%d", j->exit_code);
	if (j->reason[0] != '\0')
		wn_ctl_field("reason", "%s", wn_ctl_states(c, j->reason));
	if (j->stopping) /* cancelled while it ran: the run has not said it ended */
		job_stopping(c, j);
	if (j->external_id[0] != '\0')
		wn_ctl_field("external_id", "%s", j->external_id);
	if (j->submitter[0] != '\0')
		wn_ctl_field("submitter", "%s", j->submitter);
	wn_ctl_field("created", "%s", wn_ctl_time(c, j->created_ms));
	if (j->started_ms != 0)
		wn_ctl_field("started", "%s", wn_ctl_time(c, j->started_ms));
	if (j->finished_ms != 0)
		wn_ctl_field("finished", "%s", wn_ctl_time(c, j->finished_ms));
	if (j->duration_ms != 0)
		wn_ctl_field("duration", "%lld.%03lld s", (long long)(j->duration_ms / 1000),
		             (long long)(j->duration_ms % 1000));
	if (running && j->lease_expires_ms != 0)
		wn_ctl_field("lease_expires", "%s", wn_ctl_time(c, j->lease_expires_ms));
	if (j->lost != 0)
		wn_ctl_field("lost", "%u (since submission or the last retry)", j->lost);
	if (j->failures != 0)
		wn_ctl_field("failures", "%u (since submission or the last retry)", j->failures);
	if (j->sweep_id != 0)
		wn_ctl_field("sweep", "%llu", (unsigned long long)j->sweep_id);
	if (j->n_deps > 0) {
		printf("deps:\n");
		for (size_t i = 0; i < j->n_deps; i++) {
			const Whatsnext__V1__Dependency *d = j->deps[i];
			printf("  %s %llu", job_condition(c, d->condition),
			       (unsigned long long)d->job_id);
			/* the server names every dependency's status; none: removed */
			printf(": %s",
			       d->status != WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED
			           ? job_status(c, d->status)
			           : "removed");
			putchar('\n');
		}
	}
	if (j->n_params > 0) {
		printf("params:\n");
		for (size_t i = 0; i < j->n_params; i++)
			printf("  %s=%s\n", wn_ctl_line(c, j->params[i]->key),
			       wn_ctl_line(c, j->params[i]->value));
	}
	wn_ctl_job_results_print(c, j);
	wn_ctl_field_text("output", j->output_tail, JOB_OUTPUT_LINES);
}

/* job_params turns the --param pairs into map entries. */
static Whatsnext__V1__JobSpec__ParamsEntry **job_params(wn_ctl *c, const struct wn_ctl_kv *kv)
{
	Whatsnext__V1__JobSpec__ParamsEntry **p = wn_ctl_alloc(c, (kv->n + 1) * sizeof(*p));
	for (size_t i = 0; i < kv->n; i++) {
		p[i] = wn_ctl_alloc(c, sizeof(*p[i]));
		whatsnext__v1__job_spec__params_entry__init(p[i]);
		p[i]->key = kv->keys[i];
		p[i]->value = kv->values[i];
	}
	return p;
}

/* job_deps_add appends d to the n dependencies at *deps (context-owned, grown as needed). */
static void job_deps_add(wn_ctl *c, Whatsnext__V1__Dependency ***deps, size_t *n,
                         Whatsnext__V1__Dependency *d)
{
	Whatsnext__V1__Dependency **v = wn_ctl_alloc(c, (*n + 1) * sizeof(*v));
	if (*n > 0)
		memcpy(v, *deps, *n * sizeof(*v));
	v[(*n)++] = d;
	*deps = v;
}

/* job_dep parses the value of --after, "ID[:COND]", into a context-owned dependency. */
static Whatsnext__V1__Dependency *job_dep(wn_ctl *c, const char *arg)
{
	struct wn_ctl_batch_dep dep;
	char *err = NULL;
	if (wn_ctl_batch_dep_parse(arg, false, &dep, &err) != WN_OK) {
		const char *why = wn_ctl_strdup(c, err);
		free(err);
		wn_ctl_usage(c, "invalid --after '%s': %s", arg, why);
	}
	Whatsnext__V1__Dependency *d = wn_ctl_alloc(c, sizeof(*d));
	whatsnext__v1__dependency__init(d);
	d->job_id = dep.job_id;
	d->condition = dep.condition;
	return d;
}

static int job_add(wn_ctl *c)
{
	Whatsnext__V1__JobSpec spec = WHATSNEXT__V1__JOB_SPEC__INIT;
	struct wn_ctl_kv params = {0};
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_NAME:
			spec.name = (char *)wn_ctl_once(c, "--name", spec.name, optarg);
			break;
		case OPT_PARAM:
			wn_ctl_param_add(c, &params, optarg);
			break;
		case OPT_PRIORITY:
			spec.priority = (int32_t)wn_ctl_parse_int(c, "--priority", optarg,
			                                          INT32_MIN, INT32_MAX);
			break;
		case OPT_DEP:
			job_deps_add(c, &spec.after, &spec.n_after, job_dep(c, optarg));
			break;
		}
	}
	char **a = wn_ctl_args(c, 2, 2, NULL);
	spec.project = a[0];
	spec.task = a[1];
	spec.n_params = params.n;
	spec.params = job_params(c, &params);
	Whatsnext__V1__SubmitRequest req = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	req.job = &spec;
	Whatsnext__V1__SubmitResponse *r = wn_ctl_call(
	    c, WN_PATH_JOB_SUBMIT, &req.base, &whatsnext__v1__submit_response__descriptor, 0);
	if (r->job == NULL)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read the new job: the reply holds none");
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->job->base);
	else
		printf("%llu\n", (unsigned long long)r->job->id);
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- batch */

/* The largest batch file read: a batch goes in one request of at most
 * WN_MSG_MAX bytes, and its JSON (names, escapes, blanks) is larger. An
 * endless input (a device, a pipe that never ends) stops here. */
#define BATCH_FILE_MAX (16u * WN_MSG_MAX)

/* batch_read returns the whole of path ("-": stdin), context-owned. */
static char *batch_read(wn_ctl *c, const char *path, size_t *len)
{
	char *why =
	    wn_ctl_printf(c, " (a batch is sent in one request of at most %u bytes)", WN_MSG_MAX);
	return wn_ctl_read_input(c, path, BATCH_FILE_MAX, why, len);
}

/* wn_ctl_batch_done prints what a SubmitBatch did: the ids, one per line, and the sweep. */
void wn_ctl_batch_done(wn_ctl *c, const Whatsnext__V1__SubmitBatchResponse *r)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return;
	}
	for (size_t i = 0; i < r->n_ids; i++)
		printf("%llu\n", (unsigned long long)r->ids[i]);
	if (r->sweep_id != 0) {
		fflush(stdout);
		fprintf(stderr, "wnctl: sweep %llu: %s\n", (unsigned long long)r->sweep_id,
		        wn_ctl_count(c, r->n_ids, "job", NULL));
	}
}

static void job_batch_free(void *b)
{
	wn_ctl_batch_free(b);
}

static int job_batch(wn_ctl *c)
{
	const char *project = NULL, *task = NULL;
	const char *sweep_name = NULL;
	int64_t max_running = -1;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_PROJECT)
			project = wn_ctl_once(c, "--project", project, optarg);
		else if (ch == OPT_TASK)
			task = wn_ctl_once(c, "--task", task, optarg);
		else if (ch == OPT_SWEEP)
			sweep_name = wn_ctl_once(c, "--sweep", sweep_name, optarg);
		else if (ch == OPT_MAX_RUNNING)
			max_running = wn_ctl_parse_int(c, "--max-running", optarg, 0, UINT32_MAX);
	}
	const char *path = wn_ctl_args(c, 1, 1, NULL)[0];
	const char *name = wn_ctl_input_name(path);
	size_t len = 0;
	char *buf = batch_read(c, path, &len);

	wn_ctl_batch *b = NULL;
	char *err = NULL;
	if (wn_ctl_batch_parse(buf, len, name, project, task, &b, &err) != WN_OK) {
		const char *msg = wn_ctl_strdup(c, err);
		free(err);
		wn_ctl_usage(c, "%s", msg);
	}
	wn_ctl_defer(c, job_batch_free, b);
	Whatsnext__V1__SweepSpec sweep = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	bool has_sweep = wn_ctl_batch_sweep(b) != NULL;
	if (has_sweep)
		sweep = *wn_ctl_batch_sweep(b);

	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	req.jobs = wn_ctl_batch_jobs(b);
	req.n_jobs = wn_ctl_batch_count(b);
	if (sweep_name != NULL) {
		sweep.name = (char *)sweep_name;
		has_sweep = true;
	}
	if (max_running >= 0) {
		sweep.max_running = (uint32_t)max_running;
		has_sweep = true;
	}
	if (has_sweep)
		req.sweep = &sweep;
	wn_ctl_batch_done(c, wn_ctl_call(c, WN_PATH_JOB_SUBMIT_BATCH, &req.base,
	                                 &whatsnext__v1__submit_batch_response__descriptor, 0));
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- show, list */

static Whatsnext__V1__Job *job_get(wn_ctl *c, uint64_t id)
{
	Whatsnext__V1__GetJobRequest req = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	req.id = id;
	return wn_ctl_call(c, WN_PATH_JOB_GET, &req.base, &whatsnext__v1__job__descriptor, 0);
}

static int job_show(wn_ctl *c)
{
	uint64_t id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	job_print(c, job_get(c, id));
	return WN_CTL_EXIT_OK;
}

static void job_map_free(void *m)
{
	wn_map_free(m);
}

/* One job of the tree `job deps` prints, with the dependencies still to print. */
struct deps_frame {
	const Whatsnext__V1__Job *job;
	size_t next; /* index of the next dependency to print */
};

/* Levels of the tree drawn with indentation; a line deeper than this starts with its depth
 * as a number instead, so that a long chain prints in space linear in its length. */
#define DEPS_INDENT_MAX 32

/* deps_label returns "ID NAME: STATUS" for job j (NULL: unknown) of dependency id, and the
 * reason of a blocked job. */
static const char *deps_label(wn_ctl *c, uint64_t id, const Whatsnext__V1__Job *j, int status)
{
	if (j == NULL)
		return wn_ctl_printf(c, "%llu: %s", (unsigned long long)id,
		                     status != WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED
		                         ? job_status(c, status)
		                         : "not found");
	const char *label = wn_ctl_printf(c, "%llu %s: %s", (unsigned long long)j->id, j->name,
	                                  job_status(c, j->status));
	if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED && j->reason[0] != '\0')
		label = wn_ctl_printf(c, "%s (%s)", label, wn_ctl_states(c, j->reason));
	return label;
}

/* deps_line prints the line of dependency d of the job at stack level depth - 1: the
 * indentation drawn from indent (or, past DEPS_INDENT_MAX, "[depth N] "), the edge, the job. */
static void deps_line(wn_ctl *c, const char *indent, size_t depth, bool last,
                      const Whatsnext__V1__Dependency *d, const Whatsnext__V1__Job *dj, bool again)
{
	if (depth > DEPS_INDENT_MAX)
		printf("[depth %zu] ", depth);
	else
		printf("%.*s", (int)(4 * (depth - 1)), indent);
	printf("%s%s %s%s\n", last ? "`-- " : "|-- ", job_condition(c, d->condition),
	       deps_label(c, d->job_id, dj, d->status), again ? " (see above)" : "");
}

/* job_deps prints the upstream graph of a job as a tree: each dependency with its condition
 * under the job that waits for it; a job reached again (a diamond) is printed once more,
 * marked "(see above)", without its dependencies. The walk keeps its own stack, so a long chain
 * needs no deep recursion. */
static int job_deps(wn_ctl *c)
{
	Whatsnext__V1__GetJobRequest req = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	Whatsnext__V1__DepsResponse *r = wn_ctl_call(c, WN_PATH_JOB_DEPS, &req.base,
	                                             &whatsnext__v1__deps_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	if (r->n_jobs == 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot show job %llu: the reply holds no job",
		           (unsigned long long)req.id);
	wn_map *byid = wn_map_new_u64();
	wn_map *shown = wn_map_new_u64();
	wn_ctl_defer(c, job_map_free, byid);
	wn_ctl_defer(c, job_map_free, shown);
	for (size_t i = 0; i < r->n_jobs; i++)
		wn_map_put_u64(byid, r->jobs[i]->id, r->jobs[i]);

	/* indent[4 * k ..] is what the lines under the job at stack level k + 1 draw for it */
	char indent[4 * DEPS_INDENT_MAX + 1] = "";
	struct deps_frame *stack = wn_ctl_alloc(c, (r->n_jobs + 1) * sizeof(*stack));
	size_t depth = 0;
	const Whatsnext__V1__Job *root = r->jobs[0];
	printf("%s\n", deps_label(c, root->id, root, 0));
	wn_map_put_u64(shown, root->id, (void *)root);
	stack[depth++] = (struct deps_frame){root, 0};
	while (depth > 0) {
		struct deps_frame *f = &stack[depth - 1];
		if (f->next == f->job->n_deps) {
			depth--;
			continue;
		}
		const Whatsnext__V1__Dependency *d = f->job->deps[f->next++];
		bool last = f->next == f->job->n_deps;
		const Whatsnext__V1__Job *dj = wn_map_get_u64(byid, d->job_id);
		bool again = dj != NULL && wn_map_get_u64(shown, dj->id) != NULL;
		deps_line(c, indent, depth, last, d, dj, again);
		if (dj == NULL || again || depth > r->n_jobs)
			continue;
		wn_map_put_u64(shown, dj->id, (void *)dj);
		if (depth < DEPS_INDENT_MAX)
			memcpy(indent + 4 * (depth - 1), last ? "    " : "|   ", 4);
		stack[depth++] = (struct deps_frame){dj, 0};
	}
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb job_verbs[] = {
    {"add", job_add,
     "PROJECT TASK [--name N] [--param K=V]... [--priority N] [--after ID[:COND]]...",
     "Submit a job and print its id.", job_add_opts, job_add_help},
    {"batch", job_batch, "FILE [--project P] [--task T] [--sweep NAME] [--max-running N]",
     "Submit many jobs from a JSON file, all or none, and print their ids one per line.",
     job_batch_opts, job_batch_help},
    {"sweep", wn_ctl_job_sweep,
     "PROJECT TASK --grid K=V1,V2,... [--param K=V]... [--name TEMPLATE] [--priority N] "
     "[--max-running N] [--sweep NAME] [--file FILE] [--dry-run]",
     "Submit a parameter sweep, every combination of the grid's values, as one atomic batch; "
     "print the sweep id and the number of jobs.",
     wn_ctl_job_sweep_opts, wn_ctl_job_sweep_help},
    {"show", job_show, "ID",
     "Show a job: its state, parameters, dependencies, why it is waiting, its result and "
     "output tail.",
     NULL, NULL},
    {"log", wn_ctl_job_log, "ID [-f]",
     "Print a job's output as the server keeps it; -f follows it until the job ends.",
     wn_ctl_job_log_opts, wn_ctl_job_log_help},
    {"artifacts", wn_ctl_job_artifacts, "ID",
     "List the files a job produced: path, size, sha256, whether the server stores them.", NULL,
     NULL},
    {"artifact", wn_ctl_job_artifact, "get ID PATH [-o FILE] [--force]",
     "Fetch the stored content of a job's artifact, check its sha256 and write it whole.",
     wn_ctl_job_artifact_opts, wn_ctl_job_artifact_help},
    {"deps", job_deps, "ID",
     "Show the jobs a job depends on, directly or not, as a tree with their states (past 32 "
     "levels, each line starts with its depth).",
     NULL, NULL},
    {"history", wn_ctl_job_history, "ID [--key K]...",
     "Show the numbers a job reported while it ran, one row per report, of its latest attempt.",
     wn_ctl_job_history_opts, wn_ctl_job_history_help},
    {"list", wn_ctl_job_list,
     "[--project P,...] [--task T] [--status S,...] [--name GLOB] [--sweep ID] "
     "[--submitter NAME] [--limit N] [--after ID] [--all] [--last N] [--results K,...] "
     "[--format COLS]",
     "List jobs in id order, a page at a time, or the newest first with --last N.",
     wn_ctl_job_list_opts, wn_ctl_job_list_help},
    {"cancel", wn_ctl_job_cancel, "ID... | --sweep ID | FILTERS [--reason T]",
     "Cancel jobs; a running job's worker is told to stop it.", wn_ctl_job_cancel_opts,
     wn_ctl_job_cancel_help},
    {"retry", wn_ctl_job_retry, "ID... | --sweep ID | FILTERS",
     "Queue failed, cancelled or blocked jobs again.", wn_ctl_job_bulk_opts, wn_ctl_job_bulk_help},
    {"remove", wn_ctl_job_remove, "ID... | --sweep ID | FILTERS [--force]",
     "Delete jobs that are not running; those others depend on only with --force.",
     wn_ctl_job_remove_opts, wn_ctl_job_remove_help},
    {"priority", wn_ctl_job_priority, "ID... N | --sweep ID N | FILTERS N",
     "Set jobs' priority; higher runs first.", wn_ctl_job_bulk_opts, wn_ctl_job_bulk_help},
    {"hold", wn_ctl_job_hold, "ID... | --sweep ID | FILTERS",
     "Hold pending or blocked jobs: they stay pending and are not handed out until released.",
     wn_ctl_job_bulk_opts, wn_ctl_job_bulk_help},
    {"release", wn_ctl_job_release, "ID... | --sweep ID | FILTERS",
     "Release held jobs: they run again when their turn comes.", wn_ctl_job_bulk_opts,
     wn_ctl_job_bulk_help},
    {"update", wn_ctl_job_update, "ID --param K=V...",
     "Set parameters of a pending or blocked job; the others are kept.", wn_ctl_job_update_opts,
     wn_ctl_job_update_help},
    {"wait", wn_ctl_job_wait, "ID... | --sweep ID | --project P [--timeout DURATION]",
     "Wait until the jobs have ended and print how they ended; exit 0 only if all completed.",
     wn_ctl_job_wait_opts, wn_ctl_job_wait_help},
};

const struct wn_ctl_noun wn_ctl_job = {
    "job",
    "Jobs: one run of a task with its parameters.",
    job_verbs,
    WN_ARRAY_LEN(job_verbs),
};
