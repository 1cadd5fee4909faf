/* Unit tests of proc: starting a command (its status, group, descriptors,
 * signals, and why it could not start), the guard that ends the command's
 * group when the worker is killed (even when the guard itself was killed
 * before), and the reading of a run's log for its output tail (wn_proc_tail):
 * the last bytes of a regular file, and nothing, at once, of anything else a
 * run may have put at its log's path; and the reads of an ended run's files
 * (its tail, the rest of its output, its results) by a worker out of
 * descriptors, which wait for one. */
#include "outship.h"
#include "proc.h"
#include "proc_guard.h"
#include "resultfile.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* write_pid writes pid, a line, into path. */
static void write_pid(const char *path, pid_t pid)
{
	char line[32];
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	write_file(path, line);
}

TEST(the_tail_of_a_log_is_its_last_lines)
{
	write_file("run.log", "first line\nsecond line\nthird\n");
	char *t = wn_proc_tail("run.log", 100);
	CHECK_EQ_STR(t, "first line\nsecond line\nthird\n");
	free(t);
	t = wn_proc_tail("run.log", 12); /* the cut first line is dropped */
	CHECK_EQ_STR(t, "third\n");
	free(t);
	t = wn_proc_tail("missing.log", 100);
	CHECK_EQ_STR(t, "");
	free(t);
}

/* A run knows its log's path (beside $WN_RESULTS) and may replace the log
 * with a FIFO no one writes: reading its tail must not wait for a writer
 * (the job's runner waited for ever, the job RUNNING with its slot held). */
TEST(a_log_replaced_by_a_fifo_or_a_directory_has_no_tail)
{
	CHECK(mkfifo("fifo.log", 0600) == 0);
	alarm(20); /* a read that waits for a writer ends the case */
	char *t = wn_proc_tail("fifo.log", 100);
	alarm(0);
	CHECK_EQ_STR(t, "");
	free(t);
	CHECK(mkdir("dir.log", 0700) == 0);
	t = wn_proc_tail("dir.log", 100);
	CHECK_EQ_STR(t, "");
	free(t);
}

/* ---- starting a command ---- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* read_pid waits (up to 10 s) for the file path to hold a pid. */
static pid_t read_pid(const char *path)
{
	for (int i = 0; i < 1000; i++) {
		char *t = read_file(path);
		long pid = t != NULL ? strtol(t, NULL, 10) : 0;
		size_t len = t != NULL ? strlen(t) : 0;
		free(t);
		if (pid > 0 && len > 0)
			return (pid_t)pid;
		pause_ms(10);
	}
	return -1;
}

/* gone: process pid has ended (a zombie no one reaped yet counts as ended). */
static bool gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *t = read_file(path);
	if (t == NULL)
		return true;
	const char *end = strrchr(t, ')');
	bool zombie = end != NULL && end[1] == ' ' && end[2] == 'Z';
	free(t);
	return zombie;
}

static bool wait_gone(pid_t pid, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (gone(pid))
			return true;
		pause_ms(10);
	}
	return gone(pid);
}

static int start(char *const *argv, const char *workdir, const char *log, wn_proc **p,
                 char **reason)
{
	wn_proc_spec spec = {
	    .argv = argv, .workdir = workdir, .log_path = log, .orphan_grace_ms = 300};
	return wn_proc_start(&spec, p, reason);
}

static void run_to_end(wn_proc *p, int *code, int *sig)
{
	CHECK_EQ_INT(wn_proc_wait(p, -1, 20000), 1);
	wn_proc_status(p, code, sig);
}

TEST(a_command_ends_with_its_exit_status_or_signal)
{
	char *const exit3[] = {"sh", "-c", "exit 3", NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(start(exit3, NULL, NULL, &p, &reason));
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 3);
	CHECK_EQ_INT(sig, 0);
	wn_proc_free(p);

	char *const sleeper[] = {"sleep", "600", NULL};
	CHECK_OK(start(sleeper, NULL, NULL, &p, &reason));
	CHECK_EQ_INT(getpgid(wn_proc_pid(p)), wn_proc_pid(p)); /* it leads its own group */
	CHECK_EQ_INT(wn_proc_wait(p, -1, 50), 0);
	wn_proc_signal(p, SIGTERM);
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 128 + SIGTERM);
	CHECK_EQ_INT(sig, SIGTERM);
	wn_proc_free(p);
}

