/* engine_int: the engine's state, shared by engine.c and the svc_*.c method
 * implementations. Not for use outside src/server. */
#ifndef WN_ENGINE_INT_H
#define WN_ENGINE_INT_H

#include "arena.h"
#include "engine.h"
#include "err.h"
#include "index.h"
#include "lease.h"
#include "map.h"
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
#define WN_KEY_MAX              300
/* Replies are kept under this size (list methods stop early). */
#define WN_REPLY_BUDGET (8u << 20)

struct project;

/* One task's queue: its PENDING jobs in dispatch order. */
struct taskq {
	char *name;
	uint32_t max_attempts;
	uint32_t retries;
	wn_index *ready;
	struct project *proj;
};

/* A Fetch parked until a job is ready or its deadline passes. */
struct waiter {
	void *slot;
	uint64_t reqid;
	char *worker;
	char **tasks;
	size_t ntasks;
	int64_t deadline;
	struct project *proj;
	struct waiter *prev, *next;
};

struct project {
	char *name;
	bool archived;
	uint64_t counts[WN_NSTATUS];
	wn_map *tasks; /* name -> struct taskq */
	struct taskq **taskv;
	size_t ntask;
	struct waiter *wait_head, *wait_tail;
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
	wn_batch *persist; /* extra writes for the request-id record (Submit) */
};

struct dedupe;

struct wn_engine {
	wn_engine_config cfg;
	wn_store *store;
	pthread_mutex_t mu;
	wn_map *projects; /* name -> struct project */
	wn_leases *leases;
	wn_map *cancelled; /* job id -> attempt + 1 (RUNNING jobs cancelled) */
	uint64_t next_id;
	struct dedupe *dd;

	pthread_t sweeper;
	bool have_sweeper;
	bool stopping;
	bool no_park; /* shutting down: Fetch answers at once */
	pthread_cond_t sweep_cv;
	int64_t sweep_at; /* when the sweeper will next wake */
};

/* A method implementation: in is the unpacked input; on success *out is the
 * output (allocated from c->arena) or NULL when parked. */
typedef int (*wn_method_fn)(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);

/* call_fail records a formatted error message and returns err. */
int call_fail(struct call *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* engine_now returns the engine clock in ms. */
int64_t engine_now(wn_engine *e);

/* engine_write applies b and records its ticket in the call. */
int engine_write(struct call *c, wn_batch *b);

/* engine_project finds a project by name, failing the call with NOT_FOUND. */
struct project *engine_project(struct call *c, const char *name, int *err);
/* engine_taskq finds a task queue by name, failing the call with NOT_FOUND. */
struct taskq *engine_taskq(struct call *c, struct project *p, const char *name, int *err);
/* engine_project_new adds an in-memory project. */
struct project *engine_project_new(wn_engine *e, const char *name, bool archived);
/* engine_project_drop removes an in-memory project, its queues and waiters. */
void engine_project_drop(struct call *c, struct project *p);
/* engine_taskq_new adds an in-memory task queue to p. */
struct taskq *engine_taskq_new(struct project *p, const Task *t);
/* engine_taskq_drop removes a task queue from p. */
void engine_taskq_drop(struct project *p, struct taskq *tq);

/* Keys. */
size_t key_project(char *buf, const char *name);
size_t key_task(char *buf, const char *project, const char *name);
size_t key_task_prefix(char *buf, const char *project);
size_t key_job(char *buf, uint64_t id);
uint64_t key_job_id(const char *key);

/* record_put packs msg into b under key. */
void record_put(wn_batch *b, const char *key, size_t klen, const ProtobufCMessage *msg);
/* job_load reads job id into the call's arena; NOT_FOUND fails the call. */
int job_load(struct call *c, uint64_t id, Job **out);
/* job_count_move moves one job of p from status from to status to (0 = none). */
void job_count_move(struct project *p, int from, int to);
/* job_status_name returns "PENDING" etc. */
const char *job_status_name(int status);
/* job_enqueue puts a PENDING job into its task's ready index. */
void job_enqueue(struct call *c, struct project *p, const Job *j);
/* job_dequeue removes a PENDING job from its task's ready index. */
void job_dequeue(struct project *p, const Job *j);
/* job_fill_live sets the reply-only fields (lease expiry, waiting) of j. */
void job_fill_live(struct call *c, Job *j, bool position);

/* queue_claim hands the best ready job of p (of tasks, if ntasks) to worker. */
int queue_claim(struct call *c, struct project *p, const char *worker, char **tasks, size_t ntasks,
                Job **out);
/* queue_feed gives ready jobs of p to its parked fetches. */
void queue_feed(struct call *c, struct project *p);

/* Merged walk over a project's task queues in dispatch order. */
struct qwalk {
	size_t n;
	wn_index_iter *it;
	wn_index_entry *cur;
	bool *have;
};
void qwalk_init(struct call *c, struct project *p, struct qwalk *w);
bool qwalk_next(struct qwalk *w, wn_index_entry *e);

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

/* project_remove_jobs deletes every job of p (of task, if not NULL) in b and
 * drops them from the in-memory queues; returns how many. */
uint64_t project_remove_jobs(struct call *c, struct project *p, const char *task, wn_batch *b);

/* queue_park parks the call's Fetch on p until a job is ready or wait_ms pass. */
int queue_park(struct call *c, struct project *p, const char *worker, char **tasks, size_t ntasks,
               uint32_t wait_ms);
/* persist_request_id adds the call's request id and reply body out to b, so a
 * replay after a restart is answered without running again. */
void persist_request_id(struct call *c, wn_batch *b, const ProtobufCMessage *out);

/* Lease expiry: the job's lease of attempt ran out (called under the lock). */
void queue_expire(struct call *c, uint64_t job, uint32_t attempt);

#endif
