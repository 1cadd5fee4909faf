#include "rpc.h"

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "methods.h"
#include "rpc_direct.h"
#include "util.h"
#include "wire.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RPC_TIMEOUT_MS 30000 /* default wait for a reply */
#define RPC_DIAG_MS    3000  /* longest look for why TLS failed */
#define RPC_PEM_MAX    (1 << 20)
#define RPC_SYSTEM_CA  "/etc/ssl/certs/ca-certificates.crt"
/* wnd takes a request over its max_unauthenticated_request (at least this)
 * only on a connection that carried an authenticated one before: a larger
 * request goes after a small call (docs/protocol.md, section 1). */
#define RPC_UNAUTH_MAX (64u << 10)

/* A call on nng's socket, in flight: wn_rpc_interrupt cancels its aio. */
typedef struct rpc_call {
	struct rpc_call *next;
	nng_aio *aio;
	bool given_up; /* under the client's lock */
} rpc_call;

struct wn_rpc {
	nng_socket sock;
	pthread_mutex_t mu;    /* guards calls */
	rpc_call *calls;       /* nng's calls in flight */
	wn_rpc_direct *direct; /* WN_RPC_DIRECT: used instead of sock */
	char *url;
	char *token;
	atomic_int timeout_ms;
	bool tls;           /* tls+tcp:// */
	wn_rpc_tls topt;    /* its settings, strings owned */
	atomic_bool authed; /* a call was answered past the token check */
};

/* rpc_tls_settings fills r->topt from tls, the environment, and url's host. */
static void rpc_tls_settings(wn_rpc *r, const char *url, const wn_rpc_tls *tls)
{
	const wn_rpc_tls none = {0};
	if (tls == NULL)
		tls = &none;
	const char *given[4] = {tls->ca, tls->cert, tls->key, tls->server_name};
	static const char *const env[4] = {"WN_TLS_CA", "WN_TLS_CERT", "WN_TLS_KEY",
	                                   "WN_TLS_SERVER_NAME"};
	char *v[4];
	for (int i = 0; i < 4; i++) {
		const char *s = given[i] != NULL && given[i][0] != '\0' ? given[i] : getenv(env[i]);
		v[i] = s != NULL && s[0] != '\0' ? wn_xstrdup(s) : NULL;
	}
	wn_wire_url u;
	char *why = NULL;
	if (v[3] == NULL && wn_wire_url_parse(url, &u, &why) == WN_OK)
		v[3] = wn_xstrdup(u.host);
	free(why);
	if (v[0] == NULL && access(RPC_SYSTEM_CA, R_OK) == 0)
		v[0] = wn_xstrdup(RPC_SYSTEM_CA);
	r->topt = (wn_rpc_tls){.ca = v[0], .cert = v[1], .key = v[2], .server_name = v[3]};
}

static void rpc_tls_release(wn_rpc *r)
{
	free((char *)r->topt.ca);
	free((char *)r->topt.cert);
	free((char *)r->topt.key);
	free((char *)r->topt.server_name);
}

/* rpc_pem reads a PEM file whole. */
static char *rpc_pem(const char *path, const char *what, char **errmsg)
{
	FILE *f = fopen(path, "r");
	char *pem = NULL;
	size_t len = 0;
	if (f == NULL || wn_read_all(f, RPC_PEM_MAX, &pem, &len) != WN_OK)
		*errmsg = wn_xasprintf("cannot read the %s %s: %s", what, path,
		                       f == NULL ? strerror(errno) : "unreadable or too large");
	if (f != NULL)
		fclose(f);
	return pem;
}

