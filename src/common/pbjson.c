/* pbjson: the proto3 JSON mapping of protobuf-c messages (pbjson.h), the way
 * out: wn_pbjson_from_pb unpacks with protobuf-c and builds a jansson tree of
 * the message (pbjson_in.c has the way in). */
#include "pbjson.h"

#include "err.h"
#include "pbcheck.h"
#include "strbuf.h"
#include "util.h"

#include <jansson.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- descriptors */

size_t wn_pbjson_elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

bool wn_pbjson_is_map(const ProtobufCFieldDescriptor *f)
{
	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *d = f->descriptor;
	size_t nl = strlen(d->name);
	return d->n_fields == 2 && nl > 5 && strcmp(d->name + nl - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && d->fields[0].id == 1 &&
	       strcmp(d->fields[1].name, "value") == 0 && d->fields[1].id == 2;
}

char *wn_pbjson_name(const ProtobufCFieldDescriptor *f, char *buf, size_t n)
{
	size_t o = 0;
	bool up = false;
	for (const char *s = f->name; *s != '\0' && o + 1 < n; s++) {
		if (*s == '_') {
			up = true;
			continue;
		}
		buf[o++] = (char)(up && *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
		up = false;
	}
	if (n > 0)
		buf[o] = '\0';
	return buf;
}

/* pbjson_new returns j, which jansson failed to make only when out of memory. */
static json_t *pbjson_new(json_t *j)
{
	if (j == NULL)
		wn_oom("making JSON");
	return j;
}

/* ---------------------------------------------------------------- base64 */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *wn_pbjson_base64(const ProtobufCBinaryData *b)
{
	char *out = wn_xmalloc((b->len + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < b->len; i += 3) {
		uint32_t v = (uint32_t)b->data[i] << 16;
		if (i + 1 < b->len)
			v |= (uint32_t)b->data[i + 1] << 8;
		if (i + 2 < b->len)
			v |= b->data[i + 2];
		out[o++] = b64_std[(v >> 18) & 63];
		out[o++] = b64_std[(v >> 12) & 63];
		out[o++] = i + 1 < b->len ? b64_std[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < b->len ? b64_std[v & 63] : '=';
	}
	json_t *j = pbjson_new(json_stringn(out, o));
	free(out);
	return j;
}

/* ---------------------------------------------------------------- output */

static json_t *out_message(const ProtobufCMessage *m);

/* out_double is d as a JSON number, or a string for NaN and the infinities. */
static json_t *out_double(double d)
{
	if (isnan(d))
		return pbjson_new(json_string("NaN"));
	if (isinf(d))
		return pbjson_new(json_string(d > 0 ? "Infinity" : "-Infinity"));
	return pbjson_new(json_real(d));
}

/* out_float is x as out_double gives it, by way of the shortest decimal that
 * reads back as x as a float (0.1f is 0.1, not 0.100000001490116). */
static json_t *out_float(float x)
{
	char buf[40];
	if (isnan(x) || isinf(x))
		return out_double(x);
	for (int p = 1; p <= 9; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, (double)x);
		if (strtof(buf, NULL) == x)
			break;
	}
	return out_double(strtod(buf, NULL));
}

/* out_value converts the one value of field f stored at p. */
static json_t *out_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	char buf[32];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return pbjson_new(json_integer(*(const int32_t *)p));
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return pbjson_new(json_integer(*(const uint32_t *)p));
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
		return pbjson_new(json_string(buf));
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
		return pbjson_new(json_string(buf));
	case PROTOBUF_C_TYPE_FLOAT:
		return out_float(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return out_double(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return pbjson_new(json_boolean(*(const protobuf_c_boolean *)p));
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
		    protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return pbjson_new(ev != NULL ? json_string(ev->name) : json_integer(v));
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return pbjson_new(json_string(s != NULL ? s : ""));
	}
	case PROTOBUF_C_TYPE_BYTES:
		return wn_pbjson_base64(p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		return sub != NULL ? out_message(sub) : pbjson_new(json_object());
	}
	}
	return pbjson_new(json_null());
}

/* out_map_key is the text of a map key of field kf stored at p (malloc'd). */
static char *out_map_key(const ProtobufCFieldDescriptor *kf, const void *p)
{
	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)p;
		return wn_xstrdup(s != NULL ? s : "");
	}
	if (kf->type == PROTOBUF_C_TYPE_BOOL)
		return wn_xstrdup(*(const protobuf_c_boolean *)p ? "true" : "false");
	json_t *v = out_value(kf, p);
	char *s = json_is_integer(v) ? wn_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v))
	                             : wn_xstrdup(json_string_value(v));
	json_decref(v);
	return s;
}

