/* test_artifacts: the server's side of artifacts (artifacts.h) through its
 * methods: uploads in chunks, checked (lease, order, size, sha256, limits)
 * so that a bad one changes nothing; the list of a Complete; reading back;
 * a new attempt, retention, a task's delete and a restart keeping the bytes
 * stored per project right. */
#include "fixture.h"
#include "test.h"

#include "digest.h"

#include <stdlib.h>
#include <string.h>

/* The worker every upload comes from. */
#define W "w1"

static char *sha_of(const char *data, size_t n)
{
	static char hex[WN_DIGEST_HEX + 1];
	wn_digest *d = wn_digest_new();
	wn_digest_add(d, data, n);
	wn_digest_end(d, hex);
	return hex;
}

/* put sends bytes [off, off + n) of file path (all of it: whole, size
 * bytes) of job id's attempt; the reply's code, *got the bytes received. */
static int put(wn_engine *e, uint64_t id, uint32_t att, const char *path, const char *whole,
               size_t size, size_t off, size_t n, uint64_t *got)
{
	Whatsnext__V1__PutArtifactRequest rq = WHATSNEXT__V1__PUT_ARTIFACT_REQUEST__INIT;
	rq.worker = W, rq.job_id = id, rq.attempt = att, rq.path = (char *)path;
	rq.size = size, rq.offset = off;
	rq.sha256 = sha_of(whole, size);
	rq.data.data = (uint8_t *)whole + off, rq.data.len = n;
	Whatsnext__V1__PutArtifactResponse *r = NULL;
	int rc = call(e, M("QueueService", "PutArtifact"), &rq.base,
	              &whatsnext__v1__put_artifact_response__descriptor, (void **)&r);
	if (got != NULL)
		*got = r ? r->received : 0;
	if (r != NULL)
		whatsnext__v1__put_artifact_response__free_unpacked(r, NULL);
	return rc;
}

/* stored returns the artifact bytes project p stores (QueueService/Stats). */
static uint64_t stored(wn_engine *e, const char *p)
{
	Whatsnext__V1__StatsRequest st = WHATSNEXT__V1__STATS_REQUEST__INIT;
	st.project = (char *)p;
	Whatsnext__V1__StatsResponse *sr = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &st.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&sr),
	             0);
	uint64_t n = sr ? sr->projects[0]->artifact_bytes : 0;
	whatsnext__v1__stats_response__free_unpacked(sr, NULL);
	return n;
}

/* complete ends job id's attempt (ok: with success) with the artifacts
 * v[0..n). */
static int complete(wn_engine *e, uint64_t id, uint32_t att, bool ok, Whatsnext__V1__Artifact **v,
                    size_t n)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id, rq.attempt = att, rq.worker = W, rq.success = ok;
	rq.artifacts = v, rq.n_artifacts = n;
	return call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL);
}

static Whatsnext__V1__Artifact *art(const char *path, const char *whole, size_t size,
                                    const char *note)
{
	static Whatsnext__V1__Artifact pool[8];
	static char sums[8][WN_DIGEST_HEX + 1];
	static int next;
	Whatsnext__V1__Artifact *a = &pool[next % 8];
	char *sum = sums[next++ % 8];
	whatsnext__v1__artifact__init(a);
	a->path = (char *)path, a->size = size, a->stored = note == NULL;
	a->note = (char *)(note ? note : "");
	a->sha256 = whole ? strcpy(sum, sha_of(whole, size)) : "";
	return a;
}

/* get reads artifact path of job id from off, at most max bytes, into buf;
 * returns the code, *n the bytes and *eof. */
static int get(wn_engine *e, uint64_t id, const char *path, uint64_t off, uint32_t max, char *buf,
               size_t *n, bool *eof)
{
	Whatsnext__V1__GetArtifactRequest rq = WHATSNEXT__V1__GET_ARTIFACT_REQUEST__INIT;
	rq.job_id = id, rq.path = (char *)path, rq.offset = off, rq.max_bytes = max;
	Whatsnext__V1__GetArtifactResponse *r = NULL;
	int rc = call(e, M("JobService", "GetArtifact"), &rq.base,
	              &whatsnext__v1__get_artifact_response__descriptor, (void **)&r);
	*n = r ? r->data.len : 0;
	*eof = r ? r->eof : false;
	if (r != NULL) {
		if (r->data.len > 0)
			memcpy(buf, r->data.data, r->data.len);
		whatsnext__v1__get_artifact_response__free_unpacked(r, NULL);
	}
	return rc;
}

