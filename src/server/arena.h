/* arena: a bump allocator for everything one request allocates; freed at once. */
#ifndef WN_ARENA_H
#define WN_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct wn_arena wn_arena;

/* wn_arena_new creates an empty arena. */
wn_arena *wn_arena_new(void);
/* wn_arena_free frees the arena and everything allocated from it; NULL is a no-op. */
void wn_arena_free(wn_arena *a);
/* wn_arena_alloc returns n bytes aligned for any type, zeroed. */
void *wn_arena_alloc(wn_arena *a, size_t n);
/* wn_arena_strdup copies s into the arena. */
char *wn_arena_strdup(wn_arena *a, const char *s);
/* wn_arena_printf formats into the arena. */
char *wn_arena_printf(wn_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* wn_arena_allocator returns a protobuf-c allocator that allocates from a. */
ProtobufCAllocator *wn_arena_allocator(wn_arena *a);

/* wn_arena_trim gives back to the system the memory malloc keeps once large
 * requests are done (freed memory stays with the thread's malloc arena, so
 * each serving thread holds what its largest request needed): it trims when
 * arenas of 1 MiB or more were freed before the previous call and none since,
 * and, while such requests go on, every 20th call. Call it about twice a
 * second, from one thread; true if it trimmed. */
bool wn_arena_trim(void);

#endif
