/* wnimpostor: something that answers a worker as wnd would, and hands it one
 * hostile job. Used by the worker tests of what a server may send
 * (tests/integration/worker_paths.sh).
 *
 *   wnimpostor URL PROJECT TASK JOBNAME
 *
 * Listens on URL (an nng REP socket) and answers a wnworker just enough:
 * Join, TaskService/List (task TASK of PROJECT), the first Fetch with job 1
 * of PROJECT/TASK named JOBNAME (parameter x=1), later Fetches with nothing,
 * Heartbeat and Leave with an empty reply. PROJECT, TASK and JOBNAME are
 * sent as they are, whatever the real server would accept. On the job's
 * Complete or Release it prints one line and exits 0:
 *   complete success=0|1 reason=TEXT     or     release reason=TEXT
 * Anything else is answered UNIMPLEMENTED. Exit 1 on a socket error, 2 on
 * usage. */
#include "envelope.h"
#include "methods.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *project, *task, *jobname;

/* impostor_job fills j with the hostile job. */
static void impostor_job(Whatsnext__V1__Job *j, Whatsnext__V1__Job__ParamsEntry *pe,
                         Whatsnext__V1__Job__ParamsEntry **pes)
{
	whatsnext__v1__job__init(j);
	whatsnext__v1__job__params_entry__init(pe);
	pe->key = (char *)"x";
	pe->value = (char *)"1";
	pes[0] = pe;
	j->id = 1;
	j->attempt = 1;
	j->project = (char *)project;
	j->task = (char *)task;
	j->name = (char *)jobname;
	j->n_params = 1;
	j->params = pes;
	j->status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
}

/* impostor_answer packs the reply to a request for method path (body in);
 * NULL (code UNIMPLEMENTED) for a method it does not play; *done when the
 * job's end was reported. */
static uint8_t *impostor_answer(const char *path, const ProtobufCBinaryData *in, size_t *len,
                                int *done)
{
	static int fetched;
	Whatsnext__V1__Job j;
	Whatsnext__V1__Job__ParamsEntry pe, *pes[1];
	impostor_job(&j, &pe, pes);
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
	if (strcmp(path, WN_PATH_QUEUE_FETCH) == 0) {
		Whatsnext__V1__FetchResponse r = WHATSNEXT__V1__FETCH_RESPONSE__INIT;
		if (!fetched++)
			r.job = &j;
		else
			usleep(200 * 1000);
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_QUEUE_COMPLETE) == 0) {
		Whatsnext__V1__CompleteRequest *c =
		    whatsnext__v1__complete_request__unpack(NULL, in->len, in->data);
		if (c != NULL) {
			printf("complete success=%d reason=%s\n", c->success, c->reason);
			whatsnext__v1__complete_request__free_unpacked(c, NULL);
		}
		*done = 1;
		Whatsnext__V1__CompleteResponse r = WHATSNEXT__V1__COMPLETE_RESPONSE__INIT;
		return wn_message_pack(&r.base, len);
	}
	if (strcmp(path, WN_PATH_QUEUE_RELEASE) == 0) {
		Whatsnext__V1__ReleaseRequest *rq =
		    whatsnext__v1__release_request__unpack(NULL, in->len, in->data);
		if (rq != NULL) {
			printf("release reason=%s\n", rq->reason);
			whatsnext__v1__release_request__free_unpacked(rq, NULL);
		}
		*done = 1;
		return wn_message_pack(&j.base, len);
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

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: wnimpostor URL PROJECT TASK JOBNAME\n");
		return 2;
	}
	project = argv[2];
	task = argv[3];
	jobname = argv[4];
	nng_socket s;
	int rv = nng_rep0_open(&s);
	if (rv == 0)
		rv = nng_listen(s, argv[1], NULL, 0);
	if (rv != 0) {
		fprintf(stderr, "wnimpostor: cannot listen on %s: %s\n", argv[1], nng_strerror(rv));
		return 1;
	}
	for (int done = 0; !done;) {
		char *buf = NULL;
		size_t n = 0;
		if ((rv = nng_recv(s, &buf, &n, NNG_FLAG_ALLOC)) != 0) {
			fprintf(stderr, "wnimpostor: receive: %s\n", nng_strerror(rv));
			return 1;
		}
		Whatsnext__V1__Request *rq =
		    whatsnext__v1__request__unpack(NULL, n, (const uint8_t *)buf);
		nng_free(buf, n);
		if (rq == NULL)
			continue;
		Whatsnext__V1__Response rs = WHATSNEXT__V1__RESPONSE__INIT;
		rs.id = rq->id;
		size_t blen = 0;
		uint8_t *body = impostor_answer(rq->method, &rq->body, &blen, &done);
		if (body == NULL) {
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
		if (rv != 0) {
			fprintf(stderr, "wnimpostor: send: %s\n", nng_strerror(rv));
			return 1;
		}
	}
	fflush(stdout);
	usleep(300 * 1000); /* the last reply goes out before the socket closes */
	nng_close(s);
	return 0;
}
