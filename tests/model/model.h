/* model: the reference model of the queue's semantics, written from
 * docs/protocol.md and docs/dependencies.md. It holds what a server should
 * hold, judges each reply the server gives (model_exec), and lets time pass
 * (model_advance) and the server restart (model_restart) as documented. */
#ifndef WN_MODEL_MODEL_H
#define WN_MODEL_MODEL_H

#include "map.h"
#include "whatsnext.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Server timings the driver starts wnd with (ms); times of events are
 * compared within TOL, and time only ever jumps to a point at least MARGIN
 * away from any deadline (RET_LATE after a retention deadline: a retention
 * pass may run up to a minute late). */
#define MODEL_LEASE_MS     (10 * 60 * 1000LL)
#define MODEL_WORKER_MS    (4 * 60 * 1000LL)
#define MODEL_RETENTION_MS (60 * 60 * 1000LL)
#define MODEL_DEDUPE_MS    (10 * 60 * 1000LL)
#define MODEL_TOL_MS       (20 * 1000LL)
#define MODEL_MARGIN_MS    (30 * 1000LL)
#define MODEL_RET_LATE_MS  (90 * 1000LL)
/* a lease a heartbeat does not name is news this long (svc_heartbeat.c) */
#define MODEL_FRESH_LEASE_MS 1000LL

/* The pools of names the test draws from. */
#define MODEL_NPROJ   4
#define MODEL_NTASK   3
#define MODEL_NWORKER 5
#define MODEL_RES_MAX 4 /* results a job keeps in the model */
#define MODEL_NRES    6 /* task resource variants */
#define MODEL_NCAP    5 /* worker capacity variants */
#define MODEL_NART    4 /* files a run makes (model_artifacts.c) */

enum { ST_NONE = 0, ST_PENDING, ST_RUNNING, ST_COMPLETED, ST_FAILED, ST_BLOCKED, ST_CANCELLED };
enum { W_ACTIVE = 1, W_LOST = 2, W_GONE = 3 };
enum { COND_AFTEROK = 0, COND_AFTERANY = 1, COND_AFTERNOTOK = 2 };

/* How a job's reason is checked: the documentation fixes some texts and
 * only describes others. */
enum { RK_EXACT, RK_PREFIX, RK_CONTAINS, RK_NONEMPTY, RK_BLOCKED };

typedef struct model_kv {
	char *k, *v;
} model_kv;

/* What a task needs of a worker (Resources). */
typedef struct model_need {
	bool set; /* resources given at all */
	uint32_t cpu, gpu;
	uint64_t mem;
	size_t nlabels;
	model_kv labels[4];
} model_need;

typedef struct model_project {
	char *name, *desc;
	int status; /* 1 active, 2 archived */
	int64_t created, updated;
} model_project;

typedef struct model_task {
	char *project, *name, *desc;
	model_need need;
	uint32_t max_attempts, retries, timeout_s;
	int64_t created, updated;
} model_task;

typedef struct model_dep {
	uint64_t id;
	int cond;
} model_dep;

