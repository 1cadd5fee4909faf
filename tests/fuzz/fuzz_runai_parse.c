/* libFuzzer target: what the runai formatter reads from the runai CLI and
 * the workload names it makes. The first byte picks the part: even parses the
 * input as the output of `runai describe` (JSON or text), odd makes a
 * workload name of it. Neither may crash; a status found is one word, an
 * exit code is -1 or 0..255, and a name is a valid RUNAI name that stays
 * the same when made again. Run: build/fuzz/fuzz_runai_parse -max_total_time=60 */
#include "runai.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool fuzz_word(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool fuzz_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	if (data[0] % 2 == 0) {
		int code = 7;
		char *status = wn_runai_parse_describe(buf, &code);
		if (code < -1 || code > 255)
			abort();
		if (status != NULL) {
			if (!fuzz_word(status))
				abort();
			(void)wn_runai_status_end(status);
		}
		free(status);
	} else {
		char *name = wn_runai_name(buf);
		char *again = wn_runai_name(name);
		if (!fuzz_name(name) || strcmp(name, again) != 0)
			abort();
		free(name);
		free(again);
	}
	free(buf);
	return 0;
}
