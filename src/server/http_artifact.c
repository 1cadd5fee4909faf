/* http_artifact: GET /artifacts/JOB/PATH, a job's artifact as a file, whole
 * or one range of it (docs/http.md, "Artifacts"). Its bytes are read with
 * JobService/GetArtifact through the engine, as an HTTP call's (the same
 * token, roles and scopes), HTTP_DL_CHUNK at a time, each chunk written
 * out before the next is read: a download holds one chunk however large
 * the file and however slowly its client reads. wnd writes the reply on
 * the connection itself and hands it back to nng's server once the last
 * byte went, for the next request. A chunk whose artifact is not the one
 * the download began with (another attempt's file) ends the connection:
 * the client has fewer bytes than announced, and resumes with If-Range. */
#include "http.h"
#include "http_int.h"

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artifacts.h"
#include "envelope.h"
#include "err.h"
#include "http_query.h"
#include "http_range.h"
#include "log.h"
#include "methods.h"
#include "strbuf.h"
#include "util.h"

_Static_assert(HTTP_PATH_MAX >= sizeof("/artifacts/18446744073709551615/") + WN_ARTIFACT_PATH_MAX,
               "the path of every artifact's download is served");

/* Bytes read from the store and written out at a time. */
#define HTTP_DL_CHUNK (256u * 1024u)

/* One download. */
struct hdl {
	wn_http *h;
	nng_aio *aio; /* the request's, until finished (h->mu) */
	nng_aio *wr;  /* writing */
	nng_http_conn *conn;
	char *tok;
	uint64_t job;
	char *path;
	char etag[80];
	uint64_t next, last; /* the bytes still to send: [next, last] */
	bool none;           /* no byte to send (a HEAD, an empty file) */
	bool head_sent;
	char *head;     /* the reply's head, until written */
	uint8_t *chunk; /* the bytes being written */
	struct hdl *link;
};

/* dl_read reads up to max bytes of d's artifact from offset through the
 * engine into *r (unpacked, the caller frees it): WN_OK, or the gRPC code
 * and message of a refusal in *code and *msg (malloc'd). */
static int dl_read(wn_http *h, const char *tok, uint64_t job, const char *path, uint64_t offset,
                   uint32_t max, Whatsnext__V1__GetArtifactResponse **r, int *code, char **msg)
{
	Whatsnext__V1__GetArtifactRequest q = WHATSNEXT__V1__GET_ARTIFACT_REQUEST__INIT;
	q.job_id = job;
	q.path = (char *)path;
	q.offset = offset;
	q.max_bytes = max;
	size_t blen, envlen;
	uint8_t *body = wn_message_pack(&q.base, &blen);
	Whatsnext__V1__Request rq = WHATSNEXT__V1__REQUEST__INIT;
	rq.id = wn_random_u64() | 1;
	rq.method = (char *)WN_PATH_JOB_GET_ARTIFACT;
	rq.body.data = body;
	rq.body.len = blen;
	rq.token = (char *)tok;
	uint8_t *env = wn_message_pack(&rq.base, &envlen);
	free(body);
	wn_reply rep;
	wn_engine_serve(h->e, env, envlen, NULL, &rep);
	free(env);
	*r = NULL;
	*code = WHATSNEXT__V1__CODE__INTERNAL;
	*msg = NULL;
	Whatsnext__V1__Response *res =
	    rep.buf != NULL ? whatsnext__v1__response__unpack(NULL, rep.len, rep.buf) : NULL;
	free(rep.buf);
	if (res == NULL) {
		*msg = wn_xstrdup("cannot read the artifact");
		return WN_EINTERNAL;
	}
	if (res->code == WHATSNEXT__V1__CODE__OK)
		*r = whatsnext__v1__get_artifact_response__unpack(NULL, res->body.len,
		                                                  res->body.data);
	if (*r == NULL || (*r)->artifact == NULL) {
		if (res->code != WHATSNEXT__V1__CODE__OK)
			*code = (int)res->code;
		*msg =
		    wn_xstrdup(res->code != WHATSNEXT__V1__CODE__OK ? res->message
		                                                    : "cannot read the artifact");
		if (*r != NULL)
			whatsnext__v1__get_artifact_response__free_unpacked(*r, NULL);
		*r = NULL;
	}
	whatsnext__v1__response__free_unpacked(res, NULL);
	return *r != NULL ? WN_OK : WN_EINTERNAL;
}