typedef struct model_job {
	uint64_t id;
	bool live;
	char *project, *task, *name;
	size_t nparams;
	model_kv *params;
	int32_t priority;
	int status;
	uint32_t attempt;
	char *worker;
	int32_t exit_code;
	char *reason;
	int reason_kind;
	/* as the server shows them: wall-clock times (model_wall) */
	int64_t created, started, finished;
	int64_t started_mono; /* when its latest run started, on the test clock */
	char *output_tail, *external_id;
	uint32_t lost, failures;
	int64_t duration;
	size_t ndeps;
	model_dep *deps;
	uint64_t sweep_id, submit_reqid;
	bool held; /* held by Bulk's HOLD: not handed out until released */
	/* the lease: held while leased (RUNNING, or cancelled while running) */
	bool leased;
	uint32_t lease_attempt;
	int64_t lease_exp;
	/* cancelled while running attempt cancel_attempt (0: not): its holder
	 * is told so in Heartbeat replies, and may still report the run */
	uint32_t cancel_attempt;
	/* retention: when nothing waiting holds it back any more (0: never held) */
	int64_t ret_free_at;
	int removed_status; /* the status it had when it was removed */
	/* its live output: the bytes of attempt out_attempt (0: none kept) */
	uint32_t out_attempt;
	uint8_t *out;
	uint64_t out_len, out_cap;
	/* what it reported (model_results.c): its latest values, and the
	 * history of attempt hist_attempt */
	size_t res_n;
	struct model_res {
		char key[16];
		bool text;
		double num;
		char str[16];
	} res[MODEL_RES_MAX];
	uint32_t hist_attempt;
	size_t hist_n;
	struct model_series *hist;
	/* its artifacts: the attempt whose file k the server holds (0: none),
	 * and the list of the last Complete (files, stored), of art_attempt */
	uint32_t art_up[MODEL_NART];
	size_t art_n;
	int art_list[MODEL_NART];
	bool art_stored[MODEL_NART];
	uint32_t art_attempt;
} model_job;

/* The points of one key of a job's history. */
typedef struct model_series {
	char key[16];
	uint64_t reported, last_seq;
	uint32_t stride; /* the points kept: nth - 1 a multiple of it, and the latest */
	size_t npts;
	struct model_point {
		uint64_t seq, nth;
		double value;
		int64_t time_ms;
	} * pts;
} model_series;

typedef struct model_sweep {
	uint64_t id;
	char *project, *name;
	uint32_t max_running;
	int64_t created;
	uint64_t total;
} model_sweep;

typedef struct model_worker {
	char *name, *host, *version;
	/* capacity */
	bool has_cap;
	uint32_t cpu;
	size_t ngpus;
	char *gpus[4];
	uint64_t mem;
	size_t nlabels;
	model_kv labels[4];
	size_t nprojects;
	char *projects[4];
	size_t ntasks; /* the tasks it runs (none: any) */
	char *tasks[4];
	uint32_t slots;
	char *instance;
	int state;
	bool draining;
	int64_t registered;
	/* when it was last heard from as the server shows it; after a crash the
	 * server may show a time up to a minute earlier, down to seen_min */
	int64_t last_seen, seen_min;
	int64_t heard; /* when its silence started to count (LOST after the timeout) */
} model_worker;

typedef struct model {
	int64_t now; /* the test clock's time, ms */
	/* the wall clock's own steps, added to now (model_wall), and when it
	 * last stepped forward (0: never): a job whose retention that made due
	 * goes at the next retention pass */
	int64_t wall_off, fwd_step_at;
	bool restarted;
	/* wnd runs with store faults: a result of a batch answered UNAVAILABLE
	 * (a read failed) changed nothing */
	bool faults;
	/* live objects; deleted ones are dropped (jobs stay, live = false) */
	model_project *projects[16];
	size_t nprojects;
	model_task *tasks[64];
	size_t ntasks;
	model_job **jobs; /* every job ever created, in id order */
	size_t njobs, capjobs;
	wn_map *byid; /* id -> model_job */
	model_sweep **sweeps;
	size_t nsweeps, capsweeps;
	model_worker *workers[16];
	size_t nworkers;
	uint64_t max_id;
	/* retention became due at once for a job (a waiting dependent went
	 * away): time must pass before anything else is asked */
	bool settle;
	char *err; /* the last mismatch, malloc'd */
	/* what happened, for the summary */
	uint64_t n_lost, n_workers_lost, n_retained, n_blocked, n_unblocked;
} model;

/* One call as sent and answered. */
typedef struct model_call {
	const char *method; /* short name: "JobService/Submit" */
	uint64_t reqid;
	const ProtobufCMessage *rq;
	int code;             /* gRPC code */
	const char *msg;      /* error message */
	ProtobufCMessage *rp; /* output when code is OK */
} model_call;

