#include "fmt_runai.h"

#include "err.h"
#include "log.h"
#include "proc.h"
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

#define RUNAI_NAME_DEFAULT "wn-{project}-{job.id}-{attempt}"
#define RUNAI_LOG_DEFAULT  "{project}/{task}/{job.id}.{attempt}.log"
#define RUNAI_CALL_MS      120000
#define RUNAI_NAME_MAX     63
#define RUNAI_REASON_MAX   1000

static const char *const runai_clis[] = {"training", "legacy", NULL};

typedef struct runai_conf {
	char *cli;
	char *runai;
	char *project;
	char *image;
	char *name;
	wn_conf_strv command;
	wn_conf_strv args;
	char *gpu, *cpu, *memory;
	wn_conf_strmap env;
	bool param_env;
	wn_conf_strv extra;
	int64_t poll_ms;
	bool logs;
	char *log;
	/* from the worker */
	char *log_dir;
	size_t tail_bytes;
} runai_conf;

#define RC(field) offsetof(runai_conf, field)

static const wn_conf_key runai_keys[] = {
    WN_FMT_KEY_FORMATTER,
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
    {"logs", WN_CONF_T_BOOL, RC(logs), "true", 0, 0, 0, NULL,
     "fetch the workload's logs when it ends (for the output tail)"},
    {"log", WN_CONF_T_STR, RC(log), RUNAI_LOG_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "where the fetched logs go (template), relative to log_dir"},
};

typedef struct runai_run {
	const runai_conf *conf;
	uint64_t job_id;
	char *name;
	char *project;
	char **submit; /* the submit argv, NULL-terminated */
	char *log_path;
	char *desc;
	bool started;
	bool deleting;
	bool ended;
	char *status;
	int exit_code;
	bool gone; /* describe says it no longer exists */
	int64_t next_poll;
	bool down; /* describe failed: logged once */
} runai_run;

/* ---------------------------------------------------------------- helpers */

char *wn_runai_name(const char *s)
{
	char *out = wn_xmalloc(RUNAI_NAME_MAX + 4);
	size_t n = 0;
	bool dash = false;
	for (const char *p = s; *p && n < RUNAI_NAME_MAX; p++) {
		char c = (char)tolower((unsigned char)*p);
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!ok) {
			if (n > 0 && !dash)
				out[n++] = '-';
			dash = true;
			continue;
		}
		if (n == 0 && !(c >= 'a' && c <= 'z')) {
			memcpy(out, "wn-", 3);
			n = 3;
		}
		out[n++] = c;
		dash = false;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	if (n > RUNAI_NAME_MAX)
		n = RUNAI_NAME_MAX;
	while (n > 0 && out[n - 1] == '-')
		n--;
	if (n == 0) {
		memcpy(out, "wn", 2);
		n = 2;
	}
	out[n] = '\0';
	return out;
}

wn_runai_end wn_runai_status_end(const char *status)
{
	static const char *const ok[] = {"succeeded", "completed", "complete", NULL};
	static const char *const bad[] = {"failed", "fail", NULL};
	static const char *const gone[] = {"deleted", "stopped", NULL};
	for (size_t i = 0; ok[i]; i++)
		if (strcasecmp(status, ok[i]) == 0)
			return WN_RUNAI_SUCCEEDED;
	for (size_t i = 0; bad[i]; i++)
		if (strcasecmp(status, bad[i]) == 0)
			return WN_RUNAI_FAILED;
	for (size_t i = 0; gone[i]; i++)
		if (strcasecmp(status, gone[i]) == 0)
			return WN_RUNAI_CANCELLED;
	return WN_RUNAI_ACTIVE;
}

