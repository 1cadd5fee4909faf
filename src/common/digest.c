/* digest: SHA-256 with mbedTLS (digest.h). */
#include "digest.h"

#include "util.h"

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wn_digest {
	mbedtls_sha256_context ctx;
};

/* digest_ok aborts on a failure of mbedTLS (none is possible in software). */
static void digest_ok(int rv)
{
	if (rv != 0) {
		fprintf(stderr, "sha-256 failed (%d)\n", rv);
		abort();
	}
}

wn_digest *wn_digest_new(void)
{
	wn_digest *d = wn_xcalloc(1, sizeof(*d));
	mbedtls_sha256_init(&d->ctx);
#if MBEDTLS_VERSION_MAJOR >= 3
	digest_ok(mbedtls_sha256_starts(&d->ctx, 0));
#else
	digest_ok(mbedtls_sha256_starts_ret(&d->ctx, 0));
#endif
	return d;
}

void wn_digest_add(wn_digest *d, const void *data, size_t len)
{
	if (len == 0)
		return;
#if MBEDTLS_VERSION_MAJOR >= 3
	digest_ok(mbedtls_sha256_update(&d->ctx, data, len));
#else
	digest_ok(mbedtls_sha256_update_ret(&d->ctx, data, len));
#endif
}

void wn_digest_end(wn_digest *d, char hex[WN_DIGEST_HEX + 1])
{
	unsigned char out[32];
#if MBEDTLS_VERSION_MAJOR >= 3
	digest_ok(mbedtls_sha256_finish(&d->ctx, out));
#else
	digest_ok(mbedtls_sha256_finish_ret(&d->ctx, out));
#endif
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(out); i++) {
		hex[2 * i] = digits[out[i] >> 4];
		hex[2 * i + 1] = digits[out[i] & 15];
	}
	hex[WN_DIGEST_HEX] = '\0';
	wn_digest_free(d);
}

void wn_digest_free(wn_digest *d)
{
	if (d == NULL)
		return;
	mbedtls_sha256_free(&d->ctx);
	free(d);
}

bool wn_digest_hex_ok(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == WN_DIGEST_HEX;
}
