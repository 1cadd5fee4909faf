#include "agent_impl.h"
#include "devlock.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

void wn_agent_job_free(agent_job *j)
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
	wn_outship_unref(j->out);
	wn_resultfile_unref(j->results);
	wn_agent_artifacts_free(j);
	if (j->group != NULL) {
		if (!j->grouped)
			wn_fmt_group_leave(j->group); /* never ran: handed back */
		wn_fmt_group_unref(j->group);
	}
	if (j->wake_fd >= 0)
		close(j->wake_fd);
	free(j);
}

/* wn_agent_job_from copies what the agent needs from a fetched job. */
agent_job *wn_agent_job_from(wn_agent *a, const Whatsnext__V1__Job *pj)
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
		/* the news that woke the run are read below: a call of the run
		 * (runai describe, delete) is given up at news after this only */
		if (j->wake_fd >= 0) {
			uint64_t v;
			ssize_t r = read(j->wake_fd, &v, sizeof(v));
			(void)r;
		}
		pthread_mutex_lock(&a->mu);
		bool lost = j->lost, cancelled = j->cancelled;
		int level = a->stop;
		bool leave = j->remote && a->signalled;
		pthread_mutex_unlock(&a->mu);
		int64_t now = wn_mono_ms();
		/* a cancelled run on a cluster that has not ended yet (its delete
		 * failing, say): the server keeps it to be stopped, by the worker
		 * started again */
		if (cause == AGENT_CAUSE_CANCEL && leave)
			return AGENT_CAUSE_DETACH;
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
		/* no wake descriptor (none was free when the job came): a cancel
		 * or a stop is looked for every AGENT_NOWAKE_MS instead */
		if (j->wake_fd < 0 && (wait_ms < 0 || wait_ms > AGENT_NOWAKE_MS))
			wait_ms = AGENT_NOWAKE_MS;
		if (wn_fmt_wait(run, j->wake_fd, wait_ms) == 1)
			return cause;
	}
}

/* What one job's runner carries from the start of the job to its report. */
typedef struct job_state {
	wn_fmt_job fj;
	wn_fmt_result res;
	agent_end end;
	agent_cause cause;
	wn_fmt_run *run;
	int64_t t0;
	uint32_t timeout_s;
	bool started;
	char *gpus;             /* the devices the job holds, "0,1"; NULL: too few free */
	struct wn_devlock *dev; /* their locks, held while the run lasts */
	char cpus[16], memory[24];
	const char *env_keys[3], *env_vals[3];
	Whatsnext__V1__JobProgress progress; /* the last of the run, with its result */
} job_state;

static void job_state_init(job_state *s, wn_agent *a, agent_job *j)
{
	memset(s, 0, sizeof(*s));
	s->fj = (wn_fmt_job){
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
	    .wake_fd = j->wake_fd >= 0 ? j->wake_fd : 0,
	};
	s->res.exit_code = -1;
	whatsnext__v1__job_progress__init(&s->progress);
	s->progress.job_id = j->id;
	s->progress.attempt = j->attempt;
	s->end = AGENT_END_RESULT;
	s->cause = AGENT_CAUSE_NONE;
	s->t0 = wn_mono_ms();
}

/* job_take_resources learns what j's task needs and takes its GPUs; with too
 * few free it says why and the job is to be handed back (false). */
