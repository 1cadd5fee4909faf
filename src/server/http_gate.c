/* http_gate: the HTTP listener's replies (a status, JSON errors by gRPC code)
 * and the checks a method call passes before its body is read: the Host and
 * Origin (CORS), the verb, the media type, the token's header, the request
 * id (http_int.h). */
#include "http.h"
#include "http_int.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "pbcheck.h"
#include "util.h"

/* ------------------------------------------------------------ replies */

const char *wn_http_reason(uint16_t status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 499:
		return "Client Closed Request";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

/* http_status is the HTTP status of gRPC code code, as gRPC-HTTP gateways
 * map them. */
static uint16_t http_status(int code)
{
	static const uint16_t map[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
	                               400, 409, 400, 501, 500, 503, 500, 401};
	return code >= 0 && (size_t)code < sizeof(map) / sizeof(map[0]) ? map[code] : 500;
}

/* wn_http_res makes a reply of status with body (len bytes, of type; NULL for
 * none) and the CORS header for origin (NULL: none). */
nng_http_res *wn_http_res(uint16_t status, const char *type, const void *body, size_t len,
                          const char *origin)
{
	nng_http_res *res;
	if (nng_http_res_alloc(&res) != 0)
		return NULL;
	nng_http_res_set_status(res, status);
	nng_http_res_set_reason(res, wn_http_reason(status));
	if (type != NULL)
		nng_http_res_set_header(res, "Content-Type", type);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
	if (origin != NULL) {
		nng_http_res_set_header(res, "Access-Control-Allow-Origin", origin);
		nng_http_res_set_header(res, "Vary", "Origin");
	}
	if (body != NULL && nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		return NULL;
	}
	return res;
}

/* wn_http_error_res is the JSON error reply {"code", "message"} of gRPC code code. */
nng_http_res *wn_http_error_res(int code, const char *msg, const char *origin)
{
	char *valid = wn_xstrdup(msg != NULL ? msg : ""); /* JSON takes UTF-8 alone */
	wn_utf8_scrub(valid);
	json_t *j = json_pack("{s:i,s:s,s:[]}", "code", code, "message", valid, "details");
	free(valid);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	nng_http_res *res =
	    wn_http_res(http_status(code), "application/json", text != NULL ? text : "{}",
	                text != NULL ? strlen(text) : 2, origin);
	free(text);
	/* RFC 9110: a 401 names the scheme that would be taken */
	if (res != NULL && code == WHATSNEXT__V1__CODE__UNAUTHENTICATED)
		nng_http_res_set_header(res, "WWW-Authenticate", "Bearer");
	return res;
}

/* wn_http_finish completes aio with res (NULL: the connection is dropped). */
void wn_http_finish(nng_aio *aio, nng_http_res *res)
{
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, res != NULL ? 0 : NNG_ENOMEM);
}

/* wn_http_finish_close completes aio with res and closes the connection after
 * it: a body left unread must not be taken for the next request. */
void wn_http_finish_close(nng_aio *aio, nng_http_res *res)
{
	if (res != NULL)
		nng_http_res_set_header(res, "Connection", "close");
	wn_http_finish(aio, res);
}

/* ------------------------------------------------------------ requests */

/* wn_http_origin_ok decides a request's Origin (NULL: none, as from curl): its
 * own origin (the dashboard) or one of the settings' is allowed; *cors gets
 * the origin to name in Access-Control-Allow-Origin (NULL for none). */
bool wn_http_origin_ok(const wn_http *h, nng_http_req *req, const char **cors)
{
	const char *origin = nng_http_req_get_header(req, "Origin");
	*cors = NULL;
	if (origin == NULL)
		return true;
	const char *host = nng_http_req_get_header(req, "Host");
	const char *scheme = h->https ? "https://" : "http://";
	size_t sl = strlen(scheme);
	if (host != NULL && strncasecmp(origin, scheme, sl) == 0 &&
	    strcasecmp(origin + sl, host) == 0)
		return true;
	for (size_t i = 0; i < h->norigins; i++) {
		if (strcmp(h->origins[i], "*") == 0 || strcmp(h->origins[i], origin) == 0) {
			*cors = origin;
			return true;
		}
	}
	return false;
}

/* http_host_loopback reports whether host (of a Host header, its port cut
 * off) names this machine: localhost, 127.x.x.x or ::1. */
static bool http_host_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* http_host_of copies the host of authority a ("HOST", "HOST:PORT",
 * "[V6]:PORT") into out (n bytes); false when it does not fit. With strict
 * (a Host header), what follows the host must be nothing or ":PORT", digits
 * only: "localhost:80@evil.example" and "[::1]x.evil.example" are no
 * loopback names. */
