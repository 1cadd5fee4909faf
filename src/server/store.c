#include "store.h"

#include "err.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct wn_store {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_writeoptions_t *wopts;
	rocksdb_readoptions_t *ropts;
	int durability;
	int relaxed_ms;
	bool readonly; /* wn_store_open_readonly: no sync at close */

	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* syncer: there are writes to sync */
	pthread_cond_t cv_done; /* writers: synced advanced */
	uint64_t written;       /* tickets handed out */
	uint64_t synced;        /* every ticket <= synced is durable */
	uint64_t flushed;       /* every ticket <= flushed is in the OS's hands */
	bool stopping;
	char *failed;
	pthread_t syncer;
	bool have_syncer;
	void (*on_durable)(void *arg); /* called by the syncer after synced advances */
	void *on_durable_arg;
};

struct wn_batch {
	rocksdb_writebatch_t *wb;
	uint64_t serial;
};

static _Atomic uint64_t batch_serial;

struct wn_store_iter {
	rocksdb_iterator_t *it;
	char *prefix;
	size_t plen;
	bool started;
	char *err; /* wn_store_iter_error */
};

static void store_fail(wn_store *s, const char *what, const char *err)
{
	pthread_mutex_lock(&s->mu);
	if (s->failed == NULL) {
		s->failed = wn_xasprintf("%s: %s", what, err);
		wn_error("store failed, no further changes are accepted: %s", s->failed);
	}
	pthread_cond_broadcast(&s->cv_done);
	pthread_mutex_unlock(&s->mu);
	if (s->on_durable != NULL)
		s->on_durable(s->on_durable_arg);
}

