#include "devlock.h"

#include "err.h"
#include "proc.h"
#include "proc_stray.h"
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

#define DEVLOCK_PF_KTHREAD 0x00200000u /* a kernel thread (linux/sched.h) */

/* devlock_dead tells whether pr has exited (a zombie); not so a process
 * whose main thread alone has exited while other threads run on, which
 * shows that thread's state. */
static bool devlock_dead(const wn_proc_stat *pr)
{
	return (pr->state == 'Z' || pr->state == 'X') && pr->threads <= 1;
}

/* devlock_started reads when process pid started into *ticks; false when
 * it has exited, or could not be read (errno, wn_proc_stat_read). */
static bool devlock_started(pid_t pid, unsigned long long *ticks)
{
	char name[24];
	wn_proc_stat pr;
	snprintf(name, sizeof(name), "%d", (int)pid);
	if (!wn_proc_stat_read(name, &pr))
		return false;
	if (devlock_dead(&pr)) {
		errno = ESRCH;
		return false;
	}
	*ticks = pr.start;
	return true;
}

/* A record: "PGID START MARK", padded with spaces to DEVLOCK_REC bytes and
 * ended by a newline; MARK (16 hex digits) came later, and a record of an
 * older worker ends after START. A field is only ever added at the end: a
 * reader takes those it knows. */
typedef struct devlock_run {
	long long pgid;           /* the run's process group */
	unsigned long long start; /* when its leader started */
	uint64_t mark;            /* of its command's environment; 0: none recorded */
} devlock_run;

/* devlock_read reads fd's record into *run; false when there is none (blank,
 * or not one). */
static bool devlock_read(int fd, devlock_run *run)
{
	char buf[DEVLOCK_REC + 1];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	unsigned long long mark = 0;
	int k = sscanf(buf, "%lld %llu %16llx", &run->pgid, &run->start, &mark);
	run->mark = k == 3 ? (uint64_t)mark : 0;
	return k >= 2 && run->pgid > 1 && run->pgid <= INT32_MAX;
}

/* A process found holding a device: one of the run's group, or one outside
 * it with the run's mark (stray). It holds the device while it lives (the
 * same pid and start, not a zombie), whatever its group or environment
 * since: a process that exits loses its environment before it lets go of
 * its devices. */
typedef struct devlock_seen {
	pid_t pid;
	bool stray;
	unsigned long long start;
} devlock_seen;

/* The looks of one wait at what holds a device: the run its record names,
 * the processes the last look through /proc found holding it, and a buffer
 * to read environments with. */
typedef struct devlock_look {
	devlock_run run;
	devlock_seen *seen;
	size_t n, cap;
	char *buf;
} devlock_look;

#define DEVLOCK_ENV_BYTES 16384 /* a buffer to read an environment with */

static void devlock_look_release(devlock_look *lk)
{
	free(lk->seen);
	free(lk->buf);
}

/* devlock_live returns a process that lk found holding and that still runs,
 * NULL when none does (those gone are forgotten). */
static const devlock_seen *devlock_live(devlock_look *lk)
{
	while (lk->n > 0) {
		unsigned long long start;
		if (devlock_started(lk->seen[0].pid, &start) && start == lk->seen[0].start)
			return &lk->seen[0];
		lk->seen[0] = lk->seen[--lk->n];
	}
	return NULL;
}

/* devlock_marked tells whether process pid (pr), outside the run's group,
 * carries the run's mark (WN_PROC_STRAY_SHORT: its environment could not be
 * read, for want of descriptors or memory). Only a process started no sooner
 * than the run's leader can have inherited it: the environments of the
 * others, most of them, are not read. */
static int devlock_marked(devlock_look *lk, pid_t pid, const wn_proc_stat *pr)
{
	if (lk->run.mark == 0 || pr->start < lk->run.start || (pr->flags & DEVLOCK_PF_KTHREAD) != 0)
		return 0;
	if (lk->buf == NULL)
		lk->buf = wn_xmalloc(DEVLOCK_ENV_BYTES);
	int k = wn_proc_stray_find(pid, &lk->run.mark, 1, lk->buf, DEVLOCK_ENV_BYTES);
	return k == WN_PROC_STRAY_SHORT ? k : k >= 0;
}

/* devlock_scan looks once through /proc for the processes that hold a
 * device for lk's run: those of its group other than zombies (kill would
 * count a zombie that nothing reaps), when group (the record's group may
 * still live), and those outside it that carry its mark. They become lk's
 * list; returns the first, NULL when none. *blind tells that some could not
 * be looked at (short of descriptors or memory): none found tells nothing. */
static const devlock_seen *devlock_scan(devlock_look *lk, bool group, bool *blind)
{
	lk->n = 0;
	*blind = false;
	DIR *d = opendir("/proc");
	if (d == NULL) {
		*blind = true;
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		wn_proc_stat pr;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		errno = 0;
		if (!wn_proc_stat_read(e->d_name, &pr)) {
			*blind = *blind || wn_proc_stray_short(errno);
			continue;
		}
		if (devlock_dead(&pr))
			continue;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		bool member = group && pr.pgrp == lk->run.pgid;
		int marked = member ? 0 : devlock_marked(lk, pid, &pr);
		*blind = *blind || marked == WN_PROC_STRAY_SHORT;
		if (!member && marked != 1)
			continue;
		if (lk->n == lk->cap) {
			lk->cap = lk->cap ? lk->cap * 2 : 8;
			lk->seen = wn_xrealloc(lk->seen, lk->cap * sizeof(*lk->seen));
		}
		lk->seen[lk->n++] = (devlock_seen){pid, !member, pr.start};
	}
	closedir(d);
	return lk->n > 0 ? &lk->seen[0] : NULL;
}

