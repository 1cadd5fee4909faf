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
	if (k->nblob == k->capblob) {
		k->capblob = k->capblob ? 2 * k->capblob : 64;
		k->blobs = wn_xrealloc(k->blobs, k->capblob * sizeof(*k->blobs));
	}
	char *copy = wn_arena_alloc(k->arena, kl);
	memcpy(copy, key, kl);
	k->blobs[k->nblob++] = (struct cblob){id, copy, kl};
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

void wn_check_rule_blob(struct check *k)
{
	for (size_t i = 0; i < k->nblob; i++) {
		uint64_t id = k->blobs[i].id;
		const struct cjob *j = wn_check_job(k, id);
		const char *why = j == NULL                            ? "does not exist"
		                  : j->attempt == 0 && j->task != NULL ? "never ran"
		                                                       : NULL;
		if (why == NULL)
			continue;
		if (i == 0 || k->blobs[i - 1].id != id) { /* one finding a job */
			char name[64];
			snprintf(name, sizeof(name), "b/%llu/", (unsigned long long)id);
			wn_check_finding(k, name, "artifacts of job %llu, which %s; they go",
			                 (unsigned long long)id, why);
		}
		wn_check_plan_del(k, k->blobs[i].key, k->blobs[i].kl,
		                  j == NULL ? "artifacts of a job that does not exist"
		                            : "artifacts of a job that never ran");
	}
}
