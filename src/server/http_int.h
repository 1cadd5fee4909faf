/* http_int: what the HTTP listener's two files share (http.c serves the
 * requests, http_start.c starts and stops the server). */
#ifndef WN_HTTP_INT_H
#define WN_HTTP_INT_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>

#include "http.h"
#include "map.h"
#include "envelope.h"
#include "methods.h"

/* The largest request body taken: a request at the protocol's limit, its
 * bytes in base64. */
#define HTTP_BODY_MAX ((size_t)WN_MSG_MAX / 3 * 4 + 65536)
struct hcall {
	wn_http *h;
	nng_aio *aio; /* the HTTP side, until answered or cancelled */
	const wn_method *m;
	char *origin; /* the CORS origin to allow in the reply, or NULL */
	uint32_t conn;
	int refs;
	uint8_t *buf; /* the Response, once the engine has it */
	size_t len;
	uint64_t seq;
	struct hcall *next;
};

struct wn_http {
	wn_engine *e;
	nng_http_server *srv;
	nng_tls_config *tls;
	char *url;
	char **origins;
	size_t norigins;
	bool https;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hcall *head, *tail; /* replies for the waiter */
	wn_map *calls;             /* the calls alive, by address */
	uint32_t next_conn;
	bool stopping;
	pthread_t waiter;
	bool waiter_started;
};

/* wn_http_waiter is the thread that sends replies once durable (http.c). */
void *wn_http_waiter(void *arg);

/* wn_http_handle is the nng handler of every request (http.c). */
void wn_http_handle(nng_aio *aio);

#endif
