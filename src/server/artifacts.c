/* artifacts: the files jobs produced, their stored content and the bytes
 * each project stores (artifacts.h). */
#include "artifacts.h"

#include "digest.h"
#include "engine_state.h"
#include "log.h"
#include "records_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file being uploaded: the SHA-256 of its first `received` bytes. */
struct upload {
	wn_digest *d;
	uint64_t received;
};

/* At most this many uploads keep their SHA-256 in memory; past it they are
 * forgotten and computed again from the chunks stored when they go on. */
#define UPLOADS_MAX 4096

void wn_artifacts_init(wn_engine *e)
{
	e->arts.usage = wn_map_new_str();
	e->arts.uploads = wn_map_new_str();
	e->arts.loaded = false;
	e->arts.holders = wn_map_new_u64();
}

static void uploads_clear(struct artifacts *a)
{
	size_t pos = 0;
	void *v;
	while (wn_map_next(a->uploads, &pos, NULL, NULL, &v)) {
		struct upload *u = v;
		wn_digest_free(u->d);
		free(u);
	}
	wn_map_free(a->uploads);
	a->uploads = wn_map_new_str();
}

void wn_artifacts_release(wn_engine *e)
{
	size_t pos = 0;
	void *v;
	while (wn_map_next(e->arts.usage, &pos, NULL, NULL, &v))
		free(v);
	wn_map_free(e->arts.usage);
	uploads_clear(&e->arts);
	wn_map_free(e->arts.uploads);
	wn_map_free(e->arts.holders);
	free(e->arts.freed);
	memset(&e->arts, 0, sizeof(e->arts));
}

/* ------------------------------------------------------------------ usage */

/* usage_add adds delta (may be negative) to project name's bytes, once they
 * are counted (usage_load counts what a change before it stored). */
static void usage_add(struct artifacts *a, const char *name, int64_t delta)
{
	if (!a->loaded)
		return;
	uint64_t *u = wn_map_get_str(a->usage, name);
	if (u == NULL) {
		u = wn_xcalloc(1, sizeof(*u));
		wn_map_put_str(a->usage, name, u);
	}
	if (delta < 0 && (uint64_t)-delta > *u)
		*u = 0;
	else
		*u += (uint64_t)delta;
}

static bool usage_count(void *arg, uint64_t id, const char *path,
                        const Whatsnext__V1__ArtifactRecord *rec)
{
	(void)path;
	struct artifacts *a = arg;
	wn_map_put_u64(a->holders, id, a);
	a->loaded = true; /* while it counts */
	if (rec != NULL)
		usage_add(a, rec->project, (int64_t)rec->size);
	a->loaded = false;
	return true;
}

/* usage_load counts the bytes of every project once, from the records, and
 * notes the jobs that hold files. A walk cut short counts nothing: any job
 * may hold files, and the call that needed the count fails (UNAVAILABLE) or
 * goes without (it is counted again at the next need). */
static void usage_load(struct call *c)
{
	struct artifacts *a = &c->e->arts;
	if (a->loaded)
		return;
	if (wn_records_blob_walk(c->e->rec, 0, usage_count, a) == WN_OK) {
		a->loaded = true;
		a->holders_unknown = false;
		return;
	}
	size_t pos = 0;
	void *v;
	while (wn_map_next(a->usage, &pos, NULL, NULL, &v))
		*(uint64_t *)v = 0;
	a->holders_unknown = true;
	if (c->rec.read_err == 0)
		c->rec.read_err = WN_EIO;
}

/* may_hold tells whether job id may hold stored files (after usage_load). */
static bool may_hold(const struct artifacts *a, uint64_t id)
{
	return a->holders_unknown || wn_map_get_u64(a->holders, id) != NULL;
}

uint64_t wn_artifacts_usage(struct call *c, const char *name)
{
	usage_load(c);
	uint64_t *u = wn_map_get_str(c->e->arts.usage, name);
	return u ? *u : 0;
}

