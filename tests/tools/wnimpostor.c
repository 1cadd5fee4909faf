/* wnimpostor: something that answers a worker as wnd would, and hands it
 * hostile jobs or lies to it. Used by the worker tests of what a server may
 * send (tests/integration/worker_paths.sh, worker_liar.sh).
 *
 *   wnimpostor URL PROJECT TASK JOBNAME [MODE SECONDS]
 *
 * Listens on URL (an nng REP socket) and answers a wnworker just enough:
 * Join, TaskService/List (task TASK of PROJECT), Fetch, Complete, Release,
 * Heartbeat and Leave. Its jobs are of PROJECT/TASK named JOBNAME, with
 * parameters x (the job's id) and s (0, or 2 for job 2 in mode next), sent
 * as they are, whatever the real server would accept. Anything else is
 * answered UNIMPLEMENTED.
 *
 * Without MODE: the first Fetch hands out job 1, later ones nothing; on the
 * job's Complete or Release it prints one line and exits 0:
 *   complete success=0|1 reason=TEXT     or     release reason=TEXT
 * With MODE it prints a line for each Fetch ("fetch"), Complete ("complete
 * ID.ATTEMPT success=0|1 reason=TEXT") and Release ("release ID.ATTEMPT
 * reason=TEXT"), and exits 0 after SECONDS. The first Fetch hands out:
 *   twice    job 1, and job 1 again among the further jobs
 *   orphan   job 1 among the further jobs, and no first job
 *   more     jobs 1, 2 and 3, whatever max_jobs asked
 *   next     jobs 1 and 2; the Complete of job 1 claims job 2 again (next)
 *   badcode  job 1; its Complete is answered with code -3, no such code
 *   quick    nothing, and every Fetch is answered at once, not held
 *   artlist  job 1; a Complete that lists a file (an artifact with a
 *            sha256) is refused as invalid, the message quoting a name
 *            with an ESC; each Complete's line ends with its artifacts,
 *            " artifact=PATH:NOTE" each
 *   hasty    (for wnctl) JobService/Wait and JobService/Log answered at
 *            once, whatever their wait_ms: a running job that has not
 *            ended and no new output; a line "wait" or "log" for each
 *   endless  (for wnctl) JobService/GetArtifact lists a file of 10 bytes
 *            and sends 4 bytes more at each call, never its end; a line
 *            "get OFFSET" for each
 * Later Fetches hand out nothing, after 200 ms (but in mode quick).
 * Exit 1 on a socket error, 2 on usage. */
#include "envelope.h"
#include "methods.h"
#include "util.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *project, *task, *jobname, *mode;
/* The message of a reply whose code is not 0. */
static const char *refusal = "a code no server sends";

/* A job handed out, with its parameters. */
struct ijob {
	Whatsnext__V1__Job j;
	Whatsnext__V1__Job__ParamsEntry pe[2], *pes[2];
	char x[24];
};

static bool is_mode(const char *m)
{
	return mode != NULL && strcmp(mode, m) == 0;
}

/* impostor_job fills ij with job id (attempt 1). */
static void impostor_job(struct ijob *ij, uint64_t id)
{
	Whatsnext__V1__Job *j = &ij->j;
	whatsnext__v1__job__init(j);
	snprintf(ij->x, sizeof(ij->x), "%llu", (unsigned long long)id);
	for (int i = 0; i < 2; i++) {
		whatsnext__v1__job__params_entry__init(&ij->pe[i]);
		ij->pes[i] = &ij->pe[i];
	}
	ij->pe[0].key = (char *)"x";
	ij->pe[0].value = ij->x;
	ij->pe[1].key = (char *)"s";
	ij->pe[1].value = (char *)(is_mode("next") && id == 2 ? "2" : "0");
	j->id = id;
	j->attempt = 1;
	j->project = (char *)project;
	j->task = (char *)task;
	j->name = (char *)jobname;
	j->n_params = 2;
	j->params = ij->pes;
	j->status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
}

/* impostor_fetch packs the reply to a Fetch. */
static uint8_t *impostor_fetch(size_t *len)
{
	static int fetched;
	if (mode != NULL)
		printf("fetch\n");
	Whatsnext__V1__FetchResponse r = WHATSNEXT__V1__FETCH_RESPONSE__INIT;
	struct ijob v[3];
	Whatsnext__V1__Job *more[2];
	if (fetched++ || is_mode("quick")) {
		if (!is_mode("quick"))
			usleep(200 * 1000);
		return wn_message_pack(&r.base, len);
	}
	impostor_job(&v[0], 1);
	r.job = &v[0].j;
	r.more = more;
	if (is_mode("orphan")) { /* job 1 in `more`, with no `job` */
		r.job = NULL;
		more[r.n_more++] = &v[0].j;
	} else if (is_mode("twice")) {
		more[r.n_more++] = &v[0].j;
	} else if (is_mode("more") || is_mode("next")) {
		for (uint64_t id = 2; id <= (is_mode("more") ? 3u : 2u); id++) {
			impostor_job(&v[id - 1], id);
			more[r.n_more++] = &v[id - 1].j;
		}
	}
	return wn_message_pack(&r.base, len);
}

