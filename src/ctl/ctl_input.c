/* ctl_input: the files wnctl reads whole (a batch, a sweep), "-" standing for stdin. */
#include "ctl.h"

#include "err.h"
#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* input_stdin returns stdin to read from: a pipe left non-blocking (O_NONBLOCK, by a
 * parent process) is opened again, blocking, as the same pipe (an empty one read
 * non-blocking is no end of the file, but data still to come). */
static FILE *input_stdin(void)
{
	struct stat st;
	int fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK) || fstat(STDIN_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode))
		return stdin;
	FILE *f = fopen("/proc/self/fd/0", "rb");
	return f != NULL ? f : stdin;
}

const char *wn_ctl_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

char *wn_ctl_read_input(wn_ctl *c, const char *path, size_t max, const char *why, size_t *len)
{
	const char *name = wn_ctl_input_name(path);
	FILE *f = strcmp(path, "-") == 0 ? input_stdin() : fopen(path, "rb");
	if (f == NULL)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot open %s: %s", name, strerror(errno));
	char *buf = NULL;
	int rv = wn_read_all(f, max, &buf, len);
	int err = errno;
	if (f != stdin)
		fclose(f);
	if (rv == WN_ETOOBIG)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read %s: larger than %zu bytes%s", name,
		           max, why != NULL ? why : "");
	if (rv != WN_OK)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot read %s: %s", name,
		           rv == WN_EIO ? strerror(err) : wn_strerror(rv));
	wn_ctl_defer(c, free, buf);
	return buf;
}