/* dl_free lets go of d, taken off h's list: its write's aio is reaped, as
 * its own callback may be the caller. */
static void dl_free(struct hdl *d)
{
	if (d->wr != NULL)
		nng_aio_reap(d->wr);
	free(d->tok);
	free(d->path);
	free(d->head);
	free(d->chunk);
	free(d);
}

/* dl_cancel: the connection of a download closed (wnd's HTTP server
 * stops). arg is h: d is looked up by aio among those alive (hcall_cancel). */
static void dl_cancel(nng_aio *aio, void *arg, int rv)
{
	wn_http *h = arg;
	pthread_mutex_lock(&h->mu);
	struct hdl *d = h->dls;
	while (d != NULL && d->aio != aio)
		d = d->link;
	if (d == NULL) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	d->aio = NULL; /* its write fails, the connection closed: it ends there */
	pthread_mutex_unlock(&h->mu);
	nng_aio_finish(aio, rv);
}

/* dl_end finishes d's request: at the end of its reply (ok) the connection
 * goes back to nng's server for the next one, else it is closed. */
static void dl_end(struct hdl *d, bool ok)
{
	wn_http *h = d->h;
	pthread_mutex_lock(&h->mu);
	nng_aio *aio = d->aio;
	d->aio = NULL;
	for (struct hdl **p = &h->dls; *p != NULL; p = &(*p)->link) {
		if (*p == d) {
			*p = d->link;
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
	dl_free(d);
	if (aio == NULL)
		return;
	nng_aio_set_output(aio, 0, NULL); /* the reply went: nng reads the next request */
	nng_aio_finish(aio, ok ? 0 : NNG_ECLOSED);
}

/* dl_write writes len bytes at buf on d's connection; false when d was
 * cancelled (nothing is written). */
static bool dl_write(struct hdl *d, void *buf, size_t len)
{
	wn_http *h = d->h;
	nng_iov iov = {.iov_buf = buf, .iov_len = len};
	pthread_mutex_lock(&h->mu);
	bool on = d->aio != NULL; /* the connection is not closed yet */
	if (on) {
		nng_aio_set_iov(d->wr, 1, &iov);
		nng_http_conn_write_all(d->conn, d->wr);
	}
	pthread_mutex_unlock(&h->mu);
	return on;
}

/* dl_next writes d's next chunk (its head first), or ends it. */
static void dl_next(struct hdl *d)
{
	if (!d->head_sent) {
		d->head_sent = true;
		if (!dl_write(d, d->head, strlen(d->head)))
			dl_end(d, false);
		return;
	}
	if (d->none || d->next > d->last) {
		dl_end(d, true);
		return;
	}
	uint64_t left = d->last - d->next + 1;
	uint32_t max = left < HTTP_DL_CHUNK ? (uint32_t)left : HTTP_DL_CHUNK;
	Whatsnext__V1__GetArtifactResponse *r;
	int code;
	char *msg;
	if (dl_read(d->h, d->tok, d->job, d->path, d->next, max, &r, &code, &msg) != WN_OK) {
		wn_warn("http: the download of artifact %.200s of job %llu ends: %s", d->path,
		        (unsigned long long)d->job, msg);
		free(msg);
		dl_end(d, false);
		return;
	}
	char tag[80];
	snprintf(tag, sizeof(tag), "\"%s\"", r->artifact->sha256);
	bool same = strcmp(tag, d->etag) == 0 && r->offset == d->next && r->data.len > 0 &&
	            r->data.len <= max;
	size_t n = r->data.len;
	if (same) {
		free(d->chunk);
		d->chunk = wn_xmalloc(n);
		memcpy(d->chunk, r->data.data, n);
	}
	whatsnext__v1__get_artifact_response__free_unpacked(r, NULL);
	if (!same) { /* another file now: the client resumes with If-Range */
		dl_end(d, false);
		return;
	}
	d->next += n;
	if (!dl_write(d, d->chunk, n))
		dl_end(d, false);
}

static void dl_written(void *arg)
{
	struct hdl *d = arg;
	wn_http_thread_ready();
	if (nng_aio_result(d->wr) != 0) {
		dl_end(d, false);
		return;
	}
	dl_next(d);
}

/* dl_head makes the head of d's reply of status (200 or 206) for a file of
 * len bytes named path. */
static char *dl_head(nng_http_req *req, int status, uint64_t first, uint64_t last, uint64_t len,
                     const char *etag, const char *path, const char *cors)
{
	wn_strbuf sb = WN_STRBUF_INIT;
	wn_strbuf_addf(&sb, "HTTP/1.1 %d %s\r\n", status, wn_http_reason((uint16_t)status));
	wn_strbuf_addf(&sb, "Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n",
	               (unsigned long long)(len == 0 ? 0 : last - first + 1));
	if (status == 206)
		wn_strbuf_addf(&sb, "Content-Range: bytes %llu-%llu/%llu\r\n",
		               (unsigned long long)first, (unsigned long long)last,
		               (unsigned long long)len);
	/* an artifact is never shown in the dashboard's origin: a page of it
	 * would run there with the dashboard's token */
	wn_strbuf_addf(&sb,
	               "Accept-Ranges: bytes\r\nETag: %s\r\nCache-Control: no-store\r\n"
	               "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: sandbox\r\n"
	               "Content-Disposition: attachment; filename*=UTF-8''",
	               etag);
	const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	for (const unsigned char *p = (const unsigned char *)base; *p != '\0'; p++) {
		if ((*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
		    strchr("!#$&+-.^_`|~", *p) != NULL)
			wn_strbuf_addc(&sb, (char)*p);
		else
			wn_strbuf_addf(&sb, "%%%02X", *p);
	}
	wn_strbuf_addf(&sb, "\r\n");
	if (cors != NULL)
		wn_strbuf_addf(&sb,
		               "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
		               "Access-Control-Expose-Headers: Content-Disposition, Content-Range, "
		               "ETag\r\n",
		               cors);
	const char *conn = nng_http_req_get_header(req, "Connection");
	if (strcmp(nng_http_req_get_version(req), "HTTP/1.1") != 0 ||
	    (conn != NULL && strcasestr(conn, "close") != NULL))
		wn_strbuf_addf(&sb, "Connection: close\r\n"); /* nng's server closes it after */
	wn_strbuf_addf(&sb, "\r\n");
	return wn_strbuf_take(&sb);
}

/* dl_target reads JOB and PATH of "/artifacts/JOB/PATH" (path without
 * "/artifacts/"), or of "/artifacts/JOB?path=PATH" (the query of uri, its
 * escapes decoded into buf, n bytes): 1, 0 when it names none, -1 when the
 * query's path is not one. */
static int dl_target(const char *path, const char *uri, uint64_t *job, const char **file, char *buf,
                     size_t n)
{
	size_t k = strspn(path, "0123456789");
	if (k == 0 || wn_parse_u64(path, k, job) != 0)
		return 0;
	if (path[k] == '/' && path[k + 1] != '\0') {
		*file = path + k + 1;
		return 1;
	}
	const char *q = strchr(uri, '?');
	int rv = path[k] == '\0' && q != NULL ? wn_http_query_get(q + 1, "path", buf, n) : 0;
	*file = buf;
	return rv == 1 && buf[0] == '\0' ? 0 : rv;
}

/* dl_refuse answers req with the error of gRPC code code. */
static void dl_refuse(nng_aio *aio, int code, const char *msg, const char *cors)
{
	wn_http_finish(aio, wn_http_error_res(code, msg, cors));
}

/* dl_start begins to send d, whose head is made, on aio's connection. */
static void dl_start(wn_http *h, struct hdl *d, nng_aio *aio)
{
	if (nng_aio_alloc(&d->wr, dl_written, d) != 0) {
		free(d->head);
		free(d->tok);
		free(d->path);
		free(d);
		wn_http_finish(aio, NULL);
		return;
	}
	d->h = h;
	d->aio = aio;
	d->conn = nng_aio_get_input(aio, 2);
	pthread_mutex_lock(&h->mu);
	d->link = h->dls;
	h->dls = d;
	pthread_mutex_unlock(&h->mu);
	nng_aio_defer(aio, dl_cancel, h);
	dl_next(d);
}

void wn_http_artifact(wn_http *h, nng_aio *aio, nng_http_req *req, const char *path)
{
	const char *cors, *tok, *file;
	char buf[WN_ARTIFACT_PATH_MAX + 1];
	uint64_t job;
	int t = dl_target(path, nng_http_req_get_uri(req), &job, &file, buf, sizeof(buf));
	if (t != 1) {
		dl_refuse(
		    aio,
		    t == 0 ? WHATSNEXT__V1__CODE__NOT_FOUND : WHATSNEXT__V1__CODE__INVALID_ARGUMENT,
		    t == 0 ? "an artifact is GET /artifacts/JOB/PATH, or /artifacts/JOB?path=PATH "
		             "with PATH percent-escaped (docs/http.md)"
		           : "the path parameter must be at most 1024 bytes, percent-escaped "
		             "(%XX, two hex digits; %00 is none)",
		    NULL);
		return;
	}
	if (wn_http_read_only(h, aio, req, &cors))
		return;
	if (!wn_http_token(req, &tok)) {
		dl_refuse(aio, WHATSNEXT__V1__CODE__UNAUTHENTICATED,
		          "the Authorization header must be \"Bearer TOKEN\"", cors);
		return;
	}
	Whatsnext__V1__GetArtifactResponse *r;
	int code;
	char *msg;
	if (dl_read(h, tok, job, file, 0, 1, &r, &code, &msg) != WN_OK) {
		dl_refuse(aio, code, msg, cors);
		free(msg);
		return;
	}
	struct hdl *d = wn_xcalloc(1, sizeof(*d));
	uint64_t len = r->artifact->size;
	snprintf(d->etag, sizeof(d->etag), "\"%s\"", r->artifact->sha256);
	whatsnext__v1__get_artifact_response__free_unpacked(r, NULL);
	int k = wn_http_ask(req, d->etag, len, &d->next, &d->last);
	if (k != WN_RANGE_WHOLE && k != WN_RANGE_PART) {
		wn_http_finish(aio, wn_http_ask_res(k, d->etag, len, cors));
		free(d);
		return;
	}
	if (k == WN_RANGE_WHOLE) {
		d->next = 0;
		d->last = len - 1; /* none when len is 0 */
	}
	d->none = len == 0 || strcmp(nng_http_req_get_method(req), "HEAD") == 0;
	d->head = dl_head(req, k == WN_RANGE_PART ? 206 : 200, d->next, d->last, len, d->etag, file,
	                  cors);
	d->tok = wn_xstrdup(tok);
	d->job = job;
	d->path = wn_xstrdup(file);
	dl_start(h, d, aio);
}

void wn_http_downloads_end(wn_http *h)
{
	bool cut = false;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hdl *d = h->dls;
		while (d != NULL && d->aio == NULL)
			d = d->link;
		if (d == NULL)
			break;
		nng_aio *aio = d->aio;
		d->aio = NULL; /* no more writes: the one under way fails */
		pthread_mutex_unlock(&h->mu);
		/* nng's server closes the connection: ended so, not by its stop,
		 * the request lets go of what it holds (its handler) */
		nng_aio_finish(aio, NNG_ECLOSED);
		cut = true;
		pthread_mutex_lock(&h->mu);
	}
	while (h->dls != NULL) {
		pthread_mutex_unlock(&h->mu);
		nng_msleep(5);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	if (cut) /* nng's server lets go of those requests on its own threads */
		nng_msleep(HTTP_SETTLE_WRITE_MS);
}
