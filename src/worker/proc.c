#include "proc.h"
#include "proc_guard.h"
#include "proc_stray.h"
#include "safepath.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct wn_proc {
	pid_t pid; /* the command: leader of its process group */
	int pidfd; /* -1 when the kernel has no pidfd_open: then waitpid is polled */
	bool reaped;
	int status; /* the command's wait status, once reaped */
	char *mark; /* in its environment: WN_RUN=... (proc_stray.h) */
};

/* How long a command's processes (its group, those that left it) may take
 * to die once killed (a process in the kernel's uninterruptible sleep) before the
 * command counts as ended all the same. */
#define PROC_STRAY_WAIT_MS 10000

/* The step at which a starting command failed, before it could exec. */
enum { PROC_STEP_CHDIR = 1, PROC_STEP_EXEC = 2, PROC_STEP_SETUP = 3, PROC_STEP_GUARD = 4 };

/* What a starting command needs until it execs. It shares the worker's
 * memory until then (vfork-style), so it also says here why it failed. */
typedef struct proc_child {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *workdir;
	int nullfd, logfd, guardfd;
	int grace_ms;
	uint64_t mark; /* the value of the mark in envp (wn_proc_stray_mark_value) */
	int maxfd;
	int step; /* set by the child when it fails: PROC_STEP_* */
	int err;  /* and the errno of that step */
} proc_child;

int wn_proc_mkdirs(const char *path)
{
	char *dir = wn_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
				int e = errno;
				free(dir);
				errno = e;
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(dir);
	return 0;
}

/* proc_getenv finds name in envp. */
static const char *proc_getenv(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

static bool proc_executable(const char *path, int *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		*err = errno;
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = EISDIR;
		return false;
	}
	if (access(path, X_OK) != 0) {
		*err = errno;
		return false;
	}
	return true;
}

/* proc_resolve finds the program to exec: a name without '/' is looked up in
 * PATH (a relative entry is relative to workdir). NULL with *err set if not found. */
static char *proc_resolve(const char *name, char *const *envp, const char *workdir, int *err)
{
	if (strchr(name, '/') != NULL) {
		char *path = wn_path_join(workdir, name);
		if (!proc_executable(path, err)) {
			free(path);
			return NULL;
		}
		return path;
	}
	const char *pathvar = proc_getenv(envp, "PATH");
	if (pathvar == NULL)
		pathvar = "/usr/local/bin:/usr/bin:/bin";
	int first_err = ENOENT;
	const char *p = pathvar;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *cand;
		if (n == 0)
			cand = wn_path_join(workdir, name);
		else if (p[0] != '/' && workdir != NULL)
			cand = wn_xasprintf("%s/%.*s/%s", workdir, (int)n, p, name);
		else
			cand = wn_xasprintf("%.*s/%s", (int)n, p, name);
		int e = 0;
		if (proc_executable(cand, &e))
			return cand;
		if (e != ENOENT && e != ENOTDIR && first_err == ENOENT)
			first_err = e;
		free(cand);
		if (end == NULL)
			break;
		p = end + 1;
	}
	*err = first_err;
	return NULL;
}

/* ---- the starting command: it runs on the worker's memory, its thread
 * suspended, until it execs. Raw system calls only: no lock, no allocation,
 * no signal handler of the worker's. The only C library functions it calls,
 * syscall() and errno's, are bound by then (the guard's start calls both),
 * so the dynamic linker does not run here. ---- */

WN_PROC_RAW static int proc_child_fail(proc_child *c, int step)
{
	c->err = errno;
	c->step = step;
	return 127;
}

/* proc_child_close closes (at exec) every descriptor from 3 up: nothing of
 * the worker's reaches the command, whatever another thread opened meanwhile. */
WN_PROC_RAW static void proc_child_close(int maxfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
#endif
	for (int fd = 3; fd <= maxfd; fd++)
		syscall(SYS_close, fd);
}

