#include "agent_impl.h"
#include "devlock.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "pbcheck.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* wn_agent_timedwait waits (lock held) for a broadcast or ms to pass. */
void wn_agent_timedwait(wn_agent *a, int64_t ms)
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

/* wn_agent_sleep waits (lock held) up to ms, or until the stop level exceeds
 * level; other broadcasts are absorbed. */
void wn_agent_sleep(wn_agent *a, int64_t ms, int level)
{
	int64_t until = wn_mono_ms() + ms;
	while (a->stop <= level) {
		int64_t left = until - wn_mono_ms();
		if (left <= 0)
			break;
		wn_agent_timedwait(a, left);
	}
}

void wn_agent_wake(agent_job *j)
{
	uint64_t one = 1;
	if (j->wake_fd < 0)
		return; /* its runner looks for news every AGENT_NOWAKE_MS */
	ssize_t w = write(j->wake_fd, &one, sizeof(one));
	(void)w;
}

bool wn_agent_unreachable(int rc)
{
	return rc < 0 || rc == WHATSNEXT__V1__CODE__UNAVAILABLE;
}

/* agent_refused stops the worker (lock held) once the server refused its
 * token (revoked, wrong, or not allowed to act as this worker): every later
 * call would be refused too, and results could not be reported. */
static void agent_refused(wn_agent *a, const wn_method *m, const char *why)
{
	if (!a->refused)
		wn_error("the server at %s refused %s/%s: %s; stopping (check the worker's token)",
		         a->url, m->service, m->name, why ? why : "token refused");
	a->refused = true;
	if (a->stop < AGENT_FORCE)
		a->stop = AGENT_FORCE;
	for (agent_job *j = a->jobs; j != NULL; j = j->next)
		if (!j->done)
			wn_agent_wake(j);
	pthread_cond_broadcast(&a->cond);
}

/* wn_agent_call makes one call. A failure to reach the server is logged once
 * per outage, and its end too; a refused token stops the worker. Returns
 * wn_rpc_call's value; *errmsg shows control characters escaped (a
 * server's message may quote what a job named). */
