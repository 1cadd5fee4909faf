/* records: the records layer (records.h): the job record cache, the staging
 * of job records written to batches not applied yet, reads and writes of
 * records. */
#include "records.h"

#include "err.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of the record cache. */
#define JCACHE_MAX_BYTES   (4u << 20)
#define JCACHE_MAX_ENTRIES 16384

/* An entry of the record cache: a packed job record. */
struct jcache_entry {
	struct jcache_entry *prev, *next; /* insertion order, oldest first */
	uint64_t id;
	uint8_t *buf;
	size_t len;
};

/* A job record written by a call (buf NULL: deleted), waiting for its batch. */
struct wn_records_stage {
	struct wn_records_stage *next;
	uint64_t batch; /* wn_batch_serial */
	uint64_t id;
	uint8_t *buf;
	size_t len;
	bool keep; /* a record worth caching (PENDING or RUNNING) */
};

/* Task records read lately, packed, by key: tasks are few and change
 * rarely, and every Fetch reply carries the tasks of its jobs. A task write
 * empties the cache, which stays off until the batch of the last task write
 * went to the store (tstale: its serial; 0: the cache is on). */
#define TCACHE_MAX 1024
struct tcache_entry {
	size_t len;
	uint8_t buf[];
};

struct wn_records {
	wn_store *store;
	wn_map *jcache; /* job id -> struct jcache_entry */
	struct jcache_entry *jc_head, *jc_tail;
	size_t jc_bytes;
	wn_map *tcache; /* task key -> struct tcache_entry */
	uint64_t tstale;
};

wn_records *wn_records_new(wn_store *s)
{
	wn_records *r = wn_xcalloc(1, sizeof(*r));
	r->store = s;
	r->jcache = wn_map_new_u64();
	r->tcache = wn_map_new_str();
	return r;
}

wn_store *wn_records_store(wn_records *r)
{
	return r->store;
}

/* ------------------------------------------------------------ record cache */

static void jcache_unlink(wn_records *r, struct jcache_entry *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		r->jc_head = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	else
		r->jc_tail = x->prev;
	r->jc_bytes -= x->len;
	wn_map_del_u64(r->jcache, x->id);
	free(x->buf);
	free(x);
}

static void jcache_drop(wn_records *r, uint64_t id)
{
	struct jcache_entry *x = wn_map_get_u64(r->jcache, id);
	if (x != NULL)
		jcache_unlink(r, x);
}

/* jcache_put caches a record; takes buf. */
static void jcache_put(wn_records *r, uint64_t id, uint8_t *buf, size_t len)
{
	jcache_drop(r, id);
	struct jcache_entry *x = wn_xmalloc(sizeof(*x));
	x->id = id;
	x->buf = buf;
	x->len = len;
	x->next = NULL;
	x->prev = r->jc_tail;
	if (r->jc_tail != NULL)
		r->jc_tail->next = x;
	else
		r->jc_head = x;
	r->jc_tail = x;
	r->jc_bytes += len;
	wn_map_put_u64(r->jcache, id, x);
	while (r->jc_head != NULL &&
	       (r->jc_bytes > JCACHE_MAX_BYTES || wn_map_count(r->jcache) > JCACHE_MAX_ENTRIES))
		jcache_unlink(r, r->jc_head);
}

/* tcache_clear empties the task cache. */
static void tcache_clear(wn_records *r)
{
	size_t pos = 0;
	void *val;
	while (wn_map_next(r->tcache, &pos, NULL, NULL, &val))
		free(val);
	wn_map_free(r->tcache);
	r->tcache = wn_map_new_str();
}

/* tcache_stale empties the task cache for a task write in b. */
static void tcache_stale(wn_records *r, const wn_batch *b)
{
	tcache_clear(r);
	if (wn_batch_serial(b) > r->tstale)
		r->tstale = wn_batch_serial(b);
}

/* tcache_written turns the task cache back on once b, the batch of the last
 * task write, went to the store. */
