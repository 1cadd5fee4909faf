#include "gridrange.h"

#include "err.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
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

/* gridrange_copy returns the n bytes at s as a string (malloc'd); NULL when
 * they are none or start with a blank. */
static char *gridrange_copy(const char *s, size_t n)
{
	if (n == 0 || n > INT32_MAX || isspace((unsigned char)s[0]))
		return NULL;
	return wn_xasprintf("%.*s", (int)n, s);
}

/* What gridrange_num and gridrange_int found in the bytes they parse. */
enum { GR_NUM = 0, GR_NOT_NUM = -1, GR_OUT_OF_RANGE = -2 };

/* gridrange_num parses all of the n bytes at s as a finite number: GR_NUM,
 * GR_NOT_NUM, or GR_OUT_OF_RANGE for a number too large or too small (other
 * than 0) for a double. */
static int gridrange_num(const char *s, size_t n, double *out)
{
	char *buf = gridrange_copy(s, n), *end = NULL;
	if (buf == NULL)
		return GR_NOT_NUM;
	errno = 0;
	double v = strtod(buf, &end);
	int rv = end == buf || *end != '\0'   ? GR_NOT_NUM
	         : errno == ERANGE            ? GR_OUT_OF_RANGE
	         : errno != 0 || !isfinite(v) ? GR_NOT_NUM
	                                      : GR_NUM;
	free(buf);
	if (rv == GR_NUM)
		*out = v;
	return rv;
}

/* gridrange_int parses all of the n bytes at s as a decimal integer: GR_NUM,
 * GR_NOT_NUM, or GR_OUT_OF_RANGE for digits past a 64-bit integer. */
static int gridrange_int(const char *s, size_t n, long long *out)
{
	char *buf = gridrange_copy(s, n);
	if (buf == NULL)
		return GR_NOT_NUM;
	int64_t v;
	const char *p = buf + (buf[0] == '-' || buf[0] == '+');
	int rv = wn_parse_i64(buf, INT64_MIN, INT64_MAX, &v) == WN_OK ? GR_NUM
	         : *p != '\0' && strspn(p, "0123456789") == strlen(p) ? GR_OUT_OF_RANGE
	                                                              : GR_NOT_NUM;
	free(buf);
	if (rv == GR_NUM)
		*out = v;
	return rv;
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
		int ra = gridrange_int(s, (size_t)(dots - s), &ia);
		int rb = ra == GR_NUM ? gridrange_int(b, blen, &ib) : GR_NUM;
		if (ra == GR_OUT_OF_RANGE || rb == GR_OUT_OF_RANGE)
			return gridrange_bad(item, errmsg,
			                     "%s is out of range: integers go from %lld to %lld",
			                     ra == GR_OUT_OF_RANGE ? "A" : "B",
			                     (long long)INT64_MIN, (long long)INT64_MAX);
		if (ra != GR_NUM || rb != GR_NUM)
			return gridrange_bad(item, errmsg, "A..B without a count takes integers");
		return gridrange_ints(item, ia, ib, max, values, n, errmsg);
	}
	double da, db;
	long long count;
	int ra = gridrange_num(s, (size_t)(dots - s), &da);
	int rb = ra == GR_NUM ? gridrange_num(b, blen, &db) : GR_NUM;
	if (ra == GR_OUT_OF_RANGE || rb == GR_OUT_OF_RANGE)
		return gridrange_bad(item, errmsg,
		                     "%s is out of range: a number other than 0 must be from "
		                     "%.1e to %.1e in size",
		                     ra == GR_OUT_OF_RANGE ? "A" : "B", DBL_MIN, DBL_MAX);
	if (ra != GR_NUM || rb != GR_NUM)
		return gridrange_bad(item, errmsg, "A and B must be numbers");
	if (gridrange_int(colon + 1, strlen(colon + 1), &count) != GR_NUM || count < 2 ||
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
