/* Unit tests of devlock: the lock files of GPU devices that keep a new run
 * off a device that a run of a dead worker still holds. A "worker" is a
 * forked process that takes the locks, records a run and dies without
 * letting go; its "run" is a process group of its own that the test ends. */
#include "devlock.h"
#include "err.h"
#include "test.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct waits {
	int polls, stop_after, told;
	char what[256];
} waits;

static bool stop_after(void *arg)
{
	waits *w = arg;
	return ++w->polls >= w->stop_after;
}

static void waiting(void *arg, const char *what)
{
	waits *w = arg;
	w->told++;
	snprintf(w->what, sizeof(w->what), "%s", what);
}

/* take tries to take the locks of gpus, giving up after polls looks. */
static int take(const char *gpus, int polls, waits *w, wn_devlock **l)
{
	*w = (waits){.stop_after = polls};
	wn_devlock_wait dw = {.stop = stop_after, .waiting = waiting, .arg = w};
	char *why = NULL;
	int rv = wn_devlock_take("locks", gpus, &dw, l, &why);
	free(why);
	return rv;
}

/* start_run starts a process group whose leader waits for a signal (with
 * member, beside a second process that outlives it); returns its pgid. */
static pid_t start_run(bool member)
{
	int ready[2];
	CHECK(pipe(ready) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		if (member && fork() == 0) {
			sleep(60);
			_exit(0);
		}
		if (write(ready[1], "", 1) != 1) /* set up: its member runs */
			_exit(1);
		pause(); /* SIGUSR1 ends it */
		_exit(0);
	}
	setpgid(pid, pid);
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

/* dead_worker forks a worker that takes the locks of gpus, records run (its
 * command's environment carrying mark; 0: none) as their holder and dies
 * without letting go. */
static void dead_worker(const char *gpus, pid_t run, uint64_t mark)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		waits w;
		wn_devlock *l = NULL;
		if (take(gpus, 1, &w, &l) != WN_OK)
			_exit(1);
		char *why = NULL;
		if (wn_devlock_record(l, run, mark, &why) != WN_OK)
			_exit(1);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void end_run(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	waitpid(pgid, NULL, 0);
}

/* start_marked starts a process in a session of its own, as a daemon a run
 * left would be, with the mark WN_RUN=mark (16 hex digits) in its
 * environment; returns its pid once it has exec'd (it dies with this
 * process, should a check fail first). */
static pid_t start_marked(uint64_t mark)
{
	char var[48];
	snprintf(var, sizeof(var), "WN_RUN=%016" PRIx64, mark);
	char *envp[] = {"PATH=/usr/bin:/bin", var, NULL};
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execle("/bin/sleep", "sleep", "60", (char *)NULL, envp);
		_exit(127);
	}
	close(p[1]);
	char c;
	CHECK(read(p[0], &c, 1) == 0); /* closed by its exec */
	close(p[0]);
	return pid;
}

