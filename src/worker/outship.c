/* outship: the live output of one run, shipped to the server (outship.h). */
#include "outship.h"

#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct wn_outship {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* busy went false */
	int refs;
	char *path;
	uint64_t acked; /* the server has the bytes before */
	bool busy;      /* a call carries bytes */
	bool final;     /* the runner ships the rest */
};

wn_outship *wn_outship_new(const char *path)
{
	wn_outship *o = wn_xcalloc(1, sizeof(*o));
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cond, NULL);
	o->refs = 1;
	o->path = wn_xstrdup(path);
	return o;
}

wn_outship *wn_outship_ref(wn_outship *o)
{
	pthread_mutex_lock(&o->mu);
	o->refs++;
	pthread_mutex_unlock(&o->mu);
	return o;
}

void wn_outship_unref(wn_outship *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	bool last = --o->refs == 0;
	pthread_mutex_unlock(&o->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cond);
	free(o->path);
	free(o);
}

/* outship_size returns the size of the file at fd, -1 if it is not a
 * regular file. */
static int64_t outship_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
}

/* outship_read reads up to n bytes at off of fd into a new buffer; *got
 * gets how many came. */
static uint8_t *outship_read(int fd, uint64_t off, size_t n, size_t *got)
{
	uint8_t *buf = wn_xmalloc(n + 1);
	size_t have = 0;
	while (have < n) {
		ssize_t r = pread(fd, buf + have, n - have, (off_t)(off + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	*got = have;
	return buf;
}

/* outship_begin claims o for one fill (lock held); false when it may not. */
static bool outship_begin(wn_outship *o, int flags)
{
	if (flags & WN_OUTSHIP_FINAL) {
		o->final = true;
		while (o->busy)
			pthread_cond_wait(&o->cond, &o->mu);
	} else if (o->final || o->busy) {
		return false;
	}
	o->busy = true;
	return true;
}

/* outship_end gives o back after a fill that put nothing (lock held). */
static void outship_end(wn_outship *o)
{
	o->busy = false;
	pthread_cond_broadcast(&o->cond);
}

size_t wn_outship_fill(wn_outship *o, Whatsnext__V1__JobProgress *pg, size_t max, int flags)
{
	pthread_mutex_lock(&o->mu);
	if (!outship_begin(o, flags)) {
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	uint64_t from = o->acked;
	pthread_mutex_unlock(&o->mu);
	/* the rest, once the run ended, waits for a descriptor; a heartbeat's
	 * share is read next time */
	int fd = (flags & WN_OUTSHIP_FINAL)
	             ? wn_proc_open_waiting(o->path, O_NOCTTY | O_NONBLOCK, o->path)
	             : open(o->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int64_t size = fd >= 0 ? outship_size(fd) : -1;
	size_t got = 0;
	uint8_t *buf = NULL;
	if (size > (int64_t)from) {
		uint64_t left = (uint64_t)size - from;
		if (left > WN_OUTSHIP_WINDOW)
			from = (uint64_t)size - WN_OUTSHIP_WINDOW; /* too far behind: a gap */
		if ((flags & WN_OUTSHIP_TAIL) && (uint64_t)size - from > max)
			from = (uint64_t)size - max;
		left = (uint64_t)size - from;
		buf = outship_read(fd, from, left < max ? (size_t)left : max, &got);
	}
	if (fd >= 0)
		close(fd);
	if (got == 0) {
		free(buf);
		pthread_mutex_lock(&o->mu);
		outship_end(o);
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	pg->output_offset = from;
	pg->output.data = buf;
	pg->output.len = got;
	return got;
}

void wn_outship_done(wn_outship *o, Whatsnext__V1__JobProgress *pg, bool ok)
{
	pthread_mutex_lock(&o->mu);
	if (ok && pg->output_offset + pg->output.len > o->acked)
		o->acked = pg->output_offset + pg->output.len;
	outship_end(o);
	pthread_mutex_unlock(&o->mu);
	free(pg->output.data);
	pg->output.data = NULL;
	pg->output.len = 0;
}

uint64_t wn_outship_behind(wn_outship *o)
{
	pthread_mutex_lock(&o->mu);
	uint64_t acked = o->acked;
	pthread_mutex_unlock(&o->mu);
	struct stat st;
	if (stat(o->path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size <= acked)
		return 0;
	uint64_t left = (uint64_t)st.st_size - acked;
	return left > WN_OUTSHIP_WINDOW ? WN_OUTSHIP_WINDOW : left;
}
