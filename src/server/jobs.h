/* jobs: new jobs (ids, insertion), the job status transitions that keep the
 * dispatch classes, the counts, the fleet's holdings and the dependents in
 * step; the removal of jobs; what a reply shows of a job that only memory
 * knows. */
#ifndef WN_JOBS_H
#define WN_JOBS_H

#include "call.h"
#include "project.h"

/* wn_job_set_status moves j to status `to` and keeps everything in step: the
 * counts of its project and sweep, the ready queues, and its dependents,
 * transitively (their records go into b too). Moving to PENDING may end in
 * BLOCKED when a dependency can no longer hold. */
void wn_job_set_status(struct call *c, wn_batch *b, struct project *p, Job *j, int to);
/* wn_job_remove_many deletes the n jobs v of p (loaded by this call) in b, takes
 * them out of every queue, and, if propagate, lets their dependents see them
 * gone (those become BLOCKED). If what one of them reported cannot all be read
 * it changes nothing and fails the call (UNAVAILABLE; logged). */
int wn_job_remove_many(struct call *c, wn_batch *b, struct project *p, Job **v, size_t n,
                       bool propagate);
/* wn_project_remove_jobs deletes every job of p (of task, if not NULL) in b and
 * drops them from the in-memory queues; jobs of other tasks that depend on
 * them become BLOCKED. *removed: how many were removed. If the store cannot
 * be read it changes nothing and fails the call (UNAVAILABLE). */
int wn_project_remove_jobs(struct call *c, struct project *p, const char *task, wn_batch *b,
                           uint64_t *removed);
/* wn_job_assign_id gives new job j the next id, its creation time now and, if
 * it has none, its default name ("<task>-<id>"). */
void wn_job_assign_id(struct call *c, Job *j, int64_t now);
/* wn_job_insert stores a new job: its record, its reverse edges, its place in
 * the queue (ready, waiting, or BLOCKED when a dependency already failed). */
void wn_job_insert(struct call *c, wn_batch *b, struct project *p, Job *j);
/* wn_job_ids_left refuses a request for n new ids beyond the last one: an id
 * never wraps round to one in use. */
int wn_job_ids_left(struct call *c, size_t n);
/* wn_job_ids_store adds to b the bound above the ids handed out (m/next_id) if
 * the ids in use passed the one stored. */
void wn_job_ids_store(struct call *c, wn_batch *b);
/* The lease of a RUNNING job (lease.h keeps the deadlines), and the mark
 * of a job cancelled while it ran, which its holder learns at its next
 * heartbeat. */

/* wn_job_lease_held reports whether job id's lease is held at attempt. */
bool wn_job_lease_held(wn_engine *e, uint64_t id, uint32_t attempt);
/* wn_job_lease_extend moves the deadline of job id's lease of attempt to until
 * (monotonic); false if no such lease is held. */
bool wn_job_lease_extend(wn_engine *e, uint64_t id, uint32_t attempt, int64_t until);
/* wn_job_lease_cancel marks job id cancelled while attempt ran. */
void wn_job_lease_cancel(wn_engine *e, uint64_t id, uint32_t attempt);
/* wn_job_rerun_by reports whether job id, whose lease at attempt ended, runs
 * again at a later attempt leased to worker itself: the run of attempt ended
 * (Complete, a retry) and the fetch of the later one may reach the worker
 * before the answer to a heartbeat that named both. Heartbeats do not call
 * that lease lost: their answer names jobs, not attempts, and the worker
 * would stop the later run. */
bool wn_job_rerun_by(struct call *c, uint64_t id, uint32_t attempt, const char *worker);
/* wn_job_lease_cancelled reports whether job id was cancelled while attempt ran. */
bool wn_job_lease_cancelled(wn_engine *e, uint64_t id, uint32_t attempt);
/* wn_job_lease_end ends job id's lease and forgets its cancel mark. */
void wn_job_lease_end(wn_engine *e, uint64_t id);
/* wn_jobs_next_id returns the id the next job will get. */
uint64_t wn_jobs_next_id(wn_engine *e);
/* wn_job_load_live is wn_job_load with the jobs j depends on read too, for a
 * change whose reply shows their statuses (wn_job_fill_live): one that cannot
 * be read fails the call (UNAVAILABLE) before anything changes. */
int wn_job_load_live(struct call *c, uint64_t id, Job **out);
/* wn_job_fill_live sets the reply-only fields (lease expiry, waiting, dependency
 * statuses) of j. */
void wn_job_fill_live(struct call *c, Job *j, bool position);
/* wn_job_fill_out says in j's waiting text (position -1) that it is out of
 * line behind jobs of its capped sweep that take the sweep's free places. */
void wn_job_fill_out(struct call *c, Job *j);
/* wn_job_walk_init starts a walk over p's ready jobs in dispatch order in
 * which the jobs that take no place in line are out (wn_qwalk_out): those of
 * a capped sweep past its free places and those no worker that takes jobs
 * could run. */
void wn_job_walk_init(struct call *c, struct project *p, struct qwalk *w);
/* Why a job in line waits when workers could run it but none has room now. */
#define WN_JOB_BUSY "every worker that can run it is busy"

#endif
