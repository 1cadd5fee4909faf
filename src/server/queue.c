/* queue: the dispatch classes of each project (the ready jobs of one task, or
 * of one task within one sweep, in dispatch order), claiming, and the job
 * status transitions that keep queues, counts and dependents in step. */
#include "engine_int.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct queue *queue_of(struct project *p, struct task *t, struct sweep *s)
{
	char key[WN_NAME_MAX + 32];
	snprintf(key, sizeof(key), "%s#%llu", t->name, (unsigned long long)(s ? s->id : 0));
	struct queue *q = wn_map_get_str(p->queues, key);
	if (q != NULL)
		return q;
	q = wn_xcalloc(1, sizeof(*q));
	q->task = t;
	q->sweep = s;
	q->ready = wn_index_new();
	wn_map_put_str(p->queues, key, q);
	p->qv = wn_xrealloc(p->qv, (p->nq + 1) * sizeof(*p->qv));
	p->qv[p->nq++] = q;
	return q;
}

bool queue_capped(const struct queue *q)
{
	return q->sweep != NULL && q->sweep->max_running > 0 &&
	       q->sweep->counts[RUNNING] >= q->sweep->max_running;
}

/* queue_find returns the dispatch class of a job, or NULL if its task is gone. */
static struct queue *queue_find(struct call *c, struct project *p, const Job *j)
{
	struct task *t = wn_map_get_str(p->tasks, j->task);
	if (t == NULL)
		return NULL;
	struct sweep *s = j->sweep_id ? engine_sweep(c->e, j->sweep_id) : NULL;
	return queue_of(p, t, s);
}

void queue_ready_add(struct call *c, struct project *p, const Job *j)
{
	struct queue *q = queue_find(c, p, j);
	if (q == NULL) {
		wn_error("job %llu names unknown task %s/%s", (unsigned long long)j->id, p->name,
		         j->task);
		return;
	}
	wn_index_insert(q->ready, j->priority, j->id);
	p->feed = true;
}

void queue_ready_del(struct project *p, const Job *j)
{
	struct task *t = wn_map_get_str(p->tasks, j->task);
	if (t == NULL)
		return;
	char key[WN_NAME_MAX + 32];
	snprintf(key, sizeof(key), "%s#%llu", t->name, (unsigned long long)j->sweep_id);
	struct queue *q = wn_map_get_str(p->queues, key);
	if (q != NULL)
		wn_index_remove(q->ready, j->priority, j->id);
}

void queue_count_move(struct call *c, struct project *p, const Job *j, int from, int to)
{
	struct sweep *s = j->sweep_id ? engine_sweep(c->e, j->sweep_id) : NULL;
	if (from > 0 && from < WN_NSTATUS) {
		if (p->counts[from] > 0)
			p->counts[from]--;
		if (s != NULL && s->counts[from] > 0)
			s->counts[from]--;
	}
	if (to > 0 && to < WN_NSTATUS) {
		p->counts[to]++;
		if (s != NULL)
			s->counts[to]++;
	}
	/* a job that stops running frees its worker's capacity and maybe a
	 * capped sweep's turn: parked fetches may get a job now */
	if (from == RUNNING)
		p->feed = true;
}

struct dwait *dwait_get(wn_engine *e, uint64_t id)
{
	return wn_map_get_u64(e->waiting, id);
}

struct dwait *dwait_put(wn_engine *e, struct project *p, uint64_t id, uint32_t unmet,
                        uint32_t broken)
{
	struct dwait *w = wn_map_get_u64(e->waiting, id);
	if (w == NULL) {
		w = wn_xcalloc(1, sizeof(*w));
		w->proj = p;
		wn_map_put_u64(e->waiting, id, w);
		wn_map_put_u64(p->waiting, id, w);
	}
	w->unmet = unmet;
	w->broken = broken;
	return w;
}

bool dwait_del(wn_engine *e, uint64_t id)
{
	struct dwait *w = wn_map_del_u64(e->waiting, id);
	if (w == NULL)
		return false;
	wn_map_del_u64(w->proj->waiting, id);
	free(w);
	return true;
}

