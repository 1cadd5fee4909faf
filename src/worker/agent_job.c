#include "agent_impl.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

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

/* ---------------------------------------------------------------- reporting */

/* wn_agent_report delivers the result (or hands the lease back), retrying with
 * the same request id while the server is unreachable; the server answers
 * a repeated id from its first execution, so a result counts once. */
void wn_agent_report(wn_agent *a, agent_job *j, agent_end end, const wn_fmt_result *res,
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
		int rc = wn_agent_call(a, method, in, desc, &out, id, 0, &errmsg);
		if (rc == WN_OK) {
			protobuf_c_message_free_unpacked(out, NULL);
			if (end == AGENT_END_RELEASE)
				wn_info("job %llu: lease handed back", (unsigned long long)j->id);
			else
				wn_debug("job %llu: result recorded", (unsigned long long)j->id);
			break;
		}
		if (!wn_agent_unreachable(rc)) {
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
			wn_agent_sleep(a, backoff, level);
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
		wn_agent_task_settings(a, j, &timeout_s, &need);
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

	wn_agent_report(a, j, end, &res, cancelled, t1 - t0);
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

/* agent_release hands back a job fetched while stopping or draining. */
void wn_agent_release_unused(wn_agent *a, agent_job *j)
{
	pthread_mutex_lock(&a->mu);
	bool draining = a->draining && a->stop == AGENT_RUN;
	pthread_mutex_unlock(&a->mu);
	wn_info("job %llu: fetched while %s; handing it back", (unsigned long long)j->id,
	        draining ? "draining" : "stopping");
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	wn_agent_report(a, j, AGENT_END_RELEASE, &res, false, 0);
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
