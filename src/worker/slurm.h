/* slurm: what SLURM says of its jobs: job ids, states, the output of squeue
 * and sacct read into rows, and how a job's end state becomes a result. Pure functions of their
 * input (fuzzed: tests/fuzz/fuzz_slurm_parse.c). */
#ifndef WN_SLURM_H
#define WN_SLURM_H

#include "fmt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest reason text taken from what SLURM says. */
#define WN_SLURM_REASON_MAX 1000

/* How a SLURM job state ends a run. */
typedef enum {
	WN_SLURM_ACTIVE = 0, /* not ended: PENDING, RUNNING, COMPLETING, ... or unknown */
	WN_SLURM_COMPLETED,
	WN_SLURM_FAILED, /* FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, ... */
	WN_SLURM_CANCELLED,
} wn_slurm_end;

/* wn_slurm_state_end classifies a state name as squeue or sacct print it
 * ("CANCELLED by 0" counts as CANCELLED). */
wn_slurm_end wn_slurm_state_end(const char *state);

/* One SLURM job as squeue or sacct reports it. */
typedef struct wn_slurm_row {
	char *id;      /* "123", or "123_4" for an array element */
	char *raw_id;  /* SLURM's own id of the job ("127"), "" if unknown */
	char *state;   /* "COMPLETED", "CANCELLED", ... (first word only) */
	int exit_code; /* -1 if unknown */
	int signal;    /* the signal that ended it, 0 if none */
	char *reason;  /* squeue's reason ("NonZeroExitCode"), "" if none */
} wn_slurm_row;

/* Rows gathered from several calls. */
typedef struct wn_slurm_rows {
	wn_slurm_row *v;
	size_t n;
} wn_slurm_rows;

/* wn_slurm_rows_put moves row into rs, in place of an earlier row of the
 * same id. */
void wn_slurm_rows_put(wn_slurm_rows *rs, wn_slurm_row *row);

/* wn_slurm_parse_squeue reads the output of
 *   squeue -h -r -t all -O 'JobID:|,JobArrayID:|,State:|,exit_code:|,Reason:|'
 * into *rows (*n of them, malloc'd). Malformed lines are skipped. */
void wn_slurm_parse_squeue(const char *text, wn_slurm_row **rows, size_t *n);

/* wn_slurm_parse_sacct reads the output of
 *   sacct -n -P -X -o JobIDRaw,JobID,State,ExitCode
 * into *rows (*n of them, malloc'd); a job listed more than once keeps its
 * last line. Malformed lines are skipped. */
void wn_slurm_parse_sacct(const char *text, wn_slurm_row **rows, size_t *n);

/* wn_slurm_row_release frees the strings of r and zeroes it. */
void wn_slurm_row_release(wn_slurm_row *r);

/* wn_slurm_rows_free frees n rows. */
void wn_slurm_rows_free(wn_slurm_row *rows, size_t n);

/* wn_slurm_id_ok tells whether s is a SLURM job id ("123") or array
 * element ("123_4"). */
bool wn_slurm_id_ok(const char *s);

/* The comment (sbatch --comment) the worker gives each SLURM job it submits
 * starts with this; slurmctld takes comments of up to 1024 bytes. */
#define WN_SLURM_TAG_PREFIX "whatsnext:"
#define WN_SLURM_TAG_MAX    1000

/* wn_slurm_tag returns the comment that names the runs of one submission,
 * made by owner (a text without ':' or ',', e.g. the worker's name and its
 * server, see wn_slurm_owner): "whatsnext:OWNER:J.A" for job J at attempt A,
 * and for a job array its elements in order, each run of consecutive job ids
 * at one attempt written as a range: "whatsnext:w1.5e1f…:12-15.1,19.2"
 * (elements 0 to 3: jobs 12 to 15, attempt 1; element 4: job 19, attempt
 * 2). The task's own comment, note (NULL: none), follows after a blank.
 * NULL when longer than WN_SLURM_TAG_MAX (malloc'd). */
char *wn_slurm_tag(const char *owner, const uint64_t *ids, const uint32_t *attempts, size_t n,
                   const char *note);

/* wn_slurm_owner returns the owner of the submissions of worker for the
 * server at address server: "WORKER.HASH", HASH 16 hex digits of the
 * address, so that the same job id of two servers sharing a cluster is not
 * taken for one (malloc'd). */
char *wn_slurm_owner(const char *worker, const char *server);

/* wn_slurm_tag_find reads comment as wn_slurm_tag writes it: true when it
 * was made by owner and names job, with *attempt the attempt it names,
 * *index the job's place among the runs and *count their number (1: a
 * plain SLURM job; more: the elements of a job array). The tag ends at the
 * end or at a blank (the task's own comment follows). Anything else, or a
 * malformed tag, is false. Fuzzed (fuzz_slurm_parse). */
bool wn_slurm_tag_find(const char *comment, const char *owner, uint64_t job, uint32_t *attempt,
                       size_t *index, size_t *count);

/* wn_slurm_outcome fills res (success, exit_code, reason, cancelled) for a
 * job that ended as row says. */
void wn_slurm_outcome(const wn_slurm_row *row, wn_fmt_result *res);

#endif
