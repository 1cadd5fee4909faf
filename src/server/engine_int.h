/* engine_int: the engine's state, shared by engine.c and the svc_*.c method
 * implementations. Not for use outside src/server. */
#ifndef WN_ENGINE_INT_H
#define WN_ENGINE_INT_H

#include "arena.h"
#include "engine.h"
#include "err.h"
#include "index.h"
#include "keys.h"
#include "lease.h"
#include "map.h"
#include "records.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <pthread.h>

typedef Whatsnext__V1__Job Job;
typedef Whatsnext__V1__Task Task;
typedef Whatsnext__V1__Project Project;

/* Short names for the job statuses. */
#define PENDING   WHATSNEXT__V1__JOB_STATUS__JOB_PENDING
#define RUNNING   WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING
#define COMPLETED WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED
#define FAILED    WHATSNEXT__V1__JOB_STATUS__JOB_FAILED
#define BLOCKED   WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED
#define CANCELLED WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED

/* Number of job statuses (index = JobStatus value). */
#define WN_NSTATUS              7
#define WN_DEFAULT_MAX_ATTEMPTS 3
#define WN_LIMIT_MAX            1000
#define WN_PAGE_DEFAULT         100
#define WN_PAGE_MAX             10000
#define WN_DESC_MAX             4096
#define WN_JOBNAME_MAX          WN_NAME_MAX
#define WN_PARAM_VALUE_MAX      (1 << 20)
#define WN_TAIL_MAX             65536
#define WN_REASON_MAX           4096
#define WN_WAIT_MAX_MS          60000
#define WN_BATCH_MAX            100000
/* Replies are kept under this size (list methods stop early). */
#define WN_REPLY_BUDGET (8u << 20)

struct project;
struct call;
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

/* A worker of the fleet, as it joined, with what it holds now. */
struct wrk {
	Whatsnext__V1__Worker *rec; /* as joined (heap copy); state and draining live here */
	int64_t last_seen_ms;       /* wall clock, for display */
	int64_t seen_mono;          /* monotonic clock, for its timeout */
	int64_t saved_seen_ms;      /* last_seen_ms as last stored in the record */
	uint32_t used_cpu, used_gpu;
	uint64_t used_mem;
	wn_map *jobs; /* held job id -> (void *)1 */
	uint64_t rr;  /* its round-robin turn among projects */
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
};

/* A PENDING job whose dependencies do not all hold yet, or a BLOCKED job. */
struct dwait {
	uint32_t unmet;  /* dependencies not decided yet */
	uint32_t broken; /* dependencies that can no longer hold */
	struct project *proj;
};

/* The jobs that depend on one job, with the condition of each edge. */
struct redges {
	uint32_t n, cap;
	struct redge {
		uint64_t job;
		uint8_t cond;
	} v[];
};

/* A request parked until its reply is ready: where the reply goes. */
struct parked {
	void *slot;
	uint32_t conn; /* the connection it came on */
	uint64_t reqid;
};

/* Answers a parked Fetch with the n jobs claimed for it (none: its wait is
 * over). */
typedef void (*queue_answer_fn)(struct call *c, const struct parked *pk, Job **got, size_t n);

/* A Fetch parked until a job is ready or its deadline passes: what it asks
 * for (projects by name: one may be deleted meanwhile). */
struct waiter {
	struct parked pk;
	char *worker;
	char **projects;
	size_t nprojects;
	char **tasks;
	size_t ntasks;
	size_t max_jobs;
	queue_answer_fn answer;
	int64_t deadline; /* monotonic */
	struct waiter *prev, *next;
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
	bool feed;       /* a job became ready during this call */
};

/* A reply to a parked request, sent after this call's writes are durable. */
struct delivery {
	void *slot;
	uint8_t *buf;
	size_t len;
	struct delivery *next;
};

/* One request being executed. */
struct call {
	wn_engine *e;
	wn_arena *arena;
	ProtobufCAllocator *pa;
	uint64_t seq;    /* write ticket to wait for before replying */
	const char *msg; /* error message */
	void *slot;      /* connection context, for parking */
	uint64_t reqid;
	const char *method; /* the request's method path */
	bool parked;
	struct delivery *deliveries;
	wn_records_call rec; /* the job records it loaded, changed and wrote */
};

struct dedupe;

/* Request ids of Submits and SubmitBatches, answered again for a day
 * (replay.c). */
