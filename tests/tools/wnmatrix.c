/* wnmatrix: every method of the protocol against every role, on a real wnd.
 * Each call is allowed (it succeeds), or refused with PERMISSION_DENIED and
 * the server's state unchanged: the listings of everything (projects, tasks,
 * jobs, sweeps, workers, tokens, counts) taken before and after are equal.
 *
 *   wnmatrix URL ADMIN_TOKEN_FILE BACKUP_DIR
 *
 * With the admin token it makes the other roles' tokens: user alice (limited
 * to projects pa and pc), worker w1, reader bob. Then, for each method of
 * methods.def and each role, it puts the state back (projects pa and pb with
 * a task each, a pending, a running and a cancelled job in pa, a pending job
 * in pb, a sweep, worker w1 holding the running job, w9 gone, a token to revoke),
 * calls, and checks against its own table of who may call what (not
 * methods.def's: a method missing from the table fails). Then alice naming
 * project pb, w1 acting as worker w2, and calls with no token, a wrong one
 * and a revoked one (UNAUTHENTICATED, unknown methods too). One line per
 * failed check on stderr, a summary on stdout; exit 0 when every check
 * holds, 1 otherwise, 2 on a usage error. */
#include "err.h"
#include "kit.h"
#include "strbuf.h"
#include "methods.h"
#include "rpc.h"
#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE(x) WHATSNEXT__V1__CODE__##x

enum { R_ADMIN, R_USER, R_WORKER, R_READER, R_COUNT };
static const char *const role_names[R_COUNT] = {"admin", "user", "worker", "reader"};
#define A  (1 << R_ADMIN)
#define U  (1 << R_USER)
#define W  (1 << R_WORKER)
#define RD (1 << R_READER)

/* What a request names: set by the reset, changed by the scope checks. */
static struct target {
	const char *project, *worker;
	uint64_t pending, running, cancelled, other_job, sweep;
	uint32_t attempt;
	unsigned serial; /* fresh names */
	const char *backup_dir;
} tg;

static wn_rpc *rpcs[R_COUNT];
static unsigned failures, checks;

