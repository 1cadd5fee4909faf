/* check: `wnd --check` verifies every invariant of a data directory that no
 * server is using (records unpack, references between records hold, counts
 * and leases agree with the job records, request-id records are well formed,
 * m/next_id is above every id) and, with repair, fixes what can be fixed
 * without dropping an acknowledged job. docs/server.md lists the findings. */
#ifndef WN_CHECK_H
#define WN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What a check found and did. */
typedef struct wn_check_result {
	unsigned long long findings; /* found by the first look */
	unsigned long long repairs;  /* changes written by repair */
	unsigned long long left;     /* findings after repair (= findings without repair) */
} wn_check_result;

/* wn_check_run checks the data directory dir, read-only, printing each
 * finding as one line "KEY: what is wrong" and a summary line to out; with
 * repair, it then opens dir for writing, fixes what it can, printing what it
 * did, and checks again. WN_EBUSY while a wnd holds dir, another error (with
 * *errmsg malloc'd) when dir cannot be opened; else WN_OK and *res filled. */
int wn_check_run(const char *dir, bool repair, FILE *out, wn_check_result *res, char **errmsg);

#endif