WN_PROC_RAW static int proc_child_main(void *arg)
{
	proc_child *c = arg;
	/* Every signal is blocked (the worker blocked them all for the clone):
	 * each gets its default action back before any is let through. */
	unsigned long dfl[8] = {0}; /* the kernel's sigaction: SIG_DFL, no flags, empty mask */
	for (int s = 1; s < _NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, dfl, NULL, _NSIG / 8);
	pid_t self = (pid_t)syscall(SYS_getpid);
	if (syscall(SYS_setpgid, 0, 0) != 0)
		return proc_child_fail(c, PROC_STEP_SETUP);
	/* The guard learns the group before the command runs: a worker killed
	 * from here on does not leave it behind. */
	if (wn_proc_guard_announce(c->guardfd, self, c->grace_ms, c->mark) != 0)
		return proc_child_fail(c, PROC_STEP_GUARD);
	if (syscall(SYS_dup3, c->nullfd, 0, 0) < 0 || syscall(SYS_dup3, c->logfd, 1, 0) < 0 ||
	    syscall(SYS_dup3, c->logfd, 2, 0) < 0)
		return proc_child_fail(c, PROC_STEP_SETUP);
	if (c->workdir != NULL && syscall(SYS_chdir, c->workdir) != 0)
		return proc_child_fail(c, PROC_STEP_CHDIR);
	proc_child_close(c->maxfd);
	unsigned long none[8] = {0};
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, none, NULL, _NSIG / 8);
	syscall(SYS_execve, c->path, c->argv, c->envp);
	return proc_child_fail(c, PROC_STEP_EXEC);
}

/* proc_clone starts the child c (CLONE_VM | CLONE_VFORK: no copy of the
 * worker's memory; this thread waits until the child has exec'd or exited).
 * Returns its pid, or -1 with errno. */
static pid_t proc_clone(proc_child *c)
{
	/* The child's stack: this thread's, which waits meanwhile. Room for the
	 * few frames it has, and for the dynamic linker should it bind a call. */
	char stack[32768] __attribute__((aligned(64)));
	sigset_t all, old;
	memset(&all, 0xff, sizeof(all)); /* the C library's own signals too */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, _NSIG / 8);
	pid_t pid =
	    clone(proc_child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, c);
	int e = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, _NSIG / 8);
	errno = e;
	return pid;
}

/* proc_resolve_error says why the command cmd could not be found (err). */
static int proc_resolve_error(const char *cmd, int err, char **reason)
{
	if (err == ENOENT && strchr(cmd, '/') == NULL)
		*reason = wn_xasprintf("cannot start %s: not found in PATH", cmd);
	else if (err == EACCES || err == EISDIR)
		*reason = wn_xasprintf("cannot start %s: not executable (%s)", cmd, strerror(err));
	else
		*reason = wn_xasprintf("cannot start %s: %s", cmd, strerror(err));
	return err == ENOENT ? WN_ENOTFOUND : WN_EPERM;
}

/* proc_open_log opens (creates, empties) the log file path inside root
 * (NULL: its directory) and returns its descriptor, or -1 with *reason
 * saying why and errno that of the failed call (wn_safepath_open). */
static int proc_open_log(const char *path, const char *root, char **reason)
{
	char *dir = NULL;
	if (root == NULL) {
		dir = wn_xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash != NULL)
			slash[slash == dir] = '\0';
		else
			dir[0] = '\0';
	}
	char *why = NULL;
	int fd = wn_safepath_open(root ? root : dir, path, &why);
	int err = errno;
	if (fd < 0) {
		*reason = wn_xasprintf("cannot open log file: %s", why);
		free(why);
	}
	free(dir);
	errno = err;
	return fd;
}

/* proc_max_fd returns the highest descriptor a starting command closes
 * before exec when the kernel has no close_range. */
static int proc_max_fd(void)
{
	struct rlimit nofile;
	return getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	               nofile.rlim_cur < 65536
	           ? (int)nofile.rlim_cur - 1
	           : 65535;
}

