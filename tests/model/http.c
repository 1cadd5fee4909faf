/* http: calling wnd over HTTP with JSON (http.h), on nng's HTTP client. */
#include "http.h"

#include "envelope.h"
#include "err.h"
#include "pbjson.h"
#include "util.h"

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* http_transact POSTs body (len bytes) to url; *status and the reply's body
 * (*rbody, malloc'd, NUL-terminated, *rlen) on success. */
static int http_transact(const char *url, const char *token, uint64_t reqid, const char *body,
                         size_t len, int *status, char **rbody, size_t *rlen, char **errmsg)
{
	nng_url *u = NULL;
	nng_http_client *cli = NULL;
	nng_http_req *req = NULL;
	nng_http_res *res = NULL;
	nng_aio *aio = NULL;
	int rv;
	if ((rv = nng_url_parse(&u, url)) != 0 || (rv = nng_http_client_alloc(&cli, u)) != 0 ||
	    (rv = nng_http_req_alloc(&req, u)) != 0 || (rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)
		goto out;
	nng_http_req_set_method(req, "POST");
	nng_http_req_set_header(req, "Content-Type", "application/json");
	if (token != NULL) {
		char auth[256];
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		nng_http_req_set_header(req, "Authorization", auth);
	}
	if (reqid != 0) {
		char id[32];
		snprintf(id, sizeof(id), "%llu", (unsigned long long)reqid);
		nng_http_req_set_header(req, "X-Request-Id", id);
	}
	if ((rv = nng_http_req_copy_data(req, body, len)) != 0)
		goto out;
	nng_aio_set_timeout(aio, 90000);
	nng_http_client_transact(cli, req, res, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		goto out;
	*status = nng_http_res_get_status(res);
	void *data;
	size_t n;
	nng_http_res_get_data(res, &data, &n);
	*rbody = wn_xmalloc(n + 1);
	memcpy(*rbody, data, n);
	(*rbody)[n] = '\0';
	*rlen = n;
out:
	if (rv != 0)
		*errmsg = wn_xasprintf("POST %s: %s", url, nng_strerror(rv));
	nng_aio_free(aio);
	nng_http_res_free(res);
	nng_http_req_free(req);
	nng_http_client_free(cli);
	nng_url_free(u);
	return rv != 0 ? WN_EUNAVAIL : WN_OK;
}

/* http_error reads a failed call's body {"code": N, "message": "..."}; its
 * HTTP status must be the code's, as gRPC-HTTP gateways map them. */
static int http_error(int status, const char *body, char **errmsg)
{
	static const int statuses[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
	                               400, 409, 400, 501, 500, 503, 500, 401};
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	json_t *code = json_object_get(j, "code"), *msg = json_object_get(j, "message");
	int rv;
	if (!json_is_integer(code) || !json_is_string(msg) || json_integer_value(code) <= 0 ||
	    json_integer_value(code) > 16) {
		*errmsg =
		    wn_xasprintf("HTTP %d with a body that is no error: %.200s", status, body);
		rv = WN_EPROTO;
	} else if (statuses[json_integer_value(code)] != status) {
		*errmsg = wn_xasprintf("HTTP %d for code %d: %.200s", status,
		                       (int)json_integer_value(code), body);
		rv = WN_EPROTO;
	} else {
		*errmsg = wn_xstrdup(json_string_value(msg));
		rv = (int)json_integer_value(code);
	}
	json_decref(j);
	return rv;
}

/* http_faithful reports whether json reads back as the request pb: a map
 * holding a key twice, say, has no JSON (an object names a key once), and
 * such a request goes over SP, where wnd's answer to it is judged. */
static bool http_faithful(const wn_method *mt, const char *json, size_t jlen, const uint8_t *pb,
                          size_t plen)
{
	uint8_t *back = NULL;
	size_t blen = 0;
	char *err = NULL;
	bool same = wn_pbjson_to_pb(mt->request, json, jlen, &back, &blen, &err) == WN_OK &&
	            blen == plen && memcmp(back, pb, plen) == 0;
	free(back);
	free(err);
	return same;
}

int http_call(const char *base, const char *token, const wn_method *mt, const ProtobufCMessage *in,
              uint64_t reqid, ProtobufCMessage **out, char **errmsg, bool *sent)
{
	*out = NULL;
	*errmsg = NULL;
	*sent = false;
	size_t plen, jlen, rlen = 0;
	uint8_t *pb = wn_message_pack(in, &plen);
	char *json = NULL, *rbody = NULL;
	int rv = wn_pbjson_from_pb(mt->request, pb, plen, &json, &jlen, errmsg);
	if (rv == WN_OK && !http_faithful(mt, json, jlen, pb, plen))
		rv = WN_EINVAL;
	free(pb);
	if (rv != WN_OK) { /* what JSON cannot carry: for the SP path */
		free(*errmsg);
		*errmsg = NULL;
		free(json);
		return rv;
	}
	*sent = true;
	char *url = wn_xasprintf("%s/v1/%s/%s", base, mt->service, mt->name);
	int status = 0;
	rv = http_transact(url, token, reqid, json, jlen, &status, &rbody, &rlen, errmsg);
	free(url);
	free(json);
	if (rv != WN_OK)
		return rv;
	if (status != 200) {
		rv = http_error(status, rbody, errmsg);
	} else {
		rv = wn_pbjson_to_pb(mt->reply, rbody, rlen, &pb, &plen, errmsg);
		if (rv == WN_OK) {
			*out = protobuf_c_message_unpack(mt->reply, NULL, plen, pb);
			free(pb);
			if (*out == NULL) {
				*errmsg =
				    wn_xasprintf("the reply's JSON makes no %s", mt->reply->name);
				rv = WN_EPROTO;
			}
		}
	}
	free(rbody);
	return rv;
}
