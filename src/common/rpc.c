#include "rpc.h"

#include "envelope.h"
#include "err.h"
#include "methods.h"
#include "rpc_direct.h"
#include "util.h"

#include <assert.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

#define RPC_TIMEOUT_MS 30000 /* default wait for a reply */

struct wn_rpc {
	nng_socket sock;
	wn_rpc_direct *direct; /* WN_RPC_DIRECT: used instead of sock */
	char *url;
	char *token;
	int timeout_ms;
};

/* rpc_open_nng opens r's nng REQ socket and dials url. */
static int rpc_open_nng(wn_rpc *r, const char *url, int flags, char **errmsg)
{
	int rv = nng_req0_open(&r->sock);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot open socket: %s", nng_strerror(rv));
		return WN_EUNAVAIL;
	}
	nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, WN_REPLY_MAX);
	/* Requests are resent when their connection drops; a slow answer (a
	 * long Fetch wait) is no reason to send again. */
	nng_socket_set_ms(r->sock, NNG_OPT_REQ_RESENDTIME, 10 * 60 * 1000);
	nng_socket_set_ms(r->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(r->sock, NNG_OPT_RECONNMAXT, 2000);
	rv = nng_dial(r->sock, url, NULL, (flags & WN_RPC_BACKGROUND) ? NNG_FLAG_NONBLOCK : 0);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot connect to %s: %s", url, nng_strerror(rv));
		nng_close(r->sock);
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? WN_EINVAL : WN_EUNAVAIL;
	}
	return WN_OK;
}

int wn_rpc_open(const char *url, const char *token, int flags, wn_rpc **out, char **errmsg)
{
	wn_rpc *r = wn_xcalloc(1, sizeof(*r));
	int rv = (flags & WN_RPC_DIRECT) ? wn_rpc_direct_open(url, flags & WN_RPC_BACKGROUND,
	                                                      RPC_TIMEOUT_MS, &r->direct, errmsg)
	                                 : rpc_open_nng(r, url, flags, errmsg);
	if (rv != WN_OK) {
		free(r);
		return rv;
	}
	r->url = wn_xstrdup(url);
	r->token = wn_xstrdup(token ? token : "");
	r->timeout_ms = RPC_TIMEOUT_MS;
	*out = r;
	return WN_OK;
}

void wn_rpc_close(wn_rpc *r)
{
	if (r == NULL)
		return;
	if (r->direct != NULL)
		wn_rpc_direct_close(r->direct);
	else
		nng_close(r->sock);
	free(r->url);
	free(r->token);
	free(r);
}

void wn_rpc_set_timeout(wn_rpc *r, int ms)
{
	r->timeout_ms = ms;
}

const char *wn_rpc_url(const wn_rpc *r)
{
	return r->url;
}

/* rpc_exchange sends req on a fresh context and returns the reply message. */
static int rpc_exchange(wn_rpc *r, const uint8_t *buf, size_t len, int timeout_ms, nng_msg **reply,
                        char **errmsg)
{
	nng_ctx ctx;
	nng_aio *aio = NULL;
	nng_msg *msg = NULL;
	int rv = nng_ctx_open(&ctx, r->sock);
	if (rv != 0)
		goto fail;
	rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0)
		goto fail_ctx;
	rv = nng_msg_alloc(&msg, 0);
	if (rv != 0)
		goto fail_aio;
	rv = nng_msg_append(msg, buf, len);
	if (rv != 0)
		goto fail_msg;
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0)
		goto fail_msg;
	msg = NULL; /* the socket owns it now */
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0)
		goto fail_aio;
	*reply = nng_aio_get_msg(aio);
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return WN_OK;

fail_msg:
	nng_msg_free(msg);
fail_aio:
	nng_aio_free(aio);
fail_ctx:
	nng_ctx_close(ctx);
fail:
	if (rv == NNG_ETIMEDOUT) {
		*errmsg = wn_xasprintf("no reply from %s within %d ms (is wnd running?)", r->url,
		                       timeout_ms);
		return WN_ETIMEDOUT;
	}
	*errmsg = wn_xasprintf("cannot talk to %s: %s", r->url, nng_strerror(rv));
	return WN_EUNAVAIL;
}

int wn_rpc_call(wn_rpc *r, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out, char **errmsg,
                uint64_t id, int extra_ms)
{
	*out = NULL;
	*errmsg = NULL;
	Whatsnext__V1__Request req = WHATSNEXT__V1__REQUEST__INIT;
	req.id = id ? id : wn_random_u64() | 1;
	req.method = (char *)method;
	req.token = r->token;
	size_t blen = 0;
	req.body.data = wn_message_pack(in, &blen);
	req.body.len = blen;
	size_t len = 0;
	uint8_t *buf = wn_message_pack(&req.base, &len);
	free(req.body.data);

	int timeout_ms = r->timeout_ms + (extra_ms > 0 ? extra_ms : 0);
	nng_msg *reply = NULL;
	uint8_t *data = NULL;
	size_t dlen = 0;
	int rv = r->direct != NULL
	             ? wn_rpc_direct_exchange(r->direct, buf, len, timeout_ms, &data, &dlen, errmsg)
	             : rpc_exchange(r, buf, len, timeout_ms, &reply, errmsg);
	free(buf);
	if (rv != WN_OK)
		return rv;

	Whatsnext__V1__Response *resp = whatsnext__v1__response__unpack(
	    NULL, reply ? nng_msg_len(reply) : dlen, reply ? nng_msg_body(reply) : data);
	if (reply != NULL)
		nng_msg_free(reply);
	free(data);
	if (resp == NULL) {
		*errmsg = wn_xasprintf("malformed reply from %s", r->url);
		return WN_EPROTO;
	}
	int code = (int)resp->code;
	if (code != WHATSNEXT__V1__CODE__OK) {
		*errmsg = wn_xstrdup(resp->message && resp->message[0] ? resp->message
		                                                       : wn_code_name(code));
	} else {
		*out = protobuf_c_message_unpack(out_desc, NULL, resp->body.len, resp->body.data);
		if (*out == NULL) {
			*errmsg = wn_xasprintf("malformed reply body from %s", r->url);
			code = WN_EPROTO;
		}
	}
	whatsnext__v1__response__free_unpacked(resp, NULL);
	return code;
}

int wn_rpc_invoke(wn_rpc *r, int method, const ProtobufCMessage *in, ProtobufCMessage **out,
                  char **errmsg, uint64_t id, int extra_ms)
{
	assert(method >= 0 && method < WN_METHOD_COUNT);
	const wn_method *m = &wn_methods[method];
	assert(in->descriptor == m->request);
	int rv = wn_rpc_call(r, m->path, in, m->reply, out, errmsg, id, extra_ms);
	if (rv == WN_ETOOBIG)
		return WN_EPROTO; /* a reply over the limit, not the server's RESOURCE_EXHAUSTED */
	return rv < 0 ? rv : wn_code_to_err(rv);
}
