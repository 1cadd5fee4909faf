/* check_blob: what `wnd --check` says of the stored artifacts (b/ID...,
 * records_blob.h): a record must unpack, and every key must belong to a job
 * that exists and ran; the repair deletes the others. */
#include "check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wn_check_scan_blob(struct check *k, const char *name, const char *key, size_t kl,
                        const uint8_t *v, size_t vl)
{
	char part = kl > WN_KEY_ID_LEN ? key[WN_KEY_ID_LEN] : '\0';
	if (part != 'a' && part != 'c') {
		wn_check_finding(k, name, "not a key of an artifact; it goes");
		wn_check_plan_del(k, key, kl, "not a key of an artifact");
		return;
	}
	uint64_t id = wn_key_id(key);
	if (k->nblob == 0 || k->blob_jobs[k->nblob - 1] != id) {
		if (k->nblob == k->capblob) {
			k->capblob = k->capblob ? 2 * k->capblob : 64;
			k->blob_jobs =
			    wn_xrealloc(k->blob_jobs, k->capblob * sizeof(*k->blob_jobs));
		}
		k->blob_jobs[k->nblob++] = id;
	}
	if (part == 'c' && memchr(key + WN_KEY_ID_LEN + 1, '\0', kl - WN_KEY_ID_LEN - 1) == NULL) {
		wn_check_finding(k, name, "a chunk of an artifact without its offset; it goes");
		wn_check_plan_del(k, key, kl, "a chunk of an artifact without its offset");
		return;
	}
	if (part != 'a')
		return;
	Whatsnext__V1__ArtifactRecord *rec =
	    whatsnext__v1__artifact_record__unpack(NULL, vl, (const uint8_t *)v);
	if (rec == NULL) {
		wn_check_finding(k, name, "the record of an artifact does not unpack; it goes");
		wn_check_plan_del(k, key, kl, "an unreadable record of an artifact");
		return;
	}
	whatsnext__v1__artifact_record__free_unpacked(rec, NULL);
}

/* blob_plan_job plans deleting every b/ key of job id, for why. */
static void blob_plan_job(struct check *k, uint64_t id, const char *why)
{
	char prefix[WN_KEY_MAX];
	size_t pl = wn_key_of_job(prefix, WN_KEY_BLOB, id);
	wn_store_iter *it = wn_store_iter_new(k->store, prefix, pl, NULL, 0);
	const char *key, *val;
	size_t kl, vl;
	while (wn_store_iter_next(it, &key, &kl, &val, &vl))
		wn_check_plan_del(k, key, kl, why);
	wn_store_iter_free(it);
}

void wn_check_rule_blob(struct check *k)
{
	for (size_t i = 0; i < k->nblob; i++) {
		uint64_t id = k->blob_jobs[i];
		const struct cjob *j = wn_check_job(k, id);
		char name[64];
		snprintf(name, sizeof(name), "b/%llu/", (unsigned long long)id);
		if (j == NULL) {
			wn_check_finding(k, name,
			                 "artifacts of job %llu, which does not exist; they go",
			                 (unsigned long long)id);
			blob_plan_job(k, id, "artifacts of a job that does not exist");
		} else if (j->attempt == 0 && j->task != NULL) {
			wn_check_finding(k, name, "artifacts of job %llu, which never ran; they go",
			                 (unsigned long long)id);
			blob_plan_job(k, id, "artifacts of a job that never ran");
		}
	}
}
