/* dispatch: a request from its bytes to the bytes of its reply. Unpacks the
 * Request envelope, finds the method in the method table (built from
 * methods.def), checks the token, answers a request id it has answered
 * already (dedupe.c), runs the method's service function in a call under the
 * engine lock, and packs the Response. The public entry points are in
 * engine.h (wn_engine_serve, wn_engine_handle, wn_engine_durable, ...). */
#ifndef WN_DISPATCH_H
#define WN_DISPATCH_H

#include "engine.h"

/* wn_dispatch_init builds the method table, once per process. */
void wn_dispatch_init(void);

#endif
