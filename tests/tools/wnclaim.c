/* wnclaim: claim the jobs of a project one Fetch at a time, as `wnctl queue
 * fetch` does, on one connection: the integration tests' fetch loops without
 * a process per fetch.
 *
 *   wnclaim URL PROJECT WORKER [--max N] [--complete] [--fail]
 *
 * Each Fetch asks for one job of PROJECT for WORKER (not joined, no wait),
 * until no job is ready or N jobs were claimed (default: no limit). Each
 * claimed job is printed as soon as its reply arrives, "ID ATTEMPT" on a
 * line; with --complete it is then completed (success, or failure with
 * --fail) by WORKER before the next Fetch. The token is taken from WN_TOKEN.
 * Exit: 0 done (the queue is empty or N claimed), 1 a call failed (message
 * on stderr), 2 usage. */
#include "err.h"
#include "methods.h"
#include "rpc.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct claim_opts {
	const char *url, *project, *worker;
	int64_t max; /* 0: no limit */
	bool complete, success;
} claim_opts;

static void claim_usage(void)
{
	fprintf(stderr, "usage: wnclaim URL PROJECT WORKER [--max N] [--complete] [--fail]\n");
	exit(2);
}

static claim_opts claim_parse(int argc, char **argv)
{
	claim_opts o = {.success = true};
	if (argc < 4 || argv[1][0] == '-' || argv[2][0] == '-' || argv[3][0] == '-')
		claim_usage();
	o.url = argv[1];
	o.project = argv[2];
	o.worker = argv[3];
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
			if (wn_parse_i64(argv[++i], 1, INT64_MAX, &o.max) != WN_OK) {
				fprintf(stderr, "wnclaim: --max: expected a positive number\n");
				exit(2);
			}
		} else if (strcmp(argv[i], "--complete") == 0) {
			o.complete = true;
		} else if (strcmp(argv[i], "--fail") == 0) {
			o.success = false;
		} else {
			claim_usage();
		}
	}
	return o;
}

static void claim_fail(const char *what, int rc, char *errmsg)
{
	fprintf(stderr, "wnclaim: %s: %s\n", what, errmsg ? errmsg : wn_strerror(rc));
	free(errmsg);
	exit(1);
}

/* claim_one fetches one job; returns false when none was ready. */
static bool claim_one(wn_rpc *rpc, const claim_opts *o, uint64_t *id, uint32_t *attempt)
{
	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	req.project = (char *)o->project;
	req.worker = (char *)o->worker;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_call(rpc, WN_PATH_QUEUE_FETCH, &req.base,
	                     &whatsnext__v1__fetch_response__descriptor, &out, &errmsg, 0, 0);
	if (rc != WN_OK)
		claim_fail("fetch", rc, errmsg);
	const Whatsnext__V1__FetchResponse *r = (const Whatsnext__V1__FetchResponse *)out;
	bool got = r->job != NULL;
	if (got) {
		*id = r->job->id;
		*attempt = r->job->attempt;
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return got;
}

/* claim_complete ends the attempt of job id as o says. */
static void claim_complete(wn_rpc *rpc, const claim_opts *o, uint64_t id, uint32_t attempt)
{
	Whatsnext__V1__CompleteRequest req = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	req.job_id = id;
	req.attempt = attempt;
	req.worker = (char *)o->worker;
	req.success = o->success;
	req.exit_code = o->success ? 0 : 1;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_call(rpc, WN_PATH_QUEUE_COMPLETE, &req.base,
	                     &whatsnext__v1__complete_response__descriptor, &out, &errmsg, 0, 0);
	if (rc != WN_OK)
		claim_fail("complete", rc, errmsg);
	protobuf_c_message_free_unpacked(out, NULL);
}

int main(int argc, char **argv)
{
	claim_opts o = claim_parse(argc, argv);
	wn_rpc *rpc = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_open(o.url, getenv("WN_TOKEN"), 0, &rpc, &errmsg);
	if (rc != WN_OK)
		claim_fail(o.url, rc, errmsg);
	uint64_t id = 0;
	uint32_t attempt = 0;
	for (int64_t n = 0; o.max == 0 || n < o.max; n++) {
		if (!claim_one(rpc, &o, &id, &attempt))
			break;
		printf("%llu %u\n", (unsigned long long)id, attempt);
		fflush(stdout);
		if (o.complete)
			claim_complete(rpc, &o, id, attempt);
	}
	wn_rpc_close(rpc);
	return 0;
}
