/* artifact_find: finding, bounding and hashing the files a run produced
 * (artifact_find.h). */
#include "artifact_find.h"

#include "digest.h"
#include "err.h"
#include "kit.h"
#include "map.h"
#include "pbcheck.h"
#include "template.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF(f) offsetof(wn_artifacts_conf, f)

static const wn_conf_key artifacts_keys[] = {
    {"paths", WN_CONF_T_STRLIST, OFF(paths), NULL, 0, 0, WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "globs of the files to record, relative to the working directory (templates)"},
    {"upload", WN_CONF_T_BOOL, OFF(upload), "false", 0, 0, 0, NULL,
     "send their content to the server (wnctl job artifact get)"},
    {"max_files", WN_CONF_T_INT, OFF(max_files), "1000", 1, WN_ARTIFACTS_FILES_MAX, 0, NULL,
     "files recorded per job; more give a note"},
    {"max_file_size", WN_CONF_T_STR, OFF(max_file_size), "256M", 0, 0, WN_CONF_NONEMPTY, NULL,
     "larger files are recorded but not uploaded"},
    {"max_total_size", WN_CONF_T_STR, OFF(max_total_size), "1G", 0, 0, WN_CONF_NONEMPTY, NULL,
     "uploads of one job stop past this size"},
};

void wn_artifacts_conf_free(wn_artifacts_conf *c)
{
	if (c == NULL)
		return;
	wn_conf_release(artifacts_keys, WN_ARRAY_LEN(artifacts_keys), c);
	free(c);
}

/* conf_glob_check refuses a glob that cannot stay in the working directory
 * or is not a valid template. */
