/* Unit tests of the metrics (metrics.h): the exact text of /metrics for an
 * engine in a known state (jobs by project and status, queue depth, workers,
 * jobs submitted and finished, run time and dispatch latency on the test
 * clock, requests by method and code), label escaping, and the store's
 * figures. */
#include "test.h"

#include "fixture.h"

#include "engine.h"
#include "metrics.h"
#include "strbuf.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* has checks that text holds want, whole lines. */
#define HAS(text, want)                                                                            \
	do {                                                                                       \
		if (strstr((text), (want)) == NULL)                                                \
			wn_test_fail(__FILE__, __LINE__, "metrics lack:\n%s\n--- in:\n%s", (want), \
			             (text));                                                      \
	} while (0)

static char *render(wn_engine *e)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_metrics_render(e, &b);
	return wn_strbuf_take(&b);
}

/* histo_text is the text of histogram name with labels ("k=\"v\"," pairs or
 * "") over the bounds le (NULL-terminated), counts cum (cumulative), then
 * +Inf, sum and count. */
static char *histo_text(const char *name, const char *labels, const char *const *le, const int *cum,
                        int count, const char *sum)
{
	wn_strbuf b = WN_STRBUF_INIT;
	for (size_t i = 0; le[i] != NULL; i++)
		wn_strbuf_addf(&b, "%s_bucket{%sle=\"%s\"} %d\n", name, labels, le[i], cum[i]);
	wn_strbuf_addf(&b, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, count);
	size_t n = strlen(labels);
	if (n > 0) {
		wn_strbuf_addf(&b, "%s_sum{%.*s} %s\n", name, (int)n - 1, labels, sum);
		wn_strbuf_addf(&b, "%s_count{%.*s} %d\n", name, (int)n - 1, labels, count);
	} else {
		wn_strbuf_addf(&b, "%s_sum %s\n%s_count %d\n", name, sum, name, count);
	}
	return wn_strbuf_take(&b);
}

static void join(wn_engine *e, const char *name)
{
	Whatsnext__V1__Capacity cap = WHATSNEXT__V1__CAPACITY__INIT;
	cap.cpu = 4;
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)name;
	w.host = "box";
	w.capacity = &cap;
	Whatsnext__V1__JoinRequest rq = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	rq.worker = &w;
	CHECK_EQ_INT(call(e, M("WorkerService", "Join"), &rq.base, NULL, NULL), 0);
}

/* known_state makes two projects (one empty), a worker that joined and one
 * that left, three jobs: one completed (it waited 1.5 s, ran 2 s), one failed
 * (waited 3.5 s, ran 3 s), one pending; and a request for a job that does not
 * exist and one for a method that does not. */
