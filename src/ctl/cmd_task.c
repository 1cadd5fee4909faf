/* wnctl task: create, show, list, update, delete. */
#include "ctl.h"
#include "methods.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#include <string.h>

enum {
	OPT_DESCRIPTION = 1,
	OPT_CPU,
	OPT_GPU,
	OPT_MEMORY,
	OPT_LABEL,
	OPT_CLEAR_LABELS,
	OPT_MAX_ATTEMPTS,
	OPT_RETRIES,
	OPT_TIMEOUT,
	OPT_FORCE,
};

#define TASK_OPTS                                                                                  \
	{"description", required_argument, NULL, OPT_DESCRIPTION},                                 \
	    {"cpu", required_argument, NULL, OPT_CPU}, {"gpu", required_argument, NULL, OPT_GPU},  \
	    {"memory", required_argument, NULL, OPT_MEMORY},                                       \
	    {"label", required_argument, NULL, OPT_LABEL},                                         \
	    {"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},                           \
	    {"retries", required_argument, NULL, OPT_RETRIES},                                     \
	{                                                                                          \
		"timeout", required_argument, NULL, OPT_TIMEOUT                                    \
	}

static const struct option task_create_opts[] = {
    TASK_OPTS,
    {NULL, 0, NULL, 0},
};

static const struct option task_update_opts[] = {
    TASK_OPTS,
    {"clear-labels", no_argument, NULL, OPT_CLEAR_LABELS},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp task_create_help[] = {
    {"--description T", "what the task does"},
    {"--cpu N", "cores one job needs"},
    {"--gpu N", "GPU devices one job needs"},
    {"--memory SIZE", "memory one job needs: MB, or with a suffix M, G or T (4G)"},
    {"--label K=V", "a label a worker must have; repeat for more"},
    {"--max-attempts N", "hand-outs whose lease may be lost before a job fails (default 3)"},
    {"--retries N", "times a job whose command failed is queued again (default 0)"},
    {"--timeout SECONDS", "wall-clock limit of each run (default 0: none)"},
    {NULL, NULL},
};

static const struct wn_ctl_opthelp task_update_help[] = {
    {"--description T", "what the task does"},
    {"--cpu N", "cores one job needs"},
    {"--gpu N", "GPU devices one job needs"},
    {"--memory SIZE", "memory one job needs: MB, or with a suffix M, G or T (4G)"},
    {"--label K=V", "a label a worker must have; repeat for more; the labels given "
                    "replace the task's labels"},
    {"--clear-labels", "remove every label (with --label: keep only those given)"},
    {"--max-attempts N", "hand-outs whose lease may be lost before a job fails"},
    {"--retries N", "times a job whose command failed is queued again"},
    {"--timeout SECONDS", "wall-clock limit of each run (0: none)"},
    {NULL, NULL},
};

static const struct option task_delete_opts[] = {
    {"force", no_argument, NULL, OPT_FORCE},
    WN_CTL_YES_OPT,
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp task_delete_help[] = {
    {"--force", "delete even while jobs of the task are running"},
    WN_CTL_YES_HELP,
    {NULL, NULL},
};

/* What the task options of create and update gave. */
struct task_args {
	const char *description;
	bool has_description;
	int64_t cpu, gpu, max_attempts, retries, timeout;
	uint64_t memory;
	bool has_cpu, has_gpu, has_memory, has_max_attempts, has_retries, has_timeout;
	bool has_labels;
	struct wn_ctl_kv labels;
};

static void task_parse_opts(wn_ctl *c, struct task_args *ta)
{
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		switch (ch) {
		case OPT_DESCRIPTION:
			ta->description = optarg;
			ta->has_description = true;
			break;
		case OPT_CPU:
			ta->cpu = wn_ctl_parse_int(c, "--cpu", optarg, 0, UINT32_MAX);
			ta->has_cpu = true;
			break;
		case OPT_GPU:
			ta->gpu = wn_ctl_parse_int(c, "--gpu", optarg, 0, UINT32_MAX);
			ta->has_gpu = true;
			break;
		case OPT_MEMORY:
			ta->memory = wn_ctl_parse_mb(c, "--memory", optarg);
			ta->has_memory = true;
			break;
		case OPT_LABEL:
			wn_ctl_kv_add(c, &ta->labels, "--label", optarg);
			ta->has_labels = true;
			break;
		case OPT_CLEAR_LABELS:
			ta->has_labels = true;
			break;
		case OPT_MAX_ATTEMPTS:
			ta->max_attempts =
			    wn_ctl_parse_int(c, "--max-attempts", optarg, 1, UINT32_MAX);
			ta->has_max_attempts = true;
			break;
		case OPT_RETRIES:
			ta->retries = wn_ctl_parse_int(c, "--retries", optarg, 0, UINT32_MAX);
			ta->has_retries = true;
			break;
		case OPT_TIMEOUT:
			ta->timeout = wn_ctl_parse_int(c, "--timeout", optarg, 0, UINT32_MAX);
			ta->has_timeout = true;
			break;
		}
	}
}

/* task_resources returns context-owned resources: base (may be NULL) with the
 * resource options in ta applied. */
static Whatsnext__V1__Resources *task_resources(wn_ctl *c, const Whatsnext__V1__Resources *base,
                                                const struct task_args *ta)
{
	Whatsnext__V1__Resources *r = wn_ctl_alloc(c, sizeof(*r));
	whatsnext__v1__resources__init(r);
	if (base != NULL) {
		r->cpu = base->cpu;
		r->gpu = base->gpu;
		r->memory_mb = base->memory_mb;
		r->n_labels = base->n_labels;
		r->labels = base->labels;
	}
	if (ta->has_cpu)
		r->cpu = (uint32_t)ta->cpu;
	if (ta->has_gpu)
		r->gpu = (uint32_t)ta->gpu;
	if (ta->has_memory)
		r->memory_mb = ta->memory;
	if (ta->has_labels) {
		r->n_labels = ta->labels.n;
		r->labels = wn_ctl_alloc(c, (ta->labels.n + 1) * sizeof(*r->labels));
		for (size_t i = 0; i < ta->labels.n; i++) {
			Whatsnext__V1__Resources__LabelsEntry *e = wn_ctl_alloc(c, sizeof(*e));
			whatsnext__v1__resources__labels_entry__init(e);
			e->key = ta->labels.keys[i];
			e->value = ta->labels.values[i];
			r->labels[i] = e;
		}
	}
	return r;
}

/* task_labels returns "k=v,k=v" for the task's labels, "-" when none. */
static const char *task_labels(wn_ctl *c, const Whatsnext__V1__Resources *r)
{
	if (r == NULL || r->n_labels == 0)
		return "-";
	/* built once, not copied again for each label: a task may have thousands */
	wn_strbuf sb = WN_STRBUF_INIT;
	for (size_t i = 0; i < r->n_labels; i++)
		wn_strbuf_addf(&sb, "%s%s=%s", i ? "," : "", r->labels[i]->key,
		               r->labels[i]->value);
	const char *s = wn_ctl_strdup(c, wn_strbuf_str(&sb));
	wn_strbuf_free(&sb);
	return s;
}

static void task_print(wn_ctl *c, const Whatsnext__V1__Task *t)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&t->base);
		return;
	}
	const Whatsnext__V1__Resources *r = t->resources;
	wn_ctl_field("project", "%s", t->project);
	wn_ctl_field("name", "%s", t->name);
	wn_ctl_field("description", "%s", t->description);
	wn_ctl_field("cpu", "%u", r ? r->cpu : 0);
	wn_ctl_field("gpu", "%u", r ? r->gpu : 0);
	wn_ctl_field("memory", "%llu MB", r ? (unsigned long long)r->memory_mb : 0ULL);
	if (r != NULL && r->n_labels > 0) {
		printf("labels:\n");
		for (size_t i = 0; i < r->n_labels; i++)
			printf("  %s=%s\n", wn_ctl_line(c, r->labels[i]->key),
			       wn_ctl_line(c, r->labels[i]->value));
	}
	wn_ctl_field("max_attempts", "%u", t->max_attempts);
	wn_ctl_field("retries", "%u", t->retries);
	if (t->timeout_s)
		wn_ctl_field("timeout", "%u s", t->timeout_s);
	else
		wn_ctl_field("timeout", "none");
	wn_ctl_field("created", "%s", wn_ctl_time(c, t->created_ms));
	wn_ctl_field("updated", "%s", wn_ctl_time(c, t->updated_ms));
}

