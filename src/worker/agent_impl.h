/* agent_impl: what the agent's files share (agent.c the life and the fetch
 * loop, agent_job.c one job from start to report, agent_hb.c heartbeats,
 * agent_fetch.c fetching and what the agent knows of the server's tasks,
 * agent_fleet.c joining and leaving the fleet). Private to them: the rest of
 * the worker uses agent.h. */
#ifndef WN_AGENT_IMPL_H
#define WN_AGENT_IMPL_H

#include "agent.h"
#include "capacity.h"
#include "envelope.h"
#include "fmt.h"
#include "methods.h"
#include "outship.h"
#include "resultfile.h"
#include "rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_BACKOFF_MIN_MS   250
#define AGENT_BACKOFF_MAX_MS   5000
#define AGENT_LEASE_DEFAULT_MS 60000
#define AGENT_TASK_CACHE_MS    10000
#define AGENT_ERROR_MAX_MS     30000
#define AGENT_ALIVE_MS         10000 /* longest heartbeat interval: stay ACTIVE */
#define AGENT_BUSY_WAIT_MS     1000  /* longest fetch wait while jobs run */
#define AGENT_HB_WAIT_MAX_MS   60000 /* longest a heartbeat asks the server to wait */
#define AGENT_HB_AGAIN_MS      250   /* after news, the next heartbeat */
#define AGENT_HB_FETCH_MS      500   /* a heartbeat answered early waits for a fetch this long */
#define AGENT_REASON_MAX       4096  /* the longest reason the server takes (docs/protocol.md) */
#define AGENT_PAUSE_MIN_MS     1000  /* no job taken this long after a start this machine failed */
#define AGENT_PAUSE_MAX_MS     60000 /* ... longer each time in a row, up to this */
#define AGENT_QUOTE_MAX        900   /* bytes of a server's message quoted in a note or the log */
#define AGENT_NOWAKE_MS        200   /* a run with no wake descriptor looks for news this often */
#define AGENT_QUICK_MS         50    /* an empty fetch answered sooner than this was not held */
#define AGENT_LEAVE_CALL_MS    2000  /* a leaving worker waits this long for each call at most */

/* Stop levels, raised by wn_agent_stop. */
enum { AGENT_RUN = 0, AGENT_DRAIN, AGENT_FORCE, AGENT_KILL };

/* Why a run was stopped before it ended by itself. */
typedef enum {
	AGENT_CAUSE_NONE = 0,
	AGENT_CAUSE_TIMEOUT,
	AGENT_CAUSE_CANCEL,
	AGENT_CAUSE_LOST,
	AGENT_CAUSE_STOP,
	AGENT_CAUSE_DETACH /* the worker stops; the run lives on elsewhere */
} agent_cause;

typedef struct agent_job agent_job;
struct agent_job {
	agent_job *next;
	wn_agent *agent;
	pthread_t thread;
	uint64_t id;
	uint32_t attempt;
	char *project, *task, *name;
	int32_t priority;
	size_t nparams;
	char **keys, **vals;
	int64_t lease_ms;
	int wake_fd;
	bool resume;       /* held before a restart: follow the run, do not start one */
	char *external_id; /* resume: what the run is known by; then the run's, under the lock */
	uint64_t sweep_id;
	bool has_task;        /* its task's settings came with it (the fetch) */
	const char *back_why; /* why it goes back unrun (wn_agent_admit_all) */
	uint32_t task_timeout_s;
	uint32_t need_cpu, need_gpu;
	uint64_t need_mem;
	wn_fmt_group *group;    /* started together with other jobs of its sweep */
	bool grouped;           /* it came to its group or left it */
	bool remote;            /* its run lives outside the worker (wn_fmt_can_resume) */
	wn_outship *out;        /* ships the run's output; set under the lock */
	wn_resultfile *results; /* what the run reports ($WN_RESULTS); set under the lock */
	Whatsnext__V1__JobProgress *progress; /* the run's last progress, sent with its result */
	/* under the agent's lock */
	bool holding;   /* the lease is ours until the result is reported */
	bool cancelled; /* the server says the job was cancelled */
	bool lost;      /* the server says the lease is no longer ours */
	bool reporting; /* its result (or release) is on its way to the server */
	bool done;      /* the runner thread is finishing: join it */
	/* the files the run produced, for its Complete (artifact_put.c) */
	Whatsnext__V1__Artifact **arts;
	size_t narts;
};

