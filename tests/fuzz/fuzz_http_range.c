/* libFuzzer target: a request's Range and If-Range headers (http_range.c),
 * the bytes of a client. The first 8 bytes are the length of the file
 * (little-endian; fewer: 0), the rest the header's value. Nothing may
 * crash; a range served lies within the file, first <= last < length, and
 * is what a plain reading of "bytes=A-B", "bytes=A-" or "bytes=-N" gives;
 * a value with a second range, or without "=", is never one range; an
 * If-Range lets a range be served only when it is the file's tag itself.
 * Run: build/fuzz/fuzz_http_range -max_total_time=60 */
#include "http_range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* count_specs counts the range-specs of the list after '=' in v: the
 * elements that are not empty. */
static size_t count_specs(const char *v)
{
	const char *p = strchr(v, '=');
	size_t n = 0;
	bool in = false;
	for (p = p != NULL ? p + 1 : v + strlen(v); *p != '\0'; p++) {
		if (*p == ',')
			in = false;
		else if (*p != ' ' && *p != '\t' && !in) {
			in = true;
			n++;
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t len = 0;
	size_t k = size < 8 ? size : 8;
	for (size_t i = 0; i < k; i++)
		len |= (uint64_t)data[i] << (8 * i);
	if (size >= 1 && (data[0] & 1)) /* small files too, where ranges end */
		len %= 4096;
	char *v = malloc(size - k + 1);
	memcpy(v, data + k, size - k);
	v[size - k] = '\0';
	uint64_t first = 7, last = 7;
	int r = wn_http_range(v, len, &first, &last);
	if (r != WN_RANGE_WHOLE && r != WN_RANGE_PART && r != WN_RANGE_NONE)
		abort();
	if (r == WN_RANGE_PART && !(first <= last && last < len))
		abort();
	if (r != WN_RANGE_PART && (first != 0 || last != 0))
		abort();
	if (r != WN_RANGE_WHOLE && (strchr(v, '=') == NULL || count_specs(v) != 1))
		abort();
	/* a plain "bytes=A-B" of small numbers reads as such */
	unsigned long long a, b;
	int used = 0;
	if (sscanf(v, "bytes=%llu-%llu%n", &a, &b, &used) == 2 && (size_t)used == strlen(v) &&
	    strspn(v + 6, "0123456789-") == strlen(v + 6) && strchr(v, '-') == strrchr(v, '-') &&
	    a <= b && b < 1000000000000ULL && a < len &&
	    (r != WN_RANGE_PART || first != a || last != (b < len ? b : len - 1)))
		abort();
	if (wn_http_range(NULL, len, &first, &last) != WN_RANGE_WHOLE)
		abort();
	static const char etag[] = "\"0123abcd\"";
	if (wn_http_if_range(v, etag)) {
		const char *p = v + strspn(v, " \t");
		if (strncmp(p, etag, sizeof(etag) - 1) != 0 ||
		    p[sizeof(etag) - 1 + strspn(p + sizeof(etag) - 1, " \t")] != '\0')
			abort();
	}
	if (!wn_http_if_range(NULL, etag))
		abort();
	free(v);
	return 0;
}
