#include "proc_guard.h"
#include "proc.h"
#include "proc_stray.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One announcement: a group starts (with its grace period and the mark in
 * its environment) or is over. Both ends are the same program (the guard is
 * a fork of the worker): the layout needs no version. */
enum { GUARD_ADD = 1, GUARD_DEL = 2 };

/* A guard whose socket stays full this long reads nothing (stopped, say). */
#define GUARD_STUCK_MS 1000

/* A guard that ends a dead worker's groups looks this often, and the marked
 * processes it met at most this long apart (less often while they take
 * their grace), and gives up on those that outlive SIGKILL this long (stuck
 * in the kernel). */
#define GUARD_TICK_MS      20
#define GUARD_SWEEP_MAX_MS 500
#define GUARD_KILL_WAIT_MS 10000

/* The bytes a guard reads a process's environment with. */
#define GUARD_ENV_BYTES 65536

typedef struct guard_msg {
	int32_t op;
	int32_t pgid;
	int32_t grace_ms;
	int32_t unused; /* zero: no uninitialized bytes on the socket */
	uint64_t mark;  /* wn_proc_stray_mark_value; 0 for none */
} guard_msg;

/* A group the guard knows, in the guard; deadline once it has been told to end. */
typedef struct guard_group {
	int32_t pgid;
	int32_t grace_ms;
	int64_t deadline;
	uint64_t mark;
} guard_group;

/* The worker's side. The lock is held for reading while the socket is used
 * (a command starting, a group forgotten; never twice by one thread) and for
 * writing while the guard is replaced, which goes first: steady starts on
 * many slots do not keep a dead guard from being replaced. The registry lists
 * the groups announced and not yet forgotten. */
static pthread_rwlock_t guard_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pid_t guard_pid = -1;
static pid_t guard_owner; /* the process that started it: a fork of the worker has none */
static int guard_fd = -1;
static int guard_pidfd = -1;
static atomic_int guard_watch_fd = -1;
static atomic_llong guard_retry_at;

static pthread_mutex_t guard_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static guard_msg *guard_reg;
static size_t guard_reg_n, guard_reg_cap;

/* ---- the guard process: async-signal-safe calls only (a fork of a threaded
 * program) ---- */

static volatile sig_atomic_t guard_orphaned;

static void guard_on_parent_death(int sig)
{
	(void)sig;
	guard_orphaned = 1;
}

static int64_t guard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* guard_room returns p (cap items of size bytes, n of them used) with room
 * for one more, grown with mmap and mremap (no malloc after fork), or NULL
 * when out of memory (p is kept then). */
static void *guard_room(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	size_t bytes = *cap * size, want = p == NULL ? 65536 : bytes * 2;
	void *q = p == NULL
	              ? mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
	              : mremap(p, bytes, want, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	*cap = want / size;
	return q;
}

/* The guard's table of groups. */
typedef struct guard_table {
	guard_group *g;
	size_t n, cap;
} guard_table;

static void guard_table_add(guard_table *t, const guard_msg *m, int64_t deadline)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->g[i].pgid == m->pgid) {
			t->g[i].grace_ms = m->grace_ms;
			t->g[i].mark = m->mark;
			return;
		}
	guard_group *g = guard_room(t->g, &t->cap, t->n, sizeof(*g));
	if (g == NULL)
		return; /* out of memory: this group is not ended */
	t->g = g;
	t->g[t->n++] = (guard_group){m->pgid, m->grace_ms, deadline, m->mark};
}

static void guard_table_del(guard_table *t, size_t i)
{
	t->g[i] = t->g[--t->n];
}

static void guard_table_apply(guard_table *t, const guard_msg *m, int64_t deadline)
{
	if (m->pgid <= 1)
		return; /* never the whole system, never init */
	if (m->op == GUARD_ADD) {
		guard_table_add(t, m, deadline);
		if (deadline > 0)
			kill(-m->pgid, SIGTERM); /* started while the guard was ending */
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->g[i].pgid == m->pgid) {
			guard_table_del(t, i);
			return;
		}
}