__attribute__((format(printf, 1, 2))) static void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("wnmatrix: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

/* call sends in to method mid with r and returns the code; the reply, if
 * out, in *out (NULL unless OK). */
static int call(wn_rpc *r, int mid, const ProtobufCMessage *in, ProtobufCMessage **out, char **msg)
{
	const wn_method *m = &wn_methods[mid];
	ProtobufCMessage *o = NULL;
	char *err = NULL;
	int rc = wn_rpc_call(r, m->path, in, m->reply, &o, &err, 0, 0);
	if (out != NULL)
		*out = o;
	else if (o != NULL)
		protobuf_c_message_free_unpacked(o, NULL);
	if (msg != NULL)
		*msg = err;
	else
		free(err);
	return rc;
}

/* must calls as admin and stops the run unless the code is OK (or ok2). */
static ProtobufCMessage *must(int mid, const ProtobufCMessage *in, int ok2)
{
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc = call(rpcs[R_ADMIN], mid, in, &out, &msg);
	if (rc != 0 && rc != ok2) {
		fprintf(stderr, "wnmatrix: setting up: %s: %s\n", wn_methods[mid].path,
		        msg ? msg : wn_strerror(rc));
		exit(1);
	}
	free(msg);
	return out;
}

/* must_do is must for a call whose reply is not needed: it frees it. */
static void must_do(int mid, const ProtobufCMessage *in, int ok2)
{
	ProtobufCMessage *out = must(mid, in, ok2);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
}

/* ------------------------------------------------------------- requests:
 * the request of each method, filled from tg, in static storage. */

/* of_project returns a request of type d with its field "project" (if it
 * has one) set to tg's project and its field "id" (if it has one) to tg's
 * pending job, the rest at its defaults. */
static ProtobufCMessage *of_project(const ProtobufCMessageDescriptor *d)
{
	static _Alignas(16) char pool[4][512];
	static unsigned next;
	ProtobufCMessage *m = (ProtobufCMessage *)pool[next++ % 4];
	protobuf_c_message_init(d, m);
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(d, "project");
	if (f != NULL)
		*(const char **)((char *)m + f->offset) = tg.project;
	f = protobuf_c_message_descriptor_get_field_by_name(d, "id");
	if (f != NULL && f->type == PROTOBUF_C_TYPE_UINT64)
		*(uint64_t *)((char *)m + f->offset) = tg.pending;
	return m;
}

/* OF_PROJECT(name, type) defines name, the request builder of_project gives
 * for the request type (in protoc-c's spelling). */
#define OF_PROJECT(name, type)                                                                     \
	static ProtobufCMessage *name(void)                                                        \
	{                                                                                          \
		return of_project(&whatsnext__v1__##type##__descriptor);                           \
	}

static ProtobufCMessage *rq_project_create(void)
{
	static Whatsnext__V1__CreateProjectRequest r = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	r.name = strcmp(tg.project, "pa") == 0 ? "pc" : "pb2";
	return &r.base;
}

static ProtobufCMessage *rq_project_name(void)
{
	static Whatsnext__V1__GetProjectRequest r = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
	r.name = (char *)tg.project;
	return &r.base;
}

OF_PROJECT(rq_project_list, list_projects_request)
static ProtobufCMessage *rq_project_update(void)
{
	static Whatsnext__V1__UpdateProjectRequest r = WHATSNEXT__V1__UPDATE_PROJECT_REQUEST__INIT;
	r.name = (char *)tg.project, r.set_description = true, r.description = "changed";
	return &r.base;
}

static ProtobufCMessage *rq_project_delete(void)
{
	static Whatsnext__V1__DeleteProjectRequest r = WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
	r.name = (char *)tg.project, r.force = true;
	return &r.base;
}

static ProtobufCMessage *rq_task(const char *name, bool update)
{
	static Whatsnext__V1__Task t;
	static Whatsnext__V1__CreateTaskRequest c;
	static Whatsnext__V1__UpdateTaskRequest u;
	static char *mask[] = {"description"};
	whatsnext__v1__task__init(&t);
	t.project = (char *)tg.project, t.name = (char *)name, t.description = "d";
	if (!update) {
		whatsnext__v1__create_task_request__init(&c);
		c.task = &t;
		return &c.base;
	}
	whatsnext__v1__update_task_request__init(&u);
	u.task = &t, u.update_mask = mask, u.n_update_mask = 1;
	return &u.base;
}

static ProtobufCMessage *rq_task_create(void)
{
	return rq_task("t2", false);
}
static ProtobufCMessage *rq_task_update(void)
{
	return rq_task("t", true);
}

static ProtobufCMessage *rq_task_get(void)
{
	static Whatsnext__V1__GetTaskRequest r = WHATSNEXT__V1__GET_TASK_REQUEST__INIT;
	r.project = (char *)tg.project, r.name = "t";
	return &r.base;
}

OF_PROJECT(rq_task_list, list_tasks_request)
static ProtobufCMessage *rq_task_delete(void)
{
	static Whatsnext__V1__DeleteTaskRequest r = WHATSNEXT__V1__DELETE_TASK_REQUEST__INIT;
	r.project = (char *)tg.project, r.name = "t", r.force = true;
	return &r.base;
}

static Whatsnext__V1__JobSpec *spec(void)
{
	static Whatsnext__V1__JobSpec s;
	whatsnext__v1__job_spec__init(&s);
	s.project = (char *)tg.project;
	s.task = "t";
	return &s;
}

static ProtobufCMessage *rq_submit(void)
{
	static Whatsnext__V1__SubmitRequest r = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	r.job = spec();
	return &r.base;
}

static ProtobufCMessage *rq_submit_batch(void)
{
	static Whatsnext__V1__SubmitBatchRequest r;
	static Whatsnext__V1__JobSpec *v[2];
	static Whatsnext__V1__SweepSpec sw;
	whatsnext__v1__submit_batch_request__init(&r);
	whatsnext__v1__sweep_spec__init(&sw);
	v[0] = v[1] = spec();
	r.jobs = v, r.n_jobs = 2, r.sweep = &sw;
	return &r.base;
}

static ProtobufCMessage *rq_job_get(void)
{
	static Whatsnext__V1__GetJobRequest r = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	r.id = tg.pending;
	return &r.base;
}

OF_PROJECT(rq_job_list, list_jobs_request)
OF_PROJECT(rq_history, history_request)
OF_PROJECT(rq_wait, wait_request)
static ProtobufCMessage *rq_job_id(uint64_t id)
{
	static Whatsnext__V1__JobIdRequest r = WHATSNEXT__V1__JOB_ID_REQUEST__INIT;
	r.id = id;
	return &r.base;
}

static ProtobufCMessage *rq_job_cancel(void)
{
	return rq_job_id(tg.pending);
}
static ProtobufCMessage *rq_job_retry(void)
{
	return rq_job_id(tg.cancelled);
}

static ProtobufCMessage *rq_job_priority(void)
{
	static Whatsnext__V1__SetPriorityRequest r = WHATSNEXT__V1__SET_PRIORITY_REQUEST__INIT;
	r.id = tg.pending, r.priority = 5;
	return &r.base;
}

static ProtobufCMessage *rq_job_bulk(void)
{
	static Whatsnext__V1__BulkRequest r;
	static uint64_t id;
	whatsnext__v1__bulk_request__init(&r);
	id = tg.pending;
	r.action = WHATSNEXT__V1__BULK_ACTION__BULK_PRIORITY, r.priority = 3;
	r.ids = &id, r.n_ids = 1;
	return &r.base;
}

static ProtobufCMessage *rq_job_update(void)
{
	static Whatsnext__V1__UpdateJobRequest r;
	static Whatsnext__V1__UpdateJobRequest__ParamsEntry e;
	static Whatsnext__V1__UpdateJobRequest__ParamsEntry *pe = &e;
	whatsnext__v1__update_job_request__init(&r);
	whatsnext__v1__update_job_request__params_entry__init(&e);
	e.key = "lr", e.value = "1";
	r.id = tg.pending, r.params = &pe, r.n_params = 1;
	return &r.base;
}

static ProtobufCMessage *rq_sweep_get(void)
{
	static Whatsnext__V1__GetSweepRequest r = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	r.id = tg.sweep;
	return &r.base;
}

OF_PROJECT(rq_sweep_list, list_sweeps_request)
static ProtobufCMessage *rq_sweep_update(void)
{
	static Whatsnext__V1__UpdateSweepRequest r = WHATSNEXT__V1__UPDATE_SWEEP_REQUEST__INIT;
	r.id = tg.sweep, r.set_max_running = true, r.max_running = 1;
	return &r.base;
}

static Whatsnext__V1__FetchRequest *fetch_of(void)
{
	static Whatsnext__V1__FetchRequest r = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	r.project = (char *)tg.project;
	r.worker = (char *)tg.worker;
	return &r;
}

static ProtobufCMessage *rq_fetch(void)
{
	return &fetch_of()->base;
}

static ProtobufCMessage *rq_heartbeat(void)
{
	static Whatsnext__V1__HeartbeatRequest r;
	static Whatsnext__V1__Lease l, *lp[1] = {&l};
	whatsnext__v1__heartbeat_request__init(&r);
	whatsnext__v1__lease__init(&l);
	l.job_id = tg.running, l.attempt = tg.attempt;
	r.worker = (char *)tg.worker, r.leases = lp, r.n_leases = 1;
	return &r.base;
}

static Whatsnext__V1__CompleteRequest *complete_of(void)
{
	static Whatsnext__V1__CompleteRequest r = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	r.job_id = tg.running, r.attempt = tg.attempt, r.worker = (char *)tg.worker,
	r.success = true;
	return &r;
}

static ProtobufCMessage *rq_complete(void)
{
	return &complete_of()->base;
}

static ProtobufCMessage *rq_complete_batch(void)
{
	static Whatsnext__V1__CompleteBatchRequest r;
	static Whatsnext__V1__CompleteRequest *v[1];
	whatsnext__v1__complete_batch_request__init(&r);
	v[0] = complete_of();
	r.results = v;
	r.n_results = 1;
	return &r.base;
}

static ProtobufCMessage *rq_release(void)
{
	static Whatsnext__V1__ReleaseRequest r = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	r.job_id = tg.running, r.attempt = tg.attempt, r.worker = (char *)tg.worker;
	return &r.base;
}

/* a.txt ("x"): the running job's artifact, uploaded at the reset */
static ProtobufCMessage *rq_put_artifact(void)
{
	static Whatsnext__V1__PutArtifactRequest r = WHATSNEXT__V1__PUT_ARTIFACT_REQUEST__INIT;
	r.worker = (char *)tg.worker, r.job_id = tg.running, r.attempt = tg.attempt;
	r.path = "a.txt", r.size = 1, r.data = (ProtobufCBinaryData){1, (uint8_t *)"x"};
	r.sha256 = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
	return &r.base;
}
static ProtobufCMessage *rq_get_artifact(void)
{
	static Whatsnext__V1__GetArtifactRequest r = WHATSNEXT__V1__GET_ARTIFACT_REQUEST__INIT;
	r.job_id = tg.running, r.path = "a.txt";
	return &r.base;
}

OF_PROJECT(rq_stats, stats_request)
OF_PROJECT(rq_clear, clear_request)
OF_PROJECT(rq_pop, pop_request)
OF_PROJECT(rq_queue_list, queue_list_request)
static ProtobufCMessage *rq_join(void)
{
	static Whatsnext__V1__JoinRequest r;
	static Whatsnext__V1__Worker w;
	whatsnext__v1__join_request__init(&r);
	whatsnext__v1__worker__init(&w);
	w.name = (char *)tg.worker;
	w.instance = "matrix";
	w.slots = 1;
	r.worker = &w;
	return &r.base;
}

static ProtobufCMessage *rq_worker_name(void)
{
	static Whatsnext__V1__WorkerNameRequest r = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	r.name = (char *)tg.worker;
	return &r.base;
}

/* rq_worker_gone names w9, a worker that joined and left (reset). */
static ProtobufCMessage *rq_worker_gone(void)
{
	static Whatsnext__V1__WorkerNameRequest r = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	r.name = "w9";
	return &r.base;
}

OF_PROJECT(rq_worker_list, list_workers_request)
static ProtobufCMessage *rq_backup(void)
{
	static Whatsnext__V1__BackupRequest r;
	static char dir[512];
	whatsnext__v1__backup_request__init(&r);
	snprintf(dir, sizeof(dir), "%s/b%u", tg.backup_dir, tg.serial++);
	r.dir = dir;
	return &r.base;
}

static ProtobufCMessage *rq_token_create(void)
{
	static Whatsnext__V1__CreateTokenRequest r;
	static Whatsnext__V1__Token t;
	static char name[32];
	whatsnext__v1__create_token_request__init(&r);
	whatsnext__v1__token__init(&t);
	snprintf(name, sizeof(name), "made%u", tg.serial++);
	t.name = name;
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER;
	r.token = &t;
	return &r.base;
}

OF_PROJECT(rq_token_list, list_tokens_request)
static ProtobufCMessage *rq_token_revoke(void)
{
	static Whatsnext__V1__RevokeTokenRequest r = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	r.name = "victim";
	return &r.base;
}

/* Who may call what: this test's own table. */
static const struct row {
	int mid;
	unsigned allowed;
	ProtobufCMessage *(*request)(void);
} rows[] = {
    {WN_MID_PROJECT_CREATE, A | U, rq_project_create},
    {WN_MID_PROJECT_GET, A | U | RD, rq_project_name},
    {WN_MID_PROJECT_LIST, A | U | RD, rq_project_list},
    {WN_MID_PROJECT_UPDATE, A | U, rq_project_update},
    {WN_MID_PROJECT_DELETE, A | U, rq_project_delete},
    {WN_MID_TASK_CREATE, A | U, rq_task_create},
    {WN_MID_TASK_GET, A | U | RD | W, rq_task_get},
    {WN_MID_TASK_LIST, A | U | RD | W, rq_task_list},
    {WN_MID_TASK_UPDATE, A | U, rq_task_update},
    {WN_MID_TASK_DELETE, A | U, rq_task_delete},
    {WN_MID_JOB_SUBMIT, A | U, rq_submit},
    {WN_MID_JOB_SUBMIT_BATCH, A | U, rq_submit_batch},
    {WN_MID_JOB_GET, A | U | RD, rq_job_get},
    {WN_MID_JOB_LIST, A | U | RD, rq_job_list},
    {WN_MID_JOB_CANCEL, A | U, rq_job_cancel},
    {WN_MID_JOB_RETRY, A | U, rq_job_retry},
    {WN_MID_JOB_REMOVE, A | U, rq_job_retry},
    {WN_MID_JOB_SET_PRIORITY, A | U, rq_job_priority},
    {WN_MID_JOB_DEPS, A | U | RD, rq_job_get},
    {WN_MID_JOB_LOG, A | U | RD, rq_job_get}, /* a LogRequest's id is its field 1 too */
    {WN_MID_JOB_HISTORY, A | U | RD, rq_history},
    {WN_MID_JOB_WAIT, A | U | RD, rq_wait},
    {WN_MID_JOB_GET_ARTIFACT, A | U | RD, rq_get_artifact},
    {WN_MID_JOB_BULK, A | U, rq_job_bulk},
    {WN_MID_JOB_UPDATE, A | U, rq_job_update},
    {WN_MID_SWEEP_GET, A | U | RD, rq_sweep_get},
    {WN_MID_SWEEP_LIST, A | U | RD, rq_sweep_list},
    {WN_MID_SWEEP_UPDATE, A | U, rq_sweep_update},
    {WN_MID_QUEUE_FETCH, A | W, rq_fetch},
    {WN_MID_QUEUE_HEARTBEAT, A | W, rq_heartbeat},
    {WN_MID_QUEUE_COMPLETE, A | W, rq_complete},
    {WN_MID_QUEUE_RELEASE, A | W, rq_release},
    {WN_MID_QUEUE_STATS, A | U | RD, rq_stats},
    {WN_MID_QUEUE_CLEAR, A, rq_clear},
    {WN_MID_QUEUE_POP, A, rq_pop},
    {WN_MID_QUEUE_LIST, A | U | RD, rq_queue_list},
    {WN_MID_QUEUE_COMPLETE_BATCH, A | W, rq_complete_batch},
    {WN_MID_QUEUE_PUT_ARTIFACT, A | W, rq_put_artifact},
    {WN_MID_WORKER_JOIN, A | W, rq_join},
    {WN_MID_WORKER_LEAVE, A | W, rq_worker_name},
    {WN_MID_WORKER_GET, A | U | RD, rq_worker_name},
    {WN_MID_WORKER_LIST, A | U | RD, rq_worker_list},
    {WN_MID_WORKER_DRAIN, A, rq_worker_name},
    {WN_MID_WORKER_RESUME, A, rq_worker_name},
    {WN_MID_WORKER_REMOVE, A, rq_worker_gone},
    {WN_MID_ADMIN_BACKUP, A, rq_backup},
    {WN_MID_TOKEN_CREATE, A, rq_token_create},
    {WN_MID_TOKEN_LIST, A, rq_token_list},
    {WN_MID_TOKEN_REVOKE, A, rq_token_revoke},
};

/* ---------------------------------------------------------------- state */
/* pack_into appends msg, packed, to sb and frees msg. */
static void pack_into(wn_strbuf *sb, ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = wn_xmalloc(n + 1);
	protobuf_c_message_pack(msg, buf);
	wn_strbuf_add(sb, (const char *)buf, n);
	free(buf);
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* snapshot appends the packed reply of every listing to sb. */
static void snapshot(wn_strbuf *sb)
{
	wn_strbuf_reset(sb);
	static const int lists[] = {WN_MID_PROJECT_LIST, WN_MID_SWEEP_LIST, WN_MID_WORKER_LIST,
	                            WN_MID_TOKEN_LIST, WN_MID_QUEUE_STATS};
	for (size_t i = 0; i < WN_ARRAY_LEN(lists); i++) {
		const ProtobufCMessageDescriptor *d = wn_methods[lists[i]].request;
		ProtobufCMessage *in = calloc(1, d->sizeof_message);
		protobuf_c_message_init(d, in);
		ProtobufCMessage *out = must(lists[i], in, 0);
		free(in);
		pack_into(sb, out);
	}
	static const char *const projects[] = {"pa", "pb", "pc"};
	for (size_t i = 0; i < WN_ARRAY_LEN(projects); i++) {
		Whatsnext__V1__ListTasksRequest tl = WHATSNEXT__V1__LIST_TASKS_REQUEST__INIT;
		tl.project = (char *)projects[i];
		ProtobufCMessage *out = NULL;
		int rc = call(rpcs[R_ADMIN], WN_MID_TASK_LIST, &tl.base, &out, NULL);
		wn_strbuf_addf(sb, "[tasks of %s: %d]", projects[i], rc);
		if (out != NULL)
			pack_into(sb, out);
	}
	Whatsnext__V1__ListJobsRequest jl = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	jl.page_size = 10000;
	pack_into(sb, must(WN_MID_JOB_LIST, &jl.base, 0));
}

/* submit_one submits a job of project pa or pb (priority prio) as admin. */
static uint64_t submit_one(const char *project, int prio)
{
	Whatsnext__V1__JobSpec s = WHATSNEXT__V1__JOB_SPEC__INIT;
	s.project = (char *)project;
	s.task = "t";
	s.priority = prio;
	Whatsnext__V1__SubmitRequest r = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	r.job = &s;
	Whatsnext__V1__SubmitResponse *o = (void *)must(WN_MID_JOB_SUBMIT, &r.base, 0);
	uint64_t id = o->job->id;
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return id;
}

/* reset puts the state back as the header says, targets on pa and w1. */
static void reset(void)
{
	tg.project = "pb";
	const char *all[] = {"pa", "pb", "pc"};
	for (size_t i = 0; i < 3; i++) {
		tg.project = all[i];
		must_do(WN_MID_PROJECT_DELETE, rq_project_delete(), CODE(NOT_FOUND));
	}
	for (size_t i = 0; i < 2; i++) {
		tg.project = all[i];
		Whatsnext__V1__CreateProjectRequest p = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
		p.name = (char *)all[i];
		must_do(WN_MID_PROJECT_CREATE, &p.base, 0);
		must_do(WN_MID_TASK_CREATE, rq_task("t", false), 0);
	}
	tg.project = "pa";
	tg.worker = "w9"; /* GONE: what WorkerService/Remove takes */
	must_do(WN_MID_WORKER_JOIN, rq_join(), 0);
	must_do(WN_MID_WORKER_LEAVE, rq_worker_name(), 0);
	tg.worker = "w1";
	must_do(WN_MID_WORKER_JOIN, rq_join(), 0);
	tg.running = submit_one("pa", 9);
	Whatsnext__V1__FetchResponse *f = (void *)must(WN_MID_QUEUE_FETCH, rq_fetch(), 0);
	tg.attempt = f->job != NULL ? f->job->attempt : 0;
	if (f->job == NULL || f->job->id != tg.running)
		bad("setting up: worker w1 did not get job %llu", (unsigned long long)tg.running);
	protobuf_c_message_free_unpacked(&f->base, NULL);
	must_do(WN_MID_QUEUE_PUT_ARTIFACT, rq_put_artifact(), 0);
	tg.pending = submit_one("pa", 0);
	tg.cancelled = submit_one("pa", 0);
	must_do(WN_MID_JOB_CANCEL, rq_job_id(tg.cancelled), 0);
	tg.other_job = submit_one("pb", 0);
	Whatsnext__V1__SubmitBatchResponse *b =
	    (void *)must(WN_MID_JOB_SUBMIT_BATCH, rq_submit_batch(), 0);
	tg.sweep = b->sweep_id;
	protobuf_c_message_free_unpacked(&b->base, NULL);
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = "victim";
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER;
	Whatsnext__V1__CreateTokenRequest ct = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	ct.token = &t;
	ProtobufCMessage *o = must(WN_MID_TOKEN_CREATE, &ct.base, CODE(ALREADY_EXISTS));
	if (o != NULL)
		protobuf_c_message_free_unpacked(o, NULL);
}

/* ---------------------------------------------------------------- checks */

/* row_of returns the row of method mid, or NULL. */
static const struct row *row_of(int mid)
{
	for (size_t i = 0; i < WN_ARRAY_LEN(rows); i++)
		if (rows[i].mid == mid)
			return &rows[i];
	return NULL;
}

/* check_call calls row's method as role with r and checks it against want:
 * allowed (OK), or refused with code and the state unchanged. */
static void check_call(const struct row *row, wn_rpc *r, const char *who, bool allowed, int code)
{
	wn_strbuf before = WN_STRBUF_INIT, after = WN_STRBUF_INIT;
	if (!allowed)
		snapshot(&before);
	char *msg = NULL;
	int rc = call(r, row->mid, row->request(), NULL, &msg);
	const char *path = wn_methods[row->mid].path;
	checks++;
	if (allowed && rc != 0)
		bad("%s as %s: expected OK, got %s: %s", path, who, wn_code_name(rc),
		    msg ? msg : "");
	if (!allowed && rc != code)
		bad("%s as %s: expected %s, got %s: %s", path, who, wn_code_name(code),
		    wn_code_name(rc), msg ? msg : "");
	if (!allowed) {
		snapshot(&after);
		if (before.len != after.len || memcmp(before.s, after.s, before.len) != 0)
			bad("%s as %s: refused, but the state changed", path, who);
	}
	free(msg);
	wn_strbuf_free(&before);
	wn_strbuf_free(&after);
}

/* matrix runs every method as every role. */
static void matrix(void)
{
	for (int mid = 0; mid < WN_METHOD_COUNT; mid++) {
		const struct row *row = row_of(mid);
		if (row == NULL) {
			bad("%s has no row in wnmatrix's table", wn_methods[mid].path);
			continue;
		}
		/* the refused roles first: nothing they do may change the state */
		for (int pass = 0; pass < 2; pass++)
			for (int role = 0; role < R_COUNT; role++) {
				bool allowed = row->allowed & (1u << role);
				if (allowed != (pass == 1))
					continue;
				reset();
				check_call(row, rpcs[role], role_names[role], allowed,
				           CODE(PERMISSION_DENIED));
			}
	}
}

/* scope: alice (user of pa and pc) naming pb, its jobs or every project (but
 * for Stats), and w1 acting as w2, are refused; naming pa is not. */
static void scope(void)
{
	static const int user_mids[] = {
	    WN_MID_PROJECT_GET, WN_MID_PROJECT_UPDATE,   WN_MID_PROJECT_DELETE,
	    WN_MID_TASK_CREATE, WN_MID_TASK_LIST,        WN_MID_TASK_DELETE,
	    WN_MID_JOB_SUBMIT,  WN_MID_JOB_SUBMIT_BATCH, WN_MID_JOB_GET,
	    WN_MID_JOB_CANCEL,  WN_MID_JOB_LIST,         WN_MID_JOB_SET_PRIORITY,
	    WN_MID_JOB_DEPS,    WN_MID_SWEEP_LIST,       WN_MID_QUEUE_STATS,
	    WN_MID_QUEUE_LIST,  WN_MID_SWEEP_UPDATE,     WN_MID_SWEEP_GET,
	    WN_MID_JOB_HISTORY, WN_MID_JOB_WAIT,         WN_MID_JOB_BULK,
	    WN_MID_JOB_UPDATE};
	for (size_t i = 0; i < WN_ARRAY_LEN(user_mids); i++) {
		const struct row *row = row_of(user_mids[i]);
		reset();
		/* another project: by name, by its job, by a sweep of it */
		tg.project = "pb";
		tg.pending = tg.other_job;
		Whatsnext__V1__SubmitBatchResponse *b =
		    (void *)must(WN_MID_JOB_SUBMIT_BATCH, rq_submit_batch(), 0);
		tg.sweep = b->sweep_id;
		protobuf_c_message_free_unpacked(&b->base, NULL);
		check_call(row, rpcs[R_USER], "user of pa naming pb", false,
		           CODE(PERMISSION_DENIED));
		tg.project = ""; /* every project: Stats answers with the counts of pa alone */
		if (row->mid == WN_MID_JOB_LIST || row->mid == WN_MID_SWEEP_LIST ||
		    row->mid == WN_MID_QUEUE_STATS)
			check_call(row, rpcs[R_USER], "user of pa naming every project",
			           row->mid == WN_MID_QUEUE_STATS, CODE(PERMISSION_DENIED));
	}
	static const int worker_mids[] = {WN_MID_QUEUE_FETCH,    WN_MID_QUEUE_HEARTBEAT,
	                                  WN_MID_QUEUE_COMPLETE, WN_MID_QUEUE_RELEASE,
	                                  WN_MID_WORKER_JOIN,    WN_MID_WORKER_LEAVE};
	for (size_t i = 0; i < WN_ARRAY_LEN(worker_mids); i++) {
		const struct row *row = row_of(worker_mids[i]);
		reset();
		tg.worker = "w2";
		check_call(row, rpcs[R_WORKER], "worker w1 as w2", false, CODE(PERMISSION_DENIED));
	}
}

/* create_token makes token name of role (limited to projects, if any): its secret. */
static char *create_token(const char *name, int role, char **projects, size_t np)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = (char *)name;
	t.role = role;
	t.projects = projects;
	t.n_projects = np;
	Whatsnext__V1__CreateTokenRequest r = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	r.token = &t;
	Whatsnext__V1__CreateTokenResponse *o = (void *)must(WN_MID_TOKEN_CREATE, &r.base, 0);
	char *s = wn_xstrdup(o->secret);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return s;
}

static wn_rpc *open_rpc(const char *url, const char *token)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, token, 0, &r, &err) != WN_OK) {
		fprintf(stderr, "wnmatrix: %s: %s\n", url, err ? err : "cannot connect");
		exit(1);
	}
	return r;
}