/* start opens an engine with project p, task t and job 1 running as W. */
static wn_engine *start(const wn_engine_config *cfg, uint64_t *id, uint32_t *att)
{
	wn_engine *e = wn_fixture_open_with(cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	*id = wn_fixture_submit(e, "p", "t", 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, att), *id);
	return e;
}

#define CODE(x) WHATSNEXT__V1__CODE__##x

/* put_all uploads the whole file path in chunks of 1 MiB. */
static void put_all(wn_engine *e, uint64_t id, uint32_t att, const char *path, const char *data,
                    size_t size)
{
	size_t off = 0;
	do {
		size_t n = size - off < (1u << 20) ? size - off : (1u << 20);
		uint64_t got = 0;
		CHECK_EQ_INT(put(e, id, att, path, data, size, off, n, &got), 0);
		off += n;
		CHECK_EQ_INT(got, off);
	} while (off < size);
}

TEST(bad_uploads_change_nothing)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.artifact_max_file_mb = 1;
	cfg.artifact_max_project_mb = 2;
	uint64_t id, got;
	uint32_t att;
	wn_engine *e = start(&cfg, &id, &att);
	const char *data = "0123456789abcdef"; /* a file of its first 10 bytes */
	/* out of order, past the size, a stale attempt, bad paths */
	CHECK_EQ_INT(put(e, id, att, "a", data, 10, 4, 2, NULL), CODE(FAILED_PRECONDITION));
	CHECK_EQ_INT(put(e, id, att, "a", data, 10, 8, 4, NULL), CODE(INVALID_ARGUMENT));
	CHECK_EQ_INT(put(e, id, att + 1, "a", data, 10, 0, 4, NULL), CODE(FAILED_PRECONDITION));
	const char *bad[] = {"/etc/x", "../x", "a/../b", "a//b", "./a", "a/", "", "a\tb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK_EQ_INT(put(e, id, att, bad[i], data, 10, 0, 10, NULL),
		             CODE(INVALID_ARGUMENT));
	CHECK_EQ_INT(stored(e, "p"), 0);
	/* a chunk sent again is answered as before */
	CHECK_EQ_INT(put(e, id, att, "a", data, 10, 0, 4, &got), 0);
	CHECK_EQ_INT(put(e, id, att, "a", data, 10, 0, 4, &got), 0);
	CHECK_EQ_INT(got, 4);
	CHECK_EQ_INT(put(e, id, att, "a", data, 10, 4, 6, &got), 0);
	CHECK_EQ_INT(got, 10);
	/* over the limit per file, then per project */
	char *buf = calloc(1, 2u << 20);
	CHECK_EQ_INT(put(e, id, att, "big", buf, (1u << 20) + 1, 0, 1000, NULL),
	             CODE(RESOURCE_EXHAUSTED));
	CHECK(strstr(wn_fixture_msg(), "artifact_max_file_mb") != NULL);
	put_all(e, id, att, "m1", buf, 1u << 20);
	CHECK_EQ_INT(put(e, id, att, "m2", buf, 1u << 20, 0, 1000, NULL), CODE(RESOURCE_EXHAUSTED));
	CHECK(strstr(wn_fixture_msg(), "artifact_max_project_mb") != NULL);
	CHECK_EQ_INT(stored(e, "p"), (1u << 20) + 10);
	/* bytes whose sha256 is not the one announced: the last chunk is refused */
	Whatsnext__V1__PutArtifactRequest rq = WHATSNEXT__V1__PUT_ARTIFACT_REQUEST__INIT;
	rq.worker = W, rq.job_id = id, rq.attempt = att, rq.path = "s", rq.size = 3;
	rq.sha256 = sha_of("abd", 3), rq.data.data = (uint8_t *)"abc", rq.data.len = 3;
	CHECK_EQ_INT(call(e, M("QueueService", "PutArtifact"), &rq.base, NULL, NULL),
	             CODE(INVALID_ARGUMENT));
	CHECK(strstr(wn_fixture_msg(), "sha256") != NULL);
	CHECK_EQ_INT(stored(e, "p"), (1u << 20) + 10);
	/* a Complete with a bad list changes nothing either */
	Whatsnext__V1__Artifact *v[] = {art("a", data, 10, NULL), art("x", NULL, 0, "")};
	CHECK_EQ_INT(complete(e, id, att, true, v, 2), CODE(INVALID_ARGUMENT));
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	/* nor one naming a file twice */
	Whatsnext__V1__Artifact *twice[] = {art("a", data, 10, NULL), art("a", data, 10, NULL)};
	CHECK_EQ_INT(complete(e, id, att, true, twice, 2), CODE(INVALID_ARGUMENT));
	CHECK(strstr(wn_fixture_msg(), "twice") != NULL);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	free(buf);
	wn_fixture_close(e);
}