/* proc_interpreter reads the program path names on its "#!" line into buf
 * (n bytes); NULL when path has none. */
static const char *proc_interpreter(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t got = fd >= 0 ? read(fd, buf, n - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (got < 3 || buf[0] != '#' || buf[1] != '!')
		return NULL;
	buf[got] = '\0';
	char *p = buf + 2 + strspn(buf + 2, " \t");
	p[strcspn(p, " \t\r\n")] = '\0';
	return p[0] != '\0' ? p : NULL;
}

/* proc_exec_error says why the command could not start (the child c's
 * failure). */
static int proc_exec_error(const wn_proc_spec *spec, const proc_child *c, char **reason)
{
	char line[256];
	const char *interp = c->step == PROC_STEP_EXEC && c->err == ENOENT
	                         ? proc_interpreter(c->path, line, sizeof(line))
	                         : NULL;
	if (c->step == PROC_STEP_CHDIR)
		*reason = wn_xasprintf("cannot change to directory %s: %s", spec->workdir,
		                       strerror(c->err));
	else if (c->step == PROC_STEP_GUARD)
		*reason = wn_xasprintf("cannot start %s: the guard process is gone (%s)",
		                       spec->argv[0], strerror(c->err));
	else if (interp != NULL)
		*reason = wn_xasprintf("cannot start %s: its interpreter %s (its #! line) is not "
		                       "found",
		                       spec->argv[0], interp);
	else if (c->step == PROC_STEP_EXEC && (c->err == EACCES || c->err == ENOEXEC))
		*reason = wn_xasprintf("cannot start %s: not executable (%s)", spec->argv[0],
		                       strerror(c->err));
	else
		*reason = wn_xasprintf("cannot start %s: %s", spec->argv[0], strerror(c->err));
	/* 127 and 126 as a shell gives them: the program not there, or there
	 * and not to be run; nothing ran at all (no directory, no guard):
	 * WN_EIO, reported -1; this machine short of memory or processes for
	 * the exec (ENOMEM, EAGAIN): not the job's doing, WN_EUNAVAIL, the
	 * job is handed back */
	if (c->step == PROC_STEP_EXEC && (c->err == ENOMEM || c->err == EAGAIN))
		return WN_EUNAVAIL;
	if (c->step == PROC_STEP_CHDIR || c->step == PROC_STEP_GUARD)
		return WN_EIO;
	return c->err == ENOENT ? WN_ENOTFOUND : WN_EPERM;
}

/* proc_fd_high moves fd above the standard descriptors (a worker started
 * with one closed), so that the child's dup3 onto 0, 1 and 2 cannot clobber
 * it; -1 stays -1. */
static int proc_fd_high(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return high;
}

/* proc_short_of_fds tells whether an open failed with err because the
 * worker has all the descriptors its limit allows, for now: the other
 * slots' calls and starts give theirs back within moments. */
static bool proc_short_of_fds(int err)
{
	return err == EMFILE || err == ENFILE;
}

bool wn_proc_short_here(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EROFS || err == EMFILE || err == ENFILE ||
	       err == ENOMEM || err == EAGAIN;
}

/* proc_open_fds opens the command's log (*logfd; /dev/null without one) and
 * /dev/null for its stdin (*nullfd), both above the standard descriptors.
 * Short of descriptors (ulimit -n), it waits for some, up to 10 s, rather
 * than fail the job. */
static int proc_open_fds(const wn_proc_spec *spec, int *logfd, int *nullfd, char **reason)
{
	for (int waited = 0;; waited += 20) {
		*logfd = *nullfd = -1;
		int err = 0;
		if (spec->log_path != NULL &&
		    (*logfd = proc_open_log(spec->log_path, spec->log_root, reason)) < 0) {
			if (waited >= 10000 || !proc_short_of_fds(errno))
				return wn_proc_short_here(errno) ? WN_EUNAVAIL : WN_EIO;
			free(*reason);
			*reason = NULL;
		} else {
			*nullfd = proc_fd_high(open("/dev/null", O_RDWR | O_CLOEXEC));
			if (*nullfd >= 0 && *logfd < 0)
				*logfd = fcntl(*nullfd, F_DUPFD_CLOEXEC, 3);
			*logfd = proc_fd_high(*logfd);
			if (*nullfd >= 0 && *logfd >= 0)
				return WN_OK;
			err = errno;
			if (*logfd >= 0)
				close(*logfd);
			if (*nullfd >= 0)
				close(*nullfd);
			*logfd = *nullfd = -1;
			if (waited >= 10000 || !proc_short_of_fds(err)) {
				*reason = wn_xasprintf("cannot start %s: %s", spec->argv[0],
				                       strerror(err));
				return wn_proc_short_here(err) ? WN_EUNAVAIL : WN_EIO;
			}
		}
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

/* proc_spawn starts c under the guard; returns its pid, or -1 with
 * *reason and *rc set (the child, if any, reaped). */
static pid_t proc_spawn(const wn_proc_spec *spec, proc_child *c, int *rc, char **reason)
{
	for (int attempt = 0;; attempt++) {
		char *why = NULL;
		*rc = wn_proc_guard_enter(&c->guardfd, &why);
		if (*rc != WN_OK) {
			*reason = wn_xasprintf("cannot start %s: %s", spec->argv[0], why);
			free(why);
			return -1;
		}
		c->step = 0;
		pid_t pid = proc_clone(c);
		if (pid > 0 && c->step == 0) {
			wn_proc_guard_leave(pid, c->grace_ms, c->mark);
			return pid;
		}
		int e = errno;
		wn_proc_guard_leave(0, 0, 0);
		if (pid < 0) {
			*reason =
			    wn_xasprintf("cannot start %s: clone: %s", spec->argv[0], strerror(e));
			*rc = wn_proc_short_here(e) ? WN_EUNAVAIL : WN_EIO;
			return -1;
		}
		/* The child exited without exec'ing: reap it (the guard may know its group). */
		wn_proc_guard_forget(pid);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (c->step == PROC_STEP_GUARD && attempt == 0) {
			if (c->err == EAGAIN)
				wn_proc_guard_unstick(); /* it reads nothing */
			wn_proc_guard_check(); /* the guard died: once more with another */
			continue;
		}
		*rc = proc_exec_error(spec, c, reason);
		return -1;
	}
}

/* proc_marked_env returns envp with mark (wn_proc_stray_entry) in place of
 * its WN_RUN (a command of a worker run by a job of another one), the
 * strings shared (free the array alone). */
static char **proc_marked_env(char *const *envp, char *mark)
{
	size_t n = 0;
	while (envp[n] != NULL)
		n++;
	char **env = wn_xcalloc(n + 2, sizeof(*env));
	size_t k = 0, vl = strlen(WN_PROC_STRAY_VAR);
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], WN_PROC_STRAY_VAR, vl) != 0 || envp[i][vl] != '=')
			env[k++] = envp[i];
	env[k] = mark;
	return env;
}

