/* JobService: submit (one or a batch), get, list, cancel, retry, remove,
 * set priority. */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#define JOB_LIST_SCAN_MAX 100000

/* job_name_check returns NULL if s is a valid job name: like other names
 * (wn_name_check) but '=', ',', ':', '+' and '@' are allowed too, so names
 * can spell out parameters ("lr=0.1,bs=32"). */
static const char *job_name_check(const char *s)
{
	char tmp[WN_NAME_MAX + 2];
	size_t n = strlen(s);
	if (n > WN_NAME_MAX)
		return "name is longer than 128 bytes";
	memcpy(tmp, s, n + 1);
	for (size_t i = 1; i < n; i++)
		if (strchr("=,:+@", tmp[i]) != NULL)
			tmp[i] = '_';
	return wn_name_check(tmp);
}

/* job_from_spec validates spec (as job number n of a request, for messages)
 * and builds a PENDING job with the next id. */
static int job_from_spec(struct call *c, const Whatsnext__V1__JobSpec *s, size_t n, bool many,
                         Job **out, struct project **proj)
{
	char where[32] = "";
	if (many)
		snprintf(where, sizeof(where), "job %zu: ", n + 1);
	if (s == NULL)
		return call_fail(c, WN_EINVAL, "%sjob is missing", where);
	int rv = WN_OK;
	struct project *p = engine_project(c, s->project, &rv);
	if (p == NULL || engine_taskq(c, p, s->task, &rv) == NULL)
		return call_fail(c, rv, "%s%s", where, c->msg);
	const char *why = s->name[0] ? job_name_check(s->name) : NULL;
	if (why != NULL)
		return call_fail(c, WN_EINVAL, "%sinvalid job name \"%.140s\": %s", where, s->name,
		                 why);
	Job *j = wn_arena_alloc(c->arena, sizeof(*j));
	whatsnext__v1__job__init(j);
	j->n_params = s->n_params;
	j->params = wn_arena_alloc(c->arena, (s->n_params + 1) * sizeof(*j->params));
	for (size_t i = 0; i < s->n_params; i++) {
		const char *k = s->params[i]->key;
		const char *bad = wn_name_check(k);
		if (bad != NULL)
			return call_fail(c, WN_EINVAL, "%sinvalid parameter name \"%.140s\": %s",
			                 where, k, bad);
		if (strlen(s->params[i]->value) > WN_PARAM_VALUE_MAX)
			return call_fail(c, WN_EINVAL,
			                 "%sparameter %s: value is longer than %d bytes", where, k,
			                 WN_PARAM_VALUE_MAX);
		for (size_t q = 0; q < i; q++)
			if (strcmp(s->params[q]->key, k) == 0)
				return call_fail(c, WN_EINVAL, "%sparameter %s is given twice",
				                 where, k);
		Whatsnext__V1__Job__ParamsEntry *e = wn_arena_alloc(c->arena, sizeof(*e));
		whatsnext__v1__job__params_entry__init(e);
		e->key = s->params[i]->key;
		e->value = s->params[i]->value;
		j->params[i] = e;
	}
	j->project = p->name;
	j->task = s->task;
	j->priority = s->priority;
	j->status = PENDING;
	*out = j;
	*proj = p;
	return WN_OK;
}

/* job_assign_id gives j the next id and its default name. */
static void job_assign_id(struct call *c, Job *j, int64_t now)
{
	j->id = c->e->next_id++;
	j->created_ms = now;
	if (j->name == NULL || j->name[0] == '\0')
		j->name = wn_arena_printf(c->arena, "%s-%llu", j->task, (unsigned long long)j->id);
}

static void job_put(wn_batch *b, const Job *j)
{
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, j->id);
	record_put(b, key, kl, &j->base);
}

static void put_next_id(struct call *c, wn_batch *b)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)c->e->next_id);
	wn_batch_put(b, "m/next_id", 9, buf, (size_t)n);
}

