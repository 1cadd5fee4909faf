/* batch: the file format of `wnctl job batch` (docs/cli.md), and dependencies
 * written as text.
 *
 * A batch file holds JSON jobs: one array of objects, one object per line, or
 * one object {"sweep": {"name", "max_running"}, "jobs": [...]}. Each job is
 * {"project", "task", "name", "params": {K: V}, "priority", "after": [...]},
 * an entry of "after" a job id, "ID[:COND]", "NAME[:COND]" (another job of the
 * batch) or {"job_id" or "ref", "condition"}. The reader prints nothing and
 * never exits: bad input is one returned message that names the line (or the
 * array element) and the field. */
#ifndef WN_CTL_BATCH_H
#define WN_CTL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "whatsnext.pb-c.h"

/* Names of the dependency conditions, for messages. */
#define WN_CTL_BATCH_CONDITIONS "afterok, afterany or afternotok"

/* A dependency written as text: on job job_id, or (job_id 0) on the job of the batch
 * whose name is the first ref_len bytes of the text; condition is a
 * WHATSNEXT__V1__DEP_CONDITION__* value. */
struct wn_ctl_batch_dep {
	uint64_t job_id;
	size_t ref_len;
	int condition;
};

/* wn_ctl_batch_dep_parse parses "ID[:COND]", or with refs also "NAME[:COND]", into *d (the
 * condition defaults to afterok); returns 0, or WN_EINVAL with a malloc'd *errmsg saying what
 * was expected when s is neither. */
int wn_ctl_batch_dep_parse(const char *s, bool refs, struct wn_ctl_batch_dep *d, char **errmsg);

/* The jobs of a batch file, and the sweep it asks for. */
typedef struct wn_ctl_batch wn_ctl_batch;

/* wn_ctl_batch_parse reads the len bytes at buf (no terminating NUL needed), the batch file that
 * messages call name ("jobs.json", "stdin"); a job with no "project" or "task" gets project
 * or task (NULL: none, an error). Every dependency given by name must name exactly one job of
 * the batch. Returns 0 with the batch in *out (free it with wn_ctl_batch_free), or WN_EINVAL with
 * *out NULL and a malloc'd one-line message in *errmsg. */
int wn_ctl_batch_parse(const char *buf, size_t len, const char *name, const char *project,
                       const char *task, wn_ctl_batch **out, char **errmsg);

/* wn_ctl_batch_count returns the number of jobs of b (at least one). */
size_t wn_ctl_batch_count(const wn_ctl_batch *b);

/* wn_ctl_batch_jobs returns the jobs of b in file order, ready for a SubmitBatchRequest; they
 * belong to b. */
Whatsnext__V1__JobSpec **wn_ctl_batch_jobs(const wn_ctl_batch *b);

/* wn_ctl_batch_sweep returns the sweep the file asks for ({"sweep": {...}, "jobs": [...]}), or
 * NULL when it asks for none; it belongs to b. */
const Whatsnext__V1__SweepSpec *wn_ctl_batch_sweep(const wn_ctl_batch *b);

/* wn_ctl_batch_free frees b and everything it holds; NULL is a no-op. */
void wn_ctl_batch_free(wn_ctl_batch *b);

#endif
