#include "json.h"

#include "pbjson.h"

#include "err.h"
#include "strbuf.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* json_utf8_seq returns the length of the valid UTF-8 sequence at s (n bytes
 * left), or 0 when it is not one. */
static size_t json_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *wn_json_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j != NULL)
		return j;
	/* Invalid UTF-8 (a job's output can hold anything): replace each bad
	 * byte with U+FFFD, which takes 3 bytes. */
	char *buf = wn_xmalloc(n * 3 + 1);
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = json_utf8_seq(p + i, n - i);
		if (len == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, p + i, len);
			o += len;
			i += len;
		}
	}
	j = json_stringn(buf, o);
	free(buf);
	return j != NULL ? j : json_string("");
}

/* json_enum_prefix returns the length of the '_'-terminated prefix that the
 * names of ed's values share (unspecified values aside), 0 if none. */
static size_t json_enum_prefix(const ProtobufCEnumDescriptor *ed)
{
	const char *first = NULL;
	size_t len = 0;
	unsigned count = 0;
	for (unsigned i = 0; i < ed->n_values; i++) {
		const char *name = ed->values[i].name;
		size_t nl = strlen(name);
		if (nl >= 12 && strcmp(name + nl - 12, "_UNSPECIFIED") == 0)
			continue;
		if (first == NULL) {
			first = name;
			len = nl;
		} else {
			size_t k = 0;
			while (k < len && first[k] == name[k])
				k++;
			len = k;
		}
		count++;
	}
	if (first == NULL || count < 2)
		return 0;
	while (len > 0 && first[len - 1] != '_')
		len--;
	return len;
}

/* json_enum_short writes the lowercase short name of v into buf. */
static char *json_enum_short(const ProtobufCEnumDescriptor *ed, const ProtobufCEnumValue *v,
                             char *buf, size_t n)
{
	const char *name = v->name;
	size_t nl = strlen(name);
	if (nl >= 11 && strcmp(name + nl - 11, "UNSPECIFIED") == 0) {
		name = "unspecified";
	} else {
		size_t p = json_enum_prefix(ed);
		if (p < nl)
			name += p;
	}
	size_t i = 0;
	for (; name[i] != '\0' && i + 1 < n; i++)
		buf[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	if (n > 0)
		buf[i] = '\0';
	return buf;
}

char *wn_json_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *buf, size_t n)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(ed, value);
	if (v == NULL) {
		snprintf(buf, n, "%d", value);
		return buf;
	}
	return json_enum_short(ed, v, buf, n);
}

int wn_json_enum_parse(const ProtobufCEnumDescriptor *ed, const char *s, int *out)
{
	char buf[128];
	for (unsigned i = 0; i < ed->n_values; i++) {
		const ProtobufCEnumValue *v = &ed->values[i];
		if (strcmp(json_enum_short(ed, v, buf, sizeof(buf)), s) == 0 ||
		    strcasecmp(v->name, s) == 0) {
			*out = v->value;
			return WN_OK;
		}
	}
	return WN_EINVAL;
}

char *wn_json_enum_list(const ProtobufCEnumDescriptor *ed)
{
	char buf[128];
	wn_strbuf list = WN_STRBUF_INIT;
	for (unsigned i = 0; i < ed->n_values; i++) {
		json_enum_short(ed, &ed->values[i], buf, sizeof(buf));
		if (strcmp(buf, "unspecified") == 0)
			continue;
		wn_strbuf_addf(&list, "%s%s", list.len > 0 ? ", " : "", buf);
	}
	return wn_strbuf_take(&list);
}

/* The largest integer that every JSON reader keeps exactly: 2^53 - 1 (readers
 * that hold numbers as doubles, such as JavaScript and jq 1.6, round beyond). */
#define JSON_SAFE_INT 9007199254740991LL

/* json_int64 returns v as a JSON integer, or beyond JSON_SAFE_INT in magnitude
 * as a string of its decimal digits (as the proto3 JSON mapping prints it). */
