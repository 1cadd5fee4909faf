/* pbcheck: the strings of a protobuf message checked in its raw bytes, before
 * it is unpacked. protobuf-c unpacks a string into a NUL-terminated char *, so
 * a string holding a NUL byte would arrive cut short ("ok\0/../x" read as
 * "ok"), and it accepts any bytes as a string; the protocol allows neither. */
#ifndef WN_PBCHECK_H
#define WN_PBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* How deep messages may nest inside the message checked; deeper is refused. */
#define WN_PB_DEPTH_MAX 32

/* wn_pb_check walks the len bytes at data as a message of type desc, and
 * every message field inside it by its own descriptor (repeated ones and map
 * entries too), and returns WN_OK when each string field it meets is valid
 * UTF-8 without a NUL byte; otherwise WN_EINVAL and *errmsg (malloc'd) names
 * the field from desc down ("field \"spec.params.key\" of
 * whatsnext.v1.SubmitRequest holds a NUL byte"). Bytes that are not a
 * well-formed message (a field running past its end, a bad wire type, nesting
 * deeper than WN_PB_DEPTH_MAX) give WN_EINVAL too. Fields desc does not know
 * are skipped, not judged. Safe on any bytes: it reads only inside
 * [data, data + len) and uses no memory but its stack. */
int wn_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                char **errmsg);

/* wn_pb_utf8_check returns -1 when the n bytes at s are valid UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF) without a NUL byte,
 * else the offset of the first byte of the first character that is not. */
ptrdiff_t wn_pb_utf8_check(const uint8_t *s, size_t n);

/* wn_utf8_scrub makes the string s valid UTF-8 in place, for a message that
 * quotes user text: a character cut at its end is dropped, and every other
 * byte that starts no valid character becomes '?'. */
void wn_utf8_scrub(char *s);

/* wn_utf8_escape returns s as it may be shown and sent as a string
 * (malloc'd): each control character (below 0x20, and 0x7f) and each byte
 * that starts no valid UTF-8 character becomes \xHH; when that is longer
 * than max (>= 3) bytes, it is cut after a whole character or escape and
 * ends with "...", max bytes at most. */
char *wn_utf8_escape(const char *s, size_t max);

#endif
