/* fmt: the formatter interface. A formatter turns a job into work done
 * somewhere: `cli` runs a local command; `slurm` and `runai` submit to a
 * cluster and follow the submission. Each task of worker.yaml names one and
 * configures it; the agent drives every run through the same steps:
 *
 *   prepare (job -> a run, or a reason to fail without running anything)
 *   start   (launch it, or a reason it could not be launched)
 *   wait    (until it ends, the agent wakes it, or a deadline)
 *   stop    (ask it to end: politely, then by force)
 *   result  (exit code, reason, output tail, external id)
 *   free    (clean up)
 *
 * After a restart, a job the server says the worker still holds is taken
 * back with resume (instead of prepare and start) when its formatter's runs
 * outlive the worker (a SLURM job does; a local command does not).
 *
 * Such runs live elsewhere (a cluster): the worker lends them none of its
 * own GPUs, leaves the time limit to the formatter (job.timeout_s: SLURM's
 * --time, the runai formatter's own count), reports
 * their external id with each heartbeat, and leaves them running when it
 * stops. Several runs of one sweep may be started together (start_group:
 * one SLURM job array).
 *
 * A new formatter implements wn_fmt_ops and adds itself to the table in fmt.c. */
#ifndef WN_FMT_H
#define WN_FMT_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The job as a formatter sees it: plain values, owned by the caller. */
typedef struct wn_fmt_job {
	uint64_t id;
	const char *name;
	const char *project;
	const char *task;
	const char *worker;
	const char *server; /* the server's address, for jobs that talk to it */
	uint32_t attempt;
	int32_t priority;
	size_t nparams;
	const char *const *param_keys;
	const char *const *param_vals;
	/* Variables the worker gives the run: what it holds of the worker's
	 * resources (CUDA_VISIBLE_DEVICES, WN_CPUS, WN_MEMORY_MB). */
	size_t nenv;
	const char *const *env_keys;
	const char *const *env_vals;
	/* What the task asks for (0: nothing said), for formatters that pass it
	 * on to a cluster (SLURM's --cpus-per-task, --gres, --mem, --time). */
	uint32_t cpu;
	uint32_t gpu;
	uint64_t memory_mb;
	uint32_t timeout_s;
	uint64_t sweep_id; /* the sweep the job belongs to; 0 = none */
	/* The runner's wake descriptor (0: none): prepare gives up a call to
	 * the cluster (an earlier attempt's run looked for) once it is
	 * readable, and returns WN_ESTATE. */
	int wake_fd;
} wn_fmt_job;

/* Worker-wide settings a formatter may need when it loads a task. */
typedef struct wn_fmt_env {
	const char *base_dir; /* relative paths in the config are relative to this */
	const char *log_dir;  /* where job logs go, absolute */
	size_t tail_bytes;    /* how much output to send with a result */
	int kill_grace_ms;    /* between the polite and the forced stop */
	int slots;            /* how many runs the worker has at once */
} wn_fmt_env;

/* How a run ended. Strings are malloc'd; wn_fmt_result_release frees them. */
typedef struct wn_fmt_result {
	bool success;
	int exit_code;     /* the command's exit status, 128 + signal, or -1 if none */
	char *reason;      /* why it failed; NULL on success */
	char *output_tail; /* the last part of its output, valid UTF-8 */
	char *external_id; /* e.g. a SLURM job id; NULL if none */
	bool cancelled;    /* ended by a cancel outside WhatsNext (scancel, runai delete) */
} wn_fmt_result;

/* What a formatter implements. `conf` is its parsed task config, `run` one
 * attempt; both are its own types. */
