/* ctl_split: the lists an option takes as one argument (--status
 * failed,cancelled), alike in job list and the commands that act on the jobs
 * it lists. */
#include "ctl.h"

#include <string.h>

char **wn_ctl_split(wn_ctl *c, const char *opt, const char *arg, size_t *n)
{
	size_t max = 1;
	for (const char *p = arg; *p; p++)
		max += *p == ',';
	char **v = wn_ctl_alloc(c, (max + 1) * sizeof(*v));
	char *s = wn_ctl_strdup(c, arg);
	*n = 0;
	for (char *p = s;;) {
		char *end = strchr(p, ',');
		if (end != NULL)
			*end = '\0';
		if (*p == '\0')
			wn_ctl_usage(c, "invalid %s '%s': an empty item", opt, arg);
		v[(*n)++] = p;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return v;
}
