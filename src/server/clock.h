/* clock: the engine's two clocks (wall clock for times shown and stored,
 * monotonic for deadlines), which tests can replace, and the alarm the
 * sweeper waits on: a module that sets an earlier deadline wakes it. */
#ifndef WN_CLOCK_H
#define WN_CLOCK_H

#include "engine.h"

#include <pthread.h>
#include <stdint.h>

struct clock {
	int64_t (*wall)(void *arg);
	int64_t (*mono)(void *arg);
	void *arg;
	int64_t wall_off;  /* wall clock minus monotonic clock, as last stepped */
	pthread_cond_t cv; /* the sweeper waits on it, under the engine lock */
	int64_t wake_at;   /* when the sweeper will next wake (monotonic; 0: busy) */
};

/* wn_clock_init sets up k with the given clocks (NULL: the real ones). */
void wn_clock_init(struct clock *k, int64_t (*wall)(void *), int64_t (*mono)(void *), void *arg);
/* wn_clock_release frees what k holds. */
void wn_clock_release(struct clock *k);

/* wn_engine_now returns the engine's wall clock in ms (times shown and stored). */
int64_t wn_engine_now(wn_engine *e);
/* wn_engine_mono returns the engine's monotonic clock in ms (deadlines: leases,
 * worker timeouts, waits), which wall-clock steps do not move. */
int64_t wn_engine_mono(wn_engine *e);
/* wn_engine_mono_to_wall converts a monotonic deadline to wall-clock ms (the
 * same answer for the same deadline until the wall clock steps; under the
 * lock). */
int64_t wn_engine_mono_to_wall(wn_engine *e, int64_t mono);
/* wn_engine_wake wakes the sweeper if deadline at (monotonic) comes before it
 * would wake (under the lock). */
void wn_engine_wake(wn_engine *e, int64_t at);

#endif