int svc_job_submit(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SubmitRequest *rq = (const void *)in;
	Job *j = NULL;
	struct project *p = NULL;
	int rv = job_from_spec(c, rq->job, 0, false, &j, &p);
	if (rv != WN_OK)
		return rv;
	j->name = rq->job->name;
	job_assign_id(c, j, engine_now(c->e));
	Whatsnext__V1__SubmitResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__submit_response__init(r);
	r->job = j;
	wn_batch *b = wn_batch_new();
	job_put(b, j);
	put_next_id(c, b);
	if (c->reqid != 0)
		persist_request_id(c, b, &r->base);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	job_count_move(p, 0, PENDING);
	job_enqueue(c, p, j);
	queue_feed(c, p);
	*out = &r->base;
	return WN_OK;
}

int svc_job_submit_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SubmitBatchRequest *rq = (const void *)in;
	if (rq->n_jobs == 0)
		return call_fail(c, WN_EINVAL, "batch holds no jobs");
	if (rq->n_jobs > WN_BATCH_MAX)
		return call_fail(c, WN_EINVAL, "batch of %zu jobs is over the limit of %d",
		                 rq->n_jobs, WN_BATCH_MAX);
	Job **jobs = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*jobs));
	struct project **projs = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*projs));
	for (size_t i = 0; i < rq->n_jobs; i++) {
		int rv = job_from_spec(c, rq->jobs[i], i, true, &jobs[i], &projs[i]);
		if (rv != WN_OK)
			return rv;
		jobs[i]->name = rq->jobs[i]->name;
	}
	Whatsnext__V1__SubmitBatchResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__submit_batch_response__init(r);
	r->n_ids = rq->n_jobs;
	r->ids = wn_arena_alloc(c->arena, rq->n_jobs * sizeof(*r->ids));
	int64_t now = engine_now(c->e);
	uint64_t first = c->e->next_id;
	wn_batch *b = wn_batch_new();
	for (size_t i = 0; i < rq->n_jobs; i++) {
		job_assign_id(c, jobs[i], now);
		r->ids[i] = jobs[i]->id;
		job_put(b, jobs[i]);
	}
	put_next_id(c, b);
	if (c->reqid != 0)
		persist_request_id(c, b, &r->base);
	int rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK) {
		c->e->next_id = first;
		return rv;
	}
	struct project *last = NULL;
	for (size_t i = 0; i < rq->n_jobs; i++) {
		job_count_move(projs[i], 0, PENDING);
		job_enqueue(c, projs[i], jobs[i]);
	}
	for (size_t i = 0; i < rq->n_jobs; i++) {
		if (projs[i] != last)
			queue_feed(c, projs[i]);
		last = projs[i];
	}
	*out = &r->base;
	return WN_OK;
}

int svc_job_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetJobRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	job_fill_live(c, j, true);
	*out = &j->base;
	return WN_OK;
}

int svc_job_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListJobsRequest *rq = (const void *)in;
	if (rq->page_size < 0)
		return call_fail(c, WN_EINVAL, "page_size must not be negative (got %d)",
		                 rq->page_size);
	if (rq->page_size > WN_PAGE_MAX)
		return call_fail(c, WN_EINVAL, "page_size %d is over the limit of %d",
		                 rq->page_size, WN_PAGE_MAX);
	if ((int)rq->status < 0 || (int)rq->status >= WN_NSTATUS)
		return call_fail(c, WN_EINVAL, "unknown job status %d", (int)rq->status);
	int rv = WN_OK;
	if (rq->project[0] != '\0' && engine_project(c, rq->project, &rv) == NULL)
		return rv;
	size_t page = rq->page_size ? (size_t)rq->page_size : WN_PAGE_DEFAULT;
	Whatsnext__V1__ListJobsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_jobs_response__init(r);
	r->jobs = wn_arena_alloc(c->arena, page * sizeof(*r->jobs));
	char start[WN_KEY_MAX];
	size_t sl = key_job(start, rq->after_id + 1);
	if (rq->after_id == UINT64_MAX) {
		*out = &r->base;
		return WN_OK;
	}
	const char *k, *v;
	size_t kl, vl;
	size_t scanned = 0, bytes = 0;
	uint64_t last = 0;
	bool more = false;
	wn_store_iter *it = wn_store_iter_new(c->e->store, "j/", 2, start, sl);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		if (r->n_jobs == page || scanned == JOB_LIST_SCAN_MAX || bytes > WN_REPLY_BUDGET) {
			more = true;
			break;
		}
		scanned++;
		last = key_job_id(k);
		Job *j = whatsnext__v1__job__unpack(c->pa, vl, (const uint8_t *)v);
		if (j == NULL)
			continue;
		if ((rq->project[0] && strcmp(j->project, rq->project) != 0) ||
		    (rq->task[0] && strcmp(j->task, rq->task) != 0) ||
		    (rq->status != 0 && j->status != rq->status))
			continue;
		job_fill_live(c, j, false);
		r->jobs[r->n_jobs++] = j;
		bytes += vl;
	}
	wn_store_iter_free(it);
	r->next_after_id = more ? last : 0;
	*out = &r->base;
	return WN_OK;
}

