/* QueueService/Heartbeat as a long poll (its wait_ms): the heartbeat of an
 * ACTIVE worker with nothing to be told is parked on a watch of the jobs it
 * holds and of the worker itself, and answered as soon as one of them is
 * cancelled or its lease lost, the worker is drained, resumed or leaves, or
 * the wait is over. So a cancel reaches the worker at once rather than at its
 * next heartbeat. The rest of Heartbeat is svc_queue.c's. */
#include "svc.h"

#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "watch.h"

#include <stdlib.h>
#include <string.h>

/* A lease this recent that a heartbeat does not name was handed out while
 * the heartbeat was on its way (its Fetch raced ahead): news, answered at
 * once. An older one is waited on as the rest (a client that heartbeats
 * some of its leases at a time is not answered at once again and again). */
#define HB_FRESH_LEASE_MS 1000
/* With an older lease left out, the heartbeat waits this long at most: its
 * worker may still be waiting for the Fetch that brings the job (a slow or
 * lost reply), and until it names the job its output does not ship. */
#define HB_UNNAMED_WAIT_MS 2000

/* What a parked heartbeat waits for: the leases it named, what it was told. */
struct hb_wait {
	char *worker;
	size_t n;
	uint64_t *ids;
	uint32_t *attempts;
	bool fresh;         /* an unnamed lease handed out lately (HB_FRESH_LEASE_MS) */
	bool unnamed;       /* an unnamed lease at all */
	bool draining;      /* what the worker believes */
	int64_t expires_ms; /* the leases' expiry as the heartbeat set it */
};

static void hb_wait_free(void *arg)
{
	struct hb_wait *h = arg;
	free(h->worker);
	free(h->ids);
	free(h->attempts);
	free(h);
}

/* hb_worker_active tells whether worker name is ACTIVE in the fleet; *drain
 * gets whether it drains. */
static bool hb_worker_active(wn_engine *e, const char *name, bool *drain)
{
	const struct wrk *w = wn_fleet_get(e, name);
	*drain = w != NULL && w->rec->draining;
	return w != NULL && w->rec->state == WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE;
}

/* hb_reply is the answer to h now: the leases cancelled or lost since; ev
 * (NULL: none) the status change being made, a RUNNING job cancelled before
 * its lease is marked so. */
static Whatsnext__V1__HeartbeatResponse *hb_reply(struct call *c, const struct hb_wait *h,
                                                  const struct wn_watch_event *ev)
{
	Whatsnext__V1__HeartbeatResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__heartbeat_response__init(r);
	r->cancelled = wn_arena_alloc(c->arena, (h->n + 1) * sizeof(uint64_t));
	r->lost = wn_arena_alloc(c->arena, (h->n + 1) * sizeof(uint64_t));
	for (size_t i = 0; i < h->n; i++) {
		bool cancel = ev != NULL && ev->why == WN_WATCH_STATUS && ev->job == h->ids[i] &&
		              ev->from == RUNNING && ev->to == CANCELLED;
		if (cancel || wn_job_lease_cancelled(c->e, h->ids[i], h->attempts[i]))
			r->cancelled[r->n_cancelled++] = h->ids[i];
		else if (!wn_job_lease_held(c->e, h->ids[i], h->attempts[i]) &&
		         !wn_job_rerun_by(c, h->ids[i], h->attempts[i], h->worker))
			r->lost[r->n_lost++] = h->ids[i];
	}
	bool drain;
	hb_worker_active(c->e, h->worker, &drain);
	r->drain = drain;
	r->lease_expires_ms = h->expires_ms;
	return r;
}

/* hb_answer answers a parked heartbeat once there is news for its worker,
 * and at its deadline in any case. */
static const ProtobufCMessage *hb_answer(struct call *c, void *arg, const struct wn_watch_event *ev)
{
	const struct hb_wait *h = arg;
	Whatsnext__V1__HeartbeatResponse *r = hb_reply(c, h, ev);
	bool drain;
	bool news = r->n_cancelled > 0 || r->n_lost > 0 || r->drain != h->draining ||
	            !hb_worker_active(c->e, h->worker, &drain);
	/* a job leased to the worker: its next heartbeat carries the lease */
	r->held = true;
	if (news || ev->why != WN_WATCH_STATUS)
		return &r->base;
	return NULL;
}

/* hb_wait_new is what heartbeat rq waits for: the leases it names, and those
 * the worker holds that it does not name yet (a job leased to it while the
 * heartbeat was on its way: the fetch that brings it is not back yet; when
 * it was lately, the caller answers at once). */
