/* tlsdiag: why a client could not reach a server, in a user's words, when
 * TLS is the cause. nng reports every TLS failure as "Cryptographic error"
 * or a closed connection; after such a failure the client asks again with
 * a short handshake of its own (mbedTLS) and names the cause: a plain
 * server reached over tls+tcp://, a TLS server reached over tcp://, a
 * certificate from another CA, for another name or out of date, a client
 * certificate missing or refused. */
#ifndef WN_TLSDIAG_H
#define WN_TLSDIAG_H

/* What a tls+tcp:// client verifies and presents (NULL: not given). */
typedef struct wn_tlsdiag_opts {
	const char *ca;          /* CA file (PEM) the server's certificate must chain to */
	const char *cert;        /* the client's certificate (PEM) */
	const char *key;         /* its key (PEM) */
	const char *server_name; /* name the server's certificate must hold */
} wn_tlsdiag_opts;

/* wn_tlsdiag_run connects to url (tcp:// or tls+tcp://) and returns a
 * malloc'd one-line reason when TLS explains a failure to talk to it
 * ("the server's certificate expired on 2026-01-02 10:00 UTC"), or NULL
 * when it cannot tell (the server is unreachable, or all looks right).
 * Waits at most about timeout_ms. */
char *wn_tlsdiag_run(const char *url, const wn_tlsdiag_opts *o, int timeout_ms);

#endif
