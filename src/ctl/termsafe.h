/* termsafe: what wnctl prints for people never drives their terminal. The
 * server's strings (parameters, output tails, names, reasons, messages) may
 * hold terminal controls: a screen clear, a clipboard write (OSC 52), a
 * title change. Human output shows them as visible escapes instead. */
#ifndef WN_CTL_TERMSAFE_H
#define WN_CTL_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>

/* wn_termsafe_install replaces stdout and stderr by streams that write to the
 * same descriptors with every control made visible (wn_termsafe_escape, line
 * breaks and tabs kept); while *raw_stdout is true (JSON output) stdout
 * passes everything as it is. Call it once, before any output. */
void wn_termsafe_install(const bool *raw_stdout);

/* wn_termsafe_escape returns s (n bytes) with what a terminal would act on
 * written as visible text (malloc'd): C0 controls and DEL as \xNN (but a line
 * break and a tab when multiline), C1 controls (U+0080 to U+009F) and
 * bidirectional overrides as \uNNNN, bytes that are not UTF-8 as \xNN. */
char *wn_termsafe_escape(const char *s, size_t n, bool multiline);

/* wn_termsafe_whole returns how many of p's n bytes end on a whole UTF-8 sequence: a
 * sequence cut at the end is left out, to be escaped with the bytes that follow it. */
size_t wn_termsafe_whole(const unsigned char *p, size_t n);

/* The start of a UTF-8 sequence cut at the end of one chunk of a stream,
 * kept for the next. */
typedef struct wn_termsafe_cut {
	unsigned char b[4];
	size_t n;
} wn_termsafe_cut;

/* wn_termsafe_join returns the bytes held in cut followed by p's n, up to the
 * last whole UTF-8 sequence (malloc'd, *len bytes), and keeps in cut the start
 * of a sequence cut at the end, for the next chunk. */
unsigned char *wn_termsafe_join(wn_termsafe_cut *cut, const void *p, size_t n, size_t *len);

/* wn_termsafe_write_all writes p's n bytes to fd, all of them: a write cut short
 * goes on, and on a descriptor left non-blocking (O_NONBLOCK) that is full it
 * waits as a blocking one would. Returns 0, or -1 with errno set. */
int wn_termsafe_write_all(int fd, const void *p, size_t n);

#endif