TEST(a_command_that_cannot_start_says_why)
{
	wn_proc *p = NULL;
	char *reason = NULL;
	char *const missing[] = {"no-such-program-here", NULL};
	CHECK_EQ_INT(start(missing, NULL, NULL, &p, &reason), WN_ENOTFOUND);
	CHECK_EQ_STR(reason, "cannot start no-such-program-here: not found in PATH");
	CHECK(p == NULL);
	free(reason);

	write_file("plain.txt", "not a program\n");
	CHECK(chmod("plain.txt", 0644) == 0);
	char *const plain[] = {"./plain.txt", NULL};
	CHECK_EQ_INT(start(plain, NULL, NULL, &p, &reason), WN_EPERM);
	CHECK(strstr(reason, "cannot start ./plain.txt: not executable") == reason);
	free(reason);

	/* executable, but no program the kernel knows: found only at exec */
	CHECK(chmod("plain.txt", 0755) == 0);
	CHECK_EQ_INT(start(plain, NULL, NULL, &p, &reason), WN_EPERM);
	CHECK_EQ_STR(reason, "cannot start ./plain.txt: not executable (Exec format error)");
	free(reason);

	char *const t[] = {"/bin/true", NULL};
	CHECK_EQ_INT(start(t, "no-such-dir", NULL, &p, &reason), WN_EIO);
	CHECK_EQ_STR(reason, "cannot change to directory no-such-dir: No such file or directory");
	free(reason);
}

/* The command gets /dev/null for stdin, the log for stdout and stderr, no
 * other descriptor of the worker's, no ignored or blocked signal. */
