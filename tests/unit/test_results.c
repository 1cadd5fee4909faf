/* Unit tests for results on the server (results.h): what Heartbeat and
 * Complete keep of a JobProgress, the history and its thinning, what is
 * refused, a new attempt, restarts, and `wnd --check` on r/ records. */
#include "test.h"

#include "check_int.h"
#include "fixture.h"
#include "keys.h"
#include "store.h"

#include <math.h>

#define CODE_OK      0
#define CODE_INVALID WHATSNEXT__V1__CODE__INVALID_ARGUMENT

/* A JobProgress being built, with room for its values and points. */
struct prog {
	Whatsnext__V1__JobProgress pg;
	Whatsnext__V1__JobProgress__ResultsEntry e[8], *ev[8];
	Whatsnext__V1__ResultValue v[8];
	Whatsnext__V1__ResultPoint p[1200], *pv[1200];
};

static void prog_init(struct prog *p, uint64_t id, uint32_t attempt)
{
	memset(p, 0, sizeof(*p));
	whatsnext__v1__job_progress__init(&p->pg);
	p->pg.job_id = id;
	p->pg.attempt = attempt;
	p->pg.results = p->ev;
	p->pg.points = p->pv;
}

static void prog_number(struct prog *p, const char *key, double v)
{
	size_t i = p->pg.n_results++;
	whatsnext__v1__job_progress__results_entry__init(&p->e[i]);
	whatsnext__v1__result_value__init(&p->v[i]);
	p->v[i].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
	p->v[i].number = v;
	p->e[i].key = (char *)key;
	p->e[i].value = &p->v[i];
	p->ev[i] = &p->e[i];
}

static void prog_text(struct prog *p, const char *key, const char *t)
{
	prog_number(p, key, 0);
	size_t i = p->pg.n_results - 1;
	p->v[i].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
	p->v[i].text = (char *)t;
}

static void prog_point(struct prog *p, const char *key, double v, uint64_t seq)
{
	size_t i = p->pg.n_points++;
	whatsnext__v1__result_point__init(&p->p[i]);
	p->p[i].key = (char *)key;
	p->p[i].value = v;
	p->p[i].seq = seq;
	p->p[i].time_ms = 1000 + (int64_t)seq;
	p->pv[i] = &p->p[i];
}

/* heartbeat sends p for job p->pg.job_id as worker w1 (which holds it). */
static int heartbeat(wn_engine *e, struct prog *p)
{
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = p->pg.job_id;
	l.attempt = p->pg.attempt;
	Whatsnext__V1__Lease *lv[1] = {&l};
	Whatsnext__V1__JobProgress *pv[1] = {&p->pg};
	Whatsnext__V1__HeartbeatRequest hb = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	hb.worker = "w1";
	hb.leases = lv;
	hb.n_leases = 1;
	hb.progress = pv;
	hb.n_progress = 1;
	return call(e, M("QueueService", "Heartbeat"), &hb.base, NULL, NULL);
}

/* complete reports the end of p's job (success or not) with p as its progress. */
static int complete(wn_engine *e, struct prog *p, bool success)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = p->pg.job_id;
	rq.attempt = p->pg.attempt;
	rq.worker = "w1";
	rq.success = success;
	rq.exit_code = success ? 0 : 1;
	rq.progress = &p->pg;
	return call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL);
}

/* results_text gives job id's results as "k=v ..." in the order kept. */
static const char *results_text(wn_engine *e, uint64_t id)
{
	static char out[1024];
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < j->n_results; i++) {
		const Whatsnext__V1__ResultValue *v = j->results[i]->value;
		if (v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT)
			n += snprintf(out + n, sizeof(out) - n, "%s%s=%s", i ? " " : "",
			              j->results[i]->key, v->text);
		else
			n += snprintf(out + n, sizeof(out) - n, "%s%s=%g", i ? " " : "",
			              j->results[i]->key, v->number);
	}
	whatsnext__v1__job__free_unpacked(j, NULL);
	return out;
}