TEST(complete_lists_them_and_get_reads_them_back)
{
	wn_engine_config cfg = wn_fixture_config();
	uint64_t id;
	uint32_t att;
	wn_engine *e = start(&cfg, &id, &att);
	size_t size = (5u << 19) + 7; /* 2.5 MiB and a bit: three chunks */
	char *data = malloc(size), *back = malloc(size);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)(i * 7 + i / 251);
	put_all(e, id, att, "out/model.bin", data, size);
	put_all(e, id, att, "unlisted", "zz", 2);
	CHECK_EQ_INT(put(e, id, att, "half", data, 100, 0, 50, NULL), 0);
	CHECK_EQ_INT(stored(e, "p"), size + 2 + 100);
	/* readable before the Complete */
	size_t n;
	bool eof;
	CHECK_EQ_INT(get(e, id, "unlisted", 0, 0, back, &n, &eof), 0);
	CHECK(n == 2 && eof && memcmp(back, "zz", 2) == 0);
	Whatsnext__V1__Artifact *v[] = {art("out/model.bin", data, size, NULL),
	                                art("half", data, 100, NULL),
	                                art("link", NULL, 0, "refused: a symbolic link")};
	CHECK_EQ_INT(complete(e, id, att, true, v, 3), 0);
	CHECK_EQ_INT(stored(e, "p"), size);
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->n_artifacts, 3);
	CHECK(j->artifacts[0]->stored && j->artifacts[0]->note[0] == '\0');
	CHECK(!j->artifacts[1]->stored);
	CHECK_EQ_STR(j->artifacts[1]->note, "its content did not reach the server");
	CHECK(!j->artifacts[2]->stored);
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* read in pieces that cross the chunks, from anywhere */
	size_t off = 0;
	do {
		CHECK_EQ_INT(get(e, id, "out/model.bin", off, 700000, back + off, &n, &eof), 0);
		off += n;
	} while (!eof && n > 0);
	CHECK(off == size && memcmp(back, data, size) == 0);
	CHECK_EQ_INT(get(e, id, "out/model.bin", 1500001, 10, back, &n, &eof), 0);
	CHECK(n == 10 && !eof && memcmp(back, data + 1500001, 10) == 0);
	CHECK_EQ_INT(get(e, id, "out/model.bin", size, 0, back, &n, &eof), 0);
	CHECK(n == 0 && eof);
	CHECK_EQ_INT(get(e, id, "out/model.bin", size + 1, 0, back, &n, &eof),
	             CODE(INVALID_ARGUMENT));
	CHECK_EQ_INT(get(e, id, "link", 0, 0, back, &n, &eof), CODE(FAILED_PRECONDITION));
	CHECK(strstr(wn_fixture_msg(), "symbolic link") != NULL);
	CHECK_EQ_INT(get(e, id, "unlisted", 0, 0, back, &n, &eof), CODE(NOT_FOUND));
	/* the same after a restart, the bytes stored counted again */
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(stored(e, "p"), size);
	CHECK_EQ_INT(get(e, id, "out/model.bin", 0, 5, back, &n, &eof), 0);
	CHECK(n == 5 && memcmp(back, data, 5) == 0);
	free(data);
	free(back);
	wn_fixture_close(e);
}

