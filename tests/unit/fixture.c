/* fixture: the engine of a unit test (fixture.h). */
#define WN_TEST_HELPER
#include "test.h"

#include "fixture.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t wn_fixture_now = 1700000000000LL;
const char *wn_fixture_token;
int64_t wn_fixture_wall_step;

/* The settings of each open engine, for a restart. */
enum { FIXTURE_MAX_OPEN = 8 };
static struct {
	wn_engine *e;
	wn_engine_config cfg;
	char *data_dir;
} fixture_open_engines[FIXTURE_MAX_OPEN];

static char fixture_msg[1024];
static uint64_t fixture_next_req = 1000;

static int64_t fixture_wall(void *arg)
{
	(void)arg;
	return wn_fixture_now + wn_fixture_wall_step;
}

static int64_t fixture_mono(void *arg)
{
	(void)arg;
	return wn_fixture_now;
}

wn_engine_config wn_fixture_config(void)
{
	return (wn_engine_config){
	    .data_dir = "data",
	    .durability = WN_DURABILITY_SYNC,
	    .lease_ms = 60000,
	    .no_sweeper = true,
	    .clock = fixture_wall,
	    .mono = fixture_mono,
	};
}

/* fixture_slot returns the index of the slot of e (NULL: a free one), or -1. */
static int fixture_slot(const wn_engine *e)
{
	for (int i = 0; i < FIXTURE_MAX_OPEN; i++)
		if (fixture_open_engines[i].e == e)
			return i;
	return -1;
}

/* fixture_forget empties slot i. */
static void fixture_forget(int i)
{
	free(fixture_open_engines[i].data_dir);
	fixture_open_engines[i].e = NULL;
	fixture_open_engines[i].data_dir = NULL;
}

/* fixture_keep records the settings of e, just opened. An engine closed
 * with wn_engine_close rather than wn_fixture_close leaves its slot behind:
 * a slot of the same address (reused by the allocator) or the oldest one
 * makes room. */
static void fixture_keep(wn_engine *e, const wn_engine_config *cfg, char *dir)
{
	static int next;
	int i = fixture_slot(e);
	if (i < 0)
		i = fixture_slot(NULL);
	if (i < 0)
		i = next++ % FIXTURE_MAX_OPEN;
	fixture_forget(i);
	fixture_open_engines[i].e = e;
	fixture_open_engines[i].cfg = *cfg;
	fixture_open_engines[i].cfg.data_dir = dir;
	fixture_open_engines[i].data_dir = dir;
}

int wn_fixture_try_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	char *dir = strdup(cfg->data_dir);
	CHECK(dir != NULL);
	wn_engine_config c = *cfg;
	c.data_dir = dir;
	int rv = wn_engine_open(&c, out, errmsg);
	if (rv != WN_OK) {
		free(dir);
		return rv;
	}
	fixture_keep(*out, &c, dir);
	return WN_OK;
}

wn_engine *wn_fixture_open_with(const wn_engine_config *cfg)
{
	wn_engine *e = NULL;
	char *err = NULL;
	int rv = wn_fixture_try_open(cfg, &e, &err);
	if (rv != WN_OK)
		printf("# cannot open an engine on %s: %s\n", cfg->data_dir, err ? err : "");
	free(err);
	CHECK_OK(rv);
	return e;
}

wn_engine *wn_fixture_open(void)
{
	wn_engine_config cfg = wn_fixture_config();
	return wn_fixture_open_with(&cfg);
}

wn_engine *wn_fixture_restart(wn_engine *e)
{
	int i = fixture_slot(e);
	CHECK(e != NULL && i >= 0); /* opened by the fixture */
	wn_engine_config cfg = fixture_open_engines[i].cfg;
	char *dir = fixture_open_engines[i].data_dir;
	fixture_open_engines[i].e = NULL;
	fixture_open_engines[i].data_dir = NULL;
	wn_engine_close(e);
	e = wn_fixture_open_with(&cfg);
	free(dir);
	return e;
}

void wn_fixture_close(wn_engine *e)
{
	int i = e != NULL ? fixture_slot(e) : -1;
	if (i >= 0)
		fixture_forget(i);
	wn_engine_close(e);
}

int wn_fixture_raw(wn_engine *e, const uint8_t *buf, size_t len, Whatsnext__V1__Response **out)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	wn_engine_handle(e, buf, len, NULL, &reply, &rlen);
	CHECK(reply != NULL);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, rlen, reply);
	free(reply);
	CHECK(r != NULL);
	snprintf(fixture_msg, sizeof(fixture_msg), "%s", r->message);
	int code = (int)r->code;
	if (out != NULL)
		*out = r;
	else
		whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