/* The marks of the groups a guard ends, each with its group's deadline,
 * and the processes that carry one of them and were sent SIGTERM. A daemon
 * a command left in a session of its own is in none of the groups and, once
 * the worker is dead, below init: only its environment tells it. */
typedef struct guard_marks {
	uint64_t *v; /* for wn_proc_stray_find */
	int64_t *deadline;
	size_t n, cap, dcap;
	int64_t last; /* the latest deadline */
	pid_t *termed;
	size_t nt, tcap;
	char *buf; /* GUARD_ENV_BYTES to read an environment with; NULL: none */
} guard_marks;

static void guard_marks_add(guard_marks *mk, uint64_t mark, int64_t deadline)
{
	if (mark == 0)
		return;
	for (size_t i = 0; i < mk->n; i++)
		if (mk->v[i] == mark)
			return;
	uint64_t *v = guard_room(mk->v, &mk->cap, mk->n, sizeof(*v));
	if (v == NULL)
		return; /* out of memory: its processes are not looked for */
	mk->v = v;
	int64_t *d = guard_room(mk->deadline, &mk->dcap, mk->n, sizeof(*d));
	if (d == NULL)
		return;
	mk->deadline = d;
	mk->v[mk->n] = mark;
	mk->deadline[mk->n++] = deadline;
	if (deadline > mk->last)
		mk->last = deadline;
}

/* guard_termed tells whether pid was sent SIGTERM, and records it (a pid
 * given to another marked process meanwhile gets SIGKILL only). */
static bool guard_termed(guard_marks *mk, pid_t pid)
{
	for (size_t i = 0; i < mk->nt; i++)
		if (mk->termed[i] == pid)
			return true;
	pid_t *t = guard_room(mk->termed, &mk->tcap, mk->nt, sizeof(*t));
	if (t != NULL) {
		mk->termed = t;
		mk->termed[mk->nt++] = pid;
	}
	return false;
}

/* guard_table_has tells whether t holds group pgid. */
static bool guard_table_has(const guard_table *t, pid_t pgid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->g[i].pgid == pgid)
			return true;
	return false;
}

/* guard_sweep_one looks at process pid: one that carries a mark, outside
 * the groups of t (which have had their SIGTERM: a process a group starts
 * while it ends, to save a checkpoint say, is the group's), gets SIGTERM
 * once, SIGKILL past its mark's deadline. It is held by a pidfd and its
 * environment read again before it is signalled, so that a pid given to
 * another process meanwhile is never signalled (the pidfd is taken only
 * then: most processes carry no mark). Returns 1 when it is such a process
 * (*killed counts SIGKILLs), or one the guard could not look at for want
 * of descriptors (the next look tries again), else 0. */
