/* pbjson_in: the way in of the proto3 JSON mapping (pbjson.h): wn_pbjson_to_pb
 * reads the text with jansson and the tree into a message it allocates the way
 * protobuf-c's unpacker does, so that protobuf_c_message_free_unpacked frees it
 * whole or half-built, then packs it. */
#include "pbjson.h"

#include "err.h"
#include "pbcheck.h"
#include "strbuf.h"
#include "util.h"

#include <jansson.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pbjson_new returns j, which jansson failed to make only when out of memory. */
static json_t *pbjson_new(json_t *j)
{
	if (j == NULL)
		wn_oom("making JSON");
	return j;
}

/* pbjson_name_is tells whether key is the JSON name of the field named name. */
static bool pbjson_name_is(const char *name, const char *key)
{
	bool up = false;
	for (; *name != '\0'; name++) {
		if (*name == '_') {
			up = true;
			continue;
		}
		char c = (char)(up && *name >= 'a' && *name <= 'z' ? *name - 'a' + 'A' : *name);
		up = false;
		if (*key++ != c)
			return false;
	}
	return *key == '\0';
}

/* ---------------------------------------------------------------- base64 */

/* b64_digit returns the value of base64 digit c, standard or URL-safe, or -1. */
static int b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* b64_decode decodes the n bytes at s into *out (data malloc'd, NULL when
 * empty); returns 0, or -1 when they are not base64. */
