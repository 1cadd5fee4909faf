#include "store_int.h"

#include "err.h"
#include "fault.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic uint64_t batch_serial;
static pthread_mutex_t info_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *info_log_dir;

struct wn_store_iter {
	rocksdb_iterator_t *it;
	char *prefix;
	size_t plen;
	bool started;
	bool rev;  /* wn_store_iter_new_rev: downward */
	int fault; /* the errno of an injected failure that ended the walk */
	char *err; /* wn_store_iter_error */
};

/* ------------------------------------------------------------ open and close */

/* store_options_string applies a RocksDB options string to s->opts; false if
 * this RocksDB does not know one of them (s->opts is then unchanged). */
static bool store_options_string(wn_store *s, const char *str)
{
	char *err = NULL;
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_get_options_from_string(s->opts, str, o, &err);
	if (err != NULL) {
		wn_warn("store: options \"%s\" unavailable: %s", str, err);
		free(err);
		rocksdb_options_destroy(o);
		return false;
	}
	rocksdb_options_destroy(s->opts);
	s->opts = o;
	return true;
}

/* store_insert_hints makes the memtable remember where it last inserted a
 * key of each WN_KEY_JOB_GROUP_LEN-byte prefix (keys.h: a job key's prefix
 * and the first 7 bytes of its id, 256 consecutive jobs). A job's record is rewritten at claim and
 * completion, and the skiplist insert of a key that already has a version costs a search from the
 * top without a hint (about 80 key comparisons); submissions, claims and completions each move
 * through the ids in order, so with a hint per group of ids most inserts start next to their place.
 * Not in RocksDB's C API, hence the options string; without it (an older RocksDB) writes are only
 * slower. */
static void store_insert_hints(wn_store *s)
{
	char opt[96];
	snprintf(opt, sizeof(opt),
	         "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.%d",
	         WN_KEY_JOB_GROUP_LEN);
	store_options_string(s, opt);
}

/* store_info_log puts RocksDB's own diagnostic LOG under control. Its writer
 * aborts the process (an assertion in Debian's build) at the write after one
 * that failed, so on the data disk, which can fill, it is written only while
 * the database opens (RocksDB's header lines: about 20 KiB, which a start
 * checks there is room for) and never after: no message reaches it. With
 * wn_store_set_info_log it goes to another directory instead and takes
 * warnings too. */
static void store_info_log(wn_store *s)
{
	pthread_mutex_lock(&info_log_mu);
	if (info_log_dir != NULL) {
		rocksdb_options_set_db_log_dir(s->opts, info_log_dir);
		rocksdb_options_set_info_log_level(s->opts, 2); /* warn */
	} else {
		rocksdb_options_set_info_log_level(s->opts, 5); /* header lines only */
	}
	pthread_mutex_unlock(&info_log_mu);
	rocksdb_options_set_max_log_file_size(s->opts, 1u << 20);
	rocksdb_options_set_keep_log_file_num(s->opts, 3);
	rocksdb_options_set_stats_dump_period_sec(s->opts, 0);
}

/* store_options sets up how RocksDB runs. */
static void store_options(wn_store *s)
{
	s->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opts, 1);
	rocksdb_options_increase_parallelism(s->opts, 2);
	rocksdb_options_set_max_open_files(s->opts, 512);
	/* Every change of a job is a memtable insert; 32 MiB holds the
	 * successive records of about 30,000 jobs, so most of a job's older
	 * records are dropped before they reach a table file. */
	rocksdb_options_set_write_buffer_size(s->opts, STORE_MEMTABLE);
	/* Table files straight from the memtable (level 0) are not compressed,
	 * to spare the CPU while jobs flow; the levels below are (Snappy), where
	 * compaction has dropped the older records of each job. */
	int levels[7] = {rocksdb_no_compression,     rocksdb_snappy_compression,
	                 rocksdb_snappy_compression, rocksdb_snappy_compression,
	                 rocksdb_snappy_compression, rocksdb_snappy_compression,
	                 rocksdb_snappy_compression};
	rocksdb_options_set_compression_per_level(s->opts, levels, 7);
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
	/* A nearly full disk: files grow in small steps rather than reserving
	 * 4 MiB (MANIFEST) and 35 MiB (log, 1.1 x the write buffer; with one
	 * column family max_total_wal_size only caps that step) ahead. */
	rocksdb_options_set_manifest_preallocation_size(s->opts, 64u << 10);
	rocksdb_options_set_max_total_wal_size(s->opts, 1u << 20);
	store_info_log(s);
	store_insert_hints(s);
	/* An open replays the log into memory and leaves it there, rather than
	 * first writing it out as a table file: a start needs almost no free
	 * space. (Recovery goes on across a torn log tail when the next log
	 * continues its sequence numbers, as after every reopen.) */
	store_options_string(s, "avoid_flush_during_recovery=true");
	/* a log damaged in its middle stops the open (STORE_WAL_RECOVERY) */
	rocksdb_options_set_wal_recovery_mode(s->opts, STORE_WAL_RECOVERY);
}

