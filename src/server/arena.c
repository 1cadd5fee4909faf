#include "arena.h"

#include "util.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 16384
/* An arena this large served a large request (a batch, a long list). */
#define ARENA_LARGE (1u << 20)
/* While large requests go on, wn_arena_trim trims every this many calls. */
#define ARENA_TRIM_EVERY 20

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct wn_arena {
	struct chunk *head;
	size_t bytes; /* in its chunks */
	ProtobufCAllocator pa;
};

/* Large arenas freed so far. */
static atomic_uint_fast64_t arena_large_freed;

static void *arena_pb_alloc(void *data, size_t n)
{
	return wn_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

wn_arena *wn_arena_new(void)
{
	wn_arena *a = wn_xcalloc(1, sizeof(*a));
	a->pa.alloc = arena_pb_alloc;
	a->pa.free = arena_pb_free;
	a->pa.allocator_data = a;
	return a;
}

void wn_arena_free(wn_arena *a)
{
	if (a == NULL)
		return;
	if (a->bytes >= ARENA_LARGE)
		atomic_fetch_add_explicit(&arena_large_freed, 1, memory_order_relaxed);
	struct chunk *c = a->head;
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

bool wn_arena_trim(void)
{
	static uint64_t seen, trimmed;
	static unsigned pending; /* calls since large arenas were freed untrimmed */
	uint64_t n = atomic_load_explicit(&arena_large_freed, memory_order_relaxed);
	bool quiet = n == seen; /* none freed since the previous call */
	seen = n;
	if (n == trimmed) {
		pending = 0;
		return false;
	}
	if (!quiet && ++pending < ARENA_TRIM_EVERY)
		return false;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	trimmed = n;
	pending = 0;
	return true;
}

void *wn_arena_alloc(wn_arena *a, size_t n)
{
	size_t al = sizeof(max_align_t);
	n = (n + al - 1) / al * al;
	struct chunk *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
		c = wn_xmalloc(sizeof(*c) + size);
		a->bytes += size;
		c->used = 0;
		c->size = size;
		if (n > ARENA_CHUNK / 2 && a->head != NULL) {
			/* a large block: keep filling the current chunk afterwards */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *wn_arena_strdup(wn_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = wn_arena_alloc(a, n);
	memcpy(d, s, n);
	return d;
}

char *wn_arena_printf(wn_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return wn_arena_strdup(a, "");
	char *d = wn_arena_alloc(a, (size_t)n + 1);
	if ((size_t)n < sizeof(small)) {
		memcpy(d, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(d, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return d;
}

ProtobufCAllocator *wn_arena_allocator(wn_arena *a)
{
	return &a->pa;
}
