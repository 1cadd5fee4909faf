/* bulk: the changes a user makes to a job (cancel, retry, remove, priority,
 * hold, release, parameters), each to one job loaded by the call, into the
 * call's batch; JobService's single-job methods and its Bulk apply them
 * alike. Each returns WN_OK when it changed the job, else the code that
 * refuses it (WN_ESTATE: the job's state, WN_ENOTFOUND: its task is gone)
 * with *why, from the call's arena, saying why ("job 7 is already
 * COMPLETED"); a refused change changes nothing. */
#ifndef WN_BULK_H
#define WN_BULK_H

#include "call.h"

/* wn_bulk_cancel makes a PENDING, BLOCKED or RUNNING job CANCELLED with
 * reason (NULL or "": "cancelled by user"); a RUNNING job's holder learns it
 * from its next heartbeat. */
int wn_bulk_cancel(struct call *c, wn_batch *b, Job *j, const char *reason, const char **why);
/* wn_bulk_retry makes a FAILED, CANCELLED or BLOCKED job PENDING again, its
 * failure counts and reason cleared, if its task exists and its
 * dependencies can still hold. */
int wn_bulk_retry(struct call *c, wn_batch *b, Job *j, const char **why);
/* wn_bulk_remove deletes a job that is not RUNNING and that no PENDING or
 * BLOCKED job depends on; with force any job, its dependents then BLOCKED. */
int wn_bulk_remove(struct call *c, wn_batch *b, Job *j, bool force, const char **why);
/* wn_bulk_priority gives j priority prio (its place in its class follows). */
int wn_bulk_priority(struct call *c, wn_batch *b, Job *j, int32_t prio, const char **why);
/* wn_bulk_hold holds a PENDING or BLOCKED job: it is not handed out. */
int wn_bulk_hold(struct call *c, wn_batch *b, Job *j, const char **why);
/* wn_bulk_release ends the hold of a held job. */
int wn_bulk_release(struct call *c, wn_batch *b, Job *j, const char **why);
/* wn_bulk_params sets the n parameters keys[i] = vals[i] of a PENDING or
 * BLOCKED job (others kept), the strings copied into the call's arena; the
 * names and values must have been checked; refused when the job would grow
 * past WN_REPLY_BUDGET. */
int wn_bulk_params(struct call *c, wn_batch *b, Job *j, char **keys, char **vals, size_t n,
                   const char **why);

#endif
