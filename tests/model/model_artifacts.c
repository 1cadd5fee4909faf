/* model_artifacts: the artifacts of jobs as docs/protocol.md (PutArtifact,
 * Complete, GetArtifact) and docs/server.md ("Artifacts") describe them. A
 * run makes up to MODEL_NART files, f0.bin ..., whose bytes depend on the
 * job, the attempt and the file; an upload is one chunk. The model keeps
 * which files the server holds (and of which attempt) and the list the last
 * Complete gave, and judges uploads, reads, the jobs' lists and the bytes
 * stored per project. */
#include "model.h"

#include "digest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)

const char *model_art_path(int idx)
{
	static const char *const v[MODEL_NART] = {"f0.bin", "out/f1.bin", "out/f2.bin", "f3"};
	return v[idx % MODEL_NART];
}

uint64_t model_art_size(uint64_t id, uint32_t attempt, int idx)
{
	/* small for any attempt: requests name made-up attempts too, and the
	 * model hashes the whole file for each */
	return 40 + (uint64_t)idx * 333 + (attempt % 64) * 7 + id % 13;
}

uint8_t model_art_byte(uint64_t id, uint32_t attempt, int idx, uint64_t off)
{
	return (uint8_t)(id * 17 + attempt * 101 + (uint64_t)idx * 59 + off * 13 + (off >> 5));
}

void model_art_sha(uint64_t id, uint32_t attempt, int idx, char hex[65])
{
	uint64_t n = model_art_size(id, attempt, idx);
	wn_digest *d = wn_digest_new();
	for (uint64_t off = 0; off < n; off++) {
		uint8_t b = model_art_byte(id, attempt, idx, off);
		wn_digest_add(d, &b, 1);
	}
	wn_digest_end(d, hex);
}

/* art_idx returns the file a path names, -1 for none. */
static int art_idx(const char *path)
{
	for (int i = 0; i < MODEL_NART; i++)
		if (strcmp(path, model_art_path(i)) == 0)
			return i;
	return -1;
}

uint64_t model_art_bytes(const model *m, const char *project)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		const model_job *j = m->jobs[i];
		for (int k = 0; k < MODEL_NART; k++)
			if (j->live && j->art_up[k] != 0 && strcmp(j->project, project) == 0)
				n += model_art_size(j->id, j->art_up[k], k);
	}
	return n;
}

void model_art_drop(model_job *j, uint32_t attempt)
{
	for (int k = 0; k < MODEL_NART; k++)
		if (j->art_up[k] == attempt)
			j->art_up[k] = 0;
}

/* put_code returns what a PutArtifact deserves before its bytes count. */
static int put_code(const model *m, const Whatsnext__V1__PutArtifactRequest *rq, model_job **jp,
                    const char **why)
{
	model_job *j = *jp = model_job_get(m, rq->job_id);
	if (j == NULL)
		return *why = "no such job", C_NOT_FOUND;
	if (j->status != ST_RUNNING || j->attempt != rq->attempt || !j->leased ||
	    j->lease_attempt != rq->attempt)
		return *why = "the lease is not held", C_STATE;
	if (!model_holder_ok(j, rq->worker))
		return *why = "the lease is held by another worker", C_STATE;
	int idx = art_idx(rq->path);
	if (idx < 0)
		return *why = "a path that leaves the working directory", C_INVALID;
	char hex[65];
	model_art_sha(j->id, j->attempt, idx, hex);
	if (strcmp(hex, rq->sha256) != 0)
		return *why = "bytes whose sha256 is not the one announced", C_INVALID;
	return C_OK;
}

int model_exec_put_artifact(model *m, const model_call *c)
{
	const Whatsnext__V1__PutArtifactRequest *rq = (const void *)c->rq;
	model_job *j = NULL;
	const char *why = NULL;
	int code = put_code(m, rq, &j, &why);
	if (code != C_OK)
		WANT(code, why);
	if (c->code != C_OK)
		WANT(C_OK, "a valid upload");
	const Whatsnext__V1__PutArtifactResponse *r = (const void *)c->rp;
	if (r->received != rq->size || !r->stored)
		return model_fail(m, "PutArtifact of %s of job %llu answered %llu bytes, stored=%d",
		                  rq->path, (unsigned long long)j->id,
		                  (unsigned long long)r->received, r->stored);
	for (int k = 0; k < MODEL_NART; k++)
		if (j->art_up[k] != 0 && j->art_up[k] != j->attempt)
			memset(j->art_up, 0, sizeof(j->art_up)); /* another attempt's go */
	j->art_up[art_idx(rq->path)] = j->attempt;
	return 0;
}

