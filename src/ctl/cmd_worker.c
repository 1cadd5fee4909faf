/* wnctl worker: list, show, drain, resume, remove. The fleet of workers that joined the server. */
#include "ctl.h"
#include "methods.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#include <string.h>

enum { OPT_STATE = 1, OPT_ALL };

static const struct option worker_list_opts[] = {
    {"state", required_argument, NULL, OPT_STATE},
    {"all", no_argument, NULL, OPT_ALL},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp worker_list_help[] = {
    {"--state S", "only workers in this state: active, lost or gone"},
    {"--all", "GONE workers too (hidden by default)"},
    {NULL, NULL},
};

/* worker_state is a worker's state as people read it: active, draining,
 * lost or gone. */
static const char *worker_state(wn_ctl *c, const Whatsnext__V1__Worker *w)
{
	if (w->state == WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE && w->draining)
		return "draining";
	return wn_ctl_enum(c, &whatsnext__v1__worker_state__descriptor, w->state);
}

/* worker_join returns the n strings of v separated by sep (context-owned), built once: a
 * worker serves up to 1024 projects and 1024 tasks, which a copy for each one added held
 * 1024 times. */
static const char *worker_join(wn_ctl *c, char *const *v, size_t n, const char *sep)
{
	wn_strbuf sb = WN_STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			wn_strbuf_adds(&sb, sep);
		wn_strbuf_adds(&sb, v[i]);
	}
	const char *s = wn_ctl_strdup(c, wn_strbuf_str(&sb));
	wn_strbuf_free(&sb);
	return s;
}

/* worker_gpus is the device ids of w, comma-separated ("-" for none). */
static const char *worker_gpus(wn_ctl *c, const Whatsnext__V1__Worker *w)
{
	const Whatsnext__V1__Capacity *cap = w->capacity;
	if (cap == NULL || cap->n_gpus == 0)
		return "-";
	return worker_join(c, cap->gpus, cap->n_gpus, ",");
}

static void worker_print(wn_ctl *c, const Whatsnext__V1__Worker *w)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&w->base);
		return;
	}
	const Whatsnext__V1__Capacity *cap = w->capacity;
	const Whatsnext__V1__Resources *u = w->used;
	wn_ctl_field("name", "%s", w->name);
	wn_ctl_field("state", "%s", worker_state(c, w));
	wn_ctl_field("host", "%s", w->host);
	wn_ctl_field("version", "%s", w->version);
	wn_ctl_field("projects", "%s", worker_join(c, w->projects, w->n_projects, ", "));
	wn_ctl_field("tasks", "%s",
	             w->n_tasks == 0 ? "any" : worker_join(c, w->tasks, w->n_tasks, ", "));
	wn_ctl_field("slots", "%u", w->slots);
	wn_ctl_field("cpu", "%u", cap ? cap->cpu : 0);
	wn_ctl_field("gpus", "%s", worker_gpus(c, w));
	wn_ctl_field("memory", "%llu MB", cap ? (unsigned long long)cap->memory_mb : 0ULL);
	if (cap != NULL && cap->n_labels > 0) {
		printf("labels:\n");
		for (size_t i = 0; i < cap->n_labels; i++)
			printf("  %s=%s\n", wn_ctl_line(c, cap->labels[i]->key),
			       wn_ctl_line(c, cap->labels[i]->value));
	}
	wn_ctl_field("used", "%u cpu, %u gpu, %llu MB", u ? u->cpu : 0, u ? u->gpu : 0,
	             u ? (unsigned long long)u->memory_mb : 0ULL);
	wn_strbuf jobs = WN_STRBUF_INIT;
	for (size_t i = 0; i < w->n_jobs; i++)
		wn_strbuf_addf(&jobs, "%s%llu", i ? " " : "", (unsigned long long)w->jobs[i]);
	wn_ctl_field("jobs", "%s", w->n_jobs ? wn_strbuf_str(&jobs) : "-");
	wn_strbuf_free(&jobs);
	wn_ctl_field("registered", "%s", wn_ctl_time(c, w->registered_ms));
	wn_ctl_field("last_seen", "%s", wn_ctl_time(c, w->last_seen_ms));
	wn_ctl_field("instance", "%s", w->instance[0] ? w->instance : "-");
}

