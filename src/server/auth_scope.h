/* auth_scope: what a request names, by the scope column of methods.def
 * ("p:name", "j:id", "w:worker", ...): checked against a token limited to
 * projects (a user's, or a worker's) and to worker names (a worker's), and
 * written as the target of an audit log line. */
#ifndef WN_AUTH_SCOPE_H
#define WN_AUTH_SCOPE_H

#include "auth.h"
#include "call.h"
#include "methods.h"
#include "strbuf.h"

#include <stdbool.h>

/* wn_auth_scope checks what request in of method m names against who (NULL
 * or an admin: anything goes): WN_OK, or WN_EPERM with the call's message
 * saying which project or worker the token may not name. Jobs and sweeps are
 * looked up (under the engine lock); one that does not exist is let through
 * for the method to refuse. */
int wn_auth_scope(struct call *c, const struct wn_token *who, const wn_method *m,
                  const ProtobufCMessage *in);

/* wn_auth_sees reports whether the caller of c may see project: a token limited to
 * projects sees those only; others (and a server without tokens) every one. */
bool wn_auth_sees(struct call *c, const char *project);

/* wn_auth_target appends to out what request in of method m names, as
 * "project=p job=7" (empty values left out). */
void wn_auth_target(const wn_method *m, const ProtobufCMessage *in, wn_strbuf *out);

/* wn_auth_scope_valid reports whether scope is a valid scope column for
 * requests of type d: words KIND:PATH, each path reaching a string (an id
 * for j and s) through d's fields. */
bool wn_auth_scope_valid(const char *scope, const ProtobufCMessageDescriptor *d);

#endif