static int conf_glob_check(const wn_conf_doc *doc, const wn_conf_node *node, const char *g,
                           char **errmsg)
{
	const char *why = NULL;
	if (g[0] == '\0') {
		*errmsg = wn_conf_error(doc, node,
		                        "artifacts path is empty (write '.' for every file of "
		                        "the job's working directory)");
		return WN_EINVAL;
	}
	if (g[0] == '/')
		why = "is absolute";
	for (const char *p = g; why == NULL && *p;) {
		size_t l = strcspn(p, "/");
		if (l == 2 && p[0] == '.' && p[1] == '.')
			why = "goes up with '..'";
		p += l + (p[l] == '/');
	}
	if (why != NULL) {
		*errmsg = wn_conf_error(doc, node,
		                        "artifacts path '%s' %s: paths are relative to the job's "
		                        "working directory and stay in it",
		                        g, why);
		return WN_EINVAL;
	}
	char *terr = NULL;
	if (wn_template_check(g, &terr) != WN_OK) {
		*errmsg =
		    wn_conf_error(doc, node, "bad template in artifacts path '%s': %s", g, terr);
		free(terr);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* conf_sizes reads the two sizes of c. */
static int conf_sizes(const wn_conf_doc *doc, const wn_conf_node *node, wn_artifacts_conf *c,
                      char **errmsg)
{
	if (wn_size_parse(c->max_file_size, &c->file_mb) != WN_OK ||
	    wn_size_parse(c->max_total_size, &c->total_mb) != WN_OK) {
		*errmsg =
		    wn_conf_error(doc, node,
		                  "artifacts: max_file_size and max_total_size are sizes such "
		                  "as 512M or 2G");
		return WN_EINVAL;
	}
	return WN_OK;
}

int wn_artifacts_conf_load(const wn_conf_doc *doc, const wn_conf_node *node,
                           wn_artifacts_conf **out, char **errmsg)
{
	*out = NULL;
	if (wn_conf_is_null(node))
		return WN_OK;
	wn_artifacts_conf *c = wn_xcalloc(1, sizeof(*c));
	int rc;
	if (node->kind == WN_CONF_MAP) {
		rc = wn_conf_apply(doc, node, artifacts_keys, WN_ARRAY_LEN(artifacts_keys), c,
		                   errmsg);
	} else {
		/* a list of globs (or one) is read as {paths: LIST} */
		wn_conf_node key = {.kind = WN_CONF_SCALAR,
		                    .line = node->line,
		                    .col = node->col,
		                    .str = "paths",
		                    .len = 5,
		                    .plain = true};
		wn_conf_node *items[2] = {&key, (wn_conf_node *)node};
		wn_conf_node map = {.kind = WN_CONF_MAP,
		                    .line = node->line,
		                    .col = node->col,
		                    .n = 1,
		                    .items = items};
		rc = wn_conf_apply(doc, &map, artifacts_keys, WN_ARRAY_LEN(artifacts_keys), c,
		                   errmsg);
	}
	if (rc == WN_OK && c->paths.n > WN_ARTIFACTS_GLOBS_MAX) {
		*errmsg =
		    wn_conf_error(doc, node, "artifacts: at most %d paths", WN_ARTIFACTS_GLOBS_MAX);
		rc = WN_EINVAL;
	}
	for (size_t i = 0; rc == WN_OK && i < c->paths.n; i++)
		rc = conf_glob_check(doc, node, c->paths.v[i], errmsg);
	if (rc == WN_OK)
		rc = conf_sizes(doc, node, c, errmsg);
	if (rc != WN_OK) {
		wn_artifacts_conf_free(c);
		return rc;
	}
	*out = c;
	return WN_OK;
}

/* ------------------------------------------------------------ the search */

/* One search. */
struct finder {
	const wn_artifacts_conf *c;
	wn_artifact_list *out;
	wn_map *seen;     /* paths recorded */
	wn_map *walked;   /* "PART/DIR": the glob's parts matched below a directory */
	const char *glob; /* the glob searched */
	size_t visited;
	size_t nmatched; /* paths recorded (notes of whole globs aside) */
	uint64_t more;   /* files of the current glob past max_files */
	bool hit;        /* the current glob named a path an earlier one recorded */
	bool stopped;    /* WN_ARTIFACTS_VISIT_MAX reached */
};

/* path_why tells why the server would refuse path in a job's list of
 * artifacts (its bounds, a control character, a string that is not UTF-8),
 * as a note's words; NULL when it would not. */
static const char *path_why(const char *path)
{
	size_t n = strlen(path);
	if (n > WN_ARTIFACT_PATH_BYTES)
		return "the path is longer than 1024 bytes (shown cut)";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return "the name holds a control character (shown escaped)";
	if (wn_pb_utf8_check((const uint8_t *)path, n) >= 0)
		return "the name is not valid UTF-8 (shown escaped)";
	return NULL;
}

/* list_add appends path to l, escaped and cut as it is shown (wn_utf8_escape)
 * when the server would refuse it. */
static wn_artifact *list_add(wn_artifact_list *l, const char *path, const char *note)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = wn_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	wn_artifact *a = &l->v[l->n++];
	memset(a, 0, sizeof(*a));
	a->path = path_why(path) == NULL ? wn_xstrdup(path)
	                                 : wn_utf8_escape(path, WN_ARTIFACT_PATH_BYTES);
	a->note = note ? wn_xstrdup(note) : NULL;
	return a;
}

void wn_artifact_list_release(wn_artifact_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].note);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* find_room tells whether another entry may be recorded for path (not yet
 * seen); counts it as one more past the bound if not. */
static bool find_room(struct finder *f, const char *rel)
{
	if (wn_map_get_str(f->seen, rel) != NULL) {
		f->hit = true;
		return false;
	}
	if (f->nmatched >= (size_t)f->c->max_files) {
		f->more++;
		return false;
	}
	f->nmatched++;
	wn_map_put_str(f->seen, rel, (void *)1);
	return true;
}

/* find_note lists path (rel, or the glob for the working directory) with
 * note, in place of a file, when there is room for it. */
static void find_note(struct finder *f, const char *rel, const char *note)
{
	const char *path = rel[0] ? rel : f->glob;
	if (find_room(f, path))
		list_add(f->out, path, note);
}

/* find_refuse lists path with the note "refused: WHY" in place of what it
 * names, when there is room for it. */