static int worker_list(wn_ctl *c)
{
	Whatsnext__V1__ListWorkersRequest req = WHATSNEXT__V1__LIST_WORKERS_REQUEST__INIT;
	bool all = false;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_STATE)
			req.state = wn_ctl_parse_enum(
			    c, "--state", &whatsnext__v1__worker_state__descriptor, optarg);
		else if (ch == OPT_ALL)
			all = true;
	}
	wn_ctl_args(c, 0, 0, NULL);
	Whatsnext__V1__ListWorkersResponse *r =
	    wn_ctl_call(c, WN_PATH_WORKER_LIST, &req.base,
	                &whatsnext__v1__list_workers_response__descriptor, 0);
	if (!all && req.state == WHATSNEXT__V1__WORKER_STATE__WORKER_STATE_UNSPECIFIED) {
		/* workers that left stay known to the server; by default, list the others */
		size_t n = 0;
		for (size_t i = 0; i < r->n_workers; i++)
			if (r->workers[i]->state != WHATSNEXT__V1__WORKER_STATE__WORKER_GONE)
				r->workers[n++] = r->workers[i];
			else
				protobuf_c_message_free_unpacked(&r->workers[i]->base, NULL);
		r->n_workers = n;
	}
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {"NAME", "STATE", "HOST",  ">CPU",      ">GPU",
	                                   ">MEM", "USED",  ">JOBS", "LAST-SEEN", NULL};
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < r->n_workers; i++) {
		const Whatsnext__V1__Worker *w = r->workers[i];
		const Whatsnext__V1__Capacity *cap = w->capacity;
		const Whatsnext__V1__Resources *u = w->used;
		wn_table_add(t, "%s", w->name);
		wn_table_add(t, "%s", worker_state(c, w));
		wn_table_add(t, "%s", w->host);
		wn_table_add(t, "%u", cap ? cap->cpu : 0);
		wn_table_add(t, "%zu", cap ? cap->n_gpus : 0);
		wn_table_add(t, "%lluM", cap ? (unsigned long long)cap->memory_mb : 0ULL);
		wn_table_add(t, "%u/%u/%lluM", u ? u->cpu : 0, u ? u->gpu : 0,
		             u ? (unsigned long long)u->memory_mb : 0ULL);
		wn_table_add(t, "%zu", w->n_jobs);
		wn_table_add(t, "%s", wn_ctl_time(c, w->last_seen_ms));
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	return WN_CTL_EXIT_OK;
}

/* worker_call calls path (a WorkerService method that takes a worker's
 * name) with the name argument, and returns the worker it answers. */
static Whatsnext__V1__Worker *worker_call(wn_ctl *c, const char *path)
{
	Whatsnext__V1__WorkerNameRequest req = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	return wn_ctl_call(c, path, &req.base, &whatsnext__v1__worker__descriptor, 0);
}

static int worker_show(wn_ctl *c)
{
	Whatsnext__V1__Worker *w = worker_call(c, WN_PATH_WORKER_GET);
	worker_print(c, w);
	return WN_CTL_EXIT_OK;
}

static int worker_drain(wn_ctl *c)
{
	Whatsnext__V1__Worker *w = worker_call(c, WN_PATH_WORKER_DRAIN);
	if (wn_ctl_json(c))
		worker_print(c, w);
	else
		printf("worker %s: draining (%zu job%s held)\n", w->name, w->n_jobs,
		       w->n_jobs == 1 ? "" : "s");
	return WN_CTL_EXIT_OK;
}

static int worker_resume(wn_ctl *c)
{
	Whatsnext__V1__Worker *w = worker_call(c, WN_PATH_WORKER_RESUME);
	if (wn_ctl_json(c))
		worker_print(c, w);
	else if (w->state == WHATSNEXT__V1__WORKER_STATE__WORKER_LOST)
		printf("worker %s: lost, no longer draining: it takes new jobs once it heartbeats "
		       "again (%zu job%s held)\n",
		       w->name, w->n_jobs, w->n_jobs == 1 ? "" : "s");
	else
		printf("worker %s: %s, taking new jobs (%zu job%s held)\n", w->name,
		       worker_state(c, w), w->n_jobs, w->n_jobs == 1 ? "" : "s");
	return WN_CTL_EXIT_OK;
}

static int worker_remove(wn_ctl *c)
{
	Whatsnext__V1__Worker *w = worker_call(c, WN_PATH_WORKER_REMOVE);
	if (wn_ctl_json(c))
		worker_print(c, w);
	else
		printf("worker %s: removed\n", w->name);
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb worker_verbs[] = {
    {"list", worker_list, "[--state active|lost|gone] [--all]",
     "List the workers that joined, but those that left (GONE): state, what they offer and "
     "use, jobs held, last seen.",
     worker_list_opts, worker_list_help},
    {"show", worker_show, "NAME", "Show a worker: capacity, labels, projects, jobs held.", NULL,
     NULL},
    {"drain", worker_drain, "NAME",
     "Tell a worker to take no new jobs and to exit once its running jobs end.", NULL, NULL},
    {"resume", worker_resume, "NAME",
     "End a drain: the worker takes new jobs again (a worker that left is started again "
     "instead).",
     NULL, NULL},
    {"remove", worker_remove, "NAME",
     "Forget a worker that left (GONE) or was lost (LOST) and holds no job; the name is free.",
     NULL, NULL},
};

const struct wn_ctl_noun wn_ctl_worker = {
    "worker",
    "Workers: the fleet that runs jobs; ACTIVE while they heartbeat, LOST when they stop, "
    "GONE once they leave.",
    worker_verbs,
    WN_ARRAY_LEN(worker_verbs),
};
