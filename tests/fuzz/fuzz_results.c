/* libFuzzer target: the worker's reading of a results file (resultfile.h),
 * bytes a job wrote. The input is read twice: whole, as at the end of a run,
 * and in pieces (their sizes from the input's first bytes), as heartbeats
 * read a file that grows; both must agree on the verdict, the error (but for
 * the token a JSON error is near) and the number of reports, and never
 * crash. Run:
 * build/fuzz/fuzz_results -max_total_time=60 */
#include "err.h"
#include "resultfile.h"
#include "resultrules.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* verdict reads data (pieces of sizes from cuts, if any) and returns its
 * error (malloc'd, NULL: none) with *reports and *keys. */
static char *verdict(const uint8_t *data, size_t size, const uint8_t *cuts, size_t ncuts,
                     uint64_t *reports, size_t *keys)
{
	wn_resultfile *r = wn_resultfile_new("fuzz");
	char *err = NULL;
	size_t at = 0;
	for (size_t i = 0; i < ncuts && at < size && err == NULL; i++) {
		size_t n = (size_t)cuts[i] + 1;
		if (n > size - at)
			n = size - at;
		if (wn_resultfile_feed(r, (const char *)data + at, n, false, &err) != WN_OK &&
		    err == NULL)
			abort(); /* a failure always says why */
		at += n;
	}
	if (err == NULL &&
	    wn_resultfile_feed(r, (const char *)data + at, size - at, true, &err) != WN_OK &&
	    err == NULL)
		abort();
	wn_resultfile_count(r, reports, keys);
	if (*keys > WN_RESULT_KEYS_MAX)
		abort();
	/* what is kept goes into a progress and back */
	Whatsnext__V1__JobProgress pg = WHATSNEXT__V1__JOB_PROGRESS__INIT;
	char *why = NULL;
	wn_resultfile_fill(r, &pg, false, &why);
	free(why);
	for (size_t i = 0; i < pg.n_results; i++) {
		const Whatsnext__V1__ResultValue *v = pg.results[i]->value;
		const char *bad = v->value_case == WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT
		                      ? wn_result_text_check(v->text, strlen(v->text))
		                      : wn_result_number_check(v->number);
		if (bad != NULL ||
		    wn_result_key_check(pg.results[i]->key, strlen(pg.results[i]->key)) != NULL)
			abort(); /* the server would refuse it */
	}
	wn_resultfile_done(r, &pg, true);
	wn_resultfile_unref(r);
	return err;
}

/* same_error reports whether two verdicts' errors agree: the same text, but
 * for the token a JSON error names after " near " (the JSON reader names the
 * one it stopped at, which depends on how much of the file was there). */
static bool same_error(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	const char *na = strstr(a, " near "), *nb = strstr(b, " near ");
	size_t la = na ? (size_t)(na - a) : strlen(a), lb = nb ? (size_t)(nb - b) : strlen(b);
	return la == lb && memcmp(a, b, la) == 0 && (na == NULL) == (nb == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t ncuts = data[0] % 8;
	if (size < 1 + ncuts)
		return 0;
	const uint8_t *cuts = data + 1;
	data += 1 + ncuts;
	size -= 1 + ncuts;
	uint64_t r1 = 0, r2 = 0;
	size_t k1 = 0, k2 = 0;
	char *e1 = verdict(data, size, NULL, 0, &r1, &k1);
	char *e2 = verdict(data, size, cuts, ncuts, &r2, &k2);
	if (!same_error(e1, e2) || r1 != r2 || k1 != k2) {
		fprintf(stderr, "whole: %s (%llu reports); in pieces: %s (%llu reports)\n",
		        e1 ? e1 : "ok", (unsigned long long)r1, e2 ? e2 : "ok",
		        (unsigned long long)r2);
		abort();
	}
	free(e1);
	free(e2);
	return 0;
}
