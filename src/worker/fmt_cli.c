#include "fmt_cli.h"

#include "err.h"
#include "kit.h"
#include "proc.h"
#include "resultfile.h"
#include "safepath.h"
#include "slurm_script.h"
#include "template.h"
#include "util.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define CLI_LOG_DEFAULT "{project}/{task}/{job.id}.{attempt}.log"

typedef struct cli_conf {
	wn_conf_strv command;
	char *workdir;
	wn_conf_strmap env;
	bool inherit_env;
	char *log;
	long code; /* the item of command that is a shell's code (sh -c CODE) with
	            * placeholders, its values quoted as shell code's; -1: none */
	/* from the worker */
	char *base_dir;
	char *log_dir;
	size_t tail_bytes;
	int kill_grace_ms;
} cli_conf;

static const wn_conf_key cli_keys[] = {
    WN_FMT_KEY_FORMATTER,
    WN_FMT_KEY_ARTIFACTS,
    {"command", WN_CONF_T_STRLIST, offsetof(cli_conf, command), NULL, 0, 0,
     WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "the program and its arguments, one template per argument"},
    {"workdir", WN_CONF_T_STR, offsetof(cli_conf, workdir), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "directory the command runs in (template); default: the worker's"},
    {"env", WN_CONF_T_STRMAP, offsetof(cli_conf, env), NULL, 0, 0, 0, NULL,
     "variables added to the command's environment (values are templates)"},
    {"inherit_env", WN_CONF_T_BOOL, offsetof(cli_conf, inherit_env), "true", 0, 0, 0, NULL,
     "start from the worker's environment"},
    {"log", WN_CONF_T_STR, offsetof(cli_conf, log), CLI_LOG_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the job's log file (template), relative to log_dir"},
};

typedef struct cli_run {
	const cli_conf *conf;
	char **argv;
	char **envp;
	char *workdir;
	char *log_path;
	char *log_root;     /* the log file stays inside it */
	char *results_path; /* $WN_RESULTS: beside the log */
	wn_proc *proc;
	char *desc;
} cli_run;

static void cli_unload(void *p)
{
	cli_conf *c = p;
	if (c == NULL)
		return;
	wn_conf_release(cli_keys, WN_ARRAY_LEN(cli_keys), c);
	free(c->base_dir);
	free(c->log_dir);
	free(c);
}

/* The shells whose -c takes code: a value put into that code is quoted for
 * the place it lands in, as in a SLURM script's body. */
static const char *const cli_shells[] = {"sh",    "bash", "dash", "ash",   "zsh", "ksh",
                                         "ksh93", "mksh", "yash", "rbash", "posh"};

/* cli_shell_code returns the index in argv (n items) of the code that a
 * shell reads with -c (`sh -e -c CODE ARG0 ARGS`, `bash -lc CODE`), -1 when
 * argv is no such call (its options read as the shell does: clustered
 * letters, -o/+o NAME, bash's long ones, "--" or "-" to end them). */
static long cli_shell_code(char *const *argv, size_t n)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	bool shell = false, c = false;
	for (size_t i = 0; i < WN_ARRAY_LEN(cli_shells) && !shell; i++)
		shell = strcmp(base, cli_shells[i]) == 0;
	size_t i = 1;
	for (; shell && i < n; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
			i++;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			if (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0)
				i++; /* its file follows */
			continue;
		}
		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		c = c || (a[0] == '-' && strchr(a + 1, 'c') != NULL);
		if (strpbrk(a + 1, "oO") != NULL)
			i++; /* -o NAME: its name follows */
	}
	return shell && c && i < n ? (long)i : -1;
}

/* cli_code_check finds the shell code of c's command, when a placeholder
 * stands in it, and checks where its placeholders stand (wn_slurm_script_body). */
