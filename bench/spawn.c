/* wnbench: the machine's own limit for starting commands, the yardstick of the
 * worker benchmark (bench/worker.sh): posix_spawn + waitpid of /bin/true in a
 * plain loop, on 1 and on 2 threads (or --threads), and how long the stamp command (--stamp,
 * bench/cmd/wnstamp.c) takes from its spawn to printing its stamp: the part of
 * the latency row's "command start" that is the command's own start. */
#include "bench.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_THREADS_MAX 16
#define SPAWN_STAMPS      50 /* samples of the stamp row */

typedef struct spawn_arg {
	int64_t n;
	int failed; /* errno of the first failure, or a nonzero exit */
} spawn_arg;

/* spawn_one starts argv[0] with stdout to fd (-1: inherited) and waits for it;
 * 0 when it exited 0, else an errno value or -1. */
static int spawn_one(char *const argv[], int fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_t *fap = NULL;
	if (fd >= 0) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
		fap = &fa;
	}
	pid_t pid;
	int rv = posix_spawn(&pid, argv[0], fap, NULL, argv, environ);
	if (fap != NULL)
		posix_spawn_file_actions_destroy(fap);
	if (rv != 0)
		return rv;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void *spawn_loop(void *p)
{
	spawn_arg *a = p;
	char *argv[] = {"/bin/true", NULL};
	for (int64_t i = 0; i < a->n && a->failed == 0; i++)
		a->failed = spawn_one(argv, -1);
	return NULL;
}

/* spawn_cpu_us returns the CPU time of this program and of its children it
 * waited for, microseconds. */
static int64_t spawn_cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return -1;
	return bench_self_us(NULL) + (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* spawn_rate runs n spawns of /bin/true over threads threads; spawns/s, or -1;
 * *cpu_ms gets the CPU time per spawn, the children's included. */
static double spawn_rate(int64_t n, int threads, double *cpu_ms)
{
	pthread_t tid[SPAWN_THREADS_MAX];
	spawn_arg arg[SPAWN_THREADS_MAX];
	int64_t c0 = spawn_cpu_us(), t0 = bench_now_ns();
	for (int i = 0; i < threads; i++) {
		arg[i] = (spawn_arg){.n = n / threads + (i < n % threads), .failed = 0};
		if (pthread_create(&tid[i], NULL, spawn_loop, &arg[i]) != 0) {
			fprintf(stderr, "wnbench: cannot start a thread\n");
			exit(1);
		}
	}
	int failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		if (arg[i].failed != 0)
			failed = arg[i].failed;
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	*cpu_ms = (double)(spawn_cpu_us() - c0) / 1e3 / (double)n;
	if (failed != 0) {
		fprintf(stderr, "wnbench: cannot run /bin/true: %s\n",
		        failed > 0 ? strerror(failed) : "it did not exit 0");
		return -1;
	}
	return (double)n / secs;
}

/* bench_realtime_ns returns the wall clock (the clock /bin/date prints), ns. */
static int64_t bench_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* spawn_stamp spawns the stamp command cmd with its output to a pipe; the time
 * from just before the spawn to the stamp it prints is added to l. 0 or -1. */
static int spawn_stamp(const char *cmd, bench_lat *l)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	char *argv[] = {(char *)cmd, NULL};
	int64_t t0 = bench_realtime_ns();
	int rv = spawn_one(argv, fds[1]);
	close(fds[1]);
	char buf[64];
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	int64_t stamp;
	if (rv != 0 || n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (wn_parse_i64(buf, 1, INT64_MAX, &stamp) != 0)
		return -1;
	bench_lat_add(l, stamp - t0);
	return 0;
}

int bench_spawn(const bench_opts *o)
{
	static const int two[] = {1, 2};
	const int *list = o->threads_set ? o->threads : two;
	size_t n = o->threads_set ? o->n_threads : WN_ARRAY_LEN(two);
	for (size_t i = 0; i < n; i++) {
		int threads = list[i] < SPAWN_THREADS_MAX ? list[i] : SPAWN_THREADS_MAX;
		double cpu_ms = 0;
		double rate = spawn_rate(o->spawn, threads, &cpu_ms);
		if (rate < 0)
			return -1;
		printf("spawn loop, %2d thread%s %8.0f spawns/s, %5.2f ms cpu each (%" PRId64
		       " of /bin/true)\n",
		       threads, threads == 1 ? ": " : "s:", rate, cpu_ms, o->spawn);
	}
	if (o->stamp_cmd == NULL)
		return 0;
	bench_lat lat = {0};
	for (int i = 0; i < SPAWN_STAMPS; i++) {
		if (spawn_stamp(o->stamp_cmd, &lat) != 0) {
			fprintf(stderr, "wnbench: %s printed no stamp\n", o->stamp_cmd);
			free(lat.us);
			return -1;
		}
	}
	qsort(lat.us, lat.n, sizeof(*lat.us), bench_cmp_u32);
	printf("spawn -> stamp of the command:     p50 %6.2f ms, p99 %6.2f ms (%zu spawns)\n",
	       bench_pct(lat.us, lat.n, 50), bench_pct(lat.us, lat.n, 99), lat.n);
	free(lat.us);
	return 0;
}
