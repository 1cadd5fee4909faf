/* Unit tests of requests as bytes: malformed, oversized, of an unknown
 * method or a wrong body type, invalid names; method paths and the
 * envelope. */
#include "test.h"

#include "fixture.h"

#include "call.h"
#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(bad_input_is_refused)
{
	wn_engine *e = wn_fixture_open();
	uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
	CHECK_EQ_INT(wn_fixture_raw(e, garbage, sizeof(garbage), NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK(strstr(wn_fixture_msg(), "malformed") != NULL);
	Whatsnext__V1__GetProjectRequest gp = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
	gp.name = "p";
	CHECK_EQ_INT(call(e, "/whatsnext.v1.ProjectService/Nope", &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__UNIMPLEMENTED);
	/* a body of another type: a Job where a CreateProjectRequest belongs */
	Whatsnext__V1__Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = 5;
	j.attempt = 3;
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &j.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	uint8_t *big = calloc(1, WN_MSG_MAX + 1);
	CHECK_EQ_INT(wn_fixture_raw(e, big, WN_MSG_MAX + 1, NULL),
	             WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED);
	CHECK(strstr(wn_fixture_msg(), "exceeds the limit") != NULL);
	free(big);
	uint8_t truncated[] = {0x08, 0x01, 0x12, 0x20, '/', 'w'};
	CHECK_EQ_INT(wn_fixture_raw(e, truncated, sizeof(truncated), NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	Whatsnext__V1__CreateProjectRequest cp = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	cp.name = "";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[199] = '\0';
	cp.name = longname;
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	cp.name = "a/b";
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &cp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(call(e, M("ProjectService", "Get"), &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__NOT_FOUND);
	Whatsnext__V1__ListJobsRequest lj = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	lj.page_size = -1;
	CHECK_EQ_INT(call(e, M("JobService", "List"), &lj.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__INVALID_ARGUMENT);
	wn_fixture_project(e, "p");
	CHECK_EQ_INT(call(e, M("ProjectService", "Create"), &gp.base, NULL, NULL),
	             WHATSNEXT__V1__CODE__ALREADY_EXISTS);
	/* nothing else was created */
	Whatsnext__V1__ListProjectsRequest lp = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
	Whatsnext__V1__ListProjectsResponse *r = NULL;
	CHECK_EQ_INT(call(e, M("ProjectService", "List"), &lp.base,
	                  &whatsnext__v1__list_projects_response__descriptor, (void **)&r),
	             0);
	CHECK_EQ_INT(r->n_projects, 1);
	whatsnext__v1__list_projects_response__free_unpacked(r, NULL);
	wn_fixture_close(e);
}

TEST(method_paths_follow_the_descriptors)
{
	char buf[128];
	CHECK_EQ_STR(wn_method_path(&whatsnext__v1__queue_service__descriptor, 0, buf, sizeof(buf)),
	             "/whatsnext.v1.QueueService/Fetch");
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = 42;
	rq.method = "/x/y";
	size_t len;
	uint8_t *p = wn_message_pack(&rq.base, &len);
	Whatsnext__V1__Request *back = whatsnext__v1__request__unpack(NULL, len, p);
	CHECK(back != NULL);
	CHECK_EQ_INT(back->id, 42);
	CHECK_EQ_STR(back->method, "/x/y");
	whatsnext__v1__request__free_unpacked(back, NULL);
	free(p);
}

/* packs_as_protobuf_c: the response wnd writes is the one protobuf-c packs. */
static void packs_as_protobuf_c(uint64_t id, int code, const char *msg,
                                const ProtobufCMessage *body)
{
	Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
	resp.id = id;
	resp.code = (Whatsnext__V1__Code)code;
	resp.message = (char *)(msg ? msg : "");
	size_t bl = 0;
	uint8_t *b = body ? wn_message_pack(body, &bl) : NULL;
	resp.body.data = b;
	resp.body.len = bl;
	size_t wl, gl;
	uint8_t *want = wn_message_pack(&resp.base, &wl);
	uint8_t *got = wn_engine_pack_response(id, code, msg, body, &gl);
	CHECK_EQ_INT(gl, wl);
	CHECK(memcmp(got, want, wl) == 0);
	free(b);
	free(want);
	free(got);
}

TEST(responses_pack_as_protobuf_c_packs_them)
{
	Whatsnext__V1__Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = 300;
	j.project = "p";
	j.name = "a name long enough to take a length of two bytes once repeated: "
	         "0123456789012345678901234567890123456789012345678901234567890123456789";
	Whatsnext__V1__FetchResponse fr = WHATSNEXT__V1__FETCH_RESPONSE__INIT;
	fr.job = &j;
	packs_as_protobuf_c(0, 0, NULL, NULL);
	packs_as_protobuf_c(1, 0, NULL, &fr.base);
	packs_as_protobuf_c(UINT64_MAX, 0, "", &fr.base);
	packs_as_protobuf_c(77, 5, "job 7 not found", NULL);
	packs_as_protobuf_c(1ull << 40, 16, "this server requires a token", NULL);
	Whatsnext__V1__FetchResponse empty = WHATSNEXT__V1__FETCH_RESPONSE__INIT;
	packs_as_protobuf_c(9, 0, NULL, &empty.base); /* an empty body: no field at all */
}

TEST_MAIN()
