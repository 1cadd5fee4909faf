/* http_start: the HTTP listener's address, TLS, start and stop (http.h). */
#include "http.h"
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http_guard.h"
#include "listen.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* ------------------------------------------------------------ start and stop */

/* http_url_of writes addr as an nng URL ("http://HOST:PORT") into *url;
 * false when it is not HOST:PORT, http:// or https://. */
static bool http_url_of(const char *addr, char **url, bool *tls)
{
	*tls = strncmp(addr, "https://", 8) == 0;
	if (*tls || strncmp(addr, "http://", 7) == 0) {
		*url = wn_xstrdup(addr);
	} else if (strstr(addr, "://") == NULL && strchr(addr, ':') != NULL) {
		*url = wn_xasprintf("http://%s", addr);
	} else {
		return false;
	}
	size_t n = strlen(*url);
	if (n > 0 && (*url)[n - 1] == '/')
		(*url)[n - 1] = '\0';
	return true;
}

bool wn_http_exposed(const char *addr, bool *tls)
{
	char *url;
	*tls = false;
	if (!http_url_of(addr, &url, tls))
		return false;
	char *tcp = wn_xasprintf("tcp://%s", strstr(url, "://") + 3);
	bool ignored;
	bool exposed = wn_listener_exposed(tcp, &ignored);
	free(tcp);
	free(url);
	return exposed;
}

int wn_http_check(const char *addr, char **errmsg)
{
	char *url;
	bool tls;
	if (!http_url_of(addr, &url, &tls))
		return WN_OK; /* wn_http_start says what is wrong with it */
	char *tcp = wn_xasprintf("tcp://%s", strstr(url, "://") + 3);
	free(url);
	wn_wire_url u;
	char *why = NULL;
	int rv = WN_OK;
	if (wn_wire_url_parse(tcp, &u, &why) != WN_OK) {
		/* a port past 65535 would wrap to another one */
		*errmsg = wn_xasprintf("cannot serve http on %s: %s", addr, why);
		rv = WN_EINVAL;
	} else if ((rv = wn_listener_check(tcp, &why)) != WN_OK) {
		/* "cannot listen on tcp://HOST:PORT: why" */
		const char *cause = strstr(why, tcp);
		cause = cause != NULL && cause[strlen(tcp)] == ':' ? cause + strlen(tcp) + 2 : why;
		*errmsg = wn_xasprintf("cannot serve http on %s: %s", addr, cause);
	}
	free(why);
	free(tcp);
	return rv;
}

/* http_guard_bound names the address the guard listens on into h->url. */
static void http_guard_bound(wn_http *h)
{
	struct sockaddr_storage ss;
	socklen_t len;
	wn_http_guard_addr(h->guard, &ss, &len);
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	if (len != 0 && ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (len != 0 && ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	} else {
		return;
	}
	free(h->url);
	h->url = wn_xasprintf(ss.ss_family == AF_INET6 ? "%s://[%s]:%u" : "%s://%s:%u",
	                      h->https ? "https" : "http", host, port);
}

/* http_guard_start puts the guard on u's address in front of h's server,
 * which serves a loopback port of its own (on https the guard ends TLS). */
static int http_guard_start(wn_http *h, const nng_url *u, char **err)
{
	nng_sockaddr sa;
	if (nng_http_server_get_addr(h->srv, &sa) != 0 || sa.s_family != NNG_AF_INET) {
		*err = wn_xasprintf("cannot tell the port of the server behind it");
		return WN_EIO;
	}
	uint16_t up = (uint16_t)(sa.s_in.sa_port >> 8 | (sa.s_in.sa_port & 0xff) << 8);
	const char *host = u->u_hostname;
	char h6[64];
	size_t hl = strlen(host);
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(h6)) {
		snprintf(h6, sizeof(h6), "%.*s", (int)(hl - 2), host + 1);
		host = h6;
	}
	if (wn_http_guard_start(host, u->u_port, up, h->tls, h->origins, h->norigins, &h->guard,
	                        err) != 0)
		return WN_EIO;
	http_guard_bound(h);
	return WN_OK;
}

