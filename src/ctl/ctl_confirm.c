/* ctl_confirm: the question a destructive command asks on a terminal before it
 * changes anything (ctl.h). */
#include "ctl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* confirm_yes tells whether the answer line is yes ("y" or "yes", any case, blanks around). */
static bool confirm_yes(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	size_t n = strcspn(line, " \t\r\n");
	const char *rest = line + n;
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest != '\0')
		return false;
	return (n == 1 && tolower((unsigned char)line[0]) == 'y') ||
	       (n == 3 && strncasecmp(line, "yes", 3) == 0);
}

void wn_ctl_confirm(wn_ctl *c, const char *fmt, ...)
{
	if (wn_ctl_yes(c) || !isatty(STDIN_FILENO))
		return;
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	vfprintf(stderr, fmt, ap); /* stderr shows controls as escapes (termsafe) */
	va_end(ap);
	fputs("? [y/N] ", stderr);
	fflush(stderr);
	char line[64];
	bool yes = fgets(line, sizeof(line), stdin) != NULL && confirm_yes(line);
	if (!yes)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "not confirmed: nothing changed");
}