static void find_refuse(struct finder *f, const char *rel, const char *why)
{
	char *note = wn_xasprintf("refused: %s", why);
	find_note(f, rel, note);
	free(note);
}

/* find_note_errno lists path with the note "WHAT: the error errno says". */
static void find_note_errno(struct finder *f, const char *rel, const char *what)
{
	char *note = wn_xasprintf("%s: %s", what, strerror(errno));
	find_note(f, rel, note);
	free(note);
}

/* find_hash reads fd to its end into a SHA-256; the bytes read, or -1. */
static int64_t find_hash(int fd, char hex[WN_DIGEST_HEX + 1])
{
	char buf[1 << 14];
	wn_digest *d = wn_digest_new();
	int64_t total = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			wn_digest_free(d);
			return -1;
		}
		if (r == 0)
			break;
		wn_digest_add(d, buf, (size_t)r);
		total += r;
	}
	wn_digest_end(d, hex);
	return total;
}

/* find_file records the file name of directory dirfd (rel its path). */
static void find_file(struct finder *f, int dirfd, const char *name, const char *rel)
{
	const char *bad = path_why(rel);
	if (bad != NULL) {
		find_refuse(f, rel, bad);
		return;
	}
	if (!find_room(f, rel))
		return;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	const char *why = fd < 0 || fstat(fd, &st) != 0 ? strerror(errno)
	                  : !S_ISREG(st.st_mode)        ? "not a regular file"
	                                                : NULL;
	if (why != NULL) {
		char *note = wn_xasprintf("cannot read it: %s", why);
		list_add(f->out, rel, note);
		free(note);
		if (fd >= 0)
			close(fd);
		return;
	}
	char hex[WN_DIGEST_HEX + 1];
	int64_t n = find_hash(fd, hex);
	int err = errno;
	close(fd);
	if (n < 0) {
		char *note = wn_xasprintf("cannot read it: %s", strerror(err));
		list_add(f->out, rel, note);
		free(note);
		return;
	}
	wn_artifact *a = list_add(f->out, rel, NULL);
	a->size = (uint64_t)n;
	memcpy(a->sha256, hex, sizeof(a->sha256));
}

static int names_cmp(const void *a, const void *b);

/* find_names returns the sorted entries of directory dirfd (rel its path),
 * counting them against the bound of the search; a directory that cannot be
 * read gets a note. */
static char **find_names(struct finder *f, int dirfd, const char *rel, size_t *n)
{
	*n = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		find_note_errno(f, rel, "cannot read the directory");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t cap = 16;
	char **v = wn_xcalloc(cap, sizeof(*v));
	struct dirent *e;
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++f->visited > WN_ARTIFACTS_VISIT_MAX) {
			f->stopped = true;
			break;
		}
		if (*n == cap)
			v = wn_xrealloc(v, (cap *= 2) * sizeof(*v));
		v[(*n)++] = wn_xstrdup(e->d_name);
	}
	if (e == NULL && errno != 0)
		find_note_errno(f, rel, "cannot read the whole directory");
	closedir(d);
	qsort(v, *n, sizeof(*v), names_cmp);
	return v;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static char *rel_join(const char *rel, const char *name)
{
	return rel[0] ? wn_xasprintf("%s/%s", rel, name) : wn_xstrdup(name);
}

/* A matched directory stands for every file below it. */
static char *walk_all[] = {"**", "*"};

/* find_first tells whether comps[i] is matched below directory rel for the
 * first time in this glob: a walk done before would find nothing new. */
static bool find_first(struct finder *f, const char *rel, char **comps, size_t i)
{
	char *key = wn_xasprintf("%c%zu/%s", comps == walk_all ? 'a' : 'g', i, rel);
	bool first = wn_map_get_str(f->walked, key) == NULL;
	if (first)
		wn_map_put_str(f->walked, key, (void *)1);
	free(key);
	return first;
}

/* find_enter opens directory name of dirfd (path its path) to search it;
 * -1 and a note when it cannot be searched. */
