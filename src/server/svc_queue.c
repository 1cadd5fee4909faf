/* QueueService: the worker's side (fetch, heartbeat, complete, release) and
 * the queue operations (stats, clear, pop, list). */
#include "engine_int.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static int worker_name_ok(struct call *c, const char *worker)
{
	const char *why = wn_name_check(worker);
	if (why != NULL)
		return call_fail(c, WN_EINVAL, "invalid worker name \"%.140s\": %s", worker, why);
	return WN_OK;
}

int svc_queue_fetch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__FetchRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	if ((rv = worker_name_ok(c, rq->worker)) != WN_OK)
		return rv;
	if (rq->wait_ms > WN_WAIT_MAX_MS)
		return call_fail(c, WN_EINVAL, "wait_ms %u is over the limit of %d", rq->wait_ms,
		                 WN_WAIT_MAX_MS);
	for (size_t i = 0; i < rq->n_tasks; i++)
		if (engine_taskq(c, p, rq->tasks[i], &rv) == NULL)
			return rv;
	Whatsnext__V1__FetchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__fetch_response__init(r);
	Job *j = NULL;
	rv = queue_claim(c, p, rq->worker, rq->tasks, rq->n_tasks, &j);
	if (rv == WN_OK) {
		r->job = j;
	} else if (rv != WN_ENOTFOUND) {
		return rv;
	} else if (rq->wait_ms > 0 && c->slot != NULL && !c->e->no_park) {
		return queue_park(c, p, rq->worker, rq->tasks, rq->n_tasks, rq->wait_ms);
	}
	*out = &r->base;
	return WN_OK;
}

int svc_queue_heartbeat(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__HeartbeatRequest *rq = (const void *)in;
	int rv = worker_name_ok(c, rq->worker);
	if (rv != WN_OK)
		return rv;
	Whatsnext__V1__HeartbeatResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__heartbeat_response__init(r);
	r->cancelled = wn_arena_alloc(c->arena, (rq->n_leases + 1) * sizeof(uint64_t));
	r->lost = wn_arena_alloc(c->arena, (rq->n_leases + 1) * sizeof(uint64_t));
	int64_t exp = engine_now(c->e) + c->e->cfg.lease_ms;
	for (size_t i = 0; i < rq->n_leases; i++) {
		const Whatsnext__V1__Lease *l = rq->leases[i];
		uintptr_t cv = (uintptr_t)wn_map_get_u64(c->e->cancelled, l->job_id);
		if (cv != 0 && cv == l->attempt + 1ULL)
			r->cancelled[r->n_cancelled++] = l->job_id;
		else if (wn_leases_extend(c->e->leases, l->job_id, l->attempt, exp) != WN_OK)
			r->lost[r->n_lost++] = l->job_id;
	}
	r->lease_expires_ms = exp;
	*out = &r->base;
	return WN_OK;
}

/* lease_check loads the job of a lease and verifies the lease is current. */
static int lease_check(struct call *c, uint64_t id, uint32_t attempt, Job **out, bool *cancelled)
{
	Job *j = NULL;
	int rv = job_load(c, id, &j);
	if (rv != WN_OK)
		return rv;
	uintptr_t cv = (uintptr_t)wn_map_get_u64(c->e->cancelled, id);
	*cancelled = cv != 0 && cv == attempt + 1ULL && j->status == CANCELLED;
	if (*cancelled) {
		*out = j;
		return WN_OK;
	}
	uint32_t held;
	int64_t exp;
	if (j->status != RUNNING || j->attempt != attempt ||
	    wn_leases_get(c->e->leases, id, &held, &exp) != WN_OK || held != attempt)
		return call_fail(
		    c, WN_ESTATE,
		    "job %llu attempt %u no longer holds a lease (the job is %s, attempt "
		    "%u)",
		    (unsigned long long)id, attempt, job_status_name(j->status), j->attempt);
	*out = j;
	return WN_OK;
}

static const char *tail_of(const char *s)
{
	size_t n = strlen(s);
	if (n <= WN_TAIL_MAX)
		return s;
	s += n - WN_TAIL_MAX;
	while ((*s & 0xC0) == 0x80) /* do not start inside a UTF-8 sequence */
		s++;
	return s;
}

static int job_save(struct call *c, Job *j)
{
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, j->id);
	wn_batch *b = wn_batch_new();
	record_put(b, key, kl, &j->base);
	int rv = engine_write(c, b);
	wn_batch_free(b);
	return rv;
}

