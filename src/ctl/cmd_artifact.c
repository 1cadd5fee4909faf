/* wnctl job artifacts and job artifact get: the files a job produced, and
 * the content the server stores of them (docs/server.md, "Artifacts"). */
#include "ctl.h"
#include "digest.h"
#include "json.h"
#include "methods.h"
#include "table.h"
#include "termsafe.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OPT_OUTPUT = 'o', OPT_FORCE = 1 };

/* The bytes of the file's name a temporary name beside it holds, at most. */
enum { FETCH_TMP_BASE = 100 };
/* A temporary file is named ".FILE" FETCH_TMP_TAG "XXXXXX" (mkstemp's six characters). */
#define FETCH_TMP_TAG ".wnctl-partial-"
/* One no fetch holds (locked) and left alone this long, seconds, is what a fetch cut off
 * (kill -9, a machine stopped) left behind. */
enum { FETCH_STALE_S = 60 };

const struct option wn_ctl_job_artifact_opts[] = {
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_job_artifact_help[] = {
    {"get", "the only action: fetch the stored content of artifact PATH"},
    {"-o, --output FILE",
     "where to write it (default: PATH's last part, here); '-' for stdout (to a "
     "terminal with its controls escaped). "
     "The file appears whole once its sha256 matched; a fetch killed (kill -9) leaves "
     ".FILE.wnctl-partial-XXXXXX beside it, which the next fetch there removes"},
    {"--force", "replace FILE if it exists (a file: never a directory, device or FIFO)"},
    {NULL, NULL},
};

static Whatsnext__V1__Job *artifact_job(wn_ctl *c, uint64_t id)
{
	Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	rq.id = id;
	return wn_ctl_call(c, WN_PATH_JOB_GET, &rq.base, &whatsnext__v1__job__descriptor, 0);
}

int wn_ctl_job_artifacts(wn_ctl *c)
{
	uint64_t id = wn_ctl_parse_id(c, "job id", wn_ctl_args(c, 1, 1, NULL)[0]);
	Whatsnext__V1__Job *j = artifact_job(c, id);
	if (wn_ctl_json(c)) {
		json_t *a = json_array();
		for (size_t i = 0; i < j->n_artifacts; i++)
			json_array_append_new(a, wn_json_encode(&j->artifacts[i]->base));
		wn_json_print(a);
		return WN_CTL_EXIT_OK;
	}
	static const char *const headers[] = {"PATH", "SIZE", "SHA256", "STORED", "NOTE", NULL};
	wn_table *t = wn_table_new(headers);
	for (size_t i = 0; i < j->n_artifacts; i++) {
		const Whatsnext__V1__Artifact *a = j->artifacts[i];
		wn_table_add(t, "%s", a->path);
		wn_table_add(t, "%llu", (unsigned long long)a->size);
		wn_table_add(t, "%s", a->sha256[0] ? a->sha256 : "-");
		wn_table_add(t, "%s", a->stored ? "yes" : "no");
		wn_table_add(t, "%s", a->note);
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	return WN_CTL_EXIT_OK;
}

/* What a fetch writes to: a descriptor, its temporary name (NULL: stdout). */
struct fetch_out {
	int fd;
	char *tmp;
	bool tty;            /* stdout is a terminal: controls are shown escaped */
	wn_termsafe_cut cut; /* tty: the start of a UTF-8 sequence cut by a chunk */
};

static void fetch_out_remove(void *p)
{
	struct fetch_out *o = p;
	if (o->tmp != NULL)
		unlink(o->tmp);
}

/* The temporary file being written, for a signal that ends wnctl. */
static const char *volatile fetch_tmp;

static void fetch_on_signal(int sig)
{
	if (fetch_tmp != NULL)
		unlink(fetch_tmp);
	raise(sig); /* delivered on return, with the default action back */
}

/* fetch_catch_signals removes tmp should SIGINT, SIGTERM, SIGHUP or SIGPIPE
 * end wnctl before it is renamed (a signal ignored stays so). */
static void fetch_catch_signals(const char *tmp)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa = {.sa_handler = fetch_on_signal, .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	fetch_tmp = tmp;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* fetch_is_partial tells whether name is a temporary name of a fetch: ".FILE" FETCH_TMP_TAG
 * and six letters or digits. */
static bool fetch_is_partial(const char *name)
{
	size_t n = strlen(name), t = strlen(FETCH_TMP_TAG);
	if (name[0] != '.' || n < 1 + t + 6 || strncmp(name + n - 6 - t, FETCH_TMP_TAG, t) != 0)
		return false;
	for (const char *p = name + n - 6; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p))
			return false;
	return true;
}

/* fetch_sweep removes, from directory dir, the temporary files that fetches cut off left
 * (the signals wnctl catches remove its own; kill -9 cannot be caught): of fetch's naming,
 * regular files of this user, untouched for FETCH_STALE_S, whose lock no fetch holds. */
static void fetch_sweep(wn_ctl *c, const char *dir)
{
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		struct stat st, held;
		if (!fetch_is_partial(de->d_name) ||
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    now - st.st_mtime < FETCH_STALE_S)
			continue;
		int fd =
		    openat(dirfd(dp), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &held) == 0 && held.st_ino == st.st_ino && held.st_dev == st.st_dev &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(dp), de->d_name, 0) == 0)
			fprintf(stderr, "wnctl: removed %s, left by a fetch that was cut off\n",
			        wn_ctl_line(c, strcmp(dir, ".") == 0
			                           ? de->d_name
			                           : wn_ctl_printf(c, "%s/%s", dir, de->d_name)));
		close(fd);
	}
	closedir(dp);
}

