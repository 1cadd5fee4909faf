/* clock: the engine's clocks and the sweeper's alarm (clock.h). */
#include "clock.h"

#include "engine_state.h"
#include "util.h"

#include <time.h>

static int64_t engine_real_clock(void *arg)
{
	(void)arg;
	return wn_now_ms();
}

static int64_t engine_real_mono(void *arg)
{
	(void)arg;
	return wn_mono_ms();
}

void wn_clock_init(struct clock *k, int64_t (*wall)(void *), int64_t (*mono)(void *), void *arg)
{
	k->wall = wall != NULL ? wall : engine_real_clock;
	k->mono = mono != NULL ? mono : engine_real_mono;
	k->arg = arg;
	k->wall_off = k->wall(arg) - k->mono(arg);
	k->wake_at = 0;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wall-clock steps do not move it */
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void wn_clock_release(struct clock *k)
{
	pthread_cond_destroy(&k->cv);
}

int64_t wn_engine_now(wn_engine *e)
{
	return e->clock.wall(e->clock.arg);
}

int64_t wn_engine_mono(wn_engine *e)
{
	return e->clock.mono(e->clock.arg);
}

int64_t wn_engine_mono_to_wall(wn_engine *e, int64_t mono)
{
	/* the clocks' distance is kept until the wall clock steps (over a
	 * second), so the same deadline reads the same on every call */
	int64_t off = wn_engine_now(e) - wn_engine_mono(e);
	if (off - e->clock.wall_off > 1000 || e->clock.wall_off - off > 1000)
		e->clock.wall_off = off;
	return mono + e->clock.wall_off;
}

void wn_engine_wake(wn_engine *e, int64_t at)
{
	if (e->clock.wake_at == 0 || at < e->clock.wake_at)
		pthread_cond_signal(&e->clock.cv);
}
