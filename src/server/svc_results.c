/* JobService/History: the history of a job's numeric results (results.h). */
#include "svc.h"

#include "results.h"
#include "resultrules.h"

#include <string.h>

int wn_svc_job_history(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__HistoryRequest *rq = (const void *)in;
	if (rq->n_keys > WN_RESULT_KEYS_MAX)
		return wn_call_fail(c, WN_EINVAL, "%zu keys asked for, over the limit of %d",
		                    rq->n_keys, WN_RESULT_KEYS_MAX);
	for (size_t i = 0; i < rq->n_keys; i++) {
		const char *why = wn_result_key_check(rq->keys[i], strlen(rq->keys[i]));
		if (why != NULL)
			return wn_call_fail(c, WN_EINVAL, "invalid result key \"%.64s\": %s",
			                    rq->keys[i], why);
	}
	Job *j = NULL;
	int rv = wn_job_load(c, rq->id, &j);
	if (rv != WN_OK)
		return rv;
	Whatsnext__V1__ResultHistory *h = NULL;
	if ((rv = wn_results_history(c, j, rq->keys, rq->n_keys, &h)) != WN_OK)
		return rv;
	*out = &h->base;
	return WN_OK;
}
