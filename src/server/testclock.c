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

int64_t wn_testclock_offset(wn_testclock *t)
{
	/* opened each time: the test replaces the file by rename */
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[32];
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	/* bounded, so that clock + offset + a lease cannot overflow */
	int64_t v;
	if (wn_parse_i64(buf, -TESTCLOCK_MAX_MS, TESTCLOCK_MAX_MS, &v) != WN_OK)
		return 0;
	return v;
}

int64_t wn_testclock_wall(void *arg)
{
	return wn_now_ms() + wn_testclock_offset(arg);
}

int64_t wn_testclock_mono(void *arg)
{
	return wn_mono_ms() + wn_testclock_offset(arg);
}