/* proc_cwd_removed tells whether the worker's working directory, where a
 * command without a workdir (or with a relative one) starts, has been
 * removed: nothing started there could create a file in it. */
static bool proc_cwd_removed(const char *workdir)
{
	struct stat st;
	if (workdir != NULL && workdir[0] == '/')
		return false;
	return stat(".", &st) == 0 && st.st_nlink == 0;
}

int wn_proc_start(const wn_proc_spec *spec, wn_proc **out, char **reason)
{
	*out = NULL;
	*reason = NULL;
	if (proc_cwd_removed(spec->workdir)) {
		*reason = wn_xasprintf("cannot start %s: the worker's working directory was "
		                       "removed (start the worker again in one that exists)",
		                       spec->argv[0]);
		return WN_EUNAVAIL;
	}
	char *const *envp = spec->envp ? spec->envp : environ;
	int rc = WN_OK;
	int logfd = -1, nullfd = -1, err = 0;
	char *path = proc_resolve(spec->argv[0], envp, spec->workdir, &err);
	if (path == NULL)
		return proc_resolve_error(spec->argv[0], err, reason);
	if ((rc = proc_open_fds(spec, &logfd, &nullfd, reason)) != WN_OK)
		goto out;
	wn_proc_stray_adopt();
	char *mark = wn_proc_stray_mark();
	char *entry = wn_proc_stray_entry(mark, envp);
	char **marked = proc_marked_env(envp, entry);
	proc_child c = {.path = path,
	                .argv = spec->argv,
	                .envp = marked,
	                .workdir = spec->workdir,
	                .nullfd = nullfd,
	                .logfd = logfd,
	                .grace_ms = spec->orphan_grace_ms,
	                .mark = wn_proc_stray_mark_value(mark),
	                .maxfd = proc_max_fd()};
	wn_proc_stray_starting(); /* not an orphan to reap, should it end at once */
	pid_t pid = proc_spawn(spec, &c, &rc, reason);
	wn_proc_stray_started(pid);
	free(marked);
	free(entry);
	if (pid < 0) {
		free(mark);
		goto out;
	}
	wn_proc *p = wn_xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->mark = mark;
	*out = p;
out:
	free(path);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	return rc;
}