#define REPLAY_KEEP_MS (24LL * 3600 * 1000)
struct replay_ent {
	int64_t at;
	uint64_t reqid;
};
struct replay {
	wn_map *jobs;            /* request id of a Submit -> the job it created (as a pointer) */
	wn_map *stored;          /* request ids with an i/ key -> (void *)1 */
	struct replay_ent *ring; /* jobs' request ids, oldest first */
	size_t head, n, cap, peak;
};

struct wn_engine {
	wn_engine_config cfg;
	wn_store *store;
	pthread_mutex_t mu;
	wn_map *projects; /* name -> struct project */
	wn_leases *leases;
	wn_map *cancelled; /* job id -> attempt + 1 (RUNNING jobs cancelled) */
	wn_map *sweeps;    /* id -> struct sweep */
	wn_map *rdeps;     /* job id -> struct redges */
	wn_map *waiting;   /* job id -> struct dwait, all projects (see project.waiting) */
	uint64_t next_id;
	uint64_t id_limit; /* stored in m/next_id: every id handed out is below it */
	struct dedupe *dd;

	pthread_t sweeper;
	bool have_sweeper;
	bool stopping;
	bool no_park;                         /* shutting down: Fetch answers at once */
	struct waiter *wait_head, *wait_tail; /* parked fetches, oldest first */
	wn_map *workers;                      /* name -> struct wrk */
	uint64_t rr;               /* round-robin turn among projects of equal priority */
	pthread_mutex_t closed_mu; /* connections closed, for the next tick */
	uint32_t *closed;
	size_t nclosed, capclosed;
	pthread_cond_t sweep_cv;
	int64_t sweep_at;             /* when the sweeper will next wake (monotonic) */
	pthread_mutex_t periodic_mu;  /* one periodic pass at a time */
	int64_t forget_at, expire_at; /* next request-id forget, retention pass (monotonic) */
	int64_t wall_off;             /* wall clock minus monotonic clock, as last stepped */
	wn_records *rec;              /* the records layer on store */
	struct replay replay;
};

/* A method implementation: in is the unpacked input; on success *out is the
 * output (allocated from c->arena) or NULL when parked. */
typedef int (*wn_method_fn)(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);

/* call_park parks the call: its reply comes later, through pk. */
void call_park(struct call *c, struct parked *pk);
/* call_answer queues reply as the answer to the parked request pk, sent
 * once the call's writes are durable. */
void call_answer(struct call *c, const struct parked *pk, const ProtobufCMessage *reply);
/* call_drop frees the parked request pk without a reply (its requester is
 * gone). */
void call_drop(struct call *c, const struct parked *pk);