/* rpc_tls_client sets cfg's client certificate and key. */
static int rpc_tls_client(const wn_rpc_tls *t, nng_tls_config *cfg, char **errmsg)
{
	if ((t->cert == NULL) != (t->key == NULL)) {
		*errmsg =
		    wn_xasprintf("a client certificate needs both its certificate and its key "
		                 "file (%s given without %s)",
		                 t->cert != NULL ? "a certificate" : "a key",
		                 t->cert != NULL ? "a key" : "a certificate");
		return WN_EINVAL;
	}
	if (t->cert == NULL)
		return WN_OK;
	if (wn_key_file_check(t->key, "client key", errmsg) != WN_OK)
		return WN_EINVAL;
	char *cert = rpc_pem(t->cert, "client certificate", errmsg);
	char *key = cert != NULL ? rpc_pem(t->key, "client key", errmsg) : NULL;
	int rv = cert != NULL && key != NULL ? nng_tls_config_own_cert(cfg, cert, key, NULL) : -1;
	free(cert);
	free(key);
	if (rv > 0)
		*errmsg = wn_xasprintf("cannot use the client certificate %s with the key %s: %s",
		                       t->cert, t->key, nng_strerror(rv));
	return rv == 0 ? WN_OK : WN_EINVAL;
}

/* rpc_tls_config makes the nng TLS configuration of r: the server verified
 * against the CA and by name, the client certificate if any. */
static int rpc_tls_config(const wn_rpc *r, nng_tls_config **out, char **errmsg)
{
	const wn_rpc_tls *t = &r->topt;
	if (t->ca == NULL) {
		*errmsg =
		    wn_xasprintf("cannot connect to %s: TLS needs the CA file that signed the "
		                 "server's certificate (--tls-ca or WN_TLS_CA)",
		                 r->url);
		return WN_EINVAL;
	}
	nng_tls_config *cfg = NULL;
	int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot set up TLS: %s", nng_strerror(rv));
		return WN_EINTERNAL;
	}
	nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if ((rv = nng_tls_config_ca_file(cfg, t->ca)) != 0) {
		*errmsg = wn_xasprintf("cannot read the CA file %s: %s", t->ca,
		                       access(t->ca, R_OK) != 0 ? strerror(errno)
		                                                : "not a PEM certificate");
		rv = WN_EINVAL;
	} else if (t->server_name != NULL &&
	           (rv = nng_tls_config_server_name(cfg, t->server_name)) != 0) {
		*errmsg =
		    wn_xasprintf("bad TLS server name %s: %s", t->server_name, nng_strerror(rv));
		rv = WN_EINVAL;
	} else {
		rv = rpc_tls_client(t, cfg, errmsg);
	}
	if (rv != WN_OK) {
		nng_tls_config_free(cfg);
		return rv;
	}
	*out = cfg;
	return WN_OK;
}

/* rpc_why returns what went wrong talking to r's server: TLS's reason when
 * it explains the failure nng reported as rv, else nng's words. */
static char *rpc_why(const wn_rpc *r, int rv)
{
	bool maybe = r->tls || rv == NNG_ECONNSHUT || rv == NNG_ECLOSED || rv == NNG_ECONNRESET ||
	             rv == NNG_ETIMEDOUT || rv == NNG_EPROTO;
	char *why = maybe ? wn_tlsdiag_run(r->url, &r->topt, RPC_DIAG_MS) : NULL;
	return why != NULL ? why : wn_xstrdup(nng_strerror(rv));
}

/* rpc_dial dials r's url on r's socket, through TLS for tls+tcp://. */
static int rpc_dial(wn_rpc *r, int flags, char **errmsg)
{
	int nflags = (flags & WN_RPC_BACKGROUND) ? NNG_FLAG_NONBLOCK : 0;
	if (!r->tls)
		return nng_dial(r->sock, r->url, NULL, nflags);
	nng_tls_config *cfg = NULL;
	int rv = rpc_tls_config(r, &cfg, errmsg);
	if (rv != WN_OK)
		return rv;
	nng_dialer d;
	rv = nng_dialer_create(&d, r->sock, r->url);
	if (rv == 0)
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
	if (rv == 0)
		rv = nng_dialer_start(d, nflags);
	nng_tls_config_free(cfg); /* the dialer holds its own reference */
	return rv;
}