/* proc_reap cleans up after the command exited: the rest of its group, and
 * its processes that left it, are killed and waited for before it is
 * reaped, so the group id cannot be reused yet, and the guard forgets the
 * group before that too. */
static void proc_reap(wn_proc *p)
{
	int left = wn_proc_stray_end(p->pid, p->mark, PROC_STRAY_WAIT_MS);
	if (left > 0)
		wn_warn("process group %d: %d of its processes outlived SIGKILL for %d s",
		        (int)p->pid, left, PROC_STRAY_WAIT_MS / 1000);
	wn_proc_guard_forget(p->pid);
	int status = 0;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	wn_proc_stray_gone(p->pid);
	p->status = status;
	p->reaped = true;
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
}

/* proc_exited tells whether the leader has exited, without reaping it. */
static bool proc_exited(wn_proc *p)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == p->pid;
}

int wn_proc_wait(wn_proc *p, int wake_fd, int timeout_ms)
{
	if (p->reaped)
		return 1;
	int64_t deadline = timeout_ms < 0 ? -1 : wn_mono_ms() + timeout_ms;
	for (;;) {
		struct pollfd fds[3];
		nfds_t n = 0;
		int slice = -1, guard_slice;
		int guard_fd = wn_proc_guard_watch(&guard_slice);
		if (p->pidfd >= 0) {
			fds[n].fd = p->pidfd;
			fds[n].events = POLLIN;
			n++;
		} else {
			if (proc_exited(p)) {
				proc_reap(p);
				return 1;
			}
			slice = 20; /* no pidfd: look again shortly */
		}
		if (guard_fd < 0) {
			wn_proc_guard_check();
			if (slice < 0 || guard_slice < slice)
				slice = guard_slice;
		}
		nfds_t guard_at = n;
		if (guard_fd >= 0) {
			fds[n].fd = guard_fd;
			fds[n].events = POLLIN;
			n++;
		}
		if (wake_fd >= 0) {
			fds[n].fd = wake_fd;
			fds[n].events = POLLIN;
			n++;
		}
		int left = -1;
		if (deadline >= 0) {
			int64_t l = deadline - wn_mono_ms();
			left = l < 0 ? 0 : l > INT_MAX ? INT_MAX : (int)l;
		}
		int t = slice < 0 ? left : left < 0 || slice < left ? slice : left;
		int r = poll(fds, n, t);
		if (r < 0 && errno != EINTR)
			return 0;
		if (p->pidfd >= 0 && r > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			proc_reap(p);
			return 1;
		}
		if (guard_fd >= 0 && r > 0 && fds[guard_at].revents != 0)
			wn_proc_guard_check(); /* the guard died: another learns this group */
		if (r > 0 && wake_fd >= 0 && (fds[n - 1].revents & POLLIN))
			return 0;
		if (deadline >= 0 && wn_mono_ms() >= deadline)
			return 0;
	}
}