static void tcache_written(wn_records *r, const wn_batch *b)
{
	if (r->tstale != 0 && wn_batch_serial(b) == r->tstale)
		r->tstale = 0;
}

void wn_records_free(wn_records *r)
{
	if (r == NULL)
		return;
	while (r->jc_head != NULL)
		jcache_unlink(r, r->jc_head);
	wn_map_free(r->jcache);
	tcache_clear(r);
	wn_map_free(r->tcache);
	free(r);
}

/* ------------------------------------------------------------ a call's records */

static void stage_free(struct wn_records_stage *s)
{
	while (s != NULL) {
		struct wn_records_stage *next = s->next;
		free(s->buf);
		free(s);
		s = next;
	}
}

void wn_records_call_init(wn_records_call *rc, wn_records *r, ProtobufCAllocator *pa)
{
	memset(rc, 0, sizeof(*rc));
	rc->r = r;
	rc->pa = pa;
}

void wn_records_call_release(wn_records_call *rc)
{
	wn_map_free(rc->jobs);
	rc->jobs = NULL;
	stage_free(rc->staged); /* records of batches never applied */
	rc->staged = rc->staged_tail = NULL;
}

/* stage_apply brings the record cache up to date with the records the call
 * wrote to batch (a serial), now in the store. */
static void stage_apply(wn_records_call *rc, uint64_t batch)
{
	struct wn_records_stage **pp = &rc->staged;
	rc->staged_tail = NULL;
	while (*pp != NULL) {
		struct wn_records_stage *s = *pp;
		if (s->batch != batch) {
			rc->staged_tail = s;
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		if (s->keep) {
			jcache_put(rc->r, s->id, s->buf, s->len);
			s->buf = NULL;
		} else {
			jcache_drop(rc->r, s->id);
		}
		s->next = NULL;
		stage_free(s);
	}
}

static void stage_add(wn_records_call *rc, wn_batch *b, uint64_t id, uint8_t *buf, size_t len,
                      bool keep)
{
	struct wn_records_stage *s = wn_xmalloc(sizeof(*s));
	s->next = NULL;
	s->batch = wn_batch_serial(b);
	s->id = id;
	s->buf = buf;
	s->len = len;
	s->keep = keep;
	if (rc->staged_tail != NULL)
		rc->staged_tail->next = s;
	else
		rc->staged = s;
	rc->staged_tail = s;
}

int wn_records_write(wn_records_call *rc, wn_batch *b, uint64_t *seq)
{
	uint64_t ticket = 0;
	int rv = wn_store_write(rc->r->store, b, &ticket);
	tcache_written(rc->r, b);
	if (rv != WN_OK)
		return rv;
	if (ticket > *seq)
		*seq = ticket;
	if (rc->staged != NULL)
		stage_apply(rc, wn_batch_serial(b));
	return WN_OK;
}

int wn_records_apply(wn_records *r, wn_batch *b, uint64_t *seq)
{
	int rv = wn_store_write(r->store, b, seq);
	tcache_written(r, b);
	return rv;
}

/* ------------------------------------------------------------ records */

void wn_records_put(wn_batch *b, const char *key, size_t klen, const ProtobufCMessage *msg)
{
	uint8_t small[1024];
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = n <= sizeof(small) ? small : wn_xmalloc(n);
	protobuf_c_message_pack(msg, buf);
	wn_batch_put(b, key, klen, buf, n);
	if (buf != small)
		free(buf);
}

int wn_records_read_ok(wn_records_call *rc, int rv)
{
	if (rv != WN_OK && rv != WN_ENOTFOUND && rc->read_err == 0)
		rc->read_err = rv;
	return rv;
}

int wn_records_job_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__Job **out)
{
	*out = rc->jobs != NULL ? wn_map_get_u64(rc->jobs, id) : NULL;
	if (*out != NULL)
		return WN_OK;
	Whatsnext__V1__Job *j;
	struct jcache_entry *x = wn_map_get_u64(rc->r->jcache, id);
	if (x != NULL) {
		j = whatsnext__v1__job__unpack(rc->pa, x->len, x->buf);
	} else {
		char key[WN_KEY_MAX];
		size_t kl = wn_key_job(key, id);
		char *val = NULL;
		size_t len = 0;
		int rv = wn_records_read_ok(rc, wn_store_get(rc->r->store, key, kl, &val, &len));
		if (rv != WN_OK)
			return rv;
		j = whatsnext__v1__job__unpack(rc->pa, len, (uint8_t *)val);
		free(val);
	}
	if (j == NULL) {
		wn_error("job %llu: stored record is corrupt", (unsigned long long)id);
		return WN_ENOTFOUND;
	}
	wn_records_job_adopt(rc, j);
	*out = j;
	return WN_OK;
}

