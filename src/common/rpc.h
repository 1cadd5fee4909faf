/* rpc: the client side of the protocol; one call sends a Request and waits
 * for its Response. A wn_rpc may be used by several threads at once (with
 * WN_RPC_DIRECT each call in flight has a connection of its own, from a
 * small pool). */
#ifndef WN_RPC_H
#define WN_RPC_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tlsdiag.h"

typedef struct wn_rpc wn_rpc;

enum {
	/* Connect in the background and keep reconnecting: calls wait (up to
	 * their timeout) for the server instead of failing at once. */
	WN_RPC_BACKGROUND = 1,
	/* Speak nng's SP wire protocol over plain sockets (rpc_direct.h)
	 * instead of an nng REQ socket: no threads behind the call, a fraction
	 * of the client CPU per request; calls in flight at once each take a
	 * connection of a small pool (a long wait holds up no other call). A
	 * broken connection is opened again once per call, which resends. */
	WN_RPC_DIRECT = 2,
};

/* TLS settings of a tls+tcp:// client: the CA file that verifies the
 * server (default: the system's CA list), the server name its certificate
 * must hold (default: the URL's host), a client certificate and key for a
 * server that asks for one. */
typedef wn_tlsdiag_opts wn_rpc_tls;

/* wn_rpc_open connects to url (tcp://, tls+tcp:// or ipc://); token may be
 * NULL. A tls+tcp:// url takes its TLS settings from the environment
 * (WN_TLS_CA, WN_TLS_CERT, WN_TLS_KEY, WN_TLS_SERVER_NAME) and is always
 * spoken through nng (WN_RPC_DIRECT is ignored). On failure *errmsg gets a
 * malloc'd one-line message; one caused by TLS says what is wrong. WN_EIO is
 * this machine's failure (no socket could be opened), not the server's. */
int wn_rpc_open(const char *url, const char *token, int flags, wn_rpc **out, char **errmsg);

/* wn_rpc_open_tls is wn_rpc_open with the TLS settings in tls (a NULL
 * member: the environment's). */
int wn_rpc_open_tls(const char *url, const char *token, int flags, const wn_rpc_tls *tls,
                    wn_rpc **out, char **errmsg);

/* wn_rpc_open_within is wn_rpc_open_tls with the calls' timeout, ms, set at
 * once (0 or less: the default): opening waits no longer than it for the
 * server, and the first call, if it still waits for the server's greeting,
 * ends by that time counted from the opening. */
int wn_rpc_open_within(const char *url, const char *token, int flags, const wn_rpc_tls *tls,
                       int timeout_ms, wn_rpc **out, char **errmsg);

/* wn_rpc_close closes the connection; NULL is a no-op. */
void wn_rpc_close(wn_rpc *r);

/* wn_rpc_set_timeout sets how long a call waits for its reply, ms (default
 * 30000), for the calls made from then on; any thread may call it. */
void wn_rpc_set_timeout(wn_rpc *r, int ms);

/* wn_rpc_interrupt gives up the calls in flight now, from any thread: each
 * returns at once WN_ETIMEDOUT, its message "gave up waiting for URL:
 * interrupted", without sending again; later calls are not touched. */
void wn_rpc_interrupt(wn_rpc *r);

/* wn_rpc_set_threads tells the direct client (WN_RPC_DIRECT) that up to n
 * threads call at once, so that it keeps as many connections open between
 * calls (at least WN_RPC_DIRECT_IDLE); no effect on nng's socket. */
void wn_rpc_set_threads(wn_rpc *r, size_t n);

/* wn_rpc_invoke calls method (WN_MID_*, methods.h) with in, a message of
 * the method's request type, and waits. Returns WN_OK, then *out holds the
 * reply, of the method's reply type (free it with
 * protobuf_c_message_free_unpacked); or a negative WN_E*, then *errmsg gets
 * a malloc'd one-line message (the server's own when it answered). The codes
 * are one domain: the server's answer is its gRPC code as wn_code_to_err
 * reads it (NOT_FOUND is WN_ENOTFOUND, UNAVAILABLE WN_EUNAVAIL, ...); no
 * answer is WN_EUNAVAIL (cannot connect, connection lost), WN_ETIMEDOUT (no
 * reply in time), WN_EPROTO (a malformed or oversized reply) or WN_EIO (this
 * machine could not open a socket: out of descriptors, say), codes the
 * server never sends but WN_EUNAVAIL. id 0 picks a fresh request id; give
 * the same id again to retry a call whose reply was lost. extra_ms
 * lengthens the timeout (for a Fetch that waits on the server). */
int wn_rpc_invoke(wn_rpc *r, int method, const ProtobufCMessage *in, ProtobufCMessage **out,
                  char **errmsg, uint64_t id, int extra_ms);

/* wn_rpc_call is wn_rpc_invoke by path ("/whatsnext.v1.JobService/Get",
 * WN_PATH_JOB_GET) with the reply type out_desc, for callers that still
 * read the server's answer as its gRPC code: it returns that code (0 = OK),
 * or a negative WN_E* when no answer came (as wn_rpc_invoke, and WN_ETOOBIG
 * for a reply over the direct client's limit). */
int wn_rpc_call(wn_rpc *r, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out, char **errmsg,
                uint64_t id, int extra_ms);

/* wn_rpc_url returns the address the client was opened with. */
const char *wn_rpc_url(const wn_rpc *r);

#endif
