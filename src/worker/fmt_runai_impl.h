/* fmt_runai_impl: the runai formatter's own types, shared by its files
 * (fmt_runai.c: the task's settings and a run made and submitted;
 * runai_follow.c: the runai program called, and a workload followed to its
 * end; runai_find.c: the workloads of a job's earlier attempts looked for
 * before it is submitted).
 * Private to them: the rest of the worker uses fmt_runai.h. */
#ifndef WN_FMT_RUNAI_IMPL_H
#define WN_FMT_RUNAI_IMPL_H

#include "conf.h"
#include "fmt_runai.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNAI_NAME_DEFAULT "wn-{project}-{job.id}-{attempt}"
#define RUNAI_REASON_MAX   1000

/* A task's settings (worker.yaml). */
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
	int64_t call_ms;    /* a runai call not done by then is killed */
	int64_t status_ms;  /* describes without a status for so long: the workload is deleted */
	int64_t pending_ms; /* not Running so long after its submission: deleted; 0: never */
	bool logs;
	char *log;
	/* from the worker */
	char *log_dir;
	size_t tail_bytes;
} runai_conf;

/* One attempt of a job: its workload. */
typedef struct runai_run {
	const runai_conf *conf;
	uint64_t job_id;
	char *name;
	char *project;
	char **submit; /* the submit argv, NULL-terminated */
	char *log_path;
	char *log_root; /* the log file stays inside it */
	char *desc;
	bool started;
	bool deleting;
	bool ended;
	char *status;
	int exit_code;
	bool gone; /* describe says it no longer exists */
	int64_t next_poll;
	int64_t redelete_at;   /* monotonic ms: delete failed, try it again then; 0: no */
	bool down;             /* describe failed: logged once */
	bool adopted;          /* an earlier attempt's workload, followed instead of submitting */
	int wake_fd;           /* the runner's, in start and wait: a call is given up then; -1 */
	uint32_t timeout_s;    /* the task's timeout, counted once it runs; 0: none */
	int64_t running_since; /* monotonic ms describe first said Running; 0: not yet */
	bool timed_out;        /* deleted for the timeout */
	bool logs_saved;       /* its logs saved before it was deleted for the timeout */
	int64_t blind_since;   /* monotonic ms describe began to answer without a status; 0 */
	char *said;            /* what it printed then (wn_runai_printed) */
	bool blind;            /* deleted: no status for status_ms */
	int64_t pending_since; /* monotonic ms it was submitted, or first followed; 0: not yet */
	bool unstarted;        /* deleted: not Running pending_ms after pending_since */
} runai_run;

/* wn_runai_call runs argv, killed after c's call_timeout_ms, or as soon as
 * wake_fd (-1: none) is readable; returns 0 and its stdout in *out when it
 * exits 0, else non-zero (1: it ran and failed; WN_ETIMEDOUT: killed for
 * its time; WN_ESTATE: killed for wake_fd; other negative: it could not
 * run) with its message in *msg (either may be NULL). */
int wn_runai_call(const runai_conf *c, char *const *argv, int wake_fd, char **out, char **msg);

/* wn_runai_wait, wn_runai_stop and wn_runai_result are the formatter's
 * wait, stop and result (runai_follow.c). */
int wn_runai_wait(void *run, int wake_fd, int timeout_ms);
void wn_runai_stop(void *run, bool force);
void wn_runai_result(void *run, wn_fmt_result *res);

/* wn_runai_printed says what a runai call that exited 0 printed, for a
 * message: its lines on one line, quoted and cut to 200 bytes, or "nothing"
 * (malloc'd). */
char *wn_runai_printed(const char *out);

/* wn_runai_argv builds `runai [training] VERB NAME -p PROJECT` (legacy:
 * `runai VERB [job] NAME -p PROJECT`) plus more (NULL-terminated). */
char **wn_runai_argv(const runai_conf *c, const char *verb, bool job_word, const char *name,
                     const char *project, const char *const *more);

/* wn_runai_not_found tells whether msg, the error of a runai call that ran
 * (rc 1), says that workload name does not exist. */
bool wn_runai_not_found(int rc, const char *msg, const char *name);

/* What wn_runai_find found of a job's earlier attempts (malloc'd strings). */
typedef struct wn_runai_found {
	char *name; /* the workload to follow, or to delete (replace); NULL: none */
	char *status;
	uint32_t attempt; /* the attempt it was submitted for */
	bool replace;     /* it ended badly under the name this attempt takes: delete it first */
} wn_runai_found;

/* wn_runai_find describes the workloads of job's attempts before this one
 * (this one too with same: a job held for the worker with no name), the
 * latest first, at most RUNAI_FIND_MAX, up to the first that exists: one
 * of this attempt (same), or that still runs or succeeded, is to be
 * followed; one that failed or was deleted means a new submission (to be
 * deleted first when it has this attempt's name). WN_OK, found or not;
 * WN_EUNAVAIL when describe fails otherwise than "not found" (nothing may
 * be submitted); WN_ESTATE when a describe was given up for job's wake_fd;
 * a template error's code. */
int wn_runai_find(const runai_conf *c, const struct wn_fmt_job *job, bool same,
                  wn_runai_found *found, char **reason);

/* wn_runai_found_release frees what found holds. */
void wn_runai_found_release(wn_runai_found *found);

#endif
