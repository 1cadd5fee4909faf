/* http_range: the Range and If-Range headers of a request (http_range.h). */
#include "http_range.h"

#include <string.h>
#include <strings.h>

/* range_blank moves p past spaces and tabs. */
static const char *range_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* range_number reads the digits at *p (at least one) into *n, those past
 * 2^64-1 as 2^64-1, and moves *p past them; false when there is none. */
static bool range_number(const char **p, uint64_t *n)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*p = s;
	*n = v;
	return true;
}

int wn_http_range(const char *value, uint64_t len, uint64_t *first, uint64_t *last)
{
	*first = *last = 0;
	if (value == NULL)
		return WN_RANGE_WHOLE;
	const char *p = range_blank(value);
	if (strncasecmp(p, "bytes", 5) != 0)
		return WN_RANGE_WHOLE;
	p = range_blank(p + 5);
	if (*p++ != '=')
		return WN_RANGE_WHOLE;
	p = range_blank(p);
	while (*p == ',') /* empty elements of the list (RFC 9110 5.6.1) */
		p = range_blank(p + 1);
	uint64_t a = 0, b = UINT64_MAX;
	bool suffix = *p == '-';
	if (suffix) {
		p++;
		if (!range_number(&p, &b))
			return WN_RANGE_WHOLE;
	} else {
		if (!range_number(&p, &a) || *p++ != '-')
			return WN_RANGE_WHOLE;
		if (*p >= '0' && *p <= '9' && (!range_number(&p, &b) || b < a))
			return WN_RANGE_WHOLE;
	}
	p = range_blank(p);
	while (*p == ',')
		p = range_blank(p + 1);
	if (*p != '\0')
		return WN_RANGE_WHOLE; /* another range follows, or bad syntax */
	if (suffix) {
		if (b == 0)
			return WN_RANGE_NONE;
		if (len == 0)
			return WN_RANGE_WHOLE;
		*first = b >= len ? 0 : len - b;
		*last = len - 1;
		return WN_RANGE_PART;
	}
	if (a >= len)
		return WN_RANGE_NONE;
	*first = a;
	*last = b >= len ? len - 1 : b;
	return WN_RANGE_PART;
}

bool wn_http_if_range(const char *value, const char *etag)
{
	if (value == NULL)
		return true;
	const char *p = range_blank(value);
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	/* a weak tag ("W/...") or a date never matches: the comparison is strong */
	return n == strlen(etag) && n >= 2 && p[0] == '"' && memcmp(p, etag, n) == 0;
}
