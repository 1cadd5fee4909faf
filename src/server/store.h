/* store: the RocksDB database under the data directory, write batches and
 * group commit. Writers append to the WAL without syncing while they hold the
 * server's state lock, then wait outside it for a sync that covers their write:
 * concurrent writers share one fsync.
 *
 * Failures: when a write or a sync fails (a full disk, no file descriptors
 * left, an I/O error) the store fails: the writes not yet durable are lost to
 * their callers (their tickets say WN_EIO, so nothing is acknowledged that is
 * not on disk) but kept in a redo log, in order, with the writes made while
 * the store is failed. wn_store_recover, called under the caller's lock until
 * it succeeds, reopens the database once the disk has room again and applies
 * the redo log: the database then holds every write the caller made, so a
 * caller that keeps its own state in memory stays equal to the disk. */
#ifndef WN_STORE_H
#define WN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On-disk layout version, kept under the key "m/version". Bump when a key
 * format or a record's meaning changes; a server refuses a newer layout. */
#define WN_STORE_VERSION 1

typedef struct wn_store wn_store;
typedef struct wn_batch wn_batch;
typedef struct wn_store_iter wn_store_iter;

enum wn_durability { WN_DURABILITY_SYNC = 0, WN_DURABILITY_RELAXED = 1 };

/* wn_store_open opens (creating if needed) the database in dir, after taking
 * an exclusive lock on dir/wnd.lock. relaxed_ms is the time from one sync to the
 * next in relaxed mode (one sync at most every relaxed_ms). On failure *errmsg
 * gets a malloc'd message; WN_EBUSY means another process holds the directory
 * (and nothing in it was touched). */
int wn_store_open(const char *dir, int durability, int relaxed_ms, wn_store **out, char **errmsg);
/* wn_store_open_readonly opens the database in dir for reading: it writes
 * nothing there (not even RocksDB's info log) and every write fails;
 * WN_EBUSY, with *errmsg naming the process, while a wnd holds the directory. */
int wn_store_open_readonly(const char *dir, wn_store **out, char **errmsg);
/* wn_store_close syncs the WAL, stops the sync thread, closes and releases the
 * directory; NULL is a no-op. */
void wn_store_close(wn_store *s);
/* wn_store_set_info_log names the directory where stores opened later keep
 * RocksDB's diagnostic LOG, with its warnings (NULL, the default: the data
 * directory, with RocksDB's header lines of each open only; any other LOG
 * write could abort the process once the disk it is on has filled). */
void wn_store_set_info_log(const char *dir);

/* wn_store_get reads key into a new buffer (*val, *len); WN_ENOTFOUND if absent.
 * Like iterators, it reads the database, which lacks the writes of the redo log
 * while wn_store_readable is false. */
int wn_store_get(wn_store *s, const void *key, size_t klen, char **val, size_t *len);

/* wn_batch_new starts an empty write batch. */
wn_batch *wn_batch_new(void);
/* wn_batch_free frees a batch; NULL is a no-op. */
void wn_batch_free(wn_batch *b);
/* wn_batch_put adds a put of key to b. */
void wn_batch_put(wn_batch *b, const void *key, size_t klen, const void *val, size_t vlen);
/* wn_batch_del adds a delete of key to b. */
void wn_batch_del(wn_batch *b, const void *key, size_t klen);
/* wn_batch_serial returns a number no other batch of this process has. */
uint64_t wn_batch_serial(const wn_batch *b);
/* wn_batch_mark remembers what b holds; wn_batch_unmark with undo takes back
 * the updates added since (else keeps them), and forgets the mark. Marks
 * nest: each wn_batch_mark is paired with one wn_batch_unmark. */
void wn_batch_mark(wn_batch *b);
void wn_batch_unmark(wn_batch *b, bool undo);
/* wn_batch_count returns the number of updates in b. */
int wn_batch_count(const wn_batch *b);

/* wn_store_write applies b atomically (readers see it at once) without
 * waiting for it to reach the disk, and returns WN_OK with the ticket to pass
 * to wn_store_wait in *seq. If the write fails, or the store has failed, b is
 * kept in the redo log to be applied when the store recovers, and its ticket
 * says WN_EIO. */
