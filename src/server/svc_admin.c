/* svc_admin: AdminService, the server's own upkeep: Backup.
 *
 * Backup runs without the engine's lock. Every change of the state is one
 * atomic write batch, so the records as they are at any one moment are whole,
 * and a RocksDB checkpoint is such a moment: the engine's in-memory state is
 * rebuilt from the records at start, as after a restart. The checkpoint is
 * taken on a thread of its own and answered like a parked request, so neither
 * the lock holders nor the event loop that received it wait for the disk. */
#include "svc.h"

#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "project.h"
#include "queue.h"
#include "replay.h"

#include "dedupe.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A backup is built in a directory of this name next to its place. */
#define ADMIN_STAGE_PREFIX ".wn-backup-"
/* One no backup holds (locked) and left alone this long, seconds, is what a
 * backup cut off by a kill left behind. */
#define ADMIN_STAGE_STALE_S 60

typedef Whatsnext__V1__BackupRequest BackupRequest;
typedef Whatsnext__V1__BackupResponse BackupResponse;

/* One backup at a time in this process; another is refused, not queued, so
 * that no serving thread waits for one. */
static pthread_mutex_t admin_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t admin_cv = PTHREAD_COND_INITIALIZER;
static bool admin_busy;      /* a backup is being taken */
static int admin_delivering; /* backup threads that have not delivered their reply yet */

/* A backup's destination, checked. */
struct admin_dest {
	char dir[PATH_MAX];    /* as given, without trailing slashes */
	char parent[PATH_MAX]; /* the real path of the directory it goes into */
};

/* admin_errno turns a failed file operation on path into the call's error. */
static int admin_errno(struct call *c, int err, const char *what, const char *path)
{
	int rv = WN_EIO;
	if (err == EACCES || err == EPERM || err == EROFS)
		rv = WN_ESTATE;
	else if (err == ENOSPC || err == EDQUOT)
		rv = WN_ENOMEM;
	else if (err == ENOENT || err == ENOTDIR)
		rv = WN_ENOTFOUND;
	return wn_call_fail(c, rv, "%s %s: %s", what, path, strerror(err));
}

/* admin_inside reports whether path is dir or lies under it (both real paths). */
static bool admin_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* admin_dest_check fills d from the requested dir: an absolute path that does
 * not exist, in an existing directory outside the data directory. */
