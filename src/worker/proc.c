#include "proc.h"
#include "safepath.h"

#include "err.h"
#include "kit.h"
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct wn_proc {
	pid_t pid;    /* the guard: leader of the command's process group */
	int pidfd;    /* -1 when the kernel has no pidfd_open: then waitpid is polled */
	int statusfd; /* the guard writes the command's wait status here */
	bool reaped;
	int status; /* the command's wait status, once reaped */
};

/* Where a child that could not exec says why: the step and its errno. */
enum { PROC_STEP_CHDIR = 1, PROC_STEP_EXEC = 2, PROC_STEP_SETUP = 3 };

typedef struct proc_failure {
	int step;
	int err;
} proc_failure;

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

static void proc_child_fail(int fd, int step)
{
	proc_failure f = {step, errno};
	ssize_t w = write(fd, &f, sizeof(f));
	(void)w;
	_exit(127);
}

/* proc_close_others closes every descriptor from 3 to maxfd but the four in
 * keep: another thread may be starting a command at the same time, and its
 * pipes must not stay open in this guard. Async-signal-safe. */
static void proc_close_others(const int keep[4], int maxfd)
{
	int k[4];
	for (int i = 0; i < 4; i++)
		k[i] = keep[i];
	for (int i = 1; i < 4; i++) /* sort the four */
		for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	int from = 3;
	for (int i = 0; i <= 4; i++) {
		int to = i < 4 ? k[i] - 1 : maxfd;
		if (to >= from) {
#ifdef SYS_close_range
			if (syscall(SYS_close_range, (unsigned)from, (unsigned)to, 0U) == 0) {
				from = i < 4 ? k[i] + 1 : from;
				continue;
			}
#endif
			for (int fd = from; fd <= to; fd++)
				close(fd);
		}
		if (i < 4 && k[i] + 1 > from)
			from = k[i] + 1;
	}
}

/* Set in the guard when the worker is gone. */
static volatile sig_atomic_t proc_orphaned;

static void proc_on_parent_death(int sig)
{
	(void)sig;
	proc_orphaned = 1;
}

/* proc_guard_reap waits for the command (in the guard), until it ends or the
 * worker is gone; returns true if it ended, with its status. */
static bool proc_guard_reap(pid_t cmd, int *status, bool block)
{
	for (;;) {
		pid_t r = waitpid(cmd, status, block ? 0 : WNOHANG);
		if (r == cmd)
			return true;
		if (r == 0 || (r < 0 && errno != EINTR))
			return false;
		if (proc_orphaned)
			return false;
	}
}

/* proc_guard is the process between the worker and the command: the leader of
 * the command's process group. It ignores the polite signals the worker sends
 * to the group, passes the command's wait status up through status_fd, and,
 * should the worker die, ends the whole group (SIGTERM, SIGKILL after
 * grace_ms), so that nothing outlives a killed worker. Async-signal-safe
 * calls only: it is a fork of a threaded program. */
static void proc_guard(pid_t parent, int deathsig, int grace_ms, int err_fd, int status_fd,
                       const char *path, char *const *argv, char *const *envp, const char *workdir,
                       int nullfd, int logfd, int maxfd)
{
	const int keep[4] = {err_fd, status_fd, nullfd, logfd};
	proc_close_others(keep, maxfd);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_parent_death; /* no SA_RESTART: waitpid returns */
	sigaction(deathsig, &sa, NULL);
	if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, deathsig) != 0)
		proc_child_fail(err_fd, PROC_STEP_SETUP);
	if (getppid() != parent)
		_exit(127); /* the worker is already gone */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	pid_t cmd = fork();
	if (cmd < 0)
		proc_child_fail(err_fd, PROC_STEP_SETUP);
	if (cmd == 0) {
		/* The command: default signal handling, then exec. */
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(deathsig, &sa, NULL);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			proc_child_fail(err_fd, PROC_STEP_SETUP);
		if (workdir != NULL && chdir(workdir) != 0)
			proc_child_fail(err_fd, PROC_STEP_CHDIR);
#ifdef SYS_close_range
		/* Nothing else of the worker's reaches the command. */
		syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
		execve(path, argv, envp);
		proc_child_fail(err_fd, PROC_STEP_EXEC);
	}
	close(err_fd); /* the worker reads until the command has exec'd */
	close(nullfd);
	close(logfd);
	int status = 0;
	if (!proc_guard_reap(cmd, &status, true)) {
		/* The worker died: end the job as it would have. */
		kill(0, SIGTERM);
		struct timespec tick = {0, 50 * 1000 * 1000};
		for (int waited = 0; waited < grace_ms; waited += 50) {
			if (proc_guard_reap(cmd, &status, false))
				break;
			nanosleep(&tick, NULL);
		}
		kill(0, SIGKILL);
	}
	ssize_t w = write(status_fd, &status, sizeof(status));
	(void)w;
	if (proc_orphaned || getppid() != parent)
		kill(0, SIGKILL); /* leftovers, and the guard itself */
	_exit(0);
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
 * saying why. */
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
	if (fd < 0) {
		*reason = wn_xasprintf("cannot open log file: %s", why);
		free(why);
	}
	free(dir);
	return fd;
}

