/* call: one request being executed (call.h). */
#include "call.h"

#include "dedupe.h"
#include "engine_state.h"
#include "envelope.h"
#include "pbcheck.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wn_call_init(struct call *c, wn_engine *e, void *slot)
{
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->arena = wn_arena_new();
	c->pa = wn_arena_allocator(c->arena);
	c->slot = slot;
	wn_records_call_init(&c->rec, e->rec, c->pa);
}

int wn_call_wait(struct call *c)
{
	return wn_store_wait(c->e->store, c->seq);
}

void wn_call_finish(struct call *c)
{
	struct delivery *d = c->deliveries;
	while (d != NULL) {
		struct delivery *next = d->next;
		if (c->e->cfg.deliver != NULL)
			c->e->cfg.deliver(c->e->cfg.deliver_arg, d->slot, d->buf, d->len, c->seq);
		else
			free(d->buf);
		free(d);
		d = next;
	}
	c->deliveries = NULL;
	wn_records_call_release(&c->rec);
	wn_arena_free(c->arena);
}

int wn_call_fail(struct call *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* a Response's message is a protobuf string: valid UTF-8, also where a
	 * "%.64s" cut a user's text inside a character */
	wn_utf8_scrub(buf);
	c->msg = wn_arena_strdup(c->arena, buf);
	return err;
}

/* varint writes v as a protobuf varint at p (10 bytes at most) and returns its length. */
static size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/* varint_len is the length of v as a protobuf varint. */
static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

/* envelope_head writes at out the Response fields before its body, as
 * protobuf-c would pack them (in order, proto3 defaults left out): id, code,
 * message (ml bytes), and the body's tag and length (bl bytes, none when 0);
 * returns the bytes written (at most 4 * 11 + ml). */
static size_t envelope_head(uint8_t *out, uint64_t id, int code, const char *message, size_t ml,
                            size_t bl)
{
	size_t n = 0;
	if (id != 0) {
		out[n++] = 1 << 3;
		n += varint(out + n, id);
	}
	if (code != 0) {
		out[n++] = 2 << 3;
		n += varint(out + n, (uint64_t)(int64_t)code); /* an enum: int32 as a varint */
	}
	if (ml > 0) {
		out[n++] = 3 << 3 | 2;
		n += varint(out + n, ml);
		memcpy(out + n, message, ml);
		n += ml;
	}
	if (bl > 0) {
		out[n++] = 4 << 3 | 2;
		n += varint(out + n, bl);
	}
	return n;
}

void wn_call_splice(struct call *c, const ProtobufCMessage *body, ProtobufCMessage **field,
                    unsigned number, const Whatsnext__V1__Job *j)
{
	c->splice.body = NULL;
	if (number < 16 && wn_records_job_packed(&c->rec, j, &c->splice.buf, &c->splice.len)) {
		c->splice.body = body;
		c->splice.field = field;
		c->splice.job = j;
		c->splice.number = number;
	}
}

uint8_t *wn_call_pack_reply(struct call *c, uint64_t id, const ProtobufCMessage *body, size_t *len)
{
	if (body == NULL || c->splice.body != body || (void *)*c->splice.field != c->splice.job)
		return wn_engine_pack_response(id, 0, NULL, body, len);
	c->splice.body = NULL;
	/* the job's field first (a field may come in any order), then the rest */
	ProtobufCMessage *job = *c->splice.field;
	*c->splice.field = NULL;
	size_t jl = c->splice.len;
	size_t rest = protobuf_c_message_get_packed_size(body);
	size_t bl = 1 + varint_len(jl) + jl + rest;
	uint8_t *out = wn_xmalloc(4 * 11 + bl);
	size_t n = envelope_head(out, id, 0, NULL, 0, bl);
	out[n++] = (uint8_t)(c->splice.number << 3 | 2);
	n += varint(out + n, jl);
	memcpy(out + n, c->splice.buf, jl);
	n += jl;
	n += protobuf_c_message_pack(body, out + n);
	*c->splice.field = job;
	*len = n;
	return out;
}