bool job_is_ready(const struct project *p, const Job *j)
{
	return j->status == PENDING && wn_map_get_u64(p->waiting, j->id) == NULL;
}

/* job_leave takes j out of the queue state its current status puts it in. */
static void job_leave(struct call *c, struct project *p, const Job *j)
{
	if (j->status != PENDING && j->status != BLOCKED)
		return;
	if (!dwait_del(c->e, j->id) && j->status == PENDING)
		queue_ready_del(p, j);
}

/* job_enter_pending puts j (status PENDING) in a ready queue, or among the
 * waiting jobs, or makes it BLOCKED, as its dependencies say. */
static void job_enter_pending(struct call *c, struct project *p, Job *j)
{
	uint32_t unmet = 0, broken = 0;
	const char *why = NULL;
	if (j->n_deps > 0)
		deps_eval(c, j, &unmet, &broken, &why);
	if (unmet == 0 && broken == 0) {
		queue_ready_add(c, p, j);
		return;
	}
	dwait_put(c->e, p, j->id, unmet, broken);
	if (broken > 0) {
		j->status = BLOCKED;
		j->reason = (char *)why;
	}
}

void job_set_status(struct call *c, wn_batch *b, struct project *p, Job *j, int to)
{
	int from = j->status;
	job_leave(c, p, j);
	if (from == RUNNING || to == RUNNING) {
		struct task *t = wn_map_get_str(p->tasks, j->task);
		static const struct need none;
		const struct need *n = t ? &t->need : &none;
		if (from == RUNNING)
			fleet_drop(c->e, j->worker, j->id, n);
		else if (from != RUNNING)
			fleet_hold(c->e, j->worker, j->id, n);
	}
	j->status = (Whatsnext__V1__JobStatus)to;
	if (to == PENDING) {
		job_enter_pending(c, p, j);
	} else if (to == BLOCKED) {
		dwait_put(c->e, p, j->id, 0, 1);
	}
	queue_count_move(c, p, j, from, (int)j->status);
	job_put(c, b, j);
	if (from != (int)j->status)
		deps_propagate(c, b, j->id, from, (int)j->status);
}

void job_remove_many(struct call *c, wn_batch *b, struct project *p, Job **v, size_t n,
                     bool propagate)
{
	int *old = wn_arena_alloc(c->arena, (n + 1) * sizeof(int));
	for (size_t i = 0; i < n; i++) {
		Job *j = v[i];
		old[i] = (int)j->status;
		job_leave(c, p, j);
		if (old[i] == RUNNING) { /* its worker no longer holds it */
			struct task *t = wn_map_get_str(p->tasks, j->task);
			static const struct need none;
			fleet_drop(c->e, j->worker, j->id, t ? &t->need : &none);
		}
		queue_count_move(c, p, j, old[i], 0);
		replay_removed(c, b, j, old[i]);
		job_del(c, b, j->id);
		wn_leases_remove(c->e->leases, j->id);
		wn_map_del_u64(c->e->cancelled, j->id);
		/* status 0 in the call's cache: propagation passes it by */
		j->status = WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED;
	}
	for (size_t i = 0; i < n; i++) {
		if (propagate)
			deps_propagate(c, b, v[i]->id, old[i], 0);
		deps_del_edges(c->e, v[i]);
		free(wn_map_del_u64(c->e->rdeps, v[i]->id));
	}
}

uint64_t project_remove_jobs(struct call *c, struct project *p, const char *task, wn_batch *b)
{
	Job **v = NULL;
	size_t n = 0, cap = 0;
	const char *k, *val;
	size_t kl, vl;
	wn_store_iter *it =
	    wn_store_iter_new(c->e->store, wn_key_prefix(WN_KEY_JOB), WN_KEY_PREFIX_LEN, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &val, &vl)) {
		/* a cheap look first: most jobs of a big store are someone else's */
		Job *j = whatsnext__v1__job__unpack(NULL, vl, (const uint8_t *)val);
		bool mine = j != NULL && strcmp(j->project, p->name) == 0 &&
		            (task == NULL || strcmp(j->task, task) == 0);
		uint64_t id = j ? j->id : 0;
		if (j != NULL)
			whatsnext__v1__job__free_unpacked(j, NULL);
		if (!mine)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = wn_xrealloc(v, cap * sizeof(*v));
		}
		v[n] = job_find(c, id);
		if (v[n] != NULL)
			n++;
	}
	wn_store_iter_free(it);
	job_remove_many(c, b, p, v, n, task != NULL);
	free(v);
	return n;
}

