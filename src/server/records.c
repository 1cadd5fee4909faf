/* records: the records layer (records.h): the job record cache, the staging
 * of job records written to batches not applied yet, reads and writes of
 * records. */
#include "records.h"

#include "err.h"
#include "log.h"
#include "util.h"

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

struct wn_records {
	wn_store *store;
	wn_map *jcache; /* job id -> struct jcache_entry */
	struct jcache_entry *jc_head, *jc_tail;
	size_t jc_bytes;
};

wn_records *wn_records_new(wn_store *s)
{
	wn_records *r = wn_xcalloc(1, sizeof(*r));
	r->store = s;
	r->jcache = wn_map_new_u64();
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

void wn_records_free(wn_records *r)
{
	if (r == NULL)
		return;
	while (r->jc_head != NULL)
		jcache_unlink(r, r->jc_head);
	wn_map_free(r->jcache);
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
	if (rv != WN_OK)
		return rv;
	if (ticket > *seq)
		*seq = ticket;
	if (rc->staged != NULL)
		stage_apply(rc, wn_batch_serial(b));
	return WN_OK;
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

Whatsnext__V1__Job *wn_records_job_find(wn_records_call *rc, uint64_t id)
{
	if (rc->jobs != NULL) {
		Whatsnext__V1__Job *j = wn_map_get_u64(rc->jobs, id);
		if (j != NULL)
			return j;
	}
	Whatsnext__V1__Job *j;
	struct jcache_entry *x = wn_map_get_u64(rc->r->jcache, id);
	if (x != NULL) {
		j = whatsnext__v1__job__unpack(rc->pa, x->len, x->buf);
	} else {
		char key[WN_KEY_MAX];
		size_t kl = wn_key_job(key, id);
		char *val = NULL;
		size_t len = 0;
		if (wn_store_get(rc->r->store, key, kl, &val, &len) != WN_OK)
			return NULL;
		j = whatsnext__v1__job__unpack(rc->pa, len, (uint8_t *)val);
		free(val);
	}
	if (j == NULL) {
		wn_error("job %llu: stored record is corrupt", (unsigned long long)id);
		return NULL;
	}
	wn_records_job_adopt(rc, j);
	return j;
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
		return;
	}
	size_t n = protobuf_c_message_get_packed_size(&j->base);
	uint8_t *buf = wn_xmalloc(n ? n : 1);
	protobuf_c_message_pack(&j->base, buf);
	wn_batch_put(b, key, kl, buf, n);
	stage_add(rc, b, j->id, buf, n, true);
}

void wn_records_job_del(wn_records_call *rc, wn_batch *b, uint64_t id)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, id);
	wn_batch_del(b, key, kl);
	stage_add(rc, b, id, NULL, 0, false);
}
