/* Unit tests for `wnd --check`: the rules on records built in memory, and a
 * check and repair of a real store. */
#include "test.h"

#include "check_int.h"
#include "envelope.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AFTERANY WHATSNEXT__V1__DEP_CONDITION__AFTERANY

/* A set of records, fed to the checker in key order as a store holds them. */
struct recs {
	struct rec {
		char key[64];
		size_t kl;
		uint8_t *val;
		size_t vl;
	} v[64];
	size_t n;
};

static void add(struct recs *r, const char *key, size_t kl, const void *val, size_t vl)
{
	struct rec *x = &r->v[r->n++];
	memcpy(x->key, key, kl);
	x->kl = kl;
	x->val = malloc(vl + 1);
	memcpy(x->val, val, vl);
	x->vl = vl;
}

static void add_msg(struct recs *r, const char *key, size_t kl, const ProtobufCMessage *m)
{
	size_t len = 0;
	uint8_t *buf = wn_message_pack(m, &len);
	add(r, key, kl, buf, len);
	free(buf);
}

static void add_text(struct recs *r, const char *key, const char *val)
{
	add(r, key, strlen(key), val, strlen(val));
}

static void add_project(struct recs *r, const char *name)
{
	Project p = WHATSNEXT__V1__PROJECT__INIT;
	p.name = (char *)name;
	p.status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE;
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_project(key, name), &p.base);
}

static void add_task(struct recs *r, const char *project, const char *name)
{
	Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)project;
	t.name = (char *)name;
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_task(key, project, name), &t.base);
}

/* add_job adds job id of p/t in status st, depending on deps[0..ndeps) with cond. */
static void add_job(struct recs *r, uint64_t id, int st, const uint64_t *deps, size_t ndeps,
                    int cond)
{
	Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = id;
	j.project = "p";
	j.task = "t";
	j.status = st;
	Whatsnext__V1__Dependency d[8], *dp[8];
	for (size_t i = 0; i < ndeps; i++) {
		whatsnext__v1__dependency__init(&d[i]);
		d[i].job_id = deps[i];
		d[i].condition = cond;
		dp[i] = &d[i];
	}
	j.deps = dp;
	j.n_deps = ndeps;
	if (st == RUNNING) {
		j.worker = "w1";
		j.attempt = 1;
	}
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_job(key, id), &j.base);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->kl < y->kl ? x->kl : y->kl);
	return c != 0 ? c : (int)x->kl - (int)y->kl;
}

/* run checks the records in k, quietly. */
static void run(struct recs *r, struct check *k)
{
	qsort(r->v, r->n, sizeof(r->v[0]), rec_cmp);
	wn_check_init(k, NULL, stdout, "# ", false);
	for (size_t i = 0; i < r->n; i++)
		wn_check_record(k, r->v[i].key, r->v[i].kl, (const char *)r->v[i].val, r->v[i].vl);
	wn_check_rules(k);
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].val);
	r->n = 0;
}

/* planned returns the repair planned for the key named name, or NULL. */
static struct fix *planned(struct check *k, const char *name)
{
	return wn_map_get_str(k->fixmap, name);
}

/* base adds a consistent store: project p, task t, m/ keys. */
static void base(struct recs *r)
{
	add_text(r, "m/version", "1");
	add_text(r, "m/next_id", "1025");
	add_project(r, "p");
	add_task(r, "p", "t");
}

TEST(a_consistent_store_has_no_finding)
{
	struct recs r = {0};
	base(&r);
	uint64_t one = 1, three = 3;
	add_job(&r, 1, PENDING, NULL, 0, 0);
	add_job(&r, 2, RUNNING, NULL, 0, 0);
	add_job(&r, 3, PENDING, &one, 1, 0);
	add_job(&r, 4, PENDING, &three, 1, AFTERANY);
	add_job(&r, 5, BLOCKED, &one, 1, 0);
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = "w1";
	w.state = WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE;
	add_msg(&r, "w/w1", 4, &w.base);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 0);
	CHECK(k.fix_head == NULL);
	CHECK_EQ_INT(k.counts[2], 5);
	wn_check_release(&k);
}

