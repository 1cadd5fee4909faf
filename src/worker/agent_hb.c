#include "agent_impl.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- heartbeats */

/* hb_count counts the leases held (lock held); *lease gets the shortest. */
static size_t hb_count(const wn_agent *a, int64_t *lease)
{
	size_t n = 0;
	*lease = INT64_MAX;
	for (const agent_job *j = a->jobs; j != NULL; j = j->next)
		if (j->holding && !j->lost) {
			n++;
			if (j->lease_ms < *lease)
				*lease = j->lease_ms;
		}
	return n;
}

/* hb_interval is the time between heartbeats with n leases held, the
 * shortest lease ms long. */
static int64_t hb_interval(const wn_agent *a, size_t n, int64_t lease)
{
	/* A worker of the fleet heartbeats even when idle, often enough to
	 * stay ACTIVE (wnd --worker-timeout-ms, 30 s by default). */
	if (n == 0)
		lease = AGENT_LEASE_DEFAULT_MS;
	int64_t interval = a->cfg->heartbeat_ms > 0 ? a->cfg->heartbeat_ms : lease / 3;
	if (a->cfg->heartbeat_ms <= 0 && interval > AGENT_ALIVE_MS)
		interval = AGENT_ALIVE_MS;
	/* and within the server's worker timeout, shorter than that */
	if (a->cfg->heartbeat_ms <= 0 && a->alive_ms > 0 && interval > a->alive_ms)
		interval = a->alive_ms;
	if (interval < 50)
		interval = 50;
	return interval;
}

/* hb_named tells whether heartbeat rq named run j: its job at its attempt.
 * Only such a run can hear that its lease is lost: an answer naming the job
 * may speak of an earlier attempt (it ended, and j, its retry, was fetched
 * while the heartbeat was on its way or held), and a run the heartbeat did
 * not name alone hears the truth from the next one. */
static bool hb_named(const Whatsnext__V1__HeartbeatRequest *rq, const agent_job *j)
{
	bool named = false;
	for (size_t i = 0; i < rq->n_leases; i++)
		if (rq->leases[i]->job_id == j->id) {
			if (rq->leases[i]->attempt != j->attempt)
				return false; /* two attempts named: which one is lost? */
			named = true;
		}
	return named;
}

/* hb_apply acts on the server's answer to rq (lock held): runs it says were
 * cancelled or lost are stopped, and a drain begins when it asks (and ends
 * when it no longer does: wnctl worker resume). */
static void hb_apply(wn_agent *a, const Whatsnext__V1__HeartbeatRequest *rq,
                     const Whatsnext__V1__HeartbeatResponse *r)
{
	a->hb_news = r->n_cancelled > 0 || r->n_lost > 0 || r->drain != a->draining;
	a->hb_held = r->held;
	for (agent_job *j = a->jobs; j != NULL; j = j->next) {
		for (size_t i = 0; i < r->n_cancelled; i++)
			if (r->cancelled[i] == j->id && !j->cancelled && j->holding) {
				j->cancelled = true;
				wn_agent_wake(j);
			}
		for (size_t i = 0; i < r->n_lost; i++)
			if (r->lost[i] == j->id && !j->lost && j->holding && !j->reporting &&
			    hb_named(rq, j)) {
				wn_warn("job %llu: the server says the lease of attempt %u is lost",
				        (unsigned long long)j->id, (unsigned)j->attempt);
				j->lost = true;
				wn_agent_wake(j);
			}
	}
	if (r->drain && !a->draining && a->stop == AGENT_RUN) {
		size_t held = 0;
		for (agent_job *j = a->jobs; j != NULL; j = j->next)
			held += !j->done;
		if (held == 0)
			wn_info("draining (asked by the server): no new jobs");
		else
			wn_info("draining (asked by the server): no new jobs; exiting once %zu "
			        "running job%s %s",
			        held, held == 1 ? "" : "s", held == 1 ? "ends" : "end");
		a->draining = true;
	} else if (!r->drain && a->draining && a->stop == AGENT_RUN) {
		wn_info("drain ended (resumed by the server): taking new jobs again");
		a->draining = false;
	}
}

/* What a heartbeat carries of its running jobs besides their leases. */
typedef struct hb_progress {
	size_t n;
	Whatsnext__V1__JobProgress *v;
	Whatsnext__V1__JobProgress **sent; /* those with something to say */
	wn_outship **outs;                 /* references, or NULL */
	wn_resultfile **results;           /* references, or NULL */
} hb_progress;

/* hb_progress_take notes (lock held) what j's progress is read from. */
static void hb_progress_take(hb_progress *p, const agent_job *j)
{
	Whatsnext__V1__JobProgress *pg = &p->v[p->n];
	whatsnext__v1__job_progress__init(pg);
	pg->job_id = j->id;
	pg->attempt = j->attempt;
	p->outs[p->n] = j->out ? wn_outship_ref(j->out) : NULL;
	p->results[p->n] = j->results ? wn_resultfile_ref(j->results) : NULL;
	p->n++;
}

