/* http_query: a parameter of a request's query string ("?a=1&path=x%20y"),
 * percent-escapes decoded (RFC 3986). Pure: the bytes of a client. */
#ifndef WN_HTTP_QUERY_H
#define WN_HTTP_QUERY_H

#include <stddef.h>

/* wn_http_query_get finds the first parameter name (exactly, no escapes in
 * it) of query (the text after '?', up to a '#' or its end) and writes its
 * value, its %XX escapes decoded ('+' is a plus), into out (n bytes, with a
 * NUL): 1 when found, 0 when there is none, -1 when its value is not one: a
 * '%' not followed by two hex digits, an escape of a NUL byte, or a value
 * that does not fit. */
int wn_http_query_get(const char *query, const char *name, char *out, size_t n);

#endif
