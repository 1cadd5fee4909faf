/* fmt_slurm: the `slurm` formatter. Each job becomes a SLURM batch job: the
 * worker writes a batch script (#SBATCH lines from the task's options, then
 * the body from its `script` template with every substituted value
 * shell-quoted), submits it with `sbatch --parsable`, and follows the SLURM
 * job until it ends. One poller follows every SLURM job of the worker with a
 * single `squeue` call per round; a job SLURM no longer lists is looked up
 * with `sacct` (accounting) or `sacct -c` (the job completion log).
 *
 * End states: COMPLETED succeeds; FAILED (with its exit code), TIMEOUT,
 * OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE fail with the
 * state in the reason; CANCELLED by someone else cancels the job. The SLURM
 * job id is the run's external id; a restarted worker follows the job again
 * from it (resume). Jobs of one sweep may go as one job array (start_group).
 * docs/formatters.md describes every option. */
#ifndef WN_FMT_SLURM_H
#define WN_FMT_SLURM_H

#include "fmt.h"

#include <stdbool.h>
#include <stddef.h>

/* The slurm formatter's operations. */
extern const wn_fmt_ops wn_fmt_slurm_ops;

/* wn_slurm_quote returns s as one shell word (malloc'd): unchanged when it
 * is made only of [A-Za-z0-9@%+:,./_-], else in single quotes ('' for ""). */
char *wn_slurm_quote(const char *s);

/* wn_slurm_directive_word returns s as one word of an #SBATCH line
 * (malloc'd): unchanged when it holds no blank, quote, backslash or '#',
 * else in double quotes with '"' and '\' escaped. */
char *wn_slurm_directive_word(const char *s);

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

/* wn_slurm_parse_squeue reads the output of
 *   squeue -h -r -t all -O 'JobID:|,JobArrayID:|,State:|,exit_code:|,Reason:|'
 * into *rows (*n of them, malloc'd). Malformed lines are skipped. */
void wn_slurm_parse_squeue(const char *text, wn_slurm_row **rows, size_t *n);

/* wn_slurm_parse_sacct reads the output of
 *   sacct -n -P -X -o JobIDRaw,JobID,State,ExitCode
 * into *rows (*n of them, malloc'd); a job listed more than once keeps its
 * last line. Malformed lines are skipped. */
void wn_slurm_parse_sacct(const char *text, wn_slurm_row **rows, size_t *n);

/* wn_slurm_rows_free frees n rows. */
void wn_slurm_rows_free(wn_slurm_row *rows, size_t n);

/* wn_slurm_id_ok tells whether s is a SLURM job id ("123") or array
 * element ("123_4"). */
bool wn_slurm_id_ok(const char *s);

/* wn_slurm_outcome fills res (success, exit_code, reason, cancelled) for a
 * job that ended as row says. */
void wn_slurm_outcome(const wn_slurm_row *row, wn_fmt_result *res);

/* wn_slurm_body renders the script template tmpl (its syntax checked) for
 * job into *out (malloc'd), each value quoted for the place it lands in: a
 * word, a double- or single-quoted string, $'...', backquotes, a comment, a
 * here-document. With job NULL it only checks where the placeholders stand.
 * A value that cannot go where it stands (right after '$', as or into a
 * here-document's delimiter line, ...) fails with *reason saying why. */
int wn_slurm_body(const char *tmpl, const wn_fmt_job *job, char **out, char **reason);

/* wn_slurm_script returns the batch script of a prepared run (malloc'd). */
char *wn_slurm_script(const void *run);

/* wn_slurm_array_script returns the batch script of runs[0..n) submitted as
 * one job array with at most max_running elements at once (0: no cap). */
char *wn_slurm_array_script(void *const *runs, size_t n, uint32_t max_running);

#endif
