#include "opts.h"

#include "strbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* opts_meant says that the long option written as the n bytes at name is a
 * beginning of the count options of longopts that start so, naming them. */
static void opts_meant(const char *prog, const char *name, size_t n, const struct option *longopts,
                       size_t count)
{
	wn_strbuf meant = WN_STRBUF_INIT;
	size_t k = 0;
	for (const struct option *lo = longopts; lo->name != NULL; lo++)
		if (strncmp(lo->name, name, n) == 0)
			wn_strbuf_addf(&meant, "%s'--%s'",
			               k++ == 0     ? ""
			               : k == count ? " or "
			                            : ", ",
			               lo->name);
	fprintf(stderr,
	        "%s: option '--%.*s' is not spelled in full (%s takes an option by its whole "
	        "name only): did you mean %s?\n",
	        prog, (int)n, name, prog, wn_strbuf_str(&meant));
	wn_strbuf_free(&meant);
}

/* short_value tells whether argument a, a cluster of short options, ends in
 * one that takes its value from the next argument. */
static bool short_value(const char *a, const char *shortopts)
{
	for (const char *p = a + 1; *p != '\0'; p++) {
		const char *o = *p != ':' ? strchr(shortopts, *p) : NULL;
		if (o == NULL)
			return false; /* getopt says what is wrong with it */
		if (o[1] == ':')
			return p[1] == '\0' && o[2] != ':'; /* else its value is the rest */
	}
	return false;
}

int wn_opts_spelled(const char *prog, int argc, char **argv, const char *shortopts,
                    const struct option *longopts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
			i += short_value(a, shortopts);
			continue;
		}
		size_t n = strncmp(a, "--", 2) == 0 ? strcspn(a + 2, "=") : 0;
		if (n == 0)
			continue; /* not a long option: getopt_long reads it */
		const struct option *full = NULL;
		size_t count = 0;
		for (const struct option *lo = longopts; lo->name != NULL; lo++)
			if (strncmp(lo->name, a + 2, n) == 0) {
				count++;
				full = lo->name[n] == '\0' ? lo : full;
			}
		if (full == NULL && count > 0) {
			opts_meant(prog, a + 2, n, longopts, count);
			return 2;
		}
		/* the value of an option taking one, unless given after '=' */
		if (full != NULL && full->has_arg == required_argument && a[2 + n] == '\0')
			i++;
	}
	return 0;
}