/* ---------------------------------------------------------------- uploads */

static char *upload_key(uint64_t id, const char *path)
{
	return wn_xasprintf("%llu/%s", (unsigned long long)id, path);
}

static void upload_drop(struct artifacts *a, uint64_t id, const char *path)
{
	char *k = upload_key(id, path);
	struct upload *u = wn_map_del_str(a->uploads, k);
	free(k);
	if (u != NULL) {
		wn_digest_free(u->d);
		free(u);
	}
}

/* A file of a job being deleted, for the walks below. */
struct purge {
	struct call *c;
	wn_batch *b;
	uint32_t keep_attempt; /* 0: delete all; else the files of other attempts */
	uint32_t only_attempt; /* not 0: the files of other attempts are let be */
	wn_map *keep;          /* path -> listed artifact (NULL: none kept) */
	bool any;
	bool failed; /* a file's chunks could not be read: it stays, whole */
};

/* purge_keep tells whether the file path (record rec) is one to keep: of the
 * attempt kept, listed with the same size and sha256. */
static bool purge_keep(struct purge *p, const char *path, const Whatsnext__V1__ArtifactRecord *rec)
{
	if (rec == NULL || p->keep_attempt == 0 || rec->attempt != p->keep_attempt)
		return false;
	if (p->keep == NULL)
		return true;
	Whatsnext__V1__Artifact *a = wn_map_get_str(p->keep, path);
	if (a == NULL || !rec->stored || a->size != rec->size ||
	    strcmp(a->sha256, rec->sha256) != 0)
		return false;
	a->stored = true;
	a->note = (char *)"";
	return true;
}

static bool purge_one(void *arg, uint64_t id, const char *path,
                      const Whatsnext__V1__ArtifactRecord *rec)
{
	struct purge *p = arg;
	if (purge_keep(p, path, rec) ||
	    (p->only_attempt != 0 && rec != NULL && rec->attempt != p->only_attempt))
		return true;
	if (wn_records_blob_del(p->c->e->rec, p->b, id, path) != WN_OK) {
		p->failed = true; /* the file stays, whole; the others go */
		return true;
	}
	if (rec != NULL && p->c->e->arts.loaded)
		usage_add(&p->c->e->arts, rec->project, -(int64_t)rec->size);
	upload_drop(&p->c->e->arts, id, path);
	p->any = true;
	return true;
}

/* first_attempt: the attempt of the first file of a job (0: none). */
static bool first_attempt(void *arg, uint64_t id, const char *path,
                          const Whatsnext__V1__ArtifactRecord *rec)
{
	(void)id, (void)path;
	*(uint32_t *)arg = rec ? rec->attempt : UINT32_MAX;
	return false;
}

/* digest_feed adds a stored chunk to a SHA-256 being computed again. */
struct refeed {
	wn_digest *d;
	uint64_t upto;
	uint64_t got;
};

static bool digest_feed(void *arg, uint64_t start, const char *data, size_t len)
{
	struct refeed *f = arg;
	if (start != f->got)
		return false;
	size_t n = f->upto - start < len ? (size_t)(f->upto - start) : len;
	wn_digest_add(f->d, data, n);
	f->got += n;
	return f->got < f->upto;
}

/* upload_at returns the SHA-256 state of file path of job id holding its
 * first `offset` bytes, computed again from the chunks stored if memory
 * lost it; NULL if the chunks stored do not reach offset. */