/* What holds a device: the process group of a run of an earlier worker (0:
 * nothing), and a process of it outside that group (0: the group); blind
 * when this worker could not look (short of descriptors): the run may. */
typedef struct devlock_holding {
	pid_t pgid, stray;
	bool blind;
} devlock_holding;

/* devlock_holder reads fd's record and tells what of the run it names may
 * still hold the device: nothing when there is no record or the run is gone. */
static devlock_holding devlock_holder(int fd, devlock_look *lk)
{
	devlock_run run;
	if (!devlock_read(fd, &run))
		return (devlock_holding){0, 0, false};
	if (run.pgid != lk->run.pgid || run.start != lk->run.start || run.mark != lk->run.mark) {
		lk->run = run; /* another run: what was found is not its */
		lk->n = 0;
	}
	char name[24];
	wn_proc_stat pr;
	snprintf(name, sizeof(name), "%lld", run.pgid);
	/* a leader's pid that names another process now tells that the group
	 * is gone (a pid is not given again while its group lives) */
	bool group = true;
	if (wn_proc_stat_read(name, &pr)) {
		if (pr.start != run.start)
			group = false;
		else if (pr.pgrp == run.pgid && !devlock_dead(&pr))
			return (devlock_holding){(pid_t)run.pgid, 0,
			                         false}; /* its leader still runs */
	}
	if (!group && run.mark == 0)
		return (devlock_holding){0, 0, false}; /* an older worker's record: nothing else */
	/* the leader is gone or a zombie: members of its group, or processes
	 * with its mark, may still run; those found last time first */
	const devlock_seen *s = devlock_live(lk);
	bool blind = false;
	if (s == NULL)
		s = devlock_scan(lk, group, &blind);
	if (s == NULL)
		return (devlock_holding){blind ? (pid_t)run.pgid : 0, 0, blind};
	return (devlock_holding){(pid_t)run.pgid, s->stray ? s->pid : 0, false};
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

/* devlock_tell tells w what a wait on device id since start is for (h: what
 * of an earlier worker's run holds it; NULL: another worker holds the lock),
 * at once and again every retell_ms; *next is when (0: not told yet). */
static void devlock_tell(const wn_devlock_wait *w, const char *id, const devlock_holding *h,
                         int64_t start, int64_t *next)
{
	int64_t now = wn_mono_ms();
	if (w->waiting == NULL || (*next != 0 && now < *next))
		return;
	char since[48] = "", by[80] = "";
	if (*next != 0)
		snprintf(since, sizeof(since), " (waiting %lld s)",
		         (long long)((now - start) / 1000));
	if (h != NULL && h->stray != 0)
		snprintf(by, sizeof(by), " through process %d, outside that group", (int)h->stray);
	char *what;
	if (h != NULL && h->blind)
		what =
		    wn_xasprintf("GPU %s: cannot tell whether a run of an earlier worker process "
		                 "(process group %d) still holds it: this worker is short of "
		                 "descriptors or memory to look%s",
		                 id, (int)h->pgid, since);
	else if (h != NULL)
		what = wn_xasprintf("GPU %s: a run of an earlier worker process (process group %d) "
		                    "still holds it%s%s",
		                    id, (int)h->pgid, by, since);
	else
		what = wn_xasprintf("GPU %s: another worker process on this machine holds it%s", id,
		                    since);
	w->waiting(w->arg, what);
	free(what);
	*next = now + (w->retell_ms > 0 ? w->retell_ms : DEVLOCK_RETELL_MS);
}

/* devlock_wait waits for the lock of device id, open as fd, and for the run
 * its record names, as wn_devlock_take says: WN_OK with the lock held,
 * WN_ESTATE, or WN_EIO with *why. */
static int devlock_wait(int fd, const char *id, const wn_devlock_wait *w, char **why)
{
	devlock_look lk = {0};
	int64_t start = wn_mono_ms(), next = 0;
	int rv = WN_EIO;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			devlock_holding h = devlock_holder(fd, &lk);
			if (h.pgid == 0) {
				rv = WN_OK;
				break;
			}
			flock(fd, LOCK_UN); /* another worker may end it sooner: let it look */
			devlock_tell(w, id, &h, start, &next);
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			*why = wn_xasprintf("cannot lock GPU %s: %s", id, strerror(errno));
			break;
		} else {
			devlock_tell(w, id, NULL, start, &next);
		}
		if (w->stop != NULL && w->stop(w->arg)) {
			rv = WN_ESTATE;
			break;
		}
		devlock_pause();
	}
	devlock_look_release(&lk);
	return rv;
}

/* devlock_one takes the lock of device id into *fd, waiting as wn_devlock_take says. */
static int devlock_one(const char *dir, const char *id, const wn_devlock_wait *w, int *fd,
                       char **why)
{
	if (devlock_open(dir, id, fd, why) != WN_OK)
		return WN_EIO;
	int rv = devlock_wait(*fd, id, w, why);
	if (rv != WN_OK) {
		close(*fd);
		*fd = -1;
	}
	return rv;
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

int wn_devlock_record(wn_devlock *l, pid_t pgid, uint64_t mark, char **why)
{
	*why = NULL;
	unsigned long long start = 0;
	if (l == NULL || pgid <= 1)
		return WN_OK;
	if (!devlock_started(pgid, &start)) {
		if (!wn_proc_stray_short(errno))
			return WN_OK; /* already over: nothing holds the devices */
		*why = wn_xasprintf("cannot record the run in the lock file of its GPUs: cannot "
		                    "read when it started: %s",
		                    strerror(errno));
		return WN_EIO;
	}
	char rec[DEVLOCK_REC + 1];
	int len = snprintf(rec, sizeof(rec), "%d %llu %016llx", (int)pgid, start,
	                   (unsigned long long)mark);
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