static bool job_take_resources(wn_agent *a, agent_job *j, const wn_fmt *f, job_state *s)
{
	agent_need need;
	wn_agent_task_settings(a, j, &s->timeout_s, &need);
	s->fj.cpu = need.cpu;
	s->fj.gpu = need.gpu;
	s->fj.memory_mb = need.memory_mb;
	s->fj.timeout_s = s->timeout_s;
	s->fj.sweep_id = j->sweep_id;
	/* a run on a cluster takes none of this machine's GPUs, and the
	 * cluster keeps its time limit */
	j->remote = wn_fmt_can_resume(f);
	if (j->remote)
		s->timeout_s = 0;
	pthread_mutex_lock(&a->mu);
	s->gpus = wn_capacity_take(&a->cap, j->id, j->remote ? 0 : need.gpu);
	size_t nfree = wn_capacity_free_gpus(&a->cap);
	pthread_mutex_unlock(&a->mu);
	if (s->gpus == NULL) {
		s->res.reason = wn_xasprintf("it needs %u gpu and worker %s has %zu free",
		                             (unsigned)need.gpu, a->name, nfree);
		s->end = AGENT_END_RELEASE; /* for a worker that has them */
		return false;
	}
	snprintf(s->cpus, sizeof(s->cpus), "%u", (unsigned)need.cpu);
	snprintf(s->memory, sizeof(s->memory), "%llu", (unsigned long long)need.memory_mb);
	s->env_keys[0] = "WN_CPUS";
	s->env_vals[0] = s->cpus;
	s->env_keys[1] = "WN_MEMORY_MB";
	s->env_vals[1] = s->memory;
	s->env_keys[2] = "CUDA_VISIBLE_DEVICES";
	s->env_vals[2] = s->gpus;
	s->fj.nenv = a->cap.ngpus > 0 ? 3 : 2; /* no GPU here: leave it alone */
	s->fj.env_keys = s->env_keys;
	s->fj.env_vals = s->env_vals;
	return true;
}

/* job_output_begin has the output of j's run shipped with the heartbeats
 * from now on. */
static void job_output_begin(wn_agent *a, agent_job *j, wn_fmt_run *run)
{
	const char *path = wn_fmt_output_path(run);
	if (path == NULL)
		return;
	wn_outship *o = wn_outship_new(path);
	pthread_mutex_lock(&a->mu);
	j->out = o;
	pthread_mutex_unlock(&a->mu);
}

/* job_output_wait waits (backoff) before a call that found the server out
 * of reach is sent again; false when there is no point any more (the lease
 * is lost, the worker stops by force). */
static bool job_output_wait(wn_agent *a, agent_job *j, int64_t *backoff)
{
	if (*backoff == AGENT_BACKOFF_MIN_MS)
		wn_info("job %llu: ended; %llu bytes of its output wait for the server",
		        (unsigned long long)j->id, (unsigned long long)wn_outship_behind(j->out));
	pthread_mutex_lock(&a->mu);
	int level = a->stop;
	bool again = !j->lost && level < AGENT_FORCE;
	if (again)
		wn_agent_sleep(a, *backoff, level);
	pthread_mutex_unlock(&a->mu);
	*backoff = *backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : *backoff * 2;
	return again;
}

/* job_output_rest ships what of j's output was behind when its run ended
 * (an escaped writer cannot hold the result back): past a completion's share
 * in heartbeats, the rest (or the last part) in the run's last progress. A
 * server out of reach is waited for, as the result waits for it: else all
 * but the last part would be skipped. */
static void job_output_rest(wn_agent *a, agent_job *j, job_state *s)
{
	if (j->out == NULL || s->end != AGENT_END_RESULT)
		return;
	uint64_t rounds = wn_outship_behind(j->out) / WN_OUTSHIP_CALL_MAX + 1;
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	while (rounds-- > 0 && wn_outship_behind(j->out) > WN_OUTSHIP_CALL_MAX) {
		Whatsnext__V1__JobProgress pg = s->progress;
		if (wn_outship_fill(j->out, &pg, WN_OUTSHIP_CALL_MAX, WN_OUTSHIP_FINAL) == 0)
			break;
		Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
		l.job_id = j->id;
		l.attempt = j->attempt;
		Whatsnext__V1__Lease *lp = &l;
		Whatsnext__V1__JobProgress *pp = &pg;
		Whatsnext__V1__HeartbeatRequest req = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
		req.worker = a->name;
		req.leases = &lp;
		req.n_leases = 1;
		req.progress = &pp;
		req.n_progress = 1;
		ProtobufCMessage *out = NULL;
		char *errmsg = NULL;
		int rc = wn_agent_call(a, WN_MID_QUEUE_HEARTBEAT, &req.base, &out, 0, 0, &errmsg);
		wn_outship_done(j->out, &pg, rc == WN_OK);
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		free(errmsg);
		if (rc != WN_OK && !(wn_agent_unreachable(rc) && job_output_wait(a, j, &backoff)))
			break;
		if (rc != WN_OK)
			rounds++; /* this round again */
		else
			backoff = AGENT_BACKOFF_MIN_MS;
	}
	wn_outship_fill(j->out, &s->progress, WN_OUTSHIP_CALL_MAX,
	                WN_OUTSHIP_FINAL | WN_OUTSHIP_TAIL);
}

