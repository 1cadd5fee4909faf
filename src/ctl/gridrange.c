#include "gridrange.h"

#include "err.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gridrange_is_range tells whether item is written as a range. */
static bool gridrange_is_range(const char *item)
{
	if (strncmp(item, "log:", 4) == 0)
		return true;
	const char *p = item;
	if (*p == '-' || *p == '+')
		p++;
	return isdigit((unsigned char)*p) && strstr(item, "..") != NULL;
}

/* gridrange_copy copies the n bytes at s into buf (size bytes) as a string;
 * false when they are none, too many, or start with a blank. */
static bool gridrange_copy(const char *s, size_t n, char *buf, size_t size)
{
	if (n == 0 || n >= size || isspace((unsigned char)s[0]))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

/* gridrange_num parses all of the n bytes at s as a finite number. */
static bool gridrange_num(const char *s, size_t n, double *out)
{
	char buf[64], *end = NULL;
	if (!gridrange_copy(s, n, buf, sizeof(buf)))
		return false;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* gridrange_int parses all of the n bytes at s as a decimal integer. */
static bool gridrange_int(const char *s, size_t n, long long *out)
{
	char buf[32];
	int64_t v;
	if (!gridrange_copy(s, n, buf, sizeof(buf)) ||
	    wn_parse_i64(buf, INT64_MIN, INT64_MAX, &v) != WN_OK)
		return false;
	*out = v;
	return true;
}

/* gridrange_bad stores "invalid range 'ITEM': WHY" in *errmsg and returns WN_EINVAL. */
__attribute__((format(printf, 3, 4))) static int gridrange_bad(const char *item, char **errmsg,
                                                               const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = NULL;
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	*errmsg = wn_xasprintf("invalid range '%s': %s", item, why ? why : fmt);
	free(why);
	return WN_EINVAL;
}

/* gridrange_ints expands A..B of integers. */
static int gridrange_ints(const char *item, long long a, long long b, size_t max, char ***values,
                          size_t *n, char **errmsg)
{
	long double span = fabsl((long double)b - (long double)a) + 1;
	if (span > (long double)max)
		return gridrange_bad(item, errmsg, "more than %zu values", max);
	size_t count = (size_t)span;
	char **v = wn_xcalloc(count, sizeof(char *));
	for (size_t i = 0; i < count; i++) {
		long long x = a <= b ? a + (long long)i : a - (long long)i;
		v[i] = wn_xasprintf("%lld", x);
	}
	*values = v;
	*n = count;
	return 1;
}

int wn_gridrange_parse(const char *item, size_t max, char ***values, size_t *n, char **errmsg)
{
	if (!gridrange_is_range(item))
		return 0;
	bool lg = strncmp(item, "log:", 4) == 0;
	const char *s = lg ? item + 4 : item;
	const char *dots = strstr(s, "..");
	if (dots == NULL)
		return gridrange_bad(item, errmsg, "expected A..B");
	const char *b = dots + 2;
	const char *colon = strchr(b, ':');
	size_t blen = colon != NULL ? (size_t)(colon - b) : strlen(b);
	if (colon == NULL) {
		long long ia, ib;
		if (lg)
			return gridrange_bad(item, errmsg,
			                     "a log range needs a count (log:A..B:N)");
		if (!gridrange_int(s, (size_t)(dots - s), &ia) || !gridrange_int(b, blen, &ib))
			return gridrange_bad(item, errmsg, "A..B without a count takes integers");
		return gridrange_ints(item, ia, ib, max, values, n, errmsg);
	}
	double da, db;
	long long count;
	if (!gridrange_num(s, (size_t)(dots - s), &da) || !gridrange_num(b, blen, &db))
		return gridrange_bad(item, errmsg, "A and B must be numbers");
	if (!gridrange_int(colon + 1, strlen(colon + 1), &count) || count < 2 ||
	    (unsigned long long)count > max)
		return gridrange_bad(item, errmsg, "the count N must be an integer from 2 to %zu",
		                     max);
	if (lg && (da <= 0 || db <= 0))
		return gridrange_bad(item, errmsg, "a log range needs A and B above 0");
	char **v = wn_xcalloc((size_t)count, sizeof(char *));
	double la = lg ? log10(da) : da, lb = lg ? log10(db) : db;
	for (long long i = 0; i < count; i++) {
		double x = i == 0 ? da : i == count - 1 ? db : 0;
		if (i > 0 && i < count - 1) {
			/* weights, not la + (lb - la) * f: lb - la overflows for
			 * -1e308..1e308 */
			double f = (double)i / (double)(count - 1);
			double t = la * (1 - f) + lb * f;
			x = lg ? pow(10, t) : t;
		}
		if (x == 0)
			x = 0; /* no "-0" */
		v[i] = wn_xasprintf("%.12g", x);
	}
	*values = v;
	*n = (size_t)count;
	return 1;
}
