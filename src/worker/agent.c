#include "agent.h"

#include "envelope.h"
#include "err.h"
#include "fmt.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define AGENT_M_FETCH     "/whatsnext.v1.QueueService/Fetch"
#define AGENT_M_HEARTBEAT "/whatsnext.v1.QueueService/Heartbeat"
#define AGENT_M_COMPLETE  "/whatsnext.v1.QueueService/Complete"
#define AGENT_M_RELEASE   "/whatsnext.v1.QueueService/Release"
#define AGENT_M_TASK_LIST "/whatsnext.v1.TaskService/List"
#define AGENT_M_JOIN      "/whatsnext.v1.WorkerService/Join"
#define AGENT_M_LEAVE     "/whatsnext.v1.WorkerService/Leave"
#define AGENT_M_SWEEP_GET "/whatsnext.v1.SweepService/Get"

#define AGENT_BACKOFF_MIN_MS   250
#define AGENT_BACKOFF_MAX_MS   5000
#define AGENT_LEASE_DEFAULT_MS 60000
#define AGENT_TASK_CACHE_MS    10000
#define AGENT_ERROR_MAX_MS     30000
#define AGENT_ALIVE_MS         10000 /* longest heartbeat interval: stay ACTIVE */
#define AGENT_BUSY_WAIT_MS     1000  /* longest fetch wait while jobs run */

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
	wn_fmt_group *group; /* started together with other jobs of its sweep */
	bool grouped;        /* it came to its group or left it */
	bool remote;         /* its run lives outside the worker (wn_fmt_can_resume) */
	/* under the agent's lock */
	bool holding;   /* the lease is ours until the result is reported */
	bool cancelled; /* the server says the job was cancelled */
	bool lost;      /* the server says the lease is no longer ours */
	bool done;      /* the runner thread is finishing: join it */
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
	bool down;      /* the last call could not reach the server */
	bool fetching;  /* a fetch is on its way */
	size_t running; /* slots in use */
	size_t threads; /* runner threads not yet joined */
	agent_job *jobs;
	agent_project *projects; /* one per configured project */
	char *last_error;        /* the last fetch error logged, to log repeats quietly */
	pthread_t hb_thread;
	wn_capacity cap;   /* what the worker offers; GPU holders under the lock */
	char *host;        /* announced when joining */
	char instance[33]; /* this process among those that may use its name */
	bool need_join;    /* join (again): at start, after an outage, when unknown */
	bool joined;       /* the server knows this worker: heartbeat even when idle */
	bool unjoinable;   /* the server has no fleet: run without joining */
	bool name_taken;   /* a Join was refused: another instance holds the name */
	bool draining;     /* the server asked: no new jobs, exit when idle */
	bool hb_soon;      /* a run got its external id: heartbeat now to record it */
	bool signalled;    /* asked to stop (not --once's end): runs on a cluster are left */
};

/* ---------------------------------------------------------------- helpers */

/* agent_timedwait waits (lock held) for a broadcast or ms to pass. */
static void agent_timedwait(wn_agent *a, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&a->cond, &a->mu, &ts);
}

/* agent_sleep waits (lock held) up to ms, or until the stop level exceeds
 * level; other broadcasts are absorbed. */
static void agent_sleep(wn_agent *a, int64_t ms, int level)
{
	int64_t until = wn_mono_ms() + ms;
	while (a->stop <= level) {
		int64_t left = until - wn_mono_ms();
		if (left <= 0)
			break;
		agent_timedwait(a, left);
	}
}

static void agent_wake(agent_job *j)
{
	uint64_t one = 1;
	ssize_t w = write(j->wake_fd, &one, sizeof(one));
	(void)w;
}

static bool agent_transport_error(int rc)
{
	return rc < 0 || rc == WHATSNEXT__V1__CODE__UNAVAILABLE;
}

/* agent_call makes one call. A failure to reach the server is logged once
 * per outage, and its end too. Returns wn_rpc_call's value. */
static int agent_call(wn_agent *a, const char *method, const ProtobufCMessage *in,
                      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out, uint64_t id,
                      int extra_ms, char **errmsg)
{
	int rc = wn_rpc_call(a->rpc, method, in, desc, out, errmsg, id, extra_ms);
	bool unreachable = agent_transport_error(rc);
	pthread_mutex_lock(&a->mu);
	if (unreachable && !a->down) {
		wn_warn("cannot reach the server at %s: %s; retrying with backoff", a->url,
		        *errmsg ? *errmsg : wn_strerror(rc));
		a->down = true;
	} else if (!unreachable && a->down) {
		wn_info("the server at %s is reachable again", a->url);
		a->down = false;
		/* it may have restarted: announce the worker again */
		a->need_join = !a->unjoinable;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static void agent_job_free(agent_job *j)
{
	if (j == NULL)
		return;
	free(j->project);
	free(j->task);
	free(j->name);
	for (size_t i = 0; i < j->nparams; i++) {
		free(j->keys[i]);
		free(j->vals[i]);
	}
	free(j->keys);
	free(j->vals);
	free(j->external_id);
	if (j->group != NULL) {
		if (!j->grouped)
			wn_fmt_group_leave(j->group); /* never ran: handed back */
		wn_fmt_group_unref(j->group);
	}
	if (j->wake_fd >= 0)
		close(j->wake_fd);
	free(j);
}

/* agent_job_from copies what the agent needs from a fetched job. */
static agent_job *agent_job_from(wn_agent *a, const Whatsnext__V1__Job *pj)
{
	agent_job *j = wn_xcalloc(1, sizeof(*j));
	j->agent = a;
	j->id = pj->id;
	j->attempt = pj->attempt;
	j->project = wn_xstrdup(pj->project ? pj->project : "");
	j->task = wn_xstrdup(pj->task ? pj->task : "");
	j->name = wn_xstrdup(pj->name ? pj->name : "");
	j->priority = pj->priority;
	j->nparams = pj->n_params;
	j->keys = wn_xcalloc(pj->n_params ? pj->n_params : 1, sizeof(char *));
	j->vals = wn_xcalloc(pj->n_params ? pj->n_params : 1, sizeof(char *));
	for (size_t i = 0; i < pj->n_params; i++) {
		j->keys[i] = wn_xstrdup(pj->params[i]->key ? pj->params[i]->key : "");
		j->vals[i] = wn_xstrdup(pj->params[i]->value ? pj->params[i]->value : "");
	}
	int64_t lease = pj->lease_expires_ms - pj->started_ms;
	if (pj->lease_expires_ms <= 0 || pj->started_ms <= 0 || lease <= 0)
		lease = AGENT_LEASE_DEFAULT_MS;
	j->lease_ms = lease;
	j->external_id = wn_xstrdup(pj->external_id ? pj->external_id : "");
	j->sweep_id = pj->sweep_id;
	j->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	j->holding = true;
	return j;
}

/* ---------------------------------------------------------------- task settings */

static agent_project *agent_project_of(wn_agent *a, const char *name)
{
	for (size_t i = 0; i < a->cfg->projects.n; i++)
		if (strcmp(a->projects[i].name, name) == 0)
			return &a->projects[i];
	return NULL;
}

/* agent_project_refresh learns which of the worker's tasks exist in project
 * p, their timeouts and needs. Returns wn_rpc_call's value; *errmsg on failure. */
static int agent_project_refresh(wn_agent *a, agent_project *p, char **errmsg)
{
	Whatsnext__V1__ListTasksRequest req = WHATSNEXT__V1__LIST_TASKS_REQUEST__INIT;
	req.project = (char *)p->name;
	ProtobufCMessage *out = NULL;
	int rc = agent_call(a, AGENT_M_TASK_LIST, &req.base,
	                    &whatsnext__v1__list_tasks_response__descriptor, &out, 0, 0, errmsg);
	if (rc != WN_OK)
		return rc;
	const Whatsnext__V1__ListTasksResponse *r = (const Whatsnext__V1__ListTasksResponse *)out;
	const wn_wconfig *cfg = a->cfg;
	const char **tasks = wn_xcalloc(cfg->ntasks, sizeof(*tasks));
	uint32_t *timeouts = wn_xcalloc(cfg->ntasks, sizeof(*timeouts));
	agent_need *needs = wn_xcalloc(cfg->ntasks, sizeof(*needs));
	size_t n = 0;
	for (size_t i = 0; i < cfg->ntasks; i++)
		for (size_t k = 0; k < r->n_tasks; k++)
			if (r->tasks[k]->name &&
			    strcmp(r->tasks[k]->name, cfg->task_names[i]) == 0) {
				const Whatsnext__V1__Resources *res = r->tasks[k]->resources;
				if (res != NULL)
					needs[n] = (agent_need){res->cpu, res->gpu, res->memory_mb};
				tasks[n] = cfg->task_names[i];
				timeouts[n++] = r->tasks[k]->timeout_s;
				break;
			}
	protobuf_c_message_free_unpacked(out, NULL);
	pthread_mutex_lock(&a->mu);
	free(p->tasks);
	free(p->timeouts);
	free(p->needs);
	p->tasks = tasks;
	p->timeouts = timeouts;
	p->needs = needs;
	p->n = n;
	p->fetched_ms = wn_mono_ms();
	pthread_mutex_unlock(&a->mu);
	return WN_OK;
}

/* agent_project_stale tells whether p should be refreshed (lock held). */
static bool agent_project_stale(const agent_project *p)
{
	return p->fetched_ms == 0 || wn_mono_ms() - p->fetched_ms >= AGENT_TASK_CACHE_MS;
}

/* agent_project_task returns the index of task in p, or -1 (lock held). */
static ssize_t agent_project_task(const agent_project *p, const char *task)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->tasks[i], task) == 0)
			return (ssize_t)i;
	return -1;
}

