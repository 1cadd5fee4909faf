/* The data directory before the store opens it (store.h): whether this
 * process may use it, said with what to do when it may not, and whether a
 * database already in it is wnd's. */
#include "store_int.h"

#include "err.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir_user writes "user NAME (uid N)", or "uid N" for a uid without a name. */
static void dir_user(char *buf, size_t cap, uid_t uid)
{
	struct passwd pw, *found = NULL;
	char names[1024];
	if (getpwuid_r(uid, &pw, names, sizeof(names), &found) == 0 && found != NULL)
		snprintf(buf, cap, "user %s (uid %lu)", found->pw_name, (unsigned long)uid);
	else
		snprintf(buf, cap, "uid %lu", (unsigned long)uid);
}

/* dir_not_owner says that dir belongs to another user than this process's. */
static char *dir_not_owner(const char *dir, const struct stat *st, bool write)
{
	char owner[160], me[160];
	dir_user(owner, sizeof(owner), st->st_uid);
	dir_user(me, sizeof(me), geteuid());
	if (write)
		return wn_xasprintf("data directory %s belongs to %s, and wnd runs as %s: run wnd "
		                    "as its owner, or make %s its owner (chown -R %lu %s)",
		                    dir, owner, me, me, (unsigned long)geteuid(), dir);
	return wn_xasprintf("data directory %s belongs to %s and may not be read by %s: run "
	                    "the check as its owner",
	                    dir, owner, me);
}

/* dir_file_need is the access the store's open needs to file name of the
 * data directory: 0 for a file it does not open (RocksDB's LOG is renamed,
 * which takes the directory alone). */
static int dir_file_need(const char *name, bool write)
{
	size_t n = strlen(name);
	if (strcmp(name, "LOCK") == 0 || strcmp(name, STORE_LOCK_FILE) == 0)
		return write ? R_OK | W_OK : 0;
	/* logs and table files are numbered: audit.log is not the store's */
	if (strcmp(name, "CURRENT") == 0 || strcmp(name, "IDENTITY") == 0 ||
	    strncmp(name, "MANIFEST-", 9) == 0 ||
	    (n > 4 && strspn(name, "0123456789") == n - 4 &&
	     (strcmp(name + n - 4, ".log") == 0 || strcmp(name + n - 4, ".sst") == 0)))
		return R_OK;
	return 0;
}

/* dir_files_check refuses, saying what to do, a data directory holding a
 * file of the store that this process may not open (one root made there,
 * say, by a wnd --check --repair): RocksDB's open would fail on it in its
 * own words ("Invalid argument: Found options incompatible with filesystem"
 * for a CURRENT file), after rolling its LOG. */
static int dir_files_check(const char *dir, bool write, char **errmsg)
{
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return WN_OK; /* the open says why */
	uid_t me = geteuid();
	struct dirent *de;
	int rv = WN_OK;
	while (rv == WN_OK && (de = readdir(dp)) != NULL) {
		struct stat st;
		int need = dir_file_need(de->d_name, write);
		if (need == 0 || fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) ||
		    faccessat(dirfd(dp), de->d_name, need, AT_EACCESS) == 0 || errno != EACCES)
			continue;
		char owner[160], self[160];
		dir_user(owner, sizeof(owner), st.st_uid);
		dir_user(self, sizeof(self), me);
		if (st.st_uid != me)
			*errmsg = wn_xasprintf(
			    "file %s of data directory %s belongs to %s (mode %04o), and %s as "
			    "%s: %s as its owner, or make %s the owner of every file there "
			    "(chown -R %lu %s)",
			    de->d_name, dir, owner, (unsigned)(st.st_mode & 07777),
			    write ? "wnd runs" : "the check runs", self,
			    write ? "run wnd" : "run the check", self, (unsigned long)me, dir);
		else
			*errmsg =
			    wn_xasprintf("file %s of data directory %s (mode %04o) is closed to "
			                 "its owner: chmod -R u+rw %s",
			                 de->d_name, dir, (unsigned)(st.st_mode & 07777), dir);
		rv = WN_EINVAL;
	}
	closedir(dp);
	return rv;
}