Whatsnext__V1__Job *wn_records_job_find(wn_records_call *rc, uint64_t id)
{
	Whatsnext__V1__Job *j;
	return wn_records_job_get(rc, id, &j) == WN_OK ? j : NULL;
}

void wn_records_job_adopt(wn_records_call *rc, Whatsnext__V1__Job *j)
{
	if (rc->jobs == NULL)
		rc->jobs = wn_map_new_u64();
	wn_map_put_u64(rc->jobs, j->id, j);
}

void wn_records_job_put(wn_records_call *rc, wn_batch *b, const Whatsnext__V1__Job *j)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, j->id);
	if (j->status != WHATSNEXT__V1__JOB_STATUS__JOB_PENDING &&
	    j->status != WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING) {
		/* finished or blocked: not worth a place in the record cache */
		wn_records_put(b, key, kl, &j->base);
		stage_add(rc, b, j->id, NULL, 0, false);
		rc->last = NULL;
		return;
	}
	size_t n = protobuf_c_message_get_packed_size(&j->base);
	uint8_t *buf = wn_xmalloc(n ? n : 1);
	protobuf_c_message_pack(&j->base, buf);
	wn_batch_put(b, key, kl, buf, n);
	stage_add(rc, b, j->id, buf, n, true);
	/* kept for a reply that carries the job as written (a claim) */
	rc->last = j;
	rc->last_buf = rc->pa->alloc(rc->pa->allocator_data, n ? n : 1);
	memcpy(rc->last_buf, buf, n);
	rc->last_len = n;
}

bool wn_records_job_packed(const wn_records_call *rc, const Whatsnext__V1__Job *j,
                           const uint8_t **buf, size_t *len)
{
	if (j == NULL || rc->last != j)
		return false;
	*buf = rc->last_buf;
	*len = rc->last_len;
	return true;
}

int wn_records_del_prefix(wn_records *r, wn_batch *b, const char *prefix, size_t plen)
{
	wn_store_iter *it = wn_store_iter_new(r->store, prefix, plen, NULL, 0);
	const char *k, *v;
	size_t kl, vl;
	wn_batch_mark(b);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl))
		wn_batch_del(b, k, kl);
	int rv = wn_records_scan_end(it);
	wn_batch_unmark(b, rv != WN_OK);
	return rv;
}

int wn_records_job_del_reports(wn_records *r, wn_batch *b, const Whatsnext__V1__Job *j)
{
	if (j->attempt == 0)
		return WN_OK; /* never ran: it reported nothing */
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_LOG, j->id);
	wn_batch_mark(b);
	int rv = wn_records_del_prefix(r, b, key, kl);
	kl = wn_key_of_job(key, WN_KEY_BLOB, j->id);
	if (rv == WN_OK)
		rv = wn_records_del_prefix(r, b, key, kl);
	kl = wn_key_of_job(key, WN_KEY_HISTORY, j->id);
	if (rv == WN_OK)
		wn_batch_del(b, key, kl);
	wn_batch_unmark(b, rv != WN_OK);
	return rv;
}

void wn_records_job_del(wn_records_call *rc, wn_batch *b, const Whatsnext__V1__Job *j)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, j->id);
	wn_batch_del(b, key, kl);
	stage_add(rc, b, j->id, NULL, 0, false);
}

/* ------------------------------------------------------------ other records */

