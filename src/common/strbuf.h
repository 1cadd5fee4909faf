/* strbuf: a growable NUL-terminated string, usable on the stack.
 *
 *   wn_strbuf b = WN_STRBUF_INIT;
 *   wn_strbuf_addf(&b, "%d jobs", n);
 *   char *s = wn_strbuf_take(&b);   // the caller frees s; b is empty again
 *
 * Allocation never fails (it aborts, like wn_xmalloc). b.s is NULL until the
 * first byte is added; wn_strbuf_str gives "" then. */
#ifndef WN_STRBUF_H
#define WN_STRBUF_H

#include <stddef.h>

typedef struct wn_strbuf {
	char *s;    /* the text, NUL-terminated once anything was added, else NULL */
	size_t len; /* bytes of text, without the NUL */
	size_t cap; /* bytes allocated at s */
} wn_strbuf;

#define WN_STRBUF_INIT                                                                             \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* wn_strbuf_add appends the n bytes at s (which may hold NULs) to b. */
void wn_strbuf_add(wn_strbuf *b, const char *s, size_t n);
/* wn_strbuf_adds appends the NUL-terminated string s to b. */
void wn_strbuf_adds(wn_strbuf *b, const char *s);
/* wn_strbuf_addc appends the one byte c to b. */
void wn_strbuf_addc(wn_strbuf *b, char c);
/* wn_strbuf_addf appends printf-formatted text to b. */
void wn_strbuf_addf(wn_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* wn_strbuf_str returns b's text, "" when nothing was added; valid until b changes. */
const char *wn_strbuf_str(const wn_strbuf *b);
/* wn_strbuf_take returns b's text as a malloc'd string the caller frees ("" when
 * empty) and leaves b empty, owning nothing. */
char *wn_strbuf_take(wn_strbuf *b);
/* wn_strbuf_reset empties b's text and keeps its memory for reuse. */
void wn_strbuf_reset(wn_strbuf *b);
/* wn_strbuf_free releases b's memory and leaves b empty (a no-op on an empty b). */
void wn_strbuf_free(wn_strbuf *b);

#endif