/* hb_progress_fill reads what the jobs produced since the last heartbeat
 * into req (lock not held): new output, at most WN_OUTSHIP_JOB_MAX bytes of
 * a job and WN_OUTSHIP_CALL_MAX in all, and what they reported. */
static void hb_progress_fill(hb_progress *p, Whatsnext__V1__HeartbeatRequest *req)
{
	size_t budget = WN_OUTSHIP_CALL_MAX;
	for (size_t i = 0; i < p->n; i++) {
		Whatsnext__V1__JobProgress *pg = &p->v[i];
		if (p->outs[i] != NULL && budget > 0)
			budget -= wn_outship_fill(
			    p->outs[i], pg,
			    budget < WN_OUTSHIP_JOB_MAX ? budget : WN_OUTSHIP_JOB_MAX, 0);
		if (p->results[i] != NULL) {
			char *why = NULL; /* the job fails at its end for it */
			wn_resultfile_fill(p->results[i], pg, false, &why);
			free(why);
		}
		if (pg->output.len > 0 || pg->n_points > 0 || pg->n_results > 0)
			req->progress[req->n_progress++] = pg;
	}
}

/* hb_progress_done tells each job's modules whether the server took it,
 * and frees p; true when a job has output left that did not fit. */
static bool hb_progress_done(hb_progress *p, bool ok)
{
	bool more = false;
	for (size_t i = 0; i < p->n; i++)
		if (p->outs[i] != NULL) {
			if (p->v[i].output.len > 0)
				wn_outship_done(p->outs[i], &p->v[i], ok);
			more |= ok && wn_outship_behind(p->outs[i]) >= WN_OUTSHIP_JOB_MAX;
			wn_outship_unref(p->outs[i]);
		}
	for (size_t i = 0; i < p->n; i++)
		if (p->results[i] != NULL) {
			wn_resultfile_done(p->results[i], &p->v[i], ok);
			wn_resultfile_unref(p->results[i]);
		}
	free(p->v);
	free(p->sent);
	free(p->outs);
	free(p->results);
	return more;
}

/* hb_send sends one heartbeat with the (at most n) leases held, which the
 * server may hold up to wait_ms until it has news, and acts on the answer;
 * called with the lock held, it lets go of it during the call. True when
 * the server answered. */
static bool hb_send(wn_agent *a, size_t n, uint32_t wait_ms)
{
	Whatsnext__V1__Lease *leases = wn_xcalloc(n + 1, sizeof(*leases));
	Whatsnext__V1__Lease **lp = wn_xcalloc(n + 1, sizeof(*lp));
	char **ext = wn_xcalloc(n + 1, sizeof(*ext)); /* copies: jobs may end meanwhile */
	hb_progress pr = {.v = wn_xcalloc(n + 1, sizeof(*pr.v)),
	                  .sent = wn_xcalloc(n + 1, sizeof(*pr.sent)),
	                  .outs = wn_xcalloc(n + 1, sizeof(*pr.outs)),
	                  .results = wn_xcalloc(n + 1, sizeof(*pr.results))};
	size_t k = 0;
	for (agent_job *j = a->jobs; j != NULL && k < n; j = j->next)
		if (j->holding && !j->lost) {
			whatsnext__v1__lease__init(&leases[k]);
			leases[k].job_id = j->id;
			leases[k].attempt = j->attempt;
			if (j->external_id != NULL && j->external_id[0] != '\0')
				leases[k].external_id = ext[k] = wn_xstrdup(j->external_id);
			lp[k] = &leases[k];
			hb_progress_take(&pr, j);
			k++;
		}
	pthread_mutex_unlock(&a->mu);

	Whatsnext__V1__HeartbeatRequest req = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	req.worker = a->name;
	req.wait_ms = wait_ms;
	req.draining = a->draining;
	req.n_leases = k;
	req.leases = lp;
	req.progress = pr.sent;
	hb_progress_fill(&pr, &req);
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int64_t t0 = wn_mono_ms();
	int rc =
	    wn_agent_call(a, WN_MID_QUEUE_HEARTBEAT, &req.base, &out, 0, 2 * (int)wait_ms, &errmsg);
	bool more = false;
	if (rc == WHATSNEXT__V1__CODE__INVALID_ARGUMENT && req.n_progress > 0) {
		/* the leases matter more than what the jobs produced */
		wn_warn("heartbeat refused: %s; sending it again without the jobs' progress",
		        errmsg);
		free(errmsg);
		errmsg = NULL;
		req.n_progress = 0;
		rc = wn_agent_call(a, WN_MID_QUEUE_HEARTBEAT, &req.base, &out, 0, 0, &errmsg);
		hb_progress_done(&pr, true); /* refused: not sent again */
	} else {
		more = hb_progress_done(&pr, rc == WN_OK);
	}
	pthread_mutex_lock(&a->mu);
	if (more)
		a->hb_soon = true; /* output left behind: send it soon */
	if (rc == WN_OK) {
		wn_debug("heartbeat: %zu lease(s) held, answered in %lld ms of %u", k,
		         (long long)(wn_mono_ms() - t0), wait_ms);
		const Whatsnext__V1__HeartbeatResponse *hr =
		    (const Whatsnext__V1__HeartbeatResponse *)out;
		hb_apply(a, &req, hr);
		if (hr->unknown_worker && a->joined && !a->need_join && !a->unjoinable) {
			/* removed while it was LOST (a partition that healed) */
			wn_warn("the server no longer knows worker %s: joining again", a->name);
			a->need_join = true;
		}
		pthread_cond_broadcast(&a->cond);
		protobuf_c_message_free_unpacked(out, NULL);
	} else if (rc == WHATSNEXT__V1__CODE__NOT_FOUND && !a->unjoinable) {
		/* the server does not know this worker: join again */
		a->need_join = true;
		pthread_cond_broadcast(&a->cond);
	} else if (!wn_agent_unreachable(rc)) {
		wn_warn("heartbeat refused: %s", errmsg);
	}
	free(errmsg);
	free(leases);
	free(lp);
	for (size_t i = 0; i < k; i++)
		free(ext[i]);
	free(ext);
	return rc == WN_OK;
}

