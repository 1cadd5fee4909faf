/* rpc_direct: the client end of nng's request/reply protocol (SP, REQ
 * version 0) over one plain non-blocking socket, without nng: the framing of
 * docs/protocol.md, "Speaking the wire protocol without nng", from wire.h. It carries
 * opaque request and reply bodies; rpc.c packs the envelopes. One request is
 * in flight per connection: calls from several threads take turns. */
#ifndef WN_RPC_DIRECT_H
#define WN_RPC_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest reply payload accepted, bytes; a longer one closes the connection. */
#define WN_RPC_DIRECT_MAX (64u * 1024u * 1024u)

typedef struct wn_rpc_direct wn_rpc_direct;

/* wn_rpc_direct_open parses url (tcp://HOST:PORT, tcp4://, tcp6://, or
 * ipc://PATH; wn_wire_url_parse) and connects within timeout_ms (negative:
 * no limit), handshake included; with background it only parses, and each exchange keeps trying to
 * connect until its own timeout. On failure *errmsg gets a malloc'd one-line message: WN_EINVAL
 * (bad address), WN_EUNAVAIL, WN_ETIMEDOUT or WN_EPROTO (the peer is not a REP socket). */
int wn_rpc_direct_open(const char *url, bool background, int timeout_ms, wn_rpc_direct **out,
                       char **errmsg);

/* wn_rpc_direct_close closes the connection; NULL is a no-op. */
void wn_rpc_direct_close(wn_rpc_direct *d);

/* wn_rpc_direct_exchange sends body (len bytes) as one request under a fresh
 * SP request id and waits up to timeout_ms for the reply carrying that id,
 * skipping replies to earlier requests. A connection that breaks is opened
 * again once and the same request resent. On success *reply (malloc'd, the
 * caller frees it) holds the reply body, *reply_len bytes. On failure *errmsg
 * gets a malloc'd one-line message: WN_ETIMEDOUT, WN_EUNAVAIL (cannot
 * connect, connection lost), WN_EPROTO (malformed frame, peer not REP) or
 * WN_ETOOBIG (reply over WN_RPC_DIRECT_MAX). */
int wn_rpc_direct_exchange(wn_rpc_direct *d, const uint8_t *body, size_t len, int timeout_ms,
                           uint8_t **reply, size_t *reply_len, char **errmsg);

#endif
