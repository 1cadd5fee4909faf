/* artifacts: the files jobs produced (docs/server.md, "Artifacts"). A worker
 * uploads a file's content in chunks before it completes the job
 * (QueueService.PutArtifact); the server checks the lease, the size against
 * its limits per file and per project and, once the whole file arrived, its
 * SHA-256, and keeps the content under b/ID (records_blob.h), apart from the
 * job records. The Complete's list of files becomes Job.artifacts, each
 * marked stored or not; content of another attempt or not listed goes. The
 * bytes stored per project are counted in memory (from the records, at the
 * first need), and freed with the job (wn_artifacts_forget). */
#ifndef WN_ARTIFACTS_H
#define WN_ARTIFACTS_H

#include "call.h"

/* Bounds of what a request may hold. */
#define WN_ARTIFACT_PATH_MAX  1024       /* bytes of a path */
#define WN_ARTIFACT_NOTE_MAX  1024       /* bytes of a note */
#define WN_ARTIFACT_CHUNK_MAX (1u << 20) /* bytes of one PutArtifact or GetArtifact */
#define WN_ARTIFACTS_MAX      1024       /* entries of Job.artifacts */
/* Defaults of the server's settings (wnd.yaml). */
#define WN_ARTIFACT_FILE_MB    256   /* artifact_max_file_mb */
#define WN_ARTIFACT_PROJECT_MB 10240 /* artifact_max_project_mb */

/* What the engine keeps (engine_state.h). */
struct artifacts {
	wn_map *usage;   /* project name -> uint64_t *: bytes of its stored files */
	bool loaded;     /* usage was counted from the records */
	wn_map *holders; /* job id -> non-NULL: jobs that may hold stored files (once loaded) */
	bool holders_unknown; /* the count failed: any job may */
	wn_map *uploads;      /* "ID/PATH" -> struct upload: the SHA-256 of a file so far */
	uint64_t *freed;      /* removed jobs that ran: their o/ and b/ keys to compact */
	size_t nfreed, capfreed;
	bool freed_many; /* more than the list holds: compact every o/ and b/ key */
};

/* wn_artifacts_init and wn_artifacts_release set up and free e->arts. */
void wn_artifacts_init(wn_engine *e);
void wn_artifacts_release(wn_engine *e);

/* wn_artifacts_put stores the chunk rq of a file of job j (whose lease the
 * caller checked) in a batch it writes; *received and *stored say where the
 * file stands. A bad request changes nothing: WN_EINVAL, WN_ETOOBIG (over a
 * limit), WN_ESTATE (a chunk out of order), each with the call's message. */
int wn_artifacts_put(struct call *c, Job *j, const Whatsnext__V1__PutArtifactRequest *rq,
                     uint64_t *received, bool *stored);

/* wn_artifacts_check validates the n artifacts a Complete lists, changing
 * nothing: WN_EINVAL with the call's message for a bad list. */
int wn_artifacts_check(struct call *c, Whatsnext__V1__Artifact *const *artifacts, size_t n);

/* wn_artifacts_apply makes the n artifacts a Complete lists job j's
 * Job.artifacts (stored: whether the server holds that content), adding to b
 * the deletes of content the list does not keep. They are checked first: a
 * bad list is WN_EINVAL with the call's message and changes nothing. */
int wn_artifacts_apply(struct call *c, wn_batch *b, Job *j,
                       Whatsnext__V1__Artifact *const *artifacts, size_t n);

/* wn_artifacts_compact_freed gives the disk space of removed jobs' output
 * and artifacts back (compacting their keys), for the jobs removed since
 * its last call; the sweeper calls it without the engine lock. */
void wn_artifacts_compact_freed(wn_engine *e);
/* wn_artifacts_drop_attempt deletes (into b) the files job j's attempt
 * uploaded, when that attempt ended without a Complete (its lease expired):
 * no Complete may list them any more, and they would count against the
 * project's room for good. WN_EUNAVAIL (logged), with nothing added to b, if
 * they cannot all be read. */
int wn_artifacts_drop_attempt(struct call *c, wn_batch *b, const Job *j, uint32_t attempt);

/* wn_artifacts_bytes reads in *bytes what the stored files of job j count in
 * its project's usage (0 while the usage is not counted yet): WN_EUNAVAIL
 * (logged) if they cannot all be read. wn_artifacts_forget takes them off
 * the usage when j is removed (wn_records_job_del deletes its keys). */
int wn_artifacts_bytes(struct call *c, const Job *j, uint64_t *bytes);
void wn_artifacts_forget(struct call *c, const Job *j, uint64_t bytes);

/* wn_artifacts_read fills r with the content of artifact path of job j from
 * offset, at most max bytes (0: WN_ARTIFACT_CHUNK_MAX); WN_ENOTFOUND,
 * WN_ESTATE (not stored) or WN_EUNAVAIL (the store cannot be read now) with
 * the call's message. */
int wn_artifacts_read(struct call *c, const Job *j, const char *path, uint64_t offset, size_t max,
                      Whatsnext__V1__GetArtifactResponse *r);

/* wn_artifacts_usage returns the bytes of the stored files of project name. */
uint64_t wn_artifacts_usage(struct call *c, const char *name);

/* wn_artifacts_path_check returns why path cannot name a stored file
 * (absolute, '.' or '..' or an empty part, a control character, too long),
 * NULL if it can. */
const char *wn_artifacts_path_check(const char *path);

#endif
