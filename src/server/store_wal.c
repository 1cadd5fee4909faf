/* The store's write path: writes, group commit over the write-ahead log, the
 * redo log, failures and recovery (store_int.h). */
#include "store_int.h"

#include "err.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Least time between two attempts to recover a failed store. */
#define STORE_RETRY_MS 200
/* After a reopen that failed the interval doubles, up to this. */
#define STORE_RETRY_MAX_MS 5000
/* Free space a reopen needs besides the writes it applies again (see
 * STORE_START_SPACE). */
#define STORE_OPEN_SPACE STORE_START_SPACE
/* Free file descriptors a reopen needs (LOCK, CURRENT, MANIFEST, logs, the
 * directory, a few table files), with room to spare. */
#define STORE_OPEN_FDS 32

/* ------------------------------------------------------------ failures */

char *wn_store_injected(int err)
{
	return wn_xasprintf("IO error: %s (injected fault)", strerror(err));
}

/* store_lost reports whether the write with ticket seq is lost: its reply
 * must not say it was stored. Called with mu held. */
static bool store_lost(const wn_store *s, uint64_t seq)
{
	if (s->failed != NULL && seq > s->kept)
		return true;
	for (size_t i = 0; i < s->nlost; i++)
		if (seq >= s->lost[i].lo && seq <= s->lost[i].hi)
			return true;
	return false;
}

/* store_fail_locked marks the store failed (if it was not) with what: err.
 * Called with mu held; the caller then calls store_notify. */
static void store_fail_locked(wn_store *s, const char *what, const char *err)
{
	if (s->failed == NULL) {
		/* RocksDB answers a write after a failed one with "Seen error";
		 * say what the cause most likely is when the disk is full */
		char *room = strstr(err, "Seen error") ? wn_store_room(s, 1u << 20) : NULL;
		if (room != NULL)
			s->failed =
			    wn_xasprintf("%s: IO error: No space left on device (%s)", what, room);
		else
			s->failed = wn_xasprintf("%s: %s", what, err);
		free(room);
		s->kept = s->durability == WN_DURABILITY_SYNC ? s->synced : s->flushed;
		s->gen++;
		atomic_store(&s->broken, true);
		wn_error("%s; changes not yet durable are answered UNAVAILABLE and new ones "
		         "refused until the store recovers",
		         s->failed);
	}
	pthread_cond_broadcast(&s->cv_done);
}

/* store_notify tells the durability listener that tickets were decided. */
static void store_notify(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	void (*fn)(void *) = s->on_durable;
	void *arg = s->on_durable_arg;
	pthread_mutex_unlock(&s->mu);
	if (fn != NULL)
		fn(arg);
}

/* store_rocks_write applies wb to the database through the fault seam. */
static void store_rocks_write(wn_store *s, rocksdb_writebatch_t *wb, char **err)
{
	int e = wn_fault_hit(WN_FAULT_WRITE);
	if (e != 0)
		*err = wn_store_injected(e);
	else if (s->db == NULL)
		*err = wn_xasprintf("the database is closed after a failed reopen");
	else
		rocksdb_write(s->db, s->wopts, wb, err);
}

void wn_store_rocks_flush(wn_store *s, bool sync, char **err)
{
	int e = wn_fault_hit(sync ? WN_FAULT_SYNC : WN_FAULT_FLUSH);
	if (e != 0)
		*err = wn_store_injected(e);
	else if (s->db == NULL)
		*err = wn_xasprintf("the database is closed after a failed reopen");
	else
		rocksdb_flush_wal(s->db, sync, err);
}

/* ------------------------------------------------------------ redo log */

static void redo_append(wn_store *s, uint64_t ticket, const char *data, size_t len)
{
	size_t need = s->redo_len + 2 * sizeof(uint64_t) + len;
	if (need > s->redo_cap) {
		size_t cap = s->redo_cap ? s->redo_cap : 4096;
		while (cap < need)
			cap *= 2;
		s->redo = wn_xrealloc(s->redo, cap);
		s->redo_cap = cap;
	}
	uint64_t hdr[2] = {ticket, len};
	memcpy(s->redo + s->redo_len, hdr, sizeof(hdr));
	memcpy(s->redo + s->redo_len + sizeof(hdr), data, len);
	s->redo_len = need;
}

