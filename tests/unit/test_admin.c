/* Unit tests for AdminService/Backup: a backup of a real store, opened again
 * as a second engine; the destinations it refuses; the reply taken on its own
 * thread and delivered later, once, even when the engine closes meanwhile. */
#include "test.h"

#include "fixture.h"
#include "err.h"
#include "util.h"

#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#define BACKUP M("AdminService", "Backup")

/* backup_dir of the engines open_at opens (NULL: anywhere). */
static const char *vault;

/* open_at opens an engine on dir on the real clock; deliver takes the
 * replies of parked requests. */
static wn_engine *open_at(const char *dir, wn_deliver_fn deliver)
{
	wn_engine_config cfg = wn_fixture_config();
	cfg.data_dir = dir;
	cfg.deliver = deliver;
	cfg.backup_dir = vault;
	cfg.clock = NULL;
	cfg.mono = NULL;
	return wn_fixture_open_with(&cfg);
}

static void mk(wn_engine *e)
{
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
}

static uint64_t submit(wn_engine *e)
{
	return wn_fixture_submit(e, "p", "t", 0);
}

/* fetch leases the next job to worker w; returns its id. */
static uint64_t fetch(wn_engine *e, uint32_t *attempt)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = "p";
	rq.worker = "w";
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Fetch"), &rq.base,
	                  &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	CHECK(r->job != NULL);
	uint64_t id = r->job->id;
	*attempt = r->job->attempt;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

static void complete(wn_engine *e, uint64_t id, uint32_t attempt)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = attempt;
	rq.worker = "w";
	rq.success = true;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), 0);
}

/* job_get returns job id's status and attempt, or status -1 if absent. */
static int job_get(wn_engine *e, uint64_t id, uint32_t *attempt)
{
	Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	rq.id = id;
	Whatsnext__V1__Job *j = NULL;
	int code =
	    call(e, M("JobService", "Get"), &rq.base, &whatsnext__v1__job__descriptor, (void **)&j);
	if (code != 0)
		return -1;
	int st = (int)j->status;
	if (attempt != NULL)
		*attempt = j->attempt;
	protobuf_c_message_free_unpacked(&j->base, NULL);
	return st;
}

static int backup(wn_engine *e, const char *dir, Whatsnext__V1__BackupResponse **out)
{
	Whatsnext__V1__BackupRequest rq = WHATSNEXT__V1__BACKUP_REQUEST__INIT;
	rq.dir = (char *)dir;
	return call(e, BACKUP, &rq.base, &whatsnext__v1__backup_response__descriptor, (void **)out);
}

/* entries returns the names in directory path, sorted, space-separated. */
static char *entries(const char *path)
{
	struct dirent **v = NULL;
	int n = scandir(path, &v, NULL, alphasort);
	CHECK(n >= 0);
	char *s = wn_xstrdup("");
	for (int i = 0; i < n; i++) {
		char *t = wn_xasprintf("%s%s ", s, v[i]->d_name);
		free(s);
		s = t;
		free(v[i]);
	}
	free(v);
	return s;
}

