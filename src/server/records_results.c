#include "records_results.h"

#include "err.h"
#include "keys.h"

#include <stdlib.h>

int wn_records_history_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__ResultHistory **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, id);
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(wn_records_store(rc->r), key, kl, &val, &len);
	if (rv != WN_OK)
		return rv;
	*out = whatsnext__v1__result_history__unpack(rc->pa, len, (uint8_t *)val);
	free(val);
	return *out != NULL ? WN_OK : WN_EINTERNAL;
}

void wn_records_history_put(wn_batch *b, const Whatsnext__V1__ResultHistory *h)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_HISTORY, h->job_id);
	wn_records_put(b, key, kl, &h->base);
}