int wn_store_write(wn_store *s, wn_batch *b, uint64_t *seq);
/* wn_store_wait blocks until the write with ticket seq is durable as the
 * durability mode promises (sync: fsynced; relaxed: handed to the OS). */
int wn_store_wait(wn_store *s, uint64_t seq);
/* wn_store_flush hands what was written so far to the OS (relaxed mode; in
 * sync mode the sync thread does it). Cheap when there is nothing new. */
int wn_store_flush(wn_store *s);
/* wn_store_durable reports without blocking whether the write with ticket seq
 * is durable: WN_OK, WN_EBUSY (not yet) or WN_EIO (it was lost to a failure:
 * its reply must not say it was stored, even after the store recovered). */
int wn_store_durable(wn_store *s, uint64_t seq);
/* wn_store_written returns the ticket of the latest write. */
uint64_t wn_store_written(wn_store *s);
/* wn_store_on_durable registers fn, called from the sync thread (no lock held)
 * each time more writes become durable or the store fails. */
void wn_store_on_durable(wn_store *s, void (*fn)(void *arg), void *arg);
/* wn_store_thread_init readies the calling thread for store calls: RocksDB's
 * per-thread statistics off (they cost a thread-local lookup per key
 * comparison). */
void wn_store_thread_init(void);
/* wn_store_failed reports whether the store has failed and takes no writes
 * now, copying why ("cannot write to the store: ...") into buf (may be NULL). */
bool wn_store_failed(wn_store *s, char *buf, size_t len);
/* wn_store_disk_free returns the bytes free on the disk of s's directory
 * (for root, the blocks reserved for it too), UINT64_MAX when it cannot be
 * told. */
uint64_t wn_store_disk_free(const wn_store *s);
/* wn_store_recoveries is how many times the store recovered from a failure
 * (wn_store_recover) since it was opened. */
uint64_t wn_store_recoveries(wn_store *s);
/* wn_store_readable reports whether reads see every write made (false while
 * the redo log holds a write the database lacks, or the database is closed). */
bool wn_store_readable(wn_store *s);
/* wn_store_recover returns WN_OK if the store is healthy; if it has failed it
 * tries, at most every 200 ms (after a reopen that failed, at intervals
 * doubling up to 5 s) and only when the disk has room, to reopen the
 * database and apply the redo log, and returns WN_OK if that worked, else
 * WN_EIO. The caller must hold the lock under which it makes every other store
 * call but wn_store_wait, wn_store_durable, wn_store_flush, wn_store_compact
 * and wn_store_checkpoint (which may run alongside). */
int wn_store_recover(wn_store *s);

/* wn_store_sync_histo returns the times of the sync thread's syncs of the
 * write-ahead log (each the fsync of a group commit), on wn_histo_fast. */
const struct wn_histo *wn_store_sync_histo(wn_store *s);
/* wn_store_lost_current returns the name of a table file, log or manifest
 * in dir when dir has no CURRENT file (malloc'd; NULL when CURRENT is there
 * or dir holds none): a database whose CURRENT is lost, which RocksDB would
 * take for none and replace with an empty one, deleting those files. */
char *wn_store_lost_current(const char *dir);
/* wn_store_foreign_log returns why a write-ahead log of dir cannot be this
 * database's (malloc'd; NULL when every log follows on from the one before):
 * its first change is not the one after the last change of the logs before
 * it, as when a backup's files are copied over a data directory that holds
 * newer logs, which RocksDB would replay on top of the backup. */
char *wn_store_foreign_log(const char *dir);
/* wn_store_stray_file returns the name of a file of dir that is none of a
 * data directory's (malloc'd), when dir holds no database (no CURRENT):
 * NULL when it holds only RocksDB's files, wnd.lock, audit.log, lost+found
 * (the root of a file system) and names that begin with a dot. */
char *wn_store_stray_file(const char *dir);
/* wn_store_dir_check refuses, with a message that says what to do, a data
 * directory this process cannot use: one that is not a directory, belongs to
 * another user (write: wnd must make it private; read: one it may not read),
 * is closed to its owner, or (write) is on a read-only file system; or that
 * holds a file of the store this process may not open (another user's, or
 * one closed to its owner). A path that does not exist is WN_OK: the open
 * makes it. */
