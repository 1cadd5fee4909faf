/* net: the REP side of nng's wire protocol (SP over tcp:// and ipc://, see
 * wire.h), served by event loops. Each loop thread owns the connections it
 * accepted and runs their requests itself, with no hand-off to another
 * thread; a reply whose change must be durable waits in its loop until the
 * store's sync thread says it is, so every request in flight shares one
 * fsync and no thread blocks on the disk. */
#ifndef WN_NET_H
#define WN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "tls.h"
#include "netguard.h"

typedef struct wn_net wn_net;

/* wn_net_open listens on every url (tcp:// or ipc://); requests up to 4 *
 * max_msg bytes reach the engine (which refuses those over max_msg), larger
 * ones are dropped by the transport; until a connection has authenticated,
 * its requests are held to the limits of wn_net_set_limits. On failure
 * *errmsg gets a message. */
int wn_net_open(const char *const *urls, size_t nurls, size_t max_msg, wn_net **out, char **errmsg);
/* wn_net_on_thread_start sets fn, which each event loop thread runs first
 * (wnd readies the thread for store calls there); before wn_net_serve. */
void wn_net_on_thread_start(wn_net *n, void (*fn)(void));
/* wn_net_use_tls gives the tls+tcp listeners their TLS configuration (which
 * must outlive n); before wn_net_serve. */
void wn_net_use_tls(wn_net *n, wn_tls *tls);
/* wn_net_set_limits sets what peers may make the server hold (netguard.h;
 * zeros take the defaults); before wn_net_serve. */
void wn_net_set_limits(wn_net *n, const wn_netlimits *l);
/* wn_net_limits returns the limits in force once serving. */
const wn_netlimits *wn_net_limits(const wn_net *n);
/* wn_net_serve starts nthreads event loops for engine e. */
int wn_net_serve(wn_net *n, wn_engine *e, int nthreads);
/* wn_net_stop stops accepting, sends the replies in flight (for at most 2 s)
 * and joins the threads. */
void wn_net_stop(wn_net *n);
/* wn_net_close closes the listeners and connections; NULL is a no-op. */
void wn_net_close(wn_net *n);
/* wn_net_slot_conn returns the connection a slot's request came on. */
uint32_t wn_net_slot_conn(void *slot);
/* wn_net_deliver sends a parked request's reply once write seq is durable (a
 * wn_deliver_fn, callable from any thread; arg is the wn_net). */
void wn_net_deliver(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq);

#endif
