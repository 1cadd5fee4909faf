/* proc_stray: processes of a command that left its process group (proc_stray.h). */
#include "proc_stray.h"

#include "log.h"
#include "strbuf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The children this process started and has not reaped yet, and how many
 * are being started: those are never reaped here. */
static pthread_mutex_t stray_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *stray_own;
static size_t stray_own_n, stray_own_cap;
static int stray_starting;

static pthread_once_t stray_once = PTHREAD_ONCE_INIT;

static void stray_adopt_once(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void wn_proc_stray_adopt(void)
{
	pthread_once(&stray_once, stray_adopt_once);
}

/* Marks: a random key of this process's, and a count mixed with it
 * (splitmix64), so that no two runs of a worker share one. */
static pthread_once_t stray_key_once = PTHREAD_ONCE_INIT;
static uint64_t stray_key;
static _Atomic uint64_t stray_count;

static void stray_key_make(void)
{
	stray_key = wn_random_u64();
}

char *wn_proc_stray_mark(void)
{
	pthread_once(&stray_key_once, stray_key_make);
	uint64_t z = stray_key + 0x9e3779b97f4a7c15ULL * (atomic_fetch_add(&stray_count, 1) + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return wn_xasprintf("%s=%016llx", WN_PROC_STRAY_VAR, (unsigned long long)z);
}

void wn_proc_stray_starting(void)
{
	pthread_mutex_lock(&stray_lock);
	stray_starting++;
	pthread_mutex_unlock(&stray_lock);
}

void wn_proc_stray_started(pid_t pid)
{
	pthread_mutex_lock(&stray_lock);
	if (pid > 0) {
		if (stray_own_n == stray_own_cap) {
			stray_own_cap = stray_own_cap ? stray_own_cap * 2 : 16;
			stray_own = wn_xrealloc(stray_own, stray_own_cap * sizeof(*stray_own));
		}
		stray_own[stray_own_n++] = pid;
	}
	stray_starting--;
	pthread_mutex_unlock(&stray_lock);
}

void wn_proc_stray_gone(pid_t pid)
{
	pthread_mutex_lock(&stray_lock);
	for (size_t i = 0; i < stray_own_n; i++)
		if (stray_own[i] == pid) {
			stray_own[i] = stray_own[--stray_own_n];
			break;
		}
	pthread_mutex_unlock(&stray_lock);
}

/* stray_own_locked tells whether pid is a child this process started
 * (stray_lock held). */
static bool stray_own_locked(pid_t pid)
{
	for (size_t i = 0; i < stray_own_n; i++)
		if (stray_own[i] == pid)
			return true;
	return false;
}

static bool stray_is_own(pid_t pid)
{
	pthread_mutex_lock(&stray_lock);
	bool own = stray_own_locked(pid);
	pthread_mutex_unlock(&stray_lock);
	return own;
}

/* stray_reap reaps pid, a child of this process that has exited, unless
 * this process started it (its owner reaps it) or is starting one (then
 * false: it is left for later). */
static bool stray_reap(pid_t pid)
{
	pthread_mutex_lock(&stray_lock);
	bool now = stray_starting == 0;
	if (now && !stray_own_locked(pid)) {
		siginfo_t si;
		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&stray_lock);
	return now;
}

/* A list of pids. */
typedef struct stray_pids {
	pid_t *v;
	size_t n, cap;
} stray_pids;

static void stray_pids_add(stray_pids *s, long pid)
{
	if (pid <= 0)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = wn_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = (pid_t)pid;
}

/* stray_read_children appends the pids of the children file path (numbers
 * separated by spaces) to out; false when it cannot be opened. */
static bool stray_read_children(const char *path, stray_pids *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[4096];
	long cur = -1;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else {
				stray_pids_add(out, cur);
				cur = -1;
			}
		}
	}
	stray_pids_add(out, cur);
	close(fd);
	return true;
}

/* The kernel's flag of a process that is exiting (linux/sched.h). */
#define STRAY_PF_EXITING 0x4u

/* What /proc/PID/stat tells of a process. A process whose main thread has
 * exited while other threads run on (headless) shows that thread's state:
 * a zombie, exiting; it runs all the same. */
typedef struct stray_proc {
	pid_t ppid, pgid;
	bool dead;     /* exited: a zombie, nothing of it runs */
	bool exiting;  /* exiting, not dead yet */
	bool headless; /* its main thread exited, another runs */
} stray_proc;