/* unauthenticated: every method (and one that does not exist) with no
 * token, a wrong one and a revoked one. */
static void unauthenticated(const char *url)
{
	char *gone = create_token("gone", WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN, NULL, 0);
	Whatsnext__V1__RevokeTokenRequest rv = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	rv.name = "gone";
	must_do(WN_MID_TOKEN_REVOKE, &rv.base, 0);
	const char *tokens[] = {NULL, "wn_notatoken", gone};
	const char *names[] = {"no token", "a wrong token", "a revoked admin token"};
	for (size_t t = 0; t < 3; t++) {
		wn_rpc *r = open_rpc(url, tokens[t]);
		reset();
		for (size_t i = 0; i < WN_ARRAY_LEN(rows); i++)
			check_call(&rows[i], r, names[t], false, CODE(UNAUTHENTICATED));
		ProtobufCMessage *out = NULL;
		char *err = NULL;
		int rc = wn_rpc_call(r, "/whatsnext.v1.NoService/Nothing", rq_project_list(),
		                     &whatsnext__v1__list_projects_response__descriptor, &out, &err,
		                     0, 0);
		checks++;
		if (rc != CODE(UNAUTHENTICATED))
			bad("an unknown method with %s: expected UNAUTHENTICATED, got %s", names[t],
			    wn_code_name(rc));
		free(err);
		wn_rpc_close(r);
	}
	free(gone);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: wnmatrix URL ADMIN_TOKEN_FILE BACKUP_DIR\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "r");
	char admin[4096] = "";
	if (f == NULL || fgets(admin, sizeof(admin), f) == NULL) {
		fprintf(stderr, "wnmatrix: cannot read %s\n", argv[2]);
		return 2;
	}
	fclose(f);
	admin[strcspn(admin, "\n")] = '\0';
	tg.backup_dir = argv[3];
	rpcs[R_ADMIN] = open_rpc(argv[1], admin);
	char *projects[] = {"pa", "pc"};
	char *user = create_token("alice", WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER, projects, 2);
	char *worker = create_token("w1", WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER, NULL, 0);
	char *reader = create_token("bob", WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER, NULL, 0);
	rpcs[R_USER] = open_rpc(argv[1], user);
	rpcs[R_WORKER] = open_rpc(argv[1], worker);
	rpcs[R_READER] = open_rpc(argv[1], reader);
	matrix();
	scope();
	unauthenticated(argv[1]);
	printf("%u checks, %u failed\n", checks, failures);
	for (int i = 0; i < R_COUNT; i++)
		wn_rpc_close(rpcs[i]);
	free(user);
	free(worker);
	free(reader);
	return failures == 0 ? 0 : 1;
}