static bool http_host_of(const char *a, char *out, size_t n, bool strict)
{
	size_t len;
	const char *rest;
	if (a[0] == '[') {
		a++;
		len = strcspn(a, "]");
		rest = a[len] == ']' ? a + len + 1 : a + len;
		if (strict && a[len] != ']')
			return false;
	} else {
		len = strcspn(a, ":/");
		rest = a + len;
	}
	if (len == 0 || len >= n)
		return false;
	if (strict && *rest != '\0') {
		size_t digits = *rest == ':' ? strspn(rest + 1, "0123456789") : 0;
		if (digits == 0 || digits > 5 || rest[1 + digits] != '\0')
			return false;
	}
	memcpy(out, a, len);
	out[len] = '\0';
	return true;
}

/* wn_http_host_ok decides a request's Host header on a loopback listener: a
 * browser tricked by DNS rebinding sends the attacker's name, so only this
 * machine's names are taken, and the hosts of http_cors_origins (a reverse
 * proxy's name). No Host (HTTP/1.0) is no browser's. */
bool wn_http_host_ok(const wn_http *h, nng_http_req *req)
{
	const char *hdr = nng_http_req_get_header(req, "Host");
	char host[256], other[256];
	if (!h->loopback || hdr == NULL)
		return true;
	if (!http_host_of(hdr, host, sizeof(host), true))
		return false;
	if (http_host_loopback(host))
		return true;
	for (size_t i = 0; i < h->norigins; i++) {
		const char *o = h->origins[i];
		const char *sep = strstr(o, "://");
		if (strcmp(o, "*") == 0)
			return true;
		if (sep != NULL && http_host_of(sep + 3, other, sizeof(other), false) &&
		    strcasecmp(other, host) == 0)
			return true;
	}
	return false;
}

/* wn_http_token finds the token of "Authorization: Bearer T" into *tok ("" for
 * none); false when the header is there but not a bearer token. */
bool wn_http_token(nng_http_req *req, const char **tok)
{
	const char *a = nng_http_req_get_header(req, "Authorization");
	*tok = "";
	if (a == NULL)
		return true;
	if (strncasecmp(a, "Bearer ", 7) != 0)
		return false;
	a += 7;
	while (*a == ' ')
		a++;
	*tok = a;
	return true;
}

/* wn_http_request_id reads the request id of the X-Request-Id header (a
 * decimal number from 1 to 2^64-1, so a client's retry is answered from the
 * first execution) into *id, or makes a random one; false when the header
 * is there but not such a number. */
