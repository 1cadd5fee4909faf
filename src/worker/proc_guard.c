#include "proc_guard.h"
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

/* One announcement: a group starts (with its grace period) or is over. */
enum { GUARD_ADD = 1, GUARD_DEL = 2 };

/* A guard whose socket stays full this long reads nothing (stopped, say). */
#define GUARD_STUCK_MS 1000

typedef struct guard_msg {
	int32_t op;
	int32_t pgid;
	int32_t grace_ms;
} guard_msg;

/* A group the guard knows, in the guard; deadline once it has been told to end. */
typedef struct guard_group {
	int32_t pgid;
	int32_t grace_ms;
	int64_t deadline;
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

/* The guard's table of groups, grown with mremap (no malloc after fork). */
typedef struct guard_table {
	guard_group *g;
	size_t n, cap;
} guard_table;

static void guard_table_add(guard_table *t, const guard_msg *m, int64_t deadline)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->g[i].pgid == m->pgid) {
			t->g[i].grace_ms = m->grace_ms;
			return;
		}
	if (t->n == t->cap) {
		size_t bytes = t->cap * sizeof(guard_group);
		void *p = t->g == NULL ? mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		                       : mremap(t->g, bytes, bytes * 2, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return; /* out of memory: this group is not ended */
		t->cap = t->g == NULL ? 65536 / sizeof(guard_group) : t->cap * 2;
		t->g = p;
	}
	t->g[t->n++] = (guard_group){m->pgid, m->grace_ms, deadline};
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

/* guard_end ends every group in t (the worker is gone): SIGTERM now, SIGKILL
 * to what is left of a group after its grace period. Announcements still on
 * their way (a command that was starting) are read and ended too. */
static void __attribute__((noreturn)) guard_end(int fd, guard_table *t, bool eof)
{
	int64_t start = guard_now_ms();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i < t->n; i++) {
		t->g[i].deadline = start + (t->g[i].grace_ms > 0 ? t->g[i].grace_ms : 0);
		kill(-t->g[i].pgid, SIGTERM);
	}
	for (;;) {
		guard_msg m;
		ssize_t r = 1;
		while (!eof && (r = recv(fd, &m, sizeof(m), 0)) != 0) {
			if (r == (ssize_t)sizeof(m))
				guard_table_apply(
				    t, &m, guard_now_ms() + (m.grace_ms > 0 ? m.grace_ms : 0));
			else if (r < 0 && errno != EINTR)
				break;
		}
		if (r == 0)
			eof = true;
		int64_t now = guard_now_ms();
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
		if (t->n == 0 && (eof || now - start > 500))
			_exit(0);
		struct timespec tick = {0, 20 * 1000 * 1000};
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
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		*why =
		    wn_xasprintf("cannot start the guard process: socketpair: %s", strerror(errno));
		return WN_EIO;
	}
	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		*why =
		    wn_xasprintf("cannot start the guard process: /dev/null: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return WN_EIO;
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
		return WN_EIO;
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

void wn_proc_guard_leave(pid_t pgid, int grace_ms)
{
	if (pgid > 0) {
		pthread_mutex_lock(&guard_reg_lock);
		if (guard_reg_n == guard_reg_cap) {
			guard_reg_cap = guard_reg_cap ? guard_reg_cap * 2 : 16;
			guard_reg = wn_xrealloc(guard_reg, guard_reg_cap * sizeof(*guard_reg));
		}
		guard_reg[guard_reg_n++] = (guard_msg){GUARD_ADD, (int32_t)pgid, grace_ms};
		pthread_mutex_unlock(&guard_reg_lock);
	}
	pthread_rwlock_unlock(&guard_lock);
}

WN_PROC_RAW int wn_proc_guard_announce(int fd, pid_t pgid, int grace_ms)
{
	guard_msg m = {GUARD_ADD, (int32_t)pgid, grace_ms};
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
		guard_msg m = {GUARD_DEL, (int32_t)pgid, 0};
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