TEST(a_new_attempt_retention_and_a_delete_free_the_bytes)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.retention_ms = 10000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 1);
	wn_fixture_task(e, "p", "u", 0, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), id);
	put_all(e, id, att, "a", "first", 5);
	Whatsnext__V1__Artifact *v[] = {art("a", "first", 5, NULL)};
	CHECK_EQ_INT(complete(e, id, att, false, v, 1), 0); /* retried */
	CHECK_EQ_INT(stored(e, "p"), 5);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), id);
	CHECK_EQ_INT(att, 2);
	/* the first upload of the new attempt takes the old content away */
	put_all(e, id, att, "b", "second", 6);
	CHECK_EQ_INT(stored(e, "p"), 6);
	char back[16];
	size_t n;
	bool eof;
	CHECK_EQ_INT(get(e, id, "a", 0, 0, back, &n, &eof), CODE(NOT_FOUND));
	Whatsnext__V1__Artifact *w[] = {art("b", "second", 6, NULL)};
	CHECK_EQ_INT(complete(e, id, att, true, w, 1), 0);
	CHECK_EQ_INT(get(e, id, "b", 0, 0, back, &n, &eof), 0);
	/* another job's, gone with its task */
	uint64_t other = wn_fixture_submit(e, "p", "u", 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), other);
	put_all(e, other, att, "c", "third!!", 7);
	CHECK_EQ_INT(stored(e, "p"), 13);
	Whatsnext__V1__DeleteTaskRequest dt = WHATSNEXT__V1__DELETE_TASK_REQUEST__INIT;
	dt.project = "p", dt.name = "u", dt.force = true;
	CHECK_EQ_INT(call(e, M("TaskService", "Delete"), &dt.base, NULL, NULL), 0);
	CHECK_EQ_INT(stored(e, "p"), 6);
	/* the first, at the end of its retention */
	wn_fixture_now += 11000;
	CHECK_EQ_INT(wn_engine_expire_finished(e), 1);
	CHECK_EQ_INT(stored(e, "p"), 0);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(stored(e, "p"), 0);
	wn_fixture_close(e);
}

TEST(files_stored_before_a_restart_go_when_the_complete_leaves_them_out)
{
	wn_engine_config cfg = wn_fixture_config();
	uint64_t id;
	uint32_t att;
	wn_engine *e = start(&cfg, &id, &att);
	put_all(e, id, att, "kept", "abc", 3);
	put_all(e, id, att, "left", "de", 2);
	e = wn_fixture_restart(e);
	Whatsnext__V1__Artifact *v[] = {art("kept", "abc", 3, NULL)};
	CHECK_EQ_INT(complete(e, id, att, true, v, 1), 0);
	CHECK_EQ_INT(stored(e, "p"), 3);
	char back[8];
	size_t n;
	bool eof;
	CHECK_EQ_INT(get(e, id, "left", 0, 0, back, &n, &eof), CODE(NOT_FOUND));
	CHECK_EQ_INT(get(e, id, "kept", 0, 0, back, &n, &eof), 0);
	/* a job that stored nothing completes with nothing to free */
	uint64_t other = wn_fixture_submit(e, "p", "t", 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), other);
	CHECK_EQ_INT(complete(e, other, att, true, NULL, 0), 0);
	CHECK_EQ_INT(stored(e, "p"), 3);
	wn_fixture_close(e);
}

/* cancel asks for job id's cancel. */
static void cancel(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__JobIdRequest rq = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	rq.id = id;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &rq.base, NULL, NULL), 0);
}

/* An attempt that ends without a Complete (its worker died: the lease
 * expired, with the job run again or failed, or a cancelled run's lease
 * ended) leaves no bytes behind: no Complete may list them any more. */
TEST(an_attempt_that_ends_without_a_complete_frees_its_uploads)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 1000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 2, 0);
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), id);
	uint64_t got = 0;
	CHECK_EQ_INT(put(e, id, att, "half", "abcdef", 6, 0, 3, &got), 0);
	CHECK_EQ_INT(stored(e, "p"), 6);
	wn_fixture_now += 1001; /* lost: run again */
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(stored(e, "p"), 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), id);
	put_all(e, id, att, "whole", "xyz", 3);
	CHECK_EQ_INT(stored(e, "p"), 3);
	wn_fixture_now += 1001; /* lost again: max_attempts 2, failed */
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_FAILED);
	CHECK_EQ_INT(stored(e, "p"), 0);
	/* a cancelled run whose worker never reports */
	uint64_t other = wn_fixture_submit(e, "p", "t", 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", W, &att), other);
	put_all(e, other, att, "c", "1234", 4);
	cancel(e, other);
	CHECK_EQ_INT(stored(e, "p"), 4);
	wn_fixture_now += 1001;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, other), WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED);
	CHECK_EQ_INT(stored(e, "p"), 0);
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(stored(e, "p"), 0);
	wn_fixture_close(e);
}

TEST_MAIN()
