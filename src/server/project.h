/* project: the projects, tasks and sweeps in memory, and what a project
 * holds of its jobs: the dispatch classes (the ready jobs of one task, or of
 * one task within one sweep, in dispatch order), the jobs waiting on
 * dependencies, and the counts of its jobs and sweeps by status. */
#ifndef WN_PROJECT_H
#define WN_PROJECT_H

#include "call.h"
#include "index.h"
#include "map.h"
#include "rules.h"

struct project;
struct sweep;

/* What one job of a task needs from a worker. */
struct need {
	uint32_t cpu, gpu;
	uint64_t memory_mb;
	size_t nlabels;
	char **keys, **vals;
};

/* A task's settings the queue needs. */
struct task {
	char *name;
	uint32_t max_attempts;
	uint32_t retries;
	struct need need;
	struct project *proj;
};

/* A dispatch class: the ready jobs of one task (and of one sweep, if any),
 * in dispatch order. A fetch looks only at the head of each class. */
struct queue {
	struct task *task;
	struct sweep *sweep; /* NULL: jobs outside any sweep */
	wn_index *ready;
};

/* A sweep: the jobs of one SubmitBatch, counted together, with an optional
 * cap on how many run at once. */
struct sweep {
	uint64_t id; /* = its first job's id */
	struct project *proj;
	char *name;
	uint32_t max_running;
	uint64_t total;
	int64_t created_ms;
	uint64_t counts[WN_NSTATUS];
	struct walk_room *room; /* scratch of wn_qwalk_init only */
};

/* A PENDING job whose dependencies do not all hold yet, or a BLOCKED job. */
struct dwait {
	uint32_t unmet;  /* dependencies not decided yet */
	uint32_t broken; /* dependencies that can no longer hold */
	struct project *proj;
};

struct project {
	char *name;
	bool archived;
	uint64_t counts[WN_NSTATUS];
	wn_map *tasks;  /* name -> struct task */
	wn_map *queues; /* "task#sweep" -> struct queue */
	struct queue **qv;
	size_t nq;
	wn_map *waiting; /* job id -> struct dwait */
	wn_map *held;    /* job id -> 1: the held jobs (bulk.h), out of every class */
	bool feed;       /* a job became ready during this call */
};

/* The projects of an engine (struct wn_engine composes it). */
struct projects {
	wn_map *byname;  /* name -> struct project */
	wn_map *sweeps;  /* id -> struct sweep */
	wn_map *waiting; /* job id -> struct dwait, all projects (see project.waiting) */
};

/* wn_projects_init and wn_projects_free set up and free e's projects. */
void wn_projects_init(wn_engine *e);
void wn_projects_free(wn_engine *e);

/* wn_engine_project finds a project by name, failing the call with NOT_FOUND. */
struct project *wn_engine_project(struct call *c, const char *name, int *err);
/* wn_engine_task finds a task by name, failing the call with NOT_FOUND. */
struct task *wn_engine_task(struct call *c, struct project *p, const char *name, int *err);
/* wn_engine_project_new adds an in-memory project. */
struct project *wn_engine_project_new(wn_engine *e, const char *name, bool archived);
/* wn_engine_project_drop removes an in-memory project, its queues and waiters. */
void wn_engine_project_drop(struct call *c, struct project *p);
/* wn_engine_task_new adds an in-memory task to p. */
struct task *wn_engine_task_new(struct project *p, const Task *t);
/* wn_engine_task_drop removes a task and its queues from p. */
void wn_engine_task_drop(struct project *p, struct task *t);
/* wn_engine_sweep_new adds an in-memory sweep. */
struct sweep *wn_engine_sweep_new(wn_engine *e, struct project *p, const Whatsnext__V1__Sweep *s);
/* wn_engine_sweep returns the sweep with id, or NULL. */
struct sweep *wn_engine_sweep(wn_engine *e, uint64_t id);
/* wn_project_get returns the in-memory project called name, or NULL. */
struct project *wn_project_get(wn_engine *e, const char *name);
/* wn_project_count returns how many projects there are. */
size_t wn_project_count(wn_engine *e);
/* wn_job_project returns the in-memory project of j, or NULL. */
struct project *wn_job_project(struct call *c, const Job *j);