static int b64_decode(const char *s, size_t n, ProtobufCBinaryData *out)
{
	if (n > 0 && s[n - 1] == '=') {
		if (n % 4 != 0)
			return -1;
		n -= s[n - 2] == '=' ? 2 : 1;
	}
	if (n % 4 == 1)
		return -1;
	size_t len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	uint8_t *data = len > 0 ? wn_xmalloc(len) : NULL;
	size_t o = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_digit(s[i]);
		if (v < 0) {
			free(data);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			data[o++] = (uint8_t)(acc >> 16);
			data[o++] = (uint8_t)(acc >> 8);
			data[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (n % 4 == 2) {
		data[o++] = (uint8_t)(acc >> 4);
	} else if (n % 4 == 3) {
		data[o++] = (uint8_t)(acc >> 10);
		data[o++] = (uint8_t)(acc >> 2);
	}
	out->len = len;
	out->data = data;
	return 0;
}

/* ---------------------------------------------------------------- input */

/* One reading of JSON into a message: the path of the field being read (its
 * names as the text gives them, "job.after[0].jobId"), the first failure, and
 * how deep the message being filled is (0 the top, a map's entry a level too,
 * as wn_pb_check counts them). */
struct in {
	wn_strbuf path;
	char *err;
	int depth;
	struct wn_pbjson_real *reals; /* wn_pbjson_reals */
	size_t nreals;
};

static int in_fail(struct in *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* in_fail records "field \"PATH\": WHAT" and returns WN_EINVAL. */
static int in_fail(struct in *st, const char *fmt, ...)
{
	wn_strbuf b = WN_STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	char *what = NULL;
	if (vasprintf(&what, fmt, ap) < 0)
		pbjson_new(NULL);
	va_end(ap);
	if (st->path.len > 0)
		wn_strbuf_addf(&b, "field \"%s\": ", wn_strbuf_str(&st->path));
	wn_strbuf_adds(&b, what);
	free(what);
	free(st->err);
	st->err = wn_strbuf_take(&b);
	return WN_EINVAL;
}

/* in_push appends a field name (or "[i]" with dot false) to the path and
 * returns the path's length before, for in_pop. */
static size_t in_push(struct in *st, const char *name, bool dot)
{
	size_t was = st->path.len;
	if (dot && was > 0)
		wn_strbuf_addc(&st->path, '.');
	wn_strbuf_adds(&st->path, name);
	return was;
}

static void in_pop(struct in *st, size_t was)
{
	st->path.len = was;
	if (st->path.s != NULL)
		st->path.s[was] = '\0';
}

/* in_kind names the kind of JSON value j, for "expected X, got Y". */
static const char *in_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

/* in_number_syntax tells whether the n bytes at s are a JSON number (leading
 * zeros allowed: "060" in a string reads as 60). */
static bool in_number_syntax(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i == n || s[i] < '0' || s[i] > '9')
		return false;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		if (++i == n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

/* An integer read from JSON before its range is checked: its sign and
 * magnitude, or a double when the text had a fraction or an exponent. */
struct in_int {
	bool neg, real;
	uint64_t mag;
	double d;
};

/* in_digits reads the whole string s (n bytes) as [-]DIGITS into *out;
 * returns 0, 1 when they are digits but beyond 64 bits, -1 when not digits. */
static int in_digits(const char *s, size_t n, struct in_int *out)
{
	size_t i = 0;
	out->neg = n > 0 && s[0] == '-';
	i = out->neg ? 1 : 0;
	if (i == n)
		return -1;
	out->mag = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned dg = (unsigned)(s[i] - '0');
		if (out->mag > (UINT64_MAX - dg) / 10)
			return 1;
		out->mag = out->mag * 10 + dg;
	}
	return 0;
}

/* in_decimal reads s (n bytes, a JSON number: in_number_syntax) exactly, as
 * decimal digits, never through a double: returns 0 when it is an integer
 * that fits 64 bits (into *out), 1 when it is an integer beyond them, -1
 * when it has a fraction (2051.0000000000001 is not 2051). */
static int in_decimal(const char *s, size_t n, struct in_int *out)
{
	size_t i = 0, k = 0, intlen = 0;
	out->neg = s[0] == '-';
	i = out->neg ? 1 : 0;
	size_t start = i;
	long first = -1, last = -1; /* indexes of the first and last nonzero digit */
	bool point = false;
	for (; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] == '.') {
			intlen = k;
			point = true;
			continue;
		}
		if (s[i] != '0') {
			if (first < 0)
				first = (long)k;
			last = (long)k;
		}
		k++;
	}
	if (!point)
		intlen = k;
	long exp = 0;
	if (i < n) { /* e, an optional sign, digits */
		bool eneg = s[++i] == '-';
		if (s[i] == '-' || s[i] == '+')
			i++;
		for (; i < n; i++)
			if (exp < 1000000)
				exp = exp * 10 + (s[i] - '0');
		exp = eneg ? -exp : exp;
	}
	out->mag = 0;
	if (first < 0)
		return 0; /* zero, however written */
	/* the power of ten of digit d is intlen - 1 - d + exp */
	if ((long)intlen - 1 - last + exp < 0)
		return -1;
	if ((long)intlen - first + exp > 20)
		return 1;
	for (long d = first; (long)intlen - 1 - d + exp >= 0; d++) {
		unsigned dg = 0;
		if (d < (long)k) { /* the d-th digit, the point skipped */
			size_t at = start + (size_t)d + (point && (size_t)d >= intlen ? 1 : 0);
			dg = (unsigned)(s[at] - '0');
		}
		if (out->mag > (UINT64_MAX - dg) / 10)
			return 1;
		out->mag = out->mag * 10 + dg;
	}
	return 0;
}

/* in_integer reads j, a JSON integer, a real or a string, as an integer
 * (not yet range-checked) into *out; returns 0, 1 when it is beyond 64 bits,
 * or WN_EINVAL after in_fail. */
static int in_integer(struct in *st, const json_t *j, struct in_int *out)
{
	*out = (struct in_int){0};
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		out->neg = v < 0;
		out->mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
		return 0;
	}
	double d;
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t n = json_string_length(j);
		int r = in_digits(s, n, out);
		if (r >= 0)
			return r;
		if (!in_number_syntax(s, n))
			return in_fail(st, "expected an integer, got a string that is not one");
		r = in_decimal(s, n, out);
		if (r < 0)
			return in_fail(st, "%.40s%s is not an integer", s, n > 40 ? "..." : "");
		return r;
	} else if (json_is_real(j)) {
		/* judged by its text where the double may have made it an integer */
		const struct wn_pbjson_real *t = wn_pbjson_real_text(st->reals, st->nreals, j);
		if (t != NULL && in_decimal(t->text, t->len, out) < 0)
			return in_fail(st, "%.*s%s is not an integer",
			               (int)(t->len > 40 ? 40 : t->len), t->text,
			               t->len > 40 ? "..." : "");
		d = json_real_value(j);
		/* a number with a point or an exponent is a double by the time it
		 * is read: past 2^53 it may have been rounded */
		if (fabs(d) >= 9007199254740992.0 && fabs(d) < 18446744073709551616.0)
			return in_fail(st,
			               "%g is not exact as a number: write an integer this large "
			               "as a string of its digits",
			               d);
	} else {
		return in_fail(st, "expected an integer, got %s", in_kind(j));
	}
	if (d != floor(d) || !isfinite(d))
		return in_fail(st, "%g is not an integer", d);
	out->real = true;
	out->d = d;
	if (fabs(d) >= 18446744073709551616.0)
		return 1;
	out->neg = d < 0;
	out->mag = (uint64_t)fabs(d);
	return 0;
}

