/* ctl_output: stdout written out, or wnctl ended saying why it cannot be. */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

int wn_ctl_output_done(wn_ctl *c, int rc)
{
	wn_ctl_output_check(c);
	return rc;
}

void wn_ctl_output_check(wn_ctl *c)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	int err = errno;
	if (err == EPIPE) /* as the write would have: SIGPIPE, unless it is ignored */
		raise(SIGPIPE);
	wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write output: %s", strerror(err));
}
