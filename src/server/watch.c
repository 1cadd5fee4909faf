/* watch: requests parked until an event of their jobs or their deadline, and
 * the count of parked requests by connection (watch.h). */
#include "watch.h"

#include "clock.h"
#include "engine_state.h"
#include "log.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The watches of one job, sweep or project. */
struct watch_list {
	size_t n, cap;
	struct wn_watch **v;
};

/* What a list is of. */
enum list_kind { BY_JOB, BY_SWEEP, BY_PROJECT, BY_WORKER };

/* One parked request. */
struct wn_watch {
	struct parked pk;
	int64_t deadline; /* monotonic */
	unsigned events;
	wn_watch_fn fn;
	void *arg;
	void (*arg_free)(void *arg);
	uint64_t *ids; /* each once */
	size_t nids;
	/* its place in each of its lists, so that it leaves each in a step:
	 * the lists of ids[0..nids), then its sweep's, its project's, its
	 * worker's (a list holds at most max_parked_fetches watches) */
	uint32_t *pos;
	uint64_t sweep;
	char *project;
	char *worker;   /* the worker it waits for (NULL: none) */
	char *caller;   /* the token it came with (NULL: the server has none) */
	uint64_t epoch; /* the last event that reached it */
	struct wn_watch *prev, *next;
};

void wn_watch_init(wn_engine *e)
{
	memset(&e->w, 0, sizeof(e->w));
	e->w.by_conn = wn_map_new_u64();
	e->w.by_job = wn_map_new_u64();
	e->w.by_sweep = wn_map_new_u64();
	e->w.by_project = wn_map_new_str();
	e->w.by_worker = wn_map_new_str();
}

void wn_watch_release(wn_engine *e)
{
	wn_map_free(e->w.by_conn);
	wn_map_free(e->w.by_job);
	wn_map_free(e->w.by_sweep);
	wn_map_free(e->w.by_project);
	wn_map_free(e->w.by_worker);
	memset(&e->w, 0, sizeof(e->w));
}

/* -------------------------------------------------------- parked requests */

size_t wn_watch_parked(wn_engine *e, uint32_t conn)
{
	return conn == 0 ? 0 : (size_t)(uintptr_t)wn_map_get_u64(e->w.by_conn, conn);
}

void wn_watch_count(wn_engine *e, uint32_t conn, int delta)
{
	e->w.nparked += (size_t)(ptrdiff_t)delta;
	if (conn == 0)
		return;
	size_t n = wn_watch_parked(e, conn) + (size_t)(ptrdiff_t)delta;
	if (n == 0)
		wn_map_del_u64(e->w.by_conn, conn);
	else
		wn_map_put_u64(e->w.by_conn, conn, (void *)(uintptr_t)n);
}

int wn_watch_room(struct call *c, uint32_t conn, const char *what)
{
	const wn_engine_config *cfg = &c->e->cfg;
	if (conn != 0 && wn_watch_parked(c->e, conn) >= cfg->max_parked_per_conn)
		return wn_call_fail(c, WN_ETOOBIG,
		                    "too many %s wait on this connection (%zu, "
		                    "max_parked_per_connection); wait for one to return",
		                    what, cfg->max_parked_per_conn);
	if (c->e->w.nparked >= cfg->max_parked)
		return wn_call_fail(c, WN_ETOOBIG,
		                    "too many %s wait on the server (%zu, "
		                    "max_parked_fetches); retry later",
		                    what, cfg->max_parked);
	return WN_OK;
}

/* ------------------------------------------------------------------ indexes */

/* list_slot is which of w's lists (w->pos) a list of kind is, for job id
 * job (w names it). */
static size_t list_slot(const struct wn_watch *w, enum list_kind kind, uint64_t job)
{
	if (kind != BY_JOB)
		return w->nids + (size_t)(kind - BY_SWEEP);
	size_t lo = 0, hi = w->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->ids[mid] < job)
			lo = mid + 1;
		else
			hi = mid;
	}
	assert(lo < w->nids && w->ids[lo] == job);
	return lo;
}

