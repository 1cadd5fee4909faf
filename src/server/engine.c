/* engine: state, start-up load, request dispatch, request-id dedupe, the
 * lease and parked-fetch sweeper, and the queue core shared by the methods. */
#include "engine_int.h"

#include "dedupe.h"
#include "envelope.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Request ids of Submit/SubmitBatch are also kept on disk for this long. */
#define ENGINE_REQ_KEEP_MS   (24LL * 3600 * 1000)
#define ENGINE_DEDUPE_AGE_MS (10LL * 60 * 1000)
#define ENGINE_DEDUPE_BYTES  (64u << 20)

enum { M_MUTATES = 1, M_PERSIST_ID = 2 };

struct method {
	const char *path;
	const ProtobufCMessageDescriptor *in, *out;
	wn_method_fn fn;
	int flags;
};

/* The method table: one row per RPC, matched against the service
 * descriptors protoc-c generates when the engine starts. */
static const struct {
	const ProtobufCServiceDescriptor *svc;
	const char *name;
	wn_method_fn fn;
	int flags;
} method_rows[] = {
    {&whatsnext__v1__project_service__descriptor, "Create", svc_project_create, M_MUTATES},
    {&whatsnext__v1__project_service__descriptor, "Get", svc_project_get, 0},
    {&whatsnext__v1__project_service__descriptor, "List", svc_project_list, 0},
    {&whatsnext__v1__project_service__descriptor, "Update", svc_project_update, M_MUTATES},
    {&whatsnext__v1__project_service__descriptor, "Delete", svc_project_delete, M_MUTATES},
    {&whatsnext__v1__task_service__descriptor, "Create", svc_task_create, M_MUTATES},
    {&whatsnext__v1__task_service__descriptor, "Get", svc_task_get, 0},
    {&whatsnext__v1__task_service__descriptor, "List", svc_task_list, 0},
    {&whatsnext__v1__task_service__descriptor, "Update", svc_task_update, M_MUTATES},
    {&whatsnext__v1__task_service__descriptor, "Delete", svc_task_delete, M_MUTATES},
    {&whatsnext__v1__job_service__descriptor, "Submit", svc_job_submit, M_MUTATES | M_PERSIST_ID},
    {&whatsnext__v1__job_service__descriptor, "SubmitBatch", svc_job_submit_batch,
     M_MUTATES | M_PERSIST_ID},
    {&whatsnext__v1__job_service__descriptor, "Get", svc_job_get, 0},
    {&whatsnext__v1__job_service__descriptor, "List", svc_job_list, 0},
    {&whatsnext__v1__job_service__descriptor, "Cancel", svc_job_cancel, M_MUTATES},
    {&whatsnext__v1__job_service__descriptor, "Retry", svc_job_retry, M_MUTATES},
    {&whatsnext__v1__job_service__descriptor, "Remove", svc_job_remove, M_MUTATES},
    {&whatsnext__v1__job_service__descriptor, "SetPriority", svc_job_set_priority, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "Fetch", svc_queue_fetch, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "Heartbeat", svc_queue_heartbeat, 0},
    {&whatsnext__v1__queue_service__descriptor, "Complete", svc_queue_complete, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "Release", svc_queue_release, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "Stats", svc_queue_stats, 0},
    {&whatsnext__v1__queue_service__descriptor, "Clear", svc_queue_clear, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "Pop", svc_queue_pop, M_MUTATES},
    {&whatsnext__v1__queue_service__descriptor, "List", svc_queue_list, 0},
};

static struct method methods[WN_ARRAY_LEN(method_rows)];
static wn_map *method_map;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void engine_methods_init(void)
{
	method_map = wn_map_new_str();
	for (size_t i = 0; i < WN_ARRAY_LEN(method_rows); i++) {
		const ProtobufCServiceDescriptor *svc = method_rows[i].svc;
		const ProtobufCMethodDescriptor *md = NULL;
		for (unsigned k = 0; k < svc->n_methods; k++)
			if (strcmp(svc->methods[k].name, method_rows[i].name) == 0)
				md = &svc->methods[k];
		if (md == NULL) {
			fprintf(stderr, "method table names %s/%s, which the protocol lacks\n",
			        svc->name, method_rows[i].name);
			abort();
		}
		methods[i].path = wn_xasprintf("/%s/%s", svc->name, md->name);
		methods[i].in = md->input;
		methods[i].out = md->output;
		methods[i].fn = method_rows[i].fn;
		methods[i].flags = method_rows[i].flags;
		wn_map_put_str(method_map, methods[i].path, &methods[i]);
	}
}