typedef struct wn_fmt_ops {
	const char *name;
	/* load parses the task's mapping (including the common key "formatter",
	 * see WN_FMT_KEY_FORMATTER) into *conf; *errmsg gets a positioned message. */
	int (*load)(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
	            void **conf, char **errmsg);
	void (*unload)(void *conf);
	/* prepare builds a run for job; a failure (missing parameter, ...) gives
	 * a reason and nothing runs (WN_ESTATE: given up for job's wake_fd). */
	int (*prepare)(const void *conf, const wn_fmt_job *job, void **run, char **reason);
	/* start launches the run; a failure gives a reason. A start that
	 * waits (sbatch tried again after a pause) gives up its wait when
	 * wake_fd (-1: none) becomes readable: the worker stops, or the job
	 * was cancelled or lost meanwhile. A call to the cluster under way
	 * then (sbatch, runai submit) is killed: WN_ESTATE, the cluster may
	 * have the run, which wait, stop and result then follow (stop looks
	 * for it and removes it). */
	int (*start)(void *run, int wake_fd, char **reason);
	/* describe returns a short text for the log once started ("pid 42, log X"). */
	const char *(*describe)(void *run);
	/* wait returns 1 once the run ended, 0 when wake_fd became readable or
	 * timeout_ms (-1: none) passed. */
	int (*wait)(void *run, int wake_fd, int timeout_ms);
	/* stop asks the run to end (force: at once). */
	void (*stop)(void *run, bool force);
	/* result fills res for a run that ended. */
	void (*result)(void *run, wn_fmt_result *res);
	/* release frees a run, ending it first if it still runs. */
	void (*release)(void *run);
	/* resume takes back a run of job that this worker started before it
	 * restarted (external_id: what the run was known by, e.g. a SLURM job
	 * id; "" if none), so that wait, stop and result follow it again. NULL
	 * when runs cannot outlive the worker (cli): the job is handed back. */
	int (*resume)(const void *conf, const wn_fmt_job *job, const char *external_id, void **run,
	              char **reason);
	/* external_id returns what a started run is known by outside (a SLURM
	 * job id), NULL before it has one; NULL op: never. */
	const char *(*external_id)(void *run);
	/* start_group launches n prepared runs of one sweep and one task
	 * together (max_running: the sweep's cap, 0 = none); rcs[i] and
	 * reasons[i] say how runs[i] fared, as start would (wake_fd too). NULL
	 * op: one by one. */
	void (*start_group)(void **runs, size_t n, uint32_t max_running, int wake_fd, int *rcs,
	                    char **reasons);
	/* output_path returns the file a prepared run's output goes to, which
	 * the worker ships to the server while it runs (outship.h); NULL op or
	 * NULL: none. */
	const char *(*output_path)(void *run);
	/* results_path returns the file the run's $WN_RESULTS names, where the
	 * worker reads what the job reports (resultfile.h); NULL op or NULL: none. */
	const char *(*results_path)(void *run);
	/* workdir returns the directory a run works in (relative: to the
	 * worker's), NULL for the worker's own; NULL op: none the worker can
	 * read (its artifacts are not looked for). */
	const char *(*workdir)(void *run);
	/* program returns the i-th program the task's runs need (a name looked
	 * up on PATH, or a path), NULL past the last; NULL op: none. */
	const char *(*program)(const void *conf, size_t i);
	/* pgid returns the process group of a started run on this machine, 0
	 * when it has none, and the mark of its command's environment in *mark
	 * (proc_stray.h; 0: none); NULL op: none (it runs elsewhere). */
	pid_t (*pgid)(void *run, uint64_t *mark);
} wn_fmt_ops;

/* The key every formatter's table includes: it selects the formatter. */
#define WN_FMT_KEY_FORMATTER                                                                       \
	{                                                                                          \
		"formatter", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL,                               \
		    "how jobs of the task run: cli (default), slurm or runai"                      \
	}

/* The key of a task's artifacts (artifact_find.h), read by wn_fmt_load for
 * every formatter. */
#define WN_FMT_KEY_ARTIFACTS                                                                       \
	{                                                                                          \
		"artifacts", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL,                               \
		    "files the run produces, recorded after it (docs/worker.md, Artifacts)"        \
	}

/* wn_fmt_job_value returns the value of template name for job: a built-in
 * ({job.id}, {job.name}, {job.priority}, {project}, {task}, {attempt},
 * {worker}) first, then "param.NAME", then the parameter NAME; NULL if none.
 * Numbers are written into buf (n bytes). */
const char *wn_fmt_job_value(const wn_fmt_job *job, const char *name, char *buf, size_t n);

