#include "fmt.h"

#include "artifact_find.h"
#include "err.h"
#include "fmt_cli.h"
#include "fmt_runai.h"
#include "fmt_slurm.h"
#include "proc.h"
#include "proc_stray.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The formatters, by name. */
static const wn_fmt_ops *const fmt_table[] = {
    &wn_fmt_cli_ops,
    &wn_fmt_slurm_ops,
    &wn_fmt_runai_ops,
};

struct wn_fmt {
	const wn_fmt_ops *ops;
	void *conf;
	wn_artifacts_conf *arts; /* the task's `artifacts:`, NULL if none */
};

struct wn_fmt_run {
	const wn_fmt_ops *ops;
	void *run;
	char **arts; /* the artifact globs rendered for the job */
	size_t narts;
};

const char *wn_fmt_names(void)
{
	static char names[256];
	if (names[0] == '\0') {
		size_t len = 0;
		for (size_t i = 0; i < WN_ARRAY_LEN(fmt_table) && len < sizeof(names); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
			                        i ? ", " : "", fmt_table[i]->name);
	}
	return names;
}

int wn_fmt_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                wn_fmt **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	if (task == NULL || task->kind != WN_CONF_MAP) {
		*errmsg = wn_conf_error(doc, task, "expected a mapping for the task, got %s",
		                        task ? wn_conf_kind_name(task->kind) : "nothing");
		return WN_EINVAL;
	}
	const char *name = "cli";
	const wn_conf_node *fn = wn_conf_get(task, "formatter");
	if (!wn_conf_is_null(fn)) {
		if (fn->kind != WN_CONF_SCALAR) {
			*errmsg =
			    wn_conf_error(doc, fn, "expected a string for 'formatter', got %s",
			                  wn_conf_kind_name(fn->kind));
			return WN_EINVAL;
		}
		name = fn->str;
	}
	const wn_fmt_ops *ops = NULL;
	for (size_t i = 0; i < WN_ARRAY_LEN(fmt_table); i++)
		if (strcmp(fmt_table[i]->name, name) == 0)
			ops = fmt_table[i];
	if (ops == NULL) {
		*errmsg = wn_conf_error(doc, fn, "unknown formatter '%s' (known: %s)", name,
		                        wn_fmt_names());
		return WN_EINVAL;
	}
	void *conf = NULL;
	int rc = ops->load(doc, task, env, &conf, errmsg);
	if (rc != WN_OK)
		return rc;
	wn_artifacts_conf *arts = NULL;
	if ((rc = wn_artifacts_conf_load(doc, wn_conf_get(task, "artifacts"), &arts, errmsg)) !=
	    WN_OK) {
		ops->unload(conf);
		return rc;
	}
	wn_fmt *f = wn_xcalloc(1, sizeof(*f));
	f->ops = ops;
	f->conf = conf;
	f->arts = arts;
	*out = f;
	return WN_OK;
}

void wn_fmt_free(wn_fmt *f)
{
	if (f == NULL)
		return;
	f->ops->unload(f->conf);
	wn_artifacts_conf_free(f->arts);
	free(f);
}

const char *wn_fmt_name(const wn_fmt *f)
{
	return f->ops->name;
}

/* fmt_executable tells whether path is a file (not a directory) that may
 * be executed, as the run's start wants it. */
static bool fmt_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && access(path, X_OK) == 0;
}

/* fmt_program_found tells whether prog (a name or a path) is an executable
 * file, a name looked up on PATH. */
static bool fmt_program_found(const char *prog)
{
	if (prog[0] == '\0')
		return false;
	if (strchr(prog, '/') != NULL)
		return fmt_executable(prog);
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/bin:/bin";
	for (const char *p = path;;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *full = wn_xasprintf("%.*s/%s", (int)n, n ? p : ".", prog);
		bool ok = fmt_executable(full);
		free(full);
		if (ok)
			return true;
		if (e == NULL)
			return false;
		p = e + 1;
	}
}