int wn_store_dir_check(const char *dir, bool write, char **errmsg)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return WN_OK; /* made by the open; the check says it is missing */
		*errmsg = wn_xasprintf("cannot reach data directory %s: %s", dir, strerror(errno));
		return WN_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		*errmsg = wn_xasprintf("data directory %s is not a directory: give --data (data) a "
		                       "directory, or a path that does not exist yet",
		                       dir);
		return WN_EINVAL;
	}
	uid_t me = geteuid();
	/* wnd makes its directory private (chmod), which only the owner may */
	if (write && st.st_uid != me && me != 0) {
		*errmsg = dir_not_owner(dir, &st, true);
		return WN_EINVAL;
	}
	int want = R_OK | X_OK | (write ? W_OK : 0);
	if (faccessat(AT_FDCWD, dir, want, AT_EACCESS) != 0) {
		int e = errno;
		if (e == EROFS)
			*errmsg =
			    wn_xasprintf("data directory %s is on a read-only file system, and "
			                 "wnd writes there: mount it read-write, or copy the "
			                 "directory to a disk wnd may write to (wnd --check "
			                 "reads it where it is)",
			                 dir);
		else if (e == EACCES && st.st_uid != me)
			*errmsg = dir_not_owner(dir, &st, write);
		else if (e == EACCES)
			*errmsg =
			    wn_xasprintf("data directory %s (mode %04o) is closed to its owner: "
			                 "chmod 700 %s",
			                 dir, (unsigned)(st.st_mode & 07777), dir);
		else
			*errmsg =
			    wn_xasprintf("cannot use data directory %s: %s", dir, strerror(e));
		return WN_EINVAL;
	}
	if (write && st.st_uid != me) {
		/* root: what it makes there would be closed to the owner's wnd */
		char owner[160];
		dir_user(owner, sizeof(owner), st.st_uid);
		wn_warn("data directory %s belongs to %s: the files wnd makes in it now are "
		        "root's, which a wnd run as its owner cannot open",
		        dir, owner);
	}
	return me == 0 ? WN_OK : dir_files_check(dir, write, errmsg);
}

/* dir_has reports whether dir holds a file named name. */
static bool dir_has(const char *dir, const char *name)
{
	char *path = wn_xasprintf("%s/%s", dir, name);
	struct stat st;
	bool has = lstat(path, &st) == 0;
	free(path);
	return has;
}

/* store_version_ok refuses the data layout version held in the len bytes at
 * val (m/version of dir) when this wnd cannot serve it: a newer wnd's, or a
 * value that is no version at all. */