/* wn_fmt_expand renders the n templates tmpls for job into out[0..n)
 * (malloc'd strings). On failure nothing is stored and *reason names every
 * missing parameter ("missing parameters 'lr', 'epochs'") or the malformed
 * template. */
int wn_fmt_expand(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                  char **reason);

/* wn_fmt_expand_quoted is wn_fmt_expand with every substituted value passed
 * through quote (which returns a malloc'd string), e.g. shell quoting for a
 * template that becomes a script. */
int wn_fmt_expand_quoted(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                         char **reason, char *(*quote)(const char *value));

/* wn_fmt_capture runs argv (argv[0] looked up in PATH, no shell) with stdin
 * from /dev/null and returns its wait status, stdout and stderr (malloc'd,
 * NUL-terminated, each cut at 16 MiB), or a negative WN_E* with *out_err
 * saying why it could not run (WN_EUNAVAIL when this machine is short of
 * memory, processes or descriptors to start it, WN_ENOTFOUND when argv[0] is
 * not there). After timeout_ms (-1: none) it is killed and
 * WN_ETIMEDOUT is returned. */
int wn_fmt_capture(char *const *argv, int timeout_ms, int *status, char **out, char **out_err);

/* wn_fmt_capture_wake is wn_fmt_capture given up as soon as wake_fd (-1:
 * none) is readable (the worker stops, the job was cancelled or lost): argv
 * is killed and WN_ESTATE returned; wake_fd is left unread. */
int wn_fmt_capture_wake(char *const *argv, int timeout_ms, int wake_fd, int *status, char **out,
                        char **out_err);

/* A task's configured formatter (opaque). */
typedef struct wn_fmt wn_fmt;

/* One attempt of a job going through a formatter (opaque). */
typedef struct wn_fmt_run wn_fmt_run;

/* wn_fmt_load reads the task mapping: its "formatter" key (default "cli")
 * picks the formatter, which parses the rest. */
int wn_fmt_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                wn_fmt **out, char **errmsg);

/* wn_fmt_free frees a formatter; NULL is a no-op. */
void wn_fmt_free(wn_fmt *f);

/* wn_fmt_name returns the formatter's name ("cli"). */
const char *wn_fmt_name(const wn_fmt *f);

/* wn_fmt_programs_check finds the programs f's runs need (wn_fmt_ops'
 * program): 0, or WN_ENOTFOUND with *errmsg naming the first one that is
 * not on PATH or not executable. */
int wn_fmt_programs_check(const wn_fmt *f, char **errmsg);

/* wn_fmt_names returns the known formatter names, comma-separated. */
const char *wn_fmt_names(void);

/* wn_fmt_prepare builds a run of job; on failure *reason says why and
 * nothing may run. */
int wn_fmt_prepare(const wn_fmt *f, const wn_fmt_job *job, wn_fmt_run **out, char **reason);

/* wn_fmt_can_resume tells whether f's runs outlive the worker, so that a
 * restarted worker can follow them again (wn_fmt_resume). */
bool wn_fmt_can_resume(const wn_fmt *f);

/* wn_fmt_resume takes back a started run of job (known as external_id, "" if
 * none) after a restart of the worker; on failure *reason says why. */
int wn_fmt_resume(const wn_fmt *f, const wn_fmt_job *job, const char *external_id, wn_fmt_run **out,
                  char **reason);

/* wn_fmt_start launches the run; on failure *reason says why. A wait of
 * the start is given up once wake_fd (-1: none) is readable. */
int wn_fmt_start(wn_fmt_run *r, int wake_fd, char **reason);

/* wn_fmt_start_exit is the exit code reported for a local run that could not
 * start (rc, wn_fmt_start's): 127 when its program is not there, 126 when it
 * is and cannot be run, as a shell says; -1 when nothing ran (no working
 * directory, a missing parameter). */
int wn_fmt_start_exit(int rc);

/* wn_fmt_external_id returns what a started run is known by outside the
 * worker (a SLURM job id), or NULL. */
const char *wn_fmt_external_id(wn_fmt_run *r);

/* wn_fmt_output_path returns the file a prepared run's output goes to, or
 * NULL when the worker cannot read it while the job runs. */
