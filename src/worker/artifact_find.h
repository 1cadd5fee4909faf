/* artifact_find: the files a run produced, as a task's `artifacts:` setting
 * names them (docs/worker.md, "Artifacts"): globs, templated like the
 * task's other fields, relative to the run's working directory. After the
 * run the worker finds them without leaving that directory (no '..', no
 * absolute path, no symbolic link followed: each step is an openat with
 * O_NOFOLLOW), records path, size and SHA-256 of each, within bounds, and
 * says in a note what it left out and why. */
#ifndef WN_ARTIFACT_FIND_H
#define WN_ARTIFACT_FIND_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most files a job may list (the server's bound, less room for notes). */
#define WN_ARTIFACTS_FILES_MAX 1000
/* The most globs a task may name. */
#define WN_ARTIFACTS_GLOBS_MAX 16
/* A search looks at this many directory entries at most. */
#define WN_ARTIFACTS_VISIT_MAX 200000
/* The longest path the server takes (its WN_ARTIFACT_PATH_MAX). */
#define WN_ARTIFACT_PATH_BYTES 1024

/* A task's `artifacts:` setting: a list of globs, or a mapping with `paths`
 * and the settings below. */
typedef struct wn_artifacts_conf {
	wn_conf_strv paths;         /* the globs (templates) */
	bool upload;                /* send the content to the server */
	int64_t max_files;          /* files recorded per job */
	char *max_file_size;        /* larger files are recorded, not uploaded */
	char *max_total_size;       /* uploads of one job stop past it */
	uint64_t file_mb, total_mb; /* the two sizes in MiB */
} wn_artifacts_conf;

/* wn_artifacts_conf_load reads the `artifacts` node of a task (NULL or null:
 * *out NULL, none); *errmsg gets a positioned message. */
int wn_artifacts_conf_load(const wn_conf_doc *doc, const wn_conf_node *node,
                           wn_artifacts_conf **out, char **errmsg);
/* wn_artifacts_conf_free frees c; NULL is a no-op. */
void wn_artifacts_conf_free(wn_artifacts_conf *c);

/* A file found, or a note about what was not (sha256 empty). */
typedef struct wn_artifact {
	char *path; /* relative to the working directory (a note: the glob) */
	uint64_t size;
	char sha256[65];
	char *note; /* NULL: none */
	bool upload;
	bool stored; /* the server has it whole */
} wn_artifact;

/* What a search found, in the order of the globs, each glob's in path order. */
typedef struct wn_artifact_list {
	wn_artifact *v;
	size_t n, cap;
} wn_artifact_list;

/* wn_artifacts_find looks in workdir (NULL: the worker's directory) for the
 * n rendered globs of c and fills out; each file is hashed, and marked to
 * upload when c says so and it fits the sizes. Never fails: what cannot be
 * searched (a directory that cannot be read) becomes a note, and so does a
 * file or directory whose path the server would refuse (a control
 * character, bytes that are not UTF-8, more than WN_ARTIFACT_PATH_BYTES),
 * listed under its path as wn_utf8_escape shows it. Each directory is
 * read once for each part of a glob it is matched with. */
void wn_artifacts_find(const wn_artifacts_conf *c, const char *workdir, char *const *globs,
                       size_t n, wn_artifact_list *out);

/* wn_artifacts_open opens the regular file path below the directory dirfd
 * for reading, following no symbolic link on the way; -1 with errno. */
int wn_artifacts_open(int dirfd, const char *path);

/* wn_artifact_list_release frees what the list holds. */
void wn_artifact_list_release(wn_artifact_list *l);

#endif
