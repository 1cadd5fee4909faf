#include "agent_impl.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the fleet */

/* agent_take_back follows again a job held before a restart, if its
 * formatter's runs outlive the worker, or else hands it back to the queue. */
static void agent_take_back(wn_agent *a, agent_job *j)
{
	const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
	if (f != NULL && wn_fmt_can_resume(f)) {
		wn_info("job %llu: held before a restart (project %s, task %s, attempt %u); "
		        "%s",
		        (unsigned long long)j->id, j->project, j->task, (unsigned)j->attempt,
		        j->cancelled ? "cancelled on the server meanwhile: stopping its run"
		                     : "following it again");
		j->resume = true;
		pthread_mutex_lock(&a->mu);
		wn_agent_dispatch(a, j);
		pthread_mutex_unlock(&a->mu);
		return;
	}
	if (j->cancelled) { /* its run did not survive the restart: nothing to stop */
		wn_agent_job_free(j);
		return;
	}
	wn_info("job %llu: held before a restart; its run did not survive it: handing it "
	        "back",
	        (unsigned long long)j->id);
	wn_fmt_result res;
	memset(&res, 0, sizeof(res));
	res.reason = wn_xasprintf("worker %s restarted", a->name);
	wn_agent_report(a, j, AGENT_END_RELEASE, &res, false, 0, NULL);
	wn_fmt_result_release(&res);
	wn_agent_job_free(j);
}

/* agent_join_call sends the Join: who the worker is and what it offers;
 * returns wn_agent_call's value. */
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
	w.n_tasks = cfg->ntasks;
	w.tasks = cfg->task_names;
	w.slots = (uint32_t)a->slots;
	w.instance = a->instance;
	Whatsnext__V1__JoinRequest req = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	req.worker = &w;
	int rc = wn_agent_call(a, WN_MID_WORKER_JOIN, &req.base, out, 0, 0, errmsg);
	free(le);
	free(lp);
	return rc;
}

/* join_timings warns when the configured heartbeat_ms is too long for the
 * server's timings (leases would run out, or the worker be marked LOST,
 * between two heartbeats), and when kill_grace_s outlasts its worker
 * timeout. */
static void join_timings(const wn_agent *a, const Whatsnext__V1__JoinResponse *r)
{
	int64_t hb = a->cfg->heartbeat_ms;
	if (hb <= 0)
		return; /* a third of the lease, at most 10 s */
	if (r->lease_ms > 0 && hb * 2 > r->lease_ms)
		wn_warn("heartbeat_ms %lld is too long for the server's lease of %lld ms: leases "
		        "will be lost between heartbeats; use at most a third of it (%lld)",
		        (long long)hb, (long long)r->lease_ms, (long long)(r->lease_ms / 3));
	else if (r->worker_timeout_ms > 0 && hb * 2 > r->worker_timeout_ms)
		wn_warn("heartbeat_ms %lld is too long for the server's worker timeout of %lld ms: "
		        "the worker will be marked LOST between heartbeats; use at most a third of "
		        "it (%lld)",
		        (long long)hb, (long long)r->worker_timeout_ms,
		        (long long)(r->worker_timeout_ms / 3));
	/* after a crash of this worker its guard ends the jobs' processes
	 * within kill_grace_s; the server hands the jobs out again after its
	 * worker timeout, and a job could run again elsewhere while its first
	 * run still ends (here, it waits for the GPUs that run holds: devlock) */
	int64_t grace = a->cfg->kill_grace_s * 1000;
	if (r->worker_timeout_ms > 0 && grace >= r->worker_timeout_ms)
		wn_warn("kill_grace_s %lld is not shorter than the server's worker timeout of %lld "
		        "ms: if this worker dies, its jobs may run again on other machines while "
		        "their first runs still end; keep kill_grace_s under %lld",
		        (long long)a->cfg->kill_grace_s, (long long)r->worker_timeout_ms,
		        (long long)(r->worker_timeout_ms / 1000));
}

/* wn_agent_join announces the worker to the server: name, host, version, what
 * it offers, its projects and slots. On the first join since the worker
 * started, the jobs the server says it holds (leased to its name before a
 * restart) are taken back: followed again when their formatter's runs
 * outlive the worker, else handed back to the queue at once. Later joins
 * (after an outage) leave held jobs the agent does not know alone: a fetch
 * being retried brings them. While another process holds the name, the
 * server refuses: AGENT_JOIN_TAKEN, and the caller tries again later. */
join_rc wn_agent_join(wn_agent *a, bool first)
{
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = agent_join_call(a, &out, &errmsg);
	if (wn_agent_unreachable(rc)) {
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
	else
		join_timings(a, r);
	/* what to take back: jobs the agent does not run already */
	agent_job **back = wn_xcalloc(r->n_held + 1, sizeof(*back));
	size_t nback = 0;
	pthread_mutex_lock(&a->mu);
	a->joined = true;
	a->alive_ms = r->worker_timeout_ms / 3;
	a->need_join = false;
	a->name_taken = false;
	pthread_cond_broadcast(&a->cond); /* the heartbeat thread: heartbeat when idle */
	for (size_t i = 0; first && i < r->n_held; i++) {
		const Whatsnext__V1__Job *hj = r->held[i];
		bool known = false;
		for (agent_job *j = a->jobs; j != NULL && !known; j = j->next)
			known = j->id == hj->id && !j->done;
		if (!known && hj->id != 0) {
			back[nback] = wn_agent_job_from(a, hj);
			/* cancelled while the worker was away: stopped once followed */
			back[nback++]->cancelled =
			    hj->status == WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED;
		}
	}
	pthread_mutex_unlock(&a->mu);
	protobuf_c_message_free_unpacked(out, NULL);
	for (size_t i = 0; i < nback; i++)
		agent_take_back(a, back[i]);
	free(back);
	return AGENT_JOIN_OK;
}

/* wn_agent_leave tells the server the worker shuts down cleanly (GONE). */
void wn_agent_leave(wn_agent *a)
{
	Whatsnext__V1__WorkerNameRequest req = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	req.name = a->name;
	req.instance = a->instance;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = wn_agent_call(a, WN_MID_WORKER_LEAVE, &req.base, &out, 0, 0, &errmsg);
	if (rc == WHATSNEXT__V1__CODE__INVALID_ARGUMENT && errmsg != NULL &&
	    strstr(errmsg, "unknown fields") != NULL) {
		/* a server older than instance ids: leave as a client without one */
		free(errmsg);
		errmsg = NULL;
		req.instance = (char *)"";
		rc = wn_agent_call(a, WN_MID_WORKER_LEAVE, &req.base, &out, 0, 0, &errmsg);
	}
	if (rc == WN_OK) {
		wn_debug("left the fleet");
		protobuf_c_message_free_unpacked(out, NULL);
	} else if (rc == WHATSNEXT__V1__CODE__NOT_FOUND) {
		wn_debug("the server no longer knows this worker: nothing to leave");
	} else {
		wn_warn("cannot tell the server this worker leaves: %s; it will be marked lost",
		        errmsg ? errmsg : wn_strerror(rc));
	}
	free(errmsg);
}
