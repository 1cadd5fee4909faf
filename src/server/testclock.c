/* testclock: wall and monotonic clocks shifted by an offset read from a file. */
#include "testclock.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTCLOCK_MAX_MS 10000000000000LL /* about 317 years */

struct wn_testclock {
	char *path;
};

wn_testclock *wn_testclock_new(const char *path)
{
	wn_testclock *t = wn_xcalloc(1, sizeof(*t));
	t->path = wn_xstrdup(path);
	return t;
}

void wn_testclock_free(wn_testclock *t)
{
	if (t == NULL)
		return;
	free(t->path);
	free(t);
}

/* testclock_read reads the file: *both the offset of both clocks, *wall the
 * wall clock's own step (both 0 when the file is missing, empty or bad). */
static void testclock_read(wn_testclock *t, int64_t *both, int64_t *wall)
{
	*both = *wall = 0;
	/* opened each time: the test replaces the file by rename */
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[64];
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	char *sp = strchr(buf, ' ');
	if (sp != NULL)
		*sp++ = '\0';
	/* bounded, so that clock + offset + a lease cannot overflow */
	int64_t b, w = 0;
	if (wn_parse_i64(buf, -TESTCLOCK_MAX_MS, TESTCLOCK_MAX_MS, &b) != WN_OK ||
	    (sp != NULL && wn_parse_i64(sp, -TESTCLOCK_MAX_MS, TESTCLOCK_MAX_MS, &w) != WN_OK))
		return;
	*both = b;
	*wall = w;
}

int64_t wn_testclock_offset(wn_testclock *t)
{
	int64_t both, wall;
	testclock_read(t, &both, &wall);
	return both;
}

int64_t wn_testclock_wall(void *arg)
{
	int64_t both, wall;
	testclock_read(arg, &both, &wall);
	return wn_now_ms() + both + wall;
}

int64_t wn_testclock_mono(void *arg)
{
	return wn_mono_ms() + wn_testclock_offset(arg);
}