TEST(a_command_gets_the_log_and_nothing_else_of_the_worker)
{
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */
	CHECK(leak >= 0);
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	void (*prev)(int) = signal(SIGPIPE, SIG_IGN);
	char *const argv[] = {"sh", "-c",
	                      "cat; ls /proc/self/fd; grep -E '^Sig(Blk|Ign)' /proc/self/status; "
	                      "echo to stderr >&2",
	                      NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	int rc = start(argv, NULL, "logs/run.log", &p, &reason);
	signal(SIGPIPE, prev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(leak);
	CHECK_OK(rc);
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	wn_proc_free(p);
	char *log = read_file("logs/run.log");
	CHECK_EQ_STR(log, "0\n1\n2\n3\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
	                  "to stderr\n");
	free(log);
}

TEST(what_a_command_leaves_in_its_group_is_killed_when_it_ends)
{
	char *const argv[] = {"sh", "-c", "sleep 600 & echo $! > bg.pid", NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(start(argv, NULL, NULL, &p, &reason));
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	pid_t bg = read_pid("bg.pid");
	CHECK(bg > 0);
	CHECK(wait_gone(bg, 5000));
	wn_proc_free(p);
}

TEST(a_command_of_a_worker_run_by_another_s_command_keeps_that_one_s_mark)
{
	/* after its own: the end of the outer command ends it too */
	char path[4096];
	snprintf(path, sizeof(path), "PATH=%s", getenv("PATH"));
	char *envp[] = {path, "WN_RUN=00112233445566ff", "WN_RUN=not-a-mark", NULL};
	char *const argv[] = {"sh", "-c", "printf '%s' \"$WN_RUN\" > run.txt", NULL};
	wn_proc_spec spec = {.argv = argv, .envp = envp, .orphan_grace_ms = 300};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(wn_proc_start(&spec, &p, &reason));
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	char *run = read_file("run.txt");
	CHECK(run != NULL);
	CHECK_EQ_INT((int)strspn(run, "0123456789abcdef"), 16); /* its own */
	CHECK_EQ_STR(strchr(run, ','), ",00112233445566ff");
	free(run);
	wn_proc_free(p);
}

/* threads_gone: no thread of process pid runs (one whose main thread exited
 * while others run on shows as a zombie in /proc/PID/stat). */
static bool threads_gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *t = read_file(path);
	if (t == NULL)
		return true;
	const char *n = strstr(t, "\nThreads:");
	long threads = n != NULL ? strtol(n + 9, NULL, 10) : 0;
	free(t);
	return threads <= 1 && gone(pid);
}

TEST(a_daemon_whose_main_thread_exited_is_ended_with_its_command)
{
	/* it left the command's group; its main thread exited while another
	 * runs on: it shows as a zombie, and its environment is read through
	 * the thread that runs */
	char *const argv[] = {
	    "sh", "-c",
	    "python3 -c '\n"
	    "import ctypes, os, signal, threading, time\n"
	    "os.setpgid(0, 0)\n"
	    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
	    "threading.Thread(target=lambda: time.sleep(600)).start()\n"
	    "open(\"d.tmp\", \"w\").write(str(os.getpid()))\n"
	    "os.rename(\"d.tmp\", \"d.pid\")\n"
	    "ctypes.CDLL(None).pthread_exit(None)' &\n"
	    "while [ ! -s d.pid ]; do sleep 0.05; done\n"
	    "until [ \"$(cut -d' ' -f3 /proc/$(cat d.pid)/stat)\" = Z ]; do sleep 0.05; done",
	    NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(start(argv, NULL, NULL, &p, &reason));
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	pid_t daemon = read_pid("d.pid");
	CHECK(daemon > 0);
	bool ended = threads_gone(daemon);
	if (!ended)
		kill(daemon, SIGKILL);
	CHECK(ended);
	wn_proc_free(p);
}

/* ---- the guard: a worker killed at any moment leaves nothing running ---- */

/* as_worker runs body in a forked "worker" that then waits to be killed;
 * returns its pid once body has written ready. */
static pid_t as_worker(void (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		body();
		write_file("ready", "1\n");
		for (;;)
			pause();
	}
	CHECK(pid > 0);
	CHECK(read_pid("ready") == 1);
	return pid;
}

static void kill_worker(pid_t pid)
{
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, NULL, 0) == pid);
}

/* Two commands, each with a background child: one ends on SIGTERM, one
 * ignores it (and so does its child: the guard's SIGKILL ends them). */
static void worker_two_commands(void)
{
	char *const polite[] = {"sh", "-c",
	                        "sleep 600 & echo $! > bg1.pid; echo $$ > cmd1.pid; wait", NULL};
	char *const stubborn[] = {
	    "sh", "-c", "trap '' TERM; sleep 600 & echo $! > bg2.pid; echo $$ > cmd2.pid; wait",
	    NULL};
	wn_proc *p1 = NULL, *p2 = NULL;
	char *reason = NULL;
	if (start(polite, NULL, NULL, &p1, &reason) != WN_OK ||
	    start(stubborn, NULL, NULL, &p2, &reason) != WN_OK)
		_exit(1);
	read_pid("bg1.pid");
	read_pid("bg2.pid");
	write_pid("guard.pid", wn_proc_guard_pid());
}

TEST(the_guard_ends_every_group_of_a_killed_worker)
{
	pid_t w = as_worker(worker_two_commands);
	pid_t guard = read_pid("guard.pid");
	CHECK(guard > 0);
	CHECK_EQ_INT(getpgid(guard), guard); /* a kill of the worker's group spares it */
	pid_t pids[] = {read_pid("cmd1.pid"), read_pid("bg1.pid"), read_pid("cmd2.pid"),
	                read_pid("bg2.pid")};
	for (int i = 0; i < 4; i++)
		CHECK(pids[i] > 0 && !gone(pids[i]));
	kill_worker(w);
	for (int i = 0; i < 4; i++)
		CHECK(wait_gone(pids[i], 10000));
	CHECK(wait_gone(guard, 10000));
}

/* start_command_with_a_child (in a worker made by as_worker) starts a shell
 * that backgrounds a sleep and waits, and returns it once its pid is in
 * cmd.pid and the sleep's in bg.pid; exits the worker if it cannot start. */
static wn_proc *start_command_with_a_child(void)
{
	char *const argv[] = {"sh", "-c", "sleep 600 & echo $! > bg.pid; echo $$ > cmd.pid; wait",
	                      NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	if (start(argv, NULL, NULL, &p, &reason) != WN_OK)
		_exit(1);
	read_pid("bg.pid");
	read_pid("cmd.pid");
	return p;
}

/* A process that holds a copy of the worker's descriptors (a fork that did
 * not exec) keeps the guard's socket open: the parent-death signal still
 * tells the guard that the worker is gone. */
static void worker_with_a_fork_holding_its_socket(void)
{
	start_command_with_a_child();
	pid_t holder = fork();
	if (holder == 0)
		for (;;)
			pause();
	write_pid("holder.pid", holder);
	write_pid("guard.pid", wn_proc_guard_pid());
}

TEST(the_guard_hears_of_a_killed_worker_whose_socket_another_process_holds)
{
	pid_t w = as_worker(worker_with_a_fork_holding_its_socket);
	pid_t holder = read_pid("holder.pid"), guard = read_pid("guard.pid");
	pid_t cmd = read_pid("cmd.pid"), bg = read_pid("bg.pid");
	CHECK(holder > 0 && guard > 0 && cmd > 0 && bg > 0);
	kill_worker(w);
	bool ended = wait_gone(cmd, 10000) && wait_gone(bg, 10000) && wait_gone(guard, 10000);
	kill(holder, SIGKILL);
	CHECK(ended);
}

/* The guard is killed while a command runs: the worker starts another, which
 * ends the command when the worker is killed in turn. */
static void worker_loses_its_guard(void)
{
	wn_proc *p = start_command_with_a_child();
	pid_t first = wn_proc_guard_pid();
	kill(first, SIGKILL);
	/* The command's waiter notices, as the agent's would. */
	for (int i = 0; i < 500 && (wn_proc_guard_pid() == first || wn_proc_guard_pid() < 0); i++)
		wn_proc_wait(p, -1, 20);
	write_pid("guard1.pid", first);
	write_pid("guard2.pid", wn_proc_guard_pid());
}

/* second_guard_ends_the_groups checks, after worker_loses_its_guard ran in
 * worker w, that a second guard took over, and that killing w ends the
 * command, its background child and that guard. */
static void second_guard_ends_the_groups(pid_t w)
{
	pid_t first = read_pid("guard1.pid"), second = read_pid("guard2.pid");
	CHECK(first > 0 && second > 0 && first != second);
	pid_t cmd = read_pid("cmd.pid"), bg = read_pid("bg.pid");
	CHECK(!gone(cmd) && !gone(bg));
	kill_worker(w);
	CHECK(wait_gone(cmd, 10000));
	CHECK(wait_gone(bg, 10000));
	CHECK(wait_gone(second, 10000));
}

TEST(a_killed_guard_is_replaced_and_still_ends_the_groups)
{
	second_guard_ends_the_groups(as_worker(worker_loses_its_guard));
}

/* no_pidfd makes pidfd_open fail with ENOSYS in this process and its
 * children, as on a kernel without it (before 5.3). */
static int no_pidfd(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void worker_without_pidfd(void)
{
	if (no_pidfd() != 0 || syscall(SYS_pidfd_open, getpid(), 0) >= 0 || errno != ENOSYS)
		_exit(2);
	char *const exit5[] = {"sh", "-c", "exit 5", NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	int code = -1, sig = -1;
	if (start(exit5, NULL, NULL, &p, &reason) != WN_OK || wn_proc_wait(p, -1, 20000) != 1)
		_exit(3);
	wn_proc_status(p, &code, &sig);
	wn_proc_free(p);
	if (code != 5 || sig != 0)
		_exit(4);
	worker_loses_its_guard();
}

TEST(without_pidfd_open_commands_and_the_guard_are_watched_all_the_same)
{
	second_guard_ends_the_groups(as_worker(worker_without_pidfd));
}

TEST(a_start_after_the_guard_died_starts_another_guard_first)
{
	char *const t[] = {"/bin/true", NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(start(t, NULL, NULL, &p, &reason));
	wn_proc_free(p);
	pid_t first = wn_proc_guard_pid();
	CHECK(first > 0);
	CHECK(kill(first, SIGKILL) == 0);
	CHECK(wait_gone(first, 5000));
	CHECK_OK(start(t, NULL, NULL, &p, &reason));
	pid_t second = wn_proc_guard_pid();
	CHECK(second > 0 && second != first);
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	wn_proc_free(p);
}

/* Descriptors held by other slots, given back a little later. */
typedef struct fd_hog {
	int fds[64];
	int n;
	int ms; /* held this long; 0: 300 ms */
} fd_hog;

static void *fd_hog_release(void *arg)
{
	fd_hog *h = arg;
	pause_ms(h->ms > 0 ? h->ms : 300);
	for (int i = 0; i < h->n; i++)
		close(h->fds[i]);
	return NULL;
}

/* Out of descriptors for a moment (ulimit -n): the start waits for some
 * rather than fail the job, and the command runs with nothing left open. */
TEST(short_of_descriptors_a_start_waits_for_some)
{
	char *const t[] = {"sh", "-c", "ls /proc/self/fd", NULL};
	wn_proc *p = NULL;
	char *reason = NULL;
	CHECK_OK(start(t, NULL, NULL, &p, &reason)); /* the guard runs */
	wn_proc_free(p);
	struct rlimit old, low;
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	fd_hog h = {.n = 0};
	while (h.n < 64 && (h.fds[h.n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		h.n++;
	pthread_t releaser;
	CHECK(pthread_create(&releaser, NULL, fd_hog_release, &h) == 0);
	int rc = start(t, NULL, "run.log", &p, &reason);
	pthread_join(releaser, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK_OK(rc);
	int code, sig;
	run_to_end(p, &code, &sig);
	CHECK_EQ_INT(code, 0);
	wn_proc_free(p);
	char *log = read_file("run.log");
	CHECK_EQ_STR(log, "0\n1\n2\n3\n");
	free(log);
}

/* hog_all holds every descriptor a limit of 64 leaves (the other slots'),
 * given back h->ms later (0: 300 ms) by the thread *releaser; old gets the
 * limit to restore. */
static void hog_all(fd_hog *h, pthread_t *releaser, struct rlimit *old)
{
	CHECK(getrlimit(RLIMIT_NOFILE, old) == 0);
	struct rlimit low = *old;
	low.rlim_cur = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	h->n = 0;
	while (h->n < 64 && (h->fds[h->n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		h->n++;
	CHECK(open("/dev/null", O_RDONLY | O_CLOEXEC) < 0 && errno == EMFILE);
	CHECK(pthread_create(releaser, NULL, fd_hog_release, h) == 0);
}

/* Out of descriptors when a run ends, the worker waits for one to read the
 * tail of its log: the result does not go without the output the run wrote. */
TEST(short_of_descriptors_a_tail_waits_for_one)
{
	write_file("run.log", "the end of the run\n");
	fd_hog h = {.ms = 0};
	pthread_t releaser;
	struct rlimit old;
	hog_all(&h, &releaser, &old);
	char *t = wn_proc_tail("run.log", 100);
	pthread_join(releaser, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK_EQ_STR(t, "the end of the run\n");
	free(t);
}

/* ... and to ship the rest of its output to the server. */
TEST(short_of_descriptors_the_rest_of_the_output_waits_for_one)
{
	write_file("run.log", "all of it\n");
	wn_outship *o = wn_outship_new("run.log");
	fd_hog h = {.ms = 0};
	pthread_t releaser;
	struct rlimit old;
	hog_all(&h, &releaser, &old);
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	size_t got = wn_outship_fill(o, &pg, 1024, WN_OUTSHIP_FINAL | WN_OUTSHIP_TAIL);
	pthread_join(releaser, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK_EQ_INT((int)got, 10);
	CHECK(pg.output.len == 10 && memcmp(pg.output.data, "all of it\n", 10) == 0);
	wn_outship_done(o, &pg, true);
	wn_outship_unref(o);
}

/* ... and to read what it reported in its results file, however long the
 * other slots hold theirs (a job that succeeded failed after 10 s with
 * "results file ...: cannot open it: Too many open files"). */
TEST(short_of_descriptors_the_last_read_of_the_results_waits_for_one)
{
	write_file("run.results", "{\"loss\": 0.5}\n");
	wn_resultfile *r = wn_resultfile_new("run.results");
	fd_hog h = {.ms = 11000};
	pthread_t releaser;
	struct rlimit old;
	hog_all(&h, &releaser, &old);
	char *why = NULL;
	int rc = wn_resultfile_read(r, true, &why);
	pthread_join(releaser, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK_EQ_STR(why ? why : "", "");
	CHECK_OK(rc);
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	CHECK_OK(wn_resultfile_fill(r, &pg, true, &why));
	CHECK(pg.n_results == 1 && strcmp(pg.results[0]->key, "loss") == 0);
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
}

/* A log file that is refused fails the start at once, whatever its path
 * says: only the error of the open (EMFILE, ENFILE) makes a start wait for
 * descriptors, not words in the reason such as a directory named after it. */
TEST(a_refused_log_file_fails_the_start_at_once)
{
	const char *dir = "Too many open files";
	CHECK(mkdir("real", 0755) == 0);
	CHECK(symlink("real", dir) == 0);
	char *const t[] = {"/bin/true", NULL};
	char root[2048], log[4096];
	CHECK(getcwd(root, sizeof(root)) != NULL);
	snprintf(log, sizeof(log), "%s/%s/run.log", root, dir);
	wn_proc_spec spec = {.argv = t, .log_path = log, .log_root = root};
	wn_proc *p = NULL;
	char *reason = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(wn_proc_start(&spec, &p, &reason), WN_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(p == NULL);
	CHECK(strstr(reason, "it is a symbolic link") != NULL);
	/* the wait for descriptors lasts 10 s; a refusal does not wait */
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	free(reason);
	CHECK(access("real/run.log", F_OK) != 0);
}

TEST_MAIN()