/* ------------------------------------------------------------------ helpers */

int call_fail(struct call *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->msg = wn_arena_strdup(c->arena, buf);
	return err;
}

static int64_t engine_real_clock(void *arg)
{
	(void)arg;
	return wn_now_ms();
}

int64_t engine_now(wn_engine *e)
{
	return e->cfg.clock(e->cfg.clock_arg);
}

int engine_write(struct call *c, wn_batch *b)
{
	uint64_t seq = 0;
	int rv = wn_store_write(c->e->store, b, &seq);
	if (rv != WN_OK)
		return call_fail(c, WN_EUNAVAIL, "cannot store the change: %s",
		                 wn_store_failed(c->e->store) ? wn_store_failed(c->e->store)
		                                              : wn_strerror(rv));
	if (seq > c->seq)
		c->seq = seq;
	return WN_OK;
}

size_t key_project(char *buf, const char *name)
{
	return (size_t)snprintf(buf, WN_KEY_MAX, "p/%s", name);
}

size_t key_task(char *buf, const char *project, const char *name)
{
	return (size_t)snprintf(buf, WN_KEY_MAX, "t/%s/%s", project, name);
}

size_t key_task_prefix(char *buf, const char *project)
{
	return (size_t)snprintf(buf, WN_KEY_MAX, "t/%s/", project);
}

size_t key_job(char *buf, uint64_t id)
{
	buf[0] = 'j';
	buf[1] = '/';
	for (int i = 0; i < 8; i++)
		buf[2 + i] = (char)(id >> (56 - 8 * i));
	return 10;
}

uint64_t key_job_id(const char *key)
{
	uint64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | (uint8_t)key[2 + i];
	return id;
}

static size_t key_req(char *buf, uint64_t id)
{
	key_job(buf, id);
	buf[0] = 'i';
	return 10;
}

void record_put(wn_batch *b, const char *key, size_t klen, const ProtobufCMessage *msg)
{
	uint8_t small[1024];
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = n <= sizeof(small) ? small : wn_xmalloc(n);
	protobuf_c_message_pack(msg, buf);
	wn_batch_put(b, key, klen, buf, n);
	if (buf != small)
		free(buf);
}

int job_load(struct call *c, uint64_t id, Job **out)
{
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, id);
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(c->e->store, key, kl, &val, &len);
	if (rv == WN_ENOTFOUND)
		return call_fail(c, WN_ENOTFOUND, "job %llu not found", (unsigned long long)id);
	if (rv != WN_OK)
		return call_fail(c, rv, "cannot read job %llu", (unsigned long long)id);
	Job *j = whatsnext__v1__job__unpack(c->pa, len, (uint8_t *)val);
	free(val);
	if (j == NULL)
		return call_fail(c, WN_EINTERNAL, "job %llu: stored record is corrupt",
		                 (unsigned long long)id);
	*out = j;
	return WN_OK;
}

static const char *const status_names[WN_NSTATUS] = {
    "UNSPECIFIED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "BLOCKED", "CANCELLED",
};

const char *job_status_name(int status)
{
	return status >= 0 && status < WN_NSTATUS ? status_names[status] : "UNKNOWN";
}

void job_count_move(struct project *p, int from, int to)
{
	if (from > 0 && from < WN_NSTATUS && p->counts[from] > 0)
		p->counts[from]--;
	if (to > 0 && to < WN_NSTATUS)
		p->counts[to]++;
}

/* ----------------------------------------------------------- projects, tasks */

struct project *engine_project(struct call *c, const char *name, int *err)
{
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
		                 name ? name : "", why);
		return NULL;
	}
	struct project *p = wn_map_get_str(c->e->projects, name);
	if (p == NULL)
		*err = call_fail(c, WN_ENOTFOUND, "project \"%s\" not found", name ? name : "");
	return p;
}

struct taskq *engine_taskq(struct call *c, struct project *p, const char *name, int *err)
{
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s", name ? name : "",
		                 why);
		return NULL;
	}
	struct taskq *tq = wn_map_get_str(p->tasks, name);
	if (tq == NULL)
		*err = call_fail(c, WN_ENOTFOUND, "task \"%s\" not found in project \"%s\"",
		                 name ? name : "", p->name);
	return tq;
}

