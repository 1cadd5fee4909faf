#include "fmt_runai_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "map.h"
#include "safepath.h"
#include "proc.h"
#include "runai.h"
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNAI_LOG_DEFAULT "{project}/{task}/{job.id}.{attempt}.log"

static const char *const runai_clis[] = {"training", "legacy", NULL};

#define RC(field) offsetof(runai_conf, field)

static const wn_conf_key runai_keys[] = {
    WN_FMT_KEY_FORMATTER,
    WN_FMT_KEY_ARTIFACTS,
    {"cli", WN_CONF_T_STR, RC(cli), "training", 0, 0, 0, runai_clis,
     "training: runai training submit|describe|delete; legacy: runai submit, describe job, "
     "delete job"},
    {"runai", WN_CONF_T_STR, RC(runai), "runai", 0, 0, WN_CONF_NONEMPTY, NULL, "the runai program"},
    {"project", WN_CONF_T_STR, RC(project), NULL, 0, 0, WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "the RUNAI project (template)"},
    {"image", WN_CONF_T_STR, RC(image), NULL, 0, 0, WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "the container image (template)"},
    {"name", WN_CONF_T_STR, RC(name), RUNAI_NAME_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the workload name (template), made a valid name; unique per job attempt"},
    {"command", WN_CONF_T_STRLIST, RC(command), NULL, 0, 0, 0, NULL,
     "the command and its arguments, replacing the image's entry point (templates)"},
    {"args", WN_CONF_T_STRLIST, RC(args), NULL, 0, 0, 0, NULL,
     "arguments for the image's entry point (templates), instead of command"},
    {"gpu", WN_CONF_T_STR, RC(gpu), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "GPU devices requested (template); default: the task's gpu"},
    {"cpu", WN_CONF_T_STR, RC(cpu), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "CPU cores requested (template); default: the task's cpu"},
    {"memory", WN_CONF_T_STR, RC(memory), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "memory requested, e.g. 4G (template); default: the task's memory"},
    {"env", WN_CONF_T_STRMAP, RC(env), NULL, 0, 0, 0, NULL,
     "environment variables of the workload (values are templates)"},
    {"param_env", WN_CONF_T_BOOL, RC(param_env), "false", 0, 0, 0, NULL,
     "also pass every parameter as WN_PARAM_<NAME>"},
    {"extra", WN_CONF_T_STRLIST, RC(extra), NULL, 0, 0, 0, NULL,
     "more submit options, one argument per item (templates)"},
    {"poll_ms", WN_CONF_T_INT, RC(poll_ms), "10000", 200, 3600000, 0, NULL,
     "how often the workload is described while it runs"},
    {"call_timeout_ms", WN_CONF_T_INT, RC(call_ms), "120000", 1000, 3600000, 0, NULL,
     "how long a runai call may take before it is killed (a submit killed so hands its "
     "job back)"},
    {"status_timeout_ms", WN_CONF_T_INT, RC(status_ms), "1800000", 1000, 604800000, 0, NULL,
     "how long describe may answer without the workload's status before the workload is "
     "deleted and the job fails"},
    {"pending_timeout_ms", WN_CONF_T_INT, RC(pending_ms), "0", 0, 2592000000, 0, NULL,
     "how long a workload may wait to run (Pending, Queued, ...) after its submission "
     "before it is deleted and the job fails; 0: for ever"},
    {"logs", WN_CONF_T_BOOL, RC(logs), "true", 0, 0, 0, NULL,
     "fetch the workload's logs when it ends (for the output tail)"},
    {"log", WN_CONF_T_STR, RC(log), RUNAI_LOG_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "where the fetched logs go (template), relative to log_dir"},
};

/* ---------------------------------------------------------------- loading */

static void runai_unload(void *p)
{
	runai_conf *c = p;
	if (c == NULL)
		return;
	wn_conf_release(runai_keys, WN_ARRAY_LEN(runai_keys), c);
	free(c->log_dir);
	free(c);
}

static int runai_check_list(const wn_conf_doc *doc, const wn_conf_node *task, const char *key,
                            const wn_conf_strv *v, char **errmsg)
{
	const wn_conf_node *n = wn_conf_get(task, key);
	for (size_t i = 0; i < v->n; i++) {
		int rc = wn_fmt_check_template(doc, n && n->kind == WN_CONF_SEQ ? n->items[i] : n,
		                               key, v->v[i], errmsg);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}

static int runai_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                      void **out, char **errmsg)
{
	runai_conf *c = wn_xcalloc(1, sizeof(*c));
	const wn_conf_node *cmd = wn_conf_get(task, "command");
	if (cmd != NULL && cmd->kind == WN_CONF_SCALAR && !wn_conf_is_null(cmd)) {
		*errmsg = wn_conf_error(doc, cmd,
		                        "expected a list for 'command' (one item per argument: "
		                        "no shell splits it)");
		free(c);
		return WN_EINVAL;
	}
	int rc = wn_conf_apply(doc, task, runai_keys, WN_ARRAY_LEN(runai_keys), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	if (c->command.n > 0 && c->args.n > 0) {
		*errmsg = wn_conf_error(doc, wn_conf_get(task, "args"),
		                        "give 'command' or 'args', not both");
		rc = WN_EINVAL;
		goto fail;
	}
	static const char *const tkeys[] = {"project", "image",  "name", "gpu",
	                                    "cpu",     "memory", "log"};
	const char *tvals[] = {c->project, c->image, c->name, c->gpu, c->cpu, c->memory, c->log};
	for (size_t i = 0; i < WN_ARRAY_LEN(tkeys); i++) {
		if (tvals[i] == NULL)
			continue;
		const wn_conf_node *n = wn_conf_get(task, tkeys[i]);
		rc = wn_fmt_check_template(doc, n ? n : task, tkeys[i], tvals[i], errmsg);
		if (rc == WN_OK && strcmp(tkeys[i], "log") == 0)
			rc = wn_fmt_check_own_file(doc, n ? n : task, "log", tvals[i], env, errmsg);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = runai_check_list(doc, task, "command", &c->command, errmsg)) != WN_OK ||
	    (rc = runai_check_list(doc, task, "args", &c->args, errmsg)) != WN_OK ||
	    (rc = runai_check_list(doc, task, "extra", &c->extra, errmsg)) != WN_OK)
		goto fail;
	if ((rc = wn_fmt_check_env(doc, task, &c->env, errmsg)) != WN_OK)
		goto fail;
	if (!wn_template_names(c->name, "job.id")) {
		const wn_conf_node *n = wn_conf_get(task, "name");
		*errmsg = wn_conf_error(doc, n ? n : task,
		                        "'name' must hold {job.id}: without it jobs of the task "
		                        "share a workload name, and one would follow, or delete, "
		                        "the workload of another");
		rc = WN_EINVAL;
		goto fail;
	}
	c->log_dir = wn_xstrdup(env->log_dir ? env->log_dir : ".");
	c->tail_bytes = env->tail_bytes;
	*out = c;
	return WN_OK;
fail:
	runai_unload(c);
	return rc;
}

/* ---------------------------------------------------------------- runs */

static void runai_release(void *p)
{
	runai_run *r = p;
	if (r == NULL)
		return;
	free(r->name);
	free(r->project);
	wn_argv_free(r->submit);
	free(r->log_path);
	free(r->log_root);
	free(r->desc);
	free(r->status);
	free(r->said);
	free(r);
}

static bool runai_legacy(const runai_conf *c)
{
	return strcmp(c->cli, "legacy") == 0;
}

/* runai_param_env turns a parameter name into WN_PARAM_NAME. */
static char *runai_param_env(const char *key)
{
	char *s = wn_xasprintf("WN_PARAM_%s", key);
	for (char *p = s + 9; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return s;
}

/* runai_param_clash says (into *reason) whether two parameters of job give
 * one variable under param_env ("a-b" and "a.b" are both WN_PARAM_A_B):
 * one would silently stand for both. */
static bool runai_param_clash(const wn_fmt_job *job, char **reason)
{
	wn_map *seen = wn_map_new_str();
	char **names = wn_xcalloc(job->nparams + 1, sizeof(*names));
	bool clash = false;
	for (size_t i = 0; i < job->nparams && !clash; i++) {
		names[i] = runai_param_env(job->param_keys[i]);
		const char *other = wn_map_get_str(seen, names[i]);
		if (other != NULL) {
			*reason = wn_xasprintf("parameters %s and %s both give the variable %s "
			                       "(param_env): rename one",
			                       other, job->param_keys[i], names[i]);
			clash = true;
		}
		wn_map_put_str(seen, names[i], (void *)job->param_keys[i]);
	}
	for (size_t i = 0; i < job->nparams; i++)
		free(names[i]);
	free(names);
	wn_map_free(seen);
	return clash;
}

enum { T_PROJECT, T_IMAGE, T_NAME, T_GPU, T_CPU, T_MEM, T_LOG, T_LISTS };

/* runai_render renders every template of the task for job into vals (the
 * fixed ones, then the command or args, extra, env values), so that all
 * missing parameters are named; on failure vals holds nothing. */
static int runai_render(const runai_conf *c, const wn_fmt_job *job, const wn_conf_strv *argl,
                        size_t n, char **vals, char **reason)
{
	const char **tmpls = wn_xcalloc(n, sizeof(*tmpls));
	tmpls[T_PROJECT] = c->project;
	tmpls[T_IMAGE] = c->image;
	tmpls[T_NAME] = c->name;
	tmpls[T_GPU] = c->gpu ? c->gpu : "";
	tmpls[T_CPU] = c->cpu ? c->cpu : "";
	tmpls[T_MEM] = c->memory ? c->memory : "";
	tmpls[T_LOG] = c->log;
	size_t k = T_LISTS;
	for (size_t i = 0; i < argl->n; i++)
		tmpls[k++] = argl->v[i];
	for (size_t i = 0; i < c->extra.n; i++)
		tmpls[k++] = c->extra.v[i];
	for (size_t i = 0; i < c->env.n; i++)
		tmpls[k++] = c->env.vals[i];
	int rc = wn_fmt_expand(job, tmpls, n, vals, reason);
	free(tmpls);
	return rc;
}

/* runai_requests adds the GPU, CPU and memory requests to a: the task's
 * options (rendered in vals, which it takes), else what the job asks for. */
static void runai_requests(wn_argv *a, const runai_conf *c, const wn_fmt_job *job, char **vals)
{
	bool legacy = runai_legacy(c);
	char *gpu = c->gpu ? vals[T_GPU] : job->gpu ? wn_xasprintf("%u", job->gpu) : NULL;
	char *cpu = c->cpu ? vals[T_CPU] : job->cpu ? wn_xasprintf("%u", job->cpu) : NULL;
	char *mem = c->memory        ? vals[T_MEM]
	            : job->memory_mb ? wn_xasprintf("%lluM", (unsigned long long)job->memory_mb)
	                             : NULL;
	if (gpu != vals[T_GPU])
		free(vals[T_GPU]);
	if (cpu != vals[T_CPU])
		free(vals[T_CPU]);
	if (mem != vals[T_MEM])
		free(vals[T_MEM]);
	if (gpu != NULL) {
		wn_argv_push(a, wn_xstrdup(legacy ? "--gpu" : "--gpu-devices-request"));
		wn_argv_push(a, gpu);
	}
	if (cpu != NULL) {
		wn_argv_push(a, wn_xstrdup(legacy ? "--cpu" : "--cpu-core-request"));
		wn_argv_push(a, cpu);
	}
	if (mem != NULL) {
		wn_argv_push(a, wn_xstrdup(legacy ? "--memory" : "--cpu-memory-request"));
		wn_argv_push(a, mem);
	}
}

/* runai_env adds the job's variables to a (-e NAME=value): the WN_ ones, the
 * parameters when param_env says so, then the task's env with its rendered
 * values evals (which it frees). */
static void runai_env(wn_argv *a, const runai_conf *c, const wn_fmt_job *job, char **evals)
{
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)job->id);
	const char *wn_env[][2] = {{"WN_JOB_ID", num},
	                           {"WN_JOB_NAME", job->name ? job->name : ""},
	                           {"WN_PROJECT", job->project},
	                           {"WN_TASK", job->task},
	                           {"WN_WORKER", job->worker ? job->worker : ""},
	                           {"WN_SERVER", job->server ? job->server : ""}};
	for (size_t i = 0; i < WN_ARRAY_LEN(wn_env); i++) {
		wn_argv_push(a, wn_xstrdup("-e"));
		wn_argv_push(a, wn_xasprintf("%s=%s", wn_env[i][0], wn_env[i][1]));
	}
	wn_argv_push(a, wn_xstrdup("-e"));
	wn_argv_push(a, wn_xasprintf("WN_ATTEMPT=%u", (unsigned)job->attempt));
	if (c->param_env)
		for (size_t i = 0; i < job->nparams; i++) {
			char *name = runai_param_env(job->param_keys[i]);
			wn_argv_push(a, wn_xstrdup("-e"));
			wn_argv_push(a, wn_xasprintf("%s=%s", name, job->param_vals[i]));
			free(name);
		}
	for (size_t i = 0; i < c->env.n; i++) {
		wn_argv_push(a, wn_xstrdup("-e"));
		wn_argv_push(a, wn_xasprintf("%s=%s", c->env.keys[i], evals[i]));
		free(evals[i]);
	}
}