static int admin_dest_check(struct call *c, const char *dir, struct admin_dest *d)
{
	size_t n = dir != NULL ? strlen(dir) : 0;
	if (n == 0)
		return wn_call_fail(c, WN_EINVAL, "missing backup directory");
	if (dir[0] != '/')
		return wn_call_fail(c, WN_EINVAL,
		                    "backup directory \"%.200s\" is not an absolute path (it is a "
		                    "path on the server's machine)",
		                    dir);
	if (n >= sizeof(d->dir) - 32)
		return wn_call_fail(c, WN_EINVAL, "backup directory path is too long (%zu bytes)",
		                    n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dir[i] < 0x20 || dir[i] == 0x7f)
			return wn_call_fail(c, WN_EINVAL,
			                    "backup directory path contains a control character");
	memcpy(d->dir, dir, n + 1);
	while (n > 1 && d->dir[n - 1] == '/')
		d->dir[--n] = '\0';
	struct stat st;
	if (lstat(d->dir, &st) == 0)
		return wn_call_fail(c, WN_EEXIST, "cannot back up to %s: it already exists",
		                    d->dir);
	if (errno == ENOTDIR)
		/* bad input, not a directory gone: a file where a directory goes */
		return wn_call_fail(c, WN_EINVAL,
		                    "cannot back up to %s: a part of its path is a file, not a "
		                    "directory",
		                    d->dir);
	if (errno == ENAMETOOLONG)
		return wn_call_fail(c, WN_EINVAL,
		                    "cannot back up to %s: a name in it is longer than its file "
		                    "system takes (File name too long)",
		                    d->dir);
	if (errno != ENOENT)
		return admin_errno(c, errno, "cannot back up to", d->dir);
	char parent[PATH_MAX];
	const char *slash = strrchr(d->dir, '/');
	size_t pl = slash == d->dir ? 1 : (size_t)(slash - d->dir);
	memcpy(parent, d->dir, pl);
	parent[pl] = '\0';
	if (realpath(parent, d->parent) == NULL) {
		if (errno == ENOENT)
			return wn_call_fail(c, WN_ENOTFOUND,
			                    "cannot back up to %s: directory %s does not exist",
			                    d->dir, parent);
		return admin_errno(c, errno, "cannot back up into directory", parent);
	}
	if (stat(d->parent, &st) != 0 || !S_ISDIR(st.st_mode))
		return wn_call_fail(c, WN_EINVAL, "cannot back up into %s: not a directory",
		                    parent);
	char data[PATH_MAX];
	if (realpath(c->e->cfg.data_dir, data) == NULL)
		return admin_errno(c, errno, "cannot resolve the data directory",
		                   c->e->cfg.data_dir);
	if (admin_inside(d->parent, data))
		return wn_call_fail(
		    c, WN_EINVAL,
		    "cannot back up to %s: it is inside the server's data directory %s", d->dir,
		    data);
	const char *root = c->e->cfg.backup_dir;
	char rootreal[PATH_MAX];
	if (root != NULL && root[0] != '\0') {
		if (realpath(root, rootreal) == NULL)
			return admin_errno(c, errno, "cannot resolve the backup directory", root);
		if (!admin_inside(d->parent, rootreal))
			return wn_call_fail(
			    c, WN_EINVAL,
			    "cannot back up to %s: this server keeps backups inside %s "
			    "(backup_dir)",
			    d->dir, rootreal);
	}
	return WN_OK;
}

/* admin_count adds up the regular files of directory path. */
static int admin_count(const char *path, uint32_t *files, uint64_t *bytes)
{
	DIR *dp = opendir(path);
	if (dp == NULL)
		return -errno;
	*files = 0;
	*bytes = 0;
	int rv = 0;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rv = -errno;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			(*files)++;
			*bytes += (uint64_t)st.st_size;
		}
	}
	closedir(dp);
	return rv;
}

static int admin_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		wn_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* admin_rmtree removes the staging directory of a backup that failed. */
static void admin_rmtree(const char *path)
{
	nftw(path, admin_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* admin_stage_stale reports whether entry name of directory dfd is the
 * staging directory of a backup cut off (wnd killed during it): this
 * user's, of mkdtemp's name, no backup holding its lock, untouched for
 * ADMIN_STAGE_STALE_S seconds (a backup locks its own as soon as it makes
 * it). */
static bool admin_stage_stale(int dfd, const char *name)
{
	size_t n = strlen(ADMIN_STAGE_PREFIX);
	struct stat st;
	if (strncmp(name, ADMIN_STAGE_PREFIX, n) != 0 || strlen(name) != n + 6 ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || time(NULL) - st.st_mtime < ADMIN_STAGE_STALE_S)
		return false;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool unheld = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (fd >= 0)
		close(fd);
	return unheld;
}

/* admin_sweep_stages removes, from directory parent, what backups cut off
 * left behind, which would otherwise pile up there (each a whole copy when
 * the backup goes to another disk). */
static void admin_sweep_stages(const char *parent)
{
	DIR *dp = opendir(parent);
	if (dp == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (!admin_stage_stale(dirfd(dp), de->d_name))
			continue;
		char *path = wn_xasprintf("%s/%s", parent, de->d_name);
		admin_rmtree(path);
		wn_info("backup: removed %s, left by a backup that was cut off", path);
		free(path);
	}
	closedir(dp);
}

/* admin_sync_dir makes the entries of directory path durable. */
static void admin_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fsync(fd) != 0)
		wn_warn("cannot sync directory %s: %s", path, strerror(errno));
	close(fd);
}

