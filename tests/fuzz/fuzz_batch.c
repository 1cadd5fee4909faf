/* libFuzzer target: the batch file reader of `wnctl job batch` (src/ctl/batch.c). Any input
 * is either refused with one line naming what is wrong, or read into jobs that each have a
 * project and a task, and whose dependencies by name each name one job of the batch. The
 * first byte, when it is odd, gives the jobs a default project and task (--project,
 * --task). Run: build/fuzz/fuzz_batch -max_total_time=60 */
#include "batch.h"
#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_refs aborts unless every dependency of b given by name names one job of it. */
static void fuzz_check_refs(const wn_ctl_batch *b)
{
	size_t n = wn_ctl_batch_count(b);
	Whatsnext__V1__JobSpec **jobs = wn_ctl_batch_jobs(b);
	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->project[0] == '\0' || jobs[i]->task[0] == '\0')
			abort();
		for (size_t k = 0; k < jobs[i]->n_after; k++) {
			const Whatsnext__V1__Dependency *d = jobs[i]->after[k];
			if ((d->job_id == 0) == (d->ref[0] == '\0'))
				abort();
			size_t named = 0;
			for (size_t m = 0; d->ref[0] != '\0' && m < n && named < 2; m++)
				named += strcmp(jobs[m]->name, d->ref) == 0;
			if (d->ref[0] != '\0' && named != 1)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool defaults = data[0] & 1;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	wn_ctl_batch *b = NULL;
	char *err = NULL;
	int rv = wn_ctl_batch_parse(text, len, "fuzz.json", defaults ? "p" : NULL,
	                            defaults ? "t" : NULL, &b, &err);
	if (rv == WN_OK) {
		if (b == NULL || err != NULL || wn_ctl_batch_count(b) == 0)
			abort();
		fuzz_check_refs(b);
	} else if (rv != WN_EINVAL || b != NULL || err == NULL || err[0] == '\0') {
		abort();
	}
	wn_ctl_batch_free(b);
	free(err);

	/* the same bytes as the text of one dependency (`job add --after`, "after" strings) */
	char *s = malloc(len + 1);
	memcpy(s, text, len);
	s[len] = '\0';
	for (int refs = 0; refs < 2; refs++) {
		struct wn_ctl_batch_dep d;
		err = NULL;
		rv = wn_ctl_batch_dep_parse(s, refs, &d, &err);
		if (rv == WN_OK && (err != NULL || (d.job_id == 0 && d.ref_len == 0) ||
		                    d.ref_len > strlen(s) || (!refs && d.job_id == 0)))
			abort();
		if (rv != WN_OK && (rv != WN_EINVAL || err == NULL))
			abort();
		free(err);
	}
	free(s);
	return 0;
}