int wn_fmt_programs_check(const wn_fmt *f, char **errmsg)
{
	for (size_t i = 0; f->ops->program != NULL; i++) {
		const char *prog = f->ops->program(f->conf, i);
		if (prog == NULL)
			return WN_OK;
		/* a program named by a placeholder is known only per job */
		if (strchr(prog, '{') != NULL || fmt_program_found(prog))
			continue;
		*errmsg = wn_xasprintf(strchr(prog, '/') ? "program %s is not an executable file"
		                                         : "program %s is not on PATH",
		                       prog);
		return WN_ENOTFOUND;
	}
	return WN_OK;
}

/* fmt_render_artifacts renders the task's artifact globs for job into r; a
 * missing parameter fails with *reason. */
static int fmt_render_artifacts(const wn_fmt *f, const wn_fmt_job *job, wn_fmt_run *r,
                                char **reason)
{
	if (f->arts == NULL || f->arts->paths.n == 0)
		return WN_OK;
	size_t n = f->arts->paths.n;
	char **v = wn_xcalloc(n, sizeof(*v));
	char *why = NULL;
	if (wn_fmt_expand(job, (const char *const *)f->arts->paths.v, n, v, &why) != WN_OK) {
		*reason = wn_xasprintf("artifacts: %s", why);
		free(why);
		free(v);
		return WN_EINVAL;
	}
	r->arts = v;
	r->narts = n;
	return WN_OK;
}

const struct wn_artifacts_conf *wn_fmt_artifacts(const wn_fmt *f)
{
	return f->arts;
}

char *const *wn_fmt_run_artifacts(const wn_fmt_run *r, size_t *n)
{
	*n = r->narts;
	return r->arts;
}

const char *wn_fmt_workdir(wn_fmt_run *r)
{
	if (r->ops->workdir == NULL)
		return NULL;
	const char *d = r->ops->workdir(r->run);
	return d ? d : "";
}

int wn_fmt_prepare(const wn_fmt *f, const wn_fmt_job *job, wn_fmt_run **out, char **reason)
{
	*out = NULL;
	*reason = NULL;
	void *run = NULL;
	int rc = f->ops->prepare(f->conf, job, &run, reason);
	if (rc != WN_OK)
		return rc;
	wn_fmt_run *r = wn_xcalloc(1, sizeof(*r));
	r->ops = f->ops;
	r->run = run;
	if ((rc = fmt_render_artifacts(f, job, r, reason)) != WN_OK) {
		wn_fmt_run_free(r);
		return rc;
	}
	*out = r;
	return WN_OK;
}

bool wn_fmt_can_resume(const wn_fmt *f)
{
	return f->ops->resume != NULL;
}

int wn_fmt_resume(const wn_fmt *f, const wn_fmt_job *job, const char *external_id, wn_fmt_run **out,
                  char **reason)
{
	*out = NULL;
	*reason = NULL;
	if (f->ops->resume == NULL) {
		*reason = wn_xasprintf("a %s run does not outlive the worker", f->ops->name);
		return WN_EUNIMPL;
	}
	void *run = NULL;
	int rc = f->ops->resume(f->conf, job, external_id ? external_id : "", &run, reason);
	if (rc != WN_OK)
		return rc;
	wn_fmt_run *r = wn_xcalloc(1, sizeof(*r));
	r->ops = f->ops;
	r->run = run;
	char *why = NULL;
	if (fmt_render_artifacts(f, job, r, &why) != WN_OK)
		free(why); /* prepare said so before the restart; nothing to look for */
	*out = r;
	return WN_OK;
}

int wn_fmt_start_exit(int rc)
{
	return rc == WN_ENOTFOUND ? 127 : rc == WN_EPERM ? 126 : -1;
}

int wn_fmt_start(wn_fmt_run *r, int wake_fd, char **reason)
{
	*reason = NULL;
	return r->ops->start(r->run, wake_fd, reason);
}

const char *wn_fmt_external_id(wn_fmt_run *r)
{
	return r->ops->external_id ? r->ops->external_id(r->run) : NULL;
}

const char *wn_fmt_output_path(wn_fmt_run *r)
{
	return r->ops->output_path ? r->ops->output_path(r->run) : NULL;
}

