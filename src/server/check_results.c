/* wnd --check: the rule on result histories (r/ID, records_results.h). */
#include "check_int.h"

#include "keys.h"

void wn_check_history(struct check *k, const char *name, const char *key, size_t kl,
                      const uint8_t *v, size_t vl)
{
	uint64_t id = kl == WN_KEY_ID_LEN ? wn_key_id(key) : 0;
	const char *why = NULL;
	Whatsnext__V1__ResultHistory *h = NULL;
	/* r/ sorts after j/: every job is known by now */
	if (id == 0)
		why = "key does not name a job id";
	else if (wn_check_job(k, id) == NULL)
		why = "result history of a job that does not exist";
	else if ((h = whatsnext__v1__result_history__unpack(NULL, vl, v)) == NULL)
		why = "record does not unpack as a ResultHistory";
	else if (h->job_id != id)
		why = "record names another job than its key";
	if (h != NULL)
		whatsnext__v1__result_history__free_unpacked(h, NULL);
	if (why == NULL)
		return;
	wn_check_finding(k, name, "%s", why);
	wn_check_plan_del(k, key, kl, "a result history wnd cannot use");
}
