/* http_guard: requests checked before nng's HTTP server reads them
 * (http_guard.h). */
#include "http_guard.h"

#include "log.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define GUARD_OUT 65536 /* bytes of a reply read from nng at a time */
/* TLS handshake steps made in one turn of the loop (a step may cost a few
 * milliseconds of CPU: a signature, a key exchange), the oldest connections'
 * first; the others wait for the next turn, after the rest of the work. */
#define GUARD_HS_TURN 4
/* after its last reply, a connection whose client still sends drops what
 * comes for at most this long before it closes (conn_linger) */
#define GUARD_LINGER_MS 2000

/* One client's connection and its own connection to nng's server. */
struct gconn {
	int cfd, ufd;
	uint16_t uport;   /* the source port of ufd (0: closed), let in by the lock */
	wn_tls_conn *tls; /* https: the client's TLS session (NULL: plain) */
	/* from the client: in[0, fwd) is checked and goes on, [fwd, len) not yet */
	char *in;
	size_t len, fwd;
	size_t scan;     /* in[fwd, fwd + scan) ends no head: its scan resumes there */
	uint64_t body;   /* bytes of the current request's body still to pass on */
	bool opaque;     /* a head with a body of no known length went on: nothing more */
	int64_t head_at; /* when the head being read began (0: none) */
	int64_t part_at; /* https: when bytes came that make no plaintext yet (0: none) */
	int64_t seen;    /* the last bytes either way */
	/* requests go on one at a time: the next one's head waits in `in` until
	 * the reply to the one before has come from nng whole (nng's server left
	 * pipelined requests unanswered past 8 KiB of them) */
	bool owed;           /* a request went on and its reply has not ended */
	bool last;           /* nng closes the connection after that reply: nothing goes on */
	wn_http_reply reply; /* that reply as it comes from nng */
	char *out;           /* from nng, to the client: out[ooff, olen) */
	size_t olen, ooff;
	int refuse; /* a reply of ours to send before closing (REFUSE_NONE: none) */
	bool ceof, ueof, ushut;
	bool bye;          /* it ended as it should: its last reply went */
	int64_t linger_at; /* since then what its client sends is dropped (0: not) */
	bool held;         /* TLS holds bytes to read that poll will not announce */
	bool turn;         /* its handshake may take a step in this turn of the loop */
	const struct wn_http_guard *g;
};

struct wn_http_guard {
	int lfd, wake;
	uint16_t upstream;
	int nfd;        /* nng's listening socket, locked to the guard's ports (-1: not found) */
	bool relock;    /* a connection to nng closed: its port is let in no more */
	wn_tls *tls;    /* https: TLS ended here (NULL: http) */
	char **origins; /* http_cors_origins, for the CORS header of its refusals */
	size_t norigins;
	pthread_t th;
	struct gconn *c[HTTP_GUARD_CONNS];
	size_t n, max;     /* connections served, and at most */
	int64_t accept_at; /* out of descriptors: no accept before then */
	int64_t drain_by;  /* stopping: the replies under way pass until then (0: not) */
};

/* The requests refused here, and their replies: JSON as wnd's own errors. */
enum {
	REFUSE_NONE,
	REFUSE_ESCAPE,
	REFUSE_BIG,
	REFUSE_HOST,
	REFUSE_TARGET,
	REFUSE_FIELDS,
	REFUSE_LINE,
	REFUSE_VERSION,
	REFUSE_FIELD,
	REFUSE_CHUNKED,
	REFUSE_HTTPS, /* WN_GUARD_SCHEME on plain http */
	REFUSE_HTTP,  /* WN_GUARD_SCHEME on https */
};
static const struct {
	const char *status, *msg;
} refusals[] = {
    [REFUSE_ESCAPE] = {"400 Bad Request", "a percent-escape in the path is not served (no path "
                                          "of this server needs one)"},
    [REFUSE_BIG] = {"431 Request Header Fields Too Large", "the request's head is over 8192 bytes"},
    [REFUSE_HOST] = {"400 Bad Request", "an HTTP/1.1 request must have a Host header"},
    [REFUSE_TARGET] = {"400 Bad Request", "the request's target must be a path (/...) or an "
                                          "http(s) URI of a host"},
    [REFUSE_FIELDS] = {"431 Request Header Fields Too Large",
                       "the request's head has over 100 header lines"},
    [REFUSE_LINE] = {"400 Bad Request", "the request line must be METHOD TARGET HTTP/1.1, one "
                                        "space apart"},
    [REFUSE_VERSION] = {"505 HTTP Version Not Supported", "only HTTP/1.1 and HTTP/1.0 are served"},
    [REFUSE_FIELD] = {"400 Bad Request", "a header line must be NAME: VALUE, the name right "
                                         "before its colon, not folded onto the line before, "
                                         "without control characters or bytes past ASCII"},
    [REFUSE_CHUNKED] = {"411 Length Required", "the body must be sent with Content-Length (not "
                                               "chunked)"},
    [REFUSE_HTTPS] = {"400 Bad Request", "an https:// URI is not served on this listener, which "
                                         "is plain http: use http://"},
    [REFUSE_HTTP] = {"400 Bad Request", "an http:// URI is not served on this listener, which is "
                                        "https (TLS): use https://"},
};
_Static_assert(HTTP_GUARD_FIELDS == 100 && HTTP_GUARD_HEAD_NNG == 8192,
               "the messages of REFUSE_FIELDS and REFUSE_BIG name them");