/* runai_build makes the run of job: its submit argv, its log file. */
static int runai_build(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	const runai_conf *c = conf;
	*out = NULL;
	if (c->param_env && runai_param_clash(job, reason))
		return WN_EINVAL;
	const wn_conf_strv *argl = c->command.n > 0 ? &c->command : &c->args;
	size_t n = T_LISTS + argl->n + c->extra.n + c->env.n;
	char **vals = wn_xcalloc(n, sizeof(*vals));
	int rc = runai_render(c, job, argl, n, vals, reason);
	if (rc != WN_OK) {
		free(vals);
		return rc;
	}
	runai_run *r = wn_xcalloc(1, sizeof(*r));
	r->conf = c;
	r->job_id = job->id;
	r->exit_code = -1;
	r->wake_fd = -1;
	r->timeout_s = job->timeout_s;
	r->project = vals[T_PROJECT];
	r->name = wn_runai_name(vals[T_NAME]);
	r->log_root = wn_safepath_root(c->log_dir, c->log);
	char *why = NULL;
	r->log_path = wn_safepath_inside(r->log_root, c->log_dir, vals[T_LOG], "log file", &why);
	wn_argv a = {NULL, 0};
	wn_argv_push(&a, wn_xstrdup(c->runai));
	if (!runai_legacy(c))
		wn_argv_push(&a, wn_xstrdup("training"));
	wn_argv_push(&a, wn_xstrdup("submit"));
	wn_argv_push(&a, wn_xstrdup(r->name));
	wn_argv_push(&a, wn_xstrdup("-p"));
	wn_argv_push(&a, wn_xstrdup(r->project));
	wn_argv_push(&a, wn_xstrdup("-i"));
	wn_argv_push(&a, vals[T_IMAGE]);
	runai_requests(&a, c, job, vals);
	runai_env(&a, c, job, vals + T_LISTS + argl->n + c->extra.n);
	for (size_t i = 0; i < c->extra.n; i++)
		wn_argv_push(&a, vals[T_LISTS + argl->n + i]);
	if (c->command.n > 0)
		wn_argv_push(&a, wn_xstrdup("--command"));
	if (argl->n > 0) {
		wn_argv_push(&a, wn_xstrdup("--"));
		for (size_t i = 0; i < argl->n; i++)
			wn_argv_push(&a, vals[T_LISTS + i]);
	}
	free(vals[T_NAME]);
	free(vals[T_LOG]);
	free(vals);
	r->submit = a.v;
	r->desc = wn_xasprintf("RUNAI workload %s in project %s", r->name, r->project);
	if (r->log_path != NULL && (why = wn_safepath_too_long(r->log_path, "log file")) != NULL) {
		free(r->log_path);
		r->log_path = NULL;
	}
	if (r->log_path == NULL) {
		runai_release(r);
		*reason = why;
		return WN_EINVAL;
	}
	*out = r;
	return WN_OK;
}

