/* fmt_runai: the `runai` formatter. Each job attempt becomes a RUNAI
 * training workload with a name of its own ("wn-sweep-12-1"): the worker
 * submits it with the image, project, GPU, CPU and memory requests,
 * environment and the job's command and arguments (no shell), then follows
 * it with `describe` until it ends, and deletes it to cancel it. The current
 * CLI (`runai training submit|describe|delete|logs`) is the default;
 * `cli: legacy` speaks the older `runai submit`, `runai describe job`,
 * `runai delete job`, `runai logs`.
 *
 * End states: Succeeded or Completed succeed; Failed fails; a workload that
 * is Deleted, Stopped or gone (deleted outside WhatsNext) cancels the job.
 * The workload name is the run's external id; a restarted worker follows
 * the workload again from it. docs/formatters.md describes every option. */
#ifndef WN_FMT_RUNAI_H
#define WN_FMT_RUNAI_H

#include "fmt.h"

/* The runai formatter's operations. */
extern const wn_fmt_ops wn_fmt_runai_ops;

/* wn_runai_name makes a workload name out of s (malloc'd): lowercase
 * letters, digits and '-', starting with a letter, at most 63 bytes. */
char *wn_runai_name(const char *s);

/* How a RUNAI status ends a run. */
typedef enum {
	WN_RUNAI_ACTIVE = 0, /* Pending, Creating, Running, ... or unknown */
	WN_RUNAI_SUCCEEDED,
	WN_RUNAI_FAILED,
	WN_RUNAI_CANCELLED, /* Deleted, Stopped */
} wn_runai_end;

/* wn_runai_status_end classifies a status (case-insensitive). */
wn_runai_end wn_runai_status_end(const char *status);

/* wn_runai_parse_describe finds the status ("Running") and, when given, the
 * exit code in the output of describe: JSON (a "status" or "phase" string at
 * the top, or in "status", "general" or "workload") or text ("Status:
 * Running"). Returns the malloc'd status, or NULL; *exit_code is -1 when
 * none is given. */
char *wn_runai_parse_describe(const char *text, int *exit_code);

#endif