static void *store_syncer(void *arg)
{
	wn_store *s = arg;
	wn_store_thread_init();
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stopping && s->failed == NULL && s->synced == s->written) {
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
		if (s->failed != NULL || (s->stopping && s->synced == s->written))
			break;
		uint64_t target = s->written;
		pthread_mutex_unlock(&s->mu);
		char *err = NULL;
		rocksdb_flush_wal(s->db, 1, &err);
		if (err != NULL) {
			store_fail(s, "cannot sync the write-ahead log", err);
			free(err);
			pthread_mutex_lock(&s->mu);
			break;
		}
		pthread_mutex_lock(&s->mu);
		if (target > s->synced)
			s->synced = target;
		if (target > s->flushed)
			s->flushed = target;
		pthread_cond_broadcast(&s->cv_done);
		if (s->on_durable != NULL) {
			pthread_mutex_unlock(&s->mu);
			s->on_durable(s->on_durable_arg);
			pthread_mutex_lock(&s->mu);
		}
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

static int store_check_version(wn_store *s, char **errmsg)
{
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(s, "m/version", 9, &val, &len);
	if (rv == WN_ENOTFOUND) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", WN_STORE_VERSION);
		wn_batch *b = wn_batch_new();
		wn_batch_put(b, "m/version", 9, buf, (size_t)n);
		uint64_t seq;
		rv = wn_store_write(s, b, &seq);
		wn_batch_free(b);
		if (rv == WN_OK)
			rv = wn_store_wait(s, seq);
		if (rv != WN_OK)
			*errmsg =
			    wn_xasprintf("cannot write the store version: %s",
			                 wn_store_failed(s) ? wn_store_failed(s) : wn_strerror(rv));
		return rv;
	}
	if (rv != WN_OK) {
		*errmsg = wn_xasprintf("cannot read the store version");
		return rv;
	}
	char buf[16];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) - 1 ? len : sizeof(buf) - 1),
	         val);
	int v = atoi(buf);
	free(val);
	if (v > WN_STORE_VERSION || v < 1) {
		*errmsg = wn_xasprintf(
		    "data layout version %d is not supported (this wnd knows up to %d)", v,
		    WN_STORE_VERSION);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* store_insert_hints makes the memtable remember where it last inserted a
 * key of each 9-byte prefix ("j/" and the first 7 bytes of a job id: 256
 * consecutive jobs). A job's record is rewritten at claim and completion, and
 * the skiplist insert of a key that already has a version costs a search from
 * the top without a hint (about 80 key comparisons); submissions, claims and
 * completions each move through the ids in order, so with a hint per group of
 * ids most inserts start next to their place. Not in RocksDB's C API, hence
 * the options string; without it (an older RocksDB) writes are only slower. */
static void store_insert_hints(wn_store *s)
{
	char *err = NULL;
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_get_options_from_string(
	    s->opts, "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.9", o, &err);
	if (err != NULL) {
		wn_warn("store: memtable insert hints unavailable: %s", err);
		free(err);
		rocksdb_options_destroy(o);
		return;
	}
	rocksdb_options_destroy(s->opts);
	s->opts = o;
}

int wn_store_open(const char *dir, int durability, int relaxed_ms, wn_store **out, char **errmsg)
{
	wn_store *s = wn_xcalloc(1, sizeof(*s));
	s->durability = durability;
	s->relaxed_ms = relaxed_ms > 0 ? relaxed_ms : 100;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_done, NULL);
	s->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opts, 1);
	rocksdb_options_increase_parallelism(s->opts, 2);
	rocksdb_options_set_max_open_files(s->opts, 512);
	/* Every change of a job is a memtable insert; 32 MiB holds the
	 * successive records of about 30,000 jobs, so most of a job's older
	 * records are dropped before they reach a table file. */
	rocksdb_options_set_write_buffer_size(s->opts, 32u << 20);
	/* Table files straight from the memtable (level 0) are not compressed,
	 * to spare the CPU while jobs flow; the levels below are (Snappy), where
	 * compaction has dropped the older records of each job. */
	int levels[7] = {rocksdb_no_compression,     rocksdb_snappy_compression,
	                 rocksdb_snappy_compression, rocksdb_snappy_compression,
	                 rocksdb_snappy_compression, rocksdb_snappy_compression,
	                 rocksdb_snappy_compression};
	rocksdb_options_set_compression_per_level(s->opts, levels, 7);
	rocksdb_options_set_keep_log_file_num(s->opts, 3);
	/* Writes collect in RocksDB's log buffer; the log goes to the OS in one
	 * write per round of requests (wn_store_flush) or per sync, not per
	 * request. Nothing is acknowledged before that. */
	rocksdb_options_set_manual_wal_flush(s->opts, 1);
	/* Bloom filters in the tables: a read of a key (a job record not held
	 * in memory) looks into one table file, not every one. */
	rocksdb_block_based_table_options_t *topts = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_filter_policy(topts,
	                                              rocksdb_filterpolicy_create_bloom_full(10));
	rocksdb_options_set_block_based_table_factory(s->opts, topts);
	rocksdb_block_based_options_destroy(topts);
	rocksdb_options_set_info_log_level(s->opts, 2); /* warn */
	store_insert_hints(s);
	s->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wopts, 0);
	s->ropts = rocksdb_readoptions_create();
	char *err = NULL;
	s->db = rocksdb_open(s->opts, dir, &err);
	if (err != NULL) {
		int rv = WN_EIO;
		if (strstr(err, "LOCK") != NULL &&
		    (strstr(err, "unavailable") != NULL || strstr(err, "hold by current") != NULL ||
		     strstr(err, "No locks") != NULL)) {
			*errmsg = wn_xasprintf("data directory %s is in use by another wnd", dir);
			rv = WN_EBUSY;
		} else {
			*errmsg = wn_xasprintf("cannot open store %s: %s", dir, err);
		}
		free(err);
		rocksdb_readoptions_destroy(s->ropts);
		rocksdb_writeoptions_destroy(s->wopts);
		rocksdb_options_destroy(s->opts);
		free(s);
		return rv;
	}
	if (pthread_create(&s->syncer, NULL, store_syncer, s) != 0) {
		*errmsg = wn_xasprintf("cannot start the sync thread");
		wn_store_close(s);
		return WN_EINTERNAL;
	}
	s->have_syncer = true;
	int rv = store_check_version(s, errmsg);
	if (rv != WN_OK) {
		wn_store_close(s);
		return rv;
	}
	*out = s;
	return WN_OK;
}

void wn_store_close(wn_store *s)
{
	if (s == NULL)
		return;
	if (s->have_syncer) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv_work);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->syncer, NULL);
	}
	if (s->db != NULL && !s->readonly) {
		char *err = NULL;
		rocksdb_flush_wal(s->db, 1, &err);
		if (err != NULL) {
			wn_error("cannot sync the write-ahead log at close: %s", err);
			free(err);
		}
	}
	if (s->db != NULL)
		rocksdb_close(s->db);
	rocksdb_readoptions_destroy(s->ropts);
	rocksdb_writeoptions_destroy(s->wopts);
	rocksdb_options_destroy(s->opts);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_done);
	pthread_mutex_destroy(&s->mu);
	free(s->failed);
	free(s);
}

int wn_store_get(wn_store *s, const void *key, size_t klen, char **val, size_t *len)
{
	char *err = NULL;
	char *v = rocksdb_get(s->db, s->ropts, key, klen, len, &err);
	if (err != NULL) {
		wn_error("store read failed: %s", err);
		free(err);
		return WN_EIO;
	}
	if (v == NULL)
		return WN_ENOTFOUND;
	*val = v;
	return WN_OK;
}

wn_batch *wn_batch_new(void)
{
	wn_batch *b = wn_xmalloc(sizeof(*b));
	b->wb = rocksdb_writebatch_create();
	b->serial = ++batch_serial;
	return b;
}