bool wn_http_request_id(nng_http_req *req, uint64_t *id)
{
	const char *v = nng_http_req_get_header(req, "X-Request-Id");
	*id = wn_random_u64() | 1;
	if (v == NULL)
		return true;
	uint64_t n = 0;
	size_t i = 0;
	for (; v[i] >= '0' && v[i] <= '9' && i < 20; i++) {
		unsigned d = (unsigned)(v[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (i == 0 || v[i] != '\0' || n == 0)
		return false;
	*id = n;
	return true;
}

void wn_http_preflight(wn_http *h, nng_aio *aio, nng_http_req *req, const char *verbs,
                       const char *headers)
{
	const char *cors;
	if (nng_http_req_get_header(req, "Origin") == NULL) {
		/* no browser's: the verbs served (RFC 9110 9.3.7), as to a 405 */
		nng_http_res *res = wn_http_res(204, NULL, NULL, 0, NULL);
		if (res != NULL)
			nng_http_res_set_header(res, "Allow", verbs);
		wn_http_finish(aio, res);
		return;
	}
	if (!wn_http_origin_ok(h, req, &cors)) {
		wn_http_finish(aio,
		               wn_http_error_res(WHATSNEXT__V1__CODE__PERMISSION_DENIED,
		                                 "origin not allowed (http_cors_origins)", NULL));
		return;
	}
	nng_http_res *res = wn_http_res(204, NULL, NULL, 0, cors);
	if (res != NULL) {
		nng_http_res_set_header(res, "Allow", verbs);
		nng_http_res_set_header(res, "Access-Control-Allow-Methods", verbs);
		nng_http_res_set_header(res, "Access-Control-Allow-Headers", headers);
		nng_http_res_set_header(res, "Access-Control-Max-Age", "600");
	}
	wn_http_finish(aio, res);
}

/* http_param_value copies the value of the media type parameter at *p (a
 * token, or a quoted string unescaped) into buf (n bytes, cut to fit) and
 * moves *p past it; false when a quoted string does not end. */
static bool http_param_value(const char **p, char *buf, size_t n)
{
	const char *s = *p;
	size_t k = 0;
	bool quoted = *s == '"';
	if (quoted)
		s++;
	while (*s != '\0' && (quoted ? *s != '"' : *s != ';' && *s != ' ' && *s != '\t')) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		if (k + 1 < n)
			buf[k++] = *s;
		s++;
	}
	buf[k] = '\0';
	if (quoted && *s++ != '"')
		return false;
	*p = s;
	return true;
}

const char *wn_http_type_why(const char *type, char *buf, size_t n)
{
	static const char *const not_json = "the body must be Content-Type: application/json";
	if (type == NULL || strncasecmp(type, "application/json", 16) != 0)
		return not_json;
	for (const char *p = type + 16;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return NULL;
		if (*p++ != ';')
			return not_json;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *name = p;
		while (*p != '\0' && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t len = (size_t)(p - name);
		if (len == 0 && (*p == ';' || *p == '\0'))
			continue; /* an empty parameter: "application/json;" */
		char value[64];
		if (*p++ != '=' || !http_param_value(&p, value, sizeof(value)))
			return "the body's Content-Type has a parameter that is not NAME=VALUE";
		if (len == 7 && strncasecmp(name, "charset", 7) == 0 &&
		    strcasecmp(value, "utf-8") != 0) {
			snprintf(
			    buf, n,
			    "the body must be JSON in UTF-8: charset=%s is not read (send "
			    "Content-Type: application/json, or application/json; charset=utf-8)",
			    value);
			return buf;
		}
	}
}

/* wn_http_check_call answers a call that cannot go to the engine (a wrong
 * verb, origin, media type or token header): true when it did. */
bool wn_http_check_call(wn_http *h, nng_aio *aio, nng_http_req *req, const wn_method *m, size_t len,
                        const char **cors, const char **tok, uint64_t *id, bool *denied)
{
	bool audit = len > HTTP_DENIED_BODY_MAX;
	const char *verb = nng_http_req_get_method(req);
	const char *why = NULL;
	char refusal[512];
	int rv, code = WHATSNEXT__V1__CODE__INVALID_ARGUMENT;
	uint16_t status = 0;
	const char *type = nng_http_req_get_header(req, "Content-Type");
	bool bearer = wn_http_token(req, tok);
	if (!wn_http_origin_ok(h, req, cors)) {
		code = WHATSNEXT__V1__CODE__PERMISSION_DENIED;
		why = "origin not allowed (http_cors_origins)";
	} else if (m == NULL && (!bearer || wn_engine_identify_all(h->e, *tok) == WN_EAUTH)) {
		/* as over SP: without a valid token, nothing is answered, not
		 * even which methods there are */
		code = WHATSNEXT__V1__CODE__UNAUTHENTICATED;
		why = !bearer             ? "the Authorization header must be \"Bearer TOKEN\""
		      : (*tok)[0] == '\0' ? "this server requires a token"
		                          : "unknown or revoked token";
	} else if (m == NULL) {
		code = WHATSNEXT__V1__CODE__NOT_FOUND;
		why = "no such method: POST /v1/<Service>/<Method>, as in docs/protocol.md";
	} else if (strcmp(verb, "POST") != 0) {
		status = 405;
		why = "a method is called with POST";
	} else if (len > 0 && (why = wn_http_type_why(type, refusal, sizeof(refusal))) != NULL) {
		status = 415;
	} else if (!bearer) {
		code = WHATSNEXT__V1__CODE__UNAUTHENTICATED;
		why = "the Authorization header must be \"Bearer TOKEN\"";
	} else if (!wn_http_request_id(req, id)) {
		why = "X-Request-Id must be a decimal number from 1 to 18446744073709551615";
	} else if ((rv = wn_engine_may_call(h->e, *tok, m, audit, refusal, sizeof(refusal))) ==
	           WN_EPERM) {
		/* before a large body is read: a caller that may not call the
		 * method makes wnd read nothing of it */
		*denied = true;
		if (!audit)
			return false;
		code = WHATSNEXT__V1__CODE__PERMISSION_DENIED;
		why = refusal;
	} else if (rv != WN_OK) {
		code = WHATSNEXT__V1__CODE__UNAUTHENTICATED;
		why = (*tok)[0] == '\0' ? "this server requires a token" /* as dispatch says */
		                        : "unknown or revoked token";
	}
	if (why == NULL)
		return false;
	nng_http_res *res = wn_http_error_res(code, why, *cors);
	if (res != NULL && status != 0) {
		nng_http_res_set_status(res, status);
		nng_http_res_set_reason(res, wn_http_reason(status));
		if (status == 405)
			nng_http_res_set_header(res, "Allow", "POST, OPTIONS");
	}
	if (len > 0)
		wn_http_finish_close(aio, res);
	else
		wn_http_finish(aio, res);
	return true;
}