static struct upload *upload_at(struct call *c, uint64_t id, const char *path, uint64_t offset)
{
	struct artifacts *a = &c->e->arts;
	char *k = upload_key(id, path);
	struct upload *u = wn_map_get_str(a->uploads, k);
	if (u != NULL && u->received == offset) {
		free(k);
		return u;
	}
	if (u == NULL) {
		if (wn_map_count(a->uploads) >= UPLOADS_MAX)
			uploads_clear(a);
		u = wn_xcalloc(1, sizeof(*u));
		wn_map_put_str(a->uploads, k, u);
	}
	free(k);
	wn_digest_free(u->d);
	struct refeed f = {.d = wn_digest_new(), .upto = offset};
	if (offset > 0 && (wn_records_blob_read(c->e->rec, id, path, 0, digest_feed, &f) != WN_OK ||
	                   f.got != offset)) {
		u->d = f.d;
		u->received = UINT64_MAX; /* not usable: started again next time */
		return NULL;
	}
	u->d = f.d;
	u->received = offset;
	return u;
}

const char *wn_artifacts_path_check(const char *path)
{
	size_t n = strlen(path);
	if (n == 0)
		return "the path is empty";
	if (n > WN_ARTIFACT_PATH_MAX)
		return "the path is longer than 1024 bytes";
	if (path[0] == '/')
		return "the path is absolute";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return "the path holds a control character";
	for (const char *p = path; *p;) {
		size_t l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return "the path has an empty, '.' or '..' part";
		p += l;
		if (*p == '/' && *++p == '\0')
			return "the path ends with '/'";
	}
	return NULL;
}

/* put_check validates a chunk against the request's own bounds and the
 * server's limit per file. */
static int put_check(struct call *c, const Whatsnext__V1__PutArtifactRequest *rq)
{
	const char *why = wn_artifacts_path_check(rq->path);
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "artifact %.200s: %s", rq->path, why);
	if (!wn_digest_hex_ok(rq->sha256))
		return wn_call_fail(c, WN_EINVAL,
		                    "artifact %.200s: sha256 is not 64 lower-case hex digits",
		                    rq->path);
	if (rq->data.len > WN_ARTIFACT_CHUNK_MAX)
		return wn_call_fail(c, WN_EINVAL,
		                    "artifact %.200s: a chunk of %zu bytes is over %u", rq->path,
		                    rq->data.len, WN_ARTIFACT_CHUNK_MAX);
	if (rq->offset > rq->size || rq->data.len > rq->size - rq->offset)
		return wn_call_fail(
		    c, WN_EINVAL, "artifact %.200s: bytes %llu to %llu are past its size %llu",
		    rq->path, (unsigned long long)rq->offset,
		    (unsigned long long)(rq->offset + rq->data.len), (unsigned long long)rq->size);
	uint64_t mb =
	    c->e->cfg.artifact_max_file_mb ? c->e->cfg.artifact_max_file_mb : WN_ARTIFACT_FILE_MB;
	if (rq->size > mb << 20)
		return wn_call_fail(
		    c, WN_ETOOBIG,
		    "artifact %.200s is %llu bytes, over the server's limit of %llu "
		    "MiB per file (artifact_max_file_mb)",
		    rq->path, (unsigned long long)rq->size, (unsigned long long)mb);
	return WN_OK;
}

/* Room an upload leaves free on the disk of wnd's data, besides twice the
 * bytes it has still to send (the store writes them to its log, then to a
 * table file): a full disk would stop every change, not only this upload. */
#define PUT_DISK_SPARE (64u << 20)

/* put_room refuses a chunk whose file the disk of wnd's data has no room
 * left for. */
static int put_room(struct call *c, const Whatsnext__V1__PutArtifactRequest *rq)
{
	uint64_t left = rq->size - rq->offset;
	uint64_t room = wn_store_disk_free(c->e->store);
	if (room == UINT64_MAX || room / 2 >= left + PUT_DISK_SPARE / 2)
		return WN_OK;
	return wn_call_fail(c, WN_ETOOBIG,
	                    "artifact %.200s (%llu bytes): the server's disk has only %llu MiB "
	                    "free; storing it needs twice the bytes still to come plus %u MiB "
	                    "to spare",
	                    rq->path, (unsigned long long)rq->size,
	                    (unsigned long long)(room >> 20), PUT_DISK_SPARE >> 20);
}

/* put_start begins (or begins again) file rq->path in b: the content of
 * other attempts and an earlier upload of it go, its size counts against
 * the project's limit. */