static Whatsnext__V1__ResultHistory *history(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__HistoryRequest rq = WHATSNEXT__V1__HISTORY_REQUEST__INIT;
	rq.id = id;
	Whatsnext__V1__ResultHistory *h = NULL;
	CHECK_EQ_INT(call(e, M("JobService", "History"), &rq.base,
	                  &whatsnext__v1__result_history__descriptor, (void **)&h),
	             CODE_OK);
	return h;
}

/* started opens an engine with project p, task t (retries) and a job of it
 * fetched by w1; *id gets the job. */
static wn_engine *started(uint64_t *id, uint32_t retries)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, retries);
	*id = wn_fixture_submit(e, "p", "t", 0);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), *id);
	CHECK_EQ_INT(att, 1);
	return e;
}

TEST(heartbeats_keep_the_latest_values_and_the_points)
{
	uint64_t id;
	wn_engine *e = started(&id, 0);
	struct prog p;
	prog_init(&p, id, 1);
	prog_number(&p, "loss", 0.5);
	prog_text(&p, "phase", "warmup");
	prog_point(&p, "loss", 0.9, 1);
	prog_point(&p, "loss", 0.5, 2);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	CHECK_EQ_STR(results_text(e, id), "loss=0.5 phase=warmup");
	/* the same points again (a reply lost) count once; a new one joins */
	prog_point(&p, "loss", 0.25, 3);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	e = wn_fixture_restart(e);
	Whatsnext__V1__ResultHistory *h = history(e, id);
	CHECK_EQ_INT(h->attempt, 1);
	CHECK_EQ_INT(h->n_series, 1);
	CHECK_EQ_STR(h->series[0]->key, "loss");
	CHECK_EQ_INT(h->series[0]->n_points, 3);
	CHECK(h->series[0]->points[2]->value == 0.25);
	CHECK_EQ_INT(h->series[0]->points[2]->seq, 3);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	/* the completion's values are the job's results, whatever came before */
	prog_init(&p, id, 1);
	prog_number(&p, "loss", 0.125);
	prog_number(&p, "acc", 0.75);
	CHECK_EQ_INT(complete(e, &p, true), CODE_OK);
	CHECK_EQ_STR(results_text(e, id), "loss=0.125 acc=0.75");
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED);
	wn_fixture_close(e);
}

/* refused sends p in a heartbeat and then in a completion, expecting both
 * refused with a message holding what, and nothing changed. */
static void refused(wn_engine *e, struct prog *p, const char *what)
{
	uint64_t id = p->pg.job_id;
	int64_t lease = 0;
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	lease = j->lease_expires_ms;
	whatsnext__v1__job__free_unpacked(j, NULL);
	wn_fixture_now += 10;
	CHECK_EQ_INT(heartbeat(e, p), CODE_INVALID);
	CHECK(strstr(wn_fixture_msg(), what) != NULL);
	CHECK_EQ_INT(complete(e, p, true), CODE_INVALID);
	CHECK(strstr(wn_fixture_msg(), what) != NULL);
	j = wn_fixture_job(e, id);
	CHECK_EQ_INT(j->status, WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	CHECK_EQ_INT(j->lease_expires_ms, lease); /* the heartbeat extended nothing */
	CHECK_EQ_INT(j->n_results, 1);
	whatsnext__v1__job__free_unpacked(j, NULL);
	Whatsnext__V1__ResultHistory *h = history(e, id);
	CHECK_EQ_INT(h->n_series, 1);
	CHECK_EQ_INT(h->series[0]->n_points, 1);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
}

TEST(a_lying_peer_is_refused_and_changes_nothing)
{
	uint64_t id;
	wn_engine *e = started(&id, 0);
	struct prog p;
	prog_init(&p, id, 1);
	prog_number(&p, "ok", 1);
	prog_point(&p, "ok", 1, 1);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);

	prog_init(&p, id, 1);
	prog_number(&p, "loss", NAN);
	refused(e, &p, "job 1: result \"loss\": a number is not finite");
	prog_init(&p, id, 1);
	prog_point(&p, "loss", INFINITY, 5);
	refused(e, &p, "point of \"loss\": a number is not finite");
	prog_init(&p, id, 1);
	prog_point(&p, "loss", 1, 0);
	refused(e, &p, "its report (seq) is 0");
	prog_init(&p, id, 1);
	prog_number(&p, "9x", 1);
	refused(e, &p, "a key starts with a letter");
	prog_init(&p, id, 1);
	prog_number(&p, "a", 1);
	prog_number(&p, "a", 2);
	refused(e, &p, "result \"a\" given twice");
	prog_init(&p, id, 1);
	prog_text(&p, "t", "bad\ttab");
	refused(e, &p, "a text holds a control character");
	prog_init(&p, id, 1);
	prog_text(&p, "t", "c1 \xc2\x9b control"); /* U+009B, a terminal's CSI */
	refused(e, &p, "a text holds a control character");
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	prog_init(&p, id, 1);
	prog_text(&p, "t", big);
	refused(e, &p, "a text is longer than 256 bytes");
	prog_init(&p, id, 1);
	prog_number(&p, "a", 1);
	p.v[0].value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE__NOT_SET;
	refused(e, &p, "not nothing");
	/* the progress of another job in a completion */
	prog_init(&p, id + 1, 1);
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = 1;
	rq.worker = "w1";
	rq.success = true;
	rq.progress = &p.pg;
	CHECK_EQ_INT(call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL), CODE_INVALID);
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING);
	wn_fixture_close(e);
}