static int cli_code_check(const wn_conf_doc *doc, const wn_conf_node *cmd, cli_conf *c,
                          char **errmsg)
{
	c->code = cli_shell_code(c->command.v, c->command.n);
	if (c->code < 0 || !wn_template_names(c->command.v[c->code], NULL)) {
		c->code = -1;
		return WN_OK;
	}
	char *body = NULL, *why = NULL;
	if (wn_slurm_script_body(c->command.v[c->code], NULL, &body, &why) == WN_OK) {
		free(body);
		return WN_OK;
	}
	const char *prefix = "cannot put a value into the script: ";
	const char *what = strncmp(why, prefix, strlen(prefix)) == 0 ? why + strlen(prefix) : why;
	*errmsg = wn_conf_error(doc, cmd->items[c->code],
	                        "'command' runs %s -c, whose code cannot take a value there: %s; "
	                        "pass values as arguments after the code instead: [sh, -c, "
	                        "'echo \"$1\"', sh, \"{v}\"]",
	                        c->command.v[0], what);
	free(why);
	return WN_EINVAL;
}

static int cli_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                    void **out, char **errmsg)
{
	cli_conf *c = wn_xcalloc(1, sizeof(*c));
	const wn_conf_node *cmd = wn_conf_get(task, "command");
	if (cmd != NULL && cmd->kind == WN_CONF_SCALAR && !wn_conf_is_null(cmd)) {
		*errmsg = wn_conf_error(doc, cmd,
		                        "expected a list for 'command' (one item per argument: "
		                        "no shell splits it)");
		free(c);
		return WN_EINVAL;
	}
	int rc = wn_conf_apply(doc, task, cli_keys, WN_ARRAY_LEN(cli_keys), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	if (c->command.v[0][0] == '\0') {
		*errmsg = wn_conf_error(doc, cmd->items[0],
		                        "the program (the first item of "
		                        "'command') must not be empty");
		rc = WN_EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < c->command.n; i++) {
		rc = wn_fmt_check_template(doc, cmd->items[i], "command", c->command.v[i], errmsg);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = cli_code_check(doc, cmd, c, errmsg)) != WN_OK)
		goto fail;
	if (c->workdir != NULL) {
		rc = wn_fmt_check_template(doc, wn_conf_get(task, "workdir"), "workdir", c->workdir,
		                           errmsg);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = wn_fmt_check_env(doc, task, &c->env, errmsg)) != WN_OK)
		goto fail;
	const wn_conf_node *logn = wn_conf_get(task, "log");
	rc = wn_fmt_check_template(doc, logn ? logn : task, "log", c->log, errmsg);
	if (rc == WN_OK)
		rc = wn_fmt_check_own_file(doc, logn ? logn : task, "log", c->log, env, errmsg);
	if (rc != WN_OK)
		goto fail;
	c->base_dir = wn_xstrdup(env->base_dir ? env->base_dir : ".");
	c->log_dir = wn_xstrdup(env->log_dir ? env->log_dir : ".");
	c->tail_bytes = env->tail_bytes;
	c->kill_grace_ms = env->kill_grace_ms;
	*out = c;
	return WN_OK;
fail:
	cli_unload(c);
	return rc;
}

static void cli_release(void *p)
{
	cli_run *r = p;
	if (r == NULL)
		return;
	wn_proc_free(r->proc);
	wn_argv_free(r->argv);
	wn_argv_free(r->envp);
	free(r->workdir);
	free(r->log_path);
	free(r->log_root);
	free(r->results_path);
	free(r->desc);
	free(r);
}

/* cli_env_put sets NAME=value in envp (n entries), replacing an earlier NAME. */
static void cli_env_put(char **envp, size_t *n, char *entry)
{
	size_t nl = strcspn(entry, "=");
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(envp[i], entry, nl) == 0 && envp[i][nl] == '=') {
			free(envp[i]);
			envp[i] = entry;
			return;
		}
	}
	envp[(*n)++] = entry;
}

/* cli_paths gives r its working directory (from the rendered wd) and log
 * file (from log), each inside its root: the directory its template starts
 * in (base_dir, log_dir or below); false with *reason when one is outside. */
