#include "strbuf.h"

#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strbuf_grow makes room for n more bytes and the NUL. */
static void strbuf_grow(wn_strbuf *b, size_t n)
{
	if (n > SIZE_MAX / 2 - b->len - 1) {
		char what[80];
		snprintf(what, sizeof(what), "growing a string of %zu bytes", b->len);
		wn_oom(what);
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap *= 2;
	b->s = wn_xrealloc(b->s, cap);
	b->cap = cap;
}

void wn_strbuf_add(wn_strbuf *b, const char *s, size_t n)
{
	strbuf_grow(b, n);
	if (n > 0)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void wn_strbuf_adds(wn_strbuf *b, const char *s)
{
	wn_strbuf_add(b, s, strlen(s));
}

void wn_strbuf_addc(wn_strbuf *b, char c)
{
	wn_strbuf_add(b, &c, 1);
}

void wn_strbuf_addf(wn_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list again;
	va_copy(again, ap);
	strbuf_grow(b, 0);
	size_t room = b->cap - b->len;
	int n = vsnprintf(b->s + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(again);
		fprintf(stderr, "cannot format a string: %s\n", fmt);
		abort();
	}
	if ((size_t)n >= room) {
		strbuf_grow(b, (size_t)n);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	b->len += (size_t)n;
}

const char *wn_strbuf_str(const wn_strbuf *b)
{
	return b->s != NULL ? b->s : "";
}

char *wn_strbuf_take(wn_strbuf *b)
{
	char *s = b->s != NULL ? b->s : wn_xstrdup("");
	*b = (wn_strbuf)WN_STRBUF_INIT;
	return s;
}

void wn_strbuf_reset(wn_strbuf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

void wn_strbuf_free(wn_strbuf *b)
{
	free(b->s);
	*b = (wn_strbuf)WN_STRBUF_INIT;
}