uint64_t wn_batch_serial(const wn_batch *b)
{
	return b->serial;
}

void wn_batch_free(wn_batch *b)
{
	if (b == NULL)
		return;
	rocksdb_writebatch_destroy(b->wb);
	free(b);
}

void wn_batch_put(wn_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
	rocksdb_writebatch_put(b->wb, key, klen, val, vlen);
}

void wn_batch_del(wn_batch *b, const void *key, size_t klen)
{
	rocksdb_writebatch_delete(b->wb, key, klen);
}

int wn_batch_count(const wn_batch *b)
{
	return rocksdb_writebatch_count(b->wb);
}

int wn_store_write(wn_store *s, wn_batch *b, uint64_t *seq)
{
	pthread_mutex_lock(&s->mu);
	bool failed = s->failed != NULL;
	pthread_mutex_unlock(&s->mu);
	if (failed)
		return WN_EIO;
	char *err = NULL;
	rocksdb_write(s->db, s->wopts, b->wb, &err);
	if (err != NULL) {
		store_fail(s, "write failed", err);
		free(err);
		return WN_EIO;
	}
	pthread_mutex_lock(&s->mu);
	*seq = ++s->written;
	pthread_cond_signal(&s->cv_work);
	pthread_mutex_unlock(&s->mu);
	return WN_OK;
}

int wn_store_flush(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t target = s->written;
	bool done = s->durability == WN_DURABILITY_SYNC || s->flushed >= target;
	int rv = s->failed != NULL ? WN_EIO : WN_OK;
	pthread_mutex_unlock(&s->mu);
	if (done || rv != WN_OK)
		return rv;
	char *err = NULL;
	rocksdb_flush_wal(s->db, 0, &err);
	if (err != NULL) {
		store_fail(s, "cannot write the write-ahead log", err);
		free(err);
		return WN_EIO;
	}
	pthread_mutex_lock(&s->mu);
	if (target > s->flushed)
		s->flushed = target;
	pthread_mutex_unlock(&s->mu);
	return WN_OK;
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
		while (s->synced < seq && s->failed == NULL)
			pthread_cond_wait(&s->cv_done, &s->mu);
	int rv = s->failed != NULL ? WN_EIO : WN_OK;
	pthread_mutex_unlock(&s->mu);
	return rv;
}

int wn_store_durable(wn_store *s, uint64_t seq)
{
	if (seq == 0)
		return WN_OK;
	pthread_mutex_lock(&s->mu);
	uint64_t done = s->durability == WN_DURABILITY_SYNC ? s->synced : s->flushed;
	int rv = s->failed != NULL ? WN_EIO : done < seq ? WN_EBUSY : WN_OK;
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

const char *wn_store_failed(wn_store *s)
{
	pthread_mutex_lock(&s->mu);
	const char *f = s->failed;
	pthread_mutex_unlock(&s->mu);
	return f;
}

void wn_store_compact(wn_store *s, const void *start, size_t slen, const void *end, size_t elen)
{
	rocksdb_compact_range(s->db, start, slen, end, elen);
}

wn_store_iter *wn_store_iter_new(wn_store *s, const void *prefix, size_t plen, const void *start,
                                 size_t slen)
{
	wn_store_iter *it = wn_xcalloc(1, sizeof(*it));
	it->it = rocksdb_create_iterator(s->db, s->ropts);
	it->prefix = wn_xmalloc(plen);
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	if (start != NULL)
		rocksdb_iter_seek(it->it, start, slen);
	else
		rocksdb_iter_seek(it->it, prefix, plen);
	return it;
}

bool wn_store_iter_next(wn_store_iter *it, const char **key, size_t *klen, const char **val,
                        size_t *vlen)
{
	if (it->started)
		rocksdb_iter_next(it->it);
	it->started = true;
	if (!rocksdb_iter_valid(it->it))
		return false;
	*key = rocksdb_iter_key(it->it, klen);
	if (*klen < it->plen || memcmp(*key, it->prefix, it->plen) != 0)
		return false;
	*val = rocksdb_iter_value(it->it, vlen);
	return true;
}

void wn_store_iter_free(wn_store_iter *it)
{
	if (it == NULL)
		return;
	rocksdb_iter_destroy(it->it);
	free(it->prefix);
	free(it->err);
	free(it);
}

const char *wn_store_iter_error(wn_store_iter *it)
{
	free(it->err);
	it->err = NULL;
	rocksdb_iter_get_error(it->it, &it->err);
	return it->err;
}

int wn_store_checkpoint(wn_store *s, const char *dir, char **errmsg)
{
	char *err = NULL;
	rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &err);
	if (err == NULL)
		/* log_size_for_flush 0: always flush the memtable, so the copy
		 * holds its data in table files and a short log */
		rocksdb_checkpoint_create(cp, dir, 0, &err);
	if (cp != NULL)
		rocksdb_checkpoint_object_destroy(cp);
	if (err != NULL) {
		*errmsg = wn_xasprintf("%s", err);
		free(err);
		return WN_EIO;
	}
	return WN_OK;
}