struct project *engine_project_new(wn_engine *e, const char *name, bool archived)
{
	struct project *p = wn_xcalloc(1, sizeof(*p));
	p->name = wn_xstrdup(name);
	p->archived = archived;
	p->tasks = wn_map_new_str();
	wn_map_put_str(e->projects, name, p);
	return p;
}

struct taskq *engine_taskq_new(struct project *p, const Task *t)
{
	struct taskq *tq = wn_xcalloc(1, sizeof(*tq));
	tq->name = wn_xstrdup(t->name);
	tq->max_attempts = t->max_attempts;
	tq->retries = t->retries;
	tq->ready = wn_index_new();
	tq->proj = p;
	wn_map_put_str(p->tasks, t->name, tq);
	p->taskv = wn_xrealloc(p->taskv, (p->ntask + 1) * sizeof(*p->taskv));
	p->taskv[p->ntask++] = tq;
	return tq;
}

static void taskq_free(struct taskq *tq)
{
	wn_index_free(tq->ready);
	free(tq->name);
	free(tq);
}

void engine_taskq_drop(struct project *p, struct taskq *tq)
{
	wn_map_del_str(p->tasks, tq->name);
	for (size_t i = 0; i < p->ntask; i++) {
		if (p->taskv[i] == tq) {
			p->taskv[i] = p->taskv[--p->ntask];
			break;
		}
	}
	taskq_free(tq);
}

static void waiter_unlink(struct waiter *w)
{
	struct project *p = w->proj;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->wait_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		p->wait_tail = w->prev;
	w->prev = w->next = NULL;
}

static void waiter_free(struct waiter *w)
{
	for (size_t i = 0; i < w->ntasks; i++)
		free(w->tasks[i]);
	free(w->tasks);
	free(w->worker);
	free(w);
}

/* engine_pack_response builds a Response envelope around body (may be NULL). */
static uint8_t *engine_pack_response(uint64_t id, int code, const char *message,
                                     const ProtobufCMessage *body, size_t *len)
{
	Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
	resp.id = id;
	resp.code = (Whatsnext__V1__Code)code;
	resp.message = (char *)(message ? message : "");
	uint8_t *bbuf = NULL;
	if (body != NULL) {
		size_t bl = 0;
		bbuf = wn_message_pack(body, &bl);
		resp.body.data = bbuf;
		resp.body.len = bl;
	}
	uint8_t *out = wn_message_pack(&resp.base, len);
	free(bbuf);
	return out;
}

/* waiter_answer detaches w and queues its reply (job may be NULL) on the call. */
static void waiter_answer(struct call *c, struct waiter *w, int code, const char *msg,
                          const Job *job)
{
	waiter_unlink(w);
	Whatsnext__V1__FetchResponse fr = WHATSNEXT__V1__FETCH_RESPONSE__INIT;
	fr.job = (Job *)job;
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = w->slot;
	d->buf = engine_pack_response(w->reqid, code, msg, code == 0 ? &fr.base : NULL, &d->len);
	d->next = c->deliveries;
	c->deliveries = d;
	dedupe_finish(c->e->dd, w->reqid, d->buf, d->len);
	waiter_free(w);
}

void engine_project_drop(struct call *c, struct project *p)
{
	while (p->wait_head != NULL)
		waiter_answer(c, p->wait_head, WHATSNEXT__V1__CODE__NOT_FOUND,
		              "project was deleted", NULL);
	while (p->ntask > 0)
		engine_taskq_drop(p, p->taskv[p->ntask - 1]);
	wn_map_del_str(c->e->projects, p->name);
	wn_map_free(p->tasks);
	free(p->taskv);
	free(p->name);
	free(p);
}

/* ------------------------------------------------------------------ queue core */

void job_enqueue(struct call *c, struct project *p, const Job *j)
{
	struct taskq *tq = wn_map_get_str(p->tasks, j->task);
	if (tq == NULL) {
		wn_error("job %llu names unknown task %s/%s", (unsigned long long)j->id, p->name,
		         j->task);
		return;
	}
	wn_index_insert(tq->ready, j->priority, j->id);
	(void)c;
}

void job_dequeue(struct project *p, const Job *j)
{
	struct taskq *tq = wn_map_get_str(p->tasks, j->task);
	if (tq != NULL)
		wn_index_remove(tq->ready, j->priority, j->id);
}