/* store_restrict_at takes group and other permissions off what directory
 * dfd holds, depth levels down at most, without following symbolic links;
 * *n counts the entries changed. */
static void store_restrict_at(int dfd, unsigned *n, int depth)
{
	DIR *dp = fdopendir(dfd);
	if (dp == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			int sub = openat(dirfd(dp), de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				store_restrict_at(sub, n, depth - 1);
		}
		if ((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && (st.st_mode & 077) != 0 &&
		    fchmodat(dirfd(dp), de->d_name, st.st_mode & 0700, 0) == 0)
			(*n)++;
	}
	closedir(dp);
}

int wn_store_restrict(const char *dir, unsigned *changed, char **errmsg)
{
	*changed = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		*errmsg = wn_xasprintf("cannot open %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return WN_EIO;
	}
	if ((st.st_mode & 077) != 0) {
		if (fchmod(fd, st.st_mode & 0700) != 0) {
			*errmsg = wn_xasprintf("cannot make %s private: %s", dir, strerror(errno));
			close(fd);
			return WN_EIO;
		}
		(*changed)++;
	}
	store_restrict_at(fd, changed, 4);
	return WN_OK;
}

/* store_private makes the data directory and its files the owner's only: a
 * directory that an older wnd made open to every local user (0755, files
 * 0644) is tightened, with a warning. */
static int store_private(wn_store *s, char **errmsg)
{
	struct stat st;
	if (stat(s->dir, &st) != 0) {
		*errmsg =
		    wn_xasprintf("cannot read data directory %s: %s", s->dir, strerror(errno));
		return WN_EIO;
	}
	/* a data directory given as a symbolic link (/var/lib/wnd -> /srv/wnd) is
	 * the directory it names; only the links inside it are not followed */
	char *real = realpath(s->dir, NULL);
	unsigned changed = 0;
	int rv = wn_store_restrict(real != NULL ? real : s->dir, &changed, errmsg);
	free(real);
	bool dir_open = (st.st_mode & 077) != 0;
	unsigned inside = changed - (dir_open ? 1 : 0);
	char what[96] = "";
	if (dir_open)
		snprintf(what, sizeof(what), "the directory from %04o to 0700%s",
		         (unsigned)(st.st_mode & 07777), inside > 0 ? ", " : "");
	if (inside > 0)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
		         "%u of its files to 0600 (directories 0700)", inside);
	if (rv == WN_OK && changed > 0)
		wn_warn("data directory %s was open to other users: %s", s->dir, what);
	return rv;
}

/* store_dir_lock locks the data directory itself (flock op, never waiting):
 * a reader holds it shared and wnd exclusive, so that a directory without
 * wnd.lock (a backup's copy) is held too. The descriptor, or -1 (errno). */
static int store_dir_lock(const char *dir, int op)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, op | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* store_lock takes the data directory (creating it if needed, for the owner
 * only) for this process, before RocksDB touches anything in it. */