TEST(a_broken_dependency_blocks_the_chain_behind_it)
{
	struct recs r = {0};
	base(&r);
	uint64_t d1 = 1, d2 = 2, d3 = 3;
	add_job(&r, 1, FAILED, NULL, 0, 0);
	add_job(&r, 2, PENDING, &d1, 1, 0);        /* can never run */
	add_job(&r, 3, PENDING, &d2, 1, 0);        /* waits on 2, fine as stored */
	add_job(&r, 4, PENDING, &d3, 1, 0);        /* waits on 3 */
	add_job(&r, 5, COMPLETED, &d2, 1, 0);      /* finished: left alone */
	add_job(&r, 6, PENDING, &d3, 1, AFTERANY); /* 3 blocked is an end: may run */
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 1);
	for (uint64_t id = 2; id <= 4; id++) {
		char name[16];
		snprintf(name, sizeof(name), "j/%llu", (unsigned long long)id);
		struct fix *f = planned(&k, name);
		CHECK(f != NULL);
		CHECK_EQ_INT(f->mask, JF_BLOCK);
	}
	CHECK_EQ_STR(planned(&k, "j/2")->reason, "dependency job 1 is FAILED (afterok)");
	CHECK_EQ_STR(planned(&k, "j/4")->reason, "dependency job 3 is BLOCKED (afterok)");
	CHECK(planned(&k, "j/5") == NULL);
	CHECK(planned(&k, "j/6") == NULL);
	wn_check_release(&k);
}

TEST(an_unknown_status_is_judged_as_the_failed_it_becomes)
{
	struct recs r = {0};
	base(&r);
	uint64_t d1 = 1;
	add_job(&r, 1, 9, NULL, 0, 0);
	add_job(&r, 2, PENDING, &d1, 1, AFTERANY); /* runs once 1 is FAILED */
	add_job(&r, 3, PENDING, &d1, 1, 0);        /* never runs */
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 2);
	CHECK_EQ_INT(planned(&k, "j/1")->mask, JF_STATUS);
	CHECK(planned(&k, "j/2") == NULL);
	CHECK_EQ_INT(planned(&k, "j/3")->mask, JF_BLOCK);
	wn_check_release(&k);
}

/* add_marked adds job id of p/t in status st at attempt, last run by
 * worker, held or marked as a run still to be stopped. */
static void add_marked(struct recs *r, uint64_t id, int st, uint32_t attempt, const char *worker,
                       bool held, bool stopping)
{
	Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = id;
	j.project = "p";
	j.task = "t";
	j.status = st;
	j.attempt = attempt;
	j.worker = (char *)worker;
	j.held = held;
	j.stopping = stopping;
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_job(key, id), &j.base);
}

/* add_held adds job id of p/t in status st, held. */
static void add_held(struct recs *r, uint64_t id, int st)
{
	add_marked(r, id, st, 0, "", true, false);
}

TEST(only_a_pending_or_blocked_job_is_held)
{
	struct recs r = {0};
	base(&r);
	add_held(&r, 1, PENDING);
	add_held(&r, 2, BLOCKED);
	add_held(&r, 3, COMPLETED);
	add_held(&r, 4, CANCELLED);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 2);
	CHECK(planned(&k, "j/1") == NULL);
	CHECK(planned(&k, "j/2") == NULL);
	CHECK_EQ_INT(planned(&k, "j/3")->mask, JF_HELD);
	CHECK_EQ_INT(planned(&k, "j/4")->mask, JF_HELD);
	wn_check_release(&k);
}

/* add_stopping adds job id of p/t in status st at attempt, run by worker,
 * marked as a run still to be stopped. */
static void add_stopping(struct recs *r, uint64_t id, int st, uint32_t attempt, const char *worker)
{
	add_marked(r, id, st, attempt, worker, false, true);
}

TEST(only_a_run_cancelled_while_it_ran_is_stopping)
{
	struct recs r = {0};
	base(&r);
	add_stopping(&r, 1, CANCELLED, 2, "w1"); /* sound */
	add_stopping(&r, 2, COMPLETED, 1, "w1");
	add_stopping(&r, 3, CANCELLED, 1, "");
	add_stopping(&r, 4, CANCELLED, 0, "w1");
	add_stopping(&r, 5, PENDING, 0, "");
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 4);
	CHECK(planned(&k, "j/1") == NULL);
	for (int i = 2; i <= 5; i++) {
		char key[8];
		snprintf(key, sizeof(key), "j/%d", i);
		CHECK_EQ_INT(planned(&k, key)->mask, JF_STOPPING);
	}
	wn_check_release(&k);
}