static int runai_start(void *p, int wake_fd, char **reason)
{
	runai_run *r = p;
	if (r->started)
		return WN_OK; /* submitted before: found by its name and followed */
	char *msg = NULL;
	int rc = wn_runai_call(r->conf, r->submit, wake_fd, NULL, &msg);
	if (rc == WN_ESTATE) {
		/* given up: RUNAI may have the workload or not; followed by its
		 * name to delete it (cancelled, lost), or found by the next
		 * attempt (handed back) */
		*reason = wn_xasprintf("its submission to RUNAI was given up (%s)", msg);
		free(msg);
		r->started = true;
		r->next_poll = r->pending_since = wn_mono_ms();
		return WN_ESTATE;
	}
	if (rc != 0) {
		*reason = wn_xasprintf("cannot submit to RUNAI: %s", msg);
		free(msg);
		/* submit killed for its time: RUNAI may have the workload all
		 * the same; the job is handed back and its next attempt finds
		 * that workload by its name and follows it */
		if (rc == WN_ETIMEDOUT)
			return WN_EUNAVAIL;
		return rc < 0 ? rc : WN_EINVAL;
	}
	r->started = true;
	r->pending_since = wn_mono_ms();
	r->next_poll = r->pending_since + r->conf->poll_ms;
	return WN_OK;
}