bool wn_proc_stat_read(const char *pid, wn_proc_stat *st)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%.20s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		;
	int err = n < 0 ? errno : ESRCH; /* nothing to read: gone meanwhile */
	close(fd);
	errno = err;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	errno = EINVAL;                    /* from here: not what a stat file says */
	const char *p = strrchr(buf, ')'); /* the command's name may hold anything */
	int ppid;
	if (p == NULL ||
	    sscanf(p + 1, " %c %d %lld %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld",
	           &st->state, &ppid, &st->pgrp, &st->flags, &st->threads) != 5)
		return false;
	st->ppid = (pid_t)ppid;
	int field = 2; /* after the name: the state is the 3rd field */
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return field == 22 && sscanf(p, "%llu", &st->start) == 1;
}

bool wn_proc_stray_short(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* stray_stat reads what /proc/PID/stat tells of pid into *pr; false when
 * it cannot (errno: gone, or wn_proc_stray_short). */
static bool stray_stat(pid_t pid, stray_proc *pr)
{
	char name[24];
	snprintf(name, sizeof(name), "%d", (int)pid);
	wn_proc_stat st;
	if (!wn_proc_stat_read(name, &st))
		return false;
	bool z = st.state == 'Z' || st.state == 'X';
	pr->ppid = st.ppid;
	pr->pgid = (pid_t)st.pgrp;
	pr->headless = st.threads > 1 && z;
	pr->dead = !pr->headless && z;
	pr->exiting = !pr->headless && (st.flags & STRAY_PF_EXITING) != 0;
	return true;
}

/* stray_unseen returns err when it says this process could not look (short
 * of descriptors or memory), else 0 (what was looked at is gone). */
static int stray_unseen(int err)
{
	return wn_proc_stray_short(err) ? err : 0;
}

/* stray_scan_children appends to out the processes whose parent is pid, from
 * every /proc/N/stat (a kernel without the children files); returns 0, or
 * the error of a look it could not make (stray_unseen). */
static int stray_scan_children(pid_t pid, stray_pids *out)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return stray_unseen(errno);
	int unseen = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		stray_proc pr;
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || *end != '\0')
			continue;
		if (!stray_stat((pid_t)n, &pr))
			unseen = unseen ? unseen : stray_unseen(errno);
		else if (pr.ppid == pid)
			stray_pids_add(out, n);
	}
	closedir(d);
	return unseen;
}

/* stray_children_files tells whether the kernel has the children files
 * (/proc/PID/task/TID/children), looked at once. */
static pthread_once_t stray_files_once = PTHREAD_ONCE_INIT;
static bool stray_files;

static void stray_files_check(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	stray_files = access(path, R_OK) == 0;
}

static bool stray_children_files(void)
{
	pthread_once(&stray_files_once, stray_files_check);
	return stray_files;
}

/* stray_children appends the children of pid to out: those of each of its
 * threads, or, for this process (self), of its main thread only (where the
 * kernel hands the orphans; the others hold only what they started).
 * Returns 0, or the error of a look it could not make (stray_unseen): some
 * may be missing then. */
static int stray_children(pid_t pid, bool self, stray_pids *out)
{
	char path[96];
	if (!stray_children_files())
		return stray_scan_children(pid, out);
	if (self) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
		return stray_read_children(path, out) ? 0 : stray_unseen(errno);
	}
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return stray_unseen(errno);
	int unseen = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children", (int)pid, e->d_name);
		if (!stray_read_children(path, out) && unseen == 0)
			unseen = stray_unseen(errno);
	}
	closedir(d);
	return unseen;
}

/* stray_hex reads the 16 hex digits at h as a mark's value into *v. */
static bool stray_hex(const char *h, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 16; i++) {
		if (h[i] >= '0' && h[i] <= '9')
			x = x << 4 | (uint64_t)(h[i] - '0');
		else if (h[i] >= 'a' && h[i] <= 'f')
			x = x << 4 | (uint64_t)(h[i] - 'a' + 10);
		else
			return false;
	}
	*v = x;
	return true;
}

/* stray_values tells whether the entry e (len bytes) holds marks,
 * WN_RUN=<16 hex digits>[,<16 hex digits>]... as wn_proc_stray_entry
 * writes it; *at gets where their values begin, *count how many. */
