/* json: protobuf messages as JSON, generically from their descriptors.
 *
 * Fields keep their .proto names; maps become objects, repeated fields arrays,
 * integers JSON integers (64-bit ones beyond 2^53 - 1 in magnitude strings of
 * their exact decimal digits), absent sub-messages null, bytes base64, and
 * enum values lowercase names without the prefix their values share
 * ("JOB_PENDING" is "pending", "*_UNSPECIFIED" is "unspecified"). */
#ifndef WN_CTL_JSON_H
#define WN_CTL_JSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* wn_json_encode returns a new JSON value for m (json null for NULL). */
json_t *wn_json_encode(const ProtobufCMessage *m);

/* wn_json_print writes j to stdout (numbers with wn_pbjson_precision's digits) followed by a
 * newline and releases the caller's reference. */
void wn_json_print(json_t *j);

/* wn_json_enum_name writes the lowercase name of value in ed into buf (size n) and returns
 * buf; a value ed does not know is written as its number. */
char *wn_json_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *buf, size_t n);

/* wn_json_enum_parse stores in *out the value of ed whose lowercase name (or full .proto
 * name, any case) is s; returns 0, or WN_EINVAL when there is none. */
int wn_json_enum_parse(const ProtobufCEnumDescriptor *ed, const char *s, int *out);

/* wn_json_enum_list returns a malloc'd "a, b, c" list of ed's lowercase names, without the
 * unspecified value. */
char *wn_json_enum_list(const ProtobufCEnumDescriptor *ed);

/* wn_json_string returns a JSON string of the n bytes at s, invalid UTF-8 replaced by U+FFFD. */
json_t *wn_json_string(const char *s, size_t n);

/* A JSON object printed to stdout as it is made: its first field an array given item by
 * item, so that a long list is never held whole. */
struct wn_json_list {
	const char *name; /* the array's field */
	size_t n;         /* items printed */
};

/* wn_json_list_begin prints the start of an object whose first field, name, is an array. */
void wn_json_list_begin(struct wn_json_list *l, const char *name);

/* wn_json_list_add prints m as the next item of l's array. */
void wn_json_list_add(struct wn_json_list *l, const ProtobufCMessage *m);

/* wn_json_list_end closes l's array, prints the fields of the object rest but l's array (its
 * reference taken), and ends the object: the text wn_json_print would have made of the object
 * with every item in its array, numbers with the digits each item needs. */
void wn_json_list_end(struct wn_json_list *l, json_t *rest);

#endif
