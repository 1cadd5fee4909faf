#include "fmt_slurm_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "safepath.h"
#include "proc.h"
#include "resultfile.h"
#include "slurm_script.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const slurm_accounting[] = {"auto", "sacct", "jobcomp", "none", NULL};

#define SC(field) offsetof(slurm_conf, field)

static const wn_conf_key slurm_keys[] = {
    WN_FMT_KEY_FORMATTER,
    WN_FMT_KEY_ARTIFACTS,
    {"script", WN_CONF_T_STR, SC(script), NULL, 0, 0, WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "the body of the batch script (template; every value is shell-quoted)"},
    {"shell", WN_CONF_T_STR, SC(shell), "/bin/bash", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the interpreter of the batch script (its #! line)"},
    {"job_name", WN_CONF_T_STR, SC(job_name), SLURM_NAME_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--job-name (template)"},
    {"partition", WN_CONF_T_STR, SC(partition), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--partition (template)"},
    {"time", WN_CONF_T_STR, SC(time), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--time (template); default: the task's timeout"},
    {"nodes", WN_CONF_T_STR, SC(nodes), NULL, 0, 0, WN_CONF_NONEMPTY, NULL, "--nodes (template)"},
    {"ntasks", WN_CONF_T_STR, SC(ntasks), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--ntasks (template)"},
    {"cpus_per_task", WN_CONF_T_STR, SC(cpus_per_task), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--cpus-per-task (template); default: the task's cpu"},
    {"mem", WN_CONF_T_STR, SC(mem), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--mem (template); default: the task's memory"},
    {"gres", WN_CONF_T_STR, SC(gres), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--gres (template); default gpu:N for a task needing N gpu"},
    {"gpus", WN_CONF_T_STR, SC(gpus), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--gpus (template), instead of gres"},
    {"account", WN_CONF_T_STR, SC(account), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--account (template)"},
    {"qos", WN_CONF_T_STR, SC(qos), NULL, 0, 0, WN_CONF_NONEMPTY, NULL, "--qos (template)"},
    {"constraint", WN_CONF_T_STR, SC(constraint), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--constraint (template)"},
    {"workdir", WN_CONF_T_STR, SC(workdir), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--chdir (template); default: the worker's directory"},
    {"output", WN_CONF_T_STR, SC(output), SLURM_OUTPUT_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the job's output file (template), relative to log_dir"},
    {"error", WN_CONF_T_STR, SC(error), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the job's error file (template), relative to log_dir; default: with the output"},
    {"extra", WN_CONF_T_STRLIST, SC(extra), NULL, 0, 0, 0, NULL,
     "more sbatch options, one per item (templates)"},
    {"env", WN_CONF_T_STRMAP, SC(env), NULL, 0, 0, 0, NULL,
     "variables the script exports (values are templates, shell-quoted)"},
    {"array", WN_CONF_T_BOOL, SC(array), "true", 0, 0, 0, NULL,
     "submit jobs of one sweep fetched together as one job array"},
    {"array_max", WN_CONF_T_INT, SC(array_max), "1000", 1, 100000, 0, NULL,
     "largest job array submitted (SLURM's MaxArraySize bounds it too)"},
    {"poll_ms", WN_CONF_T_INT, SC(poll_ms), "10000", 200, 3600000, 0, NULL,
     "how often squeue is asked about the worker's SLURM jobs"},
    {"pending_timeout_ms", WN_CONF_T_INT, SC(pending_ms), "0", 0, 2592000000, 0, NULL,
     "how long a SLURM job may stay PENDING after its submission before it is cancelled "
     "and the job fails; 0: for ever"},
    {"accounting", WN_CONF_T_STR, SC(accounting), "auto", 0, 0, 0, slurm_accounting,
     "how the end of a job squeue forgot is learnt: auto, sacct, jobcomp (sacct -c) or none"},
    {"sbatch", WN_CONF_T_STR, SC(sbatch), "sbatch", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the sbatch program"},
    {"squeue", WN_CONF_T_STR, SC(squeue), "squeue", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the squeue program"},
    {"sacct", WN_CONF_T_STR, SC(sacct), "sacct", 0, 0, WN_CONF_NONEMPTY, NULL, "the sacct program"},
    {"scancel", WN_CONF_T_STR, SC(scancel), "scancel", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the scancel program"},
};

/* The #SBATCH options taken from the task's keys, in the order written. */
static const struct {
	size_t offset;
	const char *key;
	const char *flag;
} slurm_opts[] = {
    {SC(partition), "partition", "--partition"},
    {SC(time), "time", "--time"},
    {SC(nodes), "nodes", "--nodes"},
    {SC(ntasks), "ntasks", "--ntasks"},
    {SC(cpus_per_task), "cpus_per_task", "--cpus-per-task"},
    {SC(mem), "mem", "--mem"},
    {SC(gres), "gres", "--gres"},
    {SC(gpus), "gpus", "--gpus"},
    {SC(account), "account", "--account"},
    {SC(qos), "qos", "--qos"},
    {SC(constraint), "constraint", "--constraint"},
    {SC(workdir), "workdir", "--chdir"},
};

#define SLURM_NOPTS WN_ARRAY_LEN(slurm_opts)

static const char *slurm_opt(const slurm_conf *c, size_t i)
{
	return *(char *const *)((const char *)c + slurm_opts[i].offset);
}

/* ---------------------------------------------------------------- loading */

static void slurm_unload(void *p)
{
	slurm_conf *c = p;
	if (c == NULL)
		return;
	wn_slurm_poll_free(c->poll); /* before the settings it reads */
	wn_conf_release(slurm_keys, WN_ARRAY_LEN(slurm_keys), c);
	free(c->log_dir);
	free(c);
}

/* slurm_one_line checks that the template v of key, written at n, holds no
 * line break of its own: its #SBATCH line would end there, and every job
 * fail (a value's line break fails its job alone). */
static int slurm_one_line(const wn_conf_doc *doc, const wn_conf_node *n, const char *key,
                          const char *v, char **errmsg)
{
	if (strpbrk(v, "\n\r") == NULL)
		return WN_OK;
	*errmsg =
	    wn_conf_error(doc, n, "'%s' holds a line break: it goes on one #SBATCH line", key);
	return WN_EINVAL;
}

/* slurm_extra_ok checks the task's extra sbatch options: options, valid
 * templates. */
static int slurm_extra_ok(const wn_conf_doc *doc, const wn_conf_node *task, const slurm_conf *c,
                          char **errmsg)
{
	const wn_conf_node *xn = wn_conf_get(task, "extra");
	for (size_t i = 0; i < c->extra.n; i++) {
		const wn_conf_node *n = xn && xn->kind == WN_CONF_SEQ ? xn->items[i] : xn;
		const char *v = c->extra.v[i];
		if (v[0] != '-') {
			*errmsg =
			    wn_conf_error(doc, n,
			                  "'extra' holds sbatch options, one per item; '%s' is "
			                  "not one (it must start with '-')",
			                  v);
			return WN_EINVAL;
		}
		int rc = wn_fmt_check_template(doc, n, "extra", v, errmsg);
		if (rc == WN_OK)
			rc = slurm_one_line(doc, n, "extra", v, errmsg);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}

static int slurm_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                      void **out, char **errmsg)
{
	slurm_conf *c = wn_xcalloc(1, sizeof(*c));
	int rc = wn_conf_apply(doc, task, slurm_keys, WN_ARRAY_LEN(slurm_keys), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	/* every template is checked now, so that a job never meets a bad one */
	static const char *const tkeys[] = {"script", "job_name", "output", "error"};
	const char *tvals[] = {c->script, c->job_name, c->output, c->error};
	for (size_t i = 0; i < WN_ARRAY_LEN(tkeys); i++) {
		if (tvals[i] == NULL)
			continue;
		const wn_conf_node *n = wn_conf_get(task, tkeys[i]);
		rc = wn_fmt_check_template(doc, n ? n : task, tkeys[i], tvals[i], errmsg);
		bool script = strcmp(tkeys[i], "script") == 0;
		if (rc == WN_OK && !script) /* the others go on #SBATCH lines */
			rc = slurm_one_line(doc, n ? n : task, tkeys[i], tvals[i], errmsg);
		if (rc == WN_OK && strcmp(tkeys[i], "output") == 0) /* results file beside it */
			rc = wn_fmt_check_own_file(doc, n ? n : task, "output", tvals[i], env,
			                           errmsg);
		if (rc != WN_OK)
			goto fail;
	}
	char *body = NULL, *why = NULL;
	if (wn_slurm_script_body(c->script, NULL, &body, &why) != WN_OK) {
		const wn_conf_node *n = wn_conf_get(task, "script");
		*errmsg = wn_conf_error(doc, n ? n : task, "%s", why);
		free(why);
		rc = WN_EINVAL;
		goto fail;
	}
	free(body);
	for (size_t i = 0; i < SLURM_NOPTS; i++) {
		const char *v = slurm_opt(c, i);
		if (v == NULL)
			continue;
		const wn_conf_node *n = wn_conf_get(task, slurm_opts[i].key);
		rc = wn_fmt_check_template(doc, n, slurm_opts[i].key, v, errmsg);
		if (rc == WN_OK)
			rc = slurm_one_line(doc, n, slurm_opts[i].key, v, errmsg);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = slurm_extra_ok(doc, task, c, errmsg)) != WN_OK)
		goto fail;
	if ((rc = wn_fmt_check_env(doc, task, &c->env, errmsg)) != WN_OK)
		goto fail;
	if (strpbrk(c->shell, "\n\r") != NULL || c->shell[0] != '/') {
		*errmsg = wn_conf_error(doc, wn_conf_get(task, "shell"),
		                        "'shell' must be an absolute path, such as /bin/bash");
		rc = WN_EINVAL;
		goto fail;
	}
	c->log_dir = wn_xstrdup(env->log_dir ? env->log_dir : ".");
	c->tail_bytes = env->tail_bytes;
	wn_slurm_poll_conf pc = {c->squeue, c->sacct, c->accounting, c->poll_ms};
	c->poll = wn_slurm_poll_new(&pc);
	*out = c;
	return WN_OK;
fail:
	slurm_unload(c);
	return rc;
}

/* ---------------------------------------------------------------- runs */

static void slurm_release(void *p)
{
	slurm_run *r = p;
	if (r == NULL)
		return;
	if (r->watch != NULL)
		wn_slurm_poll_unfollow(r->conf->poll, r->watch);
	if (r->efd >= 0)
		close(r->efd);
	free(r->project);
	free(r->task);
	free(r->owner);
	free(r->comment);
	free(r->job_name);
	for (size_t i = 0; i < r->nopts; i++)
		free(r->opts[i]);
	free(r->opts);
	free(r->opts_key);
	free(r->output);
	free(r->error);
	free(r->out_root);
	free(r->err_root);
	free(r->exports);
	free(r->results_path);
	free(r->body);
	free(r->script_path);
	free(r->desc);
	free(r->ext_id);
	free(r->wait_reason);
	free(r);
}

/* slurm_export appends "export NAME=value" (value shell-quoted). */
static void slurm_export(wn_strbuf *b, const char *name, const char *value)
{
	char *q = wn_slurm_script_quote(value ? value : "");
	wn_strbuf_addf(b, "export %s=%s\n", name, q);
	free(q);
}

/* slurm_line_ok checks that a value for key holds no line break (it would
 * end its #SBATCH line and start a command). */
static int slurm_line_ok(const char *key, const char *v, char **reason)
{
	if (strpbrk(v, "\n\r") == NULL)
		return WN_OK;
	*reason = wn_xasprintf("the value of '%s' holds a line break", key);
	return WN_EINVAL;
}

enum { T_NAME, T_OUTPUT, T_ERROR, T_OPTS };

/* slurm_path sets *path to the file rendered as v from the template tmpl,
 * joined to log_dir, and *root to the directory it must stay in; returns
 * rc, or why it is outside when rc is WN_OK. */
static int slurm_path(const slurm_conf *c, const char *tmpl, const char *v, const char *what,
                      char **path, char **root, int rc, char **reason)
{
	*root = wn_safepath_root(c->log_dir, tmpl);
	char *why = NULL;
	*path = wn_safepath_inside(*root, c->log_dir, v, what, &why);
	if (*path != NULL)
		return rc;
	*path = wn_path_join(c->log_dir, v);
	if (rc == WN_OK) {
		*reason = why;
		return WN_EINVAL;
	}
	free(why);
	return rc;
}

/* slurm_paths gives r its output and error files (rendered as out and
 * err), each inside the directory its template starts in. */
static int slurm_paths(slurm_run *r, const char *out, const char *err, char **reason)
{
	const slurm_conf *c = r->conf;
	int rc =
	    slurm_path(c, c->output, out, "output file", &r->output, &r->out_root, WN_OK, reason);
	if (c->error != NULL)
		rc =
		    slurm_path(c, c->error, err, "error file", &r->error, &r->err_root, rc, reason);
	return rc;
}

/* slurm_workdir_ok checks that the working directory v, rendered from the
 * template tmpl, stays inside the directory the template starts in. */
static int slurm_workdir_ok(const char *tmpl, const char *v, char **reason)
{
	char *root = wn_safepath_root(NULL, tmpl);
	char *p = wn_safepath_inside(root, NULL, v, "working directory", reason);
	free(root);
	free(p);
	return p ? WN_OK : WN_EINVAL;
}

/* slurm_render renders the task's templates for job into vals: the plain
 * ones first ([0, nplain): name, output, error, options, extra), then the
 * body, quoted for where each value lands, and the env values, quoted as
 * words ([nplain, nplain + nq)). The first pass renders all of them, so
 * that a missing parameter anywhere is named; on failure vals holds nothing. */
static int slurm_render(const slurm_conf *c, const wn_fmt_job *job, size_t nplain, size_t nq,
                        char **vals, char **reason)
{
	const char **tmpls = wn_xcalloc(nplain + nq, sizeof(*tmpls));
	tmpls[T_NAME] = c->job_name;
	tmpls[T_OUTPUT] = c->output;
	tmpls[T_ERROR] = c->error ? c->error : "";
	for (size_t i = 0; i < SLURM_NOPTS; i++)
		tmpls[T_OPTS + i] = slurm_opt(c, i) ? slurm_opt(c, i) : "";
	for (size_t i = 0; i < c->extra.n; i++)
		tmpls[T_OPTS + SLURM_NOPTS + i] = c->extra.v[i];
	tmpls[nplain] = c->script;
	for (size_t i = 0; i < c->env.n; i++)
		tmpls[nplain + 1 + i] = c->env.vals[i];
	int rc = wn_fmt_expand(job, tmpls, nplain + nq, vals, reason);
	if (rc != WN_OK) {
		free(tmpls);
		return rc;
	}
	for (size_t i = nplain; i < nplain + nq; i++) {
		free(vals[i]);
		vals[i] = NULL;
	}
	/* the body, quoted for where each value lands; env values go after
	 * "export NAME=", as words */
	rc = wn_slurm_script_body(c->script, job, &vals[nplain], reason);
	if (rc == WN_OK) {
		rc = wn_fmt_expand_quoted(job, tmpls + nplain + 1, nq - 1, vals + nplain + 1,
		                          reason, wn_slurm_script_quote);
		if (rc != WN_OK)
			free(vals[nplain]);
	}
	free(tmpls);
	if (rc != WN_OK)
		for (size_t i = 0; i < nplain; i++)
			free(vals[i]);
	return rc;
}

/* slurm_run_opts gives r its sbatch options from the rendered values vals
 * (which it takes): the task's options, what the job asks for where they do
 * not say, the extra ones; and the key of runs that may share an array.
 * Returns rc, or the first line break found when rc is WN_OK. */
static int slurm_run_opts(slurm_run *r, const wn_fmt_job *job, char **vals, int rc, char **reason)
{
	const slurm_conf *c = r->conf;
	r->opts = wn_xcalloc(SLURM_NOPTS + 4 + c->extra.n, sizeof(char *));
	for (size_t i = 0; i < SLURM_NOPTS; i++) {
		char *v = vals[T_OPTS + i];
		if (slurm_opt(c, i) != NULL) {
			if (rc == WN_OK)
				rc = slurm_line_ok(slurm_opts[i].key, v, reason);
			if (rc == WN_OK && strcmp(slurm_opts[i].key, "workdir") == 0)
				rc = slurm_workdir_ok(slurm_opt(c, i), v, reason);
			r->opts[r->nopts++] = wn_xasprintf("%s=%s", slurm_opts[i].flag, v);
		}
		free(v);
	}
	/* What the task asks for, where the options do not say. */
	if (c->time == NULL && job->timeout_s > 0)
		r->opts[r->nopts++] = wn_xasprintf("--time=%u", (job->timeout_s + 59) / 60);
	if (c->cpus_per_task == NULL && job->cpu > 0)
		r->opts[r->nopts++] = wn_xasprintf("--cpus-per-task=%u", job->cpu);
	if (c->mem == NULL && job->memory_mb > 0)
		r->opts[r->nopts++] =
		    wn_xasprintf("--mem=%lluM", (unsigned long long)job->memory_mb);
	if (c->gres == NULL && c->gpus == NULL && job->gpu > 0)
		r->opts[r->nopts++] = wn_xasprintf("--gres=gpu:%u", job->gpu);
	for (size_t i = 0; i < c->extra.n; i++) {
		char *v = vals[T_OPTS + SLURM_NOPTS + i];
		if (rc == WN_OK)
			rc = slurm_line_ok("extra", v, reason);
		r->opts[r->nopts++] = v;
		/* --comment (or a prefix sbatch takes for it): kept after the tag */
		size_t name = strcspn(v, "=");
		if (name >= 6 && name <= 9 && strncmp(v, "--comment", name) == 0 &&
		    v[name] == '=') {
			free(r->comment);
			r->comment = wn_xstrdup(v + name + 1);
		}
	}
	wn_strbuf key = WN_STRBUF_INIT;
	for (size_t i = 0; i < r->nopts; i++) {
		wn_strbuf_adds(&key, r->opts[i]);
		wn_strbuf_add(&key, "\n", 1);
	}
	r->opts_key = wn_strbuf_take(&key);
	return rc;
}

/* slurm_run_exports gives r its export lines: the job's WN_ variables, then
 * the task's env with its quoted values evals (which it frees). */
static void slurm_run_exports(slurm_run *r, const wn_fmt_job *job, char **evals)
{
	const slurm_conf *c = r->conf;
	wn_strbuf ex = WN_STRBUF_INIT;
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)job->id);
	slurm_export(&ex, "WN_JOB_ID", num);
	slurm_export(&ex, "WN_JOB_NAME", job->name);
	slurm_export(&ex, "WN_PROJECT", job->project);
	slurm_export(&ex, "WN_TASK", job->task);
	snprintf(num, sizeof(num), "%u", (unsigned)job->attempt);
	slurm_export(&ex, "WN_ATTEMPT", num);
	slurm_export(&ex, "WN_WORKER", job->worker);
	slurm_export(&ex, "WN_SERVER", job->server);
	if (r->output != NULL) {
		/* on the shared filesystem, beside the output */
		r->results_path = wn_resultfile_path_beside(r->output);
		slurm_export(&ex, "WN_RESULTS", r->results_path);
	}
	for (size_t i = 0; i < c->env.n; i++) {
		wn_strbuf_addf(&ex, "export %s=%s\n", c->env.keys[i], evals[i]);
		free(evals[i]);
	}
	r->exports = wn_strbuf_take(&ex);
}

/* slurm_build makes the run of job: its script's parts, its paths. */
static int slurm_build(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	slurm_conf *c = (slurm_conf *)conf;
	*out = NULL;
	size_t nplain = T_OPTS + SLURM_NOPTS + c->extra.n, nq = 1 + c->env.n;
	char **vals = wn_xcalloc(nplain + nq, sizeof(*vals));
	int rc = slurm_render(c, job, nplain, nq, vals, reason);
	if (rc != WN_OK) {
		free(vals);
		return rc;
	}
	slurm_run *r = wn_xcalloc(1, sizeof(*r));
	r->conf = c;
	r->efd = -1;
	r->wake_fd = job->wake_fd > 0 ? job->wake_fd : -1;
	r->job_id = job->id;
	r->attempt = job->attempt;
	r->project = wn_xstrdup(job->project);
	r->task = wn_xstrdup(job->task);
	r->owner = wn_slurm_owner(job->worker, job->server);
	r->job_name = vals[T_NAME];
	rc = slurm_paths(r, vals[T_OUTPUT], vals[T_ERROR], reason);
	free(vals[T_OUTPUT]);
	free(vals[T_ERROR]);
	if (rc == WN_OK)
		rc = slurm_line_ok("job_name", r->job_name, reason);
	if (rc == WN_OK)
		rc = slurm_line_ok("output", r->output, reason);
	if (rc == WN_OK && r->error)
		rc = slurm_line_ok("error", r->error, reason);
	rc = slurm_run_opts(r, job, vals, rc, reason);
	r->body = vals[nplain];
	slurm_run_exports(r, job, vals + nplain + 1);
	free(vals);
	size_t ol = strlen(r->output);
	if (ol > 4 && strcmp(r->output + ol - 4, ".out") == 0)
		r->script_path = wn_xasprintf("%.*s.sbatch", (int)(ol - 4), r->output);
	else
		r->script_path = wn_xasprintf("%s.sbatch", r->output);
	/* a name too long for the worker's files fails the job before it runs */
	const char *const paths[] = {r->output, r->script_path, r->results_path, r->error};
	const char *const whats[] = {"output file", "batch script", "results file", "error file"};
	for (size_t i = 0; rc == WN_OK && i < 4; i++)
		if (paths[i] != NULL &&
		    (*reason = wn_safepath_too_long(paths[i], whats[i])) != NULL)
			rc = WN_EINVAL;
	if (rc != WN_OK) {
		slurm_release(r);
		return rc;
	}
	*out = r;
	return WN_OK;
}

/* slurm_workdir: the job's --chdir, or NULL (sbatch's directory: the
 * worker's). */
static const char *slurm_workdir(void *p)
{
	const slurm_run *r = p;
	for (size_t i = 0; i < r->nopts; i++)
		if (strncmp(r->opts[i], "--chdir=", 8) == 0)
			return r->opts[i] + 8;
	return NULL;
}

/* slurm_follow makes the run of job at attempt (its output where that
 * attempt wrote it) that follows SLURM job id instead of submitting one. */
static void *slurm_follow(const slurm_conf *conf, const wn_fmt_job *job, uint32_t attempt,
                          const char *id)
{
	wn_fmt_job at = *job;
	at.attempt = attempt;
	void *p = NULL;
	char *why = NULL;
	if (slurm_build(conf, &at, &p, &why) != WN_OK) {
		/* the output file stays unknown; the job is followed all the same */
		wn_debug("job %llu: %s", (unsigned long long)job->id, why);
		free(why);
		slurm_run *r = wn_xcalloc(1, sizeof(*r));
		r->conf = (slurm_conf *)conf;
		r->efd = -1;
		r->wake_fd = job->wake_fd > 0 ? job->wake_fd : -1;
		r->job_id = job->id;
		r->attempt = attempt;
		r->project = wn_xstrdup(job->project);
		r->task = wn_xstrdup(job->task);
		p = r;
	}
	wn_slurm_submit_started(p, id);
	return p;
}

/* slurm_adopt looks in squeue for a SLURM job submitted for job before (an
 * attempt whose SLURM job id the server never learnt: the worker was killed
 * between sbatch and its next heartbeat) and, if there is one to follow,
 * makes the run that follows it (*out); else *out stays NULL. */
static int slurm_adopt(const slurm_conf *c, const wn_fmt_job *job, void **out, char **reason)
{
	*out = NULL;
	wn_slurm_found found;
	char *owner = wn_slurm_owner(job->worker, job->server);
	int rc = wn_slurm_find(c, owner, job->id, job->attempt,
	                       job->wake_fd > 0 ? job->wake_fd : -1, &found, reason);
	free(owner);
	if (rc != WN_OK || found.id == NULL)
		return rc;
	bool ended = wn_slurm_state_end(found.state) != WN_SLURM_ACTIVE;
	wn_info("job %llu: attempt %u of it %s as SLURM job %s (%s), submitted by worker %s "
	        "before the server learnt its id: following it instead of submitting "
	        "attempt %u",
	        (unsigned long long)job->id, (unsigned)found.attempt,
	        ended ? "ended" : "still runs", found.id, found.state, job->worker,
	        (unsigned)job->attempt);
	*out = slurm_follow(c, job, found.attempt, found.id);
	wn_slurm_found_release(&found);
	return WN_OK;
}

/* slurm_prepare makes the run of job; an attempt after the first may have
 * been submitted before: one found in squeue by its tag is followed
 * (started already) instead. */
static int slurm_prepare(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	*out = NULL;
	if (job->attempt > 1) {
		int rc = slurm_adopt(conf, job, out, reason);
		if (rc != WN_OK || *out != NULL)
			return rc;
	}
	return slurm_build(conf, job, out, reason);
}

static int slurm_resume(const void *conf, const wn_fmt_job *job, const char *external_id,
                        void **out, char **reason)
{
	*out = NULL;
	if (external_id == NULL || external_id[0] == '\0') {
		/* sbatch may have answered just before the worker stopped */
		int rc = slurm_adopt(conf, job, out, reason);
		if (rc == WN_OK && *out == NULL) {
			*reason =
			    wn_xstrdup("no SLURM job id was recorded for it, and squeue lists "
			               "no SLURM job submitted for it");
			rc = WN_ENOTFOUND;
		}
		return rc;
	}
	if (!wn_slurm_id_ok(external_id)) {
		*reason = wn_xasprintf("'%s' is not a SLURM job id", external_id);
		return WN_EINVAL;
	}
	*out = slurm_follow(conf, job, job->attempt, external_id);
	return WN_OK;
}

static const char *slurm_output_path(void *p)
{
	slurm_run *r = p;
	return r->output;
}

static const char *slurm_results_path(void *p)
{
	slurm_run *r = p;
	return r->results_path;
}

static const char *slurm_describe(void *p)
{
	slurm_run *r = p;
	return r->desc ? r->desc : "not submitted";
}

static const char *slurm_external_id(void *p)
{
	slurm_run *r = p;
	return r->ext_id;
}

static const char *slurm_program(const void *conf, size_t i)
{
	const slurm_conf *c = conf;
	const char *v[] = {c->sbatch, c->squeue, c->sacct, c->scancel};
	return i < 4 ? v[i] : NULL;
}

const wn_fmt_ops wn_fmt_slurm_ops = {
    .name = "slurm",
    .load = slurm_load,
    .unload = slurm_unload,
    .prepare = slurm_prepare,
    .start = wn_slurm_submit_start,
    .describe = slurm_describe,
    .wait = wn_slurm_wait,
    .stop = wn_slurm_stop,
    .result = wn_slurm_result,
    .release = slurm_release,
    .resume = slurm_resume,
    .workdir = slurm_workdir,
    .external_id = slurm_external_id,
    .start_group = wn_slurm_submit_group,
    .output_path = slurm_output_path,
    .results_path = slurm_results_path,
    .program = slurm_program,
};
