/* libFuzzer target: a parameter of a request's query string (http_query.c),
 * the bytes of a client. Nothing may crash or write past the buffer; a value
 * found holds no NUL before its end and is what its bytes say once each
 * %XX is read as one byte; none is found in a query that does not hold
 * "path=". Run: build/fuzz/fuzz_http_query -max_total_time=60 */
#include "http_query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* plain tells whether out is the n encoded bytes at v decoded. */
static int plain(const char *v, size_t n, const char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++, k++) {
		char c = v[i];
		if (c == '%') {
			char hex[3] = {v[i + 1], v[i + 2], 0};
			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		if (out[k] != c)
			return 0;
	}
	return out[k] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	size_t cap = size > 0 ? (data[0] % 64) + 1 : 1;
	char *out = malloc(cap);
	int rv = wn_http_query_get(q, "path", out, cap);
	if (rv != 0 && rv != 1 && rv != -1)
		abort();
	if (rv != 0 && strstr(q, "path=") == NULL)
		abort();
	if (rv == 1) {
		if (strlen(out) >= cap)
			abort();
		/* the first "path=" that begins the query or follows a '&' */
		const char *v = NULL;
		for (const char *p = q; (p = strstr(p, "path=")) != NULL; p++)
			if (p == q || p[-1] == '&') {
				v = p + 5;
				break;
			}
		if (v == NULL || !plain(v, strcspn(v, "&#"), out))
			abort();
	}
	free(out);
	free(q);
	return 0;
}