/* admin_install moves the finished checkpoint from to its place d->dir,
 * refusing to replace anything that appeared there meanwhile. */
static int admin_install(struct call *c, const char *from, const struct admin_dest *d)
{
	if (chmod(from, 0700) != 0)
		return admin_errno(c, errno, "cannot restrict the backup", from);
	int r = renameat2(AT_FDCWD, from, AT_FDCWD, d->dir, RENAME_NOREPLACE);
	if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* a file system without RENAME_NOREPLACE: check, then rename */
		struct stat st;
		if (lstat(d->dir, &st) == 0)
			errno = EEXIST;
		else
			r = rename(from, d->dir);
	}
	if (r != 0 && (errno == EEXIST || errno == ENOTEMPTY))
		return wn_call_fail(c, WN_EEXIST, "cannot back up to %s: it already exists",
		                    d->dir);
	if (r != 0)
		return admin_errno(c, errno, "cannot move the backup to", d->dir);
	admin_sync_dir(d->parent);
	return WN_OK;
}

/* admin_take checkpoints the store into stage/data and describes it in r. */
static int admin_take(struct call *c, const struct admin_dest *d, const char *stage,
                      BackupResponse *r)
{
	const char *data = wn_arena_printf(c->arena, "%s/data", stage);
	char *err = NULL;
	int64_t t0 = wn_mono_ms();
	int rv = wn_records_checkpoint(c->e->rec, data, &err);
	if (rv == WN_ENOMEM) {
		rv = wn_call_fail(c, rv,
		                  "cannot back up to %s: no space left on its disk (nothing of the "
		                  "backup is left there): %s",
		                  d->dir, err);
		free(err);
		return rv;
	}
	if (rv != WN_OK) {
		rv = wn_call_fail(c, rv, "cannot take the checkpoint: %s", err);
		free(err);
		return rv;
	}
	int e = admin_count(data, &r->files, &r->bytes);
	if (e != 0)
		return admin_errno(c, -e, "cannot list the backup in", data);
	int64_t t1 = wn_mono_ms();
	uint64_t last = 0;
	rv = wn_records_last_job_id(data, &last, &err);
	wn_debug("backup: checkpoint %lld ms, read back %lld ms", (long long)(t1 - t0),
	         (long long)(wn_mono_ms() - t1));
	r->last_job_id = last;
	if (rv == WN_ENOTFOUND)
		rv = WN_OK;
	if (rv != WN_OK) {
		rv = wn_call_fail(c, rv, "the backup cannot be read back: %s", err);
		free(err);
	}
	return rv;
}

/* admin_run takes the backup to d and describes it in *out. */
static int admin_run(struct call *c, const struct admin_dest *d, BackupResponse **out)
{
	int64_t t0 = wn_mono_ms();
	/* built in a private directory next to its place, then moved there
	 * whole: the backup is never seen in part, nor by other users */
	char *stage = wn_arena_printf(c->arena, "%s/" ADMIN_STAGE_PREFIX "XXXXXX", d->parent);
	if (mkdtemp(stage) == NULL)
		return admin_errno(c, errno, "cannot create a directory in", d->parent);
	/* held while the backup is built: not the remains of one cut off */
	int lockfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) != 0)
		wn_warn("cannot lock %s: %s", stage, strerror(errno));
	admin_sweep_stages(d->parent);
	BackupResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__backup_response__init(r);
	int rv = admin_take(c, d, stage, r);
	if (rv == WN_OK)
		rv = admin_install(c, wn_arena_printf(c->arena, "%s/data", stage), d);
	admin_rmtree(stage);
	if (lockfd >= 0)
		close(lockfd);
	if (rv != WN_OK) {
		wn_warn("backup to %s failed: %s", d->dir, c->msg);
		return rv;
	}
	r->dir = wn_arena_strdup(c->arena, d->dir);
	r->duration_ms = wn_mono_ms() - t0;
	wn_info("backup to %s: %u files, %llu bytes, jobs up to %llu, %lld ms", d->dir, r->files,
	        (unsigned long long)r->bytes, (unsigned long long)r->last_job_id,
	        (long long)r->duration_ms);
	*out = r;
	return WN_OK;
}

