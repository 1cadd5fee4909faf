/* replay: answering a Submit or SubmitBatch sent again after its first reply
 * was lost, for a day, across restarts (protocol section 3).
 *
 * A Submit's request id lives in the record of the job it created
 * (Job.submit_request_id), so a Submit writes one key, not two; the engine
 * keeps request id -> job id in memory for the jobs of the last day, rebuilt
 * from the records at start. Replies that have no job record to come from
 * are kept under i/<request id>: a SubmitBatch's, and a Submit's whose job
 * was removed within the day. The engine knows which request ids have such a
 * key, so a new request costs no read. */
#include "replay.h"

#include "clock.h"
#include "engine_state.h"

#include <stdlib.h>
#include <string.h>

#define REPLAY_SUBMIT "/whatsnext.v1.JobService/Submit"

void wn_replay_init(wn_engine *e)
{
	struct replay *r = &e->replay;
	memset(r, 0, sizeof(*r));
	r->jobs = wn_map_new_u64();
	r->stored = wn_map_new_u64();
}

void wn_replay_free(wn_engine *e)
{
	struct replay *r = &e->replay;
	wn_map_free(r->jobs);
	wn_map_free(r->stored);
	free(r->ring);
	memset(r, 0, sizeof(*r));
}

/* ring_resize moves the ring's entries, oldest first, into cap slots. */
static void ring_resize(struct replay *r, size_t cap)
{
	struct replay_ent *v = wn_xmalloc(cap * sizeof(*v));
	for (size_t i = 0; i < r->n; i++)
		v[i] = r->ring[(r->head + i) % r->cap];
	free(r->ring);
	r->ring = v;
	r->cap = cap;
	r->head = 0;
}

/* ring_push appends (at, reqid) to the ring of remembered Submits. */
static void ring_push(struct replay *r, int64_t at, uint64_t reqid)
{
	if (r->n == r->cap)
		ring_resize(r, r->cap ? r->cap * 2 : 1024);
	r->ring[(r->head + r->n) % r->cap] = (struct replay_ent){at, reqid};
	r->n++;
}

static void remember(struct replay *r, uint64_t reqid, uint64_t job, int64_t at)
{
	wn_map_put_u64(r->jobs, reqid, (void *)(uintptr_t)job);
	ring_push(r, at, reqid);
	if (r->n > r->peak)
		r->peak = r->n;
}

void wn_replay_load_job(wn_engine *e, const Job *j, int64_t now)
{
	if (j->submit_request_id != 0 && j->created_ms >= now - REPLAY_KEEP_MS)
		remember(&e->replay, j->submit_request_id, j->id, j->created_ms);
}

void wn_replay_submitted(struct call *c, const Job *j)
{
	if (j->submit_request_id != 0)
		remember(&c->e->replay, j->submit_request_id, j->id, j->created_ms);
}

/* stored_answer answers from the i/ key of c's request id, if it has one for
 * c's method: its body unpacked as od into the call's arena. */
static bool stored_answer(struct call *c, const ProtobufCMessageDescriptor *od,
                          ProtobufCMessage **out)
{
	if (wn_map_get_u64(c->e->replay.stored, c->reqid) == NULL)
		return false;
	char *val = NULL;
	size_t len = 0;
	if (wn_records_read_ok(&c->rec, wn_records_req_get(c->e->rec, c->reqid, &val, &len)) !=
	    WN_OK)
		return false;
	/* value: 8-byte time, the method path, NUL, the reply body */
	const char *m = len > 8 ? memchr(val + 8, '\0', len - 8) : NULL;
	ProtobufCMessage *msg = NULL;
	if (m != NULL && strcmp(val + 8, c->method) == 0) {
		size_t off = (size_t)(m + 1 - val);
		msg = protobuf_c_message_unpack(od, c->pa, len - off, (uint8_t *)val + off);
	}
	free(val);
	if (msg == NULL)
		return false;
	*out = msg;
	return true;
}

/* replay_caller_differs reports whether the job a replay would answer with
 * (job id) was submitted by another caller than c's: its reply is not
 * theirs. A job gone since is no one's. A job older than c's token was
 * submitted by another token, revoked since, that had the same name: older
 * by its id, which a step of the wall clock does not move (by its time for a
 * token record that does not say the id). */
static bool replay_caller_differs(struct call *c, uint64_t id)
{
	Job *j = wn_job_find(c, id);
	if (j == NULL)
		return false;
	const char *mine = c->caller != NULL ? c->caller : "";
	if (strcmp(j->submitter != NULL ? j->submitter : "", mine) != 0)
		return true;
	if (c->caller_first_job > 0)
		return j->id < c->caller_first_job;
	return c->caller_since > 0 && j->created_ms < c->caller_since;
}

