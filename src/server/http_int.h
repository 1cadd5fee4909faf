/* http_int: what the HTTP listener's two files share (http.c serves the
 * requests, http_start.c starts and stops the server). */
#ifndef WN_HTTP_INT_H
#define WN_HTTP_INT_H

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>

#include "http.h"
#include "map.h"
#include "envelope.h"
#include "methods.h"

/* The largest request body taken: a request at the protocol's limit, its
 * bytes in base64. */
#define HTTP_BODY_MAX ((size_t)WN_MSG_MAX / 3 * 4 + 65536)
/* The bodies being received at once, in bytes: wnd reads a body itself
 * (nng would take any number at once, before the token is checked), once
 * the headers passed every check; a body past this is refused (503). */
#define HTTP_BODIES_MAX (4 * HTTP_BODY_MAX)
/* The longest path served, its query cut off: that of an artifact's
 * download, /artifacts/JOB/PATH (http_artifact.c). A longer one is 404. */
#define HTTP_PATH_MAX 1088
/* How long a body may take to arrive once its headers have. */
#define HTTP_BODY_MS 60000
/* At a stop: time the calls in flight have to be answered, and then for
 * nng's server to write the answers out before it closes the connections. */
#define HTTP_SETTLE_MS       2000
#define HTTP_SETTLE_WRITE_MS 100

struct hcall {
	wn_http *h;
	nng_aio *aio; /* the HTTP side, until answered or cancelled */
	const wn_method *m;
	char *origin; /* the CORS origin to allow in the reply, or NULL */
	char *tok;    /* the bearer token, "" for none */
	uint64_t reqid;
	uint32_t conn;
	int refs;
	nng_aio *rd;   /* reading the body, while reading */
	uint8_t *body; /* the body, until it is turned into the request */
	size_t bodylen;
	bool reading;
	bool denied;  /* its token's role may not make it (wn_http_check_call) */
	uint8_t *buf; /* the Response, once the engine has it */
	size_t len;
	uint64_t seq;
	struct hcall *next;
};

struct wn_http {
	wn_engine *e;
	nng_http_server *srv;
	struct wn_http_guard *guard; /* what clients reach, in front of srv */
	struct wn_tls *tls;          /* https: the TLS the guard ends (the caller's) */
	char *url;
	char **origins;
	size_t norigins;
	bool https;
	bool loopback; /* served on this machine only: the Host is checked */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hcall *head, *tail; /* replies for the waiter */
	wn_map *calls;             /* the calls alive, by address */
	uint32_t next_conn;
	size_t body_bytes;   /* of the bodies held (HTTP_BODIES_MAX) */
	int active;          /* handlers running (wn_http_stop waits for them) */
	pthread_cond_t idle; /* active fell to 0 */
	bool closing;        /* wn_http_stop has begun: handlers answer 503 */
	bool stopping;
	pthread_t waiter;
	bool waiter_started;
	struct hdl *dls; /* the artifacts being sent (http_artifact.c) */
};

/* wn_http_waiter is the thread that sends replies once durable (http.c). */
void *wn_http_waiter(void *arg);

/* wn_http_quiesce refuses new requests and waits until no handler runs,
 * so that none is left between nng's start of a request and its own hold
 * on it when nng's server stops (http.c). */
void wn_http_quiesce(wn_http *h);
/* wn_http_settle waits until every call is answered (parked ones were
 * released before; at most HTTP_SETTLE_MS), then as long again as nng's
 * server takes to write the last answers out: its stop would drop them. */
void wn_http_settle(wn_http *h);

/* wn_http_thread_ready readies the calling thread (one of nng's) for the
 * store (http.c). */
void wn_http_thread_ready(void);

/* wn_http_handle is the nng handler of every request (http.c). */
void wn_http_handle(nng_aio *aio);

/* http_gate.c: replies and the checks of a call before its body. */

/* wn_http_reason is the reason phrase of HTTP status status. */
const char *wn_http_reason(uint16_t status);
/* wn_http_res makes a reply of status with body (len bytes, of type; NULL for
 * none) and the CORS header for origin (NULL: none); NULL when out of memory. */
nng_http_res *wn_http_res(uint16_t status, const char *type, const void *body, size_t len,
                          const char *origin);
/* wn_http_error_res is the JSON error reply {"code", "message"} of gRPC code
 * code, with the status gRPC-HTTP gateways give it. */
nng_http_res *wn_http_error_res(int code, const char *msg, const char *origin);
/* wn_http_finish completes aio with res (NULL: the connection is dropped). */
void wn_http_finish(nng_aio *aio, nng_http_res *res);
/* wn_http_finish_close completes aio with res and closes the connection after
 * it: a body left unread must not be taken for the next request. */
void wn_http_finish_close(nng_aio *aio, nng_http_res *res);
/* wn_http_token finds the token of "Authorization: Bearer T" into *tok ("" for
 * none); false when the header is there but not a bearer token. */
