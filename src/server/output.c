/* output: a job's live output as the server keeps it (output.h). */
#include "output.h"

#include "engine_state.h"
#include "jobs.h"
#include "records_output.h"

#include <string.h>

/* Chunks hold at most CHUNK_MAX bytes, and an eighth of the bound, so that
 * the bound drops little more than it must; a chunk shorter than CHUNK_FILL
 * (or half that) at the end of the output takes the next bytes in (so that a
 * job printing a line at a time keeps few keys, and rewriting one costs
 * little). */
#define CHUNK_MAX  (256u << 10)
#define CHUNK_FILL (16u << 10)
/* No offset past this (1 PiB): a bound no real output reaches. */
#define OUTPUT_OFFSET_MAX (1ull << 50)

/* output_unreadable fails c for the output of job id that could not be read
 * (rv): UNAVAILABLE, as a read that may work again, unless corrupt. */
static int output_unreadable(struct call *c, int rv, uint64_t id)
{
	if (rv == WN_EINTERNAL)
		return wn_call_fail(c, rv, "cannot read the output of job %llu",
		                    (unsigned long long)id);
	return wn_call_fail(c, WN_EUNAVAIL,
	                    "cannot read the output of job %llu (wnd's log says why); retry later",
	                    (unsigned long long)id);
}

int wn_output_check(struct call *c, const Whatsnext__V1__JobProgress *pg)
{
	if (pg->output.len > WN_OUTPUT_PROGRESS_MAX)
		return wn_call_fail(
		    c, WN_EINVAL,
		    "job %llu: %zu bytes of output in one progress are over the limit "
		    "of %u",
		    (unsigned long long)pg->job_id, pg->output.len, WN_OUTPUT_PROGRESS_MAX);
	if (pg->output_offset > OUTPUT_OFFSET_MAX)
		return wn_call_fail(
		    c, WN_EINVAL, "job %llu: output_offset %llu is over the limit of %llu",
		    (unsigned long long)pg->job_id, (unsigned long long)pg->output_offset,
		    (unsigned long long)OUTPUT_OFFSET_MAX);
	return WN_OK;
}

static uint64_t output_max(const struct call *c)
{
	return c->e->cfg.output_max ? c->e->cfg.output_max : WN_OUTPUT_MAX_DEFAULT;
}

/* chunk_max is the size of a full chunk under c's bound. */
static size_t chunk_max(const struct call *c)
{
	uint64_t n = output_max(c) / 8;
	return n < CHUNK_MAX ? (size_t)n : CHUNK_MAX;
}

/* What a walk over a job's chunks collects. */
struct walk {
	uint64_t end;   /* trim: stop once this much is freed; last: the chunk's end */
	uint64_t freed; /* trim: bytes deleted */
	uint64_t next;  /* trim: where the first chunk kept starts */
	uint64_t id;
	wn_batch *b;
	const char *data; /* last: the chunk's bytes, copied to the arena */
	size_t len;
	struct call *c;
};

/* trim_chunk deletes chunks, oldest first, until enough is freed. */
static bool trim_chunk(void *arg, uint64_t start, const char *data, size_t len)
{
	struct walk *w = arg;
	(void)data;
	if (w->freed >= w->end) {
		w->next = start;
		return false;
	}
	wn_records_output_chunk_del(w->b, w->id, start + len);
	w->freed += len;
	w->next = start + len;
	return true;
}

/* last_chunk keeps the first chunk of the walk if it ends at w->end. */
static bool last_chunk(void *arg, uint64_t start, const char *data, size_t len)
{
	struct walk *w = arg;
	if (start + len == w->end) {
		char *copy = wn_arena_alloc(w->c->arena, len + 1);
		memcpy(copy, data, len);
		w->data = copy;
		w->len = len;
	}
	return false;
}

/* output_trim deletes the oldest chunks of m so that room more bytes fit in
 * the bound. */