/* call_fail records a formatted error message and returns err. */
int call_fail(struct call *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* engine_load rebuilds the in-memory state from the store (load.c); on
 * failure *errmsg gets a malloc'd message saying what to run. */
int engine_load(wn_engine *e, char **errmsg);

/* engine_now returns the engine's wall clock in ms (times shown and stored). */
int64_t engine_now(wn_engine *e);
/* engine_mono returns the engine's monotonic clock in ms (deadlines: leases,
 * worker timeouts, waits), which wall-clock steps do not move. */
int64_t engine_mono(wn_engine *e);
/* engine_mono_to_wall converts a monotonic deadline to wall-clock ms (the
 * same answer for the same deadline until the wall clock steps; under the
 * lock). */
int64_t engine_mono_to_wall(wn_engine *e, int64_t mono);

/* engine_write applies b and records its ticket in the call. */
int engine_write(struct call *c, wn_batch *b);

/* engine_project finds a project by name, failing the call with NOT_FOUND. */
struct project *engine_project(struct call *c, const char *name, int *err);
/* engine_task finds a task by name, failing the call with NOT_FOUND. */
struct task *engine_task(struct call *c, struct project *p, const char *name, int *err);
/* engine_project_new adds an in-memory project. */
struct project *engine_project_new(wn_engine *e, const char *name, bool archived);
/* engine_project_drop removes an in-memory project, its queues and waiters. */
void engine_project_drop(struct call *c, struct project *p);
/* engine_task_new adds an in-memory task to p. */
struct task *engine_task_new(struct project *p, const Task *t);
/* engine_task_drop removes a task and its queues from p. */
void engine_task_drop(struct project *p, struct task *t);
/* engine_sweep_new adds an in-memory sweep. */
struct sweep *engine_sweep_new(wn_engine *e, struct project *p, const Whatsnext__V1__Sweep *s);
/* engine_sweep returns the sweep with id, or NULL. */
struct sweep *engine_sweep(wn_engine *e, uint64_t id);

/* replay_init and replay_free set up and free e->replay. */
void replay_init(wn_engine *e);
void replay_free(wn_engine *e);
/* replay_load_job remembers, at start, the request id of j's Submit if j was
 * created within the keep time. */
void replay_load_job(wn_engine *e, const Job *j, int64_t now);
/* replay_submitted remembers the request id of the Submit that created j
 * (after its write). */
void replay_submitted(struct call *c, const Job *j);
/* replay_answer answers c if its request id was already executed (a Submit
 * from its job as it is now, brief if asked; else the reply stored, unpacked
 * as od); false if it is new. */
bool replay_answer(struct call *c, const ProtobufCMessageDescriptor *od, bool brief,
                   ProtobufCMessage **out);
/* replay_persist stores reply under c's request id, in b (SubmitBatch). */
void replay_persist(struct call *c, wn_batch *b, const ProtobufCMessage *reply);
/* replay_removed keeps the answer to the Submit that created j, which is
 * being removed with status as its last, in b. */
void replay_removed(struct call *c, wn_batch *b, const Job *j, int status);
/* replay_forget drops request ids older than the keep time, from memory and
 * disk, and learns which i/ keys exist (at start). */
void replay_forget(wn_engine *e);

/* job_load reads job id (from the call's cache first); NOT_FOUND fails the call. */
int job_load(struct call *c, uint64_t id, Job **out);
/* job_find is job_load without failing the call: NULL if absent. */
Job *job_find(struct call *c, uint64_t id);
/* job_brief returns j reduced to id, status and attempt (for replies with
 * `brief`), allocated from the call's arena. */
Job *job_brief(struct call *c, const Job *j);
/* job_put adds j's record to b. */
void job_put(struct call *c, wn_batch *b, const Job *j);
/* job_del deletes the record of job id in b (and from the record cache once
 * b is applied). */
void job_del(struct call *c, wn_batch *b, uint64_t id);
/* job_adopt puts a job built by this call (a new one) in the call's cache. */
void job_adopt(struct call *c, Job *j);
/* job_status_name returns "PENDING" etc. */
const char *job_status_name(int status);
/* job_project returns the in-memory project of j, or NULL. */
struct project *job_project(struct call *c, const Job *j);

/* job_set_status moves j to status `to` and keeps everything in step: the
 * counts of its project and sweep, the ready queues, and its dependents,
 * transitively (their records go into b too). Moving to PENDING may end in
 * BLOCKED when a dependency can no longer hold. */
void job_set_status(struct call *c, wn_batch *b, struct project *p, Job *j, int to);
/* job_remove_many deletes the n jobs v of p (loaded by this call) in b, takes
 * them out of every queue, and, if propagate, lets their dependents see them
 * gone (those become BLOCKED). */
void job_remove_many(struct call *c, wn_batch *b, struct project *p, Job **v, size_t n,
                     bool propagate);
/* job_is_ready reports whether a PENDING job is in a ready queue. */
bool job_is_ready(const struct project *p, const Job *j);
/* job_fill_live sets the reply-only fields (lease expiry, waiting, dependency
 * statuses) of j. */
void job_fill_live(struct call *c, Job *j, bool position);
/* call_commit writes b (if it holds anything) and frees it, then gives newly
 * ready jobs to parked fetches. */
int call_commit(struct call *c, wn_batch *b);

/* The fleet (fleet.c). */
/* need_set copies the resource requirements r (may be NULL) into n. */
void need_set(struct need *n, const Whatsnext__V1__Resources *r);
/* need_release frees what n holds. */
void need_release(struct need *n);
/* fleet_get returns the worker called name, or NULL. */
struct wrk *fleet_get(wn_engine *e, const char *name);
/* fleet_fits reports whether a job needing n fits what w has free now. */
bool fleet_fits(const struct wrk *w, const struct need *n);
/* fleet_never explains why no active worker could ever run a job needing n,
 * or returns NULL if one could (or no worker has joined). */
const char *fleet_never(struct call *c, const struct need *n);
/* fleet_hold records that worker name holds job j (RUNNING) needing n. */
void fleet_hold(wn_engine *e, const char *name, uint64_t job, const struct need *n);
/* fleet_drop records that worker name no longer holds job j. */
void fleet_drop(wn_engine *e, const char *name, uint64_t job, const struct need *n);
/* fleet_retask: task t of p needed `was` and now needs t->need; the workers
 * holding its jobs use what it needs now. */
void fleet_retask(struct call *c, const struct project *p, const struct task *t,
                  const struct need *was);
/* fleet_load reads the workers from the store. */
int fleet_load(wn_engine *e, char **errmsg);
/* fleet_free frees the registry. */
void fleet_free(wn_engine *e);
/* fleet_lose_next marks the next ACTIVE worker from *pos on that missed its
 * heartbeats LOST, stores it and returns it; NULL when none is left. *next
 * gets the earliest time another may become LOST (now and *next are
 * monotonic). */
struct wrk *fleet_lose_next(struct call *c, int64_t now, size_t *pos, int64_t *next);
/* fleet_save_seen_due stores when each worker was last seen if its record
 * says so a minute or more too early. */
void fleet_save_seen_due(struct call *c);
/* fleet_flush_seen stores when each worker was last seen, if that changed
 * (at a clean stop). */
void fleet_flush_seen(wn_engine *e);
/* fleet_add adds worker rec (the registry takes it) to the registry. */
struct wrk *fleet_add(wn_engine *e, Whatsnext__V1__Worker *rec);
/* fleet_save puts w's record into b. */
void fleet_save(wn_batch *b, struct wrk *w);
/* fleet_adopt gives a worker joining for the first time the RUNNING jobs
 * leased to its name before it joined (a start does the same). */
void fleet_adopt(struct call *c, struct wrk *w);
/* fleet_join records worker wk as joined and ACTIVE (a heap copy of what it
 * announced; a name new to the registry adopts the jobs leased to it), its
 * record in b. */
struct wrk *fleet_join(struct call *c, const Whatsnext__V1__Worker *wk, wn_batch *b);
/* fleet_leave records that w left (GONE), its record in b. */
void fleet_leave(struct call *c, struct wrk *w, wn_batch *b);
/* fleet_drain marks w draining (it takes no new jobs), its record in b. */
void fleet_drain(struct wrk *w, wn_batch *b);
/* fleet_seen notes a heartbeat of worker name at wall-clock time now; true if
 * it is draining. A worker back from LOST is ACTIVE again, its record in b. */
bool fleet_seen(wn_engine *e, const char *name, int64_t now, wn_batch *b);

/* Dependencies (deps.c). */
enum { EDGE_UNDECIDED = 0, EDGE_OK = 1, EDGE_BROKEN = 2 };
/* deps_edge_state tells what a condition makes of a dependency in status
 * (0 = the dependency no longer exists). */
int deps_edge_state(int cond, int status);
/* deps_cond_name returns "afterok", "afterany" or "afternotok". */
const char *deps_cond_name(int cond);
/* deps_toposort orders n nodes with edges from[i] -> to[i] (to depends on
 * from) so that every node comes after its dependencies; returns false and
 * sets *cycle to a node on a cycle if there is one. Iterative, O(n + edges). */
bool deps_toposort(size_t n, const size_t *from, const size_t *to, size_t nedges, size_t *order,
                   size_t *cycle);
/* deps_add_edges records j's dependencies as reverse edges. */
void deps_add_edges(wn_engine *e, const Job *j);
/* deps_del_edges forgets j's reverse edges (j is removed). */
void deps_del_edges(wn_engine *e, const Job *j);
/* deps_dependents returns the reverse edges of job id, or NULL. */
struct redges *deps_dependents(wn_engine *e, uint64_t id);
/* deps_eval counts j's dependencies not decided yet and those that can no
 * longer hold; *why names the first of the latter. */
int deps_eval(struct call *c, const Job *j, uint32_t *unmet, uint32_t *broken, const char **why);
/* deps_propagate tells the dependents of job x that it went from status
 * old_st to new_st (0 = removed), and so on transitively. */
void deps_propagate(struct call *c, wn_batch *b, uint64_t x, int old_st, int new_st);

/* queue_of returns the dispatch class of (task, sweep) in p, created if needed. */
struct queue *queue_of(struct project *p, struct task *t, struct sweep *s);
/* queue_capped reports whether q's sweep is at its running cap. */
bool queue_capped(const struct queue *q);
/* dwait_get returns the waiting entry of job id (any project), or NULL. */
struct dwait *dwait_get(wn_engine *e, uint64_t id);
/* dwait_put records job id of p as waiting (or BLOCKED) with counts w. */
struct dwait *dwait_put(wn_engine *e, struct project *p, uint64_t id, uint32_t unmet,
                        uint32_t broken);
/* dwait_del forgets the waiting entry of job id; false if there was none. */
bool dwait_del(wn_engine *e, uint64_t id);

/* queue_ready_add puts a PENDING job into its dispatch class. */
void queue_ready_add(struct call *c, struct project *p, const Job *j);
/* queue_ready_del takes a PENDING job out of its dispatch class. */
void queue_ready_del(struct project *p, const Job *j);
/* queue_peek finds the best ready job of p (of tasks, if ntasks) whose class
 * is not capped and, if w is given, fits what w has free; false if none. */
bool queue_peek(struct project *p, char **tasks, size_t ntasks, const struct wrk *w,
                wn_index_entry *e);
/* queue_take leases the ready job e of p to worker, adding the change to b. */
int queue_take(struct call *c, wn_batch *b, struct project *p, wn_index_entry e, const char *worker,
               Job **out);
/* What a Fetch asks for, checked: the projects to fetch from (each once),
 * the tasks (none: any), the worker, and how many jobs at most (>= 1). */
struct fetch_want {
	struct project **ps;
	size_t np;
	char **tasks;
	size_t ntasks;
	const char *worker;
	size_t max_jobs;
};
/* queue_claim leases up to want->max_jobs ready jobs to want->worker,
 * highest priority first (projects of equal priority take turns), as many as
 * a reply holds; the changes go into b, the jobs into got (max_jobs slots),
 * their number into *ngot. A draining worker gets none. */
int queue_claim(struct call *c, wn_batch *b, const struct fetch_want *want, Job **got,
                size_t *ngot);
/* queue_park parks the call's Fetch, which wants want, until a job is ready
 * or wait_ms pass; answer gives it its reply. */
int queue_park(struct call *c, const struct fetch_want *want, uint32_t wait_ms,
               queue_answer_fn answer);
/* queue_feed gives ready jobs to parked fetches. */
void queue_feed(struct call *c);
/* queue_waiters_due answers the parked fetches whose deadline is past now;
 * returns the earliest deadline left, or next if that is earlier. */
int64_t queue_waiters_due(struct call *c, int64_t now, int64_t next);
/* queue_waiters_drop drops the parked fetches of the n connections closed,
 * without a reply. */
void queue_waiters_drop(struct call *c, const uint32_t *closed, size_t n);
/* queue_waiters_release answers every parked fetch without a job. */
void queue_waiters_release(struct call *c);

/* Merged walk over a project's dispatch classes in dispatch order. */
struct qwalk {
	size_t n;
	struct queue **q;
	wn_index_iter *it;
	wn_index_entry *cur;
	bool *have;
	struct queue *last; /* the class of the entry last returned */
};
/* qwalk_init starts a walk over p's ready jobs. */
void qwalk_init(struct call *c, struct project *p, struct qwalk *w);
/* qwalk_next returns the next ready job in dispatch order; false at the end. */
bool qwalk_next(struct qwalk *w, wn_index_entry *e);

/* queue_count_move moves one job of p (and of its sweep) between statuses (0 = none). */
void queue_count_move(struct call *c, struct project *p, const Job *j, int from, int to);

/* Method implementations (svc_*.c). */
int svc_project_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_project_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_project_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_project_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_project_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_task_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_task_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_task_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_task_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_task_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_submit(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_submit_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_cancel(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_retry(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_set_priority(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_fetch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_heartbeat(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_complete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_release(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_stats(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_clear(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_pop(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_queue_complete_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_job_deps(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_sweep_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_sweep_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_sweep_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_worker_join(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_worker_leave(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_worker_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_worker_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int svc_worker_drain(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* svc_admin_backup runs without the engine lock (WN_METHOD_UNLOCKED) and parks the
 * call while a thread of its own takes the backup. */
int svc_admin_backup(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* admin_drain waits for a backup in progress to be answered (at shutdown,
 * once no_park is set: no new one starts). */
void admin_drain(wn_engine *e);

/* engine_pack_response builds a Response envelope around body (may be NULL). */
uint8_t *engine_pack_response(uint64_t id, int code, const char *message,
                              const ProtobufCMessage *body, size_t *len);

/* project_remove_jobs deletes every job of p (of task, if not NULL) in b and
 * drops them from the in-memory queues; jobs of other tasks that depend on
 * them become BLOCKED. Returns how many were removed. */
uint64_t project_remove_jobs(struct call *c, struct project *p, const char *task, wn_batch *b);

/* Lease expiry: the job's lease of attempt ran out (called under the lock). */
void queue_expire(struct call *c, uint64_t job, uint32_t attempt);
/* queue_release_worker expires every lease w holds, at once (w is LOST). */
void queue_release_worker(struct call *c, struct wrk *w);

#endif
