/* auth: the secrets' hashes and their constant-time compare, the token of a
 * Request as sent, and named tokens on a real engine: made, used, refused
 * when wrong, revoked or not allowed, kept across a restart, never stored in
 * clear; the bootstrap admin token file. */
#include "auth.h"
#include "envelope.h"
#include "fixture.h"
#include "methods.h"
#include "test.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define CODE(x) WHATSNEXT__V1__CODE__##x

TEST(equal_compares_every_byte)
{
	uint8_t a[32], b[32];
	for (int i = 0; i < 32; i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	CHECK(wn_auth_equal(a, b, 32));
	b[0] ^= 1;
	CHECK(!wn_auth_equal(a, b, 32));
	b[0] ^= 1;
	b[31] ^= 0x80;
	CHECK(!wn_auth_equal(a, b, 32));
	CHECK(wn_auth_equal(a, b, 31));
}

TEST(a_secret_matches_its_exact_bytes_only)
{
	uint8_t h[WN_AUTH_HASH_LEN];
	wn_auth_hash("secret-1234567890", 17, h);
	CHECK(wn_auth_secret_matches((const uint8_t *)"secret-1234567890", 17, h));
	/* one byte less, one byte more, one byte other */
	CHECK(!wn_auth_secret_matches((const uint8_t *)"secret-123456789", 16, h));
	CHECK(!wn_auth_secret_matches((const uint8_t *)"secret-1234567890x", 18, h));
	CHECK(!wn_auth_secret_matches((const uint8_t *)"secret-1234567891", 17, h));
	/* a NUL and more after the secret is another secret */
	CHECK(!wn_auth_secret_matches((const uint8_t *)"secret-1234567890\0junk", 22, h));
	CHECK(!wn_auth_secret_matches((const uint8_t *)"", 0, h));
}

TEST(new_secrets_are_random_base32)
{
	char a[WN_AUTH_SECRET_LEN], b[WN_AUTH_SECRET_LEN];
	wn_auth_secret_new(a);
	wn_auth_secret_new(b);
	CHECK_EQ_INT((int)strlen(a), WN_AUTH_SECRET_LEN - 1);
	CHECK(strncmp(a, "wn_", 3) == 0);
	CHECK_EQ_INT((int)strspn(a + 3, "abcdefghijklmnopqrstuvwxyz234567"), 52);
	CHECK(strcmp(a, b) != 0);
}

/* request packs a Request of method with token (toklen bytes, NULs kept). */
static uint8_t *request(const char *method, const char *token, size_t toklen, size_t *len)
{
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = wn_random_u64() | 1;
	rq.method = (char *)method;
	size_t n = 0;
	uint8_t *env = wn_message_pack(&rq.base, &n);
	uint8_t *buf = malloc(n + toklen + 8);
	memcpy(buf, env, n);
	free(env);
	if (token != NULL) {
		buf[n++] = 4 << 3 | 2; /* field 4, length-delimited */
		buf[n++] = (uint8_t)toklen;
		memcpy(buf + n, token, toklen);
		n += toklen;
	}
	*len = n;
	return buf;
}

TEST(raw_token_is_the_field_as_sent)
{
	size_t len, tl;
	const uint8_t *t;
	uint8_t *buf = request(M("ProjectService", "List"), "ab\0cd", 5, &len);
	wn_auth_raw_token(buf, len, &t, &tl);
	CHECK(t != NULL);
	CHECK_EQ_INT((int)tl, 5);
	CHECK(memcmp(t, "ab\0cd", 5) == 0);
	free(buf);
	buf = request(M("ProjectService", "List"), NULL, 0, &len);
	wn_auth_raw_token(buf, len, &t, &tl);
	CHECK(t == NULL && tl == 0);
	free(buf);
}

/* raw_code sends method with the token's toklen bytes and returns the code. */
static int raw_code(wn_engine *e, const char *method, const char *token, size_t toklen)
{
	size_t len;
	uint8_t *buf = request(method, token, toklen, &len);
	int code = wn_fixture_raw(e, buf, len, NULL);
	free(buf);
	return code;
}

/* make_token creates token name with role (and project, if any) and
 * returns its secret (malloc'd). */
static char *make_token(wn_engine *e, const char *name, int role, const char *project)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = (char *)name;
	t.role = role;
	char *projects[1] = {(char *)project};
	if (project != NULL) {
		t.projects = projects;
		t.n_projects = 1;
	}
	Whatsnext__V1__CreateTokenRequest rq = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	rq.token = &t;
	Whatsnext__V1__CreateTokenResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("TokenService", "Create"), &rq.base,
	                  &whatsnext__v1__create_token_response__descriptor, (void **)&r),
	             0);
	char *s = strdup(r->secret);
	whatsnext__v1__create_token_response__free_unpacked(r, NULL);
	return s;
}