/* job_results_begin has the worker read what j's run reports (from its
 * start: the file of an earlier run at that path is removed first; looked
 * for before, as an unlink locks the directory, which the runs starting
 * beside it create their files in, even when there is nothing to remove). */
static void job_results_begin(wn_agent *a, agent_job *j, wn_fmt_run *run, bool fresh)
{
	const char *path = wn_fmt_results_path(run);
	if (path == NULL)
		return;
	if (fresh && faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    unlink(path) != 0 && errno != ENOENT)
		wn_warn("job %llu: cannot remove the results file %s: %s",
		        (unsigned long long)j->id, path, strerror(errno));
	wn_resultfile *r = wn_resultfile_new(path);
	pthread_mutex_lock(&a->mu);
	j->results = r;
	pthread_mutex_unlock(&a->mu);
}

/* job_results_final reads the last reports of j's run into its progress; a
 * malformed or oversized results file fails a run that succeeded. */
static void job_results_final(agent_job *j, job_state *s)
{
	if (j->results == NULL || s->end != AGENT_END_RESULT)
		return;
	char *why = NULL;
	if (wn_resultfile_fill(j->results, &s->progress, true, &why) != WN_OK && s->res.success) {
		s->res.success = false;
		free(s->res.reason);
		s->res.reason = why;
		why = NULL;
	}
	free(why);
	j->progress = &s->progress;
}

/* job_supervise follows a run that has started until it ends. */
static void job_supervise(wn_agent *a, agent_job *j, job_state *s)
{
	s->started = true;
	agent_publish(a, j, s->run);
	s->cause = agent_supervise(a, j, s->run, s->timeout_s, s->t0);
	wn_fmt_collect(s->run, &s->res);
}

/* job_resume follows again the run of a job this worker started before it
 * restarted. */
static void job_resume(wn_agent *a, agent_job *j, const wn_fmt *f, job_state *s)
{
	char *reason = NULL;
	if (wn_fmt_resume(f, &s->fj, j->external_id, &s->run, &reason) != WN_OK) {
		s->res.reason = wn_xasprintf("worker %s restarted and cannot follow the run: %s",
		                             a->name, reason ? reason : "unknown reason");
		free(reason);
		s->end = AGENT_END_RELEASE;
		return;
	}
	wn_info("job %llu: following its run again (%s)", (unsigned long long)j->id,
	        wn_fmt_describe(s->run));
	job_output_begin(a, j, s->run);
	job_results_begin(a, j, s->run, false);
	job_supervise(a, j, s);
}

void wn_agent_pause(wn_agent *a, const char *why)
{
	pthread_mutex_lock(&a->mu);
	int64_t now = wn_mono_ms();
	bool told = now < a->pause_until; /* another slot's start failed with it */
	if (!told) {
		a->pause_ms = a->pause_ms == 0 ? AGENT_PAUSE_MIN_MS : 2 * a->pause_ms;
		if (a->pause_ms > AGENT_PAUSE_MAX_MS)
			a->pause_ms = AGENT_PAUSE_MAX_MS;
		a->pause_until = now + a->pause_ms;
	}
	int64_t ms = a->pause_ms;
	pthread_mutex_unlock(&a->mu);
	if (!told)
		wn_warn("this machine cannot start commands now (%s): no new job for %.0f s", why,
		        (double)ms / 1000.0);
}

void wn_agent_started(wn_agent *a)
{
	pthread_mutex_lock(&a->mu);
	a->pause_ms = 0;
	pthread_mutex_unlock(&a->mu);
}

bool wn_agent_paused(const wn_agent *a)
{
	return a->pause_until > wn_mono_ms();
}

/* job_start_cut goes on from a start given up in its call to the cluster
 * (sbatch, runai submit) when the worker stopped or the job was cancelled or
 * lost: the cluster may have the run all the same. A cancelled or lost job's
 * run is followed to remove it (scancel, runai delete: the formatter finds
 * it, or that it is not there); a stopping worker hands the job back, whose
 * next attempt finds that run and follows it rather than run it twice. */