int svc_queue_complete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CompleteRequest *rq = (const void *)in;
	if (strlen(rq->reason) > WN_REASON_MAX)
		return call_fail(c, WN_EINVAL, "reason is longer than %d bytes", WN_REASON_MAX);
	if (strlen(rq->external_id) > WN_NAME_MAX)
		return call_fail(c, WN_EINVAL, "external_id is longer than %d bytes", WN_NAME_MAX);
	Job *j = NULL;
	bool was_cancelled = false;
	int rv = lease_check(c, rq->job_id, rq->attempt, &j, &was_cancelled);
	if (rv != WN_OK)
		return rv;
	struct project *p = wn_map_get_str(c->e->projects, j->project);
	struct taskq *tq = p ? wn_map_get_str(p->tasks, j->task) : NULL;
	j->exit_code = rq->exit_code;
	j->output_tail = (char *)tail_of(rq->output_tail);
	j->duration_ms = rq->duration_ms;
	if (rq->external_id[0])
		j->external_id = rq->external_id;
	j->finished_ms = engine_now(c->e);
	j->lease_expires_ms = 0;
	int to;
	if (was_cancelled) {
		to = CANCELLED;
	} else if (rq->success) {
		to = COMPLETED;
		j->reason = "";
	} else if (rq->cancelled) {
		to = CANCELLED;
		j->reason = rq->reason[0] ? rq->reason : "cancelled by the worker";
	} else {
		const char *why = rq->reason[0]
		                      ? rq->reason
		                      : wn_arena_printf(c->arena, "exit code %d", rq->exit_code);
		uint32_t retries = tq ? tq->retries : 0;
		j->failures++;
		if (j->failures <= retries) {
			to = PENDING;
			j->finished_ms = 0;
			j->reason =
			    wn_arena_printf(c->arena, "attempt %u failed: %s; retry %u of %u",
			                    j->attempt, why, j->failures, retries);
		} else {
			to = FAILED;
			j->reason = (char *)why;
		}
	}
	j->status = (Whatsnext__V1__JobStatus)to;
	if ((rv = job_save(c, j)) != WN_OK)
		return rv;
	wn_leases_remove(c->e->leases, j->id);
	wn_map_del_u64(c->e->cancelled, j->id);
	if (p != NULL && !was_cancelled) {
		job_count_move(p, RUNNING, to);
		if (to == PENDING) {
			job_enqueue(c, p, j);
			queue_feed(c, p);
		}
	}
	Whatsnext__V1__CompleteResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__complete_response__init(r);
	r->job = j;
	*out = &r->base;
	return WN_OK;
}

int svc_queue_release(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ReleaseRequest *rq = (const void *)in;
	Job *j = NULL;
	bool was_cancelled = false;
	int rv = lease_check(c, rq->job_id, rq->attempt, &j, &was_cancelled);
	if (rv != WN_OK)
		return rv;
	if (was_cancelled) {
		wn_leases_remove(c->e->leases, j->id);
		wn_map_del_u64(c->e->cancelled, j->id);
		*out = &j->base;
		return WN_OK;
	}
	struct project *p = wn_map_get_str(c->e->projects, j->project);
	j->status = PENDING;
	j->lease_expires_ms = 0;
	j->reason = wn_arena_printf(c->arena, "attempt %u handed back by worker %s%s%.200s",
	                            j->attempt, j->worker, rq->reason[0] ? ": " : "", rq->reason);
	if ((rv = job_save(c, j)) != WN_OK)
		return rv;
	wn_leases_remove(c->e->leases, j->id);
	if (p != NULL) {
		job_count_move(p, RUNNING, PENDING);
		job_enqueue(c, p, j);
		queue_feed(c, p);
	}
	*out = &j->base;
	return WN_OK;
}

static Whatsnext__V1__ProjectStats *stats_of(struct call *c, const struct project *p)
{
	Whatsnext__V1__ProjectStats *s = wn_arena_alloc(c->arena, sizeof(*s));
	whatsnext__v1__project_stats__init(s);
	s->project = p->name;
	s->pending = p->counts[PENDING];
	s->running = p->counts[RUNNING];
	s->completed = p->counts[COMPLETED];
	s->failed = p->counts[FAILED];
	s->blocked = p->counts[WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED];
	s->cancelled = p->counts[CANCELLED];
	return s;
}

static int stats_cmp(const void *a, const void *b)
{
	const Whatsnext__V1__ProjectStats *x = *(const Whatsnext__V1__ProjectStats *const *)a;
	const Whatsnext__V1__ProjectStats *y = *(const Whatsnext__V1__ProjectStats *const *)b;
	return strcmp(x->project, y->project);
}

int svc_queue_stats(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__StatsRequest *rq = (const void *)in;
	Whatsnext__V1__StatsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__stats_response__init(r);
	if (rq->project[0] != '\0') {
		int rv = WN_OK;
		struct project *p = engine_project(c, rq->project, &rv);
		if (p == NULL)
			return rv;
		r->projects = wn_arena_alloc(c->arena, sizeof(*r->projects));
		r->projects[r->n_projects++] = stats_of(c, p);
	} else {
		r->projects = wn_arena_alloc(c->arena, (wn_map_count(c->e->projects) + 1) *
		                                           sizeof(*r->projects));
		size_t pos = 0;
		uint64_t uk;
		const char *sk;
		void *val;
		while (wn_map_next(c->e->projects, &pos, &uk, &sk, &val))
			r->projects[r->n_projects++] = stats_of(c, val);
		qsort(r->projects, r->n_projects, sizeof(*r->projects), stats_cmp);
	}
	*out = &r->base;
	return WN_OK;
}