const char *wn_fmt_results_path(wn_fmt_run *r)
{
	return r->ops->results_path ? r->ops->results_path(r->run) : NULL;
}

/* ---------------------------------------------------------------- groups */

struct wn_fmt_group {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	const wn_fmt_ops *ops;
	uint32_t max_running;
	size_t expect;     /* members that have neither come nor left */
	size_t refs;       /* members that have not dropped their reference */
	size_t n;          /* members that came */
	wn_fmt_run **runs; /* theirs, in arrival order */
	int *rcs;
	char **reasons;
	bool started;
};

bool wn_fmt_can_group(const wn_fmt *f)
{
	return f->ops->start_group != NULL;
}

wn_fmt_group *wn_fmt_group_new(const wn_fmt *f, size_t n, uint32_t max_running)
{
	wn_fmt_group *g = wn_xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->ops = f->ops;
	g->max_running = max_running;
	g->expect = n;
	g->refs = n;
	g->runs = wn_xcalloc(n ? n : 1, sizeof(*g->runs));
	g->rcs = wn_xcalloc(n ? n : 1, sizeof(*g->rcs));
	g->reasons = wn_xcalloc(n ? n : 1, sizeof(*g->reasons));
	return g;
}

/* fmt_group_launch starts the members that came (lock not held); a wait
 * of the start is given up once wake_fd, the last member's, is readable. */
static void fmt_group_launch(wn_fmt_group *g, int wake_fd)
{
	if (g->n == 0)
		return;
	void **runs = wn_xcalloc(g->n, sizeof(*runs));
	for (size_t i = 0; i < g->n; i++)
		runs[i] = g->runs[i]->run;
	if (g->ops->start_group != NULL && g->n > 1) {
		g->ops->start_group(runs, g->n, g->max_running, wake_fd, g->rcs, g->reasons);
	} else {
		for (size_t i = 0; i < g->n; i++) {
			g->reasons[i] = NULL;
			g->rcs[i] = g->ops->start(runs[i], wake_fd, &g->reasons[i]);
		}
	}
	free(runs);
}

/* fmt_param_of returns the parameter a placeholder name names ({param.lr}
 * and {lr} both name lr). */
static const char *fmt_param_of(const char *name)
{
	return strncmp(name, "param.", 6) == 0 ? name + 6 : name;
}

/* fmt_group_arrive records one member coming (r) or leaving (NULL) and
 * starts the group when it is the last; returns r's index, or -1. */