/* admin_done lets the next backup begin; a thread's reply is delivered
 * after (admin_delivered). */
static void admin_done(void)
{
	pthread_mutex_lock(&admin_mu);
	admin_busy = false;
	pthread_cond_broadcast(&admin_cv);
	pthread_mutex_unlock(&admin_mu);
}

static void admin_delivered(void)
{
	pthread_mutex_lock(&admin_mu);
	admin_delivering--;
	pthread_cond_broadcast(&admin_cv);
	pthread_mutex_unlock(&admin_mu);
}

/* A backup taken on its own thread, answered through the deliver callback. */
struct admin_job {
	wn_engine *e;
	void *slot;
	uint64_t reqid;
	struct admin_dest d;
};

static void *admin_thread(void *arg)
{
	struct admin_job *j = arg;
	wn_engine *e = j->e;
	wn_store_thread_init();
	struct call c;
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.arena = wn_arena_new();
	c.pa = wn_arena_allocator(c.arena);
	c.reqid = j->reqid;
	BackupResponse *r = NULL;
	int rv = admin_run(&c, &j->d, &r);
	size_t len = 0;
	uint8_t *buf =
	    wn_engine_pack_response(j->reqid, wn_err_to_code(rv), rv == WN_OK ? NULL : c.msg,
	                            rv == WN_OK ? &r->base : NULL, &len);
	if (j->reqid != 0) {
		if (rv == WN_OK)
			wn_dedupe_finish(e->dd, j->reqid, buf, len);
		else
			wn_dedupe_abort(e->dd, j->reqid);
	}
	admin_done();
	e->cfg.deliver(e->cfg.deliver_arg, j->slot, buf, len, 0);
	wn_arena_free(c.arena);
	free(j);
	admin_delivered();
	return NULL;
}

int wn_svc_admin_backup(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const BackupRequest *rq = (const BackupRequest *)in;
	wn_engine *e = c->e;
	struct admin_dest *d = wn_arena_alloc(c->arena, sizeof(*d));
	int rv = admin_dest_check(c, rq->dir, d);
	if (rv != WN_OK)
		return rv;
	pthread_mutex_lock(&admin_mu);
	pthread_mutex_lock(&e->mu);
	bool stopping = e->q.no_park;
	pthread_mutex_unlock(&e->mu);
	if (stopping)
		rv = wn_call_fail(c, WN_EUNAVAIL, "the server is shutting down");
	else if (admin_busy)
		rv = wn_call_fail(c, WN_ESTATE, "another backup is in progress");
	else
		admin_busy = true;
	pthread_mutex_unlock(&admin_mu);
	if (rv != WN_OK)
		return rv;
	if (c->slot == NULL || e->cfg.deliver == NULL) {
		/* no way to answer later: take it here */
		BackupResponse *r = NULL;
		rv = admin_run(c, d, &r);
		admin_done();
		*out = r != NULL ? &r->base : NULL;
		return rv;
	}
	struct admin_job *j = wn_xmalloc(sizeof(*j));
	j->e = e;
	j->slot = c->slot;
	j->reqid = c->reqid;
	j->d = *d;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	pthread_mutex_lock(&admin_mu);
	admin_delivering++;
	pthread_mutex_unlock(&admin_mu);
	int err = pthread_create(&th, &attr, admin_thread, j);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		free(j);
		admin_delivered();
		admin_done();
		return wn_call_fail(c, WN_EINTERNAL, "cannot start the backup: %s", strerror(err));
	}
	c->parked = true;
	*out = NULL;
	return WN_OK;
}

void wn_admin_drain(wn_engine *e)
{
	(void)e;
	pthread_mutex_lock(&admin_mu);
	while (admin_busy || admin_delivering > 0)
		pthread_cond_wait(&admin_cv, &admin_mu);
	pthread_mutex_unlock(&admin_mu);
}