/* fetch_open opens where the content goes: stdout for "-", else a new
 * temporary file beside file (removed at exit unless renamed), with the mode
 * a file the user creates gets (0666 less the umask), not mkstemp's 0600. */
static void fetch_open(wn_ctl *c, const char *file, bool force, struct fetch_out *o)
{
	o->tmp = NULL;
	o->cut.n = 0;
	if (strcmp(file, "-") == 0) {
		o->fd = STDOUT_FILENO;
		o->tty = isatty(STDOUT_FILENO);
		return;
	}
	o->tty = false;
	struct stat st;
	bool exists = lstat(file, &st) == 0;
	if (exists && S_ISDIR(st.st_mode))
		wn_ctl_die(c, WN_CTL_EXIT_ERROR,
		           "%s is a directory: name the file with -o DIR/FILE", file);
	/* a device, a FIFO or a socket is not replaced by a file: -o /dev/null
	 * --force run as root must not take /dev/null away */
	if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		wn_ctl_die(c, WN_CTL_EXIT_ERROR,
		           "%s is not a regular file: --force replaces only a file (write to it "
		           "with -o - > %s)",
		           file, file);
	if (!force && exists)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "%s exists; --force replaces it", file);
	const char *slash = strrchr(file, '/');
	const char *base = slash ? slash + 1 : file;
	/* the temporary name holds at most FETCH_TMP_BASE bytes of base, cut between two
	 * characters: a file name near the system's limit (255 bytes) must fit with the
	 * 14 bytes the temporary name adds */
	size_t n = strlen(base);
	if (n > FETCH_TMP_BASE)
		for (n = FETCH_TMP_BASE; n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80; n--)
			;
	fetch_sweep(c, slash == NULL   ? "."
	               : slash == file ? "/"
	                               : wn_ctl_printf(c, "%.*s", (int)(slash - file), file));
	o->tmp = wn_ctl_printf(c, "%.*s.%.*s" FETCH_TMP_TAG "XXXXXX",
	                       slash ? (int)(slash - file + 1) : 0, file, (int)n, base);
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot create a file beside %s: %s", file,
		           strerror(errno));
	/* held until the file is in place: another fetch removes it only once it is not */
	if (flock(o->fd, LOCK_EX) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot lock %s: %s", o->tmp, strerror(errno));
	wn_ctl_defer(c, fetch_out_remove, o);
	fetch_catch_signals(o->tmp);
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(o->fd, 0666 & ~mask) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write %s: %s", file, strerror(errno));
}

static void fetch_write_fd(wn_ctl *c, const struct fetch_out *o, const uint8_t *p, size_t n,
                           const char *file)
{
	if (wn_termsafe_write_all(o->fd, p, n) != 0) /* to stdout: as any output of wnctl */
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write %s: %s",
		           strcmp(file, "-") == 0 ? "output" : file, strerror(errno));
}

/* fetch_write writes n bytes of the content; to a terminal, with what it would
 * act on shown as visible escapes (termsafe), as job log shows a job's output. */
static void fetch_write(wn_ctl *c, struct fetch_out *o, const uint8_t *p, size_t n,
                        const char *file)
{
	if (!o->tty) {
		fetch_write_fd(c, o, p, n, file);
		return;
	}
	size_t len;
	unsigned char *buf = wn_termsafe_join(&o->cut, p, n, &len);
	char *e = wn_termsafe_escape((const char *)buf, len, true);
	free(buf);
	fetch_write_fd(c, o, (const uint8_t *)e, strlen(e), file);
	free(e);
}

/* fetch_finish puts the temporary file in place: it must not replace file
 * unless force. */