static int put_start(struct call *c, wn_batch *b, Job *j,
                     const Whatsnext__V1__PutArtifactRequest *rq,
                     Whatsnext__V1__ArtifactRecord **rec)
{
	if (*rec != NULL) {
		struct purge p = {.c = c, .b = b};
		purge_one(&p, j->id, rq->path, *rec);
		if (p.failed) /* the new content would mix with the old */
			return wn_call_fail(
			    c, WN_EUNAVAIL,
			    "cannot read the stored content of artifact %.200s "
			    "(wnd's log says why); nothing was changed; retry later",
			    rq->path);
		*rec = NULL;
	}
	uint64_t mb = c->e->cfg.artifact_max_project_mb ? c->e->cfg.artifact_max_project_mb
	                                                : WN_ARTIFACT_PROJECT_MB;
	uint64_t used = wn_artifacts_usage(c, j->project);
	if (rq->size > (mb << 20) || used > (mb << 20) - rq->size)
		return wn_call_fail(
		    c, WN_ETOOBIG,
		    "artifact %.200s (%llu bytes) would take project %s past the "
		    "server's limit of %llu MiB (artifact_max_project_mb; %llu bytes "
		    "stored)",
		    rq->path, (unsigned long long)rq->size, j->project, (unsigned long long)mb,
		    (unsigned long long)used);
	Whatsnext__V1__ArtifactRecord *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__artifact_record__init(r);
	r->project = j->project;
	r->attempt = j->attempt;
	r->size = rq->size;
	r->sha256 = rq->sha256;
	usage_add(&c->e->arts, j->project, (int64_t)rq->size);
	*rec = r;
	return WN_OK;
}

/* put_old_attempt deletes in b the files of j that another attempt stored;
 * *any: whether it did. WN_EUNAVAIL if they cannot all be read (the call's
 * message says so). */
static int put_old_attempt(struct call *c, wn_batch *b, Job *j, bool *any)
{
	uint32_t first = 0;
	struct purge p = {.c = c, .b = b, .keep_attempt = j->attempt};
	*any = false;
	if (wn_records_blob_walk(c->e->rec, j->id, first_attempt, &first) == WN_OK &&
	    (first == 0 || first == j->attempt))
		return WN_OK;
	if (first == 0 || wn_records_blob_walk(c->e->rec, j->id, purge_one, &p) != WN_OK ||
	    p.failed)
		return wn_call_fail(c, WN_EUNAVAIL,
		                    "cannot read the artifacts stored for job %llu (wnd's log says "
		                    "why); nothing was changed; retry later",
		                    (unsigned long long)j->id);
	*any = p.any;
	return WN_OK;
}

/* put_same tells whether rec is the upload rq continues: same attempt, size
 * and sha256. */
static bool put_same(const Job *j, const Whatsnext__V1__ArtifactRecord *rec,
                     const Whatsnext__V1__PutArtifactRequest *rq)
{
	return rec != NULL && rec->attempt == j->attempt && rec->size == rq->size &&
	       strcmp(rec->sha256, rq->sha256) == 0;
}

/* put_chunk adds rq's data to the file (record rec) in b and, once it is
 * whole, checks its SHA-256. */