static int guard_sweep_one(guard_marks *mk, const guard_table *t, pid_t pid, int64_t now,
                           int *killed)
{
	int k = wn_proc_stray_find(pid, mk->v, mk->n, mk->buf, GUARD_ENV_BYTES);
	if (k < 0)
		return k == WN_PROC_STRAY_SHORT;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int err = pidfd < 0 ? errno : 0;
	if (err == EMFILE || err == ENFILE)
		return 1; /* out of descriptors: the next look */
	if (err != 0 && err != ENOSYS)
		return 0; /* gone */
	int i = -1;
	if (!guard_table_has(t, getpgid(pid)))
		i = wn_proc_stray_find(pid, mk->v, mk->n, mk->buf, GUARD_ENV_BYTES);
	int sig = 0;
	if (i >= 0 && now >= mk->deadline[i])
		sig = SIGKILL;
	else if (i >= 0 && !guard_termed(mk, pid))
		sig = SIGTERM;
	if (sig != 0 && pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	else if (sig != 0)
		kill(pid, sig); /* no pidfd here */
	if (sig == SIGKILL)
		(*killed)++;
	if (pidfd >= 0)
		close(pidfd);
	return i >= 0 || i == WN_PROC_STRAY_SHORT;
}

/* The kernel's directory entry (getdents64: opendir would allocate). */
struct guard_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* guard_pid_of returns the pid that the /proc entry name is, or 0 (not a
 * process). */
static pid_t guard_pid_of(const char *name)
{
	long pid = 0;
	for (const char *c = name; *c != '\0'; c++) {
		if (*c < '0' || *c > '9' || c - name >= 9)
			return 0;
		pid = pid * 10 + (*c - '0');
	}
	return (pid_t)pid;
}

/* guard_sweep looks once through every process (/proc) for those that
 * carry one of the marks outside the groups of t (guard_sweep_one); returns
 * how many it met, counting a look it could not make (out of descriptors)
 * as one. */
static int guard_sweep(guard_marks *mk, const guard_table *t, int64_t now, int *killed)
{
	int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 1;
	char ents[16384] __attribute__((aligned(8)));
	pid_t self = getpid();
	int found = 0;
	long r;
	while ((r = syscall(SYS_getdents64, dir, ents, sizeof(ents))) > 0)
		for (long off = 0; off < r;) {
			const struct guard_dirent *d = (const void *)(ents + off);
			off += d->reclen;
			pid_t pid = guard_pid_of(d->name);
			if (pid > 0 && pid != self)
				found += guard_sweep_one(mk, t, pid, now, killed);
		}
	close(dir);
	return found;
}

/* guard_end_read reads the announcements still on their way (a command
 * that was starting) into t and mk, to be ended too; returns whether the
 * socket reached its end. */
static bool guard_end_read(int fd, guard_table *t, guard_marks *mk, bool eof)
{
	guard_msg m;
	ssize_t r = 1;
	while (!eof && (r = recv(fd, &m, sizeof(m), 0)) != 0) {
		if (r == (ssize_t)sizeof(m)) {
			int64_t deadline = guard_now_ms() + (m.grace_ms > 0 ? m.grace_ms : 0);
			guard_table_apply(t, &m, deadline);
			if (m.op == GUARD_ADD && m.pgid > 1)
				guard_marks_add(mk, m.mark, deadline);
		} else if (r < 0 && errno != EINTR) {
			break;
		}
	}
	return eof || r == 0;
}

/* guard_end_groups sends SIGKILL to what is left of each group of t past
 * its deadline, and forgets the groups that are gone. */
static void guard_end_groups(guard_table *t, int64_t now)
{
	for (size_t i = 0; i < t->n;) {
		if (kill(-t->g[i].pgid, 0) != 0 && errno == ESRCH) {
			guard_table_del(t, i);
		} else if (now >= t->g[i].deadline) {
			kill(-t->g[i].pgid, SIGKILL);
			guard_table_del(t, i);
		} else {
			i++;
		}
	}
}

/* guard_buf makes sure mk has its buffer; false when out of memory (a look
 * that could not be made: the next one tries again). */
static bool guard_buf(guard_marks *mk)
{
	if (mk->buf == NULL) {
		void *buf = mmap(NULL, GUARD_ENV_BYTES, PROT_READ | PROT_WRITE,
		                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mk->buf = buf == MAP_FAILED ? NULL : buf;
	}
	return mk->buf != NULL;
}

/* guard_end ends every group in t (the worker is gone): SIGTERM now, SIGKILL
 * to what is left of a group after its grace period; and so every process
 * that carries the mark of one of them, found in /proc, looked for again
 * until none is left, also once the groups are gone (they may start one as
 * they end). */
static void __attribute__((noreturn)) guard_end(int fd, guard_table *t, bool eof)
{
	int64_t start = guard_now_ms();
	guard_marks mk = {0};
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i < t->n; i++) {
		t->g[i].deadline = start + (t->g[i].grace_ms > 0 ? t->g[i].grace_ms : 0);
		kill(-t->g[i].pgid, SIGTERM);
		guard_marks_add(&mk, t->g[i].mark, t->g[i].deadline);
	}
	int64_t next = start, gap = GUARD_TICK_MS;
	int found = 0, killed = 0;
	bool after_groups = false; /* a sweep was made once the groups were gone */
	for (;;) {
		eof = guard_end_read(fd, t, &mk, eof);
		int64_t now = guard_now_ms();
		guard_end_groups(t, now);
		if (t->n > 0)
			after_groups = false;
		if (mk.n > 0 && (now >= next || (t->n == 0 && !after_groups))) {
			/* the first SIGKILLs are looked after soon, not those that
			 * outlive them (stuck in the kernel) */
			bool first = killed == 0;
			killed = 0;
			found = guard_buf(&mk) ? guard_sweep(&mk, t, now, &killed) : 1;
			gap = killed > 0 && first ? GUARD_TICK_MS : gap * 2;
			if (gap > GUARD_SWEEP_MAX_MS)
				gap = GUARD_SWEEP_MAX_MS;
			next = now + gap;
			for (size_t i = 0; i < mk.n; i++) /* SIGKILL when the grace ends */
				if (mk.deadline[i] > now && mk.deadline[i] < next)
					next = mk.deadline[i];
		}
		after_groups = after_groups || t->n == 0;
		bool done = found == 0 || now - mk.last > GUARD_KILL_WAIT_MS;
		if (t->n == 0 && done && (eof || now - start > 500))
			_exit(0);
		struct timespec tick = {0, GUARD_TICK_MS * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
}

/* guard_main is the guard: it keeps the table of running groups, from the
 * worker's registry as it was at the fork (a guard that replaces another knows
 * them from its first instant) and the announcements on fd, until the worker
 * is gone, then ends them. */
static void __attribute__((noreturn)) guard_main(int fd, int nullfd, pid_t parent, int deathsig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	/* The polite signals meant for the worker's terminal or service are not
	 * the guard's: it ends when the worker is gone. */
	sa.sa_handler = SIG_IGN;
	const int ignored[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
	                       SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = guard_on_parent_death; /* no SA_RESTART: recv returns */
	sigaction(deathsig, &sa, NULL);
	setpgid(0, 0);
	prctl(PR_SET_NAME, "wnworker-guard"); /* what ps -o comm and top show */
	prctl(PR_SET_PDEATHSIG, deathsig);
	if (getppid() != parent)
		guard_orphaned = 1; /* the worker died before the signal was armed */
	int cwd = chdir("/");       /* not holding the worker's directory */
	(void)cwd;
	/* The socket ends up as 3, stdin, stdout and stderr on /dev/null (not
	 * holding the worker's pipes open), whatever numbers they had. */
	int high = fcntl(fd, F_DUPFD, 10);
	if (high < 0 || dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(nullfd, 2) < 0 ||
	    dup2(high, 3) < 0)
		_exit(1);
	fd = 3;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0)
#endif
		for (int i = 4; i < 1024; i++)
			close(i);
	/* The parent-death signal is let through only while the guard waits
	 * (ppoll): it cannot slip in between the check and the wait. */
	sigset_t none, death;
	sigemptyset(&none);
	sigemptyset(&death);
	sigaddset(&death, deathsig);
	sigprocmask(SIG_SETMASK, &death, NULL);

	guard_table t = {0};
	for (size_t i = 0; i < guard_reg_n; i++) /* no one changes it: the write lock is held */
		guard_table_apply(&t, &guard_reg[i], 0);
	bool eof = false;
	for (;;) {
		if (guard_orphaned) {
			if (getppid() != parent)
				break;
			guard_orphaned = 0; /* a thread of the worker ended, not the worker */
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (ppoll(&pfd, 1, NULL, &none) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		guard_msg m;
		ssize_t r = recv(fd, &m, sizeof(m), MSG_DONTWAIT);
		if (r == (ssize_t)sizeof(m)) {
			guard_table_apply(&t, &m, 0);
		} else if (r == 0) {
			eof = true;
			break;
		} else if (r < 0 && errno != EINTR && errno != EAGAIN) {
			break;
		}
	}
	guard_end(fd, &t, eof);
}

/* ---- the worker's side ---- */

/* guard_alive tells whether the guard pid still runs (without reaping it). */
static bool guard_alive(pid_t pid)
{
	if (pid <= 0 || guard_owner != getpid())
		return false;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == EINTR;
	return si.si_pid != pid;
}

/* guard_send sends m without waiting: a guard whose socket is full reads
 * nothing (wn_proc_guard_unstick). 0, or -1 with errno. */
static int guard_send(int fd, const guard_msg *m)
{
	ssize_t w;
	do
		w = send(fd, m, sizeof(*m), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* guard_writable tells whether the guard's socket takes a message within ms. */
static bool guard_writable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLOUT) != 0;
}

/* guard_drop reaps a dead guard and closes its descriptors (write lock held);
 * in a fork of the worker, it only lets go of the worker's guard. */
static void guard_drop(void)
{
	atomic_store(&guard_watch_fd, -1);
	if (guard_owner != getpid()) {
		pthread_mutex_lock(&guard_reg_lock);
		guard_reg_n = 0; /* the worker's groups */
		pthread_mutex_unlock(&guard_reg_lock);
	} else if (guard_pid > 0) {
		kill(guard_pid, SIGKILL);
		while (waitpid(guard_pid, NULL, 0) < 0 && errno == EINTR)
			;
		wn_proc_stray_gone(guard_pid);
	}
	if (guard_fd >= 0)
		close(guard_fd);
	if (guard_pidfd >= 0)
		close(guard_pidfd);
	guard_pid = -1;
	guard_fd = guard_pidfd = -1;
}

/* guard_fork starts a guard (write lock held), which knows every group in
 * the registry; 0, or a negative WN_E* with *why. */
static int guard_fork(char **why)
{
	/* short of memory, processes or descriptors: this machine's state,
	 * not a job's (WN_EUNAVAIL: its job is handed back) */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		int e = errno;
		*why = wn_xasprintf("cannot start the guard process: socketpair: %s", strerror(e));
		return wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
	}
	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		int e = errno;
		*why = wn_xasprintf("cannot start the guard process: /dev/null: %s", strerror(e));
		close(sv[0]);
		close(sv[1]);
		return wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
	}
	pid_t parent = getpid();
	int deathsig = SIGRTMIN + 2;
	wn_proc_stray_starting(); /* ours to reap, not an orphan's */
	pid_t pid = fork();
	if (pid == 0)
		guard_main(sv[1], nullfd, parent, deathsig);
	int e = errno;
	wn_proc_stray_started(pid);
	close(sv[1]);
	close(nullfd);
	if (pid < 0) {
		close(sv[0]);
		*why = wn_xasprintf("cannot start the guard process: fork: %s", strerror(e));
		return wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
	}
	setpgid(pid, pid);
	guard_pid = pid;
	guard_owner = parent;
	guard_fd = sv[0];
	guard_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	atomic_store(&guard_watch_fd, guard_pidfd);
	return WN_OK;
}

/* guard_replace starts a guard unless one runs. */
static int guard_replace(char **why)
{
	int rc = WN_OK;
	pthread_rwlock_wrlock(&guard_lock);
	if (!guard_alive(guard_pid)) {
		bool had = guard_pid > 0 && guard_owner == getpid();
		guard_drop();
		rc = guard_fork(why);
		if (had && rc == WN_OK)
			wn_warn("the guard process died: started another (pid %d)", (int)guard_pid);
	}
	pthread_rwlock_unlock(&guard_lock);
	return rc;
}

int wn_proc_guard_start(char **why)
{
	char *msg = NULL;
	int rc = guard_replace(&msg);
	if (why != NULL)
		*why = msg;
	else
		free(msg);
	return rc;
}

int wn_proc_guard_enter(int *fd, char **why)
{
	*why = NULL;
	for (int tries = 0; tries < 3; tries++) {
		pthread_rwlock_rdlock(&guard_lock);
		if (guard_alive(guard_pid)) {
			*fd = guard_fd;
			return WN_OK;
		}
		pthread_rwlock_unlock(&guard_lock);
		free(*why);
		*why = NULL;
		int rc = guard_replace(why);
		if (rc != WN_OK)
			return rc;
	}
	*why = wn_xstrdup("cannot start the guard process: it dies at once");
	return WN_EIO;
}

void wn_proc_guard_leave(pid_t pgid, int grace_ms, uint64_t mark)
{
	if (pgid > 0) {
		pthread_mutex_lock(&guard_reg_lock);
		if (guard_reg_n == guard_reg_cap) {
			guard_reg_cap = guard_reg_cap ? guard_reg_cap * 2 : 16;
			guard_reg = wn_xrealloc(guard_reg, guard_reg_cap * sizeof(*guard_reg));
		}
		guard_reg[guard_reg_n++] = (guard_msg){
		    .op = GUARD_ADD, .pgid = (int32_t)pgid, .grace_ms = grace_ms, .mark = mark};
		pthread_mutex_unlock(&guard_reg_lock);
	}
	pthread_rwlock_unlock(&guard_lock);
}

WN_PROC_RAW int wn_proc_guard_announce(int fd, pid_t pgid, int grace_ms, uint64_t mark)
{
	guard_msg m = {.op = GUARD_ADD, .pgid = (int32_t)pgid, .grace_ms = grace_ms, .mark = mark};
	long w;
#ifdef SYS_sendto
	w = syscall(SYS_sendto, fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
#else
	w = syscall(SYS_write, fd, &m, sizeof(m));
#endif
	return w == (long)sizeof(m) ? 0 : -1;
}

void wn_proc_guard_forget(pid_t pgid)
{
	pthread_rwlock_rdlock(&guard_lock);
	pthread_mutex_lock(&guard_reg_lock);
	for (size_t i = 0; i < guard_reg_n; i++)
		if (guard_reg[i].pgid == pgid) {
			guard_reg[i] = guard_reg[--guard_reg_n];
			break;
		}
	pthread_mutex_unlock(&guard_reg_lock);
	bool full = false;
	if (guard_fd >= 0) {
		guard_msg m = {.op = GUARD_DEL, .pgid = (int32_t)pgid};
		full = guard_send(guard_fd, &m) != 0 && errno == EAGAIN;
	}
	pthread_rwlock_unlock(&guard_lock);
	if (full)
		wn_proc_guard_unstick(); /* another, which never knew the group */
}

void wn_proc_guard_unstick(void)
{
	pthread_rwlock_rdlock(&guard_lock);
	pid_t pid = guard_pid;
	bool stuck = guard_fd >= 0 && !guard_writable(guard_fd, GUARD_STUCK_MS);
	pthread_rwlock_unlock(&guard_lock);
	if (!stuck)
		return;
	char *why = NULL;
	pthread_rwlock_wrlock(&guard_lock);
	if (guard_pid == pid && guard_owner == getpid() && !guard_writable(guard_fd, 0)) {
		wn_warn("the guard process (pid %d) reads nothing: started another", (int)pid);
		guard_drop(); /* killed: it guards nothing */
		if (guard_fork(&why) != WN_OK)
			wn_warn("%s (retrying)", why);
	}
	pthread_rwlock_unlock(&guard_lock);
	free(why);
}

int wn_proc_guard_watch(int *slice_ms)
{
	int fd = atomic_load(&guard_watch_fd);
	*slice_ms = fd < 0 ? 1000 : -1;
	return fd;
}

void wn_proc_guard_check(void)
{
	pthread_rwlock_rdlock(&guard_lock);
	bool alive = guard_alive(guard_pid);
	pthread_rwlock_unlock(&guard_lock);
	if (alive)
		return;
	int64_t now = wn_mono_ms();
	if (now < atomic_load(&guard_retry_at))
		return;
	char *why = NULL;
	if (guard_replace(&why) != WN_OK) {
		wn_warn("%s (retrying)", why);
		atomic_store(&guard_retry_at, now + 1000);
	}
	free(why);
}

pid_t wn_proc_guard_pid(void)
{
	pthread_rwlock_rdlock(&guard_lock);
	pid_t pid = guard_alive(guard_pid) ? guard_pid : -1;
	pthread_rwlock_unlock(&guard_lock);
	return pid;
}