int wn_replay_answer(struct call *c, const ProtobufCMessageDescriptor *od, bool brief,
                     ProtobufCMessage **out)
{
	if (c->reqid == 0)
		return 0;
	bool answered = false;
	uintptr_t id = 0;
	uint64_t first = 0; /* the first job of the reply */
	if (strcmp(c->method, REPLAY_SUBMIT) == 0)
		id = (uintptr_t)wn_map_get_u64(c->e->replay.jobs, c->reqid);
	Job *j = id != 0 ? wn_job_find(c, id) : NULL;
	if (j != NULL && j->submit_request_id == c->reqid) {
		Whatsnext__V1__SubmitResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
		whatsnext__v1__submit_response__init(r);
		r->job = brief ? wn_job_brief(c, j) : j;
		*out = &r->base;
		answered = true;
		first = j->id;
	} else if (stored_answer(c, od, out)) {
		answered = true;
		if (od == &whatsnext__v1__submit_batch_response__descriptor) {
			const Whatsnext__V1__SubmitBatchResponse *r = (const void *)*out;
			first = r->n_ids > 0 ? r->ids[0] : 0;
		}
	}
	if (c->rec.read_err != 0) /* the first answer may be there: never run it twice */
		return wn_call_fail(c, WN_EUNAVAIL,
		                    "cannot read what this request id was answered with before "
		                    "(wnd's log says why); nothing was changed; retry later");
	if (answered && first != 0 && replay_caller_differs(c, first)) {
		*out = NULL;
		return wn_call_fail(c, WN_EINVAL,
		                    "request id was already used by another caller (use a random "
		                    "64-bit request id)");
	}
	if (answered) {
		/* the first reply may still wait for its sync */
		c->seq = wn_store_written(c->e->store);
		c->replayed = true;
	}
	return answered ? 1 : 0;
}

/* put_stored writes reply to method under request id reqid (an i/ key, dated at). */
static void put_stored(wn_engine *e, wn_batch *b, uint64_t reqid, int64_t at, const char *method,
                       const ProtobufCMessage *reply)
{
	size_t bl = protobuf_c_message_get_packed_size(reply);
	size_t ml = strlen(method) + 1;
	uint8_t *buf = wn_xmalloc(8 + ml + bl);
	memcpy(buf, &at, 8);
	memcpy(buf + 8, method, ml);
	protobuf_c_message_pack(reply, buf + 8 + ml);
	wn_records_req_put(b, reqid, buf, 8 + ml + bl);
	free(buf);
	/* set before the write lands: at worst a read that finds nothing */
	wn_map_put_u64(e->replay.stored, reqid, (void *)1);
}

void wn_replay_persist(struct call *c, wn_batch *b, const ProtobufCMessage *reply)
{
	if (c->reqid != 0)
		put_stored(c->e, b, c->reqid, wn_engine_now(c->e), c->method, reply);
}

void wn_replay_removed(struct call *c, wn_batch *b, const Job *j, int status)
{
	struct replay *r = &c->e->replay;
	uint64_t q = j->submit_request_id;
	if (q == 0 || (uintptr_t)wn_map_get_u64(r->jobs, q) != j->id)
		return;
	wn_map_del_u64(r->jobs, q);
	Whatsnext__V1__Job gone = WHATSNEXT__V1__JOB__INIT;
	gone.id = j->id;
	gone.status = (Whatsnext__V1__JobStatus)status;
	gone.attempt = j->attempt;
	Whatsnext__V1__SubmitResponse reply = WHATSNEXT__V1__SUBMIT_RESPONSE__INIT;
	reply.job = &gone;
	put_stored(c->e, b, q, j->created_ms, REPLAY_SUBMIT, &reply.base);
}

/* forget_jobs drops the Submits older than cutoff from memory; the map and
 * the ring are rebuilt smaller once most of them are gone (a map never
 * shrinks by itself). */
static void forget_jobs(struct replay *r, int64_t cutoff)
{
	while (r->n > 0 && r->ring[r->head].at < cutoff) {
		wn_map_del_u64(r->jobs, r->ring[r->head].reqid);
		r->head = (r->head + 1) % r->cap;
		r->n--;
	}
	if (r->peak < 4096 || r->n > r->peak / 4)
		return;
	wn_map *m = wn_map_new_u64();
	size_t pos = 0;
	uint64_t k;
	void *v;
	while (wn_map_next(r->jobs, &pos, &k, NULL, &v))
		wn_map_put_u64(m, k, v);
	wn_map_free(r->jobs);
	r->jobs = m;
	size_t cap = 1024;
	while (cap < 2 * r->n)
		cap *= 2;
	ring_resize(r, cap);
	r->peak = r->n;
}

struct forget {
	wn_engine *e;
	int64_t cutoff;
	wn_batch *b;
};

/* forget_req deletes (in f->b) a stored reply older than the cutoff, and
 * remembers those kept. */
static bool forget_req(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct forget *f = arg;
	int64_t at = 0;
	if (vl >= 8)
		memcpy(&at, v, 8);
	uint64_t id = kl == WN_KEY_ID_LEN ? wn_key_id(k) : 0;
	if (at < f->cutoff) {
		wn_batch_del(f->b, k, kl);
		wn_map_del_u64(f->e->replay.stored, id);
	} else {
		wn_map_put_u64(f->e->replay.stored, id, (void *)1);
	}
	return true;
}

void wn_replay_forget(wn_engine *e)
{
	pthread_mutex_lock(&e->mu);
	int64_t cutoff = wn_engine_now(e) - REPLAY_KEEP_MS;
	forget_jobs(&e->replay, cutoff);
	struct forget f = {e, cutoff, wn_batch_new()};
	wn_records_walk(e->rec, WN_KEY_REQ, forget_req, &f, NULL);
	uint64_t seq;
	if (wn_batch_count(f.b) > 0)
		wn_records_apply(e->rec, f.b, &seq);
	wn_batch_free(f.b);
	pthread_mutex_unlock(&e->mu);
}

size_t wn_replay_remembered(wn_engine *e, size_t *ring)
{
	const struct replay *r = &e->replay;
	if (ring != NULL)
		*ring = r->cap;
	return wn_map_count(r->jobs) == r->n ? r->n : (size_t)-1;
}