static bool stray_values(const char *e, size_t len, size_t *at, size_t *count)
{
	const size_t vl = sizeof(WN_PROC_STRAY_VAR); /* with its '=' */
	if (len < vl + 16 || (len - vl + 1) % 17 != 0 || memcmp(e, WN_PROC_STRAY_VAR "=", vl) != 0)
		return false;
	uint64_t v;
	for (size_t i = vl; i < len; i += 17)
		if (!stray_hex(e + i, &v) || (i + 16 < len && e[i + 16] != ','))
			return false;
	*at = vl;
	*count = (len - vl + 1) / 17;
	return true;
}

uint64_t wn_proc_stray_mark_value(const char *mark)
{
	size_t at, count;
	uint64_t v;
	if (mark == NULL || !stray_values(mark, strlen(mark), &at, &count) || count != 1)
		return 0;
	stray_hex(mark + at, &v);
	return v;
}

/* stray_match returns the index in marks (n) of a mark that the entry e
 * (len bytes) holds, or -1. */
static int stray_match(const char *e, size_t len, const uint64_t *marks, size_t n)
{
	size_t at, count;
	if (!stray_values(e, len, &at, &count))
		return -1;
	for (size_t j = 0; j < count; j++) {
		uint64_t v;
		stray_hex(e + at + 17 * j, &v);
		for (size_t i = 0; i < n; i++)
			if (marks[i] == v)
				return (int)i;
	}
	return -1;
}

char *wn_proc_stray_entry(const char *mark, char *const *envp)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, mark);
	size_t kept = 1;
	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		size_t at, count;
		if (!stray_values(envp[i], strlen(envp[i]), &at, &count))
			continue; /* not WN_RUN, or not one the worker wrote */
		for (size_t j = 0; j < count && kept < WN_PROC_STRAY_KEPT; j++, kept++)
			wn_strbuf_addf(&b, ",%.16s", envp[i] + at + 17 * j);
	}
	return wn_strbuf_take(&b);
}

/* stray_entries looks for one of the marks (n) among the whole entries of
 * buf (have bytes): its index, or -1; *start gets where a cut last one
 * begins. */
static int stray_entries(const char *buf, size_t have, const uint64_t *marks, size_t n,
                         size_t *start)
{
	*start = 0;
	for (size_t i = 0; i < have; i++) {
		if (buf[i] != '\0')
			continue;
		int k = stray_match(buf + *start, i - *start, marks, n);
		if (k >= 0)
			return k;
		*start = i + 1;
	}
	return -1;
}

/* stray_path writes "/proc/PID" to path, then "/task/TID" when tid > 0,
 * then tail, without stdio (the guard, a fork of the worker, reads
 * environments too); path has room for 80 bytes. */
static void stray_path(char *path, long pid, long tid, const char *tail)
{
	char *p = path;
	memcpy(p, "/proc/", 6);
	p += 6;
	for (int part = 0; part < 2; part++) {
		long v = part == 0 ? pid : tid;
		if (part == 1) {
			if (tid <= 0)
				break;
			memcpy(p, "/task/", 6);
			p += 6;
		}
		char digits[20];
		size_t k = 0;
		do
			digits[k++] = (char)('0' + v % 10);
		while ((v /= 10) > 0 && k < sizeof(digits));
		while (k > 0)
			*p++ = digits[--k];
	}
	size_t tl = strlen(tail);
	memcpy(p, tail, tl + 1);
}

/* stray_find_at looks for one of the marks in the environment file path,
 * as wn_proc_stray_find does (WN_PROC_STRAY_EMPTY: the file held nothing to
 * read, a main thread that exited say). */
static int stray_find_at(const char *path, const uint64_t *marks, size_t n, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ESRCH)
		return WN_PROC_STRAY_EMPTY;
	if (fd < 0)
		return wn_proc_stray_short(errno) ? WN_PROC_STRAY_SHORT : WN_PROC_STRAY_NONE;
	size_t have = 0, start, total = 0;
	bool skipping = false;
	int found = -1;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && wn_proc_stray_short(errno))
			found = WN_PROC_STRAY_SHORT;
		if (r <= 0)
			break;
		size_t from = have;
		have += (size_t)r;
		total += (size_t)r;
		if (skipping) { /* the rest of an entry too long to be a mark */
			char *nul = memchr(buf + from, '\0', have - from);
			if (nul == NULL) {
				have = 0;
				continue;
			}
			size_t past = (size_t)(nul - buf) + 1;
			memmove(buf, buf + past, have - past);
			have -= past;
			skipping = false;
		}
		if ((found = stray_entries(buf, have, marks, n, &start)) >= 0)
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == cap) {
			have = 0;
			skipping = true;
		}
	}
	if (found == -1 && !skipping)
		found = stray_match(buf, have, marks, n); /* the last entry, without its NUL */
	close(fd);
	return found == -1 && total == 0 ? WN_PROC_STRAY_EMPTY : found;
}