void wn_proc_signal(wn_proc *p, int sig)
{
	if (p->reaped)
		return;
	kill(-p->pid, sig);
	wn_proc_stray_signal(p->pid, p->mark, sig);
}

int wn_proc_pid(const wn_proc *p)
{
	return (int)p->pid;
}

uint64_t wn_proc_mark(const wn_proc *p)
{
	return wn_proc_stray_mark_value(p->mark);
}

void wn_proc_status(const wn_proc *p, int *exit_code, int *signo)
{
	*signo = 0;
	if (!p->reaped) {
		*exit_code = -1;
		return;
	}
	if (WIFEXITED(p->status)) {
		*exit_code = WEXITSTATUS(p->status);
	} else if (WIFSIGNALED(p->status)) {
		*signo = WTERMSIG(p->status);
		*exit_code = 128 + *signo;
	} else {
		*exit_code = -1;
	}
}

void wn_proc_free(wn_proc *p)
{
	if (p == NULL)
		return;
	if (!p->reaped)
		proc_reap(p);
	free(p->mark);
	free(p);
}

/* proc_utf8_len returns the length of the valid UTF-8 sequence at s (n bytes
 * available), or 0 if it is not one. */
static size_t proc_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t min, cp;
	if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

#define PROC_FDS_RETELL_MS 60000  /* a wait for a descriptor is logged this often */
#define PROC_FDS_WAIT_MS   600000 /* and given up after this long */

int wn_proc_open_waiting(const char *path, int flags, const char *what)
{
	int64_t start = wn_mono_ms(), told = 0;
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
		if (fd >= 0 || !proc_short_of_fds(errno))
			return fd;
		int err = errno;
		int64_t now = wn_mono_ms();
		if (now - start >= PROC_FDS_WAIT_MS) {
			/* descriptors held for good (a leak): the job ends, not the worker */
			wn_warn("%s: cannot open it, this worker has been short of descriptors for "
			        "%d minutes (%s): given up",
			        what, PROC_FDS_WAIT_MS / 60000, strerror(err));
			errno = err;
			return -1;
		}
		if (now - start >= 1000 && (told == 0 || now - told >= PROC_FDS_RETELL_MS)) {
			wn_warn("%s: cannot open it, this worker is short of descriptors (%s): "
			        "trying again until it can, before the job counts as ended",
			        what, strerror(err));
			told = now;
		}
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

char *wn_proc_tail(const char *path, size_t max)
{
	/* not waiting for a writer: a run may have put a FIFO at its log's path */
	int fd = wn_proc_open_waiting(path, O_NOCTTY | O_NONBLOCK, path);
	if (fd < 0)
		return wn_xstrdup("");
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return wn_xstrdup("");
	}
	off_t size = st.st_size;
	size_t want = (off_t)max < size ? max : (size_t)size;
	off_t from = size - (off_t)want;
	unsigned char *buf = wn_xmalloc(want + 1);
	size_t got = 0;
	while (got < want) {
		ssize_t r = pread(fd, buf + got, want - got, from + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	size_t start = 0;
	if (from > 0) {
		/* Drop the cut first line, unless that would drop most of the tail. */
		const unsigned char *nl = memchr(buf, '\n', got);
		if (nl != NULL && (size_t)(nl - buf) + 1 < got && (size_t)(nl - buf) < got / 2)
			start = (size_t)(nl - buf) + 1;
		else
			while (start < got && start < 3 && (buf[start] & 0xc0) == 0x80)
				start++;
	}
	char *out = wn_xmalloc(got - start + 1);
	size_t o = 0;
	for (size_t i = start; i < got;) {
		size_t l = buf[i] == 0 ? 0 : proc_utf8_len(buf + i, got - i);
		if (l == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, buf + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	free(buf);
	return out;
}