int wn_store_dir_check(const char *dir, bool write, char **errmsg);
/* wn_store_dir_foreign refuses (WN_EINVAL, saying what to do) a directory
 * that holds a RocksDB database with keys but no data layout version, which
 * every wnd writes first: another program's, which wnd would otherwise take
 * as its own, write its version into and make private; and one with no
 * database but other files (wn_store_stray_file: a home directory, /srv),
 * all of which wnd would make private, four levels down; and a database
 * whose data layout version this wnd cannot serve (a newer wnd's). A
 * database is opened read-only to look, before wnd.lock is taken, anything
 * is made private or RocksDB's open writes: nothing in it changes. */
int wn_store_dir_foreign(const char *dir, char **errmsg);
/* wn_store_drop_empty_logs deletes the write-ahead logs of dir that hold
 * nothing (zero bytes), but the newest, and returns how many it deleted.
 * RocksDB opens a new log at each open and keeps the ones before it while
 * the memtable has not been written out, which an open that replays nothing
 * and a close with nothing to write never do: without this every idle start
 * would leave one more empty log, each read at every start after it. Call
 * it with the directory locked, before RocksDB opens it. */
int wn_store_drop_empty_logs(const char *dir);
/* wn_store_disk_usage sums the sizes of the database's files in its
 * directory: table files in *sst, write-ahead logs in *wal, the rest of
 * RocksDB's (MANIFEST, OPTIONS, CURRENT, its LOG) in *other; WN_EIO if the
 * directory cannot be read. */
int wn_store_disk_usage(wn_store *s, uint64_t *sst, uint64_t *wal, uint64_t *other);

/* wn_store_compact compacts the key range [start, end) so that the space of
 * deleted keys comes back. */
void wn_store_compact(wn_store *s, const void *start, size_t slen, const void *end, size_t elen);

/* wn_store_iter_new walks keys starting with prefix, from start (>= start; NULL =
 * the prefix itself). */
wn_store_iter *wn_store_iter_new(wn_store *s, const void *prefix, size_t plen, const void *start,
                                 size_t slen);
/* wn_store_iter_new_rev walks keys starting with prefix downward, from start
 * (<= start; NULL = the prefix's last key). */
wn_store_iter *wn_store_iter_new_rev(wn_store *s, const void *prefix, size_t plen,
                                     const void *start, size_t slen);
/* wn_store_iter_next moves to the next key; false at the end of the prefix. */
bool wn_store_iter_next(wn_store_iter *it, const char **key, size_t *klen, const char **val,
                        size_t *vlen);
/* wn_store_iter_error returns why the walk ended early (a read error, such
 * as a damaged table file), or NULL if it did not; valid until the next call
 * or wn_store_iter_free. */
const char *wn_store_iter_error(wn_store_iter *it);
/* wn_store_iter_free frees the iterator; NULL is a no-op. */
void wn_store_iter_free(wn_store_iter *it);

/* wn_store_restrict takes group and other permissions off directory dir and
 * what it holds (directories 0700, files 0600 at most; symbolic links are not
 * followed); *changed counts the entries changed. */
int wn_store_restrict(const char *dir, unsigned *changed, char **errmsg);

/* wn_store_checkpoint makes dir, which must not exist (its parent must), a
 * copy of the database as it was at one moment during the call, one that
 * wn_store_open opens: the memtable is flushed first, table files are
 * hard-linked when dir is on the same file system (else copied), the rest
 * copied and synced; dir and its files are the owner's only (0700, 0600).
 * Every write made durable before the call is in it;
 * writers go on meanwhile. On failure *errmsg gets a malloc'd message. */
int wn_store_checkpoint(wn_store *s, const char *dir, char **errmsg);
/* wn_store_last_key opens the database in dir read-only (one no wnd is
 * using, such as a checkpoint) and returns in a new buffer (*key, *klen)
 * its last key that starts with prefix; WN_ENOTFOUND if there is none. */
int wn_store_last_key(const char *dir, const char *prefix, size_t plen, char **key, size_t *klen,
                      char **errmsg);

#endif