static int store_lock(wn_store *s, char **errmsg)
{
	if (wn_store_dir_check(s->dir, true, errmsg) != WN_OK)
		return WN_EIO;
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		*errmsg =
		    wn_xasprintf("cannot create data directory %s: %s%s", s->dir, strerror(errno),
		                 errno == ENOENT ? " (the directory it goes in must exist: "
		                                   "wnd makes only the last one)"
		                                 : "");
		return WN_EIO;
	}
	if (store_private(s, errmsg) != WN_OK)
		return WN_EIO;
	char *path = wn_xasprintf("%s/%s", s->dir, STORE_LOCK_FILE);
	int rv = WN_OK;
	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		*errmsg = wn_xasprintf("cannot open %s: %s", path, strerror(errno));
		rv = WN_EIO;
	} else if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		char pid[24] = "";
		ssize_t n = pread(s->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		long holder = atol(pid);
		if (e == EWOULDBLOCK && holder > 0 && kill((pid_t)holder, 0) != 0 &&
		    errno == ESRCH) {
			/* the pid of a wnd gone since: a reader holds the lock */
			*errmsg = wn_xasprintf("data directory %s is in use by another process "
			                       "(a wnd --check, say)",
			                       s->dir);
			rv = WN_EBUSY;
		} else if (e == EWOULDBLOCK) {
			*errmsg =
			    wn_xasprintf("data directory %s is in use by another wnd%s%s%s", s->dir,
			                 pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
			rv = WN_EBUSY;
		} else {
			*errmsg = wn_xasprintf("cannot lock %s: %s", path, strerror(e));
			rv = WN_EIO;
		}
		close(s->lockfd);
		s->lockfd = -1;
	} else if ((s->dirlockfd = store_dir_lock(s->dir, LOCK_EX)) < 0) {
		/* wnd.lock is free, the directory is not: a reader holds it */
		int e = errno;
		*errmsg = e == EWOULDBLOCK
		              ? wn_xasprintf("data directory %s is in use by another "
		                             "process (a wnd --check, say)",
		                             s->dir)
		              : wn_xasprintf("cannot lock %s: %s", s->dir, strerror(e));
		rv = e == EWOULDBLOCK ? WN_EBUSY : WN_EIO;
		close(s->lockfd);
		s->lockfd = -1;
	} else if (ftruncate(s->lockfd, 0) == 0) {
		/* who holds it, for the message above; on a full disk it stays empty */
		if (dprintf(s->lockfd, "%ld\n", (long)getpid()) < 0)
			wn_debug("cannot write %s: %s", path, strerror(errno));
	}
	free(path);
	return rv;
}

void wn_store_open_db(wn_store *s, char **err)
{
	int e = wn_fault_hit(WN_FAULT_OPEN);
	if (e != 0) {
		*err = wn_store_injected(e);
		return;
	}
	char *lost = wn_store_lost_current(s->dir);
	if (lost != NULL) {
		/* RocksDB would create an empty database and delete the old one's
		 * files as obsolete: every job gone at the next start */
		*err = wn_xasprintf("Corruption: its CURRENT file is missing, while %s and "
		                    "maybe more of the database's files are there (an empty "
		                    "database would replace them)",
		                    lost);
		free(lost);
		return;
	}
	char *foreign = wn_store_foreign_log(s->dir);
	if (foreign != NULL) {
		*err = wn_xasprintf("%s; restore the backup into a new, empty directory", foreign);
		free(foreign);
		return;
	}
	int dropped = wn_store_drop_empty_logs(s->dir);
	if (dropped > 0)
		wn_debug("store: %d empty write-ahead log(s) deleted", dropped);
	s->db = rocksdb_open(s->opts, s->dir, err);
	if (*err != NULL)
		s->db = NULL;
}

static void store_free(wn_store *s)
{
	if (s->db != NULL)
		rocksdb_close(s->db);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirlockfd >= 0)
		close(s->dirlockfd);
	if (s->ropts != NULL)
		rocksdb_readoptions_destroy(s->ropts);
	if (s->wopts != NULL)
		rocksdb_writeoptions_destroy(s->wopts);
	if (s->opts != NULL)
		rocksdb_options_destroy(s->opts);
	pthread_rwlock_destroy(&s->dblock);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_done);
	pthread_mutex_destroy(&s->mu);
	free(s->redo);
	free(s->failed);
	free(s->dir);
	free(s);
}

int wn_store_open(const char *dir, int durability, int relaxed_ms, wn_store **out, char **errmsg)
{
	wn_store *s = wn_xcalloc(1, sizeof(*s));
	s->dir = wn_xstrdup(dir);
	s->lockfd = s->dirlockfd = -1;
	s->durability = durability;
	s->relaxed_ms = relaxed_ms > 0 ? relaxed_ms : 100;
	pthread_rwlock_init(&s->dblock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_done, NULL);
	int rv = store_lock(s, errmsg);
	if (rv != WN_OK) {
		store_free(s);
		return rv;
	}
	store_options(s);
	s->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wopts, 0);
	s->ropts = rocksdb_readoptions_create();
	char *err = wn_store_room(s, STORE_START_SPACE + wn_store_replay_room(s));
	if (err != NULL) {
		*errmsg =
		    wn_xasprintf("cannot open store %s: %s to start; free some space", dir, err);
		free(err);
		store_free(s);
		return WN_EIO;
	}
	wn_store_open_db(s, &err);
	if (err != NULL) {
		rv = WN_EIO;
		if (strstr(err, "LOCK") != NULL &&
		    (strstr(err, "unavailable") != NULL || strstr(err, "hold by current") != NULL ||
		     strstr(err, "No locks") != NULL)) {
			*errmsg = wn_xasprintf("data directory %s is in use by another wnd", dir);
			rv = WN_EBUSY;
		} else {
			*errmsg = wn_xasprintf("cannot open store %s: %s%s", dir, err,
			                       strstr(err, "Corruption") != NULL
			                           ? "; a file of it is damaged: restore a backup"
			                           : "");
		}
		free(err);
		store_free(s);
		return rv;
	}
	if (pthread_create(&s->syncer, NULL, wn_store_syncer, s) != 0) {
		*errmsg = wn_xasprintf("cannot start the sync thread");
		wn_store_close(s);
		return WN_EINTERNAL;
	}
	s->have_syncer = true;
	rv = wn_store_check_version(s, errmsg);
	if (rv != WN_OK) {
		wn_store_close(s);
		return rv;
	}
	*out = s;
	return WN_OK;
}

