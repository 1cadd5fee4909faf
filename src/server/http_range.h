/* http_range: what a request's Range and If-Range headers ask of a file of
 * a known length (RFC 9110 14.2, 13.1.5): one range of its bytes, the whole
 * file, or none of it. Pure: the bytes of a client, nothing else. */
#ifndef WN_HTTP_RANGE_H
#define WN_HTTP_RANGE_H

#include <stdbool.h>
#include <stdint.h>

/* What wn_http_range finds. */
enum {
	WN_RANGE_WHOLE, /* no range to serve: the whole file, 200 */
	WN_RANGE_PART,  /* one range, [*first, *last]: 206 */
	WN_RANGE_NONE,  /* no range of it is in the file: 416 */
};

/* wn_http_range reads the value of a Range header (NULL: none) for a file
 * of len bytes: "bytes=A-B", "bytes=A-" or "bytes=-N" (the last N bytes),
 * the unit in any case, blanks around the range and empty list elements
 * allowed. WN_RANGE_PART with the first and last byte of the range, B cut
 * to the file's end; WN_RANGE_NONE when A is past the file's end or N is 0
 * (a file of 0 bytes has no range A-B); WN_RANGE_WHOLE for a header that is
 * none of those (another unit, bad syntax, a B before A: RFC 9110 has such
 * a header ignored), for a list of several ranges (served whole, as RFC
 * 9110 allows), and for "-N" of an empty file. Numbers of any number of
 * digits are read, those past 2^64-1 as 2^64-1. */
int wn_http_range(const char *value, uint64_t len, uint64_t *first, uint64_t *last);

/* wn_http_if_range tells whether the Range of a request with the If-Range
 * value (NULL: none) may be served for a file of the strong tag etag (a
 * quoted tag): with no If-Range, or one naming that tag exactly. A weak
 * tag, another tag or a date (the files served carry no Last-Modified to
 * compare it with) makes the whole file be sent. */
bool wn_http_if_range(const char *value, const char *etag);

#endif