/* client_read and client_write move bytes of c's client as read and write
 * do, through TLS on https. */
static ssize_t client_read(struct gconn *c, void *buf, size_t len)
{
	return c->tls != NULL ? wn_tls_recv(c->tls, buf, len) : read(c->cfd, buf, len);
}

static ssize_t client_write(struct gconn *c, const void *buf, size_t len)
{
	return c->tls != NULL ? wn_tls_send(c->tls, buf, len)
	                      : send(c->cfd, buf, len, MSG_NOSIGNAL);
}

/* refuse_send answers c's request refused why (a HEAD without the body). */
static void refuse_send(struct gconn *c, int why)
{
	char body[256], cors[256], reply[768];
	int bn = snprintf(body, sizeof(body), "{\"code\":3,\"message\":\"%s\",\"details\":[]}",
	                  refusals[why].msg);
	wn_http_guard_cors(c->in + c->fwd, c->len - c->fwd, c->g->tls != NULL, c->g->origins,
	                   c->g->norigins, cors, sizeof(cors));
	int n = snprintf(reply, sizeof(reply),
	                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sConnection: close\r\n"
	                 "Content-Length: %d\r\n\r\n%s",
	                 refusals[why].status, cors, bn, c->reply.head_req ? "" : body);
	if (client_write(c, reply, (size_t)n) < 0)
		return; /* the client is gone or not reading: nothing more to tell it */
}

/* guard_lock lets nng's server take connections from the guard's own
 * connections to it only, and from one about to be made from port (0:
 * none): another user of the machine could connect to its loopback port
 * past every check of the guard (http_guard_lock.c). */
static void guard_lock(wn_http_guard *g, uint16_t port)
{
	uint16_t ports[HTTP_GUARD_CONNS + 1];
	size_t n = 0;
	if (g->nfd < 0)
		return;
	for (size_t i = 0; i < g->n; i++)
		if (g->c[i]->uport != 0)
			ports[n++] = g->c[i]->uport;
	if (port != 0)
		ports[n++] = port;
	g->relock = false;
	if (wn_http_guard_admit(g->nfd, ports, n) != 0)
		wn_warn("http: cannot limit the server behind the guard to it: %s",
		        strerror(errno));
}

static void conn_close(struct gconn *c)
{
	wn_tls_conn_free(c->tls);
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c->in);
	free(c->out);
	free(c);
}

/* refuse_of is the refusal of what wn_http_guard_scan found, k. */
static int refuse_of(int k)
{
	switch (k) {
	case WN_GUARD_BIG:
		return REFUSE_BIG;
	case WN_GUARD_HOST:
		return REFUSE_HOST;
	case WN_GUARD_TARGET:
		return REFUSE_TARGET;
	case WN_GUARD_FIELDS:
		return REFUSE_FIELDS;
	case WN_GUARD_LINE:
		return REFUSE_LINE;
	case WN_GUARD_VERSION:
		return REFUSE_VERSION;
	case WN_GUARD_FIELD:
		return REFUSE_FIELD;
	case WN_GUARD_CHUNKED:
		return REFUSE_CHUNKED;
	default:
		return REFUSE_ESCAPE;
	}
}

/* conn_blank drops an empty line before a request, as RFC 9112 (2.2) has
 * servers do (a client may send one after a body): true when it did. nng's
 * server answered it 400 and closed the connection. */