/* model_new returns an empty model at time now. */
model *model_new(int64_t now);
/* model_free frees m; NULL is a no-op. */
void model_free(model *m);

/* model_exec judges call c against the model: 0 if the reply is what the
 * documentation says (the model then holds the new state), -1 with m->err
 * set otherwise. Unknown methods are -1. */
int model_exec(model *m, const model_call *c);

/* model_advance moves the clock to t and applies what falls due: expired
 * leases, workers that timed out, retention of finished jobs. */
void model_advance(model *m, int64_t t);

/* model_safe_time returns the first time at or after t that is at least
 * the margin away from every deadline the model knows. */
int64_t model_safe_time(const model *m, int64_t t);

/* model_restart applies what a restart changes: every RUNNING job gets a
 * full lease from now, cancelled-while-running leases are gone, and every
 * worker's heartbeat clock restarts; after a crash (kill9) when workers were
 * last seen may read up to a minute earlier. */
void model_restart(model *m, bool kill9);

/* model_heard notes that worker w was heard from now (Join, Fetch,
 * Heartbeat, Leave): a LOST worker is ACTIVE again. */
void model_heard(model *m, model_worker *w);

/* Lookups. */
model_project *model_project_get(const model *m, const char *name);
model_task *model_task_get(const model *m, const char *project, const char *name);
model_job *model_job_get(const model *m, uint64_t id); /* live jobs only */
model_sweep *model_sweep_get(const model *m, uint64_t id);
model_worker *model_worker_get(const model *m, const char *name);
/* model_worker_forget removes worker w from the model and frees it. */
void model_worker_forget(model *m, model_worker *w);

/* Derived state, as the documentation defines it. */
/* model_edge tells whether a dependency condition holds (1), may still
 * hold (0) or never can (-1) given the dependency's status (0: removed). */
int model_edge(int cond, int status);
/* model_dep_status returns the status of job id, 0 if it is gone. */
int model_dep_status(const model *m, uint64_t id);
/* model_job_stopping: cancelled while it ran, and the run has neither
 * reported nor run out of its lease (Job.stopping). */
bool model_job_stopping(const model_job *j);
/* model_ready: a PENDING job, not held, whose every dependency holds. */
bool model_ready(const model *m, const model_job *j);
/* model_capped: j's sweep is at its running cap. */
bool model_capped(const model *m, const model_job *j);
/* model_queue returns the ready, uncapped PENDING jobs of project p in
 * dispatch order (malloc'd, *n of them): what a Fetch chooses from. */
model_job **model_queue(const model *m, const char *p, size_t *n);
/* model_line returns those of them that take a place in line: not those that
 * no worker taking jobs could run (model_never), nor those of a capped sweep
 * behind as many of its jobs as it has free places (max_running less its
 * running jobs). */
model_job **model_line(const model *m, const char *p, size_t *n);
/* model_past_room: j is ready, its sweep is capped but not at its cap, and
 * j is out of line behind the jobs of it that take its free places. */
bool model_past_room(const model *m, const model_job *j);
/* model_sweep_count counts the live jobs of sweep s in status st. */
uint64_t model_sweep_count(const model *m, uint64_t s, int st);
/* model_project_count counts the live jobs of project p in status st. */
uint64_t model_project_count(const model *m, const char *p, int st);
/* model_held lists the RUNNING jobs leased to worker name (malloc'd). */
model_job **model_held(const model *m, const char *name, size_t *n);
/* model_unnamed_held: whether a job RUNNING on rq's worker, handed out less
 * than age ms ago, is named by none of rq's leases (such a heartbeat is
 * answered at once when the lease is under MODEL_FRESH_LEASE_MS old). */
bool model_unnamed_held(const model *m, const Whatsnext__V1__HeartbeatRequest *rq, int64_t age);
/* model_used sums what the jobs worker name holds need. */
void model_used(const model *m, const char *name, uint32_t *cpu, uint32_t *gpu, uint64_t *mem);
/* model_never says why no worker taking jobs (ACTIVE, not draining) could
 * ever run a job of task t of project p needing n (not serving p, not
 * running t, too small), or NULL (one could, or none takes jobs). */