/* impostor_complete packs the reply to a Complete (body in); *code is -3
 * in mode badcode, and INVALID_ARGUMENT (no reply) in mode artlist for a
 * Complete that lists a file. */
static uint8_t *impostor_complete(const ProtobufCBinaryData *in, size_t *len, int *done, int *code)
{
	Whatsnext__V1__CompleteRequest *c =
	    whatsnext__v1__complete_request__unpack(NULL, in->len, in->data);
	uint64_t id = 0;
	if (c != NULL) {
		id = c->job_id;
		printf("complete");
		if (mode != NULL)
			printf(" %llu.%u", (unsigned long long)c->job_id, c->attempt);
		printf(" success=%d reason=%s", c->success, c->reason);
		bool files = false;
		for (size_t i = 0; is_mode("artlist") && i < c->n_artifacts; i++) {
			printf(" artifact=%s:%s", c->artifacts[i]->path, c->artifacts[i]->note);
			files = files || c->artifacts[i]->sha256[0] != '\0';
		}
		printf("\n");
		whatsnext__v1__complete_request__free_unpacked(c, NULL);
		if (files) {
			refusal = "artifact 1 (e\033x): refused by this server";
			*code = WHATSNEXT__V1__CODE__INVALID_ARGUMENT;
			return NULL;
		}
	}
	*done = mode == NULL;
	*code = is_mode("badcode") ? -3 : 0;
	Whatsnext__V1__CompleteResponse r = WHATSNEXT__V1__COMPLETE_RESPONSE__INIT;
	struct ijob again;
	if (is_mode("next") && id == 1) { /* job 2, which runs already */
		impostor_job(&again, 2);
		r.next = &again.j;
	}
	return wn_message_pack(&r.base, len);
}

/* impostor_ctl packs the reply of modes hasty and endless, which answer
 * wnctl, to a request for method path (body in); NULL for another. */
static uint8_t *impostor_ctl(const char *path, const ProtobufCBinaryData *in, size_t *len)
{
	if (strcmp(path, WN_PATH_JOB_WAIT) == 0 && is_mode("hasty")) {
		printf("wait\n");
		Whatsnext__V1__WaitResponse r = WHATSNEXT__V1__WAIT_RESPONSE__INIT;
		r.total = r.running = 1;
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_JOB_LOG) == 0 && is_mode("hasty")) {
		printf("log\n");
		Whatsnext__V1__LogRequest *rq =
		    whatsnext__v1__log_request__unpack(NULL, in->len, in->data);
		Whatsnext__V1__LogResponse r = WHATSNEXT__V1__LOG_RESPONSE__INIT;
		r.attempt = 1;
		r.status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
		r.offset = r.next_offset = r.end = rq != NULL ? rq->offset : 0;
		whatsnext__v1__log_request__free_unpacked(rq, NULL);
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_JOB_GET_ARTIFACT) == 0 && is_mode("endless")) {
		Whatsnext__V1__GetArtifactRequest *rq =
		    whatsnext__v1__get_artifact_request__unpack(NULL, in->len, in->data);
		Whatsnext__V1__Artifact a = WHATSNEXT__V1__ARTIFACT__INIT;
		a.path = (char *)"f";
		a.size = 10;
		a.sha256 =
		    (char *)"1f825aa2f0020ef7cf91dfa30da4668d791c5d4824fc8e41354b89ec05795ab3";
		a.stored = true;
		Whatsnext__V1__GetArtifactResponse r = WHATSNEXT__V1__GET_ARTIFACT_RESPONSE__INIT;
		r.artifact = &a;
		r.offset = rq != NULL ? rq->offset : 0;
		r.data.data = (uint8_t *)"abcd";
		r.data.len = 4;
		printf("get %llu\n", (unsigned long long)r.offset);
		whatsnext__v1__get_artifact_request__free_unpacked(rq, NULL);
		return wn_message_pack(&r.base, len);
	}
	return NULL;
}

/* impostor_answer packs the reply to a request for method path (body in);
 * NULL for a method it does not play (code UNIMPLEMENTED, unless *code says
 * another); *done when the job's end was reported (without MODE); *code
 * the reply's code. */
