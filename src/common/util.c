#include "util.h"

#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void wn_oom(const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s: out of memory %s\n",
	                 program_invocation_short_name, what);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		abort(); /* nothing more to say */
	abort();
}

static void util_oom(size_t n)
{
	char what[64];
	snprintf(what, sizeof(what), "allocating %zu bytes", n);
	wn_oom(what);
}

void *wn_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		util_oom(n);
	return p;
}

void *wn_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (p == NULL)
		util_oom(n * sz);
	return p;
}

void *wn_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		util_oom(n);
	return q;
}

char *wn_xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = wn_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

char *wn_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		util_oom(strlen(fmt));
	return s;
}

static int64_t util_clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wn_now_ms(void)
{
	return util_clock_ms(CLOCK_REALTIME);
}

int64_t wn_mono_ms(void)
{
	return util_clock_ms(CLOCK_MONOTONIC);
}

const char *wn_name_check(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return "name is empty";
	size_t n = strlen(s);
	if (n > WN_NAME_MAX)
		return "name is longer than 128 bytes";
	unsigned char c0 = (unsigned char)s[0];
	if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || (c0 >= '0' && c0 <= '9')))
		return "name must start with a letter or digit";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return "name may hold only letters, digits, '.', '_' and '-'";
	}
	return NULL;
}

const char *wn_label_value_check(const char *s)
{
	if (strlen(s) > WN_NAME_MAX)
		return "is longer than 128 bytes";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		/* C0, DEL, and C1 (U+0080 to U+009F: 0xc2 0x80 to 0xc2 0x9f) */
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return "holds a control character (a line break, a tab, ...): a label "
			       "value is one line of text";
	return NULL;
}

const char *wn_job_name_check(const char *s)
{
	char tmp[WN_NAME_MAX + 2];
	size_t n = strlen(s);
	if (n > WN_NAME_MAX)
		return "name is longer than 128 bytes";
	memcpy(tmp, s, n + 1);
	for (size_t i = 1; i < n; i++)
		if (strchr("=,:+@", tmp[i]) != NULL)
			tmp[i] = '_';
	const char *why = wn_name_check(tmp);
	if (why != NULL && strncmp(why, "name may hold only", 18) == 0)
		return "a job name may hold only letters, digits, '.', '_', '-' and, after its "
		       "first "
		       "character, '=', ',', ':', '+' and '@'";
	return why;
}

uint64_t wn_random_u64(void)
{
	uint64_t v = 0;
	while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		;
	return v;
}

/* The request id stream of a thread: splitmix64 from a random seed. A
 * fork's child starts a new one (its parent's would repeat). */
static _Thread_local uint64_t id_state;
static _Thread_local bool id_seeded;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_forget(void)
{
	id_seeded = false;
}

static void id_register(void)
{
	pthread_atfork(NULL, NULL, id_forget);
}

uint64_t wn_request_id(void)
{
	if (!id_seeded) {
		pthread_once(&id_once, id_register);
		id_state = wn_random_u64();
		id_seeded = true;
	}
	uint64_t z = (id_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) | 1;
}

int wn_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	bool big = false;
	if (n == 0)
		return WN_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WN_EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		big |= v > (UINT64_MAX - d) / 10;
		v = big ? v : v * 10 + d;
	}
	if (big)
		return WN_ETOOBIG;
	*out = v;
	return WN_OK;
}

int wn_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return WN_EINVAL;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return WN_EINVAL;
	*out = v;
	return WN_OK;
}
