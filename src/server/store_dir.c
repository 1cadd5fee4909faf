/* The data directory before the store opens it (store.h): whether this
 * process may use it, said with what to do when it may not, and whether a
 * database already in it is wnd's. */
#include "store_int.h"

#include "err.h"
#include "keys.h"
#include "log.h"
#include "util.h"

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
			*errmsg = wn_xasprintf("data directory %s is on a read-only file system, and "
			                       "wnd writes there: mount it read-write, or copy the "
			                       "directory to a disk wnd may write to (wnd --check "
			                       "reads it where it is)",
			                       dir);
		else if (e == EACCES && st.st_uid != me)
			*errmsg = dir_not_owner(dir, &st, write);
		else if (e == EACCES)
			*errmsg = wn_xasprintf("data directory %s (mode %04o) is closed to its owner: "
			                       "chmod 700 %s",
			                       dir, (unsigned)(st.st_mode & 07777), dir);
		else
			*errmsg = wn_xasprintf("cannot use data directory %s: %s", dir, strerror(e));
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
	return WN_OK;
}