/* dir_holds reports whether a file under dir holds the n bytes at s. */
static bool dir_holds(const char *dir, const char *s, size_t n)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found = dir_holds(path, s, n);
			continue;
		}
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		char *buf = malloc((size_t)st.st_size + 1);
		size_t got = fread(buf, 1, (size_t)st.st_size, f);
		fclose(f);
		found = memmem(buf, got, s, n) != NULL;
		free(buf);
	}
	closedir(d);
	return found;
}

TEST(tokens_turn_on_are_checked_revoked_and_kept)
{
	wn_engine *e = wn_fixture_open();
	/* no tokens: anyone, for anything */
	CHECK(!wn_auth_enabled(e));
	wn_fixture_project(e, "p");
	char *root = make_token(e, "root", WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN, NULL);
	CHECK(wn_auth_enabled(e));
	const char *list = M("ProjectService", "List");
	/* without a token, with a wrong one, with more bytes after a NUL:
	 * UNAUTHENTICATED, even for a method that does not exist */
	CHECK_EQ_INT(raw_code(e, list, NULL, 0), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(raw_code(e, M("NoService", "Nothing"), NULL, 0), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(raw_code(e, list, "wn_wrong", 8), CODE(UNAUTHENTICATED));
	char junk[128];
	size_t rl = strlen(root);
	memcpy(junk, root, rl);
	memcpy(junk + rl, "\0junk", 5);
	CHECK_EQ_INT(raw_code(e, list, junk, rl + 5), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(raw_code(e, list, root, rl - 1), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(raw_code(e, list, root, rl), 0);
	CHECK_EQ_INT(raw_code(e, M("NoService", "Nothing"), root, rl), CODE(UNIMPLEMENTED));

	wn_fixture_token = root;
	char *bob = make_token(e, "bob", WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER, NULL);
	/* a reader reads, and may not change */
	wn_fixture_token = bob;
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "q";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             CODE(PERMISSION_DENIED));
	CHECK(strstr(wn_fixture_msg(), "role reader") != NULL);
	CHECK_EQ_INT(raw_code(e, list, bob, strlen(bob)), 0);

	/* kept across a restart, and never stored in clear */
	e = wn_fixture_restart(e);
	CHECK(wn_auth_enabled(e));
	CHECK_EQ_INT(raw_code(e, list, bob, strlen(bob)), 0);
	CHECK_EQ_INT(raw_code(e, list, NULL, 0), CODE(UNAUTHENTICATED));
	wn_fixture_close(e);
	CHECK(!dir_holds("data", root, rl));
	CHECK(!dir_holds("data", bob, strlen(bob)));
	CHECK(dir_holds("data", "bob", 3)); /* the walk does read the files */
	e = wn_fixture_open();

	/* revoked: refused from the next call on, across a restart */
	wn_fixture_token = root;
	Whatsnext__V1__RevokeTokenRequest rv = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	rv.name = "bob";
	CHECK_EQ_INT(call(e, M("TokenService", "Revoke"), &rv.base, NULL, NULL), 0);
	CHECK_EQ_INT(raw_code(e, list, bob, strlen(bob)), CODE(UNAUTHENTICATED));
	e = wn_fixture_restart(e);
	CHECK_EQ_INT(raw_code(e, list, bob, strlen(bob)), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(call(e, M("TokenService", "Revoke"), &rv.base, NULL, NULL), CODE(NOT_FOUND));
	wn_fixture_token = NULL;
	wn_fixture_close(e);
	free(root);
	free(bob);
}

TEST(a_user_limited_to_a_project_names_only_it)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "a");
	wn_fixture_project(e, "b");
	wn_fixture_task(e, "a", "t", 0, 0);
	wn_fixture_task(e, "b", "t", 0, 0);
	uint64_t jb = wn_fixture_submit(e, "b", "t", 0);
	char *root = make_token(e, "root", WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN, NULL);
	wn_fixture_token = root;
	char *alice = make_token(e, "alice", WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER, "a");
	wn_fixture_token = alice;
	uint64_t ja = wn_fixture_submit(e, "a", "t", 0);
	Whatsnext__V1__Job *j = wn_fixture_job(e, ja);
	CHECK_EQ_STR(j->submitter, "alice");
	whatsnext__v1__job__free_unpacked(j, NULL);
	/* another project by name, by job, or every project */
	Whatsnext__V1__JobIdRequest cancel = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	cancel.id = jb;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &cancel.base, NULL, NULL),
	             CODE(PERMISSION_DENIED));
	CHECK(strstr(wn_fixture_msg(), "belongs to project \"b\", which is not one of them") !=
	      NULL);
	Whatsnext__V1__ListJobsRequest lj = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lj.base, NULL, NULL),
	             CODE(PERMISSION_DENIED));
	lj.project = "a";
	lj.submitter = "alice";
	Whatsnext__V1__ListJobsResponse *l = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lj.base,
	                  &whatsnext__v1__list_jobs_response__descriptor, (void **)&l),
	             0);
	CHECK_EQ_INT((int)l->n_jobs, 1);
	whatsnext__v1__list_jobs_response__free_unpacked(l, NULL);
	wn_fixture_token = root;
	CHECK_EQ_INT(wn_fixture_job_status(e, jb), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	wn_fixture_token = NULL;
	wn_fixture_close(e);
	free(root);
	free(alice);
}

