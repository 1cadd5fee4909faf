/* ctl_parse: the values of wnctl's arguments and options read as what they
 * name (ids, integers, sizes, enum names, filters), a bad one a usage error
 * that says what was wanted. */
#include "ctl.h"
#include "json.h"

#include "err.h"
#include "kit.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *wn_ctl_filter(wn_ctl *c, const char *what, const char *s)
{
	if (s[0] == '\0')
		wn_ctl_usage(c, "invalid %s '': an empty value (leave %s out for all)", what, what);
	return s;
}

uint64_t wn_ctl_parse_id(wn_ctl *c, const char *what, const char *s)
{
	return wn_ctl_parse_u64(c, what, s, 1);
}

uint64_t wn_ctl_parse_u64(wn_ctl *c, const char *what, const char *s, uint64_t lo)
{
	uint64_t v = 0;
	int rv = wn_parse_u64(s, strlen(s), &v);
	if (rv == WN_ETOOBIG) /* digits all, but more than an id holds */
		wn_ctl_usage(c, "invalid %s '%s': out of range (at most %llu)", what, s,
		             (unsigned long long)UINT64_MAX);
	if (rv != WN_OK || v < lo)
		wn_ctl_usage(c, "invalid %s '%s': must be %s integer", what, s,
		             lo > 0 ? "a positive" : "a non-negative");
	return v;
}

int64_t wn_ctl_parse_int(wn_ctl *c, const char *what, const char *s, int64_t lo, int64_t hi)
{
	int64_t v = 0;
	if (strncmp(what, "--", 2) == 0)
		wn_ctl_once_opt(c, what, s);
	if (wn_parse_i64(s, lo, hi, &v) != WN_OK || s[0] == ' ' || s[0] == '+')
		wn_ctl_usage(c, "invalid %s '%s': must be an integer from %lld to %lld", what, s,
		             (long long)lo, (long long)hi);
	return v;
}

uint64_t wn_ctl_parse_mb(wn_ctl *c, const char *what, const char *s)
{
	uint64_t mib = 0;
	if (strncmp(what, "--", 2) == 0)
		wn_ctl_once_opt(c, what, s);
	if (wn_size_parse(s, &mib) != WN_OK)
		wn_ctl_usage(c, "invalid %s '%s': must be a size in MB, or with a suffix M, G or T",
		             what, s);
	if (mib == 0 && strpbrk(s, "123456789") != NULL) /* "0.4": no need at all */
		wn_ctl_usage(c, "invalid %s '%s': less than 1 MB (0 is no need)", what, s);
	return mib;
}

int wn_ctl_parse_enum(wn_ctl *c, const char *what, const ProtobufCEnumDescriptor *ed, const char *s)
{
	int v = 0;
	if (wn_json_enum_parse(ed, s, &v) != WN_OK || v == 0) {
		char *list = wn_json_enum_list(ed);
		char *names = wn_ctl_strdup(c, list);
		free(list);
		wn_ctl_usage(c, "invalid %s '%s': must be one of %s", what, s, names);
	}
	return v;
}