TEST(backup_holds_the_state_at_its_moment)
{
	wn_engine *e = open_at("data", NULL);
	mk(e);
	uint64_t first = submit(e);
	for (int i = 1; i < 40; i++)
		submit(e);
	uint32_t a1, a2;
	uint64_t done = fetch(e, &a1);
	complete(e, done, a1);
	uint64_t running = fetch(e, &a2);
	char *dir = wn_xasprintf("%s/bk", wn_test_tmpdir());
	Whatsnext__V1__BackupResponse *r = NULL;
	CHECK_EQ_INT(backup(e, dir, &r), 0);
	CHECK_EQ_STR(r->dir, dir);
	CHECK(r->files >= 3); /* at least CURRENT, a MANIFEST and a table */
	CHECK(r->bytes > 0);
	CHECK_EQ_INT(r->last_job_id, first + 39);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	struct stat st;
	CHECK(stat(dir, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0700);
	/* only the backup is left next to it: no staging directory */
	char *names = entries(wn_test_tmpdir());
	CHECK_EQ_STR(names, ". .. bk data ");
	free(names);
	/* a change after the backup is not in it */
	uint64_t later = submit(e);

	/* the backup opens as a data directory, beside the live one */
	wn_engine *b = open_at(dir, NULL);
	uint32_t att = 0;
	CHECK_EQ_INT(job_get(b, done, NULL), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	CHECK_EQ_INT(job_get(b, running, &att), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(att, a2);
	for (uint64_t id = first; id < first + 40; id++)
		if (id != done && id != running)
			CHECK_EQ_INT(job_get(b, id, NULL), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_INT(job_get(b, later, NULL), -1);
	/* the live server is untouched and goes on */
	CHECK_EQ_INT(job_get(e, later, NULL), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	complete(e, running, a2);
	CHECK_EQ_INT(job_get(b, running, NULL), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	wn_fixture_close(b);
	wn_fixture_close(e);
	free(dir);
}

TEST(backup_of_an_empty_store)
{
	wn_engine *e = open_at("data", NULL);
	char *dir = wn_xasprintf("%s/empty/", wn_test_tmpdir());
	Whatsnext__V1__BackupResponse *r = NULL;
	CHECK_EQ_INT(backup(e, dir, &r), 0);
	CHECK_EQ_INT(r->last_job_id, 0);
	dir[strlen(dir) - 1] = '\0'; /* named without the trailing slash */
	CHECK_EQ_STR(r->dir, dir);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	wn_fixture_close(e);
	free(dir);
}

/* refused: DIR gets a code and a message, and nothing changes on disk. */
static void refused(wn_engine *e, const char *dir, int code, const char *needle)
{
	char *before = entries(wn_test_tmpdir());
	char *data_before = entries("data");
	CHECK_EQ_INT(backup(e, dir, NULL), code);
	if (strstr(wn_fixture_msg(), needle) == NULL)
		printf("# message: %s\n", wn_fixture_msg());
	CHECK(strstr(wn_fixture_msg(), needle) != NULL);
	char *after = entries(wn_test_tmpdir());
	char *data_after = entries("data");
	CHECK_EQ_STR(after, before);
	CHECK_EQ_STR(data_after, data_before);
	free(before);
	free(after);
	free(data_before);
	free(data_after);
}

TEST(backup_refuses_bad_destinations)
{
	wn_engine *e = open_at("data", NULL);
	mk(e);
	submit(e);
	const char *t = wn_test_tmpdir();
	CHECK(mkdir("taken", 0755) == 0);
	FILE *f = fopen("taken/keep", "w");
	CHECK(f != NULL);
	fclose(f);
	f = fopen("plain", "w");
	CHECK(f != NULL);
	fclose(f);
	char *p;
	refused(e, "", WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "missing backup directory");
	refused(e, "bk", WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "not an absolute path");
	refused(e, "./bk", WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "not an absolute path");
	refused(e, p = wn_xasprintf("%s/taken", t), WHATSNEXT__V1__CODE__ALREADY_EXISTS,
	        "already exists");
	free(p);
	refused(e, p = wn_xasprintf("%s/taken/", t), WHATSNEXT__V1__CODE__ALREADY_EXISTS,
	        "already exists");
	free(p);
	refused(e, p = wn_xasprintf("%s/plain", t), WHATSNEXT__V1__CODE__ALREADY_EXISTS,
	        "already exists");
	free(p);
	refused(e, p = wn_xasprintf("%s/data", t), WHATSNEXT__V1__CODE__ALREADY_EXISTS,
	        "already exists");
	free(p);
	refused(e, p = wn_xasprintf("%s/data/bk", t), WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	        "inside the server's data directory");
	free(p);
	refused(e, p = wn_xasprintf("%s/taken/../data/bk", t),
	        WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "inside the server's data directory");
	free(p);
	refused(e, p = wn_xasprintf("%s/nope/bk", t), WHATSNEXT__V1__CODE__NOT_FOUND,
	        "does not exist");
	free(p);
	refused(e, p = wn_xasprintf("%s/plain/bk", t), WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	        "a part of its path is a file, not a directory");
	free(p);
	refused(e, p = wn_xasprintf("%s/a\nb", t), WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	        "control character");
	free(p);
	char *longp = wn_xmalloc(5000);
	memset(longp, 'a', 4999);
	longp[0] = '/';
	longp[4999] = '\0';
	refused(e, longp, WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "too long");
	free(longp);
	/* the existing directory kept its contents */
	char *kept = entries("taken");
	CHECK_EQ_STR(kept, ". .. keep ");
	free(kept);
	wn_fixture_close(e);
}

TEST(backup_stays_inside_backup_dir)
{
	CHECK(mkdir("vault", 0700) == 0);
	char *v = wn_xasprintf("%s/vault", wn_test_tmpdir());
	vault = v;
	wn_engine *e = open_at("data", NULL);
	vault = NULL;
	const char *t = wn_test_tmpdir();
	char *p;
	refused(e, p = wn_xasprintf("%s/elsewhere", t), WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	        "keeps backups inside");
	free(p);
	refused(e, p = wn_xasprintf("%s/vault/../elsewhere", t),
	        WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "keeps backups inside");
	free(p);
	CHECK(symlink(t, "vault/out") == 0);
	refused(e, p = wn_xasprintf("%s/vault/out/bk", t), WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	        "keeps backups inside");
	free(p);
	Whatsnext__V1__BackupResponse *r = NULL;
	CHECK_EQ_INT(backup(e, p = wn_xasprintf("%s/vault/b1", t), &r), 0);
	free(p);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	CHECK(mkdir("vault/nightly", 0700) == 0);
	CHECK_EQ_INT(backup(e, p = wn_xasprintf("%s/vault/nightly/b2", t), &r), 0);
	free(p);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	wn_fixture_close(e);
	free(v);
}

/* Replies delivered later, as the network layer receives them. */
static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dl_cv = PTHREAD_COND_INITIALIZER;
static int dl_count;
static uint8_t *dl_buf;
static size_t dl_len;
static void *dl_slot;

static void dl_deliver(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	(void)arg;
	(void)seq;
	pthread_mutex_lock(&dl_mu);
	dl_count++;
	free(dl_buf);
	dl_buf = buf;
	dl_len = len;
	dl_slot = slot;
	pthread_cond_broadcast(&dl_cv);
	pthread_mutex_unlock(&dl_mu);
}

/* serve sends a Backup of dir with request id through wn_engine_serve, as
 * the network layer does; returns the immediate reply (NULL: parked). */
static uint8_t *serve(wn_engine *e, const char *dir, uint64_t id, void *slot, size_t *len)
{
	Whatsnext__V1__BackupRequest in = WHATSNEXT__V1__BACKUP_REQUEST__INIT;
	in.dir = (char *)dir;
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = id;
	rq.method = BACKUP;
	size_t bl;
	rq.body.data = wn_message_pack(&in.base, &bl);
	rq.body.len = bl;
	size_t n;
	uint8_t *buf = wn_message_pack(&rq.base, &n);
	free(rq.body.data);
	wn_reply r;
	wn_engine_serve(e, buf, n, slot, &r);
	free(buf);
	*len = r.len;
	return r.buf;
}

static Whatsnext__V1__Response *dl_wait(int count)
{
	pthread_mutex_lock(&dl_mu);
	while (dl_count < count)
		pthread_cond_wait(&dl_cv, &dl_mu);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, dl_len, dl_buf);
	pthread_mutex_unlock(&dl_mu);
	CHECK(r != NULL);
	return r;
}

TEST(backup_answers_later_and_once)
{
	dl_count = 0;
	wn_engine *e = open_at("data", dl_deliver);
	mk(e);
	uint64_t id = submit(e);
	char *dir = wn_xasprintf("%s/bk", wn_test_tmpdir());
	int slot;
	size_t len = 0;
	CHECK(serve(e, dir, 77, &slot, &len) == NULL); /* parked */
	Whatsnext__V1__Response *r = dl_wait(1);
	CHECK(dl_slot == &slot);
	CHECK_EQ_INT(r->id, 77);
	CHECK_EQ_INT(r->code, 0);
	Whatsnext__V1__BackupResponse *b =
	    whatsnext__v1__backup_response__unpack(NULL, r->body.len, r->body.data);
	CHECK(b != NULL);
	CHECK_EQ_INT(b->last_job_id, id);
	whatsnext__v1__backup_response__free_unpacked(b, NULL);
	whatsnext__v1__response__free_unpacked(r, NULL);
	/* the same request again (a resend) gets the first answer, not
	 * ALREADY_EXISTS */
	uint8_t *again = serve(e, dir, 77, &slot, &len);
	CHECK(again != NULL);
	r = whatsnext__v1__response__unpack(NULL, len, again);
	CHECK(r != NULL);
	CHECK_EQ_INT(r->code, 0);
	whatsnext__v1__response__free_unpacked(r, NULL);
	free(again);
	/* a new request for it is refused */
	again = serve(e, dir, 78, &slot, &len);
	CHECK(again != NULL);
	r = whatsnext__v1__response__unpack(NULL, len, again);
	CHECK_EQ_INT(r->code, WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	whatsnext__v1__response__free_unpacked(r, NULL);
	free(again);
	/* closing the engine waits for a backup in progress and answers it */
	char *dir2 = wn_xasprintf("%s/bk2", wn_test_tmpdir());
	CHECK(serve(e, dir2, 79, &slot, &len) == NULL);
	wn_fixture_close(e);
	pthread_mutex_lock(&dl_mu);
	CHECK_EQ_INT(dl_count, 2);
	pthread_mutex_unlock(&dl_mu);
	r = dl_wait(2);
	CHECK_EQ_INT(r->id, 79);
	CHECK_EQ_INT(r->code, 0);
	whatsnext__v1__response__free_unpacked(r, NULL);
	struct stat st;
	CHECK(stat(dir2, &st) == 0 && S_ISDIR(st.st_mode));
	free(dl_buf);
	dl_buf = NULL;
	free(dir);
	free(dir2);
}

TEST_MAIN()
