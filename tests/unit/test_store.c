/* Unit tests for the store's failures: the fault seam, what a failed write,
 * sync or flush answers, recovery when the fault clears, the redo log that
 * keeps memory and disk equal, and the lock on the data directory. Real
 * RocksDB in each case's own directory. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "err.h"
#include "fault.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static wn_store *open_store(const char *dir, int durability)
{
	wn_fault_clear(); /* a case that failed may have left a rule */
	wn_store *s = NULL;
	char *err = NULL;
	int rv = wn_store_open(dir, durability, 20, &s, &err);
	if (rv != WN_OK)
		fprintf(stderr, "# open: %s\n", err);
	free(err);
	CHECK_OK(rv);
	return s;
}

/* put writes key=val in a batch of its own and returns its ticket. */
static uint64_t put(wn_store *s, const char *key, const char *val)
{
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, key, strlen(key), val, strlen(val));
	uint64_t seq = 0;
	CHECK_OK(wn_store_write(s, b, &seq));
	wn_batch_free(b);
	CHECK(seq > 0);
	return seq;
}

/* has reports whether key reads as val. */
static bool has(wn_store *s, const char *key, const char *val)
{
	char *v = NULL;
	size_t len = 0;
	if (wn_store_get(s, key, strlen(key), &v, &len) != WN_OK)
		return false;
	bool same = len == strlen(val) && memcmp(v, val, len) == 0;
	free(v);
	return same;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* recover_within calls wn_store_recover until it works, at most tries times
 * 50 ms apart (it retries at most every 200 ms); returns the attempts made. */
static int recover_within(wn_store *s, int tries)
{
	for (int i = 1; i <= tries; i++) {
		if (wn_store_recover(s) == WN_OK)
			return i;
		sleep_ms(50);
	}
	CHECK(!"the store did not recover");
	return -1;
}

TEST(fault_specs_are_parsed_strictly)
{
	char *err = NULL;
	CHECK_OK(wn_fault_parse("write:after=100:count=5,sync:count=always:error=EIO,open", &err));
	static const struct {
		const char *spec, *msg;
	} bad[] = {
	    {"", "no fault given"},
	    {"fsync", "unknown operation \"fsync\""},
	    {"write:after=x", "after must be a whole number"},
	    {"write:after=-1", "after must be a whole number"},
	    {"write:after=1e3", "after must be a whole number"},
	    {"write:count=0", "count must be at least 1"},
	    {"write:error=ENOENT", "unknown error \"ENOENT\""},
	    {"write:every=2", "unknown setting \"every\""},
	    {"write:after", "\"after\" is not KEY=VALUE"},
	    {"write,write:after=2", "operation write is named twice"},
	    {"write,", "empty fault"},
	    {"write::count=1", "empty fault"},
	    {"write:", "empty fault"},
	};
	for (size_t i = 0; i < WN_ARRAY_LEN(bad); i++) {
		err = NULL;
		CHECK_EQ_INT(wn_fault_parse(bad[i].spec, &err), WN_EINVAL);
		if (strstr(err, bad[i].msg) == NULL)
			CHECK_EQ_STR(err, bad[i].msg);
		free(err);
	}
	/* a bad spec changed nothing: the rules of the good one still hold */
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(wn_fault_hit(WN_FAULT_WRITE), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(wn_fault_hit(WN_FAULT_WRITE), ENOSPC);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_WRITE), 0);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_SYNC), EIO);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_SYNC), EIO);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_OPEN), ENOSPC);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_OPEN), 0);
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_FLUSH), 0);
	wn_fault_clear();
	CHECK_EQ_INT(wn_fault_hit(WN_FAULT_SYNC), 0);
}