static uint8_t *impostor_answer(const char *path, const ProtobufCBinaryData *in, size_t *len,
                                int *done, int *code)
{
	*code = 0;
	uint8_t *ctl = impostor_ctl(path, in, len);
	if (ctl != NULL)
		return ctl;
	if (strcmp(path, WN_PATH_WORKER_JOIN) == 0) {
		Whatsnext__V1__JoinResponse r = WHATSNEXT__V1__JOIN_RESPONSE__INIT;
		r.worker_timeout_ms = 60000;
		r.lease_ms = 60000;
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_TASK_LIST) == 0) {
		Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT, *ts[1] = {&t};
		t.project = (char *)project;
		t.name = (char *)task;
		Whatsnext__V1__ListTasksResponse r = WHATSNEXT__V1__LIST_TASKS_RESPONSE__INIT;
		r.n_tasks = 1;
		r.tasks = ts;
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_QUEUE_FETCH) == 0)
		return impostor_fetch(len);
	if (strcmp(path, WN_PATH_QUEUE_COMPLETE) == 0)
		return impostor_complete(in, len, done, code);
	if (strcmp(path, WN_PATH_QUEUE_RELEASE) == 0) {
		Whatsnext__V1__ReleaseRequest *rq =
		    whatsnext__v1__release_request__unpack(NULL, in->len, in->data);
		if (rq != NULL) {
			printf("release");
			if (mode != NULL)
				printf(" %llu.%u", (unsigned long long)rq->job_id, rq->attempt);
			printf(" reason=%s\n", rq->reason);
			whatsnext__v1__release_request__free_unpacked(rq, NULL);
		}
		*done = mode == NULL;
		struct ijob j;
		impostor_job(&j, 1);
		return wn_message_pack(&j.j.base, len);
	}
	if (strcmp(path, WN_PATH_QUEUE_HEARTBEAT) == 0) {
		Whatsnext__V1__HeartbeatResponse r = WHATSNEXT__V1__HEARTBEAT_RESPONSE__INIT;
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_WORKER_LEAVE) == 0) {
		Whatsnext__V1__Worker r = WHATSNEXT__V1__WORKER__INIT;
		return wn_message_pack(&r.base, len);
	}
	return NULL;
}

/* impostor_serve answers one request of s; 0, or 1 on a socket error. */
static int impostor_serve(nng_socket s, int *done)
{
	char *buf = NULL;
	size_t n = 0;
	int rv = nng_recv(s, &buf, &n, NNG_FLAG_ALLOC);
	if (rv == NNG_ETIMEDOUT)
		return 0;
	if (rv != 0) {
		fprintf(stderr, "wnimpostor: receive: %s\n", nng_strerror(rv));
		return 1;
	}
	Whatsnext__V1__Request *rq = whatsnext__v1__request__unpack(NULL, n, (const uint8_t *)buf);
	nng_free(buf, n);
	if (rq == NULL)
		return 0;
	Whatsnext__V1__Response rs = WHATSNEXT__V1__RESPONSE__INIT;
	rs.id = rq->id;
	size_t blen = 0;
	int code = 0;
	uint8_t *body = impostor_answer(rq->method, &rq->body, &blen, done, &code);
	if (code != 0) {
		rs.code = code;
		rs.message = (char *)refusal;
	} else if (body == NULL) {
		rs.code = WHATSNEXT__V1__CODE__UNIMPLEMENTED;
		rs.message = (char *)"not played by the impostor";
	} else {
		rs.body.data = body;
		rs.body.len = blen;
	}
	size_t len = 0;
	uint8_t *out = wn_message_pack(&rs.base, &len);
	rv = nng_send(s, out, len, 0);
	free(out);
	free(body);
	whatsnext__v1__request__free_unpacked(rq, NULL);
	fflush(stdout);
	if (rv != 0) {
		fprintf(stderr, "wnimpostor: send: %s\n", nng_strerror(rv));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: wnimpostor URL PROJECT TASK JOBNAME [MODE SECONDS]\n");
		return 2;
	}
	project = argv[2];
	task = argv[3];
	jobname = argv[4];
	mode = argc == 7 ? argv[5] : NULL;
	int64_t end = argc == 7 ? wn_mono_ms() + 1000 * atoll(argv[6]) : INT64_MAX;
	nng_socket s;
	int rv = nng_rep0_open(&s);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 100);
	if (rv == 0)
		rv = nng_listen(s, argv[1], NULL, 0);
	if (rv != 0) {
		fprintf(stderr, "wnimpostor: cannot listen on %s: %s\n", argv[1], nng_strerror(rv));
		return 1;
	}
	for (int done = 0; !done && wn_mono_ms() < end;)
		if (impostor_serve(s, &done) != 0)
			return 1;
	fflush(stdout);
	usleep(300 * 1000); /* the last reply goes out before the socket closes */
	nng_close(s);
	return 0;
}
