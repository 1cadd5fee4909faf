/* err: the one error space of WhatsNext. 0 is success, negative WN_E* failure. */
#ifndef WN_ERR_H
#define WN_ERR_H

enum {
	WN_OK = 0,
	WN_EINVAL = -1,    /* bad argument or input */
	WN_ENOTFOUND = -2, /* no such project, task or job */
	WN_EEXIST = -3,    /* name already taken */
	WN_ESTATE = -4,    /* not allowed in the current state (stale lease, ...) */
	WN_EIO = -5,       /* storage or file I/O failed */
	WN_ENOMEM = -6,
	WN_ETIMEDOUT = -7,
	WN_EUNAVAIL = -8, /* peer unreachable or shutting down */
	WN_EPROTO = -9,   /* malformed message */
	WN_ETOOBIG = -10, /* over a size limit */
	WN_EPERM = -11,   /* the caller's role may not do this */
	WN_EBUSY = -12,   /* resource in use (data directory locked, ...) */
	WN_EUNIMPL = -13, /* unknown method */
	WN_EINTERNAL = -14,
	WN_EAUTH = -15, /* bad, missing or revoked token */
};

/* wn_strerror returns a static lowercase description of err. */
const char *wn_strerror(int err);

/* wn_err_to_code maps err to the gRPC status code sent on the wire. */
int wn_err_to_code(int err);

/* wn_code_to_err maps a gRPC status code received from the wire to the
 * WN_E* it stands for: the inverse of wn_err_to_code on the codes wnd sends
 * (RESOURCE_EXHAUSTED is WN_ETOOBIG, INTERNAL WN_EINTERNAL, PERMISSION_DENIED
 * WN_EPERM, UNAUTHENTICATED WN_EAUTH); a code wnd never sends is
 * WN_EINTERNAL. */
int wn_code_to_err(int code);

/* wn_code_name returns the gRPC name of a status code ("NOT_FOUND"). */
const char *wn_code_name(int code);

#endif
