/* Copies of the store (store.h): a checkpoint for a backup, and the last
 * key of a copy, read without opening it for writing. */
#include "store_int.h"

#include "err.h"
#include "util.h"

#include <rocksdb/c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int wn_store_checkpoint(wn_store *s, const char *dir, char **errmsg)
{
	char *err = NULL;
	rocksdb_checkpoint_t *cp = NULL;
	/* runs outside the caller's lock: a recovery must not reopen meanwhile */
	pthread_rwlock_rdlock(&s->dblock);
	if (s->db == NULL)
		err = wn_xasprintf("the database is closed after a failed reopen");
	else
		cp = rocksdb_checkpoint_object_create(s->db, &err);
	if (err == NULL)
		/* no flush of the memtable (log_size_for_flush past any log):
		 * the copy takes the logs instead, so a backup writes nothing on
		 * the data's disk, and one taken while that disk is full neither
		 * fails for it nor takes the server's writes down */
		rocksdb_checkpoint_create(cp, dir, UINT64_MAX, &err);
	if (cp != NULL)
		rocksdb_checkpoint_object_destroy(cp);
	pthread_rwlock_unlock(&s->dblock);
	if (err != NULL) {
		/* a full disk or quota where the copy goes: no fault of the store */
		bool full = strstr(err, "No space left on device") != NULL ||
		            strstr(err, "Disk quota exceeded") != NULL;
		*errmsg = wn_xasprintf("%s", err);
		free(err);
		return full ? WN_ENOMEM : WN_EIO;
	}
	/* RocksDB copies some files under the process's umask */
	unsigned changed;
	return wn_store_restrict(dir, &changed, errmsg);
}

int wn_store_last_key(const char *dir, const char *prefix, size_t plen, char **key, size_t *klen,
                      char **errmsg)
{
	char *err = NULL;
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_options_set_info_log_level(o, 2);  /* warn */
	rocksdb_options_set_max_open_files(o, 16); /* open the table files it reads, not all */
	rocksdb_options_set_wal_recovery_mode(o, STORE_WAL_RECOVERY);
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