/* runai_follow makes the run of job at attempt (its log where that attempt
 * writes it) that follows workload name instead of submitting one. */
static int runai_follow(const runai_conf *c, const wn_fmt_job *job, uint32_t attempt,
                        const char *name, void **out, char **reason)
{
	wn_fmt_job at = *job;
	at.attempt = attempt;
	int rc = runai_build(c, &at, out, reason);
	if (rc != WN_OK)
		return rc;
	runai_run *r = *out;
	free(r->name);
	r->name = wn_xstrdup(name);
	free(r->desc);
	r->desc = wn_xasprintf("RUNAI workload %s in project %s", r->name, r->project);
	r->started = true;
	r->next_poll = r->pending_since = wn_mono_ms(); /* its wait counted anew */
	return WN_OK;
}

/* runai_replace deletes found's workload, which ended badly under the name
 * the new attempt takes (a name template without {attempt}); the delete is
 * given up (WN_ESTATE) once job's wake_fd is readable. */
static int runai_replace(const runai_conf *c, const wn_fmt_job *job, const wn_runai_found *found,
                         char **reason)
{
	char *project = NULL;
	const char *tmpl = c->project;
	int rc = wn_fmt_expand(job, &tmpl, 1, &project, reason);
	if (rc != WN_OK)
		return rc;
	char **argv = wn_runai_argv(c, "delete", true, found->name, project, NULL);
	char *msg = NULL;
	rc = wn_runai_call(c, argv, job->wake_fd > 0 ? job->wake_fd : -1, NULL, &msg);
	wn_argv_free(argv);
	if (rc == WN_ESTATE) {
		/* the worker stops, or the job was cancelled or lost: nothing
		 * submitted; the delete is made again by the next attempt */
		*reason = wn_xasprintf("deleting RUNAI workload %s (%s, attempt %u) to submit "
		                       "attempt %u under its name given up (%s)",
		                       found->name, found->status, (unsigned)found->attempt,
		                       (unsigned)job->attempt, msg);
	} else if (rc != 0 && !wn_runai_not_found(rc, msg, found->name)) {
		*reason = wn_xasprintf("cannot delete RUNAI workload %s (%s, attempt %u) to submit "
		                       "attempt %u under its name: %s",
		                       found->name, found->status, (unsigned)found->attempt,
		                       (unsigned)job->attempt, msg);
		rc = WN_EUNAVAIL;
	} else {
		wn_info("job %llu: RUNAI workload %s of attempt %u %s; deleted to submit attempt "
		        "%u under its name",
		        (unsigned long long)job->id, found->name, (unsigned)found->attempt,
		        found->status, (unsigned)job->attempt);
		rc = WN_OK;
	}
	free(msg);
	free(project);
	return rc;
}