void qwalk_init(struct call *c, struct project *p, struct qwalk *w)
{
	w->n = p->nq;
	w->q = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->q));
	w->it = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->it));
	w->cur = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->cur));
	w->have = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->have));
	w->last = NULL;
	for (size_t i = 0; i < w->n; i++) {
		w->q[i] = p->qv[i];
		wn_index_iter_init(p->qv[i]->ready, &w->it[i]);
		w->have[i] = wn_index_iter_next(&w->it[i], &w->cur[i]);
	}
}

bool qwalk_next(struct qwalk *w, wn_index_entry *e)
{
	size_t best = w->n;
	for (size_t i = 0; i < w->n; i++)
		if (w->have[i] && (best == w->n || wn_index_before(&w->cur[i], &w->cur[best])))
			best = i;
	if (best == w->n)
		return false;
	*e = w->cur[best];
	w->last = w->q[best];
	w->have[best] = wn_index_iter_next(&w->it[best], &w->cur[best]);
	return true;
}

static bool task_allowed(const char *task, char **tasks, size_t ntasks)
{
	if (ntasks == 0)
		return true;
	for (size_t i = 0; i < ntasks; i++)
		if (strcmp(tasks[i], task) == 0)
			return true;
	return false;
}

bool queue_peek(struct project *p, char **tasks, size_t ntasks, const struct wrk *w,
                wn_index_entry *out)
{
	if (p->archived)
		return false;
	bool found = false;
	wn_index_entry e;
	for (size_t i = 0; i < p->nq; i++) {
		struct queue *q = p->qv[i];
		if (!wn_index_first(q->ready, &e) || queue_capped(q) ||
		    !task_allowed(q->task->name, tasks, ntasks) ||
		    (w != NULL && !fleet_fits(w, &q->task->need)))
			continue;
		if (!found || wn_index_before(&e, out)) {
			*out = e;
			found = true;
		}
	}
	return found;
}

int queue_take(struct call *c, wn_batch *b, struct project *p, wn_index_entry e, const char *worker,
               Job **out)
{
	Job *j = job_find(c, e.id);
	if (j == NULL || j->status != PENDING) {
		/* cannot happen while the queues and the store agree; heal it */
		for (size_t i = 0; i < p->nq; i++)
			wn_index_remove(p->qv[i]->ready, e.priority, e.id);
		wn_error("ready queue held job %llu, which is not pending; dropped",
		         (unsigned long long)e.id);
		return WN_ENOTFOUND;
	}
	int64_t now = engine_now(c->e);
	j->attempt++;
	j->worker = wn_arena_strdup(c->arena, worker);
	j->started_ms = now;
	j->finished_ms = 0;
	j->lease_expires_ms = now + c->e->cfg.lease_ms;
	job_set_status(c, b, p, j, RUNNING);
	int64_t due = engine_mono(c->e) + c->e->cfg.lease_ms;
	wn_leases_put(c->e->leases, j->id, j->attempt, due);
	if (due < c->e->sweep_at)
		pthread_cond_signal(&c->e->sweep_cv);
	*out = j;
	return WN_OK;
}

int call_commit(struct call *c, wn_batch *b)
{
	int rv = wn_batch_count(b) > 0 ? engine_write(c, b) : WN_OK;
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	bool feed = false;
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->projects, &pos, &uk, &sk, &val)) {
		struct project *p = val;
		feed |= p->feed;
		p->feed = false;
	}
	if (feed && c->e->wait_head != NULL)
		queue_feed(c);
	return WN_OK;
}