int wn_fixture_call_id(wn_engine *e, const char *method, const ProtobufCMessage *in, uint64_t id,
                       const ProtobufCMessageDescriptor *od, void **out)
{
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = id;
	rq.method = (char *)method;
	if (wn_fixture_token != NULL)
		rq.token = (char *)wn_fixture_token;
	size_t bl;
	rq.body.data = wn_message_pack(in, &bl);
	rq.body.len = bl;
	size_t len;
	uint8_t *buf = wn_message_pack(&rq.base, &len);
	free(rq.body.data);
	if (out != NULL)
		*out = NULL;
	Whatsnext__V1__Response *r = NULL;
	int code = wn_fixture_raw(e, buf, len, &r);
	free(buf);
	if (code == 0 && out != NULL && od != NULL) {
		*out = protobuf_c_message_unpack(od, NULL, r->body.len, r->body.data);
		CHECK(*out != NULL);
	}
	whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

int wn_fixture_call(wn_engine *e, const char *method, const ProtobufCMessage *in,
                    const ProtobufCMessageDescriptor *od, void **out)
{
	return wn_fixture_call_id(e, method, in, fixture_next_req++, od, out);
}

const char *wn_fixture_msg(void)
{
	return fixture_msg;
}

void wn_fixture_project(wn_engine *e, const char *name)
{
	Whatsnext__V1__CreateProjectRequest rq = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	rq.name = (char *)name;
	CHECK_EQ_INT(wn_fixture_call(e, M("ProjectService", "Create"), &rq.base, NULL, NULL), 0);
}

void wn_fixture_task(wn_engine *e, const char *project, const char *name, uint32_t max_attempts,
                     uint32_t retries)
{
	Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
	t.project = (char *)project;
	t.name = (char *)name;
	t.max_attempts = max_attempts;
	t.retries = retries;
	Whatsnext__V1__CreateTaskRequest rq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	rq.task = &t;
	CHECK_EQ_INT(wn_fixture_call(e, M("TaskService", "Create"), &rq.base, NULL, NULL), 0);
}

uint64_t wn_fixture_submit(wn_engine *e, const char *project, const char *task, int32_t prio)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = (char *)task;
	s.priority = prio;
	Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	rq.job = &s;
	Whatsnext__V1__SubmitResponse *r = NULL;
	CHECK_EQ_INT(wn_fixture_call(e, M("JobService", "Submit"), &rq.base,
	                             &whatsnext__v1__submit_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job->id;
	whatsnext__v1__submit_response__free_unpacked(r, NULL);
	return id;
}

uint64_t wn_fixture_fetch(wn_engine *e, const char *project, const char *worker, uint32_t *att)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = (char *)project;
	rq.worker = (char *)worker;
	Whatsnext__V1__FetchResponse *r = NULL;
	CHECK_EQ_INT(wn_fixture_call(e, M("QueueService", "Fetch"), &rq.base,
	                             &whatsnext__v1__fetch_response__descriptor, (void **)&r),
	             0);
	uint64_t id = r->job ? r->job->id : 0;
	if (att != NULL)
		*att = r->job ? r->job->attempt : 0;
	whatsnext__v1__fetch_response__free_unpacked(r, NULL);
	return id;
}

int wn_fixture_complete(wn_engine *e, uint64_t id, uint32_t attempt, bool success)
{
	Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rq.job_id = id;
	rq.attempt = attempt;
	rq.worker = "w1";
	rq.success = success;
	rq.exit_code = success ? 0 : 7;
	rq.output_tail = "done\n";
	return wn_fixture_call(e, M("QueueService", "Complete"), &rq.base, NULL, NULL);
}

Whatsnext__V1__Job *wn_fixture_job(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	rq.id = id;
	Whatsnext__V1__Job *j = NULL;
	CHECK_EQ_INT(wn_fixture_call(e, M("JobService", "Get"), &rq.base,
	                             &whatsnext__v1__job__descriptor, (void **)&j),
	             0);
	return j;
}

size_t wn_fixture_log_len(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__LogRequest rq = WHATSNEXT__V1__LOG_REQUEST__INIT;
	rq.id = id;
	Whatsnext__V1__LogResponse *r = NULL;
	CHECK_EQ_INT(wn_fixture_call(e, M("JobService", "Log"), &rq.base,
	                             &whatsnext__v1__log_response__descriptor, (void **)&r),
	             0);
	size_t n = r->data.len;
	whatsnext__v1__log_response__free_unpacked(r, NULL);
	return n;
}

int wn_fixture_job_status(wn_engine *e, uint64_t id)
{
	Whatsnext__V1__Job *j = wn_fixture_job(e, id);
	int s = (int)j->status;
	whatsnext__v1__job__free_unpacked(j, NULL);
	return s;
}