/* store_int_property reads a numeric RocksDB property (0 if unknown). */
static uint64_t store_int_property(wn_store *s, const char *name)
{
	char *v = rocksdb_property_value(s->db, name);
	uint64_t n = v != NULL ? strtoull(v, NULL, 10) : 0;
	free(v);
	return n;
}

/* store_flush_memtable writes what is only in the log into a table file at a
 * clean close, if the disk has room for it: the logs go, and the next start
 * replays nothing. */
static void store_flush_memtable(wn_store *s)
{
	if (store_int_property(s, "rocksdb.num-entries-active-mem-table") == 0 &&
	    store_int_property(s, "rocksdb.num-immutable-mem-table") == 0)
		return;
	uint64_t mem = store_int_property(s, "rocksdb.cur-size-all-mem-tables");
	char *err = wn_store_room(s, mem + STORE_START_SPACE);
	if (err != NULL) {
		wn_info("store: changes left in the write-ahead log for the next start (%s)", err);
		free(err);
		return;
	}
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(fo, 1);
	rocksdb_flush(s->db, fo, &err);
	rocksdb_flushoptions_destroy(fo);
	if (err != NULL) {
		wn_warn("store: changes left in the write-ahead log for the next start: %s", err);
		free(err);
	}
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
	if (s->readonly) {
		/* nothing to sync */
	} else if (s->failed != NULL) {
		size_t n = wn_store_unstored(s);
		if (n > 0)
			wn_warn(
			    "store: %zu change(s) made since the store failed may not be stored "
			    "(none was acknowledged)",
			    n);
	} else if (s->db != NULL) {
		char *err = NULL;
		wn_store_rocks_flush(s, true, &err);
		if (err != NULL) {
			wn_error("cannot sync the write-ahead log at close: %s", err);
			free(err);
		} else {
			store_flush_memtable(s);
		}
	}
	store_free(s);
}

void wn_store_set_info_log(const char *dir)
{
	pthread_mutex_lock(&info_log_mu);
	free(info_log_dir);
	info_log_dir = dir != NULL ? wn_xstrdup(dir) : NULL;
	pthread_mutex_unlock(&info_log_mu);
}

/* ------------------------------------------------------------ reads */

