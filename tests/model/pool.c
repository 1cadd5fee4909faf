/* pool: a list of allocations freed together. */
#include "pool.h"

#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool_blk {
	struct pool_blk *next;
	max_align_t data[];
};

static struct pool_blk *pool_head;

void *pool_alloc(size_t n)
{
	struct pool_blk *b = wn_xcalloc(1, sizeof(*b) + n + 1);
	b->next = pool_head;
	pool_head = b;
	return b->data;
}

char *pool_strdup(const char *s)
{
	size_t n = strlen(s);
	char *d = pool_alloc(n + 1);
	memcpy(d, s, n);
	return d;
}

char *pool_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = pool_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void pool_reset(void)
{
	while (pool_head != NULL) {
		struct pool_blk *n = pool_head->next;
		free(pool_head);
		pool_head = n;
	}
}