int svc_queue_clear(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ClearRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	struct taskq *only = NULL;
	if (rq->task[0] != '\0' && (only = engine_taskq(c, p, rq->task, &rv)) == NULL)
		return rv;
	Whatsnext__V1__ClearResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__clear_response__init(r);
	/* collect first: the write must succeed before the queues change */
	wn_batch *b = wn_batch_new();
	for (size_t i = 0; i < p->ntask; i++) {
		struct taskq *tq = p->taskv[i];
		if (only != NULL && tq != only)
			continue;
		wn_index_iter it;
		wn_index_entry e;
		wn_index_iter_init(tq->ready, &it);
		while (wn_index_iter_next(&it, &e)) {
			char key[WN_KEY_MAX];
			size_t kl = key_job(key, e.id);
			wn_batch_del(b, key, kl);
			r->removed++;
		}
	}
	rv = r->removed ? engine_write(c, b) : WN_OK;
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	for (size_t i = 0; i < p->ntask; i++) {
		struct taskq *tq = p->taskv[i];
		if (only != NULL && tq != only)
			continue;
		p->counts[PENDING] -= wn_index_count(tq->ready) <= p->counts[PENDING]
		                          ? wn_index_count(tq->ready)
		                          : p->counts[PENDING];
		wn_index_free(tq->ready);
		tq->ready = wn_index_new();
	}
	*out = &r->base;
	return WN_OK;
}

/* queue_at finds the entry at position pos of p's dispatch order. */
static bool queue_at(struct call *c, struct project *p, uint64_t pos, wn_index_entry *e)
{
	struct qwalk w;
	qwalk_init(c, p, &w);
	for (uint64_t i = 0; qwalk_next(&w, e); i++)
		if (i == pos)
			return true;
	return false;
}

int svc_queue_pop(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__PopRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	wn_index_entry e;
	if (!queue_at(c, p, rq->position, &e))
		return call_fail(c, WN_ENOTFOUND,
		                 "project \"%s\" has no pending job at position %llu", p->name,
		                 (unsigned long long)rq->position);
	Job *j = NULL;
	if ((rv = job_load(c, e.id, &j)) != WN_OK)
		return rv;
	struct taskq *tq = wn_map_get_str(p->tasks, j->task);
	if (tq == NULL)
		return call_fail(c, WN_EINTERNAL, "job %llu has no task queue",
		                 (unsigned long long)e.id);
	wn_batch *b = wn_batch_new();
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, e.id);
	wn_batch_del(b, key, kl);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_index_remove(tq->ready, e.priority, e.id);
	job_count_move(p, PENDING, 0);
	j->position = (int64_t)rq->position;
	*out = &j->base;
	return WN_OK;
}

int svc_queue_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__QueueListRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	if (rq->limit < 0)
		return call_fail(c, WN_EINVAL, "limit must not be negative (got %d)", rq->limit);
	if (rq->limit > WN_PAGE_MAX)
		return call_fail(c, WN_EINVAL, "limit %d is over the limit of %d", rq->limit,
		                 WN_PAGE_MAX);
	if (rq->offset < 0)
		return call_fail(c, WN_EINVAL, "offset must not be negative (got %lld)",
		                 (long long)rq->offset);
	size_t limit = rq->limit ? (size_t)rq->limit : WN_PAGE_DEFAULT;
	Whatsnext__V1__QueueListResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__queue_list_response__init(r);
	r->jobs = wn_arena_alloc(c->arena, limit * sizeof(*r->jobs));
	for (size_t i = 0; i < p->ntask; i++)
		r->total += wn_index_count(p->taskv[i]->ready);
	struct qwalk w;
	qwalk_init(c, p, &w);
	wn_index_entry e;
	int64_t pos = 0;
	size_t bytes = 0;
	while (r->n_jobs < limit && bytes <= WN_REPLY_BUDGET && qwalk_next(&w, &e)) {
		if (pos++ < rq->offset)
			continue;
		Job *j = NULL;
		if (job_load(c, e.id, &j) != WN_OK) {
			c->msg = NULL;
			continue;
		}
		j->position = pos - 1;
		bytes += protobuf_c_message_get_packed_size(&j->base);
		j->waiting = p->archived
		                 ? wn_arena_printf(c->arena, "project %s is archived", p->name)
		                 : "waiting for a worker";
		r->jobs[r->n_jobs++] = j;
	}
	*out = &r->base;
	return WN_OK;
}
