/* histo: a histogram of durations with fixed buckets, as Prometheus counts
 * them (observations at or below each bound, their sum), updated with relaxed
 * atomics so that any thread may observe and another read it without a lock.
 * A leaf every layer may use: the store times its syncs with one, the
 * metrics (metrics.h) time requests, dispatch and runs. */
#ifndef WN_HISTO_H
#define WN_HISTO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Most buckets a scale has (besides +Inf). */
#define WN_HISTO_MAX 20

/* A histogram's buckets: n upper bounds in nanoseconds, increasing, and the
 * unit its sum is kept in (ns per unit: 1 for short durations, 1000000 for
 * those of hours, whose sum in ns would overflow). */
typedef struct wn_histo_scale {
	size_t n;
	uint64_t le_ns[WN_HISTO_MAX];
	uint64_t unit_ns;
} wn_histo_scale;

/* The scales: requests and syncs (10 µs to 10 s); the wait of a ready job for
 * a worker (1 ms to a day); a job's run (1 s to a week). */
extern const wn_histo_scale wn_histo_fast, wn_histo_wait, wn_histo_run;

/* A histogram on some scale (the scale is given to each call; all zero is
 * empty). bucket[i] counts the observations in bucket i alone (not
 * cumulative), bucket[scale->n] those above the last bound. */
typedef struct wn_histo {
	_Atomic uint64_t bucket[WN_HISTO_MAX + 1];
	_Atomic uint64_t sum; /* in the scale's unit */
} wn_histo;

/* wn_histo_clock returns the monotonic clock in nanoseconds, to time what a
 * histogram observes. */
int64_t wn_histo_clock(void);

/* wn_histo_observe counts one observation of ns nanoseconds (negative: 0). */
void wn_histo_observe(wn_histo *h, const wn_histo_scale *s, int64_t ns);

/* A histogram read at one moment: cumulative counts per bound, the count of
 * all, the sum in seconds. */
typedef struct wn_histo_snap {
	uint64_t cum[WN_HISTO_MAX + 1]; /* cum[s->n] is the count of all (+Inf) */
	uint64_t count;
	double sum_s;
} wn_histo_snap;

/* wn_histo_read reads h into *out; its counts are cumulative and never fall
 * between two reads. */
void wn_histo_read(const wn_histo *h, const wn_histo_scale *s, wn_histo_snap *out);
/* wn_histo_snap_add adds what x counts (on scale s) to *acc. */
void wn_histo_snap_add(wn_histo_snap *acc, const wn_histo_snap *x, const wn_histo_scale *s);

#endif
