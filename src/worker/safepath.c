#include "safepath.h"

#include "err.h"
#include "kit.h"
#include "proc.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* safepath_norm returns p with empty and '.' components dropped and '..'
 * resolved as text (malloc'd): "/" or "/a/b" when absolute, "" or "a/b" or
 * "../a" when relative. */
static char *safepath_norm(const char *p)
{
	bool abs = p[0] == '/';
	char *copy = wn_xstrdup(p);
	char **parts = wn_xcalloc(strlen(p) / 2 + 2, sizeof(char *));
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(copy, "/", &save); t != NULL;
	     t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0 && n > 0 && strcmp(parts[n - 1], "..") != 0)
			n--;
		else if (strcmp(t, "..") != 0 || !abs)
			parts[n++] = t;
	}
	wn_strbuf b = WN_STRBUF_INIT;
	if (abs)
		wn_strbuf_addc(&b, '/');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			wn_strbuf_addc(&b, '/');
		wn_strbuf_adds(&b, parts[i]);
	}
	free(parts);
	free(copy);
	return wn_strbuf_take(&b);
}

char *wn_safepath_root(const char *base, const char *tmpl)
{
	size_t n = strcspn(tmpl, "{");
	while (n > 0 && tmpl[n - 1] != '/')
		n--;
	char *prefix = strndup(tmpl, n);
	if (prefix == NULL)
		abort();
	char *joined = base ? wn_path_join(base, prefix) : wn_xstrdup(prefix);
	char *root = safepath_norm(joined);
	free(joined);
	free(prefix);
	return root;
}

/* safepath_under tells whether the normalized path p is root or below it. */
static bool safepath_under(const char *root, const char *p)
{
	if (root[0] == '\0') /* relative to where it is used */
		return p[0] != '/' && strcmp(p, "..") != 0 && strncmp(p, "../", 3) != 0;
	if (strcmp(root, "/") == 0)
		return p[0] == '/';
	size_t n = strlen(root);
	return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

char *wn_safepath_inside(const char *root, const char *base, const char *path, const char *what,
                         char **reason)
{
	char *joined = base ? wn_path_join(base, path) : wn_xstrdup(path);
	char *p = safepath_norm(joined);
	char *r = safepath_norm(root);
	bool ok = safepath_under(r, p);
	if (!ok)
		*reason = wn_xasprintf("the %s %s is outside %s", what, joined,
		                       r[0] ? r : "the directory it is relative to");
	free(joined);
	free(r);
	if (ok)
		return p;
	free(p);
	return NULL;
}

char *wn_safepath_too_long(const char *path, const char *what)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return wn_xasprintf(
		    "the path of the %s is %zu bytes long: at most %d can be opened", what, len,
		    PATH_MAX - 1);
	for (const char *p = path; *p != '\0';) {
		size_t n = strcspn(p, "/");
		if (n > NAME_MAX)
			return wn_xasprintf("the name of the %s is %zu bytes long: at most %d can "
			                    "be opened (%s)",
			                    what, n, NAME_MAX, path);
		p += n + (p[n] == '/');
	}
	return NULL;
}

/* safepath_walk opens the directory of the file path below root, creating
 * the missing ones, following no symbolic link below root; sets *name to the
 * file's name in it (inside path). Returns the directory's descriptor, or -1
 * with *reason. */
static int safepath_walk(const char *root, const char *path, char **name, char **reason)
{
	char *r = safepath_norm(root), *p = safepath_norm(path);
	char *why = NULL;
	int fd = -1, err = 0;
	if (!safepath_under(r, p) || strcmp(r, p) == 0) {
		*reason = wn_xasprintf("%s is not a file inside %s", path, r);
		goto out;
	}
	const char *rest = p + strlen(r) + (r[0] != '\0' && strcmp(r, "/") != 0);
	char *dir = r[0] ? wn_xasprintf("%s/.", r) : wn_xstrdup(".");
	if (r[0] != '\0' && wn_proc_mkdirs(dir) != 0) {
		err = errno;
		*reason = wn_xasprintf("cannot create directory %s: %s", r, strerror(err));
		free(dir);
		goto out;
	}
	free(dir);
	fd = open(r[0] ? r : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		*reason = wn_xasprintf("cannot open directory %s: %s", r, strerror(err));
		goto out;
	}
	for (;;) {
		size_t n = strcspn(rest, "/");
		if (rest[n] == '\0')
			break;
		char *comp = strndup(rest, n);
		if (comp == NULL)
			abort();
		if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
			err = errno;
			why = wn_xasprintf("cannot create directory %.*s: %s", (int)(rest + n - p),
			                   p, strerror(err));
		} else {
			int next =
			    openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			err = next < 0 ? errno : 0;
			if (next < 0)
				why = wn_xasprintf("cannot open directory %.*s: %s",
				                   (int)(rest + n - p), p,
				                   err == ELOOP || err == ENOTDIR
				                       ? "it is a symbolic link or not a directory"
				                       : strerror(err));
			close(fd);
			fd = next;
		}
		free(comp);
		if (fd < 0 || why != NULL) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			*reason = why;
			goto out;
		}
		rest += n + 1;
	}
	*name = wn_xstrdup(rest);
out:
	free(r);
	free(p);
	errno = err;
	return fd;
}

int wn_safepath_mkdirs(const char *root, const char *path, char **reason)
{
	char *name = NULL;
	int fd = safepath_walk(root, path, &name, reason);
	if (fd < 0)
		return -1;
	close(fd);
	free(name);
	return 0;
}

int wn_safepath_open(const char *root, const char *path, char **reason)
{
	char *name = NULL;
	int dfd = safepath_walk(root, path, &name, reason);
	if (dfd < 0)
		return -1;
	/* O_NONBLOCK: a FIFO planted there must not hang the worker */
	int fd = openat(dfd, name,
	                O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);
	int err = fd < 0 ? errno : 0;
	close(dfd);
	free(name);
	struct stat st;
	const char *why = NULL;
	if (fd < 0)
		why = err == ELOOP ? "it is a symbolic link" : strerror(err);
	else if (fstat(fd, &st) != 0)
		why = strerror(err = errno);
	else if (!S_ISREG(st.st_mode))
		why = "it is not a regular file";
	else if (st.st_uid != geteuid())
		why = "it belongs to another user";
	else if (st.st_nlink > 1)
		why = "it has other hard links";
	else if (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, O_WRONLY) != 0)
		why = strerror(err = errno);
	if (why == NULL)
		return fd;
	*reason = wn_xasprintf("cannot open %s: %s", path, why);
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}