int wn_store_get(wn_store *s, const void *key, size_t klen, char **val, size_t *len)
{
	if (s->db == NULL)
		return WN_EIO;
	char *err = NULL;
	int e = wn_fault_hit(WN_FAULT_READ);
	char *v = e == 0 ? rocksdb_get(s->db, s->ropts, key, klen, len, &err) : NULL;
	if (e != 0)
		err = wn_store_injected(e);
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

/* ------------------------------------------------------------ writes */

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

void wn_batch_mark(wn_batch *b)
{
	rocksdb_writebatch_set_save_point(b->wb);
}

void wn_batch_unmark(wn_batch *b, bool undo)
{
	char *err = NULL;
	if (undo)
		rocksdb_writebatch_rollback_to_save_point(b->wb, &err);
	else
		rocksdb_writebatch_pop_save_point(b->wb, &err);
	free(err); /* only without a mark, which wn_batch_mark's callers pair */
}

int wn_batch_count(const wn_batch *b)
{
	return rocksdb_writebatch_count(b->wb);
}

/* ------------------------------------------------------------ maintenance */

void wn_store_compact(wn_store *s, const void *start, size_t slen, const void *end, size_t elen)
{
	pthread_rwlock_rdlock(&s->dblock);
	if (s->db != NULL)
		rocksdb_compact_range(s->db, start, slen, end, elen);
	pthread_rwlock_unlock(&s->dblock);
}

wn_store_iter *wn_store_iter_new(wn_store *s, const void *prefix, size_t plen, const void *start,
                                 size_t slen)
{
	wn_store_iter *it = wn_xcalloc(1, sizeof(*it));
	it->prefix = wn_xmalloc(plen);
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	if (s->db == NULL)
		return it; /* walks nothing: the engine serves no reads then */
	it->it = rocksdb_create_iterator(s->db, s->ropts);
	if (start != NULL)
		rocksdb_iter_seek(it->it, start, slen);
	else
		rocksdb_iter_seek(it->it, prefix, plen);
	return it;
}

wn_store_iter *wn_store_iter_new_rev(wn_store *s, const void *prefix, size_t plen,
                                     const void *start, size_t slen)
{
	wn_store_iter *it = wn_store_iter_new(s, prefix, plen, NULL, 0);
	it->rev = true;
	if (it->it == NULL)
		return it;
	if (start != NULL) {
		rocksdb_iter_seek_for_prev(it->it, start, slen);
	} else {
		/* the last key of the prefix: before the prefix's next value */
		char *end = wn_xmalloc(plen);
		memcpy(end, prefix, plen);
		size_t el = plen;
		while (el > 0 && (unsigned char)end[el - 1] == 0xff)
			el--;
		if (el == 0) {
			rocksdb_iter_seek_to_last(it->it);
		} else {
			end[el - 1]++;
			rocksdb_iter_seek_for_prev(it->it, end, el);
			if (rocksdb_iter_valid(it->it)) {
				size_t kl;
				const char *k = rocksdb_iter_key(it->it, &kl);
				if (kl == el && memcmp(k, end, el) == 0)
					rocksdb_iter_prev(it->it);
			}
		}
		free(end);
	}
	return it;
}

bool wn_store_iter_next(wn_store_iter *it, const char **key, size_t *klen, const char **val,
                        size_t *vlen)
{
	if (it->it == NULL || it->fault != 0)
		return false;
	it->fault = wn_fault_hit(WN_FAULT_SCAN);
	if (it->fault != 0)
		return false;
	if (it->started && it->rev)
		rocksdb_iter_prev(it->it);
	else if (it->started)
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
	if (it->it != NULL)
		rocksdb_iter_destroy(it->it);
	free(it->prefix);
	free(it->err);
	free(it);
}

const char *wn_store_iter_error(wn_store_iter *it)
{
	free(it->err);
	it->err = NULL;
	if (it->it == NULL)
		it->err = wn_xasprintf("the database is closed after a failed reopen");
	else if (it->fault != 0)
		it->err = wn_store_injected(it->fault);
	else
		rocksdb_iter_get_error(it->it, &it->err);
	return it->err;
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
	/* a wnd holds wnd.lock and the directory from before it opens RocksDB
	 * until after it has closed it, also while it reopens the database to
	 * recover; a reader holds the directory shared while it reads (a
	 * backup's copy has no wnd.lock), so that no wnd starts meanwhile and
	 * deletes files under it (its empty logs, RocksDB's obsolete files) */
	int lfd = store_dir_lock(dir, LOCK_SH);
	if (lfd < 0 && errno == EWOULDBLOCK) {
		*errmsg = wn_xasprintf("data directory %s is in use by another wnd", dir);
		return WN_EBUSY;
	} /* no directory to lock: RocksDB's open says what is wrong */
	/* RocksDB's info log would replace the LOG file of the directory: it
	 * goes to a temporary directory, removed once the database is open */
	const char *tmp = getenv("TMPDIR");
	char *logdir = wn_xasprintf("%s/wnd-check.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(logdir) == NULL) {
		*errmsg = wn_xasprintf("cannot create a temporary directory %s: %s", logdir,
		                       strerror(errno));
		free(logdir);
		if (lfd >= 0)
			close(lfd);
		return WN_EIO;
	}
	wn_store *s = wn_xcalloc(1, sizeof(*s));
	s->readonly = true;
	s->lockfd = lfd; /* closed with the store: the lock goes with it */
	s->dirlockfd = -1;
	pthread_rwlock_init(&s->dblock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_done, NULL);
	s->opts = rocksdb_options_create();
	rocksdb_options_set_info_log_level(s->opts, 2); /* warn */
	rocksdb_options_set_db_log_dir(s->opts, logdir);
	rocksdb_options_set_wal_recovery_mode(s->opts, STORE_WAL_RECOVERY);
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