void qwalk_init(struct call *c, struct project *p, struct qwalk *w)
{
	w->n = p->ntask;
	w->it = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->it));
	w->cur = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->cur));
	w->have = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->have));
	for (size_t i = 0; i < w->n; i++) {
		wn_index_iter_init(p->taskv[i]->ready, &w->it[i]);
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

int queue_claim(struct call *c, struct project *p, const char *worker, char **tasks, size_t ntasks,
                Job **out)
{
	if (p->archived)
		return WN_ENOTFOUND;
	for (;;) {
		struct taskq *best = NULL;
		wn_index_entry be, e;
		for (size_t i = 0; i < p->ntask; i++) {
			struct taskq *tq = p->taskv[i];
			if (!task_allowed(tq->name, tasks, ntasks) ||
			    !wn_index_first(tq->ready, &e))
				continue;
			if (best == NULL || wn_index_before(&e, &be)) {
				best = tq;
				be = e;
			}
		}
		if (best == NULL)
			return WN_ENOTFOUND;
		wn_index_remove(best->ready, be.priority, be.id);
		Job *j = NULL;
		int rv = job_load(c, be.id, &j);
		if (rv != WN_OK || j->status != WHATSNEXT__V1__JOB_STATUS__JOB_PENDING) {
			wn_error("ready index held job %llu, which is not pending; dropped",
			         (unsigned long long)be.id);
			c->msg = NULL;
			continue;
		}
		int64_t now = engine_now(c->e);
		j->status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
		j->attempt++;
		j->worker = wn_arena_strdup(c->arena, worker);
		j->started_ms = now;
		j->finished_ms = 0;
		j->lease_expires_ms = now + c->e->cfg.lease_ms;
		char key[WN_KEY_MAX];
		size_t kl = key_job(key, j->id);
		wn_batch *b = wn_batch_new();
		record_put(b, key, kl, &j->base);
		rv = engine_write(c, b);
		wn_batch_free(b);
		if (rv != WN_OK) {
			wn_index_insert(best->ready, be.priority, be.id);
			return rv;
		}
		job_count_move(p, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING,
		               WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
		wn_leases_put(c->e->leases, j->id, j->attempt, j->lease_expires_ms);
		if (j->lease_expires_ms < c->e->sweep_at)
			pthread_cond_signal(&c->e->sweep_cv);
		*out = j;
		return WN_OK;
	}
}

void queue_feed(struct call *c, struct project *p)
{
	struct waiter *w = p->wait_head;
	while (w != NULL) {
		struct waiter *next = w->next;
		Job *j = NULL;
		if (queue_claim(c, p, w->worker, w->tasks, w->ntasks, &j) == WN_OK)
			waiter_answer(c, w, 0, NULL, j);
		else if (p->archived)
			break;
		w = next;
	}
}

void job_fill_live(struct call *c, Job *j, bool position)
{
	if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING) {
		uint32_t att;
		int64_t exp;
		if (wn_leases_get(c->e->leases, j->id, &att, &exp) == WN_OK && att == j->attempt)
			j->lease_expires_ms = exp;
		return;
	}
	if (j->status != WHATSNEXT__V1__JOB_STATUS__JOB_PENDING)
		return;
	struct project *p = wn_map_get_str(c->e->projects, j->project);
	if (p == NULL)
		return;
	if (p->archived) {
		j->waiting = wn_arena_printf(c->arena, "project %s is archived", p->name);
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
	void *cv = wn_map_del_u64(e->cancelled, id);
	Job *j = NULL;
	if (job_load(c, id, &j) != WN_OK || j->status != WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING ||
	    j->attempt != attempt || cv != NULL)
		return;
	struct project *p = wn_map_get_str(e->projects, j->project);
	struct taskq *tq = p ? wn_map_get_str(p->tasks, j->task) : NULL;
	uint32_t max = tq && tq->max_attempts ? tq->max_attempts : WN_DEFAULT_MAX_ATTEMPTS;
	j->lost++;
	int to;
	if (j->lost >= max) {
		to = WHATSNEXT__V1__JOB_STATUS__JOB_FAILED;
		j->reason =
		    wn_arena_printf(c->arena,
		                    "lease expired %u time(s) (max_attempts %u); last held by "
		                    "worker %s, attempt %u",
		                    j->lost, max, j->worker, j->attempt);
		j->finished_ms = engine_now(e);
	} else {
		to = WHATSNEXT__V1__JOB_STATUS__JOB_PENDING;
		j->reason = wn_arena_printf(
		    c->arena, "lease of attempt %u expired (worker %s stopped heartbeating)",
		    j->attempt, j->worker);
	}
	j->status = (Whatsnext__V1__JobStatus)to;
	j->lease_expires_ms = 0;
	char key[WN_KEY_MAX];
	size_t kl = key_job(key, id);
	wn_batch *b = wn_batch_new();
	record_put(b, key, kl, &j->base);
	int rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return;
	wn_info("job %llu: %s", (unsigned long long)id, j->reason);
	if (p == NULL)
		return;
	job_count_move(p, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING, to);
	if (to == WHATSNEXT__V1__JOB_STATUS__JOB_PENDING) {
		job_enqueue(c, p, j);
		queue_feed(c, p);
	}
}

/* ------------------------------------------------------------------ start-up */

static int engine_load(wn_engine *e, char **errmsg)
{
	wn_arena *a = wn_arena_new();
	ProtobufCAllocator *pa = wn_arena_allocator(a);
	const char *k, *v;
	size_t kl, vl;
	int rv = WN_OK;
	uint64_t njobs = 0;

	wn_store_iter *it = wn_store_iter_new(e->store, "p/", 2, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		Project *p = whatsnext__v1__project__unpack(NULL, vl, (const uint8_t *)v);
		if (p == NULL) {
			*errmsg = wn_xasprintf("corrupt project record %.*s", (int)kl, k);
			rv = WN_EIO;
			break;
		}
		engine_project_new(e, p->name,
		                   p->status == WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED);
		whatsnext__v1__project__free_unpacked(p, NULL);
	}
	wn_store_iter_free(it);

	it = wn_store_iter_new(e->store, "t/", 2, NULL, 0);
	while (rv == WN_OK && wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		Task *t = whatsnext__v1__task__unpack(NULL, vl, (const uint8_t *)v);
		struct project *p = t ? wn_map_get_str(e->projects, t->project) : NULL;
		if (p == NULL) {
			*errmsg = wn_xasprintf("corrupt or orphaned task record %.*s", (int)kl, k);
			rv = WN_EIO;
		} else {
			engine_taskq_new(p, t);
		}
		if (t != NULL)
			whatsnext__v1__task__free_unpacked(t, NULL);
	}
	wn_store_iter_free(it);

	int64_t now = e->cfg.clock(e->cfg.clock_arg);
	it = wn_store_iter_new(e->store, "j/", 2, NULL, 0);
	while (rv == WN_OK && wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		Job *j = whatsnext__v1__job__unpack(NULL, vl, (const uint8_t *)v);
		struct project *p = j ? wn_map_get_str(e->projects, j->project) : NULL;
		if (p == NULL) {
			*errmsg = wn_xasprintf("corrupt or orphaned job record %llu",
			                       (unsigned long long)key_job_id(k));
			rv = WN_EIO;
		} else {
			njobs++;
			job_count_move(p, 0, j->status);
			if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_PENDING) {
				struct taskq *tq = wn_map_get_str(p->tasks, j->task);
				if (tq != NULL)
					wn_index_insert(tq->ready, j->priority, j->id);
			} else if (j->status == WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING) {
				/* the holder gets a full lease from now to heartbeat again */
				wn_leases_put(e->leases, j->id, j->attempt, now + e->cfg.lease_ms);
			}
			if (j->id >= e->next_id)
				e->next_id = j->id + 1;
		}
		if (j != NULL)
			whatsnext__v1__job__free_unpacked(j, NULL);
	}
	wn_store_iter_free(it);

	char *val = NULL;
	size_t len = 0;
	if (rv == WN_OK && wn_store_get(e->store, "m/next_id", 9, &val, &len) == WN_OK) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), val);
		uint64_t n = strtoull(buf, NULL, 10);
		if (n > e->next_id)
			e->next_id = n;
		free(val);
	}
	if (e->next_id == 0)
		e->next_id = 1;
	wn_arena_free(a);
	(void)pa;
	if (rv == WN_OK)
		wn_info("loaded %zu project(s), %llu job(s), %zu running",
		        wn_map_count(e->projects), (unsigned long long)njobs,
		        wn_leases_count(e->leases));
	return rv;
}