/* wn_need_set copies the resource requirements r (may be NULL) into n. */
void wn_need_set(struct need *n, const Whatsnext__V1__Resources *r);
/* wn_need_release frees what n holds. */
void wn_need_release(struct need *n);

/* wn_queue_of returns the dispatch class of (task, sweep) in p, created if needed. */
struct queue *wn_queue_of(struct project *p, struct task *t, struct sweep *s);
/* wn_queue_capped reports whether q's sweep is at its running cap. */
bool wn_queue_capped(const struct queue *q);
/* wn_queue_ready_add puts a PENDING job into its dispatch class (a held one
 * stays out). */
void wn_queue_ready_add(struct call *c, struct project *p, const Job *j);
/* wn_queue_ready_del takes a PENDING job out of its dispatch class. */
void wn_queue_ready_del(struct project *p, const Job *j);
/* wn_queue_count_move moves one job of p (and of its sweep) between statuses (0 = none). */
void wn_queue_count_move(struct call *c, struct project *p, const Job *j, int from, int to);
/* wn_job_is_ready reports whether a PENDING job is in a ready queue (not held,
 * not waiting). */
bool wn_job_is_ready(const struct project *p, const Job *j);

/* wn_dwait_get returns the waiting entry of job id (any project), or NULL. */
struct dwait *wn_dwait_get(wn_engine *e, uint64_t id);
/* wn_dwait_put records job id of p as waiting (or BLOCKED) with counts w. */
struct dwait *wn_dwait_put(wn_engine *e, struct project *p, uint64_t id, uint32_t unmet,
                           uint32_t broken);
/* wn_dwait_del forgets the waiting entry of job id; false if there was none. */
bool wn_dwait_del(wn_engine *e, uint64_t id);

/* The places a capped sweep has free (max_running less its running jobs),
 * shared by its dispatch classes: left in a walk, and a second count for
 * totals taken before the walk. */
struct walk_room {
	uint64_t left, spare;
};

/* Merged walk over a project's dispatch classes in dispatch order. */
struct qwalk {
	size_t n;
	struct queue **q;
	wn_index_iter *it;
	wn_index_entry *cur;
	bool *have;
	bool *out;               /* per class: its jobs take no place in line */
	struct walk_room **room; /* per class: its capped sweep's free places, or NULL */
	struct queue *last;      /* the class of the entry last returned */
	size_t lasti;            /* its index */
	bool last_out;           /* the entry last returned takes no place in line */
};
/* wn_qwalk_init starts a walk over p's ready jobs; the jobs of a capped
 * sweep past its free places (all of them at its cap) are out of line. */
void wn_qwalk_init(struct call *c, struct project *p, struct qwalk *w);
/* wn_qwalk_next returns the next ready job in dispatch order; false at the end. */
bool wn_qwalk_next(struct qwalk *w, wn_index_entry *e);
/* wn_qwalk_out tells whether the job last returned takes no place in line. */
bool wn_qwalk_out(const struct qwalk *w);

/* wn_project_pending_jobs collects the PENDING jobs of p (of task t, if not
 * NULL): the ready ones, those waiting for dependencies and the held ones, in
 * a new array *out (free it, whatever the result) of *n. If the record of
 * one of them cannot be read it fails the call (UNAVAILABLE): *out is not
 * all of them. */
int wn_project_pending_jobs(struct call *c, struct project *p, struct task *t, Job ***out,
                            size_t *n);
/* wn_project_job_at finds the ready job at position pos of walk w's dispatch
 * order (jobs out of line not counted); false if there is none. */
bool wn_project_job_at(struct qwalk *w, uint64_t pos, wn_index_entry *e);

#endif