TEST(a_long_run_keeps_the_shape_of_its_history)
{
	uint64_t id;
	wn_engine *e = started(&id, 0);
	struct prog p;
	uint64_t seq = 0;
	for (int round = 0; round < 5; round++) {
		prog_init(&p, id, 1);
		for (int i = 0; i < 1000; i++) {
			seq++;
			prog_point(&p, "step", (double)seq, seq);
		}
		CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	}
	Whatsnext__V1__ResultHistory *h = history(e, id);
	const Whatsnext__V1__ResultSeries *s = h->series[0];
	CHECK_EQ_INT(s->reported, 5000);
	CHECK(s->n_points <= 512 && s->n_points > 256);
	CHECK_EQ_INT(s->stride, 16);
	/* evenly spaced from the first report on: one of every stride, and the
	 * latest */
	for (size_t i = 0; i + 1 < s->n_points; i++)
		CHECK_EQ_INT(s->points[i]->seq, 1 + i * s->stride);
	CHECK_EQ_INT(s->points[s->n_points - 1]->seq, 5000);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	wn_fixture_close(e);
}

TEST(a_history_thinned_by_its_worker_counts_every_report_and_stays_even)
{
	uint64_t id;
	wn_engine *e = started(&id, 0);
	struct prog p;
	/* 300 reports sent one by one, then a burst the worker thinned to one
	 * of every 4 (nth - 1 a multiple of 4) and its latest */
	prog_init(&p, id, 1);
	for (uint64_t n = 1; n <= 300; n++)
		prog_point(&p, "x", (double)n, n);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	prog_init(&p, id, 1);
	for (uint64_t n = 301; n <= 3000; n++) {
		if ((n - 1) % 4 != 0 && n != 3000)
			continue;
		prog_point(&p, "x", (double)n, n);
		p.p[p.pg.n_points - 1].nth = n;
		p.p[p.pg.n_points - 1].stride = 4;
	}
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	e = wn_fixture_restart(e);
	Whatsnext__V1__ResultHistory *h = history(e, id);
	const Whatsnext__V1__ResultSeries *s = h->series[0];
	CHECK_EQ_INT(s->reported, 3000);
	CHECK(s->n_points <= 512 && s->n_points > 256);
	CHECK_EQ_INT(s->stride, 8);
	/* the reports sent one by one are thinned like the burst */
	for (size_t i = 0; i + 1 < s->n_points; i++) {
		CHECK_EQ_INT(s->points[i]->seq, 1 + i * s->stride);
		CHECK_EQ_INT(s->points[i]->nth, 1 + i * s->stride);
	}
	CHECK_EQ_INT(s->points[s->n_points - 1]->seq, 3000);
	CHECK(s->points[s->n_points - 1]->value == 3000);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	/* a later point replaces the latest, which the stride does not keep */
	prog_init(&p, id, 1);
	prog_point(&p, "x", 3001, 3001);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	h = history(e, id);
	s = h->series[0];
	CHECK_EQ_INT(s->reported, 3001);
	CHECK_EQ_INT(s->points[s->n_points - 1]->seq, 3001);
	CHECK_EQ_INT(s->points[s->n_points - 2]->seq, 2993);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	/* a stride that is not a power of two is refused */
	prog_init(&p, id, 1);
	prog_point(&p, "x", 1, 3002);
	p.p[0].stride = 3;
	CHECK_EQ_INT(heartbeat(e, &p), CODE_INVALID);
	CHECK(strstr(wn_fixture_msg(), "its stride is not a power of two") != NULL);
	wn_fixture_close(e);
}