static int put_chunk(struct call *c, wn_batch *b, Job *j,
                     const Whatsnext__V1__PutArtifactRequest *rq,
                     Whatsnext__V1__ArtifactRecord *rec)
{
	struct upload *u = upload_at(c, j->id, rq->path, rq->offset);
	if (u == NULL)
		return wn_call_fail(c, WN_ESTATE,
		                    "artifact %.200s: the chunks stored do not reach offset %llu; "
		                    "send it again from offset 0",
		                    rq->path, (unsigned long long)rq->offset);
	wn_digest_add(u->d, rq->data.data, rq->data.len);
	u->received = rq->offset + rq->data.len;
	if (rq->data.len > 0)
		wn_records_blob_chunk_put(b, j->id, rq->path, u->received, rq->data.data,
		                          rq->data.len);
	rec->received = u->received;
	if (rec->received < rec->size)
		return WN_OK;
	char hex[WN_DIGEST_HEX + 1];
	wn_digest_end(u->d, hex);
	u->d = NULL;
	upload_drop(&c->e->arts, j->id, rq->path);
	if (strcmp(hex, rq->sha256) != 0)
		return wn_call_fail(
		    c, WN_EINVAL, "artifact %.200s: the %llu bytes received have sha256 %s, not %s",
		    rq->path, (unsigned long long)rq->size, hex, rq->sha256);
	rec->stored = true;
	return WN_OK;
}

/* put_find finds in *rec the record of the file rq continues (NULL: none,
 * or one that another attempt stored, whose files go in b): WN_EUNAVAIL if
 * what is stored for j cannot be read (the two uploads would mix). */
static int put_find(struct call *c, wn_batch *b, Job *j,
                    const Whatsnext__V1__PutArtifactRequest *rq,
                    Whatsnext__V1__ArtifactRecord **rec)
{
	bool purged = false;
	int rv = put_old_attempt(c, b, j, &purged);
	int got = rv == WN_OK && !purged ? wn_records_blob_get(&c->rec, j->id, rq->path, rec)
	                                 : WN_ENOTFOUND;
	if (got != WN_OK)
		*rec = NULL; /* one that does not unpack is written over */
	if (got != WN_OK && got != WN_ENOTFOUND && got != WN_EINTERNAL)
		return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	return rv;
}

int wn_artifacts_put(struct call *c, Job *j, const Whatsnext__V1__PutArtifactRequest *rq,
                     uint64_t *received, bool *stored)
{
	int rv = put_check(c, rq);
	if (rv != WN_OK)
		return rv;
	/* what this call changes of the usage is of j's project: put back on failure */
	uint64_t before = wn_artifacts_usage(c, j->project);
	if (!c->e->arts.loaded) /* the project's room is not known */
		return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	wn_batch *b = wn_batch_new();
	Whatsnext__V1__ArtifactRecord *rec = NULL;
	rv = put_find(c, b, j, rq, &rec);
	if (rv == WN_OK && put_same(j, rec, rq) && rq->offset + rq->data.len <= rec->received) {
		/* sent again: the server has it */
		*received = rec->received;
		*stored = rec->stored;
		wn_batch_free(b);
		return WN_OK;
	}
	if (rv == WN_OK)
		rv = put_room(c, rq);
	if (rv == WN_OK && rq->offset == 0)
		rv = put_start(c, b, j, rq, &rec);
	else if (rv == WN_OK && (!put_same(j, rec, rq) || rq->offset != rec->received))
		rv = wn_call_fail(
		    c, WN_ESTATE,
		    "artifact %.200s: a chunk at offset %llu, but the server holds %llu "
		    "bytes of it; send it again from offset 0",
		    rq->path, (unsigned long long)rq->offset,
		    (unsigned long long)(put_same(j, rec, rq) ? rec->received : 0));
	if (rv == WN_OK)
		rv = put_chunk(c, b, j, rq, rec);
	if (rv != WN_OK) {
		usage_add(&c->e->arts, j->project,
		          (int64_t)before - (int64_t)wn_artifacts_usage(c, j->project));
		wn_batch_free(b);
		return rv;
	}
	wn_records_blob_put(b, j->id, rq->path, rec);
	wn_map_put_u64(c->e->arts.holders, j->id, &c->e->arts);
	*received = rec->received;
	*stored = rec->stored;
	return wn_call_commit(c, b);
}

/* ------------------------------------------------------------ the list */