/* The kernel's directory entry (getdents64: opendir would allocate). */
struct stray_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* stray_find_threads looks for one of the marks in the environment of
 * process pid through its threads other than the main one (they share it),
 * as wn_proc_stray_find does. */
static int stray_find_threads(pid_t pid, const uint64_t *marks, size_t n, char *buf, size_t cap)
{
	char path[80];
	stray_path(path, pid, 0, "/task");
	int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return wn_proc_stray_short(errno) ? WN_PROC_STRAY_SHORT : WN_PROC_STRAY_EMPTY;
	char ents[1024] __attribute__((aligned(8)));
	int found = WN_PROC_STRAY_EMPTY;
	long r;
	while (found == WN_PROC_STRAY_EMPTY &&
	       (r = syscall(SYS_getdents64, dir, ents, sizeof(ents))) > 0)
		for (long off = 0; found == WN_PROC_STRAY_EMPTY && off < r;) {
			const struct stray_dirent *d = (const void *)(ents + off);
			off += d->reclen;
			long tid = 0;
			for (const char *c = d->name; *c >= '0' && *c <= '9' && tid < INT32_MAX;
			     c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == pid)
				continue;
			stray_path(path, pid, tid, "/environ");
			found = stray_find_at(path, marks, n, buf, cap);
		}
	close(dir);
	return found;
}

int wn_proc_stray_find(pid_t pid, const uint64_t *marks, size_t n, char *buf, size_t cap)
{
	char path[80];
	stray_path(path, pid, 0, "/environ");
	int found = stray_find_at(path, marks, n, buf, cap);
	/* the file reads the environment through the main thread, which has
	 * none once it has exited while other threads run on: through one of
	 * those then */
	if (found == WN_PROC_STRAY_EMPTY)
		found = stray_find_threads(pid, marks, n, buf, cap);
	return found;
}

/* One look below this process for a command's processes: those of its
 * group pgid and those that carry its mark. */
typedef struct stray_walk {
	pid_t pgid, self;
	uint64_t mark;
	int sig; /* sent to each of those outside the group */
	char *buf;
	size_t cap;
	int alive;  /* how many of those are alive */
	int exited; /* how many orphans that exited were met (reaped, or left for later) */
	int unseen; /* why a process could not be looked at (short of descriptors
	             * or memory: one of those may be missed), 0: none */
} stray_walk;

/* stray_visit looks at pid, adds its children to todo when it is alive, and
 * reaps it when it is an orphan that exited. The process is held by a pidfd
 * before it is looked at, so that a pid given to another process meanwhile
 * is never signalled. */
static void stray_visit(stray_walk *w, pid_t pid, stray_pids *todo)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ESRCH)
		return; /* gone */
	stray_proc pr;
	if (!stray_stat(pid, &pr)) {
		/* gone, or not looked at: the next look tries again */
		if (w->unseen == 0)
			w->unseen = stray_unseen(errno);
	} else if (pr.dead) {
		if (pr.ppid == w->self) {
			stray_reap(pid);
			w->exited++;
		}
	} else if (pr.exiting) {
		/* dying: its environment may be gone already, and it may become
		 * a zombie of this process after this look; the next look meets
		 * it, and reaps it */
		w->exited++;
	} else {
		bool group = pr.pgid == w->pgid;
		if (!group && w->buf == NULL)
			w->buf = wn_xmalloc(w->cap);
		int k = group ? 0 : wn_proc_stray_find(pid, &w->mark, 1, w->buf, w->cap);
		if (k == WN_PROC_STRAY_EMPTY && pr.headless)
			w->exited++; /* its threads are exiting too: as above */
		if (k == WN_PROC_STRAY_SHORT && w->unseen == 0)
			w->unseen = stray_unseen(errno) ? errno : EMFILE; /* not read */
		if (k >= 0) {
			w->alive++;
			if (!group && pidfd >= 0)
				syscall(SYS_pidfd_send_signal, pidfd, w->sig, NULL, 0);
			else if (!group)
				kill(pid, w->sig); /* no pidfd here */
		}
		int unseen = stray_children(pid, false, todo);
		if (w->unseen == 0)
			w->unseen = unseen;
	}
	if (pidfd >= 0)
		close(pidfd);
}