/* job_waiting_reason says why a PENDING job is not ready. */
static const char *job_waiting_reason(struct call *c, struct project *p, const Job *j)
{
	if (p->archived)
		return wn_arena_printf(c->arena, "project %s is archived", p->name);
	if (!job_is_ready(p, j)) {
		for (size_t i = 0; i < j->n_deps; i++) {
			const Whatsnext__V1__Dependency *d = j->deps[i];
			Job *x = job_find(c, d->job_id);
			int st = x ? (int)x->status : 0;
			if (deps_edge_state(d->condition, st) != EDGE_OK)
				return wn_arena_printf(
				    c->arena, "waiting for job %llu (%s; it is %s)",
				    (unsigned long long)d->job_id, deps_cond_name(d->condition),
				    x ? job_status_name(st) : "removed");
		}
		return "waiting for its dependencies";
	}
	struct task *t = wn_map_get_str(p->tasks, j->task);
	const char *never = t ? fleet_never(c, &t->need) : NULL;
	if (never != NULL)
		return never;
	struct sweep *s = j->sweep_id ? engine_sweep(c->e, j->sweep_id) : NULL;
	if (s != NULL && s->max_running > 0 && s->counts[RUNNING] >= s->max_running)
		return wn_arena_printf(c->arena, "sweep %llu has %llu running (max_running %u)",
		                       (unsigned long long)s->id,
		                       (unsigned long long)s->counts[RUNNING], s->max_running);
	return NULL;
}

void job_fill_live(struct call *c, Job *j, bool position)
{
	for (size_t i = 0; i < j->n_deps; i++) {
		Job *x = job_find(c, j->deps[i]->job_id);
		j->deps[i]->status =
		    x ? x->status : WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED;
	}
	if (j->status == RUNNING) {
		uint32_t att;
		int64_t exp;
		if (wn_leases_get(c->e->leases, j->id, &att, &exp) == WN_OK && att == j->attempt)
			j->lease_expires_ms = engine_mono_to_wall(c->e, exp);
		return;
	}
	if (j->status != PENDING)
		return;
	struct project *p = job_project(c, j);
	if (p == NULL)
		return;
	const char *why = job_waiting_reason(c, p, j);
	if (why != NULL) {
		j->waiting = (char *)why;
		j->position = -1;
		return;
	}
	if (!position) {
		j->waiting = "waiting for a worker";
		return;
	}
	struct qwalk w;
	qwalk_init(c, p, &w);
	wn_index_entry e;
	int64_t pos = 0;
	while (qwalk_next(&w, &e) && e.id != j->id && pos < 1000000)
		if (!queue_capped(w.last))
			pos++;
	j->position = pos;
	j->waiting =
	    pos == 0
	        ? "next in line; waiting for a worker to fetch"
	        : wn_arena_printf(c->arena, "waiting for a worker; %lld job(s) ahead in the queue",
	                          (long long)pos);
}

void queue_expire(struct call *c, uint64_t id, uint32_t attempt)
{
	wn_engine *e = c->e;
	/* the lease of a run cancelled while it ran ends quietly; a mark left
	 * by an earlier attempt (cancelled, retried, handed out again) does not
	 * keep this attempt's lease from expiring */
	uintptr_t cv = (uintptr_t)wn_map_get_u64(e->cancelled, id);
	bool cancelled_run = cv != 0 && cv == attempt + 1ULL;
	if (cancelled_run)
		wn_map_del_u64(e->cancelled, id);
	Job *j = job_find(c, id);
	if (j == NULL || j->status != RUNNING || j->attempt != attempt || cancelled_run)
		return;
	struct project *p = job_project(c, j);
	if (p == NULL)
		return;
	struct task *t = wn_map_get_str(p->tasks, j->task);
	uint32_t max = t && t->max_attempts ? t->max_attempts : WN_DEFAULT_MAX_ATTEMPTS;
	j->lost++;
	int to;
	if (j->lost >= max) {
		to = FAILED;
		j->reason =
		    wn_arena_printf(c->arena,
		                    "lease expired %u time(s) (max_attempts %u); last held by "
		                    "worker %s, attempt %u",
		                    j->lost, max, j->worker, j->attempt);
		j->finished_ms = engine_now(e);
	} else {
		to = PENDING;
		j->reason = wn_arena_printf(
		    c->arena, "lease of attempt %u expired (worker %s stopped heartbeating)",
		    j->attempt, j->worker);
	}
	j->lease_expires_ms = 0;
	wn_batch *b = wn_batch_new();
	job_set_status(c, b, p, j, to);
	int rv = call_commit(c, b);
	if (rv == WN_OK)
		wn_info("job %llu: %s", (unsigned long long)id, j->reason);
}