static int cli_paths(const cli_conf *c, cli_run *r, const char *wd, const char *log, char **reason)
{
	if (c->workdir != NULL) {
		char *root = wn_safepath_root(c->base_dir, c->workdir);
		r->workdir = wn_safepath_inside(root, c->base_dir, wd, "working directory", reason);
		free(root);
		if (r->workdir == NULL)
			return WN_EINVAL;
	}
	r->log_root = wn_safepath_root(c->log_dir, c->log);
	r->log_path = wn_safepath_inside(r->log_root, c->log_dir, log, "log file", reason);
	if (r->log_path == NULL)
		return WN_EINVAL;
	/* a value that makes either too long fails the job before it runs, not
	 * after, when its results file cannot be read */
	r->results_path = wn_resultfile_path_beside(r->log_path);
	if ((*reason = wn_safepath_too_long(r->log_path, "log file")) != NULL ||
	    (*reason = wn_safepath_too_long(r->results_path, "results file")) != NULL)
		return WN_EINVAL;
	return WN_OK;
}

static int cli_prepare(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	const cli_conf *c = conf;
	/* Every template in one go, so that all missing parameters are named. */
	size_t ncmd = c->command.n, nenv = c->env.n;
	size_t n = ncmd + nenv + 2;
	const char **tmpls = wn_xcalloc(n, sizeof(*tmpls));
	char **vals = wn_xcalloc(n, sizeof(*vals));
	for (size_t i = 0; i < ncmd; i++)
		tmpls[i] = c->command.v[i];
	for (size_t i = 0; i < nenv; i++)
		tmpls[ncmd + i] = c->env.vals[i];
	tmpls[ncmd + nenv] = c->workdir ? c->workdir : "";
	tmpls[ncmd + nenv + 1] = c->log;
	int rc = wn_fmt_expand(job, tmpls, n, vals, reason);
	free(tmpls);
	if (rc != WN_OK) {
		free(vals);
		return rc;
	}
	if (c->code >= 0) { /* sh -c CODE: its values quoted as code's */
		char *code = NULL;
		rc = wn_slurm_script_body(c->command.v[c->code], job, &code, reason);
		if (rc != WN_OK) {
			for (size_t i = 0; i < n; i++)
				free(vals[i]);
			free(vals);
			return rc;
		}
		free(vals[c->code]);
		vals[c->code] = code;
	}
	cli_run *r = wn_xcalloc(1, sizeof(*r));
	r->conf = c;
	r->argv = wn_xcalloc(ncmd + 1, sizeof(char *));
	for (size_t i = 0; i < ncmd; i++)
		r->argv[i] = vals[i];
	rc = cli_paths(c, r, vals[ncmd + nenv], vals[ncmd + nenv + 1], reason);
	free(vals[ncmd + nenv]);
	free(vals[ncmd + nenv + 1]);
	if (rc != WN_OK) {
		for (size_t i = 0; i < nenv; i++)
			free(vals[ncmd + i]);
		free(vals);
		cli_release(r);
		return rc;
	}

	size_t nenviron = 0;
	if (c->inherit_env)
		while (environ[nenviron] != NULL)
			nenviron++;
	r->envp = wn_xcalloc(nenviron + 9 + job->nenv + nenv + 1, sizeof(char *));
	size_t ne = 0;
	for (size_t i = 0; i < nenviron; i++)
		cli_env_put(r->envp, &ne, wn_xstrdup(environ[i]));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_JOB_ID=%llu", (unsigned long long)job->id));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_JOB_NAME=%s", job->name ? job->name : ""));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_PROJECT=%s", job->project));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_TASK=%s", job->task));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_ATTEMPT=%u", (unsigned)job->attempt));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_WORKER=%s", job->worker ? job->worker : ""));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_SERVER=%s", job->server ? job->server : ""));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_LOG=%s", r->log_path));
	cli_env_put(r->envp, &ne, wn_xasprintf("WN_RESULTS=%s", r->results_path));
	for (size_t i = 0; i < job->nenv; i++)
		cli_env_put(r->envp, &ne,
		            wn_xasprintf("%s=%s", job->env_keys[i], job->env_vals[i]));
	for (size_t i = 0; i < nenv; i++) {
		cli_env_put(r->envp, &ne, wn_xasprintf("%s=%s", c->env.keys[i], vals[ncmd + i]));
		free(vals[ncmd + i]);
	}
	free(vals);
	*out = r;
	return WN_OK;
}