/* stray_look goes once through the group's leader (pgid), unless it has
 * exited (it has handed its children over to this process then), and
 * through this process's children but those it started, and through their
 * descendants. The leader is a child of the thread that started it, not
 * of the main thread (stray_children). */
static int stray_look(pid_t pgid, const char *mark, int sig, int *exited, int *unseen)
{
	stray_walk w = {.pgid = pgid,
	                .self = getpid(),
	                .mark = wn_proc_stray_mark_value(mark),
	                .sig = sig,
	                .cap = 65536};
	stray_pids todo = {0};
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)pgid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != pgid)
		stray_pids_add(&todo, pgid);
	size_t roots = todo.n;
	w.unseen = stray_children(w.self, true, &todo);
	for (size_t i = roots; i < todo.n; i++)
		if (todo.v[i] == pgid || stray_is_own(todo.v[i]))
			todo.v[i] = 0;
	for (size_t i = 0; i < todo.n; i++) /* todo grows as it goes down */
		if (todo.v[i] > 0)
			stray_visit(&w, todo.v[i], &todo);
	free(w.buf);
	free(todo.v);
	if (exited != NULL)
		*exited = w.exited;
	if (unseen != NULL)
		*unseen = w.unseen;
	return w.alive;
}

int wn_proc_stray_signal(pid_t pgid, const char *mark, int sig)
{
	return stray_look(pgid, mark, sig, NULL, NULL);
}

#define STRAY_RETELL_MS 60000 /* a look that cannot be made is logged this often */

/* stray_tell_unseen logs that a look for the processes of group pgid, since
 * start, could not be made (err), at once and again every STRAY_RETELL_MS;
 * *next is when (0: not told yet). */
static void stray_tell_unseen(pid_t pgid, int err, int64_t start, int64_t *next)
{
	int64_t now = wn_mono_ms();
	if (*next != 0 && now < *next)
		return;
	char since[48] = "";
	if (*next != 0)
		snprintf(since, sizeof(since), " (for %lld s)", (long long)((now - start) / 1000));
	wn_warn("process group %d: cannot look for all of its processes, this worker is short "
	        "of descriptors or memory (%s): looking again until it can, before the job "
	        "counts as ended%s",
	        (int)pgid, strerror(err), since);
	*next = now + STRAY_RETELL_MS;
}

int wn_proc_stray_end(pid_t pgid, const char *mark, int timeout_ms)
{
	int64_t start = wn_mono_ms(), deadline = start + timeout_ms, told = 0;
	long pause_us = 500;
	for (;;) {
		/* A process of the group that dies hands its children, which may
		 * have left the group, to this one: the group is waited for. */
		kill(-pgid, SIGKILL);
		int exited = 0, unseen = 0;
		int left = stray_look(pgid, mark, SIGKILL, &exited, &unseen);
		/* done after a look that met nothing alive and no orphan that had
		 * exited: one reaped may have handed children over after the list
		 * of this process's children was read, which the next look sees.
		 * A look that could not see everything (short of descriptors or
		 * memory) is no such look, past the deadline too: a marked
		 * process it missed would outlive the run. */
		if (unseen != 0)
			stray_tell_unseen(pgid, unseen, start, &told);
		else if ((left == 0 && exited == 0) || wn_mono_ms() >= deadline)
			return left;
		struct timespec ts = {0, pause_us * 1000};
		nanosleep(&ts, NULL);
		if (pause_us < 100000)
			pause_us *= 2;
	}
}

int wn_proc_stray_reap(void)
{
	stray_pids kids = {0};
	stray_children(getpid(), true, &kids);
	int left = 0;
	for (size_t i = 0; i < kids.n; i++) {
		stray_proc pr;
		if (!stray_is_own(kids.v[i]) && stray_stat(kids.v[i], &pr) && pr.dead &&
		    !stray_reap(kids.v[i]))
			left++;
	}
	free(kids.v);
	return left;
}
