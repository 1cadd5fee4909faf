/* Unit tests for the records layer (records.c) on a real store in each
 * case's directory: the job record cache and what a batch never applied
 * leaves in it, the records of each kind, and the walks the services and the
 * sweeper use (lists, pages, chunks, the ids of a project or a sweep). */
#include "test.h"

#include "arena.h"
#include "err.h"
#include "fault.h"
#include "records.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef Whatsnext__V1__Job Job;

/* A records layer on a store of the case, and one call on it. */
struct rig {
	wn_store *s;
	wn_records *r;
	wn_arena *arena;
	wn_records_call rc;
	uint64_t seq;
};

static void rig_open(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	wn_fault_clear();
	char *err = NULL;
	int rv = wn_store_open("data", WN_DURABILITY_SYNC, 0, &g->s, &err);
	free(err);
	CHECK_OK(rv);
	g->r = wn_records_new(g->s);
	g->arena = wn_arena_new();
	wn_records_call_init(&g->rc, g->r, wn_arena_allocator(g->arena));
}

/* rig_next_call ends the call and starts another (what it loaded is gone). */
static void rig_next_call(struct rig *g)
{
	wn_records_call_release(&g->rc);
	wn_arena_free(g->arena);
	g->arena = wn_arena_new();
	wn_records_call_init(&g->rc, g->r, wn_arena_allocator(g->arena));
}

static void rig_close(struct rig *g)
{
	wn_records_call_release(&g->rc);
	wn_arena_free(g->arena);
	wn_records_free(g->r);
	wn_store_close(g->s);
}

/* rig_write applies b through the call and frees it. */
static void rig_write(struct rig *g, wn_batch *b)
{
	CHECK_OK(wn_records_write(&g->rc, b, &g->seq));
	CHECK_OK(wn_store_wait(g->s, g->seq));
	wn_batch_free(b);
}

/* put_job writes job id of project/task with status, in a batch of its own. */
static void put_job(struct rig *g, uint64_t id, const char *project, const char *task, int status)
{
	Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = id;
	j.project = (char *)project;
	j.task = (char *)task;
	j.status = (Whatsnext__V1__JobStatus)status;
	wn_batch *b = wn_batch_new();
	wn_records_job_put(&g->rc, b, &j);
	rig_write(g, b);
}

/* erase_behind deletes key of job id from the store without the layer knowing. */
static void erase_behind(struct rig *g, uint64_t id)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, id);
	wn_batch *b = wn_batch_new();
	wn_batch_del(b, key, kl);
	uint64_t seq = 0;
	CHECK_OK(wn_store_write(g->s, b, &seq));
	CHECK_OK(wn_store_wait(g->s, seq));
	wn_batch_free(b);
}

TEST(pending_and_running_jobs_are_read_from_the_cache)
{
	struct rig g;
	rig_open(&g);
	put_job(&g, 1, "p", "t", WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	put_job(&g, 2, "p", "t", WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	erase_behind(&g, 1);
	erase_behind(&g, 2);
	rig_next_call(&g);
	Job *j = wn_records_job_find(&g.rc, 1);
	CHECK(j != NULL); /* cached when written */
	CHECK_EQ_STR(j->project, "p");
	CHECK(wn_records_job_find(&g.rc, 2) == NULL); /* a finished job is read from the store */
	rig_close(&g);
}

TEST(a_batch_never_applied_leaves_the_cache_alone)
{
	struct rig g;
	rig_open(&g);
	put_job(&g, 7, "p", "t", WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	rig_next_call(&g);
	Job *j = wn_records_job_find(&g.rc, 7);
	CHECK(j != NULL);
	j->status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
	wn_batch *b = wn_batch_new();
	wn_records_job_put(&g.rc, b, j);
	wn_batch_free(b); /* never written */
	rig_next_call(&g);
	j = wn_records_job_find(&g.rc, 7);
	CHECK(j != NULL);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	/* a delete applied takes it out of the cache too */
	b = wn_batch_new();
	wn_records_job_del(&g.rc, b, j);
	rig_write(&g, b);
	rig_next_call(&g);
	CHECK(wn_records_job_find(&g.rc, 7) == NULL);
	rig_close(&g);
}

/* side_put writes a record of kind for job id, with suffix (sl bytes) after
 * its id. */
static void side_put(struct rig *g, enum wn_key_kind kind, uint64_t id, const char *suffix,
                     size_t sl)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, kind, id);
	memcpy(key + kl, suffix, sl);
	kl += sl;
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, key, kl, "v", 1);
	uint64_t seq = 0;
	CHECK_OK(wn_store_write(g->s, b, &seq));
	CHECK_OK(wn_store_wait(g->s, seq));
	wn_batch_free(b);
}