/* engine_forget_requests deletes on-disk request ids older than the keep time. */
static void engine_forget_requests(wn_engine *e)
{
	int64_t cutoff = engine_now(e) - ENGINE_REQ_KEEP_MS;
	wn_batch *b = wn_batch_new();
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it = wn_store_iter_new(e->store, "i/", 2, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		int64_t at = 0;
		if (vl >= 8)
			memcpy(&at, v, 8);
		if (at < cutoff)
			wn_batch_del(b, k, kl);
	}
	wn_store_iter_free(it);
	uint64_t seq;
	if (wn_batch_count(b) > 0)
		wn_store_write(e->store, b, &seq);
	wn_batch_free(b);
}

static void *engine_sweeper(void *arg);

int wn_engine_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg)
{
	pthread_once(&method_once, engine_methods_init);
	wn_engine *e = wn_xcalloc(1, sizeof(*e));
	e->cfg = *cfg;
	if (e->cfg.clock == NULL)
		e->cfg.clock = engine_real_clock;
	if (e->cfg.lease_ms <= 0)
		e->cfg.lease_ms = 60000;
	if (e->cfg.max_msg == 0)
		e->cfg.max_msg = WN_MSG_MAX;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->sweep_cv, NULL);
	e->projects = wn_map_new_str();
	e->leases = wn_leases_new();
	e->cancelled = wn_map_new_u64();
	e->dd = dedupe_new(ENGINE_DEDUPE_AGE_MS, ENGINE_DEDUPE_BYTES);
	int rv = wn_store_open(cfg->data_dir, cfg->durability, cfg->relaxed_ms, &e->store, errmsg);
	if (rv == WN_OK)
		rv = engine_load(e, errmsg);
	if (rv == WN_OK)
		engine_forget_requests(e);
	if (rv == WN_OK && !cfg->no_sweeper) {
		if (pthread_create(&e->sweeper, NULL, engine_sweeper, e) != 0) {
			*errmsg = wn_xasprintf("cannot start the lease sweeper");
			rv = WN_EINTERNAL;
		} else {
			e->have_sweeper = true;
		}
	}
	if (rv != WN_OK) {
		wn_engine_close(e);
		return rv;
	}
	*out = e;
	return WN_OK;
}