int wn_artifacts_check(struct call *c, Whatsnext__V1__Artifact *const *v, size_t n)
{
	if (n > WN_ARTIFACTS_MAX)
		return wn_call_fail(c, WN_EINVAL, "%zu artifacts are over the limit of %d", n,
		                    WN_ARTIFACTS_MAX);
	for (size_t i = 0; i < n; i++) {
		const Whatsnext__V1__Artifact *a = v[i];
		const char *why = NULL;
		size_t pl = strlen(a->path);
		if (pl == 0 || pl > WN_ARTIFACT_PATH_MAX)
			why = "the path is empty or longer than 1024 bytes";
		else if (a->sha256[0] != '\0' && !wn_digest_hex_ok(a->sha256))
			why = "sha256 is not 64 lower-case hex digits";
		else if (a->sha256[0] == '\0' && a->note[0] == '\0')
			why = "an artifact without sha256 needs a note saying why";
		else if (strlen(a->note) > WN_ARTIFACT_NOTE_MAX)
			why = "the note is longer than 1024 bytes";
		else if (a->stored && wn_artifacts_path_check(a->path) != NULL)
			why = wn_artifacts_path_check(a->path);
		for (size_t k = 0; why == NULL && k < pl; k++)
			if ((unsigned char)a->path[k] < 0x20 || a->path[k] == 0x7f)
				why = "the path holds a control character";
		for (size_t k = 0; why == NULL && a->sha256[0] != '\0' && k < i; k++)
			if (v[k]->sha256[0] != '\0' && strcmp(v[k]->path, a->path) == 0)
				why = "the list names this file twice";
		if (why != NULL)
			return wn_call_fail(c, WN_EINVAL, "artifact %zu (%.200s): %s", i + 1,
			                    a->path, why);
	}
	return WN_OK;
}

int wn_artifacts_apply(struct call *c, wn_batch *b, Job *j,
                       Whatsnext__V1__Artifact *const *artifacts, size_t n)
{
	int rv = wn_artifacts_check(c, artifacts, n);
	if (rv != WN_OK)
		return rv;
	usage_load(c);
	/* files stored for this job: those not listed go (a job that never
	 * stored any has none to look for) */
	bool walk = j->attempt > 0 && may_hold(&c->e->arts, j->id);
	struct purge p = {
	    .c = c, .b = b, .keep_attempt = j->attempt, .keep = walk ? wn_map_new_str() : NULL};
	Whatsnext__V1__Artifact **list = wn_arena_alloc(c->arena, (n + 1) * sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		list[i] = wn_arena_alloc(c->arena, sizeof(*list[i]));
		*list[i] = *artifacts[i];
		if (list[i]->stored)
			list[i]->note = list[i]->note[0]
			                    ? list[i]->note
			                    : (char *)"its content did not reach the server";
		list[i]->stored = false; /* what the server holds decides */
		if (walk && list[i]->sha256[0] != '\0')
			wn_map_put_str(p.keep, list[i]->path, list[i]);
	}
	uint64_t before = wn_artifacts_usage(c, j->project);
	if (walk && (wn_records_blob_walk(c->e->rec, j->id, purge_one, &p) != WN_OK || p.failed)) {
		/* what is stored cannot all be read: the Complete changes nothing */
		usage_add(&c->e->arts, j->project,
		          (int64_t)before - (int64_t)wn_artifacts_usage(c, j->project));
		wn_map_free(p.keep);
		return wn_call_fail(c, WN_EUNAVAIL,
		                    "cannot read the artifacts stored for job %llu (wnd's log says "
		                    "why); retry later",
		                    (unsigned long long)j->id);
	}
	wn_map_free(p.keep);
	j->artifacts = list;
	j->n_artifacts = n;
	return WN_OK;
}