/* redo_next reads the entry at *off and moves past it; false at the end. */
static bool redo_next(const wn_store *s, size_t *off, uint64_t *ticket, const char **data,
                      size_t *len)
{
	if (*off >= s->redo_len)
		return false;
	uint64_t hdr[2];
	memcpy(hdr, s->redo + *off, sizeof(hdr));
	*ticket = hdr[0];
	*len = (size_t)hdr[1];
	*data = s->redo + *off + sizeof(hdr);
	*off += sizeof(hdr) + *len;
	return true;
}

/* redo_trim drops the entries with tickets up to upto (they are synced). */
static void redo_trim(wn_store *s, uint64_t upto)
{
	size_t off = 0, cut = s->redo_len;
	uint64_t t;
	const char *d;
	size_t l;
	for (size_t at = 0; redo_next(s, &off, &t, &d, &l); at = off)
		if (t > upto) {
			cut = at;
			break;
		}
	memmove(s->redo, s->redo + cut, s->redo_len - cut);
	s->redo_len -= cut;
	if (s->redo_len == 0 && s->redo_cap > (16u << 20)) {
		free(s->redo);
		s->redo = NULL;
		s->redo_cap = 0;
	}
}

/* ------------------------------------------------------------ sync thread */

/* syncer_idle waits until there is something to sync, the store recovered
 * or it stops. Called with mu held. */
static void syncer_idle(wn_store *s)
{
	while (!s->stopping && (s->failed != NULL || s->synced == s->written)) {
		if (s->durability == WN_DURABILITY_RELAXED) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)s->relaxed_ms * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&s->cv_work, &s->mu, &ts);
		} else {
			pthread_cond_wait(&s->cv_work, &s->mu);
		}
	}
}