TEST(a_lying_worker_cannot_grow_a_history_past_its_bound)
{
	/* numbers so far apart that every stride keeps them all: the history
	 * still holds at most 512 points, the first and the latest among them */
	uint64_t id;
	wn_engine *e = started(&id, 0);
	struct prog p;
	uint64_t seq = 0;
	for (int round = 0; round < 3; round++) {
		prog_init(&p, id, 1);
		for (int i = 0; i < 1000; i++) {
			seq++;
			prog_point(&p, "x", (double)seq, seq);
			p.p[p.pg.n_points - 1].nth = 1 + (seq - 1) * (UINT64_C(1) << 32);
			p.p[p.pg.n_points - 1].stride = UINT32_C(1) << 31;
		}
		CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	}
	Whatsnext__V1__ResultHistory *h = history(e, id);
	const Whatsnext__V1__ResultSeries *s = h->series[0];
	CHECK(s->n_points <= 512);
	CHECK(s->points[0]->value == 1);
	CHECK(s->points[s->n_points - 1]->value == 3000);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	wn_fixture_close(e);
}

TEST(a_new_attempt_starts_fresh)
{
	uint64_t id;
	wn_engine *e = started(&id, 1);
	struct prog p;
	prog_init(&p, id, 1);
	prog_number(&p, "first", 1);
	prog_point(&p, "first", 1, 1);
	CHECK_EQ_INT(complete(e, &p, false), CODE_OK); /* retried */
	CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
	CHECK_EQ_STR(results_text(e, id), "first=1"); /* what the failed attempt said */
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 2);
	CHECK_EQ_STR(results_text(e, id), "");
	Whatsnext__V1__ResultHistory *h = history(e, id);
	CHECK_EQ_INT(h->attempt, 2);
	CHECK_EQ_INT(h->n_series, 0);
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	prog_init(&p, id, 2);
	prog_point(&p, "second", 2, 1); /* seq starts again at 1 */
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	h = history(e, id);
	CHECK_EQ_INT(h->n_series, 1);
	CHECK_EQ_STR(h->series[0]->key, "second");
	whatsnext__v1__result_history__free_unpacked(h, NULL);
	/* progress of the old attempt is ignored */
	prog_init(&p, id, 1);
	prog_number(&p, "stale", 1);
	CHECK_EQ_INT(heartbeat(e, &p), CODE_OK);
	CHECK_EQ_STR(results_text(e, id), "");
	wn_fixture_close(e);
}

TEST(check_deletes_the_history_of_no_job)
{
	struct check k;
	wn_check_init(&k, NULL, stdout, "# ", false);
	wn_check_record(&k, "m/next_id", 9, "1025", 4);
	wn_check_record(&k, "m/version", 9, "1", 1);
	Whatsnext__V1__ResultHistory h = WHATSNEXT__V1__RESULT_HISTORY__INIT;
	h.job_id = 7;
	size_t len = 0;
	uint8_t *buf = wn_message_pack(&h.base, &len);
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, 7);
	wn_check_record(&k, key, kl, (const char *)buf, len);
	free(buf);
	wn_check_rules(&k);
	CHECK_EQ_INT(k.findings, 1);
	struct fix *f = wn_map_get_str(k.fixmap, "r/7");
	CHECK(f != NULL);
	CHECK_EQ_INT(f->kind, FIX_DEL);
	wn_check_release(&k);
}

TEST_MAIN()
