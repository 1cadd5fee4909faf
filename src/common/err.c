#include "err.h"

#include "whatsnext.pb-c.h"

static const struct {
	int err;
	int code;
	const char *text;
} err_table[] = {
    {WN_OK, WHATSNEXT__V1__CODE__OK, "ok"},
    {WN_EINVAL, WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "invalid argument"},
    {WN_ENOTFOUND, WHATSNEXT__V1__CODE__NOT_FOUND, "not found"},
    {WN_EEXIST, WHATSNEXT__V1__CODE__ALREADY_EXISTS, "already exists"},
    {WN_ESTATE, WHATSNEXT__V1__CODE__FAILED_PRECONDITION, "not allowed in the current state"},
    {WN_EIO, WHATSNEXT__V1__CODE__INTERNAL, "i/o error"},
    {WN_ENOMEM, WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, "out of memory"},
    {WN_ETIMEDOUT, WHATSNEXT__V1__CODE__DEADLINE_EXCEEDED, "timed out"},
    {WN_EUNAVAIL, WHATSNEXT__V1__CODE__UNAVAILABLE, "unavailable"},
    {WN_EPROTO, WHATSNEXT__V1__CODE__INVALID_ARGUMENT, "malformed message"},
    {WN_ETOOBIG, WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, "too large"},
    {WN_EPERM, WHATSNEXT__V1__CODE__PERMISSION_DENIED, "permission denied"},
    {WN_EBUSY, WHATSNEXT__V1__CODE__UNAVAILABLE, "in use"},
    {WN_EUNIMPL, WHATSNEXT__V1__CODE__UNIMPLEMENTED, "unknown method"},
    {WN_EINTERNAL, WHATSNEXT__V1__CODE__INTERNAL, "internal error"},
    {WN_EAUTH, WHATSNEXT__V1__CODE__UNAUTHENTICATED, "bad, missing or revoked token"},
};

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *wn_strerror(int err)
{
	for (unsigned i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return err_table[i].text;
	return "unknown error";
}

int wn_err_to_code(int err)
{
	for (unsigned i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return err_table[i].code;
	return WHATSNEXT__V1__CODE__UNKNOWN;
}

/* What each gRPC status code stands for; codes not listed are WN_EINTERNAL. */
static const struct {
	int code;
	int err;
} code_table[] = {
    {WHATSNEXT__V1__CODE__OK, WN_OK},
    {WHATSNEXT__V1__CODE__INVALID_ARGUMENT, WN_EINVAL},
    {WHATSNEXT__V1__CODE__DEADLINE_EXCEEDED, WN_ETIMEDOUT},
    {WHATSNEXT__V1__CODE__NOT_FOUND, WN_ENOTFOUND},
    {WHATSNEXT__V1__CODE__ALREADY_EXISTS, WN_EEXIST},
    {WHATSNEXT__V1__CODE__PERMISSION_DENIED, WN_EPERM},
    {WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, WN_ETOOBIG},
    {WHATSNEXT__V1__CODE__FAILED_PRECONDITION, WN_ESTATE},
    {WHATSNEXT__V1__CODE__UNIMPLEMENTED, WN_EUNIMPL},
    {WHATSNEXT__V1__CODE__UNAVAILABLE, WN_EUNAVAIL},
    {WHATSNEXT__V1__CODE__UNAUTHENTICATED, WN_EAUTH},
};

int wn_code_to_err(int code)
{
	for (unsigned i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
		if (code_table[i].code == code)
			return code_table[i].err;
	return WN_EINTERNAL;
}

const char *wn_code_name(int code)
{
	if (code < 0 || code >= (int)(sizeof(code_names) / sizeof(code_names[0])))
		return "UNKNOWN";
	return code_names[code];
}
