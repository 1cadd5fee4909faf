/* wnctl job: add, batch, show, list, cancel, retry, remove, priority. */
#include "ctl.h"
#include "json.h"
#include "table.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JOB_METHOD(m) "/whatsnext.v1.JobService/" m

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
};

static const struct option job_add_opts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"param", required_argument, NULL, OPT_PARAM},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_add_help[] = {
    {"--name N", "the job's name (default TASK-ID)"},
    {"--param K=V", "a parameter the task's template substitutes; repeat for more "
                    "(a key given again replaces its value)"},
    {"--priority N", "higher runs first; equal priorities in submission order (default 0)"},
    {NULL, NULL},
};

static const struct option job_batch_opts[] = {
    {"project", required_argument, NULL, OPT_PROJECT},
    {"task", required_argument, NULL, OPT_TASK},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_batch_help[] = {
    {"FILE", "JSON jobs, '-' for stdin: an array of objects or one object per line, each "
             "{\"project\", \"task\", \"name\", \"params\": {K: V}, \"priority\"}"},
    {"--project P", "project of the jobs that name none"},
    {"--task T", "task of the jobs that name none"},
    {NULL, NULL},
};

static const struct option job_list_opts[] = {
    {"project", required_argument, NULL, OPT_PROJECT},
    {"task", required_argument, NULL, OPT_TASK},
    {"status", required_argument, NULL, OPT_STATUS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"after", required_argument, NULL, OPT_AFTER},
    {"all", no_argument, NULL, OPT_ALL},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_list_help[] = {
    {"--project P", "only jobs of this project"},
    {"--task T", "only jobs of this task"},
    {"--status S", "only jobs in this state: pending, running, completed, failed, blocked or "
                   "cancelled"},
    {"--limit N", "jobs per page, at most 10000 (default 100)"},
    {"--after ID", "only jobs with a larger id (the next page)"},
    {"--all", "follow the pages to the end"},
    {NULL, NULL},
};

static const struct option job_cancel_opts[] = {
    {"reason", required_argument, NULL, OPT_REASON},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp job_cancel_help[] = {
    {"--reason T", "why, recorded on the job"},
    {NULL, NULL},
};

static const char *job_status(wn_ctl *c, int status)
{
	return wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, status);
}

/* job_finished tells whether j ran to an end, so its exit code means something. */
static bool job_finished(const Whatsnext__V1__Job *j)
{
	return j->status == WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ||
	       j->status == WHATSNEXT__V1__JOB_STATUS__JOB_FAILED;
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
		wn_ctl_field("waiting", "%s", j->waiting);
	if (pending)
		wn_ctl_field("position", "%lld", (long long)j->position);
	wn_ctl_field("priority", "%d", j->priority);
	wn_ctl_field("attempt", "%u", j->attempt);
	if (j->worker[0] != '\0')
		wn_ctl_field("worker", "%s", j->worker);
	if (job_finished(j))
		wn_ctl_field("exit_code", "%d", j->exit_code);
	if (j->reason[0] != '\0')
		wn_ctl_field("reason", "%s", j->reason);
	if (j->external_id[0] != '\0')
		wn_ctl_field("external_id", "%s", j->external_id);
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
		wn_ctl_field("lost", "%u", j->lost);
	if (j->failures != 0)
		wn_ctl_field("failures", "%u", j->failures);
	if (j->n_params > 0) {
		printf("params:\n");
		for (size_t i = 0; i < j->n_params; i++)
			printf("  %s=%s\n", j->params[i]->key, j->params[i]->value);
	}
	wn_ctl_field_text("output", j->output_tail, JOB_OUTPUT_LINES);
}

/* job_done prints what a command that changed job j did: "job 7: cancelled". */
static void job_done(wn_ctl *c, const Whatsnext__V1__Job *j, const char *what)
{
	if (wn_ctl_json(c))
		wn_ctl_print_message(&j->base);
	else
		printf("job %llu: %s\n", (unsigned long long)j->id,
		       what != NULL ? what : job_status(c, j->status));
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

static int job_add(wn_ctl *c)
{
	Whatsnext__V1__JobSpec spec = WHATSNEXT__V1__JOB_SPEC__INIT;
	struct wn_ctl_kv params = {0};
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_NAME:
			spec.name = optarg;
			break;
		case OPT_PARAM:
			wn_ctl_kv_add(c, &params, "--param", optarg);
			break;
		case OPT_PRIORITY:
			spec.priority = (int32_t)wn_ctl_parse_int(c, "--priority", optarg,
			                                          INT32_MIN, INT32_MAX);
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
	    c, JOB_METHOD("Submit"), &req.base, &whatsnext__v1__submit_response__descriptor, 0);
	if (r->job == NULL)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read the new job: the reply holds none");
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->job->base);
	else
		printf("%llu\n", (unsigned long long)r->job->id);
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- batch */

/* batch_read returns the whole of path ("-": stdin), context-owned. */
static char *batch_read(wn_ctl *c, const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot open %s: %s", path, strerror(errno));
	size_t cap = 65536, n = 0;
	char *buf = wn_xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = wn_xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int err = ferror(f) ? errno : 0;
	if (f != stdin)
		fclose(f);
	char *out = wn_ctl_alloc(c, n + 1);
	memcpy(out, buf, n);
	free(buf);
	if (err != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read %s: %s", path, strerror(err));
	*len = n;
	return out;
}

/* batch_number returns the shortest text that reads back as v. */
static char *batch_number(wn_ctl *c, double v)
{
	char buf[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return wn_ctl_strdup(c, buf);
}

/* batch_spec turns one JSON object into a job spec; where names it in errors. */
static Whatsnext__V1__JobSpec *batch_spec(wn_ctl *c, json_t *o, const char *where,
                                          const char *project, const char *task)
{
	if (!json_is_object(o))
		wn_ctl_usage(c, "%s: a job must be a JSON object", where);
	Whatsnext__V1__JobSpec *s = wn_ctl_alloc(c, sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = project ? (char *)project : "";
	s->task = task ? (char *)task : "";
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "project") == 0 || strcmp(key, "task") == 0 ||
		    strcmp(key, "name") == 0) {
			if (!json_is_string(v))
				wn_ctl_usage(c, "%s: \"%s\" must be a string", where, key);
			char *str = wn_ctl_strdup(c, json_string_value(v));
			if (key[0] == 'p')
				s->project = str;
			else if (key[0] == 't')
				s->task = str;
			else
				s->name = str;
		} else if (strcmp(key, "priority") == 0) {
			json_int_t p = json_integer_value(v);
			if (!json_is_integer(v) || p < INT32_MIN || p > INT32_MAX)
				wn_ctl_usage(c, "%s: \"priority\" must be an integer from %d to %d",
				             where, INT32_MIN, INT32_MAX);
			s->priority = (int32_t)p;
		} else if (strcmp(key, "params") == 0) {
			if (!json_is_object(v))
				wn_ctl_usage(c, "%s: \"params\" must be an object", where);
			size_t n = json_object_size(v);
			s->params = wn_ctl_alloc(c, (n + 1) * sizeof(*s->params));
			const char *pk;
			json_t *pv;
			json_object_foreach(v, pk, pv)
			{
				if (pk[0] == '\0')
					wn_ctl_usage(c, "%s: a parameter has an empty name", where);
				Whatsnext__V1__JobSpec__ParamsEntry *e =
				    wn_ctl_alloc(c, sizeof(*e));
				whatsnext__v1__job_spec__params_entry__init(e);
				e->key = wn_ctl_strdup(c, pk);
				if (json_is_string(pv))
					e->value = wn_ctl_strdup(c, json_string_value(pv));
				else if (json_is_integer(pv))
					e->value = wn_ctl_printf(c, "%" JSON_INTEGER_FORMAT,
					                         json_integer_value(pv));
				else if (json_is_real(pv))
					e->value = batch_number(c, json_real_value(pv));
				else if (json_is_boolean(pv))
					e->value = json_is_true(pv) ? "true" : "false";
				else
					wn_ctl_usage(
					    c,
					    "%s: parameter \"%s\" must be a string, number or "
					    "boolean",
					    where, pk);
				s->params[s->n_params++] = e;
			}
		} else {
			wn_ctl_usage(c, "%s: unknown field \"%s\"", where, key);
		}
	}
	if (s->project[0] == '\0')
		wn_ctl_usage(c, "%s: no \"project\" (give one, or --project)", where);
	if (s->task[0] == '\0')
		wn_ctl_usage(c, "%s: no \"task\" (give one, or --task)", where);
	return s;
}

/* batch_line returns the 1-based line of byte off in buf. */
static int batch_line(const char *buf, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static size_t batch_skip_space(const char *buf, size_t len, size_t off)
{
	while (off < len &&
	       (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
		off++;
	return off;
}

static int job_batch(wn_ctl *c)
{
	const char *project = NULL, *task = NULL;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_PROJECT)
			project = optarg;
		else if (ch == OPT_TASK)
			task = optarg;
	}
	const char *path = wn_ctl_args(c, 1, 1, NULL)[0];
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	size_t len = 0;
	char *buf = batch_read(c, path, &len);

	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	size_t cap = 0;
	json_error_t err;
	size_t off = batch_skip_space(buf, len, 0);
	json_t *array = NULL;
	if (off < len && buf[off] == '[') {
		array = json_loadb(buf + off, len - off, JSON_REJECT_DUPLICATES, &err);
		if (array == NULL)
			wn_ctl_usage(c, "cannot parse %s line %d: %s", name,
			             batch_line(buf, off) + err.line - 1, err.text);
		cap = json_array_size(array);
		req.jobs = wn_ctl_alloc(c, (cap + 1) * sizeof(*req.jobs));
		for (size_t i = 0; i < cap; i++) {
			const char *where = wn_ctl_printf(c, "%s: job %zu", name, i + 1);
			req.jobs[req.n_jobs++] =
			    batch_spec(c, json_array_get(array, i), where, project, task);
		}
		json_decref(array);
	}
	while ((off = batch_skip_space(buf, len, off)) < len && array == NULL) {
		json_t *o = json_loadb(buf + off, len - off,
		                       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
		int line = batch_line(buf, off);
		if (o == NULL)
			wn_ctl_usage(c, "cannot parse %s line %d: %s", name, line + err.line - 1,
			             err.text);
		off += err.position;
		if (req.n_jobs == cap) {
			cap = cap ? cap * 2 : 64;
			Whatsnext__V1__JobSpec **jobs = wn_ctl_alloc(c, cap * sizeof(*jobs));
			if (req.n_jobs > 0)
				memcpy(jobs, req.jobs, req.n_jobs * sizeof(*jobs));
			req.jobs = jobs;
		}
		const char *where = wn_ctl_printf(c, "%s line %d", name, line);
		Whatsnext__V1__JobSpec *s = batch_spec(c, o, where, project, task);
		json_decref(o);
		req.jobs[req.n_jobs++] = s;
	}
	if (req.n_jobs == 0)
		wn_ctl_usage(c, "no jobs in %s", name);

	Whatsnext__V1__SubmitBatchResponse *r =
	    wn_ctl_call(c, JOB_METHOD("SubmitBatch"), &req.base,
	                &whatsnext__v1__submit_batch_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	for (size_t i = 0; i < r->n_ids; i++)
		printf("%llu\n", (unsigned long long)r->ids[i]);
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- show, list */

static Whatsnext__V1__Job *job_get(wn_ctl *c, uint64_t id)
{
	Whatsnext__V1__GetJobRequest req = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	req.id = id;
	return wn_ctl_call(c, JOB_METHOD("Get"), &req.base, &whatsnext__v1__job__descriptor, 0);
}

static int job_show(wn_ctl *c)
{
	uint64_t id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	job_print(c, job_get(c, id));
	return WN_CTL_EXIT_OK;
}

static int job_list(wn_ctl *c)
{
	Whatsnext__V1__ListJobsRequest req = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	bool all = false;
	req.page_size = 100;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_PROJECT:
			req.project = optarg;
			break;
		case OPT_TASK:
			req.task = optarg;
			break;
		case OPT_STATUS:
			req.status = wn_ctl_parse_enum(
			    c, "--status", &whatsnext__v1__job_status__descriptor, optarg);
			break;
		case OPT_LIMIT:
			req.page_size = (int32_t)wn_ctl_parse_int(c, "--limit", optarg, 0, 10000);
			break;
		case OPT_AFTER:
			req.after_id =
			    (uint64_t)wn_ctl_parse_int(c, "--after", optarg, 0, INT64_MAX);
			break;
		case OPT_ALL:
			all = true;
			break;
		}
	}
	wn_ctl_args(c, 0, 0, NULL);

	Whatsnext__V1__ListJobsResponse merged = WHATSNEXT__V1__LIST_JOBS_RESPONSE__INIT;
	size_t cap = 0;
	for (;;) {
		Whatsnext__V1__ListJobsResponse *r =
		    wn_ctl_call(c, JOB_METHOD("List"), &req.base,
		                &whatsnext__v1__list_jobs_response__descriptor, 0);
		if (merged.n_jobs + r->n_jobs > cap) {
			cap = (merged.n_jobs + r->n_jobs) * 2;
			Whatsnext__V1__Job **jobs = wn_ctl_alloc(c, cap * sizeof(*jobs));
			if (merged.n_jobs > 0)
				memcpy(jobs, merged.jobs, merged.n_jobs * sizeof(*jobs));
			merged.jobs = jobs;
		}
		if (r->n_jobs > 0)
			memcpy(merged.jobs + merged.n_jobs, r->jobs, r->n_jobs * sizeof(*r->jobs));
		merged.n_jobs += r->n_jobs;
		merged.next_after_id = r->next_after_id;
		if (!all || r->next_after_id == 0)
			break;
		if (r->next_after_id <= req.after_id)
			wn_ctl_die(c, WN_CTL_EXIT_ERROR,
			           "cannot follow the pages: the server went back to id %llu",
			           (unsigned long long)r->next_after_id);
		req.after_id = r->next_after_id;
	}

	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&merged.base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {
	    "ID", "PROJECT", "TASK", "NAME", ">PRIO", "STATUS", ">ATTEMPT", ">EXIT", "WORKER", NULL,
	};
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < merged.n_jobs; i++) {
		const Whatsnext__V1__Job *j = merged.jobs[i];
		wn_table_add(t, "%llu", (unsigned long long)j->id);
		wn_table_add(t, "%s", j->project);
		wn_table_add(t, "%s", j->task);
		wn_table_add(t, "%s", j->name);
		wn_table_add(t, "%d", j->priority);
		wn_table_add(t, "%s", job_status(c, j->status));
		wn_table_add(t, "%u", j->attempt);
		if (job_finished(j))
			wn_table_add(t, "%d", j->exit_code);
		else
			wn_table_add(t, "-");
		wn_table_add(t, "%s", j->worker[0] ? j->worker : "-");
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	if (merged.next_after_id != 0)
		fprintf(stderr,
		        "wnctl: more jobs follow: add --after %llu for the next page, or --all\n",
		        (unsigned long long)merged.next_after_id);
	return WN_CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- changes */

/* job_id_call sends a JobIdRequest to method and prints the job it returns. */
static int job_id_call(wn_ctl *c, const char *method, const char *reason, const char *what)
{
	Whatsnext__V1__JobIdRequest req = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	if (reason != NULL)
		req.reason = (char *)reason;
	Whatsnext__V1__Job *j =
	    wn_ctl_call(c, method, &req.base, &whatsnext__v1__job__descriptor, 0);
	job_done(c, j, what);
	return WN_CTL_EXIT_OK;
}

static int job_cancel(wn_ctl *c)
{
	const char *reason = NULL;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_REASON)
			reason = optarg;
	return job_id_call(c, JOB_METHOD("Cancel"), reason, NULL);
}

static int job_retry(wn_ctl *c)
{
	return job_id_call(c, JOB_METHOD("Retry"), NULL, NULL);
}

static int job_remove(wn_ctl *c)
{
	return job_id_call(c, JOB_METHOD("Remove"), NULL, "removed");
}

static int job_priority(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 2, 2, NULL);
	Whatsnext__V1__SetPriorityRequest req = WHATSNEXT__V1__SET_PRIORITY_REQUEST__INIT;
	req.id = wn_ctl_parse_id(c, "job id", a[0]);
	req.priority = (int32_t)wn_ctl_parse_int(c, "priority", a[1], INT32_MIN, INT32_MAX);
	Whatsnext__V1__Job *j = wn_ctl_call(c, JOB_METHOD("SetPriority"), &req.base,
	                                    &whatsnext__v1__job__descriptor, 0);
	job_done(c, j, wn_ctl_printf(c, "priority %d", j->priority));
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb job_verbs[] = {
    {"add", job_add, "PROJECT TASK [--name N] [--param K=V]... [--priority N]",
     "Submit a job and print its id.", job_add_opts, job_add_help},
    {"batch", job_batch, "FILE [--project P] [--task T]",
     "Submit many jobs from a JSON file, all or none, and print their ids one per line.",
     job_batch_opts, job_batch_help},
    {"show", job_show, "ID",
     "Show a job: its state, parameters, why it is waiting, its result and output tail.", NULL,
     NULL},
    {"list", job_list, "[--project P] [--task T] [--status S] [--limit N] [--after ID] [--all]",
     "List jobs in id order, a page at a time.", job_list_opts, job_list_help},
    {"cancel", job_cancel, "ID [--reason T]",
     "Cancel a job; a running job's worker is told to stop it.", job_cancel_opts, job_cancel_help},
    {"retry", job_retry, "ID", "Queue a failed, cancelled or blocked job again.", NULL, NULL},
    {"remove", job_remove, "ID", "Delete a job that is not running.", NULL, NULL},
    {"priority", job_priority, "ID N", "Set a job's priority; higher runs first.", NULL, NULL},
};

const struct wn_ctl_noun wn_ctl_job = {
    "job",
    "Jobs: one run of a task with its parameters.",
    job_verbs,
    WN_ARRAY_LEN(job_verbs),
};