static bool conn_blank(struct gconn *c)
{
	size_t n = c->len - c->fwd, k = 0;
	if (n >= 1 && c->in[c->fwd] == '\n')
		k = 1;
	else if (n >= 2 && c->in[c->fwd] == '\r' && c->in[c->fwd + 1] == '\n')
		k = 2;
	if (k == 0)
		return false;
	memmove(c->in + c->fwd, c->in + c->fwd + k, n - k);
	c->len -= k;
	return true;
}

/* conn_parse clears for nng what came from the client, request by request,
 * each once the reply to the one before has come (c->owed); a request it
 * refuses leaves c->refuse set. */
static void conn_parse(struct gconn *c, int64_t now)
{
	while (c->refuse == REFUSE_NONE) {
		if (c->opaque) {
			c->len = c->fwd; /* nng closes the connection after its answer */
			return;
		}
		if (c->body > 0) {
			size_t k = c->len - c->fwd < c->body ? c->len - c->fwd : (size_t)c->body;
			c->fwd += k;
			c->body -= k;
			if (c->body > 0)
				return;
			continue;
		}
		if (c->owed || c->last)
			return; /* the next request waits for the reply (for ever after the last) */
		if (c->fwd == c->len) {
			c->head_at = 0;
			return;
		}
		if (c->head_at == 0)
			c->head_at = now;
		if (c->scan == 0 && conn_blank(c)) {
			if (c->fwd == c->len)
				return; /* the head's time runs: blank lines hold no one */
			continue;
		}
		wn_http_head h;
		int k = wn_http_guard_scan(c->in + c->fwd, c->len - c->fwd, &c->scan, &h);
		if (k == WN_GUARD_MORE)
			return;
		wn_http_guard_reply_init(&c->reply, h.head); /* ours, if refused */
		size_t hl = h.len;
		if (k == WN_GUARD_HEAD) {
			hl = wn_http_guard_tidy(c->in + c->fwd, h.len);
			int r = wn_http_guard_origin(c->in + c->fwd, hl, c->g->tls != NULL, &hl);
			k = r == -1 ? WN_GUARD_TARGET : r == -2 ? WN_GUARD_SCHEME : k;
		}
		if (hl < h.len) { /* tidied, or an absolute URI made a path: shorter */
			memmove(c->in + c->fwd + hl, c->in + c->fwd + h.len,
			        c->len - c->fwd - h.len);
			c->len -= h.len - hl;
			h.len = hl;
		}
		if (k != WN_GUARD_HEAD) {
			c->refuse = k != WN_GUARD_SCHEME ? refuse_of(k)
			            : c->g->tls != NULL  ? REFUSE_HTTP
			                                 : REFUSE_HTTPS;
			return;
		}
		c->owed = true;
		c->body = h.body;
		c->opaque = h.opaque;
		c->last = h.last;
		c->fwd += h.len;
		c->scan = 0;
		c->head_at = 0;
	}
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* conn_spare tells whether c is between requests: its last reply gone
 * whole to the client, no byte of the next request come (nothing read, none
 * held in TLS), its TLS handshake done; so closing it loses nothing. */
static bool conn_spare(const struct gconn *c)
{
	if (c->head_at != 0 || c->part_at != 0 || c->owed || c->len > 0 || c->body > 0 ||
	    c->olen > 0 || c->refuse != REFUSE_NONE || c->ueof || c->linger_at != 0)
		return false;
	return c->tls == NULL || (wn_tls_want(c->tls) == 0 && wn_tls_pending(c->tls) == 0);
}

/* guard_reclaim closes, to make room for a connection waiting to be
 * accepted, the one idle longest among those between requests whose client
 * has sent nothing since (nginx closes its "reusable" kept-alive connections
 * likewise); false when there is none. */
static bool guard_reclaim(wn_http_guard *g)
{
	size_t best = g->n;
	for (size_t i = 0; i < g->n; i++) {
		struct gconn *c = g->c[i];
		int unread = 0;
		if (!conn_spare(c) || (best < g->n && c->seen >= g->c[best]->seen))
			continue;
		if (ioctl(c->cfd, FIONREAD, &unread) == 0 && unread == 0)
			best = i;
	}
	if (best == g->n)
		return false;
	wn_debug("http: %zu connections open, the one idle longest closed for a new one", g->n);
	conn_close(g->c[best]);
	g->c[best] = g->c[--g->n];
	return true;
}

/* guard_dial opens a connection to nng's server from a port of its own,
 * which nng's listening socket lets in before it connects (guard_lock):
 * its descriptor and port in *port, or -1 with errno. */
static int guard_dial(wn_http_guard *g, uint16_t *port)
{
	struct sockaddr_in up = {.sin_family = AF_INET,
	                         .sin_port = htons(g->upstream),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ml = sizeof(me);
	int ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ufd < 0)
		return -1;
	if (bind(ufd, (struct sockaddr *)&me, sizeof(me)) == 0 &&
	    getsockname(ufd, (struct sockaddr *)&me, &ml) == 0) {
		*port = ntohs(me.sin_port);
		guard_lock(g, *port);
		if (connect(ufd, (struct sockaddr *)&up, sizeof(up)) == 0)
			return ufd;
	}
	int e = errno;
	close(ufd);
	g->relock = true; /* its port, let in, is free again */
	errno = e;
	return -1;
}

/* guard_accept takes a connection and opens its own to nng's server; at
 * the limit it first closes one between requests (guard_reclaim). */
static void guard_accept(wn_http_guard *g, int64_t now)
{
	if (g->n >= g->max && !guard_reclaim(g))
		return;
	int cfd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			g->accept_at = now + 100; /* the connection waits in the backlog */
		return;
	}
	uint16_t port = 0;
	int ufd = guard_dial(g, &port);
	if (ufd < 0) {
		wn_warn("http: cannot pass a connection on: %s", strerror(errno));
		close(cfd);
		return;
	}
	fcntl(ufd, F_SETFL, fcntl(ufd, F_GETFL) | O_NONBLOCK);
	nodelay(cfd);
	nodelay(ufd);
	struct gconn *c = wn_xcalloc(1, sizeof(*c));
	c->cfd = cfd;
	c->ufd = ufd;
	c->uport = port;
	c->g = g;
	if (g->tls != NULL)
		c->tls = wn_tls_conn_new(g->tls, cfd);
	c->in = wn_xmalloc(HTTP_GUARD_HEAD_MAX);
	c->out = wn_xmalloc(GUARD_OUT);
	c->seen = now;
	c->head_at = now; /* a connection that sends nothing has its head's time too */
	g->c[g->n++] = c;
}