uint8_t *wn_engine_pack_response(uint64_t id, int code, const char *message,
                                 const ProtobufCMessage *body, size_t *len)
{
	/* the envelope written around the body packed in place: the Response
	 * protobuf-c would pack (fields in order, proto3 defaults left out),
	 * without packing and copying the body twice */
	size_t ml = message != NULL ? strlen(message) : 0;
	char *valid = NULL; /* the message made valid UTF-8, if it was not */
	if (ml > 0 && wn_pb_utf8_check((const uint8_t *)message, ml) >= 0) {
		valid = wn_xstrdup(message);
		wn_utf8_scrub(valid);
		message = valid;
		ml = strlen(valid);
	}
	size_t bl = body != NULL ? protobuf_c_message_get_packed_size(body) : 0;
	uint8_t *out = wn_xmalloc(4 * 11 + ml + bl);
	size_t n = envelope_head(out, id, code, message, ml, bl);
	free(valid);
	if (bl > 0)
		n += protobuf_c_message_pack(body, out + n);
	*len = n;
	return out;
}

void wn_call_park(struct call *c, struct parked *pk)
{
	pk->slot = c->slot;
	pk->conn = c->e->cfg.slot_conn ? c->e->cfg.slot_conn(c->slot) : 0;
	pk->reqid = c->reqid;
	c->parked = true;
}

void wn_call_answer(struct call *c, const struct parked *pk, const ProtobufCMessage *reply)
{
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = pk->slot;
	d->buf = wn_call_pack_reply(c, pk->reqid, reply, &d->len);
	d->next = c->deliveries;
	c->deliveries = d;
	wn_dedupe_finish(c->e->dd, pk->reqid, d->buf, d->len);
}

void wn_call_drop(struct call *c, const struct parked *pk)
{
	wn_dedupe_abort(c->e->dd, pk->reqid);
	struct delivery *d = wn_xcalloc(1, sizeof(*d));
	d->slot = pk->slot; /* no buf: free the slot without a reply */
	d->next = c->deliveries;
	c->deliveries = d;
}

int wn_engine_write(struct call *c, wn_batch *b)
{
	int rv = wn_records_write(&c->rec, b, &c->seq);
	if (rv != WN_OK)
		return wn_call_fail(c, WN_EUNAVAIL, "cannot store the change: %s", wn_strerror(rv));
	return WN_OK;
}

Job *wn_job_find(struct call *c, uint64_t id)
{
	return wn_records_job_find(&c->rec, id);
}

int wn_job_get(struct call *c, uint64_t id, Job **out)
{
	return wn_records_job_get(&c->rec, id, out);
}

Job *wn_job_brief(struct call *c, const Job *j)
{
	if (j == NULL)
		return NULL;
	Job *b = wn_arena_alloc(c->arena, sizeof(*b));
	whatsnext__v1__job__init(b);
	b->id = j->id;
	b->status = j->status;
	b->attempt = j->attempt;
	return b;
}

void wn_job_adopt(struct call *c, Job *j)
{
	wn_records_job_adopt(&c->rec, j);
}

int wn_job_load(struct call *c, uint64_t id, Job **out)
{
	Job *j = NULL;
	int rv = wn_job_get(c, id, &j);
	if (rv == WN_ENOTFOUND)
		return wn_call_fail(c, rv, "job %llu not found", (unsigned long long)id);
	if (rv != WN_OK) /* not known to be gone */
		return wn_call_fail(
		    c, WN_EUNAVAIL,
		    "cannot read job %llu (wnd's log says why); nothing was changed; "
		    "retry later",
		    (unsigned long long)id);
	*out = j;
	return WN_OK;
}

void wn_job_put(struct call *c, wn_batch *b, const Job *j)
{
	wn_records_job_put(&c->rec, b, j);
}

void wn_job_del(struct call *c, wn_batch *b, const Job *j)
{
	wn_records_job_del(&c->rec, b, j);
}

int wn_job_del_reports(struct call *c, wn_batch *b, const Job *j)
{
	return wn_records_job_del_reports(c->e->rec, b, j);
}

const char *wn_job_status_name(int status)
{
	return wn_status_name(status);
}
