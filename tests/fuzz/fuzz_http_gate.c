/* libFuzzer target: the headers wnd's HTTP listener reads itself before a
 * call's body (http_gate.c): Host (DNS rebinding), Origin (CORS),
 * Authorization (a bearer token), X-Request-Id. The input is lines: a flags
 * byte line, then Host, Origin, Authorization, X-Request-Id, and the
 * http_cors_origins setting, one origin a line. Nothing may crash; an
 * accepted request id is the header's number; an accepted token is the
 * header's tail; an allowed Origin is its Host's or a listed one. The
 * Authorization line is also read as a body's Content-Type: one taken is
 * application/json, and a refusal says why in a line. Run:
 * build/fuzz/fuzz_http_gate -max_total_time=60 */
#include "http_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4096)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *lines[16] = {0};
	size_t n = 0;
	for (char *p = text; p != NULL && n < 16;) {
		lines[n++] = p;
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		p = nl;
	}
	static const char *const names[] = {"Host", "Origin", "Authorization", "X-Request-Id"};
	nng_http_req *req = NULL;
	if (nng_http_req_alloc(&req, NULL) != 0) {
		free(text);
		return 0;
	}
	for (size_t i = 0; i < 4 && i + 1 < n; i++)
		if (lines[i + 1][0] != '\0')
			nng_http_req_set_header(req, names[i], lines[i + 1]);
	wn_http h;
	memset(&h, 0, sizeof(h));
	h.https = (lines[0][0] & 1) != 0;
	h.loopback = (lines[0][0] & 2) != 0;
	h.origins = n > 5 ? &lines[5] : NULL;
	h.norigins = n > 5 ? n - 5 : 0;

	(void)wn_http_host_ok(&h, req);
	const char *cors = NULL;
	if (wn_http_origin_ok(&h, req, &cors) && cors != NULL) {
		bool listed = false;
		for (size_t i = 0; i < h.norigins; i++)
			listed = listed || strcmp(h.origins[i], "*") == 0 ||
			         strcmp(h.origins[i], cors) == 0;
		if (!listed)
			abort();
	}
	const char *tok = NULL;
	const char *auth = nng_http_req_get_header(req, "Authorization");
	if (wn_http_token(req, &tok)) {
		if (auth == NULL ? strcmp(tok, "") != 0
		                 : strncasecmp(auth, "Bearer ", 7) != 0 ||
		                       strcmp(auth + strlen(auth) - strlen(tok), tok) != 0)
			abort();
	}
	char why[256];
	const char *type = n > 3 ? lines[3] : "";
	const char *bad = wn_http_type_why(type, why, sizeof(why));
	if (bad == NULL ? strncasecmp(type, "application/json", 16) != 0
	                : bad[0] == '\0' || strchr(bad, '\n') != NULL)
		abort();
	uint64_t id = 0;
	const char *rid = nng_http_req_get_header(req, "X-Request-Id");
	if (wn_http_request_id(req, &id)) {
		char back[32];
		snprintf(back, sizeof(back), "%" PRIu64, id);
		while (rid != NULL && rid[0] == '0' && rid[1] != '\0')
			rid++; /* leading zeros are the same number */
		if (id == 0 || (rid != NULL && strcmp(back, rid) != 0))
			abort();
	}
	nng_http_req_free(req);
	free(text);
	return 0;
}