static int job_save(struct call *c, Job *j)
{
	wn_batch *b = wn_batch_new();
	job_put(b, j);
	int rv = engine_write(c, b);
	wn_batch_free(b);
	return rv;
}

static struct project *job_project(struct call *c, const Job *j)
{
	return wn_map_get_str(c->e->projects, j->project);
}

int svc_job_cancel(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	int from = j->status;
	if (from != PENDING && from != RUNNING && from != BLOCKED)
		return call_fail(c, WN_ESTATE, "job %llu is already %s", (unsigned long long)j->id,
		                 job_status_name(from));
	if (strlen(rq->reason) > WN_REASON_MAX)
		return call_fail(c, WN_EINVAL, "reason is longer than %d bytes", WN_REASON_MAX);
	j->status = CANCELLED;
	j->reason = rq->reason[0] ? rq->reason : "cancelled by user";
	j->finished_ms = engine_now(c->e);
	if ((rv = job_save(c, j)) != WN_OK)
		return rv;
	struct project *p = job_project(c, j);
	if (p != NULL) {
		job_count_move(p, from, CANCELLED);
		if (from == PENDING)
			job_dequeue(p, j);
	}
	if (from == RUNNING)
		wn_map_put_u64(c->e->cancelled, j->id, (void *)(uintptr_t)(j->attempt + 1ULL));
	*out = &j->base;
	return WN_OK;
}

int svc_job_retry(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	int from = j->status;
	if (from != FAILED && from != CANCELLED && from != BLOCKED)
		return call_fail(c, WN_ESTATE,
		                 "job %llu is %s; only failed, cancelled or blocked jobs "
		                 "can be retried",
		                 (unsigned long long)j->id, job_status_name(from));
	struct project *p = job_project(c, j);
	if (p == NULL || wn_map_get_str(p->tasks, j->task) == NULL)
		return call_fail(c, WN_ENOTFOUND, "task \"%s\" of job %llu no longer exists",
		                 j->task, (unsigned long long)j->id);
	j->status = PENDING;
	j->lost = 0;
	j->failures = 0;
	j->exit_code = 0;
	j->reason = "";
	j->finished_ms = 0;
	if ((rv = job_save(c, j)) != WN_OK)
		return rv;
	job_count_move(p, from, PENDING);
	job_enqueue(c, p, j);
	queue_feed(c, p);
	job_fill_live(c, j, false);
	*out = &j->base;
	return WN_OK;
}

int svc_job_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__JobIdRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	if (j->status == RUNNING && !rq->force)
		return call_fail(c, WN_ESTATE, "job %llu is running; cancel it first or force",
		                 (unsigned long long)j->id);
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, j->id);
	wn_batch *b = wn_batch_new();
	wn_batch_del(b, key, kl);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	struct project *p = job_project(c, j);
	if (p != NULL) {
		if (j->status == PENDING)
			job_dequeue(p, j);
		job_count_move(p, j->status, 0);
	}
	wn_leases_remove(c->e->leases, j->id);
	wn_map_del_u64(c->e->cancelled, j->id);
	*out = &j->base;
	return WN_OK;
}

int svc_job_set_priority(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__SetPriorityRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	struct project *p = job_project(c, j);
	int32_t old = j->priority;
	j->priority = rq->priority;
	if ((rv = job_save(c, j)) != WN_OK)
		return rv;
	if (p != NULL && j->status == PENDING && old != rq->priority) {
		Job tmp = *j;
		tmp.priority = old;
		job_dequeue(p, &tmp);
		job_enqueue(c, p, j);
	}
	job_fill_live(c, j, true);
	*out = &j->base;
	return WN_OK;
}