/* rpc_open_nng opens r's nng REQ socket and dials url. */
static int rpc_open_nng(wn_rpc *r, const char *url, int flags, char **errmsg)
{
	int rv = nng_req0_open(&r->sock);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot open socket: %s", nng_strerror(rv));
		return WN_EIO; /* this machine's failure, not the server's */
	}
	nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, WN_REPLY_MAX);
	/* Requests are resent when their connection drops; a slow answer (a
	 * long Fetch wait) is no reason to send again. */
	nng_socket_set_ms(r->sock, NNG_OPT_REQ_RESENDTIME, 10 * 60 * 1000);
	nng_socket_set_ms(r->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(r->sock, NNG_OPT_RECONNMAXT, 2000);
	rv = rpc_dial(r, flags, errmsg);
	if (rv < 0) {
		nng_close(r->sock);
		return rv; /* the TLS settings are wrong: *errmsg says how */
	}
	if (rv != 0) {
		char *why = rpc_why(r, rv);
		*errmsg = wn_xasprintf("cannot connect to %s: %s", url, why);
		free(why);
		nng_close(r->sock);
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? WN_EINVAL
		       : rv == NNG_ENOFILES || rv == NNG_ENOMEM  ? WN_EIO
		                                                 : WN_EUNAVAIL;
	}
	return WN_OK;
}

int wn_rpc_open(const char *url, const char *token, int flags, wn_rpc **out, char **errmsg)
{
	return wn_rpc_open_tls(url, token, flags, NULL, out, errmsg);
}

int wn_rpc_open_tls(const char *url, const char *token, int flags, const wn_rpc_tls *tls,
                    wn_rpc **out, char **errmsg)
{
	return wn_rpc_open_within(url, token, flags, tls, RPC_TIMEOUT_MS, out, errmsg);
}

int wn_rpc_open_within(const char *url, const char *token, int flags, const wn_rpc_tls *tls,
                       int timeout_ms, wn_rpc **out, char **errmsg)
{
	if (timeout_ms <= 0)
		timeout_ms = RPC_TIMEOUT_MS;
	wn_rpc *r = wn_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->url = wn_xstrdup(url);
	r->tls = strncmp(url, "tls+", 4) == 0;
	if (r->tls) {
		flags &= ~WN_RPC_DIRECT; /* the direct client speaks no TLS */
		rpc_tls_settings(r, url, tls);
	}
	int rv = (flags & WN_RPC_DIRECT) ? wn_rpc_direct_open(url, flags & WN_RPC_BACKGROUND,
	                                                      timeout_ms, &r->direct, errmsg)
	                                 : rpc_open_nng(r, url, flags, errmsg);
	if (rv != WN_OK) {
		rpc_tls_release(r);
		pthread_mutex_destroy(&r->mu);
		free(r->url);
		free(r);
		return rv;
	}
	r->token = wn_xstrdup(token ? token : "");
	r->timeout_ms = timeout_ms;
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
	rpc_tls_release(r);
	pthread_mutex_destroy(&r->mu);
	free(r->url);
	free(r->token);
	free(r);
}

void wn_rpc_set_timeout(wn_rpc *r, int ms)
{
	r->timeout_ms = ms;
}

void wn_rpc_set_threads(wn_rpc *r, size_t n)
{
	if (r->direct != NULL)
		wn_rpc_direct_set_idle(r->direct, n > WN_RPC_DIRECT_IDLE ? n : WN_RPC_DIRECT_IDLE);
}

const char *wn_rpc_url(const wn_rpc *r)
{
	return r->url;
}

/* rpc_failed says why a call got no reply (nng's rv) and returns its WN_E*. */
static int rpc_failed(const wn_rpc *r, int rv, int timeout_ms, char **errmsg)
{
	char *why = rpc_why(r, rv);
	if (rv == NNG_ETIMEDOUT && strcmp(why, nng_strerror(rv)) == 0) {
		*errmsg = wn_xasprintf("no reply from %s within %d ms (is wnd running?)", r->url,
		                       timeout_ms);
		rv = WN_ETIMEDOUT;
	} else {
		*errmsg = wn_xasprintf("cannot talk to %s: %s", r->url, why);
		rv = WN_EUNAVAIL;
	}
	free(why);
	return rv;
}

/* rpc_start starts send or receive on ctx with call's aio, unless the call
 * was given up (wn_rpc_interrupt): then NNG_ECANCELED. */
static int rpc_start(wn_rpc *r, rpc_call *call, nng_ctx ctx, bool send)
{
	pthread_mutex_lock(&r->mu);
	bool given_up = call->given_up;
	if (!given_up && send)
		nng_ctx_send(ctx, call->aio);
	else if (!given_up)
		nng_ctx_recv(ctx, call->aio);
	pthread_mutex_unlock(&r->mu);
	if (given_up)
		return NNG_ECANCELED;
	nng_aio_wait(call->aio);
	return nng_aio_result(call->aio);
}