/* runai_json_status looks for a status string in o (depth-limited). */
static const char *runai_json_status(const json_t *o, int depth)
{
	if (!json_is_object(o) || depth > 4)
		return NULL;
	static const char *const keys[] = {"status", "phase", "actualPhase", "Status", NULL};
	for (size_t i = 0; keys[i]; i++) {
		const json_t *v = json_object_get(o, keys[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			return json_string_value(v);
	}
	static const char *const nests[] = {"status", "general", "workload", "Status", NULL};
	for (size_t i = 0; nests[i]; i++) {
		const char *s = runai_json_status(json_object_get(o, nests[i]), depth + 1);
		if (s != NULL)
			return s;
	}
	return NULL;
}

/* runai_json_exit finds the first integer "exitCode" in v (depth-limited). */
static int runai_json_exit(const json_t *v, int depth)
{
	if (depth > 8)
		return -1;
	if (json_is_object(v)) {
		const json_t *e = json_object_get(v, "exitCode");
		if (json_is_integer(e) && json_integer_value(e) >= 0 &&
		    json_integer_value(e) <= 255)
			return (int)json_integer_value(e);
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			int c = runai_json_exit(x, depth + 1);
			if (c >= 0)
				return c;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			int c = runai_json_exit(x, depth + 1);
			if (c >= 0)
				return c;
		}
	}
	return -1;
}

static bool runai_word_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

char *wn_runai_parse_describe(const char *text, int *exit_code)
{
	*exit_code = -1;
	if (text == NULL)
		return NULL;
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (root != NULL) {
		const json_t *o = json_is_array(root) ? json_array_get(root, 0) : root;
		const char *s = runai_json_status(o, 0);
		char *out = s && runai_word_ok(s, strlen(s)) ? wn_xstrdup(s) : NULL;
		*exit_code = runai_json_exit(o, 0);
		json_decref(root);
		return out;
	}
	/* text: the first "Status: X" line */
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *q = p;
		while (q < p + n && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(p + n - q) > 7 && strncasecmp(q, "status", 6) == 0) {
			q += 6;
			while (q < p + n && (*q == ' ' || *q == '\t'))
				q++;
			if (q < p + n && *q == ':') {
				q++;
				while (q < p + n && (*q == ' ' || *q == '\t'))
					q++;
				size_t w = 0;
				while (q + w < p + n && !isspace((unsigned char)q[w]))
					w++;
				if (runai_word_ok(q, w))
					return strndup(q, w);
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

/* runai_one_line joins the non-blank lines of text with "; ", cut short. */
static char *runai_one_line(const char *text)
{
	size_t cap = strlen(text ? text : "") + 1;
	char *out = wn_xmalloc(cap + 2);
	size_t n = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t l = strcspn(p, "\n");
		size_t s = 0, e = l;
		while (s < e && isspace((unsigned char)p[s]))
			s++;
		while (e > s && isspace((unsigned char)p[e - 1]))
			e--;
		if (e > s) {
			if (n > 0) {
				memcpy(out + n, "; ", 2);
				n += 2;
			}
			memcpy(out + n, p + s, e - s);
			n += e - s;
		}
		p += l;
		if (*p == '\n')
			p++;
	}
	out[n] = '\0';
	if (n > RUNAI_REASON_MAX)
		strcpy(out + RUNAI_REASON_MAX - 3, "...");
	return out;
}

/* runai_call runs argv; returns 0 and its stdout in *out when it exits 0,
 * else non-zero with its message in *msg (either may be NULL). */
static int runai_call(char *const *argv, char **out, char **msg)
{
	int status = 0;
	char *o = NULL, *e = NULL;
	int rc = wn_fmt_capture(argv, RUNAI_CALL_MS, &status, &o, &e);
	if (rc == WN_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out)
			*out = o;
		else
			free(o);
		if (msg)
			*msg = NULL;
		free(e);
		return 0;
	}
	if (msg) {
		char *line = runai_one_line(e && e[0] ? e : o);
		if (line[0] == '\0') {
			free(line);
			line = rc != WN_OK         ? wn_xstrdup(e ? e : "cannot run it")
			       : WIFEXITED(status) ? wn_xasprintf("%s exited with status %d",
			                                          argv[0], WEXITSTATUS(status))
			                           : wn_xasprintf("%s was killed", argv[0]);
		}
		*msg = line;
	}
	if (out)
		*out = NULL;
	free(o);
	free(e);
	return rc != WN_OK ? rc : 1;
}

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
                            const wn_conf_strv *v, char **err)
{
	const wn_conf_node *n = wn_conf_get(task, key);
	for (size_t i = 0; i < v->n; i++) {
		int rc = wn_fmt_check_template(doc, n && n->kind == WN_CONF_SEQ ? n->items[i] : n,
		                               key, v->v[i], err);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}

static int runai_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                      void **out, char **err)
{
	runai_conf *c = wn_xcalloc(1, sizeof(*c));
	const wn_conf_node *cmd = wn_conf_get(task, "command");
	if (cmd != NULL && cmd->kind == WN_CONF_SCALAR && !wn_conf_is_null(cmd)) {
		*err = wn_conf_error(doc, cmd,
		                     "expected a list for 'command' (one item per argument: "
		                     "no shell splits it)");
		free(c);
		return WN_EINVAL;
	}
	int rc = wn_conf_apply(doc, task, runai_keys, WN_ARRAY_LEN(runai_keys), c, err);
	if (rc != WN_OK)
		goto fail;
	if (c->command.n > 0 && c->args.n > 0) {
		*err = wn_conf_error(doc, wn_conf_get(task, "args"),
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
		rc = wn_fmt_check_template(doc, n ? n : task, tkeys[i], tvals[i], err);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = runai_check_list(doc, task, "command", &c->command, err)) != WN_OK ||
	    (rc = runai_check_list(doc, task, "args", &c->args, err)) != WN_OK ||
	    (rc = runai_check_list(doc, task, "extra", &c->extra, err)) != WN_OK)
		goto fail;
	if ((rc = wn_fmt_check_env(doc, task, &c->env, err)) != WN_OK)
		goto fail;
	c->log_dir = wn_xstrdup(env->log_dir ? env->log_dir : ".");
	c->tail_bytes = env->tail_bytes;
	*out = c;
	return WN_OK;
fail:
	runai_unload(c);
	return rc;
}

/* ---------------------------------------------------------------- runs */

static void runai_free_argv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void runai_release(void *p)
{
	runai_run *r = p;
	if (r == NULL)
		return;
	free(r->name);
	free(r->project);
	runai_free_argv(r->submit);
	free(r->log_path);
	free(r->desc);
	free(r->status);
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

/* A growing argv. */
typedef struct runai_argv {
	char **v;
	size_t n;
} runai_argv;

static void runai_push(runai_argv *a, char *s)
{
	a->v = wn_xrealloc(a->v, (a->n + 2) * sizeof(char *));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static int runai_prepare(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	const runai_conf *c = conf;
	*out = NULL;
	/* every template in one go, so that all missing parameters are named */
	enum { T_PROJECT, T_IMAGE, T_NAME, T_GPU, T_CPU, T_MEM, T_LOG, T_LISTS };
	const wn_conf_strv *argl = c->command.n > 0 ? &c->command : &c->args;
	size_t n = T_LISTS + argl->n + c->extra.n + c->env.n;
	const char **tmpls = wn_xcalloc(n, sizeof(*tmpls));
	char **vals = wn_xcalloc(n, sizeof(*vals));
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
	if (rc != WN_OK) {
		free(vals);
		return rc;
	}
	runai_run *r = wn_xcalloc(1, sizeof(*r));
	r->conf = c;
	r->job_id = job->id;
	r->exit_code = -1;
	r->project = vals[T_PROJECT];
	r->name = wn_runai_name(vals[T_NAME]);
	r->log_path = vals[T_LOG][0] == '/' ? wn_xstrdup(vals[T_LOG])
	                                    : wn_xasprintf("%s/%s", c->log_dir, vals[T_LOG]);
	bool legacy = runai_legacy(c);
	runai_argv a = {0};
	runai_push(&a, wn_xstrdup(c->runai));
	if (!legacy)
		runai_push(&a, wn_xstrdup("training"));
	runai_push(&a, wn_xstrdup("submit"));
	runai_push(&a, wn_xstrdup(r->name));
	runai_push(&a, wn_xstrdup("-p"));
	runai_push(&a, wn_xstrdup(r->project));
	runai_push(&a, wn_xstrdup("-i"));
	runai_push(&a, vals[T_IMAGE]);
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
		runai_push(&a, wn_xstrdup(legacy ? "--gpu" : "--gpu-devices-request"));
		runai_push(&a, gpu);
	}
	if (cpu != NULL) {
		runai_push(&a, wn_xstrdup(legacy ? "--cpu" : "--cpu-core-request"));
		runai_push(&a, cpu);
	}
	if (mem != NULL) {
		runai_push(&a, wn_xstrdup(legacy ? "--memory" : "--cpu-memory-request"));
		runai_push(&a, mem);
	}
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)job->id);
	const char *wn_env[][2] = {{"WN_JOB_ID", num},
	                           {"WN_JOB_NAME", job->name ? job->name : ""},
	                           {"WN_PROJECT", job->project},
	                           {"WN_TASK", job->task},
	                           {"WN_WORKER", job->worker ? job->worker : ""},
	                           {"WN_SERVER", job->server ? job->server : ""}};
	for (size_t i = 0; i < WN_ARRAY_LEN(wn_env); i++) {
		runai_push(&a, wn_xstrdup("-e"));
		runai_push(&a, wn_xasprintf("%s=%s", wn_env[i][0], wn_env[i][1]));
	}
	runai_push(&a, wn_xstrdup("-e"));
	runai_push(&a, wn_xasprintf("WN_ATTEMPT=%u", (unsigned)job->attempt));
	if (c->param_env)
		for (size_t i = 0; i < job->nparams; i++) {
			char *name = runai_param_env(job->param_keys[i]);
			runai_push(&a, wn_xstrdup("-e"));
			runai_push(&a, wn_xasprintf("%s=%s", name, job->param_vals[i]));
			free(name);
		}
	size_t envat = T_LISTS + argl->n + c->extra.n;
	for (size_t i = 0; i < c->env.n; i++) {
		runai_push(&a, wn_xstrdup("-e"));
		runai_push(&a, wn_xasprintf("%s=%s", c->env.keys[i], vals[envat + i]));
		free(vals[envat + i]);
	}
	for (size_t i = 0; i < c->extra.n; i++)
		runai_push(&a, vals[T_LISTS + argl->n + i]);
	if (c->command.n > 0)
		runai_push(&a, wn_xstrdup("--command"));
	if (argl->n > 0) {
		runai_push(&a, wn_xstrdup("--"));
		for (size_t i = 0; i < argl->n; i++)
			runai_push(&a, vals[T_LISTS + i]);
	}
	free(vals[T_NAME]);
	free(vals[T_LOG]);
	free(vals);
	r->submit = a.v;
	r->desc = wn_xasprintf("RUNAI workload %s in project %s", r->name, r->project);
	*out = r;
	return WN_OK;
}