/* in_range reads j as an integer within [lo, hi] (hi of an unsigned type:
 * lo 0) into *u (as uint64) or *s (as int64); tname names the type. */
static int in_range(struct in *st, const json_t *j, int64_t lo, uint64_t hi, const char *tname,
                    uint64_t *u)
{
	struct in_int v;
	int r = in_integer(st, j, &v);
	if (r < 0)
		return r;
	bool ok = r == 0;
	if (ok && v.neg)
		ok = v.mag == 0 || (lo < 0 && v.mag <= (uint64_t)(-(lo + 1)) + 1);
	else if (ok)
		ok = v.mag <= hi;
	if (!ok) {
		if (json_is_string(j) && json_string_length(j) <= 40)
			return in_fail(st, "%s is out of range for %s", json_string_value(j),
			               tname);
		if (json_is_integer(j))
			return in_fail(st, "%" JSON_INTEGER_FORMAT " is out of range for %s",
			               json_integer_value(j), tname);
		if (v.real)
			return in_fail(st, "%g is out of range for %s", v.d, tname);
		return in_fail(st, "number out of range for %s", tname);
	}
	*u = v.neg ? -v.mag : v.mag;
	return 0;
}

/* in_double reads j, a number or a string, as a double; is_float: as a float,
 * range-checked. */
static int in_double(struct in *st, const json_t *j, bool is_float, double *out)
{
	double d;
	if (json_is_number(j)) {
		d = json_number_value(j);
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t n = json_string_length(j);
		if (strcmp(s, "NaN") == 0 && n == 3)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0 && n == 8)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0 && n == 9)
			d = -INFINITY;
		else if (!in_number_syntax(s, n))
			return in_fail(st, "expected a number, got a string that is not one");
		else if (!isfinite(d = strtod(s, NULL)))
			return in_fail(st, "number out of range for double");
	} else {
		return in_fail(st, "expected a number, got %s", in_kind(j));
	}
	if (is_float && isfinite(d) && !isfinite((float)d))
		return in_fail(st, "number out of range for float");
	*out = d;
	return 0;
}

/* in_enum reads j, a value's name or an integer, as a value of enum ed. */
static int in_enum(struct in *st, const json_t *j, const ProtobufCEnumDescriptor *ed, int *out)
{
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		const ProtobufCEnumValue *v = NULL;
		if (strlen(s) == json_string_length(j))
			v = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
		if (v == NULL) {
			if (json_string_length(j) <= 64 && strlen(s) == json_string_length(j))
				return in_fail(st, "unknown value \"%s\" of %s", s, ed->name);
			return in_fail(st, "unknown value of %s", ed->name);
		}
		*out = v->value;
		return 0;
	}
	if (!json_is_number(j))
		return in_fail(st, "expected a name of %s or a number, got %s", ed->name,
		               in_kind(j));
	uint64_t u;
	int rv = in_range(st, j, INT32_MIN, INT32_MAX, "an enum", &u);
	if (rv == 0)
		*out = (int32_t)u;
	return rv;
}

