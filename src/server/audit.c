/* audit: the audit log (audit.h). */
#include "audit.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "util.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct wn_audit {
	int fd;
	char *path;
	pthread_mutex_t mu;
	int64_t warned_ms; /* last failed write logged */
};

/* audit_not_file says that the audit log path is not a regular file. */
static char *audit_not_file(const char *path)
{
	return wn_xasprintf("the audit log %s is not a regular file: give the path of a file "
	                    "(wnd makes it its owner's only, chmod 600)",
	                    path);
}

int wn_audit_open(struct wn_audit **out, const char *path, const char *data_dir, char **errmsg)
{
	*out = NULL;
	char *p = path != NULL && path[0] != '\0' ? wn_xstrdup(path)
	                                          : wn_path_join(data_dir, "audit.log");
	/* O_NONBLOCK: a FIFO with no reader is refused, not waited on */
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		*errmsg = wn_xasprintf("cannot open the audit log %s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(p);
		return WN_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		/* its mode would be made 0600: /dev/null's, for every user */
		*errmsg = audit_not_file(p);
		close(fd);
		free(p);
		return WN_EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		if (fchmod(fd, st.st_mode & 0700) != 0) {
			*errmsg =
			    wn_xasprintf("audit log %s may be read by other users (mode %04o) "
			                 "and cannot be changed: %s",
			                 p, (unsigned)(st.st_mode & 07777), strerror(errno));
			close(fd);
			free(p);
			return WN_EPERM;
		}
		wn_warn("audit log %s was mode %04o: made it 0600", p,
		        (unsigned)(st.st_mode & 07777));
	}
	struct wn_audit *a = wn_xcalloc(1, sizeof(*a));
	a->fd = fd;
	a->path = p;
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return WN_OK;
}

int wn_audit_check(const char *path, const char *data_dir, char **errmsg)
{
	if (path == NULL || path[0] == '\0')
		return WN_OK; /* in the data directory */
	struct stat ls;
	if (stat(path, &ls) == 0 && !S_ISREG(ls.st_mode)) {
		*errmsg = audit_not_file(path);
		return WN_EINVAL;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int e = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	if (e == ENOENT) {
		/* not there yet: its directory must take it */
		const char *slash = strrchr(path, '/');
		char *dir =
		    slash == NULL
		        ? wn_xstrdup(".")
		        : wn_xasprintf("%.*s", (int)(slash == path ? 1 : slash - path), path);
		struct stat st;
		if (stat(dir, &st) == 0)
			e = !S_ISDIR(st.st_mode)            ? ENOTDIR
			    : access(dir, W_OK | X_OK) == 0 ? 0
			                                    : errno;
		else
			e = data_dir != NULL && strcmp(dir, data_dir) == 0 ? 0 : errno;
		free(dir);
	}
	if (e == 0)
		return WN_OK;
	*errmsg = wn_xasprintf("cannot open the audit log %s: %s", path, strerror(e));
	return WN_EIO;
}

void wn_audit_close(struct wn_audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a->path);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* jstr returns s as a JSON string, its bytes outside printable ASCII as '?'
 * if s is not valid UTF-8. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j != NULL)
		return j;
	char *t = wn_xstrdup(s);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x7f)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}

/* audit_time writes t (ms since the epoch) as "2026-01-02T03:04:05.678Z". */
static void audit_time(int64_t t, char *buf, size_t cap)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03dZ", (int)(t % 1000));
}

void wn_audit_write(struct wn_audit *a, const wn_audit_entry *ent)
{
	if (a == NULL)
		return;
	char when[40];
	audit_time(ent->time_ms, when, sizeof(when));
	json_t *o = json_object();
	json_object_set_new(o, "time", jstr(when));
	json_object_set_new(o, "token", ent->token ? jstr(ent->token) : json_null());
	json_object_set_new(o, "role", jstr(ent->role ? ent->role : ""));
	json_object_set_new(o, "method", jstr(ent->method));
	json_object_set_new(o, "target", jstr(ent->target ? ent->target : ""));
	json_object_set_new(o, "result", jstr(wn_code_name(ent->code)));
	if (ent->code != 0 && ent->message != NULL)
		json_object_set_new(o, "message", jstr(ent->message));
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (line == NULL)
		return;
	size_t len = strlen(line);
	line[len] = '\n'; /* json_dumps's NUL becomes the line's end */
	pthread_mutex_lock(&a->mu);
	ssize_t n = write(a->fd, line, len + 1);
	if (n != (ssize_t)(len + 1)) {
		int64_t now = wn_mono_ms();
		if (a->warned_ms == 0 || now - a->warned_ms > 60000) {
			a->warned_ms = now;
			wn_error("cannot write to the audit log %s: %s", a->path,
			         n < 0 ? strerror(errno) : "short write");
		}
	}
	pthread_mutex_unlock(&a->mu);
	free(line);
}