TEST(a_failed_write_is_lost_to_its_caller_and_stored_on_recovery)
{
	wn_store *s = open_store("db", WN_DURABILITY_SYNC);
	CHECK_OK(wn_store_wait(s, put(s, "a", "1")));
	wn_fault_set(WN_FAULT_WRITE, 0, WN_FAULT_ALWAYS, ENOSPC);
	uint64_t b = put(s, "b", "2");
	CHECK_EQ_INT(wn_store_wait(s, b), WN_EIO);
	CHECK_EQ_INT(wn_store_durable(s, b), WN_EIO);
	char why[512];
	CHECK(wn_store_failed(s, why, sizeof(why)));
	CHECK(strstr(why, "cannot write to the store: ") == why);
	CHECK(strstr(why, "No space left on device") != NULL);
	/* the database lacks b: reads would not see every write */
	CHECK(!wn_store_readable(s));
	CHECK(!has(s, "b", "2"));
	/* a write while failed is kept too, and lost to its caller */
	uint64_t c = put(s, "c", "3");
	CHECK_EQ_INT(wn_store_wait(s, c), WN_EIO);
	/* no recovery while the fault lasts */
	CHECK_EQ_INT(wn_store_recover(s), WN_EIO);
	sleep_ms(250);
	CHECK_EQ_INT(wn_store_recover(s), WN_EIO);
	CHECK(wn_store_failed(s, NULL, 0));
	wn_fault_clear();
	recover_within(s, 40);
	CHECK(!wn_store_failed(s, why, sizeof(why)));
	CHECK(wn_store_readable(s));
	/* every write is in the database, in order; b and c stay unacknowledged */
	CHECK(has(s, "a", "1") && has(s, "b", "2") && has(s, "c", "3"));
	CHECK_EQ_INT(wn_store_durable(s, b), WN_EIO);
	CHECK_EQ_INT(wn_store_wait(s, c), WN_EIO);
	uint64_t d = put(s, "b", "4");
	CHECK_OK(wn_store_wait(s, d));
	wn_store_close(s);
	s = open_store("db", WN_DURABILITY_SYNC);
	CHECK(has(s, "a", "1") && has(s, "b", "4") && has(s, "c", "3"));
	wn_store_close(s);
}

TEST(a_failed_sync_acknowledges_nothing_and_recovers_after_the_fault)
{
	wn_store *s = open_store("db", WN_DURABILITY_SYNC);
	CHECK_OK(wn_store_wait(s, put(s, "a", "1")));
	/* the first sync fails and so do the syncs of two recovery attempts */
	wn_fault_set(WN_FAULT_SYNC, 0, 3, EIO);
	uint64_t b = put(s, "b", "2");
	CHECK_EQ_INT(wn_store_wait(s, b), WN_EIO);
	char why[512];
	CHECK(wn_store_failed(s, why, sizeof(why)));
	CHECK(strstr(why, "Input/output error (injected fault)") != NULL);
	/* b reached the database, only its sync failed: reads see it */
	CHECK(wn_store_readable(s));
	CHECK(has(s, "b", "2"));
	CHECK(recover_within(s, 60) >= 3);
	CHECK_EQ_INT(wn_store_wait(s, b), WN_EIO);
	uint64_t c = put(s, "c", "3");
	CHECK_OK(wn_store_wait(s, c));
	CHECK_OK(wn_store_durable(s, c));
	wn_store_close(s);
	s = open_store("db", WN_DURABILITY_SYNC);
	CHECK(has(s, "a", "1") && has(s, "b", "2") && has(s, "c", "3"));
	wn_store_close(s);
}

TEST(a_failed_flush_in_relaxed_mode_acknowledges_nothing)
{
	wn_store *s = open_store("db", WN_DURABILITY_RELAXED);
	CHECK_OK(wn_store_wait(s, put(s, "a", "1")));
	wn_fault_set(WN_FAULT_FLUSH, 0, 1, ENOSPC);
	wn_fault_set(WN_FAULT_SYNC, 0, 1, ENOSPC);
	uint64_t b = put(s, "b", "2");
	CHECK_EQ_INT(wn_store_wait(s, b), WN_EIO);
	CHECK_EQ_INT(wn_store_flush(s), WN_EIO);
	recover_within(s, 40);
	wn_fault_clear();
	uint64_t c = put(s, "c", "3");
	CHECK_OK(wn_store_wait(s, c));
	CHECK_EQ_INT(wn_store_durable(s, b), WN_EIO);
	wn_store_close(s);
	s = open_store("db", WN_DURABILITY_RELAXED);
	CHECK(has(s, "a", "1") && has(s, "b", "2") && has(s, "c", "3"));
	wn_store_close(s);
}