/* ------------------------------------------------------------------ claiming */

/* What claiming adds to a job's record in a reply, besides the worker's
 * name: attempt, times, field tags and lengths. */
#define FETCH_JOB_SLACK 128

/* claim_fits tells whether job id, claimed by worker, still fits the reply
 * budget after the *bytes of the got jobs claimed so far (the first always
 * does), and counts it in. */
static bool claim_fits(struct call *c, uint64_t id, const char *worker, size_t *bytes, size_t got)
{
	Job *j = job_find(c, id);
	size_t n = FETCH_JOB_SLACK + strlen(worker) +
	           (j != NULL ? protobuf_c_message_get_packed_size(&j->base) : 0);
	if (got > 0 && *bytes + n > WN_REPLY_BUDGET)
		return false;
	*bytes += n;
	return true;
}

int queue_claim(struct call *c, wn_batch *b, const struct fetch_want *want, Job **got, size_t *ngot)
{
	struct project **ps = want->ps;
	size_t n = want->np;
	*ngot = 0;
	struct wrk *w = fleet_get(c->e, want->worker);
	if (w != NULL) {
		fleet_seen(c->e, want->worker, engine_now(c->e), b);
		if (w->rec->draining)
			return WN_OK; /* a draining worker takes no new jobs */
	}
	size_t bytes = 0;
	for (size_t k = 0; k < want->max_jobs; k++) {
		/* highest priority first; among equals, projects take turns */
		uint64_t *rr = w ? &w->rr : &c->e->rr;
		size_t start = (size_t)((*rr)++ % n), best = n;
		wn_index_entry be, e;
		for (size_t i = 0; i < n; i++) {
			size_t at = (start + i) % n;
			if (queue_peek(ps[at], want->tasks, want->ntasks, w, &e) &&
			    (best == n || e.priority > be.priority)) {
				best = at;
				be = e;
			}
		}
		if (best == n)
			break;
		if (want->max_jobs > 1 && !claim_fits(c, be.id, want->worker, &bytes, *ngot))
			break;
		Job *j = NULL;
		int rv = queue_take(c, b, ps[best], be, want->worker, &j);
		if (rv == WN_ENOTFOUND) {
			k--; /* a stale entry was dropped: look again */
			continue;
		}
		if (rv != WN_OK)
			return rv;
		got[(*ngot)++] = j;
	}
	return WN_OK;
}

/* ------------------------------------------------------------ parked fetches */

