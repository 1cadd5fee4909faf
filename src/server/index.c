/* index: a skiplist in dispatch order (p = 1/4, so 4/3 links per entry on
 * average). Node levels come from a per-index PRNG with a fixed seed, so the
 * shape of an index depends only on its operations.
 *
 * Nodes are 16 + 8 * level bytes, carved from chunks owned by the index
 * (no per-node malloc header, neighbours in insertion order share cache
 * lines) and recycled through one free list per level. The chunks are
 * returned when the index empties, except the first, small one. */
#include "index.h"

#include "err.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

/* Under AddressSanitizer, free nodes are poisoned so a stale pointer into
 * the pool is reported like a use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define INDEX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INDEX_ASAN 1
#endif
#endif
#ifdef INDEX_ASAN
#include <sanitizer/asan_interface.h>
#define INDEX_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define INDEX_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define INDEX_POISON(p, n)   ((void)(p), (void)(n))
#define INDEX_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* 4^20 entries before the top level gets crowded: far beyond any queue. */
#define INDEX_MAX_LEVEL 20
#define INDEX_CHUNK_MIN 1024
#define INDEX_CHUNK_MAX (1024 * 1024)

typedef struct index_node {
	uint64_t id;
	int32_t priority;
	uint32_t level;
	struct index_node *next[];
} index_node;

typedef struct index_chunk {
	struct index_chunk *older;
	size_t size; /* bytes of data[] */
	max_align_t data[];
} index_chunk;

struct wn_index {
	index_node *head; /* sentinel with INDEX_MAX_LEVEL links */
	size_t count;
	uint32_t level; /* levels in use, >= 1 */
	uint64_t rng;
	index_chunk *chunks; /* newest first; carving proceeds in the newest */
	char *carve, *carve_end;
	index_node *free[INDEX_MAX_LEVEL + 1];
};

static inline size_t index_node_size(uint32_t level)
{
	return sizeof(index_node) + level * sizeof(index_node *);
}

static void index_chunk_add(wn_index *ix, size_t size)
{
	index_chunk *c = wn_xmalloc(sizeof(*c) + size);
	c->older = ix->chunks;
	c->size = size;
	ix->chunks = c;
	ix->carve = (char *)c->data;
	ix->carve_end = ix->carve + size;
}

static index_node *index_node_alloc(wn_index *ix, uint32_t level)
{
	size_t n = index_node_size(level);
	index_node *node = ix->free[level];
	if (node != NULL) {
		INDEX_UNPOISON(node, n);
		ix->free[level] = node->next[0];
		return node;
	}
	if ((size_t)(ix->carve_end - ix->carve) < n) {
		size_t size = ix->chunks->size * 2;
		if (size > INDEX_CHUNK_MAX)
			size = INDEX_CHUNK_MAX;
		index_chunk_add(ix, size);
	}
	node = (index_node *)(void *)ix->carve;
	ix->carve += n;
	return node;
}

static void index_node_release(wn_index *ix, index_node *node)
{
	node->next[0] = ix->free[node->level];
	ix->free[node->level] = node;
	INDEX_POISON(node, index_node_size(node->level));
}

/* index_reset_pool drops every chunk but the first; the index is empty. */
static void index_reset_pool(wn_index *ix)
{
	while (ix->chunks->older != NULL) {
		index_chunk *c = ix->chunks;
		ix->chunks = c->older;
		free(c);
	}
	INDEX_UNPOISON(ix->chunks->data, ix->chunks->size);
	ix->carve = (char *)ix->chunks->data;
	ix->carve_end = ix->carve + ix->chunks->size;
	for (size_t i = 0; i <= INDEX_MAX_LEVEL; i++)
		ix->free[i] = NULL;
}