/* side_count counts the keys of kind of job id. */
static int side_count(struct rig *g, enum wn_key_kind kind, uint64_t id)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, kind, id);
	wn_store_iter *it = wn_store_iter_new(g->s, key, kl, NULL, 0);
	const char *k, *v;
	size_t klen, vlen;
	int n = 0;
	while (wn_store_iter_next(it, &k, &klen, &v, &vlen))
		n++;
	wn_store_iter_free(it);
	return n;
}

TEST(a_deleted_job_takes_what_it_reported_along)
{
	struct rig g;
	rig_open(&g);
	for (uint64_t id = 6; id <= 8; id++) {
		put_job(&g, id, "p", "t", WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
		side_put(&g, WN_KEY_HISTORY, id, "", 0);
		side_put(&g, WN_KEY_LOG, id, "\0\0\0\0\0\0\0\0", 8);
		side_put(&g, WN_KEY_LOG, id, "\0\0\0\0\0\0\1\0", 8);
		side_put(&g, WN_KEY_BLOB, id, "out/model.pt", 12);
	}
	Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = 7;
	j.attempt = 1;
	wn_batch *b = wn_batch_new();
	/* a walk over its keys that fails adds nothing to the batch */
	wn_fault_set(WN_FAULT_SCAN, 1, 1, EIO);
	CHECK_EQ_INT(wn_records_job_del_reports(g.r, b, &j), WN_EIO);
	CHECK_EQ_INT(wn_batch_count(b), 0);
	wn_fault_set(WN_FAULT_SCAN, 3, 1, EIO); /* the output's walk whole, the artifacts' not */
	CHECK_EQ_INT(wn_records_job_del_reports(g.r, b, &j), WN_EIO);
	CHECK_EQ_INT(wn_batch_count(b), 0);
	CHECK_OK(wn_records_job_del_reports(g.r, b, &j));
	wn_records_job_del(&g.rc, b, &j);
	rig_write(&g, b);
	CHECK_EQ_INT(side_count(&g, WN_KEY_HISTORY, 7), 0);
	CHECK_EQ_INT(side_count(&g, WN_KEY_LOG, 7), 0);
	CHECK_EQ_INT(side_count(&g, WN_KEY_BLOB, 7), 0);
	/* the neighbours' are their own */
	CHECK_EQ_INT(side_count(&g, WN_KEY_LOG, 6), 2);
	CHECK_EQ_INT(side_count(&g, WN_KEY_HISTORY, 8), 1);
	CHECK_EQ_INT(side_count(&g, WN_KEY_LOG, 8), 2);
	CHECK_EQ_INT(side_count(&g, WN_KEY_BLOB, 8), 1);
	rig_close(&g);
}

TEST(a_call_sees_its_own_changes)
{
	struct rig g;
	rig_open(&g);
	put_job(&g, 3, "p", "t", WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	Job *j = wn_records_job_find(&g.rc, 3);
	CHECK(j != NULL);
	j->priority = 9;
	CHECK(wn_records_job_find(&g.rc, 3) == j);
	Job *n = wn_arena_alloc(g.arena, sizeof(*n));
	whatsnext__v1__job__init(n);
	n->id = 4;
	wn_records_job_adopt(&g.rc, n);
	CHECK(wn_records_job_find(&g.rc, 4) == n);
	rig_close(&g);
}

TEST(projects_and_tasks_round_trip)
{
	struct rig g;
	rig_open(&g);
	wn_batch *b = wn_batch_new();
	const char *names[] = {"b", "a", "c"};
	for (int i = 0; i < 3; i++) {
		Whatsnext__V1__Project p = WHATSNEXT__V1__PROJECT__INIT;
		p.name = (char *)names[i];
		p.description = (char *)"";
		p.status = i == 2 ? WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED
		                  : WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE;
		wn_records_project_put(b, &p);
		Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
		t.project = (char *)"a";
		t.name = (char *)names[i];
		t.description = (char *)"";
		wn_records_task_put(g.r, b, &t);
	}
	rig_write(&g, b);
	Whatsnext__V1__Project *v[4];
	CHECK_EQ_INT(wn_records_project_list(&g.rc, 0, v, 4), 3);
	CHECK_EQ_STR(v[0]->name, "a");
	CHECK_EQ_STR(v[2]->name, "c");
	CHECK_EQ_INT(
	    wn_records_project_list(&g.rc, WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED, v, 4),
	    1);
	CHECK_EQ_STR(v[0]->name, "c");
	CHECK_EQ_INT(wn_records_project_list(&g.rc, 0, v, 2), 2);
	Whatsnext__V1__Task *t[4];
	CHECK_EQ_INT(wn_records_task_list(&g.rc, "a", t, 4), 3);
	CHECK_EQ_STR(t[1]->name, "b");
	CHECK_EQ_INT(wn_records_task_list(&g.rc, "b", t, 4), 0);
	Whatsnext__V1__Project *p = NULL;
	CHECK_OK(wn_records_project_get(&g.rc, "b", &p));
	CHECK_EQ_STR(p->name, "b");
	CHECK_EQ_INT(wn_records_project_get(&g.rc, "zz", &p), WN_ENOTFOUND);
	Whatsnext__V1__Task *tk = NULL;
	CHECK_OK(wn_records_task_get(&g.rc, "a", "c", &tk));
	CHECK_EQ_STR(tk->name, "c");
	b = wn_batch_new();
	uint64_t ntasks = 0;
	CHECK_OK(wn_records_task_del_all(g.r, b, "a", &ntasks));
	CHECK_EQ_INT(ntasks, 3);
	wn_records_project_del(b, "b");
	rig_write(&g, b);
	CHECK_EQ_INT(wn_records_task_list(&g.rc, "a", t, 4), 0);
	CHECK_EQ_INT(wn_records_project_get(&g.rc, "b", &p), WN_ENOTFOUND);
	CHECK_EQ_INT(wn_records_task_get(&g.rc, "a", "c", &tk), WN_ENOTFOUND); /* not cached */
	rig_close(&g);
}

/* put_task writes task name of project p with timeout, in batch b. */
static void put_task(struct rig *g, wn_batch *b, const char *name, uint32_t timeout)
{
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)"p";
	t.name = (char *)name;
	t.description = (char *)"";
	t.timeout_s = timeout;
	wn_records_task_put(g->r, b, &t);
}

TEST(a_task_read_again_is_as_written_last)
{
	struct rig g;
	rig_open(&g);
	wn_batch *b = wn_batch_new();
	put_task(&g, b, "t", 1);
	rig_write(&g, b);
	Whatsnext__V1__Task *tk = NULL;
	CHECK_OK(wn_records_task_get(&g.rc, "p", "t", &tk)); /* read, and kept */
	CHECK_EQ_INT(tk->timeout_s, 1);
	/* a change staged, read before its batch is written, then written */
	b = wn_batch_new();
	put_task(&g, b, "t", 2);
	CHECK_OK(wn_records_task_get(&g.rc, "p", "t", &tk));
	CHECK_EQ_INT(tk->timeout_s, 1);
	rig_write(&g, b);
	rig_next_call(&g);
	CHECK_OK(wn_records_task_get(&g.rc, "p", "t", &tk));
	CHECK_EQ_INT(tk->timeout_s, 2);
	/* a batch never written changes nothing */
	b = wn_batch_new();
	put_task(&g, b, "t", 3);
	wn_batch_free(b);
	CHECK_OK(wn_records_task_get(&g.rc, "p", "t", &tk));
	CHECK_EQ_INT(tk->timeout_s, 2);
	/* an older batch written first does not bring back what a newer one changes */
	wn_batch *older = wn_batch_new();
	b = wn_batch_new();
	wn_records_task_del(g.r, b, "p", "t");
	rig_write(&g, older);
	CHECK_OK(wn_records_task_get(&g.rc, "p", "t", &tk));
	rig_write(&g, b);
	CHECK_EQ_INT(wn_records_task_get(&g.rc, "p", "t", &tk), WN_ENOTFOUND);
	rig_close(&g);
}

TEST(an_unreadable_record_is_told_apart)
{
	struct rig g;
	rig_open(&g);
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, "bad");
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, key, kl, "\xff\xff\xff", 3);
	rig_write(&g, b);
	Whatsnext__V1__Project *p = NULL;
	CHECK_EQ_INT(wn_records_project_get(&g.rc, "bad", &p), WN_EINTERNAL);
	Whatsnext__V1__Project *v[2];
	CHECK_EQ_INT(wn_records_project_list(&g.rc, 0, v, 2), 0);
	rig_close(&g);
}

