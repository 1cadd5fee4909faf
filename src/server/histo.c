/* histo: histograms of durations with fixed buckets (histo.h). */
#include "histo.h"

#include <time.h>

#define US  1000ULL
#define MS  1000000ULL
#define SEC 1000000000ULL

const wn_histo_scale wn_histo_fast = {
    .n = 18,
    .le_ns = {10 * US, 25 * US, 50 * US, 100 * US, 250 * US, 500 * US, 1 * MS, 2500 * US, 5 * MS,
              10 * MS, 25 * MS, 50 * MS, 100 * MS, 250 * MS, 500 * MS, 1 * SEC, 2500 * MS,
              10 * SEC},
    .unit_ns = 1,
};

const wn_histo_scale wn_histo_wait = {
    .n = 18,
    .le_ns = {1 * MS, 5 * MS, 10 * MS, 50 * MS, 100 * MS, 500 * MS, 1 * SEC, 5 * SEC, 10 * SEC,
              30 * SEC, 60 * SEC, 300 * SEC, 900 * SEC, 1800 * SEC, 3600 * SEC, 4 * 3600 * SEC,
              12 * 3600 * SEC, 24 * 3600 * SEC},
    .unit_ns = MS,
};

const wn_histo_scale wn_histo_run = {
    .n = 17,
    .le_ns = {1 * SEC, 5 * SEC, 10 * SEC, 30 * SEC, 60 * SEC, 120 * SEC, 300 * SEC, 600 * SEC,
              1800 * SEC, 3600 * SEC, 2 * 3600 * SEC, 4 * 3600 * SEC, 8 * 3600 * SEC,
              12 * 3600 * SEC, 24 * 3600 * SEC, 3 * 24 * 3600 * SEC, 7 * 24 * 3600 * SEC},
    .unit_ns = MS,
};

int64_t wn_histo_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void wn_histo_observe(wn_histo *h, const wn_histo_scale *s, int64_t ns)
{
	uint64_t v = ns > 0 ? (uint64_t)ns : 0;
	size_t i = 0;
	while (i < s->n && v > s->le_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, v / s->unit_ns, memory_order_relaxed);
}

void wn_histo_read(const wn_histo *h, const wn_histo_scale *s, wn_histo_snap *out)
{
	uint64_t acc = 0;
	for (size_t i = 0; i <= s->n; i++) {
		acc += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		out->cum[i] = acc;
	}
	out->count = acc;
	uint64_t sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
	out->sum_s = (double)sum * (double)s->unit_ns / 1e9;
}

void wn_histo_snap_add(wn_histo_snap *acc, const wn_histo_snap *x, const wn_histo_scale *s)
{
	for (size_t i = 0; i <= s->n; i++)
		acc->cum[i] += x->cum[i];
	acc->count += x->count;
	acc->sum_s += x->sum_s;
}