/* list_add puts w into l, its list k. */
static void list_add(struct watch_list *l, struct wn_watch *w, size_t k)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = wn_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	w->pos[k] = (uint32_t)l->n;
	l->v[l->n++] = w;
}

/* list_del takes w out of l (its list k, of kind and job) in a step, the
 * last entry taking its place; true when l is empty then. */
static bool list_del(wn_engine *e, struct watch_list *l, const struct wn_watch *w, size_t k,
                     enum list_kind kind, uint64_t job)
{
	uint32_t i = w->pos[k];
	assert(i < l->n && l->v[i] == w);
	struct wn_watch *last = l->v[--l->n];
	l->v[i] = last;
	if (last != w)
		last->pos[list_slot(last, kind, job)] = i;
	e->w.steps++;
	return l->n == 0;
}

static struct watch_list *list_of(wn_map *m, uint64_t uk, const char *sk, bool make)
{
	struct watch_list *l = sk != NULL ? wn_map_get_str(m, sk) : wn_map_get_u64(m, uk);
	if (l != NULL || !make)
		return l;
	l = wn_xcalloc(1, sizeof(*l));
	if (sk != NULL)
		wn_map_put_str(m, sk, l);
	else
		wn_map_put_u64(m, uk, l);
	return l;
}

static void list_unlink(wn_engine *e, wn_map *m, uint64_t uk, const char *sk,
                        const struct wn_watch *w, size_t k, enum list_kind kind)
{
	struct watch_list *l = list_of(m, uk, sk, false);
	if (l == NULL || !list_del(e, l, w, k, kind, uk))
		return;
	if (sk != NULL)
		wn_map_del_str(m, sk);
	else
		wn_map_del_u64(m, uk);
	free(l->v);
	free(l);
}

static void watch_index(wn_engine *e, struct wn_watch *w)
{
	for (size_t i = 0; i < w->nids; i++)
		list_add(list_of(e->w.by_job, w->ids[i], NULL, true), w, i);
	if (w->sweep != 0)
		list_add(list_of(e->w.by_sweep, w->sweep, NULL, true), w, w->nids);
	if (w->project != NULL)
		list_add(list_of(e->w.by_project, 0, w->project, true), w, w->nids + 1);
	if (w->worker != NULL)
		list_add(list_of(e->w.by_worker, 0, w->worker, true), w, w->nids + 2);
}

/* watch_end takes w out of every list and frees it, answering reply, or the
 * error code with msg (code 0 and reply NULL: its connection is gone, its slot
 * is freed without a reply). */