/* rpc_calls_add puts call in r's list of calls in flight, or takes it out. */
static void rpc_calls_add(wn_rpc *r, rpc_call *call, bool add)
{
	pthread_mutex_lock(&r->mu);
	rpc_call **p = &r->calls;
	while (*p != NULL && *p != call)
		p = &(*p)->next;
	if (add) {
		call->next = r->calls;
		r->calls = call;
	} else if (*p != NULL) {
		*p = call->next;
	}
	pthread_mutex_unlock(&r->mu);
}

/* rpc_exchange sends req on a fresh context and returns the reply message. */
static int rpc_exchange(wn_rpc *r, const uint8_t *buf, size_t len, int timeout_ms, nng_msg **reply,
                        char **errmsg)
{
	nng_ctx ctx;
	rpc_call call = {0};
	nng_msg *msg = NULL;
	int rv = nng_ctx_open(&ctx, r->sock);
	if (rv != 0)
		goto fail;
	rv = nng_aio_alloc(&call.aio, NULL, NULL);
	if (rv != 0)
		goto fail_ctx;
	rv = nng_msg_alloc(&msg, 0);
	if (rv != 0)
		goto fail_aio;
	rv = nng_msg_append(msg, buf, len);
	if (rv != 0)
		goto fail_msg;
	rpc_calls_add(r, &call, true);
	nng_aio_set_msg(call.aio, msg);
	nng_aio_set_timeout(call.aio, timeout_ms);
	rv = rpc_start(r, &call, ctx, true);
	if (rv != 0)
		goto fail_msg;
	msg = NULL; /* the socket owns it now */
	nng_aio_set_timeout(call.aio, timeout_ms);
	rv = rpc_start(r, &call, ctx, false);
	if (rv != 0)
		goto fail_aio;
	rpc_calls_add(r, &call, false);
	*reply = nng_aio_get_msg(call.aio);
	nng_aio_free(call.aio);
	nng_ctx_close(ctx);
	return WN_OK;

fail_msg:
	nng_msg_free(msg);
fail_aio:
	rpc_calls_add(r, &call, false);
	nng_aio_free(call.aio);
fail_ctx:
	nng_ctx_close(ctx);
fail:
	if (call.given_up) {
		*errmsg = wn_xasprintf("gave up waiting for %s: interrupted", r->url);
		return WN_ETIMEDOUT;
	}
	return rpc_failed(r, rv, timeout_ms, errmsg);
}

void wn_rpc_interrupt(wn_rpc *r)
{
	if (r->direct != NULL) {
		wn_rpc_direct_interrupt(r->direct);
		return;
	}
	pthread_mutex_lock(&r->mu);
	for (rpc_call *c = r->calls; c != NULL; c = c->next) {
		c->given_up = true;
		nng_aio_cancel(c->aio);
	}
	pthread_mutex_unlock(&r->mu);
}

/* rpc_roundtrip sends the Request envelope buf, on connection c of the
 * direct client (NULL: nng's socket), and reads its Response as wn_rpc_call
 * answers. */
static int rpc_roundtrip(wn_rpc *r, wn_rpc_direct_conn *c, const uint8_t *buf, size_t len,
                         int timeout_ms, const ProtobufCMessageDescriptor *out_desc,
                         ProtobufCMessage **out, char **errmsg)
{
	nng_msg *reply = NULL;
	uint8_t *data = NULL;
	size_t dlen = 0;
	int rv = c != NULL ? wn_rpc_direct_exchange(r->direct, c, buf, len, timeout_ms, &data,
	                                            &dlen, errmsg)
	                   : rpc_exchange(r, buf, len, timeout_ms, &reply, errmsg);
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
	if (code < 0) /* no code of the protocol: not to be taken for a local failure */
		code = WHATSNEXT__V1__CODE__UNKNOWN;
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
	if (code >= 0 && code != WHATSNEXT__V1__CODE__UNAUTHENTICATED) {
		if (c != NULL)
			wn_rpc_direct_set_authed(c);
		else
			atomic_store(&r->authed, true);
	}
	return code;
}