static int find_enter(struct finder *f, int dirfd, const char *name, const char *path)
{
	const char *bad = path_why(path);
	if (bad != NULL) {
		find_refuse(f, path, bad);
		return -1;
	}
	int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		find_note_errno(f, path, "cannot read the directory");
	return sub;
}

static void find_walk(struct finder *f, int dirfd, const char *rel, char **comps, size_t n,
                      size_t i);

/* find_entry goes on with entry name of dirfd, matched by comps[i]. */
static void find_entry(struct finder *f, int dirfd, const char *rel, const char *name, char **comps,
                       size_t n, size_t i)
{
	struct stat st;
	char *path = rel_join(rel, name);
	bool last = i + 1 >= n;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
			find_note_errno(f, path, "cannot read it");
	} else if (S_ISDIR(st.st_mode)) {
		int sub = find_enter(f, dirfd, name, path);
		if (sub >= 0 && last)
			find_walk(f, sub, path, walk_all, 2, 0);
		else if (sub >= 0)
			find_walk(f, sub, path, comps, n, i + 1);
		if (sub >= 0)
			close(sub);
	} else if (last && S_ISREG(st.st_mode)) {
		find_file(f, dirfd, name, path);
	} else if (last || S_ISLNK(st.st_mode)) {
		/* a link on the way (a directory elsewhere) is said too */
		const char *bad = path_why(path);
		find_refuse(f, path,
		            bad                   ? bad
		            : S_ISLNK(st.st_mode) ? "a symbolic link (links are not followed)"
		                                  : "not a regular file");
	}
	free(path);
}

static bool glob_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* find_match matches comps[i] (a part with a wildcard) against names, the
 * nn entries of directory dirfd (rel its path). */