const char *model_never(const model *m, const char *p, const char *t, const model_need *n);
/* model_busy: some worker taking jobs could run such a job, but none has
 * room for it now (free capacity, a free slot). */
bool model_busy(const model *m, const char *p, const char *t, const model_need *n);

/* model_fail records a mismatch and returns -1. */
int model_fail(model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Names of statuses ("PENDING") and conditions ("afterok"). */
const char *model_status_name(int st);
const char *model_cond_name(int cond);

/* The name pools: project i, task i, worker i; i < 0 gives an invalid name
 * (bad_name). */
const char *model_pname(int64_t i);
const char *model_tname(int64_t i);
const char *model_wname(int64_t i);
const char *model_bad_name(int64_t i);
/* model_res_variant fills r with task resource variant v (NULL for 0). */
Whatsnext__V1__Resources *model_res_variant(int64_t v);
/* model_cap_variant returns worker capacity variant v (NULL for 0). */
Whatsnext__V1__Capacity *model_cap_variant(int64_t v);

/* Internal to the model's files. */
int model_exec_project(model *m, const model_call *c);
int model_exec_task(model *m, const model_call *c);
int model_exec_job(model *m, const model_call *c);
/* Live output (model_output.c): model_exec_log judges JobService/Log;
 * model_output_apply keeps what progress pg ships of j (its lease checked),
 * model_output_completed what a completion of attempt does to it;
 * model_output_byte is byte off of the output a run of attempt of job id
 * prints, model_output_end how much of attempt's output j keeps. */
int model_exec_log(model *m, const model_call *c);
/* model_art_bad reports whether a Complete lists a file the server refuses
 * (the only kind the runs send: one without a path). */
bool model_art_bad(const Whatsnext__V1__CompleteRequest *rq);
/* Artifacts (model_artifacts.c): PutArtifact and GetArtifact judged; what a
 * Complete does to j's; the path, size, bytes and sha256 of file idx a run
 * of attempt of job id makes; the bytes stored for project; j's list against
 * a reply's (-1 with why). */
int model_exec_put_artifact(model *m, const model_call *c);
int model_exec_get_artifact(model *m, const model_call *c);
void model_art_completed(model_job *j, const Whatsnext__V1__CompleteRequest *rq);
const char *model_art_path(int idx);
uint64_t model_art_size(uint64_t id, uint32_t attempt, int idx);
uint8_t model_art_byte(uint64_t id, uint32_t attempt, int idx, uint64_t off);
void model_art_sha(uint64_t id, uint32_t attempt, int idx, char hex[65]);
uint64_t model_art_bytes(const model *m, const char *project);
/* model_art_drop forgets the files job j's attempt uploaded: the attempt
 * ended without a Complete (its lease expired, or a cancelled run's); 0:
 * none. */
void model_art_drop(model_job *j, uint32_t attempt);
int model_art_check(const model_job *j, Whatsnext__V1__Artifact *const *v, size_t n, char *why,
                    size_t len);
void model_output_apply(model_job *j, const Whatsnext__V1__JobProgress *pg);
void model_output_completed(model_job *j, uint32_t attempt);
uint8_t model_output_byte(uint64_t id, uint32_t attempt, uint64_t off);
uint64_t model_output_end(const model_job *j, uint32_t attempt);
/* Results (model_results.c): model_results_fill adds to pg what a run with
 * variant v reports (allocated with alloc); model_results_bad tells whether
 * pg breaks a rule; model_results_apply keeps what pg reports of j (final:
 * a completion's); model_results_fresh empties j's results (a new attempt);
 * model_results_same compares them with a reply's job g;
 * model_exec_history judges JobService/History. */
void model_results_fill(Whatsnext__V1__JobProgress *pg, int64_t v, void *(*alloc)(size_t));
bool model_results_bad(const Whatsnext__V1__JobProgress *pg);
void model_results_apply(model_job *j, const Whatsnext__V1__JobProgress *pg, bool final);
void model_results_fresh(model_job *j);
void model_results_free(model_job *j);
bool model_results_same(const model_job *j, const Whatsnext__V1__Job *g);
int model_exec_history(model *m, const model_call *c);
int model_exec_queue(model *m, const model_call *c);
int model_exec_worker(model *m, const model_call *c);
/* model_exec_bulk and model_exec_update judge JobService/Bulk and
 * JobService/Update (model_bulk.c). */
int model_exec_bulk(model *m, const model_call *c);
int model_exec_update(model *m, const model_call *c);
/* model_exec_wait judges JobService/Wait (model_wait.c). */
int model_exec_wait(model *m, const model_call *c);
/* model_settle brings dependents in line after a change: PENDING jobs with a
 * dependency that can no longer hold become BLOCKED, BLOCKED jobs whose
 * dependencies can all still hold go back to PENDING, transitively. */
void model_settle(model *m);
/* model_job_retry makes j PENDING as JobService/Retry does: the lost and failures counts,
 * exit code, reason and the last run's worker, times and external id cleared. */
void model_job_retry(model_job *j);
/* model_worker_clear frees what a worker announced at Join (host, version,
 * capacity, projects, tasks). */
void model_worker_clear(model_worker *w);
/* model_waited_on: a PENDING, BLOCKED or RUNNING job depends on j (Remove
 * without force refuses it). */
bool model_waited_on(const model *m, const model_job *j);
/* model_retention_held: a job that is not COMPLETED depends on j (it waits,
 * runs, or may be retried): retention keeps j. */
bool model_retention_held(const model *m, const model_job *j);
/* model_job_remove deletes job j (its lease too). */
void model_job_remove(model *m, model_job *j);
/* model_set_reason sets j's expected reason and how it is compared. */
void model_set_reason(model_job *j, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* model_lease_lost applies a lease loss to RUNNING job j (expiry, LOST worker). */
void model_lease_lost(model *m, model_job *j);
/* model_fetch_one judges a job handed out by Fetch to worker w (NULL: not
 * joined) from projects ps; 0 and the job claimed, or -1. */
int model_fetch_one(model *m, const Whatsnext__V1__FetchRequest *rq, const Whatsnext__V1__Job *got,
                    const char *const *ps, size_t np);
/* model_fetch_any: whether a job could be handed out to rq now. */
bool model_fetch_any(const model *m, const Whatsnext__V1__FetchRequest *rq, const char *const *ps,
                     size_t np);
/* model_wall: the server's wall clock now (the test clock plus its steps). */
int64_t model_wall(const model *m);
/* model_wall_step steps the wall clock by delta ms; a forward step may make
 * retention due at once (settle). */
void model_wall_step(model *m, int64_t delta);
/* model_time_ok: v is time t as the server recorded it (within TOL). */
bool model_time_ok(int64_t v, int64_t t);
/* model_retention_mark notes jobs whose retention became due just now. */
void model_retention_mark(model *m);
/* model_want checks that call c failed with code (0: succeeded); -1 with
 * m->err set when it did not. */
int model_want(model *m, const model_call *c, int code, const char *why);
/* model_name_ok: s is a valid name (protocol section 6); model_jobname_ok:
 * a valid job or sweep name. */
bool model_name_ok(const char *s);
bool model_jobname_ok(const char *s);
/* model_label_value_ok: label value s holds no control character (C0, DEL,
 * C1). */
bool model_label_value_ok(const char *s);
/* model_job_new appends a job with id to the model. */
model_job *model_job_new(model *m, uint64_t id);
/* model_holder_ok: a request from worker may act on job j's lease (the
 * worker it was given to; a job naming no worker takes any). */
bool model_holder_ok(const model_job *j, const char *worker);
/* model_strdup copies s ("" for NULL). */
char *model_strdup(const char *s);

#endif
