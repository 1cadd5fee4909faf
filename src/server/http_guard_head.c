/* http_guard_head: the heads of requests and of replies as nng's HTTP
 * server reads and writes them (http_guard.h). */
#include "http_guard.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* head_find returns the length of the head at p (len bytes) with its empty
 * line, 0 while it has not ended; the scan begins at *from, and 0 leaves
 * there where the next one resumes: the start of the line not ended, or,
 * once it holds two bytes, the second last byte read (a line can be empty,
 * and end the head, only at its first two bytes), so that the bytes of a
 * long line that come one by one are each read once. Lines end as nng's
 * server reads them: at a LF, with or without a CR before it, so "\n\n"
 * ends a head too. */
static size_t head_find(const char *p, size_t len, size_t *from)
{
	size_t line = *from; /* where the line being read began */
	for (size_t i = line; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i == line || (i == line + 1 && p[line] == '\r'))
			return i + 1;
		line = i + 1;
	}
	*from = len >= line + 2 ? len - 2 : line;
	return 0;
}

/* head_target finds the target of the request line of head (from *t to
 * the end of the line at *end: the target runs to its first space); false
 * when the line has no space (nng refuses a request line it cannot read). */
static bool head_target(const char *head, size_t len, const char **t, const char **end)
{
	const char *e = head;
	while (e < head + len && *e != '\r' && *e != '\n')
		e++;
	const char *sp = memchr(head, ' ', (size_t)(e - head));
	*t = sp != NULL ? sp + 1 : NULL;
	*end = e;
	return sp != NULL;
}

/* head_escaped tells whether the target of the request line of head holds
 * a '%' before its query: nng's server decodes all of it up to a '?', a '#'
 * and what follows it included. */
static bool head_escaped(const char *head, size_t len)
{
	const char *t, *end;
	if (!head_target(head, len, &t, &end))
		return false;
	for (const char *p = t; p < end && *p != ' ' && *p != '?'; p++)
		if (*p == '%')
			return true;
	return false;
}

/* head_pathless tells whether the target of the request line of head is
 * neither a path ("/...") nor an absolute http or https URI: nng's server
 * answers such a one ("*", "x") 404 itself, with a body to a HEAD too, and
 * keeps the connection without reading the request's body, which it then
 * reads as the next request, unchecked. */
static bool head_pathless(const char *head, size_t len)
{
	const char *t, *end;
	if (!head_target(head, len, &t, &end))
		return false;
	size_t n = (size_t)(end - t);
	if (n > 0 && t[0] == '/')
		return false;
	return !(n >= 7 && strncasecmp(t, "http://", 7) == 0) &&
	       !(n >= 8 && strncasecmp(t, "https://", 8) == 0);
}

/* head_fields counts the header lines of head (len bytes, a whole head):
 * its lines but the request line and the empty one. */
static size_t head_fields(const char *head, size_t len)
{
	size_t n = 0;
	for (const char *p = head, *end = head + len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		n++;
	return n >= 2 ? n - 2 : 0; /* a head of an empty line alone has none */
}

/* head_body reads the length of the body that follows head: false when it
 * has no known length (wn_http_guard_scan). */
static bool head_body(const char *head, size_t len, uint64_t *body)
{
	*body = 0;
	bool seen = false;
	const char *p = memchr(head, '\n', len) + 1, *end = head + len;
	while (p < end) { /* each line ends with a LF, the empty one last */
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(eol - p);
		if (*p == ' ' || *p == '\t')
			return false;
		if (n >= 18 && strncasecmp(p, "transfer-encoding:", 18) == 0)
			return false;
		if (n >= 15 && strncasecmp(p, "content-length:", 15) == 0) {
			const char *v = p + 15, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			uint64_t x = 0;
			if (seen || v == ve || ve - v > 15)
				return false;
			for (const char *d = v; d < ve; d++) {
				if (*d < '0' || *d > '9')
					return false;
				x = x * 10 + (uint64_t)(*d - '0');
			}
			*body = x;
			seen = true;
		}
		p = eol + 1;
	}
	return true;
}

/* head_field finds the first line of head (len bytes, a whole head) naming
 * the field name (lowercase, with its colon): its value in *v, *n bytes
 * without the blanks around it; false when there is none. */
static bool head_field(const char *head, size_t len, const char *name, const char **v, size_t *n)
{
	size_t k = strlen(name);
	const char *p = memchr(head, '\n', len) + 1, *end = head + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(eol - p) >= k && strncasecmp(p, name, k) == 0) {
			const char *a = p + k, *b = eol;
			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == '\r' || b[-1] == ' ' || b[-1] == '\t'))
				b--;
			*v = a;
			*n = (size_t)(b - a);
			return true;
		}
		p = eol + 1;
	}
	return false;
}