static int output_trim(struct call *c, wn_batch *b, uint64_t id, Whatsnext__V1__OutputRecord *m,
                       uint64_t room)
{
	uint64_t max = output_max(c);
	if (m->stored + room <= max)
		return WN_OK;
	struct walk w = {.end = m->stored + room - max, .id = id, .b = b, .next = m->end};
	int rv = wn_records_output_chunks(c->e->rec, id, m->start, trim_chunk, &w);
	if (rv != WN_OK)
		return output_unreadable(c, rv, id);
	m->stored -= w.freed < m->stored ? w.freed : m->stored;
	m->start = m->stored == 0 ? m->end : w.next;
	return WN_OK;
}

/* output_append adds len bytes at m->end to b: into the last chunk while it
 * is short, then in chunks of at most CHUNK_MAX. */
static int output_append(struct call *c, wn_batch *b, uint64_t id, Whatsnext__V1__OutputRecord *m,
                         const uint8_t *data, size_t len)
{
	if (m->stored > 0) {
		struct walk w = {.end = m->end, .c = c};
		int rv = wn_records_output_chunks(c->e->rec, id, m->end - 1, last_chunk, &w);
		if (rv != WN_OK)
			return output_unreadable(c, rv, id);
		size_t full = chunk_max(c);
		size_t fill = CHUNK_FILL < full / 2 ? CHUNK_FILL : full / 2;
		if (w.data != NULL && w.len < fill) {
			size_t take = len < full - w.len ? len : full - w.len;
			char *joined = wn_arena_alloc(c->arena, w.len + take + 1);
			memcpy(joined, w.data, w.len);
			memcpy(joined + w.len, data, take);
			wn_records_output_chunk_del(b, id, m->end);
			wn_records_output_chunk_put(b, id, m->end + take, joined, w.len + take);
			m->end += take;
			m->stored += take;
			data += take;
			len -= take;
		}
	}
	while (len > 0) {
		size_t n = len < chunk_max(c) ? len : chunk_max(c);
		wn_records_output_chunk_put(b, id, m->end + n, data, n);
		m->end += n;
		m->stored += n;
		data += n;
		len -= n;
	}
	return WN_OK;
}

/* output_meta reads job j's OutputRecord for its current attempt into *out:
 * a new one (the earlier attempt's output deleted in b) when the one kept is
 * of another attempt or there is none (*fresh). */
static int output_meta(struct call *c, wn_batch *b, const Job *j, Whatsnext__V1__OutputRecord **out)
{
	Whatsnext__V1__OutputRecord *m = NULL;
	int rv = wn_records_output_get(&c->rec, j->id, &m);
	if (rv != WN_OK && rv != WN_ENOTFOUND && rv != WN_EINTERNAL)
		return output_unreadable(c, rv, j->id);
	if (rv == WN_OK && m->attempt == j->attempt) {
		*out = m;
		return WN_OK;
	}
	/* an earlier attempt's, an unreadable record's, or chunks left without one */
	if (wn_records_output_del_all(c->e->rec, b, j->id) != WN_OK)
		return output_unreadable(c, WN_EIO, j->id);
	m = wn_arena_alloc(c->arena, sizeof(*m));
	whatsnext__v1__output_record__init(m);
	m->attempt = j->attempt;
	*out = m;
	return rv == WN_ENOTFOUND ? WN_ENOTFOUND : WN_OK;
}