TEST(a_failed_reopen_closes_the_database_until_one_works)
{
	wn_store *s = open_store("db", WN_DURABILITY_SYNC);
	CHECK_OK(wn_store_wait(s, put(s, "a", "1")));
	wn_fault_set(WN_FAULT_WRITE, 0, 1, EMFILE);
	wn_fault_set(WN_FAULT_OPEN, 0, 2, EMFILE);
	CHECK_EQ_INT(wn_store_wait(s, put(s, "b", "2")), WN_EIO);
	CHECK_EQ_INT(wn_store_recover(s), WN_EIO);
	char why[512];
	CHECK(wn_store_failed(s, why, sizeof(why)));
	CHECK(strstr(why, "cannot open the store again") != NULL);
	CHECK(strstr(why, "Too many open files") != NULL);
	/* closed: nothing to read from, and no iterator walks anything */
	CHECK(!wn_store_readable(s));
	CHECK(!has(s, "a", "1"));
	wn_store_iter *it = wn_store_iter_new(s, "", 0, NULL, 0);
	const char *k, *v;
	size_t kl, vl;
	CHECK(!wn_store_iter_next(it, &k, &kl, &v, &vl));
	CHECK(wn_store_iter_error(it) != NULL);
	CHECK(strstr(wn_store_iter_error(it), "closed") != NULL);
	wn_store_iter_free(it);
	CHECK(recover_within(s, 60) >= 2);
	CHECK(has(s, "a", "1") && has(s, "b", "2"));
	CHECK_OK(wn_store_wait(s, put(s, "c", "3")));
	wn_store_close(s);
	s = open_store("db", WN_DURABILITY_SYNC);
	CHECK(has(s, "a", "1") && has(s, "b", "2") && has(s, "c", "3"));
	wn_store_close(s);
}

/* file_state describes path's inode, size and change time. */
static void file_state(const char *path, char *buf, size_t len)
{
	struct stat st;
	CHECK_OK(stat(path, &st) == 0 ? 0 : -1);
	snprintf(buf, len, "%llu %lld %lld.%09ld", (unsigned long long)st.st_ino,
	         (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

TEST(a_second_open_leaves_the_directory_untouched)
{
	wn_store *s = open_store("db", WN_DURABILITY_SYNC);
	char before[128], after[128];
	file_state("db/LOG", before, sizeof(before));
	wn_store *s2 = NULL;
	char *err = NULL;
	CHECK_EQ_INT(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s2, &err), WN_EBUSY);
	char want[128];
	snprintf(want, sizeof(want), "data directory db is in use by another wnd (pid %ld)",
	         (long)getpid());
	CHECK_EQ_STR(err, want);
	free(err);
	file_state("db/LOG", after, sizeof(after));
	CHECK_EQ_STR(after, before);
	CHECK(access("db/LOG.old", F_OK) != 0);
	int old = system("ls db | grep -q '^LOG\\.old'");
	CHECK(old != 0);
	wn_store_close(s);
	/* released at close */
	s = open_store("db", WN_DURABILITY_SYNC);
	wn_store_close(s);
}

/* ------------------------------------------------------------ the engine */

/* open_engine opens the engine on ./data (sync, the real clock) after
 * clearing any fault rule a failed case may have left. */
static wn_engine *open_engine(void)
{
	wn_fault_clear();
	wn_engine_config cfg = wn_fixture_config();
	cfg.lease_ms = 0;
	cfg.clock = NULL;
	cfg.mono = NULL;
	return wn_fixture_open_with(&cfg);
}

/* submit_id submits job name under request id (0: a fresh one). */
static int submit_id(wn_engine *e, uint64_t id, const char *name)
{
	Whatsnext__V1__JobSpec js = WHATSNEXT__V1__JOB_SPEC__INIT;
	js.project = "p";
	js.task = "t";
	js.name = (char *)name;
	Whatsnext__V1__SubmitRequest sr = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	sr.job = &js;
	return call_id(e, M("JobService", "Submit"), &sr.base, id, NULL, NULL);
}

static int submit(wn_engine *e, const char *name)
{
	Whatsnext__V1__JobSpec js = WHATSNEXT__V1__JOB_SPEC__INIT;
	js.project = "p";
	js.task = "t";
	js.name = (char *)name;
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &js;
	return call(e, M("JobService", "Submit"), &rq.base, NULL, NULL);
}

/* state describes what a user sees: the pending count and every job's id
 * and name, in order. */
static void state(wn_engine *e, char *buf, size_t len)
{
	Whatsnext__V1__StatsRequest sr = WHATSNEXT__V1__STATS_REQUEST__INIT;
	Whatsnext__V1__StatsResponse *st = NULL;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &sr.base,
	                  &whatsnext__v1__stats_response__descriptor, (void **)&st),
	             0);
	CHECK_EQ_INT(st->n_projects, 1);
	int n = snprintf(buf, len, "pending %llu:", (unsigned long long)st->projects[0]->pending);
	whatsnext__v1__stats_response__free_unpacked(st, NULL);
	Whatsnext__V1__ListJobsRequest lr = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	Whatsnext__V1__ListJobsResponse *l = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lr.base,
	                  &whatsnext__v1__list_jobs_response__descriptor, (void **)&l),
	             0);
	for (size_t i = 0; i < l->n_jobs && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " %llu=%s",
		              (unsigned long long)l->jobs[i]->id, l->jobs[i]->name);
	whatsnext__v1__list_jobs_response__free_unpacked(l, NULL);
}