static void find_match(struct finder *f, int dirfd, const char *rel, char **comps, size_t n,
                       size_t i, char **names, size_t nn)
{
	if (f->stopped)
		return;
	if (strcmp(comps[i], "**") != 0) {
		for (size_t k = 0; k < nn && !f->stopped; k++)
			if (fnmatch(comps[i], names[k], FNM_PERIOD) == 0)
				find_entry(f, dirfd, rel, names[k], comps, n, i);
		return;
	}
	/* zero directories: the next part here, from the names read */
	if (i + 1 < n && !glob_magic(comps[i + 1]))
		find_entry(f, dirfd, rel, comps[i + 1], comps, n, i + 1);
	else if (i + 1 < n && find_first(f, rel, comps, i + 1))
		find_match(f, dirfd, rel, comps, n, i + 1, names, nn);
	for (size_t k = 0; k < nn && !f->stopped; k++) {
		struct stat st;
		if (fstatat(dirfd, names[k], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			continue;
		char *path = rel_join(rel, names[k]);
		int sub = find_enter(f, dirfd, names[k], path);
		if (sub >= 0) {
			find_walk(f, sub, path, comps, n, i);
			close(sub);
		}
		free(path);
	}
}

/* find_walk matches comps[i..n) below directory dirfd (rel its path),
 * reading it once for each part it is matched with. */
static void find_walk(struct finder *f, int dirfd, const char *rel, char **comps, size_t n,
                      size_t i)
{
	if (f->stopped || i >= n)
		return;
	if (!glob_magic(comps[i])) {
		find_entry(f, dirfd, rel, comps[i], comps, n, i);
		return;
	}
	if (!find_first(f, rel, comps, i))
		return;
	size_t nn = 0;
	char **names = find_names(f, dirfd, rel, &nn);
	find_match(f, dirfd, rel, comps, n, i, names, nn);
	names_free(names, nn);
}

/* glob_split splits g into its parts ('.' and empty ones left out); NULL
 * when a part is '..' or g is absolute. */
static char **glob_split(const char *g, size_t *n)
{
	*n = 0;
	if (g[0] == '/')
		return NULL;
	char **v = wn_xcalloc(strlen(g) / 2 + 2, sizeof(*v));
	for (const char *p = g; *p;) {
		size_t l = strcspn(p, "/");
		if (l == 2 && p[0] == '.' && p[1] == '.') {
			names_free(v, *n);
			*n = 0;
			return NULL;
		}
		if (l > 0 && !(l == 1 && p[0] == '.'))
			v[(*n)++] = wn_xasprintf("%.*s", (int)l, p);
		p += l + (p[l] == '/');
	}
	return v;
}

/* find_glob records what glob g finds below root. */
static void find_glob(struct finder *f, int root, const char *g)
{
	size_t n = 0, before = f->out->n;
	const char *bad = path_why(g);
	char **comps = bad == NULL ? glob_split(g, &n) : NULL;
	if (comps == NULL) {
		char *note = wn_xasprintf("refused: %s",
		                          bad ? bad : "the path leaves the working directory");
		list_add(f->out, g, note);
		free(note);
		return;
	}
	f->more = 0;
	f->hit = false;
	f->glob = g;
	f->walked = wn_map_new_str();
	/* "." is the working directory: every file below it */
	if (n == 0 && g[0] != '\0')
		find_walk(f, root, "", walk_all, 2, 0);
	else
		find_walk(f, root, "", comps, n, 0);
	wn_map_free(f->walked);
	names_free(comps, n);
	char *note = NULL;
	if (f->more > 0)
		note = wn_xasprintf("%llu more files matched: at most %lld are recorded "
		                    "(artifacts max_files)",
		                    (unsigned long long)f->more, (long long)f->c->max_files);
	else if (f->stopped)
		note = wn_xasprintf("the search stopped after %d directory entries",
		                    WN_ARTIFACTS_VISIT_MAX);
	else if (f->out->n == before && !f->hit)
		note = wn_xstrdup("no file matched");
	if (note != NULL)
		list_add(f->out, g, note);
	free(note);
}

/* find_plan marks the files to upload, within the sizes. */
static void find_plan(const wn_artifacts_conf *c, wn_artifact_list *l)
{
	uint64_t total = 0;
	for (size_t i = 0; c->upload && i < l->n; i++) {
		wn_artifact *a = &l->v[i];
		if (a->sha256[0] == '\0')
			continue;
		if (a->size > c->file_mb << 20)
			a->note = wn_xasprintf("not uploaded: larger than max_file_size (%s)",
			                       c->max_file_size);
		else if (a->size > (c->total_mb << 20) - total)
			a->note = wn_xasprintf("not uploaded: the job's uploads would pass "
			                       "max_total_size (%s)",
			                       c->max_total_size);
		else {
			a->upload = true;
			total += a->size;
		}
	}
}

void wn_artifacts_find(const wn_artifacts_conf *c, const char *workdir, char *const *globs,
                       size_t n, wn_artifact_list *out)
{
	memset(out, 0, sizeof(*out));
	const char *dir = workdir && workdir[0] ? workdir : ".";
	int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		char *note =
		    wn_xasprintf("cannot open the working directory %s: %s", dir, strerror(errno));
		for (size_t i = 0; i < n; i++)
			list_add(out, globs[i], note);
		free(note);
		return;
	}
	struct finder f = {.c = c, .out = out, .seen = wn_map_new_str()};
	for (size_t i = 0; i < n; i++)
		find_glob(&f, root, globs[i]);
	wn_map_free(f.seen);
	close(root);
	find_plan(c, out);
}

int wn_artifacts_open(int dirfd, const char *path)
{
	size_t n = 0;
	char **comps = glob_split(path, &n);
	if (comps == NULL || n == 0) {
		names_free(comps, n);
		errno = EPERM;
		return -1;
	}
	int cur = dirfd, fd = -1;
	for (size_t i = 0; i < n; i++) {
		int flags =
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (i + 1 < n ? O_DIRECTORY : O_NONBLOCK);
		fd = openat(cur, comps[i], flags);
		if (cur != dirfd)
			close(cur);
		if (fd < 0)
			break;
		cur = fd;
	}
	names_free(comps, n);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		fd = -1;
	}
	return fd;
}