int wn_output_apply(struct call *c, wn_batch *b, const Job *j, const Whatsnext__V1__JobProgress *pg)
{
	/* no bytes in a first attempt: no earlier attempt's output to end, and
	 * what this run sent stays (most Completes: no reads of the store) */
	if ((pg == NULL || pg->output.len == 0) && j->attempt <= 1)
		return WN_OK;
	Whatsnext__V1__OutputRecord *m = NULL;
	int rv = output_meta(c, b, j, &m);
	bool changed = rv == WN_OK && m->stored == 0 && m->end == 0; /* a new attempt's */
	if (rv == WN_ENOTFOUND)
		rv = WN_OK;
	else if (rv != WN_OK)
		return rv;
	const uint8_t *data = pg != NULL ? pg->output.data : NULL;
	size_t len = pg != NULL ? pg->output.len : 0;
	uint64_t off = pg != NULL ? pg->output_offset : 0;
	if (len > 0 && off + len > m->end) {
		if (off < m->end) { /* a resend: the bytes kept stay */
			data += m->end - off;
			len -= (size_t)(m->end - off);
			off = m->end;
		}
		if (off > m->end) {
			m->missing += off - m->end; /* never came: a gap */
			if (m->stored == 0)
				m->start = off;
			m->end = off;
		}
		uint64_t max = output_max(c);
		if (len > max) { /* only the last max bytes stay */
			data += len - max;
			off += len - max;
			m->end = off;
			len = (size_t)max;
		}
		if ((rv = output_trim(c, b, j->id, m, len)) != WN_OK)
			return rv;
		if (m->stored == 0)
			m->start = m->end;
		if ((rv = output_append(c, b, j->id, m, data, len)) != WN_OK)
			return rv;
		changed = true;
	}
	if (changed)
		wn_records_output_put(b, j->id, m);
	return WN_OK;
}

/* What a read collects: contiguous bytes from where it starts. */
struct rd {
	uint64_t from; /* the first byte wanted */
	uint64_t at;   /* where the data starts (0 bytes yet: none found) */
	bool found;
	char *buf;
	size_t len, max;
};

static bool read_chunk(void *arg, uint64_t start, const char *data, size_t len)
{
	struct rd *r = arg;
	if (!r->found) {
		r->found = true;
		r->at = start > r->from ? start : r->from; /* after a gap: from its end */
	} else if (start != r->at + r->len) {
		return false; /* a gap: the next read starts after it */
	}
	uint64_t skip = r->at + r->len - start;
	size_t n = len - (size_t)skip;
	if (n > r->max - r->len)
		n = r->max - r->len;
	memcpy(r->buf + r->len, data + skip, n);
	r->len += n;
	return r->len < r->max;
}

int wn_output_read(struct call *c, const Job *j, uint64_t offset, uint32_t attempt, size_t max,
                   Whatsnext__V1__LogResponse *r)
{
	Whatsnext__V1__OutputRecord *m = NULL;
	int rv = wn_records_output_get(&c->rec, j->id, &m);
	if (rv == WN_ENOTFOUND) {
		r->offset = r->next_offset = 0; /* nothing kept */
		return WN_OK;
	}
	if (rv != WN_OK)
		return output_unreadable(c, rv, j->id);
	r->attempt = m->attempt;
	r->start = m->start;
	r->end = m->end;
	uint64_t from = attempt != 0 && attempt != m->attempt ? m->start : offset;
	if (from > m->end)
		from = m->end;
	struct rd rd = {.from = from, .max = max};
	if (from < m->end && max > 0) {
		uint64_t want = m->end - from < max ? m->end - from : max;
		rd.buf = wn_arena_alloc(c->arena, (size_t)want + 1);
		rd.max = (size_t)want;
		rv = wn_records_output_chunks(c->e->rec, j->id, from, read_chunk, &rd);
		if (rv != WN_OK)
			return output_unreadable(c, rv, j->id);
	}
	r->offset = rd.found ? rd.at : from;
	r->next_offset = r->offset + rd.len;
	if (!rd.found && from < m->end)
		r->offset = r->next_offset = m->end; /* nothing kept past from */
	r->data.data = (uint8_t *)rd.buf;
	r->data.len = rd.len;
	return WN_OK;
}

bool wn_output_ended(struct call *c, const Job *j)
{
	if (j->status == PENDING || j->status == RUNNING)
		return false;
	/* a job cancelled while it ran ends when its worker reports */
	return !(j->status == CANCELLED && wn_job_lease_cancelled(c->e, j->id, j->attempt));
}