TEST(next_id_is_above_every_id_a_record_names)
{
	struct recs r = {0};
	base(&r);
	uint64_t gone = 1500;
	add_job(&r, 1, COMPLETED, &gone, 1, 0);
	/* a kept SubmitBatch reply naming ids up to 3000 */
	Whatsnext__V1__SubmitBatchResponse br = WHATSNEXT__V1__SUBMIT_BATCH_RESPONSE__INIT;
	uint64_t ids[2] = {2999, 3000};
	br.ids = ids;
	br.n_ids = 2;
	size_t bl = 0;
	uint8_t *body = wn_message_pack(&br.base, &bl);
	const char *m = "/whatsnext.v1.JobService/SubmitBatch";
	uint8_t val[256];
	int64_t at = 1;
	memcpy(val, &at, 8);
	memcpy(val + 8, m, strlen(m) + 1);
	memcpy(val + 8 + strlen(m) + 1, body, bl);
	char key[WN_KEY_MAX];
	wn_key_job(key, 77);
	key[0] = 'i';
	add(&r, key, 10, val, 8 + strlen(m) + 1 + bl);
	free(body);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 1);
	CHECK_EQ_STR(planned(&k, "m/next_id")->value, "3001");
	wn_check_release(&k);
}

/* add_token adds token name (a reader), made when first_job was the next id. */
static void add_token(struct recs *r, const char *name, uint64_t first_job)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = (char *)name;
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER;
	t.created_ms = 1;
	uint8_t hash[32] = {1};
	Whatsnext__V1__TokenRecord rec = WHATSNEXT__V1__TOKEN_RECORD__INIT;
	rec.token = &t;
	rec.sha256.data = hash;
	rec.sha256.len = sizeof(hash);
	rec.first_job = first_job;
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_token(key, name), &rec.base);
}

TEST(next_id_is_not_below_a_token_s_first_job)
{
	struct recs r = {0};
	base(&r); /* next id 1025 */
	add_token(&r, "early", 1025);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 0);
	wn_check_release(&k);
	/* a token made when the next id was 5000: ids below it are not its jobs */
	base(&r);
	add_token(&r, "late", 5000);
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 1);
	CHECK_EQ_STR(planned(&k, "m/next_id")->value, "5000");
	wn_check_release(&k);
}

TEST(jobs_on_or_behind_a_cycle_are_blocked)
{
	struct recs r = {0};
	base(&r);
	uint64_t d2 = 2, d3 = 3, d1 = 1;
	add_job(&r, 1, PENDING, &d3, 1, 0);
	add_job(&r, 2, PENDING, &d1, 1, 0);
	add_job(&r, 3, PENDING, &d2, 1, 0);
	add_job(&r, 4, PENDING, &d3, 1, 0); /* behind the cycle */
	add_job(&r, 5, PENDING, NULL, 0, 0);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 4);
	CHECK(planned(&k, "j/4") != NULL);
	CHECK(planned(&k, "j/5") == NULL);
	wn_check_release(&k);
}

TEST(a_sweep_is_recreated_over_its_jobs)
{
	struct recs r = {0};
	base(&r);
	for (uint64_t id = 10; id <= 12; id++) {
		Job j = WHATSNEXT__V1__JOB__INIT;
		j.id = id;
		j.project = "p";
		j.task = "t";
		j.status = PENDING;
		j.sweep_id = 10;
		char key[WN_KEY_MAX];
		add_msg(&r, key, wn_key_job(key, id), &j.base);
	}
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 1); /* s/10 missing */
	struct fix *f = planned(&k, "s/10");
	CHECK(f != NULL);
	CHECK_EQ_INT(f->kind, FIX_SWEEP);
	CHECK_EQ_INT(f->total, 3);
	CHECK_EQ_STR(f->project, "p");
	wn_check_release(&k);
}

TEST(a_worker_record_keeps_a_known_state_and_no_list)
{
	struct recs r = {0};
	base(&r);
	add_job(&r, 1, RUNNING, NULL, 0, 0);
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = "w1";
	uint64_t held[1] = {1};
	w.jobs = held;
	w.n_jobs = 1; /* what it holds: no finding */
	add_msg(&r, "w/w1", 4, &w.base);
	struct check k;
	run(&r, &k);
	CHECK_EQ_INT(k.findings, 1); /* state 0 */
	CHECK_EQ_INT(planned(&k, "w/w1")->kind, FIX_WORKER);
	wn_check_release(&k);
}

/* add_history adds the history of job 1: one series "loss" with stride
 * and points numbered nth[0..n), reported as the last. */
