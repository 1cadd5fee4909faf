/* index: the in-memory ready index of one queue, an ordered set of
 * (priority, job id) in dispatch order: higher priority first, then lower id.
 * Built from the store at start; fetch cost does not depend on how many jobs
 * were ever claimed or finished. */
#ifndef WN_INDEX_H
#define WN_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wn_index wn_index;

typedef struct wn_index_entry {
	int32_t priority;
	uint64_t id;
} wn_index_entry;

/* wn_index_new creates an empty index. */
wn_index *wn_index_new(void);
/* wn_index_free frees the index; NULL is a no-op. */
void wn_index_free(wn_index *ix);

/* wn_index_insert adds (priority, id); WN_EEXIST if that exact entry is present. */
int wn_index_insert(wn_index *ix, int32_t priority, uint64_t id);
/* wn_index_remove removes (priority, id); WN_ENOTFOUND if absent. */
int wn_index_remove(wn_index *ix, int32_t priority, uint64_t id);
/* wn_index_first stores the head entry in *e; false when empty. */
bool wn_index_first(const wn_index *ix, wn_index_entry *e);
/* wn_index_count returns the number of entries. */
size_t wn_index_count(const wn_index *ix);

/* wn_index_before reports whether a goes before b in dispatch order. */
bool wn_index_before(const wn_index_entry *a, const wn_index_entry *b);

/* Ordered walk from the head; the index must not change meanwhile. */
typedef struct wn_index_iter {
	const void *node;
} wn_index_iter;
/* wn_index_iter_init positions it before the head. */
void wn_index_iter_init(const wn_index *ix, wn_index_iter *it);
/* wn_index_iter_next stores the next entry in *e; false at the end. */
bool wn_index_iter_next(wn_index_iter *it, wn_index_entry *e);

#endif