static void fetch_finish(wn_ctl *c, struct fetch_out *o, const char *file, bool force)
{
	if (o->tmp == NULL && o->cut.n > 0) { /* a sequence cut at the end, escaped */
		char *e = wn_termsafe_escape((const char *)o->cut.b, o->cut.n, true);
		fetch_write_fd(c, o, (const uint8_t *)e, strlen(e), file);
		free(e);
	}
	if (o->tmp == NULL)
		return;
	if (fsync(o->fd) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write %s: %s", file, strerror(errno));
	/* put in place while still locked, then closed */
	int rv = force ? rename(o->tmp, file) : link(o->tmp, file);
	if (rv != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write %s: %s%s", file, strerror(errno),
		           errno == EEXIST ? "; --force replaces it" : "");
	if (close(o->fd) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write %s: %s", file, strerror(errno));
	if (!force)
		unlink(o->tmp);
	o->tmp = NULL;
}

/* artifact_fetch reads artifact path of job id in chunks into o, checking
 * its SHA-256; returns what the server lists of it. */
static const Whatsnext__V1__Artifact *artifact_fetch(wn_ctl *c, uint64_t id, const char *path,
                                                     struct fetch_out *o, const char *file)
{
	Whatsnext__V1__GetArtifactRequest rq = WHATSNEXT__V1__GET_ARTIFACT_REQUEST__INIT;
	rq.job_id = id;
	rq.path = (char *)path;
	wn_digest *d = wn_digest_new();
	const Whatsnext__V1__Artifact *a = NULL; /* as the first reply lists it */
	for (;;) {
		Whatsnext__V1__GetArtifactResponse *r =
		    wn_ctl_call(c, WN_PATH_JOB_GET_ARTIFACT, &rq.base,
		                &whatsnext__v1__get_artifact_response__descriptor, 0);
		if (r->artifact == NULL || r->offset != rq.offset ||
		    (a != NULL &&
		     (a->size != r->artifact->size || strcmp(a->sha256, r->artifact->sha256) != 0)))
			wn_ctl_die(
			    c, WN_CTL_EXIT_ERROR,
			    "artifact %s of job %llu changed while it was read; fetch it again",
			    path, (unsigned long long)id);
		bool first = a == NULL;
		if (first)
			a = r->artifact;
		if (r->data.len > a->size - rq.offset)
			wn_ctl_die(c, WN_CTL_EXIT_ERROR,
			           "artifact %s of job %llu: the server sent more than its %s; %s",
			           path, (unsigned long long)id,
			           wn_ctl_count(c, a->size, "byte", NULL),
			           o->tmp ? "nothing written" : "the output is not the artifact");
		wn_digest_add(d, r->data.data, r->data.len);
		fetch_write(c, o, r->data.data, r->data.len, file);
		rq.offset += r->data.len;
		bool end = r->eof || r->data.len == 0;
		if (!first) /* a file of gigabytes is not held in memory, chunk by chunk */
			wn_ctl_release(c, r);
		if (end)
			break;
	}
	char hex[WN_DIGEST_HEX + 1];
	wn_digest_end(d, hex);
	if (rq.offset != a->size || strcmp(hex, a->sha256) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR,
		           "artifact %s of job %llu: the %s received have sha256 %s, not "
		           "%s; %s",
		           path, (unsigned long long)id, wn_ctl_count(c, rq.offset, "byte", NULL),
		           hex, a->sha256,
		           o->tmp ? "nothing written" : "the output is not the artifact");
	return a;
}

int wn_ctl_job_artifact(wn_ctl *c)
{
	const char *file = NULL;
	bool force = false;
	int opt;
	while ((opt = wn_ctl_getopt(c)) != 0) {
		if (opt == OPT_OUTPUT && optarg[0] == '\0')
			wn_ctl_usage(c, "invalid -o/--output '': name the file to write, or - for "
			                "stdout");
		else if (opt == OPT_OUTPUT)
			file = optarg;
		else if (opt == OPT_FORCE)
			force = true;
	}
	char **args = wn_ctl_args(c, 3, 3, NULL);
	if (strcmp(args[0], "get") != 0)
		wn_ctl_usage(c, "unknown action '%s' (known: get)", args[0]);
	uint64_t id = wn_ctl_parse_id(c, "job id", args[1]);
	const char *path = args[2];
	if (path[0] == '\0')
		wn_ctl_usage(c, "the artifact's path is empty");
	if (file == NULL) {
		const char *slash = strrchr(path, '/');
		file = slash ? slash + 1 : path;
		if (file[0] == '\0' || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
			wn_ctl_usage(c, "name the file to write with -o FILE");
		if (strcmp(file, "-") == 0)
			file = "./-"; /* a file named -: only -o - means stdout */
	}
	struct fetch_out *o = wn_ctl_alloc(c, sizeof(*o));
	fetch_open(c, file, force, o);
	const Whatsnext__V1__Artifact *a = artifact_fetch(c, id, path, o, file);
	fetch_finish(c, o, file, force);
	if (strcmp(file, "-") == 0)
		return WN_CTL_EXIT_OK; /* stdout holds the content alone */
	if (wn_ctl_json(c)) {
		json_t *j = wn_json_encode(&a->base);
		json_object_set_new(j, "file", wn_json_string(file, strlen(file)));
		wn_json_print(j);
	} else
		printf("wrote %s: %s, sha256 %s\n", file, wn_ctl_count(c, a->size, "byte", NULL),
		       a->sha256);
	return WN_CTL_EXIT_OK;
}