static int store_version_ok(const char *val, size_t len, const char *dir, char **errmsg)
{
	uint64_t v = 0;
	bool number = wn_parse_u64(val, len, &v) == WN_OK;
	char shown[33];
	size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
	for (size_t i = 0; i < n; i++)
		shown[i] = val[i] >= 0x20 && val[i] < 0x7f ? val[i] : '?';
	shown[n] = '\0';
	if (number && v > WN_STORE_VERSION) {
		*errmsg =
		    wn_xasprintf("data layout version %llu is newer than this wnd knows (%d): "
		                 "a newer wnd wrote it; serve it with that one",
		                 (unsigned long long)v, WN_STORE_VERSION);
		return WN_EINVAL;
	}
	if (!number || v < 1) {
		/* atoi would have called "abc" version 0 */
		*errmsg = wn_xasprintf("the data layout version (m/version) is '%s', not a version "
		                       "of wnd's: the directory is damaged or not wnd's; run 'wnd "
		                       "--check --data %s'",
		                       shown, dir);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* store_versionless refuses the database s of dir, which has no data layout
 * version and no wnd.lock, when it has keys: another program's. */
static int store_versionless(wn_store *s, const char *dir, char **errmsg)
{
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it = wn_store_iter_new(s, "", 0, NULL, 0);
	int rv = WN_OK;
	if (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		char name[160];
		wn_key_name(name, sizeof(name), k, kl);
		*errmsg = wn_xasprintf(
		    "data directory %s holds a database that is not wnd's: it has keys (such as "
		    "'%s') but no data layout version (m/version); give --data (data) a new or "
		    "empty directory (if it is a wnd data directory that lost its version, "
		    "wnd --check --data %s says what else is wrong)",
		    dir, name, dir);
		rv = WN_EINVAL;
	}
	wn_store_iter_free(it);
	return rv;
}

int wn_store_dir_foreign(const char *dir, char **errmsg)
{
	/* a directory a wnd has served holds its wnd.lock; one without (a
	 * backup's copy, another program's database) is looked at first */
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() && geteuid() != 0))
		return WN_OK; /* wn_store_open says why it cannot be used */
	/* a database that lost its CURRENT: the open says so, more precisely */
	char *lost = wn_store_lost_current(dir);
	char *stray = lost == NULL ? wn_store_stray_file(dir) : NULL;
	free(lost);
	if (stray != NULL) {
		char name[160];
		wn_key_name(name, sizeof(name), stray, strlen(stray));
		*errmsg = wn_xasprintf("data directory %s holds no database but other files (such "
		                       "as '%s'), which wnd would make private and put its own "
		                       "among: give --data (data) a new or empty directory",
		                       dir, name);
		free(stray);
		return WN_EINVAL;
	}
	if (!dir_has(dir, "CURRENT"))
		return WN_OK;
	/* before wnd.lock is taken and the directory made private, and before
	 * RocksDB's open writes a new manifest and log: a layout this wnd
	 * cannot serve (a newer wnd's) is refused with its modes unchanged. A
	 * directory wnd served that is private already is not looked at twice:
	 * the open reads the version before anything else, and a read-only look
	 * replays the write-ahead log once more (seconds after a crash with a
	 * million jobs in it) */
	bool served = dir_has(dir, STORE_LOCK_FILE);
	if (served && (st.st_mode & 077) == 0)
		return WN_OK;
	wn_store *s = NULL;
	int rv = wn_store_open_readonly(dir, &s, errmsg);
	if (rv != WN_OK && served) {
		/* in use, damaged, no room: the open says so, as precisely as ever */
		free(*errmsg);
		*errmsg = NULL;
		return WN_OK;
	}
	if (rv != WN_OK)
		return rv;
	char *val = NULL;
	size_t len = 0;
	rv = wn_store_get(s, WN_KEY_VERSION, WN_KEY_VERSION_LEN, &val, &len);
	if (rv == WN_OK)
		rv = store_version_ok(val, len, dir, errmsg);
	else if (rv == WN_ENOTFOUND && !served)
		rv = store_versionless(s, dir, errmsg);
	else
		rv = WN_OK; /* a version written by the open, or a read the open fails */
	free(val);
	wn_store_close(s);
	return rv;
}

int wn_store_check_version(wn_store *s, char **errmsg)
{
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(s, WN_KEY_VERSION, WN_KEY_VERSION_LEN, &val, &len);
	if (rv == WN_ENOTFOUND) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", WN_STORE_VERSION);
		wn_batch *b = wn_batch_new();
		wn_batch_put(b, WN_KEY_VERSION, WN_KEY_VERSION_LEN, buf, (size_t)n);
		uint64_t seq;
		rv = wn_store_write(s, b, &seq);
		wn_batch_free(b);
		if (rv == WN_OK)
			rv = wn_store_wait(s, seq);
		if (rv != WN_OK) {
			char why[512];
			wn_store_failed(s, why, sizeof(why));
			*errmsg = wn_xasprintf("cannot write the store version: %s", why);
		}
		return rv;
	}
	if (rv != WN_OK) {
		*errmsg = wn_xasprintf("cannot read the store version");
		return rv;
	}
	rv = store_version_ok(val, len, s->dir, errmsg);
	free(val);
	return rv;
}