static struct hb_wait *hb_wait_new(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq)
{
	const struct wrk *w = wn_fleet_get(c->e, rq->worker);
	size_t max = rq->n_leases + wn_map_count(w->jobs) + 1;
	struct hb_wait *h = wn_xcalloc(1, sizeof(*h));
	h->worker = wn_xstrdup(rq->worker);
	h->ids = wn_xcalloc(max, sizeof(*h->ids));
	h->attempts = wn_xcalloc(max, sizeof(*h->attempts));
	for (size_t i = 0; i < rq->n_leases; i++) {
		h->ids[h->n] = rq->leases[i]->job_id;
		h->attempts[h->n++] = rq->leases[i]->attempt;
	}
	size_t pos = 0, named = h->n;
	uint64_t id;
	const char *sk;
	void *val;
	while (wn_map_next(w->jobs, &pos, &id, &sk, &val)) {
		bool known = false;
		for (size_t i = 0; i < named && !known; i++)
			known = h->ids[i] == id;
		const Job *j = known ? NULL : wn_job_find(c, id);
		if (j != NULL && j->status == RUNNING) {
			h->ids[h->n] = id;
			h->attempts[h->n++] = j->attempt;
			int64_t age = wn_engine_now(c->e) - j->started_ms;
			h->fresh |= age >= 0 && age < HB_FRESH_LEASE_MS;
			h->unnamed = true;
		}
	}
	return h;
}

/* hb_readable: job id, which a heartbeat changes, can be read (or is gone). */
static int hb_readable(struct call *c, uint64_t id)
{
	Job *j = NULL;
	int rv = wn_job_get(c, id, &j);
	if (rv == WN_OK || rv == WN_ENOTFOUND)
		return WN_OK;
	return wn_call_fail(c, WN_EUNAVAIL,
	                    "cannot read job %llu (wnd's log says why); nothing was changed; "
	                    "retry later",
	                    (unsigned long long)id);
}

int wn_svc_heartbeat_readable(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq)
{
	int rv = WN_OK;
	for (size_t i = 0; rv == WN_OK && i < rq->n_leases; i++) {
		const Whatsnext__V1__Lease *l = rq->leases[i];
		if (wn_job_lease_held(c->e, l->job_id, l->attempt) ||
		    wn_job_lease_cancelled(c->e, l->job_id, l->attempt))
			rv = hb_readable(c, l->job_id);
	}
	for (size_t i = 0; rv == WN_OK && i < rq->n_progress; i++) {
		const Whatsnext__V1__JobProgress *pg = rq->progress[i];
		if (wn_job_lease_held(c->e, pg->job_id, pg->attempt) ||
		    wn_job_lease_cancelled(c->e, pg->job_id, pg->attempt))
			rv = hb_readable(c, pg->job_id);
	}
	return rv;
}

int wn_svc_heartbeat_wait(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq,
                          Whatsnext__V1__HeartbeatResponse *r, ProtobufCMessage **out)
{
	*out = &r->base;
	bool drain;
	if (rq->wait_ms == 0 || c->slot == NULL || r->n_cancelled > 0 || r->n_lost > 0 ||
	    r->drain != rq->draining || !hb_worker_active(c->e, rq->worker, &drain))
		return WN_OK;
	struct hb_wait *h = hb_wait_new(c, rq);
	if (h->fresh) {
		/* a job was leased to the worker just before this heartbeat came
		 * (its fetch raced ahead): that is news already, and the next
		 * heartbeat, which names it, ships its output */
		hb_wait_free(h);
		r->held = true;
		return WN_OK;
	}
	h->draining = rq->draining;
	h->expires_ms = r->lease_expires_ms;
	/* the leases it extended must not run out while it waits, nor the
	 * worker be marked LOST (wnd --worker-timeout-ms) */
	int64_t most = c->e->cfg.lease_ms / 3;
	if (c->e->cfg.worker_timeout_ms / 3 < most)
		most = c->e->cfg.worker_timeout_ms / 3;
	if (h->unnamed && most > HB_UNNAMED_WAIT_MS)
		most = HB_UNNAMED_WAIT_MS;
	struct wn_watch_spec spec = {
	    .ids = h->ids,
	    .nids = h->n,
	    .worker = rq->worker,
	    .events = WN_WATCH_ON_STATUS | WN_WATCH_ON_WORKER,
	    .what = "heartbeat",
	    .wait_ms = (uint32_t)(rq->wait_ms < most ? rq->wait_ms : most),
	    .fn = hb_answer,
	    .arg = h,
	    .arg_free = hb_wait_free,
	};
	if (wn_watch_park(c, &spec) != WN_OK) {
		/* no room to wait (or shutting down): the answer goes now */
		c->msg = NULL;
		return WN_OK;
	}
	*out = NULL;
	return WN_OK;
}
