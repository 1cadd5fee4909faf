#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int log_level = WN_LOG_INFO;
static const char *log_prefix = "wn";
static const char *const log_names[] = {"error", "warn", "info", "debug"};

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

void wn_log(int level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	char line[4096];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
	                 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 (int)(tv.tv_usec / 1000), log_prefix,
	                 log_names[level < 0   ? 0
	                           : level > 3 ? 3
	                                       : level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