static bool gone(ssize_t n)
{
	return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* conn_secure advances c's TLS handshake (re: what poll saw): true while
 * it goes on or once it is complete, false when it failed. It runs as the
 * socket allows, never waiting: the head's time covers it. */
static bool conn_secure(struct gconn *c, short re)
{
	if (c->tls == NULL || wn_tls_want(c->tls) == 0)
		return true;
	if (re == 0)
		return true;
	const char *why = NULL;
	if (wn_tls_handshake(c->tls, &why) < 0) {
		wn_debug("http: %s; closed", why);
		return false;
	}
	return true;
}

/* conn_client handles the client's side of c (poll's revents re); false
 * when c is done with. */
static bool conn_client(struct gconn *c, short re, int64_t now)
{
	bool secure = c->tls == NULL || wn_tls_want(c->tls) == 0; /* before this turn */
	if (!conn_secure(c, re))
		return false;
	if (c->tls != NULL && wn_tls_want(c->tls) != 0)
		return true; /* the handshake waits for the socket */
	if ((re & POLLIN) && !c->ceof && c->refuse == REFUSE_NONE) {
		ssize_t n = client_read(c, c->in + c->len, HTTP_GUARD_HEAD_MAX - c->len);
		if (gone(n))
			return false;
		if (n == 0)
			c->ceof = true;
		if (n < 0 && c->tls != NULL && secure && c->part_at == 0)
			c->part_at = now; /* part of a record: a request has begun */
		if (n > 0) {
			c->len += (size_t)n;
			c->seen = now;
			c->part_at = 0;
			conn_parse(c, now);
		}
	}
	while ((re & POLLOUT) && c->olen > c->ooff) {
		ssize_t n = client_write(c, c->out + c->ooff, c->olen - c->ooff);
		if (gone(n))
			return false;
		if (n <= 0)
			break;
		c->ooff += (size_t)n;
		c->seen = now;
	}
	if (c->ooff == c->olen)
		c->olen = c->ooff = 0;
	if (c->refuse != REFUSE_NONE && c->olen == 0) {
		/* the requests before it were answered: it is found only then */
		refuse_send(c, c->refuse);
		c->bye = true;
		return false;
	}
	if (c->last && !c->owed && c->olen == 0) {
		c->bye = true; /* the last reply went whole: nng closes its side too */
		return false;
	}
	if ((re & (POLLERR | POLLHUP)) && !(re & POLLIN))
		return false;
	return true;
}

/* conn_reply follows the bytes from nng in c->out[0, n): the reply owed
 * may end in them, and the next request go on. Bytes past its end, or while
 * none is owed, answer nothing asked: they are passed on, but nothing more
 * goes on the connection (nng's server answered a HEAD with a body). */
static void conn_reply(struct gconn *c, size_t n)
{
	size_t used = 0;
	int k = c->owed ? wn_http_guard_reply(&c->reply, c->out, n, &used) : WN_REPLY_END;
	if (k == WN_REPLY_EOF)
		c->last = true; /* it ends when nng closes the connection */
	if (k != WN_REPLY_END)
		return;
	c->owed = false;
	c->last = c->last || c->reply.close || used < n;
}

/* conn_upstream handles nng's side of c; false when c is done with. */
static bool conn_upstream(struct gconn *c, short re, int64_t now)
{
	size_t fwd = c->fwd;
	if ((re & (POLLIN | POLLHUP | POLLERR)) && c->olen == 0 && !c->ueof) {
		ssize_t n = read(c->ufd, c->out, GUARD_OUT);
		if (n == 0 || gone(n))
			c->ueof = true; /* what it sent is still passed on */
		if (n > 0) {
			c->olen = (size_t)n;
			c->seen = now;
			conn_reply(c, (size_t)n);
			if (!c->owed)
				conn_parse(c, now); /* the next request may go */
		}
	}
	if (((re & POLLOUT) || c->fwd > fwd) && c->fwd > 0 && !c->ueof) {
		ssize_t n = send(c->ufd, c->in, c->fwd, MSG_NOSIGNAL);
		if (gone(n)) {
			/* nng closed its side, a body unread (a call refused
			 * before it): nothing more goes, but what it sent is
			 * still read and passed on, its answer among it */
			c->opaque = c->last = true;
			c->len = c->fwd = 0;
			c->body = 0;
		}
		if (n > 0) {
			memmove(c->in, c->in + n, c->len - (size_t)n);
			c->len -= (size_t)n;
			c->fwd -= (size_t)n;
		}
	}
	/* the client closed its side and nothing more goes on: requests held
	 * wait for a reply, or a head that did not end never will */
	if (c->ceof && c->fwd == 0 && (c->len == 0 || !c->owed) && !c->ushut) {
		shutdown(c->ufd, SHUT_WR);
		c->ushut = true;
	}
	/* nng closed it: once its last bytes are out, the client's goes too */
	c->bye = c->ueof && c->olen == 0;
	return !c->bye;
}

/* conn_linger starts to close c after its last reply, when its client
 * may still be sending (a body, requests after that reply, bytes unread):
 * closed with bytes unread, the socket would reset the connection, and the
 * client lose what it had not yet taken of the replies (a 413 to a body it
 * was sending: Python's http.client saw only the reset). c's side is shut
 * for writing, after TLS's close_notify, its connection to nng closed, and
 * what the client sends is dropped until it shuts its side too, or
 * GUARD_LINGER_MS pass. False when it is closed at once. */
static bool conn_linger(struct gconn *c, int64_t now)
{
	int unread = 0;
	if (!c->bye || c->linger_at != 0 || c->ceof)
		return false;
	if (c->body == 0 && c->len == 0 && !c->opaque &&
	    (ioctl(c->cfd, FIONREAD, &unread) != 0 || unread == 0))
		return false;
	wn_tls_conn_free(c->tls);
	c->tls = NULL;
	shutdown(c->cfd, SHUT_WR);
	close(c->ufd);
	c->ufd = -1;
	c->uport = 0;
	c->linger_at = now;
	return true;
}

/* conn_lingering drops what c's client sends (conn_linger); false once it
 * has shut its side, failed, or had GUARD_LINGER_MS. */
static bool conn_lingering(struct gconn *c, short re, int64_t now)
{
	if (re & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = read(c->cfd, c->in, HTTP_GUARD_HEAD_MAX);
		if (n == 0 || gone(n))
			return false;
	}
	return now - c->linger_at < GUARD_LINGER_MS;
}

/* conn_due tells whether c ran out of time: a head not ended in time, or
 * nothing moving either way for long. */
static bool conn_due(const struct gconn *c, int64_t now)
{
	if (c->head_at != 0 && now - c->head_at > HTTP_GUARD_HEAD_MS)
		return true;
	if (c->part_at != 0 && now - c->part_at > HTTP_GUARD_HEAD_MS)
		return true;
	/* a reply the client does not read counts as nothing under way */
	return c->body == 0 && c->fwd == 0 && now - c->seen > HTTP_GUARD_IDLE_MS;
}

/* guard_events sets the poll entries of c at p[0] (client) and p[1] (nng);
 * true when c's TLS holds bytes to read that poll will not announce. */
static bool guard_events(const struct gconn *c, struct pollfd *p)
{
	p[0].fd = c->cfd;
	p[0].events = 0;
	if (c->linger_at != 0) { /* only what the client still sends, dropped */
		p[0].events = POLLIN;
		p[1].fd = -1;
		p[1].events = 0;
		return false;
	}
	uint32_t hs = c->tls != NULL ? wn_tls_want(c->tls) : 0;
	if (hs != 0) { /* the TLS handshake first */
		p[0].events = (hs & EPOLLOUT) ? POLLOUT : POLLIN;
		p[1].fd = -1;
		p[1].events = 0;
		return false;
	}
	if (!c->ceof && c->refuse == REFUSE_NONE && c->len < HTTP_GUARD_HEAD_MAX)
		p[0].events |= POLLIN;
	if (c->olen > c->ooff || c->refuse != REFUSE_NONE)
		p[0].events |= POLLOUT;
	p[1].events = c->ueof ? 0 : (c->fwd > 0 ? POLLOUT : 0) | (c->olen == 0 ? POLLIN : 0);
	/* nothing to do with nng's side until the client has read: its hang-up
	 * would be reported at once, again and again */
	p[1].fd = p[1].events != 0 ? c->ufd : -1;
	return (p[0].events & POLLIN) && c->tls != NULL && wn_tls_pending(c->tls) > 0;
}

/* guard_turns picks the connections whose TLS handshake takes a step in
 * this turn (poll's entries p): at most GUARD_HS_TURN that poll found ready,
 * those opened first. A burst of handshakes took turns of a second and more,
 * while the connections already open waited. */
static void guard_turns(wn_http_guard *g, const struct pollfd *p)
{
	for (size_t i = 0; i < g->n; i++) {
		struct gconn *c = g->c[i];
		c->turn = c->tls == NULL || wn_tls_want(c->tls) == 0;
	}
	for (int k = 0; k < GUARD_HS_TURN; k++) {
		struct gconn *first = NULL;
		for (size_t i = 0; i < g->n; i++) {
			struct gconn *c = g->c[i];
			if (!c->turn && p[2 + 2 * i].revents != 0 &&
			    (first == NULL || c->head_at < first->head_at))
				first = c;
		}
		if (first == NULL)
			return;
		first->turn = true;
	}
}

/* guard_spare tells whether a connection of g is between requests (conn_spare). */
static bool guard_spare(const wn_http_guard *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (conn_spare(g->c[i]))
			return true;
	return false;
}

static void *guard_main(void *arg)
{
	wn_http_guard *g = arg;
	struct pollfd *p = wn_xcalloc(2 + 2 * HTTP_GUARD_CONNS, sizeof(*p));
	for (;;) {
		int64_t now = wn_mono_ms();
		if (g->drain_by != 0 && (g->n == 0 || now >= g->drain_by))
			break;
		p[0] = (struct pollfd){.fd = g->drain_by ? -1 : g->wake, .events = POLLIN};
		bool take = now >= g->accept_at && g->drain_by == 0 &&
		            (g->n < g->max || guard_spare(g)); /* at the limit: guard_reclaim */
		p[1] = (struct pollfd){.fd = take ? g->lfd : -1, .events = POLLIN};
		bool held = false; /* TLS holds bytes for a connection: no waiting */
		for (size_t i = 0; i < g->n; i++) {
			g->c[i]->held = guard_events(g->c[i], &p[2 + 2 * i]);
			held = held || g->c[i]->held;
		}
		int r = poll(p, 2 + 2 * g->n, held ? 0 : g->drain_by ? 50 : 1000);
		if (r < 0 && errno != EINTR)
			break;
		now = wn_mono_ms();
		if (r > 0 && (p[0].revents & POLLIN)) /* stopping: no more connections */
			g->drain_by = now + HTTP_GUARD_DRAIN_MS;
		size_t n = g->n; /* the connections polled */
		if (r > 0)
			guard_turns(g, p);
		for (size_t i = n; i-- > 0;) {
			struct gconn *c = g->c[i];
			/* a handshake without its turn is polled again: ready at once */
			short cre = (short)((r > 0 && c->turn ? p[2 + 2 * i].revents : 0) |
			                    (c->held ? POLLIN : 0));
			short ure = r > 0 ? p[3 + 2 * i].revents : 0;
			bool on = c->linger_at != 0
			              ? conn_lingering(c, cre, now)
			              : conn_upstream(c, ure, now) && conn_client(c, cre, now) &&
			                    !conn_due(c, now);
			if (!on) /* its connection to nng closes, in conn_linger too */
				g->relock = true;
			if (!on && !conn_linger(c, now)) {
				conn_close(c);
				g->c[i] = g->c[--g->n];
			}
		}
		if (r > 0 && (p[1].revents & POLLIN))
			guard_accept(g, now);
		if (g->relock)
			guard_lock(g, 0);
	}
	free(p);
	return NULL;
}

/* guard_max returns how many connections the guard serves at once: each
 * takes three descriptors (the client's, its own to nng, nng's), and they may
 * take a quarter of those wnd may open; past them nng's server, out of
 * descriptors, spun on its accept and answered nothing. */
static size_t guard_max(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return HTTP_GUARD_CONNS;
	uint64_t n = (uint64_t)rl.rlim_cur / 12;
	return n < 1 ? 1 : n > HTTP_GUARD_CONNS ? HTTP_GUARD_CONNS : (size_t)n;
}

/* guard_listen opens the listening socket of host:port. */
static int guard_listen(const char *host, const char *port, char **err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rv = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rv != 0) {
		*err = wn_xasprintf("%s", gai_strerror(rv));
		return -1;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		                bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0)) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		*err = wn_xasprintf("%s", strerror(e ? e : EADDRNOTAVAIL));
	return fd;
}