/* hb_output_due tells (lock held) whether a running job has output the
 * server has not, and output_ms passed since the last heartbeat (at last);
 * else *wait_ms is how long until it is worth looking again. */
static bool hb_output_due(wn_agent *a, int64_t last, int64_t *wait_ms)
{
	int64_t every = a->cfg->output_ms, now = wn_mono_ms();
	if (every <= 0)
		return false;
	if (now < last + every) {
		*wait_ms = last + every - now;
		return false;
	}
	for (agent_job *j = a->jobs; j != NULL; j = j->next)
		if (j->holding && !j->lost && j->out != NULL && wn_outship_behind(j->out) > 0)
			return true;
	*wait_ms = every;
	return false;
}

/* hb_wait_ms is how long the server may hold a heartbeat sent now: the
 * interval, and while jobs run at most output_ms, so that their output still
 * ships that often. */
static uint32_t hb_wait_ms(const wn_agent *a, size_t n, int64_t interval)
{
	if (atomic_load(&a->leave_by) != 0)
		return 0; /* the worker leaves: it does not wait on the server */
	int64_t w = interval;
	if (n > 0 && a->cfg->output_ms > 0 && a->cfg->output_ms < w)
		w = a->cfg->output_ms;
	return (uint32_t)(w < AGENT_HB_WAIT_MAX_MS ? w : AGENT_HB_WAIT_MAX_MS);
}

/* The heartbeat thread. The server holds each heartbeat until it has news
 * for the worker (a cancel, a lost lease, a drain) or the interval is over:
 * then the next goes at once, and news arrives as it happens. A server that
 * answers at once is heartbeated every interval instead. */
void *wn_agent_hb_main(void *arg)
{
	wn_agent *a = arg;
	pthread_mutex_lock(&a->mu);
	int64_t last = wn_mono_ms(), next = last;
	bool had = false;
	while (!a->hb_quit) {
		int64_t lease;
		size_t n = hb_count(a, &lease);
		if (n == 0 && !a->joined) {
			had = false;
			pthread_cond_wait(&a->cond, &a->mu);
			continue;
		}
		if (!had) {
			/* Joined, or a fresh lease: the first heartbeat goes now, for
			 * the server to hold until it has news. */
			had = true;
			last = next = wn_mono_ms();
		}
		int64_t interval = hb_interval(a, n, lease), look = INT64_MAX;
		if (next > last + interval)
			next = last + interval;
		if (wn_mono_ms() < next && !a->hb_soon &&
		    !(n > 0 && hb_output_due(a, last, &look))) {
			int64_t wait = next - wn_mono_ms();
			wn_agent_timedwait(a, n > 0 && look < wait ? look : wait);
			continue;
		}
		a->hb_soon = false;
		a->hb_news = false;
		last = wn_mono_ms();
		uint32_t wait_ms = hb_wait_ms(a, n, interval);
		a->hb_held = false;
		bool ok = hb_send(a, n, wait_ms);
		/* Held by the server until news or the end of its wait: the next
		 * goes at once. Answered at once with news (a run being stopped
		 * stays news until it reports): again soon. Else (a server that
		 * does not wait, an error): an interval from this one. */
		if (ok && a->hb_held && wn_mono_ms() - last < wait_ms) {
			/* early: perhaps a job was leased to the worker, whose
			 * fetch is on its way back; the next heartbeat names it.
			 * While short jobs come and go, every lease and every end
			 * answers early: AGENT_HB_AGAIN_MS apart at the most, the
			 * news being acted on at once all the same. */
			int64_t until = wn_mono_ms() + AGENT_HB_FETCH_MS;
			while (a->fetching > 0 && !a->hb_quit && wn_mono_ms() < until)
				wn_agent_timedwait(a, until - wn_mono_ms());
			next = last + AGENT_HB_AGAIN_MS;
		} else if (ok && a->hb_held)
			next = wn_mono_ms();
		else if (ok && a->hb_news)
			next = wn_mono_ms() + AGENT_HB_AGAIN_MS;
		else
			next = last + interval;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}