bool wn_http_token(nng_http_req *req, const char **tok);
/* wn_http_preflight answers an OPTIONS: 204 with Allow: verbs; a CORS
 * preflight of an allowed origin gets those verbs and the request headers
 * headers allowed too, another origin's is refused 403. */
void wn_http_preflight(wn_http *h, nng_aio *aio, nng_http_req *req, const char *verbs,
                       const char *headers);

/* A call its token's role may not make has its body read when it is at most
 * this long, so that the engine refuses it as it does over SP and the audit
 * log's line names what the body names; a longer one is refused before its
 * body is read, its line without a target. */
#define HTTP_DENIED_BODY_MAX 65536

/* wn_http_type_why tells what is wrong with a request body's Content-Type
 * (NULL when nothing): it must be application/json, in UTF-8 (RFC 8259),
 * whose charset parameter, if any, must say utf-8 (in any case). The message
 * may be written in buf (n bytes). */
const char *wn_http_type_why(const char *type, char *buf, size_t n);
/* wn_http_check_call answers a call that cannot go to the engine (a wrong
 * verb, origin, Host, media type, token header or request id; len is its
 * body's length): true when it did; else *cors, *tok and *id are set, and
 * *denied when the token's role may not make the call (the engine refuses
 * it, HTTP_DENIED_BODY_MAX). */
bool wn_http_check_call(wn_http *h, nng_aio *aio, nng_http_req *req, const wn_method *m, size_t len,
                        const char **cors, const char **tok, uint64_t *id, bool *denied);

/* http_files.c: what is served to be read (GET, HEAD). */

/* wn_http_read_only answers another verb than GET or HEAD (true when it
 * did): the dashboard's files and /metrics are only read. OPTIONS is
 * answered as on the API's paths (a CORS preflight of an allowed origin
 * too), another verb 405. *cors gets the origin to name in the reply of a
 * GET (NULL: none). */
bool wn_http_read_only(wn_http *h, nng_aio *aio, nng_http_req *req, const char **cors);
/* wn_http_file serves the dashboard's file at path, whole or the range of
 * it req asks for. */
void wn_http_file(wn_http *h, nng_aio *aio, nng_http_req *req, const char *path);
/* What a request asks of a file (wn_http_ask), besides WN_RANGE_*
 * (http_range.h). */
enum {
	HTTP_ASK_FAILED = 16, /* If-Match names another file: 412 */
	HTTP_ASK_SAME,        /* If-None-Match names this one: 304 */
};
/* wn_http_ask decides what req asks of a file of len bytes tagged etag (a
 * strong tag), by its If-Match, If-None-Match, If-Range and Range as RFC
 * 9110 (13.2.2) has them read: HTTP_ASK_* or, for a GET, what wn_http_range
 * answers, the range in [*first, *last]. */
int wn_http_ask(nng_http_req *req, const char *etag, uint64_t len, uint64_t *first, uint64_t *last);
/* wn_http_ask_res is the reply to what wn_http_ask answered k
 * (HTTP_ASK_FAILED, HTTP_ASK_SAME or WN_RANGE_NONE: none of the file's
 * bytes), with the headers RFC 9110 wants (the length of the file). */
nng_http_res *wn_http_ask_res(int k, const char *etag, uint64_t len, const char *cors);
/* wn_http_content_range sets the Content-Range of res, a 206 of bytes
 * [first, last] of len. */
void wn_http_content_range(nng_http_res *res, uint64_t first, uint64_t last, uint64_t len);

/* wn_http_artifact serves GET /artifacts/JOB/PATH (path without
 * "/artifacts/"): the artifact, whole or the range req asks for, sent a
 * chunk at a time (http_artifact.c). */
void wn_http_artifact(wn_http *h, nng_aio *aio, nng_http_req *req, const char *path);
/* wn_http_downloads_end ends the artifacts being sent, closing their
 * connections, and waits until they have let go of them, then (when it cut
 * any) HTTP_SETTLE_WRITE_MS for nng's server to let go of their requests;
 * before nng's server stops (http_artifact.c). */
void wn_http_downloads_end(wn_http *h);

/* wn_http_host_ok decides a request's Host header on a loopback listener:
 * this machine's names and the hosts of http_cors_origins only (DNS
 * rebinding). */
bool wn_http_host_ok(const wn_http *h, nng_http_req *req);

/* wn_http_origin_ok decides a request's Origin (none: not a browser's): its
 * own origin or one of http_cors_origins; *cors gets the origin to name in
 * Access-Control-Allow-Origin (NULL for none). */
bool wn_http_origin_ok(const wn_http *h, nng_http_req *req, const char **cors);
/* wn_http_request_id reads X-Request-Id (1 to 2^64-1 in decimal) into *id,
 * or a random id without the header; false when it is not such a number. */
bool wn_http_request_id(nng_http_req *req, uint64_t *id);

#endif