static int runai_start(void *p, char **reason)
{
	runai_run *r = p;
	char *msg = NULL;
	int rc = runai_call(r->submit, NULL, &msg);
	if (rc != 0) {
		*reason = wn_xasprintf("cannot submit to RUNAI: %s", msg);
		free(msg);
		return rc < 0 ? rc : WN_EINVAL;
	}
	r->started = true;
	r->next_poll = wn_mono_ms() + r->conf->poll_ms;
	return WN_OK;
}

static int runai_resume(const void *conf, const wn_fmt_job *job, const char *external_id,
                        void **out, char **reason)
{
	*out = NULL;
	if (external_id == NULL || external_id[0] == '\0') {
		*reason = wn_xstrdup("no RUNAI workload name was recorded for it");
		return WN_ENOTFOUND;
	}
	char *clean = wn_runai_name(external_id);
	bool ok = strcmp(clean, external_id) == 0;
	free(clean);
	if (!ok) {
		*reason = wn_xasprintf("'%s' is not a RUNAI workload name", external_id);
		return WN_EINVAL;
	}
	void *p = NULL;
	int rc = runai_prepare(conf, job, &p, reason);
	if (rc != WN_OK)
		return rc;
	runai_run *r = p;
	free(r->name);
	r->name = wn_xstrdup(external_id);
	free(r->desc);
	r->desc = wn_xasprintf("RUNAI workload %s in project %s", r->name, r->project);
	r->started = true;
	r->next_poll = wn_mono_ms();
	*out = r;
	return WN_OK;
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

/* runai_argv_for builds `runai [training] VERB NAME -p PROJECT` (legacy:
 * `runai VERB [job] NAME -p PROJECT`) plus more (NULL-terminated). */
static char **runai_argv_for(const runai_run *r, const char *verb, bool job_word,
                             const char *const *more)
{
	runai_argv a = {0};
	bool legacy = runai_legacy(r->conf);
	runai_push(&a, wn_xstrdup(r->conf->runai));
	if (!legacy)
		runai_push(&a, wn_xstrdup("training"));
	runai_push(&a, wn_xstrdup(verb));
	if (legacy && job_word)
		runai_push(&a, wn_xstrdup("job"));
	runai_push(&a, wn_xstrdup(r->name));
	runai_push(&a, wn_xstrdup("-p"));
	runai_push(&a, wn_xstrdup(r->project));
	for (size_t i = 0; more != NULL && more[i] != NULL; i++)
		runai_push(&a, wn_xstrdup(more[i]));
	return a.v;
}

static bool runai_not_found(const char *msg)
{
	return msg != NULL &&
	       (strcasestr(msg, "not found") != NULL || strcasestr(msg, "does not exist") != NULL ||
	        strcasestr(msg, "notfound") != NULL);
}

/* runai_poll describes the workload once and records its status. */
static void runai_poll(runai_run *r)
{
	static const char *const json[] = {"-o", "json", NULL};
	char **argv = runai_argv_for(r, "describe", true, json);
	char *out = NULL, *msg = NULL;
	int rc = runai_call(argv, &out, &msg);
	runai_free_argv(argv);
	if (rc == 0) {
		int code = -1;
		char *st = wn_runai_parse_describe(out, &code);
		if (st != NULL) {
			if (r->down)
				wn_info("job %llu: RUNAI answers again about workload %s",
				        (unsigned long long)r->job_id, r->name);
			r->down = false;
			free(r->status);
			r->status = st;
			if (code >= 0)
				r->exit_code = code;
			if (wn_runai_status_end(st) != WN_RUNAI_ACTIVE)
				r->ended = true;
		} else if (!r->down) {
			wn_warn("job %llu: cannot find the status of RUNAI workload %s in what "
			        "describe prints; asking again",
			        (unsigned long long)r->job_id, r->name);
			r->down = true;
		}
	} else if (runai_not_found(msg)) {
		r->gone = true;
		r->ended = true;
	} else if (!r->down) {
		wn_warn(
		    "job %llu: cannot describe RUNAI workload %s: %s; asking again every %lld ms",
		    (unsigned long long)r->job_id, r->name, msg, (long long)r->conf->poll_ms);
		r->down = true;
	}
	free(out);
	free(msg);
}

static int runai_wait(void *p, int wake_fd, int timeout_ms)
{
	runai_run *r = p;
	if (!r->started)
		return 1;
	int64_t deadline = timeout_ms >= 0 ? wn_mono_ms() + timeout_ms : -1;
	for (;;) {
		if (r->ended)
			return 1;
		int64_t now = wn_mono_ms();
		if (now >= r->next_poll) {
			runai_poll(r);
			r->next_poll = wn_mono_ms() + r->conf->poll_ms;
			continue;
		}
		if (deadline >= 0 && now >= deadline)
			return 0;
		int64_t until = deadline >= 0 && deadline < r->next_poll ? deadline : r->next_poll;
		struct pollfd pf = {.fd = wake_fd, .events = POLLIN};
		int n = poll(&pf, wake_fd >= 0 ? 1 : 0, (int)(until - now));
		if (n > 0)
			return 0;
	}
}

static void runai_stop(void *p, bool force)
{
	runai_run *r = p;
	if (!r->started || r->ended)
		return;
	r->deleting = true;
	char **argv = runai_argv_for(r, "delete", true, NULL);
	char *msg = NULL;
	int rc = runai_call(argv, NULL, &msg);
	runai_free_argv(argv);
	if (rc != 0 && !runai_not_found(msg))
		wn_warn("job %llu: cannot delete RUNAI workload %s%s: %s",
		        (unsigned long long)r->job_id, r->name, force ? " (again)" : "", msg);
	free(msg);
	r->next_poll = wn_mono_ms() + 200; /* see it go soon */
}

/* runai_fetch_logs saves the workload's logs to its log file. */
static void runai_fetch_logs(runai_run *r)
{
	char **argv = runai_argv_for(r, "logs", false, NULL);
	char *out = NULL, *msg = NULL;
	int rc = runai_call(argv, &out, &msg);
	runai_free_argv(argv);
	if (rc != 0) {
		wn_debug("job %llu: cannot fetch the logs of RUNAI workload %s: %s",
		         (unsigned long long)r->job_id, r->name, msg);
	} else if (wn_proc_mkdirs(r->log_path) == 0) {
		FILE *f = fopen(r->log_path, "we");
		if (f != NULL) {
			fputs(out, f);
			fclose(f);
		}
	}
	free(out);
	free(msg);
}

static void runai_result(void *p, wn_fmt_result *res)
{
	runai_run *r = p;
	res->exit_code = -1;
	if (!r->started)
		return;
	res->external_id = wn_xstrdup(r->name);
	if (!r->ended) {
		res->reason = wn_xasprintf("RUNAI workload %s: not followed to its end", r->name);
		return;
	}
	if (r->conf->logs && !r->gone && r->conf->tail_bytes > 0) {
		runai_fetch_logs(r);
		res->output_tail = wn_proc_tail(r->log_path, r->conf->tail_bytes);
	}
	wn_runai_end end = r->gone ? WN_RUNAI_CANCELLED : wn_runai_status_end(r->status);
	switch (end) {
	case WN_RUNAI_SUCCEEDED:
		res->success = true;
		res->exit_code = r->exit_code > 0 ? r->exit_code : 0;
		break;
	case WN_RUNAI_FAILED:
		res->exit_code = r->exit_code;
		res->reason = r->exit_code > 0
		                  ? wn_xasprintf("RUNAI workload %s %s: exit status %d", r->name,
		                                 r->status, r->exit_code)
		                  : wn_xasprintf("RUNAI workload %s %s", r->name, r->status);
		break;
	default:
		res->cancelled = !r->deleting;
		res->reason = r->gone ? wn_xasprintf("RUNAI workload %s was deleted outside "
		                                     "WhatsNext",
		                                     r->name)
		                      : wn_xasprintf("RUNAI workload %s %s outside WhatsNext",
		                                     r->name, r->status);
		break;
	}
}

const wn_fmt_ops wn_fmt_runai_ops = {
    .name = "runai",
    .load = runai_load,
    .unload = runai_unload,
    .prepare = runai_prepare,
    .start = runai_start,
    .describe = runai_describe_text,
    .wait = runai_wait,
    .stop = runai_stop,
    .result = runai_result,
    .release = runai_release,
    .resume = runai_resume,
    .external_id = runai_external_id,
};