bool model_art_bad(const Whatsnext__V1__CompleteRequest *rq)
{
	for (size_t i = 0; i < rq->n_artifacts; i++)
		if (rq->artifacts[i]->path[0] == '\0')
			return true;
	return false;
}

void model_art_completed(model_job *j, const Whatsnext__V1__CompleteRequest *rq)
{
	j->art_n = 0;
	bool keep[MODEL_NART] = {false};
	for (size_t i = 0; i < rq->n_artifacts && j->art_n < MODEL_NART; i++) {
		int idx = art_idx(rq->artifacts[i]->path);
		if (idx < 0)
			continue; /* the runs list the model's files only */
		bool stored = idx >= 0 && j->art_up[idx] == rq->attempt;
		j->art_list[j->art_n] = idx;
		j->art_stored[j->art_n++] = stored;
		keep[idx] = stored;
	}
	j->art_attempt = rq->attempt;
	for (int k = 0; k < MODEL_NART; k++)
		if (!keep[k])
			j->art_up[k] = 0;
}

/* get_size finds what GetArtifact of file idx of j reads: its size, or the
 * code it deserves instead. */
static int get_size(const model_job *j, int idx, uint64_t *size, const char **why)
{
	for (size_t i = 0; idx >= 0 && i < j->art_n; i++) {
		if (j->art_list[i] != idx)
			continue;
		if (!j->art_stored[i])
			return *why = "an artifact not stored", C_STATE;
		if (j->art_up[idx] != j->art_attempt)
			return *why = "content gone with a newer attempt", C_NOT_FOUND;
		*size = model_art_size(j->id, j->art_attempt, idx);
		return C_OK;
	}
	if (idx >= 0 && j->status == ST_RUNNING && j->art_up[idx] != 0 &&
	    j->art_up[idx] == j->attempt) {
		*size = model_art_size(j->id, j->attempt, idx);
		return C_OK;
	}
	return *why = "no such artifact", C_NOT_FOUND;
}

int model_exec_get_artifact(model *m, const model_call *c)
{
	const Whatsnext__V1__GetArtifactRequest *rq = (const void *)c->rq;
	const model_job *j = model_job_get(m, rq->job_id);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no such job");
	int idx = art_idx(rq->path);
	uint64_t size = 0;
	const char *why = NULL;
	int code = get_size(j, idx, &size, &why);
	if (code != C_OK)
		WANT(code, why);
	if (rq->offset > size)
		WANT(C_INVALID, "an offset past the size");
	if (c->code != C_OK)
		WANT(C_OK, "a valid read of an artifact");
	const Whatsnext__V1__GetArtifactResponse *r = (const void *)c->rp;
	uint32_t attempt = j->art_up[idx];
	uint64_t max = rq->max_bytes && rq->max_bytes < (1u << 20) ? rq->max_bytes : 1u << 20;
	uint64_t n = size - rq->offset < max ? size - rq->offset : max;
	bool same =
	    r->offset == rq->offset && r->data.len == n && r->eof == (rq->offset + n == size);
	for (uint64_t i = 0; same && i < n; i++)
		same = r->data.data[i] == model_art_byte(j->id, attempt, idx, rq->offset + i);
	if (!same || r->artifact == NULL || r->artifact->size != size)
		return model_fail(m,
		                  "GetArtifact of %s of job %llu from %llu answered other bytes "
		                  "than were uploaded",
		                  rq->path, (unsigned long long)j->id,
		                  (unsigned long long)rq->offset);
	return 0;
}

int model_art_check(const model_job *j, Whatsnext__V1__Artifact *const *v, size_t n, char *why,
                    size_t len)
{
	bool ok = n == j->art_n;
	for (size_t i = 0; ok && i < n; i++)
		ok = strcmp(v[i]->path, model_art_path(j->art_list[i])) == 0 &&
		     v[i]->stored == j->art_stored[i] &&
		     v[i]->size == model_art_size(j->id, j->art_attempt, j->art_list[i]);
	if (!ok)
		snprintf(why, len, "%zu artifact(s) that differ from the model's %zu", n, j->art_n);
	return ok ? 0 : -1;
}
