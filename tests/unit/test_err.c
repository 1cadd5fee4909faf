/* err: the one return-code domain, and its two-way mapping to the gRPC
 * status codes on the wire. */
#include "err.h"
#include "test.h"
#include "whatsnext.pb-c.h"

/* Every WN_E*, with the one the client reads back from its wire code. */
static const struct {
	int err, back;
} errs[] = {
    {WN_OK, WN_OK},          {WN_EINVAL, WN_EINVAL},       {WN_ENOTFOUND, WN_ENOTFOUND},
    {WN_EEXIST, WN_EEXIST},  {WN_ESTATE, WN_ESTATE},       {WN_EIO, WN_EINTERNAL},
    {WN_ENOMEM, WN_ETOOBIG}, {WN_ETIMEDOUT, WN_ETIMEDOUT}, {WN_EUNAVAIL, WN_EUNAVAIL},
    {WN_EPROTO, WN_EINVAL},  {WN_ETOOBIG, WN_ETOOBIG},     {WN_EPERM, WN_EPERM},
    {WN_EBUSY, WN_EUNAVAIL}, {WN_EUNIMPL, WN_EUNIMPL},     {WN_EINTERNAL, WN_EINTERNAL},
    {WN_EAUTH, WN_EAUTH},
};

TEST(every_error_survives_the_wire)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		int code = wn_err_to_code(errs[i].err);
		CHECK(code >= 0 && code <= WHATSNEXT__V1__CODE__UNAUTHENTICATED);
		CHECK(strcmp(wn_code_name(code), "UNKNOWN") != 0);
		CHECK_EQ_INT(wn_code_to_err(code), errs[i].back);
		/* and the code read back is sent as the same code */
		CHECK_EQ_INT(wn_err_to_code(wn_code_to_err(code)), code);
		CHECK(strcmp(wn_strerror(errs[i].err), "unknown error") != 0);
	}
}

TEST(codes_wnd_never_sends)
{
	static const int other[] = {
	    WHATSNEXT__V1__CODE__CANCELLED,
	    WHATSNEXT__V1__CODE__UNKNOWN,
	    WHATSNEXT__V1__CODE__ABORTED,
	    WHATSNEXT__V1__CODE__OUT_OF_RANGE,
	    WHATSNEXT__V1__CODE__DATA_LOSS,
	    WHATSNEXT__V1__CODE__INTERNAL,
	    17,
	    -1,
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK_EQ_INT(wn_code_to_err(other[i]), WN_EINTERNAL);
	CHECK_EQ_INT(wn_code_to_err(WHATSNEXT__V1__CODE__PERMISSION_DENIED), WN_EPERM);
	CHECK_EQ_INT(wn_code_to_err(WHATSNEXT__V1__CODE__UNAUTHENTICATED), WN_EAUTH);
	CHECK_EQ_STR(wn_code_name(17), "UNKNOWN");
	CHECK_EQ_STR(wn_strerror(-99), "unknown error");
}

TEST_MAIN()