static void job_start_cut(wn_agent *a, agent_job *j, job_state *s, char *reason)
{
	s->cause = wn_agent_stopped_early(a, j);
	if (s->cause != AGENT_CAUSE_CANCEL && s->cause != AGENT_CAUSE_LOST) {
		wn_info("job %llu: %s; handing it back", (unsigned long long)j->id,
		        reason ? reason : "start given up");
		free(reason);
		s->cause = AGENT_CAUSE_STOP;
		return;
	}
	free(reason);
	wn_info("job %llu: %s while it was submitted; following what the cluster may have of it "
	        "(%s)",
	        (unsigned long long)j->id, s->cause == AGENT_CAUSE_CANCEL ? "cancelled" : "lost",
	        wn_fmt_describe(s->run));
	job_supervise(a, j, s);
}

/* job_start prepares j's run and starts it (with the other jobs of its
 * sweep when it belongs to a group), then follows it to its end. */
static void job_start(wn_agent *a, agent_job *j, const wn_fmt *f, job_state *s)
{
	char *reason = NULL;
	int rc = wn_fmt_prepare(f, &s->fj, &s->run, &reason);
	if (rc == WN_ESTATE) {
		/* the worker stops, or the job was cancelled or lost, while an
		 * earlier attempt's run was looked for: nothing was started */
		wn_info("job %llu: %s", (unsigned long long)j->id, reason);
		free(reason);
		s->cause = wn_agent_stopped_early(a, j);
		if (s->cause == AGENT_CAUSE_NONE)
			s->cause = AGENT_CAUSE_STOP; /* handed back */
		return;
	}
	if (rc != WN_OK) {
		s->res.reason = reason;
		if (rc == WN_EUNAVAIL) {
			/* it cannot be told whether the job runs already (squeue
			 * fails): not submitted, handed back, tried again later */
			s->end = AGENT_END_RELEASE;
			wn_agent_pause(a, reason ? reason : "unknown reason");
		}
		return;
	}
	s->cause = wn_agent_stopped_early(a, j);
	if (s->cause == AGENT_CAUSE_NONE && !j->remote) /* on this machine: its GPUs are free */
		rc = wn_agent_devices_take(a, j, s->gpus, &s->dev, &reason);
	if (rc != WN_OK) {
		s->res.reason = reason; /* NULL when stopped meanwhile */
		s->cause = wn_agent_stopped_early(a, j);
		if (rc == WN_ESTATE && s->cause == AGENT_CAUSE_NONE)
			s->cause = AGENT_CAUSE_STOP; /* the worker drains: handed back */
		return;
	}
	if (s->cause == AGENT_CAUSE_NONE)
		job_output_begin(a, j, s->run);
	/* a run found submitted before goes on: what it reported stays */
	job_results_begin(a, j, s->run, wn_fmt_external_id(s->run) == NULL);
	if (j->group != NULL) {
		/* with the other jobs of its sweep (a SLURM job array) */
		j->grouped = true;
		if (s->cause != AGENT_CAUSE_NONE)
			wn_fmt_group_leave(j->group);
		else
			rc = wn_fmt_group_start(j->group, s->run, j->wake_fd, &reason);
	} else if (s->cause == AGENT_CAUSE_NONE) {
		rc = wn_fmt_start(s->run, j->wake_fd, &reason);
	}
	s->t0 = wn_mono_ms();
	if (s->cause != AGENT_CAUSE_NONE)
		return; /* stopped before it started */
	if (rc == WN_ESTATE) {
		job_start_cut(a, j, s, reason);
		return;
	}
	if (rc != WN_OK && (s->cause = wn_agent_stopped_early(a, j)) != AGENT_CAUSE_NONE) {
		free(reason); /* stopped while it started (sbatch's pauses): nothing runs */
		return;
	}
	if (rc != WN_OK) {
		s->res.reason = reason;
		s->res.exit_code = j->remote ? -1 : wn_fmt_start_exit(rc);
		if (rc == WN_EUNAVAIL) {
			/* not the job's doing (this machine short of something, a
			 * SLURM controller out of reach): another worker, or this
			 * one later, runs it; a SLURM job sbatch may have submitted
			 * all the same is found by its tag then */
			s->end = AGENT_END_RELEASE;
			wn_agent_pause(a, reason ? reason : "unknown reason");
		}
		return;
	}
	/* the devices' record first: a log line may block (a stalled stderr),
	 * and a worker killed meanwhile must leave its run recorded */
	uint64_t mark;
	pid_t pgid = wn_fmt_pgid(s->run, &mark);
	wn_agent_devices_record(j, s->dev, pgid, mark);
	wn_agent_started(a); /* a pause after failed starts ends (sbatch ran, too) */
	wn_info("job %llu: started (%s)", (unsigned long long)j->id, wn_fmt_describe(s->run));
	job_supervise(a, j, s);
}