static int task_create(wn_ctl *c)
{
	struct task_args ta = {0};
	task_parse_opts(c, &ta);
	char **a = wn_ctl_args(c, 2, 2, NULL);
	Whatsnext__V1__Task task = WHATSNEXT__V1__TASK__INIT;
	task.project = a[0];
	task.name = a[1];
	if (ta.has_description)
		task.description = (char *)ta.description;
	task.resources = task_resources(c, NULL, &ta);
	task.max_attempts = (uint32_t)ta.max_attempts;
	task.retries = (uint32_t)ta.retries;
	task.timeout_s = (uint32_t)ta.timeout;
	Whatsnext__V1__CreateTaskRequest req = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	req.task = &task;
	Whatsnext__V1__Task *t =
	    wn_ctl_call(c, WN_PATH_TASK_CREATE, &req.base, &whatsnext__v1__task__descriptor, 0);
	if (wn_ctl_json(c))
		task_print(c, t);
	else
		printf("created task %s/%s\n", t->project, t->name);
	return WN_CTL_EXIT_OK;
}

static Whatsnext__V1__Task *task_get(wn_ctl *c, char *project, char *name)
{
	Whatsnext__V1__GetTaskRequest req = WHATSNEXT__V1__GET_TASK_REQUEST__INIT;
	req.project = project;
	req.name = name;
	return wn_ctl_call(c, WN_PATH_TASK_GET, &req.base, &whatsnext__v1__task__descriptor, 0);
}