static void known_state(wn_engine *e)
{
	wn_fixture_project(e, "p");
	wn_fixture_project(e, "a.q");
	wn_fixture_task(e, "p", "t", 0, 0);
	join(e, "w1");
	join(e, "w2");
	Whatsnext__V1__WorkerNameRequest lr = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	lr.name = "w2";
	CHECK_EQ_INT(call(e, M("WorkerService", "Leave"), &lr.base, NULL, NULL), 0);
	uint64_t j1 = wn_fixture_submit(e, "p", "t", 0);
	uint64_t j2 = wn_fixture_submit(e, "p", "t", 0);
	wn_fixture_submit(e, "p", "t", 0);
	/* j1 waits 1.5 s and runs 2 s; j2 waits 3.5 s and fails after 3 s */
	wn_fixture_now += 1500;
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), j1);
	wn_fixture_now += 2000;
	CHECK_EQ_INT(wn_fixture_complete(e, j1, att, true), 0);
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), j2);
	wn_fixture_now += 3000;
	CHECK_EQ_INT(wn_fixture_complete(e, j2, att, false), 0);
	/* a job that does not exist, a method that does not */
	Whatsnext__V1__GetJobRequest gr = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	gr.id = 999;
	CHECK_EQ_INT(call(e, M("JobService", "Get"), &gr.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	CHECK_EQ_INT(call(e, M("JobService", "Nope"), &gr.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__UNIMPLEMENTED);
}

static void check_gauges(const char *t)
{
	HAS(t, "# HELP whatsnext_jobs Jobs kept by the server, by project and status.\n"
	       "# TYPE whatsnext_jobs gauge\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"pending\"} 0\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"running\"} 0\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"completed\"} 0\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"failed\"} 0\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"blocked\"} 0\n"
	       "whatsnext_jobs{project=\"a.q\",state=\"cancelled\"} 0\n"
	       "whatsnext_jobs{project=\"p\",state=\"pending\"} 1\n"
	       "whatsnext_jobs{project=\"p\",state=\"running\"} 0\n"
	       "whatsnext_jobs{project=\"p\",state=\"completed\"} 1\n"
	       "whatsnext_jobs{project=\"p\",state=\"failed\"} 1\n"
	       "whatsnext_jobs{project=\"p\",state=\"blocked\"} 0\n"
	       "whatsnext_jobs{project=\"p\",state=\"cancelled\"} 0\n"
	       "# HELP whatsnext_queue_depth ");
	HAS(t, "# TYPE whatsnext_queue_depth gauge\n"
	       "whatsnext_queue_depth{project=\"a.q\"} 0\n"
	       "whatsnext_queue_depth{project=\"p\"} 1\n");
	HAS(t, "# TYPE whatsnext_workers gauge\n"
	       "whatsnext_workers{state=\"active\"} 1\n"
	       "whatsnext_workers{state=\"draining\"} 0\n"
	       "whatsnext_workers{state=\"lost\"} 0\n"
	       "whatsnext_workers{state=\"gone\"} 1\n");
	HAS(t, "# TYPE whatsnext_jobs_submitted_total counter\n"
	       "whatsnext_jobs_submitted_total{project=\"p\",task=\"t\"} 3\n");
	HAS(t, "# TYPE whatsnext_jobs_finished_total counter\n"
	       "whatsnext_jobs_finished_total{project=\"p\",task=\"t\",state=\"completed\"} 1\n"
	       "whatsnext_jobs_finished_total{project=\"p\",task=\"t\",state=\"failed\"} 1\n"
	       "whatsnext_jobs_finished_total{project=\"p\",task=\"t\",state=\"cancelled\"} 0\n");
}

static void check_histograms(const char *t)
{
	static const char *const run_le[] = {"1",     "5",     "10",    "30",     "60",     "120",
	                                     "300",   "600",   "1800",  "3600",   "7200",   "14400",
	                                     "28800", "43200", "86400", "259200", "604800", NULL};
	static const int run_cum[] = {0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
	char *h = histo_text("whatsnext_job_run_duration_seconds", "project=\"p\",task=\"t\",",
	                     run_le, run_cum, 2, "5");
	HAS(t, "# TYPE whatsnext_job_run_duration_seconds histogram\n");
	HAS(t, h);
	free(h);
	static const char *const wait_le[] = {
	    "0.001", "0.005", "0.01", "0.05", "0.1",  "0.5",   "1",     "5",     "10", "30",
	    "60",    "300",   "900",  "1800", "3600", "14400", "43200", "86400", NULL};
	static const int wait_cum[] = {0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
	h = histo_text("whatsnext_dispatch_latency_seconds", "", wait_le, wait_cum, 2, "5");
	HAS(t, "# TYPE whatsnext_dispatch_latency_seconds histogram\n");
	HAS(t, h);
	free(h);
}

static void check_requests(const char *t)
{
	HAS(t, "# TYPE whatsnext_requests_total counter\n"
	       "whatsnext_requests_total{method=\"ProjectService/Create\",code=\"OK\"} 2\n");
	HAS(t, "whatsnext_requests_total{method=\"TaskService/Create\",code=\"OK\"} 1\n");
	HAS(t, "whatsnext_requests_total{method=\"JobService/Submit\",code=\"OK\"} 3\n");
	HAS(t, "whatsnext_requests_total{method=\"JobService/Get\",code=\"NOT_FOUND\"} 1\n");
	HAS(t, "whatsnext_requests_total{method=\"QueueService/Fetch\",code=\"OK\"} 2\n");
	HAS(t, "whatsnext_requests_total{method=\"QueueService/Complete\",code=\"OK\"} 2\n");
	HAS(t, "whatsnext_requests_total{method=\"WorkerService/Join\",code=\"OK\"} 2\n");
	HAS(t, "whatsnext_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"} 1\n");
	HAS(t, "whatsnext_request_duration_seconds_count{method=\"JobService/Submit\"} 3\n");
	HAS(t, "whatsnext_request_duration_seconds_bucket{method=\"JobService/Submit\","
	       "le=\"+Inf\"} 3\n");
	CHECK(strstr(t, "method=\"JobService/List\"") == NULL); /* never called */
	HAS(t, "# TYPE whatsnext_store_fsync_duration_seconds histogram\n");
	HAS(t, "# TYPE whatsnext_store_size_bytes gauge\n");
	HAS(t, "whatsnext_build_info{version=\"" WN_VERSION "\"} 1\n");
}

TEST(known_state_renders_exact_lines)
{
	wn_engine *e = wn_fixture_open();
	known_state(e);
	char *t = render(e);
	check_gauges(t);
	check_histograms(t);
	check_requests(t);
	free(t);
	wn_fixture_close(e);
}

/* value returns the number after "name " at the start of a line of text. */
static double value(const char *text, const char *name)
{
	char want[256];
	snprintf(want, sizeof(want), "\n%s ", name);
	const char *p = strstr(text, want);
	if (p == NULL)
		wn_test_fail(__FILE__, __LINE__, "no line %s", name);
	return strtod(p + strlen(want), NULL);
}

TEST(store_figures_follow_the_writes)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 0);
	for (int i = 0; i < 20; i++)
		wn_fixture_submit(e, "p", "t", 0);
	char *t = render(e);
	/* each mutating call waited for a sync of its write */
	CHECK(value(t, "whatsnext_store_fsync_duration_seconds_count") >= 1);
	CHECK(value(t, "whatsnext_store_size_bytes{kind=\"wal\"}") > 0);
	CHECK(value(t, "whatsnext_store_size_bytes{kind=\"other\"}") > 0);
	CHECK(value(t, "process_start_time_seconds") > 1.6e9);
	CHECK(value(t, "process_open_fds") > 0);
	free(t);
	wn_fixture_close(e);
}

TEST(a_cancelled_and_a_retried_job)
{
	wn_engine *e = wn_fixture_open();
	wn_fixture_project(e, "p");
	wn_fixture_task(e, "p", "t", 0, 1); /* one retry */
	uint64_t id = wn_fixture_submit(e, "p", "t", 0);
	uint64_t gone = wn_fixture_submit(e, "p", "t", -1);
	uint32_t att = 0;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	wn_fixture_now += 4000;
	CHECK_EQ_INT(wn_fixture_complete(e, id, att, false), 0); /* back to PENDING */
	/* its second wait counts from its return, not its submission */
	wn_fixture_now += 20;
	CHECK_EQ_INT(wn_fixture_fetch(e, "p", "w1", &att), id);
	CHECK_EQ_INT(att, 2);
	Whatsnext__V1__JobIdRequest cr = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	cr.id = gone;
	CHECK_EQ_INT(call(e, M("JobService", "Cancel"), &cr.base, NULL, NULL), 0);
	char *t = render(e);
	HAS(t, "whatsnext_jobs_finished_total{project=\"p\",task=\"t\",state=\"cancelled\"} 1\n");
	HAS(t, "whatsnext_jobs_finished_total{project=\"p\",task=\"t\",state=\"failed\"} 0\n");
	/* the waits: 0 s, then 0.02 s */
	HAS(t, "whatsnext_dispatch_latency_seconds_bucket{le=\"0.001\"} 1\n"
	       "whatsnext_dispatch_latency_seconds_bucket{le=\"0.005\"} 1\n"
	       "whatsnext_dispatch_latency_seconds_bucket{le=\"0.01\"} 1\n"
	       "whatsnext_dispatch_latency_seconds_bucket{le=\"0.05\"} 2\n");
	HAS(t, "whatsnext_dispatch_latency_seconds_sum 0.02\n");
	/* a retried run is no run that ended */
	HAS(t, "whatsnext_job_run_duration_seconds_count{project=\"p\",task=\"t\"} 0\n");
	HAS(t, "whatsnext_jobs{project=\"p\",state=\"running\"} 1\n");
	free(t);
	wn_fixture_close(e);
}

TEST(label_values_are_escaped)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_metrics_label(&b, "a\"b\\c\nd é");
	CHECK_EQ_STR(wn_strbuf_str(&b), "a\\\"b\\\\c\\nd é");
	wn_strbuf_free(&b);
}

TEST_MAIN()