/* proc_max_fd returns the highest descriptor the guard closes before exec. */
static int proc_max_fd(void)
{
	struct rlimit nofile;
	return getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	               nofile.rlim_cur < 65536
	           ? (int)nofile.rlim_cur - 1
	           : 65535;
}

/* proc_signals_default sets every signal but SIGKILL, SIGSTOP and the
 * real-time ones to its default action (async-signal-safe). */
static void proc_signals_default(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < SIGRTMIN; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
}

/* proc_exec_error says why the guard could not start the command (f). */
static int proc_exec_error(const wn_proc_spec *spec, const proc_failure *f, char **reason)
{
	if (f->step == PROC_STEP_CHDIR)
		*reason = wn_xasprintf("cannot change to directory %s: %s", spec->workdir,
		                       strerror(f->err));
	else if (f->err == EACCES || f->err == ENOEXEC)
		*reason = wn_xasprintf("cannot start %s: not executable (%s)", spec->argv[0],
		                       strerror(f->err));
	else
		*reason = wn_xasprintf("cannot start %s: %s", spec->argv[0], strerror(f->err));
	return f->step == PROC_STEP_CHDIR ? WN_ENOTFOUND : WN_EPERM;
}

int wn_proc_start(const wn_proc_spec *spec, wn_proc **out, char **reason)
{
	*out = NULL;
	*reason = NULL;
	char *const *envp = spec->envp ? spec->envp : environ;
	int rc = WN_OK;
	int logfd = -1, nullfd = -1, err = 0, pipefd[2] = {-1, -1}, statusfd[2] = {-1, -1};
	char *path = proc_resolve(spec->argv[0], envp, spec->workdir, &err);
	if (path == NULL)
		return proc_resolve_error(spec->argv[0], err, reason);
	if (spec->log_path != NULL &&
	    (logfd = proc_open_log(spec->log_path, spec->log_root, reason)) < 0) {
		rc = WN_EIO;
		goto out;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0 ||
	    pipe2(statusfd, O_CLOEXEC | O_NONBLOCK) != 0) {
		*reason = wn_xasprintf("cannot start %s: %s", spec->argv[0], strerror(errno));
		rc = WN_EIO;
		goto out;
	}
	if (logfd < 0)
		logfd = dup(nullfd);

	pid_t parent = getpid();
	int deathsig = SIGRTMIN + 2;
	int maxfd = proc_max_fd();
	pid_t pid = fork();
	if (pid < 0) {
		*reason = wn_xasprintf("cannot start %s: fork: %s", spec->argv[0], strerror(errno));
		rc = WN_EIO;
		goto out;
	}
	if (pid == 0) {
		/* The guard: only async-signal-safe calls from here on. */
		proc_signals_default();
		close(statusfd[0]);
		close(pipefd[0]);
		proc_guard(parent, deathsig, spec->orphan_grace_ms, pipefd[1], statusfd[1], path,
		           spec->argv, envp, spec->workdir, nullfd, logfd, maxfd);
	}
	setpgid(pid, pid); /* also here, so that signals sent at once reach the group */
	close(pipefd[1]);
	pipefd[1] = -1;
	close(statusfd[1]);
	statusfd[1] = -1;
	proc_failure f = {0, 0};
	ssize_t got;
	do
		got = read(pipefd[0], &f, sizeof(f));
	while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof(f)) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = proc_exec_error(spec, &f, reason);
		goto out;
	}
	wn_proc *p = wn_xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->statusfd = statusfd[0];
	statusfd[0] = -1;
	*out = p;
out:
	free(path);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (statusfd[0] >= 0)
		close(statusfd[0]);
	if (statusfd[1] >= 0)
		close(statusfd[1]);
	return rc;
}

/* proc_reap cleans up after the leader exited: the rest of its group is
 * killed before the leader is reaped, so the group id cannot be reused yet. */
static void proc_reap(wn_proc *p)
{
	kill(-p->pid, SIGKILL);
	int guard = 0, cmd = 0;
	while (waitpid(p->pid, &guard, 0) < 0 && errno == EINTR)
		;
	/* The command's own status, if the guard lived to pass it on. */
	ssize_t got;
	do
		got = read(p->statusfd, &cmd, sizeof(cmd));
	while (got < 0 && errno == EINTR);
	p->status = got == (ssize_t)sizeof(cmd) ? cmd : guard;
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
		struct pollfd fds[2];
		nfds_t n = 0;
		int slice = -1;
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
		if (r > 0 && wake_fd >= 0 && (fds[n - 1].revents & POLLIN))
			return 0;
		if (deadline >= 0 && wn_mono_ms() >= deadline)
			return 0;
	}
}

void wn_proc_signal(wn_proc *p, int sig)
{
	if (!p->reaped)
		kill(-p->pid, sig);
}

int wn_proc_pid(const wn_proc *p)
{
	return (int)p->pid;
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
	close(p->statusfd);
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

char *wn_proc_tail(const char *path, size_t max)
{
	/* not waiting for a writer: a run may have put a FIFO at its log's path */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