static void guard_free(wn_http_guard *g)
{
	for (size_t i = 0; i < g->norigins; i++)
		free(g->origins[i]);
	free(g->origins);
	free(g);
}

int wn_http_guard_start(const char *host, const char *port, uint16_t upstream, wn_tls *tls,
                        char *const *origins, size_t norigins, wn_http_guard **out, char **err)
{
	*out = NULL;
	int lfd = guard_listen(host, port, err);
	if (lfd < 0)
		return -1;
	wn_http_guard *g = wn_xcalloc(1, sizeof(*g));
	g->lfd = lfd;
	g->upstream = upstream;
	g->tls = tls;
	g->origins = wn_xcalloc(norigins + 1, sizeof(char *));
	for (size_t i = 0; i < norigins; i++)
		g->origins[i] = wn_xstrdup(origins[i]);
	g->norigins = norigins;
	g->max = guard_max();
	g->nfd = wn_http_guard_upstream_fd(upstream);
	if (g->nfd < 0)
		wn_warn("http: cannot find the server behind the guard to limit it to the guard");
	guard_lock(g, 0); /* no one until the guard connects */
	g->wake = eventfd(0, EFD_CLOEXEC);
	if (g->wake < 0 || pthread_create(&g->th, NULL, guard_main, g) != 0) {
		*err = wn_xasprintf("cannot start its thread");
		if (g->wake >= 0)
			close(g->wake);
		close(lfd);
		guard_free(g);
		return -1;
	}
	*out = g;
	return 0;
}

void wn_http_guard_addr(const wn_http_guard *g, struct sockaddr_storage *sa, socklen_t *len)
{
	*len = sizeof(*sa);
	if (getsockname(g->lfd, (struct sockaddr *)sa, len) != 0)
		*len = 0;
}

void wn_http_guard_stop(wn_http_guard *g)
{
	if (g == NULL)
		return;
	uint64_t one = 1;
	if (write(g->wake, &one, sizeof(one)) < 0)
		wn_warn("http: cannot stop its listener: %s", strerror(errno));
	pthread_join(g->th, NULL);
	for (size_t i = 0; i < g->n; i++)
		conn_close(g->c[i]);
	close(g->lfd);
	close(g->wake);
	guard_free(g);
}
