/* http_guard: the listening socket of the HTTP listener, in front of nng's
 * HTTP server, which then serves a loopback port of its own, in plain HTTP:
 * on https the guard ends TLS itself (tls.h), its handshake driven by poll
 * like the rest and bounded by the head's time. Each
 * request is passed on whole once its head has been read and checked for
 * what nng 1.5.2's server gets wrong or does not bound: a path holding a
 * percent-escape (that server decodes it past the end of its copy of the
 * path, and a few thousand such requests crash the process), a target that
 * is not a path ("*": that server answers it itself without reading its
 * body, which it then reads as the next request), an HTTP/1.1
 * head without Host (that server answers it without reading its body, which
 * it then reads as the next request), a head out of HTTP's grammar or with
 * a Transfer-Encoding (that server closed the connection on it without a
 * word, or waited for a body held back), a head that
 * does not end within HTTP_GUARD_HEAD_MS or HTTP_GUARD_HEAD_NNG bytes or
 * holds over HTTP_GUARD_FIELDS header lines (that server merges the values
 * of a field given again, at a cost that grows as their square), more
 * than HTTP_GUARD_CONNS connections at once (at the limit a new connection
 * takes the place of the one idle longest between two requests), requests
 * pipelined on a connection (that server left them unanswered past 8 KiB of
 * them: each goes on only once the reply to the one before has come whole,
 * and a connection's bytes held meanwhile are bounded by HTTP_GUARD_HEAD_MAX).
 * Replies go back as they come; after the last one, a connection whose
 * client may still be sending is shut for writing and what comes dropped a
 * while before it closes (closed at once, it was reset, and the replies not
 * yet read lost). One thread, poll(2). */
#ifndef WN_HTTP_GUARD_H
#define WN_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tls.h"

#define HTTP_GUARD_HEAD_MS  10000  /* time a request's head may take to arrive */
#define HTTP_GUARD_IDLE_MS  300000 /* a connection with nothing under way closes */
#define HTTP_GUARD_HEAD_MAX 65536  /* bytes held from a client */
#define HTTP_GUARD_CONNS    256    /* connections served at once */
#define HTTP_GUARD_FIELDS   100    /* header lines of a request's head */
/* The longest head nng's server reads (its buffer): on a longer one it
 * closed the connection without a word, as a browser's Cookie header of
 * other sites on localhost can make one. */
#define HTTP_GUARD_HEAD_NNG 8192
#define HTTP_GUARD_DRAIN_MS 2000 /* at a stop, time the replies under way have to pass */

typedef struct wn_http_guard wn_http_guard;

/* What wn_http_guard_scan finds at the start of bytes from a client. */
enum {
	WN_GUARD_MORE,    /* the head has not ended yet */
	WN_GUARD_HEAD,    /* a head that goes on */
	WN_GUARD_ESCAPE,  /* a head whose path holds a percent-escape: refused */
	WN_GUARD_BIG,     /* no head within HTTP_GUARD_HEAD_NNG bytes: refused */
	WN_GUARD_HOST,    /* an HTTP/1.1 head without a Host field: refused */
	WN_GUARD_TARGET,  /* a head whose target is no path nor http(s) URI: refused */
	WN_GUARD_FIELDS,  /* a head of over HTTP_GUARD_FIELDS header lines: refused */
	WN_GUARD_LINE,    /* a request line not METHOD TARGET HTTP/d.d: refused */
	WN_GUARD_VERSION, /* a version other than HTTP/1.0 and HTTP/1.1: refused */
	WN_GUARD_FIELD,   /* a header line not NAME:VALUE, or folded: refused */
	WN_GUARD_CHUNKED, /* a Transfer-Encoding (a chunked body): refused */
	WN_GUARD_SCHEME,  /* an absolute URI of the other scheme (wn_http_guard_origin) */
};

/* A request's head as wn_http_guard_scan reads it. */
typedef struct wn_http_head {
	size_t len;    /* its length with its empty line (0: it has not ended) */
	uint64_t body; /* the length of the body that follows it */
	bool opaque;   /* that length is not known: nothing after it goes on */
	bool head;     /* a HEAD: its reply has no body */
	bool last;     /* nng's server closes the connection after its reply */
} wn_http_head;

/* wn_http_guard_scan reads the request head at p (len bytes), from *from
 * on: 0 at first, then left by a scan that found no end (WN_GUARD_MORE) at
 * the start of the line not ended, so that bytes that come one by one are
 * each read once, not the whole head again for each. A head ends at its
 * first empty line, lines ending at a LF with or without a CR before it, as
 * nng's server reads them. For a head that goes on, h->body is the length
 * of the body that follows it, or h->opaque set when that is not known
 * (a Content-Length that is not one decimal number, or given twice): nng's server answers such a
 * request and closes the connection, as it does after one not of HTTP/1.1 or with Connection: close
 * (h->last). */
int wn_http_guard_scan(const char *p, size_t len, size_t *from, wn_http_head *h);