int wn_http_start(wn_engine *e, const wn_http_settings *s, wn_http **out, char **errmsg)
{
	*out = NULL;
	wn_http *h = wn_xcalloc(1, sizeof(*h));
	h->e = e;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->idle, NULL);
	h->calls = wn_map_new_u64();
	h->origins = wn_xcalloc(s->norigins + 1, sizeof(char *));
	for (size_t i = 0; i < s->norigins; i++)
		h->origins[i] = wn_xstrdup(s->origins[i]);
	h->norigins = s->norigins;
	char *err = NULL;
	nng_url *u = NULL;
	nng_http_handler *hd = NULL;
	int rv;
	if (!http_url_of(s->addr, &h->url, &h->https)) {
		err = wn_xasprintf("the address must be HOST:PORT, http://HOST:PORT or "
		                   "https://HOST:PORT");
		goto fail;
	}
	bool tls;
	h->loopback = !wn_http_exposed(s->addr, &tls);
	nng_url *inner = NULL; /* nng serves a loopback port behind the guard */
	if ((rv = nng_url_parse(&u, h->url)) != 0 ||
	    (rv = nng_url_parse(&inner, "http://127.0.0.1:0")) != 0 ||
	    (rv = nng_http_server_hold(&h->srv, inner)) != 0) {
		if (inner != NULL)
			nng_url_free(inner);
		err = wn_xasprintf("%s", nng_strerror(rv));
		goto fail;
	}
	if (inner != NULL)
		nng_url_free(inner);
	h->tls = s->tls;
	if (h->https && h->tls == NULL) {
		err = wn_xasprintf("https needs tls_cert and tls_key");
		goto fail;
	}
	if ((rv = nng_http_handler_alloc(&hd, "/", wn_http_handle)) != 0 ||
	    (rv = nng_http_handler_set_method(hd, NULL)) != 0 ||
	    (rv = nng_http_handler_set_tree(hd)) != 0 ||
	    (rv = nng_http_handler_collect_body(hd, false, 0)) != 0 || /* http_call reads it */
	    (rv = nng_http_handler_set_data(hd, h, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hd)) != 0) {
		err = wn_xasprintf("%s", nng_strerror(rv));
		if (hd != NULL)
			nng_http_handler_free(hd);
		goto fail;
	}
	if (pthread_create(&h->waiter, NULL, wn_http_waiter, h) != 0) {
		err = wn_xasprintf("cannot start a thread");
		goto fail;
	}
	h->waiter_started = true;
	*out = h; /* before the first request: parked ones are delivered to it */
	if ((rv = nng_http_server_start(h->srv)) != 0) {
		*out = NULL;
		err = wn_xasprintf("%s", nng_strerror(rv));
		goto fail;
	}
	if (http_guard_start(h, u, &err) != WN_OK) {
		*out = NULL;
		goto fail;
	}
	nng_url_free(u);
	return WN_OK;
fail:
	*errmsg = wn_xasprintf("cannot serve http on %s: %s", s->addr, err);
	free(err);
	if (u != NULL)
		nng_url_free(u);
	wn_http_free(h);
	return WN_EINVAL;
}

const char *wn_http_url(const wn_http *h)
{
	return h->url;
}

void wn_http_stop(wn_http *h)
{
	if (h == NULL)
		return;
	if (h->srv != NULL) {
		wn_http_quiesce(h); /* the answers in flight go out through the guard */
		wn_http_settle(h);
		wn_http_downloads_end(h);
		nng_http_server_stop(h->srv);
		nng_http_server_release(h->srv);
		h->srv = NULL;
	}
	wn_http_guard_stop(h->guard);
	h->guard = NULL;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->waiter_started)
		pthread_join(h->waiter, NULL);
	h->waiter_started = false;
}

void wn_http_free(wn_http *h)
{
	if (h == NULL)
		return;
	wn_http_stop(h);
	size_t pos = 0;
	void *val;
	while (wn_map_next(h->calls, &pos, NULL, NULL, &val)) { /* parked past the end */
		struct hcall *hc = val;
		wn_map_del_u64(h->calls, (uint64_t)(uintptr_t)hc);
		free(hc->origin);
		free(hc->buf);
		free(hc);
		pos = 0;
	}
	wn_map_free(h->calls);
	for (size_t i = 0; i < h->norigins; i++)
		free(h->origins[i]);
	free(h->origins);
	free(h->url);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->idle);
	free(h);
}
