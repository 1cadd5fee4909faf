/* The store's figures for the metrics: its sync times and its size on disk
 * (store.h). */
#include "store_int.h"

#include "err.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct wn_histo *wn_store_sync_histo(wn_store *s)
{
	return &s->sync_hist;
}

/* stat_kind tells which of RocksDB's files name is: 0 a table file, 1 a
 * write-ahead log, 2 another of its files, -1 none of them (wnd.lock,
 * audit.log). */
static int stat_kind(const char *name)
{
	size_t n = strlen(name);
	if (n > 4 && strcmp(name + n - 4, ".sst") == 0)
		return 0;
	if (n > 4 && strcmp(name + n - 4, ".log") == 0 && strspn(name, "0123456789") == n - 4)
		return 1;
	static const char *const prefixes[] = {"MANIFEST-", "OPTIONS-", "CURRENT",
	                                       "IDENTITY",  "LOCK",     "LOG"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 2;
	return -1;
}

/* first_without_current returns (malloc'd) the first name in dir that pick
 * takes, when dir has no CURRENT file; NULL when it has one or none is taken. */
static char *first_without_current(const char *dir, bool (*pick)(const char *name))
{
	char *current = wn_xasprintf("%s/CURRENT", dir);
	struct stat st;
	bool have = lstat(current, &st) == 0;
	free(current);
	DIR *d = have ? NULL : opendir(dir);
	if (d == NULL)
		return NULL;
	char *found = NULL;
	struct dirent *de;
	while (found == NULL && (de = readdir(d)) != NULL)
		if (pick(de->d_name))
			found = wn_xstrdup(de->d_name);
	closedir(d);
	return found;
}

/* a table or log file of a store, or a MANIFEST */
static bool store_made(const char *name)
{
	return stat_kind(name) == 0 || stat_kind(name) == 1 || strncmp(name, "MANIFEST-", 9) == 0;
}

char *wn_store_lost_current(const char *dir)
{
	return first_without_current(dir, store_made);
}

/* a name that is neither the store's nor wnd's own */
static bool not_ours(const char *name)
{
	size_t n = strlen(name);
	return !(name[0] == '.' || stat_kind(name) >= 0 || strcmp(name, STORE_LOCK_FILE) == 0 ||
	         strcmp(name, "audit.log") == 0 || strcmp(name, "lost+found") == 0 ||
	         (n > 6 && strcmp(name + n - 6, ".dbtmp") == 0));
}

char *wn_store_stray_file(const char *dir)
{
	return first_without_current(dir, not_ours);
}

int wn_store_disk_usage(wn_store *s, uint64_t *sst, uint64_t *wal, uint64_t *other)
{
	uint64_t sum[3] = {0, 0, 0};
	DIR *d = opendir(s->dir);
	if (d == NULL)
		return WN_EIO;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int k = stat_kind(de->d_name);
		struct stat st;
		if (k >= 0 && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			sum[k] += (uint64_t)st.st_size;
	}
	closedir(d);
	*sst = sum[0];
	*wal = sum[1];
	*other = sum[2];
	return WN_OK;
}