static void add_history(struct recs *r, uint32_t stride, const uint64_t *nth, size_t n)
{
	Whatsnext__V1__ResultPoint pts[8], *pp[8];
	for (size_t i = 0; i < n; i++) {
		whatsnext__v1__result_point__init(&pts[i]);
		pts[i].seq = i + 1;
		pts[i].nth = nth[i];
		pp[i] = &pts[i];
	}
	Whatsnext__V1__ResultSeries s = WHATSNEXT__V1__RESULT_SERIES__INIT, *sp = &s;
	s.key = "loss";
	s.points = pp;
	s.n_points = n;
	s.stride = stride;
	s.reported = n > 0 ? nth[n - 1] : 0;
	s.last_seq = n;
	Whatsnext__V1__ResultHistory h = WHATSNEXT__V1__RESULT_HISTORY__INIT;
	h.job_id = 1;
	h.attempt = 1;
	h.series = &sp;
	h.n_series = 1;
	char key[WN_KEY_MAX];
	add_msg(r, key, wn_key_of_job(key, WN_KEY_HISTORY, 1), &h.base);
}

TEST(a_result_history_keeps_its_stride_and_order)
{
	static const uint64_t good[] = {1, 5, 9, 11}, old[] = {0, 0, 0}, bad[] = {1, 9, 5};
	struct check k;
	const struct {
		uint32_t stride;
		const uint64_t *nth;
		size_t n;
		int findings;
	} cases[] = {{4, good, 4, 0}, {2, old, 3, 0}, {3, good, 4, 1}, {4, bad, 3, 1}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recs r = {0};
		base(&r);
		add_job(&r, 1, RUNNING, NULL, 0, 0);
		add_history(&r, cases[i].stride, cases[i].nth, cases[i].n);
		run(&r, &k);
		CHECK_EQ_INT(k.findings, cases[i].findings);
		CHECK_EQ_INT(planned(&k, "r/1") != NULL, cases[i].findings);
		wn_check_release(&k);
	}
}

/* store_put writes one key to the store in dir. */
static void store_put(const char *dir, const char *key, size_t kl, const void *val, size_t vl)
{
	wn_store *s = NULL;
	char *err = NULL;
	CHECK_OK(wn_store_open(dir, WN_DURABILITY_SYNC, 0, &s, &err));
	wn_batch *b = wn_batch_new();
	wn_batch_put(b, key, kl, val, vl);
	uint64_t seq = 0;
	CHECK_OK(wn_store_write(s, b, &seq));
	CHECK_OK(wn_store_wait(s, seq));
	wn_batch_free(b);
	wn_store_close(s);
}

TEST(check_and_repair_a_store)
{
	struct recs r = {0};
	base(&r);
	add_job(&r, 1, PENDING, NULL, 0, 0);
	for (size_t i = 0; i < r.n; i++) {
		store_put("d", r.v[i].key, r.v[i].kl, r.v[i].val, r.v[i].vl);
		free(r.v[i].val);
	}
	FILE *out = tmpfile();
	wn_check_result res;
	char *err = NULL;
	CHECK_OK(wn_check_run("d", false, out, &res, &err));
	CHECK_EQ_INT(res.findings, 0);
	/* a sweep whose project is gone, a task of no project */
	Whatsnext__V1__Sweep s = WHATSNEXT__V1__SWEEP__INIT;
	s.id = 5;
	s.project = "gone";
	s.total = 1;
	size_t len = 0;
	uint8_t *buf = wn_message_pack(&s.base, &len);
	char key[WN_KEY_MAX];
	store_put("d", key, wn_key_sweep(key, 5), buf, len);
	free(buf);
	Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = "gone";
	t.name = "t";
	buf = wn_message_pack(&t.base, &len);
	store_put("d", "t/gone/t", 8, buf, len);
	free(buf);
	CHECK_OK(wn_check_run("d", false, out, &res, &err));
	CHECK_EQ_INT(res.findings, 2);
	CHECK_EQ_INT(res.left, 2);
	CHECK_OK(wn_check_run("d", true, out, &res, &err));
	CHECK_EQ_INT(res.findings, 2);
	CHECK_EQ_INT(res.repairs, 2);
	CHECK_EQ_INT(res.left, 0);
	CHECK_OK(wn_check_run("d", false, out, &res, &err));
	CHECK_EQ_INT(res.findings, 0);
	/* a directory that is not a store */
	CHECK_EQ_INT(wn_check_run("nosuch", false, out, &res, &err), WN_ENOTFOUND);
	CHECK(strstr(err, "cannot check nosuch") != NULL);
	free(err);
	fclose(out);
}

TEST_MAIN()