int wn_artifacts_drop_attempt(struct call *c, wn_batch *b, const Job *j, uint32_t attempt)
{
	usage_load(c); /* which jobs may hold files: counted with the usage */
	if (attempt == 0 || !may_hold(&c->e->arts, j->id))
		return WN_OK;
	uint64_t before = wn_artifacts_usage(c, j->project);
	struct purge p = {.c = c, .b = b, .only_attempt = attempt};
	wn_batch_mark(b);
	if (wn_records_blob_walk(c->e->rec, j->id, purge_one, &p) == WN_OK && !p.failed) {
		wn_batch_unmark(b, false);
		return WN_OK;
	}
	/* a file left would count against the project for good: none goes */
	wn_batch_unmark(b, true);
	usage_add(&c->e->arts, j->project,
	          (int64_t)before - (int64_t)wn_artifacts_usage(c, j->project));
	return WN_EUNAVAIL;
}

static bool bytes_one(void *arg, uint64_t id, const char *path,
                      const Whatsnext__V1__ArtifactRecord *rec)
{
	(void)id, (void)path;
	if (rec != NULL)
		*(uint64_t *)arg += rec->size;
	return true;
}

int wn_artifacts_bytes(struct call *c, const Job *j, uint64_t *bytes)
{
	*bytes = 0;
	struct artifacts *a = &c->e->arts;
	if (j->attempt == 0 || !a->loaded || !may_hold(a, j->id))
		return WN_OK;
	return wn_records_blob_walk(c->e->rec, j->id, bytes_one, bytes) == WN_OK ? WN_OK
	                                                                         : WN_EUNAVAIL;
}

/* The removed jobs kept for compaction at most; past it, every key is. */
#define FREED_MAX 4096

void wn_artifacts_compact_freed(wn_engine *e)
{
	pthread_mutex_lock(&e->mu);
	struct artifacts *a = &e->arts;
	uint64_t *ids = a->freed;
	size_t n = a->nfreed;
	bool many = a->freed_many;
	a->freed = NULL, a->nfreed = a->capfreed = 0, a->freed_many = false;
	pthread_mutex_unlock(&e->mu);
	if (many)
		wn_records_compact_side(e->rec, 0, false);
	else
		for (size_t i = 0; i < n; i++)
			wn_records_compact_side(e->rec, ids[i], true);
	free(ids);
}

void wn_artifacts_forget(struct call *c, const Job *j, uint64_t bytes)
{
	if (j->attempt == 0)
		return;
	struct artifacts *a = &c->e->arts;
	if (a->nfreed == FREED_MAX) {
		a->freed_many = true;
	} else if (!a->freed_many) {
		if (a->nfreed == a->capfreed) {
			a->capfreed = a->capfreed ? 2 * a->capfreed : 64;
			a->freed = wn_xrealloc(a->freed, a->capfreed * sizeof(*a->freed));
		}
		a->freed[a->nfreed++] = j->id;
	}
	/* the keys go with the job (wn_records_job_del): only the count and
	 * the memory are left to do, and the disk space (the sweeper) */
	size_t pos = 0;
	const char *k;
	char *pre = wn_xasprintf("%llu/", (unsigned long long)j->id);
	size_t pl = strlen(pre);
	while (wn_map_next(a->uploads, &pos, NULL, &k, NULL))
		if (strncmp(k, pre, pl) == 0) {
			upload_drop(a, j->id, k + pl);
			pos = 0;
		}
	free(pre);
	if (a->loaded)
		usage_add(a, j->project, -(int64_t)bytes);
	wn_map_del_u64(a->holders, j->id);
}

/* ------------------------------------------------------------ reading */

/* What a read collects. */
struct readout {
	uint64_t from;
	size_t max;
	uint8_t *buf;
	size_t len;
	bool bad;
};

static bool read_chunk(void *arg, uint64_t start, const char *data, size_t len)
{
	struct readout *r = arg;
	uint64_t at = r->from + r->len;
	if (start > at || start + len <= at) {
		r->bad = true; /* a hole */
		return false;
	}
	size_t skip = (size_t)(at - start);
	size_t n = len - skip < r->max - r->len ? len - skip : r->max - r->len;
	memcpy(r->buf + r->len, data + skip, n);
	r->len += n;
	return r->len < r->max;
}