int wn_store_last_key(const char *dir, const char *prefix, size_t plen, char **key, size_t *klen,
                      char **errmsg)
{
	char *err = NULL;
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_options_set_info_log_level(o, 2);  /* warn */
	rocksdb_options_set_max_open_files(o, 16); /* open the table files it reads, not all */
	rocksdb_t *db = rocksdb_open_for_read_only(o, dir, 0, &err);
	rocksdb_options_destroy(o);
	if (err != NULL) {
		*errmsg = wn_xasprintf("cannot open %s: %s", dir, err);
		free(err);
		return WN_EIO;
	}
	/* the first key after every key with the prefix: the prefix with its
	 * last byte below 0xff raised by one (none: seek to the very end) */
	char *end = wn_xmalloc(plen ? plen : 1);
	memcpy(end, prefix, plen);
	size_t elen = plen;
	while (elen > 0 && (uint8_t)end[elen - 1] == 0xff)
		elen--;
	if (elen > 0)
		end[elen - 1] = (char)((uint8_t)end[elen - 1] + 1);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
	if (elen > 0)
		rocksdb_iter_seek_for_prev(it, end, elen);
	else
		rocksdb_iter_seek_to_last(it);
	size_t kl = 0;
	const char *k = rocksdb_iter_valid(it) ? rocksdb_iter_key(it, &kl) : NULL;
	if (k != NULL && elen > 0 && kl == elen && memcmp(k, end, elen) == 0) {
		rocksdb_iter_prev(it);
		k = rocksdb_iter_valid(it) ? rocksdb_iter_key(it, &kl) : NULL;
	}
	int rv = WN_ENOTFOUND;
	if (k != NULL && kl >= plen && memcmp(k, prefix, plen) == 0) {
		*key = wn_xmalloc(kl ? kl : 1);
		memcpy(*key, k, kl);
		*klen = kl;
		rv = WN_OK;
	}
	rocksdb_iter_get_error(it, &err);
	if (err != NULL) {
		*errmsg = wn_xasprintf("cannot read %s: %s", dir, err);
		free(err);
		if (rv == WN_OK)
			free(*key);
		rv = WN_EIO;
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	rocksdb_close(db);
	free(end);
	return rv;
}

/* store_lock_holder returns the pid of the process that holds the lock of
 * the database in dir (RocksDB's LOCK file), or 0 if none does. */
static pid_t store_lock_holder(const char *dir)
{
	char *path = wn_xasprintf("%s/LOCK", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	pid_t pid = 0;
	if (fcntl(fd, F_GETLK, &lk) == 0 && lk.l_type != F_UNLCK)
		pid = lk.l_pid > 0 ? lk.l_pid : -1;
	close(fd);
	return pid;
}

/* store_rmdir removes dir and the files directly in it. */
static void store_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = wn_xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

int wn_store_open_readonly(const char *dir, wn_store **out, char **errmsg)
{
	pid_t holder = store_lock_holder(dir);
	if (holder != 0) {
		*errmsg = holder > 0
		              ? wn_xasprintf("data directory %s is in use by another wnd "
		                             "(process %ld)",
		                             dir, (long)holder)
		              : wn_xasprintf("data directory %s is in use by another wnd", dir);
		return WN_EBUSY;
	}
	/* RocksDB's info log would replace the LOG file of the directory: it
	 * goes to a temporary directory, removed once the database is open */
	const char *tmp = getenv("TMPDIR");
	char *logdir = wn_xasprintf("%s/wnd-check.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(logdir) == NULL) {
		*errmsg = wn_xasprintf("cannot create a temporary directory %s: %s", logdir,
		                       strerror(errno));
		free(logdir);
		return WN_EIO;
	}
	wn_store *s = wn_xcalloc(1, sizeof(*s));
	s->readonly = true;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_done, NULL);
	s->opts = rocksdb_options_create();
	rocksdb_options_set_info_log_level(s->opts, 2); /* warn */
	rocksdb_options_set_db_log_dir(s->opts, logdir);
	s->wopts = rocksdb_writeoptions_create();
	s->ropts = rocksdb_readoptions_create();
	s->failed = wn_xasprintf("the store is open for reading only");
	char *err = NULL;
	s->db = rocksdb_open_for_read_only(s->opts, dir, 0, &err);
	store_rmdir(logdir);
	free(logdir);
	if (err != NULL) {
		*errmsg = wn_xasprintf("cannot open store %s: %s", dir, err);
		free(err);
		s->db = NULL;
		wn_store_close(s);
		return WN_EIO;
	}
	*out = s;
	return WN_OK;
}