/* heartbeat_as sends a Heartbeat of worker (no leases) and returns its code. */
static int heartbeat_as(wn_engine *e, const char *worker)
{
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = (char *)worker;
	return call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL);
}

TEST(a_worker_token_acts_under_its_names_and_patterns)
{
	wn_engine *e = wn_fixture_open();
	char *root = make_token(e, "root", WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN, NULL);
	wn_fixture_token = root;
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	char *workers[] = {"gpu-*", "lab1"};
	t.name = "fleet";
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER;
	t.workers = workers;
	t.n_workers = 2;
	Whatsnext__V1__CreateTokenRequest rq = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	rq.token = &t;
	Whatsnext__V1__CreateTokenResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("TokenService", "Create"), &rq.base,
	                  &whatsnext__v1__create_token_response__descriptor, (void **)&r),
	             0);
	char *fleet = strdup(r->secret);
	whatsnext__v1__create_token_response__free_unpacked(r, NULL);
	char *solo = make_token(e, "solo", WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER, NULL);
	/* a name the token holds is let through */
	wn_fixture_token = fleet;
	CHECK_EQ_INT(heartbeat_as(e, "gpu-7"), 0);
	CHECK_EQ_INT(heartbeat_as(e, "lab1"), 0);
	CHECK_EQ_INT(heartbeat_as(e, "lab2"), CODE(PERMISSION_DENIED));
	CHECK(strstr(wn_fixture_msg(), "may not act as worker \"lab2\"") != NULL);
	CHECK_EQ_INT(heartbeat_as(e, "cpu-gpu-1"), CODE(PERMISSION_DENIED));
	CHECK_EQ_INT(heartbeat_as(e, ""), CODE(PERMISSION_DENIED));
	/* without names, the token's own */
	wn_fixture_token = solo;
	CHECK_EQ_INT(heartbeat_as(e, "solo"), 0);
	CHECK_EQ_INT(heartbeat_as(e, "gpu-7"), CODE(PERMISSION_DENIED));
	/* a pattern is for worker tokens only, and must be a name with * and ? */
	wn_fixture_token = root;
	t.name = "bad";
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER;
	CHECK_EQ_INT(call(e, M("TokenService", "Create"), &rq.base, NULL, NULL),
	             CODE(INVALID_ARGUMENT));
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER;
	workers[0] = "../x";
	CHECK_EQ_INT(call(e, M("TokenService", "Create"), &rq.base, NULL, NULL),
	             CODE(INVALID_ARGUMENT));
	wn_fixture_token = NULL;
	wn_fixture_close(e);
	free(root);
	free(fleet);
	free(solo);
}

TEST(admin_token_file_readable_by_others_is_refused)
{
	int fd = open("admin.token", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	const char *secret = "a-long-enough-admin-secret\n";
	CHECK(write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret));
	close(fd);
	chmod("admin.token", 0644);
	wn_engine_config cfg = wn_fixture_config();
	cfg.admin_token_file = "admin.token";
	wn_engine *e = NULL;
	char *err = NULL;
	CHECK(wn_fixture_try_open(&cfg, &e, &err) != 0);
	CHECK(err != NULL && strstr(err, "chmod 600") != NULL);
	free(err);
	chmod("admin.token", 0600);
	e = wn_fixture_open_with(&cfg);
	CHECK(wn_auth_enabled(e));
	const char *list = M("ProjectService", "List");
	CHECK_EQ_INT(raw_code(e, list, NULL, 0), CODE(UNAUTHENTICATED));
	CHECK_EQ_INT(raw_code(e, list, "a-long-enough-admin-secret", 26), 0);
	wn_fixture_close(e);
}

TEST_MAIN()