int wn_agent_call(wn_agent *a, enum wn_method_id mid, const ProtobufCMessage *in,
                  ProtobufCMessage **out, uint64_t id, int extra_ms, char **errmsg)
{
	const wn_method *m = &wn_methods[mid];
	/* a call made before the worker leaves may be given up then: counted */
	bool leaving = atomic_load(&a->leave_by) != 0;
	if (!leaving)
		atomic_fetch_add(&a->long_calls, 1);
	else
		extra_ms = 0; /* a leaving worker waits on the server no longer */
	int rc = wn_rpc_call(a->rpc, m->path, in, m->reply, out, errmsg, id, extra_ms);
	if (!leaving)
		atomic_fetch_sub(&a->long_calls, 1);
	if (rc != WN_OK && *errmsg != NULL) {
		char *shown = wn_utf8_escape(*errmsg, SIZE_MAX);
		free(*errmsg);
		*errmsg = shown;
	}
	bool unreachable = wn_agent_unreachable(rc);
	if (!unreachable)
		atomic_store(&a->answered_ms, wn_mono_ms());
	pthread_mutex_lock(&a->mu);
	if (unreachable && atomic_load(&a->leave_by) != 0) {
		/* given up, or out of reach, as the worker leaves: said once */
		if (!a->down)
			wn_info("no answer from the server at %s as the worker stops: %s", a->url,
			        *errmsg ? *errmsg : wn_strerror(rc));
		a->down = true;
	} else if (unreachable && !a->down) {
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
	if (rc == WHATSNEXT__V1__CODE__UNAUTHENTICATED ||
	    rc == WHATSNEXT__V1__CODE__PERMISSION_DENIED)
		agent_refused(a, m, *errmsg);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void wn_agent_leaving(wn_agent *a)
{
	if (atomic_load(&a->leave_by) != 0)
		return;
	int64_t ms = a->cfg->rpc_timeout_ms < AGENT_LEAVE_CALL_MS ? a->cfg->rpc_timeout_ms
	                                                          : AGENT_LEAVE_CALL_MS;
	wn_rpc_set_timeout(a->rpc, (int)ms);
	int64_t now = wn_mono_ms();
	atomic_store(&a->leave_from, now);
	atomic_store(&a->leave_by, now + ms);
	pthread_cond_broadcast(&a->cond);
}

void wn_agent_tick(wn_agent *a)
{
	pthread_mutex_lock(&a->mu);
	if (a->signalled && atomic_load(&a->leave_by) == 0) {
		/* stopping, and every job reported: the worker leaves (its
		 * main thread may still wait on a fetch) */
		bool busy = false;
		for (agent_job *j = a->jobs; j != NULL && !busy; j = j->next)
			busy = !j->done;
		if (!busy)
			wn_agent_leaving(a);
	}
	pthread_mutex_unlock(&a->mu);
	int64_t by = atomic_load(&a->leave_by), now = wn_mono_ms();
	if (by == 0 || now < by || atomic_load(&a->long_calls) == 0)
		return;
	/* A server that answered since the worker began to leave only holds
	 * the calls it has (a heartbeat, a fetch): they come back within its
	 * longest hold. Else they are given up, again at each tick while one
	 * is left (a call between two steps, not waiting yet, at the next). */
	bool heard = atomic_load(&a->answered_ms) >= atomic_load(&a->leave_from);
	if (!heard || now >= by + AGENT_HB_WAIT_MAX_MS)
		wn_rpc_interrupt(a->rpc);
}

/* ---------------------------------------------------------------- the loop */

/* What the fetch loop keeps from one round to the next. */
typedef struct agent_loop {
	size_t dispatched;
	int64_t backoff;
	uint64_t retry_id; /* request id of a fetch that did not reach the server */
	uint32_t retry_wait, retry_max;
	int64_t quick; /* pause after a fetch answered empty at once (0: none yet) */
	bool joined_once;
	int result;
} agent_loop;

static void agent_backoff(int64_t *backoff, int64_t max)
{
	*backoff = *backoff * 2 > max ? max : *backoff * 2;
}

/* loop_give_up tells (lock held) whether a worker that cannot reach the
 * server is to exit: with --exit-when-empty and no job of its own left, as
 * it cannot tell whether anything is left to do. */
static bool loop_give_up(wn_agent *a, agent_loop *l)
{
	if (!a->opts.exit_when_empty || a->threads > 0)
		return false;
	wn_error("cannot reach the server at %s; exiting (--exit-when-empty)", a->url);
	l->result = WN_EUNAVAIL;
	return true;
}

/* loop_join joins the fleet (lock held, let go during the call); false when
 * the server refuses for good. */
static bool loop_join(wn_agent *a, agent_loop *l)
{
	pthread_mutex_unlock(&a->mu);
	join_rc jr = wn_agent_join(a, !l->joined_once);
	pthread_mutex_lock(&a->mu);
	if (jr == AGENT_JOIN_FAILED) {
		l->result = WN_EINVAL;
		return false;
	}
	if (jr == AGENT_JOIN_DOWN && loop_give_up(a, l))
		return false;
	if (jr == AGENT_JOIN_DOWN || jr == AGENT_JOIN_TAKEN) {
		wn_agent_sleep(a, l->backoff, AGENT_RUN);
		agent_backoff(&l->backoff, AGENT_BACKOFF_MAX_MS);
		return true;
	}
	l->joined_once = true;
	l->backoff = AGENT_BACKOFF_MIN_MS;
	return true;
}

/* loop_take runs the jobs fetched, or hands them back when the worker stops
 * or drains meanwhile (lock held). */
static void loop_take(wn_agent *a, agent_loop *l, agent_job **jobs, size_t njobs)
{
	for (size_t i = 0; i < njobs; i++) {
		if (a->stop >= AGENT_DRAIN || a->draining) {
			pthread_mutex_unlock(&a->mu);
			wn_agent_release_unused(a, jobs[i], NULL);
			wn_agent_job_free(jobs[i]);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		wn_agent_dispatch(a, jobs[i]);
		l->dispatched++;
	}
	free(jobs);
}

/* loop_back hands back the jobs fetched that the worker does not run
 * (lock held, let go meanwhile), and frees them. */
static void loop_back(wn_agent *a, agent_job **back, size_t n)
{
	pthread_mutex_unlock(&a->mu);
	for (size_t i = 0; i < n; i++) {
		wn_agent_release_unused(a, back[i], back[i]->back_why);
		wn_agent_job_free(back[i]);
	}
	free(back);
	pthread_mutex_lock(&a->mu);
}

/* loop_empty follows a fetch that found nothing ready after waiting waited
 * of the wait_ms asked (lock held): false when the worker is to exit
 * (--exit-when-empty and nothing left). A server that answers at once
 * although asked to wait is not asked again at once, again and again: the
 * worker pauses, longer each time, up to AGENT_BACKOFF_MAX_MS. */
static bool loop_empty(wn_agent *a, agent_loop *l, uint32_t wait_ms, int64_t waited)
{
	if (wait_ms >= 4 * AGENT_QUICK_MS && waited < AGENT_QUICK_MS) {
		l->quick = l->quick ? l->quick : AGENT_BACKOFF_MIN_MS;
		wn_agent_sleep(a, l->quick, AGENT_RUN);
		agent_backoff(&l->quick, AGENT_BACKOFF_MAX_MS);
	} else {
		l->quick = 0;
	}
	if (!a->opts.exit_when_empty)
		return true;
	if (a->threads == 0) {
		wn_info("no job ready: exiting");
		return false;
	}
	/* Nothing ready, but a job of ours is still running or being
	 * reported (a failed one may come back): look again once one of
	 * them is done, at once if one was done during the fetch (its
	 * broadcast is gone). */
	size_t before = a->threads;
	wn_agent_reap(a);
	if (a->threads < before)
		return true;
	while (a->threads >= before && a->stop == AGENT_RUN && !a->draining) {
		pthread_cond_wait(&a->cond, &a->mu);
		wn_agent_reap(a);
	}
	return true;
}

/* The descriptors a worker holds, and those each running job takes: its
 * wake descriptor, its command's pidfd, its report's connection, and for
 * moments its command's standard files and the looks for what it left. A
 * limit with no room for that many runs stalls them: the starts and looks
 * of the few that have descriptors wait for one another. */
#define AGENT_FDS_BASE    12
#define AGENT_FDS_PER_RUN 4

/* agent_nofile returns the descriptor limit (RLIMIT_NOFILE), 0 for none. */
static uint64_t agent_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (uint64_t)rl.rlim_cur;
}

/* agent_slots returns how many of slots the descriptor limit has room to
 * run at once (one at least: the starts wait for descriptors then). */
static size_t agent_slots(int64_t slots)
{
	uint64_t nofile = agent_nofile();
	if (nofile == 0 || nofile >= AGENT_FDS_BASE + (uint64_t)slots * AGENT_FDS_PER_RUN)
		return (size_t)slots;
	uint64_t room = nofile > AGENT_FDS_BASE ? (nofile - AGENT_FDS_BASE) / AGENT_FDS_PER_RUN : 0;
	return room > 0 ? (size_t)room : 1;
}

/* loop_fetch is one fetch for the free slots (lock held, let go during the
 * call); false when the worker is to exit. */
static bool loop_fetch(wn_agent *a, agent_loop *l)
{
	const wn_wconfig *cfg = a->cfg;
	/* decide at once with --exit-when-empty; jobs still running are
	 * waited for below */
	uint32_t wait_ms = a->opts.exit_when_empty ? 0 : (uint32_t)cfg->fetch_wait_ms;
	/* A job of ours that ends frees resources the server may have been
	 * waiting for, and that does not answer a waiting fetch: look
	 * again soon while jobs run. */
	if (a->threads > 0 && wait_ms > AGENT_BUSY_WAIT_MS)
		wait_ms = AGENT_BUSY_WAIT_MS;
	uint32_t max_jobs = a->opts.once ? 1 : (uint32_t)(a->slots - a->running);
	/* A fetch whose reply was lost is sent again as the same request
	 * (same id, same arguments): if the server already handed it a job,
	 * the repeat gets that job instead of leaving it leased to nobody. */
	uint64_t id = wn_request_id();
	if (l->retry_id != 0 && l->retry_max <= max_jobs) {
		id = l->retry_id;
		wait_ms = l->retry_wait;
		max_jobs = l->retry_max;
	}
	a->fetching++;
	pthread_mutex_unlock(&a->mu);
	agent_job **jobs = NULL, **back = NULL;
	size_t njobs = 0, nback = 0;
	int64_t t0 = wn_mono_ms();
	fetch_rc fr = wn_agent_fetch(a, wait_ms, max_jobs, id, &jobs, &njobs);
	int64_t waited = wn_mono_ms() - t0;
	if (fr == AGENT_FETCH_JOB)
		wn_agent_admit_all(a, jobs, &njobs, max_jobs ? max_jobs : 1, &back, &nback);
	if (fr == AGENT_FETCH_JOB && njobs > 1)
		wn_agent_group(a, jobs, njobs);
	pthread_mutex_lock(&a->mu);
	a->fetching--;
	pthread_cond_broadcast(&a->cond);
	l->retry_id = 0;
	if (fr == AGENT_FETCH_DOWN || fr == AGENT_FETCH_ERROR) {
		if (fr == AGENT_FETCH_DOWN) {
			l->retry_id = id;
			l->retry_wait = wait_ms;
			l->retry_max = max_jobs;
		}
		if (fr == AGENT_FETCH_ERROR && a->opts.exit_when_empty && a->threads == 0) {
			/* the server refused the fetch (a project it does not know,
			 * none of the worker's tasks): nothing ran, say so by the status */
			wn_error("cannot fetch (logged above); exiting (--exit-when-empty)");
			l->result = WN_EINVAL;
			return false;
		}
		if (fr == AGENT_FETCH_DOWN && loop_give_up(a, l))
			return false;
		wn_agent_sleep(a, l->backoff, AGENT_RUN);
		agent_backoff(&l->backoff,
		              fr == AGENT_FETCH_DOWN ? AGENT_BACKOFF_MAX_MS : AGENT_ERROR_MAX_MS);
		return true;
	}
	l->backoff = AGENT_BACKOFF_MIN_MS;
	if (fr == AGENT_FETCH_JOB)
		loop_back(a, back, nback);
	if (fr == AGENT_FETCH_JOB && njobs > 0) {
		l->quick = 0;
		loop_take(a, l, jobs, njobs);
		return true;
	}
	free(jobs); /* none, or none to run: as good as empty */
	return loop_empty(a, l, wait_ms, waited);
}

/* loop_finish waits for the jobs still held, stops the heartbeat thread and
 * leaves the fleet; called with the lock held, it returns without. */
static void loop_finish(wn_agent *a)
{
	if (a->stop == AGENT_RUN)
		a->stop = AGENT_DRAIN;
	if (a->threads > 0)
		wn_info("waiting for %zu job%s to finish", a->threads, a->threads > 1 ? "s" : "");
	while (a->threads > 0) {
		wn_agent_reap(a);
		if (a->threads > 0)
			pthread_cond_wait(&a->cond, &a->mu);
	}
	wn_agent_leaving(a);
	a->hb_quit = true;
	bool leave = a->joined && !a->left, intr = a->intr_started;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	if (intr)
		pthread_join(a->intr_thread, NULL);
	/* leaving first answers the heartbeat the server holds */
	if (leave)
		wn_agent_leave(a);
	pthread_join(a->hb_thread, NULL);
}

/* agent_probe connects to the server once, at once, so that a wrong address
 * or port is reported now rather than after a call's timeout; false when it
 * cannot. */
static bool agent_probe(wn_agent *a)
{
	const wn_wconfig *cfg = a->cfg;
	wn_rpc_tls tls = {.ca = cfg->tls.ca,
	                  .cert = cfg->tls.cert,
	                  .key = cfg->tls.key,
	                  .server_name = cfg->tls.server_name};
	wn_rpc *r = NULL;
	char *err = NULL;
	int rc = wn_rpc_open_tls(a->url, NULL, WN_RPC_DIRECT, &tls, &r, &err);
	wn_rpc_close(r);
	if (rc == WN_OK)
		return true;
	pthread_mutex_lock(&a->mu);
	a->down = true; /* its end is logged */
	pthread_mutex_unlock(&a->mu);
	if (a->opts.exit_when_empty)
		wn_error("cannot reach the server at %s: %s; exiting (--exit-when-empty)", a->url,
		         err ? err : wn_strerror(rc));
	else
		wn_warn("cannot reach the server at %s: %s; retrying with backoff", a->url,
		        err ? err : wn_strerror(rc));
	free(err);
	return false;
}

int wn_agent_run(wn_agent *a)
{
	const wn_wconfig *cfg = a->cfg;
	size_t np = cfg->projects.n;
	wn_info("worker %s serving project%s %s%s at %s: %lld slot%s, %zu task%s", a->name,
	        np > 1 ? "s" : "", cfg->projects.v[0], np > 1 ? ", ..." : "", a->url,
	        (long long)cfg->slots, cfg->slots > 1 ? "s" : "", cfg->ntasks,
	        cfg->ntasks > 1 ? "s" : "");
	if (a->slots < (size_t)cfg->slots)
		wn_warn("the descriptor limit (ulimit -n %llu) has room for %zu of the %lld slots: "
		        "running at most %zu job%s at once (each takes about %d descriptors, the "
		        "worker %d); raise the limit to use them all",
		        (unsigned long long)agent_nofile(), a->slots, (long long)cfg->slots,
		        a->slots, a->slots > 1 ? "s" : "", AGENT_FDS_PER_RUN, AGENT_FDS_BASE);
	char *offer = wn_capacity_describe(&a->cap);
	wn_info("worker %s offers %s", a->name, offer);
	free(offer);
	if (!agent_probe(a) && a->opts.exit_when_empty)
		return WN_EUNAVAIL;
	int rv = pthread_create(&a->hb_thread, NULL, wn_agent_hb_main, a);
	if (rv != 0) {
		wn_error("cannot start the heartbeat thread: %s", strerror(rv));
		return WN_EINTERNAL;
	}
	agent_loop l = {.backoff = AGENT_BACKOFF_MIN_MS, .result = WN_OK};
	pthread_mutex_lock(&a->mu);
	for (;;) {
		wn_agent_reap(a);
		if (a->stop >= AGENT_DRAIN || (a->opts.once && l.dispatched > 0))
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
			if (!loop_join(a, &l))
				break;
			continue;
		}
		if (a->running >= a->slots ||
		    (a->opts.exit_when_empty && a->running == 0 && a->threads > 0)) {
			/* No free slot; or, about to decide whether anything is left,
			 * a result still on its way (a failed job may come back). */
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		if (wn_agent_paused(a)) {
			/* this machine could not start a command: no job meanwhile */
			wn_agent_timedwait(a, a->pause_until - wn_mono_ms());
			continue;
		}
		if (!loop_fetch(a, &l))
			break;
	}
	loop_finish(a);
	pthread_mutex_lock(&a->mu);
	bool handed_back = a->opts.once && a->pause_ms > 0; /* this machine could not start it */
	pthread_mutex_unlock(&a->mu);
	if (handed_back && l.result == WN_OK) {
		wn_error("the job was handed back unrun (logged above): exiting with status 1");
		l.result = WN_EUNAVAIL;
	}
	wn_info("worker %s stopped", a->name);
	return a->refused ? WN_EAUTH : l.result;
}

/* ---------------------------------------------------------------- lifecycle */

/* agent_interrupt_main ends the fetch an idle worker waits on when it is
 * asked to stop: the worker leaves the fleet, and the server answers the
 * fetches of a worker that leaves at once. A fetch that reached the server
 * after the Leave waits on: leave again until the fetch is back. */
static void *agent_interrupt_main(void *arg)
{
	wn_agent *a = arg;
	pthread_mutex_lock(&a->mu);
	for (int i = 0; i < 20 && a->fetching > 0 && a->threads == 0 && !a->hb_quit; i++) {
		a->left = true;
		pthread_mutex_unlock(&a->mu);
		wn_agent_leave(a);
		pthread_mutex_lock(&a->mu);
		int64_t until = wn_mono_ms() + 250;
		while (a->fetching > 0 && wn_mono_ms() < until)
			wn_agent_timedwait(a, until - wn_mono_ms());
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

void wn_agent_stop(wn_agent *a)
{
	pthread_mutex_lock(&a->mu);
	/* The first signal drains, each further one goes a step further: a
	 * worker already draining on its own (the end of --once) keeps its
	 * running jobs until a second signal. */
	int level = a->signalled ? a->stop + 1 : AGENT_DRAIN;
	a->signalled = true;
	if (level > AGENT_KILL)
		level = AGENT_KILL;
	if (a->stop < level)
		a->stop = level;
	size_t n = 0;
	for (agent_job *j = a->jobs; j != NULL; j = j->next)
		if (!j->done) {
			n++;
			wn_agent_wake(j);
		}
	if (a->stop == AGENT_DRAIN && n == 0)
		wn_info("stopping: no new jobs, none running");
	else if (a->stop == AGENT_DRAIN)
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
	/* idle, or told to stop its jobs: the worker leaves, and a server that
	 * does not answer is not waited for (wn_agent_tick) */
	if (a->stop >= AGENT_FORCE || a->threads == 0)
		wn_agent_leaving(a);
	if (a->stop == AGENT_DRAIN && a->threads == 0 && a->fetching > 0 && a->joined &&
	    !a->intr_started)
		a->intr_started =
		    pthread_create(&a->intr_thread, NULL, agent_interrupt_main, a) == 0;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

const char *wn_agent_name(const wn_agent *a)
{
	return a->name;
}

/* agent_default_name returns the name of a worker cfg names none: the
 * host's name (the characters a name may hold), and the process id unless
 * a task's runs outlive the worker. */
static char *agent_default_name(const wn_wconfig *cfg)
{
	char host[256];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			*p = '-';
	host[100] = '\0';
	/* a worker whose runs outlive it (slurm, runai) follows them again
	 * when started again under its name: the host's name, the same
	 * after a restart; else the process id too, so that workers of
	 * one machine differ */
	bool remote = false;
	for (size_t i = 0; i < cfg->ntasks; i++)
		remote = remote || wn_fmt_can_resume(cfg->task_fmts[i]);
	if (remote)
		return wn_xstrdup(host[0] ? host : "worker");
	return wn_xasprintf("%s-%d", host[0] ? host : "worker", (int)getpid());
}

int wn_agent_new(const wn_wconfig *cfg, const wn_agent_opts *opts, wn_agent **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	wn_agent *a = wn_xcalloc(1, sizeof(*a));
	a->cfg = cfg;
	a->opts = *opts;
	a->slots = agent_slots(cfg->slots);
	const char *url = cfg->server ? cfg->server : getenv("WN_SERVER");
	if (url == NULL || url[0] == '\0')
		url = WN_DEFAULT_URL;
	const char *token = cfg->token;
	a->url = wn_xstrdup(url);
	a->name = cfg->name != NULL ? wn_xstrdup(cfg->name) : agent_default_name(cfg);
	wn_rpc_tls tls = {.ca = cfg->tls.ca,
	                  .cert = cfg->tls.cert,
	                  .key = cfg->tls.key,
	                  .server_name = cfg->tls.server_name};
	int rc = wn_rpc_open_tls(a->url, token, WN_RPC_BACKGROUND | WN_RPC_DIRECT, &tls, &a->rpc,
	                         errmsg);
	if (rc != WN_OK) {
		free(a->url);
		free(a->name);
		free(a);
		return rc;
	}
	wn_rpc_set_timeout(a->rpc, (int)cfg->rpc_timeout_ms);
	/* each run reports on its own thread, beside the fetch and the heartbeat */
	wn_rpc_set_threads(a->rpc, (size_t)cfg->slots + 2);
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
	/* a lock file that cannot be used would fail every job of a GPU */
	if (wn_devlock_check(cfg->lock_dir, a->cap.gpus, a->cap.ngpus, errmsg) != WN_OK) {
		wn_agent_free(a);
		return WN_EIO;
	}
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
