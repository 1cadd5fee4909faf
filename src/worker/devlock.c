#include "devlock.h"

#include "err.h"
#include "proc.h"
#include "strbuf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEVLOCK_POLL_MS   50     /* how often a wait looks again */
#define DEVLOCK_RETELL_MS 300000 /* a wait is told of again this often */
#define DEVLOCK_REC       64     /* a record's bytes: written in place, its room kept */

struct wn_devlock {
	size_t n;
	int fd[];
};

char *wn_devlock_path(const char *dir, const char *id)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_addf(&b, "%s/.wnworker-gpu-", dir);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if ((*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z') ||
		    *p == '-' || *p == '_')
			wn_strbuf_addc(&b, (char)*p);
		else
			wn_strbuf_addf(&b, "%%%02X", *p); /* a '/', a '.' or any other byte */
	}
	wn_strbuf_adds(&b, ".lock");
	return wn_strbuf_take(&b);
}

/* What /proc/PID/stat says of a process. */
typedef struct devlock_proc {
	char state;               /* 'Z': a zombie, gone but for its exit status */
	long long pgrp;           /* its process group */
	unsigned long long start; /* when it started, clock ticks since boot */
} devlock_proc;

/* devlock_stat reads /proc/PID/stat (fields 3, 5 and 22) into *pr; false
 * when no such process. */
static bool devlock_stat(const char *pid, devlock_proc *pr)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the command's name may hold anything */
	if (p == NULL || sscanf(p + 1, " %c %*d %lld", &pr->state, &pr->pgrp) != 2)
		return false;
	int field = 2; /* after the name: the state is the 3rd field */
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return field == 22 && sscanf(p, "%llu", &pr->start) == 1;
}

static bool devlock_started(pid_t pid, unsigned long long *ticks)
{
	char name[24];
	devlock_proc pr;
	snprintf(name, sizeof(name), "%d", (int)pid);
	if (!devlock_stat(name, &pr) || pr.state == 'Z' || pr.state == 'X')
		return false;
	*ticks = pr.start;
	return true;
}

/* devlock_members tells whether a process other than a zombie is in group
 * pgid (kill would count a zombie that nothing reaps). */
static bool devlock_members(long long pgid)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL) {
		devlock_proc pr;
		found = e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
		        devlock_stat(e->d_name, &pr) && pr.pgrp == pgid && pr.state != 'Z' &&
		        pr.state != 'X';
	}
	closedir(d);
	return found;
}

/* devlock_holder reads fd's record: the process group of a run that may still
 * hold the device, or 0 when none does (no record, or one that is stale). */
static pid_t devlock_holder(int fd)
{
	char buf[DEVLOCK_REC + 1];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long long pgid = 0;
	unsigned long long start = 0;
	if (sscanf(buf, "%lld %llu", &pgid, &start) != 2 || pgid <= 1 || pgid > INT32_MAX)
		return 0;
	char name[24];
	devlock_proc pr;
	snprintf(name, sizeof(name), "%lld", pgid);
	if (devlock_stat(name, &pr)) {
		if (pr.start != start)
			return 0; /* the pid is another's: not given again while its group lived */
		if (pr.pgrp == pgid && pr.state != 'Z' && pr.state != 'X')
			return (pid_t)pgid; /* its leader still runs: no need to look further */
	}
	/* the leader is gone or a zombie: members of its group may still run */
	return devlock_members(pgid) ? (pid_t)pgid : 0;
}

static void devlock_pause(void)
{
	struct timespec ts = {0, DEVLOCK_POLL_MS * 1000000L};
	nanosleep(&ts, NULL);
}

/* devlock_usable tells why the open lock file fd is not one to trust, NULL
 * when it is: a lock another user can take (a read is enough for flock) or
 * whose record another user can write would let that user keep the device
 * from every worker; one that is not a regular file keeps no record. */
static const char *devlock_usable(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_uid != geteuid())
		return "owned by another user";
	if ((st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0)
		return "others may use it, and its mode cannot be changed";
	return NULL;
}

/* devlock_open opens the lock file of device id in dir into *fd, creating it
 * (only its owner may use it) and dir as needed. */