static ssize_t fmt_group_arrive(wn_fmt_group *g, wn_fmt_run *r, int wake_fd)
{
	pthread_mutex_lock(&g->mu);
	ssize_t me = -1;
	if (r != NULL) {
		me = (ssize_t)g->n;
		g->runs[g->n++] = r;
	}
	if (g->expect > 0)
		g->expect--;
	if (g->expect == 0 && !g->started) {
		pthread_mutex_unlock(&g->mu);
		fmt_group_launch(g, wake_fd); /* nobody else touches the arrays now */
		pthread_mutex_lock(&g->mu);
		g->started = true;
		pthread_cond_broadcast(&g->cond);
	}
	while (r != NULL && !g->started)
		pthread_cond_wait(&g->cond, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return me;
}

int wn_fmt_group_start(wn_fmt_group *g, wn_fmt_run *r, int wake_fd, char **reason)
{
	*reason = NULL;
	ssize_t me = fmt_group_arrive(g, r, wake_fd);
	pthread_mutex_lock(&g->mu);
	int rc = g->rcs[me];
	*reason = g->reasons[me];
	g->reasons[me] = NULL;
	pthread_mutex_unlock(&g->mu);
	return rc;
}

void wn_fmt_group_leave(wn_fmt_group *g)
{
	fmt_group_arrive(g, NULL, -1);
}

void wn_fmt_group_unref(wn_fmt_group *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	bool last = --g->refs == 0;
	pthread_mutex_unlock(&g->mu);
	if (!last)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->reasons[i]);
	free(g->runs);
	free(g->rcs);
	free(g->reasons);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

const char *wn_fmt_describe(wn_fmt_run *r)
{
	return r->ops->describe(r->run);
}

pid_t wn_fmt_pgid(wn_fmt_run *r, uint64_t *mark)
{
	*mark = 0;
	return r->ops->pgid != NULL ? r->ops->pgid(r->run, mark) : 0;
}

int wn_fmt_wait(wn_fmt_run *r, int wake_fd, int timeout_ms)
{
	return r->ops->wait(r->run, wake_fd, timeout_ms);
}

void wn_fmt_stop(wn_fmt_run *r, bool force)
{
	r->ops->stop(r->run, force);
}

void wn_fmt_collect(wn_fmt_run *r, wn_fmt_result *res)
{
	memset(res, 0, sizeof(*res));
	r->ops->result(r->run, res);
}

void wn_fmt_result_release(wn_fmt_result *res)
{
	free(res->reason);
	free(res->output_tail);
	free(res->external_id);
	memset(res, 0, sizeof(*res));
}

void wn_fmt_run_free(wn_fmt_run *r)
{
	if (r == NULL)
		return;
	r->ops->release(r->run);
	for (size_t i = 0; i < r->narts; i++)
		free(r->arts[i]);
	free(r->arts);
	free(r);
}

const char *wn_fmt_job_value(const wn_fmt_job *job, const char *name, char *buf, size_t n)
{
	if (strcmp(name, "job.id") == 0) {
		snprintf(buf, n, "%llu", (unsigned long long)job->id);
		return buf;
	}
	if (strcmp(name, "job.name") == 0)
		return job->name;
	if (strcmp(name, "job.priority") == 0) {
		snprintf(buf, n, "%d", (int)job->priority);
		return buf;
	}
	if (strcmp(name, "project") == 0)
		return job->project;
	if (strcmp(name, "task") == 0)
		return job->task;
	if (strcmp(name, "attempt") == 0) {
		snprintf(buf, n, "%u", (unsigned)job->attempt);
		return buf;
	}
	if (strcmp(name, "worker") == 0)
		return job->worker;
	const char *param = fmt_param_of(name);
	for (size_t i = 0; i < job->nparams; i++)
		if (strcmp(job->param_keys[i], param) == 0)
			return job->param_vals[i];
	return NULL;
}

/* Template lookups over one job, gathering the names that are missing. */
typedef struct fmt_vars {
	const wn_fmt_job *job;
	char num[32];
	char *missing; /* "'a', 'b'" */
	size_t nmissing;
	char *(*quote)(const char *value); /* NULL: values as they are */
	char **held;                       /* quoted values, freed after rendering */
	size_t nheld;
} fmt_vars;

static const char *fmt_lookup(void *ctx, const char *name)
{
	fmt_vars *v = ctx;
	const char *val = wn_fmt_job_value(v->job, name, v->num, sizeof(v->num));
	if (val != NULL && v->quote != NULL) {
		v->held = wn_xrealloc(v->held, (v->nheld + 1) * sizeof(*v->held));
		v->held[v->nheld] = v->quote(val);
		return v->held[v->nheld++];
	}
	if (val != NULL)
		return val;
	char *quoted = wn_xasprintf("'%s'", name);
	if (v->missing == NULL) {
		v->missing = quoted;
		v->nmissing = 1;
		return NULL;
	}
	/* Each missing name once. */
	const char *p = v->missing;
	size_t ql = strlen(quoted);
	for (;;) {
		if (strncmp(p, quoted, ql) == 0 && (p[ql] == '\0' || p[ql] == ',')) {
			free(quoted);
			return NULL;
		}
		p = strstr(p, ", ");
		if (p == NULL)
			break;
		p += 2;
	}
	char *joined = wn_xasprintf("%s, %s", v->missing, quoted);
	free(v->missing);
	free(quoted);
	v->missing = joined;
	v->nmissing++;
	return NULL;
}

static int fmt_expand(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                      char **reason, char *(*quote)(const char *value))
{
	*reason = NULL;
	fmt_vars v = {.job = job, .quote = quote};
	int rc = WN_OK;
	size_t i;
	for (i = 0; i < n; i++) {
		char *err = NULL;
		out[i] = NULL;
		int r = wn_template_render(tmpls[i], fmt_lookup, &v, &out[i], &err);
		free(err);
		if (r == WN_EINVAL) {
			char *why = NULL;
			wn_template_check(tmpls[i], &why);
			*reason = wn_xasprintf("malformed template '%s': %s", tmpls[i],
			                       why ? why : "invalid");
			free(why);
			rc = WN_EINVAL;
			break;
		}
		if (r != WN_OK)
			rc = r;
	}
	for (size_t k = 0; k < v.nheld; k++)
		free(v.held[k]);
	free(v.held);
	if (rc == WN_OK) {
		free(v.missing);
		return WN_OK;
	}
	for (size_t j = 0; j < n && j <= i; j++) {
		free(out[j]);
		out[j] = NULL;
	}
	if (*reason == NULL)
		*reason = wn_xasprintf("missing parameter%s %s", v.nmissing > 1 ? "s" : "",
		                       v.missing ? v.missing : "''");
	free(v.missing);
	return rc;
}

int wn_fmt_expand(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                  char **reason)
{
	return fmt_expand(job, tmpls, n, out, reason, NULL);
}

int wn_fmt_expand_quoted(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                         char **reason, char *(*quote)(const char *value))
{
	return fmt_expand(job, tmpls, n, out, reason, quote);
}

/* ---------------------------------------------------------------- commands */

#define FMT_CAPTURE_MAX (16u << 20)

/* fmt_read appends what fd has to b (up to FMT_CAPTURE_MAX bytes in all);
 * returns 0 at end of file. */
static int fmt_read(wn_strbuf *b, int fd)
{
	char chunk[16384];
	ssize_t r = read(fd, chunk, sizeof(chunk));
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (r == 0)
		return 0;
	size_t keep = (size_t)r;
	if (b->len + keep > FMT_CAPTURE_MAX)
		keep = FMT_CAPTURE_MAX - b->len; /* drain the rest, keep the start */
	wn_strbuf_add(b, chunk, keep);
	return 1;
}

/* fmt_spawn starts argv with stdin from /dev/null, stdout to out_fd and
 * stderr to err_fd, every signal at its default and none blocked. */
static int fmt_spawn(char *const *argv, int out_fd, int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	posix_spawnattr_t sa;
	posix_spawnattr_init(&sa);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int e = posix_spawnp(pid, argv[0], &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	return e;
}

/* fmt_drain reads the pipes fds[0] (into bo) and fds[1] (into be) until both
 * are closed: WN_OK; WN_ETIMEDOUT when the deadline (monotonic ms, -1: none)
 * came first, WN_ESTATE when wake_fd (-1: none) became readable first. */
static int fmt_drain(const int fds[2], int64_t deadline, int wake_fd, wn_strbuf *bo, wn_strbuf *be)
{
	bool open[2] = {true, true};
	while (open[0] || open[1]) {
		struct pollfd pf[3];
		nfds_t np = 0;
		for (int k = 0; k < 2; k++)
			if (open[k])
				pf[np++] = (struct pollfd){.fd = fds[k], .events = POLLIN};
		if (wake_fd >= 0)
			pf[np++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		int wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - wn_mono_ms();
			if (left <= 0)
				return WN_ETIMEDOUT;
			wait = left > 60000 ? 60000 : (int)left;
		}
		int pr = poll(pf, np, wait);
		if (pr < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; pr > 0 && i < np; i++) {
			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == wake_fd)
				return WN_ESTATE; /* left unread: the caller's to see */
			int k = pf[i].fd == fds[0] ? 0 : 1;
			if (fmt_read(k == 0 ? bo : be, pf[i].fd) == 0)
				open[k] = false;
		}
	}
	return WN_OK;
}

int wn_fmt_capture(char *const *argv, int timeout_ms, int *status, char **out, char **out_err)
{
	return wn_fmt_capture_wake(argv, timeout_ms, -1, status, out, out_err);
}

int wn_fmt_capture_wake(char *const *argv, int timeout_ms, int wake_fd, int *status, char **out,
                        char **out_err)
{
	*status = -1;
	*out = NULL;
	*out_err = NULL;
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		int e = errno;
		*out_err = wn_xasprintf("cannot run %s: %s", argv[0], strerror(e));
		if (po[0] >= 0) {
			close(po[0]);
			close(po[1]);
		}
		return wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
	}
	pid_t pid;
	wn_proc_stray_starting(); /* ours to reap, not an orphan's */
	int e = fmt_spawn(argv, po[1], pe[1], &pid);
	wn_proc_stray_started(e == 0 ? pid : 0);
	close(po[1]);
	close(pe[1]);
	if (e != 0) {
		close(po[0]);
		close(pe[0]);
		bool path = e == ENOENT && strchr(argv[0], '/') == NULL; /* looked up */
		*out_err = wn_xasprintf("cannot run %s: %s", argv[0],
		                        path ? "not found in PATH" : strerror(e));
		/* this machine short of memory or processes: not the program's doing */
		return e == ENOENT ? WN_ENOTFOUND : wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
	}
	wn_strbuf bo = WN_STRBUF_INIT, be = WN_STRBUF_INIT;
	int64_t deadline = timeout_ms >= 0 ? wn_mono_ms() + timeout_ms : -1;
	int fds[2] = {po[0], pe[0]};
	int drained = fmt_drain(fds, deadline, wake_fd, &bo, &be);
	close(po[0]);
	close(pe[0]);
	if (drained != WN_OK)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	wn_proc_stray_gone(pid);
	*status = st;
	*out = wn_strbuf_take(&bo);
	if (drained != WN_OK) {
		wn_strbuf_free(&be);
		*out_err =
		    drained == WN_ESTATE
		        ? wn_xasprintf("%s given up and killed: the job was stopped", argv[0])
		        : wn_xasprintf("%s did not finish within %d ms: killed", argv[0],
		                       timeout_ms);
		return drained;
	}
	*out_err = wn_strbuf_take(&be);
	return WN_OK;
}