void wn_engine_close(wn_engine *e)
{
	if (e == NULL)
		return;
	wn_engine_release_parked(e);
	if (e->have_sweeper) {
		pthread_mutex_lock(&e->mu);
		e->stopping = true;
		pthread_cond_signal(&e->sweep_cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->sweeper, NULL);
	}
	wn_store_close(e->store);
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->projects, &pos, &uk, &sk, &val)) {
		struct project *p = val;
		while (p->ntask > 0)
			engine_taskq_drop(p, p->taskv[p->ntask - 1]);
		wn_map_free(p->tasks);
		free(p->taskv);
		free(p->name);
		free(p);
	}
	wn_map_free(e->projects);
	wn_leases_free(e->leases);
	wn_map_free(e->cancelled);
	dedupe_free(e->dd);
	pthread_cond_destroy(&e->sweep_cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* ------------------------------------------------------------------ dispatch */

static void call_init(struct call *c, wn_engine *e, void *slot)
{
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->arena = wn_arena_new();
	c->pa = wn_arena_allocator(c->arena);
	c->slot = slot;
}

/* call_wait waits until the call's writes are durable. */
static int call_wait(struct call *c)
{
	return wn_store_wait(c->e->store, c->seq);
}

/* call_finish sends the replies to parked requests the call answered (after
 * call_wait) and frees the call. */
static void call_finish(struct call *c)
{
	struct delivery *d = c->deliveries;
	while (d != NULL) {
		struct delivery *next = d->next;
		if (c->e->cfg.deliver != NULL)
			c->e->cfg.deliver(c->e->cfg.deliver_arg, d->slot, d->buf, d->len);
		else
			free(d->buf);
		free(d);
		d = next;
	}
	c->deliveries = NULL;
	wn_arena_free(c->arena);
}

void wn_engine_oversize(wn_engine *e, size_t len, uint8_t **out, size_t *outlen)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "request of %zu bytes exceeds the limit of %zu bytes", len,
	         e->cfg.max_msg);
	*out = engine_pack_response(0, WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, msg, NULL, outlen);
}

