/* testclock: a clock for tests that moves when a file says so. The file holds
 * a signed decimal number of milliseconds (missing or empty: 0) added to both
 * the wall clock and the monotonic clock, and after a space, optionally, a
 * second one added to the wall clock alone (a step of the system's clock);
 * it is read each time the clock is read, so a test advances time by
 * rewriting it (write and rename). */
#ifndef WN_TESTCLOCK_H
#define WN_TESTCLOCK_H

#include <stdint.h>

typedef struct wn_testclock wn_testclock;

/* wn_testclock_new returns a clock reading its offset from path (which need
 * not exist yet). */
wn_testclock *wn_testclock_new(const char *path);
/* wn_testclock_free frees the clock; NULL is a no-op. */
void wn_testclock_free(wn_testclock *t);
/* wn_testclock_offset returns the offset of both clocks in ms the file holds
 * now (0 when it is missing, empty, unreadable, not numbers or beyond 10^13 ms
 * either way). */
int64_t wn_testclock_offset(wn_testclock *t);
/* wn_testclock_wall is the wall clock in ms plus both offsets (arg: the clock). */
int64_t wn_testclock_wall(void *arg);
/* wn_testclock_mono is the monotonic clock in ms plus the offset (arg: the clock). */
int64_t wn_testclock_mono(void *arg);

#endif