/* runai_adopt describes the workloads of job's earlier attempts (this one
 * too with same) and, if one is to be followed (submitted before the server
 * learnt its name: the worker was killed between submit and its next
 * heartbeat), makes the run that follows it (*out); else *out stays NULL. */
static int runai_adopt(const runai_conf *c, const wn_fmt_job *job, bool same, void **out,
                       char **reason)
{
	*out = NULL;
	wn_runai_found found;
	int rc = wn_runai_find(c, job, same, &found, reason);
	if (rc != WN_OK || found.name == NULL)
		return rc;
	if (found.replace) {
		rc = runai_replace(c, job, &found, reason);
	} else {
		bool ended = wn_runai_status_end(found.status) != WN_RUNAI_ACTIVE;
		wn_info("job %llu: attempt %u of it %s as RUNAI workload %s (%s), submitted before "
		        "the server learnt its name: following it instead of submitting attempt %u",
		        (unsigned long long)job->id, (unsigned)found.attempt,
		        ended ? "ended" : "still runs", found.name, found.status,
		        (unsigned)job->attempt);
		rc = runai_follow(c, job, found.attempt, found.name, out, reason);
		if (rc == WN_OK)
			((runai_run *)*out)->adopted = found.attempt != job->attempt;
	}
	wn_runai_found_release(&found);
	return rc;
}