/* engine_lookup_persisted answers a Submit replayed after a restart. */
static bool engine_lookup_persisted(wn_engine *e, uint64_t id, const char *method, uint8_t **out,
                                    size_t *outlen)
{
	char key[WN_KEY_MAX];
	size_t kl = key_req(key, id);
	char *val = NULL;
	size_t len = 0;
	if (wn_store_get(e->store, key, kl, &val, &len) != WN_OK)
		return false;
	/* value: 8-byte time, the method path, NUL, the reply body */
	const char *m = len > 8 ? memchr(val + 8, '\0', len - 8) : NULL;
	if (m == NULL || strcmp(val + 8, method) != 0) {
		free(val);
		return false;
	}
	size_t off = (size_t)(m + 1 - val);
	Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
	resp.id = id;
	resp.message = "";
	resp.body.data = (uint8_t *)val + off;
	resp.body.len = len - off;
	*out = wn_message_pack(&resp.base, outlen);
	free(val);
	return true;
}

void persist_request_id(struct call *c, wn_batch *b, const ProtobufCMessage *out)
{
	char key[WN_KEY_MAX];
	size_t kl = key_req(key, c->reqid);
	size_t bl = protobuf_c_message_get_packed_size(out);
	size_t ml = strlen(c->method) + 1;
	uint8_t *buf = wn_xmalloc(8 + ml + bl);
	int64_t now = engine_now(c->e);
	memcpy(buf, &now, 8);
	memcpy(buf + 8, c->method, ml);
	protobuf_c_message_pack(out, buf + 8 + ml);
	wn_batch_put(b, key, kl, buf, 8 + ml + bl);
	free(buf);
}

void wn_engine_handle(wn_engine *e, const uint8_t *req, size_t len, void *slot, uint8_t **out,
                      size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (len > e->cfg.max_msg) {
		wn_engine_oversize(e, len, out, outlen);
		return;
	}
	Whatsnext__V1__Request *rq = whatsnext__v1__request__unpack(NULL, len, req);
	if (rq == NULL) {
		*out = engine_pack_response(0, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                            "malformed request envelope", NULL, outlen);
		return;
	}
	uint64_t id = rq->id;
	if (rq->base.n_unknown_fields > 0) {
		*out = engine_pack_response(id, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		                            "request envelope has unknown fields", NULL, outlen);
		goto done;
	}
	struct method *m = wn_map_get_str(method_map, rq->method ? rq->method : "");
	if (m == NULL) {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method \"%.128s\"",
		         rq->method ? rq->method : "");
		*out =
		    engine_pack_response(id, WHATSNEXT__V1__CODE__UNIMPLEMENTED, msg, NULL, outlen);
		goto done;
	}
	if (e->cfg.token != NULL && e->cfg.token[0] != '\0' &&
	    (rq->token == NULL || strcmp(rq->token, e->cfg.token) != 0)) {
		*out = engine_pack_response(
		    id, WHATSNEXT__V1__CODE__UNAUTHENTICATED,
		    rq->token && rq->token[0] ? "wrong token" : "this server requires a token",
		    NULL, outlen);
		goto done;
	}
	bool dedupe = (m->flags & M_MUTATES) && id != 0;
	if (dedupe) {
		int d = dedupe_begin(e->dd, id, m->path, engine_now(e), out, outlen);
		if (d == DEDUPE_DONE)
			goto done;
		if (d == DEDUPE_MISMATCH) {
			*out = engine_pack_response(
			    id, WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
			    "request id was already used for another method", NULL, outlen);
			goto done;
		}
		if ((m->flags & M_PERSIST_ID) &&
		    engine_lookup_persisted(e, id, m->path, out, outlen)) {
			dedupe_finish(e->dd, id, *out, *outlen);
			goto done;
		}
	}

	struct call c;
	call_init(&c, e, slot);
	c.reqid = id;
	c.method = m->path;
	int rv;
	ProtobufCMessage *result = NULL;
	ProtobufCMessage *in = protobuf_c_message_unpack(m->in, c.pa, rq->body.len, rq->body.data);
	if (in == NULL) {
		rv = call_fail(&c, WN_EINVAL, "body is not a valid %s", m->in->name);
	} else if (in->n_unknown_fields > 0) {
		rv = call_fail(&c, WN_EINVAL, "body is not a %s (it has unknown fields)",
		               m->in->name);
	} else {
		pthread_mutex_lock(&e->mu);
		const char *failed = wn_store_failed(e->store);
		if (failed != NULL)
			rv = call_fail(&c, WN_EUNAVAIL, "server cannot store changes: %s", failed);
		else
			rv = m->fn(&c, in, &result);
		pthread_mutex_unlock(&e->mu);
	}
	if (rv == WN_OK && c.parked) {
		/* the reply comes later through deliver; the dedupe entry stays open */
		call_wait(&c);
		call_finish(&c);
		goto done;
	}
	if (call_wait(&c) != WN_OK && rv == WN_OK) {
		rv = WN_EUNAVAIL;
		c.msg = "the change could not be made durable";
	}
	int code = wn_err_to_code(rv);
	if (rv == WN_EPROTO)
		code = WHATSNEXT__V1__CODE__INVALID_ARGUMENT;
	*out = engine_pack_response(id, code,
	                            rv == WN_OK ? NULL
	                            : c.msg     ? c.msg
	                                        : wn_strerror(rv),
	                            rv == WN_OK ? result : NULL, outlen);
	if (dedupe) {
		if (rv == WN_OK || c.seq != 0)
			dedupe_finish(e->dd, id, *out, *outlen);
		else
			dedupe_abort(e->dd, id);
	}
	call_finish(&c);