static void end_marked(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* started_at returns when process pid started (/proc/PID/stat, field 22). */
static unsigned long long started_at(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	CHECK(p != NULL);
	unsigned long long start = 0;
	CHECK(sscanf(p + 2,
	             "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	             "%*d %*d %llu",
	             &start) == 1);
	return start;
}

/* write_record writes text as the record of GPU 0's lock file. */
static void write_record(const char *text)
{
	mkdir("locks", 0755);
	FILE *f = fopen("locks/.wnworker-gpu-0.lock", "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

TEST(a_device_id_makes_one_file_name)
{
	char *p = wn_devlock_path("/d", "0");
	CHECK_EQ_STR(p, "/d/.wnworker-gpu-0.lock");
	free(p);
	p = wn_devlock_path("/d", "GPU-a/../b.c%");
	CHECK_EQ_STR(p, "/d/.wnworker-gpu-GPU-a%2F%2E%2E%2Fb%2Ec%25.lock");
	free(p);
}

TEST(a_device_free_of_records_is_taken_at_once_and_given_back)
{
	waits w;
	wn_devlock *l = NULL;
	CHECK_OK(take("0,1", 1, &w, &l));
	CHECK(l != NULL);
	CHECK_EQ_INT(w.told, 0);
	CHECK(access("locks/.wnworker-gpu-1.lock", F_OK) == 0); /* made with its directory */
	wn_devlock *other = NULL;
	/* held: another taker waits, and is told why */
	CHECK_EQ_INT(take("1", 3, &w, &other), WN_ESTATE);
	CHECK_EQ_INT(w.told, 1);
	CHECK(strstr(w.what, "GPU 1: another worker process on this machine holds it") != NULL);
	wn_devlock_release(l);
	CHECK_OK(take("1", 1, &w, &other));
	wn_devlock_release(other);
	/* no devices: nothing to take */
	CHECK_OK(take("", 1, &w, &l));
	CHECK(l == NULL);
}

TEST(a_dead_worker_s_run_keeps_its_devices_until_it_ends)
{
	pid_t run = start_run(false);
	dead_worker("0", run, 0);
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	CHECK_EQ_INT(w.told, 1);
	char want[128];
	snprintf(want, sizeof(want),
	         "GPU 0: a run of an earlier worker process (process group %d) still holds it",
	         (int)run);
	CHECK_EQ_STR(w.what, want);
	end_run(run);
	CHECK_OK(take("0", 1, &w, &l));
	CHECK_EQ_INT(w.told, 0);
	wn_devlock_release(l);
}

TEST(a_group_whose_leader_left_still_holds_its_devices)
{
	pid_t run = start_run(true);
	/* the record is made while the leader runs; then it leaves */
	dead_worker("0", run, 0);
	kill(run, SIGUSR1);
	CHECK_EQ_INT(waitpid(run, NULL, 0), run);
	CHECK(kill(-run, 0) == 0); /* its member still runs */
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	kill(-run, SIGKILL);
	for (int i = 0; i < 200 && kill(-run, 0) == 0; i++)
		usleep(10000); /* the member, reaped by init */
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
}

TEST(a_process_with_the_run_s_mark_holds_its_devices_after_the_group_is_gone)
{
	/* a daemon the run left in a session of its own, which the guard of
	 * the dead worker is still ending: found by the mark of the run */
	const uint64_t mark = 0x5eed0123456789abULL;
	pid_t run = start_run(false);
	pid_t daemon = start_marked(mark);
	pid_t other = start_marked(mark ^ 1); /* another run's: not waited for */
	dead_worker("0", run, mark);
	end_run(run);
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	char want[160];
	snprintf(want, sizeof(want),
	         "GPU 0: a run of an earlier worker process (process group %d) still holds it "
	         "through process %d, outside that group",
	         (int)run, (int)daemon);
	CHECK_EQ_STR(w.what, want);
	end_marked(daemon);
	CHECK_OK(take("0", 1, &w, &l));
	CHECK_EQ_INT(w.told, 0);
	wn_devlock_release(l);
	end_marked(other);
}

TEST(a_record_whose_leader_s_pid_was_given_again_still_waits_for_the_mark)
{
	/* the group is gone (its leader's pid now names this process, which
	 * started later than the record says), not what carries the mark */
	const uint64_t mark = 0xfeedface00c0ffeeULL;
	pid_t daemon = start_marked(mark);
	char rec[96];
	snprintf(rec, sizeof(rec), "%d 1 %016" PRIx64 "\n", (int)getpid(), mark);
	write_record(rec);
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	CHECK(strstr(w.what, "through process") != NULL);
	end_marked(daemon);
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
}

TEST(a_record_of_an_older_worker_names_its_group_alone)
{
	/* "PGID START", without a mark: the group is waited for, and nothing
	 * else once it is gone */
	const uint64_t mark = 0x0123456789abcdefULL;
	pid_t run = start_run(false);
	pid_t daemon = start_marked(mark);
	char rec[96];
	snprintf(rec, sizeof(rec), "%d %llu\n", (int)run, started_at(run));
	write_record(rec);
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	char want[128];
	snprintf(want, sizeof(want),
	         "GPU 0: a run of an earlier worker process (process group %d) still holds it",
	         (int)run);
	CHECK_EQ_STR(w.what, want);
	end_run(run);
	CHECK_OK(take("0", 1, &w, &l));
	CHECK_EQ_INT(w.told, 0);
	wn_devlock_release(l);
	end_marked(daemon);
}

TEST(a_long_wait_is_told_again)
{
	pid_t run = start_run(false);
	dead_worker("0", run, 0);
	waits w = {.stop_after = 12}; /* 12 looks, 50 ms apart */
	wn_devlock_wait dw = {.stop = stop_after, .waiting = waiting, .arg = &w, .retell_ms = 200};
	wn_devlock *l = NULL;
	char *why = NULL;
	CHECK_EQ_INT(wn_devlock_take("locks", "0", &dw, &l, &why), WN_ESTATE);
	CHECK(w.told >= 2); /* 550 ms at least: told at once, and again after 200 ms */
	char want[128];
	snprintf(want, sizeof(want),
	         "GPU 0: a run of an earlier worker process (process group %d) still holds it "
	         "(waiting ",
	         (int)run);
	CHECK(strncmp(w.what, want, strlen(want)) == 0);
	end_run(run);
}

TEST(a_run_whose_leader_is_a_zombie_holds_nothing)
{
	/* a leader that ended alone, not reaped yet (as under an init that
	 * does not reap): its group holds no device */
	pid_t run = start_run(false);
	dead_worker("0", run, 0);
	kill(run, SIGUSR1);
	siginfo_t si;
	CHECK(waitid(P_PID, (id_t)run, &si, WEXITED | WNOWAIT) == 0); /* a zombie now */
	waits w;
	wn_devlock *l = NULL;
	CHECK_OK(take("0", 1, &w, &l));
	CHECK_EQ_INT(w.told, 0);
	wn_devlock_release(l);
	waitpid(run, NULL, 0);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* main_exited tells whether the main thread of process pid has exited
 * while another runs on: /proc/PID/stat shows a zombie, with 2 threads. */
static bool main_exited(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	char state = 0;
	long threads = 0;
	return p != NULL &&
	       sscanf(p + 2,
	              "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld",
	              &state, &threads) == 2 &&
	       state == 'Z' && threads == 2;
}

/* start_headless_run starts a process group whose leader's main thread
 * exits while another of its threads runs on; returns its pgid once so. */
static pid_t start_headless_run(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		pthread_t t;
		if (pthread_create(&t, NULL, sleeper, NULL) != 0)
			_exit(1);
		pthread_exit(NULL);
	}
	setpgid(pid, pid);
	for (int i = 0; i < 500 && !main_exited(pid); i++)
		usleep(10000);
	CHECK(main_exited(pid));
	return pid;
}

/* start_headless_marked starts a process as start_marked does, whose main
 * thread exits while another runs on; returns its pid once so. */
static pid_t start_headless_marked(uint64_t mark)
{
	char var[48], path[4096];
	snprintf(var, sizeof(var), "WN_RUN=%016" PRIx64, mark);
	snprintf(path, sizeof(path), "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *envp[] = {path, var, NULL};
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execle("/bin/sh", "sh", "-c",
		       "exec python3 -c 'import ctypes, threading, time\n"
		       "threading.Thread(target=lambda: time.sleep(60)).start()\n"
		       "ctypes.CDLL(None).pthread_exit(None)'",
		       (char *)NULL, envp);
		_exit(127);
	}
	for (int i = 0; i < 1000 && !main_exited(pid); i++)
		usleep(10000);
	CHECK(main_exited(pid));
	return pid;
}

TEST(a_run_whose_main_thread_exited_while_another_runs_on_holds_its_devices)
{
	/* its leader, or a daemon with its mark, shows as a zombie: its other
	 * thread still holds the device */
	const uint64_t mark = 0x7e57ab1e00000001ULL;
	pid_t run = start_headless_run();
	dead_worker("0", run, mark);
	waits w;
	wn_devlock *l = NULL;
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	char want[128];
	snprintf(want, sizeof(want),
	         "GPU 0: a run of an earlier worker process (process group %d) still holds it",
	         (int)run);
	CHECK_EQ_STR(w.what, want);
	pid_t daemon = start_headless_marked(mark);
	end_run(run);
	CHECK_EQ_INT(take("0", 3, &w, &l), WN_ESTATE);
	CHECK(strstr(w.what, "through process") != NULL);
	end_marked(daemon);
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
}

TEST(a_worker_short_of_descriptors_waits_rather_than_take_a_device_a_run_may_hold)
{
	/* it cannot look through /proc: that tells nothing of the daemon with
	 * the run's mark */
	const uint64_t mark = 0x5107ab1e00000002ULL;
	pid_t run = start_run(false);
	pid_t daemon = start_marked(mark);
	dead_worker("0", run, mark);
	end_run(run);
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(lowest >= 0);
	close(lowest);
	struct rlimit was, room;
	CHECK(getrlimit(RLIMIT_NOFILE, &was) == 0);
	room = was;
	room.rlim_cur = (rlim_t)lowest + 1; /* the lock file's, and no other */
	CHECK(setrlimit(RLIMIT_NOFILE, &room) == 0);
	waits w;
	wn_devlock *l = NULL;
	int rv = take("0", 3, &w, &l);
	CHECK(setrlimit(RLIMIT_NOFILE, &was) == 0);
	CHECK_EQ_INT(rv, WN_ESTATE);
	char want[160];
	snprintf(want, sizeof(want),
	         "GPU 0: cannot tell whether a run of an earlier worker process (process group %d) "
	         "still holds it: this worker is short of descriptors or memory to look",
	         (int)run);
	CHECK_EQ_STR(w.what, want);
	end_marked(daemon);
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
}

TEST(a_run_a_worker_short_of_descriptors_cannot_record_is_told_of)
{
	/* when it started cannot be read: not a run already over, which needs
	 * no record */
	pid_t run = start_run(false);
	waits w;
	wn_devlock *l = NULL;
	CHECK_OK(take("0", 1, &w, &l));
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(lowest >= 0);
	close(lowest);
	struct rlimit was, none;
	CHECK(getrlimit(RLIMIT_NOFILE, &was) == 0);
	none = was;
	none.rlim_cur = (rlim_t)lowest;
	CHECK(setrlimit(RLIMIT_NOFILE, &none) == 0);
	char *why = NULL;
	int rv = wn_devlock_record(l, run, 0x5107ab1e00000003ULL, &why);
	CHECK(setrlimit(RLIMIT_NOFILE, &was) == 0);
	CHECK_EQ_INT(rv, WN_EIO);
	CHECK_EQ_STR(why, "cannot record the run in the lock file of its GPUs: cannot read when "
	                  "it started: Too many open files");
	free(why);
	wn_devlock_release(l);
	end_run(run);
}

TEST(a_stale_or_unreadable_record_does_not_hold_a_device)
{
	/* this very process, but not started when the record says: its pid
	 * was given again, so the recorded group is gone (and a mark that is
	 * not one is none) */
	char rec[64], rec2[64];
	snprintf(rec, sizeof(rec), "%d 1\n", (int)getpid());
	snprintf(rec2, sizeof(rec2), "%d 1 zz\n", (int)getpid());
	const char *texts[] = {rec, rec2, "junk", "1 5\n", "-7 5\n", "99999999999 5\n", ""};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		write_record(texts[i]);
		waits w;
		wn_devlock *l = NULL;
		CHECK_OK(take("0", 1, &w, &l));
		CHECK_EQ_INT(w.told, 0);
		wn_devlock_release(l);
	}
}

TEST(a_lock_file_that_is_a_link_is_refused)
{
	mkdir("locks", 0755);
	CHECK(symlink("/etc/passwd", "locks/.wnworker-gpu-0.lock") == 0);
	char *why = NULL;
	char *ids[] = {"1", "0"};
	CHECK_EQ_INT(wn_devlock_check("locks", ids, 2, &why), WN_EIO);
	CHECK(why != NULL && strstr(why, "cannot open the lock file of GPU 0") != NULL);
	free(why);
	waits w;
	wn_devlock *l = NULL;
	CHECK(symlink("/etc/passwd", "locks/.wnworker-gpu-9.lock") == 0);
	CHECK_EQ_INT(take("9,1", 1, &w, &l), WN_EIO);
	CHECK(l == NULL);
	/* GPU 1, taken first, was let go */
	CHECK_OK(take("1", 1, &w, &l));
	wn_devlock_release(l);
}

/* lock1_free_when_polled: a stop callback that notes whether the lock of GPU
 * 1 could be taken by another worker at each look. */
typedef struct lock1_probe {
	int polls, held;
} lock1_probe;

static bool lock1_free_when_polled(void *arg)
{
	lock1_probe *p = arg;
	int fd = open("locks/.wnworker-gpu-1.lock", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
		p->held++;
	if (fd >= 0)
		close(fd);
	return ++p->polls >= 3;
}

TEST(devices_are_taken_in_one_order_whatever_order_a_job_lists_them)
{
	/* A worker that lists its devices as 1,0 and one that lists them as
	 * 0,1 must not each hold one while waiting for the other's. */
	waits w;
	wn_devlock *l0 = NULL, *l = NULL;
	CHECK_OK(take("0", 1, &w, &l0));
	lock1_probe p = {0};
	wn_devlock_wait dw = {.stop = lock1_free_when_polled, .arg = &p};
	char *why = NULL;
	CHECK_EQ_INT(wn_devlock_take("locks", "1,0", &dw, &l, &why), WN_ESTATE);
	free(why);
	CHECK_EQ_INT(p.polls, 3);
	CHECK_EQ_INT(p.held, 0); /* it waited for 0 before it took 1 */
	wn_devlock_release(l0);
	CHECK_OK(take("1,0", 1, &w, &l));
	wn_devlock_release(l);
}

TEST(only_the_worker_s_user_may_use_a_lock_file)
{
	mkdir("locks", 0755);
	struct stat st;
	waits w;
	wn_devlock *l = NULL;
	/* made for its owner alone: a read is enough to take a lock */
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
	CHECK(stat("locks/.wnworker-gpu-0.lock", &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	/* one others could use is made the owner's alone */
	CHECK(chmod("locks/.wnworker-gpu-0.lock", 0666) == 0);
	CHECK_OK(take("0", 1, &w, &l));
	wn_devlock_release(l);
	CHECK(stat("locks/.wnworker-gpu-0.lock", &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	/* a FIFO keeps no record */
	CHECK(mkfifo("locks/.wnworker-gpu-1.lock", 0600) == 0);
	char *why = NULL;
	char *ids[] = {"1"};
	CHECK_EQ_INT(wn_devlock_check("locks", ids, 1, &why), WN_EIO);
	CHECK(why != NULL && strstr(why, "not a regular file") != NULL);
	free(why);
	if (geteuid() != 0)
		return; /* a file of another user can be made by root only */
	int fd = open("locks/.wnworker-gpu-2.lock", O_CREAT | O_WRONLY, 0666);
	CHECK(fd >= 0);
	CHECK(fchown(fd, 65534, 65534) == 0 && fchmod(fd, 0666) == 0);
	close(fd);
	ids[0] = "2";
	CHECK_EQ_INT(wn_devlock_check("locks", ids, 1, &why), WN_EIO);
	CHECK(why != NULL && strstr(why, "owned by another user") != NULL);
	free(why);
}

TEST(a_lock_file_keeps_room_for_its_record)
{
	/* The record is written once the run started, maybe on a disk full by
	 * then: its room is taken when the lock file is opened (at the start of
	 * the worker), and neither a record nor its clearing gives it back. */
	char *why = NULL;
	char *ids[] = {"0"};
	CHECK_OK(wn_devlock_check("locks", ids, 1, &why));
	struct stat st;
	CHECK(stat("locks/.wnworker-gpu-0.lock", &st) == 0);
	CHECK(st.st_blocks > 0);
	pid_t run = start_run(false);
	waits w;
	wn_devlock *l = NULL;
	CHECK_OK(take("0", 1, &w, &l));
	CHECK_OK(wn_devlock_record(l, run, 0x1234, &why));
	wn_devlock_release(l);
	end_run(run);
	CHECK(stat("locks/.wnworker-gpu-0.lock", &st) == 0);
	CHECK(st.st_blocks > 0);
	CHECK_OK(take("0", 1, &w, &l)); /* a blank record holds nothing */
	CHECK_EQ_INT(w.told, 0);
	wn_devlock_release(l);
}

TEST_MAIN()