int wn_records_get_msg(wn_records_call *rc, const char *key, size_t kl,
                       const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	char *val = NULL;
	size_t len = 0;
	int rv = wn_records_read_ok(rc, wn_store_get(rc->r->store, key, kl, &val, &len));
	if (rv != WN_OK)
		return rv;
	*out = protobuf_c_message_unpack(d, rc->pa, len, (uint8_t *)val);
	free(val);
	return *out != NULL ? WN_OK : WN_EINTERNAL;
}

int wn_records_project_get(wn_records_call *rc, const char *name, Whatsnext__V1__Project **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, name);
	return wn_records_get_msg(rc, key, kl, &whatsnext__v1__project__descriptor,
	                          (ProtobufCMessage **)out);
}

void wn_records_project_put(wn_batch *b, const Whatsnext__V1__Project *p)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, p->name);
	wn_records_put(b, key, kl, &p->base);
}

void wn_records_project_del(wn_batch *b, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, name);
	wn_batch_del(b, key, kl);
}

int wn_records_task_get(wn_records_call *rc, const char *project, const char *name,
                        Whatsnext__V1__Task **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task(key, project, name);
	wn_records *r = rc->r;
	struct tcache_entry *x = wn_map_get_str(r->tcache, key);
	bool keep = x != NULL;
	if (x == NULL) {
		char *val = NULL;
		size_t len = 0;
		int rv = wn_records_read_ok(rc, wn_store_get(r->store, key, kl, &val, &len));
		if (rv != WN_OK)
			return rv;
		x = wn_xmalloc(sizeof(*x) + len);
		x->len = len;
		memcpy(x->buf, val, len);
		free(val);
		if (r->tstale == 0 && wn_map_count(r->tcache) < TCACHE_MAX) {
			wn_map_put_str(r->tcache, key, x);
			keep = true;
		}
	}
	*out = whatsnext__v1__task__unpack(rc->pa, x->len, x->buf);
	if (!keep)
		free(x);
	return *out != NULL ? WN_OK : WN_EINTERNAL;
}

int wn_records_task_ready(wn_records_call *rc, const char *project, const char *name)
{
	char key[WN_KEY_MAX];
	wn_key_task(key, project, name);
	if (wn_map_get_str(rc->r->tcache, key) != NULL)
		return WN_OK;
	Whatsnext__V1__Task *t = NULL;
	return wn_records_task_get(rc, project, name, &t);
}

void wn_records_task_put(wn_records *r, wn_batch *b, const Whatsnext__V1__Task *t)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task(key, t->project, t->name);
	wn_records_put(b, key, kl, &t->base);
	tcache_stale(r, b);
}

void wn_records_task_del(wn_records *r, wn_batch *b, const char *project, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task(key, project, name);
	wn_batch_del(b, key, kl);
	tcache_stale(r, b);
}

void wn_records_sweep_put(wn_batch *b, const Whatsnext__V1__Sweep *s)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_sweep(key, s->id);
	wn_records_put(b, key, kl, &s->base);
}

void wn_records_sweep_del(wn_batch *b, uint64_t id)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_sweep(key, id);
	wn_batch_del(b, key, kl);
}

void wn_records_worker_put(wn_batch *b, const Whatsnext__V1__Worker *w)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_worker(key, w->name);
	wn_records_put(b, key, kl, &w->base);
}

void wn_records_worker_del(wn_batch *b, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_worker(key, name);
	wn_batch_del(b, key, kl);
}

void wn_records_token_put(wn_batch *b, const Whatsnext__V1__TokenRecord *t)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_token(key, t->token->name);
	wn_records_put(b, key, kl, &t->base);
}

void wn_records_token_del(wn_batch *b, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_token(key, name);
	wn_batch_del(b, key, kl);
}

void wn_records_next_id_put(wn_batch *b, uint64_t limit)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)limit);
	wn_batch_put(b, WN_KEY_NEXT_ID, WN_KEY_NEXT_ID_LEN, buf, (size_t)n);
}

