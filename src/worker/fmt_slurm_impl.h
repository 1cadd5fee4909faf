/* fmt_slurm_impl: the slurm formatter's own types, shared by its files
 * (fmt_slurm.c: the task's settings and a run's life; slurm_submit.c: the
 * batch script assembled, written and submitted, alone or as a job array;
 * slurm_find.c: a job submitted before looked for in squeue by its tag;
 * slurm_follow.c: a submitted job waited for, stopped and its end read).
 * Private to them: the rest of the worker uses fmt_slurm.h. */
#ifndef WN_FMT_SLURM_IMPL_H
#define WN_FMT_SLURM_IMPL_H

#include "fmt_slurm.h"
#include "slurm.h"
#include "slurm_poll.h"
#include "slurm_submit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLURM_OUTPUT_DEFAULT "{project}/{task}/{job.id}.{attempt}.out"
#define SLURM_NAME_DEFAULT   "{project}.{task}"
#define SLURM_SUBMIT_MS      120000 /* sbatch may wait on a busy controller */
#define SLURM_CUT_FIND_MS    10000  /* a cut sbatch's job is looked for this long */
#define SLURM_CUT_AGAIN_MS   1000   /* ... this often (poll_ms if shorter) */

/* A task's settings (worker.yaml), with the poller that follows its jobs. */
typedef struct slurm_conf {
	char *script;
	char *shell;
	char *job_name;
	char *partition, *time, *nodes, *ntasks, *cpus_per_task, *mem, *gres, *gpus, *account, *qos,
	    *constraint;
	char *workdir;
	char *output;
	char *error;
	wn_conf_strv extra;
	wn_conf_strmap env;
	bool array;
	int64_t array_max;
	int64_t poll_ms;
	int64_t pending_ms; /* not started so long after its submission: cancelled; 0: never */
	char *accounting;
	char *sbatch, *squeue, *sacct, *scancel;
	/* from the worker */
	char *log_dir;
	size_t tail_bytes;
	wn_slurm_poll *poll; /* owned: made when the task loads, freed with it */
} slurm_conf;

/* One attempt of a job as a SLURM batch job. */
typedef struct slurm_run {
	slurm_conf *conf;
	uint64_t job_id;
	uint32_t attempt;
	char *project, *task;
	char *owner;   /* in the tag of its submission: wn_slurm_owner */
	char *comment; /* the task's own --comment (extra), after the tag; or NULL */
	char *job_name;
	char **opts; /* "--partition=debug", ... (without job name, output, error) */
	size_t nopts;
	char *opts_key;     /* the options joined: runs with equal keys may share an array */
	char *output;       /* absolute */
	char *error;        /* absolute, or NULL: with the output */
	char *out_root;     /* the output (and the script beside it) stays inside it */
	char *err_root;     /* the error file stays inside it */
	char *exports;      /* "export NAME=value" lines */
	char *results_path; /* $WN_RESULTS: beside the output, absolute */
	char *body;
	char *script_path;
	char *desc;
	char *ext_id;          /* once submitted: "123" or "123_4" */
	int efd;               /* signalled by the poller when the job ended */
	wn_slurm_watch *watch; /* once submitted: the poller follows it */
	bool cancelling;       /* the worker asked scancel */
	int64_t rescancel_at;  /* monotonic ms: scancel failed, try it again then; 0: no */
	bool cut;              /* sbatch was given up: SLURM may have the job, id unknown */
	int64_t cut_at;        /* monotonic ms it was given up */
	int64_t refind_at;     /* monotonic ms: squeue failed to say, ask again then; 0: no */
	int wake_fd;           /* the runner's: scancel and squeue are given up then; -1 */
	int64_t pending_since; /* monotonic ms it was submitted, or first followed */
	bool ran;              /* squeue said it started (pending_ms counts no more) */
	bool unstarted;        /* cancelled: not started pending_ms after pending_since */
	char *wait_reason;     /* then: squeue's Reason for its wait */
} slurm_run;

/* wn_slurm_submit_started records that r is SLURM job id and has the
 * task's poller follow it. */
void wn_slurm_submit_started(slurm_run *r, const char *id);

/* A SLURM job found by the tag of its submission. */
typedef struct wn_slurm_found {
	char *id;         /* "123" or "123_4"; NULL: none found */
	char *state;      /* as squeue says */
	uint32_t attempt; /* the attempt it runs */
} wn_slurm_found;

/* wn_slurm_find asks squeue (one call, the worker's user's jobs) for a SLURM job
 * submitted by owner (wn_slurm_owner) for job, now at attempt, that is to be followed rather
 * than submitted again: tagged with that attempt, or with an earlier one
 * still running or completed and followed by no run of this worker (the
 * latest such attempt). Found or not: WN_OK; squeue failed: WN_EUNAVAIL,
 * with *reason; given up once wake_fd (-1: none) is readable: WN_ESTATE. */
int wn_slurm_find(const slurm_conf *c, const char *owner, uint64_t job, uint32_t attempt,
                  int wake_fd, wn_slurm_found *found, char **reason);

/* wn_slurm_find_cut looks in squeue for the SLURM job of r, whose sbatch
 * was given up (cut): one tagged with r's attempt is followed (true);
 * none is looked for again (refind_at) until SLURM_CUT_FIND_MS after the
 * cut, as the controller may register a request it read before sbatch was
 * killed after a lookup, and then means SLURM never took it (r is cut no
 * more); squeue failing is tried again after poll_ms, and one given up for
 * r's wake_fd at the next wait. */
bool wn_slurm_find_cut(slurm_run *r);

/* wn_slurm_found_release frees what found holds. */
void wn_slurm_found_release(wn_slurm_found *found);

/* wn_slurm_wait, wn_slurm_stop and wn_slurm_result are the formatter's
 * wait, stop and result (slurm_follow.c). */
int wn_slurm_wait(void *run, int wake_fd, int timeout_ms);
void wn_slurm_stop(void *run, bool force);
void wn_slurm_result(void *run, wn_fmt_result *res);

#endif
