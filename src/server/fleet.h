/* fleet: the registry of the workers that joined, what each offers and
 * holds, their heartbeats, LOST detection and draining. Jobs go only to a
 * worker whose free capacity and labels fit their task's requirements. */
#ifndef WN_FLEET_H
#define WN_FLEET_H

#include "call.h"
#include "map.h"
#include "project.h"

/* A worker of the fleet, as it joined, with what it holds now. */
struct wrk {
	Whatsnext__V1__Worker *rec; /* as joined (heap copy); state and draining live here */
	int64_t last_seen_ms;       /* wall clock, for display */
	int64_t seen_mono;          /* monotonic clock, for its timeout */
	int64_t saved_seen_ms;      /* last_seen_ms as last stored in the record */
	uint32_t used_cpu, used_gpu;
	uint64_t used_mem;
	wn_map *jobs; /* held job id -> (void *)1 */
	uint64_t rr;  /* its round-robin turn: 1 + the project served last */
};

/* The registry (struct wn_engine composes it). */
struct fleet {
	wn_map *workers; /* name -> struct wrk */
};

/* wn_fleet_init sets up e's registry, empty. */
void wn_fleet_init(wn_engine *e);
/* wn_fleet_load reads the workers from the store. */
int wn_fleet_load(wn_engine *e, char **errmsg);
/* wn_fleet_free frees the registry. */
void wn_fleet_free(wn_engine *e);

/* wn_fleet_get returns the worker called name, or NULL. */
struct wrk *wn_fleet_get(wn_engine *e, const char *name);
/* wn_fleet_fits reports whether a job needing n fits what w has free now. */
bool wn_fleet_fits(const struct wrk *w, const struct need *n);
/* wn_fleet_never explains why none of the workers that take jobs (ACTIVE, not
 * draining) could ever run a job of task t of p: none serves p, none runs t
 * (as they joined), none is large enough or has its labels; NULL if one
 * could, or if no worker takes jobs. */
const char *wn_fleet_never(struct call *c, const struct project *p, const struct task *t);
/* wn_fleet_busy tells whether some worker could run a job of task t of p but
 * every such worker is busy now: its free capacity or its slots taken. */
bool wn_fleet_busy(struct call *c, const struct project *p, const struct task *t);
/* wn_fleet_hold records that worker name holds job j (RUNNING) needing n. */
void wn_fleet_hold(wn_engine *e, const char *name, uint64_t job, const struct need *n);
/* wn_fleet_drop records that worker name no longer holds job j. */
void wn_fleet_drop(wn_engine *e, const char *name, uint64_t job, const struct need *n);
/* wn_fleet_retask: task t of p needed `was` and now needs t->need; the workers
 * holding its jobs use what it needs now. */
void wn_fleet_retask(struct call *c, const struct project *p, const struct task *t,
                     const struct need *was);

/* wn_fleet_add adds worker rec (the registry takes it) to the registry. */
struct wrk *wn_fleet_add(wn_engine *e, Whatsnext__V1__Worker *rec);
/* wn_fleet_save puts w's record into b. */
void wn_fleet_save(wn_batch *b, struct wrk *w);
/* wn_fleet_adopt gives a worker joining for the first time the RUNNING jobs
 * leased to its name before it joined (a start does the same). */
void wn_fleet_adopt(struct call *c, struct wrk *w);
/* wn_fleet_join records worker wk as joined and ACTIVE (a heap copy of what it
 * announced; a name new to the registry adopts the jobs leased to it), its
 * record in b. */
struct wrk *wn_fleet_join(struct call *c, const Whatsnext__V1__Worker *wk, wn_batch *b);
/* wn_fleet_leave records that w left (GONE), its record in b. */
void wn_fleet_leave(struct call *c, struct wrk *w, wn_batch *b);
/* wn_fleet_drain marks w draining (it takes no new jobs), its record in b. */
void wn_fleet_drain(struct wrk *w, wn_batch *b);
/* wn_fleet_resume ends w's drain, its record in b. */
void wn_fleet_resume(struct wrk *w, wn_batch *b);
/* wn_fleet_remove deletes the record of w (GONE or LOST, holding nothing) and, once
 * that is written, frees w and forgets it. */
int wn_fleet_remove(struct call *c, struct wrk *w);
/* wn_fleet_seen notes a heartbeat of worker name at wall-clock time now; true if
 * it is draining. A worker back from LOST is ACTIVE again, its record in b. */
bool wn_fleet_seen(wn_engine *e, const char *name, int64_t now, wn_batch *b);

/* wn_fleet_lose_next marks the next ACTIVE worker from *pos on that missed its
 * heartbeats LOST, stores it and returns it; NULL when none is left. *next
 * gets the earliest time another may become LOST (now and *next are
 * monotonic). */
struct wrk *wn_fleet_lose_next(struct call *c, int64_t now, size_t *pos, int64_t *next);
/* wn_fleet_grace counts every ACTIVE worker seen at monotonic time now (its
 * heartbeats could not be served: the store had failed). */
void wn_fleet_grace(wn_engine *e, int64_t now);
/* wn_fleet_save_seen_due stores when each worker was last seen if its record
 * says so a minute or more too early. */
void wn_fleet_save_seen_due(struct call *c);
/* wn_fleet_flush_seen stores when each worker was last seen, if that changed
 * (at a clean stop). */
void wn_fleet_flush_seen(wn_engine *e);

/* wn_fleet_label_check returns NULL if key=value may be a label of a task's
 * resources or of a worker's capacity (the key a name, the value at most
 * WN_NAME_MAX bytes without a control character), else why not, naming the
 * label (malloc'd). */
char *wn_fleet_label_check(const char *key, const char *value);

#endif