/* job_outcome turns why a run was stopped into what is reported; returns
 * whether the job counts as cancelled. */
static bool job_outcome(job_state *s)
{
	switch (s->cause) {
	case AGENT_CAUSE_TIMEOUT:
		s->res.success = false;
		free(s->res.reason);
		s->res.reason = wn_xasprintf("timed out after %u s", (unsigned)s->timeout_s);
		return false;
	case AGENT_CAUSE_CANCEL:
		s->res.success = false;
		free(s->res.reason);
		s->res.reason = wn_xstrdup("cancelled while running");
		return true;
	case AGENT_CAUSE_LOST:
		s->end = AGENT_END_DROP;
		return false;
	case AGENT_CAUSE_STOP:
		s->end = AGENT_END_RELEASE;
		free(s->res.reason); /* the release says the worker stopped */
		s->res.reason = NULL;
		return false;
	case AGENT_CAUSE_DETACH:
		s->end = AGENT_END_DETACH;
		return false;
	default:
		return s->res.cancelled; /* e.g. scancel outside WhatsNext */
	}
}

/* job_log_end says how the job ended. */
static void job_log_end(const wn_agent *a, const agent_job *j, const job_state *s, bool cancelled,
                        int64_t t1)
{
	unsigned long long id = (unsigned long long)j->id;
	const char *reason = s->res.reason ? s->res.reason : "unknown reason";
	double secs = (double)(t1 - s->t0) / 1000.0;
	if (!s->started && s->end == AGENT_END_RESULT)
		wn_warn("job %llu: not run: %s", id, reason);
	else if (!s->started && s->end == AGENT_END_RELEASE && s->cause == AGENT_CAUSE_NONE)
		wn_warn("job %llu: not run: %s; handing it back", id, reason);
	else if (s->end == AGENT_END_DETACH)
		wn_info("job %llu: left running as %s, its lease kept: a worker started again as "
		        "%s before the lease runs out follows it again",
		        id, wn_fmt_describe(s->run), a->name);
	else if (s->end != AGENT_END_RESULT)
		wn_info("job %llu: stopped (%s) after %.3f s", id, agent_cause_text(s->cause),
		        secs);
	else if (cancelled)
		wn_info("job %llu: cancelled after %.3f s", id, secs);
	else if (s->res.success)
		wn_info("job %llu: finished: exit 0 in %.3f s", id, secs);
	else
		wn_info("job %llu: failed: exit %d in %.3f s: %s", id, s->res.exit_code, secs,
		        reason);
	if (s->res.output_tail && s->res.output_tail[0])
		wn_debug("job %llu: output tail: %s", id, s->res.output_tail);
}

/* job_names_check returns NULL when the names the server sent with j are
 * names the server itself accepts (they go into paths and scripts), else
 * why the job is refused (malloc'd). */
static char *job_names_check(const agent_job *j)
{
	const char *why = NULL, *what = NULL;
	if ((why = wn_name_check(j->project)) != NULL)
		what = "project";
	else if ((why = wn_name_check(j->task)) != NULL)
		what = "task";
	else if (j->name[0] != '\0' && (why = wn_job_name_check(j->name)) != NULL)
		what = "job";
	if (why == NULL)
		return NULL;
	return wn_xasprintf("refused: the server sent an invalid %s name (%s)", what, why);
}

/* job_pass_slot gives the slot of a run that ended to next, the job its
 * Complete claimed (NULL: none; the slot is free). */
