/* http_files: what wnd's HTTP listener serves to be read, GET and HEAD: the
 * dashboard's files, whole or a range of their bytes (http_int.h). */
#include "http.h"
#include "http_int.h"

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <string.h>

#include "http_range.h"
#include "webassets.h"

/* The verbs of the dashboard's files and /metrics, and the request headers
 * a page of an allowed origin may send with them. */
#define HTTP_READ_VERBS   "GET, HEAD, OPTIONS"
#define HTTP_READ_HEADERS "Authorization, If-Match, If-None-Match, If-Range, Range"

bool wn_http_read_only(wn_http *h, nng_aio *aio, nng_http_req *req, const char **cors)
{
	const char *verb = nng_http_req_get_method(req);
	if (!wn_http_origin_ok(h, req, cors))
		*cors = NULL; /* served as before, but not to be read by that page */
	if (strcmp(verb, "GET") == 0 || strcmp(verb, "HEAD") == 0)
		return false;
	if (strcmp(verb, "OPTIONS") == 0) {
		wn_http_preflight(h, aio, req, HTTP_READ_VERBS, HTTP_READ_HEADERS);
		return true;
	}
	nng_http_res *res =
	    wn_http_error_res(WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
	                      "only GET is served here; methods are POST /v1/...", NULL);
	if (res != NULL) {
		nng_http_res_set_status(res, 405);
		nng_http_res_set_reason(res, wn_http_reason(405));
		nng_http_res_set_header(res, "Allow", HTTP_READ_VERBS);
	}
	wn_http_finish(aio, res);
	return true;
}

/* http_etag_match tells whether If-None-Match value inm names etag (a
 * quoted tag): "*", or one of its list of tags, a weak one (W/"...") too, as
 * RFC 9110 compares them for it: a proxy that compresses a file (nginx)
 * makes its tag weak, and a browser may send several. With strong (as for
 * If-Match), a weak tag matches nothing. */
static bool http_etag_match(const char *inm, const char *etag, bool strong)
{
	size_t el = strlen(etag);
	const char *p = inm;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return false;
		if (*p == '*')
			return true;
		bool weak = strncmp(p, "W/", 2) == 0;
		if (weak)
			p += 2;
		if (*p != '"')
			return false; /* not a list of tags: nothing is known to match */
		const char *end = strchr(p + 1, '"');
		if (end == NULL)
			return false;
		if ((size_t)(end + 1 - p) == el && memcmp(p, etag, el) == 0 && !(weak && strong))
			return true;
		p = end + 1;
	}
}

int wn_http_ask(nng_http_req *req, const char *etag, uint64_t len, uint64_t *first, uint64_t *last)
{
	const char *im = nng_http_req_get_header(req, "If-Match");
	const char *inm = nng_http_req_get_header(req, "If-None-Match");
	const char *range = nng_http_req_get_header(req, "Range");
	*first = *last = 0;
	if (im != NULL && !http_etag_match(im, etag, true)) /* RFC 9110 13.1.1 */
		return HTTP_ASK_FAILED;
	if (inm != NULL && http_etag_match(inm, etag, false))
		return HTTP_ASK_SAME;
	/* RFC 9110 14.2: a Range is of a GET alone (a HEAD's is ignored) */
	if (range == NULL || strcmp(nng_http_req_get_method(req), "GET") != 0 ||
	    !wn_http_if_range(nng_http_req_get_header(req, "If-Range"), etag))
		return WN_RANGE_WHOLE;
	return wn_http_range(range, len, first, last);
}

nng_http_res *wn_http_ask_res(int k, const char *etag, uint64_t len, const char *cors)
{
	char msg[128], v[48];
	nng_http_res *res;
	uint16_t status = k == HTTP_ASK_FAILED ? 412 : k == HTTP_ASK_SAME ? 304 : 416;
	if (k == HTTP_ASK_SAME) {
		res = wn_http_res(304, NULL, NULL, 0, cors);
	} else {
		if (k == HTTP_ASK_FAILED)
			snprintf(msg, sizeof(msg), "the file is not the one If-Match names");
		else
			snprintf(msg, sizeof(msg),
			         "the Range asks for no byte of the %llu there are",
			         (unsigned long long)len);
		res = wn_http_error_res(k == HTTP_ASK_FAILED
		                            ? WHATSNEXT__V1__CODE__FAILED_PRECONDITION
		                            : WHATSNEXT__V1__CODE__OUT_OF_RANGE,
		                        msg, cors);
	}
	if (res == NULL)
		return NULL;
	nng_http_res_set_status(res, status);
	nng_http_res_set_reason(res, wn_http_reason(status));
	if (k == HTTP_ASK_SAME) { /* its 200's length (RFC 9110 8.6), which nng made 0 */
		snprintf(v, sizeof(v), "%llu", (unsigned long long)len);
		nng_http_res_set_header(res, "Content-Length", v);
	} else if (k == WN_RANGE_NONE) {
		snprintf(v, sizeof(v), "bytes */%llu", (unsigned long long)len);
		nng_http_res_set_header(res, "Content-Range", v);
	}
	nng_http_res_set_header(res, "Accept-Ranges", "bytes");
	nng_http_res_set_header(res, "ETag", etag);
	return res;
}

void wn_http_content_range(nng_http_res *res, uint64_t first, uint64_t last, uint64_t len)
{
	char cr[80];
	snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
	         (unsigned long long)last, (unsigned long long)len);
	nng_http_res_set_header(res, "Content-Range", cr);
}

void wn_http_file(wn_http *h, nng_aio *aio, nng_http_req *req, const char *path)
{
	const wn_webasset *a = wn_webasset_find(path);
	const char *cors;
	if (a == NULL) { /* whatever the verb */
		wn_http_finish(
		    aio, wn_http_error_res(WHATSNEXT__V1__CODE__NOT_FOUND, "no such page", NULL));
		return;
	}
	if (wn_http_read_only(h, aio, req, &cors))
		return;
	uint64_t first = 0, last = 0;
	int k = wn_http_ask(req, a->etag, a->len, &first, &last);
	nng_http_res *res;
	if (k == WN_RANGE_PART)
		res = wn_http_res(206, a->type, a->data + first, (size_t)(last - first + 1), cors);
	else if (k == WN_RANGE_WHOLE)
		res = wn_http_res(200, a->type, a->data, a->len, cors);
	else
		res = wn_http_ask_res(k, a->etag, a->len, cors);
	if (res != NULL) {
		if (k == WN_RANGE_PART)
			wn_http_content_range(res, first, last, a->len);
		nng_http_res_set_header(res, "Accept-Ranges", "bytes");
		nng_http_res_set_header(res, "Cache-Control", "no-cache");
		nng_http_res_set_header(res, "ETag", a->etag);
		nng_http_res_set_header(
		    res, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' data:; "
		    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
		nng_http_res_set_header(res, "X-Frame-Options", "DENY");
		nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
	}
	wn_http_finish(aio, res);
}