static int task_show(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 2, 2, NULL);
	task_print(c, task_get(c, a[0], a[1]));
	return WN_CTL_EXIT_OK;
}

static int task_list(wn_ctl *c)
{
	Whatsnext__V1__ListTasksRequest req = WHATSNEXT__V1__LIST_TASKS_REQUEST__INIT;
	req.project = wn_ctl_args(c, 1, 1, NULL)[0];
	Whatsnext__V1__ListTasksResponse *r = wn_ctl_call(
	    c, WN_PATH_TASK_LIST, &req.base, &whatsnext__v1__list_tasks_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {
	    "NAME",     ">CPU",     ">GPU",   ">MEMORY",     ">ATTEMPTS",
	    ">RETRIES", ">TIMEOUT", "LABELS", "DESCRIPTION", NULL,
	};
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < r->n_tasks; i++) {
		const Whatsnext__V1__Task *k = r->tasks[i];
		const Whatsnext__V1__Resources *res = k->resources;
		wn_table_add(t, "%s", k->name);
		wn_table_add(t, "%u", res ? res->cpu : 0);
		wn_table_add(t, "%u", res ? res->gpu : 0);
		if (res != NULL && res->memory_mb > 0)
			wn_table_add(t, "%lluM", (unsigned long long)res->memory_mb);
		else
			wn_table_add(t, "-");
		wn_table_add(t, "%u", k->max_attempts);
		wn_table_add(t, "%u", k->retries);
		if (k->timeout_s)
			wn_table_add(t, "%us", k->timeout_s);
		else
			wn_table_add(t, "-");
		wn_table_add(t, "%s", task_labels(c, res));
		wn_table_add(t, "%s", k->description);
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	return WN_CTL_EXIT_OK;
}

static int task_update(wn_ctl *c)
{
	struct task_args ta = {0};
	task_parse_opts(c, &ta);
	char **a = wn_ctl_args(c, 2, 2, NULL);
	Whatsnext__V1__Task task = WHATSNEXT__V1__TASK__INIT;
	task.project = a[0];
	task.name = a[1];
	char *mask[5];
	size_t nmask = 0;
	if (ta.has_description) {
		task.description = (char *)ta.description;
		mask[nmask++] = "description";
	}
	if (ta.has_cpu || ta.has_gpu || ta.has_memory || ta.has_labels) {
		/* The mask replaces the resources as a whole: keep what was not given. */
		Whatsnext__V1__Task *cur = task_get(c, a[0], a[1]);
		task.resources = task_resources(c, cur->resources, &ta);
		mask[nmask++] = "resources";
	}
	if (ta.has_max_attempts) {
		task.max_attempts = (uint32_t)ta.max_attempts;
		mask[nmask++] = "max_attempts";
	}
	if (ta.has_retries) {
		task.retries = (uint32_t)ta.retries;
		mask[nmask++] = "retries";
	}
	if (ta.has_timeout) {
		task.timeout_s = (uint32_t)ta.timeout;
		mask[nmask++] = "timeout_s";
	}
	if (nmask == 0)
		wn_ctl_usage(c, "nothing to update: give at least one option");
	Whatsnext__V1__UpdateTaskRequest req = WHATSNEXT__V1__UPDATE_TASK_REQUEST__INIT;
	req.task = &task;
	req.n_update_mask = nmask;
	req.update_mask = mask;
	task_print(
	    c, wn_ctl_call(c, WN_PATH_TASK_UPDATE, &req.base, &whatsnext__v1__task__descriptor, 0));
	return WN_CTL_EXIT_OK;
}

static int task_delete(wn_ctl *c)
{
	Whatsnext__V1__DeleteTaskRequest req = WHATSNEXT__V1__DELETE_TASK_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_FORCE)
			req.force = 1;
	char **a = wn_ctl_args(c, 2, 2, NULL);
	req.project = a[0];
	req.name = a[1];
	wn_ctl_confirm(c, "delete task %s/%s with all its jobs", req.project, req.name);
	Whatsnext__V1__DeleteTaskResponse *r = wn_ctl_call(
	    c, WN_PATH_TASK_DELETE, &req.base, &whatsnext__v1__delete_task_response__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->base);
	else
		printf("deleted task %s/%s (%s removed)\n", req.project, req.name,
		       wn_ctl_count(c, r->jobs_removed, "job", NULL));
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb task_verbs[] = {
    {"create", task_create,
     "PROJECT NAME [--description T] [--cpu N] [--gpu N] [--memory SIZE] [--label K=V]... "
     "[--max-attempts N] [--retries N] [--timeout SECONDS]",
     "Create a task: what its jobs run and need.", task_create_opts, task_create_help},
    {"show", task_show, "PROJECT NAME", "Show a task.", NULL, NULL},
    {"list", task_list, "PROJECT", "List the tasks of a project.", NULL, NULL},
    {"update", task_update,
     "PROJECT NAME [--description T] [--cpu N] [--gpu N] [--memory SIZE] [--label K=V]... "
     "[--clear-labels] [--max-attempts N] [--retries N] [--timeout SECONDS]",
     "Change a task; only the options given change.", task_update_opts, task_update_help},
    {"delete", task_delete, "PROJECT NAME [--force] [--yes]",
     "Delete a task and its jobs; refused while its jobs run unless --force; asks first on a "
     "terminal unless --yes.",
     task_delete_opts, task_delete_help},
};

const struct wn_ctl_noun wn_ctl_task = {
    "task",
    "Tasks: what a project's jobs run, with the resources they need and their retry limits.",
    task_verbs,
    WN_ARRAY_LEN(task_verbs),
};