done:
	whatsnext__v1__request__free_unpacked(rq, NULL);
}

/* ------------------------------------------------------------------ sweeper */

int64_t wn_engine_tick(wn_engine *e)
{
	struct call c;
	call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	int64_t now = engine_now(e);
	uint64_t job;
	uint32_t attempt;
	while (wn_leases_pop_expired(e->leases, now, &job, &attempt))
		queue_expire(&c, job, attempt);
	int64_t next = wn_leases_next_due(e->leases);
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->projects, &pos, &uk, &sk, &val)) {
		struct project *p = val;
		struct waiter *w = p->wait_head;
		while (w != NULL) {
			struct waiter *n = w->next;
			if (w->deadline <= now)
				waiter_answer(&c, w, 0, NULL, NULL);
			else if (w->deadline < next)
				next = w->deadline;
			w = n;
		}
	}
	pthread_mutex_unlock(&e->mu);
	call_wait(&c);
	call_finish(&c);
	return next;
}

static void *engine_sweeper(void *arg)
{
	wn_engine *e = arg;
	int64_t forget_at = engine_now(e) + 3600 * 1000;
	for (;;) {
		int64_t next = wn_engine_tick(e);
		int64_t now = engine_now(e);
		if (now >= forget_at) {
			engine_forget_requests(e);
			forget_at = now + 3600 * 1000;
		}
		if (next > forget_at)
			next = forget_at;
		pthread_mutex_lock(&e->mu);
		if (e->stopping) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		e->sweep_at = next;
		if (next > now) {
			/* a deadline set while the lock was dropped is caught within a second */
			int64_t wait = next - now < 1000 ? next - now : 1000;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&e->sweep_cv, &e->mu, &ts);
		}
		e->sweep_at = 0;
		bool stop = e->stopping;
		pthread_mutex_unlock(&e->mu);
		if (stop)
			break;
	}
	return NULL;
}

void wn_engine_release_parked(wn_engine *e)
{
	struct call c;
	call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	e->no_park = true;
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->projects, &pos, &uk, &sk, &val)) {
		struct project *p = val;
		while (p->wait_head != NULL)
			waiter_answer(&c, p->wait_head, 0, NULL, NULL);
	}
	pthread_mutex_unlock(&e->mu);
	call_wait(&c);
	call_finish(&c);
}

int queue_park(struct call *c, struct project *p, const char *worker, char **tasks, size_t ntasks,
               uint32_t wait_ms)
{
	struct waiter *w = wn_xcalloc(1, sizeof(*w));
	w->slot = c->slot;
	w->reqid = c->reqid;
	w->worker = wn_xstrdup(worker);
	if (ntasks > 0) {
		w->tasks = wn_xcalloc(ntasks, sizeof(*w->tasks));
		for (size_t i = 0; i < ntasks; i++)
			w->tasks[i] = wn_xstrdup(tasks[i]);
		w->ntasks = ntasks;
	}
	w->deadline = engine_now(c->e) + wait_ms;
	w->proj = p;
	w->prev = p->wait_tail;
	if (p->wait_tail != NULL)
		p->wait_tail->next = w;
	else
		p->wait_head = w;
	p->wait_tail = w;
	c->parked = true;
	if (c->e->sweep_at == 0 || w->deadline < c->e->sweep_at)
		pthread_cond_signal(&c->e->sweep_cv);
	return WN_OK;
}