/* guard_field finds the first header line naming the field name
 * (lowercase, with its colon) among the lines ended at p (len bytes, the
 * start of a head, whole or not): its value in *v, *n bytes without the
 * blanks around it; false when there is none. */
static bool guard_field(const char *p, size_t len, const char *name, const char **v, size_t *n)
{
	const char *last = memrchr(p, '\n', len); /* the lines ended, the request line first */
	return last != NULL && head_field(p, (size_t)(last + 1 - p), name, v, n);
}

/* head_closes tells whether the Connection field of head holds "close", as
 * nng's server reads it: in any case, anywhere in the value. */
static bool head_closes(const char *head, size_t len)
{
	const char *v;
	size_t n;
	if (!head_field(head, len, "connection:", &v, &n))
		return false;
	for (size_t i = 0; i + 5 <= n; i++)
		if (strncasecmp(v + i, "close", 5) == 0)
			return true;
	return false;
}

/* head_http11 tells whether the request line of head ends with " HTTP/1.1":
 * nng's server keeps such a connection open, and wants a Host field. */
static bool head_http11(const char *head, size_t len)
{
	size_t n = (size_t)((const char *)memchr(head, '\n', len) - head);
	if (n > 0 && head[n - 1] == '\r')
		n--;
	return n >= 9 && memcmp(head + n - 9, " HTTP/1.1", 9) == 0;
}

/* head_hostless tells whether head is of HTTP/1.1 without a Host field: nng's
 * server answers it 400 and keeps the connection, its body unread (it would
 * read it as the next request, unchecked). */
static bool head_hostless(const char *head, size_t len)
{
	const char *v;
	size_t n;
	return head_http11(head, len) && !head_field(head, len, "host:", &v, &n);
}

/* tchar tells whether ch may be in a method or a field's name (RFC 9110). */
static bool tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* head_request_line checks the request line of head (RFC 9112 3): METHOD
 * TARGET HTTP/1.x, one space apart, the target of visible ASCII bytes.
 * nng's server closed the connection without a word on a line of two
 * words, and answered another version itself in HTML. */
static int head_request_line(const char *head, size_t len)
{
	size_t n = (size_t)((const char *)memchr(head, '\n', len) - head), i = 0;
	if (n > 0 && head[n - 1] == '\r')
		n--;
	while (i < n && tchar((unsigned char)head[i]))
		i++;
	if (i == 0 || i == n || head[i++] != ' ')
		return WN_GUARD_LINE;
	size_t t = i;
	while (i < n && head[i] > ' ' && head[i] < 0x7f)
		i++;
	if (i == t || i + 9 != n || head[i] != ' ' || memcmp(head + i + 1, "HTTP/", 5) != 0 ||
	    !(head[i + 6] >= '0' && head[i + 6] <= '9') || head[i + 7] != '.' ||
	    !(head[i + 8] >= '0' && head[i + 8] <= '9'))
		return WN_GUARD_LINE;
	if (head[i + 6] != '1' || (head[i + 8] != '0' && head[i + 8] != '1'))
		return WN_GUARD_VERSION;
	return WN_GUARD_HEAD;
}

/* head_field_lines checks the header lines of head (len bytes, a whole
 * head; RFC 9112 5): NAME:VALUE, the name of tchars right before its colon,
 * the value of ASCII without control bytes but tabs, no line folded onto
 * the one before (obs-fold). nng's server closed the connection without a
 * word on such lines (a byte past ASCII: UTF-8), and waited for a body the
 * guard did not pass on after a folded one. A Transfer-Encoding (a chunked body) is refused too:
 * wnd reads bodies of a Content-Length only, and nng's server closed the connection without a word
 * on some values of it. */
static int head_field_lines(const char *head, size_t len)
{
	const char *p = memchr(head, '\n', len) + 1, *end = head + len;
	bool te = false;
	while (p < end) { /* each line ends with a LF, the empty one last */
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q = p;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;
		if (eol[-1] == '\r')
			eol--;
		while (q < eol && tchar((unsigned char)*q))
			q++;
		if (q == p || q == eol || *q != ':')
			return WN_GUARD_FIELD;
		te = te || ((size_t)(q - p) == 17 && strncasecmp(p, "transfer-encoding", 17) == 0);
		/* a Cookie, which does not go on (wn_http_guard_tidy), may hold UTF-8 */
		bool cookie = (size_t)(q - p) == 6 && strncasecmp(p, "cookie", 6) == 0;
		for (q++; q < eol; q++)
			if ((unsigned char)*q < 0x20
			        ? *q != '\t'
			        : *q == 0x7f || ((unsigned char)*q > 0x7f && !cookie))
				return WN_GUARD_FIELD;
		p = (const char *)memchr(eol, '\n', (size_t)(end - eol)) + 1;
	}
	return te ? WN_GUARD_CHUNKED : WN_GUARD_HEAD;
}