/* out_repeated converts repeated field f of the message at base (count > 0). */
static json_t *out_repeated(const ProtobufCFieldDescriptor *f, const char *base, size_t count)
{
	const char *arr = *(const char *const *)(base + f->offset);
	size_t sz = wn_pbjson_elem_size(f->type);
	if (wn_pbjson_is_map(f)) {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		json_t *obj = pbjson_new(json_object());
		for (size_t i = 0; i < count; i++) {
			const char *entry = *(const char *const *)(arr + i * sz);
			char *key = out_map_key(&d->fields[0], entry + d->fields[0].offset);
			json_t *v = out_value(&d->fields[1], entry + d->fields[1].offset);
			if (json_object_set_new(obj, key, v) != 0)
				pbjson_new(NULL);
			free(key);
		}
		return obj;
	}
	json_t *a = pbjson_new(json_array());
	for (size_t i = 0; i < count; i++)
		if (json_array_append_new(a, out_value(f, arr + i * sz)) != 0)
			pbjson_new(NULL);
	return a;
}

/* out_present tells whether the single field f of the message at base is
 * written: a oneof's chosen member, a proto3 optional field that is set, any
 * other field off its default (as protobuf-c packs them). */
static bool out_present(const ProtobufCFieldDescriptor *f, const char *base)
{
	const void *p = base + f->offset;
	bool ptr = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
			return false;
		return !ptr || (*(void *const *)p != NULL && *(void *const *)p != f->default_value);
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
		if (ptr)
			return *(void *const *)p != NULL && *(void *const *)p != f->default_value;
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p != NULL && **(char *const *)p != '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p != NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p != 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p != 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p != 0;
	default:
		return wn_pbjson_elem_size(f->type) == 8 ? *(const uint64_t *)p != 0
		                                         : *(const uint32_t *)p != 0;
	}
}

static json_t *out_message(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *obj = pbjson_new(json_object());
	char name[128];
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t count = *(const size_t *)(base + f->quantifier_offset);
			if (count == 0)
				continue;
			v = out_repeated(f, base, count);
		} else {
			if (!out_present(f, base))
				continue;
			v = out_value(f, base + f->offset);
		}
		if (json_object_set_new(obj, wn_pbjson_name(f, name, sizeof(name)), v) != 0)
			pbjson_new(NULL);
	}
	return obj;
}

/* out_digits returns the significant digits x needs to read back as itself. */
static int out_digits(double x)
{
	char buf[40];
	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, x);
		if (strtod(buf, NULL) == x)
			return p;
	}
	return 17;
}

int wn_pbjson_precision(const json_t *j)
{
	int p = 1;
	if (json_is_real(j)) {
		p = out_digits(json_real_value(j));
	} else if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j) && p < 17; i++) {
			int q = wn_pbjson_precision(json_array_get(j, i));
			p = q > p ? q : p;
		}
	} else if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
		{
			int q = wn_pbjson_precision(v);
			p = q > p ? q : p;
		}
	}
	return p;
}

int wn_pbjson_from_pb(const ProtobufCMessageDescriptor *d, const uint8_t *pb, size_t len,
                      char **json, size_t *jsonlen, char **errmsg)
{
	int rv = wn_pb_check(d, pb, len, errmsg);
	if (rv != WN_OK)
		return rv;
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, pb);
	if (m == NULL) {
		*errmsg = wn_xasprintf("cannot read %s: malformed protobuf", d->name);
		return WN_EINVAL;
	}
	json_t *j = out_message(m);
	protobuf_c_message_free_unpacked(m, NULL);
	char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(wn_pbjson_precision(j)));
	json_decref(j);
	if (text == NULL)
		pbjson_new(NULL);
	*json = text;
	*jsonlen = strlen(text);
	return WN_OK;
}