static json_t *json_int64(int64_t v)
{
	char buf[24];
	if (v >= -JSON_SAFE_INT && v <= JSON_SAFE_INT)
		return json_integer(v);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* json_uint64 is json_int64 for an unsigned value. */
static json_t *json_uint64(uint64_t v)
{
	char buf[24];
	if (v <= (uint64_t)JSON_SAFE_INT)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

/* json_value converts the single value of field f stored at p. */
static json_t *json_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	char buf[128];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_int64(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_uint64(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return json_string(
		    wn_json_enum_name(f->descriptor, *(const int *)p, buf, sizeof(buf)));
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s != NULL ? wn_json_string(s, strlen(s)) : json_string("");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return wn_pbjson_base64(p);
	case PROTOBUF_C_TYPE_MESSAGE:
		return wn_json_encode(*(ProtobufCMessage *const *)p);
	}
	return json_null();
}

/* json_map_key returns the text of a map entry's key. */
static char *json_map_key(const ProtobufCFieldDescriptor *kf, const void *p)
{
	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)p;
		return wn_xstrdup(s != NULL ? s : "");
	}
	json_t *v = json_value(kf, p);
	char *s = NULL;
	if (json_is_integer(v))
		s = wn_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		s = wn_xstrdup(json_is_true(v) ? "true" : "false");
	else if (json_is_string(v))
		s = wn_xstrdup(json_string_value(v));
	else
		s = wn_xstrdup("");
	json_decref(v);
	return s;
}

static json_t *json_repeated(const ProtobufCFieldDescriptor *f, const void *base)
{
	size_t count = *(const size_t *)((const char *)base + f->quantifier_offset);
	const char *arr = *(const char *const *)((const char *)base + f->offset);
	size_t sz = wn_pbjson_elem_size(f->type);
	if (wn_pbjson_is_map(f)) {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		json_t *obj = json_object();
		for (size_t i = 0; i < count; i++) {
			const char *entry = *(const char *const *)(arr + i * sz);
			char *key = json_map_key(&d->fields[0], entry + d->fields[0].offset);
			json_object_set_new(obj, key,
			                    json_value(&d->fields[1], entry + d->fields[1].offset));
			free(key);
		}
		return obj;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(a, json_value(f, arr + i * sz));
	return a;
}

json_t *wn_json_encode(const ProtobufCMessage *m)
{
	if (m == NULL)
		return json_null();
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *obj = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			v = json_repeated(f, base);
		} else {
			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
				uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
				if (which != f->id)
					continue;
			} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			           f->quantifier_offset != 0 &&
			           f->type != PROTOBUF_C_TYPE_MESSAGE &&
			           f->type != PROTOBUF_C_TYPE_STRING) {
				if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
					continue;
			}
			v = json_value(f, base + f->offset);
		}
		json_object_set_new(obj, f->name, v);
	}
	return obj;
}

void wn_json_print(json_t *j)
{
	json_dumpf(j, stdout,
	           JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(wn_pbjson_precision(j)));
	fputc('\n', stdout);
	json_decref(j);
}

/* json_indented prints j as wn_json_print does, without the newline, each line after the first
 * indented by pad spaces (strings hold no raw newline). */
static void json_indented(json_t *j, int pad)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY |
	                               JSON_REAL_PRECISION(wn_pbjson_precision(j)));
	if (text == NULL)
		wn_oom("making JSON");
	for (const char *s = text, *nl; *s != '\0'; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl == NULL) {
			fputs(s, stdout);
			break;
		}
		printf("%.*s%*s", (int)(nl - s + 1), s, pad, "");
	}
	free(text);
}

void wn_json_list_begin(struct wn_json_list *l, const char *name)
{
	l->name = name;
	l->n = 0;
	json_t *key = json_string(name);
	printf("{\n  ");
	json_indented(key, 2);
	printf(": [");
	json_decref(key);
}

void wn_json_list_add(struct wn_json_list *l, const ProtobufCMessage *m)
{
	json_t *j = wn_json_encode(m);
	printf("%s\n    ", l->n++ > 0 ? "," : "");
	json_indented(j, 4);
	json_decref(j);
}

void wn_json_list_end(struct wn_json_list *l, json_t *rest)
{
	printf(l->n > 0 ? "\n  ]" : "]");
	const char *k;
	json_t *v;
	json_object_foreach(rest, k, v)
	{
		if (strcmp(k, l->name) == 0)
			continue;
		json_t *key = json_string(k);
		printf(",\n  ");
		json_indented(key, 2);
		printf(": ");
		json_indented(v, 2);
		json_decref(key);
	}
	printf("\n}\n");
	json_decref(rest);
}
