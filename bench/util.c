/* wnbench: clocks, latencies, CPU time, payloads. */
#include "bench.h"
#include "err.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_sleep_until(int64_t ns)
{
	int64_t now = bench_now_ns();
	if (ns <= now)
		return;
	struct timespec ts = {(time_t)((ns - now) / 1000000000), (long)((ns - now) % 1000000000)};
	nanosleep(&ts, NULL);
}

void bench_lat_add(bench_lat *l, int64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->us = wn_xrealloc(l->us, l->cap * sizeof(*l->us));
	}
	int64_t us = ns / 1000;
	if (us < 0)
		us = 0;
	l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* bench_pct returns the nearest-rank percentile p of the sorted v, in ms. */
double bench_pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

/* bench_median returns the median of v (sorted here). */
double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* bench_cpu_ticks returns the user + system CPU time of process pid in clock
 * ticks, or -1; the system part in *sys unless sys is NULL. */
int64_t bench_cpu_ticks(int64_t pid, int64_t *sys)
{
	if (pid <= 0)
		return -1;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name (which may hold spaces): state is 3rd */
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	if (sys != NULL)
		*sys = (int64_t)st;
	return (int64_t)(ut + st);
}

/* bench_self_us returns the CPU time this program has used, microseconds;
 * the system part in *sys unless sys is NULL. */
int64_t bench_self_us(int64_t *sys)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	if (sys != NULL)
		*sys = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

/* bench_fail records the row's first failure and prints it, unless the row
 * is over and the failure is a woken call. */
void bench_fail(bench_row *row, const char *what, int code, const char *msg)
{
	if (atomic_load(&row->stopping))
		return;
	bool was = atomic_exchange(&row->failed, true);
	if (!was)
		fprintf(stderr, "wnbench: %s: %s failed: %s (%s)\n", row->target->name, what,
		        msg ? msg : "", code >= 0 ? wn_code_name(code) : wn_strerror(code));
}

/* bench_stamp makes the thread's next jobs carry due (ns) in their payload. */
void bench_stamp(bench_thread *t, int64_t due)
{
	t->due = due;
}

/* bench_payloads returns n fresh payloads, BENCH_PAYLOAD + 1 bytes apart, each
 * NUL-terminated: random letters (as little compressible as real parameters,
 * and each job's its own), headed by the due time when one is set. */
char *bench_payloads(bench_thread *t, size_t n)
{
	size_t need = n * (BENCH_PAYLOAD + 1);
	if (need > t->pay_cap) {
		t->pay_cap = need;
		t->pay = wn_xrealloc(t->pay, need);
	}
	char digits[BENCH_STAMP + 1];
	if (t->due != 0)
		snprintf(digits, sizeof(digits), "%019" PRId64, t->due);
	for (size_t i = 0; i < n; i++) {
		char *p = t->pay + i * (BENCH_PAYLOAD + 1);
		for (size_t k = 0; k < BENCH_PAYLOAD; k++) {
			t->rng ^= t->rng << 13; /* xorshift64 */
			t->rng ^= t->rng >> 7;
			t->rng ^= t->rng << 17;
			p[k] = (char)('a' + (t->rng >> 32) % 26);
		}
		p[BENCH_PAYLOAD] = '\0';
		if (t->due != 0)
			memcpy(p, digits, BENCH_STAMP);
	}
	return t->pay;
}

/* bench_due reads the due time back from a payload; 0 if it has none. */
int64_t bench_due(const char *payload)
{
	int64_t v = 0;
	for (int i = 0; i < BENCH_STAMP; i++) {
		if (payload[i] < '0' || payload[i] > '9')
			return 0;
		v = v * 10 + (payload[i] - '0');
	}
	return v;
}

/* bench_keep_id remembers a submitted job id (keep_ids rows). */
void bench_keep_id(bench_thread *t, uint64_t id)
{
	if (t->n_ids == t->cap_ids) {
		t->cap_ids = t->cap_ids ? 2 * t->cap_ids : 1024;
		t->ids = wn_xrealloc(t->ids, t->cap_ids * sizeof(*t->ids));
	}
	t->ids[t->n_ids++] = id;
}

bench_spec bench_warmup_spec(const bench_opts *o)
{
	return (bench_spec){.producers = 4,
	                    .consumers = 4,
	                    .jobs = o->warmup,
	                    .duration_ms = 2000,
	                    .backlog = o->backlog,
	                    .submit_n = 1,
	                    .claim_n = 1};
}