TEST(next_id_and_stored_replies)
{
	struct rig g;
	rig_open(&g);
	uint64_t n = 0;
	CHECK_EQ_INT(wn_records_next_id_get(g.r, &n), WN_ENOTFOUND);
	wn_batch *b = wn_batch_new();
	wn_records_next_id_put(b, 2048);
	wn_records_req_put(b, 99, "reply", 5);
	rig_write(&g, b);
	CHECK_OK(wn_records_next_id_get(g.r, &n));
	CHECK_EQ_INT(n, 2048);
	char *val = NULL;
	size_t len = 0;
	CHECK_OK(wn_records_req_get(g.r, 99, &val, &len));
	CHECK_EQ_INT(len, 5);
	CHECK(memcmp(val, "reply", 5) == 0);
	free(val);
	CHECK_EQ_INT(wn_records_req_get(g.r, 98, &val, &len), WN_ENOTFOUND);
	rig_close(&g);
}

/* ten jobs 1..10: odd ones of project a, even ones of b; 5 and 6 RUNNING */
static void ten_jobs(struct rig *g)
{
	for (uint64_t id = 1; id <= 10; id++)
		put_job(g, id, id % 2 ? "a" : "b", id <= 4 ? "x" : "y",
		        id == 5 || id == 6 ? WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING
		                           : WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
}

TEST(jobs_are_found_by_project_task_and_id_range)
{
	struct rig g;
	rig_open(&g);
	ten_jobs(&g);
	size_t n = 0;
	uint64_t *ids = NULL;
	CHECK_OK(wn_records_job_ids_of(g.r, "a", NULL, &ids, &n));
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_INT(ids[0], 1);
	CHECK_EQ_INT(ids[4], 9);
	free(ids);
	CHECK_OK(wn_records_job_ids_of(g.r, "b", "x", &ids, &n));
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(ids[1], 4);
	free(ids);
	uint64_t count = 0;
	CHECK_OK(
	    wn_records_job_count(g.r, "a", "y", WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING, &count));
	CHECK_EQ_INT(count, 1);
	CHECK_OK(
	    wn_records_job_count(g.r, "b", "x", WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING, &count));
	CHECK_EQ_INT(count, 0);
	uint64_t r[16];
	CHECK_OK(wn_records_job_ids(g.r, 3, 7, r, 16, &n));
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_INT(r[0], 3);
	CHECK_EQ_INT(r[4], 7);
	CHECK_OK(wn_records_job_ids(g.r, 3, 7, r, 2, &n));
	CHECK_EQ_INT(n, 2);
	CHECK_OK(wn_records_job_ids(g.r, 5, 4, r, 16, &n));
	CHECK_EQ_INT(n, 0);
	/* a walk a read of the store cuts short says so */
	wn_fault_set(WN_FAULT_SCAN, 3, 1, EIO);
	CHECK_EQ_INT(wn_records_job_ids_of(g.r, "a", NULL, &ids, &n), WN_EIO);
	free(ids);
	wn_fault_set(WN_FAULT_SCAN, 3, 1, EIO);
	CHECK_EQ_INT(
	    wn_records_job_count(g.r, "a", "y", WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING, &count),
	    WN_EIO);
	wn_fault_set(WN_FAULT_SCAN, 3, 1, EIO);
	CHECK_EQ_INT(wn_records_job_ids(g.r, 3, 7, r, 16, &n), WN_EIO);
	CHECK_EQ_INT(n, 3);
	rig_close(&g);
}

TEST(chunks_cover_every_job_once)
{
	struct rig g;
	rig_open(&g);
	ten_jobs(&g);
	uint64_t after = 0, seen = 0, sum = 0;
	bool more = true;
	int rounds = 0;
	while (more) {
		Job *v[4];
		size_t n = wn_records_job_chunk(&g.rc, &after, 4, v, &more);
		for (size_t i = 0; i < n; i++) {
			seen++;
			sum += v[i]->id;
			CHECK(wn_records_job_find(&g.rc, v[i]->id) != v[i]); /* not adopted */
		}
		rounds++;
		CHECK(rounds <= 3);
	}
	CHECK_EQ_INT(rounds, 3);
	CHECK_EQ_INT(seen, 10);
	CHECK_EQ_INT(sum, 55);
	CHECK_EQ_INT(after, 10);
	rig_close(&g);
}

TEST(pages_filter_and_say_where_to_go_on)
{
	struct rig g;
	rig_open(&g);
	ten_jobs(&g);
	Job *jobs[3];
	wn_records_page pg = {.f.projects = (const char *[]){"a"},
	                      .f.n_projects = 1,
	                      .last = UINT64_MAX,
	                      .max = 3,
	                      .scan_max = 100,
	                      .bytes = 1 << 20,
	                      .jobs = jobs};
	wn_records_job_page(&g.rc, &pg);
	CHECK_EQ_INT(pg.n, 3);
	CHECK_EQ_INT(jobs[2]->id, 5);
	CHECK_EQ_INT(pg.next_after, 5);
	CHECK(wn_records_job_find(&g.rc, 5) == jobs[2]); /* adopted */
	pg.after = pg.next_after;
	wn_records_job_page(&g.rc, &pg);
	CHECK_EQ_INT(pg.n, 2);
	CHECK_EQ_INT(pg.next_after, 0);
	/* a status, a range, and a scan cut short */
	wn_records_page st = {.f.statuses = 1u << WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING,
	                      .after = 4,
	                      .last = 6,
	                      .max = 3,
	                      .scan_max = 100,
	                      .bytes = 1 << 20,
	                      .jobs = jobs};
	wn_records_job_page(&g.rc, &st);
	CHECK_EQ_INT(st.n, 2);
	CHECK_EQ_INT(st.next_after, 0);
	wn_records_page sc = {.f.task = "y",
	                      .last = UINT64_MAX,
	                      .max = 3,
	                      .scan_max = 5,
	                      .bytes = 1 << 20,
	                      .jobs = jobs};
	wn_records_job_page(&g.rc, &sc);
	CHECK_EQ_INT(sc.n, 1);
	CHECK_EQ_INT(sc.next_after, 5);
	/* newest first: from the top down, then on below the cursor */
	wn_records_page ds = {.desc = true,
	                      .last = UINT64_MAX,
	                      .max = 3,
	                      .scan_max = 100,
	                      .bytes = 1 << 20,
	                      .jobs = jobs};
	wn_records_job_page(&g.rc, &ds);
	CHECK_EQ_INT(ds.n, 3);
	CHECK_EQ_INT(jobs[0]->id, 10);
	CHECK_EQ_INT(jobs[2]->id, 8);
	CHECK_EQ_INT(ds.next_after, 8);
	ds.last = 1;
	wn_records_job_page(&g.rc, &ds);
	CHECK_EQ_INT(ds.n, 1);
	CHECK_EQ_INT(jobs[0]->id, 1);
	CHECK_EQ_INT(ds.next_after, 0);
	rig_close(&g);
}

static bool count_kind(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
	(void)key, (void)val, (void)vlen;
	CHECK_EQ_INT(wn_key_kind(key, klen), WN_KEY_JOB);
	return ++*(int *)arg < 4;
}

TEST(walks_stop_when_asked)
{
	struct rig g;
	rig_open(&g);
	ten_jobs(&g);
	int n = 0;
	char *why = NULL;
	CHECK_OK(wn_records_walk(g.r, WN_KEY_JOB, count_kind, &n, &why));
	CHECK_EQ_INT(n, 4);
	CHECK(why == NULL);
	rig_close(&g);
	uint64_t last = 0;
	char *err = NULL;
	CHECK_OK(wn_records_last_job_id("data", &last, &err));
	CHECK_EQ_INT(last, 10);
}

TEST_MAIN()
