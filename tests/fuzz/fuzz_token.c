/* libFuzzer target: the token of a Request as sent (wn_auth_raw_token), the
 * bytes wnd hashes to find the caller. The input is a Request envelope; when
 * protobuf-c unpacks it (wnd looks for the token only then), the raw token
 * must be the envelope's last field 4 within the input, and agree with the
 * token protobuf-c read: the same bytes up to a NUL, the same length when it
 * holds none; no token field, no token. A token is refused (never matched)
 * when it holds a NUL, whatever follows it. Run:
 * build/fuzz/fuzz_token -max_total_time=60 */
#include "auth.h"
#include "whatsnext.pb-c.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Whatsnext__V1__Request *rq = whatsnext__v1__request__unpack(NULL, size, data);
	if (rq == NULL)
		return 0;
	const uint8_t *tok = NULL;
	size_t len = 0;
	wn_auth_raw_token(data, size, &tok, &len);
	const char *got = rq->token != NULL ? rq->token : "";
	size_t glen = strlen(got);
	if (tok == NULL) {
		if (glen != 0 || len != 0)
			abort(); /* protobuf-c found a token the raw walk did not */
	} else {
		if (tok < data || tok + len > data + size)
			abort(); /* outside the input */
		if (memchr(tok, '\0', len) == NULL && (len != glen || memcmp(tok, got, len) != 0))
			abort(); /* another token than protobuf-c's */
		if (memchr(tok, '\0', len) != NULL && memcmp(tok, got, glen) != 0)
			abort();
		/* a secret and more after a NUL is never that secret */
		uint8_t h[WN_AUTH_HASH_LEN];
		wn_auth_hash(got, glen, h);
		if (glen != len && wn_auth_secret_matches(tok, len, h))
			abort();
	}
	whatsnext__v1__request__free_unpacked(rq, NULL);
	return 0;
}