int wn_records_next_id_get(wn_records *r, uint64_t *limit)
{
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(r->store, WN_KEY_NEXT_ID, WN_KEY_NEXT_ID_LEN, &val, &len);
	if (rv != WN_OK)
		return rv;
	char buf[32];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), val);
	*limit = strtoull(buf, NULL, 10);
	free(val);
	return WN_OK;
}

int wn_records_req_get(wn_records *r, uint64_t id, char **val, size_t *len)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_req(key, id);
	return wn_store_get(r->store, key, kl, val, len);
}

void wn_records_req_put(wn_batch *b, uint64_t id, const void *val, size_t len)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_req(key, id);
	wn_batch_put(b, key, kl, val, len);
}

/* ------------------------------------------------------------ walks */

/* walk_end frees it and says whether a read error ended the walk early. */
static int walk_end(wn_store_iter *it, char **why)
{
	const char *err = wn_store_iter_error(it);
	int rv = WN_OK;
	if (err != NULL) {
		rv = WN_EIO;
		if (why != NULL)
			*why = wn_xstrdup(err);
	}
	wn_store_iter_free(it);
	return rv;
}

int wn_records_scan_end(wn_store_iter *it)
{
	char *why = NULL;
	int rv = walk_end(it, &why);
	if (rv != WN_OK)
		wn_error("store read failed: %s", why);
	free(why);
	return rv;
}

int wn_records_walk(wn_records *r, enum wn_key_kind kind, wn_records_fn fn, void *arg, char **why)
{
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it =
	    wn_store_iter_new(r->store, wn_key_prefix(kind), WN_KEY_PREFIX_LEN, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl))
		if (!fn(arg, k, kl, v, vl))
			break;
	return walk_end(it, why);
}

/* jobs_from starts a walk over the job records with ids from first on. */
static wn_store_iter *jobs_from(wn_records *r, uint64_t first)
{
	char start[WN_KEY_MAX];
	size_t sl = wn_key_job(start, first);
	return wn_store_iter_new(r->store, wn_key_prefix(WN_KEY_JOB), WN_KEY_PREFIX_LEN, start, sl);
}

/* job_key_id returns the id of job key k (0 if it is not one). */
static uint64_t job_key_id(const char *k, size_t kl)
{
	return kl == WN_KEY_ID_LEN ? wn_key_id(k) : 0;
}

int wn_records_job_walk(wn_records *r, uint64_t first, wn_records_job_fn fn, void *arg, char **why)
{
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it = jobs_from(r, first);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl))
		if (!fn(arg, job_key_id(k, kl), v, vl))
			break;
	return walk_end(it, why);
}

int wn_records_job_ids(wn_records *r, uint64_t first, uint64_t last, uint64_t *ids, size_t cap,
                       size_t *n)
{
	const char *k, *v;
	size_t kl, vl;
	*n = 0;
	wn_store_iter *it = jobs_from(r, first);
	while (*n < cap && wn_store_iter_next(it, &k, &kl, &v, &vl) && job_key_id(k, kl) <= last)
		ids[(*n)++] = job_key_id(k, kl);
	return wn_records_scan_end(it);
}

/* job_of unpacks a job record (without an allocator: free it) if it is one of
 * project and, if not NULL, task. */
static Whatsnext__V1__Job *job_of(const char *v, size_t vl, const char *project, const char *task)
{
	Whatsnext__V1__Job *j = whatsnext__v1__job__unpack(NULL, vl, (const uint8_t *)v);
	if (j != NULL &&
	    (strcmp(j->project, project) != 0 || (task != NULL && strcmp(j->task, task) != 0))) {
		whatsnext__v1__job__free_unpacked(j, NULL);
		j = NULL;
	}
	return j;
}

