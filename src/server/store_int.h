/* store_int: the store's state, shared by store.c (open, close, reads),
 * store_wal.c (the write path: group commit, the redo log, failures and
 * recovery) and store_copy.c (checkpoints). Not for use outside the store. */
#ifndef WN_STORE_INT_H
#define WN_STORE_INT_H

#include "histo.h"
#include "store.h"

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>

/* RocksDB's kTolerateCorruptedTailRecords: a log's torn tail (a write cut by
 * a crash or a full disk) is let be; damage anywhere else refuses the open,
 * as a damaged table file does, rather than drop every acknowledged write
 * after it (RocksDB's default). */
#define STORE_WAL_RECOVERY 0

/* The file of the data directory that wnd holds locked while it runs. */
#define STORE_LOCK_FILE "wnd.lock"

/* The memtable's size (write_buffer_size). */
#define STORE_MEMTABLE (32u << 20)

/* Free space an open needs: RocksDB's LOG header lines, a new MANIFEST,
 * OPTIONS and CURRENT file and a new log (measured, docs/server.md), with
 * room to spare. Below it a start is refused rather than let RocksDB's LOG
 * writer abort the process. */
#define STORE_START_SPACE (1u << 20)
/* Ranges of tickets lost to failures remembered; older ones merge. */
#define STORE_LOST_MAX 64

struct wn_store {
	char *dir;
	int lockfd;    /* wnd.lock, held */
	int dirlockfd; /* the directory, held (store_dir_lock) */
	rocksdb_t *db; /* NULL while a reopen has failed */
	rocksdb_options_t *opts;
	rocksdb_writeoptions_t *wopts;
	rocksdb_readoptions_t *ropts;
	int durability;
	int relaxed_ms;
	bool readonly; /* wn_store_open_readonly: no sync at close */
	/* Taken to read by users of db that run outside the caller's lock (the
	 * sync thread, wn_store_flush, wn_store_compact), to write by a reopen. */
	pthread_rwlock_t dblock;

	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* syncer: there are writes to sync, or recovery */
	pthread_cond_t cv_done; /* writers: synced advanced or the store failed */
	uint64_t written;       /* tickets handed out */
	uint64_t synced;        /* every ticket <= synced is durable (unless lost) */
	uint64_t flushed;       /* every ticket <= flushed is in the OS's hands */
	bool stopping;
	char *failed;       /* why the store takes no writes now; NULL when healthy */
	atomic_bool broken; /* failed != NULL, readable without mu */
	uint64_t gen;       /* failures so far: a sync that saw one complete is void */
	uint64_t recovered; /* recoveries so far (wn_store_recoveries) */
	uint64_t kept;      /* while failed: the tickets above this one are lost */
	struct {
		uint64_t lo, hi;
	} lost[STORE_LOST_MAX]; /* tickets lost to past failures */
	size_t nlost;
	bool unapplied; /* a write of the redo log is not in db (reads miss it) */
	/* The redo log: every write not yet synced, as [ticket][length][batch],
	 * applied again after a reopen so the database holds every write the
	 * caller made, acknowledged or not (memory and disk stay equal). */
	char *redo;
	size_t redo_len, redo_cap;
	int64_t retry_at; /* no recovery attempt before this (monotonic ms) */
	int retry_ms;     /* the interval after reopens that failed (0: none did) */
	pthread_t syncer;
	bool have_syncer;
	void (*on_durable)(void *arg); /* called by the syncer after synced advances */
	void *on_durable_arg;
	wn_histo sync_hist; /* the syncer's syncs (wn_store_sync_histo) */
};

struct wn_batch {
	rocksdb_writebatch_t *wb;
	uint64_t serial;
};

/* wn_store_open_db opens s->db through the fault seam; *err says why not. */
void wn_store_open_db(wn_store *s, char **err);
/* wn_store_injected returns RocksDB's way of saying errno err, for a fault of
 * the seam (malloc'd). */
char *wn_store_injected(int err);
/* wn_store_rocks_flush writes the log buffer to the OS, and syncs it if sync,
 * through the fault seam; *err says why not. */
void wn_store_rocks_flush(wn_store *s, bool sync, char **err);
/* wn_store_room returns NULL if the disk of s->dir has need bytes free, else a
 * malloc'd "only N KiB free ..." message. */
char *wn_store_room(const wn_store *s, uint64_t need);

/* wn_store_replay_room is the room an open needs besides STORE_START_SPACE
 * to replay the logs of s's directory: none while they fit well inside one
 * memtable, else about their size, which RocksDB writes out as table files
 * while it replays them, avoid_flush_during_recovery or not. */
uint64_t wn_store_replay_room(const wn_store *s);
/* wn_store_syncer is the sync thread (arg: the store). */
void *wn_store_syncer(void *arg);
/* wn_store_unstored counts the writes lost to the current failure that are
 * not in the database (for the message at close). */
size_t wn_store_unstored(const wn_store *s);

/* wn_store_check_version writes the data layout version into a new
 * database, and refuses one whose version this wnd cannot serve (store_dir.c). */
int wn_store_check_version(wn_store *s, char **errmsg);

#endif