static int in_message(struct in *st, const ProtobufCMessageDescriptor *d, json_t *j,
                      ProtobufCMessage **out);

/* in_scalar reads j into the value of field f at p: any type but a message. */
static int in_scalar(struct in *st, const ProtobufCFieldDescriptor *f, json_t *j, void *p)
{
	uint64_t u = 0;
	double d;
	int rv = 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if ((rv = in_range(st, j, INT32_MIN, INT32_MAX, "int32", &u)) == 0)
			*(int32_t *)p = (int32_t)u;
		return rv;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if ((rv = in_range(st, j, 0, UINT32_MAX, "uint32", &u)) == 0)
			*(uint32_t *)p = (uint32_t)u;
		return rv;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if ((rv = in_range(st, j, INT64_MIN, INT64_MAX, "int64", &u)) == 0)
			*(int64_t *)p = (int64_t)u;
		return rv;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if ((rv = in_range(st, j, 0, UINT64_MAX, "uint64", &u)) == 0)
			*(uint64_t *)p = u;
		return rv;
	case PROTOBUF_C_TYPE_FLOAT:
		if ((rv = in_double(st, j, true, &d)) == 0)
			*(float *)p = (float)d;
		return rv;
	case PROTOBUF_C_TYPE_DOUBLE:
		if ((rv = in_double(st, j, false, &d)) == 0)
			*(double *)p = d;
		return rv;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(j))
			return in_fail(st, "expected a boolean, got %s", in_kind(j));
		*(protobuf_c_boolean *)p = json_is_true(j);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return in_enum(st, j, f->descriptor, p);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
	return in_fail(st, "unexpected field type");
}

/* in_value reads j into the value of field f at p, allocating what it holds
 * (a string, bytes, a message) as protobuf-c's unpacker would. */
static int in_value(struct in *st, const ProtobufCFieldDescriptor *f, json_t *j, void *p)
{
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return in_message(st, f->descriptor, j, (ProtobufCMessage **)p);
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		if (!json_is_string(j))
			return in_fail(st, "expected a string, got %s", in_kind(j));
		const char *s = json_string_value(j);
		size_t n = json_string_length(j);
		if (wn_pb_utf8_check((const uint8_t *)s, n) >= 0)
			return in_fail(st, "the string holds a NUL byte");
		*(char **)p = wn_xstrdup(s);
		return 0;
	}
	if (f->type == PROTOBUF_C_TYPE_BYTES) {
		if (!json_is_string(j))
			return in_fail(st, "expected a base64 string, got %s", in_kind(j));
		if (b64_decode(json_string_value(j), json_string_length(j), p) != 0)
			return in_fail(st, "invalid base64");
		return 0;
	}
	return in_scalar(st, f, j, p);
}

/* in_map_key stores key, the name of a map entry, as the entry's key (field
 * kf at p). */
static int in_map_key(struct in *st, const ProtobufCFieldDescriptor *kf, const char *key, void *p)
{
	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		*(char **)p = wn_xstrdup(key);
		return 0;
	}
	if (kf->type == PROTOBUF_C_TYPE_BOOL) {
		if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
			return in_fail(st, "map key \"%s\" is not true or false", key);
		*(protobuf_c_boolean *)p = strcmp(key, "true") == 0;
		return 0;
	}
	json_t *j = pbjson_new(json_string(key));
	int rv = in_scalar(st, kf, j, p);
	json_decref(j);
	return rv;
}

/* in_repeated reads j, an array (or an object for a map), into repeated field
 * f of the message at base: its count is raised with each element stored, so
 * that a failure leaves a message protobuf-c can free. */
