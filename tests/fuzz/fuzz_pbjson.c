/* Fuzz target: wn_pbjson_to_pb and wn_pbjson_from_pb (src/common/pbjson.c,
 * pbjson_in.c) on arbitrary text. The first byte picks the message type: its
 * half, modulo WN_METHOD_COUNT, a method of methods.def, its low bit the
 * method's request (0) or reply (1); the rest is the JSON text. Whatever the
 * bytes:
 *   - to_pb returns WN_OK, or WN_EINVAL with a message and nothing stored;
 *   - what it accepts packs to bytes that wn_pb_check passes, that from_pb
 *     writes as JSON, which to_pb reads back to the same bytes, which from_pb
 *     writes as the same JSON again.
 * Sanitizers and libFuzzer's leak check catch the rest. */
#include "err.h"
#include "methods.h"
#include "pbcheck.h"
#include "pbjson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* to_pb reads the n bytes at s as d, holding the result to the contract. */
static int to_pb(const ProtobufCMessageDescriptor *d, const char *s, size_t n, uint8_t **pb,
                 size_t *pblen)
{
	char *err = NULL;
	*pb = NULL;
	*pblen = (size_t)-1;
	int rv = wn_pbjson_to_pb(d, s, n, pb, pblen, &err);
	if (rv == WN_OK) {
		if (err != NULL || *pb == NULL || *pblen == (size_t)-1)
			abort();
	} else if (rv != WN_EINVAL || err == NULL || err[0] == '\0' || *pb != NULL ||
	           *pblen != (size_t)-1) {
		abort();
	}
	free(err);
	return rv;
}

/* from_pb writes the n bytes at pb, which to_pb made, as d's JSON. */
static char *from_pb(const ProtobufCMessageDescriptor *d, const uint8_t *pb, size_t n)
{
	char *json = NULL, *err = NULL;
	size_t len = 0;
	if (wn_pbjson_from_pb(d, pb, n, &json, &len, &err) != WN_OK) {
		fprintf(stderr, "from_pb refused what to_pb made: %s\n", err);
		abort();
	}
	if (err != NULL || json == NULL || strlen(json) != len)
		abort();
	return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const wn_method *m = &wn_methods[(data[0] >> 1) % WN_METHOD_COUNT];
	const ProtobufCMessageDescriptor *d = (data[0] & 1) ? m->reply : m->request;
	uint8_t *pb1, *pb2;
	size_t n1, n2;
	if (to_pb(d, (const char *)data + 1, size - 1, &pb1, &n1) != WN_OK)
		return 0;
	char *err = NULL;
	if (wn_pb_check(d, pb1, n1, &err) != WN_OK) {
		fprintf(stderr, "to_pb made bytes wn_pb_check refuses: %s\n", err);
		abort();
	}
	char *json1 = from_pb(d, pb1, n1);
	if (to_pb(d, json1, strlen(json1), &pb2, &n2) != WN_OK) {
		fprintf(stderr, "to_pb refused what from_pb wrote: %s\n", json1);
		abort();
	}
	if (n1 != n2 || memcmp(pb1, pb2, n1) != 0) {
		fprintf(stderr, "to_pb of %s gave other bytes\n", json1);
		abort();
	}
	char *json2 = from_pb(d, pb2, n2);
	if (strcmp(json1, json2) != 0) {
		fprintf(stderr, "from_pb wrote %s, then %s\n", json1, json2);
		abort();
	}
	free(json2);
	free(json1);
	free(pb2);
	free(pb1);
	return 0;
}