/* index_random_level draws a level: k + 1 with probability (3/4)(1/4)^k. */
static uint32_t index_random_level(wn_index *ix)
{
	uint64_t z = (ix->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	uint32_t level = 1 + (uint32_t)__builtin_ctzll(z | (1ULL << 63)) / 2;
	return level > INDEX_MAX_LEVEL ? INDEX_MAX_LEVEL : level;
}

wn_index *wn_index_new(void)
{
	wn_index *ix = wn_xcalloc(1, sizeof(*ix));
	ix->head = wn_xcalloc(1, index_node_size(INDEX_MAX_LEVEL));
	ix->head->level = INDEX_MAX_LEVEL;
	ix->level = 1;
	ix->rng = 0x2545f4914f6cdd1dULL;
	index_chunk_add(ix, INDEX_CHUNK_MIN);
	return ix;
}

void wn_index_free(wn_index *ix)
{
	if (ix == NULL)
		return;
	while (ix->chunks != NULL) {
		index_chunk *c = ix->chunks;
		ix->chunks = c->older;
		free(c);
	}
	free(ix->head);
	free(ix);
}

bool wn_index_before(const wn_index_entry *a, const wn_index_entry *b)
{
	return a->priority > b->priority || (a->priority == b->priority && a->id < b->id);
}

/* index_node_before reports whether node goes before (priority, id). */
static inline bool index_node_before(const index_node *node, int32_t priority, uint64_t id)
{
	return node->priority > priority || (node->priority == priority && node->id < id);
}

/* index_find fills prev[l] with the last node before (priority, id) on
 * each level in use and returns the node after prev[0], maybe NULL. */
static index_node *index_find(const wn_index *ix, int32_t priority, uint64_t id, index_node **prev)
{
	index_node *x = ix->head;
	for (uint32_t l = ix->level; l-- > 0;) {
		index_node *n;
		while ((n = x->next[l]) != NULL && index_node_before(n, priority, id))
			x = n;
		prev[l] = x;
	}
	return x->next[0];
}

int wn_index_insert(wn_index *ix, int32_t priority, uint64_t id)
{
	index_node *prev[INDEX_MAX_LEVEL];
	index_node *n = index_find(ix, priority, id, prev);
	if (n != NULL && n->priority == priority && n->id == id)
		return WN_EEXIST;
	uint32_t level = index_random_level(ix);
	for (; ix->level < level; ix->level++)
		prev[ix->level] = ix->head;
	n = index_node_alloc(ix, level);
	n->id = id;
	n->priority = priority;
	n->level = level;
	for (uint32_t l = 0; l < level; l++) {
		n->next[l] = prev[l]->next[l];
		prev[l]->next[l] = n;
	}
	ix->count++;
	return WN_OK;
}

int wn_index_remove(wn_index *ix, int32_t priority, uint64_t id)
{
	index_node *prev[INDEX_MAX_LEVEL];
	index_node *n = index_find(ix, priority, id, prev);
	if (n == NULL || n->priority != priority || n->id != id)
		return WN_ENOTFOUND;
	for (uint32_t l = 0; l < n->level; l++) {
		assert(prev[l]->next[l] == n);
		prev[l]->next[l] = n->next[l];
	}
	while (ix->level > 1 && ix->head->next[ix->level - 1] == NULL)
		ix->level--;
	index_node_release(ix, n);
	if (--ix->count == 0)
		index_reset_pool(ix);
	return WN_OK;
}

bool wn_index_first(const wn_index *ix, wn_index_entry *e)
{
	const index_node *n = ix->head->next[0];
	if (n == NULL)
		return false;
	e->priority = n->priority;
	e->id = n->id;
	return true;
}

size_t wn_index_count(const wn_index *ix)
{
	return ix->count;
}

void wn_index_iter_init(const wn_index *ix, wn_index_iter *it)
{
	it->node = ix->head;
}

bool wn_index_iter_next(wn_index_iter *it, wn_index_entry *e)
{
	if (it->node == NULL)
		return false;
	const index_node *n = ((const index_node *)it->node)->next[0];
	it->node = n;
	if (n == NULL)
		return false;
	e->priority = n->priority;
	e->id = n->id;
	return true;
}
