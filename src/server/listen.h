/* listen: the listening sockets of wnd's transport, one per address
 * (tcp://HOST:PORT, tcp4://, tcp6://, tls+tcp://... or ipc://PATH, parsed
 * by wire.h),
 * non-blocking and close-on-exec, for net's event loops to accept on. */
#ifndef WN_LISTEN_H
#define WN_LISTEN_H

#include <stdbool.h>

/* One listening socket. */
typedef struct wn_listener {
	int fd;
	bool ipc;
	bool tls; /* tls+tcp: connections speak TLS first */
	char *url;
	char *path; /* ipc: the socket file, removed on close */
} wn_listener;

/* wn_listener_open parses url and listens on it into *ls. An ipc socket file
 * left over by a server that is gone is replaced; one that answers is in
 * use. On failure *errmsg gets a message "cannot listen on URL: ...":
 * WN_EINVAL (bad address, cannot bind) or WN_EBUSY (address in use). */
int wn_listener_open(wn_listener *ls, const char *url, char **errmsg);

/* wn_listener_check refuses, as wn_listener_open would, an address url that
 * is not one or cannot be listened on now (in use, a port not allowed):
 * WN_EINVAL or WN_EBUSY with *errmsg. It listens on url and closes it at
 * once: wnd checks its addresses before it creates anything. */
int wn_listener_check(const char *url, char **errmsg);

/* wn_listener_exposed returns true when url (a wnd listen address) would
 * take connections from other machines: a tcp address whose host is not
 * loopback (a name counts by every address it resolves to; no host, "*",
 * 0.0.0.0 and :: are every address). ipc and bad or unknown addresses (which
 * cannot be listened on): false. *tls is
 * set when it is a tls+tcp address. */
bool wn_listener_exposed(const char *url, bool *tls);

/* wn_listener_close closes an open listener and removes its socket file. */
void wn_listener_close(wn_listener *ls);

#endif
