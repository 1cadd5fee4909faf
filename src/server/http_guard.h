/* http_guard: the listening socket of the HTTP listener, in front of nng's
 * HTTP server, which then serves a loopback port of its own, in plain HTTP:
 * on https the guard ends TLS itself (tls.h), its handshake driven by poll
 * like the rest and bounded by the head's time. Each
 * request is passed on whole once its head has been read and checked for
 * what nng 1.5.2's server gets wrong or does not bound: a path holding a
 * percent-escape (that server decodes it past the end of its copy of the
 * path, and a few thousand such requests crash the process), an HTTP/1.1
 * head without Host (that server answers it without reading its body, which
 * it then reads as the next request), a head that
 * does not end within HTTP_GUARD_HEAD_MS or HTTP_GUARD_HEAD_MAX bytes, more
 * than HTTP_GUARD_CONNS connections at once (at the limit a new connection
 * takes the place of the one idle longest between two requests), requests
 * pipelined on a connection (that server left them unanswered past 8 KiB of
 * them: each goes on only once the reply to the one before has come whole,
 * and a connection's bytes held meanwhile are bounded by HTTP_GUARD_HEAD_MAX).
 * Replies go back as they come. One thread, poll(2). */
#ifndef WN_HTTP_GUARD_H
#define WN_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tls.h"

#define HTTP_GUARD_HEAD_MS  10000  /* time a request's head may take to arrive */
#define HTTP_GUARD_IDLE_MS  300000 /* a connection with nothing under way closes */
#define HTTP_GUARD_HEAD_MAX 65536  /* bytes of a request's head, and held from a client */
#define HTTP_GUARD_CONNS    256    /* connections served at once */
#define HTTP_GUARD_DRAIN_MS 2000   /* at a stop, time the replies under way have to pass */

typedef struct wn_http_guard wn_http_guard;

/* What wn_http_guard_scan finds at the start of bytes from a client. */
enum {
	WN_GUARD_MORE,   /* the head has not ended yet */
	WN_GUARD_HEAD,   /* a head, *head bytes, that goes on */
	WN_GUARD_ESCAPE, /* a head whose path holds a percent-escape: refused */
	WN_GUARD_BIG,    /* no head within HTTP_GUARD_HEAD_MAX bytes: refused */
	WN_GUARD_HOST,   /* an HTTP/1.1 head without a Host field: refused */
};

/* wn_http_guard_scan reads the request head at p (len bytes), from *from
 * on: 0 at first, then left by a scan that found no end (WN_GUARD_MORE) at
 * the start of the line not ended, so that bytes that come one by one are
 * each read once, not the whole head again for each. For a head
 * that goes on, *head is its length with its empty line and *body the
 * length of the body that follows it, or *opaque set when that is not
 * known (Transfer-Encoding, a Content-Length that is not one decimal
 * number, or given twice, a folded line): nng's server answers such a
 * request and closes the connection, so nothing after it goes on. */
int wn_http_guard_scan(const char *p, size_t len, size_t *from, size_t *head, uint64_t *body,
                       bool *opaque);

/* wn_http_guard_start listens on host:port (port "0": one the system picks)
 * and passes the requests it accepts to 127.0.0.1:upstream; with tls (not
 * NULL: https, which must outlive the guard) it ends TLS first. *err
 * (malloc'd) on failure. */
int wn_http_guard_start(const char *host, const char *port, uint16_t upstream, wn_tls *tls,
                        wn_http_guard **out, char **err);
/* wn_http_guard_addr copies the address listened on into sa (its size in *len). */
void wn_http_guard_addr(const wn_http_guard *g, struct sockaddr_storage *sa, socklen_t *len);
/* wn_http_guard_stop takes no more connections, lets the replies under way
 * pass until nng's server has closed its side (at most HTTP_GUARD_DRAIN_MS),
 * closes what is left and frees g; NULL is a no-op. */
void wn_http_guard_stop(wn_http_guard *g);

#endif
