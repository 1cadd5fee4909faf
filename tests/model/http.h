/* http: the model's second way to call wnd, over its HTTP listener in the
 * proto3 JSON mapping (docs/http.md), so that random operation sequences
 * judge the HTTP path and the JSON mapping both ways against the model as
 * they do the SP path. */
#ifndef WN_MODEL_HTTP_H
#define WN_MODEL_HTTP_H

#include "methods.h"

#include <stdbool.h>
#include <stdint.h>

/* http_call calls method mt with in at base ("http://127.0.0.1:PORT"), the
 * request id reqid (0: none) and token (NULL: none). It returns the reply's
 * gRPC code with *out (code 0) or *errmsg (malloc'd) as wn_rpc_call does, or
 * a negative WN_E* with *errmsg when there is no reply or the reply is not
 * what the mapping says. *sent is false when in holds strings that JSON
 * cannot carry (invalid UTF-8, a NUL): nothing was sent, the caller uses SP. */
int http_call(const char *base, const char *token, const wn_method *mt, const ProtobufCMessage *in,
              uint64_t reqid, ProtobufCMessage **out, char **errmsg, bool *sent);

#endif
