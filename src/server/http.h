/* http: wnd's HTTP listener, on nng's HTTP server. Every protocol method is
 * POST /v1/<Service>/<Method> with its request and reply in the proto3 JSON
 * mapping (pbjson.h), the caller's token in "Authorization: Bearer"; GET
 * /metrics is the Prometheus exposition (metrics.h); every other GET is a
 * file of the dashboard (webassets.h). Requests go to the engine as the SP
 * listeners' do (wn_engine_serve), so roles, scopes, request ids, the audit
 * log and durability are the same. docs/http.md. */
#ifndef WN_HTTP_H
#define WN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct wn_http wn_http;

typedef struct wn_http_settings {
	const char *addr;           /* HOST:PORT, http://HOST:PORT or https://HOST:PORT */
	const char *const *origins; /* CORS: origins allowed besides wnd's own; "*" any */
	size_t norigins;
	struct wn_tls
	    *tls; /* https: the TLS to end (tls.h), the caller's, outliving the listener */
} wn_http_settings;

/* wn_http_start serves s->addr for e until wn_http_stop; *errmsg on failure
 * ("cannot serve http on ADDR: why"). */
int wn_http_start(wn_engine *e, const wn_http_settings *s, wn_http **out, char **errmsg);

/* wn_http_url is the address served, with the port bound ("http://127.0.0.1:7641"). */
const char *wn_http_url(const wn_http *h);

/* wn_http_exposed reports whether addr (an http setting) takes connections
 * from other machines, as wn_listener_exposed does for SP addresses; *tls is
 * set for https. */
bool wn_http_exposed(const char *addr, bool *tls);
/* wn_http_check refuses, before wnd creates anything, an http setting addr
 * that cannot be listened on now (in use, a port not allowed): WN_EBUSY or
 * WN_EINVAL with *errmsg "cannot serve http on ADDR: why". An address that
 * is not one is left to wn_http_start. */
int wn_http_check(const char *addr, char **errmsg);

/* wn_http_deliver answers a parked request if slot is one of h's (the
 * engine's deliver callback, wn_deliver_fn); false when slot is not h's. */
bool wn_http_deliver(wn_http *h, void *slot, uint8_t *buf, size_t len, uint64_t seq);

/* wn_http_slot_conn gives in *conn the connection number of h's slot; false
 * when slot is not h's. */
bool wn_http_slot_conn(wn_http *h, void *slot, uint32_t *conn);

/* wn_http_stop stops serving and answers what is in flight; call it after
 * wn_engine_release_parked. NULL is a no-op. */
void wn_http_stop(wn_http *h);

/* wn_http_free stops h and frees it, with the calls the engine still held;
 * call it after wn_engine_close. NULL is a no-op. */
void wn_http_free(wn_http *h);

#endif