static void setup(wn_engine *e)
{
	Whatsnext__V1__CreateProjectRequest pr = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	pr.name = "p";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &pr.base, NULL, NULL), 0);
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "p";
	t.name = "t";
	Whatsnext__V1__CreateTaskRequest tr = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	tr.task = &t;
	CHECK_EQ_INT(call(e, M("TaskService", "Create"), &tr.base, NULL, NULL), 0);
}

/* submit_until_ok submits name until the server takes it (it recovers at
 * most every 200 ms); fails the case after 3 s. */
static void submit_until_ok(wn_engine *e, const char *name)
{
	for (int i = 0; i < 60; i++) {
		int code = submit(e, name);
		if (code == 0)
			return;
		CHECK_EQ_INT(code, WHATSNEXT__V1__CODE__UNAVAILABLE);
		sleep_ms(50);
	}
	CHECK(!"the server did not take changes again");
}

TEST(the_engine_refuses_changes_while_the_store_fails_and_memory_equals_disk)
{
	wn_engine *e = open_engine();
	setup(e);
	CHECK_EQ_INT(submit(e, "a"), 0);
	wn_fault_set(WN_FAULT_WRITE, 0, WN_FAULT_ALWAYS, ENOSPC);
	/* the write fails: the reply says so, and acknowledges nothing */
	CHECK_EQ_INT(submit(e, "b"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	CHECK(strstr(wn_fixture_msg(),
	             "cannot write to the store: IO error: No space left on device") ==
	      wn_fixture_msg());
	CHECK(strstr(wn_fixture_msg(), "the change is not acknowledged, retry later") != NULL);
	/* later changes are refused before they are made; reads too, as the
	 * database lacks b */
	CHECK_EQ_INT(submit(e, "c"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	CHECK(strstr(wn_fixture_msg(), "; retry later") != NULL);
	Whatsnext__V1__StatsRequest sr = WHATSNEXT__V1__STATS_REQUEST__INIT;
	CHECK_EQ_INT(call(e, M("QueueService", "Stats"), &sr.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__UNAVAILABLE);
	wn_fault_clear();
	submit_until_ok(e, "d");
	/* b was made in memory before its write failed: now it is on disk too,
	 * while c never happened */
	char live[1024], loaded[1024];
	state(e, live, sizeof(live));
	CHECK_EQ_STR(live, "pending 3: 1=a 2=b 3=d");
	e = wn_fixture_restart(e);
	state(e, loaded, sizeof(loaded));
	CHECK_EQ_STR(loaded, live);
	wn_fixture_close(e);
}

TEST(the_engine_answers_a_failed_sync_unavailable_and_keeps_serving_reads)
{
	wn_engine *e = open_engine();
	setup(e);
	CHECK_EQ_INT(submit(e, "a"), 0);
	wn_fault_set(WN_FAULT_SYNC, 0, WN_FAULT_ALWAYS, EIO);
	CHECK_EQ_INT(submit(e, "b"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	CHECK(strstr(wn_fixture_msg(), "Input/output error") != NULL);
	CHECK_EQ_INT(submit(e, "c"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	/* the database has b, only its sync failed: reads are served */
	char live[1024];
	state(e, live, sizeof(live));
	CHECK_EQ_STR(live, "pending 2: 1=a 2=b");
	wn_fault_clear();
	submit_until_ok(e, "d");
	state(e, live, sizeof(live));
	CHECK_EQ_STR(live, "pending 3: 1=a 2=b 3=d");
	e = wn_fixture_restart(e);
	char loaded[1024];
	state(e, loaded, sizeof(loaded));
	CHECK_EQ_STR(loaded, live);
	wn_fixture_close(e);
}

TEST(a_request_answered_unavailable_is_answered_ok_again_after_recovery)
{
	wn_engine *e = open_engine();
	setup(e);
	wn_fault_set(WN_FAULT_SYNC, 0, WN_FAULT_ALWAYS, ENOSPC);
	CHECK_EQ_INT(submit_id(e, 777, "b"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	CHECK(strstr(wn_fixture_msg(), "not acknowledged") != NULL);
	/* sent again while the store fails: still not acknowledged */
	CHECK_EQ_INT(submit_id(e, 777, "b"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	wn_fault_clear();
	/* reads go on (the database has b) and get the store to recover; once
	 * it has, b is on disk and the same request is answered OK (before any
	 * other change) */
	char live[1024];
	int code = -1;
	for (int i = 0; i < 60 && code != 0; i++) {
		state(e, live, sizeof(live));
		CHECK_EQ_STR(live, "pending 1: 1=b");
		code = submit_id(e, 777, "b");
		if (code != 0)
			sleep_ms(50);
	}
	CHECK_EQ_INT(code, 0);
	submit_until_ok(e, "c");
	state(e, live, sizeof(live));
	CHECK_EQ_STR(live, "pending 2: 1=b 2=c");
	wn_fixture_close(e);
}

/* heartbeat sends worker's heartbeat for the lease (id, att): the code. */
static int heartbeat(wn_engine *e, const char *worker, uint64_t id, uint32_t att)
{
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = id;
	l.attempt = att;
	Whatsnext__V1__Lease *ls[1] = {&l};
	Whatsnext__V1__HeartbeatRequest rq = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	rq.worker = (char *)worker;
	rq.leases = ls;
	rq.n_leases = 1;
	return call(e, M("QueueService", "Heartbeat"), &rq.base, NULL, NULL);
}

static void join(wn_engine *e, const char *name)
{
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)name;
	w.host = "box";
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &rq.base, NULL, NULL), 0);
}

TEST(an_outage_of_the_store_costs_no_lease_and_no_worker)
{
	wn_fault_clear();
	wn_engine_config cfg = wn_fixture_config(); /* the test clock */
	cfg.lease_ms = 10000;
	cfg.worker_timeout_ms = 10000;
	wn_engine *e = wn_fixture_open_with(&cfg);
	setup(e);
	join(e, "w1");
	CHECK_EQ_INT(submit(e, "a"), 0);
	uint32_t att = 0;
	uint64_t id = wn_fixture_fetch(e, "p", "w1", &att);
	CHECK(id != 0);
	/* a write fails: the database lacks it, so reads are refused, and the
	 * worker's heartbeats with them */
	wn_fault_set(WN_FAULT_WRITE, 0, WN_FAULT_ALWAYS, ENOSPC);
	CHECK_EQ_INT(submit(e, "b"), WHATSNEXT__V1__CODE__UNAVAILABLE);
	CHECK_EQ_INT(heartbeat(e, "w1", id, att), WHATSNEXT__V1__CODE__UNAVAILABLE);
	wn_fixture_now += 60000; /* down a minute: past the lease and the timeout */
	wn_fault_clear();
	submit_until_ok(e, "c");
	wn_engine_tick(e);
	/* the time it was down is not held against the job or its worker */
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(heartbeat(e, "w1", id, att), 0);
	wn_fixture_now += 9000;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, true), 0);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	/* and afterwards a lease not renewed runs out as before */
	CHECK_EQ_INT(submit(e, "d"), 0);
	uint64_t id2 = wn_fixture_fetch(e, "p", "w1", &att);
	CHECK(id2 != 0);
	wn_fixture_now += 11000;
	wn_engine_tick(e);
	CHECK_EQ_INT(wn_fixture_job_status(e, id2), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	wn_fixture_close(e);
}

/* wnd --check reads with the store open for reading: no wnd may start and
 * delete files under it meanwhile (its empty logs, RocksDB's obsolete ones),
 * and the wnd refused says who holds the directory: not the wnd whose pid
 * the lock file still names, which is gone. */
TEST(a_store_open_for_reading_keeps_a_wnd_out_until_it_closes)
{
	wn_store_close(open_store("db", WN_DURABILITY_SYNC));
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	CHECK(gone > 0);
	CHECK(waitpid(gone, NULL, 0) == gone);
	FILE *f = fopen("db/wnd.lock", "w");
	CHECK(f != NULL);
	fprintf(f, "%ld\n", (long)gone);
	fclose(f);
	wn_store *r = NULL, *s = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open_readonly("db", &r, &err));
	CHECK_EQ_INT(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err), WN_EBUSY);
	CHECK_EQ_STR(err, "data directory db is in use by another process (a wnd --check, say)");
	free(err);
	err = NULL;
	wn_store_close(r);
	CHECK_OK(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err));
	wn_store_close(s);
}

/* A backup's copy has no wnd.lock (a backup holds the database's files
 * only): the check of it, which its restore runs before the start, still
 * keeps a wnd out until it closes. */
TEST(a_store_open_for_reading_without_a_lock_file_keeps_a_wnd_out)
{
	wn_store_close(open_store("db", WN_DURABILITY_SYNC));
	CHECK(unlink("db/wnd.lock") == 0);
	wn_store *r = NULL, *s = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open_readonly("db", &r, &err));
	CHECK_EQ_INT(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err), WN_EBUSY);
	CHECK_EQ_STR(err, "data directory db is in use by another process (a wnd --check, say)");
	free(err);
	err = NULL;
	wn_store_close(r);
	CHECK_OK(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err));
	/* and a reader is kept out while a wnd has it */
	CHECK(unlink("db/wnd.lock") == 0);
	CHECK_EQ_INT(wn_store_open_readonly("db", &r, &err), WN_EBUSY);
	free(err);
	wn_store_close(s);
}

TEST(store_is_locked_and_atomic)
{
	wn_store *s = NULL, *s2 = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s, &err));
	CHECK_EQ_INT(wn_store_open("db", WN_DURABILITY_SYNC, 0, &s2, &err), WN_EBUSY);
	CHECK(strstr(err, "in use") != NULL);
	free(err);
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, "k1", 2, "v1", 2);
	wn_batch_put(b, "k2", 2, "v2", 2);
	wn_batch_del(b, "k1", 2);
	uint64_t seq;
	CHECK_OK(wn_store_write(s, b, &seq));
	CHECK_OK(wn_store_wait(s, seq));
	wn_batch_free(b);
	wn_store_close(s);
	CHECK_OK(wn_store_open("db", WN_DURABILITY_RELAXED, 10, &s, &err));
	char *v = NULL;
	size_t len;
	CHECK_EQ_INT(wn_store_get(s, "k1", 2, &v, &len), WN_ENOTFOUND);
	CHECK_OK(wn_store_get(s, "k2", 2, &v, &len));
	CHECK_EQ_INT(len, 2);
	CHECK(memcmp(v, "v2", 2) == 0);
	free(v);
	wn_store_close(s);
}

TEST_MAIN()
