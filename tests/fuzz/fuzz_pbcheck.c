/* Fuzz target: wn_pb_check (src/common/pbcheck.c) on arbitrary bytes, held to
 * what protobuf-c and iconv make of the same bytes. The first byte picks the
 * message type as fuzz_envelope's does (its seeds serve both): below
 * WN_METHOD_COUNT the request of that method of methods.def, else the
 * Request envelope; the rest is the message. Whatever the bytes:
 *   - wn_pb_check returns WN_OK, or WN_EINVAL with a message;
 *   - when protobuf-c unpacks them, every string it made is checked on its
 *     own: its allocation must be its length + 1 (else it held a NUL and was
 *     cut) and iconv must read it as UTF-8. A string that fails means
 *     wn_pb_check must have refused the bytes; when every one passes, the
 *     message packed again by protobuf-c must pass wn_pb_check.
 * The allocator that protobuf-c unpacks with records each allocation's size,
 * which is how a string's length before the cut is known. */
#include "err.h"
#include "methods.h"
#include "pbcheck.h"
#include "whatsnext.pb-c.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The allocations of one unpack, with their sizes. */
#define ALLOCS_MAX 65536
static struct {
	void *p;
	size_t n;
} allocs[ALLOCS_MAX];
static size_t nallocs;

static void *rec_alloc(void *ud, size_t n)
{
	(void)ud;
	if (nallocs == ALLOCS_MAX)
		return NULL; /* protobuf-c fails the unpack */
	void *p = malloc(n ? n : 1);
	if (p != NULL)
		allocs[nallocs++].p = p, allocs[nallocs - 1].n = n;
	return p;
}

static void rec_free(void *ud, void *p)
{
	(void)ud;
	for (size_t i = 0; i < nallocs; i++)
		if (allocs[i].p == p) {
			allocs[i] = allocs[--nallocs];
			break;
		}
	free(p);
}

static ProtobufCAllocator rec_allocator = {rec_alloc, rec_free, NULL};

/* alloc_size returns the size allocated at p, or SIZE_MAX if p is none. */
static size_t alloc_size(const void *p)
{
	for (size_t i = 0; i < nallocs; i++)
		if (allocs[i].p == p)
			return allocs[i].n;
	return SIZE_MAX;
}

static bool utf8_by_iconv(const char *s, size_t n)
{
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	if (cd == (iconv_t)-1)
		abort();
	char out[256];
	char *in = (char *)s;
	size_t left = n;
	bool ok = true;
	while (ok && left > 0) {
		char *o = out;
		size_t olen = sizeof(out);
		if (iconv(cd, &in, &left, &o, &olen) == (size_t)-1 && errno != E2BIG)
			ok = false;
	}
	iconv_close(cd);
	return ok;
}

/* string_ok: the string s of field f, as protobuf-c unpacked it, is whole
 * and valid UTF-8. */
static bool string_ok(const ProtobufCFieldDescriptor *f, const char *s)
{
	if (s == NULL || s == f->default_value || s == protobuf_c_empty_string)
		return true; /* not in the bytes */
	size_t n = alloc_size(s);
	if (n == SIZE_MAX)
		abort(); /* a string protobuf-c did not allocate */
	return n == strlen(s) + 1 && utf8_by_iconv(s, n - 1);
}

static bool message_ok(const ProtobufCMessage *m);

/* field_ok checks every value of field f of message m. */
static bool field_ok(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	size_t count = 1;
	const void *vals = base + f->offset;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		count = *(const size_t *)(base + f->quantifier_offset);
		vals = *(void *const *)(base + f->offset);
	} else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
			return true;
	}
	for (size_t i = 0; i < count; i++) {
		const void *v = ((void *const *)vals)[i];
		if (f->type == PROTOBUF_C_TYPE_STRING && !string_ok(f, v))
			return false;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && v != NULL && !message_ok(v))
			return false;
	}
	return true;
}

static bool message_ok(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		if ((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
		    !field_ok(m, f))
			return false;
	}
	return true;
}

static int check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	char *err = NULL;
	int rv = wn_pb_check(d, p, n, &err);
	if (rv != WN_OK && rv != WN_EINVAL)
		abort();
	if ((rv == WN_OK) != (err == NULL) || (err != NULL && err[0] == '\0'))
		abort();
	free(err);
	return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const ProtobufCMessageDescriptor *d = data[0] < WN_METHOD_COUNT
	                                          ? wn_methods[data[0]].request
	                                          : &whatsnext__v1__request__descriptor;
	data++;
	size--;
	int rv = check(d, data, size);
	nallocs = 0;
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &rec_allocator, size, data);
	if (m == NULL)
		return 0;
	bool ok = message_ok(m);
	if (!ok && rv == WN_OK)
		abort(); /* a string cut at a NUL or not UTF-8 was let through */
	if (ok) {
		size_t n = protobuf_c_message_get_packed_size(m);
		uint8_t *again = malloc(n ? n : 1);
		protobuf_c_message_pack(m, again);
		if (check(d, again, n) != WN_OK)
			abort(); /* valid strings refused */
		free(again);
	}
	protobuf_c_message_free_unpacked(m, &rec_allocator);
	return 0;
}
