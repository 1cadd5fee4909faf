/* engine_call: calling the engine the way the network layer does, for unit
 * tests of the methods. Header-only; include after test.h. */
#ifndef WN_TEST_ENGINE_CALL_H
#define WN_TEST_ENGINE_CALL_H

#include "engine.h"
#include "envelope.h"
#include "whatsnext.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

#define M(svc, m) "/whatsnext.v1." svc "/" m

/* The message of the last reply. */
static char last_msg[1024];

/* call sends in to method with a fresh request id and returns the reply's
 * code; on OK, *out (if out and od are given) is the unpacked output. */
static int call(wn_engine *e, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *od, void **out)
{
	static uint64_t next_req = 5000;
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = next_req++;
	rq.method = (char *)method;
	size_t bl;
	rq.body.data = wn_message_pack(in, &bl);
	rq.body.len = bl;
	size_t len;
	uint8_t *buf = wn_message_pack(&rq.base, &len);
	free(rq.body.data);
	uint8_t *reply = NULL;
	size_t rlen = 0;
	wn_engine_handle(e, buf, len, NULL, &reply, &rlen);
	free(buf);
	Whatsnext__V1__Response *r = whatsnext__v1__response__unpack(NULL, rlen, reply);
	free(reply);
	CHECK(r != NULL);
	snprintf(last_msg, sizeof(last_msg), "%s", r->message);
	int code = (int)r->code;
	if (out != NULL)
		*out = code == 0 && od
		           ? protobuf_c_message_unpack(od, NULL, r->body.len, r->body.data)
		           : NULL;
	whatsnext__v1__response__free_unpacked(r, NULL);
	return code;
}

#endif