/* agent_task_settings gives the timeout in seconds (0 = none) and the needs
 * of j's task, from what the agent knows or, when that is old or lacks the
 * task, from the server. */
static void agent_task_settings(wn_agent *a, const agent_job *j, uint32_t *timeout_s,
                                agent_need *need)
{
	*timeout_s = 0;
	*need = (agent_need){0, 0, 0};
	agent_project *p = agent_project_of(a, j->project);
	if (p == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	bool stale = agent_project_stale(p) || agent_project_task(p, j->task) < 0;
	pthread_mutex_unlock(&a->mu);
	if (stale) {
		char *errmsg = NULL;
		if (agent_project_refresh(a, p, &errmsg) != WN_OK)
			wn_warn("job %llu: cannot read the settings of task %s: %s; using what was "
			        "known before",
			        (unsigned long long)j->id, j->task,
			        errmsg ? errmsg : "unknown error");
		free(errmsg);
	}
	pthread_mutex_lock(&a->mu);
	ssize_t i = agent_project_task(p, j->task);
	if (i >= 0) {
		*timeout_s = p->timeouts[i];
		*need = p->needs[i];
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---------------------------------------------------------------- reporting */

/* How a job ends for the agent: a result, its lease handed back, nothing
 * (the lease was lost), or nothing yet (DETACH: the run goes on outside the
 * worker and keeps its lease until the lease runs out). */
typedef enum { AGENT_END_RESULT, AGENT_END_RELEASE, AGENT_END_DROP, AGENT_END_DETACH } agent_end;

/* agent_report delivers the result (or hands the lease back), retrying with
 * the same request id while the server is unreachable; the server answers
 * a repeated id from its first execution, so a result counts once. */
static void agent_report(wn_agent *a, agent_job *j, agent_end end, const wn_fmt_result *res,
                         bool cancelled, int64_t duration_ms)
{
	if (end == AGENT_END_DETACH)
		return;
	if (end == AGENT_END_DROP) {
		wn_warn("job %llu: lease lost (the server took the job back): result dropped",
		        (unsigned long long)j->id);
		return;
	}
	Whatsnext__V1__CompleteRequest creq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	Whatsnext__V1__ReleaseRequest rreq = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	const ProtobufCMessage *in;
	const ProtobufCMessageDescriptor *desc;
	const char *method;
	char *release_reason = NULL;
	if (end == AGENT_END_RESULT) {
		creq.job_id = j->id;
		creq.attempt = j->attempt;
		creq.worker = a->name;
		creq.success = res->success;
		creq.exit_code = res->exit_code;
		creq.reason = res->reason ? res->reason : (char *)"";
		creq.output_tail = res->output_tail ? res->output_tail : (char *)"";
		creq.duration_ms = duration_ms;
		creq.external_id = res->external_id ? res->external_id : (char *)"";
		creq.cancelled = cancelled;
		creq.brief = 1; /* the reply's job would only echo what we sent */
		in = &creq.base;
		desc = &whatsnext__v1__complete_response__descriptor;
		method = AGENT_M_COMPLETE;
	} else {
		release_reason = res != NULL && res->reason != NULL
		                     ? wn_xstrdup(res->reason)
		                     : wn_xasprintf("worker %s stopped", a->name);
		rreq.job_id = j->id;
		rreq.attempt = j->attempt;
		rreq.worker = a->name;
		rreq.reason = release_reason;
		in = &rreq.base;
		desc = &whatsnext__v1__job__descriptor;
		method = AGENT_M_RELEASE;
	}
	if (end == AGENT_END_RELEASE) {
		/* A fetch on its way would take the job straight back: let it
		 * come home first (it does within fetch_wait_ms). */
		pthread_mutex_lock(&a->mu);
		while (a->fetching && a->stop < AGENT_KILL)
			pthread_cond_wait(&a->cond, &a->mu);
		pthread_mutex_unlock(&a->mu);
	}
	uint64_t id = wn_random_u64() | 1;
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	int forced_tries = 0;
	for (;;) {
		ProtobufCMessage *out = NULL;
		char *errmsg = NULL;
		int rc = agent_call(a, method, in, desc, &out, id, 0, &errmsg);
		if (rc == WN_OK) {
			protobuf_c_message_free_unpacked(out, NULL);
			if (end == AGENT_END_RELEASE)
				wn_info("job %llu: lease handed back", (unsigned long long)j->id);
			else
				wn_debug("job %llu: result recorded", (unsigned long long)j->id);
			break;
		}
		if (!agent_transport_error(rc)) {
			if (rc == WHATSNEXT__V1__CODE__FAILED_PRECONDITION)
				wn_warn("job %llu: the server refused the result of attempt %u: %s",
				        (unsigned long long)j->id, (unsigned)j->attempt, errmsg);
			else
				wn_error("job %llu: cannot report the result: %s",
				         (unsigned long long)j->id, errmsg);
			free(errmsg);
			break;
		}
		pthread_mutex_lock(&a->mu);
		bool lost = j->lost;
		int level = a->stop;
		if (!lost && !(level >= AGENT_FORCE && ++forced_tries > 2)) {
			wn_debug("job %llu: cannot report the result: %s; retrying in %lld ms",
			         (unsigned long long)j->id, errmsg, (long long)backoff);
			agent_sleep(a, backoff, level);
		}
		pthread_mutex_unlock(&a->mu);
		if (lost || (level >= AGENT_FORCE && forced_tries > 2)) {
			wn_error("job %llu: giving up reporting the result: %s",
			         (unsigned long long)j->id, lost ? "lease lost" : errmsg);
			free(errmsg);
			break;
		}
		free(errmsg);
		backoff = backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : backoff * 2;
	}
	free(release_reason);
}

/* ---------------------------------------------------------------- one job */

static const char *agent_cause_text(agent_cause c)
{
	switch (c) {
	case AGENT_CAUSE_TIMEOUT:
		return "timed out";
	case AGENT_CAUSE_CANCEL:
		return "cancelled on the server";
	case AGENT_CAUSE_LOST:
		return "lease lost";
	case AGENT_CAUSE_STOP:
		return "worker stopping";
	case AGENT_CAUSE_DETACH:
		return "worker stopping; left running";
	default:
		return "";
	}
}

/* agent_publish notes the external id of j's run (a SLURM job id) and has
 * the heartbeat thread send it at once, so that the server records it
 * before a crash of the worker could lose it. */
static void agent_publish(wn_agent *a, agent_job *j, wn_fmt_run *run)
{
	const char *id = wn_fmt_external_id(run);
	if (id == NULL || id[0] == '\0')
		return;
	pthread_mutex_lock(&a->mu);
	if (j->external_id == NULL || strcmp(j->external_id, id) != 0) {
		free(j->external_id);
		j->external_id = wn_xstrdup(id);
		a->hb_soon = true;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->mu);
}

/* agent_supervise waits for a started run to end, stopping it (SIGTERM, then
 * SIGKILL after the grace period) on timeout, cancellation, a lost lease or
 * a forced stop; returns why it was stopped. */
static agent_cause agent_supervise(wn_agent *a, agent_job *j, wn_fmt_run *run, uint32_t timeout_s,
                                   int64_t t0)
{
	int64_t deadline = timeout_s ? t0 + (int64_t)timeout_s * 1000 : -1;
	int64_t grace_ms = a->cfg->kill_grace_s * 1000;
	int64_t kill_at = -1;
	bool killed = false;
	agent_cause cause = AGENT_CAUSE_NONE;
	for (;;) {
		pthread_mutex_lock(&a->mu);
		bool lost = j->lost, cancelled = j->cancelled;
		int level = a->stop;
		bool leave = j->remote && a->signalled;
		pthread_mutex_unlock(&a->mu);
		int64_t now = wn_mono_ms();
		if (cause == AGENT_CAUSE_NONE) {
			if (lost)
				cause = AGENT_CAUSE_LOST;
			else if (cancelled)
				cause = AGENT_CAUSE_CANCEL;
			else if (leave)
				return AGENT_CAUSE_DETACH; /* left running, lease and all */
			else if (level >= AGENT_FORCE)
				cause = AGENT_CAUSE_STOP;
			else if (deadline >= 0 && now >= deadline)
				cause = AGENT_CAUSE_TIMEOUT;
			if (cause != AGENT_CAUSE_NONE) {
				if (j->remote)
					wn_info("job %llu: %s; stopping it (%s)",
					        (unsigned long long)j->id, agent_cause_text(cause),
					        wn_fmt_describe(run));
				else
					wn_info("job %llu: %s; stopping it (SIGTERM, SIGKILL after "
					        "%lld s)",
					        (unsigned long long)j->id, agent_cause_text(cause),
					        (long long)a->cfg->kill_grace_s);
				wn_fmt_stop(run, false);
				kill_at = now + grace_ms;
			}
		}
		if (cause != AGENT_CAUSE_NONE && !killed &&
		    (now >= kill_at || level >= AGENT_KILL)) {
			wn_fmt_stop(run, true);
			killed = true;
		}
		int64_t next = -1;
		if (cause == AGENT_CAUSE_NONE && deadline >= 0)
			next = deadline;
		else if (cause != AGENT_CAUSE_NONE && !killed)
			next = kill_at;
		int wait_ms = next < 0 ? -1 : next - now > 0 ? (int)(next - now) : 0;
		if (wn_fmt_wait(run, j->wake_fd, wait_ms) == 1)
			return cause;
		uint64_t v;
		ssize_t r = read(j->wake_fd, &v, sizeof(v));
		(void)r;
	}
}

static void *agent_job_main(void *arg)
{
	agent_job *j = arg;
	wn_agent *a = j->agent;
	wn_fmt_job fj = {
	    .id = j->id,
	    .name = j->name,
	    .project = j->project,
	    .task = j->task,
	    .worker = a->name,
	    .server = a->url,
	    .attempt = j->attempt,
	    .priority = j->priority,
	    .nparams = j->nparams,
	    .param_keys = (const char *const *)j->keys,
	    .param_vals = (const char *const *)j->vals,
	};
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	res.exit_code = -1;
	agent_end end = AGENT_END_RESULT;
	agent_cause cause = AGENT_CAUSE_NONE;
	wn_fmt_run *run = NULL;
	int64_t t0 = wn_mono_ms(), t1;
	uint32_t timeout_s = 0;
	bool started = false;
	agent_need need;
	char *gpus = NULL; /* the devices the job holds, "0,1" */
	char cpus[16], memory[24];
	const char *env_keys[3], *env_vals[3];
	const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
	if (f != NULL) {
		agent_task_settings(a, j, &timeout_s, &need);
		fj.cpu = need.cpu;
		fj.gpu = need.gpu;
		fj.memory_mb = need.memory_mb;
		fj.timeout_s = timeout_s;
		fj.sweep_id = j->sweep_id;
		/* a run on a cluster takes none of this machine's GPUs, and the
		 * cluster keeps its time limit */
		j->remote = wn_fmt_can_resume(f);
		if (j->remote)
			timeout_s = 0;
		pthread_mutex_lock(&a->mu);
		gpus = wn_capacity_take(&a->cap, j->id, j->remote ? 0 : need.gpu);
		size_t nfree = wn_capacity_free_gpus(&a->cap);
		pthread_mutex_unlock(&a->mu);
		if (gpus == NULL) {
			res.reason = wn_xasprintf("it needs %u gpu and worker %s has %zu free",
			                          (unsigned)need.gpu, a->name, nfree);
			end = AGENT_END_RELEASE; /* for a worker that has them */
		} else {
			snprintf(cpus, sizeof(cpus), "%u", (unsigned)need.cpu);
			snprintf(memory, sizeof(memory), "%llu",
			         (unsigned long long)need.memory_mb);
			env_keys[0] = "WN_CPUS";
			env_vals[0] = cpus;
			env_keys[1] = "WN_MEMORY_MB";
			env_vals[1] = memory;
			env_keys[2] = "CUDA_VISIBLE_DEVICES";
			env_vals[2] = gpus;
			fj.nenv = a->cap.ngpus > 0 ? 3 : 2; /* no GPU here: leave it alone */
			fj.env_keys = env_keys;
			fj.env_vals = env_vals;
		}
	}
	if (f == NULL) {
		res.reason =
		    wn_xasprintf("worker %s has no formatter for task %s", a->name, j->task);
	} else if (gpus == NULL) {
		/* handed back below */
	} else if (j->resume) {
		/* started by this worker before it restarted: follow it again */
		char *reason = NULL;
		if (wn_fmt_resume(f, &fj, j->external_id, &run, &reason) != WN_OK) {
			res.reason =
			    wn_xasprintf("worker %s restarted and cannot follow the run: %s",
			                 a->name, reason ? reason : "unknown reason");
			free(reason);
			end = AGENT_END_RELEASE;
		} else {
			started = true;
			agent_publish(a, j, run);
			wn_info("job %llu: following its run again (%s)", (unsigned long long)j->id,
			        wn_fmt_describe(run));
			cause = agent_supervise(a, j, run, timeout_s, t0);
			wn_fmt_collect(run, &res);
		}
	} else {
		char *reason = NULL;
		if (wn_fmt_prepare(f, &fj, &run, &reason) != WN_OK) {
			res.reason = reason;
		} else {
			pthread_mutex_lock(&a->mu);
			if (j->lost)
				cause = AGENT_CAUSE_LOST;
			else if (j->cancelled)
				cause = AGENT_CAUSE_CANCEL;
			else if (a->stop >= AGENT_FORCE)
				cause = AGENT_CAUSE_STOP;
			pthread_mutex_unlock(&a->mu);
			int rc = WN_OK;
			if (j->group != NULL) {
				/* with the other jobs of its sweep (a SLURM job array) */
				j->grouped = true;
				if (cause != AGENT_CAUSE_NONE)
					wn_fmt_group_leave(j->group);
				else
					rc = wn_fmt_group_start(j->group, run, &reason);
			} else if (cause == AGENT_CAUSE_NONE) {
				rc = wn_fmt_start(run, &reason);
			}
			t0 = wn_mono_ms();
			if (cause != AGENT_CAUSE_NONE) {
				/* stopped before it started */
			} else if (rc != WN_OK) {
				res.reason = reason;
				res.exit_code = j->remote ? -1 : rc == WN_ENOTFOUND ? 127 : 126;
			} else {
				started = true;
				agent_publish(a, j, run);
				wn_info("job %llu: started (%s)", (unsigned long long)j->id,
				        wn_fmt_describe(run));
				cause = agent_supervise(a, j, run, timeout_s, t0);
				wn_fmt_collect(run, &res);
			}
		}
	}
	if (j->group != NULL && !j->grouped) {
		/* nothing to start: the rest of the sweep need not wait */
		j->grouped = true;
		wn_fmt_group_leave(j->group);
	}
	t1 = wn_mono_ms();
	bool cancelled = false;
	switch (cause) {
	case AGENT_CAUSE_TIMEOUT:
		res.success = false;
		free(res.reason);
		res.reason = wn_xasprintf("timed out after %u s", (unsigned)timeout_s);
		break;
	case AGENT_CAUSE_CANCEL:
		res.success = false;
		cancelled = true;
		free(res.reason);
		res.reason = wn_xstrdup("cancelled while running");
		break;
	case AGENT_CAUSE_LOST:
		end = AGENT_END_DROP;
		break;
	case AGENT_CAUSE_STOP:
		end = AGENT_END_RELEASE;
		free(res.reason); /* the release says the worker stopped */
		res.reason = NULL;
		break;
	case AGENT_CAUSE_DETACH:
		end = AGENT_END_DETACH;
		break;
	default:
		cancelled = res.cancelled; /* e.g. scancel outside WhatsNext */
		break;
	}
	/* The slot is free as soon as the command is over. */
	pthread_mutex_lock(&a->mu);
	wn_capacity_give_back(&a->cap, j->id);
	a->running--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);

	double secs = (double)(t1 - t0) / 1000.0;
	if (!started && end == AGENT_END_RESULT)
		wn_warn("job %llu: not run: %s", (unsigned long long)j->id,
		        res.reason ? res.reason : "unknown reason");
	else if (!started && end == AGENT_END_RELEASE && cause == AGENT_CAUSE_NONE)
		wn_warn("job %llu: not run: %s; handing it back", (unsigned long long)j->id,
		        res.reason ? res.reason : "unknown reason");
	else if (end == AGENT_END_DETACH)
		wn_info("job %llu: left running as %s, its lease kept: a worker started again as "
		        "%s before the lease runs out follows it again",
		        (unsigned long long)j->id, wn_fmt_describe(run), a->name);
	else if (end != AGENT_END_RESULT)
		wn_info("job %llu: stopped (%s) after %.3f s", (unsigned long long)j->id,
		        agent_cause_text(cause), secs);
	else if (cancelled)
		wn_info("job %llu: cancelled after %.3f s", (unsigned long long)j->id, secs);
	else if (res.success)
		wn_info("job %llu: finished: exit 0 in %.3f s", (unsigned long long)j->id, secs);
	else
		wn_info("job %llu: failed: exit %d in %.3f s: %s", (unsigned long long)j->id,
		        res.exit_code, secs, res.reason ? res.reason : "unknown reason");
	if (res.output_tail && res.output_tail[0])
		wn_debug("job %llu: output tail: %s", (unsigned long long)j->id, res.output_tail);

	agent_report(a, j, end, &res, cancelled, t1 - t0);
	wn_fmt_result_release(&res);
	wn_fmt_run_free(run);
	free(gpus);

	pthread_mutex_lock(&a->mu);
	j->holding = false;
	j->done = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* agent_reap joins the runner threads that have finished (lock held). */
static void agent_reap(wn_agent *a)
{
	agent_job **pp = &a->jobs;
	while (*pp != NULL) {
		agent_job *j = *pp;
		if (!j->done) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		pthread_join(j->thread, NULL);
		a->threads--;
		agent_job_free(j);
	}
}

/* ---------------------------------------------------------------- heartbeats */

static void *agent_hb_main(void *arg)
{
	wn_agent *a = arg;
	pthread_mutex_lock(&a->mu);
	int64_t last = wn_mono_ms();
	bool had = false;
	while (!a->hb_quit) {
		size_t n = 0;
		int64_t lease = INT64_MAX;
		for (agent_job *j = a->jobs; j != NULL; j = j->next)
			if (j->holding && !j->lost) {
				n++;
				if (j->lease_ms < lease)
					lease = j->lease_ms;
			}
		if (n == 0 && !a->joined) {
			had = false;
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		if (!had) {
			/* A fresh lease: its first heartbeat is due an interval from now. */
			had = true;
			last = wn_mono_ms();
		}
		/* A worker of the fleet heartbeats even when idle, often enough to
		 * stay ACTIVE (wnd --worker-timeout-ms, 30 s by default). */
		if (n == 0)
			lease = AGENT_LEASE_DEFAULT_MS;
		int64_t interval = a->cfg->heartbeat_ms > 0 ? a->cfg->heartbeat_ms : lease / 3;
		if (a->cfg->heartbeat_ms <= 0 && interval > AGENT_ALIVE_MS)
			interval = AGENT_ALIVE_MS;
		if (interval < 50)
			interval = 50;
		int64_t due = last + interval;
		if (wn_mono_ms() < due && !a->hb_soon) {
			agent_timedwait(a, due - wn_mono_ms());
			continue;
		}
		a->hb_soon = false;
		Whatsnext__V1__Lease *leases = wn_xcalloc(n + 1, sizeof(*leases));
		Whatsnext__V1__Lease **lp = wn_xcalloc(n + 1, sizeof(*lp));
		char **ext = wn_xcalloc(n + 1, sizeof(*ext)); /* copies: jobs may end meanwhile */
		size_t k = 0;
		for (agent_job *j = a->jobs; j != NULL && k < n; j = j->next)
			if (j->holding && !j->lost) {
				whatsnext__v1__lease__init(&leases[k]);
				leases[k].job_id = j->id;
				leases[k].attempt = j->attempt;
				if (j->external_id != NULL && j->external_id[0] != '\0')
					leases[k].external_id = ext[k] = wn_xstrdup(j->external_id);
				lp[k] = &leases[k];
				k++;
			}
		last = wn_mono_ms();
		pthread_mutex_unlock(&a->mu);

		Whatsnext__V1__HeartbeatRequest req = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
		req.worker = a->name;
		req.n_leases = k;
		req.leases = lp;
		ProtobufCMessage *out = NULL;
		char *errmsg = NULL;
		int rc =
		    agent_call(a, AGENT_M_HEARTBEAT, &req.base,
		               &whatsnext__v1__heartbeat_response__descriptor, &out, 0, 0, &errmsg);
		free(leases);
		free(lp);
		for (size_t i = 0; i < k; i++)
			free(ext[i]);
		free(ext);

		pthread_mutex_lock(&a->mu);
		if (rc == WN_OK) {
			const Whatsnext__V1__HeartbeatResponse *r =
			    (const Whatsnext__V1__HeartbeatResponse *)out;
			wn_debug("heartbeat: %zu lease(s) held", k);
			for (agent_job *j = a->jobs; j != NULL; j = j->next) {
				for (size_t i = 0; i < r->n_cancelled; i++)
					if (r->cancelled[i] == j->id && !j->cancelled &&
					    j->holding) {
						j->cancelled = true;
						agent_wake(j);
					}
				for (size_t i = 0; i < r->n_lost; i++)
					if (r->lost[i] == j->id && !j->lost && j->holding) {
						wn_warn("job %llu: the server says the lease of "
						        "attempt "
						        "%u is lost",
						        (unsigned long long)j->id,
						        (unsigned)j->attempt);
						j->lost = true;
						agent_wake(j);
					}
			}
			if (r->drain && !a->draining && a->stop == AGENT_RUN) {
				size_t held = 0;
				for (agent_job *j = a->jobs; j != NULL; j = j->next)
					held += !j->done;
				if (held == 0)
					wn_info("draining (asked by the server): no new jobs");
				else
					wn_info("draining (asked by the server): no new jobs; "
					        "exiting once %zu running job%s %s",
					        held, held == 1 ? "" : "s",
					        held == 1 ? "ends" : "end");
				a->draining = true;
			}
			pthread_cond_broadcast(&a->cond);
			protobuf_c_message_free_unpacked(out, NULL);
		} else if (rc == WHATSNEXT__V1__CODE__NOT_FOUND && !a->unjoinable) {
			/* the server does not know this worker: join again */
			a->need_join = true;
			pthread_cond_broadcast(&a->cond);
		} else if (!agent_transport_error(rc)) {
			wn_warn("heartbeat refused: %s", errmsg);
		}
		free(errmsg);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---------------------------------------------------------------- fetching */

/* agent_release hands back a job fetched while stopping or draining. */
static void agent_release_unused(wn_agent *a, agent_job *j)
{
	pthread_mutex_lock(&a->mu);
	bool draining = a->draining && a->stop == AGENT_RUN;
	pthread_mutex_unlock(&a->mu);
	wn_info("job %llu: fetched while %s; handing it back", (unsigned long long)j->id,
	        draining ? "draining" : "stopping");
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	agent_report(a, j, AGENT_END_RELEASE, &res, false, 0);
}

/* agent_dispatch starts a runner thread for j (lock held). */
static void agent_dispatch(wn_agent *a, agent_job *j)
{
	if (!j->resume)
		wn_info("job %llu: fetched (project %s, task %s, attempt %u)",
		        (unsigned long long)j->id, j->project, j->task, (unsigned)j->attempt);
	j->next = a->jobs;
	a->jobs = j;
	a->running++;
	a->threads++;
	pthread_cond_broadcast(&a->cond); /* the heartbeat thread counts leases */
	int rv = pthread_create(&j->thread, NULL, agent_job_main, j);
	if (rv != 0) {
		fprintf(stderr, "wnworker: cannot start a thread: %s\n", strerror(rv));
		abort();
	}
}

typedef enum { AGENT_FETCH_JOB, AGENT_FETCH_EMPTY, AGENT_FETCH_DOWN, AGENT_FETCH_ERROR } fetch_rc;

/* agent_fetch_error logs a fetch error (from project, or NULL for the whole
 * fetch); a repeat of the last one quietly. */
static void agent_fetch_error(wn_agent *a, const char *project, const char *msg)
{
	char *line = project ? wn_xasprintf("cannot fetch from project %s: %s", project, msg)
	                     : wn_xasprintf("cannot fetch: %s", msg);
	pthread_mutex_lock(&a->mu);
	bool repeat = a->last_error != NULL && strcmp(a->last_error, line) == 0;
	free(a->last_error);
	a->last_error = line;
	wn_log(repeat ? WN_LOG_DEBUG : WN_LOG_WARN, "%s", line);
	pthread_mutex_unlock(&a->mu);
}

/* agent_projects_refresh learns the tasks of every project whose knowledge
 * is old. A project that is missing or has none of the worker's tasks is
 * logged and left out of the fetch (a missing one is asked again next time).
 * Returns AGENT_FETCH_DOWN when the server cannot be reached. */
static fetch_rc agent_projects_refresh(wn_agent *a)
{
	for (size_t i = 0; i < a->cfg->projects.n; i++) {
		agent_project *p = &a->projects[i];
		pthread_mutex_lock(&a->mu);
		bool stale = agent_project_stale(p);
		pthread_mutex_unlock(&a->mu);
		if (!stale)
			continue;
		char *errmsg = NULL;
		int rc = agent_project_refresh(a, p, &errmsg);
		if (agent_transport_error(rc)) {
			free(errmsg);
			return AGENT_FETCH_DOWN;
		}
		if (rc != WN_OK) {
			agent_fetch_error(a, p->name, errmsg ? errmsg : wn_strerror(rc));
			pthread_mutex_lock(&a->mu);
			p->n = 0;
			pthread_mutex_unlock(&a->mu);
		} else if (p->n == 0) {
			char *names = wn_xstrdup("");
			for (size_t k = 0; k < a->cfg->ntasks; k++) {
				char *more = wn_xasprintf("%s%s%s", names, k ? ", " : "",
				                          a->cfg->task_names[k]);
				free(names);
				names = more;
			}
			char *why =
			    wn_xasprintf("it has none of the tasks this worker runs (%s)", names);
			agent_fetch_error(a, p->name, why);
			free(why);
			free(names);
		}
		free(errmsg);
	}
	return AGENT_FETCH_EMPTY;
}

/* agent_fetch asks the server for up to max_jobs jobs of the worker's tasks
 * in every project it serves (one request: the server picks the highest
 * priority, taking turns across projects among equals), waiting up to
 * wait_ms. id is the request id: the same one again after a failure to reach
 * the server, so that jobs leased by a call whose answer was lost come back.
 * On AGENT_FETCH_JOB, *out holds *nout malloc'd jobs. */
static fetch_rc agent_fetch(wn_agent *a, uint32_t wait_ms, uint32_t max_jobs, uint64_t id,
                            agent_job ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	fetch_rc fr = agent_projects_refresh(a);
	if (fr != AGENT_FETCH_EMPTY)
		return fr;
	const wn_wconfig *cfg = a->cfg;
	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	req.worker = a->name;
	req.wait_ms = wait_ms;
	req.max_jobs = max_jobs > 1 ? max_jobs : 0;
	req.projects = wn_xcalloc(cfg->projects.n + 1, sizeof(char *));
	req.tasks = wn_xcalloc(cfg->ntasks + 1, sizeof(char *));
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < cfg->projects.n; i++) {
		const agent_project *p = &a->projects[i];
		if (p->n == 0)
			continue;
		req.projects[req.n_projects++] = (char *)p->name;
		for (size_t k = 0; k < p->n; k++) {
			bool seen = false;
			for (size_t m = 0; m < req.n_tasks && !seen; m++)
				seen = strcmp(req.tasks[m], p->tasks[k]) == 0;
			if (!seen)
				req.tasks[req.n_tasks++] = (char *)p->tasks[k];
		}
	}
	pthread_mutex_unlock(&a->mu);
	if (req.n_projects == 0) {
		/* every project was logged as unusable */
		free(req.projects);
		free(req.tasks);
		return AGENT_FETCH_ERROR;
	}
	ProtobufCMessage *out_msg = NULL;
	char *errmsg = NULL;
	/* a request resent by nng after a reconnect waits wait_ms again on the
	 * server: leave room for that before giving up on the reply */
	int rc = agent_call(a, AGENT_M_FETCH, &req.base, &whatsnext__v1__fetch_response__descriptor,
	                    &out_msg, id, 2 * (int)wait_ms, &errmsg);
	free(req.projects);
	free(req.tasks);
	if (rc != WN_OK) {
		fr = AGENT_FETCH_DOWN;
		if (!agent_transport_error(rc)) {
			agent_fetch_error(a, NULL, errmsg ? errmsg : wn_strerror(rc));
			fr = AGENT_FETCH_ERROR;
			/* A project or task may have been removed: learn them again. */
			pthread_mutex_lock(&a->mu);
			for (size_t i = 0; i < cfg->projects.n; i++)
				a->projects[i].fetched_ms = 0;
			pthread_mutex_unlock(&a->mu);
		}
		free(errmsg);
		return fr;
	}
	pthread_mutex_lock(&a->mu);
	free(a->last_error);
	a->last_error = NULL;
	pthread_mutex_unlock(&a->mu);
	const Whatsnext__V1__FetchResponse *resp = (const Whatsnext__V1__FetchResponse *)out_msg;
	fr = AGENT_FETCH_EMPTY;
	if (resp->job != NULL && resp->job->id != 0) {
		*out = wn_xcalloc(resp->n_more + 1, sizeof(agent_job *));
		(*out)[(*nout)++] = agent_job_from(a, resp->job);
		for (size_t i = 0; i < resp->n_more; i++)
			if (resp->more[i] != NULL && resp->more[i]->id != 0)
				(*out)[(*nout)++] = agent_job_from(a, resp->more[i]);
		fr = AGENT_FETCH_JOB;
	}
	protobuf_c_message_free_unpacked(out_msg, NULL);
	return fr;
}

/* agent_sweep_cap returns the running cap of a sweep, 0 if none or unknown. */
static uint32_t agent_sweep_cap(wn_agent *a, uint64_t sweep_id)
{
	Whatsnext__V1__GetSweepRequest req = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	req.id = sweep_id;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	uint32_t cap = 0;
	if (agent_call(a, AGENT_M_SWEEP_GET, &req.base, &whatsnext__v1__sweep__descriptor, &out, 0,
	               0, &errmsg) == WN_OK) {
		cap = ((const Whatsnext__V1__Sweep *)out)->max_running;
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		wn_debug("cannot read sweep %llu: %s", (unsigned long long)sweep_id,
		         errmsg ? errmsg : "unknown error");
	}
	free(errmsg);
	return cap;
}

/* agent_group makes the jobs of one sweep, project and task among
 * jobs[0..n) a group when their formatter starts such runs together (a
 * SLURM job array): each member starts once all of them are prepared. */
static void agent_group(wn_agent *a, agent_job **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agent_job *j = jobs[i];
		if (j->sweep_id == 0 || j->group != NULL)
			continue;
		const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
		if (f == NULL || !wn_fmt_can_group(f))
			continue;
		size_t members = 0;
		for (size_t k = i; k < n; k++)
			members += jobs[k]->group == NULL && jobs[k]->sweep_id == j->sweep_id &&
			           strcmp(jobs[k]->task, j->task) == 0 &&
			           strcmp(jobs[k]->project, j->project) == 0;
		if (members < 2)
			continue;
		uint32_t cap = agent_sweep_cap(a, j->sweep_id);
		wn_fmt_group *g = wn_fmt_group_new(f, members, cap);
		for (size_t k = i; k < n; k++)
			if (jobs[k]->group == NULL && jobs[k]->sweep_id == j->sweep_id &&
			    strcmp(jobs[k]->task, j->task) == 0 &&
			    strcmp(jobs[k]->project, j->project) == 0)
				jobs[k]->group = g;
		wn_info("%zu jobs of sweep %llu (task %s) start together", members,
		        (unsigned long long)j->sweep_id, j->task);
	}
}

/* ---------------------------------------------------------------- the fleet */

typedef enum { AGENT_JOIN_OK, AGENT_JOIN_DOWN, AGENT_JOIN_TAKEN, AGENT_JOIN_FAILED } join_rc;

/* agent_take_back follows again a job held before a restart, if its
 * formatter's runs outlive the worker, or else hands it back to the queue. */
static void agent_take_back(wn_agent *a, agent_job *j)
{
	const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
	if (f != NULL && wn_fmt_can_resume(f)) {
		wn_info("job %llu: held before a restart (project %s, task %s, attempt %u); "
		        "following it again",
		        (unsigned long long)j->id, j->project, j->task, (unsigned)j->attempt);
		j->resume = true;
		pthread_mutex_lock(&a->mu);
		agent_dispatch(a, j);
		pthread_mutex_unlock(&a->mu);
		return;
	}
	wn_info("job %llu: held before a restart; its run did not survive it: handing it "
	        "back",
	        (unsigned long long)j->id);
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	res.reason = wn_xasprintf("worker %s restarted", a->name);
	agent_report(a, j, AGENT_END_RELEASE, &res, false, 0);
	wn_fmt_result_release(&res);
	agent_job_free(j);
}

/* agent_join_call sends the Join: who the worker is and what it offers;
 * returns agent_call's value. */
static int agent_join_call(wn_agent *a, ProtobufCMessage **out, char **errmsg)
{
	const wn_wconfig *cfg = a->cfg;
	const wn_capacity *cap = &a->cap;
	Whatsnext__V1__Capacity pc = WHATSNEXT__V1__CAPACITY__INIT;
	pc.cpu = cap->cpu;
	pc.n_gpus = cap->ngpus;
	pc.gpus = cap->gpus;
	pc.memory_mb = cap->memory_mb;
	Whatsnext__V1__Capacity__LabelsEntry *le = wn_xcalloc(cap->nlabels + 1, sizeof(*le));
	Whatsnext__V1__Capacity__LabelsEntry **lp = wn_xcalloc(cap->nlabels + 1, sizeof(*lp));
	for (size_t i = 0; i < cap->nlabels; i++) {
		whatsnext__v1__capacity__labels_entry__init(&le[i]);
		le[i].key = cap->label_keys[i];
		le[i].value = cap->label_vals[i];
		lp[i] = &le[i];
	}
	pc.n_labels = cap->nlabels;
	pc.labels = lp;
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = a->name;
	w.host = a->host;
	w.version = (char *)WN_VERSION;
	w.capacity = &pc;
	w.n_projects = cfg->projects.n;
	w.projects = cfg->projects.v;
	w.slots = (uint32_t)cfg->slots;
	w.instance = a->instance;
	Whatsnext__V1__JoinRequest req = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	req.worker = &w;
	int rc = agent_call(a, AGENT_M_JOIN, &req.base, &whatsnext__v1__join_response__descriptor,
	                    out, 0, 0, errmsg);
	free(le);
	free(lp);
	return rc;
}

/* agent_join announces the worker to the server: name, host, version, what
 * it offers, its projects and slots. On the first join since the worker
 * started, the jobs the server says it holds (leased to its name before a
 * restart) are taken back: followed again when their formatter's runs
 * outlive the worker, else handed back to the queue at once. Later joins
 * (after an outage) leave held jobs the agent does not know alone: a fetch
 * being retried brings them. While another process holds the name, the
 * server refuses: AGENT_JOIN_TAKEN, and the caller tries again later. */
static join_rc agent_join(wn_agent *a, bool first)
{
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = agent_join_call(a, &out, &errmsg);
	if (agent_transport_error(rc)) {
		free(errmsg);
		return AGENT_JOIN_DOWN;
	}
	if (rc == WHATSNEXT__V1__CODE__UNIMPLEMENTED) {
		wn_warn("the server has no worker fleet (%s): running without joining; jobs are "
		        "not matched to this worker's resources",
		        errmsg ? errmsg : "unimplemented");
		free(errmsg);
		pthread_mutex_lock(&a->mu);
		a->unjoinable = true;
		a->need_join = false;
		pthread_mutex_unlock(&a->mu);
		return AGENT_JOIN_OK;
	}
	if (rc == WHATSNEXT__V1__CODE__ALREADY_EXISTS) {
		/* another process runs under this name: wait until it leaves or
		 * the server marks it LOST (after a crash of this worker's
		 * predecessor, within the server's worker timeout) */
		pthread_mutex_lock(&a->mu);
		wn_log(a->name_taken ? WN_LOG_DEBUG : WN_LOG_WARN,
		       "cannot join the fleet as %s: %s; trying again", a->name,
		       errmsg ? errmsg : "name in use");
		a->name_taken = true;
		a->joined = false; /* never leave in the other one's place */
		pthread_mutex_unlock(&a->mu);
		free(errmsg);
		return AGENT_JOIN_TAKEN;
	}
	if (rc != WN_OK) {
		wn_error("cannot join the fleet of the server at %s: %s", a->url,
		         errmsg ? errmsg : wn_strerror(rc));
		free(errmsg);
		return AGENT_JOIN_FAILED;
	}
	free(errmsg);
	const Whatsnext__V1__JoinResponse *r = (const Whatsnext__V1__JoinResponse *)out;
	wn_log(first ? WN_LOG_INFO : WN_LOG_DEBUG, "joined the fleet as %s (%zu job%s held)",
	       a->name, r->n_held, r->n_held == 1 ? "" : "s");
	if (!first)
		wn_info("joined the fleet again");
	/* what to take back: jobs the agent does not run already */
	agent_job **back = wn_xcalloc(r->n_held + 1, sizeof(*back));
	size_t nback = 0;
	pthread_mutex_lock(&a->mu);
	a->joined = true;
	a->need_join = false;
	a->name_taken = false;
	pthread_cond_broadcast(&a->cond); /* the heartbeat thread: heartbeat when idle */
	for (size_t i = 0; first && i < r->n_held; i++) {
		const Whatsnext__V1__Job *hj = r->held[i];
		bool known = false;
		for (agent_job *j = a->jobs; j != NULL && !known; j = j->next)
			known = j->id == hj->id && !j->done;
		if (!known && hj->id != 0)
			back[nback++] = agent_job_from(a, hj);
	}
	pthread_mutex_unlock(&a->mu);
	protobuf_c_message_free_unpacked(out, NULL);
	for (size_t i = 0; i < nback; i++)
		agent_take_back(a, back[i]);
	free(back);
	return AGENT_JOIN_OK;
}

/* agent_leave tells the server the worker shuts down cleanly (GONE). */
static void agent_leave(wn_agent *a)
{
	Whatsnext__V1__WorkerNameRequest req = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	req.name = a->name;
	req.instance = a->instance;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = agent_call(a, AGENT_M_LEAVE, &req.base, &whatsnext__v1__worker__descriptor, &out,
	                    0, 0, &errmsg);
	if (rc == WHATSNEXT__V1__CODE__INVALID_ARGUMENT && errmsg != NULL &&
	    strstr(errmsg, "unknown fields") != NULL) {
		/* a server older than instance ids: leave as a client without one */
		free(errmsg);
		errmsg = NULL;
		req.instance = (char *)"";
		rc = agent_call(a, AGENT_M_LEAVE, &req.base, &whatsnext__v1__worker__descriptor,
		                &out, 0, 0, &errmsg);
	}
	if (rc == WN_OK) {
		wn_debug("left the fleet");
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		wn_warn("cannot tell the server this worker leaves: %s; it will be marked lost",
		        errmsg ? errmsg : wn_strerror(rc));
	}
	free(errmsg);
}

int wn_agent_run(wn_agent *a)
{
	const wn_wconfig *cfg = a->cfg;
	size_t np = cfg->projects.n;
	wn_info("worker %s serving project%s %s%s at %s: %lld slot%s, %zu task%s", a->name,
	        np > 1 ? "s" : "", cfg->projects.v[0], np > 1 ? ", ..." : "", a->url,
	        (long long)cfg->slots, cfg->slots > 1 ? "s" : "", cfg->ntasks,
	        cfg->ntasks > 1 ? "s" : "");
	char *offer = wn_capacity_describe(&a->cap);
	wn_info("worker %s offers %s", a->name, offer);
	free(offer);
	int rv = pthread_create(&a->hb_thread, NULL, agent_hb_main, a);
	if (rv != 0) {
		wn_error("cannot start the heartbeat thread: %s", strerror(rv));
		return WN_EINTERNAL;
	}
	size_t dispatched = 0;
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	uint64_t retry_id = 0; /* request id of a fetch that did not reach the server */
	uint32_t retry_wait = 0, retry_max = 0;
	bool joined_once = false;
	int result = WN_OK;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		agent_reap(a);
		if (a->stop >= AGENT_DRAIN || (a->opts.once && dispatched > 0))
			break;
		if (a->draining) {
			if (a->threads == 0) {
				wn_info("drained: no job left; exiting");
				break;
			}
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		if (a->need_join) {
			pthread_mutex_unlock(&a->mu);
			join_rc jr = agent_join(a, !joined_once);
			pthread_mutex_lock(&a->mu);
			if (jr == AGENT_JOIN_FAILED) {
				result = WN_EINVAL;
				break;
			}
			if (jr == AGENT_JOIN_DOWN || jr == AGENT_JOIN_TAKEN) {
				agent_sleep(a, backoff, AGENT_RUN);
				backoff = backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS
				                                             : backoff * 2;
				continue;
			}
			joined_once = true;
			backoff = AGENT_BACKOFF_MIN_MS;
			continue;
		}
		if (a->running >= (size_t)cfg->slots ||
		    (a->opts.exit_when_empty && a->running == 0 && a->threads > 0)) {
			/* No free slot; or, about to decide whether anything is left,
			 * a result still on its way (a failed job may come back). */
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		/* decide at once with --exit-when-empty; jobs still running are
		 * waited for below */
		uint32_t wait_ms = a->opts.exit_when_empty ? 0 : (uint32_t)cfg->fetch_wait_ms;
		/* A job of ours that ends frees resources the server may have been
		 * waiting for, and that does not answer a waiting fetch: look
		 * again soon while jobs run. */
		if (a->threads > 0 && wait_ms > AGENT_BUSY_WAIT_MS)
			wait_ms = AGENT_BUSY_WAIT_MS;
		uint32_t max_jobs = a->opts.once ? 1 : (uint32_t)((size_t)cfg->slots - a->running);
		/* A fetch whose reply was lost is sent again as the same request
		 * (same id, same arguments): if the server already handed it a job,
		 * the repeat gets that job instead of leaving it leased to nobody. */
		uint64_t id = wn_random_u64() | 1;
		if (retry_id != 0 && retry_max <= max_jobs) {
			id = retry_id;
			wait_ms = retry_wait;
			max_jobs = retry_max;
		}
		a->fetching = true;
		pthread_mutex_unlock(&a->mu);
		agent_job **jobs = NULL;
		size_t njobs = 0;
		fetch_rc fr = agent_fetch(a, wait_ms, max_jobs, id, &jobs, &njobs);
		if (fr == AGENT_FETCH_JOB && njobs > 1)
			agent_group(a, jobs, njobs);
		pthread_mutex_lock(&a->mu);
		a->fetching = false;
		pthread_cond_broadcast(&a->cond);
		retry_id = 0;
		if (fr == AGENT_FETCH_DOWN || fr == AGENT_FETCH_ERROR) {
			if (fr == AGENT_FETCH_DOWN) {
				retry_id = id;
				retry_wait = wait_ms;
				retry_max = max_jobs;
			}
			if (fr == AGENT_FETCH_ERROR && a->opts.exit_when_empty && a->threads == 0)
				break;
			agent_sleep(a, backoff, AGENT_RUN);
			int64_t max =
			    fr == AGENT_FETCH_DOWN ? AGENT_BACKOFF_MAX_MS : AGENT_ERROR_MAX_MS;
			backoff = backoff * 2 > max ? max : backoff * 2;
			continue;
		}
		backoff = AGENT_BACKOFF_MIN_MS;
		if (fr == AGENT_FETCH_JOB) {
			for (size_t i = 0; i < njobs; i++) {
				if (a->stop >= AGENT_DRAIN || a->draining) {
					pthread_mutex_unlock(&a->mu);
					agent_release_unused(a, jobs[i]);
					agent_job_free(jobs[i]);
					pthread_mutex_lock(&a->mu);
					continue;
				}
				agent_dispatch(a, jobs[i]);
				dispatched++;
			}
			free(jobs);
			continue;
		}
		if (a->opts.exit_when_empty) {
			if (a->threads == 0) {
				wn_info("no job ready: exiting");
				break;
			}
			/* Nothing ready, but a job of ours is still running or being
			 * reported (a failed one may come back): look again once one
			 * of them is done. */
			size_t before = a->threads;
			while (a->threads >= before && a->stop == AGENT_RUN && !a->draining) {
				pthread_cond_wait(&a->cond, &a->mu);
				agent_reap(a);
			}
		}
	}
	if (a->stop == AGENT_RUN)
		a->stop = AGENT_DRAIN;
	if (a->threads > 0)
		wn_info("waiting for %zu job%s to finish", a->threads, a->threads > 1 ? "s" : "");
	while (a->threads > 0) {
		agent_reap(a);
		if (a->threads > 0)
			pthread_cond_wait(&a->cond, &a->mu);
	}
	a->hb_quit = true;
	bool leave = a->joined;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->hb_thread, NULL);
	if (leave)
		agent_leave(a);
	wn_info("worker %s stopped", a->name);
	return result;
}

/* ---------------------------------------------------------------- lifecycle */

void wn_agent_stop(wn_agent *a)
{
	pthread_mutex_lock(&a->mu);
	a->signalled = true;
	if (a->stop < AGENT_KILL)
		a->stop++;
	size_t n = 0;
	for (agent_job *j = a->jobs; j != NULL; j = j->next)
		if (!j->done) {
			n++;
			agent_wake(j);
		}
	if (a->stop == AGENT_DRAIN)
		wn_info(
		    "stopping: no new jobs; waiting for %zu running job%s (signal again to stop "
		    "them)",
		    n, n == 1 ? "" : "s");
	else if (a->stop == AGENT_FORCE)
		wn_info("stopping now: ending %zu running job%s and handing %s back (signal "
		        "again to kill at once)",
		        n, n == 1 ? "" : "s", n == 1 ? "its lease" : "their leases");
	else
		wn_info("stopping now: killing %zu job%s", n, n == 1 ? "" : "s");
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

const char *wn_agent_name(const wn_agent *a)
{
	return a->name;
}

int wn_agent_new(const wn_wconfig *cfg, const wn_agent_opts *opts, wn_agent **out, char **err)
{
	*out = NULL;
	*err = NULL;
	wn_agent *a = wn_xcalloc(1, sizeof(*a));
	a->cfg = cfg;
	a->opts = *opts;
	const char *url = cfg->server ? cfg->server : getenv("WN_SERVER");
	if (url == NULL || url[0] == '\0')
		url = WN_DEFAULT_URL;
	const char *token = cfg->token ? cfg->token : getenv("WN_TOKEN");
	a->url = wn_xstrdup(url);
	if (cfg->name != NULL) {
		a->name = wn_xstrdup(cfg->name);
	} else {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
				*p = '-';
		host[100] = '\0';
		a->name = wn_xasprintf("%s-%d", host[0] ? host : "worker", (int)getpid());
	}
	int rc = wn_rpc_open(a->url, token, WN_RPC_BACKGROUND, &a->rpc, err);
	if (rc != WN_OK) {
		free(a->url);
		free(a->name);
		free(a);
		return rc;
	}
	wn_rpc_set_timeout(a->rpc, (int)cfg->rpc_timeout_ms);
	char host[256];
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	a->host = wn_xstrdup(host);
	snprintf(a->instance, sizeof(a->instance), "%016llx%016llx",
	         (unsigned long long)wn_random_u64(), (unsigned long long)wn_random_u64());
	char *note = NULL;
	wn_capacity_init(&a->cap, &cfg->resources, NULL, &note);
	if (note != NULL) {
		wn_warn("cannot detect the GPUs: %s; offering none", note);
		free(note);
	}
	a->need_join = true;
	a->projects = wn_xcalloc(cfg->projects.n ? cfg->projects.n : 1, sizeof(*a->projects));
	for (size_t i = 0; i < cfg->projects.n; i++)
		a->projects[i].name = cfg->projects.v[i];
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return WN_OK;
}

void wn_agent_free(wn_agent *a)
{
	if (a == NULL)
		return;
	wn_rpc_close(a->rpc);
	for (size_t i = 0; a->projects != NULL && i < a->cfg->projects.n; i++) {
		free(a->projects[i].tasks);
		free(a->projects[i].timeouts);
		free(a->projects[i].needs);
	}
	free(a->projects);
	free(a->last_error);
	wn_capacity_release(&a->cap);
	free(a->host);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	free(a->url);
	free(a->name);
	free(a);
}
