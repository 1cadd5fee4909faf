/* runai: what the RUNAI CLI accepts and prints: workload names, statuses and
 * the output of `describe`. Pure functions of their input. */
#ifndef WN_RUNAI_H
#define WN_RUNAI_H

/* wn_runai_name makes a workload name out of s (malloc'd): lowercase
 * letters, digits and '-', starting with a letter, at most 63 bytes; a
 * longer one is cut to 54 and ends in '-' and 8 hex digits of a hash of the
 * whole, so names that differ only past the cut stay apart. */
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
 * the top, or in "status", "general" or "workload"; lines of text before it
 * skipped; the first "exitCode" above 0, else the first) or text ("Status:
 * Running"). Returns the malloc'd status, or NULL; *exit_code is -1 when
 * none is given. */
char *wn_runai_parse_describe(const char *text, int *exit_code);

#endif