static int devlock_open(const char *dir, const char *id, int *fd, char **why)
{
	char *path = wn_devlock_path(dir, id);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (*fd < 0 && errno == ENOENT && wn_proc_mkdirs(path) == 0) /* made as logs are */
		*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	const char *bad = NULL;
	if (*fd < 0)
		bad = strerror(errno);
	else if ((bad = devlock_usable(*fd)) == NULL &&
	         fallocate(*fd, FALLOC_FL_KEEP_SIZE, 0, DEVLOCK_REC) != 0 &&
	         (errno == ENOSPC || errno == EDQUOT))
		bad = "no room for its record: the disk is full"; /* else none is needed */
	if (bad != NULL && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (bad != NULL)
		*why = wn_xasprintf("cannot open the lock file of GPU %s, %s: %s", id, path, bad);
	free(path);
	return *fd < 0 ? WN_EIO : WN_OK;
}

int wn_devlock_check(const char *dir, char *const *ids, size_t n, char **why)
{
	*why = NULL;
	for (size_t i = 0; i < n; i++) {
		int fd = -1;
		if (devlock_open(dir, ids[i], &fd, why) != WN_OK)
			return WN_EIO;
		close(fd);
	}
	return WN_OK;
}

/* devlock_tell tells w what a wait on device id since start is for (holder:
 * the group of an earlier worker's run; 0: another worker holds the lock), at
 * once and again every retell_ms; *next is when (0: not told yet). */
static void devlock_tell(const wn_devlock_wait *w, const char *id, pid_t holder, int64_t start,
                         int64_t *next)
{
	int64_t now = wn_mono_ms();
	if (w->waiting == NULL || (*next != 0 && now < *next))
		return;
	char since[48] = "";
	if (*next != 0)
		snprintf(since, sizeof(since), " (waiting %lld s)",
		         (long long)((now - start) / 1000));
	char *what =
	    holder != 0 ? wn_xasprintf(
	                      "GPU %s: a run of an earlier worker process (process group %d) still "
	                      "holds it%s",
	                      id, (int)holder, since)
	                : wn_xasprintf("GPU %s: another worker process on this machine holds it%s",
	                               id, since);
	w->waiting(w->arg, what);
	free(what);
	*next = now + (w->retell_ms > 0 ? w->retell_ms : DEVLOCK_RETELL_MS);
}

/* devlock_one takes the lock of device id into *fd, waiting as wn_devlock_take says. */
static int devlock_one(const char *dir, const char *id, const wn_devlock_wait *w, int *fd,
                       char **why)
{
	if (devlock_open(dir, id, fd, why) != WN_OK)
		return WN_EIO;
	int64_t start = wn_mono_ms(), next = 0;
	for (;;) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
			pid_t holder = devlock_holder(*fd);
			if (holder == 0)
				return WN_OK;
			flock(*fd, LOCK_UN); /* another worker may end it sooner: let it look */
			devlock_tell(w, id, holder, start, &next);
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			*why = wn_xasprintf("cannot lock GPU %s: %s", id, strerror(errno));
			break;
		} else {
			devlock_tell(w, id, 0, start, &next);
		}
		if (w->stop != NULL && w->stop(w->arg)) {
			close(*fd);
			*fd = -1;
			return WN_ESTATE;
		}
		devlock_pause();
	}
	close(*fd);
	*fd = -1;
	return WN_EIO;
}

static int devlock_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int wn_devlock_take(const char *dir, const char *gpus, const wn_devlock_wait *w, wn_devlock **out,
                    char **why)
{
	*out = NULL;
	*why = NULL;
	if (gpus == NULL || gpus[0] == '\0')
		return WN_OK;
	size_t n = 1;
	for (const char *p = gpus; *p; p++)
		n += *p == ',';
	wn_devlock *l = wn_xcalloc(1, sizeof(*l) + n * sizeof(int));
	char *ids = wn_xstrdup(gpus), *save = NULL;
	char **order = wn_xcalloc(n, sizeof(char *));
	size_t k = 0;
	for (char *id = strtok_r(ids, ",", &save); id != NULL; id = strtok_r(NULL, ",", &save))
		order[k++] = id;
	/* in one order, the same in every worker: a worker holding one device
	 * while it waits for another never waits on one that waits on it */
	qsort(order, k, sizeof(char *), devlock_cmp);
	int rv = WN_OK;
	for (size_t i = 0; i < k && rv == WN_OK; i++) {
		rv = devlock_one(dir, order[i], w, &l->fd[l->n], why);
		if (rv == WN_OK)
			l->n++;
	}
	free(order);
	free(ids);
	if (rv != WN_OK) {
		for (size_t i = 0; i < l->n; i++)
			close(l->fd[i]); /* unrecorded: nothing ran on them */
		free(l);
		return rv;
	}
	*out = l;
	return WN_OK;
}

/* devlock_write writes rec (DEVLOCK_REC bytes) over the record of each of
 * l's devices, in the room kept for it (no truncation: a full disk does not
 * keep it out); false when one cannot be written. */
static bool devlock_write(const wn_devlock *l, const char *rec)
{
	bool ok = true;
	for (size_t i = 0; i < l->n; i++)
		if (pwrite(l->fd[i], rec, DEVLOCK_REC, 0) != DEVLOCK_REC)
			ok = false;
	return ok;
}

int wn_devlock_record(wn_devlock *l, pid_t pgid, char **why)
{
	*why = NULL;
	unsigned long long start = 0;
	if (l == NULL || pgid <= 1 || !devlock_started(pgid, &start))
		return WN_OK; /* already over: nothing holds the devices */
	char rec[DEVLOCK_REC + 1];
	int len = snprintf(rec, sizeof(rec), "%d %llu", (int)pgid, start);
	memset(rec + len, ' ', (size_t)(DEVLOCK_REC - len));
	rec[DEVLOCK_REC - 1] = '\n';
	if (devlock_write(l, rec))
		return WN_OK;
	*why =
	    wn_xasprintf("cannot record the run in the lock file of its GPUs: %s", strerror(errno));
	return WN_EIO;
}

void wn_devlock_release(wn_devlock *l)
{
	if (l == NULL)
		return;
	char rec[DEVLOCK_REC];
	memset(rec, ' ', sizeof(rec));
	rec[DEVLOCK_REC - 1] = '\n';
	(void)devlock_write(l, rec); /* else the record names a group that is gone */
	for (size_t i = 0; i < l->n; i++)
		close(l->fd[i]);
	free(l);
}
