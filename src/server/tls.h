/* tls: TLS for wnd's own event loops (mbedTLS). One wn_tls holds the
 * server's certificate, key and the CA that client certificates must chain
 * to; each tls+tcp connection gets a wn_tls_conn over its non-blocking
 * socket. The handshake advances as the socket becomes readable or
 * writable; afterwards wn_tls_recv and wn_tls_send stand in for recv and
 * send, and the SP handshake and framing run inside unchanged (nng's
 * tls+tcp is its tcp framing under TLS 1.2). */
#ifndef WN_TLS_H
#define WN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct wn_tls wn_tls;
typedef struct wn_tls_conn wn_tls_conn;

/* What the server's TLS is made of (PEM file names; client_ca may be NULL
 * or "": no client certificates are asked for). */
typedef struct wn_tls_settings {
	const char *cert;
	const char *key;
	const char *client_ca;
	bool require_client_cert; /* a client without a valid certificate is refused */
} wn_tls_settings;

/* wn_tls_new loads s into a TLS server configuration. On failure *errmsg
 * says which file is wrong and why (WN_EINVAL). */
int wn_tls_new(const wn_tls_settings *s, wn_tls **out, char **errmsg);

/* wn_tls_free frees t (after every connection made from it); NULL is a no-op. */
void wn_tls_free(wn_tls *t);

/* wn_tls_conn_new starts a server-side TLS session over socket fd (which
 * stays the caller's to close). */
wn_tls_conn *wn_tls_conn_new(wn_tls *t, int fd);

/* wn_tls_conn_free says goodbye to the peer if it can without waiting and
 * frees c; NULL is a no-op. */
void wn_tls_conn_free(wn_tls_conn *c);

/* wn_tls_handshake advances c's handshake: 1 when it is complete (at once
 * if it was), 0 when it waits for the socket (wn_tls_want says for what),
 * WN_EPROTO when it failed (*why, if not NULL, gets the reason, which lives
 * as long as c). */
int wn_tls_handshake(wn_tls_conn *c, const char **why);

/* wn_tls_want returns what the handshake waits for, EPOLLIN or EPOLLOUT,
 * or 0 once it is complete. */
uint32_t wn_tls_want(const wn_tls_conn *c);

/* wn_tls_recv reads up to len bytes of plaintext, as recv(2) would: the
 * count, 0 when the peer closed, -1 with errno EAGAIN when nothing is
 * ready, -1 with another errno when the session broke. */
ssize_t wn_tls_recv(wn_tls_conn *c, void *buf, size_t len);

/* wn_tls_send writes up to len bytes of plaintext, as send(2) would. After
 * -1 with errno EAGAIN it must be called again with the same bytes. */
ssize_t wn_tls_send(wn_tls_conn *c, const void *buf, size_t len);

/* wn_tls_pending returns how many bytes c holds that the socket will not
 * announce again: plaintext decrypted and not handed out, and bytes read
 * ahead and not decrypted yet (0: wait for the socket). */
size_t wn_tls_pending(const wn_tls_conn *c);

#endif