static int in_repeated(struct in *st, const ProtobufCFieldDescriptor *f, json_t *j, char *base)
{
	bool map = wn_pbjson_is_map(f);
	if (map ? !json_is_object(j) : !json_is_array(j))
		return in_fail(st, "expected %s, got %s", map ? "an object" : "an array",
		               in_kind(j));
	size_t n = map ? json_object_size(j) : json_array_size(j);
	size_t sz = wn_pbjson_elem_size(f->type);
	size_t *count = (size_t *)(base + f->quantifier_offset);
	char *arr = n > 0 ? wn_xcalloc(n, sz) : NULL;
	*(char **)(base + f->offset) = arr;
	if (!map) {
		for (size_t i = 0; i < n; i++) {
			char idx[32];
			snprintf(idx, sizeof(idx), "[%zu]", i);
			size_t was = in_push(st, idx, false);
			json_t *e = json_array_get(j, i);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				(*count)++; /* stored at once, half-built or not */
			int rv = json_is_null(e) ? in_fail(st, "null in an array")
			                         : in_value(st, f, e, arr + i * sz);
			in_pop(st, was);
			if (rv != 0)
				return rv;
			if (f->type != PROTOBUF_C_TYPE_MESSAGE)
				(*count)++;
		}
		return 0;
	}
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const char *key;
	json_t *v;
	size_t i = 0;
	if (n > 0 && st->depth + 1 > WN_PB_DEPTH_MAX) /* an entry is a message too */
		return in_fail(st, "messages nest deeper than %d", WN_PB_DEPTH_MAX);
	st->depth++;
	int rv = 0;
	json_object_foreach(j, key, v)
	{
		ProtobufCMessage *entry = wn_xmalloc(ed->sizeof_message);
		protobuf_c_message_init(ed, entry);
		((ProtobufCMessage **)arr)[i++] = entry;
		(*count)++;
		size_t was = in_push(st, key, true);
		rv = in_map_key(st, &ed->fields[0], key, (char *)entry + ed->fields[0].offset);
		if (rv == 0 && json_is_null(v))
			rv = in_fail(st, "null as a map value");
		if (rv == 0)
			rv = in_value(st, &ed->fields[1], v, (char *)entry + ed->fields[1].offset);
		in_pop(st, was);
		if (rv != 0)
			break;
	}
	st->depth--;
	return rv;
}

/* in_field reads j into field f of the message at base; null leaves it at
 * its default (a oneof member unset). */
static int in_field(struct in *st, const ProtobufCMessageDescriptor *d,
                    const ProtobufCFieldDescriptor *f, json_t *j, char *base)
{
	if (json_is_null(j))
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return in_repeated(st, f, j, base);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
		if (*which != 0) {
			const ProtobufCFieldDescriptor *other =
			    protobuf_c_message_descriptor_get_field(d, *which);
			char name[128];
			return in_fail(st, "\"%s\" of the same oneof is set already",
			               wn_pbjson_name(other, name, sizeof(name)));
		}
		/* A oneof member shares its storage: nothing of another is there. */
		*which = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
	           f->type != PROTOBUF_C_TYPE_STRING) {
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	}
	void *p = base + f->offset;
	if (f->type == PROTOBUF_C_TYPE_STRING)
		*(char **)p = NULL; /* the default, protobuf_c_empty_string, is not freed */
	return in_value(st, f, j, p);
}

/* in_find returns the index of the field of d named key (its JSON name or its
 * .proto name), or -1. */
static int in_find(const ProtobufCMessageDescriptor *d, const char *key)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
	if (f != NULL)
		return (int)(f - d->fields);
	for (unsigned i = 0; i < d->n_fields; i++)
		if (pbjson_name_is(d->fields[i].name, key))
			return (int)i;
	return -1;
}

/* in_fields reads the members of object j into message m of type d. */
static int in_fields(struct in *st, const ProtobufCMessageDescriptor *d, json_t *j,
                     ProtobufCMessage *m)
{
	const char **seen = wn_xcalloc(d->n_fields + 1, sizeof(*seen));
	const char *key;
	json_t *v;
	int rv = 0;
	json_object_foreach(j, key, v)
	{
		int i = in_find(d, key);
		size_t was = in_push(st, key, true);
		if (i < 0) {
			char *at = wn_xstrdup(wn_strbuf_str(&st->path));
			in_pop(st, 0);
			rv = in_fail(st, "unknown field \"%s\" in %s", at, d->name);
			free(at);
		} else if (seen[i] != NULL) {
			rv = in_fail(st, "given twice, also as \"%s\"", seen[i]);
		} else {
			seen[i] = key;
			rv = in_field(st, d, &d->fields[i], v, (char *)m);
		}
		in_pop(st, was);
		if (rv != 0)
			break;
	}
	free(seen);
	return rv;
}

