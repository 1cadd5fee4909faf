/* http_query: a parameter of a query string (http_query.h). */
#include "http_query.h"

#include "kit.h"

#include <string.h>

/* query_decode decodes the n bytes at v into out (cap bytes, with a NUL). */
static int query_decode(const char *v, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = wn_hex_digit((unsigned char)v[i + 1]),
			    lo = wn_hex_digit((unsigned char)v[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (k + 1 >= cap)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 1;
}

int wn_http_query_get(const char *query, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name), end = strcspn(query, "#");
	if (n > 0)
		out[0] = '\0';
	for (size_t i = 0; i < end;) {
		size_t len = strcspn(query + i, "&#");
		if (len > nl && memcmp(query + i, name, nl) == 0 && query[i + nl] == '=')
			return n > 0 ? query_decode(query + i + nl + 1, len - nl - 1, out, n) : -1;
		i += len + 1;
	}
	return 0;
}
