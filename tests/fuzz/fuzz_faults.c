/* libFuzzer target: the WN_STORE_FAULTS parser. Any input (up to its first
 * NUL byte) is either refused with a message and changes no rule, or sets
 * rules that fail only the operations it names. Run:
 * build/fuzz/fuzz_faults -max_total_time=60 */
#include "err.h"
#include "fault.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	/* a rule that a refused spec must leave as it is */
	wn_fault_clear();
	wn_fault_set(WN_FAULT_OPEN, 0, 1, 5);
	char *err = NULL;
	int rv = wn_fault_parse(spec, &err);
	if (rv != WN_OK) {
		if (err == NULL || err[0] == '\0' || wn_fault_hit(WN_FAULT_OPEN) != 5)
			abort();
		free(err);
	} else if (err != NULL) {
		abort();
	} else if (strstr(spec, "open") == NULL && wn_fault_hit(WN_FAULT_OPEN) != 0) {
		abort(); /* the old rule is replaced even when spec names no open */
	}
	wn_fault_clear();
	free(spec);
	return 0;
}
