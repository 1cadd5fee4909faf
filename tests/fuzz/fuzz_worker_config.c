/* libFuzzer target: worker.yaml loading, from the YAML parser through the key
 * tables to the formatters' checks of every template. Any input must give a
 * configuration or a positioned error, never a crash or a leak.
 * Run: build/fuzz/fuzz_worker_config -max_total_time=60 */
#include "err.h"
#include "wconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wn_wconfig *c = NULL;
	char *err = NULL;
	int rc = wn_wconfig_parse("fuzz.yaml", (const char *)data, size, "/base", &c, &err);
	if (rc == WN_OK) {
		if (c == NULL || err != NULL)
			abort();
		char *cerr = NULL;
		wn_wconfig_check(c, &cerr);
		free(cerr);
		for (size_t i = 0; i < c->ntasks; i++)
			if (wn_wconfig_task(c, c->task_names[i]) == NULL)
				abort();
		wn_wconfig_free(c);
	} else {
		/* Every failure says where: "fuzz.yaml..." */
		if (c != NULL || err == NULL || strncmp(err, "fuzz.yaml", 9) != 0)
			abort();
		free(err);
	}
	return 0;
}
