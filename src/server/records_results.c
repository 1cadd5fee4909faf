#include "records_results.h"

#include "err.h"
#include "keys.h"

#include <stdlib.h>

int wn_records_history_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__ResultHistory **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, id);
	return wn_records_get_msg(rc, key, kl, &whatsnext__v1__result_history__descriptor,
	                          (ProtobufCMessage **)out);
}

void wn_records_history_put(wn_batch *b, const Whatsnext__V1__ResultHistory *h)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, h->job_id);
	wn_records_put(b, key, kl, &h->base);
}
