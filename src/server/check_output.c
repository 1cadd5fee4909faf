/* check_output: the rule of `wnd --check` for a job's live output (o/ID,
 * its OutputRecord, and o/ID + 8 bytes, its chunks; records_output.h). */
#include "check_int.h"

#include "records_output.h"

void wn_check_scan_output(struct check *k, const char *name, const char *key, size_t kl,
                          const uint8_t *v, size_t vl)
{
	if (kl != WN_KEY_ID_LEN && kl != WN_KEY_OUTPUT_CHUNK_LEN) {
		wn_check_finding(k, name, "not a key of a job's output (o/ID or o/ID + an offset)");
		wn_check_plan_del(k, key, kl, "not a key wnd writes");
		return;
	}
	uint64_t id = wn_key_id(key);
	const struct cjob *j = wn_check_job(k, id);
	if (j == NULL) {
		wn_check_finding(k, name, "output of job %llu, which does not exist",
		                 (unsigned long long)id);
		wn_check_plan_del(k, key, kl, "the output of a job that is gone");
		return;
	}
	if (kl != WN_KEY_ID_LEN)
		return; /* a chunk: any bytes */
	Whatsnext__V1__OutputRecord *m = whatsnext__v1__output_record__unpack(NULL, vl, v);
	if (m == NULL || m->start > m->end || m->stored > m->end - m->start) {
		wn_check_finding(k, name, "record is not an OutputRecord");
		wn_check_plan_del(k, key, kl, "unreadable; wnd starts the job's output afresh");
		wn_check_plan_aside(k, key, kl);
	}
	if (m != NULL)
		whatsnext__v1__output_record__free_unpacked(m, NULL);
}
