/* pbjson: the proto3 JSON mapping (https://protobuf.dev/programming-guides/proto3/#json)
 * of the protocol's messages, generically from their protobuf-c descriptors, over
 * packed bytes: what wnd's HTTP listener reads and writes (docs/http-json.md).
 *
 * Output: fields by their lowerCamelCase names in .proto order, those at their
 * default left out (0, "", false, empty lists and maps, unset messages; a oneof's
 * chosen member and a proto3 `optional` field that is set are written whatever
 * their value); enums by their .proto names (a number the .proto does not know as
 * the number); 64-bit integers as strings of decimal digits; NaN and the
 * infinities as "NaN", "Infinity", "-Infinity"; bytes as standard base64 with
 * padding; maps as objects; compact (no spaces).
 *
 * Input: fields by their lowerCamelCase or .proto names (not both); enums by name
 * or number; integers as numbers or strings, range-checked; floating point as
 * numbers or strings; bytes as standard or URL-safe base64, padded or not; null as
 * the default; an empty or blank text as {}. Anything else is refused with a
 * message that names the field's path ("field \"job.params\": expected an
 * object"): unknown fields, wrong types, numbers out of range or not integral,
 * bad base64, strings holding a NUL byte, invalid UTF-8, duplicate keys, two
 * members of one oneof, messages nesting deeper than WN_PB_DEPTH_MAX (pbcheck.h),
 * text after the value. */
#ifndef WN_PBJSON_H
#define WN_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* What reading one JSON text may take in memory, estimated from the text
 * before anything is allocated (a SubmitBatch of 100,000 jobs, the most one
 * may hold, with three parameters each takes about 130 MiB). */
#define WN_PBJSON_COST_MAX ((size_t)256 << 20)

/* wn_pbjson_to_pb reads the len bytes of JSON text at json as a message of type
 * d and stores its packed protobuf in *pb (malloc'd, the caller frees it) and
 * its length in *pblen. Returns 0, WN_ETOOBIG when reading it would take more
 * than WN_PBJSON_COST_MAX, or WN_EINVAL; with *errmsg (malloc'd) saying what
 * is wrong with the text; nothing is stored on failure. */
int wn_pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len, uint8_t **pb,
                    size_t *pblen, char **errmsg);

/* wn_pbjson_from_pb writes the len bytes at pb, a packed message of type d, as
 * JSON text in *json (malloc'd, NUL-terminated, the caller frees it) of *jsonlen
 * bytes. Returns 0, or WN_EINVAL with *errmsg (malloc'd) when the bytes are not
 * such a message or hold a string that is not valid UTF-8 or holds a NUL
 * (wn_pb_check); nothing is stored on failure. Fields d does not know are left
 * out. */
int wn_pbjson_from_pb(const ProtobufCMessageDescriptor *d, const uint8_t *pb, size_t len,
                      char **json, size_t *jsonlen, char **errmsg);

/* wn_pbjson_name writes the JSON name of field f (lowerCamelCase: "created_ms"
 * is "createdMs") into buf, of size n, and returns buf. */
char *wn_pbjson_name(const ProtobufCFieldDescriptor *f, char *buf, size_t n);

/* wn_pbjson_is_map tells whether field f is a map: a repeated field of a
 * generated "...Entry" message whose fields are key = 1 and value = 2. */
bool wn_pbjson_is_map(const ProtobufCFieldDescriptor *f);

/* wn_pbjson_elem_size returns the size of one element of a repeated field of
 * type t in a protobuf-c message. */
size_t wn_pbjson_elem_size(ProtobufCType t);

/* wn_pbjson_precision returns the digits that print every number in j so that
 * it reads back as the same double: the most any one of them needs (jansson
 * prints all with one precision; 17 would print 0.1 as 0.10000000000000001).
 * For JSON_REAL_PRECISION: wnd's JSON and wnctl's --json print numbers so. */
int wn_pbjson_precision(const json_t *j);

/* wn_pbjson_base64 returns b as a JSON string in standard base64 with padding
 * (how the mapping writes bytes; wnctl's --json too). */
json_t *wn_pbjson_base64(const ProtobufCBinaryData *b);

/* The text of a real of a parsed JSON tree (pbjson_real.c). */
struct wn_pbjson_real {
	const json_t *j;
	const char *text; /* in the JSON text, len bytes, not NUL-terminated */
	size_t len;
};

/* wn_pbjson_reals finds the reals of root, parsed from the len bytes of json,
 * whose double is an integer below 2^53 (which a point or an exponent in the
 * text may have made one: -1e-400, 2051.0000000000001) and pairs each with its
 * text: returns how many, in *out (malloc'd, for wn_pbjson_real_text). */
size_t wn_pbjson_reals(const char *json, size_t len, const json_t *root,
                       struct wn_pbjson_real **out);

/* wn_pbjson_real_text returns the entry of real j among the n of v, or NULL. */
const struct wn_pbjson_real *wn_pbjson_real_text(const struct wn_pbjson_real *v, size_t n,
                                                 const json_t *j);

#endif