static int cli_start(void *p, int wake_fd, char **reason)
{
	(void)wake_fd; /* it waits for nothing */
	cli_run *r = p;
	wn_proc_spec spec = {.argv = r->argv,
	                     .envp = r->envp,
	                     .workdir = r->workdir,
	                     .log_path = r->log_path,
	                     .log_root = r->log_root,
	                     .orphan_grace_ms = r->conf->kill_grace_ms};
	int rc = wn_proc_start(&spec, &r->proc, reason);
	if (rc != WN_OK)
		return rc;
	r->desc = wn_xasprintf("process group %d, log %s", wn_proc_pid(r->proc), r->log_path);
	return WN_OK;
}

static const char *cli_output_path(void *p)
{
	cli_run *r = p;
	return r->log_path;
}

static const char *cli_results_path(void *p)
{
	cli_run *r = p;
	return r->results_path;
}

static const char *cli_describe(void *p)
{
	cli_run *r = p;
	return r->desc ? r->desc : "not started";
}

static int cli_wait(void *p, int wake_fd, int timeout_ms)
{
	cli_run *r = p;
	return r->proc ? wn_proc_wait(r->proc, wake_fd, timeout_ms) : 1;
}

static void cli_stop(void *p, bool force)
{
	cli_run *r = p;
	if (r->proc)
		wn_proc_signal(r->proc, force ? SIGKILL : SIGTERM);
}

static void cli_result(void *p, wn_fmt_result *res)
{
	cli_run *r = p;
	int code = -1, sig = 0;
	if (r->proc)
		wn_proc_status(r->proc, &code, &sig);
	res->exit_code = code;
	res->success = code == 0 && sig == 0;
	if (sig != 0) {
		const char *abbrev = sigabbrev_np(sig);
		res->reason = abbrev ? wn_xasprintf("killed by SIG%s", abbrev)
		                     : wn_xasprintf("killed by signal %d", sig);
	} else if (code != 0) {
		res->reason = wn_xasprintf("exit status %d", code);
	}
	res->output_tail =
	    r->conf->tail_bytes ? wn_proc_tail(r->log_path, r->conf->tail_bytes) : wn_xstrdup("");
}

static pid_t cli_pgid(void *p, uint64_t *mark)
{
	cli_run *r = p;
	if (r->proc == NULL)
		return 0;
	*mark = wn_proc_mark(r->proc);
	return (pid_t)wn_proc_pid(r->proc);
}

static const char *cli_workdir(void *p)
{
	return ((cli_run *)p)->workdir;
}

/* cli_program is the command's program; NULL (nothing to check) when it is
 * found only as a run starts: a relative path in the task's workdir, a name
 * on a PATH the task's env sets. */
static const char *cli_program(const void *conf, size_t i)
{
	const cli_conf *c = conf;
	if (i > 0 || c->command.n == 0)
		return NULL;
	const char *prog = c->command.v[0];
	if (prog[0] != '/' && strchr(prog, '/') != NULL && c->workdir != NULL)
		return NULL;
	for (size_t k = 0; k < c->env.n && strchr(prog, '/') == NULL; k++)
		if (strcmp(c->env.keys[k], "PATH") == 0)
			return NULL;
	return prog;
}

const wn_fmt_ops wn_fmt_cli_ops = {
    .name = "cli",
    .load = cli_load,
    .unload = cli_unload,
    .prepare = cli_prepare,
    .start = cli_start,
    .describe = cli_describe,
    .wait = cli_wait,
    .stop = cli_stop,
    .result = cli_result,
    .release = cli_release,
    .output_path = cli_output_path,
    .results_path = cli_results_path,
    .workdir = cli_workdir,
    .pgid = cli_pgid,
    .program = cli_program,
};