int wn_http_guard_scan(const char *p, size_t len, size_t *from, wn_http_head *h)
{
	*h = (wn_http_head){.len = head_find(p, len, from)};
	if (h->len == 0)
		return len > HTTP_GUARD_HEAD_NNG ? WN_GUARD_BIG : WN_GUARD_MORE;
	if (h->len > HTTP_GUARD_HEAD_NNG)
		return WN_GUARD_BIG;
	h->head = h->len >= 5 && memcmp(p, "HEAD ", 5) == 0;
	if (head_escaped(p, h->len))
		return WN_GUARD_ESCAPE;
	if (head_hostless(p, h->len))
		return WN_GUARD_HOST;
	if (head_pathless(p, h->len))
		return WN_GUARD_TARGET;
	if (head_fields(p, h->len) > HTTP_GUARD_FIELDS)
		return WN_GUARD_FIELDS;
	int k = head_request_line(p, h->len);
	if (k == WN_GUARD_HEAD)
		k = head_field_lines(p, h->len);
	if (k != WN_GUARD_HEAD)
		return k;
	h->opaque = !head_body(p, h->len, &h->body);
	h->last = h->opaque || !head_http11(p, h->len) || head_closes(p, h->len);
	return WN_GUARD_HEAD;
}

void wn_http_guard_reply_init(wn_http_reply *r, bool head_req)
{
	r->len = r->scan = 0;
	r->body = 0;
	r->head_req = head_req;
	r->in_body = r->close = r->eof = false;
}

/* reply_head reads the head of r, r->head[0, len): WN_REPLY_MORE for an
 * interim one (the reply's own head follows) or one with a body to come,
 * WN_REPLY_END for one without a body, WN_REPLY_EOF for one whose body has
 * no known length. */
static int reply_head(wn_http_reply *r, size_t len)
{
	const char *h = r->head, *v;
	int status = 0;
	if (len > 12 && strncmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ')
		for (int i = 9; i < 12 && h[i] >= '0' && h[i] <= '9'; i++)
			status = status * 10 + (h[i] - '0');
	if (status >= 100 && status < 200 && status != 101)
		return WN_REPLY_MORE;
	r->close = head_closes(h, len);
	bool none = r->head_req || status == 204 || status == 304;
	size_t n;
	bool sized = head_body(h, len, &r->body) && head_field(h, len, "content-length:", &v, &n);
	if (status < 200 || (!none && !sized)) {
		r->eof = r->close = true;
		return WN_REPLY_EOF;
	}
	if (none)
		r->body = 0;
	r->in_body = true;
	return r->body == 0 ? WN_REPLY_END : WN_REPLY_MORE;
}

int wn_http_guard_reply(wn_http_reply *r, const char *p, size_t n, size_t *used)
{
	size_t k = 0; /* p[0, k) is the reply's */
	while (!r->eof) {
		if (r->in_body) {
			size_t b = n - k < r->body ? n - k : (size_t)r->body;
			r->body -= b;
			*used = k + b;
			return r->body == 0 ? WN_REPLY_END : WN_REPLY_MORE;
		}
		if (k == n)
			break;
		size_t room = sizeof(r->head) - r->len, m = n - k < room ? n - k : room;
		memcpy(r->head + r->len, p + k, m);
		size_t end = head_find(r->head, r->len + m, &r->scan);
		if (end == 0) {
			r->len += m;
			k += m;
			if (r->len == sizeof(r->head))
				r->eof = r->close = true; /* a head too long to follow */
			continue;
		}
		k += end - r->len;
		r->len = r->scan = 0;
		if (reply_head(r, end) == WN_REPLY_END) {
			*used = k;
			return WN_REPLY_END;
		}
	}
	*used = n;
	return r->eof ? WN_REPLY_EOF : WN_REPLY_MORE;
}

/* authority_ok tells whether a (n bytes), the authority of an absolute URI,
 * is a host with or without ":PORT" as a Host field may name it: not empty,
 * no userinfo ('@': RFC 9110 has it treated as an error), no byte that is
 * not of a host name, an IP literal or a port. */
static bool authority_ok(const char *a, size_t n)
{
	if (n == 0 || a[0] == ':')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];
		bool alnum = (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
		if (!alnum && strchr("-._~!$&'()*+,;=:[]", ch) == NULL)
			return false;
	}
	return true;
}