/* fmt_unknown_field notes in ctx (a char *, the first one) a placeholder
 * job.X that is none of the job's fields (a typo, never a parameter), or
 * one naming a parameter no job can have ({.}, {param.}). */
static const char *fmt_unknown_field(void *ctx, const char *name)
{
	char **first = ctx;
	bool bad = strncmp(name, "job.", 4) == 0
	               ? strcmp(name, "job.id") != 0 && strcmp(name, "job.name") != 0 &&
	                     strcmp(name, "job.priority") != 0
	               : wn_name_check(fmt_param_of(name)) != NULL;
	if (bad && *first == NULL)
		*first = wn_xstrdup(name);
	return "";
}

int wn_fmt_check_template(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                          const char *tmpl, char **errmsg)
{
	char *why = NULL, *out = NULL, *unknown = NULL;
	if (wn_template_check(tmpl, &why) != WN_OK) {
		*errmsg = wn_conf_error(doc, node, "bad template in '%s': %s", key, why);
		free(why);
		return WN_EINVAL;
	}
	wn_template_render(tmpl, fmt_unknown_field, &unknown, &out, &why);
	free(out);
	free(why);
	if (unknown == NULL)
		return WN_OK;
	if (strncmp(unknown, "job.", 4) != 0)
		*errmsg = wn_conf_error(doc, node,
		                        "bad template in '%s': {%s} names no parameter a job can "
		                        "have (a parameter's %s)",
		                        key, unknown, wn_name_check(fmt_param_of(unknown)));
	else
		*errmsg = wn_conf_error(doc, node,
		                        "bad template in '%s': unknown field {%s} (a job's fields "
		                        "are {job.id}, {job.name} and {job.priority})",
		                        key, unknown);
	free(unknown);
	return WN_EINVAL;
}

int wn_fmt_check_own_file(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                          const char *tmpl, const wn_fmt_env *env, char **errmsg)
{
	if (env->slots <= 1 || wn_template_names(tmpl, "job.id"))
		return WN_OK;
	*errmsg = wn_conf_error(doc, node,
	                        "'%s' must hold {job.id} when the worker runs several jobs at "
	                        "once (slots: %d): their runs would share one file",
	                        key, env->slots);
	return WN_EINVAL;
}