const char *wn_fmt_output_path(wn_fmt_run *r);
/* wn_fmt_results_path returns the file a prepared run's $WN_RESULTS names,
 * or NULL when the worker cannot read what the job reports. */
const char *wn_fmt_results_path(wn_fmt_run *r);

/* A set of runs of one sweep, started together once every member is
 * prepared or gave up (opaque; shared by the members' threads). */
typedef struct wn_fmt_group wn_fmt_group;

/* wn_fmt_can_group tells whether f starts runs of one sweep together. */
bool wn_fmt_can_group(const wn_fmt *f);

/* wn_fmt_group_new makes a group of n members for sweep runs of f whose
 * cap is max_running (0: none); each member calls wn_fmt_group_start or
 * wn_fmt_group_leave once, then wn_fmt_group_unref. */
wn_fmt_group *wn_fmt_group_new(const wn_fmt *f, size_t n, uint32_t max_running);

/* wn_fmt_group_start adds the prepared run r to g and waits until every
 * member has come or left; the last to come starts them all. Returns what
 * wn_fmt_start would for r. */
int wn_fmt_group_start(wn_fmt_group *g, wn_fmt_run *r, int wake_fd, char **reason);

/* wn_fmt_group_leave tells g that a member will not come (it has nothing
 * to start). */
void wn_fmt_group_leave(wn_fmt_group *g);

/* wn_fmt_group_unref drops one member's reference; the last frees g. */
void wn_fmt_group_unref(wn_fmt_group *g);

/* wn_fmt_artifacts returns the task's `artifacts:` setting, NULL if none. */
const struct wn_artifacts_conf *wn_fmt_artifacts(const wn_fmt *f);

/* wn_fmt_run_artifacts returns the run's artifact globs, rendered for its
 * job; *n gets their number. */
char *const *wn_fmt_run_artifacts(const wn_fmt_run *r, size_t *n);

/* wn_fmt_workdir returns the directory the run works in ("" for the
 * worker's own), or NULL when its formatter has none the worker can read. */
const char *wn_fmt_workdir(wn_fmt_run *r);

/* wn_fmt_describe returns a short description of a started run for the log. */
const char *wn_fmt_describe(wn_fmt_run *r);

/* wn_fmt_pgid returns the process group of a started run on this machine, 0
 * when it has none, and the mark of its command's environment in *mark
 * (WN_RUN, proc_stray.h; 0: none). */
pid_t wn_fmt_pgid(wn_fmt_run *r, uint64_t *mark);

/* wn_fmt_wait returns 1 once the run ended, 0 when wake_fd became readable
 * or timeout_ms (-1: no limit) passed. */
int wn_fmt_wait(wn_fmt_run *r, int wake_fd, int timeout_ms);

/* wn_fmt_stop asks the run to end: force false is the polite request
 * (SIGTERM), true ends it at once (SIGKILL). */
void wn_fmt_stop(wn_fmt_run *r, bool force);

/* wn_fmt_collect fills res for a run that ended. */
void wn_fmt_collect(wn_fmt_run *r, wn_fmt_result *res);

/* wn_fmt_result_release frees the strings of res. */
void wn_fmt_result_release(wn_fmt_result *res);

/* wn_fmt_run_free ends the run if it still runs and frees it; NULL is a no-op. */
void wn_fmt_run_free(wn_fmt_run *r);

/* wn_fmt_check_template checks a template written at node for config key;
 * on failure *errmsg gets a positioned message. */
int wn_fmt_check_template(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                          const char *tmpl, char **errmsg);

/* wn_fmt_check_own_file checks the template tmpl of key, written at node,
 * of a run's own file (its log or output, with its results file beside):
 * one without {job.id} would give runs at once one file, when env lets the
 * worker have several; on failure *errmsg gets a positioned message. */
int wn_fmt_check_own_file(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                          const char *tmpl, const wn_fmt_env *env, char **errmsg);

/* wn_fmt_check_env checks the 'env' mapping of a task (loaded into env):
 * every name a valid environment variable name, every value a valid
 * template; on failure *errmsg gets a positioned message. */
int wn_fmt_check_env(const wn_conf_doc *doc, const wn_conf_node *task, const wn_conf_strmap *env,
                     char **errmsg);

#endif
