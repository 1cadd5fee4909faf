/* batch: the file format of `wnctl job batch` (docs/cli.md): JSON jobs, as one array of
 * objects, one object per line, or one object {"sweep": {...}, "jobs": [...]}; and
 * dependencies written as text ("12", "12:afterany", "prep:afternotok"). */
#ifndef WN_CTL_BATCH_H
#define WN_CTL_BATCH_H

#include "ctl.h"

/* Names of the dependency conditions, for messages. */
#define JOB_CONDITIONS "afterok, afterany or afternotok"

/* The jobs of a batch file, and the sweep it asks for. */
struct wn_batch_result {
	Whatsnext__V1__JobSpec **jobs;
	size_t n;
	Whatsnext__V1__SweepSpec sweep;
	bool has_sweep;
};

/* wn_batch_dep_parse parses "ID[:COND]", or with refs also "NAME[:COND]" (NAME: another job
 * of the batch), into a dependency; returns NULL with *why set when s is neither. */
Whatsnext__V1__Dependency *wn_batch_dep_parse(wn_ctl *c, const char *s, bool refs,
                                              const char **why);

/* wn_batch_parse reads the batch file name held in buf into out. */
void wn_batch_parse(wn_ctl *c, const char *buf, size_t len, const char *name, const char *project,
                    const char *task, struct wn_batch_result *out);

#endif
