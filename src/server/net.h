/* net: the nng REP socket and the threads that serve it. Each thread owns an
 * nng context and runs requests to completion itself (no hand-off), so
 * concurrent writers share the store's group commit. */
#ifndef WN_NET_H
#define WN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct wn_net wn_net;

/* wn_net_open listens on every url (tcp:// or ipc://); requests up to 4 *
 * max_msg bytes reach the engine (which refuses those over max_msg), larger
 * ones are dropped by the transport. On failure *errmsg gets a message. */
int wn_net_open(const char *const *urls, size_t nurls, size_t max_msg, wn_net **out, char **errmsg);
/* wn_net_serve starts nthreads serving threads for engine e. */
int wn_net_serve(wn_net *n, wn_engine *e, int nthreads);
/* wn_net_stop lets in-flight requests finish and joins the threads. */
void wn_net_stop(wn_net *n);
/* wn_net_close closes the socket; NULL is a no-op. */
void wn_net_close(wn_net *n);
/* wn_net_slot_conn returns the connection a slot's request came on. */
uint32_t wn_net_slot_conn(void *slot);
/* wn_net_deliver sends a parked request's reply (a wn_deliver_fn; arg is the wn_net). */
void wn_net_deliver(void *arg, void *slot, uint8_t *buf, size_t len);

#endif
