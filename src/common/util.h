/* util: allocation that aborts on exhaustion, clocks, names and small helpers. */
#ifndef WN_UTIL_H
#define WN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define WN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Longest project, task, job or worker name, in bytes. */
#define WN_NAME_MAX 128

/* wn_oom writes "PROGRAM: out of memory <what>" on stderr and aborts. It writes
 * to the descriptor itself, allocating nothing: stderr may be a stream that
 * allocates to write (wnctl's escapes controls). what: "allocating 16 bytes". */
__attribute__((noreturn)) void wn_oom(const char *what);

/* wn_xmalloc allocates n bytes or aborts with a message (wn_oom). */
void *wn_xmalloc(size_t n);
/* wn_xcalloc allocates n zeroed elements of size sz or aborts. */
void *wn_xcalloc(size_t n, size_t sz);
/* wn_xrealloc resizes p to n bytes or aborts. */
void *wn_xrealloc(void *p, size_t n);
/* wn_xstrdup duplicates s (NULL gives NULL) or aborts. */
char *wn_xstrdup(const char *s);
/* wn_xasprintf formats into a new string or aborts. */
char *wn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* wn_now_ms returns the wall clock in Unix epoch milliseconds. */
int64_t wn_now_ms(void);
/* wn_mono_ms returns a monotonic clock in milliseconds. */
int64_t wn_mono_ms(void);

/* wn_name_check returns NULL if s is a valid name (1..WN_NAME_MAX bytes of
 * [A-Za-z0-9._-], starting with a letter or digit), else a static reason. */
const char *wn_name_check(const char *s);

/* wn_label_value_check returns NULL if s may be the value of a label (of a
 * task's needs or a worker's capacity: at most WN_NAME_MAX bytes of one line
 * of text, no control character of C0, DEL or C1), else a static reason that
 * follows "value": "is longer than 128 bytes". */
const char *wn_label_value_check(const char *s);

/* wn_job_name_check returns NULL if s is a valid job name (as wn_name_check,
 * but '=', ',', ':', '+' and '@' may follow the first character, so that
 * names can spell out parameters: "lr=0.1,bs=32"), else a static reason. */
const char *wn_job_name_check(const char *s);

/* wn_random_u64 returns 64 random bits from the kernel. */
uint64_t wn_random_u64(void);

/* wn_request_id returns an odd 64-bit request id, as unlikely to repeat as
 * a random one (a stream seeded from the kernel once per thread, and again
 * in the child of a fork) without a system call each time. Not for
 * secrets. */
uint64_t wn_request_id(void);

/* wn_parse_i64 parses a whole decimal string into *out within [lo, hi]. */
int wn_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* wn_parse_u64 parses the n bytes at s, decimal digits alone (no sign, no
 * blank), into *out: WN_ETOOBIG when they are digits but past UINT64_MAX,
 * WN_EINVAL when they are not all digits or n is 0. */
int wn_parse_u64(const char *s, size_t n, uint64_t *out);

#endif