int wn_records_job_ids_of(wn_records *r, const char *project, const char *task, uint64_t **ids,
                          size_t *n)
{
	uint64_t *v = NULL;
	size_t cap = 0;
	const char *k, *val;
	size_t kl, vl;
	*n = 0;
	wn_store_iter *it = jobs_from(r, 0);
	while (wn_store_iter_next(it, &k, &kl, &val, &vl)) {
		/* a cheap look: most jobs of a big store are someone else's */
		Whatsnext__V1__Job *j = job_of(val, vl, project, task);
		if (j == NULL)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			v = wn_xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = j->id;
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	*ids = v;
	return wn_records_scan_end(it);
}

int wn_records_job_count(wn_records *r, const char *project, const char *task, int status,
                         uint64_t *count)
{
	const char *k, *v;
	size_t kl, vl;
	*count = 0;
	wn_store_iter *it = jobs_from(r, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		Whatsnext__V1__Job *j = job_of(v, vl, project, task);
		if (j == NULL)
			continue;
		*count += (int)j->status == status;
		whatsnext__v1__job__free_unpacked(j, NULL);
	}
	return wn_records_scan_end(it);
}

size_t wn_records_job_chunk(wn_records_call *rc, uint64_t *after, size_t max,
                            Whatsnext__V1__Job **v, bool *more)
{
	const char *k, *val;
	size_t kl, vl, seen = 0, n = 0;
	*more = false;
	wn_store_iter *it = jobs_from(rc->r, *after + 1);
	while (wn_store_iter_next(it, &k, &kl, &val, &vl)) {
		if (seen == max) {
			*more = true;
			break;
		}
		seen++;
		*after = job_key_id(k, kl);
		Whatsnext__V1__Job *j =
		    whatsnext__v1__job__unpack(rc->pa, vl, (const uint8_t *)val);
		if (j != NULL)
			v[n++] = j;
	}
	if (wn_records_read_ok(rc, wn_records_scan_end(it)) != WN_OK)
		*more = false; /* what was read stands; the next walk goes on */
	return n;
}

void wn_records_job_page(wn_records_call *rc, wn_records_page *pg)
{
	const char *k, *v;
	size_t kl, vl, scanned = 0, bytes = 0;
	uint64_t last = 0;
	bool more = false;
	pg->n = 0;
	pg->next_after = 0;
	if (pg->after >= pg->last)
		return;
	wn_store_iter *it;
	if (pg->desc) {
		char start[WN_KEY_MAX];
		size_t sl = pg->last == UINT64_MAX ? 0 : wn_key_job(start, pg->last);
		it = wn_store_iter_new_rev(rc->r->store, wn_key_prefix(WN_KEY_JOB),
		                           WN_KEY_PREFIX_LEN, sl ? start : NULL, sl);
	} else {
		it = jobs_from(rc->r, pg->after + 1);
	}
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		uint64_t id = job_key_id(k, kl);
		if (pg->desc ? id <= pg->after : id > pg->last)
			break;
		if (pg->n == pg->max || scanned == pg->scan_max || bytes > pg->bytes) {
			more = true;
			break;
		}
		scanned++;
		last = id;
		Whatsnext__V1__Job *j = whatsnext__v1__job__unpack(rc->pa, vl, (const uint8_t *)v);
		if (j == NULL || !wn_records_job_match(&pg->f, j))
			continue;
		wn_records_job_adopt(rc, j);
		pg->jobs[pg->n++] = j;
		bytes += vl;
	}
	wn_records_read_ok(rc, wn_records_scan_end(it)); /* a page cut short is not the end */
	pg->next_after = more ? last : 0;
}

int wn_records_task_del_all(wn_records *r, wn_batch *b, const char *project, uint64_t *n)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task_prefix(key, project);
	const char *k, *v;
	size_t tkl, vl;
	*n = 0;
	wn_batch_mark(b);
	wn_store_iter *it = wn_store_iter_new(r->store, key, kl, NULL, 0);
	while (wn_store_iter_next(it, &k, &tkl, &v, &vl)) {
		wn_batch_del(b, k, tkl);
		(*n)++;
	}
	int rv = wn_records_scan_end(it);
	wn_batch_unmark(b, rv != WN_OK);
	if (rv == WN_OK)
		tcache_stale(r, b);
	return rv;
}