/* origin_put appends n bytes of s to out at *k. */
static void origin_put(char *out, size_t *k, const char *s, size_t n)
{
	memcpy(out + *k, s, n);
	*k += n;
}

int wn_http_guard_origin(char *p, size_t len, bool https, size_t *newlen)
{
	const char *t, *eol;
	*newlen = len;
	if (!head_target(p, len, &t, &eol))
		return 0;
	const char *te = memchr(t, ' ', (size_t)(eol - t));
	te = te != NULL ? te : eol;
	size_t n = (size_t)(te - t), s = n >= 7 && strncasecmp(t, "http://", 7) == 0    ? 7
	                                 : n >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
	                                                                                : 0;
	if (s == 0)
		return 0; /* a path: it goes on as it came */
	if ((s == 8) != https)
		return -2; /* the URI names another listener than this one */
	const char *a = t + s, *ae = a;
	while (ae < te && *ae != '/' && *ae != '?' && *ae != '#')
		ae++;
	if (!authority_ok(a, (size_t)(ae - a)))
		return -1;
	char out[HTTP_GUARD_HEAD_NNG];
	size_t k = 0;
	const char *line = memchr(p, '\n', len) + 1, *end = p + len;
	origin_put(out, &k, p, (size_t)(t - p));
	if (ae == te || *ae != '/')
		origin_put(out, &k, "/", 1);
	origin_put(out, &k, ae, (size_t)(line - ae)); /* the rest of the request line */
	bool host = false;
	for (const char *q = line; q < end;) { /* each ends with a LF, the empty one last */
		const char *qe = (const char *)memchr(q, '\n', (size_t)(end - q)) + 1;
		if (*q == ' ' || *q == '\t')
			return -1; /* a folded line: it could go on a Host line dropped */
		if ((size_t)(qe - q) >= 5 && strncasecmp(q, "host:", 5) == 0) {
			if (!host) { /* the URI's authority is the Host (RFC 9112, 3.2.2) */
				origin_put(out, &k, "Host: ", 6);
				origin_put(out, &k, a, (size_t)(ae - a));
				origin_put(out, &k, "\r\n", 2);
			}
			host = true;
		} else {
			origin_put(out, &k, q, (size_t)(qe - q));
		}
		q = qe;
	}
	memcpy(p, out, k);
	*newlen = k;
	return 1;
}

size_t wn_http_guard_tidy(char *p, size_t len)
{
	char *w = (char *)memchr(p, '\n', len) + 1, *r = w, *end = p + len;
	while (r < end) { /* each line ends with a LF, the empty one last */
		char *eol = (char *)memchr(r, '\n', (size_t)(end - r)) + 1;
		size_t n = (size_t)(eol - r);
		if (n >= 7 && strncasecmp(r, "cookie:", 7) == 0) {
			r = eol; /* wnd reads no cookie */
			continue;
		}
		memmove(w, r, n);
		for (char *t = w; (t = memchr(t, '\t', (size_t)(w + n - t))) != NULL; t++)
			*t = ' ';
		w += n;
		r = eol;
	}
	return (size_t)(w - p);
}

void wn_http_guard_cors(const char *p, size_t len, bool https, char *const *origins,
                        size_t norigins, char *out, size_t n)
{
	const char *o, *host, *scheme = https ? "https://" : "http://";
	size_t on, hn, sl = strlen(scheme);
	bool ok = false;
	out[0] = '\0';
	if (!guard_field(p, len, "origin:", &o, &on) || on == 0 || on > 200)
		return;
	for (size_t i = 0; i < on; i++)
		if (o[i] < 0x20 || o[i] > 0x7e)
			return;
	if (guard_field(p, len, "host:", &host, &hn) && on == sl + hn &&
	    strncasecmp(o, scheme, sl) == 0 && strncasecmp(o + sl, host, hn) == 0)
		return; /* wnd's own origin: the dashboard */
	for (size_t i = 0; i < norigins && !ok; i++)
		ok = strcmp(origins[i], "*") == 0 ||
		     (strlen(origins[i]) == on && memcmp(origins[i], o, on) == 0);
	if (ok)
		snprintf(out, n, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n", (int)on,
		         o);
}
