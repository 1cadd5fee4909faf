/* queue: claiming (leasing the best ready jobs to a worker), the fetches
 * parked until a job is ready, lease expiry, and wn_call_commit, which writes a
 * call's changes and then feeds the parked fetches. */
#ifndef WN_QUEUE_H
#define WN_QUEUE_H

#include "call.h"
#include "fleet.h"
#include "project.h"

/* Answers a parked Fetch with the n jobs claimed for it (none: its wait is
 * over). */
typedef void (*queue_answer_fn)(struct call *c, const struct parked *pk, Job **got, size_t n);

/* A Fetch parked until a job is ready or its deadline passes: what it asks
 * for (projects by name: one may be deleted meanwhile). */
struct waiter {
	struct parked pk;
	char *worker;
	char *caller; /* the token it came with (NULL: the server has none) */
	char **projects;
	size_t nprojects;
	char **tasks;
	size_t ntasks;
	size_t max_jobs;
	queue_answer_fn answer;
	int64_t deadline; /* monotonic */
	struct waiter *prev, *next;
};

/* The queue's state (struct wn_engine composes it). */
struct queue_state {
	struct waiter *wait_head, *wait_tail; /* parked fetches, oldest first */
	size_t nwait;                         /* how many */
	wn_map *by_reqid;                     /* request id (not 0) -> struct waiter */
	bool no_park;                         /* shutting down: Fetch answers at once */
	uint64_t rr; /* round-robin turn: 1 + the project served last, in its fetch */
};

/* What a Fetch asks for, checked: the projects to fetch from (each once),
 * the tasks (none: any; sorted by wn_queue_tasks_sort), the worker, and how
 * many jobs at most (>= 1). */
struct fetch_want {
	struct project **ps;
	size_t np;
	char **tasks;
	size_t ntasks;
	const char *worker;
	size_t max_jobs;
};

/* wn_queue_tasks_sort sorts a Fetch's task names as fetch_want needs them. */
void wn_queue_tasks_sort(char **tasks, size_t ntasks);
/* wn_queue_peek finds the best ready job of p (of tasks, if ntasks) whose class
 * is not capped and, if w is given, fits what w has free; false if none. */
bool wn_queue_peek(struct project *p, char **tasks, size_t ntasks, const struct wrk *w,
                   wn_index_entry *e);
/* wn_queue_take leases the ready job e of p to worker, adding the change to b;
 * WN_ENOTFOUND (e dropped from the queues) if e is not a pending job,
 * WN_EUNAVAIL (e kept) if its record cannot be read. */
int wn_queue_take(struct call *c, wn_batch *b, struct project *p, wn_index_entry e,
                  const char *worker, Job **out);
/* wn_queue_claim leases up to want->max_jobs ready jobs to want->worker,
 * highest priority first (projects of equal priority take turns), as many as
 * a reply holds; the changes go into b, the jobs into got (max_jobs slots),
 * their number into *ngot. A draining worker gets none. A job whose record
 * (or task's) cannot be read stays in line and ends the claim: WN_EUNAVAIL,
 * the call failed, if no job was claimed before it. */
int wn_queue_claim(struct call *c, wn_batch *b, const struct fetch_want *want, Job **got,
                   size_t *ngot);

/* wn_call_commit writes b (if it holds anything) and frees it, then gives newly
 * ready jobs to parked fetches. */
int wn_call_commit(struct call *c, wn_batch *b);
/* wn_call_commit_if commits b if rv is WN_OK, else frees it and returns rv
 * (the call failed before writing). */
int wn_call_commit_if(struct call *c, wn_batch *b, int rv);

/* wn_queue_init readies e's parked fetches; wn_queue_release frees what is
 * left of them (after wn_queue_waiters_release). */
void wn_queue_init(wn_engine *e);
void wn_queue_release(wn_engine *e);
/* wn_queue_park parks the call's Fetch, which wants want, until a job is ready
 * or wait_ms pass; answer gives it its reply. WN_ETOOBIG (the call's message
 * says which) when as many requests wait on its connection as
 * cfg.max_parked_per_conn allows, or on the server as cfg.max_parked
 * (wn_watch_room: parked fetches and watches count alike). */
int wn_queue_park(struct call *c, const struct fetch_want *want, uint32_t wait_ms,
                  queue_answer_fn answer);
/* wn_queue_adopt gives the parked Fetch of request id reqid to the call's
 * request, a copy of it (a client's resend): its reply will go there, and the
 * earlier copy is let go without one. WN_ENOTFOUND when no Fetch of that id
 * waits, WN_ETOOBIG when the call's connection has as many waiting as allowed
 * (parked requests of every kind: watch.h). */
int wn_queue_adopt(struct call *c, uint64_t reqid);
/* wn_queue_feed gives ready jobs to parked fetches. */
void wn_queue_feed(struct call *c);
/* wn_queue_waiters_due answers the parked fetches whose deadline is past now;
 * returns the earliest deadline left, or next if that is earlier. */
int64_t wn_queue_waiters_due(struct call *c, int64_t now, int64_t next);
/* wn_queue_waiters_drop drops the parked fetches of the n connections closed,
 * without a reply. */
void wn_queue_waiters_drop(struct call *c, const uint32_t *closed, size_t n);
/* wn_queue_waiters_of answers without a job the parked fetches of the
 * workers for which match(arg, worker) is true. */
void wn_queue_waiters_of(struct call *c, bool (*match)(const void *arg, const char *worker),
                         const void *arg);
/* wn_queue_waiters_revoked answers without a job the parked fetches that came
 * with token, whatever its role and the worker they name. */
void wn_queue_waiters_revoked(struct call *c, const char *token);
/* wn_queue_waiters_release answers every parked fetch without a job and parks
 * no more (shutting down). */
void wn_queue_waiters_release(struct call *c);

/* wn_queue_expire: the job's lease of attempt ran out (called under the lock). */
void wn_queue_expire(struct call *c, uint64_t job, uint32_t attempt);
/* wn_queue_release_worker expires every lease w holds, at once (w is LOST),
 * but those of runs with an external id, which run on without it. */
void wn_queue_release_worker(struct call *c, struct wrk *w);

#endif