/* read_listed returns the entry of j's list for path, or NULL. */
static const Whatsnext__V1__Artifact *read_listed(const Job *j, const char *path)
{
	for (size_t i = 0; i < j->n_artifacts; i++)
		if (strcmp(j->artifacts[i]->path, path) == 0 && j->artifacts[i]->stored)
			return j->artifacts[i];
	for (size_t i = 0; i < j->n_artifacts; i++)
		if (strcmp(j->artifacts[i]->path, path) == 0)
			return j->artifacts[i];
	return NULL;
}

/* read_uploaded returns file path of RUNNING job j as an artifact if the
 * current attempt uploaded all of it, else NULL. */
static const Whatsnext__V1__Artifact *read_uploaded(struct call *c, const Job *j, const char *path)
{
	Whatsnext__V1__ArtifactRecord *rec = NULL;
	if (wn_records_blob_get(&c->rec, j->id, path, &rec) != WN_OK || !rec->stored ||
	    rec->attempt != j->attempt)
		return NULL;
	Whatsnext__V1__Artifact *a = wn_arena_alloc(c->arena, sizeof(*a));
	whatsnext__v1__artifact__init(a);
	a->path = wn_arena_strdup(c->arena, path);
	a->size = rec->size;
	a->sha256 = rec->sha256;
	a->stored = true;
	return a;
}

int wn_artifacts_read(struct call *c, const Job *j, const char *path, uint64_t offset, size_t max,
                      Whatsnext__V1__GetArtifactResponse *r)
{
	unsigned long long id = (unsigned long long)j->id;
	const Whatsnext__V1__Artifact *a = read_listed(j, path);
	if (a == NULL && j->status == RUNNING)
		a = read_uploaded(c, j, path); /* uploaded, the job not yet complete */
	if (a == NULL)
		return wn_call_fail(c, WN_ENOTFOUND, "job %llu has no artifact %.200s", id, path);
	if (!a->stored)
		return wn_call_fail(
		    c, WN_ESTATE, "artifact %.200s of job %llu is not stored on the server%s%.300s",
		    path, id, a->note[0] ? ": " : "", a->note);
	Whatsnext__V1__ArtifactRecord *rec = NULL;
	if (wn_records_blob_get(&c->rec, j->id, path, &rec) != WN_OK || !rec->stored ||
	    rec->size != a->size || strcmp(rec->sha256, a->sha256) != 0)
		return wn_call_fail(c, WN_ENOTFOUND,
		                    "the content of artifact %.200s of job %llu is gone (a newer "
		                    "attempt of the job runs)",
		                    path, id);
	if (offset > a->size)
		return wn_call_fail(c, WN_EINVAL, "offset %llu is past the size of %.200s (%llu)",
		                    (unsigned long long)offset, path, (unsigned long long)a->size);
	if (max == 0 || max > WN_ARTIFACT_CHUNK_MAX)
		max = WN_ARTIFACT_CHUNK_MAX;
	if (max > a->size - offset)
		max = (size_t)(a->size - offset);
	struct readout ro = {.from = offset, .max = max, .buf = wn_arena_alloc(c->arena, max + 1)};
	int rv =
	    max > 0 ? wn_records_blob_read(c->e->rec, j->id, path, offset, read_chunk, &ro) : WN_OK;
	/* a failed read of the record above is answered UNAVAILABLE by the
	 * dispatcher (the call's read error); the content's walk says so here */
	if (rv == WN_EUNAVAIL)
		return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	if (rv != WN_OK || ro.bad || ro.len != max)
		return wn_call_fail(
		    c, WN_EINTERNAL,
		    "the stored content of artifact %.200s of job %llu cannot be read "
		    "(wnd --check)",
		    path, id);
	r->artifact = (Whatsnext__V1__Artifact *)a;
	r->offset = offset;
	r->data.data = ro.buf;
	r->data.len = ro.len;
	r->eof = offset + ro.len == a->size;
	return WN_OK;
}
