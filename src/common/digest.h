/* digest: SHA-256 over bytes given piece by piece (mbedTLS), written as 64
 * lower-case hex digits: what an artifact's sha256 is (docs/server.md,
 * "Artifacts"). */
#ifndef WN_DIGEST_H
#define WN_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

/* The hex form's length, without its NUL. */
#define WN_DIGEST_HEX 64

/* A SHA-256 being computed (opaque). */
typedef struct wn_digest wn_digest;

/* wn_digest_new starts a SHA-256. */
wn_digest *wn_digest_new(void);
/* wn_digest_add adds len bytes of data. */
void wn_digest_add(wn_digest *d, const void *data, size_t len);
/* wn_digest_end writes the hex digest and its NUL into hex and frees d. */
void wn_digest_end(wn_digest *d, char hex[WN_DIGEST_HEX + 1]);
/* wn_digest_free frees d without a result; NULL is a no-op. */
void wn_digest_free(wn_digest *d);
/* wn_digest_hex_ok tells whether s is 64 lower-case hex digits. */
bool wn_digest_hex_ok(const char *s);

#endif