/* What one job of a task needs of the worker's resources. */
typedef struct agent_need {
	uint32_t cpu, gpu;
	uint64_t memory_mb;
} agent_need;

/* What the agent knows of a project it serves: which of its own tasks exist
 * there (the fetch filter), their timeouts and needs. Refreshed from the
 * server when older than AGENT_TASK_CACHE_MS. */
typedef struct agent_project {
	const char *name;
	int64_t fetched_ms; /* monotonic; 0 = never */
	size_t n;
	const char **tasks; /* names owned by the config */
	uint32_t *timeouts;
	agent_need *needs;
} agent_project;

struct wn_agent {
	const wn_wconfig *cfg;
	wn_agent_opts opts;
	wn_rpc *rpc;
	char *name;
	char *url;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* broadcast on every change of the fields below */
	int stop;
	bool hb_quit;
	bool down; /* the last call could not reach the server */
	size_t
	    fetching; /* calls on their way that may claim jobs: the fetch, Completes with next */
	size_t releasing; /* leases being handed back: no Complete asks for a next job */
	size_t running;   /* slots in use */
	size_t slots;     /* slots that may run at once: the config's, or fewer that
	                   * the descriptor limit has room for (agent_slots) */
	size_t threads;   /* runner threads not yet joined */
	agent_job *jobs;
	agent_project *projects; /* one per configured project */
	char *last_error;        /* the last fetch error logged, to log repeats quietly */
	pthread_t hb_thread;
	wn_capacity cap;   /* what the worker offers; GPU holders under the lock */
	char *host;        /* announced when joining */
	char instance[33]; /* this process among those that may use its name */
	int64_t alive_ms;  /* the server's worker timeout / 3 (0: not heard yet) */
	bool need_join;    /* join (again): at start, after an outage, when unknown */
	bool joined;       /* the server knows this worker: heartbeat even when idle */
	bool unjoinable;   /* the server has no fleet: run without joining */
	bool name_taken;   /* a Join was refused: another instance holds the name */
	bool draining;     /* the server asked: no new jobs, exit when idle */
	bool hb_soon;      /* a run got its external id: heartbeat now to record it */
	bool hb_news;      /* the last heartbeat's answer had news (cancel, lost, drain) */
	bool hb_held;      /* the server held the last heartbeat until news or its wait */
	bool signalled;    /* asked to stop (not --once's end): runs on a cluster are left */
	bool refused;      /* the server refused the worker's token: it stops */
	bool left;         /* it told the server it leaves (GONE) */
	bool intr_started; /* intr_thread runs: it ends an idle worker's waiting fetch */
	pthread_t intr_thread;
	/* Leaving (wn_agent_leaving) since leave_from (monotonic ms; 0: not
	 * leaving): from leave_by on, calls made before are given up unless
	 * the server answered one since leave_from (it holds them, it will
	 * answer), those made since wait AGENT_LEAVE_CALL_MS at most.
	 * long_calls counts the calls in flight made before; answered_ms is
	 * when the server last answered a call. */
	_Atomic int64_t leave_from, leave_by, answered_ms;
	atomic_int long_calls;
	int64_t pause_until; /* monotonic: no job is taken before (wn_agent_pause) */
	int64_t pause_ms;    /* the last pause; 0 once a command started since */
};

/* How a job ends for the agent: a result, its lease handed back, nothing
 * (the lease was lost), or nothing yet (DETACH: the run goes on outside the
 * worker and keeps its lease until the lease runs out). */
typedef enum { AGENT_END_RESULT, AGENT_END_RELEASE, AGENT_END_DROP, AGENT_END_DETACH } agent_end;

typedef enum { AGENT_FETCH_JOB, AGENT_FETCH_EMPTY, AGENT_FETCH_DOWN, AGENT_FETCH_ERROR } fetch_rc;

typedef enum { AGENT_JOIN_OK, AGENT_JOIN_DOWN, AGENT_JOIN_TAKEN, AGENT_JOIN_FAILED } join_rc;

/* ---------------------------------------------------------------- agent.c */