/* in_message reads j, an object, into a new message of type d at *out (stored
 * there at once, for the caller's message to free if this fails). */
static int in_message(struct in *st, const ProtobufCMessageDescriptor *d, json_t *j,
                      ProtobufCMessage **out)
{
	if (!json_is_object(j))
		return in_fail(st, "expected an object, got %s", in_kind(j));
	if (st->depth + 1 > WN_PB_DEPTH_MAX)
		return in_fail(st, "messages nest deeper than %d", WN_PB_DEPTH_MAX);
	ProtobufCMessage *m = wn_xmalloc(d->sizeof_message);
	protobuf_c_message_init(d, m);
	*out = m;
	st->depth++;
	int rv = in_fields(st, d, j, m);
	st->depth--;
	return rv;
}

/* in_blank tells whether the n bytes at s are JSON whitespace only. */
static bool in_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

/* in_cost estimates the bytes that parsing the len bytes of JSON at s takes,
 * as jansson holds it: the text, 232 for each object or array (the value and
 * its table), 48 for each string and 40 for each value after a comma. A body
 * of empty objects takes 77 times its size; this is known before any of it
 * is allocated. */
static size_t in_cost(const char *s, size_t len)
{
	size_t cost = len;
	bool str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == '"') {
			str = true;
			cost += 48;
		} else if (c == '{' || c == '[') {
			cost += 232;
		} else if (c == ',') {
			cost += 40;
		}
	}
	return cost;
}

int wn_pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len, uint8_t **pb,
                    size_t *pblen, char **errmsg)
{
	json_error_t jerr;
	json_t *j;
	size_t cost = in_cost(json, len);
	if (cost > WN_PBJSON_COST_MAX) {
		*errmsg = wn_xasprintf("the JSON holds too many values to read: about %zu MiB in "
		                       "memory, at most %u MiB; send fewer jobs or values per call",
		                       cost >> 20, (unsigned)(WN_PBJSON_COST_MAX >> 20));
		return WN_ETOOBIG;
	}
	if (in_blank(json, len))
		j = pbjson_new(json_object());
	else
		j = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
		               &jerr);
	if (j == NULL) {
		/* jansson reads an integer as a signed 64-bit one: a uint64 past
		 * INT64_MAX (an id) must come as a string, which is read exactly */
		bool big = strncmp(jerr.text, "too big integer", 15) == 0;
		*errmsg = wn_xasprintf("invalid json at line %d, column %d: %s%s", jerr.line,
		                       jerr.column, jerr.text,
		                       big ? " (an integer past 9223372036854775807, as a 64-bit "
		                             "id can be, must be sent as a string of its digits: "
		                             "\"18446744073709551615\")"
		                           : "");
		return WN_EINVAL;
	}
	if (!json_is_object(j)) {
		*errmsg = wn_xasprintf("expected a json object, got %s", in_kind(j));
		json_decref(j);
		return WN_EINVAL;
	}
	struct in st = {WN_STRBUF_INIT, NULL, -1, NULL, 0};
	st.nreals = wn_pbjson_reals(json, len, j, &st.reals);
	ProtobufCMessage *m = NULL;
	int rv = in_message(&st, d, j, &m);
	free(st.reals);
	json_decref(j);
	wn_strbuf_free(&st.path);
	if (rv == 0) {
		size_t n = protobuf_c_message_get_packed_size(m);
		*pb = wn_xmalloc(n > 0 ? n : 1);
		*pblen = protobuf_c_message_pack(m, *pb);
	} else {
		*errmsg = st.err;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return rv;
}
