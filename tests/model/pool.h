/* pool: scratch memory for building one request; everything taken from it
 * is freed at once by pool_reset. */
#ifndef WN_MODEL_POOL_H
#define WN_MODEL_POOL_H

#include <stddef.h>

/* pool_alloc returns n zeroed bytes that live until pool_reset. */
void *pool_alloc(size_t n);
/* pool_strdup copies s into the pool. */
char *pool_strdup(const char *s);
/* pool_printf formats into the pool. */
char *pool_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pool_reset frees everything taken from the pool. */
void pool_reset(void);

#endif