/* wn_agent_timedwait waits (lock held) for a broadcast or ms to pass. */
void wn_agent_timedwait(wn_agent *a, int64_t ms);

/* wn_agent_sleep waits (lock held) up to ms, or until the stop level exceeds
 * level; other broadcasts are absorbed. */
void wn_agent_sleep(wn_agent *a, int64_t ms, int level);

/* wn_agent_leaving says (lock held) that the worker is on its way out: its
 * calls wait for the server AGENT_LEAVE_CALL_MS at most (rpc_timeout_ms if
 * shorter), heartbeats are not held, and the calls in flight are given up
 * that long from now (wn_agent_tick). */
void wn_agent_leaving(wn_agent *a);

/* wn_agent_wake wakes j's runner thread (its wake_fd). */
void wn_agent_wake(agent_job *j);

/* wn_agent_unreachable tells whether rc of a call means the server could not
 * be reached. */
bool wn_agent_unreachable(int rc);

/* wn_agent_call makes one call of method mid (WN_MID_*, its reply type from
 * the method list); a failure to reach the server is logged once per outage,
 * and its end too. Returns wn_rpc_call's value. */
int wn_agent_call(wn_agent *a, enum wn_method_id mid, const ProtobufCMessage *in,
                  ProtobufCMessage **out, uint64_t id, int extra_ms, char **errmsg);

/* ---------------------------------------------------------------- agent_job.c */

/* wn_agent_job_from copies what the agent needs from a fetched job. */
agent_job *wn_agent_job_from(wn_agent *a, const Whatsnext__V1__Job *pj);

/* wn_agent_job_free frees j (its group left if it never ran); NULL is a no-op. */
void wn_agent_job_free(agent_job *j);

/* wn_agent_report delivers j's result (or hands its lease back), retrying
 * with the same request id while the server is unreachable. With next
 * non-NULL a result asks for the worker's next job in the same call (when
 * the worker takes new jobs): *next gets it, or NULL. */
void wn_agent_report(wn_agent *a, agent_job *j, agent_end end, const wn_fmt_result *res,
                     bool cancelled, int64_t duration_ms, agent_job **next);

/* ---------------------------------------------------------------- artifact_put.c */

/* wn_agent_artifacts finds the artifacts of j's ended run (task formatter
 * f), uploads those its task says to, and keeps the list in j->arts. */
void wn_agent_artifacts(wn_agent *a, agent_job *j, const wn_fmt *f, wn_fmt_run *run);

/* wn_agent_artifacts_refused replaces j's list, which the server refused
 * in its Complete with message refused, by one note saying so (path "."),
 * and logs it. */
void wn_agent_artifacts_refused(agent_job *j, const char *refused);

/* wn_agent_artifacts_free frees j's list. */
void wn_agent_artifacts_free(agent_job *j);

/* wn_agent_dispatch starts a runner thread for j (lock held). */
void wn_agent_dispatch(wn_agent *a, agent_job *j);

/* wn_agent_reap joins the runner threads that have finished (lock held). */
void wn_agent_reap(wn_agent *a);

/* wn_agent_pause keeps the worker from taking jobs for a while after this
 * machine could not start a command (why: wn_proc_short_here, a full disk,
 * no descriptors; squeue failing before a SLURM job is submitted), longer
 * each time in a row, AGENT_PAUSE_MIN_MS up to
 * AGENT_PAUSE_MAX_MS; wn_agent_started ends the series. */
void wn_agent_pause(wn_agent *a, const char *why);
void wn_agent_started(wn_agent *a);

/* wn_agent_paused tells (lock held) whether the worker takes no job now. */
bool wn_agent_paused(const wn_agent *a);

/* wn_agent_release_unused hands back a job fetched while stopping or
 * draining (why NULL), or one the worker does not run for reason why. */
void wn_agent_release_unused(wn_agent *a, agent_job *j, const char *why);

/* ---------------------------------------------------------------- agent_hb.c */

/* wn_agent_hb_main is the heartbeat thread: leases held, and the worker
 * itself while idle; it applies what the server answers (cancelled, lost,
 * drain). */
void *wn_agent_hb_main(void *arg);

/* ---------------------------------------------------------------- agent_fetch.c */

/* wn_agent_project_stale tells whether p should be refreshed (lock held). */
bool wn_agent_project_stale(const agent_project *p);

