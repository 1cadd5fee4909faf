/* rpc_direct: the client end of nng's request/reply protocol (SP, REQ
 * version 0) over plain non-blocking sockets, without nng: the framing of
 * docs/protocol.md, "Speaking the wire protocol without nng", from wire.h. It carries
 * opaque request and reply bodies; rpc.c packs the envelopes. A connection
 * carries one request at a time; a client keeps a small pool of them, so
 * that calls from several threads run side by side: a call takes an idle
 * connection or opens one, and gives it back when its reply came. */
#ifndef WN_RPC_DIRECT_H
#define WN_RPC_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest reply payload accepted, bytes; a longer one closes the connection. */
#define WN_RPC_DIRECT_MAX (64u * 1024u * 1024u)
/* Idle connections a client keeps open for later calls by default; more are
 * closed when their call ends (busy ones are not bounded: one per calling
 * thread). wn_rpc_direct_set_idle changes it. */
#define WN_RPC_DIRECT_IDLE 16

typedef struct wn_rpc_direct wn_rpc_direct;
/* One connection of the pool, held by one call at a time. */
typedef struct wn_rpc_direct_conn wn_rpc_direct_conn;

/* wn_rpc_direct_open parses url (tcp://HOST:PORT, tcp4://, tcp6://, or
 * ipc://PATH; wn_wire_url_parse) and connects within timeout_ms (negative:
 * no limit), keeping that connection for the first call (a server that
 * takes it but is slow to send its SP header is waited for by that call);
 * with background it only parses, and each exchange keeps trying to connect
 * until its own timeout (without, an exchange connects once). On failure *errmsg gets a malloc'd
 * one-line message: WN_EINVAL (bad address), WN_EUNAVAIL, WN_ETIMEDOUT, WN_EPROTO (the peer is
 * not a REP socket, or speaks TLS: the message says so) or WN_EIO (no socket could be opened
 * here: out of descriptors, say). */
int wn_rpc_direct_open(const char *url, bool background, int timeout_ms, wn_rpc_direct **out,
                       char **errmsg);

/* wn_rpc_direct_close closes the idle connections and frees d, which no call
 * may hold a connection of any more; NULL is a no-op. */
void wn_rpc_direct_close(wn_rpc_direct *d);

/* wn_rpc_direct_take returns a connection for one call: an idle one of the
 * pool (the most recently used that the server has not closed) or a new one,
 * connected by the first exchange. Whether the server closed an idle
 * connection is looked at (a system call) only when it was given back over
 * a second ago, or when probe is set; otherwise a closed one fails the
 * exchange's first send, which sends again on a new connection. Give it back
 * with wn_rpc_direct_give. */
wn_rpc_direct_conn *wn_rpc_direct_take(wn_rpc_direct *d, bool probe);

/* wn_rpc_direct_interrupt gives up the calls that hold a connection of d
 * now: each fails at once (a wait for the server, a connect, a pause
 * between connects) with WN_ETIMEDOUT and the message "gave up waiting for
 * URL: interrupted", and sends nothing again; calls that take a connection
 * later are not touched. Safe from any thread; costs the calls nothing
 * (the sockets of those calls are shut down). */
void wn_rpc_direct_interrupt(wn_rpc_direct *d);

/* wn_rpc_direct_set_idle sets how many idle connections d keeps (at least
 * 1): a client with n threads calling at once keeps n. */
void wn_rpc_direct_set_idle(wn_rpc_direct *d, size_t n);

/* wn_rpc_direct_give returns c to the pool: it is kept for later calls while
 * it is open and fewer than d's limit (WN_RPC_DIRECT_IDLE unless set) are
 * idle, else closed. */
void wn_rpc_direct_give(wn_rpc_direct *d, wn_rpc_direct_conn *c);

/* wn_rpc_direct_exchange sends body (len bytes) on c as one request under a
 * fresh SP request id and waits up to timeout_ms for the reply carrying that
 * id, skipping replies to other requests. A connection that breaks is
 * opened again once and the same request resent; one that gets no reply in
 * time is closed (its reply would hold up the next call). On success
 * *reply (malloc'd, the caller frees it) holds the reply body, *reply_len
 * bytes. On failure *errmsg gets a malloc'd one-line message: WN_ETIMEDOUT,
 * WN_EUNAVAIL (cannot connect, connection lost), WN_EPROTO (malformed frame,
 * peer not REP or speaking TLS), WN_ETOOBIG (reply over WN_RPC_DIRECT_MAX)
 * or WN_EIO (no socket could be opened here). */
int wn_rpc_direct_exchange(wn_rpc_direct *d, wn_rpc_direct_conn *c, const uint8_t *body, size_t len,
                           int timeout_ms, uint8_t **reply, size_t *reply_len, char **errmsg);

/* wn_rpc_direct_authed tells whether c carried a call the server answered
 * past its token check since c was last (re)connected. */
bool wn_rpc_direct_authed(const wn_rpc_direct_conn *c);

/* wn_rpc_direct_set_authed records that c carried such a call. */
void wn_rpc_direct_set_authed(wn_rpc_direct_conn *c);

#endif