static char **strv_dup(char **v, size_t n)
{
	char **d = wn_xcalloc(n + 1, sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i] = wn_xstrdup(v[i]);
	return d;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void waiter_unlink(wn_engine *e, struct waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		e->wait_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		e->wait_tail = w->prev;
	w->prev = w->next = NULL;
}

static void waiter_free(struct waiter *w)
{
	free(w->worker);
	strv_free(w->projects, w->nprojects);
	strv_free(w->tasks, w->ntasks);
	free(w);
}

/* waiter_answer detaches w and answers it with the n jobs got (none: its
 * wait is over). */
static void waiter_answer(struct call *c, struct waiter *w, Job **got, size_t n)
{
	waiter_unlink(c->e, w);
	w->answer(c, &w->pk, got, n);
	waiter_free(w);
}

int queue_park(struct call *c, const struct fetch_want *want, uint32_t wait_ms,
               queue_answer_fn answer)
{
	struct waiter *w = wn_xcalloc(1, sizeof(*w));
	call_park(c, &w->pk);
	wn_debug("fetch %llu of worker %s waits up to %u ms", (unsigned long long)c->reqid,
	         want->worker, wait_ms);
	w->worker = wn_xstrdup(want->worker);
	w->nprojects = want->np;
	w->projects = wn_xcalloc(want->np + 1, sizeof(*w->projects));
	for (size_t i = 0; i < want->np; i++)
		w->projects[i] = wn_xstrdup(want->ps[i]->name);
	w->ntasks = want->ntasks;
	w->tasks = strv_dup(want->tasks, want->ntasks);
	w->max_jobs = want->max_jobs;
	w->answer = answer;
	w->deadline = engine_mono(c->e) + wait_ms;
	w->prev = c->e->wait_tail;
	if (c->e->wait_tail != NULL)
		c->e->wait_tail->next = w;
	else
		c->e->wait_head = w;
	c->e->wait_tail = w;
	if (c->e->sweep_at == 0 || w->deadline < c->e->sweep_at)
		pthread_cond_signal(&c->e->sweep_cv);
	return WN_OK;
}

/* waiter_want finds what w asks for now; false if one of its projects is
 * gone (it waits on until its deadline). */
static bool waiter_want(struct call *c, const struct waiter *w, struct fetch_want *want)
{
	want->ps = wn_arena_alloc(c->arena, (w->nprojects + 1) * sizeof(*want->ps));
	want->np = w->nprojects;
	for (size_t i = 0; i < w->nprojects; i++)
		if ((want->ps[i] = wn_map_get_str(c->e->projects, w->projects[i])) == NULL)
			return false;
	want->tasks = w->tasks;
	want->ntasks = w->ntasks;
	want->worker = w->worker;
	want->max_jobs = w->max_jobs;
	return true;
}

void queue_feed(struct call *c)
{
	struct waiter *w = c->e->wait_head;
	while (w != NULL) {
		struct waiter *next = w->next;
		struct fetch_want want;
		Job **got = wn_arena_alloc(c->arena, (w->max_jobs + 1) * sizeof(*got));
		size_t n = 0;
		wn_batch *b = wn_batch_new();
		c->msg = NULL;
		if (waiter_want(c, w, &want) && queue_claim(c, b, &want, got, &n) == WN_OK &&
		    n > 0 && engine_write(c, b) == WN_OK)
			waiter_answer(c, w, got, n);
		wn_batch_free(b);
		w = next;
	}
	c->msg = NULL;
}

int64_t queue_waiters_due(struct call *c, int64_t now, int64_t next)
{
	struct waiter *w = c->e->wait_head;
	while (w != NULL) {
		struct waiter *n = w->next;
		if (w->deadline <= now)
			waiter_answer(c, w, NULL, 0);
		else if (w->deadline < next)
			next = w->deadline;
		w = n;
	}
	return next;
}

void queue_waiters_drop(struct call *c, const uint32_t *closed, size_t n)
{
	for (struct waiter *w = c->e->wait_head; n > 0 && w != NULL;) {
		struct waiter *next = w->next;
		bool gone = false;
		for (size_t i = 0; i < n && !gone; i++)
			gone = w->pk.conn != 0 && w->pk.conn == closed[i];
		if (gone) {
			waiter_unlink(c->e, w);
			call_drop(c, &w->pk);
			waiter_free(w);
		}
		w = next;
	}
}

void queue_waiters_release(struct call *c)
{
	while (c->e->wait_head != NULL)
		waiter_answer(c, c->e->wait_head, NULL, 0);
}

void queue_release_worker(struct call *c, struct wrk *w)
{
	size_t n = wn_map_count(w->jobs), i = 0, pos = 0;
	uint64_t *ids = wn_xmalloc((n + 1) * sizeof(*ids)), id;
	const char *sk;
	void *val;
	while (wn_map_next(w->jobs, &pos, &id, &sk, &val))
		ids[i++] = id;
	for (i = 0; i < n; i++) {
		uint32_t att;
		int64_t exp;
		if (wn_leases_get(c->e->leases, ids[i], &att, &exp) == WN_OK) {
			wn_leases_remove(c->e->leases, ids[i]);
			queue_expire(c, ids[i], att);
		}
	}
	free(ids);
}