void *wn_store_syncer(void *arg)
{
	wn_store *s = arg;
	wn_store_thread_init();
	pthread_mutex_lock(&s->mu);
	for (;;) {
		syncer_idle(s);
		if (s->stopping && (s->failed != NULL || s->synced == s->written))
			break;
		uint64_t target = s->written;
		uint64_t gen = s->gen;
		pthread_mutex_unlock(&s->mu);
		char *err = NULL;
		pthread_rwlock_rdlock(&s->dblock);
		int64_t t0 = wn_histo_clock();
		wn_store_rocks_flush(s, true, &err);
		wn_histo_observe(&s->sync_hist, &wn_histo_fast, wn_histo_clock() - t0);
		pthread_rwlock_unlock(&s->dblock);
		pthread_mutex_lock(&s->mu);
		if (err != NULL) {
			store_fail_locked(s, "cannot write to the store", err);
			free(err);
		} else if (gen == s->gen && s->failed == NULL) {
			if (target > s->synced)
				s->synced = target;
			if (target > s->flushed)
				s->flushed = target;
			redo_trim(s, target);
		}
		pthread_cond_broadcast(&s->cv_done);
		pthread_mutex_unlock(&s->mu);
		store_notify(s);
		pthread_mutex_lock(&s->mu);
		if (s->durability == WN_DURABILITY_RELAXED && !s->stopping) {
			/* at most one sync per interval */
			pthread_mutex_unlock(&s->mu);
			struct timespec ts = {s->relaxed_ms / 1000,
			                      (long)(s->relaxed_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_cond_broadcast(&s->cv_done);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int wn_store_write(wn_store *s, wn_batch *b, uint64_t *seq)
{
	pthread_mutex_lock(&s->mu);
	bool failed = s->failed != NULL;
	pthread_mutex_unlock(&s->mu);
	char *err = NULL;
	if (!failed)
		store_rocks_write(s, b->wb, &err);
	size_t len;
	const char *data = rocksdb_writebatch_data(b->wb, &len);
	pthread_mutex_lock(&s->mu);
	*seq = ++s->written;
	redo_append(s, *seq, data, len);
	if (failed || err != NULL)
		s->unapplied = true;
	if (err != NULL)
		store_fail_locked(s, "cannot write to the store", err);
	pthread_cond_signal(&s->cv_work);
	pthread_mutex_unlock(&s->mu);
	if (err != NULL) {
		free(err);
		store_notify(s);
	}
	return WN_OK;
}

int wn_store_flush(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t target = s->written;
	uint64_t gen = s->gen;
	bool done = s->durability == WN_DURABILITY_SYNC || s->flushed >= target;
	int rv = s->failed != NULL ? WN_EIO : WN_OK;
	pthread_mutex_unlock(&s->mu);
	if (done || rv != WN_OK)
		return rv;
	char *err = NULL;
	pthread_rwlock_rdlock(&s->dblock);
	wn_store_rocks_flush(s, false, &err);
	pthread_rwlock_unlock(&s->dblock);
	pthread_mutex_lock(&s->mu);
	if (err != NULL)
		store_fail_locked(s, "cannot write to the store", err);
	else if (gen == s->gen && s->failed == NULL && target > s->flushed)
		s->flushed = target;
	rv = s->failed != NULL ? WN_EIO : WN_OK;
	pthread_mutex_unlock(&s->mu);
	if (err != NULL) {
		free(err);
		store_notify(s);
	}
	return rv;
}

int wn_store_wait(wn_store *s, uint64_t seq)
{
	if (seq == 0)
		return WN_OK;
	if (s->durability == WN_DURABILITY_RELAXED) {
		pthread_mutex_lock(&s->mu);
		bool flushed = s->flushed >= seq;
		pthread_mutex_unlock(&s->mu);
		if (!flushed)
			wn_store_flush(s);
	}
	pthread_mutex_lock(&s->mu);
	if (s->durability == WN_DURABILITY_SYNC)
		while (s->synced < seq && !store_lost(s, seq))
			pthread_cond_wait(&s->cv_done, &s->mu);
	int rv = store_lost(s, seq) ? WN_EIO : WN_OK;
	pthread_mutex_unlock(&s->mu);
	return rv;
}

int wn_store_durable(wn_store *s, uint64_t seq)
{
	if (seq == 0)
		return WN_OK;
	pthread_mutex_lock(&s->mu);
	uint64_t done = s->durability == WN_DURABILITY_SYNC ? s->synced : s->flushed;
	int rv = store_lost(s, seq) ? WN_EIO : done < seq ? WN_EBUSY : WN_OK;
	pthread_mutex_unlock(&s->mu);
	return rv;
}

uint64_t wn_store_written(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t w = s->written;
	pthread_mutex_unlock(&s->mu);
	return w;
}

void wn_store_on_durable(wn_store *s, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&s->mu);
	s->on_durable = fn;
	s->on_durable_arg = arg;
	pthread_mutex_unlock(&s->mu);
}

void wn_store_thread_init(void)
{
	rocksdb_set_perf_level(rocksdb_disable);
}

/* ------------------------------------------------------------ recovery */

bool wn_store_failed(wn_store *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->mu);
	bool failed = s->failed != NULL;
	if (failed && buf != NULL && len > 0)
		snprintf(buf, len, "%s", s->failed);
	pthread_mutex_unlock(&s->mu);
	return failed;
}

uint64_t wn_store_recoveries(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t n = s->recovered;
	pthread_mutex_unlock(&s->mu);
	return n;
}

bool wn_store_readable(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	bool ok = s->db != NULL && !s->unapplied;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

uint64_t wn_store_disk_free(const wn_store *s)
{
	struct statvfs v;
	if (statvfs(s->dir, &v) != 0)
		return UINT64_MAX;
	return (uint64_t)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
}

char *wn_store_room(const wn_store *s, uint64_t need)
{
	uint64_t avail = wn_store_disk_free(s);
	if (avail >= need)
		return NULL; /* an unknown room: the open that follows says what is wrong */
	return wn_xasprintf("only %llu KiB free on the disk of %s, %llu KiB needed",
	                    (unsigned long long)(avail >> 10), s->dir,
	                    (unsigned long long)((need + 1023) >> 10));
}

uint64_t wn_store_replay_room(const wn_store *s)
{
	DIR *d = opendir(s->dir);
	if (d == NULL)
		return 0; /* the open that follows says what is wrong */
	uint64_t logs = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct stat st;
		if (n > 4 && strcmp(de->d_name + n - 4, ".log") == 0 &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			logs += (uint64_t)st.st_size;
	}
	closedir(d);
	/* RocksDB writes a memtable out once its arena is within one block (an
	 * eighth) of full: past three quarters, count on it */
	return logs > STORE_MEMTABLE / 4 * 3 ? logs : 0;
}

/* store_can_reopen returns NULL if the disk and the process have room for a
 * reopen (so a failed store is not closed in vain), else why not. */
static char *store_can_reopen(wn_store *s)
{
	char *why = wn_store_room(s, STORE_OPEN_SPACE + s->redo_len + wn_store_replay_room(s));
	if (why != NULL)
		return why;
	int fds[STORE_OPEN_FDS];
	int n = 0, e = 0;
	for (; n < STORE_OPEN_FDS; n++)
		if ((fds[n] = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			e = errno;
			break;
		}
	while (n > 0)
		close(fds[--n]);
	return e != 0 ? wn_xasprintf("cannot open files: %s", strerror(e)) : NULL;
}

/* store_reopen closes the database and opens it again, then applies the redo
 * log and syncs it; *err says why not. Called with dblock held to write. */
static void store_reopen(wn_store *s, char **err)
{
	if (s->db != NULL) {
		rocksdb_close(s->db);
		s->db = NULL;
	}
	wn_store_open_db(s, err);
	if (*err != NULL) {
		char *e = wn_xasprintf("cannot open the store again: %s", *err);
		free(*err);
		*err = e;
		return;
	}
	size_t off = 0, len;
	uint64_t t;
	const char *d;
	while (*err == NULL && redo_next(s, &off, &t, &d, &len)) {
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from(d, len);
		store_rocks_write(s, wb, err);
		rocksdb_writebatch_destroy(wb);
	}
	if (*err == NULL)
		wn_store_rocks_flush(s, true, err);
}

/* store_recovered makes a reopened store healthy again. Called with mu held. */
static void store_recovered(wn_store *s)
{
	if (s->written > s->kept) {
		if (s->nlost == STORE_LOST_MAX) {
			/* merge the two oldest ranges: tickets between them answer
			 * UNAVAILABLE should anyone still ask about them */
			s->lost[1].lo = s->lost[0].lo;
			memmove(&s->lost[0], &s->lost[1],
			        (STORE_LOST_MAX - 1) * sizeof(s->lost[0]));
			s->nlost--;
		}
		s->lost[s->nlost].lo = s->kept + 1;
		s->lost[s->nlost].hi = s->written;
		s->nlost++;
	}
	/* a ticket of its own for the sync that made everything durable: a
	 * caller asking about the latest write (a request answered again) is
	 * told it is */
	s->written++;
	wn_info("store recovered from \"%s\"; changes are accepted again", s->failed);
	s->recovered++;
	free(s->failed);
	s->failed = NULL;
	atomic_store(&s->broken, false);
	s->synced = s->flushed = s->written;
	s->redo_len = 0;
	s->unapplied = false;
	s->retry_ms = 0;
	pthread_cond_broadcast(&s->cv_work);
	pthread_cond_broadcast(&s->cv_done);
}

int wn_store_recover(wn_store *s)
{
	if (s->readonly)
		return WN_EIO;
	if (!atomic_load(&s->broken))
		return WN_OK; /* the common case, without the lock */
	pthread_mutex_lock(&s->mu);
	bool failed = s->failed != NULL;
	int64_t now = wn_mono_ms();
	bool wait = now < s->retry_at;
	if (failed && !wait)
		s->retry_at = now + (s->retry_ms > 0 ? s->retry_ms : STORE_RETRY_MS);
	pthread_mutex_unlock(&s->mu);
	if (!failed)
		return WN_OK;
	if (wait)
		return WN_EIO;
	char *err = store_can_reopen(s);
	if (err != NULL) {
		wn_debug("store: not reopening yet: %s", err);
		free(err);
		return WN_EIO;
	}
	pthread_rwlock_wrlock(&s->dblock);
	store_reopen(s, &err);
	pthread_rwlock_unlock(&s->dblock);
	pthread_mutex_lock(&s->mu);
	if (err != NULL) {
		wn_warn("store: recovery failed: %s", err);
		s->retry_ms = s->retry_ms > 0 ? s->retry_ms * 2 : 2 * STORE_RETRY_MS;
		if (s->retry_ms > STORE_RETRY_MAX_MS)
			s->retry_ms = STORE_RETRY_MAX_MS;
		s->retry_at = wn_mono_ms() + s->retry_ms;
		free(s->failed);
		s->failed = wn_xasprintf("cannot write to the store: %s", err);
		free(err);
		pthread_mutex_unlock(&s->mu);
		return WN_EIO;
	}
	store_recovered(s);
	pthread_mutex_unlock(&s->mu);
	store_notify(s);
	return WN_OK;
}

size_t wn_store_unstored(const wn_store *s)
{
	size_t off = 0, n = 0, len;
	uint64_t t;
	const char *d;
	while (redo_next(s, &off, &t, &d, &len))
		n += t > s->kept;
	return n;
}
