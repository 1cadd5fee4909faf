/* Unit tests of grid ranges (src/ctl/gridrange.c): the values `--grid K=RANGE` and a sweep
 * file's `K: RANGE` stand for, and the ranges refused. */
#include "err.h"
#include "gridrange.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* expand returns the values of item joined by spaces (malloc'd), "plain" for a plain
 * value, "error: MESSAGE" for a refused range. */
static char *expand(const char *item, size_t max)
{
	char **v = NULL, *err = NULL;
	size_t n = 0;
	int rv = wn_gridrange_parse(item, max, &v, &n, &err);
	if (rv == 0)
		return strdup("plain");
	if (rv < 0) {
		CHECK_EQ_INT(rv, WN_EINVAL);
		char *s = NULL;
		CHECK(asprintf(&s, "error: %s", err) > 0);
		free(err);
		return s;
	}
	CHECK_EQ_INT(rv, 1);
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	char *s = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, v[i]);
		free(v[i]);
	}
	free(v);
	return s;
}

static void check(const char *item, const char *want)
{
	char *got = expand(item, 1000);
	CHECK_EQ_STR(got, want);
	free(got);
}

TEST(integers)
{
	check("1..5", "1 2 3 4 5");
	check("3..1", "3 2 1");
	check("-2..1", "-2 -1 0 1");
	check("7..7", "7");
	check("+1..2", "1 2");
}

TEST(evenly_spaced)
{
	check("0..1:5", "0 0.25 0.5 0.75 1");
	check("1..-1:3", "1 0 -1");
	check("-1e308..1e308:3", "-1e+308 0 1e+308");
	check("0.1..0.3:3", "0.1 0.2 0.3");
	check("0..100:3", "0 50 100");
}

TEST(log_scale)
{
	check("log:1e-4..1e-1:4", "0.0001 0.001 0.01 0.1");
	check("log:1..100:3", "1 10 100");
	check("log:1e-3..1e-2:3", "0.001 0.00316227766017 0.01");
}

TEST(plain_values)
{
	check("../data", "plain");
	check("a..b", "plain");
	check("0.1", "plain");
	check("v1.2", "plain");
	check("", "plain");
}

TEST(refused)
{
	check("1..1O", "error: invalid range '1..1O': A..B without a count takes integers");
	check("1.5..3", "error: invalid range '1.5..3': A..B without a count takes integers");
	check("log:1..2",
	      "error: invalid range 'log:1..2': a log range needs a count (log:A..B:N)");
	check("log:0..1:3", "error: invalid range 'log:0..1:3': a log range needs A and B above 0");
	check("1..2:1",
	      "error: invalid range '1..2:1': the count N must be an integer from 2 to 1000");
	check("1..2:x",
	      "error: invalid range '1..2:x': the count N must be an integer from 2 to 1000");
	check("1..1001", "error: invalid range '1..1001': more than 1000 values");
	check("0..1:1001",
	      "error: invalid range '0..1:1001': the count N must be an integer from 2 to 1000");
	check("1..inf:3", "error: invalid range '1..inf:3': A and B must be numbers");
	check("1..1e400:3", "error: invalid range '1..1e400:3': B is out of range: a number other "
	                    "than 0 must be from 2.2e-308 to 1.8e+308 in size");
	check("0..1e-320:3", "error: invalid range '0..1e-320:3': B is out of range: a number "
	                     "other than 0 must be from 2.2e-308 to 1.8e+308 in size");
	check("log:1e-400..1:3", "error: invalid range 'log:1e-400..1:3': A is out of range: a "
	                         "number other than 0 must be from 2.2e-308 to 1.8e+308 in size");
	check("1..99999999999999999999",
	      "error: invalid range '1..99999999999999999999': B is out of range: integers go "
	      "from -9223372036854775808 to 9223372036854775807");
	check("-99999999999999999999999999999999999999999..1",
	      "error: invalid range '-99999999999999999999999999999999999999999..1': A is out of "
	      "range: integers go from -9223372036854775808 to 9223372036854775807");
	check("1..", "error: invalid range '1..': A..B without a count takes integers");
	check("log:x", "error: invalid range 'log:x': expected A..B");
	check("1..9223372036854775807",
	      "error: invalid range '1..9223372036854775807': more than 1000 values");
	check("-9223372036854775808..9223372036854775807",
	      "error: invalid range '-9223372036854775808..9223372036854775807': more than 1000 "
	      "values");
}

TEST_MAIN()
