/* sweeper: the periodic work, on a thread of its own (or at each request, in
 * tests that move the clock): leases that ran out, fetches parked past their
 * deadline or from connections now closed, workers that stopped
 * heartbeating, request ids past their day, finished jobs past the retention
 * time. The public entry points are in engine.h (wn_engine_tick,
 * wn_engine_expire_finished, wn_engine_conn_closed). */
#ifndef WN_SWEEPER_H
#define WN_SWEEPER_H

#include "engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The sweeper's state (struct wn_engine composes it). */
struct sweeper {
	pthread_t thread;
	bool running; /* the thread was started */
	bool stopping;
	pthread_mutex_t closed_mu; /* connections closed, for the next tick */
	uint32_t *closed;
	size_t nclosed, capclosed;
	pthread_mutex_t periodic_mu;  /* one periodic pass at a time */
	int64_t forget_at, expire_at; /* next request-id forget, retention pass (monotonic) */
	uint64_t recoveries;          /* of the store, as the last tick saw them */
};

/* wn_sweeper_init sets up e's sweeper, not started. */
void wn_sweeper_init(wn_engine *e);
/* wn_sweeper_start starts the sweeper's thread; false if it cannot. */
bool wn_sweeper_start(wn_engine *e);
/* wn_sweeper_stop stops the thread, if started, and waits for it. */
void wn_sweeper_stop(wn_engine *e);
/* wn_sweeper_release frees what the sweeper holds (stopped). */
void wn_sweeper_release(wn_engine *e);
/* wn_sweeper_periodic does the periodic work that is due now; returns the
 * monotonic time it is next due. */
int64_t wn_sweeper_periodic(wn_engine *e);

#endif
