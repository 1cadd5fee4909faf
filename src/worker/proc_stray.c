/* proc_stray: processes of a command that left its process group (proc_stray.h). */
#include "proc_stray.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

char *wn_proc_stray_mark(void)
{
	return wn_xasprintf("%s=%016llx", WN_PROC_STRAY_VAR, (unsigned long long)wn_random_u64());
}

/* stray_entries looks for the entry mark (n bytes) among the whole entries
 * of buf (have bytes); *start gets where a cut last one begins. */
static bool stray_entries(const char *buf, size_t have, const char *mark, size_t n, size_t *start)
{
	*start = 0;
	for (size_t i = 0; i < have; i++) {
		if (buf[i] != '\0')
			continue;
		if (i - *start == n && memcmp(buf + *start, mark, n) == 0)
			return true;
		*start = i + 1;
	}
	return false;
}

/* stray_has reads the environment of process pid (buf: cap bytes to read it
 * with) and tells whether it holds the entry mark (n bytes). An entry longer
 * than cap is skipped. */
static bool stray_has(long pid, const char *mark, size_t n, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false; /* gone, or another user's */
	size_t have = 0, start;
	bool found = false, skipping = false;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size_t from = have;
		have += (size_t)r;
		if (skipping) { /* the rest of an entry too long to be the mark */
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
		if ((found = stray_entries(buf, have, mark, n, &start)))
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == cap) {
			have = 0;
			skipping = true;
		}
	}
	if (!found && !skipping && have == n && memcmp(buf, mark, n) == 0)
		found = true; /* the last entry, without its NUL */
	close(fd);
	return found;
}

/* stray_walk signals (sig) every process but this one whose environment
 * holds mark; returns how many. The process is held by a pidfd before its
 * environment is read, so that a pid given to another process meanwhile is
 * never signalled. */
static int stray_walk(const char *mark, int sig)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	size_t n = strlen(mark), cap = 65536;
	char *buf = wn_xmalloc(cap);
	pid_t self = getpid();
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || *end != '\0' || pid == self)
			continue;
		int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pidfd < 0 && errno == ESRCH)
			continue; /* gone */
		if (stray_has(pid, mark, n, buf, cap)) {
			count++;
			if (pidfd >= 0)
				syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
			else
				kill((pid_t)pid, sig); /* no pidfd here */
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	closedir(d);
	free(buf);
	return count;
}

int wn_proc_stray_signal(const char *mark, int sig)
{
	return stray_walk(mark, sig);
}

int wn_proc_stray_end(const char *mark, int timeout_ms)
{
	int64_t deadline = wn_mono_ms() + timeout_ms;
	long pause_ms = 5;
	for (;;) {
		int left = stray_walk(mark, SIGKILL);
		if (left == 0 || wn_mono_ms() >= deadline)
			return left;
		struct timespec ts = {0, pause_ms * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (pause_ms < 100)
			pause_ms *= 2;
	}
}
