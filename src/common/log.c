#include "log.h"

#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* How long a line waits for stderr to take it (a pipe whose reader is
 * behind) before it is dropped: a program must not stop, its locks held,
 * for a log nobody reads. */
#define LOG_WAIT_MS 20

static int log_level = WN_LOG_INFO;
static const char *log_prefix = "wn";
static const char *const log_names[] = {"error", "warn", "info", "debug"};
/* Lines dropped since the last one written. */
static atomic_ulong log_dropped;

void wn_log_set_level(int level)
{
	log_level = level;
}

int wn_log_get_level(void)
{
	return log_level;
}

int wn_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

void wn_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

/* log_escape copies line to out (room for 4 bytes per byte of line), each
 * control character written as \n, \r or \xNN: a value a line quotes (a
 * job's parameter, a name) cannot start another line nor reach a terminal
 * as an escape sequence. */
static void log_escape(const char *line, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			*out++ = (char)*p;
			continue;
		}
		*out++ = '\\';
		if (*p == '\n' || *p == '\r') {
			*out++ = *p == '\n' ? 'n' : 'r';
			continue;
		}
		*out++ = 'x';
		*out++ = hex[*p >> 4];
		*out++ = hex[*p & 15];
	}
	*out = '\0';
}

/* log_head writes the start of a line at level (time, program, level) to
 * buf and returns its length, as snprintf does. */
static int log_head(char *buf, size_t len, int level)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                (int)(tv.tv_usec / 1000), log_prefix,
	                log_names[level < 0   ? 0
	                          : level > 3 ? 3
	                                      : level]);
}

/* log_room tells whether stderr takes a line now, or within LOG_WAIT_MS:
 * a pipe whose reader stopped reading does not. */
static bool log_room(void)
{
	struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};
	return poll(&p, 1, LOG_WAIT_MS) > 0 && (p.revents & POLLOUT) != 0;
}

/* log_write writes line out to stderr, first saying how many lines went
 * before it unwritten; when stderr takes nothing, out is counted as dropped
 * instead. */
static void log_write(const char *out)
{
	if (!log_room()) {
		atomic_fetch_add(&log_dropped, 1);
		return;
	}
	unsigned long lost = atomic_exchange(&log_dropped, 0);
	if (lost > 0) {
		char head[128];
		log_head(head, sizeof(head), WN_LOG_WARN);
		fprintf(stderr,
		        "%s%lu log line%s dropped before this one: stderr took nothing for %d ms "
		        "(a pipe that is not read?)\n",
		        head, lost, lost == 1 ? "" : "s", LOG_WAIT_MS);
	}
	fprintf(stderr, "%s\n", out);
}

void wn_log(int level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	char line[4096];
	int n = log_head(line, sizeof(line), level);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	char out[4 * sizeof(line)];
	log_escape(line, out);
	log_write(out);
}