static void watch_end(struct call *c, struct wn_watch *w, const ProtobufCMessage *reply, int code,
                      const char *msg)
{
	wn_engine *e = c->e;
	for (size_t i = 0; i < w->nids; i++)
		list_unlink(e, e->w.by_job, w->ids[i], NULL, w, i, BY_JOB);
	if (w->sweep != 0)
		list_unlink(e, e->w.by_sweep, w->sweep, NULL, w, w->nids, BY_SWEEP);
	if (w->project != NULL)
		list_unlink(e, e->w.by_project, 0, w->project, w, w->nids + 1, BY_PROJECT);
	if (w->worker != NULL)
		list_unlink(e, e->w.by_worker, 0, w->worker, w, w->nids + 2, BY_WORKER);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		e->w.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		e->w.tail = w->prev;
	e->w.nwatch--;
	wn_watch_count(e, w->pk.conn, -1);
	/* a watch answers a request that changes nothing: no request id is
	 * kept for it (wn_call_answer's), the reply goes to its slot */
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = w->pk.slot;
	if (reply != NULL || code != 0)
		d->buf = wn_engine_pack_response(w->pk.reqid, code, msg, reply, &d->len);
	d->next = c->deliveries;
	c->deliveries = d;
	if (w->arg_free != NULL)
		w->arg_free(w->arg);
	free(w->ids);
	free(w->pos);
	free(w->project);
	free(w->worker);
	free(w->caller);
	free(w);
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int wn_watch_park(struct call *c, const struct wn_watch_spec *spec)
{
	wn_engine *e = c->e;
	uint32_t conn = e->cfg.slot_conn ? e->cfg.slot_conn(c->slot) : 0;
	int rv = e->w.no_park ? WN_EUNAVAIL : wn_watch_room(c, conn, "requests");
	if (rv != WN_OK) {
		if (spec->arg_free != NULL)
			spec->arg_free(spec->arg);
		return rv;
	}
	struct wn_watch *w = wn_xcalloc(1, sizeof(*w));
	wn_call_park(c, &w->pk);
	w->deadline = wn_engine_mono(e) + spec->wait_ms;
	w->events = spec->events;
	w->fn = spec->fn;
	w->arg = spec->arg;
	w->arg_free = spec->arg_free;
	w->ids = wn_xmalloc((spec->nids + 1) * sizeof(*w->ids));
	if (spec->nids > 0)
		memcpy(w->ids, spec->ids, spec->nids * sizeof(*w->ids));
	qsort(w->ids, spec->nids, sizeof(*w->ids), id_cmp);
	for (size_t i = 0; i < spec->nids; i++)
		if (w->nids == 0 || w->ids[w->nids - 1] != w->ids[i])
			w->ids[w->nids++] = w->ids[i];
	w->pos = wn_xmalloc((w->nids + 3) * sizeof(*w->pos));
	w->sweep = spec->sweep;
	if (spec->project != NULL && spec->project[0] != '\0')
		w->project = wn_xstrdup(spec->project);
	if (spec->worker != NULL && spec->worker[0] != '\0')
		w->worker = wn_xstrdup(spec->worker);
	if (c->caller != NULL)
		w->caller = wn_xstrdup(c->caller);
	w->prev = e->w.tail;
	if (e->w.tail != NULL)
		e->w.tail->next = w;
	else
		e->w.head = w;
	e->w.tail = w;
	e->w.nwatch++;
	wn_watch_count(e, w->pk.conn, 1);
	watch_index(e, w);
	wn_engine_wake(e, w->deadline);
	wn_debug("%s %llu waits up to %u ms", spec->what ? spec->what : "request",
	         (unsigned long long)c->reqid, spec->wait_ms);
	return WN_OK;
}

/* ------------------------------------------------------------------ events */

/* watch_gather adds to v (at *n) the watches of l that hear of `events` and
 * that this event has not reached yet. */
static void watch_gather(wn_engine *e, const struct watch_list *l, unsigned events,
                         struct wn_watch **v, size_t *n)
{
	for (size_t i = 0; l != NULL && i < l->n; i++) {
		struct wn_watch *w = l->v[i];
		e->w.steps++;
		if ((w->events & events) == 0 || w->epoch == e->w.epoch)
			continue;
		w->epoch = e->w.epoch;
		v[(*n)++] = w;
	}
}

/* watch_fire calls the function of each of the watches of up to three
 * lists that hear of `events` with ev, and ends those it answers. */
static void watch_fire(struct call *c, struct watch_list *const *ls, unsigned events,
                       const struct wn_watch_event *ev)
{
	wn_engine *e = c->e;
	size_t max = 0, n = 0;
	for (int i = 0; i < 3; i++)
		max += ls[i] != NULL ? ls[i]->n : 0;
	if (max == 0)
		return;
	/* not from the call's arena: a call may cause many events (a queue
	 * cleared), each reaching many watches */
	struct wn_watch **v = wn_xmalloc(max * sizeof(*v));
	e->w.epoch++;
	for (int i = 0; i < 3; i++)
		watch_gather(e, ls[i], events, v, &n);
	/* each gathered watch is ended only by its own turn below */
	for (size_t i = 0; i < n; i++) {
		const ProtobufCMessage *reply = v[i]->fn(c, v[i]->arg, ev);
		if (reply != NULL)
			watch_end(c, v[i], reply, 0, NULL);
	}
	free(v);
}

void wn_watch_status(struct call *c, const char *project, const Job *j, int from, int to)
{
	wn_engine *e = c->e;
	if (e->w.nwatch == 0 || from == to)
		return;
	struct watch_list *ls[3] = {
	    list_of(e->w.by_job, j->id, NULL, false),
	    j->sweep_id != 0 ? list_of(e->w.by_sweep, j->sweep_id, NULL, false) : NULL,
	    project != NULL ? list_of(e->w.by_project, 0, project, false) : NULL,
	};
	struct wn_watch_event ev = {.why = WN_WATCH_STATUS,
	                            .job = j->id,
	                            .sweep = j->sweep_id,
	                            .project = project,
	                            .from = from,
	                            .to = to};
	watch_fire(c, ls, WN_WATCH_ON_STATUS, &ev);
	if (to == RUNNING && j->worker[0] != '\0')
		wn_watch_worker(c, j->worker); /* a job of its own: it heartbeats for it */
}

void wn_watch_output(struct call *c, uint64_t job_id)
{
	wn_engine *e = c->e;
	if (e->w.nwatch == 0)
		return;
	struct watch_list *ls[3] = {list_of(e->w.by_job, job_id, NULL, false), NULL, NULL};
	struct wn_watch_event ev = {.why = WN_WATCH_OUTPUT, .job = job_id};
	watch_fire(c, ls, WN_WATCH_ON_OUTPUT, &ev);
}

void wn_watch_worker(struct call *c, const char *worker)
{
	wn_engine *e = c->e;
	if (e->w.nwatch == 0)
		return;
	struct watch_list *ls[3] = {list_of(e->w.by_worker, 0, worker, false), NULL, NULL};
	struct wn_watch_event ev = {.why = WN_WATCH_WORKER};
	watch_fire(c, ls, WN_WATCH_ON_WORKER, &ev);
}

/* watch_final calls w's function for an event it must answer, and ends it. */
static void watch_final(struct call *c, struct wn_watch *w, enum wn_watch_why why)
{
	struct wn_watch_event ev = {.why = why};
	const ProtobufCMessage *reply = w->fn(c, w->arg, &ev);
	if (reply == NULL) /* a function that breaks its contract: the request still ends */
		wn_error("a parked request had no answer at its end; its connection gets none");
	watch_end(c, w, reply, 0, NULL);
}

int64_t wn_watch_due(struct call *c, int64_t now, int64_t next)
{
	struct wn_watch *w = c->e->w.head;
	while (w != NULL) {
		struct wn_watch *n = w->next;
		if (w->deadline <= now)
			watch_final(c, w, WN_WATCH_DEADLINE);
		else if (w->deadline < next)
			next = w->deadline;
		w = n;
	}
	return next;
}

void wn_watch_drop(struct call *c, const uint32_t *closed, size_t n)
{
	for (struct wn_watch *w = c->e->w.head; n > 0 && w != NULL;) {
		struct wn_watch *next = w->next;
		bool gone = false;
		for (size_t i = 0; i < n && !gone; i++)
			gone = w->pk.conn != 0 && w->pk.conn == closed[i];
		if (gone)
			watch_end(c, w, NULL, 0, NULL);
		w = next;
	}
}

void wn_watch_revoked(struct call *c, const char *token)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "token %.128s was revoked while this request waited", token);
	for (struct wn_watch *w = c->e->w.head; w != NULL;) {
		struct wn_watch *next = w->next;
		if (w->caller != NULL && strcmp(w->caller, token) == 0)
			watch_end(c, w, NULL, wn_err_to_code(WN_EAUTH), msg);
		w = next;
	}
}

void wn_watch_release_all(struct call *c)
{
	c->e->w.no_park = true;
	while (c->e->w.head != NULL)
		watch_final(c, c->e->w.head, WN_WATCH_RELEASE);
}