/* wn_http_guard_origin rewrites the head at p (len bytes, one that
 * wn_http_guard_scan let go on) whose target is an absolute http(s) URI
 * (absolute-form, RFC 9112 3.2.2) to what nng's server serves: its path
 * (with its query; "/" when it has none) as the target, and its authority
 * as the value of its Host field (the first; the others are dropped, none
 * is added). The new head, never longer, is at p, its length in *newlen.
 * 1 when it was rewritten, 0 when its target is a path (unchanged), -1 when
 * the URI's authority is none to serve (empty, with userinfo or bytes no
 * host or port holds) or the head has a folded line, -2 when the URI's
 * scheme is not the listener's (https:// on plain http, http:// on TLS,
 * https true): refused. */
int wn_http_guard_origin(char *p, size_t len, bool https, size_t *newlen);

/* wn_http_guard_tidy readies the head at p (len bytes, one that
 * wn_http_guard_scan let go on) for nng's server, which closed the
 * connection without a reply on some of its lines: the tabs of its header
 * lines become spaces (blanks alike in HTTP: "Host:<tab>localhost"), and
 * its Cookie lines are dropped (wnd reads none, and a browser sends those
 * of every site on the host, UTF-8 among them). Returns its new length,
 * never more. */
size_t wn_http_guard_tidy(char *p, size_t len);

/* wn_http_guard_cors writes to out (n bytes) the CORS header lines of the
 * guard's refusal of the request at p (len bytes, its head whole or not),
 * as wnd's other replies have them (wn_http_origin_ok): for an Origin that
 * is not wnd's own (on https when https) and is one of origins[0,
 * norigins) (http_cors_origins; "*": any); else none (""). The Origin is
 * named only when it is printable ASCII and fits. */
void wn_http_guard_cors(const char *p, size_t len, bool https, char *const *origins,
                        size_t norigins, char *out, size_t n);

/* wn_http_guard_upstream_fd finds this process's socket listening on
 * 127.0.0.1:port (nng's server behind the guard), -1 when there is none
 * (http_guard_lock.c). */
int wn_http_guard_upstream_fd(uint16_t port);
/* wn_http_guard_admit lets the listening socket fd take connections only
 * from 127.0.0.1 at the source ports ports[0, n) (the guard's own; none:
 * no one), as a socket filter: the SYNs of others are dropped, and their
 * connect times out. 0, or -1 with errno. */
int wn_http_guard_admit(int fd, const uint16_t *ports, size_t n);

#define HTTP_GUARD_REPLY_HEAD 8192 /* bytes of a reply's head followed (more: to nng's close) */

/* A reply of nng's server as wn_http_guard_reply follows it. */
typedef struct wn_http_reply {
	bool head_req; /* it answers a HEAD: it has no body */
	size_t len;    /* its head so far: head[0, len) */
	size_t scan;   /* where the scan of that head resumes */
	bool in_body;  /* its head has ended: its body comes */
	uint64_t body; /* (in_body) bytes of its body still to come */
	bool close;    /* nng's server closes the connection after it */
	bool eof;      /* it has no known end: it lasts until that close */
	char head[HTTP_GUARD_REPLY_HEAD];
} wn_http_reply;

/* What wn_http_guard_reply finds. */
enum {
	WN_REPLY_MORE, /* the reply goes on after the bytes given */
	WN_REPLY_END,  /* the reply ended within them */
	WN_REPLY_EOF,  /* it lasts until nng's server closes the connection */
};

/* wn_http_guard_reply_init readies r to follow the reply to a request, a
 * HEAD when head_req. */
void wn_http_guard_reply_init(wn_http_reply *r, bool head_req);
/* wn_http_guard_reply follows p[0, n), bytes of the reply r as they come
 * from nng's server: *used gets how many of them are the reply's, all of
 * them but at WN_REPLY_END, when it ended within them (r->close then says
 * whether nng's server closes the connection after it). An interim reply
 * (100 Continue) has the reply itself after it; a reply's body is as long
 * as its Content-Length says, none for a HEAD, a 204 or a 304. One whose
 * body has no known length, or whose head is over HTTP_GUARD_REPLY_HEAD
 * bytes, lasts until that server closes the connection: WN_REPLY_EOF, as
 * at every call after. */
int wn_http_guard_reply(wn_http_reply *r, const char *p, size_t n, size_t *used);

/* wn_http_guard_start listens on host:port (port "0": one the system picks)
 * and passes the requests it accepts to 127.0.0.1:upstream; with tls (not
 * NULL: https, which must outlive the guard) it ends TLS first. Its own
 * refusals name the request's Origin in Access-Control-Allow-Origin as
 * wnd's other replies do: one of origins[0, norigins) (http_cors_origins,
 * copied; "*" for any), not wnd's own. *err (malloc'd) on failure. */
int wn_http_guard_start(const char *host, const char *port, uint16_t upstream, wn_tls *tls,
                        char *const *origins, size_t norigins, wn_http_guard **out, char **err);
/* wn_http_guard_addr copies the address listened on into sa (its size in *len). */
void wn_http_guard_addr(const wn_http_guard *g, struct sockaddr_storage *sa, socklen_t *len);
/* wn_http_guard_stop takes no more connections, lets the replies under way
 * pass until nng's server has closed its side (at most HTTP_GUARD_DRAIN_MS),
 * closes what is left and frees g; NULL is a no-op. */
void wn_http_guard_stop(wn_http_guard *g);

#endif