/* runai_prepare makes the run of job; an attempt after the first may have
 * been submitted before: a workload of an earlier attempt that still runs
 * or succeeded is followed (started already) instead. */
static int runai_prepare(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	*out = NULL;
	if (job->attempt > 1) {
		int rc = runai_adopt(conf, job, false, out, reason);
		if (rc != WN_OK || *out != NULL)
			return rc;
	}
	return runai_build(conf, job, out, reason);
}

static int runai_resume(const void *conf, const wn_fmt_job *job, const char *external_id,
                        void **out, char **reason)
{
	*out = NULL;
	if (external_id == NULL || external_id[0] == '\0') {
		/* submit may have answered just before the worker stopped */
		int rc = runai_adopt(conf, job, true, out, reason);
		if (rc == WN_OK && *out == NULL) {
			*reason =
			    wn_xstrdup("no RUNAI workload name was recorded for it, and RUNAI "
			               "has no workload of it to follow");
			rc = WN_ENOTFOUND;
		}
		return rc;
	}
	char *clean = wn_runai_name(external_id);
	bool ok = strcmp(clean, external_id) == 0;
	free(clean);
	if (!ok) {
		*reason = wn_xasprintf("'%s' is not a RUNAI workload name", external_id);
		return WN_EINVAL;
	}
	return runai_follow(conf, job, job->attempt, external_id, out, reason);
}

static const char *runai_describe_text(void *p)
{
	runai_run *r = p;
	return r->desc;
}

static const char *runai_external_id(void *p)
{
	runai_run *r = p;
	return r->started ? r->name : NULL;
}

static const char *runai_program(const void *conf, size_t i)
{
	return i == 0 ? ((const runai_conf *)conf)->runai : NULL;
}

const wn_fmt_ops wn_fmt_runai_ops = {
    .name = "runai",
    .load = runai_load,
    .unload = runai_unload,
    .prepare = runai_prepare,
    .start = runai_start,
    .describe = runai_describe_text,
    .wait = wn_runai_wait,
    .stop = wn_runai_stop,
    .result = wn_runai_result,
    .release = runai_release,
    .resume = runai_resume,
    .external_id = runai_external_id,
    .program = runai_program,
};
