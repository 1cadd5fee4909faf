/* libFuzzer target: what the slurm formatter reads from SLURM and writes
 * for it. The first byte picks the part: 0 parses the input as squeue
 * output, 1 as sacct output, 2 renders a script body (the input split at
 * its first NUL into a template and a parameter value), 3 reads the input as
 * a SLURM job's comment, for the tag of a submission (wn_slurm_tag_find).
 * Parsing must never crash and must give only rows that make sense (a tag:
 * a place among the runs it names, an attempt, and a job found again in the
 * tag made of what was found); rendering must never crash and must agree
 * with the template check. Run:
 * build/fuzz/fuzz_slurm_parse -max_total_time=60 */
#include "err.h"
#include "fmt.h"
#include "slurm.h"
#include "slurm_script.h"
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_rows(const wn_slurm_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const wn_slurm_row *r = &rows[i];
		if (!wn_slurm_id_ok(r->id) || r->state == NULL || r->state[0] == '\0' ||
		    r->raw_id == NULL || r->reason == NULL)
			abort();
		if (r->exit_code < -1 || r->exit_code > 255 || r->signal < 0 || r->signal > 255)
			abort();
		for (size_t k = 0; k < i; k++)
			if (strcmp(rows[k].id, r->id) == 0)
				abort(); /* one row per job */
		wn_fmt_result res;
		memset(&res, 0, sizeof(res));
		wn_slurm_outcome(r, &res);
		if (res.success && (res.reason != NULL || res.cancelled))
			abort();
		wn_fmt_result_release(&res);
	}
}

/* fuzz_tag looks in comment for the jobs it may name (the owner "w"). */
static void fuzz_tag(const char *comment)
{
	static const uint64_t jobs[] = {0, 1, 5, 12, 1000, UINT64_MAX};
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		uint32_t att = 0;
		size_t index = 0, count = 0;
		if (!wn_slurm_tag_find(comment, "w", jobs[i], &att, &index, &count))
			continue;
		if (att == 0 || count == 0 || index >= count)
			abort();
		char *tag = wn_slurm_tag("w", &jobs[i], &att, 1, NULL);
		uint32_t att2 = 0;
		size_t index2 = 0, count2 = 0;
		if (tag == NULL || !wn_slurm_tag_find(tag, "w", jobs[i], &att2, &index2, &count2) ||
		    att2 != att || index2 != 0 || count2 != 1)
			abort();
		free(tag);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	buf[size] = '\0';
	wn_slurm_row *rows = NULL;
	size_t n = 0;
	switch (data[0] % 4) {
	case 0:
		wn_slurm_parse_squeue(buf, &rows, &n);
		fuzz_rows(rows, n);
		wn_slurm_rows_free(rows, n);
		break;
	case 1:
		wn_slurm_parse_sacct(buf, &rows, &n);
		fuzz_rows(rows, n);
		wn_slurm_rows_free(rows, n);
		break;
	case 3:
		fuzz_tag(buf);
		break;
	default: {
		const char *tmpl = buf;
		const char *val = buf + strlen(buf) + 1;
		if (val > buf + size - 1)
			val = buf + size;
		char *why = NULL;
		if (wn_template_check(tmpl, &why) != WN_OK) {
			free(why);
			break;
		}
		static const char *const keys[] = {"v"};
		const char *vals[] = {val};
		wn_fmt_job job = {.id = 1,
		                  .name = "n",
		                  .project = "p",
		                  .task = "t",
		                  .worker = "w",
		                  .server = "s",
		                  .attempt = 1,
		                  .nparams = 1,
		                  .param_keys = keys,
		                  .param_vals = vals};
		char *out = NULL, *reason = NULL;
		int rc = wn_slurm_script_body(tmpl, &job, &out, &reason);
		if ((rc == WN_OK) != (out != NULL) || (rc == WN_OK) == (reason != NULL))
			abort();
		free(out);
		free(reason);
		break;
	}
	}
	free(buf);
	return 0;
}
