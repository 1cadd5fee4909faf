/* lease: a binary min-heap of leases ordered by (expiry, job id), and a map
 * from job id to heap position (stored as position + 1, since the map's
 * NULL means absent). Every move within the heap updates the map. */
#include "lease.h"

#include "err.h"
#include "map.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

typedef struct lease_ent {
	int64_t expires_ms;
	uint64_t job;
	uint32_t attempt;
} lease_ent;

struct wn_leases {
	lease_ent *heap;
	size_t count;
	size_t cap;
	wn_map *pos; /* job -> (void *)(heap index + 1) */
};

static inline bool lease_before(const lease_ent *a, const lease_ent *b)
{
	return a->expires_ms < b->expires_ms || (a->expires_ms == b->expires_ms && a->job < b->job);
}

static inline void lease_place(wn_leases *l, size_t i, const lease_ent *e)
{
	l->heap[i] = *e;
	wn_map_put_u64(l->pos, e->job, (void *)(uintptr_t)(i + 1));
}

static inline bool lease_lookup(const wn_leases *l, uint64_t job, size_t *i)
{
	uintptr_t v = (uintptr_t)wn_map_get_u64(l->pos, job);
	if (v == 0)
		return false;
	*i = v - 1;
	assert(*i < l->count && l->heap[*i].job == job);
	return true;
}

/* lease_sift moves e, destined for slot i, up or down to its place. */
static void lease_sift(wn_leases *l, size_t i, lease_ent e)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!lease_before(&e, &l->heap[parent]))
			break;
		lease_place(l, i, &l->heap[parent]);
		i = parent;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->count)
			break;
		if (c + 1 < l->count && lease_before(&l->heap[c + 1], &l->heap[c]))
			c++;
		if (!lease_before(&l->heap[c], &e))
			break;
		lease_place(l, i, &l->heap[c]);
		i = c;
	}
	lease_place(l, i, &e);
}

/* lease_remove_at takes slot i out of the heap. */
static void lease_remove_at(wn_leases *l, size_t i)
{
	wn_map_del_u64(l->pos, l->heap[i].job);
	l->count--;
	if (i < l->count)
		lease_sift(l, i, l->heap[l->count]);
}

wn_leases *wn_leases_new(void)
{
	wn_leases *l = wn_xcalloc(1, sizeof(*l));
	l->pos = wn_map_new_u64();
	return l;
}

void wn_leases_free(wn_leases *l)
{
	if (l == NULL)
		return;
	wn_map_free(l->pos);
	free(l->heap);
	free(l);
}

void wn_leases_put(wn_leases *l, uint64_t job, uint32_t attempt, int64_t expires_ms)
{
	lease_ent e = {.expires_ms = expires_ms, .job = job, .attempt = attempt};
	size_t i;
	if (lease_lookup(l, job, &i)) {
		lease_sift(l, i, e);
		return;
	}
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->heap = wn_xrealloc(l->heap, l->cap * sizeof(*l->heap));
	}
	l->count++;
	lease_sift(l, l->count - 1, e);
}

int wn_leases_get(const wn_leases *l, uint64_t job, uint32_t *attempt, int64_t *expires_ms)
{
	size_t i;
	if (!lease_lookup(l, job, &i))
		return WN_ENOTFOUND;
	if (attempt != NULL)
		*attempt = l->heap[i].attempt;
	if (expires_ms != NULL)
		*expires_ms = l->heap[i].expires_ms;
	return WN_OK;
}

int wn_leases_extend(wn_leases *l, uint64_t job, uint32_t attempt, int64_t expires_ms)
{
	size_t i;
	if (!lease_lookup(l, job, &i))
		return WN_ENOTFOUND;
	if (l->heap[i].attempt != attempt)
		return WN_ESTATE;
	lease_ent e = l->heap[i];
	e.expires_ms = expires_ms;
	lease_sift(l, i, e);
	return WN_OK;
}

int wn_leases_remove(wn_leases *l, uint64_t job)
{
	size_t i;
	if (!lease_lookup(l, job, &i))
		return WN_ENOTFOUND;
	lease_remove_at(l, i);
	return WN_OK;
}

int64_t wn_leases_next_due(const wn_leases *l)
{
	return l->count > 0 ? l->heap[0].expires_ms : INT64_MAX;
}

bool wn_leases_pop_expired(wn_leases *l, int64_t now_ms, uint64_t *job, uint32_t *attempt)
{
	if (l->count == 0 || l->heap[0].expires_ms > now_ms)
		return false;
	if (job != NULL)
		*job = l->heap[0].job;
	if (attempt != NULL)
		*attempt = l->heap[0].attempt;
	lease_remove_at(l, 0);
	return true;
}

static int lease_cmp(const void *a, const void *b)
{
	return lease_before(a, b) ? -1 : lease_before(b, a) ? 1 : 0;
}

void wn_leases_grace(wn_leases *l, int64_t until)
{
	if (l->count == 0)
		return; /* no heap yet, nothing to order */
	for (size_t i = 0; i < l->count; i++)
		if (l->heap[i].expires_ms < until)
			l->heap[i].expires_ms = until;
	/* in order again (ties go by job id): a sorted array is a heap */
	qsort(l->heap, l->count, sizeof(*l->heap), lease_cmp);
	for (size_t i = 0; i < l->count; i++)
		lease_place(l, i, &l->heap[i]);
}

size_t wn_leases_count(const wn_leases *l)
{
	return l->count;
}

size_t wn_leases_jobs(const wn_leases *l, uint64_t *ids, size_t n)
{
	size_t k = 0;
	for (; k < n && k < l->count; k++)
		ids[k] = l->heap[k].job;
	return k;
}