/* rpc_pack returns the Request envelope of a call of method with in. */
static uint8_t *rpc_pack(const wn_rpc *r, const char *method, const ProtobufCMessage *in,
                         uint64_t id, size_t *len)
{
	Whatsnext__V1__Request req = WHATSNEXT__V1__REQUEST__INIT;
	req.id = id ? id : wn_request_id();
	req.method = (char *)method;
	req.token = r->token;
	size_t blen = 0;
	req.body.data = wn_message_pack(in, &blen);
	req.body.len = blen;
	uint8_t *buf = wn_message_pack(&req.base, len);
	free(req.body.data);
	return buf;
}

/* rpc_hello authenticates the connection with a small call whose answer
 * does not matter but for the token (TaskService/Get of nothing: every role
 * may ask, and it costs the server nothing); its code as wn_rpc_call's. */
static int rpc_hello(wn_rpc *r, wn_rpc_direct_conn *c, char **errmsg)
{
	Whatsnext__V1__GetTaskRequest get = WHATSNEXT__V1__GET_TASK_REQUEST__INIT;
	size_t len = 0;
	uint8_t *buf = rpc_pack(r, WN_PATH_TASK_GET, &get.base, 0, &len);
	ProtobufCMessage *out = NULL;
	int rv = rpc_roundtrip(r, c, buf, len, r->timeout_ms, &whatsnext__v1__task__descriptor,
	                       &out, errmsg);
	free(buf);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

int wn_rpc_call(wn_rpc *r, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out, char **errmsg,
                uint64_t id, int extra_ms)
{
	*out = NULL;
	*errmsg = NULL;
	size_t len = 0;
	uint8_t *buf = rpc_pack(r, method, in, id, &len);
	if (len > WN_MSG_MAX) {
		/* the server would refuse it, or past 4 times the limit drop the
		 * connection, which would read as a server out of reach: not sent */
		*errmsg = wn_xasprintf("request of %zu bytes exceeds the limit of %u bytes", len,
		                       WN_MSG_MAX);
		free(buf);
		return WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED;
	}
	int timeout_ms = r->timeout_ms + (extra_ms > 0 ? extra_ms : 0);
	/* the direct client's connection for this call, the small call too:
	 * wnd counts a connection authenticated, not a client (so a large
	 * call looks whether its connection is still open: a new one is
	 * authenticated first) */
	bool big = len > RPC_UNAUTH_MAX;
	wn_rpc_direct_conn *c = r->direct != NULL ? wn_rpc_direct_take(r->direct, big) : NULL;
	bool authed = c != NULL ? wn_rpc_direct_authed(c) : atomic_load(&r->authed);
	char *why = NULL;
	int hello = big && !authed ? rpc_hello(r, c, &why) : WN_OK;
	int rv = hello;
	if (hello == WHATSNEXT__V1__CODE__UNAUTHENTICATED) {
		/* a bad token: the large request would only be refused */
		*errmsg = why;
		why = NULL;
		goto done;
	}
	rv = rpc_roundtrip(r, c, buf, len, timeout_ms, out_desc, out, errmsg);
	if (big && rv == WHATSNEXT__V1__CODE__UNAUTHENTICATED) {
		/* a new connection (dialed again): authenticate it, once */
		free(why);
		why = NULL;
		hello = rpc_hello(r, c, &why);
		if (hello != WHATSNEXT__V1__CODE__UNAUTHENTICATED && hello >= 0) {
			free(*errmsg);
			*errmsg = NULL;
			rv = rpc_roundtrip(r, c, buf, len, timeout_ms, out_desc, out, errmsg);
		}
	}
	if (rv == WHATSNEXT__V1__CODE__UNAUTHENTICATED &&
	    (hello == WHATSNEXT__V1__CODE__UNAUTHENTICATED || hello < 0) && why != NULL) {
		/* the small call says why better: a wrong token, say */
		free(*errmsg);
		*errmsg = why;
		why = NULL;
	}
done:
	if (c != NULL)
		wn_rpc_direct_give(r->direct, c);
	free(why);
	free(buf);
	return rv;
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