/* wn_agent_project_refresh learns which of the worker's tasks exist in
 * project p, their timeouts and needs; returns wn_rpc_call's value. */
int wn_agent_project_refresh(wn_agent *a, agent_project *p, char **errmsg);

/* wn_agent_task_settings gives the timeout in seconds (0 = none) and the
 * needs of j's task. */
void wn_agent_task_settings(wn_agent *a, const agent_job *j, uint32_t *timeout_s, agent_need *need);

/* wn_agent_fetch asks the server for up to max_jobs jobs, waiting up to
 * wait_ms; on AGENT_FETCH_JOB, *out holds *nout malloc'd jobs. */
fetch_rc wn_agent_fetch(wn_agent *a, uint32_t wait_ms, uint32_t max_jobs, uint64_t id,
                        agent_job ***out, size_t *nout);

/* wn_agent_next_request fills rq, a Complete's `next`, to claim one job as a
 * fetch would (without waiting, without learning the projects again);
 * false when the worker takes no new job now or knows no project to serve.
 * Free rq->projects and rq->tasks after the call. */
bool wn_agent_next_request(wn_agent *a, Whatsnext__V1__FetchRequest *rq);

/* What becomes of a job the server handed out (wn_agent_admit). */
typedef enum {
	AGENT_ADMIT_RUN,  /* run it */
	AGENT_ADMIT_DROP, /* the same lease again: the run of it goes on */
	AGENT_ADMIT_BACK  /* hand it back to the server */
} agent_admit;

/* wn_agent_admit says what becomes of job j the server handed out, with
 * room for `room` more jobs (lock held); *why says why for
 * AGENT_ADMIT_BACK. The worker trusts no server to hand out only the jobs
 * it asked for. */
agent_admit wn_agent_admit(wn_agent *a, const agent_job *j, size_t room, const char **why);

/* wn_agent_admit_all keeps in jobs[0..*n) those of the jobs fetched that
 * the worker runs (at most max_jobs), in order; the rest are dropped
 * (wn_agent_drop_twice) or, if to be handed back, moved to *back (*nback of
 * them, malloc'd; each with its back_why). Takes the lock. */
void wn_agent_admit_all(wn_agent *a, agent_job **jobs, size_t *n, size_t max_jobs,
                        agent_job ***back, size_t *nback);

/* wn_agent_drop_twice frees j, a job the server handed out again while the
 * worker holds it (AGENT_ADMIT_DROP), saying so. */
void wn_agent_drop_twice(agent_job *j);

/* wn_agent_next_job copies the job a Complete's reply r claimed, with its
 * task's settings; NULL when none. */
agent_job *wn_agent_next_job(wn_agent *a, const Whatsnext__V1__CompleteResponse *r);

/* wn_agent_group makes the jobs of one sweep among jobs[0..n) a group when
 * their formatter starts such runs together. */
void wn_agent_group(wn_agent *a, agent_job **jobs, size_t n);

/* ---------------------------------------------------------------- agent_fleet.c */

/* wn_agent_join announces the worker to the server (and, when first, takes
 * back the jobs it held before a restart). */
join_rc wn_agent_join(wn_agent *a, bool first);

/* wn_agent_leave tells the server the worker shuts down cleanly (GONE). */
void wn_agent_leave(wn_agent *a);

/* wn_agent_stopped_early returns why j must not start after all, if it must
 * not (agent_dev.c). */
agent_cause wn_agent_stopped_early(wn_agent *a, const agent_job *j);

/* wn_agent_devices_take takes the locks of j's GPU devices gpus ("0,1"; ""
 * none) into *out, waiting while a run of an earlier worker process holds
 * one (devlock.h): 0, WN_ESTATE when j was stopped meanwhile or the worker
 * drains, or WN_EIO with *reason. */
struct wn_devlock;
int wn_agent_devices_take(wn_agent *a, const agent_job *j, const char *gpus,
                          struct wn_devlock **out, char **reason);

/* wn_agent_devices_record records j's run, in process group pgid with mark
 * in its environment, as the holder of its devices dev (wn_devlock_record),
 * and warns when it cannot. */
void wn_agent_devices_record(const agent_job *j, struct wn_devlock *dev, pid_t pgid, uint64_t mark);

#endif