static void job_pass_slot(wn_agent *a, agent_job *next)
{
	pthread_mutex_lock(&a->mu);
	a->running--;
	agent_admit ad =
	    next != NULL ? wn_agent_admit(a, next, 1, &next->back_why) : AGENT_ADMIT_RUN;
	if (next != NULL && (ad == AGENT_ADMIT_BACK || a->stop >= AGENT_DRAIN || a->draining)) {
		pthread_mutex_unlock(&a->mu);
		wn_agent_release_unused(a, next, next->back_why);
		wn_agent_job_free(next);
		pthread_mutex_lock(&a->mu);
	} else if (next != NULL && ad == AGENT_ADMIT_DROP) {
		wn_agent_drop_twice(next);
	} else if (next != NULL) {
		wn_agent_dispatch(a, next);
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

/* agent_job_main is a job's runner thread: resources, the run, the report. */
static void *agent_job_main(void *arg)
{
	agent_job *j = arg;
	wn_agent *a = j->agent;
	job_state s;
	job_state_init(&s, a, j);
	const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
	if ((s.res.reason = job_names_check(j)) != NULL) {
		/* nothing of it is used */
	} else if (f == NULL) {
		s.res.reason =
		    wn_xasprintf("worker %s has no formatter for task %s", a->name, j->task);
	} else if (job_take_resources(a, j, f, &s)) {
		if (j->resume)
			job_resume(a, j, f, &s); /* started before a restart: follow it again */
		else
			job_start(a, j, f, &s);
	}
	if (j->group != NULL && !j->grouped) {
		/* nothing to start: the rest of the sweep need not wait */
		j->grouped = true;
		wn_fmt_group_leave(j->group);
	}
	int64_t t1 = wn_mono_ms();
	bool cancelled = job_outcome(&s);
	/* The slot is free as soon as the command is over; a result keeps it
	 * for the next job its Complete claims, unless artifacts are to be
	 * uploaded first (that may take long: another job runs meanwhile). */
	bool keep = s.end == AGENT_END_RESULT && (f == NULL || wn_fmt_artifacts(f) == NULL);
	wn_devlock_release(s.dev); /* the run and its group are over */
	pthread_mutex_lock(&a->mu);
	wn_capacity_give_back(&a->cap, j->id);
	if (!keep)
		a->running--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);

	job_output_rest(a, j, &s);
	job_results_final(j, &s);
	j->progress = &s.progress;
	job_log_end(a, j, &s, cancelled, t1);
	if (s.end == AGENT_END_RESULT && s.started)
		wn_agent_artifacts(a, j, f, s.run);
	agent_job *next = NULL;
	wn_agent_report(a, j, s.end, &s.res, cancelled, t1 - s.t0, keep ? &next : NULL);
	if (keep)
		job_pass_slot(a, next);
	if (j->out != NULL && s.progress.output.len > 0)
		wn_outship_done(j->out, &s.progress, true);
	if (j->results != NULL)
		wn_resultfile_done(j->results, &s.progress, true);
	j->progress = NULL;
	wn_fmt_result_release(&s.res);
	wn_fmt_run_free(s.run);
	free(s.gpus);

	pthread_mutex_lock(&a->mu);
	j->holding = false;
	j->done = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* wn_agent_reap joins the runner threads that have finished (lock held). */
void wn_agent_reap(wn_agent *a)
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
		wn_agent_job_free(j);
	}
}

void wn_agent_release_unused(wn_agent *a, agent_job *j, const char *why)
{
	pthread_mutex_lock(&a->mu);
	bool draining = a->draining && a->stop == AGENT_RUN;
	pthread_mutex_unlock(&a->mu);
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	if (why != NULL) {
		wn_warn("job %llu: handing it back: %s", (unsigned long long)j->id, why);
		res.reason = wn_xasprintf("worker %s: %s", a->name, why);
	} else {
		wn_info("job %llu: fetched while %s; handing it back", (unsigned long long)j->id,
		        draining ? "draining" : "stopping");
	}
	wn_agent_report(a, j, AGENT_END_RELEASE, &res, false, 0, NULL);
	wn_fmt_result_release(&res);
}

/* wn_agent_dispatch starts a runner thread for j (lock held). */
void wn_agent_dispatch(wn_agent *a, agent_job *j)
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
